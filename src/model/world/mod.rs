//! The world of one run and the loop that drives it.
//!
//! `World` keeps the event queue, the clock, the timers and one `match` that hands each
//! event to the component it concerns: the traffic ([`Traffic`]), the balancer instances
//! ([`Frontend`]), the servers and their lifecycle ([`Cluster`]), the second tiers
//! ([`Tier`]), the scheduled changes ([`TimelineAction`]), measurement ([`Measurement`]),
//! and, when a scenario has them, health checks, outlier detection, the clients' calls and
//! breakers, the data tier, affinity, the autoscaler, discovery and slow start. Components
//! own their state; the world only carries what one tells another (a request picked, a
//! server gone) as calls named for what happened. A new capability is a new component and
//! one arm of the dispatch.
//!
//! What the world does between components is split by concern, one file each, every one
//! an `impl` of `World`: a request's way through ([`requests`]), client calls with
//! timeouts, retries and breakers ([`calls`]), the hops past the app server
//! ([`downstream`]), health checks, ejections, rotation and panic ([`health`]), a server's
//! failures and lifecycle ([`lifecycle`]), who is in the cluster and whom the balancers
//! know ([`membership`]), the autoscaler ([`scaling`]) and the timeline's actions
//! ([`actions`]). This file keeps the loop, the timers' dispatch and the time series'
//! sampling.
//!
//! A run is single-threaded and deterministic: every random draw comes from a stream
//! derived from the run's seed, and every event from the one queue ordered by
//! `(time, priority, sequence)`.
//!
//! [`TimelineAction`]: super::timeline::TimelineAction

use std::ops::ControlFlow;

mod actions;
mod calls;
mod downstream;
mod health;
mod lifecycle;
mod membership;
mod requests;
mod scaling;

use membership::SlowStarts;
use scaling::Scaling;

use super::affinity::Affinity;
use super::cluster::Cluster;
use super::database::{self, Database};
use super::discovery::Discovery;
use super::event::{Event, Timer};
use super::frontend::Frontend;
use super::gray_failure::GrayFailures;
use super::health_check::HealthChecks;
use super::measurement::Measurement;
use super::observer::{Observed, Observer, Unobserved};
use super::outcome::FailReason;
use super::outlier_detector::OutlierDetector;
use super::request::{RequestId, RequestTable};
use super::resilience::Resilience;
use super::resources::Resources;
use super::sessions::Sessions;
use super::spec::{RunSpec, WorkloadSpec};
use super::streams;
use super::tier::Tier;
use super::timeline::Change;
use super::traffic::Traffic;
use super::zone_aware::ZoneAware;
use crate::balancer::{Backend, Spread};
use crate::engine::{EventQueue, Firing, SimDuration, SimRng, SimTime, TimerId, Timers, stream};
use crate::id::{ClientAddr, RequestKey, ServerId};
use crate::stats::{Figure, RunResult, UNKNOWN};

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
    World::new(spec, seed, Unobserved).run(progress)
}

/// Simulates `spec` with `seed`, reporting every event to `observer`.
pub fn simulate_observed(spec: &RunSpec, seed: u64, observer: &mut impl Observer) -> RunResult {
    World::new(spec, seed, observer)
        .run(&|_| ControlFlow::Continue(()))
        .expect("a run never asked to stop runs to its end")
}

/// An observer borrowed for one run is an observer.
impl<O: Observer> Observer for &mut O {
    const ACTIVE: bool = O::ACTIVE;

    fn observe(&mut self, now: SimTime, event: Observed<'_>) {
        (**self).observe(now, event);
    }
}

/// A placeholder for a request's server before the balancer has picked one.
const NO_SERVER: ServerId = ServerId(u32::MAX);

