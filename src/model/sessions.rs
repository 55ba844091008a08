//! Sessions and their state: which sessions are live, where each one's state is, and what
//! it costs when the state is gone.
//!
//! A session's state (a logged-in user's cart, say) is created by its first request a
//! server takes, on that server. It lives either in that server's memory (`local`, the
//! default) or in a shared store every server reads ([`super::tier::Tier`] built from
//! `[session_store]`, which every request then calls).
//!
//! The state is looked for when a server *takes* an attempt of one of the session's
//! requests (starts it or queues it), every attempt — a client's retry as much as its
//! first try: that is where the request is served, and where the user would log in again.
//! An attempt that no server takes (the connection refused, the queue full, no server to
//! pick) moves nothing.
//!
//! Local state is lost when its server crashes or leaves (a restart starts with empty
//! memory), and a request of the session that a server other than the state's takes does
//! not find it either — without affinity, that is most of them. A request that does not
//! find its session's state pays a re-login (the `relogin` work added to its own, on the
//! server that took it, whose memory then holds the new state), and the session counts as
//! lost — once, however many times it happens to it. With the shared store state is never
//! lost.
//!
//! Every session ends exactly once, as completed (its state intact to the end) or lost, so
//! `started = completed + lost + live` at every instant; the counts cover the whole run,
//! warmup included, since a session straddles it. A session ends once its last request has
//! been sent and none of its requests may still reach a server: without client retries at
//! once, as the attempt is taken or refused when it is sent; with them when the last of its
//! calls is over, since a retry of any of them may still land on another server. A
//! replayed trace says when a session starts (its first line) but not when it ends: its
//! sessions stay live unless lost.

use std::collections::HashMap;

use rand::RngExt;

use super::service::ServiceSampler;
use super::spec::{RateSchedule, ServiceDist};
use super::streams;
use crate::engine::{SimDuration, SimRng, stream};
use crate::id::{ClientAddr, RequestKey, ServerId, SessionId};
use crate::stats::Figure;

/// `[workload.sessions]`: traffic made of sessions instead of independent requests.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionsSpec {
    /// New sessions per second, over time.
    pub rate: RateSchedule,
    /// Requests per session.
    pub requests: SessionLength,
    /// Time between a session's requests.
    pub think: ServiceDist,
    /// Users behind one client address (a NAT, a corporate proxy).
    pub users_per_address: u32,
    /// The work a request pays to log in again when its session's state is gone.
    pub relogin: ServiceDist,
    /// Session state is kept in the shared `[session_store]` rather than in the memory of
    /// the server that created it.
    pub shared_store: bool,
}

/// The number of requests of a session, at least 1.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum SessionLength {
    Constant(u32),
    /// Geometric on 1, 2, ... with this mean (≥ 1): each request is the last with
    /// probability `1 / mean`, the memoryless visit.
    Geometric {
        mean: f64,
    },
    /// Uniform on `min..=max`.
    Uniform {
        min: u32,
        max: u32,
    },
}

impl SessionLength {
    pub fn mean(self) -> f64 {
        match self {
            SessionLength::Constant(n) => f64::from(n),
            SessionLength::Geometric { mean } => mean,
            SessionLength::Uniform { min, max } => (f64::from(min) + f64::from(max)) / 2.0,
        }
    }

    pub fn sample(self, rng: &mut SimRng) -> u32 {
        match self {
            SessionLength::Constant(n) => n.max(1),
            SessionLength::Geometric { mean } if mean <= 1.0 => 1,
            SessionLength::Geometric { mean } => {
                // Inversion: 1 + ⌊ln U / ln(1 - p)⌋ with U in (0, 1].
                let p = 1.0 / mean;
                let u = 1.0 - rng.random::<f64>();
                let extra = (u.ln() / (1.0 - p).ln()).floor();
                1 + extra.min(f64::from(u32::MAX - 1)) as u32
            }
            SessionLength::Uniform { min, max } => rng.random_range(min.max(1)..=max.max(1)),
        }
    }
}

/// Where a live session's state is: the server whose memory holds it and that server's
/// life (bumped when its memory is wiped).
#[derive(Copy, Clone, Debug)]
struct Session {
    home: Option<(ServerId, u32)>,
    lost: bool,
    /// The address its requests come from, for hashing it.
    client: ClientAddr,
    /// Its requests sent and not yet over: an attempt of any of them may still be taken.
    open: u32,
    /// Its last request has been sent: it ends when none of its requests is open.
    last_sent: bool,
}

