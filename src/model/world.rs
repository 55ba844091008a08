//! The world of one run and the loop that drives it: arrivals go through the balancer to
//! a server, wait for a worker, complete, and are measured.
//!
//! A run is single-threaded and deterministic: every random draw comes from a stream
//! derived from the run's seed, and every event from the one queue ordered by
//! `(time, priority, sequence)`.

use std::ops::ControlFlow;

use super::arrivals::Arrivals;
use super::event::Event;
use super::outcome::{FailReason, Outcome};
use super::request::{Request, RequestId, RequestTable};
use super::server::{Admission, Server};
use super::spec::RunSpec;
use super::streams;
use crate::balancer::{Backend, Balancer};
use crate::engine::{EventQueue, SimDuration, SimRng, SimTime, stream};
use crate::id::{ClientAddr, RequestKey, ServerId};
use crate::stats::{Counts, LatencyStats, RunResult, SeriesRecorder, ServerSummary};

/// Simulates `spec` with `seed` and returns what it measured.
pub fn simulate(spec: &RunSpec, seed: u64) -> RunResult {
    simulate_with_progress(spec, seed, &|_| ControlFlow::Continue(()))
        .expect("a run never asked to stop runs to its end")
}

/// Events between two progress reports: rare enough to cost nothing, frequent enough
/// (a few times per wall-clock millisecond) for a smooth progress bar.
const EVENTS_PER_PROGRESS_REPORT: u32 = 1 << 14;

/// Like [`simulate`], reporting progress as it goes: `progress` receives increments of
/// simulated time, summing to the run's duration. It observes and may stop the run
/// (`ControlFlow::Break`, on Ctrl-C say), which then returns `None`; it can change nothing
/// else, so a run that completes is the same whatever `progress` does.
pub fn simulate_with_progress(
    spec: &RunSpec,
    seed: u64,
    progress: &(dyn Fn(SimDuration) -> ControlFlow<()> + Sync),
) -> Option<RunResult> {
    World::new(spec, seed).run(progress)
}

struct World<'a> {
    spec: &'a RunSpec,
    seed: u64,
    now: SimTime,
    end: SimTime,
    warmup_end: SimTime,
    events: EventQueue<Event>,
    arrivals: Arrivals<'a>,
    /// Client and work of the one arrival scheduled, drawn when it was scheduled.
    next_request: (ClientAddr, SimDuration),
    balancer: Box<dyn Balancer>,
    balancer_rng: SimRng,
    servers: Vec<Server>,
    requests: RequestTable,
    counts: Counts,
    latency: LatencyStats,
    wait: LatencyStats,
    /// Per server: measured completions, and busy integral when measurement started.
    completions: Vec<u64>,
    busy_at_warmup: Vec<u128>,
    /// Per server: busy integral at the previous time-series sample.
    busy_at_sample: Vec<u128>,
    last_sample: SimTime,
    series: Option<SeriesRecorder>,
}

impl<'a> World<'a> {
    fn new(spec: &'a RunSpec, seed: u64) -> Self {
        let mut servers = Vec::with_capacity(spec.server_count());
        for (group, group_spec) in spec.servers.iter().enumerate() {
            for index in 0..group_spec.count {
                let id = ServerId(servers.len() as u32);
                servers.push(Server::new(id, group, index, group_spec));
            }
        }
        let mut balancer = spec.balancer.build(servers.len());
        for server in &servers {
            balancer.add(Backend {
                id: server.id,
                name: &server.name,
                weight: server.weight,
            });
        }
        let n = servers.len();
        World {
            spec,
            seed,
            now: SimTime::ZERO,
            end: SimTime::ZERO + spec.duration,
            warmup_end: SimTime::ZERO + spec.warmup,
            events: EventQueue::with_capacity(n + 4),
            arrivals: Arrivals::new(&spec.workload, seed),
            next_request: (ClientAddr(0), SimDuration::ZERO),
            balancer,
            balancer_rng: stream(seed, streams::BALANCER, 0),
            servers,
            requests: RequestTable::default(),
            counts: Counts::default(),
            latency: LatencyStats::new(),
            wait: LatencyStats::new(),
            completions: vec![0; n],
            busy_at_warmup: vec![0; n],
            busy_at_sample: vec![0; n],
            last_sample: SimTime::ZERO,
            series: spec.sample_interval.map(|_| SeriesRecorder::new(n)),
        }
    }