struct World<'a, O: Observer> {
    spec: &'a RunSpec,
    seed: u64,
    now: SimTime,
    end: SimTime,
    events: EventQueue<Event>,
    /// When the next request arrives. There is always exactly one arrival pending, so it
    /// waits here beside the queue rather than in it: that halves the heap's work per
    /// request, which was a fifth of a run's time. It is handled after every event of its
    /// instant, as its priority in [`Event`] says.
    next_arrival: Option<SimTime>,
    timers: Timers,
    traffic: Traffic<'a>,
    frontend: Frontend,
    cluster: Cluster,
    tiers: Vec<Tier>,
    requests: RequestTable,
    measurement: Measurement,
    /// Per server: its stream of times to failure and repair, drawn only for groups with a
    /// failure process.
    failure_rngs: Vec<Option<SimRng>>,
    /// Active health checking, when the scenario asks for it, and its jitter stream.
    health: Option<HealthChecks>,
    health_rng: SimRng,
    /// Passive health checking from real responses, when the scenario asks for it.
    outliers: Option<OutlierDetector>,
    /// Whether the balancer is in panic: too few hosts healthy, so every host it knows is
    /// in rotation whatever its health (Envoy's panic threshold; `panic_mode.rs`).
    panic: bool,
    /// Servers answering some requests with errors, when the scenario has any.
    gray: Option<GrayFailures>,
    /// CPU and memory as health checks read them, when a server group models them.
    resources: Option<Resources>,
    /// The data tier, when the scenario has one.
    database: Option<Database>,
    /// The clients whose mapping a membership change may move, when the algorithm maps
    /// by key alone and the timeline changes membership; empty otherwise.
    remap_clients: Vec<ClientAddr>,
    /// Client timeouts and retries and circuit breakers, when the scenario asks for them.
    resilience: Option<Resilience>,
    /// Cookie affinity's session table, when the scenario asks for it.
    affinity: Option<Affinity>,
    /// Live sessions and their state, when the traffic has sessions.
    sessions: Option<Sessions>,
    /// The autoscaler and its metrics, when the scenario has one.
    scaling: Option<Scaling>,
    /// The service registry the balancers learn membership from, when the scenario has one.
    discovery: Option<Discovery>,
    /// Servers ramping up their weight after entering rotation, when slow start is on.
    slow_starts: Option<SlowStarts>,
    /// Whether any component changes or learns of answers (see [`Self::before_answer`]).
    answer_hooks: bool,
    /// Whether any component learns of the attempts servers take (see
    /// [`Self::attempt_taken`]).
    attempt_hooks: bool,
    /// Whether to start loading what the next completions will read as each event pops
    /// (see [`Self::look_ahead`]): from the time [`LOOK_AHEAD_SERVERS`] servers have been
    /// part of the run.
    look_ahead: bool,
    observer: O,
}

/// Servers from which a run's per-server state outgrows the caches (about 300 bytes a
/// server a request touches, against a core's 512 KB second-level cache), so that looking
/// ahead at the next completions pays; below, it would only cost its instructions. A
/// server that left still counts: its state still sits between the others'.
const LOOK_AHEAD_SERVERS: usize = 1024;

