//! The observer: an optional sink the engine reports every event to, for the trace view
//! and for debugging a scenario.
//!
//! The world is generic over its observer. [`Unobserved`] declares `ACTIVE = false`, and
//! every report is guarded by that constant, so without an observer the reports — and the
//! work of preparing them, such as asking the balancer to explain its pick — are compiled
//! out: a run that nobody watches costs what it cost before observers existed.

use super::outcome::FailReason;
use super::request::RequestId;
use super::server::ServerState;
use crate::balancer::Explanation;
use crate::engine::{SimDuration, SimTime};
use crate::id::{ClientAddr, ServerId};

/// What happened, as the engine reports it.
#[derive(Clone, Debug, PartialEq)]
pub enum Observed<'a> {
    /// A request arrived at the balancer.
    Arrived {
        request: RequestId,
        client: ClientAddr,
        work: SimDuration,
    },
    /// The balancer chose `server` (named `name`) for `request`, for the reasons given.
    Picked {
        request: RequestId,
        instance: u8,
        server: ServerId,
        name: &'a str,
        why: Explanation,
    },
    /// It waits at `station` behind `ahead` others (`station` names a server or a tier).
    Queued {
        request: RequestId,
        station: &'a str,
        ahead: u32,
    },
    /// A worker of `station` took it.
    Started {
        request: RequestId,
        station: &'a str,
    },
    /// Answered, `latency` after it arrived, having waited `waited` for its app worker.
    Completed {
        request: RequestId,
        server: &'a str,
        latency: SimDuration,
        waited: SimDuration,
    },
    /// Turned away by a full queue at `station`.
    Rejected {
        request: RequestId,
        station: &'a str,
    },
    /// Its client gave up on it after its timeout; its server, which cannot tell, goes
    /// on with it, and its answer will be dropped.
    TimedOut { request: RequestId },
    /// It failed (for `reason`, an outcome's name) and its client will retry `after` a
    /// backoff.
    Retrying {
        request: RequestId,
        reason: &'static str,
        after: SimDuration,
    },
    /// Hedging on (`hedge_on_per_try_timeout`), its per-try timeout fired: its client
    /// still waits for its answer, and sends another attempt to race it `after` a backoff
    /// (`None`: no retry left or the budget spent, the client just waits).
    Hedging {
        request: RequestId,
        after: Option<SimDuration>,
    },
    /// `request` is the `retry`th retry of the request whose last attempt was `previous`;
    /// the balancer picked `reselected` times again because its pick was a server the
    /// request had tried (the retry host predicate). A `hedge` is sent while an earlier
    /// attempt of its request is still out: the first answer wins.
    Retried {
        request: RequestId,
        previous: RequestId,
        retry: u32,
        reselected: u32,
        hedge: bool,
    },
    /// It failed (for `reason`, an outcome's name), unretried, while another attempt of
    /// its request is out or a retry due: the request goes on without it.
    AttemptFailed {
        request: RequestId,
        reason: &'static str,
    },
    /// Its request ended (another attempt answered it, or its request timeout fired)
    /// while it was out: the client resets it, and its server, which cannot tell, goes on
    /// with it; its answer will be dropped.
    Reset { request: RequestId },
    /// Ended without an answer.
    Failed {
        request: RequestId,
        reason: FailReason,
    },
    /// A server joined (`from` `None`), left (`to` `None`) or changed state.
    StateChanged {
        server: &'a str,
        from: Option<ServerState>,
        to: Option<ServerState>,
        reason: &'static str,
    },
    /// A server's speed changed.
    SpeedChanged { server: &'a str, speed: f64 },
    /// The health checks' verdict on a server changed: it leaves rotation when unhealthy
    /// (unless in panic) and comes back when healthy.
    HealthChanged { server: &'a str, healthy: bool },
    /// Service discovery told the balancers of a server (`known`) or that it left: it
    /// enters or leaves their rotation only then.
    DiscoveryChanged { server: &'a str, known: bool },
    /// The balancer went into panic (too few of the `hosts` healthy, passing their checks
    /// and not ejected: every host is back in rotation whatever its health) or out of it.
    PanicChanged {
        panic: bool,
        healthy: usize,
        hosts: usize,
    },
}

/// A sink for what happens in a run.
pub trait Observer {
    /// Whether reports are made at all; `false` compiles them out.
    const ACTIVE: bool = true;

    fn observe(&mut self, now: SimTime, event: Observed<'_>);
}

/// No observer: every report is compiled out.
pub struct Unobserved;

impl Observer for Unobserved {
    const ACTIVE: bool = false;

    fn observe(&mut self, _now: SimTime, _event: Observed<'_>) {}
}
