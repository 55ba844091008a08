//! The world of one run and the loop that drives it.
//!
//! `World` keeps the event queue, the clock, the timers and one `match` that hands each
//! event to the component it concerns: the traffic ([`Traffic`]), the balancer instances
//! ([`Frontend`]), the servers and their lifecycle ([`Cluster`]), the second tiers
//! ([`Tier`]), the scheduled changes ([`TimelineAction`]) and measurement
//! ([`Measurement`]). Components own their state; the world only carries what one tells
//! another (a request picked, a server gone) as calls named for what happened. A new
//! capability is a new component and one arm of the dispatch.
//!
//! A run is single-threaded and deterministic: every random draw comes from a stream
//! derived from the run's seed, and every event from the one queue ordered by
//! `(time, priority, sequence)`.

use std::ops::ControlFlow;

use rand_distr::{Distribution, Exp1};

mod membership;
mod scaling;

use membership::SlowStarts;
use scaling::Scaling;

use super::affinity::Affinity;
use super::client_calls::{CallEnd, Kernel};
use super::cluster::Cluster;
use super::database::{self, Database, Settled};
use super::discovery::Discovery;
use super::event::{Event, Timer};
use super::frontend::{Frontend, Pick};
use super::gray_failure::GrayFailures;
use super::health_check::{HealthChecks, HealthTransition};
use super::measurement::Measurement;
use super::observer::{Observed, Observer, Unobserved};
use super::outcome::{FailReason, Outcome};
use super::outlier_detector::{Ejection, OutlierDetector};
use super::panic_mode::in_panic;
use super::request::{Request, RequestId, RequestTable};
use super::resilience::{BreakerChange, Resilience};
use super::resources::Resources;
use super::server::{OutstandingCheck, ServerState};
use super::sessions::Sessions;
use super::spec::{FailureProcess, RunSpec, WorkloadSpec};
use super::station::Admission;
use super::streams;
use super::tier::Tier;
use super::timeline::{Change, TimelineAction};
use super::traffic::Traffic;
use super::zone_aware::ZoneAware;
use crate::balancer::Backend;
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
            // The run starts with a warm cluster: no server is in slow start.
            frontend.add(Backend {
                id: server.id,
                name: &server.name,
                weight: SlowStarts::full_weight(slow_starts.as_ref(), server.weight),
            });
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
            traffic: Traffic::new(&spec.workload, spec.sessions.as_ref(), seed, end),
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
                Sessions::new(spec.session_store.is_some(), relogin, seed)
            }),
            scaling: spec
                .autoscaler
                .as_ref()
                .map(|autoscaler| Scaling::new(autoscaler, &spec.servers, seed)),
            discovery: spec.discovery.as_ref().map(|d| Discovery::new(d, n)),
            slow_starts,
            answer_hooks: false,
            look_ahead: n >= LOOK_AHEAD_SERVERS,
            observer,
        };
        world.answer_hooks = world.gray.is_some()
            || world.resilience.is_some()
            || world.outliers.is_some()
            || world.scaling.is_some()
            || world.database.is_some();
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
            if let Some(outliers) = &mut self.outliers {
                outliers.add_server(server);
            }
            if let Some(resilience) = &mut self.resilience {
                resilience.add_server(server);
            }
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

    /// Schedules the next arrival and draws its client and work now (see [`Traffic`]).
    fn schedule_next_arrival(&mut self) {
        if let Some((time, arrival)) = self.traffic.draw_next() {
            self.frontend.prefetch(&RequestKey {
                client: arrival.client,
                session: arrival.session,
            });
            self.next_arrival = Some(time);
        }
    }

    fn on_arrival(&mut self) {
        // Every draw happens whatever the request's fate, so all variants of a scenario
        // see the same requests.
        let arrival = self.traffic.arriving();
        let now = self.now;
        let measured = self.measurement.is_measured(now);
        self.measurement.arrived(measured);
        let key = RequestKey {
            client: arrival.client,
            session: arrival.session,
        };
        let (id, pick) = self.new_attempt(&key, arrival.work, measured);
        if self.sessions.is_some() {
            let relogin = self.session_state(&arrival, pick);
            if let Some(request) = self.requests.get_mut(id) {
                request.work = request.work + relogin;
            }
        }
        if O::ACTIVE {
            self.observe(Observed::Arrived {
                request: id,
                client: arrival.client,
                work: arrival.work,
            });
        }
        if self.resilience.is_some() {
            let work = self.requests.get(id).map_or(arrival.work, |r| r.work);
            self.call_started(id, key, work, measured, pick);
        }
        self.dispatch(id, &key, pick, measured);
        self.schedule_next_arrival();
    }

    /// A client's new request is attempt `id`. Kept out of line, like every hook of
    /// [`Resilience`], so that a run without it keeps the hot path it had.
    #[inline(never)]
    fn call_started(
        &mut self,
        id: RequestId,
        key: RequestKey,
        work: SimDuration,
        measured: bool,
        pick: Result<Pick, FailReason>,
    ) {
        if let Some(resilience) = &mut self.resilience {
            let host = pick.ok().map(|p| p.server);
            resilience.arrived(id, key, work, self.now, measured, host);
        }
    }

    /// A new attempt of a request from `key` with `work`, and the balancer's pick for it.
    #[inline(always)]
    fn new_attempt(
        &mut self,
        key: &RequestKey,
        work: SimDuration,
        measured: bool,
    ) -> (RequestId, Result<Pick, FailReason>) {
        let pick = match self.affinity {
            None => self.frontend.pick(key).ok_or(FailReason::NoServer),
            Some(_) => self.route_by_affinity(key),
        };
        self.attempt_picked(work, measured, pick)
    }

    /// [`Self::new_attempt`] for a retry of `call`: with the retry host predicate on, its
    /// pick avoids the hosts the call tried (not a session's pinned server: Envoy's
    /// override host, too, is chosen before the predicate's loop). Out of line, like every
    /// hook of [`Resilience`].
    #[inline(never)]
    fn new_retry_attempt(
        &mut self,
        key: &RequestKey,
        work: SimDuration,
        measured: bool,
        call: u32,
    ) -> (RequestId, Result<Pick, FailReason>) {
        let avoid = self
            .resilience
            .as_ref()
            .and_then(|r| r.previous_hosts(call));
        let pick = match (&self.affinity, avoid) {
            (None, Some((tried, reselections))) => self
                .frontend
                .pick_avoiding(key, tried, reselections)
                .ok_or(FailReason::NoServer),
            _ => return self.new_attempt(key, work, measured),
        };
        self.attempt_picked(work, measured, pick)
    }

    /// Attempt `pick` (with `work`) enters the request table.
    #[inline(always)]
    fn attempt_picked(
        &mut self,
        work: SimDuration,
        measured: bool,
        pick: Result<Pick, FailReason>,
    ) -> (RequestId, Result<Pick, FailReason>) {
        let id = self.requests.insert(Request {
            arrived: self.now,
            work,
            server: pick.map_or(NO_SERVER, |p| p.server),
            started: self.now,
            hop: 0,
            balancer: pick.map_or(0, |p| p.instance),
            measured,
            probe: false,
        });
        (id, pick)
    }

    /// Sends attempt `id` where the balancer picked, or fails it if it found no server.
    #[inline(always)]
    fn dispatch(
        &mut self,
        id: RequestId,
        key: &RequestKey,
        pick: Result<Pick, FailReason>,
        measured: bool,
    ) {
        match pick {
            Err(reason) => {
                self.requests.remove(id);
                self.attempt_failed(id, measured, Outcome::Failed(reason), None);
            }
            Ok(pick) => self.admit(id, key, pick, measured),
        }
    }

    /// The client's timeout on `call`'s attempt fired: the client gives up on it, though
    /// its server goes on with it, and retries or fails the request.
    #[inline(never)]
    fn timed_out(&mut self, call: u32) {
        let Some(id) = self
            .resilience
            .as_ref()
            .and_then(|r| r.timed_out_attempt(call))
        else {
            return;
        };
        let Some(request) = self.requests.get_mut(id) else {
            return;
        };
        // Left to its server, it is no longer the client's request in flight.
        let measured = std::mem::replace(&mut request.measured, false);
        let server = request.server;
        if O::ACTIVE {
            self.observe(Observed::TimedOut { request: id });
        }
        self.answered(server, false);
        self.attempt_failed(
            id,
            measured,
            Outcome::Failed(FailReason::Timeout),
            Some(server),
        );
    }

    /// `call`'s backoff is over: its next attempt goes to the balancer like a new arrival.
    #[inline(never)]
    fn retry(&mut self, call: u32) {
        let Some(due) = self.resilience.as_ref().and_then(|r| r.retry_due(call)) else {
            return;
        };
        let (id, pick) = self.new_retry_attempt(&due.key, due.work, due.measured, call);
        if let Some(resilience) = &mut self.resilience {
            resilience.retry_sent(call, id, pick.ok().map(|p| p.server));
        }
        if O::ACTIVE
            && let Some(previous) = due.previous
        {
            let reselected = self.frontend.take_reselected();
            self.observe(Observed::Retried {
                request: id,
                previous,
                retry: due.retry,
                reselected,
            });
        }
        self.dispatch(id, &due.key, pick, due.measured);
    }

    /// The open time of `server`'s breaker is over.
    #[inline(never)]
    fn half_open(&mut self, server: ServerId) {
        let now = self.now;
        if let Some(change) = self
            .resilience
            .as_mut()
            .and_then(|r| r.half_open(server, now))
        {
            self.breaker_changed(change);
        }
    }

    /// A backend's circuit breaker changed state: a row of events.csv.
    #[inline(never)]
    fn breaker_changed(&mut self, change: BreakerChange) {
        let server = self.cluster.server(change.server);
        self.measurement.rotation_changed(
            self.now,
            server,
            change.from.name(),
            change.to.name(),
            "circuit-breaker",
        );
    }

    /// Where cookie affinity sends `key`. Out of line, so that runs without affinity do
    /// not carry its code in their arrival path.
    #[inline(never)]
    fn route_by_affinity(&mut self, key: &RequestKey) -> Result<Pick, FailReason> {
        match &mut self.affinity {
            Some(affinity) => affinity.route(self.now, key, &mut self.frontend),
            None => self.frontend.pick(key).ok_or(FailReason::NoServer),
        }
    }

    /// The session state `arrival` finds where `pick` sends it: the re-login work it adds
    /// when the state is gone. Out of line, as [`Self::route_by_affinity`].
    #[inline(never)]
    fn session_state(
        &mut self,
        arrival: &super::arrivals::Arrival,
        pick: Result<Pick, FailReason>,
    ) -> SimDuration {
        let (Some(sessions), Some(session)) = (&mut self.sessions, arrival.session) else {
            return SimDuration::ZERO;
        };
        let reached = pick.ok().map(|p| p.server);
        let serving = reached.filter(|&s| self.cluster.server(s).is_serving());
        sessions.on_request(session, arrival.client, serving, arrival.ends_session)
    }

    /// Offers request `id`, picked for `pick.server`, to that server.
    // Inlined into its two callers (arrivals and retries), as it was into its one before
    // retries existed: out of line it costs every run about 2% more instructions.
    #[inline(always)]
    fn admit(&mut self, id: RequestId, key: &RequestKey, pick: Pick, measured: bool) {
        if O::ACTIVE {
            let why = self.frontend.explain(key, pick);
            let server = self.cluster.server(pick.server);
            self.observer.observe(
                self.now,
                Observed::Picked {
                    request: id,
                    instance: pick.instance,
                    server: pick.server,
                    name: &server.name,
                    why,
                },
            );
        }
        self.measurement.routed(pick.server);
        if self.resilience.is_some() && !self.breaker_allows(id, pick.server, measured) {
            return;
        }
        let server = self.cluster.server_mut(pick.server);
        if !server.accepts_connections() {
            // Down, booting or draining: the connection is refused.
            if measured && (server.is_leaving() || !server.is_member()) {
                // The balancer had not yet heard that it left.
                self.measurement.report(Figure::StaleRoutes, 1);
            }
            self.requests.remove(id);
            let outcome = Outcome::Failed(FailReason::ServerDown);
            self.attempt_failed(id, measured, outcome, Some(pick.server));
            self.answered(pick.server, false);
            return;
        }
        if let Some(resources) = &self.resources
            && resources.refuses(server)
        {
            self.refuse_for_memory(id, pick.server, measured);
            return;
        }
        match server.station.admit(self.now, id) {
            Admission::Start => {
                self.frontend.dispatched(pick);
                self.attempt_sent(id);
                self.start_service(id, pick.server);
            }
            Admission::Queued { ahead } => {
                self.frontend.dispatched(pick);
                self.attempt_sent(id);
                if O::ACTIVE {
                    let station = &self.cluster.server(pick.server).name;
                    report_queued(&mut self.observer, self.now, id, station, ahead);
                }
            }
            Admission::Rejected => {
                self.requests.remove(id);
                self.attempt_failed(id, measured, Outcome::Rejected, Some(pick.server));
                self.answered(pick.server, false);
            }
        }
    }

    /// Whether `server`'s circuit breaker lets attempt `id` through; if not, the attempt
    /// fails with `circuit-open`.
    #[inline(never)]
    fn breaker_allows(&mut self, id: RequestId, server: ServerId, measured: bool) -> bool {
        let queued = self.cluster.server(server).station.queue_length();
        if self
            .resilience
            .as_mut()
            .is_none_or(|r| r.allows(server, queued))
        {
            return true;
        }
        self.requests.remove(id);
        let outcome = Outcome::Failed(FailReason::CircuitOpen);
        self.attempt_failed(id, measured, outcome, None);
        false
    }

    /// Attempt `id` reached its server: the client's timeout on it starts.
    #[inline(always)]
    fn attempt_sent(&mut self, id: RequestId) {
        if self.resilience.is_some() {
            self.start_timeout(id);
        }
    }

    #[inline(never)]
    fn start_timeout(&mut self, id: RequestId) {
        if let Some(resilience) = &mut self.resilience {
            resilience.sent(
                id,
                &mut Kernel {
                    now: self.now,
                    timers: &mut self.timers,
                    events: &mut self.events,
                },
            );
        }
    }

    /// A worker of `server` takes request `id` now.
    #[inline(always)]
    fn start_service(&mut self, id: RequestId, server: ServerId) {
        let Some(request) = self.requests.get_mut(id) else {
            return;
        };
        request.started = self.now;
        let server = self.cluster.server(server);
        let service_time = server.station.service_time(request.work);
        self.events
            .schedule(self.now + service_time, Event::Done(id));
        if O::ACTIVE {
            self.observer.observe(
                self.now,
                Observed::Started {
                    request: id,
                    station: &server.name,
                },
            );
        }
    }

    /// A station finished its part of request `id`: the next hop, or the response.
    fn on_done(&mut self, id: RequestId) {
        // A request that already ended (its server was taken out) left a stale event.
        let Some(&request) = self.requests.get(id) else {
            return;
        };
        if request.probe {
            self.probe_answered(id, request.server);
            return;
        }
        if request.hop == database::HOP {
            self.in_database(|database, ctx| database.query_done(id, ctx));
            return;
        }
        if request.hop == 0 && self.database.is_some() {
            self.enter_database(id, &request);
            return;
        }
        let hop = usize::from(request.hop);
        if hop > 0 {
            let tier = &mut self.tiers[hop - 1];
            if let Some(next) = tier.station.finish(self.now, id) {
                self.start_call(next, hop - 1);
            }
        }
        if hop < self.tiers.len() {
            self.call(id, hop);
        } else {
            self.complete(id);
        }
    }

    /// Request `id` has done its work on its server and starts its queries.
    #[inline(never)]
    fn enter_database(&mut self, id: RequestId, request: &Request) {
        if let Some(live) = self.requests.get_mut(id) {
            live.hop = database::HOP;
        }
        let (server, measured) = (request.server, request.measured);
        self.in_database(|database, ctx| database.begin(id, server, measured, ctx));
    }

    /// Runs `call` on the data tier, then hands on what ended there. Never inlined: the
    /// loop of a run without a data tier stays the loop it was.
    #[inline(never)]
    fn in_database(&mut self, call: impl FnOnce(&mut Database, &mut database::Context<'_>)) {
        let Some(database) = &mut self.database else {
            return;
        };
        call(
            database,
            &mut database::Context {
                now: self.now,
                events: &mut self.events,
                timers: &mut self.timers,
            },
        );
        self.settle_database();
    }

    /// Requests whose stay in the data tier ended go on to the tiers or their answer, or
    /// fail.
    #[inline(never)]
    fn settle_database(&mut self) {
        while let Some((id, settled)) = self.database.as_mut().and_then(Database::next_settled) {
            let Some(request) = self.requests.get_mut(id) else {
                continue;
            };
            request.hop = 0;
            let (server, measured) = (request.server, request.measured);
            match settled {
                Settled::Done if self.tiers.is_empty() => self.complete(id),
                Settled::Done => self.call(id, 0),
                Settled::Failed(reason) => {
                    self.end_on_server(id, false);
                    self.attempt_failed(id, measured, Outcome::Failed(reason), Some(server));
                    self.answered(server, false);
                }
            }
        }
    }

    /// Request `id` calls tier `tier`, holding its server's worker.
    fn call(&mut self, id: RequestId, tier: usize) {
        let Some(request) = self.requests.get_mut(id) else {
            return;
        };
        request.hop = tier as u8 + 1;
        let measured = request.measured;
        match self.tiers[tier].station.admit(self.now, id) {
            Admission::Start => self.start_call(id, tier),
            Admission::Queued { ahead } => {
                if O::ACTIVE {
                    let station = &self.tiers[tier].name;
                    report_queued(&mut self.observer, self.now, id, station, ahead);
                }
            }
            Admission::Rejected => {
                if O::ACTIVE {
                    let station = &self.tiers[tier].name;
                    self.observer.observe(
                        self.now,
                        Observed::Rejected {
                            request: id,
                            station,
                        },
                    );
                }
                let server = self.requests.get(id).map(|r| r.server);
                self.end_on_server(id, false);
                let outcome = Outcome::Failed(FailReason::TierRejected);
                self.attempt_failed(id, measured, outcome, server);
                if let Some(server) = server {
                    self.answered(server, false);
                }
            }
        }
    }

    /// A worker of tier `tier` takes the call of request `id` now.
    fn start_call(&mut self, id: RequestId, tier: usize) {
        let tier_station = &mut self.tiers[tier];
        let service_time = tier_station.draw_service();
        self.events
            .schedule(self.now + service_time, Event::Done(id));
        if O::ACTIVE {
            let station = &self.tiers[tier].name;
            self.observer.observe(
                self.now,
                Observed::Started {
                    request: id,
                    station,
                },
            );
        }
    }

    /// Request `id` is answered — with an error if its server is in a gray failure.
    fn complete(&mut self, id: RequestId) {
        let Some(&request) = self.requests.get(id) else {
            return;
        };
        let elapsed = self.now - request.arrived;
        let mut response_time = elapsed;
        if self.answer_hooks {
            match self.before_answer(id, &request) {
                Some(measured) => response_time = measured,
                None => return,
            }
        }
        self.frontend
            .finished(request.balancer, request.server, elapsed, true);
        self.measurement.completed(&request, response_time);
        if self.answer_hooks {
            self.after_answer(id, request.server, response_time);
        }
        if O::ACTIVE {
            let server = &self.cluster.server(request.server).name;
            self.observer.observe(
                self.now,
                Observed::Completed {
                    request: id,
                    server,
                    latency: response_time,
                    waited: request.started - request.arrived,
                },
            );
        }
        self.end_on_server(id, true);
    }

    /// What may change an answer before it is counted: a gray failure turns it into an
    /// error, and with client retries it may answer a call that began earlier (its
    /// response time is then the call's) or one the client gave up on. `None` when it is
    /// not counted as an answer. Out of line, with [`Self::after_answer`], behind one flag:
    /// a run with none of these capabilities pays one branch for them per answer.
    #[inline(never)]
    fn before_answer(&mut self, id: RequestId, request: &Request) -> Option<SimDuration> {
        if let Some(gray) = &mut self.gray
            && gray.answers_with_error(request.server)
        {
            self.answer_with_error(id, request);
            return None;
        }
        if self.resilience.is_some() {
            let origin = self.call_answered(id, request)?;
            return Some(self.now - origin);
        }
        Some(self.now - request.arrived)
    }

    /// The components that learn of every answer: outlier detection, the autoscaler's
    /// metrics, the data tier's time split.
    #[inline(never)]
    fn after_answer(&mut self, id: RequestId, server: ServerId, response_time: SimDuration) {
        self.answered(server, true);
        if let Some(scaling) = &mut self.scaling {
            scaling.completed(self.now, response_time);
        }
        if let Some(database) = &mut self.database {
            database.completed(id, response_time);
        }
    }

    /// `request` (`id`), its work done, is answered with an error by its server in a gray
    /// failure. Out of line, so that the hot path of a run without gray failures stays as
    /// small as it was.
    #[inline(never)]
    fn answer_with_error(&mut self, id: RequestId, request: &Request) {
        self.end_on_server(id, false);
        self.answered(request.server, false);
        let outcome = Outcome::Failed(FailReason::ErrorResponse);
        self.attempt_failed(id, request.measured, outcome, Some(request.server));
    }

    /// Request `id`, picked for `server`, finds no memory left there and is refused.
    #[inline(never)]
    fn refuse_for_memory(&mut self, id: RequestId, server: ServerId, measured: bool) {
        self.requests.remove(id);
        let outcome = Outcome::Failed(FailReason::OutOfMemory);
        self.attempt_failed(id, measured, outcome, Some(server));
        self.answered(server, false);
    }

    /// Attempt `id` (at `server`, if it got that far) ended with `outcome`: what its
    /// client does with the call — `None` without client calls. A change of the server's
    /// circuit breaker is logged.
    fn call_ended(
        &mut self,
        id: RequestId,
        server: Option<ServerId>,
        outcome: Outcome,
    ) -> Option<CallEnd> {
        let resilience = self.resilience.as_mut()?;
        let (end, change) = resilience.ended(
            id,
            server,
            outcome,
            &mut Kernel {
                now: self.now,
                timers: &mut self.timers,
                events: &mut self.events,
            },
        );
        if let Some(change) = change {
            self.breaker_changed(change);
        }
        Some(end)
    }

    /// Attempt `id` was answered: when its call began — or `None` if the client had given
    /// up on it, when only its server's worker is freed.
    #[inline(never)]
    fn call_answered(&mut self, id: RequestId, request: &Request) -> Option<SimTime> {
        match self.call_ended(id, Some(request.server), Outcome::Completed)? {
            CallEnd::Abandoned => {
                let elapsed = self.now - request.arrived;
                self.frontend
                    .finished(request.balancer, request.server, elapsed, true);
                self.end_on_server(id, true);
                None
            }
            CallEnd::Final { origin } => Some(origin.unwrap_or(request.arrived)),
            CallEnd::Retrying { .. } => unreachable!("an answer is never retried"),
        }
    }

    /// Request `id` leaves its server, answered or not: the table forgets it and its
    /// worker takes the next queued request, or the server may go idle.
    fn end_on_server(&mut self, id: RequestId, answered: bool) {
        let Some(request) = self.requests.remove(id) else {
            return;
        };
        if !answered {
            self.frontend.finished(
                request.balancer,
                request.server,
                self.now - request.arrived,
                false,
            );
        }
        let server = self.cluster.server_mut(request.server);
        match server.station.finish(self.now, id) {
            Some(next) => self.start_service(next, request.server),
            None => self.server_went_idle(request.server),
        }
    }

    /// A worker of `server` has nothing left to do: a draining server goes down once its
    /// last worker is free, another reports idle.
    fn server_went_idle(&mut self, server: ServerId) {
        let idle = self.cluster.server(server);
        if idle.state == ServerState::Draining {
            if idle.station.is_idle() {
                self.go_down(server, "drained");
            }
        } else {
            self.frontend.server_idle(server);
        }
    }

    /// Attempt `id` (sent to `server`, if it got that far) ended without an answer, for
    /// `outcome`; it is out of the table, or left to its server if it timed out. Its
    /// request fails — counted once — unless its client retries it or had given up on it.
    /// Out of line: failures are the rare path, and inlined they would bloat the hot one.
    #[inline(never)]
    fn attempt_failed(
        &mut self,
        id: RequestId,
        measured: bool,
        outcome: Outcome,
        server: Option<ServerId>,
    ) {
        if let Some(end) = self.call_ended(id, server, outcome) {
            match end {
                CallEnd::Abandoned => return,
                CallEnd::Retrying { after } => {
                    if O::ACTIVE {
                        self.observe(Observed::Retrying {
                            request: id,
                            reason: outcome.name(),
                            after,
                        });
                    }
                    return;
                }
                CallEnd::Final { .. } => {}
            }
        }
        self.measurement.ended(measured, outcome, server);
        if O::ACTIVE {
            match (outcome, server) {
                (Outcome::Failed(reason), _) => self.observe(Observed::Failed {
                    request: id,
                    reason,
                }),
                (Outcome::Rejected, Some(server)) => {
                    let station = &self.cluster.server(server).name;
                    self.observer.observe(
                        self.now,
                        Observed::Rejected {
                            request: id,
                            station,
                        },
                    );
                }
                (Outcome::Rejected, None) | (Outcome::Completed, _) => {}
            }
        }
    }

    /// The member named `name`. Validation replays the timeline against the servers it adds
    /// and removes, so every server an action names is one the run had; but an autoscaler
    /// may have removed it since (a scale-in), and then the action has nothing to act on.
    fn named(&self, name: &str) -> Option<ServerId> {
        self.cluster.find(name)
    }

    /// Server `id` runs at `speed` from now on (a degraded host, or its repair).
    fn set_speed(&mut self, id: ServerId, speed: f64) {
        self.cluster.server_mut(id).station.speed = speed;
        self.measurement
            .speed_changed(self.now, self.cluster.server(id), speed);
        if O::ACTIVE {
            let server = &self.cluster.server(id).name;
            self.observer
                .observe(self.now, Observed::SpeedChanged { server, speed });
        }
    }

    fn apply(&mut self, action: &TimelineAction) {
        let before = self.routes();
        let session_keys = match (&self.sessions, &action.change) {
            (Some(sessions), Change::Add { .. } | Change::Remove { .. }) => sessions.live_keys(),
            _ => Vec::new(),
        };
        let sessions_before: Vec<Option<ServerId>> = session_keys
            .iter()
            .map(|key| self.frontend.route(key))
            .collect();
        match &action.change {
            Change::Add { group, count } => {
                for _ in 0..*count {
                    let id = self.launch(*group, ServerState::Ready, "timeline");
                    self.serve(id);
                }
                self.hosts_changed("timeline");
            }
            Change::Remove { server, abrupt } => {
                if let Some(id) = self.named(server) {
                    if *abrupt && self.cluster.server(id).is_serving() {
                        self.remove_abruptly(id);
                        self.hosts_changed("server-removed");
                    } else if !self.cluster.server(id).is_leaving() {
                        // One that serves nothing leaves at once, gracefully or not:
                        // left to a pre-stop time, its restart would go on and bring it
                        // up ready outside every rotation.
                        let reason = if *abrupt {
                            "server-removed"
                        } else {
                            "timeline"
                        };
                        self.depart(id, reason);
                        self.hosts_changed(reason);
                    }
                }
            }
            Change::Crash { server, downtime } => {
                if let Some(id) = self.named(server) {
                    self.crash(id, *downtime);
                }
            }
            Change::ZoneOutage { zone, downtime } => {
                let in_zone: Vec<ServerId> = self
                    .cluster
                    .servers()
                    .iter()
                    .filter(|s| s.is_member() && self.spec.servers[s.group].zone == *zone)
                    .map(|s| s.id)
                    .collect();
                for id in in_zone {
                    self.crash(id, *downtime);
                }
            }
            Change::SetErrors { server, fraction } => {
                if let Some(id) = self.named(server) {
                    self.gray
                        .as_mut()
                        .expect("a timeline that sets errors has gray failures")
                        .set(id, *fraction);
                }
            }
            Change::SetSpeed { server, speed } => {
                if let Some(id) = self.named(server) {
                    self.set_speed(id, *speed);
                }
            }
        }
        if let Some(before) = before {
            let after = self.routes().expect("the algorithm still routes by key");
            let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
            self.measurement
                .remapped(moved as f64 / before.len().max(1) as f64);
        }
        if let Some(sessions) = &mut self.sessions
            && sessions_before.iter().any(Option::is_some)
        {
            let moved = session_keys
                .iter()
                .zip(&sessions_before)
                .filter(|&(key, before)| self.frontend.route(key) != *before)
                .count();
            sessions.remapped(moved as f64 / session_keys.len() as f64);
        }
    }

    /// Where every client of the remap population maps now, if there is one.
    fn routes(&mut self) -> Option<Vec<Option<ServerId>>> {
        if self.remap_clients.is_empty() {
            return None;
        }
        Some(
            self.remap_clients
                .iter()
                .map(|&client| self.frontend.route(&key(client)))
                .collect(),
        )
    }

    /// Gives a new server its group's error share and its resource readings.
    fn equip(&mut self, id: ServerId) {
        let group = &self.spec.servers[self.cluster.server(id).group];
        if let Some(gray) = &mut self.gray {
            gray.set(id, group.error_fraction);
        }
        if let Some(resources) = &mut self.resources {
            resources.add_server(id, self.now);
        }
    }

    /// A health check of `server` is due: a probe is sent, queued behind its real work,
    /// and answered or timed out.
    fn check(&mut self, server: ServerId) {
        let Some(health) = &self.health else {
            return;
        };
        let spec = health.spec().clone();
        let checked = self.cluster.server(server);
        if !checked.is_member() || checked.check.is_some() {
            return;
        }
        match checked.state {
            // Booting: the port is closed, the check fails at once.
            ServerState::Booting => {
                self.check_result(server, false);
                return;
            }
            // Crashed: no answer until the timeout.
            ServerState::Down => {
                let timeout =
                    self.start_timer(self.now + spec.timeout, Timer::CheckTimeout(server), None);
                self.cluster.server_mut(server).check = Some(OutstandingCheck {
                    probe: None,
                    timeout,
                });
                return;
            }
            ServerState::Ready | ServerState::Draining => {}
        }
        if self.measurement.is_measured(self.now) {
            self.measurement.report(Figure::ChecksSent, 1);
        }
        let probe = self.requests.insert(Request {
            arrived: self.now,
            work: spec.work,
            server,
            started: self.now,
            hop: 0,
            balancer: 0,
            measured: false,
            probe: true,
        });
        match self
            .cluster
            .server_mut(server)
            .station
            .admit(self.now, probe)
        {
            Admission::Start => self.start_service(probe, server),
            Admission::Queued { .. } => {}
            Admission::Rejected => {
                // A full queue answers 503 at once.
                self.requests.remove(probe);
                self.check_result(server, false);
                return;
            }
        }
        let timeout = self.start_timer(self.now + spec.timeout, Timer::CheckTimeout(server), None);
        self.cluster.server_mut(server).check = Some(OutstandingCheck {
            probe: Some(probe),
            timeout,
        });
    }

    /// `server` answered the probe `id`: its worker moves on, and the check passes unless
    /// it had already timed out.
    fn probe_answered(&mut self, id: RequestId, server: ServerId) {
        self.requests.remove(id);
        let checked = self.cluster.server_mut(server);
        if let Some(next) = checked.station.finish(self.now, id) {
            self.start_service(next, server);
        } else {
            self.server_went_idle(server);
        }
        let checked = self.cluster.server_mut(server);
        if let Some(check) = checked.check
            && check.probe == Some(id)
        {
            checked.check = None;
            self.timers.cancel(check.timeout);
            // The seed's `/health`: a 503 when CPU or memory is above its threshold.
            let overloaded = self.resources.as_mut().is_some_and(|resources| {
                resources
                    .read(checked, self.now)
                    .is_some_and(|reading| reading.overloaded)
            });
            self.check_result(server, !overloaded);
        }
    }

    /// A check of `server` passed or failed: the balancer's view changes when a threshold
    /// is crossed, and the next check is scheduled an interval (with jitter) later.
    fn check_result(&mut self, server: ServerId, passed: bool) {
        let Some(health) = &mut self.health else {
            return;
        };
        let transition = health.on_result(server, passed);
        let delay = health.next_delay(&mut self.health_rng);
        if self.cluster.server(server).is_member() {
            self.start_timer(self.now + delay, Timer::Check(server), None);
        }
        let Some(transition) = transition else {
            return;
        };
        let (from, to) = match transition {
            HealthTransition::BecameUnhealthy => ("healthy", "unhealthy"),
            HealthTransition::BecameHealthy => ("unhealthy", "healthy"),
        };
        let checked = self.cluster.server(server);
        self.measurement
            .rotation_changed(self.now, checked, from, to, "health-check");
        if O::ACTIVE {
            self.observer.observe(
                self.now,
                Observed::HealthChanged {
                    server: &checked.name,
                    healthy: transition == HealthTransition::BecameHealthy,
                },
            );
        }
        if transition == HealthTransition::BecameUnhealthy
            && let Some(crashed) = checked.crashed
        {
            self.measurement.detected(self.now - crashed);
        }
        self.update_rotation("health-check");
    }

    /// A request to `server` got an answer (`ok`) or an error: outlier detection's input.
    fn answered(&mut self, server: ServerId, ok: bool) {
        let Some(outliers) = &mut self.outliers else {
            return;
        };
        if let Some(ejection) = outliers.on_response(server, self.now, ok) {
            self.ejected(server, ejection);
        }
    }

    /// Outlier detection ejected `server` until `ejection.until`.
    fn ejected(&mut self, server: ServerId, ejection: Ejection) {
        self.start_timer(ejection.until, Timer::Uneject(server), None);
        let out = self.cluster.server(server);
        self.measurement
            .rotation_changed(self.now, out, "healthy", "ejected", "outlier-ejection");
        if let Some(crashed) = out.crashed {
            self.measurement.detected(self.now - crashed);
        }
        self.update_rotation("outlier-ejection");
    }

    /// Puts in rotation exactly the servers the balancers know and trust — or, in panic
    /// (too few of the hosts healthy), every known host but those draining. `cause` is what
    /// changed a server's health (`health-check` or `outlier-ejection`): the reason of a
    /// panic row it starts or ends.
    fn update_rotation(&mut self, cause: &'static str) {
        if self.health.is_some() || self.outliers.is_some() {
            self.update_panic(cause);
        }
        self.refresh_every_rotation();
    }

    /// The balancers' set of hosts changed for `reason` (a host joined or left): the share
    /// of healthy hosts changed with it, and may have crossed the panic threshold. Envoy
    /// recomputes panic on every host-set update, not only on health changes; a newcomer
    /// waiting for its first check counts as unhealthy, so a scale-out of more hosts than
    /// were healthy panics the balancer until their checks pass.
    fn hosts_changed(&mut self, reason: &'static str) {
        if (self.health.is_some() || self.outliers.is_some()) && self.update_panic(reason) {
            self.refresh_every_rotation();
        }
    }

    /// Puts every server in rotation or takes it out, as the balancer's mode and each
    /// server's health say.
    fn refresh_every_rotation(&mut self) {
        self.frontend.set_panic(self.panic);
        for index in 0..self.cluster.servers().len() {
            self.refresh_rotation(ServerId(index as u32));
        }
    }

    /// Enters or leaves panic as the share of healthy hosts says (`panic_mode.rs`): of every
    /// host the balancers know, crashed ones included, those passing their checks and not
    /// ejected. A change is a row of events.csv, whose `detail` gives the count. Returns
    /// whether the mode changed.
    fn update_panic(&mut self, cause: &'static str) -> bool {
        let (mut hosts, mut healthy) = (0, 0);
        for index in 0..self.cluster.servers().len() {
            let id = ServerId(index as u32);
            if self.balancers_know(id) {
                hosts += 1;
                healthy += usize::from(
                    self.health.as_ref().is_none_or(|h| h.is_healthy(id))
                        && self.outliers.as_ref().is_none_or(|o| !o.is_ejected(id)),
                );
            }
        }
        let threshold = self.spec.panic_threshold;
        let panic = in_panic(threshold, healthy, hosts);
        if panic == self.panic {
            return false;
        }
        self.panic = panic;
        let side = if panic { "below" } else { "at or above" };
        let detail = format!(
            "{healthy} of {hosts} hosts healthy, {side} the panic threshold {}",
            threshold.as_f64()
        );
        self.measurement
            .panic_changed(self.now, panic, cause, detail);
        if O::ACTIVE {
            self.observer.observe(
                self.now,
                Observed::PanicChanged {
                    panic,
                    healthy,
                    hosts,
                },
            );
        }
        true
    }

    fn failure_process(&self, server: ServerId) -> Option<FailureProcess> {
        self.spec.servers[self.cluster.server(server).group].failures
    }

    /// An exponential draw with `mean` from `server`'s failure stream.
    fn draw_exponential(&mut self, server: ServerId, mean: SimDuration) -> SimDuration {
        let rng = self.failure_rngs[server.index()]
            .as_mut()
            .expect("a server with a failure process has its stream");
        let unit: f64 = Exp1.sample(rng);
        SimDuration::from_secs_f64(unit * mean.as_secs_f64())
    }

    /// Schedules `server`'s next crash, if its group has a failure process.
    fn start_failure_process(&mut self, server: ServerId) {
        if self.failure_rngs.len() <= server.index() {
            self.failure_rngs.resize_with(server.index() + 1, || None);
        }
        let Some(process) = self.failure_process(server) else {
            return;
        };
        let rng = &mut self.failure_rngs[server.index()];
        if rng.is_none() {
            *rng = Some(stream(self.seed, streams::FAILURES, server.0));
        }
        let time_to_failure = self.draw_exponential(server, process.mtbf);
        let timer = self.start_timer(self.now + time_to_failure, Timer::Crash(server), None);
        self.cluster.server_mut(server).lifecycle_timer = Some(timer);
    }

    /// `server` crashes: what it holds fails, it refuses connections, and it restarts after
    /// `downtime` if there is one — unless it was leaving, which it then does at once. Its
    /// balancers are not told.
    fn crash(&mut self, server: ServerId, downtime: Option<SimDuration>) {
        let crashed = self.cluster.server_mut(server);
        if !crashed.is_member() || crashed.state == ServerState::Down {
            return;
        }
        if let Some(timer) = crashed.lifecycle_timer.take() {
            self.timers.cancel(timer);
        }
        crashed.crashed = Some(self.now);
        crashed.recovered = None;
        self.fail_everything_on(server, FailReason::Crash);
        if self.cluster.server(server).is_leaving() {
            // It was on its way out (its pre-stop time, or draining): the crash ends the
            // departure early, and nothing restarts it — as Kubernetes does not restart the
            // container of a terminating pod. Restarted, it would sit ready outside every
            // rotation (or, registering again, come back) until its deregistration delay.
            self.go_down(server, "crash");
            return;
        }
        if let Some(sessions) = &mut self.sessions {
            sessions.server_lost_memory(server);
        }
        let from = self.cluster.server(server).state;
        self.cluster.server_mut(server).state = ServerState::Down;
        self.state_changed(server, Some(from), Some(ServerState::Down), "crash");
        if let Some(downtime) = downtime {
            let timer = self.start_timer(self.now + downtime, Timer::Restart(server), None);
            self.cluster.server_mut(server).lifecycle_timer = Some(timer);
        }
    }

    /// A crashed `server` restarts: it boots for its group's boot time, then is ready.
    fn restart(&mut self, server: ServerId) {
        let boot = self.spec.servers[self.cluster.server(server).group].boot;
        self.cluster.server_mut(server).lifecycle_timer = None;
        if boot.is_zero() {
            self.booted(server);
            return;
        }
        self.cluster.server_mut(server).state = ServerState::Booting;
        self.state_changed(
            server,
            Some(ServerState::Down),
            Some(ServerState::Booting),
            "restart",
        );
        let timer = self.start_timer(self.now + boot, Timer::Booted(server), None);
        self.cluster.server_mut(server).lifecycle_timer = Some(timer);
    }

    /// `server` has booted: it serves again, and its failure process goes on — or, if it
    /// crashed before it first served (a launched instance still booting), it serves now
    /// for the first time, as a launched instance does.
    fn booted(&mut self, server: ServerId) {
        let from = self.cluster.server(server).state;
        if !self.cluster.server(server).served {
            let first = self.cluster.server_mut(server);
            first.state = ServerState::Ready;
            first.lifecycle_timer = None;
            first.crashed = None;
            self.state_changed(server, Some(from), Some(ServerState::Ready), "booted");
            self.serve(server);
            self.hosts_changed("booted");
            return;
        }
        let restarted = self.cluster.server_mut(server);
        restarted.state = ServerState::Ready;
        restarted.lifecycle_timer = None;
        restarted.crashed = None;
        restarted.recovered = Some(self.now);
        self.state_changed(server, Some(from), Some(ServerState::Ready), "booted");
        self.frontend.server_idle(server);
        self.start_failure_process(server);
        if !self.cluster.server(server).is_leaving() {
            // Its agent registers it again (the registry may have dropped it while down).
            self.register(server, true);
        }
        if self.frontend.is_in_rotation(server) {
            // The balancer never took it out: it is back the moment it serves.
            self.recovery_ended(server);
        }
    }

    /// `server` is in rotation again: if it was recovering from a crash, its recovery
    /// time ends now.
    fn recovery_ended(&mut self, server: ServerId) {
        let back = self.cluster.server_mut(server);
        if let Some(recovered) = back.recovered.take() {
            self.measurement
                .back_in_rotation(self.now, back, self.now - recovered);
        }
    }

    /// `server`, out of rotation (or soon to be, once discovery tells the balancers),
    /// finishes what it holds, then goes down — for at most its group's deregistration
    /// delay, whose one-shot timer fails what is left (AWS ALB's `deregistration_delay`,
    /// Kubernetes' termination grace period).
    fn start_draining(&mut self, server: ServerId, reason: &'static str) {
        let from = self.cluster.server(server).state;
        self.cluster.server_mut(server).state = ServerState::Draining;
        self.state_changed(server, Some(from), Some(ServerState::Draining), reason);
        if self.cluster.server(server).station.is_idle() {
            self.go_down(server, "drained");
            return;
        }
        let delay = self.spec.servers[self.cluster.server(server).group].deregistration_delay;
        let deadline = self.start_timer(self.now + delay, Timer::DrainDeadline(server), None);
        self.cluster.server_mut(server).departure_timer = Some(deadline);
    }

    /// `server` goes down at once: every request it holds fails.
    fn remove_abruptly(&mut self, server: ServerId) {
        self.fail_everything_on(server, FailReason::ServerRemoved);
        self.cluster.server_mut(server).leaving = Some("server-removed");
        self.leave_balancers(server);
        self.go_down(server, "server-removed");
    }

    /// Every request `server` holds, in service or queued, fails for `reason`.
    fn fail_everything_on(&mut self, server: ServerId, reason: FailReason) {
        if let Some(database) = &mut self.database {
            database.server_down(server);
        }
        let evicted = self.cluster.server_mut(server).station.evict_all(self.now);
        for id in evicted {
            let Some(request) = self.requests.remove(id) else {
                continue;
            };
            if request.probe {
                continue;
            }
            self.frontend
                .finished(request.balancer, server, self.now - request.arrived, false);
            self.answered(server, false);
            if request.hop == database::HOP {
                self.in_database(|database, ctx| database.withdraw(id, ctx));
            } else if request.hop > 0 {
                let tier = usize::from(request.hop) - 1;
                if let Some(next) = self.tiers[tier].station.withdraw(self.now, id) {
                    self.start_call(next, tier);
                }
            }
            self.attempt_failed(id, request.measured, Outcome::Failed(reason), Some(server));
        }
    }

    /// `server` leaves the cluster for good.
    fn go_down(&mut self, server: ServerId, reason: &'static str) {
        let from = self.cluster.server(server).state;
        self.leave_cluster(server);
        self.state_changed(server, Some(from), Some(ServerState::Down), reason);
    }

    /// `server` is down and out of the cluster: its timers cancelled, the components that
    /// watch servers told.
    fn leave_cluster(&mut self, server: ServerId) {
        let down = self.cluster.server_mut(server);
        down.state = ServerState::Down;
        down.left = Some(self.now);
        if let Some(timer) = down.lifecycle_timer.take() {
            self.timers.cancel(timer);
        }
        if let Some(check) = down.check.take() {
            self.timers.cancel(check.timeout);
        }
        if let Some(departure) = down.departure_timer.take() {
            self.timers.cancel(departure);
        }
        if let Some(health) = &mut self.health {
            health.remove_server(server);
        }
        if let Some(outliers) = &mut self.outliers {
            outliers.remove_server(server);
        }
        if let Some(resilience) = &mut self.resilience {
            resilience.remove_server(server);
        }
        if let Some(sessions) = &mut self.sessions {
            sessions.server_lost_memory(server);
        }
    }

    fn state_changed(
        &mut self,
        server: ServerId,
        from: Option<ServerState>,
        to: Option<ServerState>,
        reason: &'static str,
    ) {
        let server = self.cluster.server(server);
        self.measurement
            .state_changed(self.now, server, from, to, reason);
        if O::ACTIVE {
            self.observer.observe(
                self.now,
                Observed::StateChanged {
                    server: &server.name,
                    from,
                    to,
                    reason,
                },
            );
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
