//! The metrics pipeline between the cluster and a scaling policy: what a policy sees is an
//! average over a window that ended some time ago, as CloudWatch (one-minute periods,
//! published some time after they end) and the Kubernetes metrics-server (scraping every
//! 15 s by default) show it. A policy acting on late averages overshoots and
//! undershoots; that lag is the point of modelling the pipeline rather than reading the
//! cluster's state directly.
//!
//! At an evaluation at `now` the window is `(now − delay − window, now − delay]`. A
//! datapoint belongs to it by the time it was recorded (the end of the period it covers),
//! as CloudWatch files a datapoint under its timestamp; a response belongs to it by the time
//! it was answered. Everything is kept exactly — the datapoints and each response's
//! `(time, latency)` — and dropped once no later window can hold it, so memory is bounded
//! by `window + delay` of traffic.

use std::collections::VecDeque;

use super::{Datapoint, MetricValues, MetricsSpec, Statistic};
use crate::engine::{SimDuration, SimTime};

/// The datapoints and responses of the last `window + delay`, and the averages over the
/// visible window.
pub struct MetricWindow {
    window: SimDuration,
    delay: SimDuration,
    /// How response times are summarized; `None` when the policy does not read them, in
    /// which case none are kept (nothing on the per-response path).
    statistic: Option<Statistic>,
    /// `(recorded at, datapoint)`, in recording order.
    datapoints: VecDeque<(SimTime, Datapoint)>,
    /// `(answered at, latency)`, in answer order.
    responses: VecDeque<(SimTime, SimDuration)>,
    /// The window's latencies in nanoseconds, for a quantile's selection; reused so that
    /// an evaluation allocates nothing once it has grown to the window's traffic.
    scratch: Vec<u64>,
}

impl MetricWindow {
    pub fn new(spec: &MetricsSpec, statistic: Option<Statistic>) -> Self {
        MetricWindow {
            window: spec.window,
            delay: spec.delay,
            statistic,
            datapoints: VecDeque::new(),
            responses: VecDeque::new(),
            scratch: Vec::new(),
        }
    }

    /// Whether response times are kept (the policy reads them).
    pub fn reads_response_times(&self) -> bool {
        self.statistic.is_some()
    }

    /// Files the datapoint of the period that ends at `now`.
    pub fn record(&mut self, now: SimTime, datapoint: Datapoint) {
        self.prune(now);
        self.datapoints.push_back((now, datapoint));
    }

    /// Files a response answered at `now`; ignored when response times are not read.
    pub fn record_response(&mut self, now: SimTime, latency: SimDuration) {
        if self.statistic.is_none() {
            return;
        }
        while self
            .responses
            .front()
            .is_some_and(|&(time, _)| self.expired(time, now))
        {
            self.responses.pop_front();
        }
        self.responses.push_back((now, latency));
    }

    /// The ready instances of the newest datapoint, whatever the delay: the live pod list
    /// a controller reads alongside its late metrics. `None` before the first datapoint.
    pub fn latest_ready(&self) -> Option<u32> {
        self.datapoints.back().map(|(_, datapoint)| datapoint.ready)
    }

    /// What the pipeline shows at `now`.
    ///
    /// CPU, memory and queue length are means over the window's datapoints that had a
    /// ready instance (a period with none has no per-instance value to average), weighted
    /// by the time each covers. Request rate is the window's completions over its
    /// instance-seconds, `Σ completions / Σ (period × ready)` — completions per second
    /// divided by the mean ready count, exactly when the periods are equal. Response time
    /// is the mean or nearest-rank quantile of the latencies answered in the window.
    pub fn values(&mut self, now: SimTime) -> MetricValues {
        let mut busy = 0.0;
        let mut memory = 0.0;
        let mut queue = 0.0;
        let mut instance_seconds = 0.0;
        let mut weight = 0.0;
        let mut completions = 0u64;
        for (_, datapoint) in self
            .datapoints
            .iter()
            .filter(|&&(time, _)| self.visible(time, now))
        {
            let seconds = datapoint.period.as_secs_f64();
            completions += u64::from(datapoint.completions);
            instance_seconds += seconds * f64::from(datapoint.ready);
            if datapoint.ready > 0 {
                weight += seconds;
                busy += seconds * datapoint.cpu;
                memory += seconds * datapoint.memory;
                queue += seconds * datapoint.queue_length;
            }
        }
        let mean = |sum: f64| (weight > 0.0).then(|| sum / weight);
        MetricValues {
            cpu: mean(busy),
            memory: mean(memory),
            request_rate: (instance_seconds > 0.0).then(|| completions as f64 / instance_seconds),
            response_time: self.response_time(now),
            queue_length: mean(queue),
        }
    }

