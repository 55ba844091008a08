//! Client resilience in a run: the clients' calls (timeouts, retries, the retry budget)
//! and the circuit breakers per backend, behind the few hooks the world calls.
//!
//! The world builds one only for a scenario with `[client]` or `[circuit_breaker]`; without
//! them it holds `None`, and each hook costs one test of that `Option`.
//!
//! **Breakers** sit where the balancer sends an attempt, one per backend. A breaker that
//! refuses (open, half-open with its probes out, or the backend's queue at `max_pending`)
//! fails the attempt at once with `circuit-open` rather than picking another backend:
//! Envoy answers an overflowing circuit breaker with an immediate 503
//! (`x-envoy-overloaded`), and Hystrix short-circuits to the caller. A client may retry it
//! (`retry_on = ["circuit-open"]`), and the balancer then picks afresh. The pending limit
//! is counted per backend, as HAProxy's `maxqueue` is, with Envoy's overflow behaviour (a
//! fast failure, where HAProxy would redispatch). Each attempt's result feeds its
//! backend's breaker as its caller sees it: an answer is a success, any other end there a
//! failure — a crash, a refused connection, a rejection, a timeout (Hystrix counts timeouts
//! as failures), an error answer, a refusal for memory; whatever a timed-out attempt meets
//! later at its server (a late answer, an error answer, a crash) is not counted again.

use super::circuit_breaker::{BreakerState, BreakerTransition, CircuitBreakers};
use super::client_calls::{CallEnd, ClientCalls, DueRetry, Expiry, Kernel};
use super::event::Timer;
use super::outcome::Outcome;
use super::request::RequestId;
use super::spec::RunSpec;
use super::streams;
use crate::engine::{SimDuration, SimTime, stream};
use crate::id::{RequestKey, ServerId};
use crate::stats::Figure;

/// A breaker changed state: a row of events.csv.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BreakerChange {
    pub server: ServerId,
    pub from: BreakerState,
    pub to: BreakerState,
}

pub struct Resilience {
    calls: Option<ClientCalls>,
    breakers: Option<CircuitBreakers>,
}

impl Resilience {
    /// The resilience of `spec`'s clients and balancer, or `None` if it has none.
    pub fn new(spec: &RunSpec, seed: u64) -> Option<Self> {
        if spec.client.is_none() && spec.circuit_breaker.is_none() {
            return None;
        }
        Some(Resilience {
            calls: spec
                .client
                .as_ref()
                .map(|c| ClientCalls::new(c, stream(seed, streams::RETRY_BACKOFF, 0))),
            breakers: spec.circuit_breaker.as_ref().map(CircuitBreakers::new),
        })
    }

    /// Backend `server` joins, its breaker closed.
    pub fn add_server(&mut self, server: ServerId) {
        if let Some(breakers) = &mut self.breakers {
            breakers.add_server(server);
        }
    }

    /// Backend `server` leaves for good.
    pub fn remove_server(&mut self, server: ServerId) {
        if let Some(breakers) = &mut self.breakers {
            breakers.remove_server(server);
        }
    }

    /// A client sends a new request as attempt `id`, which the balancer sent to `host`.
    pub fn arrived(
        &mut self,
        id: RequestId,
        key: RequestKey,
        work: SimDuration,
        measured: bool,
        host: Option<ServerId>,
        kernel: &mut Kernel<'_>,
    ) {
        if let Some(calls) = &mut self.calls {
            calls.arrived(id, key, work, measured, host, kernel);
        }
    }

    pub fn expire(&mut self, call: u32, kernel: &mut Kernel<'_>) -> Option<Expiry> {
        self.calls.as_mut()?.expire(call, kernel)
    }

    /// Who sent attempt `id` and in which session, while its call is live.
    pub fn caller(&self, id: RequestId) -> Option<RequestKey> {
        self.calls.as_ref()?.caller(id)
    }

    /// Whether `server`'s breaker lets an attempt through, with `queued` waiting there.
    pub fn allows(&mut self, server: ServerId, queued: u32) -> bool {
        self.breakers
            .as_mut()
            .is_none_or(|breakers| breakers.allow(server, queued))
    }

    /// Attempt `id` reached its server: its timeout starts.
    pub fn sent(&mut self, id: RequestId, kernel: &mut Kernel<'_>) {
        if let Some(calls) = &mut self.calls {
            calls.sent(id, kernel);
        }
    }