    fn run(
        mut self,
        progress: &(dyn Fn(SimDuration) -> ControlFlow<()> + Sync),
    ) -> Option<RunResult> {
        self.schedule_next_arrival();
        if self.warmup_end > SimTime::ZERO {
            self.events.schedule(self.warmup_end, Event::WarmupEnd);
        }
        self.schedule_next_sample();
        self.events.schedule(self.end, Event::End);

        let mut reported = SimTime::ZERO;
        let mut until_report = EVENTS_PER_PROGRESS_REPORT;
        while let Some((now, event)) = self.events.pop() {
            self.now = now;
            until_report -= 1;
            if until_report == 0 {
                if progress(now - reported).is_break() {
                    return None;
                }
                reported = now;
                until_report = EVENTS_PER_PROGRESS_REPORT;
            }
            match event {
                Event::Arrival => self.on_arrival(),
                Event::Completion(id) => self.on_completion(id),
                Event::WarmupEnd => self.on_warmup_end(),
                Event::Sample => {
                    self.take_sample();
                    self.schedule_next_sample();
                }
                Event::End => {
                    if self.last_sample < self.end {
                        self.take_sample();
                    }
                    break;
                }
            }
        }
        // The last report cannot stop a run that is already complete.
        let _ = progress(self.end - reported);
        Some(self.into_result())
    }

    /// Schedules the next arrival and draws its client and work now: the balancer can
    /// then start loading what its pick will read ([`Balancer::prefetch`]) while the
    /// events before it are handled. Each stream still draws in arrival order.
    fn schedule_next_arrival(&mut self) {
        if let Some(time) = self.arrivals.next_arrival()
            && time < self.end
        {
            let (client, work) = self.arrivals.arriving();
            self.balancer.prefetch(&RequestKey {
                client,
                session: None,
            });
            self.next_request = (client, work);
            self.events.schedule(time, Event::Arrival);
        }
    }

    /// Samples fall every interval strictly before the end; `End` takes the last one.
    fn schedule_next_sample(&mut self) {
        if let Some(interval) = self.spec.sample_interval {
            let next = self.last_sample + interval;
            if next < self.end {
                self.events.schedule(next, Event::Sample);
            }
        }
    }

    fn on_arrival(&mut self) {
        // Every draw happens whatever the request's fate, so all variants of a scenario
        // see the same requests.
        let (client, work) = self.next_request;
        let measured = self.now >= self.warmup_end;
        if measured {
            self.counts.arrived += 1;
        }
        match self.balancer.pick(
            &RequestKey {
                client,
                session: None,
            },
            &mut self.balancer_rng,
        ) {
            None => self.record(measured, Outcome::Failed(FailReason::NoServer)),
            Some(server_id) => {
                let request = Request {
                    arrived: self.now,
                    work,
                    server: server_id,
                    started: self.now,
                    measured,
                };
                let id = self.requests.insert(request);
                match self.servers[server_id.index()].admit(self.now, id) {
                    Admission::Start => {
                        self.balancer.dispatched(server_id);
                        self.start_service(id, server_id, work);
                    }
                    Admission::Queued => self.balancer.dispatched(server_id),
                    Admission::Rejected => {
                        self.requests.remove(id);
                        self.record(measured, Outcome::Rejected);
                    }
                }
            }
        }
        self.schedule_next_arrival();
    }

    fn start_service(&mut self, id: RequestId, server: ServerId, work: SimDuration) {
        let service_time = self.servers[server.index()].service_time(work);
        self.events
            .schedule(self.now + service_time, Event::Completion(id));
    }

    fn on_completion(&mut self, id: RequestId) {
        let Some(request) = self.requests.remove(id) else {
            return;
        };
        let server_id = request.server;
        let response_time = self.now - request.arrived;
        self.balancer.finished(server_id, response_time, true);
        self.record(request.measured, Outcome::Completed);
        if request.measured {
            self.latency.record(response_time);
            self.wait.record(request.started - request.arrived);
            self.completions[server_id.index()] += 1;
        }
        if let Some(series) = &mut self.series {
            series.record_completion(server_id, response_time);
        }
        if let Some(next) = self.servers[server_id.index()].finish(self.now) {
            let now = self.now;
            if let Some(queued) = self.requests.get_mut(next) {
                queued.started = now;
                let work = queued.work;
                self.start_service(next, server_id, work);
            }
        }
    }

    /// Counts how a request ended, if it arrived after warmup.
    fn record(&mut self, measured: bool, outcome: Outcome) {
        if !measured {
            return;
        }
        match outcome {
            Outcome::Completed => self.counts.completed += 1,
            Outcome::Rejected => self.counts.rejected += 1,
            Outcome::Failed(_) => self.counts.failed += 1,
        }
    }

    fn on_warmup_end(&mut self) {
        for (server, busy) in self.servers.iter_mut().zip(&mut self.busy_at_warmup) {
            *busy = server.busy_integral(self.now);
        }
    }