impl<'a, O: Observer> World<'a, O> {
    fn new(spec: &'a RunSpec, seed: u64, observer: O) -> Self {
        let end = SimTime::ZERO + spec.duration;
        let cluster = Cluster::new(&spec.servers);
        let n = cluster.servers().len();
        let mut frontend = Frontend::new(&spec.balancer, n, seed);
        if let Some(zone_aware) = &spec.zone_aware {
            frontend.route_by_zone(|all| {
                Box::new(ZoneAware::new(
                    zone_aware,
                    &spec.servers,
                    &spec.balancer,
                    all,
                    seed,
                ))
            });
        }
        let mut measurement = Measurement::new(spec);
        let slow_starts = spec.slow_start.map(SlowStarts::new);
        for server in cluster.servers() {
            measurement.server_joined(server.id);
            // The run starts with a warm cluster: no server is in slow start, and every
            // one is ready and idle.
            let backend = Backend {
                id: server.id,
                name: &server.name,
                weight: SlowStarts::full_weight(slow_starts.as_ref(), server.weight),
            };
            frontend.add(backend, true);
        }
        let remap_clients = if spec
            .timeline
            .iter()
            .any(|action| matches!(action.change, Change::Add { .. } | Change::Remove { .. }))
            && frontend.route(&key(ClientAddr(0))).is_some()
        {
            client_addresses(&spec.workload)
        } else {
            Vec::new()
        };
        let mut world = World {
            spec,
            seed,
            now: SimTime::ZERO,
            end,
            events: EventQueue::with_capacity(n + 4),
            next_arrival: None,
            timers: Timers::default(),
            traffic: Traffic::new(
                &spec.workload,
                spec.sessions.as_ref(),
                seed,
                end,
                reads_client_addresses(spec, O::ACTIVE),
            ),
            frontend,
            cluster,
            tiers: spec
                .session_store
                .iter()
                .map(|store| Tier::session_store(store, seed))
                .chain(
                    (0..)
                        .zip(&spec.tiers)
                        .map(|(index, tier)| Tier::new(tier, index, seed)),
                )
                .collect(),
            requests: RequestTable::default(),
            measurement,
            remap_clients,
            failure_rngs: Vec::new(),
            health: spec.health_check.as_ref().map(HealthChecks::new),
            health_rng: stream(seed, streams::HEALTH_CHECKS, 0),
            panic: false,
            outliers: spec.outlier_detection.as_ref().map(OutlierDetector::new),
            gray: GrayFailures::new(spec, seed),
            resources: Resources::new(&spec.servers),
            resilience: Resilience::new(spec, seed),
            database: spec
                .database
                .as_ref()
                .map(|d| Database::new(d, seed, spec.sample_interval.is_some())),
            affinity: spec.affinity.as_ref().map(Affinity::new),
            sessions: has_sessions(spec).then(|| {
                let relogin = spec.sessions.as_ref().map(|s| &s.relogin);
                let calls = spec.client.is_some();
                Sessions::new(spec.session_store.is_some(), relogin, calls, seed)
            }),
            scaling: spec
                .autoscaler
                .as_ref()
                .map(|autoscaler| Scaling::new(autoscaler, &spec.servers, seed)),
            discovery: spec.discovery.as_ref().map(|d| Discovery::new(d, n)),
            slow_starts,
            answer_hooks: false,
            attempt_hooks: false,
            look_ahead: n >= LOOK_AHEAD_SERVERS,
            observer,
        };
        world.answer_hooks = world.gray.is_some()
            || world.resilience.is_some()
            || world.outliers.is_some()
            || world.scaling.is_some()
            || world.database.is_some();
        world.attempt_hooks = world.sessions.is_some() || world.resilience.is_some();
        world
    }

    fn run(
        mut self,
        progress: &(dyn Fn(SimDuration) -> ControlFlow<()> + Sync),
    ) -> Option<RunResult> {
        self.schedule_next_arrival();
        if self.spec.warmup > SimDuration::ZERO {
            self.start_timer(SimTime::ZERO + self.spec.warmup, Timer::WarmupEnd, None);
        }
        if let Some(interval) = self.spec.sample_interval {
            let first = SimTime::ZERO + interval;
            if first < self.end {
                self.start_timer(first, Timer::Sample, Some(interval));
            }
        }
        self.start_timer(self.end, Timer::End, None);
        for (index, action) in (0..).zip(&self.spec.timeline) {
            self.start_timer(action.at, Timer::Action(index), None);
        }
        if let Some(database) = &mut self.database {
            database.start(&mut database::Context {
                now: self.now,
                events: &mut self.events,
                timers: &mut self.timers,
            });
        }
        if let Some(outliers) = &self.outliers {
            let interval = outliers.spec().interval;
            self.start_timer(self.now + interval, Timer::OutlierInterval, Some(interval));
        }
        if let Some(affinity) = &self.affinity {
            let interval = affinity.sweep_interval();
            self.start_timer(self.now + interval, Timer::AffinitySweep, Some(interval));
        }
        if self.scaling.is_some() {
            self.start_scaling();
        }
        if self.discovery.is_some() {
            self.start_discovery();
        }
        for index in 0..self.cluster.servers().len() {
            let server = ServerId(index as u32);
            self.start_failure_process(server);
            self.equip(server);
            if let Some(health) = &mut self.health {
                // The run starts with a warm cluster: healthy, checked from one interval on.
                health.add_server(server, true);
                let delay = health.next_delay(&mut self.health_rng);
                self.start_timer(self.now + delay, Timer::Check(server), None);
            }
        }

        let mut reported = SimTime::ZERO;
        let mut until_report = EVENTS_PER_PROGRESS_REPORT;
        while let Some((now, event)) = self.next_event() {
            self.now = now;
            self.frontend.tick(now);
            until_report -= 1;
            if until_report == 0 {
                if progress(now - reported).is_break() {
                    return None;
                }
                reported = now;
                until_report = EVENTS_PER_PROGRESS_REPORT;
            }
            let flow = match event {
                Event::Arrival => {
                    self.on_arrival();
                    ControlFlow::Continue(())
                }
                Event::Done(request) => {
                    self.on_done(request);
                    ControlFlow::Continue(())
                }
                Event::Timer(id, timer) => match self.timers.fire(id) {
                    Some(firing) => self.on_timer(id, timer, firing),
                    None => ControlFlow::Continue(()),
                },
            };
            if flow.is_break() {
                break;
            }
        }
        // The last report cannot stop a run that is already complete.
        let _ = progress(self.end - reported);
        if let Some(resilience) = &self.resilience {
            for (figure, count) in resilience.figures() {
                self.measurement.count(figure, count);
            }
            self.measurement
                .add_in_flight(resilience.measured_in_backoff());
        }
        let sessions = self.sessions.iter().flat_map(Sessions::figures);
        for (figure, count) in sessions.chain(self.affinity.iter().flat_map(Affinity::figures)) {
            self.measurement.report(figure, count);
        }
        if let Some(share) = self.sessions.as_ref().and_then(Sessions::remapped_share) {
            self.measurement
                .set_figure(Figure::SessionsRemappedShare, share);
        }
        let requests = &self.requests;
        let mut result = self.measurement.into_result(
            self.seed,
            self.end,
            self.cluster.servers_mut(),
            self.spec,
            requests.live().copied(),
        );
        if let Some(database) = self.database {
            database.report(&mut result, self.end);
        }
        Some(result)
    }

