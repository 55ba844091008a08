//! Recorded traffic: a trace of requests, and replaying it as the arrivals of a run.
//!
//! A trace is read once per scenario (by `scenario`, which knows the file formats) and
//! shared by every variant and replication through an `Arc`: it is never copied per run, and
//! a run only walks it with a cursor. Memory is proportional to the number of requests —
//! about 48 bytes each ([`TraceRequest`]), so a million-line log takes some 48 MB — and not
//! to the size of the file, whose lines are parsed one at a time.
//!
//! Replay is deterministic: requests are kept sorted by time (stably, so requests logged at
//! the same instant keep their file order), and `speed` divides every offset from the first
//! request exactly when it is 1 and to the nearest nanosecond otherwise.

use std::fmt;
use std::sync::Arc;

use super::arrivals::Arrival;
use super::service::ServiceSampler;
use super::spec::ServiceDist;
use crate::engine::{SimDuration, SimRng, SimTime};
use crate::id::{ClientAddr, SessionId};

/// One recorded request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TraceRequest {
    /// When it arrived, after the trace's first request.
    pub at: SimDuration,
    pub client: ClientAddr,
    /// The session it belongs to (a stable hash of the trace's session id), for
    /// session-aware balancing; `None` when the trace names none.
    pub session: Option<u64>,
    /// The work it brought at speed 1.0, or `None` when the trace does not say, in which
    /// case it is drawn from the workload's service distribution.
    pub work: Option<SimDuration>,
}

/// The requests of a trace, sorted by time, the first at zero. Never empty.
#[derive(Clone, PartialEq, Eq)]
pub struct Trace {
    /// The file it was read from, as shown in messages.
    source: String,
    requests: Vec<TraceRequest>,
    /// Malformed lines left out when it was read.
    skipped: u64,
    /// Requests whose work is not recorded.
    without_work: usize,
}

impl Trace {
    /// A trace of `requests`, sorted stably by time and shifted so that the first arrives at
    /// zero; `None` when there are none.
    pub fn new(
        source: impl Into<String>,
        mut requests: Vec<TraceRequest>,
        skipped: u64,
    ) -> Option<Self> {
        requests.sort_by_key(|r| r.at);
        let origin = requests.first()?.at;
        if !origin.is_zero() {
            for request in &mut requests {
                request.at = SimDuration::from_nanos(request.at.as_nanos() - origin.as_nanos());
            }
        }
        let without_work = requests.iter().filter(|r| r.work.is_none()).count();
        Some(Trace {
            source: source.into(),
            requests,
            skipped,
            without_work,
        })
    }

    /// The file the trace was read from.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn requests(&self) -> &[TraceRequest] {
        &self.requests
    }

    /// Malformed lines left out when the trace was read.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// How many requests carry no work of their own.
    pub fn without_work(&self) -> usize {
        self.without_work
    }

    /// The time from the first request to the last.
    pub fn span(&self) -> SimDuration {
        self.requests.last().map_or(SimDuration::ZERO, |r| r.at)
    }
}

/// Shows the trace's size rather than its (possibly millions of) requests.
impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("source", &self.source)
            .field("requests", &self.requests.len())
            .field("skipped", &self.skipped)
            .field("without_work", &self.without_work)
            .finish()
    }
}

/// A trace replayed at a speed, with the service distribution for requests that carry no
/// work. Built only through [`TraceReplay::new`], which refuses a replay that could meet a
/// request with no work and nothing to draw it from.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceReplay {
    trace: Arc<Trace>,
    speed: f64,
    service: Option<ServiceDist>,
}

impl TraceReplay {
    /// `None` when `speed` is not a positive finite number, or when some request carries no
    /// work and `service` is `None`.
    pub fn new(trace: Arc<Trace>, speed: f64, service: Option<ServiceDist>) -> Option<Self> {
        let speed_ok = speed.is_finite() && speed > 0.0;
        let work_ok = trace.without_work() == 0 || service.is_some();
        (speed_ok && work_ok).then_some(TraceReplay {
            trace,
            speed,
            service,
        })
    }

    pub fn trace(&self) -> &Trace {
        &self.trace
    }