    /// The configured statistic of the window's latencies, in seconds.
    fn response_time(&mut self, now: SimTime) -> Option<f64> {
        let statistic = self.statistic?;
        let (window, delay) = (self.window, self.delay);
        let visible = self
            .responses
            .iter()
            .filter(|&&(time, _)| in_window(time, now, window, delay))
            .map(|(_, latency)| latency.as_nanos());
        let nanos = match statistic {
            Statistic::Mean => {
                let (sum, count) = visible.fold((0u128, 0u64), |(sum, count), latency| {
                    (sum + u128::from(latency), count + 1)
                });
                if count == 0 {
                    return None;
                }
                sum as f64 / count as f64
            }
            Statistic::Quantile(q) => {
                self.scratch.clear();
                self.scratch.extend(visible);
                if self.scratch.is_empty() {
                    return None;
                }
                // Nearest rank, as the run's own percentiles (`stats::series`): the
                // smallest latency with at least `q` of the window at or below it.
                let n = self.scratch.len();
                let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
                *self.scratch.select_nth_unstable(rank - 1).1 as f64
            }
        };
        Some(nanos / 1e9)
    }

    fn visible(&self, time: SimTime, now: SimTime) -> bool {
        in_window(time, now, self.window, self.delay)
    }

    /// Whether something filed at `time` is out of every window from `now` on.
    fn expired(&self, time: SimTime, now: SimTime) -> bool {
        time + self.delay + self.window <= now
    }

    fn prune(&mut self, now: SimTime) {
        while self
            .datapoints
            .front()
            .is_some_and(|&(time, _)| self.expired(time, now))
        {
            self.datapoints.pop_front();
        }
        while self
            .responses
            .front()
            .is_some_and(|&(time, _)| self.expired(time, now))
        {
            self.responses.pop_front();
        }
    }
}