    /// The next event: the pending arrival if it comes strictly before everything in the
    /// queue (at the same instant every other event comes first), else the queue's first.
    fn next_event(&mut self) -> Option<(SimTime, Event)> {
        if let Some(arrival) = self.next_arrival
            && self.events.next_time().is_none_or(|next| arrival < next)
        {
            self.next_arrival = None;
            return Some((arrival, Event::Arrival));
        }
        let popped = self.events.pop();
        if self.look_ahead {
            self.look_ahead();
        }
        popped
    }

    /// Starts loading what the next two completions will read, while this event is
    /// handled: with thousands of servers their requests' slots and their servers' state
    /// are rarely in the caches, and each is a miss that would stall the handling. Two
    /// events ahead, the request's slot (its server is not known yet); one ahead, the
    /// request's slot was loaded at the last pop, so its server is known, and its station,
    /// its balancer's node and its completion count start loading. Changes nothing: the
    /// hints are only hints, and a completion that does not come next wasted one.
    #[inline(always)]
    fn look_ahead(&self) {
        if let Some(&Event::Done(second)) = self.events.peek_second() {
            self.requests.prefetch(second);
        }
        if let Some(&Event::Done(next)) = self.events.peek()
            && let Some(request) = self.requests.get(next)
        {
            self.cluster.prefetch(request.server);
            self.frontend.prefetch_server(request.server);
            self.measurement.prefetch(request.server);
        }
    }

    /// Arms a timer (periodic when `period` is given) and schedules its first firing.
    fn start_timer(&mut self, at: SimTime, timer: Timer, period: Option<SimDuration>) -> TimerId {
        let id = self.timers.arm(period);
        self.events.schedule(at, Event::Timer(id, timer));
        id
    }

