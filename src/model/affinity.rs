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
//! When the pinned server is no longer in rotation (it failed its health checks, was
//! ejected, left), the request is either re-pinned through the algorithm and counted
//! (`repin`: HAProxy's `option redispatch`, which breaks the persistence of a server that
//! is down; NGINX's behaviour when "the designated server cannot process a request"), or
//! fails (`fail`: HAProxy without `redispatch`). A server that crashed but is still in
//! rotation — the balancer has not noticed — keeps its sessions, whose requests then meet
//! a refused connection, as in the real thing.
//!
//! A server that leaves gracefully (its pre-stop time, then its drain) is out of
//! rotation too, but it still serves, and what becomes of its sessions is a choice of
//! its own (`draining`). `move` treats it as any server out of rotation: its sessions
//! move at once, as AWS ALB stops routing to a deregistering target, sticky or not.
//! `keep` sends them on to it while it serves: HAProxy's `drain` state ("set server ...
//! state drain" only removes a server from load balancing; it still accepts persistent
//! connections) and NGINX Plus's `drain` parameter ("only requests bound to the server
//! will be proxied to it"). Draining is then for the sessions, not only the requests in
//! flight: the server keeps its listener open for them (a draining server otherwise
//! takes no new connection), and it goes down only once idle with no entry of the table
//! pinning a session to it — or when its deregistration delay ends, failing what it
//! holds. The table counts its entries per server for this.
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
    /// What the sessions pinned to a server that leaves gracefully do while it drains.
    pub draining: Draining,
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

/// What the sessions pinned to a server that leaves gracefully do while it still serves
/// (its pre-stop time, its drain).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Draining {
    /// They go elsewhere at once, as from any server out of rotation (`on_unavailable`):
    /// AWS ALB's deregistration.
    Move,
    /// They stay with it until it goes down: HAProxy's `drain` state, NGINX Plus's `drain`.
    Keep,
}

impl Draining {
    pub const ALL: [Draining; 2] = [Draining::Move, Draining::Keep];

