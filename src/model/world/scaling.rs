//! The autoscaler in the world: metrics collected from the servers, the policy evaluated
//! on its period and at its scheduled times, and its decisions carried out — instances
//! launched (provisioned, booted, then serving) or retired (instances crashed or still
//! booting first, then victims in the configured order, which deregister and drain).
//!
//! The group keeps its instances through crashes, as an Auto Scaling group keeps its
//! desired capacity and a Deployment its replicas: a crashed member that will restart
//! still counts toward the capacity the policy sees (Kubernetes restarts the container in
//! place, and the HPA's `currentReplicas` is the Deployment's replica count, not its ready
//! pods), and a member down for good is replaced at the next evaluation, as an Auto
//! Scaling group replaces an instance its health check finds unhealthy ("Health checks
//! for instances in an Auto Scaling group", AWS documentation).

use super::World;
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;
use crate::model::autoscaling::{
    Autoscaler, CPU_INITIALIZATION_PERIOD, Datapoint, Decision, Fleet,
};
use crate::model::event::Timer;
use crate::model::observer::Observer;
use crate::model::server::{Server, ServerState};
use crate::model::{AutoscalerSpec, ServerGroupSpec, VictimOrder};
use crate::stats::Figure;

/// How often the metrics pipeline takes a datapoint: the policies see averages over their
/// window of these, so a finer period changes nothing but the cost.
const COLLECTION_PERIOD: SimDuration = SimDuration::from_secs(1);

/// The autoscaler and what it needs from the world between two datapoints.
pub(super) struct Scaling {
    autoscaler: Autoscaler,
    /// The group it scales.
    group: usize,
    /// Per server: its busy integral at the previous datapoint.
    busy_at_collect: Vec<u128>,
    /// Per server: when it was launched; `None` for the servers the run starts with, which
    /// have run for long before it.
    started: Vec<Option<SimTime>>,
    /// Per server: when it last became ready; `None` before it first did.
    ready_since: Vec<Option<SimTime>>,
    /// Responses answered since the previous datapoint.
    completions: u32,
    /// Whether the policy reads response times, so that each is passed on.
    needs_response_times: bool,
}

impl Scaling {
    pub(super) fn new(spec: &AutoscalerSpec, groups: &[ServerGroupSpec], seed: u64) -> Self {
        let autoscaler = Autoscaler::new(spec, groups[spec.group].count, seed);
        let initial: usize = groups.iter().map(|g| g.count as usize).sum();
        Scaling {
            needs_response_times: autoscaler.needs_response_times(),
            autoscaler,
            group: spec.group,
            busy_at_collect: vec![0; initial],
            // The run starts with a warm cluster: its servers are ready from the start.
            started: vec![None; initial],
            ready_since: vec![Some(SimTime::ZERO); initial],
            completions: 0,
        }
    }

    /// A response was answered at `now` after `latency`.
    #[inline]
    pub(super) fn completed(&mut self, now: SimTime, latency: SimDuration) {
        self.completions += 1;
        if self.needs_response_times {
            self.autoscaler.record_response(now, latency);
        }
    }

    /// Server `id` was launched at `now`: its busy time counts from zero.
    pub(super) fn server_joined(&mut self, id: ServerId, now: SimTime) {
        if self.busy_at_collect.len() <= id.index() {
            self.busy_at_collect.resize(id.index() + 1, 0);
            self.started.resize(id.index() + 1, None);
            self.ready_since.resize(id.index() + 1, None);
        }
        self.started[id.index()] = Some(now);
    }

    /// Server `id` became ready at `now`.
    pub(super) fn became_ready(&mut self, id: ServerId, now: SimTime) {
        self.ready_since[id.index()] = Some(now);
    }

    /// Whether the HPA reads ready server `id`'s CPU at `now` as a ready pod's: past its
    /// CPU initialization period, or ready since before the metrics window began (see
    /// [`Fleet::cpu_ready`]).
    fn cpu_settled(&self, id: ServerId, now: SimTime) -> bool {
        let reach = self.autoscaler.window_reach();
        self.started[id.index()].is_none_or(|started| started + CPU_INITIALIZATION_PERIOD <= now)
            || self.ready_since[id.index()].is_some_and(|ready| ready + reach <= now)
    }
}

