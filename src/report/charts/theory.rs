//! Queueing theory to draw beside the simulation, where it applies exactly.
//!
//! A run is the M/M/1 queue when it has one server with one worker and an unbounded queue,
//! Poisson arrivals at one constant rate λ, and exponential service of mean `m` at speed
//! `s`, so service rate μ = s/m. Its response time (wait plus service) is then exponential
//! with rate μ − λ when λ < μ: P(T ≤ t) = 1 − e^{−(μ−λ)t}. Nothing else is assumed: a
//! run that differs in any of these has no curve.

use std::ops::Range;

use crate::model::{ArrivalPattern, RunSpec, ServiceDist, WorkloadSpec};

/// The M/M/1 queue of a run, by its arrival and service rates (per second).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Mm1 {
    pub lambda: f64,
    pub mu: f64,
}

impl Mm1 {
    /// The run's M/M/1 queue, when it is one and is stable (λ < μ).
    pub fn of(spec: &RunSpec) -> Option<Mm1> {
        let [group] = spec.servers.as_slice() else {
            return None;
        };
        if group.count != 1 || group.workers != 1 || group.queue_limit.is_some() {
            return None;
        }
        let WorkloadSpec::Generated(workload) = &spec.workload else {
            return None;
        };
        let ServiceDist::Exponential { mean } = workload.service else {
            return None;
        };
        let &[(_, lambda)] = workload.rate.steps() else {
            return None;
        };
        if workload.arrivals != ArrivalPattern::Poisson || mean.as_secs_f64() <= 0.0 {
            return None;
        }
        let mu = group.speed / mean.as_secs_f64();
        (lambda > 0.0 && lambda < mu).then_some(Mm1 { lambda, mu })
    }

    /// P(response time ≤ `ms` milliseconds).
    pub fn cdf(&self, ms: f64) -> f64 {
        1.0 - (-(self.mu - self.lambda) * ms / 1000.0).exp()
    }

    /// The curve over `range` (ms), `count` points evenly spaced on a log axis.
    pub fn curve(&self, range: &Range<f64>, count: usize) -> Vec<(f64, f64)> {
        let (start, end) = (range.start.max(1e-9).ln(), range.end.max(1e-9).ln());
        let steps = count.max(2) - 1;
        (0..=steps)
            .map(|i| {
                let ms = (start + (end - start) * i as f64 / steps as f64).exp();
                (ms, self.cdf(ms))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::{Algorithm, BalancerSpec};
    use crate::engine::SimDuration;
    use crate::model::{GeneratedWorkload, RateSchedule, ServerGroupSpec};

    fn spec(rate: f64, servers: u32) -> RunSpec {
        RunSpec::new(
            SimDuration::from_secs(10),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::constant(rate),
                arrivals: ArrivalPattern::Poisson,
                service: ServiceDist::Exponential {
                    mean: SimDuration::from_millis(10),
                },
                clients: 10,
            }),
            vec![ServerGroupSpec::new("s", servers)],
            BalancerSpec::new(Algorithm::RoundRobin),
        )
    }

    #[test]
    fn the_rates_come_from_the_spec_of_an_mm1_run_only() {
        // mm1-check: λ = 80/s, mean service 10 ms.
        assert_eq!(
            Mm1::of(&spec(80.0, 1)),
            Some(Mm1 {
                lambda: 80.0,
                mu: 100.0
            })
        );
        let mut fast = spec(80.0, 1);
        fast.servers[0].speed = 2.0;
        assert_eq!(Mm1::of(&fast).map(|q| q.mu), Some(200.0));

        assert_eq!(Mm1::of(&spec(80.0, 2)), None, "two servers");
        assert_eq!(Mm1::of(&spec(100.0, 1)), None, "λ = μ: no steady state");
        let mut bounded = spec(80.0, 1);
        bounded.servers[0].queue_limit = Some(10);
        assert_eq!(Mm1::of(&bounded), None, "M/M/1/K");
        let mut two_workers = spec(80.0, 1);
        two_workers.servers[0].workers = 2;
        assert_eq!(Mm1::of(&two_workers), None, "M/M/2");
        let mut others = [spec(80.0, 1), spec(80.0, 1), spec(80.0, 1)];
        let WorkloadSpec::Generated(w) = &mut others[0].workload else {
            unreachable!()
        };
        w.arrivals = ArrivalPattern::Constant;
        let WorkloadSpec::Generated(w) = &mut others[1].workload else {
            unreachable!()
        };
        w.service = ServiceDist::Constant {
            mean: SimDuration::from_millis(10),
        };
        let WorkloadSpec::Generated(w) = &mut others[2].workload else {
            unreachable!()
        };
        w.rate = RateSchedule::from_steps(vec![
            (crate::engine::SimTime::ZERO, 50.0),
            (crate::engine::SimTime::from_nanos(5_000_000_000), 80.0),
        ]);
        for spec in &others {
            assert_eq!(Mm1::of(spec), None, "{:?}", spec.workload);
        }
    }

    #[test]
    fn the_curve_is_the_exponential_response_time_distribution() {
        let q = Mm1 {
            lambda: 80.0,
            mu: 100.0,
        };
        // Mean response time 1/(μ-λ) = 50 ms: the CDF there is 1 - 1/e.
        assert!((q.cdf(50.0) - (1.0 - (-1.0f64).exp())).abs() < 1e-12);
        // Median ln 2 / (μ-λ) = 34.66 ms (the simulated p50 of mm1-check is 34.6 ms).
        assert!((q.cdf(1000.0 * 2f64.ln() / 20.0) - 0.5).abs() < 1e-12);
        // p99: ln 100 / 20 s = 230.3 ms.
        assert!((q.cdf(1000.0 * 100f64.ln() / 20.0) - 0.99).abs() < 1e-12);
        assert_eq!(q.cdf(0.0), 0.0);

        let curve = q.curve(&(1.0..1000.0), 4);
        let times: Vec<f64> = curve.iter().map(|p| p.0).collect();
        for (got, want) in times.iter().zip([1.0, 10.0, 100.0, 1000.0]) {
            // Log spacing: exp(ln a + k ln 10) is a power of ten within float rounding.
            assert!((got / want - 1.0).abs() < 1e-12, "{times:?}");
        }
        assert!(curve.windows(2).all(|w| w[0].1 < w[1].1));
        assert!((curve[3].1 - (1.0 - (-20.0f64).exp())).abs() < 1e-12);
    }
}
