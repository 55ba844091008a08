//! Measurement: the component that observes outcomes and never decides them.
//!
//! It counts how each measured request ended (every count derives from one [`Outcome`]
//! per request, so conservation holds by construction), records latencies, integrates each
//! server's busy time over its lifetime, samples the time series and keeps the log of
//! cluster events. Servers that join mid-run get their rows and figures from the moment
//! they join; servers that leave stop having rows after the interval they left in.

use super::outcome::Outcome;
use super::request::Request;
use super::server::{Server, ServerState};
use super::spec::RunSpec;
use crate::engine::{SimDuration, SimTime, prefetch};
use crate::id::ServerId;
use crate::stats::{
    CAPACITY, ClusterEvent, ClusterSample, Counts, Figure, Figures, Instances, LatencyStats,
    NORMAL, PANIC, RunResult, SeriesRecorder, ServerSample, ServerSummary, SpillVec,
};

pub struct Measurement {
    warmup_end: SimTime,
    counts: Counts,
    latency: LatencyStats,
    wait: LatencyStats,
    /// Per server: measured completions.
    completions: Vec<u64>,
    /// Per server: busy integral when measurement started (or 0 if it joined later).
    busy_at_warmup: Vec<u128>,
    /// Per server: busy integral at the previous time-series sample.
    busy_at_sample: Vec<u128>,
    last_sample: SimTime,
    series: Option<SeriesRecorder>,
    events: Vec<ClusterEvent>,
    /// The share of clients remapped by each membership change.
    remaps: Vec<f64>,
    figures: Figures,
    /// Seconds from each crash to its detection by the health checks or outlier detection.
    detections: Vec<f64>,
    /// Seconds from each crashed server's recovery to its return to rotation.
    recoveries: Vec<f64>,
    /// Requests a worker at speed 1 answers per second at the mean work: how a ready
    /// server's capacity is written in the time series.
    requests_per_work_second: f64,
    /// The objective on each interval's p99 (`[slo]`), in milliseconds, and the measured
    /// time spent in intervals above it.
    slo_p99_ms: Option<f64>,
    slo_violated: SimDuration,
    /// Since when the balancer is in panic, and the measured time it spent in it.
    panic_since: Option<SimTime>,
    in_panic: SimDuration,
}

impl Measurement {
    pub fn new(spec: &RunSpec) -> Self {
        let n = spec.server_count();
        Measurement {
            warmup_end: SimTime::ZERO + spec.warmup,
            counts: Counts::default(),
            latency: LatencyStats::new(),
            wait: LatencyStats::new(),
            completions: Vec::with_capacity(n),
            busy_at_warmup: Vec::with_capacity(n),
            busy_at_sample: Vec::with_capacity(n),
            last_sample: SimTime::ZERO,
            series: spec.sample_interval.map(|_| SeriesRecorder::new(n)),
            events: Vec::new(),
            remaps: Vec::new(),
            figures: Figures::default(),
            detections: Vec::new(),
            recoveries: Vec::new(),
            requests_per_work_second: 1.0 / spec.workload.mean_work().as_secs_f64().max(1e-9),
            slo_p99_ms: spec.slo.map(|slo| slo.p99.as_secs_f64() * 1e3),
            slo_violated: SimDuration::ZERO,
            panic_since: None,
            in_panic: SimDuration::ZERO,
        }
    }

    /// A membership change moved `share` of the clients to another server.
    pub fn remapped(&mut self, share: f64) {
        self.remaps.push(share);
    }

    /// Adds `amount` to the count `figure`: what a component reports at the end of a run.
    pub fn report(&mut self, figure: Figure, amount: u64) {
        self.figures.add(figure, amount);
    }

    /// Sets the real-valued `figure` a component measured.
    pub fn set_figure(&mut self, figure: Figure, value: f64) {
        self.figures.set(figure, value);
    }

    /// Whether a request arriving at `now` counts.
    pub fn is_measured(&self, now: SimTime) -> bool {
        now >= self.warmup_end
    }

    /// A request arrived at `now`.
    pub fn arrived(&mut self, measured: bool) {
        if measured {
            self.counts.arrived += 1;
        }
        if let Some(series) = &mut self.series {
            series.record_arrival();
        }
    }

    /// The balancer sent a request to `server`.
    pub fn routed(&mut self, server: ServerId) {
        if let Some(series) = &mut self.series {
            series.record_routed(server);
        }
    }