    fn on_timer(&mut self, id: TimerId, timer: Timer, firing: Firing) -> ControlFlow<()> {
        if let Firing::Periodic(period) = firing {
            let next = self.now + period;
            if next < self.end {
                self.events.schedule(next, Event::Timer(id, timer));
            } else {
                self.timers.cancel(id);
            }
        }
        match timer {
            Timer::WarmupEnd => {
                self.measurement
                    .warmup_ended(self.now, self.cluster.servers_mut());
                if let Some(database) = &mut self.database {
                    database.warmup_ended(self.now);
                }
            }
            Timer::Sample => self.sample(self.now),
            Timer::End => {
                if self.measurement.needs_last_sample(self.end) {
                    self.sample(self.end);
                }
                return ControlFlow::Break(());
            }
            Timer::Action(index) => {
                let action = &self.spec.timeline[index as usize];
                self.apply(action);
            }
            Timer::Crash(server) => {
                self.cluster.server_mut(server).lifecycle_timer = None;
                let mttr = self.failure_process(server).map(|f| f.mttr);
                let downtime = mttr.map(|mean| self.draw_exponential(server, mean));
                self.crash(server, downtime);
            }
            Timer::Restart(server) => self.restart(server),
            Timer::Booted(server) => self.booted(server),
            Timer::Check(server) => self.check(server),
            Timer::OutlierInterval => {
                let mut ejections = Vec::new();
                if let Some(outliers) = &mut self.outliers {
                    outliers.on_interval(self.now, &mut ejections);
                }
                for (server, ejection) in ejections {
                    self.ejected(server, ejection);
                }
            }
            Timer::Uneject(server) => {
                if let Some(outliers) = &mut self.outliers
                    && outliers.uneject(server, self.now)
                {
                    let back = self.cluster.server(server);
                    self.measurement.rotation_changed(
                        self.now,
                        back,
                        "ejected",
                        "healthy",
                        "outlier-ejection",
                    );
                    self.update_rotation("outlier-ejection");
                }
            }
            Timer::AffinitySweep => {
                if let Some(affinity) = &mut self.affinity {
                    affinity.sweep(self.now);
                }
                self.affinity_swept();
            }
            Timer::CheckTimeout(server) => {
                if self.cluster.server_mut(server).check.take().is_some() {
                    self.check_result(server, false);
                }
            }
            Timer::DrainDeadline(server) => {
                self.cluster.server_mut(server).departure_timer = None;
                self.fail_everything_on(server, FailReason::ServerRemoved);
                self.go_down(server, "server-removed");
            }
            Timer::AttemptTimeout(call) => self.timed_out(call),
            Timer::RetryDue(call) => self.retry(call),
            Timer::RequestTimeout(call) => self.request_timed_out(call),
            Timer::HalfOpen(server) => self.half_open(server),
            Timer::PoolTimeout(server) => {
                self.in_database(|database, ctx| database.pool_timeout(server, ctx));
            }
            Timer::DatabaseChange(index) => {
                self.in_database(|database, ctx| database.change(index, ctx));
            }
            Timer::Promotion(shard) => {
                self.in_database(|database, ctx| database.promote(shard, ctx));
            }
            Timer::MetricsCollect => self.collect_metrics(),
            Timer::ScaleEvaluate => self.evaluate_scaling(),
            Timer::ScheduledScale(index) => self.scheduled_scaling(index as usize),
            Timer::Launched(server) => self.launched(server),
            Timer::PreStopOver(server) => self.pre_stop_over(server),
            Timer::SlowStartTick => self.raise_slow_start_weights(),
            Timer::DiscoveryPoll => self.discovery_poll(),
            Timer::RegistryCheck => self.registry_check(),
            Timer::Discovered(server) => self.balancers_learn(server, true),
            Timer::Forgotten(server) => self.balancers_learn(server, false),
        }
        ControlFlow::Continue(())
    }

    /// Closes the time series' interval ending at `at`.
    fn sample(&mut self, at: SimTime) {
        let (health, outliers, discovery) = (&self.health, &self.outliers, &self.discovery);
        let view = |id| balancers_view(health, outliers, discovery, id);
        // With client retries a request is a call of several attempts: a timed-out attempt
        // stays on its server, and a call in backoff has none out.
        let in_flight = match self
            .resilience
            .as_ref()
            .and_then(Resilience::calls_in_flight)
        {
            Some(calls) => calls as u32,
            None => self.requests.in_flight(),
        };
        self.measurement
            .sample(at, self.cluster.servers_mut(), view, in_flight);
        if let Some(database) = &mut self.database {
            database.sample(at);
        }
    }

    fn observe(&mut self, event: Observed<'_>) {
        self.observer.observe(self.now, event);
    }
}

/// Tells `observer` that `request` queued at `station` behind `ahead` others. A free
/// function, so that the world can lend it the observer and a station's name at once.
fn report_queued<O: Observer>(
    observer: &mut O,
    now: SimTime,
    request: RequestId,
    station: &str,
    ahead: u32,
) {
    observer.observe(
        now,
        Observed::Queued {
            request,
            station,
            ahead,
        },
    );
}

