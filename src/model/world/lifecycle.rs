//! A server's life in the cluster: its failure process, crashes, restarts and boots,
//! draining, and going down for good; each change of state is a row of events.csv.

use super::World;
use crate::engine::{SimDuration, SimTime, exponential, stream};
use crate::id::ServerId;
use crate::model::database;
use crate::model::event::Timer;
use crate::model::observer::{Observed, Observer};
use crate::model::outcome::{FailReason, Outcome};
use crate::model::server::ServerState;
use crate::model::spec::FailureProcess;
use crate::model::streams;

impl<O: Observer> World<'_, O> {
    /// Gives a new server its group's error share and its resource readings, and tells
    /// the components that keep a record of every server (outlier detection, circuit
    /// breakers) of it: the one place both the starting cluster and a newcomer pass.
    pub(super) fn equip(&mut self, id: ServerId) {
        let group = &self.spec.servers[self.cluster.server(id).group];
        if let Some(gray) = &mut self.gray {
            gray.set(id, group.error_fraction);
        }
        if let Some(resources) = &mut self.resources {
            resources.add_server(id, self.now);
        }
        if let Some(outliers) = &mut self.outliers {
            outliers.add_server(id);
        }
        if let Some(resilience) = &mut self.resilience {
            resilience.add_server(id);
        }
    }

    pub(super) fn failure_process(&self, server: ServerId) -> Option<FailureProcess> {
        self.spec.servers[self.cluster.server(server).group].failures
    }

    /// An exponential draw with `mean` from `server`'s failure stream.
    pub(super) fn draw_exponential(&mut self, server: ServerId, mean: SimDuration) -> SimDuration {
        let rng = self.failure_rngs[server.index()]
            .as_mut()
            .expect("a server with a failure process has its stream");
        SimDuration::from_secs_f64(exponential(rng, mean.as_secs_f64()))
    }

    /// Schedules `server`'s next crash, if its group has a failure process.
    pub(super) fn start_failure_process(&mut self, server: ServerId) {
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
    pub(super) fn crash(&mut self, server: ServerId, downtime: Option<SimDuration>) {
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
    pub(super) fn restart(&mut self, server: ServerId) {
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
    pub(super) fn booted(&mut self, server: ServerId) {
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
    pub(super) fn recovery_ended(&mut self, server: ServerId) {
        let back = self.cluster.server_mut(server);
        if let Some(recovered) = back.recovered.take() {
            self.measurement
                .back_in_rotation(self.now, back, self.now - recovered);
        }
    }

    /// `server`, out of rotation (or soon to be, once discovery tells the balancers),
    /// finishes what it holds (and serves the sessions affinity keeps pinned to it:
    /// [`Self::kept_for_sessions`]), then goes down — by `deadline` at the latest, the end
    /// of its deregistration delay, whose one-shot timer fails what is left (AWS ALB's
    /// `deregistration_delay`, Kubernetes' termination grace period).
    pub(super) fn start_draining(
        &mut self,
        server: ServerId,
        reason: &'static str,
        deadline: SimTime,
    ) {
        let from = self.cluster.server(server).state;
        self.cluster.server_mut(server).state = ServerState::Draining;
        self.state_changed(server, Some(from), Some(ServerState::Draining), reason);
        if self.cluster.server(server).station.is_idle() && !self.kept_for_sessions(server) {
            self.go_down(server, "drained");
            return;
        }
        let deadline = self.start_timer(deadline, Timer::DrainDeadline(server), None);
        self.cluster.server_mut(server).departure_timer = Some(deadline);
    }

    /// `server` goes down at once: every request it holds fails.
    pub(super) fn remove_abruptly(&mut self, server: ServerId) {
        self.fail_everything_on(server, FailReason::ServerRemoved);
        self.cluster.server_mut(server).leaving = Some("server-removed");
        self.leave_balancers(server);
        self.go_down(server, "server-removed");
    }

    /// Every request `server` holds, in service or queued, fails for `reason`.
    pub(super) fn fail_everything_on(&mut self, server: ServerId, reason: FailReason) {
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
            self.attempt_answered(id, server, false);
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
    pub(super) fn go_down(&mut self, server: ServerId, reason: &'static str) {
        let from = self.cluster.server(server).state;
        self.leave_cluster(server);
        self.state_changed(server, Some(from), Some(ServerState::Down), reason);
    }

    /// `server` is down and out of the cluster: its timers cancelled, the components that
    /// watch servers told.
    pub(super) fn leave_cluster(&mut self, server: ServerId) {
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

    pub(super) fn state_changed(
        &mut self,
        server: ServerId,
        from: Option<ServerState>,
        to: Option<ServerState>,
        reason: &'static str,
    ) {
        if to == Some(ServerState::Ready)
            && let Some(scaling) = &mut self.scaling
        {
            scaling.became_ready(server, self.now);
        }
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
}