    /// Server `id` joined: it gets its per-server figures.
    pub fn server_joined(&mut self, id: ServerId) {
        debug_assert_eq!(id.index(), self.completions.len());
        self.completions.push(0);
        self.busy_at_warmup.push(0);
        self.busy_at_sample.push(0);
        if let Some(series) = &mut self.series {
            series.add_server(id);
        }
    }

    /// A server changed state (or joined, from `None`, or left for good, to `None`).
    pub fn state_changed(
        &mut self,
        now: SimTime,
        server: &Server,
        from: Option<ServerState>,
        to: Option<ServerState>,
        reason: &'static str,
    ) {
        self.events.push(ClusterEvent {
            time: now,
            server: server.name.clone(),
            from: from.map_or("absent", ServerState::name),
            to: to.map_or("absent", ServerState::name),
            reason,
            detail: String::new(),
        });
    }

    /// `server`'s speed was set to `speed` (a degraded host, or one restored): a row whose
    /// state is unchanged, its detail the new speed.
    pub fn speed_changed(&mut self, now: SimTime, server: &Server, speed: f64) {
        let state = server.state.name();
        self.events.push(ClusterEvent {
            time: now,
            server: server.name.clone(),
            from: state,
            to: state,
            reason: "speed-change",
            detail: format!("speed {speed}"),
        });
    }

    /// The balancers' view of `server` changed, for `reason`: a health check's verdict
    /// (`healthy`, `unhealthy`), an outlier ejection or its end (`ejected`), service
    /// discovery (`unknown`), its circuit breaker (`closed`, `open`, `half-open`) or its
    /// return to rotation after a crash (`recovered`).
    pub fn rotation_changed(
        &mut self,
        now: SimTime,
        server: &Server,
        from: &'static str,
        to: &'static str,
        reason: &'static str,
    ) {
        self.events.push(ClusterEvent {
            time: now,
            server: server.name.clone(),
            from,
            to,
            reason,
            detail: String::new(),
        });
    }

    /// The balancer went into panic (`panic`) or out of it, for `reason` (what changed a
    /// host's health, or the set of hosts): a row of its own, with no server, from `normal`
    /// to `panic` or back; `detail` says what decided it.
    pub fn panic_changed(
        &mut self,
        now: SimTime,
        panic: bool,
        reason: &'static str,
        detail: String,
    ) {
        let (from, to) = if panic {
            self.panic_since = Some(now);
            (NORMAL, PANIC)
        } else {
            self.end_panic(now);
            (PANIC, NORMAL)
        };
        self.events.push(ClusterEvent {
            time: now,
            server: String::new(),
            from,
            to,
            reason,
            detail,
        });
    }

    /// A panic, if one is on, ends at `now`: its measured part (after warmup) counts.
    fn end_panic(&mut self, now: SimTime) {
        if let Some(since) = self.panic_since.take() {
            self.in_panic = self.in_panic + now.since(since.max(self.warmup_end));
        }
    }

    /// The autoscaler of group `group` moved its capacity for `reason` (`scale-out` or
    /// `scale-in`); `detail` says from what to what and what it saw.
    pub fn scaled(&mut self, now: SimTime, group: &str, reason: &'static str, detail: String) {
        self.events.push(ClusterEvent {
            time: now,
            server: group.to_string(),
            from: CAPACITY,
            to: CAPACITY,
            reason,
            detail,
        });
    }

    /// A crash was detected — by the health checks or by outlier detection — `after` it
    /// happened.
    pub fn detected(&mut self, after: SimDuration) {
        self.detections.push(after.as_secs_f64());
    }

    /// `server`, recovered from a crash `after` ago, is back in rotation at `now`: a
    /// `recovered` row (from `ready` to `healthy`) in events.csv, whose time less that of
    /// the server's `booted` row is the recovery time.
    pub fn back_in_rotation(&mut self, now: SimTime, server: &Server, after: SimDuration) {
        self.rotation_changed(now, server, "ready", "healthy", "recovered");
        self.recoveries.push(after.as_secs_f64());
    }

    /// Counts how a request ended — at `server`, when it reached one — if it arrived after
    /// warmup; the time series counts it whenever it arrived.
    pub fn ended(&mut self, measured: bool, outcome: Outcome, server: Option<ServerId>) {
        if let Some(series) = &mut self.series {
            match outcome {
                Outcome::Completed => {}
                Outcome::Rejected => series.record_rejected(server),
                Outcome::Failed(_) => series.record_failed(server),
            }
        }
        if !measured {
            return;
        }
        match outcome {
            Outcome::Completed => self.counts.completed += 1,
            Outcome::Rejected => self.counts.rejected += 1,
            Outcome::Failed(reason) => {
                self.counts.failed += 1;
                self.figures.add(reason.figure(), 1);
            }
        }
    }

