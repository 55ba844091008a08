//! Whom the balancers trust: active health checks (a probe queued behind real work),
//! outlier detection's ejections, and the rotation and panic mode that follow from both.

use super::World;
use crate::id::ServerId;
use crate::model::event::Timer;
use crate::model::health_check::HealthTransition;
use crate::model::observer::{Observed, Observer};
use crate::model::outlier_detector::Ejection;
use crate::model::panic_mode::in_panic;
use crate::model::request::{Request, RequestId};
use crate::model::server::{OutstandingCheck, ServerState};
use crate::model::station::Admission;
use crate::stats::Figure;

impl<O: Observer> World<'_, O> {
    /// A health check of `server` is due: a probe is sent, queued behind its real work,
    /// and answered or timed out.
    pub(super) fn check(&mut self, server: ServerId) {
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
    pub(super) fn probe_answered(&mut self, id: RequestId, server: ServerId) {
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
    pub(super) fn check_result(&mut self, server: ServerId, passed: bool) {
        let Some(health) = &mut self.health else {
            return;
        };
        let transition = health.on_result(server, passed);
        let healthy = health.is_healthy(server);
        let delay = health.next_delay(&mut self.health_rng);
        if self.cluster.server(server).is_member() {
            self.start_timer(self.now + delay, Timer::Check(server), None);
        }
        let unejected = passed && healthy && self.unejected_by_check(server);
        let Some(transition) = transition else {
            if unejected {
                self.update_rotation("health-check");
            }
            return;
        };
        let (from, to) = match transition {
            HealthTransition::BecameUnhealthy => ("healthy", "unhealthy"),
            HealthTransition::BecameHealthy => ("unhealthy", "healthy"),
        };
        if transition == HealthTransition::BecameHealthy
            && let Some(slow_starts) = &mut self.slow_starts
        {
            slow_starts.ramp_from(server, self.now);
        }
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

    /// A check of `server` passed, leaving it healthy: Envoy's outlier detector ends its
    /// ejection then (`successful_active_health_check_uneject_host`), a row of events.csv
    /// whose reason is the check. Whether it was ejected; the caller updates the rotation.
    fn unejected_by_check(&mut self, server: ServerId) -> bool {
        let now = self.now;
        if !self
            .outliers
            .as_mut()
            .is_some_and(|outliers| outliers.passed_health_check(server, now))
        {
            return false;
        }
        let back = self.cluster.server(server);
        self.measurement
            .rotation_changed(now, back, "ejected", "healthy", "health-check");
        true
    }

    /// A request to `server` got an answer (`ok`) or an error: outlier detection's input.
    pub(super) fn answered(&mut self, server: ServerId, ok: bool) {
        let Some(outliers) = &mut self.outliers else {
            return;
        };
        if let Some(ejection) = outliers.on_response(server, self.now, ok) {
            self.ejected(server, ejection);
        }
    }

    /// Attempt `id` ended at `server` with an answer (`ok`) or an error: outlier
    /// detection's input — unless its client had already given up on it, when its timeout
    /// was its one result (Envoy resets the stream when a per-try timeout fires, so what
    /// the host does with the request after that reaches no detector). For the ends that
    /// may follow a timeout: an error answer, a crash, a removal, a drain deadline.
    pub(super) fn attempt_answered(&mut self, id: RequestId, server: ServerId, ok: bool) {
        let given_up = || self.resilience.as_ref().is_some_and(|r| r.is_abandoned(id));
        if self.outliers.is_some() && !given_up() {
            self.answered(server, ok);
        }
    }

    /// Outlier detection ejected `server` until `ejection.until`: a row of events.csv
    /// whose reason says which detector (`outlier-success-rate` for the success rate,
    /// `outlier-ejection` for the others), as does a panic row it starts.
    pub(super) fn ejected(&mut self, server: ServerId, ejection: Ejection) {
        self.start_timer(ejection.until, Timer::Uneject(server), None);
        let out = self.cluster.server(server);
        let reason = ejection.cause.reason();
        self.measurement
            .rotation_changed(self.now, out, "healthy", "ejected", reason);
        if let Some(crashed) = out.crashed {
            self.measurement.detected(self.now - crashed);
        }
        self.update_rotation(reason);
    }

    /// Puts in rotation exactly the servers the balancers know and trust — or, in panic
    /// (too few of the hosts healthy), every known host but those draining. `cause` is what
    /// changed a server's health (`health-check`, `outlier-ejection` or
    /// `outlier-success-rate`): the reason of a panic row it starts or ends.
    pub(super) fn update_rotation(&mut self, cause: &'static str) {
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
    pub(super) fn hosts_changed(&mut self, reason: &'static str) {
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
}