    pub fn name(self) -> &'static str {
        match self {
            Draining::Move => "move",
            Draining::Keep => "keep",
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
    /// Per server, the table's entries that pin a session to it, expired ones included
    /// until swept: a draining server kept for its sessions stays up while it has any. A
    /// map, not a vector: a vector's capacity would become the niche of the world's
    /// `Option<Affinity>`, and testing it costs every request of every run two more
    /// instructions than the flag the niche is now.
    pins: HashMap<ServerId, u32>,
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
            pins: HashMap::new(),
            hits: 0,
            repins: 0,
            peak: 0,
        }
    }

    pub fn sweep_interval(&self) -> SimDuration {
        self.spec.sweep_interval
    }

    /// What the sessions pinned to a server that leaves gracefully do.
    pub fn draining(&self) -> Draining {
        self.spec.draining
    }

    /// Where `request` goes at `now`: its pinned server, or the algorithm's pick (then
    /// pinned), or a failure. `leaving` says whether a server out of rotation leaves
    /// gracefully and still serves, for `draining = keep`.
    pub fn route(
        &mut self,
        now: SimTime,
        request: &RequestKey,
        frontend: &mut Frontend,
        leaving: impl Fn(ServerId) -> bool,
    ) -> Result<Pick, FailReason> {
        let Some(session) = request.session else {
            return frontend.pick(request).ok_or(FailReason::NoServer);
        };
        let mut repin = false;
        if let Some(pin) = self.table.get_mut(&session)
            && pin.expires > now
        {
            if frontend.is_in_rotation(pin.server)
                || (self.spec.draining == Draining::Keep && leaving(pin.server))
            {
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
        let pin = Pin {
            server: pick.server,
            expires: now + self.spec.ttl,
        };
        if let Some(old) = self.table.insert(session, pin) {
            Self::unpin(&mut self.pins, old.server);
        }
        *self.pins.entry(pick.server).or_insert(0) += 1;
        self.peak = self.peak.max(self.table.len());
        Ok(pick)
    }

    /// An entry pinning a session to `server` left the table.
    fn unpin(pins: &mut HashMap<ServerId, u32>, server: ServerId) {
        if let Some(count) = pins.get_mut(&server) {
            *count = count.saturating_sub(1);
        }
    }

    /// Whether draining `server` stays up for the sessions pinned to it: with `draining =
    /// keep`, while an entry of the table pins one there.
    pub fn keeps_server(&self, server: ServerId) -> bool {
        self.spec.draining == Draining::Keep
            && self.pins.get(&server).is_some_and(|&count| count > 0)
    }

    /// Removes every entry expired at `now`.
    pub fn sweep(&mut self, now: SimTime) {
        let pins = &mut self.pins;
        self.table.retain(|_, pin| {
            let live = pin.expires > now;
            if !live {
                Self::unpin(pins, pin.server);
            }
            live
        });
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
            draining: Draining::Move,
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
        let first = server(affinity.route(at(0), &key(7), &mut frontend, |_| false));
        for t in 1..50 {
            // Round robin would move it every time; the pin holds it.
            assert_eq!(
                server(affinity.route(at(t), &key(7), &mut frontend, |_| false)),
                first
            );
        }
        assert_eq!(affinity.figures()[0], (Figure::AffinityHits, 49));
    }

    #[test]
    fn ttl_expiry_repins_through_the_algorithm_and_refresh_decides_when() {
        for (refresh, still_pinned_at_15) in [(true, true), (false, false)] {
            let mut frontend = frontend(4);
            let mut affinity = Affinity::new(&spec(OnUnavailable::Repin, refresh));
            let first = server(affinity.route(at(0), &key(7), &mut frontend, |_| false));
            assert_eq!(
                server(affinity.route(at(8), &key(7), &mut frontend, |_| false)),
                first
            );
            // Round robin has moved on: a new pick lands elsewhere.
            let at_15 = server(affinity.route(at(15), &key(7), &mut frontend, |_| false));
            assert_eq!(at_15 == first, still_pinned_at_15, "refresh {refresh}");
            // Idle past its TTL: a fresh pin, not a re-pin.
            let at_40 = server(affinity.route(at(40), &key(7), &mut frontend, |_| false));
            assert_ne!(at_40, at_15);
            assert_eq!(affinity.figures()[1], (Figure::Repins, 0));
        }
    }

    #[test]
    fn a_pinned_server_out_of_rotation_repins_and_counts_or_fails() {
        let mut frontend_a = frontend(3);
        let mut repin = Affinity::new(&spec(OnUnavailable::Repin, true));
        let first = server(repin.route(at(0), &key(1), &mut frontend_a, |_| false));
        frontend_a.remove(ServerId(first));
        let second = server(repin.route(at(1), &key(1), &mut frontend_a, |_| false));
        assert_ne!(second, first);
        assert_eq!(
            server(repin.route(at(2), &key(1), &mut frontend_a, |_| false)),
            second
        );
        assert_eq!(repin.figures()[1], (Figure::Repins, 1));

        let mut frontend_b = frontend(3);
        let mut fail = Affinity::new(&spec(OnUnavailable::Fail, true));
        let first = server(fail.route(at(0), &key(1), &mut frontend_b, |_| false));
        frontend_b.remove(ServerId(first));
        assert_eq!(
            fail.route(at(1), &key(1), &mut frontend_b, |_| false)
                .map(|p| p.server),
            Err(FailReason::PinnedUnavailable)
        );
    }

    #[test]
    fn with_keep_a_leaving_servers_sessions_stay_while_it_serves() {
        for draining in Draining::ALL {
            let mut frontend = frontend(3);
            let keep = AffinitySpec {
                draining,
                ..spec(OnUnavailable::Repin, true)
            };
            let mut affinity = Affinity::new(&keep);
            let first = server(affinity.route(at(0), &key(1), &mut frontend, |_| false));
            // It leaves gracefully: out of rotation, still serving.
            frontend.remove(ServerId(first));
            let leaving = |s: ServerId| s.0 == first;
            let kept = draining == Draining::Keep;
            let next = server(affinity.route(at(1), &key(1), &mut frontend, leaving));
            assert_eq!(next == first, kept, "{draining:?}");
            assert_eq!(affinity.keeps_server(ServerId(first)), kept);
            // A new session is never placed there.
            assert_ne!(
                server(affinity.route(at(1), &key(2), &mut frontend, leaving)),
                first
            );
            // Once it no longer serves, a kept session moves too, and counts.
            let last = server(affinity.route(at(2), &key(1), &mut frontend, |_| false));
            assert_ne!(last, first);
            assert_eq!(affinity.figures()[1], (Figure::Repins, 1));
            assert!(!affinity.keeps_server(ServerId(first)));
        }
    }

    #[test]
    fn a_kept_server_holds_its_sessions_until_their_entries_are_swept() {
        let mut frontend = frontend(2);
        let keep = AffinitySpec {
            draining: Draining::Keep,
            ..spec(OnUnavailable::Repin, true)
        };
        let mut affinity = Affinity::new(&keep);
        // Round robin: sessions 0, 2, 4 on one server, 1, 3, 5 on the other.
        let servers: Vec<u32> = (0..6)
            .map(|s| server(affinity.route(at(s), &key(s), &mut frontend, |_| false)))
            .collect();
        let held = ServerId(servers[0]);
        assert!(affinity.keeps_server(held));
        // Entries of 0 to 5 s expire at 10 to 15 s: at 13 s those of sessions 4 and 5 are
        // left, one on each server.
        affinity.sweep(at(13));
        assert!(affinity.keeps_server(held));
        affinity.sweep(at(15));
        assert!(!affinity.keeps_server(held));
    }

    #[test]
    fn the_sweep_leaves_no_entry_past_its_ttl() {
        let mut frontend = frontend(2);
        let mut affinity = Affinity::new(&spec(OnUnavailable::Repin, true));
        for session in 0..100 {
            affinity
                .route(at(session / 10), &key(session), &mut frontend, |_| false)
                .unwrap();
        }
        assert_eq!(affinity.len(), 100);
        affinity.sweep(at(15));
        // Entries created at 0..=5 s expire at or before 15 s; those of 6..=9 s remain.
        assert_eq!(affinity.len(), 40);
        assert_eq!(affinity.expired(at(15)), 0);
    }
}