impl<O: Observer> World<'_, O> {
    /// Arms the metrics pipeline, the policy's period and its scheduled actions.
    pub(super) fn start_scaling(&mut self) {
        let Some(scaling) = &self.scaling else {
            return;
        };
        let interval = scaling.autoscaler.spec().interval;
        let scheduled = scaling.autoscaler.scheduled_times();
        self.start_timer(
            self.now + COLLECTION_PERIOD,
            Timer::MetricsCollect,
            Some(COLLECTION_PERIOD),
        );
        self.start_timer(self.now + interval, Timer::ScaleEvaluate, Some(interval));
        for (index, at) in (0..).zip(scheduled) {
            if at < self.end {
                self.start_timer(at, Timer::ScheduledScale(index), None);
            }
        }
    }

    /// A datapoint of the scaled group's ready servers over the last collection period.
    pub(super) fn collect_metrics(&mut self) {
        let now = self.now;
        let Some(scaling) = &mut self.scaling else {
            return;
        };
        let group = &self.spec.servers[scaling.group];
        let memory = group
            .resources
            .as_ref()
            .and_then(|r| r.memory.as_ref())
            .map(|m| (m.per_request, m.capacity));
        let (mut ready, mut busy, mut capacity, mut queued, mut used) =
            (0u32, 0u128, 0u128, 0u64, 0.0);
        for server in self.cluster.servers_mut() {
            if server.group != scaling.group || !server.is_member() {
                continue;
            }
            let integral = server.station.busy_integral(now);
            let before =
                std::mem::replace(&mut scaling.busy_at_collect[server.id.index()], integral);
            if server.state != ServerState::Ready {
                continue;
            }
            ready += 1;
            busy += integral - before;
            let alive = now.since(server.joined).min(COLLECTION_PERIOD);
            capacity += u128::from(server.station.workers) * u128::from(alive.as_nanos());
            queued += u64::from(server.station.queue_length());
            if let Some((per_request, total)) = memory {
                let held = server.station.queue_length() + server.station.busy_workers();
                used += (f64::from(held) * per_request / total).min(1.0);
            }
        }
        let per_server = |total: f64| {
            if ready == 0 {
                0.0
            } else {
                total / f64::from(ready)
            }
        };
        let datapoint = Datapoint {
            period: COLLECTION_PERIOD,
            ready,
            cpu: if capacity == 0 {
                0.0
            } else {
                busy as f64 / capacity as f64
            },
            memory: per_server(used),
            queue_length: per_server(queued as f64),
            completions: std::mem::take(&mut scaling.completions),
        };
        scaling.autoscaler.record(now, datapoint);
    }

    /// The policy's periodic evaluation, after the group's members down for good have
    /// been replaced.
    pub(super) fn evaluate_scaling(&mut self) {
        self.replace_dead_members();
        let fleet = Fleet {
            current: self.current_capacity(),
            cpu_ready: self.cpu_ready(),
            warming: self.warming(),
        };
        let now = self.now;
        if let Some(decision) = self
            .scaling
            .as_mut()
            .and_then(|s| s.autoscaler.evaluate(now, fleet))
        {
            self.carry_out(decision);
        }
    }

    /// The scaled group's ready members, not leaving, whose CPU the HPA reads
    /// ([`Fleet::cpu_ready`]). A leaving instance is a pod being deleted, which the HPA
    /// leaves out altogether.
    fn cpu_ready(&self) -> u32 {
        let now = self.now;
        self.count_staying(|scaling, s| {
            s.state == ServerState::Ready && scaling.cpu_settled(s.id, now)
        })
    }

    /// The scaled group's instances launched and not yet ready, not leaving
    /// ([`Fleet::warming`]); a server restarting after a crash has served before and is no
    /// new instance.
    fn warming(&self) -> u32 {
        self.count_staying(|_, s| s.state == ServerState::Booting && !s.served)
    }

    /// How many of the scaled group's members not leaving are `counted`.
    fn count_staying(&self, counted: impl Fn(&Scaling, &Server) -> bool) -> u32 {
        let Some(scaling) = &self.scaling else {
            return 0;
        };
        self.cluster
            .servers()
            .iter()
            .filter(|s| s.group == scaling.group && s.is_member() && !s.is_leaving())
            .filter(|s| counted(scaling, s))
            .count() as u32
    }

    /// Scheduled action `index` is due, after the group's members down for good have been
    /// replaced: the action sets the desired capacity of a whole group, so that a
    /// replacement afterwards would add to it.
    pub(super) fn scheduled_scaling(&mut self, index: usize) {
        self.replace_dead_members();
        let current = self.current_capacity();
        let now = self.now;
        if let Some(decision) = self
            .scaling
            .as_mut()
            .and_then(|s| s.autoscaler.scheduled(now, index, current))
        {
            self.carry_out(decision);
        }
    }

    /// The scaled group's instances launched and not leaving: booting, ready, or crashed
    /// and restarting — not deregistered, and not down for good.
    fn current_capacity(&self) -> u32 {
        self.count_staying(|_, s| counts_as_capacity(s))
    }

    /// Each member of the scaled group that crashed with no restart leaves the group, and
    /// an instance is launched in its place, whatever the policy says: the desired
    /// capacity is unchanged.
    fn replace_dead_members(&mut self) {
        let Some(scaling) = &self.scaling else {
            return;
        };
        let group = scaling.group;
        let dead: Vec<ServerId> = self
            .cluster
            .servers()
            .iter()
            .filter(|s| s.group == group && s.is_member() && !s.is_leaving())
            .filter(|s| s.state == ServerState::Down && s.lifecycle_timer.is_none())
            .map(|s| s.id)
            .collect();
        for server in dead {
            self.terminate(server, "replaced");
            self.launch_instance(group, "replacement");
        }
        self.hosts_changed("replaced");
    }

    /// Moves the group to `decision.to` instances and logs the decision.
    fn carry_out(&mut self, decision: Decision) {
        let Some(scaling) = &self.scaling else {
            return;
        };
        let group = scaling.group;
        let current = self.current_capacity();
        let reason = if decision.to > decision.from {
            "scale-out"
        } else {
            "scale-in"
        };
        let detail = format!(
            "{} -> {} ({}) {}",
            decision.from, decision.to, decision.reason, decision.seen
        );
        self.measurement
            .scaled(self.now, &self.spec.servers[group].name, reason, detail);
        if self.measurement.is_measured(self.now) {
            self.measurement.report(Figure::ScaleEvents, 1);
        }
        if decision.to > current {
            for _ in current..decision.to {
                self.launch_instance(group, "scale-out");
            }
        } else {
            for victim in self.victims(group, current - decision.to) {
                self.depart(victim, "scale-in");
            }
            self.hosts_changed("scale-in");
        }
    }

    /// Launches an instance of `group` for `reason`: it is provisioned, boots, then serves.
    fn launch_instance(&mut self, group: usize, reason: &'static str) {
        let id = self.launch(group, ServerState::Booting, reason);
        let provisioning = self
            .scaling
            .as_mut()
            .map_or(SimDuration::ZERO, |s| s.autoscaler.draw_provisioning());
        let ready_at = self.now + provisioning + self.spec.servers[group].boot;
        let timer = self.start_timer(ready_at, Timer::Launched(id), None);
        self.cluster.server_mut(id).lifecycle_timer = Some(timer);
    }

    /// A launched instance is ready: it serves.
    pub(super) fn launched(&mut self, server: ServerId) {
        let launched = self.cluster.server_mut(server);
        launched.lifecycle_timer = None;
        launched.state = ServerState::Ready;
        self.state_changed(
            server,
            Some(ServerState::Booting),
            Some(ServerState::Ready),
            "booted",
        );
        self.serve(server);
        self.hosts_changed("booted");
    }

    /// The `count` instances of `group` a scale-in removes: those crashed and restarting
    /// first, then those still booting (Kubernetes deletes pods that are not ready before
    /// ready ones, and AWS and Kubernetes both prefer instances not yet in service), then
    /// the ready ones; within each stage, in the configured order.
    fn victims(&mut self, group: usize, count: u32) -> Vec<ServerId> {
        let order = self
            .scaling
            .as_ref()
            .map_or(VictimOrder::Newest, |s| s.autoscaler.spec().victim);
        let candidates = self
            .cluster
            .servers()
            .iter()
            .filter(|s| s.group == group && counts_as_capacity(s));
        // Ids grow with launch time, so the newest is the highest id.
        let mut ranked: Vec<(u8, u64, i64, ServerId)> = candidates
            .map(|s| {
                let load = u64::from(s.station.queue_length() + s.station.busy_workers());
                let age = i64::from(s.id.0);
                let (load, age) = match order {
                    VictimOrder::Newest => (0, -age),
                    VictimOrder::Oldest => (0, age),
                    VictimOrder::LeastLoaded => (load, -age),
                };
                let stage = match s.state {
                    ServerState::Down => 0,
                    ServerState::Booting => 1,
                    _ => 2,
                };
                (stage, load, age, s.id)
            })
            .collect();
        ranked.sort_unstable();
        ranked
            .into_iter()
            .take(count as usize)
            .map(|(_, _, _, id)| id)
            .collect()
    }
}

/// Whether `server` counts toward its group's capacity: a member not leaving that is
/// booting, ready, or crashed with its restart pending (its one lifecycle timer).
fn counts_as_capacity(server: &Server) -> bool {
    server.is_member()
        && !server.is_leaving()
        && match server.state {
            ServerState::Booting | ServerState::Ready => true,
            ServerState::Down => server.lifecycle_timer.is_some(),
            ServerState::Draining => false,
        }
}