    /// 2.0 replays twice as fast: every gap between requests is halved.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn service(&self) -> Option<&ServiceDist> {
        self.service.as_ref()
    }

    /// When a request recorded `at` after the first arrives in the run.
    pub fn arrival_time(&self, at: SimDuration) -> SimTime {
        if self.speed == 1.0 {
            SimTime::from_nanos(at.as_nanos())
        } else {
            let nanos = (at.as_nanos() as f64 / self.speed).round();
            SimTime::from_nanos(nanos.clamp(0.0, u64::MAX as f64) as u64)
        }
    }

    /// When the last request arrives in the run.
    pub fn last_arrival(&self) -> SimTime {
        self.arrival_time(self.trace.span())
    }
}

/// A run's cursor over a replayed trace: the arrivals, then who each request is from and
/// how much work it brings.
pub struct TraceArrivals<'a> {
    replay: &'a TraceReplay,
    /// Index of the next request to arrive.
    next: usize,
    /// The request that arrived last.
    current: TraceRequest,
    /// Draws work for requests without it; present whenever the replay has a service
    /// distribution.
    service: Option<ServiceSampler>,
}

impl<'a> TraceArrivals<'a> {
    /// `rng` is the service stream, used only for requests that carry no work.
    pub fn new(replay: &'a TraceReplay, rng: SimRng) -> Self {
        // A trace is never empty; the first request stands in until the first arrival.
        let first = replay.trace.requests[0];
        TraceArrivals {
            replay,
            next: 0,
            current: first,
            service: replay
                .service
                .as_ref()
                .map(|dist| ServiceSampler::new(dist, rng)),
        }
    }

    /// The time of the next arrival, or `None` after the last request.
    pub fn next_arrival(&mut self) -> Option<SimTime> {
        let request = *self.replay.trace.requests.get(self.next)?;
        self.next += 1;
        self.current = request;
        Some(self.replay.arrival_time(request.at))
    }