/// How the balancers see server `id`: ejected by outlier detection, failing its health
/// checks, healthy — or unknown to them, when service discovery has not told them of it.
fn balancers_view(
    health: &Option<HealthChecks>,
    outliers: &Option<OutlierDetector>,
    discovery: &Option<Discovery>,
    id: ServerId,
) -> &'static str {
    if discovery.as_ref().is_some_and(|d| !d.knows(id)) {
        UNKNOWN
    } else if outliers.as_ref().is_some_and(|o| o.is_ejected(id)) {
        "ejected"
    } else if health.as_ref().is_some_and(|h| !h.is_healthy(id)) {
        "unhealthy"
    } else {
        "healthy"
    }
}

/// Whether the run's traffic has sessions: generated ones, or a trace naming them.
fn has_sessions(spec: &RunSpec) -> bool {
    match &spec.workload {
        WorkloadSpec::Generated(_) => spec.sessions.is_some(),
        WorkloadSpec::Replay(replay) => replay
            .trace()
            .requests()
            .iter()
            .any(|r| r.session.is_some()),
    }
}

/// Whether anything in a run of `spec` (`observed`: with an observer) reads the client
/// address of a generated request: an algorithm that hashes keys (by client, or by
/// session for requests outside one), a spread over balancer instances by client hash,
/// zone-aware routing (a client's zone comes from its address), or an observer (the
/// trace names the client). Sessions give their own addresses, and affinity keys by
/// session.
fn reads_client_addresses(spec: &RunSpec, observed: bool) -> bool {
    let balancer = &spec.balancer;
    observed
        || balancer.algorithm.hashes_keys()
        || (balancer.instances > 1 && balancer.spread == Spread::ClientHash)
        || spec.zone_aware.is_some()
}

/// The key of a request from `client` outside any session.
fn key(client: ClientAddr) -> RequestKey {
    RequestKey {
        client,
        session: None,
    }
}

/// Every client address the workload can send from, in a fixed order.
fn client_addresses(workload: &WorkloadSpec) -> Vec<ClientAddr> {
    match workload {
        WorkloadSpec::Generated(generated) => (0..generated.clients.max(1))
            .map(super::clients::ClientPopulation::address)
            .collect(),
        WorkloadSpec::Replay(replay) => {
            let mut addresses: Vec<ClientAddr> =
                replay.trace().requests().iter().map(|r| r.client).collect();
            addresses.sort_unstable();
            addresses.dedup();
            addresses
        }
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

    /// Not drawing client addresses where nothing reads them changes no output: with an
    /// observer attached (the trace names clients, so they are drawn), every algorithm,
    /// with one balancer instance and with three spread either way, runs the very same.
    /// An algorithm that read addresses without saying so would route every request of
    /// the unobserved run from one address, and differ.
    #[test]
    fn undrawn_client_addresses_change_no_output() {
        struct Watching;
        impl Observer for Watching {
            fn observe(&mut self, _now: SimTime, _event: Observed<'_>) {}
        }
        for algorithm in Algorithm::ALL {
            for (instances, spread) in [
                (1, Spread::Random),
                (3, Spread::Random),
                (3, Spread::ClientHash),
            ] {
                let spec = RunSpec {
                    duration: SimDuration::from_secs(20),
                    balancer: BalancerSpec {
                        instances,
                        spread,
                        max_connections: Some(4),
                        ..BalancerSpec::new(algorithm)
                    },
                    ..spec(350.0, 4, Some(3))
                };
                let unobserved = simulate(&spec, 3);
                let observed = simulate_observed(&spec, 3, &mut Watching);
                // About 3,500 arrive in the 10 s measured (`first`, which fills one
                // server to 4 before the next, turns most of them away).
                assert!(
                    unobserved.counts.completed > 500,
                    "{algorithm}: {:?}",
                    unobserved.counts
                );
                // Compared whole, reported short: the results run to megabytes.
                assert!(
                    format!("{unobserved:?}") == format!("{observed:?}"),
                    "{algorithm}, {instances} instances, {spread:?}: the runs differ"
                );
            }
        }
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