/// `time ∈ (now − delay − window, now − delay]`, without going below time zero.
fn in_window(time: SimTime, now: SimTime, window: SimDuration, delay: SimDuration) -> bool {
    time + delay <= now && time + delay + window > now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use proptest::prelude::*;
    use rand::RngExt;

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    fn ms(n: u64) -> SimDuration {
        SimDuration::from_millis(n)
    }

    fn spec(window: u64, delay: u64) -> MetricsSpec {
        MetricsSpec {
            window: SimDuration::from_secs(window),
            delay: SimDuration::from_secs(delay),
        }
    }

    fn datapoint(ready: u32, cpu: f64, completions: u32) -> Datapoint {
        Datapoint {
            period: SimDuration::from_secs(1),
            ready,
            cpu,
            memory: cpu / 2.0,
            queue_length: cpu * 4.0,
            completions,
        }
    }

    #[test]
    fn a_datapoint_shows_only_after_the_delay_and_for_one_window() {
        // Window 4 s, delay 2 s: the datapoint of second 1 is seen from 3 s to 6.999 s.
        let mut pipeline = MetricWindow::new(&spec(4, 2), None);
        pipeline.record(secs(1), datapoint(2, 0.5, 10));
        assert_eq!(pipeline.values(secs(1)), MetricValues::default());
        assert_eq!(pipeline.values(secs(2)).cpu, None);
        assert_eq!(pipeline.values(secs(3)).cpu, Some(0.5));
        assert_eq!(pipeline.values(secs(6)).cpu, Some(0.5));
        assert_eq!(pipeline.values(secs(7)).cpu, None);
    }

    #[test]
    fn the_window_averages_its_datapoints_exactly() {
        let mut pipeline = MetricWindow::new(&spec(4, 2), None);
        // Seconds 1..=10 with cpu 0.125 × (s mod 8): the window at 10 s is (4, 8], so
        // seconds 5, 6, 7, 8: cpu 0.625, 0.75, 0.875, 0 → mean 0.5625.
        for s in 1..=10u64 {
            pipeline.record(secs(s), datapoint(2, 0.125 * (s % 8) as f64, 10 * s as u32));
        }
        let seen = pipeline.values(secs(10));
        assert_eq!(seen.cpu, Some(0.5625));
        assert_eq!(seen.memory, Some(0.28125));
        assert_eq!(seen.queue_length, Some(2.25));
        // 50 + 60 + 70 + 80 completions over 4 s on 2 instances: 32.5 per instance-second.
        assert_eq!(seen.request_rate, Some(32.5));
        assert_eq!(seen.response_time, None);
    }

    #[test]
    fn periods_without_a_ready_instance_weigh_in_the_rate_but_not_the_means() {
        let mut pipeline = MetricWindow::new(&spec(4, 0), None);
        pipeline.record(secs(1), datapoint(0, 0.0, 0));
        pipeline.record(secs(2), datapoint(4, 0.5, 12));
        let seen = pipeline.values(secs(2));
        assert_eq!(seen.cpu, Some(0.5));
        // 12 completions over 4 instance-seconds.
        assert_eq!(seen.request_rate, Some(3.0));
        let mut empty = MetricWindow::new(&spec(4, 0), None);
        empty.record(secs(1), datapoint(0, 0.0, 0));
        assert_eq!(empty.values(secs(1)), MetricValues::default());
    }

    #[test]
    fn response_time_quantiles_and_mean_are_exact() {
        let window = |statistic| {
            let mut pipeline = MetricWindow::new(&spec(10, 0), Some(statistic));
            // Latencies 10, 20, ..., 100 ms, answered out of order in the last 10 s, plus
            // one answered too early to count.
            pipeline.record_response(secs(1), ms(5000));
            for (i, latency) in [70, 10, 100, 40, 20, 90, 30, 60, 50, 80].iter().enumerate() {
                pipeline.record_response(secs(12 + i as u64 / 4), ms(*latency));
            }
            pipeline.values(secs(14)).response_time
        };
        assert_eq!(window(Statistic::Mean), Some(0.055));
        // Nearest rank of 10: p50 the 5th (50 ms), p90 the 9th, p99 and p95 the 10th,
        // p91 the 10th (rank ⌈9.1⌉), p10 the first.
        assert_eq!(window(Statistic::Quantile(0.5)), Some(0.05));
        assert_eq!(window(Statistic::Quantile(0.9)), Some(0.09));
        assert_eq!(window(Statistic::Quantile(0.91)), Some(0.1));
        assert_eq!(window(Statistic::Quantile(0.99)), Some(0.1));
        assert_eq!(window(Statistic::Quantile(0.1)), Some(0.01));
        let mut quiet = MetricWindow::new(&spec(10, 0), Some(Statistic::Mean));
        quiet.record_response(secs(1), ms(10));
        assert_eq!(quiet.values(secs(30)).response_time, None);
    }

    #[test]
    fn response_times_are_not_kept_unless_read() {
        let mut pipeline = MetricWindow::new(&spec(10, 0), None);
        assert!(!pipeline.reads_response_times());
        pipeline.record_response(secs(1), ms(10));
        assert!(pipeline.responses.is_empty());
        assert!(MetricWindow::new(&spec(10, 0), Some(Statistic::Mean)).reads_response_times());
    }

    #[test]
    fn memory_is_bounded_by_window_and_delay() {
        let mut pipeline = MetricWindow::new(&spec(60, 30), Some(Statistic::Quantile(0.99)));
        for s in 1..=10_000u64 {
            pipeline.record(secs(s), datapoint(3, 0.5, 100));
            for k in 0..100 {
                pipeline.record_response(secs(s) + ms(10 * k), ms(20));
            }
        }
        // Everything of the last 90 s, nothing older.
        assert_eq!(pipeline.datapoints.len(), 90);
        assert!(pipeline.responses.len() <= 90 * 100 + 100);
        assert_eq!(pipeline.latest_ready(), Some(3));
    }

    /// The window's values recomputed from the whole history, the obvious way.
    fn brute_force(
        history: &[(SimTime, Datapoint)],
        responses: &[(SimTime, SimDuration)],
        now: SimTime,
        metrics: MetricsSpec,
        q: f64,
    ) -> MetricValues {
        let inside = |t: SimTime| {
            let hi = now.as_nanos() as i128 - metrics.delay.as_nanos() as i128;
            let lo = hi - metrics.window.as_nanos() as i128;
            (t.as_nanos() as i128) > lo && (t.as_nanos() as i128) <= hi
        };
        let points: Vec<&Datapoint> = history
            .iter()
            .filter(|(t, _)| inside(*t))
            .map(|(_, d)| d)
            .collect();
        let with_ready: Vec<&&Datapoint> = points.iter().filter(|d| d.ready > 0).collect();
        let n = with_ready.len() as f64;
        let mean = |f: fn(&Datapoint) -> f64| {
            (n > 0.0).then(|| with_ready.iter().map(|d| f(d)).sum::<f64>() / n)
        };
        let instance_seconds: f64 = points.iter().map(|d| f64::from(d.ready)).sum();
        let completions: f64 = points.iter().map(|d| f64::from(d.completions)).sum();
        let mut latencies: Vec<u64> = responses
            .iter()
            .filter(|(t, _)| inside(*t))
            .map(|(_, l)| l.as_nanos())
            .collect();
        latencies.sort_unstable();
        let response_time = (!latencies.is_empty()).then(|| {
            let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            latencies[rank - 1] as f64 / 1e9
        });
        MetricValues {
            cpu: mean(|d| d.cpu),
            memory: mean(|d| d.memory),
            request_rate: (instance_seconds > 0.0).then(|| completions / instance_seconds),
            response_time,
            queue_length: mean(|d| d.queue_length),
        }
    }

    fn close(a: Option<f64>, b: Option<f64>) -> bool {
        match (a, b) {
            (None, None) => true,
            // Sums in a different order: equal to rounding.
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
            _ => false,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn agrees_with_a_recomputation_from_the_whole_history(
            seed in any::<u64>(),
            window in 1u64..20,
            delay in 0u64..10,
            q in 0.01f64..0.999,
        ) {
            let metrics = spec(window, delay);
            let mut pipeline = MetricWindow::new(&metrics, Some(Statistic::Quantile(q)));
            let mut rng = stream(seed, 0, 0);
            let (mut history, mut responses) = (Vec::new(), Vec::new());
            for s in 1..=120u64 {
                for _ in 0..rng.random_range(0..6) {
                    let at = secs(s - 1) + ms(rng.random_range(1..1000));
                    let latency = ms(rng.random_range(1..500));
                    // Answer times only move forward, as in a run.
                    let at = responses.last().map_or(at, |&(last, _)| at.max(last));
                    pipeline.record_response(at, latency);
                    responses.push((at, latency));
                }
                let point = Datapoint {
                    period: SimDuration::from_secs(1),
                    ready: rng.random_range(0..4),
                    cpu: rng.random_range(0.0..1.0),
                    memory: rng.random_range(0.0..1.0),
                    queue_length: rng.random_range(0.0..8.0),
                    completions: rng.random_range(0..50),
                };
                pipeline.record(secs(s), point);
                history.push((secs(s), point));
                if s % 7 == 0 {
                    let got = pipeline.values(secs(s));
                    let want = brute_force(&history, &responses, secs(s), metrics, q);
                    prop_assert!(close(got.cpu, want.cpu), "{got:?} {want:?}");
                    prop_assert!(close(got.memory, want.memory));
                    prop_assert!(close(got.queue_length, want.queue_length));
                    prop_assert!(close(got.request_rate, want.request_rate));
                    prop_assert_eq!(got.response_time, want.response_time);
                }
            }
        }
    }
}
