//! Client calls, when the scenario has timeouts, retries or circuit breakers
//! ([`Resilience`]): a call's attempts, their timeouts and backoffs, the retry host
//! predicate, and the breakers' changes of state. Every hook here is out of line, so that
//! a run without them keeps the hot path it had.
//!
//! [`Resilience`]: crate::model::resilience::Resilience

use super::World;
use crate::engine::{SimDuration, SimTime};
use crate::id::{RequestKey, ServerId};
use crate::model::client_calls::{CallEnd, Expiry, Kernel};
use crate::model::frontend::Pick;
use crate::model::observer::{Observed, Observer};
use crate::model::outcome::{FailReason, Outcome};
use crate::model::request::{Request, RequestId};
use crate::model::resilience::{BreakerChange, Resilience};

impl<O: Observer> World<'_, O> {
    /// A client's new request is attempt `id`. Kept out of line, like every hook here, so
    /// that a run without client calls keeps the hot path it had.
    #[inline(never)]
    pub(super) fn call_started(
        &mut self,
        id: RequestId,
        key: RequestKey,
        work: SimDuration,
        measured: bool,
        pick: Result<Pick, FailReason>,
    ) {
        let host = pick.ok().map(|p| p.server);
        self.with_calls(|resilience, kernel| {
            resilience.arrived(id, key, work, measured, host, kernel);
        });
    }

    /// Runs `f` on the client calls and breakers with the kernel's clock and timers, if
    /// the scenario has them.
    fn with_calls<T>(
        &mut self,
        f: impl FnOnce(&mut Resilience, &mut Kernel<'_>) -> T,
    ) -> Option<T> {
        let resilience = self.resilience.as_mut()?;
        let mut kernel = Kernel {
            now: self.now,
            timers: &mut self.timers,
            events: &mut self.events,
        };
        Some(f(resilience, &mut kernel))
    }

    /// [`Self::new_attempt`] for a retry of `call`: with the retry host predicate on, its
    /// pick avoids the hosts the call tried (not a session's pinned server: Envoy's
    /// override host, too, is chosen before the predicate's loop). Out of line, like every
    /// hook here.
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

    /// The client's timeout on `call`'s attempt fired: the client gives up on it, though
    /// its server goes on with it, and retries or fails the request.
    #[inline(never)]
    pub(super) fn timed_out(&mut self, call: u32) {
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
        // Left to its server, it is no longer the client's request in flight (hedging,
        // its call, still waiting for it, is: counted as one in backoff).
        let measured = std::mem::replace(&mut request.measured, false);
        let server = request.server;
        if O::ACTIVE
            && !self
                .resilience
                .as_ref()
                .is_some_and(|r| r.hedges_at_timeout(call))
        {
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

    /// `call`'s request timeout fired: an attempt out is given up on as at its own timeout
    /// (and the call, expired, ends with it); a call waiting out a backoff ends now, failed
    /// with `timeout`.
    #[inline(never)]
    pub(super) fn request_timed_out(&mut self, call: u32) {
        match self
            .with_calls(|resilience, kernel| resilience.expire(call, kernel))
            .flatten()
        {
            None => {}
            Some(Expiry::AttemptOut) => self.timed_out(call),
            Some(Expiry::InBackoff {
                key,
                measured,
                previous,
            }) => {
                let outcome = Outcome::Failed(FailReason::Timeout);
                if let (Some(session), Some(sessions)) = (key.session, &mut self.sessions) {
                    sessions.request_over(session);
                }
                self.measurement.ended(measured, outcome, None);
                if O::ACTIVE
                    && let Some(request) = previous
                {
                    self.observe(Observed::Failed {
                        request,
                        reason: FailReason::Timeout,
                    });
                }
                // Its last attempt, if hedged over and out, among them.
                self.attempts_reset();
            }
        }
    }

    /// `call`'s backoff is over: its next attempt goes to the balancer like a new arrival.
    #[inline(never)]
    pub(super) fn retry(&mut self, call: u32) {
        let Some(due) = self.resilience.as_ref().and_then(|r| r.retry_due(call)) else {
            return;
        };
        let (id, pick) = self.new_retry_attempt(&due.key, due.work, due.measured, call);
        if let Some(resilience) = &mut self.resilience {
            resilience.retry_sent(call, id, pick.ok().map(|p| p.server));
        }
        if let (Some(sessions), Some(session)) = (&mut self.sessions, due.key.session) {
            sessions.retried(session);
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
                hedge: due.hedge,
            });
        }
        self.dispatch(id, &due.key, pick, due.measured);
    }

    /// The open time of `server`'s breaker is over.
    #[inline(never)]
    pub(super) fn half_open(&mut self, server: ServerId) {
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

    /// Whether `server`'s circuit breaker lets attempt `id` through; if not, the attempt
    /// fails with `circuit-open`.
    #[inline(never)]
    pub(super) fn breaker_allows(
        &mut self,
        id: RequestId,
        server: ServerId,
        measured: bool,
    ) -> bool {
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

    #[inline(never)]
    pub(super) fn start_timeout(&mut self, id: RequestId) {
        self.with_calls(|resilience, kernel| resilience.sent(id, kernel));
    }

    /// Attempt `id` (at `server`, if it got that far) ended with `outcome`: what its
    /// client does with the call — `None` without client calls. A change of the server's
    /// circuit breaker is logged, and a call that ends is a request of its session over.
    pub(super) fn call_ended(
        &mut self,
        id: RequestId,
        server: Option<ServerId>,
        outcome: Outcome,
    ) -> Option<CallEnd> {
        let session = match (&self.sessions, &self.resilience) {
            (Some(_), Some(resilience)) => resilience.caller(id).and_then(|key| key.session),
            _ => None,
        };
        let (end, change) =
            self.with_calls(|resilience, kernel| resilience.ended(id, server, outcome, kernel))?;
        if let Some(change) = change {
            self.breaker_changed(change);
        }
        if let (Some(session), CallEnd::Final { .. }, Some(sessions)) =
            (session, end, &mut self.sessions)
        {
            sessions.request_over(session);
        }
        if let CallEnd::Final { .. } = end {
            self.attempts_reset();
        }
        Some(end)
    }

    /// A call ended with attempts of its still out (hedging): each is given up on, left
    /// to its server, no longer the client's request in flight.
    fn attempts_reset(&mut self) {
        let Some(resilience) = &self.resilience else {
            return;
        };
        for i in 0..resilience.reset_attempts().len() {
            let Some(&id) = self
                .resilience
                .as_ref()
                .and_then(|r| r.reset_attempts().get(i))
            else {
                break;
            };
            if let Some(request) = self.requests.get_mut(id) {
                request.measured = false;
            }
            if O::ACTIVE {
                self.observe(Observed::Reset { request: id });
            }
        }
    }

    /// Attempt `id` was answered: when its call began, and whether it counts (`None`:
    /// the attempt's own flag) — or `None` if the client had given up on it, when only its
    /// server's worker is freed.
    #[inline(never)]
    pub(super) fn call_answered(
        &mut self,
        id: RequestId,
        request: &Request,
    ) -> Option<(SimTime, Option<bool>)> {
        match self.call_ended(id, Some(request.server), Outcome::Completed)? {
            CallEnd::Abandoned => {
                let elapsed = self.now - request.arrived;
                self.frontend
                    .finished(request.balancer, request.server, elapsed, true);
                self.end_on_server(id, true);
                None
            }
            CallEnd::Final { origin, measured } => {
                Some((origin.unwrap_or(request.arrived), measured))
            }
            CallEnd::Retrying { .. } | CallEnd::Hedging { .. } | CallEnd::Waiting { .. } => {
                unreachable!("an answer ends its call")
            }
        }
    }
}
