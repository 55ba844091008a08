//! The clients' calls: one per request a client makes, across its attempts — the `[client]`
//! section at work.
//!
//! A request (a *call*) is sent as an *attempt*: a [`Request`](super::request::Request) in
//! the world's table, picked by the balancer and served like any other. The call outlives
//! its attempts: when one fails in a way `retry_on` names, the call waits a backoff and
//! sends a new attempt, linked to it, which the balancer picks afresh (Envoy's router
//! retries the same way: each retry is a new upstream request, chosen again by the load
//! balancer). Latency is the call's, from its first arrival to its final outcome.
//!
//! **Timeouts** are per attempt (Envoy's `per_try_timeout`, gRPC's per-attempt deadline):
//! a one-shot timer armed when the attempt reaches its server, cancelled when it ends.
//! When it fires, the client gives up on the attempt — but the server does not know: the
//! attempt stays queued or in service there, and the worker spends its full service time
//! on it, as a real server does for a client that has hung up. How it ends there — a late
//! answer, an error answer, a crash — is dropped uncounted: the timeout was its one result,
//! for the breaker and outlier detection alike (Envoy resets the upstream stream when a
//! per-try timeout fires, so the host's later answer never reaches it). That wasted work
//! is what turns a spike into a retry storm that outlasts it (Bronson et al., "Metastable
//! Failures in Distributed Systems", HotOS 2021).
//!
//! **A request timeout** bounds a call as a whole (Envoy's route `timeout`, 15 s there by
//! default; gRPC's deadline): a one-shot timer armed at its first arrival, cancelled when
//! it ends. When it fires, the call ends with a timeout whatever it is doing: an attempt
//! out is given up on as at a per-attempt timeout (its server goes on with it, and it
//! counts as a timeout for the breaker and outlier detection, as Envoy's
//! `onResponseTimeout` records one for the upstream request it resets), and is not
//! retried; a backoff is cut short and its retry never sent.
//!
//! **Hedging** (`hedge_on_per_try_timeout`, Envoy's `hedge_policy`): a per-try timeout
//! does not give up on the attempt (Envoy's `onSoftPerTryTimeout`). It counts once as a
//! timeout, as without hedging, and the call may retry — its count and the budget allow
//! it, `retry_on` is not asked (`shouldHedgeRetryPerTryTimeout`) — while still waiting
//! for the attempt: the first answer wins, and the attempts still out are reset (given
//! up on, as a timed-out attempt is). An attempt hedged over is never retried itself,
//! and a failure not retried while another attempt is out or a retry due leaves the call
//! going (`onUpstreamReset`). A call keeps its attempts hedged over in a per-slot list,
//! reused as `tried` is: no allocation per call once the slots have grown.
//!
//! **The retry budget** counts what Envoy's `retry_budget` counts: *active requests* are
//! the calls not yet ended (an attempt out, or waiting out a backoff), *active retries*
//! those of them whose current or next attempt is a retry. The budget is checked when a
//! retry is decided, as Envoy checks its retry resource when it schedules one, and a call
//! deciding on a second or later retry first gives back the one it holds (Envoy's
//! `resetRetry`), so that it is not counted against itself.

use super::event::{Event, Timer};
use super::outcome::{FailReason, Outcome};
use super::request::RequestId;
use super::retry_policy::{ClientSpec, PreviousHosts, RetryCondition, RetryDecision, RetryPolicy};
use crate::engine::{EventQueue, SimDuration, SimRng, SimTime, TimerId, Timers};
use crate::id::{RequestKey, ServerId};

/// The kernel services a call needs at one instant: the clock, and timers to arm and
/// cancel.
pub struct Kernel<'a> {
    pub now: SimTime,
    pub timers: &'a mut Timers,
    pub events: &'a mut EventQueue<Event>,
}

impl Kernel<'_> {
    /// Arms a one-shot `timer` firing at `at`.
    pub fn arm(&mut self, at: SimTime, timer: Timer) -> TimerId {
        let id = self.timers.arm(None);
        self.events.schedule(at, Event::Timer(id, timer));
        id
    }
}

/// One request of a client, across its attempts.
#[derive(Copy, Clone, Debug)]
struct Call {
    key: RequestKey,
    work: SimDuration,
    /// When its first attempt arrived: where its latency starts.
    origin: SimTime,
    measured: bool,
    /// Retries sent or scheduled so far.
    retries: u32,
    /// Its attempt out now; `None` while it waits out a backoff.
    attempt: Option<RequestId>,
    /// Its previous attempt, which a retry follows (for the trace view).
    previous: Option<RequestId>,
    /// The timeout armed on its attempt.
    timeout: Option<TimerId>,
    /// The timeout armed on the call as a whole.
    deadline: Option<TimerId>,
    /// The retry armed at the end of its backoff, while it waits one out.
    retry_due: Option<TimerId>,
    /// Its request timeout fired: whatever its attempt meets ends it, unretried.
    expired: bool,
}

/// With hedging on (`hedge_on_per_try_timeout`), the attempts of a call whose per-try
/// timeout fired and that are still out: the call still waits for their answers.
type HedgedOver = Vec<RequestId>;

/// What became of a call when one of its attempts ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum CallEnd {
    /// The attempt had been given up on (its timeout fired before): the answer, or the
    /// failure, reaches nobody and counts for nothing.
    Abandoned,
    /// The call ends with this attempt's outcome; its latency runs from `origin`, its
    /// first arrival, and it counts if `measured` (both `None` for a request no client
    /// tracks: its attempt's own arrival and flag — an attempt hedged over no longer
    /// counts as its call's in flight, and may still end it).
    Final {
        origin: Option<SimTime>,
        measured: Option<bool>,
    },
    /// The call sends another attempt `after` a backoff.
    Retrying { after: SimDuration },
    /// Hedging on, the attempt's per-try timeout fired: the client still waits for its
    /// answer (it stays the call's, out on its server), and sends another attempt `after`
    /// a backoff — `None` when no retry is allowed (none left, or the budget spent), the
    /// call then waiting for the attempts it has out.
    Hedging { after: Option<SimDuration> },
    /// The attempt failed, unretried, while another attempt of its call is out or a
    /// retry is due: the call goes on without it (Envoy's router: "there are other
    /// in-flight requests that might see an upstream response"). `counted` is false for
    /// an attempt hedged over, whose per-try timeout was its one result at its server.
    Waiting { counted: bool },
}