    /// An attempt at `server` ended with `outcome`, not an answer, and its client retries
    /// the request: the server's row counts the attempt (a server's counts are of
    /// attempts), while the request, going on, is counted when its last attempt ends.
    pub fn attempt_ended(&mut self, outcome: Outcome, server: ServerId) {
        if let Some(series) = &mut self.series {
            match outcome {
                Outcome::Completed => {}
                Outcome::Rejected => series.record_attempt_rejected(server),
                Outcome::Failed(_) => series.record_attempt_failed(server),
            }
        }
    }

    /// Adds `amount` to the count `figure`, measured by a component that keeps its own.
    pub fn count(&mut self, figure: Figure, amount: u64) {
        self.figures.add(figure, amount);
    }

    /// `count` measured requests are in flight outside the request table (a client's
    /// request waiting out a retry's backoff).
    pub fn add_in_flight(&mut self, count: u64) {
        self.counts.in_flight += count;
    }

    /// `request` completed at `now` after `response_time`, end to end.
    #[inline(always)]
    pub fn completed(&mut self, request: &Request, response_time: SimDuration) {
        self.ended(request.measured, Outcome::Completed, Some(request.server));
        if request.measured {
            self.latency.record(response_time);
            self.wait.record(request.started - request.arrived);
            self.completions[request.server.index()] += 1;
        }
        if let Some(series) = &mut self.series {
            series.record_completion(request.server, response_time);
        }
    }

    /// Starts loading server `server`'s completion count, for a completion soon.
    pub fn prefetch(&self, server: ServerId) {
        prefetch(self.completions.as_ptr().wrapping_add(server.index()));
    }

    /// Measurement starts: busy time so far is set aside.
    pub fn warmup_ended(&mut self, now: SimTime, servers: &mut [Server]) {
        for (server, busy) in servers.iter_mut().zip(&mut self.busy_at_warmup) {
            *busy = server.station.busy_integral(now);
        }
    }

    /// Closes the time-series interval ending at `now`: a row for every server that was up
    /// during some of it, `health` giving the balancers' view of each, and the cluster's
    /// row, with `in_flight` requests live.
    pub fn sample(
        &mut self,
        now: SimTime,
        servers: &mut [Server],
        health: impl Fn(ServerId) -> &'static str,
        in_flight: u32,
    ) {
        let Some(series) = &mut self.series else {
            return;
        };
        let start = self.last_sample;
        let mut cluster = ClusterSample {
            in_flight,
            queue_length: 0,
            busy_workers: 0,
            utilization: 0.0,
            instances: Instances::default(),
            capacity: 0.0,
        };
        let (mut busy_total, mut capacity_total) = (0u128, 0u128);
        for (server, busy_before) in servers.iter_mut().zip(&mut self.busy_at_sample) {
            let from = server.joined.max(start);
            let until = server.left.map_or(now, |left| left.min(now));
            if server.joined >= now || until <= start {
                continue;
            }
            let width = until.since(from).as_nanos();
            let busy = server.station.busy_integral(now);
            let capacity = u128::from(server.station.workers) * u128::from(width);
            let utilization = (busy - *busy_before) as f64 / capacity.max(1) as f64;
            busy_total += busy - *busy_before;
            capacity_total += capacity;
            *busy_before = busy;
            let sample = ServerSample {
                queue_length: server.station.queue_length(),
                busy_workers: server.station.busy_workers(),
                utilization,
                state: server.state.name(),
                health: health(server.id),
            };
            if server.is_member() {
                match server.state {
                    ServerState::Booting => cluster.instances.provisioning += 1,
                    ServerState::Ready => {
                        cluster.instances.ready += 1;
                        cluster.capacity += f64::from(server.station.workers)
                            * server.station.speed
                            * self.requests_per_work_second;
                    }
                    ServerState::Draining => cluster.instances.draining += 1,
                    ServerState::Down => {}
                }
            }
            cluster.queue_length += sample.queue_length;
            cluster.busy_workers += sample.busy_workers;
            series.close_server(now, server.id, sample);
        }
        cluster.utilization = busy_total as f64 / capacity_total.max(1) as f64;
        let totals = series.close_interval(now, cluster);
        if let Some(limit) = self.slo_p99_ms {
            // An interval that answered nobody while requests arrived meets no objective.
            let over = match totals.latency_ms {
                Some(latency) => latency.p99 > limit,
                None => totals.counts.arrivals > 0,
            };
            if over && now > self.warmup_end {
                self.slo_violated = self.slo_violated + now.since(start.max(self.warmup_end));
            }
        }
        self.last_sample = now;
    }

