//! The open-loop arrival process: when the next request arrives.
//!
//! Under a step schedule of rates, Poisson arrivals are drawn piecewise: a gap is drawn at
//! the current step's rate, and if it would cross into the next step the process restarts
//! at the step boundary with the new rate. By memorylessness this is exactly a
//! non-homogeneous Poisson process with a piecewise-constant rate. Constant arrivals are
//! placed at `start + n / rate` from each step's start, computed from `n` rather than
//! accumulated, so rounding never drifts.

use rand_distr::{Distribution, Exp1};

use super::spec::{ArrivalPattern, RateSchedule};
use crate::engine::{SimDuration, SimRng, SimTime};

pub struct ArrivalProcess {
    steps: Vec<(SimTime, f64)>,
    pattern: ArrivalPattern,
    rng: SimRng,
    /// Index of the current step.
    step: usize,
    /// Time of the last arrival, or the current step's start.
    clock: SimTime,
    /// Arrivals so far in the current step (constant pattern).
    in_step: u64,
}

impl ArrivalProcess {
    pub fn new(schedule: &RateSchedule, pattern: ArrivalPattern, rng: SimRng) -> Self {
        ArrivalProcess {
            steps: schedule.steps().to_vec(),
            pattern,
            rng,
            step: 0,
            clock: SimTime::ZERO,
            in_step: 0,
        }
    }

    /// The time of the next arrival, or `None` when no more requests will ever arrive.
    pub fn next_arrival(&mut self) -> Option<SimTime> {
        loop {
            let (start, rate) = *self.steps.get(self.step)?;
            let step_end = self.steps.get(self.step + 1).map(|&(next, _)| next);
            if rate > 0.0 {
                let candidate = match self.pattern {
                    ArrivalPattern::Poisson => {
                        let gap: f64 = Exp1.sample(&mut self.rng);
                        self.clock + SimDuration::from_secs_f64(gap / rate)
                    }
                    ArrivalPattern::Constant => {
                        start + SimDuration::from_secs_f64((self.in_step + 1) as f64 / rate)
                    }
                };
                if step_end.is_none_or(|end| candidate < end) {
                    self.clock = candidate;
                    self.in_step += 1;
                    return Some(candidate);
                }
            }
            self.clock = step_end?;
            self.step += 1;
            self.in_step = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn arrivals_before(process: &mut ArrivalProcess, end: SimTime) -> Vec<SimTime> {
        std::iter::from_fn(|| process.next_arrival())
            .take_while(|&t| t < end)
            .collect()
    }

    #[test]
    fn constant_arrivals_are_evenly_spaced_without_drift() {
        let schedule = RateSchedule::constant(3.0);
        let mut process = ArrivalProcess::new(&schedule, ArrivalPattern::Constant, stream(1, 1, 0));
        let times = arrivals_before(&mut process, SimTime::from_nanos(100_000_000_000));
        assert_eq!(times.len(), 299);
        assert_eq!(times[2].as_nanos(), 1_000_000_000);
        assert_eq!(times[298].as_nanos(), 99_666_666_667);
    }

    #[test]
    fn poisson_counts_follow_each_step_of_the_schedule() {
        // 100/s for 100 s, then 1000/s for 100 s: expected 10,000 and 100,000 arrivals.
        let schedule = RateSchedule::from_steps(vec![
            (SimTime::ZERO, 100.0),
            (SimTime::from_nanos(100_000_000_000), 1000.0),
        ]);
        let mut process = ArrivalProcess::new(&schedule, ArrivalPattern::Poisson, stream(9, 1, 0));
        let times = arrivals_before(&mut process, SimTime::from_nanos(200_000_000_000));
        let boundary = SimTime::from_nanos(100_000_000_000);
        let first = times.iter().filter(|&&t| t < boundary).count() as f64;
        let second = times.len() as f64 - first;
        // A Poisson count has sd sqrt(mean): 4 sd is 400 and 1265 arrivals.
        assert!((first - 10_000.0).abs() < 4.0 * 100.0, "{first}");
        assert!((second - 100_000.0).abs() < 4.0 * 316.3, "{second}");
    }

    #[test]
    fn a_zero_rate_step_is_skipped_and_a_final_zero_rate_ends_arrivals() {
        let schedule = RateSchedule::from_steps(vec![
            (SimTime::from_nanos(5_000_000_000), 1.0),
            (SimTime::from_nanos(7_000_000_000), 0.0),
        ]);
        let mut process = ArrivalProcess::new(&schedule, ArrivalPattern::Constant, stream(1, 1, 0));
        let times: Vec<u64> = std::iter::from_fn(|| process.next_arrival())
            .map(|t| t.as_nanos())
            .collect();
        assert_eq!(times, vec![6_000_000_000]);
    }
}