/// What a call's request timeout found when it fired.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Expiry {
    /// An attempt out, which the world gives up on as at its own timeout: the call ends
    /// with it (and any attempt hedged over still out is given up on too).
    AttemptOut,
    /// The call was waiting out a backoff, or (hedging) only for attempts hedged over,
    /// and has ended: its retry is cancelled, the attempts out given up on.
    InBackoff {
        key: RequestKey,
        measured: bool,
        /// Its last attempt.
        previous: Option<RequestId>,
    },
}

/// A retry whose backoff is over: what the world needs to send it.
#[derive(Copy, Clone, Debug)]
pub struct DueRetry {
    pub key: RequestKey,
    pub work: SimDuration,
    pub measured: bool,
    /// The attempt it follows.
    pub previous: Option<RequestId>,
    /// 1 for the first retry.
    pub retry: u32,
    /// Sent while an earlier attempt of its request is still out (hedging).
    pub hedge: bool,
}

/// An attempt and the call it belongs to; `call` is `None` once the client has given up
/// on it. `hedged` once its per-try timeout fired with hedging on: still its call's, but
/// no longer its current attempt, and never retried itself.
#[derive(Copy, Clone, Debug)]
struct Attempt {
    id: RequestId,
    call: Option<u32>,
    hedged: bool,
}

pub struct ClientCalls {
    policy: RetryPolicy,
    rng: SimRng,
    calls: Vec<Option<Call>>,
    free: Vec<u32>,
    /// Per request slot: the attempt there, if a client's.
    attempts: Vec<Option<Attempt>>,
    active: u64,
    active_retries: u64,
    /// Of measured calls: retries sent, and attempts timed out.
    retries_sent: u64,
    timeouts: u64,
    /// Of measured calls: those ended by their request timeout.
    request_timeouts: u64,
    /// Of measured calls: retries sent while an earlier attempt was still out.
    hedges_sent: u64,
    /// `hedge_on_per_try_timeout`.
    hedging: bool,
    /// Per call slot, with hedging on: its attempts hedged over, still out. Cleared, not
    /// freed, as `tried`.
    hedged: Vec<HedgedOver>,
    /// The attempts hedged over that the last call to end left out: given up on.
    reset: Vec<RequestId>,
    /// The retry host predicate, when on.
    previous_hosts: Option<PreviousHosts>,
    /// Per call slot, with the predicate on: the hosts its attempts were sent to (Envoy's
    /// `onHostAttempted`). Cleared, not freed, when the slot is reused: no allocation per
    /// call once the slots have grown.
    tried: Vec<Vec<ServerId>>,
}

impl ClientCalls {
    pub fn new(spec: &ClientSpec, rng: SimRng) -> Self {
        ClientCalls {
            policy: RetryPolicy::new(spec),
            rng,
            calls: Vec::new(),
            free: Vec::new(),
            attempts: Vec::new(),
            active: 0,
            active_retries: 0,
            retries_sent: 0,
            timeouts: 0,
            request_timeouts: 0,
            hedges_sent: 0,
            hedging: spec.hedge_on_per_try_timeout,
            hedged: Vec::new(),
            reset: Vec::new(),
            previous_hosts: spec.previous_hosts,
            tried: Vec::new(),
        }
    }