    /// Whether the interval ending at `end` still needs its sample.
    pub fn needs_last_sample(&self, end: SimTime) -> bool {
        self.last_sample < end
    }

    /// What the run measured, once it has ended at `end` with `in_flight` requests live.
    pub fn into_result(
        mut self,
        seed: u64,
        end: SimTime,
        servers: &mut [Server],
        spec: &RunSpec,
        in_flight: impl Iterator<Item = Request>,
    ) -> RunResult {
        let measured = end.since(self.warmup_end);
        if !self.detections.is_empty() {
            let mean = self.detections.iter().sum::<f64>() / self.detections.len() as f64;
            self.figures.set(Figure::DetectionS, mean);
        }
        if !self.recoveries.is_empty() {
            let mean = self.recoveries.iter().sum::<f64>() / self.recoveries.len() as f64;
            self.figures.set(Figure::RecoveryS, mean);
        }
        if !self.remaps.is_empty() {
            let mean = self.remaps.iter().sum::<f64>() / self.remaps.len() as f64;
            self.figures.set(Figure::RemappedShare, mean);
        }
        self.counts.in_flight += in_flight.filter(|r| r.measured).count() as u64;
        let mut busy_total = 0u128;
        let mut capacity_total = 0u128;
        let (mut instance_seconds, mut cost) = (0.0, 0.0);
        let servers: Vec<ServerSummary> = servers
            .iter_mut()
            .zip(&self.busy_at_warmup)
            .zip(&self.completions)
            .map(|((server, &at_warmup), &completions)| {
                let from = server.joined.max(self.warmup_end);
                let until = server.left.map_or(end, |left| left.min(end));
                let lifetime = u128::from(until.since(from).as_nanos());
                let busy = server.station.busy_integral(end) - at_warmup;
                let capacity = u128::from(server.station.workers) * lifetime;
                busy_total += busy;
                capacity_total += capacity;
                let group = &spec.servers[server.group];
                let seconds = lifetime as f64 / 1e9;
                instance_seconds += seconds;
                cost += seconds / 3600.0 * group.price_per_hour;
                ServerSummary {
                    name: server.name.clone(),
                    group: group.name.clone(),
                    zone: group.zone.clone(),
                    completions,
                    utilization: ratio(busy, capacity),
                }
            })
            .collect();
        let completions: Vec<f64> = servers.iter().map(|s| s.completions as f64).collect();
        if let Some(imbalance) = max_over_mean(&completions) {
            self.figures.set(Figure::LoadImbalance, imbalance);
        }
        self.figures.set(Figure::InstanceSeconds, instance_seconds);
        if spec.servers.iter().any(|group| group.price_per_hour > 0.0) {
            self.figures.set(Figure::Cost, cost);
        }
        if spec.health_check.is_some() || spec.outlier_detection.is_some() {
            self.end_panic(end);
            self.figures
                .set(Figure::PanicS, self.in_panic.as_secs_f64());
        }
        let (series, intervals) = self
            .series
            .map(SeriesRecorder::into_parts)
            .unwrap_or_default();
        if spec.slo.is_some() {
            self.figures
                .set(Figure::SloViolationS, self.slo_violated.as_secs_f64());
        }
        RunResult {
            seed,
            measured,
            counts: self.counts,
            latency: self.latency,
            wait: self.wait,
            utilization: ratio(busy_total, capacity_total),
            servers,
            database: Vec::new(),
            series,
            intervals,
            database_series: SpillVec::default(),
            tier_times: SpillVec::default(),
            events: self.events,
            figures: self.figures,
        }
    }
}

/// The largest of `values` over their mean; `None` without a positive mean.
fn max_over_mean(values: &[f64]) -> Option<f64> {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let max = values.iter().copied().fold(0.0, f64::max);
    (mean > 0.0).then(|| max / mean)
}

fn ratio(part: u128, whole: u128) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
