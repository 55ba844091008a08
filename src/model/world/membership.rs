//! Who is in the cluster and whom the balancers send traffic to: servers launched,
//! serving, told to leave; service discovery telling the balancers late; and slow start
//! ramping the weight of a newcomer, or of a server back to health from failed checks.
//!
//! A server's way in: launched (booting, or ready at once from the timeline), then it
//! serves (equipped, health-checked, its failure process started) and is announced — to the
//! registry, which the balancers read late, or straight to the balancers without one. It
//! enters rotation when the balancers know it and trust it. Its way out when told to leave:
//! it deregisters (the balancers hear of it at once, or late through discovery), keeps
//! serving for its group's pre-stop time, then drains.

use super::{World, balancers_view};
use crate::balancer::Backend;
use crate::engine::{SimDuration, SimTime, TimerId};
use crate::id::ServerId;
use crate::model::discovery::Propagation;
use crate::model::event::Timer;
use crate::model::observer::{Observed, Observer};
use crate::model::server::ServerState;
use crate::model::{SlowStart, SlowStartSpec};
use crate::stats::UNKNOWN;

/// The servers in slow start: each with the time its ramp started.
pub(super) struct SlowStarts {
    ramp: SlowStart,
    ramping: Vec<(ServerId, SimTime)>,
    /// The periodic timer raising their weights, while any ramps.
    tick: Option<TimerId>,
    /// Per server, when the balancers last added it or it last passed its health checks
    /// back to healthy: Envoy's `lastHcPassTime`, from which its ramp runs. `None` for the
    /// servers of the warm cluster the run starts with, which never ramp until then.
    since: Vec<Option<SimTime>>,
}

impl SlowStarts {
    pub(super) fn new(spec: SlowStartSpec) -> Self {
        SlowStarts {
            ramp: SlowStart::new(spec),
            ramping: Vec::new(),
            tick: None,
            since: Vec::new(),
        }
    }

    /// `server` joined the balancers' hosts, or passed its checks back to healthy, at
    /// `now`: its ramp starts afresh. Envoy sets `lastHcPassTime` on exactly these two
    /// occasions; the end of an outlier ejection is neither.
    pub(super) fn ramp_from(&mut self, server: ServerId, now: SimTime) {
        let index = server.index();
        if self.since.len() <= index {
            self.since.resize(index + 1, None);
        }
        self.since[index] = Some(now);
    }

    /// When `server`'s ramp started, if it is still within its window at `now`.
    fn ramping_since(&self, server: ServerId, now: SimTime) -> Option<SimTime> {
        self.since
            .get(server.index())
            .copied()
            .flatten()
            .filter(|&since| self.ramp.is_ramping(now.since(since)))
    }

    /// The balancer weight of a server of weight `base` out of slow start: weights are
    /// scaled when slow start is on, so that a share of a weight of 1 is a whole number.
    pub(super) fn full_weight(slow_starts: Option<&SlowStarts>, base: u32) -> u32 {
        match slow_starts {
            Some(_) => SlowStart::full_weight(base),
            None => base,
        }
    }
}