    /// A client sends a new request, as attempt `id`, which the balancer sent to `host`
    /// (`None` when it found none); its request timeout starts.
    pub fn arrived(
        &mut self,
        id: RequestId,
        key: RequestKey,
        work: SimDuration,
        measured: bool,
        host: Option<ServerId>,
        kernel: &mut Kernel<'_>,
    ) {
        let call = Call {
            key,
            work,
            origin: kernel.now,
            measured,
            retries: 0,
            attempt: None,
            previous: None,
            timeout: None,
            deadline: None,
            retry_due: None,
            expired: false,
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.calls[index as usize] = Some(call);
                index
            }
            None => {
                self.calls.push(Some(call));
                self.calls.len() as u32 - 1
            }
        };
        self.active += 1;
        self.link(index, id);
        if let Some(timeout) = self.policy.request_timeout() {
            let timer = kernel.arm(kernel.now + timeout, Timer::RequestTimeout(index));
            if let Some(call) = &mut self.calls[index as usize] {
                call.deadline = Some(timer);
            }
        }
        if self.hedging && self.hedged.len() <= index as usize {
            self.hedged.resize_with(index as usize + 1, Vec::new);
        }
        if self.previous_hosts.is_some() {
            if self.tried.len() <= index as usize {
                self.tried.resize_with(index as usize + 1, Vec::new);
            }
            self.tried[index as usize].clear();
            self.attempted(index, host);
        }
    }

    /// `call`'s newest attempt went to `host`: one more host for the predicate to avoid.
    fn attempted(&mut self, call: u32, host: Option<ServerId>) {
        if let (Some(host), Some(tried)) = (host, self.tried.get_mut(call as usize)) {
            tried.push(host);
        }
    }

    /// With the retry host predicate on, the hosts `call`'s attempts went to and the
    /// reselections a retry's pick may make to avoid them.
    pub fn previous_hosts(&self, call: u32) -> Option<(&[ServerId], u32)> {
        let predicate = self.previous_hosts?;
        let tried = self.tried.get(call as usize)?;
        Some((tried, predicate.reselections))
    }

    /// Attempt `id` of `call` is created.
    fn link(&mut self, call: u32, id: RequestId) {
        if let Some(c) = &mut self.calls[call as usize] {
            c.attempt = Some(id);
        }
        if self.attempts.len() <= id.slot() {
            self.attempts.resize(id.slot() + 1, None);
        }
        self.attempts[id.slot()] = Some(Attempt {
            id,
            call: Some(call),
            hedged: false,
        });
    }

    /// The call attempt `id` belongs to, if a client's and not given up on.
    fn call_of(&self, id: RequestId) -> Option<u32> {
        self.attempts
            .get(id.slot())
            .copied()
            .flatten()
            .filter(|a| a.id == id)
            .and_then(|a| a.call)
    }

    /// Who sent attempt `id` and in which session, while its call is live.
    pub fn caller(&self, id: RequestId) -> Option<RequestKey> {
        let call = self.call_of(id)?;
        Some(self.calls.get(call as usize).copied().flatten()?.key)
    }

    /// Attempt `id` reached its server: its timeout starts.
    pub fn sent(&mut self, id: RequestId, kernel: &mut Kernel<'_>) {
        let Some(timeout) = self.policy.timeout() else {
            return;
        };
        let Some(index) = self.call_of(id) else {
            return;
        };
        let timer = kernel.arm(kernel.now + timeout, Timer::AttemptTimeout(index));
        if let Some(call) = &mut self.calls[index as usize] {
            call.timeout = Some(timer);
        }
    }

    /// Whether attempt `id` is one its client gave up on (its timeout fired) that still
    /// holds its server — or, hedging, one whose per-try timeout fired and that its call
    /// still waits for: how it ends there is no result for the breaker or outlier
    /// detection, its timeout having been its one result.
    pub fn is_abandoned(&self, id: RequestId) -> bool {
        self.attempts
            .get(id.slot())
            .copied()
            .flatten()
            .is_some_and(|a| a.id == id && (a.call.is_none() || a.hedged))
    }

    /// Whether the timeout of `call`'s attempt, firing now, leaves the attempt out
    /// (hedging on, and not the request's timeout).
    pub fn hedges_at_timeout(&self, call: u32) -> bool {
        self.hedging
            && self
                .calls
                .get(call as usize)
                .copied()
                .flatten()
                .is_some_and(|c| !c.expired)
    }

    /// The attempts hedged over that the call last ended left out, given up on with it.
    pub fn reset_attempts(&self) -> &[RequestId] {
        &self.reset
    }

    /// The attempt out for `call`, whose timeout just fired.
    pub fn timed_out_attempt(&self, call: u32) -> Option<RequestId> {
        self.calls.get(call as usize).copied().flatten()?.attempt
    }

    /// Attempt `id` ended with `outcome` (a failure for [`FailReason::Timeout`] when its
    /// timeout fired, the attempt living on at its server): what becomes of its call.
    pub fn ended(&mut self, id: RequestId, outcome: Outcome, kernel: &mut Kernel<'_>) -> CallEnd {
        let Some(link) = self
            .attempts
            .get_mut(id.slot())
            .filter(|a| a.is_some_and(|a| a.id == id))
        else {
            // Not a client's attempt: the world's own (a health check's probe never
            // comes here), so the call is the attempt.
            return CallEnd::Final {
                origin: None,
                measured: None,
            };
        };
        let timed_out = outcome == Outcome::Failed(FailReason::Timeout);
        let Some(Attempt {
            call: Some(index),
            hedged,
            ..
        }) = *link
        else {
            *link = None;
            return CallEnd::Abandoned;
        };
        if hedged {
            // Its timeout was its one result: an answer that ends its call, too, is not
            // counted again (its link, given up on, says so until the slot is reused).
            *link = if outcome == Outcome::Completed {
                Some(Attempt {
                    id,
                    call: None,
                    hedged: false,
                })
            } else {
                None
            };
            return self.hedged_over_ended(index, id, outcome, kernel);
        }
        let hedge =
            timed_out && self.hedging && !self.calls[index as usize].is_some_and(|c| c.expired);
        if hedge {
            // Envoy's `onSoftPerTryTimeout`: the attempt is not reset, and its call waits
            // for it still.
            *link = Some(Attempt {
                id,
                call: Some(index),
                hedged: true,
            });
            self.hedged[index as usize].push(id);
        } else if timed_out {
            // The attempt stays on its server, given up on.
            *link = Some(Attempt {
                id,
                call: None,
                hedged: false,
            });
        } else {
            *link = None;
        }
        let call = self.calls[index as usize]
            .as_mut()
            .expect("a linked attempt's call is live");
        call.attempt = None;
        call.previous = Some(id);
        if let Some(timer) = call.timeout.take() {
            kernel.timers.cancel(timer);
        }
        if timed_out && call.measured {
            self.timeouts += 1;
        }
        if call.expired {
            // Its request timeout gave up on this attempt: the call ends with it.
            return self.finish(index, kernel);
        }
        let condition = match outcome {
            Outcome::Completed => return self.finish(index, kernel),
            // Envoy's `shouldHedgeRetryPerTryTimeout`: "A hedged retry on per try timeout
            // is always retried if there are retries left", whatever `retry_on` says.
            _ if hedge => None,
            Outcome::Rejected => Some(RetryCondition::Rejected),
            Outcome::Failed(reason) => Some(RetryCondition::of_failure(reason)),
        };
        match self.decide(index, condition, kernel) {
            Some(after) if hedge => CallEnd::Hedging { after: Some(after) },
            Some(after) => CallEnd::Retrying { after },
            None if hedge => CallEnd::Hedging { after: None },
            None if self
                .hedged
                .get(index as usize)
                .is_some_and(|h| !h.is_empty()) =>
            {
                // Envoy's `onUpstreamReset`: "If there are other in-flight requests that
                // might see an upstream response, don't return anything downstream."
                CallEnd::Waiting { counted: true }
            }
            None => self.finish(index, kernel),
        }
    }

    /// Whether `call` retries an attempt that ended for `condition` (`None`: a per-try
    /// timeout with hedging on, retried whatever `retry_on` names), and after how long;
    /// a retry is scheduled.
    fn decide(
        &mut self,
        index: u32,
        condition: Option<RetryCondition>,
        kernel: &mut Kernel<'_>,
    ) -> Option<SimDuration> {
        let call = self.calls[index as usize].expect("a live call");
        // A call already on a retry holds one of the budget's retries; deciding on its
        // next one releases it first, as Envoy's `RetryStateImpl::shouldRetry` calls
        // `resetRetry()` before it asks `retries().canCreate()`: a call is never counted
        // against its own retry.
        let other_retries = self.active_retries - u64::from(call.retries > 0);
        let decision = match condition {
            Some(condition) => self.policy.decide(
                condition,
                call.retries,
                self.active,
                other_retries,
                &mut self.rng,
            ),
            None => {
                self.policy
                    .decide_hedge(call.retries, self.active, other_retries, &mut self.rng)
            }
        };
        match decision {
            RetryDecision::Retry { after } => {
                let call = self.calls[index as usize].as_mut().expect("a live call");
                if call.retries == 0 {
                    self.active_retries += 1;
                }
                call.retries += 1;
                call.retry_due = Some(kernel.arm(kernel.now + after, Timer::RetryDue(index)));
                Some(after)
            }
            RetryDecision::NotRetryable | RetryDecision::Exhausted | RetryDecision::OverBudget => {
                None
            }
        }
    }

    /// Attempt `id` of `call`, hedged over, ended with `outcome`: an answer ends the call,
    /// a failure is never retried (Envoy's `maybeRetryReset` and `onUpstreamHeaders` do
    /// not retry an upstream request already `retried()`) and ends the call only if
    /// nothing else of it is out or due.
    fn hedged_over_ended(
        &mut self,
        index: u32,
        id: RequestId,
        outcome: Outcome,
        kernel: &mut Kernel<'_>,
    ) -> CallEnd {
        let hedged = &mut self.hedged[index as usize];
        if let Some(at) = hedged.iter().position(|&h| h == id) {
            hedged.swap_remove(at);
        }
        let others = !hedged.is_empty();
        let call = self.calls[index as usize].expect("a linked attempt's call is live");
        if outcome == Outcome::Completed
            || !(others || call.attempt.is_some() || call.retry_due.is_some())
        {
            return self.finish(index, kernel);
        }
        CallEnd::Waiting { counted: false }
    }

    /// `call`'s request timeout fired: an attempt out is left to the world to give up on
    /// (the call then ends through [`Self::ended`]); a backoff, or attempts hedged over
    /// alone, end the call now.
    pub fn expire(&mut self, index: u32, kernel: &mut Kernel<'_>) -> Option<Expiry> {
        let call = self.calls.get_mut(index as usize)?.as_mut()?;
        call.deadline = None;
        call.expired = true;
        if call.measured {
            self.request_timeouts += 1;
        }
        if call.attempt.is_some() {
            return Some(Expiry::AttemptOut);
        }
        let expiry = Expiry::InBackoff {
            key: call.key,
            measured: call.measured,
            previous: call.previous,
        };
        if let Some(timer) = call.retry_due.take() {
            kernel.timers.cancel(timer);
        }
        self.finish(index, kernel);
        Some(expiry)
    }

    /// `call` ends: its slot is freed, its request timeout cancelled, and its attempts
    /// hedged over still out are given up on (Envoy's `resetOtherUpstreams`; their
    /// servers go on with them).
    fn finish(&mut self, index: u32, kernel: &mut Kernel<'_>) -> CallEnd {
        let call = self.calls[index as usize].take().expect("a call ends once");
        if let Some(timer) = call.deadline {
            kernel.timers.cancel(timer);
        }
        if self.hedging {
            self.reset.clear();
            if let Some(timer) = call.retry_due {
                kernel.timers.cancel(timer);
            }
            // Its current attempt, still out when an attempt hedged over wins.
            if let Some(id) = call.attempt {
                if let Some(timer) = call.timeout {
                    kernel.timers.cancel(timer);
                }
                self.reset.push(id);
                self.attempts[id.slot()] = Some(Attempt {
                    id,
                    call: None,
                    hedged: false,
                });
            }
            if let Some(hedged) = self.hedged.get_mut(index as usize) {
                for id in hedged.drain(..) {
                    if let Some(link) = self.attempts.get_mut(id.slot()) {
                        *link = Some(Attempt {
                            id,
                            call: None,
                            hedged: false,
                        });
                    }
                    self.reset.push(id);
                }
            }
        }
        self.free.push(index);
        self.active -= 1;
        if call.retries > 0 {
            self.active_retries -= 1;
        }
        CallEnd::Final {
            origin: Some(call.origin),
            measured: Some(call.measured),
        }
    }

    /// `call`'s backoff is over: its retry, which the world sends as attempt
    /// [`ClientCalls::retry_sent`] names.
    pub fn retry_due(&self, call: u32) -> Option<DueRetry> {
        let c = self.calls.get(call as usize).copied().flatten()?;
        Some(DueRetry {
            key: c.key,
            work: c.work,
            measured: c.measured,
            previous: c.previous,
            retry: c.retries,
            hedge: self
                .hedged
                .get(call as usize)
                .is_some_and(|h| !h.is_empty()),
        })
    }

    /// The retry of `call` is sent as attempt `id`, to `host` (`None` when the balancer
    /// found none).
    pub fn retry_sent(&mut self, call: u32, id: RequestId, host: Option<ServerId>) {
        if let Some(c) = &mut self.calls[call as usize] {
            c.retry_due = None;
            if c.measured {
                self.retries_sent += 1;
                if self
                    .hedged
                    .get(call as usize)
                    .is_some_and(|h| !h.is_empty())
                {
                    self.hedges_sent += 1;
                }
            }
        }
        self.link(call, id);
        self.attempted(call, host);
    }

    /// Measured calls waiting out a backoff, or for attempts hedged over alone: in
    /// flight, though no attempt counted as theirs is (an attempt hedged over no longer
    /// counts as its call's in the request table).
    pub fn measured_in_backoff(&self) -> u64 {
        self.calls
            .iter()
            .flatten()
            .filter(|c| c.measured && c.attempt.is_none())
            .count() as u64
    }

    /// Retries sent for measured calls.
    pub fn retries_sent(&self) -> u64 {
        self.retries_sent
    }

    /// Attempts of measured calls that timed out.
    pub fn timeouts(&self) -> u64 {
        self.timeouts
    }

    /// Measured calls that their request timeout ended.
    pub fn request_timeouts(&self) -> u64 {
        self.request_timeouts
    }

    /// Retries of measured calls sent while an earlier attempt was still out (hedges).
    pub fn hedges_sent(&self) -> u64 {
        self.hedges_sent
    }

    /// Calls not yet ended: the requests in flight, whether an attempt of theirs is out,
    /// abandoned on a server, or none is (waiting out a backoff).
    pub fn in_flight(&self) -> u64 {
        self.active
    }

    /// Calls not yet ended, and those of them on a retry.
    #[cfg(test)]
    pub fn active(&self) -> (u64, u64) {
        (self.active, self.active_retries)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::id::ClientAddr;
    use crate::model::request::{RequestTable, testing::request};
    use crate::model::retry_policy::RetryBudget;

    const KEY: RequestKey = RequestKey {
        client: ClientAddr(1),
        session: None,
    };

    struct Harness {
        calls: ClientCalls,
        table: RequestTable,
        timers: Timers,
        events: EventQueue<Event>,
    }

    impl Harness {
        fn new(spec: ClientSpec) -> Self {
            Harness {
                calls: ClientCalls::new(&spec, stream(1, 9, 0)),
                table: RequestTable::default(),
                timers: Timers::default(),
                events: EventQueue::with_capacity(8),
            }
        }

        fn kernel(&mut self, now: SimTime) -> (&mut ClientCalls, Kernel<'_>) {
            (
                &mut self.calls,
                Kernel {
                    now,
                    timers: &mut self.timers,
                    events: &mut self.events,
                },
            )
        }

        fn arrive(&mut self) -> RequestId {
            let id = self.table.insert(request());
            let (calls, mut kernel) = self.kernel(SimTime::ZERO);
            calls.arrived(
                id,
                KEY,
                SimDuration::from_millis(1),
                true,
                None,
                &mut kernel,
            );
            id
        }

        /// The timers due, in order, with whether each still fires.
        fn due_timers(&mut self) -> Vec<(Timer, bool)> {
            std::iter::from_fn(|| self.events.pop())
                .map(|(_, event)| match event {
                    Event::Timer(id, timer) => (timer, self.timers.fire(id).is_some()),
                    other => panic!("only timers are scheduled here, not {other:?}"),
                })
                .collect()
        }

        fn end(&mut self, id: RequestId, outcome: Outcome) -> CallEnd {
            let (calls, mut kernel) = self.kernel(SimTime::ZERO);
            calls.ended(id, outcome, &mut kernel)
        }
    }

    fn spec(retries: u32, budget: Option<RetryBudget>) -> ClientSpec {
        ClientSpec {
            timeout: Some(SimDuration::from_millis(100)),
            request_timeout: None,
            retries,
            retry_budget: budget,
            ..ClientSpec::default()
        }
    }

    #[test]
    fn a_timed_out_attempt_is_abandoned_and_its_late_answer_dropped() {
        let mut h = Harness::new(spec(1, None));
        let id = h.arrive();
        let (calls, mut kernel) = h.kernel(SimTime::ZERO);
        calls.sent(id, &mut kernel);
        let timeout = Outcome::Failed(FailReason::Timeout);
        assert!(matches!(h.end(id, timeout), CallEnd::Retrying { .. }));
        assert_eq!(h.calls.timeouts(), 1);
        // The server answers later: nobody is waiting.
        assert_eq!(h.end(id, Outcome::Completed), CallEnd::Abandoned);
        // A second end of the same attempt is not a client's.
        assert!(matches!(
            h.end(id, Outcome::Completed),
            CallEnd::Final { .. }
        ));
        let retry = h.calls.retry_due(0).expect("a retry is due");
        assert_eq!((retry.retry, retry.previous), (1, Some(id)));
    }

    #[test]
    fn a_call_ends_once_after_its_last_retry() {
        let mut h = Harness::new(spec(2, None));
        let first = h.arrive();
        let rejected = Outcome::Rejected;
        assert!(matches!(h.end(first, rejected), CallEnd::Retrying { .. }));
        assert_eq!(h.calls.measured_in_backoff(), 1);
        let second = h.table.insert(request());
        h.calls.retry_sent(0, second, None);
        assert_eq!(h.calls.measured_in_backoff(), 0);
        assert!(matches!(h.end(second, rejected), CallEnd::Retrying { .. }));
        let third = h.table.insert(request());
        h.calls.retry_sent(0, third, None);
        assert_eq!(h.calls.active(), (1, 1));
        assert_eq!(
            h.end(third, rejected),
            CallEnd::Final {
                origin: Some(SimTime::ZERO),
                measured: Some(true),
            }
        );
        assert_eq!(h.calls.active(), (0, 0));
        assert_eq!(h.calls.retries_sent(), 2);
    }

    #[test]
    fn the_budget_holds_retries_to_its_share_of_active_calls() {
        // 10 active calls, a budget of 20% with no minimum: two may be on a retry.
        let budget = RetryBudget {
            share: crate::model::Fraction::from_millionths(200_000),
            min_concurrency: 0,
        };
        let mut h = Harness::new(spec(3, Some(budget)));
        let ids: Vec<RequestId> = (0..10).map(|_| h.arrive()).collect();
        let ends: Vec<bool> = ids
            .iter()
            .map(|&id| {
                matches!(
                    h.end(id, Outcome::Failed(FailReason::Crash)),
                    CallEnd::Retrying { .. }
                )
            })
            .collect();
        assert_eq!(ends.iter().filter(|&&r| r).count(), 2, "{ends:?}");
        assert!(ends[0] && ends[1]);
    }

    #[test]
    fn a_call_on_a_retry_is_not_counted_against_its_own_next_retry() {
        // A budget of one retry at a time (no share, a minimum of 1), and one call: its
        // first retry takes the one slot, and when that retry fails too the call gives it
        // back before asking for the next (Envoy's `resetRetry`), so it may use all three.
        let budget = RetryBudget {
            share: crate::model::Fraction::ZERO,
            min_concurrency: 1,
        };
        let mut h = Harness::new(spec(3, Some(budget)));
        let mut attempt = h.arrive();
        for _ in 0..3 {
            let end = h.end(attempt, Outcome::Failed(FailReason::Crash));
            assert!(matches!(end, CallEnd::Retrying { .. }), "{end:?}");
            assert_eq!(h.calls.active(), (1, 1));
            attempt = h.table.insert(request());
            h.calls.retry_sent(0, attempt, None);
        }
        assert!(matches!(
            h.end(attempt, Outcome::Failed(FailReason::Crash)),
            CallEnd::Final { .. }
        ));
        // Another call's retry still holds the slot against it.
        let mut h = Harness::new(spec(3, Some(budget)));
        let (first, second) = (h.arrive(), h.arrive());
        let crash = Outcome::Failed(FailReason::Crash);
        assert!(matches!(h.end(first, crash), CallEnd::Retrying { .. }));
        assert!(matches!(h.end(second, crash), CallEnd::Final { .. }));
    }

    #[test]
    fn a_completion_cancels_the_timeout() {
        let mut h = Harness::new(spec(1, None));
        let id = h.arrive();
        let (calls, mut kernel) = h.kernel(SimTime::ZERO);
        calls.sent(id, &mut kernel);
        assert_eq!(
            h.end(id, Outcome::Completed),
            CallEnd::Final {
                origin: Some(SimTime::ZERO),
                measured: Some(true),
            }
        );
        let (_, Event::Timer(timer, Timer::AttemptTimeout(0))) =
            h.events.pop().expect("the timeout event")
        else {
            panic!("a timeout event")
        };
        assert_eq!(h.timers.fire(timer), None, "cancelled");
    }

    fn with_request_timeout(request_timeout: SimDuration) -> ClientSpec {
        ClientSpec {
            request_timeout: Some(request_timeout),
            // Retries left, and `timeout` retryable: only the request timeout stops them.
            ..spec(3, None)
        }
    }

    impl Harness {
        /// Pops the next event, a timer, and fires it: it must still be armed.
        fn fire_next(&mut self) -> Timer {
            let (_, Event::Timer(id, timer)) = self.events.pop().expect("an event") else {
                panic!("only timers are scheduled here")
            };
            assert!(self.timers.fire(id).is_some(), "{timer:?} was cancelled");
            timer
        }
    }

    #[test]
    fn a_request_timeout_ends_the_call_with_its_attempt_unretried() {
        // 50 ms for the request, 100 ms for its attempt: the request's fires first.
        let mut h = Harness::new(with_request_timeout(SimDuration::from_millis(50)));
        let id = h.arrive();
        let (calls, mut kernel) = h.kernel(SimTime::ZERO);
        calls.sent(id, &mut kernel);
        assert_eq!(h.fire_next(), Timer::RequestTimeout(0));
        let (calls, mut kernel) = h.kernel(SimTime::from_nanos(50_000_000));
        assert_eq!(calls.expire(0, &mut kernel), Some(Expiry::AttemptOut));
        // The world gives the attempt up, as at its own timeout: the call ends with it.
        assert_eq!(
            h.end(id, Outcome::Failed(FailReason::Timeout)),
            CallEnd::Final {
                origin: Some(SimTime::ZERO),
                measured: Some(true),
            }
        );
        assert_eq!(h.calls.active(), (0, 0));
        // The attempt counts as timed out too: a timeout gave it up.
        assert_eq!((h.calls.request_timeouts(), h.calls.timeouts()), (1, 1));
        // Its server answers later: nobody is waiting.
        assert_eq!(h.end(id, Outcome::Completed), CallEnd::Abandoned);
        // The attempt's own timeout was cancelled when the call ended.
        assert_eq!(h.due_timers(), vec![(Timer::AttemptTimeout(0), false)]);
    }

    #[test]
    fn a_request_timeout_in_a_backoff_cancels_the_retry() {
        // A 1 ns request timeout, and a backoff drawn from [0, 25 ms]: the request's
        // timeout fires during it (a draw of 0 ns would be a 1 in 25 million chance).
        let mut h = Harness::new(with_request_timeout(SimDuration::from_nanos(1)));
        let id = h.arrive();
        assert!(matches!(
            h.end(id, Outcome::Rejected),
            CallEnd::Retrying { .. }
        ));
        assert_eq!(h.fire_next(), Timer::RequestTimeout(0));
        let (calls, mut kernel) = h.kernel(SimTime::from_nanos(1));
        assert_eq!(
            calls.expire(0, &mut kernel),
            Some(Expiry::InBackoff {
                key: KEY,
                measured: true,
                previous: Some(id),
            })
        );
        assert_eq!(
            (h.calls.active(), h.calls.measured_in_backoff()),
            ((0, 0), 0)
        );
        assert!(h.calls.retry_due(0).is_none(), "the call is over");
        assert_eq!(h.due_timers(), vec![(Timer::RetryDue(0), false)]);
        // Fired again, it finds no call.
        let (calls, mut kernel) = h.kernel(SimTime::from_nanos(1));
        assert_eq!(calls.expire(0, &mut kernel), None);
        assert_eq!(h.calls.request_timeouts(), 1);
    }

    #[test]
    fn a_call_that_ends_in_time_cancels_its_request_timeout() {
        let mut h = Harness::new(with_request_timeout(SimDuration::from_millis(50)));
        let id = h.arrive();
        assert!(matches!(
            h.end(id, Outcome::Completed),
            CallEnd::Final { .. }
        ));
        assert_eq!(h.due_timers(), vec![(Timer::RequestTimeout(0), false)]);
        assert_eq!(h.calls.request_timeouts(), 0);
    }

    fn hedging(retries: u32, budget: Option<RetryBudget>) -> ClientSpec {
        ClientSpec {
            hedge_on_per_try_timeout: true,
            ..spec(retries, budget)
        }
    }

    impl Harness {
        /// Attempt `id` reached its server: its timeout starts.
        fn send(&mut self, id: RequestId) {
            let (calls, mut kernel) = self.kernel(SimTime::ZERO);
            calls.sent(id, &mut kernel);
        }

        /// The retry due for call 0 is sent, as a new attempt.
        fn send_retry(&mut self) -> RequestId {
            let id = self.table.insert(request());
            self.calls.retry_sent(0, id, None);
            self.send(id);
            id
        }
    }

    const TIMEOUT: Outcome = Outcome::Failed(FailReason::Timeout);

    #[test]
    fn a_hedge_answering_first_ends_the_call_and_the_first_attempt_is_abandoned() {
        let mut h = Harness::new(hedging(1, None));
        let first = h.arrive();
        h.send(first);
        let CallEnd::Hedging { after: Some(_) } = h.end(first, TIMEOUT) else {
            panic!("a hedge is scheduled")
        };
        // Still its call's: counted once as a timeout, and not given up on.
        assert_eq!(h.calls.timeouts(), 1);
        assert!(
            h.calls.is_abandoned(first),
            "its timeout was its one result"
        );
        assert_eq!(h.calls.caller(first), Some(KEY));
        let due = h.calls.retry_due(0).expect("a hedge is due");
        assert_eq!((due.retry, due.previous, due.hedge), (1, Some(first), true));
        let hedge = h.send_retry();
        assert_eq!((h.calls.retries_sent(), h.calls.hedges_sent()), (1, 1));
        // Two attempts out, none waiting: the call is in flight once, not in backoff.
        assert_eq!((h.calls.in_flight(), h.calls.measured_in_backoff()), (1, 0));
        assert_eq!(
            h.end(hedge, Outcome::Completed),
            CallEnd::Final {
                origin: Some(SimTime::ZERO),
                measured: Some(true),
            }
        );
        // The first attempt, still out, is reset with the call.
        assert_eq!(h.calls.reset_attempts(), &[first]);
        assert_eq!(h.calls.active(), (0, 0));
        assert_eq!(h.end(first, Outcome::Completed), CallEnd::Abandoned);
    }

    #[test]
    fn the_first_attempt_answering_before_its_hedge_wins_and_the_hedge_is_abandoned() {
        let mut h = Harness::new(hedging(1, None));
        let first = h.arrive();
        h.send(first);
        assert!(matches!(h.end(first, TIMEOUT), CallEnd::Hedging { .. }));
        let hedge = h.send_retry();
        assert_eq!(
            h.end(first, Outcome::Completed),
            CallEnd::Final {
                origin: Some(SimTime::ZERO),
                measured: Some(true),
            }
        );
        assert_eq!(h.calls.reset_attempts(), &[hedge]);
        // The winner's answer counted nothing more: its timeout was its one result.
        assert!(h.calls.is_abandoned(first));
        // The hedge, given up on, answers into the void; its timeout was cancelled.
        assert_eq!(h.end(hedge, Outcome::Completed), CallEnd::Abandoned);
        assert!(h.calls.is_abandoned(hedge) || h.calls.caller(hedge).is_none());
        let timers = h.due_timers();
        assert!(
            timers.contains(&(Timer::AttemptTimeout(0), false)),
            "{timers:?}"
        );
    }

    #[test]
    fn the_first_attempt_answering_during_the_backoff_cancels_the_hedge() {
        let mut h = Harness::new(hedging(1, None));
        let first = h.arrive();
        h.send(first);
        assert!(matches!(h.end(first, TIMEOUT), CallEnd::Hedging { .. }));
        // In flight, with no attempt of its own counted: waiting out the backoff.
        assert_eq!(h.calls.measured_in_backoff(), 1);
        assert!(matches!(
            h.end(first, Outcome::Completed),
            CallEnd::Final { .. }
        ));
        assert!(h.calls.reset_attempts().is_empty());
        let timers = h.due_timers();
        assert!(timers.contains(&(Timer::RetryDue(0), false)), "{timers:?}");
        assert_eq!(h.calls.retries_sent(), 0);
    }

    #[test]
    fn a_failure_while_another_attempt_is_out_does_not_end_the_call() {
        // The hedge fails, and may be retried (it had not timed out): the first attempt
        // is still out meanwhile.
        let mut h = Harness::new(hedging(2, None));
        let first = h.arrive();
        h.send(first);
        assert!(matches!(h.end(first, TIMEOUT), CallEnd::Hedging { .. }));
        let hedge = h.send_retry();
        let crash = Outcome::Failed(FailReason::Crash);
        assert!(matches!(h.end(hedge, crash), CallEnd::Retrying { .. }));
        // The first attempt fails too: hedged over, it is never retried itself, and the
        // retry due keeps the call going.
        assert_eq!(h.end(first, crash), CallEnd::Waiting { counted: false });
        assert_eq!(h.calls.active(), (1, 1));
        let third = h.send_retry();
        let due = h.calls.retries_sent();
        assert_eq!((due, h.calls.hedges_sent()), (2, 1), "the third went alone");
        assert!(matches!(h.end(third, crash), CallEnd::Final { .. }));

        // Retries spent: the hedge's failure waits for the first attempt, whose own
        // failure then ends the call.
        let mut h = Harness::new(hedging(1, None));
        let first = h.arrive();
        h.send(first);
        assert!(matches!(h.end(first, TIMEOUT), CallEnd::Hedging { .. }));
        let hedge = h.send_retry();
        assert_eq!(h.end(hedge, crash), CallEnd::Waiting { counted: true });
        assert_eq!(h.calls.active(), (1, 1));
        assert_eq!(
            h.end(first, crash),
            CallEnd::Final {
                origin: Some(SimTime::ZERO),
                measured: Some(true),
            }
        );
        assert_eq!(h.calls.active(), (0, 0));
    }

    #[test]
    fn hedges_count_as_retries_against_the_count_and_the_budget() {
        // One retry: the first timeout hedges, the hedge's own timeout cannot, and the
        // call waits for both.
        let mut h = Harness::new(hedging(1, None));
        let first = h.arrive();
        h.send(first);
        assert!(matches!(
            h.end(first, TIMEOUT),
            CallEnd::Hedging { after: Some(_) }
        ));
        let hedge = h.send_retry();
        assert_eq!(h.end(hedge, TIMEOUT), CallEnd::Hedging { after: None });
        assert_eq!(h.calls.timeouts(), 2);
        assert_eq!(h.calls.active(), (1, 1));
        assert!(matches!(
            h.end(hedge, Outcome::Completed),
            CallEnd::Final { .. }
        ));
        assert_eq!(h.calls.reset_attempts(), &[first]);

        // A budget of one retry at a time: a second call's timeout finds it held by the
        // first call's hedge, and waits for its attempt without one.
        let budget = RetryBudget {
            share: crate::model::Fraction::ZERO,
            min_concurrency: 1,
        };
        let mut h = Harness::new(hedging(3, Some(budget)));
        let (a, b) = (h.arrive(), h.arrive());
        h.send(a);
        h.send(b);
        assert!(matches!(
            h.end(a, TIMEOUT),
            CallEnd::Hedging { after: Some(_) }
        ));
        assert_eq!(h.end(b, TIMEOUT), CallEnd::Hedging { after: None });
        assert_eq!(h.calls.active(), (2, 1));
        // `retry_on` does not filter a hedge (Envoy's `shouldHedgeRetryPerTryTimeout`).
        let mut h = Harness::new(ClientSpec {
            retry_on: crate::model::RetryOn::NONE,
            ..hedging(1, None)
        });
        let first = h.arrive();
        h.send(first);
        assert!(matches!(
            h.end(first, TIMEOUT),
            CallEnd::Hedging { after: Some(_) }
        ));
    }

    #[test]
    fn a_request_timeout_gives_up_on_every_attempt_out() {
        let mut h = Harness::new(ClientSpec {
            request_timeout: Some(SimDuration::from_millis(500)),
            ..hedging(1, None)
        });
        let first = h.arrive();
        h.send(first);
        assert!(matches!(h.end(first, TIMEOUT), CallEnd::Hedging { .. }));
        let hedge = h.send_retry();
        let (calls, mut kernel) = h.kernel(SimTime::from_nanos(500_000_000));
        assert_eq!(calls.expire(0, &mut kernel), Some(Expiry::AttemptOut));
        // Not a hedge now: the world gives the hedge up, and the call ends with it.
        assert!(!h.calls.hedges_at_timeout(0));
        assert!(matches!(h.end(hedge, TIMEOUT), CallEnd::Final { .. }));
        assert_eq!(h.calls.reset_attempts(), &[first]);
        assert_eq!(h.end(first, Outcome::Completed), CallEnd::Abandoned);
        assert_eq!(h.calls.request_timeouts(), 1);

        // Only an attempt hedged over out (no retry left): the call ends at once.
        let mut h = Harness::new(ClientSpec {
            request_timeout: Some(SimDuration::from_millis(500)),
            ..hedging(0, None)
        });
        let first = h.arrive();
        h.send(first);
        assert_eq!(h.end(first, TIMEOUT), CallEnd::Hedging { after: None });
        let (calls, mut kernel) = h.kernel(SimTime::from_nanos(500_000_000));
        assert!(matches!(
            calls.expire(0, &mut kernel),
            Some(Expiry::InBackoff { .. })
        ));
        assert_eq!(h.calls.reset_attempts(), &[first]);
        assert_eq!(h.end(first, Outcome::Completed), CallEnd::Abandoned);
    }

    #[test]
    fn without_hedging_a_timeout_still_gives_the_attempt_up() {
        let mut h = Harness::new(spec(1, None));
        let first = h.arrive();
        h.send(first);
        assert!(!h.calls.hedges_at_timeout(0));
        assert!(matches!(h.end(first, TIMEOUT), CallEnd::Retrying { .. }));
        let retry = h.send_retry();
        assert!(!h.calls.retry_due(0).is_some_and(|d| d.hedge));
        assert!(matches!(
            h.end(retry, Outcome::Completed),
            CallEnd::Final { .. }
        ));
        assert_eq!(h.calls.hedges_sent(), 0);
        assert!(h.calls.reset_attempts().is_empty());
    }
}
