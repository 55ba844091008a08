//! Cookie affinity: a session table that pins each session to the server its first request
//! went to, for a time-to-live.
//!
//! A request of a session with a live entry goes to the pinned server (an affinity hit);
//! a request of a new session, or of one whose entry expired, is picked by the configured
//! algorithm and pinned there. This is NGINX's `sticky learn` (a shared-memory zone of
//! session → server with `timeout`, "sessions that are not accessed during the specified
//! time are removed") and HAProxy's `stick on req.cook(...)` with a stick table's `expire`
//! (an entry's expiry is pushed back each time it is matched). Both refresh an entry on
//! each hit, and so does this table by default (`refresh = true`): a TTL then bounds a
//! session's *idle* time. With `refresh = false` an entry lives `ttl` from its creation,
//! as a store entry written once with a fixed expiry (Redis `SET ... EX 3600`) would.
//!
//! When the pinned server is no longer in rotation (it left, drains, failed its health
//! checks, was ejected), the request is either re-pinned through the algorithm and counted
//! (`repin`, HAProxy's `option redispatch`, NGINX's behaviour when the server is down), or
//! fails (`fail`, HAProxy without `redispatch`). A server that crashed but is still in
//! rotation — the balancer has not noticed — keeps its sessions, whose requests then meet
//! a refused connection, as in the real thing.
//!
//! Memory stays bounded: an expired entry is never used (a lookup checks its expiry), and
//! a periodic sweep removes expired entries, so no entry outlives `ttl + sweep_interval`
//! and the table holds at most the sessions active in that window. The sweep's cost is
//! O(table) every `sweep_interval`, nothing per request.

use std::collections::HashMap;

use super::frontend::{Frontend, Pick};
use super::outcome::FailReason;
use crate::engine::{SimDuration, SimTime};
use crate::id::{RequestKey, ServerId, SessionId};
use crate::stats::Figure;

/// `[affinity]` with `mode = "cookie"`.
#[derive(Clone, Debug, PartialEq)]
pub struct AffinitySpec {
    /// How long an entry lives (from its last hit when `refresh`).
    pub ttl: SimDuration,
    /// Whether a hit pushes the entry's expiry back to `ttl` from now.
    pub refresh: bool,
    /// How often expired entries are swept from the table.
    pub sweep_interval: SimDuration,
    pub on_unavailable: OnUnavailable,
}

impl AffinitySpec {
    /// The seed's session table: session → server for 3,600 s.
    pub const DEFAULT_TTL: SimDuration = SimDuration::from_secs(3600);
}

/// What a request does when its session's pinned server is out of rotation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnUnavailable {
    /// Pin the session anew through the algorithm (HAProxy `option redispatch`).
    Repin,
    /// Fail the request.
    Fail,
}

impl OnUnavailable {
    pub const ALL: [OnUnavailable; 2] = [OnUnavailable::Repin, OnUnavailable::Fail];

    pub fn name(self) -> &'static str {
        match self {
            OnUnavailable::Repin => "repin",
            OnUnavailable::Fail => "fail",
        }
    }
}

#[derive(Copy, Clone, Debug)]
struct Pin {
    server: ServerId,
    expires: SimTime,
}

pub struct Affinity {
    spec: AffinitySpec,
    table: HashMap<SessionId, Pin>,
    hits: u64,
    repins: u64,
    /// The most entries the table ever held.
    peak: usize,
}

impl Affinity {
    pub fn new(spec: &AffinitySpec) -> Self {
        Affinity {
            spec: spec.clone(),
            table: HashMap::new(),
            hits: 0,
            repins: 0,
            peak: 0,
        }
    }

    pub fn sweep_interval(&self) -> SimDuration {
        self.spec.sweep_interval
    }

    /// Where `request` goes at `now`: its pinned server, or the algorithm's pick (then
    /// pinned), or a failure.
    pub fn route(
        &mut self,
        now: SimTime,
        request: &RequestKey,
        frontend: &mut Frontend,
    ) -> Result<Pick, FailReason> {
        let Some(session) = request.session else {
            return frontend.pick(request).ok_or(FailReason::NoServer);
        };
        let mut repin = false;
        if let Some(pin) = self.table.get_mut(&session)
            && pin.expires > now
        {
            if frontend.is_in_rotation(pin.server) {
                self.hits += 1;
                if self.spec.refresh {
                    pin.expires = now + self.spec.ttl;
                }
                return Ok(frontend.pinned(request, pin.server));
            }
            if self.spec.on_unavailable == OnUnavailable::Fail {
                return Err(FailReason::PinnedUnavailable);
            }
            repin = true;
        }
        let pick = frontend.pick(request).ok_or(FailReason::NoServer)?;
        self.repins += u64::from(repin);
        self.table.insert(
            session,
            Pin {
                server: pick.server,
                expires: now + self.spec.ttl,
            },
        );
        self.peak = self.peak.max(self.table.len());
        Ok(pick)
    }