pub struct Sessions {
    live: HashMap<SessionId, Session>,
    /// Clients make calls (`[client]`): a request may be sent again after its attempt
    /// ended, and is over when its call ends ([`Self::request_over`]). Without, a request
    /// is its one attempt, over once a server takes it or it is refused.
    calls: bool,
    /// The session of the attempt being dispatched, from [`Self::sent`] or
    /// [`Self::retried`] until a server takes it ([`Self::taken`]) or it is refused
    /// ([`Self::refused`]). The world dispatches an attempt at once, so no other one comes
    /// in between, and the world's hot path need not carry the session to the server.
    dispatching: Option<SessionId>,
    /// State is in a shared store: never lost.
    shared_store: bool,
    /// Per server: how many times its memory has been wiped (crash, leave).
    lives: Vec<u32>,
    relogin: Option<ServiceSampler>,
    /// The share of live sessions each membership change moved to another server, for
    /// algorithms that map a request by its key.
    remaps: Vec<f64>,
    started: u64,
    completed: u64,
    lost: u64,
}

impl Sessions {
    /// Sessions whose state is in a shared store (`shared_store`) or local, a lost one
    /// costing `relogin` (none for a trace without a session workload: no penalty), sent
    /// by clients that make calls (`calls`) or single attempts.
    pub fn new(shared_store: bool, relogin: Option<&ServiceDist>, calls: bool, seed: u64) -> Self {
        Sessions {
            live: HashMap::new(),
            calls,
            dispatching: None,
            shared_store,
            lives: Vec::new(),
            relogin: relogin
                .map(|dist| ServiceSampler::new(dist, stream(seed, streams::SESSION_STATE, 1))),
            remaps: Vec::new(),
            started: 0,
            completed: 0,
            lost: 0,
        }
    }

    /// A request of `session` from `client` is sent, its last if `ends_session`: the
    /// session starts with its first.
    pub fn sent(&mut self, session: SessionId, client: ClientAddr, ends_session: bool) {
        let state = self.live.entry(session).or_insert_with(|| {
            self.started += 1;
            Session {
                home: None,
                lost: false,
                client,
                open: 0,
                last_sent: false,
            }
        });
        state.open += 1;
        state.last_sent |= ends_session;
        self.dispatch(session);
    }

    /// A client's retry of a request of `session` is dispatched.
    pub fn retried(&mut self, session: SessionId) {
        self.dispatch(session);
    }

    /// An attempt of a request of `session` is dispatched.
    fn dispatch(&mut self, session: SessionId) {
        if let Some(previous) = self.dispatching.replace(session) {
            // Its attempt was neither taken nor refused: it moved nothing.
            self.settled(previous);
        }
    }

    /// `server` took the attempt being dispatched (started or queued it): the extra work
    /// it pays to log in again if its session's state is not there.
    pub fn taken(&mut self, server: ServerId) -> SimDuration {
        let Some(session) = self.dispatching.take() else {
            return SimDuration::ZERO;
        };
        let relogin = self.look_for_state(session, server);
        self.settled(session);
        relogin
    }

    /// The attempt being dispatched was refused (no server, the connection refused, the
    /// queue full, ...): it moved nothing.
    pub fn refused(&mut self) {
        if let Some(session) = self.dispatching.take() {
            self.settled(session);
        }
    }

    /// An attempt of a request of `session` was taken or refused: without calls, that
    /// request is over.
    fn settled(&mut self, session: SessionId) {
        if !self.calls {
            self.request_over(session);
        }
    }

    /// [`Self::taken`]'s look for `session`'s state on `server`, which then holds it: the
    /// re-login if it was not there.
    fn look_for_state(&mut self, session: SessionId, server: ServerId) -> SimDuration {
        let here = (server, self.life(server));
        let Some(state) = self.live.get_mut(&session) else {
            return SimDuration::ZERO;
        };
        match state.home {
            None => state.home = Some(here),
            Some(home) if self.shared_store || home == here => {}
            Some(_) => {
                state.home = Some(here);
                if !state.lost {
                    state.lost = true;
                    self.lost += 1;
                }
                if let Some(sampler) = &mut self.relogin {
                    return sampler.sample();
                }
            }
        }
        SimDuration::ZERO
    }