    /// The client of the request that arrived last, and its work.
    pub fn arriving(&mut self) -> Arrival {
        let work = match (self.current.work, &mut self.service) {
            (Some(work), _) => work,
            (None, Some(service)) => service.sample(),
            // Unreachable: `TraceReplay::new` requires a service distribution when any
            // request lacks work.
            (None, None) => SimDuration::ZERO,
        };
        Arrival {
            client: self.current.client,
            session: self.current.session.map(SessionId),
            work,
            // A trace does not say which request ends a session.
            ends_session: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::{Algorithm, BalancerSpec};
    use crate::engine::stream;
    use crate::model::{RunSpec, ServerGroupSpec, WorkloadSpec, simulate};

    fn request(at_ns: u64, client: u32, work_ns: Option<u64>) -> TraceRequest {
        TraceRequest {
            at: SimDuration::from_nanos(at_ns),
            client: ClientAddr(client),
            session: None,
            work: work_ns.map(SimDuration::from_nanos),
        }
    }

    fn trace(requests: Vec<TraceRequest>) -> Arc<Trace> {
        Arc::new(Trace::new("t.csv", requests, 0).expect("not empty"))
    }

    #[test]
    fn a_trace_is_sorted_stably_and_starts_at_zero() {
        let trace = trace(vec![
            request(500, 1, Some(1)),
            request(300, 2, Some(1)),
            request(500, 3, Some(1)),
            request(400, 4, None),
        ]);
        let order: Vec<(u64, u32)> = trace
            .requests()
            .iter()
            .map(|r| (r.at.as_nanos(), r.client.0))
            .collect();
        assert_eq!(order, [(0, 2), (100, 4), (200, 1), (200, 3)]);
        assert_eq!(trace.span(), SimDuration::from_nanos(200));
        assert_eq!(trace.without_work(), 1);
    }

    #[test]
    fn an_empty_trace_cannot_be_built() {
        assert!(Trace::new("t.csv", Vec::new(), 3).is_none());
    }

    #[test]
    fn a_replay_needs_a_positive_speed_and_work_for_every_request() {
        let complete = trace(vec![request(0, 1, Some(5))]);
        let partial = trace(vec![request(0, 1, None)]);
        let service = ServiceDist::Constant {
            mean: SimDuration::from_millis(1),
        };
        assert!(TraceReplay::new(complete.clone(), 1.0, None).is_some());
        assert!(TraceReplay::new(partial.clone(), 1.0, None).is_none());
        assert!(TraceReplay::new(partial, 1.0, Some(service)).is_some());
        for speed in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(TraceReplay::new(complete.clone(), speed, None).is_none());
        }
    }

    #[test]
    fn speed_divides_every_offset_and_one_is_exact() {
        let big = (1u64 << 60) + 1;
        let trace = trace(vec![request(0, 1, Some(1)), request(big, 1, Some(1))]);
        let at = |speed: f64, ns: u64| {
            TraceReplay::new(trace.clone(), speed, None)
                .expect("valid")
                .arrival_time(SimDuration::from_nanos(ns))
                .as_nanos()
        };
        assert_eq!(at(1.0, big), big);
        assert_eq!(at(2.0, 3_000_000_000), 1_500_000_000);
        assert_eq!(at(2.0, 3), 2);
        assert_eq!(at(0.5, 7), 14);
    }

    /// One server with one worker, sampling every `interval`, for `duration`.
    fn replay_run(replay: TraceReplay, duration: SimDuration, interval: SimDuration) -> RunSpec {
        RunSpec {
            sample_interval: Some(interval),
            ..RunSpec::new(
                duration,
                WorkloadSpec::Replay(replay),
                vec![ServerGroupSpec::new("web", 1)],
                BalancerSpec::new(Algorithm::RoundRobin),
            )
        }
    }

    /// Arrivals 0, 0.1, 0.25, 1.3, 1.35 and 2.9 s, each bringing 10 ms of work: never two
    /// in service at once.
    fn spaced_trace() -> Arc<Trace> {
        let ms = |ms: u64| ms * 1_000_000;
        trace(
            [0, 100, 250, 1300, 1350, 2900]
                .into_iter()
                .map(|at| request(ms(at), 1, Some(ms(10))))
                .collect(),
        )
    }

    fn completions_per_interval(spec: &RunSpec) -> (Vec<u32>, f64, f64) {
        let result = simulate(spec, 1);
        let per_interval = result
            .intervals
            .to_vec()
            .iter()
            .map(|i| i.completions)
            .collect();
        (
            per_interval,
            result.latency.mean_ms(),
            result.latency.max_ms(),
        )
    }

    #[test]
    fn a_replay_arrives_exactly_when_the_trace_says() {
        let replay = TraceReplay::new(spaced_trace(), 1.0, None).expect("valid");
        let spec = replay_run(replay, SimDuration::from_secs(3), SimDuration::from_secs(1));
        // Each request completes 10 ms after it arrives, in the same one-second interval.
        assert_eq!(completions_per_interval(&spec), (vec![3, 2, 1], 10.0, 10.0));
        let result = simulate(&spec, 1);
        assert_eq!(result.counts.arrived, 6);
        assert_eq!(result.wait.max_ms(), 0.0);
    }

    #[test]
    fn a_replay_at_speed_two_halves_every_time() {
        let replay = TraceReplay::new(spaced_trace(), 2.0, None).expect("valid");
        let spec = replay_run(
            replay,
            SimDuration::from_millis(1500),
            SimDuration::from_millis(500),
        );
        assert_eq!(completions_per_interval(&spec), (vec![3, 2, 1], 10.0, 10.0));
    }

    #[test]
    fn requests_recorded_at_one_instant_queue_behind_each_other() {
        let ms = |ms: u64| ms * 1_000_000;
        let replay = TraceReplay::new(
            trace(vec![
                request(0, 1, Some(ms(10))),
                request(0, 2, Some(ms(10))),
                request(0, 3, Some(ms(10))),
            ]),
            1.0,
            None,
        )
        .expect("valid");
        let spec = replay_run(replay, SimDuration::from_secs(1), SimDuration::from_secs(1));
        let (_, mean, max) = completions_per_interval(&spec);
        assert_eq!((mean, max), (20.0, 30.0));
    }

    #[test]
    fn the_cursor_replays_times_clients_and_recorded_or_drawn_work() {
        let trace = trace(vec![
            request(0, 7, Some(40)),
            request(1_000, 8, None),
            request(4_000, 9, Some(60)),
        ]);
        let service = ServiceDist::Constant {
            mean: SimDuration::from_nanos(25),
        };
        let replay = TraceReplay::new(trace, 2.0, Some(service)).expect("valid");
        let mut arrivals = TraceArrivals::new(&replay, stream(1, 3, 0));
        let mut seen = Vec::new();
        while let Some(time) = arrivals.next_arrival() {
            let arrival = arrivals.arriving();
            seen.push((time.as_nanos(), arrival.client.0, arrival.work.as_nanos()));
        }
        assert_eq!(seen, [(0, 7, 40), (500, 8, 25), (2_000, 9, 60)]);
    }
}