    /// Removes every entry expired at `now`.
    pub fn sweep(&mut self, now: SimTime) {
        self.table.retain(|_, pin| pin.expires > now);
    }

    /// Entries in the table, expired or not.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Entries whose expiry is past `now` (swept at the next sweep).
    #[cfg(test)]
    pub fn expired(&self, now: SimTime) -> usize {
        self.table.values().filter(|pin| pin.expires <= now).count()
    }

    /// The affinity figures of the run.
    pub fn figures(&self) -> [(Figure, u64); 3] {
        [
            (Figure::AffinityHits, self.hits),
            (Figure::Repins, self.repins),
            (Figure::AffinityTablePeak, self.peak as u64),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::{Algorithm, Backend, BalancerSpec};
    use crate::id::ClientAddr;

    fn frontend(servers: u32) -> Frontend {
        let mut frontend = Frontend::new(&BalancerSpec::new(Algorithm::RoundRobin), 8, 1);
        for id in 0..servers {
            let backend = Backend {
                id: ServerId(id),
                name: "s",
                weight: 1,
            };
            frontend.add(backend, true);
        }
        frontend
    }

    fn spec(on_unavailable: OnUnavailable, refresh: bool) -> AffinitySpec {
        AffinitySpec {
            ttl: SimDuration::from_secs(10),
            refresh,
            sweep_interval: SimDuration::from_secs(1),
            on_unavailable,
        }
    }

    fn key(session: u64) -> RequestKey {
        RequestKey {
            client: ClientAddr(1),
            session: Some(SessionId(session)),
        }
    }

    fn at(secs: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_secs(secs)
    }

    fn server(routed: Result<Pick, FailReason>) -> u32 {
        routed.expect("routed").server.0
    }

    #[test]
    fn a_pinned_session_stays_on_its_server_while_it_is_in_rotation() {
        let mut frontend = frontend(4);
        let mut affinity = Affinity::new(&spec(OnUnavailable::Repin, true));
        let first = server(affinity.route(at(0), &key(7), &mut frontend));
        for t in 1..50 {
            // Round robin would move it every time; the pin holds it.
            assert_eq!(server(affinity.route(at(t), &key(7), &mut frontend)), first);
        }
        assert_eq!(affinity.figures()[0], (Figure::AffinityHits, 49));
    }

    #[test]
    fn ttl_expiry_repins_through_the_algorithm_and_refresh_decides_when() {
        for (refresh, still_pinned_at_15) in [(true, true), (false, false)] {
            let mut frontend = frontend(4);
            let mut affinity = Affinity::new(&spec(OnUnavailable::Repin, refresh));
            let first = server(affinity.route(at(0), &key(7), &mut frontend));
            assert_eq!(server(affinity.route(at(8), &key(7), &mut frontend)), first);
            // Round robin has moved on: a new pick lands elsewhere.
            let at_15 = server(affinity.route(at(15), &key(7), &mut frontend));
            assert_eq!(at_15 == first, still_pinned_at_15, "refresh {refresh}");
            // Idle past its TTL: a fresh pin, not a re-pin.
            let at_40 = server(affinity.route(at(40), &key(7), &mut frontend));
            assert_ne!(at_40, at_15);
            assert_eq!(affinity.figures()[1], (Figure::Repins, 0));
        }
    }

    #[test]
    fn a_pinned_server_out_of_rotation_repins_and_counts_or_fails() {
        let mut frontend_a = frontend(3);
        let mut repin = Affinity::new(&spec(OnUnavailable::Repin, true));
        let first = server(repin.route(at(0), &key(1), &mut frontend_a));
        frontend_a.remove(ServerId(first));
        let second = server(repin.route(at(1), &key(1), &mut frontend_a));
        assert_ne!(second, first);
        assert_eq!(server(repin.route(at(2), &key(1), &mut frontend_a)), second);
        assert_eq!(repin.figures()[1], (Figure::Repins, 1));

        let mut frontend_b = frontend(3);
        let mut fail = Affinity::new(&spec(OnUnavailable::Fail, true));
        let first = server(fail.route(at(0), &key(1), &mut frontend_b));
        frontend_b.remove(ServerId(first));
        assert_eq!(
            fail.route(at(1), &key(1), &mut frontend_b)
                .map(|p| p.server),
            Err(FailReason::PinnedUnavailable)
        );
    }

    #[test]
    fn the_sweep_leaves_no_entry_past_its_ttl() {
        let mut frontend = frontend(2);
        let mut affinity = Affinity::new(&spec(OnUnavailable::Repin, true));
        for session in 0..100 {
            affinity
                .route(at(session / 10), &key(session), &mut frontend)
                .unwrap();
        }
        assert_eq!(affinity.len(), 100);
        affinity.sweep(at(15));
        // Entries created at 0..=5 s expire at or before 15 s; those of 6..=9 s remain.
        assert_eq!(affinity.len(), 40);
        assert_eq!(affinity.expired(at(15)), 0);
    }
}