    /// A request of `session` is over: no attempt of it will reach a server any more. The
    /// session ends with the last of its requests.
    pub fn request_over(&mut self, session: SessionId) {
        let Some(state) = self.live.get_mut(&session) else {
            return;
        };
        state.open = state.open.saturating_sub(1);
        if state.last_sent
            && state.open == 0
            && let Some(state) = self.live.remove(&session)
            && !state.lost
        {
            self.completed += 1;
        }
    }

    /// `server`'s memory is wiped (it crashed or left): the state it held is gone.
    pub fn server_lost_memory(&mut self, server: ServerId) {
        if self.lives.len() <= server.index() {
            self.lives.resize(server.index() + 1, 0);
        }
        self.lives[server.index()] += 1;
    }

    fn life(&self, server: ServerId) -> u32 {
        self.lives.get(server.index()).copied().unwrap_or(0)
    }

    /// Sessions not ended: neither completed nor lost.
    pub fn live(&self) -> u64 {
        self.live.values().filter(|s| !s.lost).count() as u64
    }

    /// The keys of the live sessions, in session order: what a membership change may
    /// remap. O(live sessions), called only at membership changes.
    pub fn live_keys(&self) -> Vec<RequestKey> {
        let mut keys: Vec<RequestKey> = self
            .live
            .iter()
            .filter(|(_, state)| !state.lost)
            .map(|(&session, state)| RequestKey {
                client: state.client,
                session: Some(session),
            })
            .collect();
        keys.sort_unstable_by_key(|key| key.session);
        keys
    }

    /// A membership change moved `share` of the live sessions to another server.
    pub fn remapped(&mut self, share: f64) {
        self.remaps.push(share);
    }

    /// The mean share of live sessions a membership change moved, if one was measured.
    pub fn remapped_share(&self) -> Option<f64> {
        (!self.remaps.is_empty())
            .then(|| self.remaps.iter().sum::<f64>() / self.remaps.len() as f64)
    }