    fn take_sample(&mut self) {
        let Some(series) = &mut self.series else {
            return;
        };
        let width = self.now.since(self.last_sample).as_nanos();
        for (server, busy_before) in self.servers.iter_mut().zip(&mut self.busy_at_sample) {
            let busy = server.busy_integral(self.now);
            let utilization = (busy - *busy_before) as f64
                / (u128::from(server.workers) * u128::from(width)).max(1) as f64;
            *busy_before = busy;
            series.close_server(
                self.now,
                server.id,
                server.queue_length(),
                server.busy_workers(),
                utilization,
            );
        }
        series.close_interval(self.now);
        self.last_sample = self.now;
    }

    fn into_result(mut self) -> RunResult {
        let measured = self.end.since(self.warmup_end);
        let measured_ns = u128::from(measured.as_nanos());
        self.counts.in_flight = self.requests.live().filter(|r| r.measured).count() as u64;
        let mut busy_total = 0u128;
        let mut capacity_total = 0u128;
        let servers = self
            .servers
            .iter_mut()
            .zip(&self.busy_at_warmup)
            .zip(&self.completions)
            .map(|((server, &at_warmup), &completions)| {
                let busy = server.busy_integral(self.end) - at_warmup;
                let capacity = u128::from(server.workers) * measured_ns;
                busy_total += busy;
                capacity_total += capacity;
                let group = &self.spec.servers[server.group];
                ServerSummary {
                    name: server.name.clone(),
                    group: group.name.clone(),
                    zone: group.zone.clone(),
                    completions,
                    utilization: ratio(busy, capacity),
                }
            })
            .collect();
        let (series, intervals) = self
            .series
            .map(SeriesRecorder::into_parts)
            .unwrap_or_default();
        RunResult {
            seed: self.seed,
            measured,
            counts: self.counts,
            latency: self.latency,
            wait: self.wait,
            utilization: ratio(busy_total, capacity_total),
            servers,
            series,
            intervals,
            events: Vec::new(),
        }
    }
}

fn ratio(part: u128, whole: u128) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::{Algorithm, BalancerSpec};
    use crate::engine::SimDuration;
    use crate::model::{
        ArrivalPattern, GeneratedWorkload, RateSchedule, ServerGroupSpec, ServiceDist, WorkloadSpec,
    };

    fn spec(rate: f64, servers: u32, queue_limit: Option<u32>) -> RunSpec {
        RunSpec {
            warmup: SimDuration::from_secs(10),
            ..RunSpec::new(
                SimDuration::from_secs(200),
                WorkloadSpec::Generated(GeneratedWorkload {
                    rate: RateSchedule::constant(rate),
                    arrivals: ArrivalPattern::Poisson,
                    service: ServiceDist::Exponential {
                        mean: SimDuration::from_millis(10),
                    },
                    clients: 100,
                }),
                vec![ServerGroupSpec {
                    queue_limit,
                    ..ServerGroupSpec::new("web", servers)
                }],
                BalancerSpec::new(Algorithm::RoundRobin),
            )
        }
    }

    fn rows(result: &RunResult) -> Vec<crate::stats::SeriesRow> {
        result.series.to_vec()
    }

    #[test]
    fn every_measured_request_has_exactly_one_outcome() {
        let result = simulate(&spec(300.0, 2, Some(2)), 5);
        let c = result.counts;
        assert!(c.rejected > 0 && c.completed > 0, "{c:?}");
        assert!(c.is_conserved(), "{c:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_run_and_another_seed_does_not() {
        let a = simulate(&spec(150.0, 2, None), 5);
        let b = simulate(&spec(150.0, 2, None), 5);
        let c = simulate(&spec(150.0, 2, None), 6);
        assert_eq!(
            (a.counts, a.latency.mean_ms(), rows(&a)),
            (b.counts, b.latency.mean_ms(), rows(&b))
        );
        assert_ne!(a.latency.mean_ms(), c.latency.mean_ms());
    }

    #[test]
    fn utilization_matches_offered_load() {
        // Offered load 150/s × 10 ms over 2 servers is 0.75; over 190 s the busy fraction's
        // standard error is about 0.01, so 0.05 is five of them.
        let result = simulate(&spec(150.0, 2, None), 11);
        assert!(
            (result.utilization - 0.75).abs() < 0.05,
            "{}",
            result.utilization
        );
        assert_eq!(result.series.len(), 200 * 2);
        assert!(
            rows(&result)
                .iter()
                .all(|row| (0.0..=1.0).contains(&row.utilization))
        );
    }

    #[test]
    fn the_series_counts_every_completion_once() {
        let result = simulate(&spec(150.0, 2, None), 3);
        let per_interval: u64 = result
            .intervals
            .to_vec()
            .iter()
            .map(|i| u64::from(i.completions))
            .sum();
        let per_row: u64 = rows(&result).iter().map(|r| u64::from(r.completions)).sum();
        assert_eq!(per_interval, per_row);
        assert!(per_row >= result.counts.completed);
    }
}