    /// Attempt `id`, sent to `server` if it got that far, ended with `outcome`: what
    /// becomes of its call, and the change of `server`'s breaker it caused.
    pub fn ended(
        &mut self,
        id: RequestId,
        server: Option<ServerId>,
        outcome: Outcome,
        kernel: &mut Kernel<'_>,
    ) -> (CallEnd, Option<BreakerChange>) {
        // An attempt hedged over had its per-try timeout counted: how it ends is not
        // counted again, even when it answers its call.
        let counted = self.breakers.is_some()
            && self
                .calls
                .as_ref()
                .is_some_and(|calls| calls.is_abandoned(id));
        let end = match &mut self.calls {
            Some(calls) => calls.ended(id, outcome, kernel),
            None => CallEnd::Final {
                origin: None,
                measured: None,
            },
        };
        let change = match (end, server, &mut self.breakers) {
            (CallEnd::Abandoned, _, _) | (_, None, _) | (_, _, None) => None,
            _ if counted => None,
            (_, Some(server), Some(breakers)) => {
                let from = breakers.state(server);
                let ok = outcome == Outcome::Completed;
                breakers
                    .on_result(server, kernel.now, ok)
                    .map(|transition| Self::transitioned(server, from, transition, kernel))
            }
        };
        (end, change)
    }

    fn transitioned(
        server: ServerId,
        from: BreakerState,
        transition: BreakerTransition,
        kernel: &mut Kernel<'_>,
    ) -> BreakerChange {
        if let BreakerTransition::Opened { until } = transition {
            kernel.arm(until, Timer::HalfOpen(server));
        }
        BreakerChange {
            server,
            from,
            to: transition.to(),
        }
    }

    /// The open time of `server`'s breaker is over: it half-opens, unless it left.
    pub fn half_open(&mut self, server: ServerId, now: SimTime) -> Option<BreakerChange> {
        let breakers = self.breakers.as_mut()?;
        breakers
            .half_open(server, now)
            .map(|transition| BreakerChange {
                server,
                from: BreakerState::Open,
                to: transition.to(),
            })
    }

    /// Whether the client gave up on attempt `id` (see [`ClientCalls::is_abandoned`]).
    pub fn is_abandoned(&self, id: RequestId) -> bool {
        self.calls
            .as_ref()
            .is_some_and(|calls| calls.is_abandoned(id))
    }

    /// Whether the timeout of `call`'s attempt, firing now, leaves it out (hedging).
    pub fn hedges_at_timeout(&self, call: u32) -> bool {
        self.calls
            .as_ref()
            .is_some_and(|calls| calls.hedges_at_timeout(call))
    }

    /// The attempts the call that last ended left out, given up on with it (hedging).
    pub fn reset_attempts(&self) -> &[RequestId] {
        self.calls.as_ref().map_or(&[], ClientCalls::reset_attempts)
    }

    /// The attempt out for `call`, whose timeout fired.
    pub fn timed_out_attempt(&self, call: u32) -> Option<RequestId> {
        self.calls.as_ref()?.timed_out_attempt(call)
    }

    /// `call`'s backoff is over: what to send.
    pub fn retry_due(&self, call: u32) -> Option<DueRetry> {
        self.calls.as_ref()?.retry_due(call)
    }

    /// `call`'s retry was sent as attempt `id`, to `host`.
    pub fn retry_sent(&mut self, call: u32, id: RequestId, host: Option<ServerId>) {
        if let Some(calls) = &mut self.calls {
            calls.retry_sent(call, id, host);
        }
    }

    /// With the retry host predicate on, the hosts `call`'s attempts went to and the
    /// reselections its retry may make to avoid them.
    pub fn previous_hosts(&self, call: u32) -> Option<(&[ServerId], u32)> {
        self.calls.as_ref()?.previous_hosts(call)
    }

    /// Measured calls in flight without an attempt (waiting out a backoff).
    pub fn measured_in_backoff(&self) -> u64 {
        self.calls
            .as_ref()
            .map_or(0, ClientCalls::measured_in_backoff)
    }

    /// Requests in flight when the clients make calls of several attempts; `None` when each
    /// request is one attempt (no `[client]`), which the request table counts.
    pub fn calls_in_flight(&self) -> Option<u64> {
        self.calls.as_ref().map(ClientCalls::in_flight)
    }

    /// The counts of a run's summary, `(figure, value)`.
    pub fn figures(&self) -> [(Figure, u64); 4] {
        let calls = self.calls.as_ref();
        [
            (Figure::Retries, calls.map_or(0, ClientCalls::retries_sent)),
            (Figure::Timeouts, calls.map_or(0, ClientCalls::timeouts)),
            (
                Figure::RequestTimeouts,
                calls.map_or(0, ClientCalls::request_timeouts),
            ),
            (Figure::Hedges, calls.map_or(0, ClientCalls::hedges_sent)),
        ]
    }
}