    /// The session figures of the run.
    pub fn figures(&self) -> [(Figure, u64); 4] {
        [
            (Figure::SessionsStarted, self.started),
            (Figure::SessionsCompleted, self.completed),
            (Figure::SessionsLost, self.lost),
            (Figure::SessionsLive, self.live()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SessionId = SessionId(1);
    const C: ClientAddr = ClientAddr(1);

    fn relogin() -> ServiceDist {
        ServiceDist::Constant {
            mean: SimDuration::from_millis(50),
        }
    }

    fn counts(sessions: &Sessions) -> [u64; 4] {
        sessions.figures().map(|(_, n)| n)
    }

    /// A request of `session`, its last if `ends`, sent and over at once, with one attempt
    /// taken by `server` (`None`: refused): the re-login it paid.
    fn request(
        sessions: &mut Sessions,
        session: SessionId,
        server: Option<u32>,
        ends: bool,
    ) -> SimDuration {
        sessions.sent(session, C, ends);
        let paid = match server {
            Some(s) => sessions.taken(ServerId(s)),
            None => {
                sessions.refused();
                SimDuration::ZERO
            }
        };
        sessions.request_over(session);
        paid
    }

    #[test]
    fn local_state_is_found_on_its_server_and_lost_elsewhere_once() {
        let mut sessions = Sessions::new(false, Some(&relogin()), true, 1);
        let relogin = SimDuration::from_millis(50);
        assert_eq!(request(&mut sessions, S, Some(0), false), SimDuration::ZERO);
        assert_eq!(request(&mut sessions, S, Some(0), false), SimDuration::ZERO);
        assert_eq!(request(&mut sessions, S, Some(1), false), relogin);
        // Its state now lives on server 1; moving again costs again, counts once.
        assert_eq!(request(&mut sessions, S, Some(1), false), SimDuration::ZERO);
        assert_eq!(request(&mut sessions, S, Some(0), false), relogin);
        assert_eq!(counts(&sessions), [1, 0, 1, 0]);
        request(&mut sessions, S, Some(0), true);
        assert_eq!(counts(&sessions), [1, 0, 1, 0]);
    }

    #[test]
    fn a_wiped_server_loses_its_sessions_and_the_store_never_does() {
        for shared_store in [false, true] {
            let mut sessions = Sessions::new(shared_store, Some(&relogin()), true, 1);
            request(&mut sessions, S, Some(2), false);
            request(&mut sessions, SessionId(2), Some(3), false);
            sessions.server_lost_memory(ServerId(2));
            let paid = request(&mut sessions, S, Some(2), true);
            request(&mut sessions, SessionId(2), Some(3), true);
            let expected = if shared_store {
                ([2, 2, 0, 0], SimDuration::ZERO)
            } else {
                ([2, 1, 1, 0], SimDuration::from_millis(50))
            };
            assert_eq!((counts(&sessions), paid), expected);
        }
    }

    #[test]
    fn an_attempt_no_server_takes_moves_nothing() {
        let mut sessions = Sessions::new(false, Some(&relogin()), true, 1);
        // A first request refused: the session starts, with its state nowhere yet.
        request(&mut sessions, S, None, false);
        assert_eq!(request(&mut sessions, S, Some(1), false), SimDuration::ZERO);
        // Refused elsewhere (a draining server, a full queue): the state stays on 1.
        request(&mut sessions, S, None, false);
        assert_eq!(request(&mut sessions, S, Some(1), false), SimDuration::ZERO);
        // The last request refused for good: the session ends with its state intact.
        request(&mut sessions, S, None, true);
        assert_eq!(counts(&sessions), [1, 1, 0, 0]);
    }

    #[test]
    fn without_calls_a_request_is_over_once_its_attempt_is_taken_or_refused() {
        let mut sessions = Sessions::new(false, Some(&relogin()), false, 1);
        sessions.sent(S, C, false);
        sessions.taken(ServerId(0));
        sessions.sent(S, C, false);
        sessions.refused();
        assert_eq!(counts(&sessions), [1, 0, 0, 1]);
        // Its last request, taken where its state is: the session completes.
        sessions.sent(S, C, true);
        assert_eq!(counts(&sessions), [1, 0, 0, 1]);
        sessions.taken(ServerId(0));
        assert_eq!(counts(&sessions), [1, 1, 0, 0]);
        // A failure after the attempt was taken (a crash) refuses nothing.
        sessions.sent(SessionId(2), C, true);
        sessions.taken(ServerId(1));
        sessions.refused();
        assert_eq!(counts(&sessions), [2, 2, 0, 0]);
    }

    #[test]
    fn a_retry_taken_elsewhere_loses_the_session_even_after_its_last_request() {
        let mut sessions = Sessions::new(false, Some(&relogin()), true, 1);
        request(&mut sessions, S, Some(0), false);
        // Its second request is refused and waits out a backoff while its third, the
        // last, is sent and served where the state is: the session is not over.
        sessions.sent(S, C, false);
        sessions.refused();
        assert_eq!(request(&mut sessions, S, Some(0), true), SimDuration::ZERO);
        assert_eq!(counts(&sessions), [1, 0, 0, 1]);
        // The retry lands on server 1: a re-login, and the session is lost.
        sessions.retried(S);
        assert_eq!(sessions.taken(ServerId(1)), SimDuration::from_millis(50));
        sessions.request_over(S);
        assert_eq!(counts(&sessions), [1, 0, 1, 0]);
    }

    #[test]
    fn sessions_are_conserved_at_every_step() {
        let mut sessions = Sessions::new(false, Some(&relogin()), true, 1);
        let mut rng = stream(5, 0, 0);
        // Requests sent and not over, each with its session; a session sends no more
        // after its last.
        let mut open: Vec<SessionId> = Vec::new();
        let mut ended = [false; 200];
        for _ in 0..20_000 {
            let server = ServerId(rng.random_range(0..5u32));
            match rng.random_range(0..4) {
                0 if !open.is_empty() => {
                    let session = open.swap_remove(rng.random_range(0..open.len()));
                    sessions.request_over(session);
                }
                1 if !open.is_empty() => {
                    sessions.retried(open[rng.random_range(0..open.len())]);
                    sessions.taken(server);
                }
                2 => sessions.server_lost_memory(server),
                _ => {
                    let index = rng.random_range(0..200);
                    if !ended[index] {
                        let ends = rng.random_range(0..10) == 0;
                        ended[index] = ends;
                        sessions.sent(SessionId(index as u64), C, ends);
                        sessions.refused();
                        open.push(SessionId(index as u64));
                    }
                }
            }
            let [started, completed, lost, live] = counts(&sessions);
            assert_eq!(started, completed + lost + live);
        }
    }
}

/// Sessions, affinity and the store in whole runs.
#[cfg(test)]
mod in_a_run {
    use crate::balancer::{Algorithm, BalancerSpec, HashOn};
    use crate::engine::{SimDuration, SimTime};
    use crate::model::{
        AffinitySpec, ArrivalPattern, Change, Draining, FailureProcess, GeneratedWorkload,
        OnUnavailable, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist, SessionLength,
        SessionsSpec, TierSpec, TimelineAction, WorkloadSpec, simulate,
    };
    use crate::stats::{Figure, RunResult};

    const SESSION_RATE: f64 = 10.0;

    fn sessions(length: SessionLength, think: SimDuration, shared_store: bool) -> SessionsSpec {
        SessionsSpec {
            rate: RateSchedule::constant(SESSION_RATE),
            requests: length,
            think: ServiceDist::Constant { mean: think },
            users_per_address: 1,
            relogin: ServiceDist::Constant {
                mean: SimDuration::from_millis(20),
            },
            shared_store,
        }
    }

    /// 4 servers of 4 workers, 10 sessions/s of 5 requests 1 s apart: 50 requests/s of
    /// 10 ms, a light load, for `secs` seconds.
    fn spec(secs: u64, algorithm: Algorithm, shared_store: bool) -> RunSpec {
        let session_spec = sessions(
            SessionLength::Constant(5),
            SimDuration::from_secs(1),
            shared_store,
        );
        RunSpec {
            sessions: Some(session_spec),
            session_store: shared_store.then(|| TierSpec {
                name: "session-store".to_string(),
                workers: 2,
                queue_limit: None,
                service: ServiceDist::Exponential {
                    mean: SimDuration::from_millis(1),
                },
            }),
            ..RunSpec::new(
                SimDuration::from_secs(secs),
                WorkloadSpec::Generated(GeneratedWorkload {
                    rate: RateSchedule::constant(SESSION_RATE * 5.0),
                    arrivals: ArrivalPattern::Poisson,
                    service: ServiceDist::Exponential {
                        mean: SimDuration::from_millis(10),
                    },
                    clients: 10_000,
                }),
                vec![ServerGroupSpec {
                    workers: 4,
                    ..ServerGroupSpec::new("web", 4)
                }],
                BalancerSpec::new(algorithm),
            )
        }
    }

    fn cookie(ttl_s: u64) -> Option<AffinitySpec> {
        Some(AffinitySpec {
            ttl: SimDuration::from_secs(ttl_s),
            refresh: true,
            sweep_interval: SimDuration::from_secs(1),
            on_unavailable: OnUnavailable::Repin,
            draining: Draining::Move,
        })
    }

    fn count(result: &RunResult, figure: Figure) -> u64 {
        result.figures.get(figure).unwrap_or(0.0) as u64
    }

    fn conserved(result: &RunResult) -> bool {
        count(result, Figure::SessionsStarted)
            == count(result, Figure::SessionsCompleted)
                + count(result, Figure::SessionsLost)
                + count(result, Figure::SessionsLive)
    }

    fn remove_at(secs: u64, server: &str) -> TimelineAction {
        TimelineAction {
            at: SimTime::ZERO + SimDuration::from_secs(secs),
            change: Change::Remove {
                server: server.to_string(),
                abrupt: true,
            },
        }
    }

    #[test]
    fn the_request_rate_is_sessions_times_their_length() {
        let result = simulate(&spec(1000, Algorithm::RoundRobin, false), 3);
        // Sessions start as Poisson(10/s): 10,000 expected, sd 100. Each sends 5 requests
        // over 4 s, so those of the last 4 s send fewer: 10 × (4 + 3 + 2 + 1) = 100
        // requests short. 5 × 5 sd of sessions is 2,500 requests.
        let expected = SESSION_RATE * 5.0 * 1000.0 - 100.0;
        let arrived = result.counts.arrived as f64;
        assert!((arrived - expected).abs() < 2_500.0, "{arrived}");
        let started = count(&result, Figure::SessionsStarted) as f64;
        assert!((started - 10_000.0).abs() < 500.0, "{started}");
        assert!(conserved(&result));
    }

    #[test]
    fn sessions_are_conserved_through_crashes_and_leaves() {
        let mut crashing = spec(600, Algorithm::LeastConnections, false);
        crashing.affinity = cookie(30);
        crashing.servers[0].failures = Some(FailureProcess {
            mtbf: SimDuration::from_secs(60),
            mttr: SimDuration::from_secs(5),
        });
        crashing.timeline = vec![remove_at(300, "web-2")];
        let result = simulate(&crashing, 9);
        assert!(count(&result, Figure::SessionsLost) > 0);
        assert!(count(&result, Figure::SessionsCompleted) > 0);
        assert!(conserved(&result), "{:?}", result.figures);
    }

    #[test]
    fn without_affinity_local_state_is_lost_and_with_the_store_never() {
        let round_robin = simulate(&spec(200, Algorithm::RoundRobin, false), 4);
        let started = count(&round_robin, Figure::SessionsStarted);
        // Round robin over 4 servers sends a session's second request elsewhere with
        // probability about 3/4, and every session has 5 requests: nearly all are lost.
        assert!(count(&round_robin, Figure::SessionsLost) * 10 > started * 9);
        let mut stored = spec(200, Algorithm::RoundRobin, true);
        stored.timeline = vec![remove_at(100, "web-1")];
        let result = simulate(&stored, 4);
        assert_eq!(count(&result, Figure::SessionsLost), 0);
        assert!(conserved(&result));
    }

    #[test]
    fn with_cookie_affinity_only_the_leaving_servers_sessions_are_lost() {
        let mut sticky = spec(200, Algorithm::LeastConnections, false);
        sticky.affinity = cookie(60);
        let result = simulate(&sticky, 4);
        assert_eq!(count(&result, Figure::SessionsLost), 0);
        assert_eq!(count(&result, Figure::Repins), 0);
        sticky.timeline = vec![remove_at(100, "web-1")];
        let result = simulate(&sticky, 4);
        // Live at 100 s: 10/s × 4 s of session life = 40, a quarter on web-1; those
        // with requests left re-pin and are lost. Poisson spread: 1 to 30 is wide.
        let lost = count(&result, Figure::SessionsLost);
        assert!((1..=30).contains(&lost), "{lost}");
        assert_eq!(count(&result, Figure::Repins), lost);
    }

    #[test]
    fn hash_affinity_on_the_session_keeps_state_without_a_table() {
        let mut hashed = spec(200, Algorithm::Maglev, false);
        hashed.balancer.hash_on = HashOn::Session;
        let result = simulate(&hashed, 4);
        assert_eq!(count(&result, Figure::SessionsLost), 0);
        assert_eq!(count(&result, Figure::AffinityTablePeak), 0);
        // And the sessions spread: one server does not take them all.
        assert!(result.load_cv().unwrap() < 0.2, "{:?}", result.load_cv());
    }

    #[test]
    fn modulo_hashing_remaps_far_more_live_sessions_than_the_ring_or_maglev() {
        let share = |algorithm| {
            let mut hashed = spec(200, algorithm, false);
            hashed.balancer.hash_on = HashOn::Session;
            hashed.sessions = Some(sessions(
                SessionLength::Constant(5),
                SimDuration::from_secs(10),
                false,
            ));
            hashed.timeline = vec![remove_at(100, "web-1")];
            let result = simulate(&hashed, 4);
            result.figures.get(Figure::SessionsRemappedShare).unwrap()
        };
        // Sessions of 40 s starting at 10/s: about 400 live. Modulo moves ~3/4 of them
        // (1 − 1/4), the ring and Maglev the leaver's ~1/4 (the ring's share of 4 × 160
        // points varies by ~4%). The binomial sd is ~0.02: 0.55 and 0.45 are 10 sd away.
        let (modulo, ring, maglev) = (
            share(Algorithm::IpHash),
            share(Algorithm::ConsistentHash),
            share(Algorithm::Maglev),
        );
        assert!(modulo > 0.55, "{modulo}");
        assert!(ring < 0.45 && maglev < 0.45, "ring {ring}, maglev {maglev}");
    }

    #[test]
    fn the_session_table_stays_bounded_in_a_long_run() {
        let mut long = spec(3600, Algorithm::RoundRobin, false);
        long.affinity = cookie(10);
        let result = simulate(&long, 6);
        // An entry lives from a session's start until 10 s after its last request (4 s
        // later) plus at most one sweep interval (1 s): 15 s. Sessions start at 10/s, so
        // the table holds about 150; its peak over an hour of Poisson windows stays well
        // under 250 (the mean + 8 sd), against 36,000 sessions in the run.
        let peak = count(&result, Figure::AffinityTablePeak);
        assert!((100..250).contains(&peak), "{peak}");
        assert!(count(&result, Figure::SessionsStarted) > 30_000);
    }
}