impl<O: Observer> World<'_, O> {
    /// A server of group `group` is launched in `state` (booting, or ready at once) for
    /// `reason`; it is a member from now on, and its utilization counts from now.
    pub(super) fn launch(
        &mut self,
        group: usize,
        state: ServerState,
        reason: &'static str,
    ) -> ServerId {
        let spec = &self.spec.servers[group];
        let id = self.cluster.join(group, spec, self.now, state);
        // A cluster that grows (a timeline, an autoscaler) outgrows the caches too.
        self.look_ahead |= self.cluster.servers().len() >= super::LOOK_AHEAD_SERVERS;
        self.measurement.server_joined(id);
        if let Some(scaling) = &mut self.scaling {
            scaling.server_joined(id, self.now);
        }
        self.state_changed(id, None, Some(state), reason);
        id
    }

    /// Ready server `id` starts serving: it is equipped (its group's error share and
    /// resources; the components that watch every server learn of it), health checking
    /// takes it up, and it is announced. The caller then tells [`Self::hosts_changed`],
    /// once for all the servers one change brought.
    pub(super) fn serve(&mut self, id: ServerId) {
        self.cluster.server_mut(id).served = true;
        self.equip(id);
        if let Some(health) = &mut self.health {
            // A newcomer waits for its first passed check (Envoy checks it at once).
            health.add_server(id, false);
            self.start_timer(self.now, Timer::Check(id), None);
        }
        if self.discovery.is_some() {
            self.register(id, true);
        } else {
            if let Some(slow_starts) = &mut self.slow_starts {
                slow_starts.ramp_from(id, self.now);
            }
            self.refresh_rotation(id);
        }
        self.start_failure_process(id);
    }

    /// `server` is told to leave for `reason` (a graceful removal, a scale-in): retired if
    /// it serves, terminated at once if it does not (crashed, restarting or booting).
    pub(super) fn depart(&mut self, server: ServerId, reason: &'static str) {
        if self.cluster.server(server).is_serving() {
            self.retire(server, reason);
        } else {
            self.terminate(server, reason);
        }
    }

    /// `server` is told to leave for `reason`: it deregisters, keeps serving for its
    /// group's pre-stop time (Kubernetes' `preStop`: time for discovery to tell the
    /// balancers), then drains — all within its deregistration delay, which runs from now:
    /// Kubernetes' termination grace period counts down from the deletion, before the
    /// `preStop` hook runs, and AWS ALB's deregistration delay from the deregistration.
    fn retire(&mut self, server: ServerId, reason: &'static str) {
        self.cluster.server_mut(server).leaving = Some(reason);
        self.leave_balancers(server);
        let group = &self.spec.servers[self.cluster.server(server).group];
        let (pre_stop, delay) = (group.pre_stop, group.deregistration_delay);
        if pre_stop.is_zero() {
            self.start_draining(server, reason, self.now + delay);
        } else if pre_stop < delay {
            // Its failure process goes on: a server may crash in its pre-stop time, and
            // then leaves at once (see `World::crash`).
            let timer = self.start_timer(self.now + pre_stop, Timer::PreStopOver(server), None);
            self.cluster.server_mut(server).departure_timer = Some(timer);
        } else {
            // The grace period ends before the pre-stop time does: Kubernetes kills the
            // pod then, with what it still serves.
            let deadline = self.start_timer(self.now + delay, Timer::DrainDeadline(server), None);
            self.cluster.server_mut(server).departure_timer = Some(deadline);
        }
    }

    /// `server`, serving nothing (down or booting), is terminated for `reason`: it leaves
    /// the balancers (a crashed or restarting member is still in their rotation) and the
    /// cluster, its restart or boot cancelled. It holds nothing to drain, and a pre-stop
    /// time would protect no traffic: Kubernetes' `preStop` hook fails in a container that
    /// has terminated (a crashed one), and a pod still starting is not yet an endpoint.
    pub(super) fn terminate(&mut self, server: ServerId, reason: &'static str) {
        self.cluster.server_mut(server).leaving = Some(reason);
        self.leave_balancers(server);
        if self.cluster.server(server).state == ServerState::Down {
            // Already down: it leaves for good, a row of its own.
            self.leave_cluster(server);
            self.state_changed(server, Some(ServerState::Down), None, reason);
        } else {
            self.go_down(server, reason);
        }
    }

    /// A retiring server's pre-stop time is over: it drains until its deregistration
    /// delay, counted from when it was told to leave, a pre-stop time ago, is over.
    pub(super) fn pre_stop_over(&mut self, server: ServerId) {
        let leaving = self.cluster.server_mut(server);
        leaving.departure_timer = None;
        let reason = leaving.leaving.unwrap_or("timeline");
        let group = &self.spec.servers[leaving.group];
        let left = group
            .deregistration_delay
            .as_nanos()
            .saturating_sub(group.pre_stop.as_nanos());
        self.start_draining(server, reason, self.now + SimDuration::from_nanos(left));
    }

    /// `server` is to leave the balancers: at once, or through the registry. The caller
    /// then tells [`Self::hosts_changed`], once for all the servers one change took.
    pub(super) fn leave_balancers(&mut self, server: ServerId) {
        if self.discovery.is_some() {
            self.register(server, false);
        } else {
            self.frontend.remove(server);
            if let Some(slow_starts) = &mut self.slow_starts {
                slow_starts.ramping.retain(|&(id, _)| id != server);
            }
        }
    }

    /// The registry lists `server` (or no longer does); a watch tells the balancers after
    /// its delay, a poll at its next round. Nothing without a registry.
    pub(super) fn register(&mut self, server: ServerId, registered: bool) {
        let Some(discovery) = &mut self.discovery else {
            return;
        };
        if let Some(Propagation::After(delay)) = discovery.set_registered(server, registered) {
            let timer = if registered {
                Timer::Discovered(server)
            } else {
                Timer::Forgotten(server)
            };
            self.start_timer(self.now + delay, timer, None);
        }
    }

    /// Arms the balancers' polls and the registry's health checks.
    pub(super) fn start_discovery(&mut self) {
        let Some(discovery) = &self.discovery else {
            return;
        };
        let check = discovery.spec().check_interval;
        if let Some(interval) = discovery.poll_interval() {
            self.start_timer(self.now + interval, Timer::DiscoveryPoll, Some(interval));
        }
        self.start_timer(self.now + check, Timer::RegistryCheck, Some(check));
    }

    /// The balancers poll the registry and take its list whole.
    pub(super) fn discovery_poll(&mut self) {
        let changed = match &mut self.discovery {
            Some(discovery) => discovery.poll(),
            None => return,
        };
        for (server, registered) in changed {
            self.balancers_heard(server, registered);
        }
        self.hosts_changed("discovery");
    }

    /// A watched change reaches the balancers: they know `server` as `registered`.
    pub(super) fn balancers_learn(&mut self, server: ServerId, registered: bool) {
        if self
            .discovery
            .as_mut()
            .is_some_and(|d| d.learn(server, registered))
        {
            self.balancers_heard(server, registered);
            self.hosts_changed("discovery");
        }
    }

    /// The balancers' view of `server` changed: a row of events.csv, and its rotation. A
    /// server they hear of is a new host to them, whose slow start begins.
    fn balancers_heard(&mut self, server: ServerId, registered: bool) {
        if registered && let Some(slow_starts) = &mut self.slow_starts {
            slow_starts.ramp_from(server, self.now);
        }
        let view = balancers_view(&self.health, &self.outliers, &None, server);
        let (from, to) = if registered {
            (UNKNOWN, view)
        } else {
            (view, UNKNOWN)
        };
        self.measurement.rotation_changed(
            self.now,
            self.cluster.server(server),
            from,
            to,
            "discovery",
        );
        if O::ACTIVE {
            self.observer.observe(
                self.now,
                Observed::DiscoveryChanged {
                    server: &self.cluster.server(server).name,
                    known: registered,
                },
            );
        }
        self.refresh_rotation(server);
    }

    /// The registry's own health check (Consul's): every registered server found down or
    /// booting is deregistered.
    pub(super) fn registry_check(&mut self) {
        let failing: Vec<ServerId> = match &self.discovery {
            Some(discovery) => self
                .cluster
                .servers()
                .iter()
                .filter(|s| discovery.is_registered(s.id) && !s.is_serving())
                .map(|s| s.id)
                .collect(),
            None => return,
        };
        for server in failing {
            self.register(server, false);
        }
    }

    /// Puts `server` in rotation or takes it out, as the balancers' knowledge of it and
    /// their trust in it say.
    pub(super) fn refresh_rotation(&mut self, id: ServerId) {
        let known = self.balancers_know(id);
        let trusted = self.panic
            || (self.health.as_ref().is_none_or(|h| h.is_healthy(id))
                && self.outliers.as_ref().is_none_or(|o| !o.is_ejected(id)));
        match (known && trusted, self.frontend.is_in_rotation(id)) {
            (true, false) => {
                self.enter_rotation(id);
                self.recovery_ended(id);
            }
            (false, true) => {
                self.frontend.remove(id);
                if let Some(slow_starts) = &mut self.slow_starts {
                    slow_starts.ramping.retain(|&(ramping, _)| ramping != id);
                }
            }
            (true, true) if self.slow_starts.is_some() => self.reweigh(id),
            _ => {}
        }
    }

    /// Whether the balancers know `id`, as service discovery told them or, without it, as
    /// a member that has served and is neither draining nor leaving: their hosts, in
    /// rotation when trusted (or in panic).
    pub(super) fn balancers_know(&self, id: ServerId) -> bool {
        match &self.discovery {
            Some(discovery) => discovery.knows(id),
            None => {
                let server = self.cluster.server(id);
                server.is_member()
                    && server.state != ServerState::Draining
                    && !server.is_leaving()
                    && server.served
            }
        }
    }

    /// `id` enters rotation — in slow start, at a share of its weight, if it ramps.
    fn enter_rotation(&mut self, id: ServerId) {
        let ramp = self.ramp_start(id);
        let weight = self.slow_start_weight(id, ramp);
        let server = self.cluster.server(id);
        // Idle as `server_went_idle` reports it: taking connections, with a worker free.
        let idle = server.accepts_connections() && server.station.has_free_worker();
        let backend = Backend {
            id,
            name: &server.name,
            weight,
        };
        self.frontend.add(backend, idle);
        if let Some(since) = ramp {
            self.start_ramp(id, since);
        }
    }

    /// When `id`'s ramp began, if it ramps now: Envoy's `applySlowStartFactor` ramps a
    /// host whose `lastHcPassTime` is within the window only while it is healthy. A host
    /// in rotation only because the balancer panics — failing its checks, or ejected —
    /// carries its full weight, and one back from an ejection ramps only if its window is
    /// not over.
    fn ramp_start(&self, id: ServerId) -> Option<SimTime> {
        let healthy = self.health.as_ref().is_none_or(|h| h.is_healthy(id))
            && self.outliers.as_ref().is_none_or(|o| !o.is_ejected(id));
        healthy
            .then(|| self.slow_starts.as_ref()?.ramping_since(id, self.now))
            .flatten()
    }

    /// `id`'s balancer weight: its ramp's share of its weight since `ramp`, or all of it.
    fn slow_start_weight(&self, id: ServerId, ramp: Option<SimTime>) -> u32 {
        let base = self.cluster.server(id).weight;
        match (&self.slow_starts, ramp) {
            (None, _) => base,
            (Some(slow_starts), Some(since)) => {
                slow_starts.ramp.weight(base, self.now.since(since))
            }
            (Some(_), None) => SlowStart::full_weight(base),
        }
    }

    /// `id`, in rotation, ramps from `since`: the tick raises its weight from now on.
    fn start_ramp(&mut self, id: ServerId, since: SimTime) {
        let Some(slow_starts) = &mut self.slow_starts else {
            return;
        };
        slow_starts.ramping.push((id, since));
        if slow_starts.tick.is_none() {
            let tick = slow_starts.ramp.tick();
            let timer = self.start_timer(self.now + tick, Timer::SlowStartTick, Some(tick));
            if let Some(slow_starts) = &mut self.slow_starts {
                slow_starts.tick = Some(timer);
            }
        }
    }

    /// `id` stays in rotation while its health changed: it starts ramping when it passed
    /// its checks back to healthy (in rotation already, by the balancer's panic), and
    /// stops, at its full weight, when it no longer is healthy.
    fn reweigh(&mut self, id: ServerId) {
        let ramp = self.ramp_start(id);
        let Some(slow_starts) = &mut self.slow_starts else {
            return;
        };
        let current = slow_starts
            .ramping
            .iter()
            .find(|&&(ramping, _)| ramping == id)
            .map(|&(_, since)| since);
        if current == ramp {
            return;
        }
        slow_starts.ramping.retain(|&(ramping, _)| ramping != id);
        let weight = self.slow_start_weight(id, ramp);
        self.frontend.set_weight(id, weight);
        if let Some(since) = ramp {
            self.start_ramp(id, since);
        }
    }

    /// Raises the weight of every server in slow start; one whose window is over gets its
    /// full weight and leaves the ramp, and the tick stops when none ramps.
    pub(super) fn raise_slow_start_weights(&mut self) {
        let Some(slow_starts) = &mut self.slow_starts else {
            return;
        };
        let now = self.now;
        let ramp = &slow_starts.ramp;
        let cluster = &self.cluster;
        let frontend = &mut self.frontend;
        slow_starts.ramping.retain(|&(id, since)| {
            let elapsed = now.since(since);
            frontend.set_weight(id, ramp.weight(cluster.server(id).weight, elapsed));
            ramp.is_ramping(elapsed)
        });
        if slow_starts.ramping.is_empty()
            && let Some(tick) = slow_starts.tick.take()
        {
            self.timers.cancel(tick);
        }
    }
}
