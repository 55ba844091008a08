//! Load-balancing algorithms, one file each, behind the [`Balancer`] trait.
//!
//! A balancer only knows what it has been told: which servers are in its pool
//! ([`Balancer::add`], [`Balancer::remove`]) and what happened to the requests it sent
//! ([`Balancer::dispatched`], [`Balancer::finished`], told whether or not the server is
//! still in the pool, so that a count of open requests is always true). It keeps its own
//! index structures, updated on each of those calls, so that [`Balancer::pick`] costs O(1)
//! or O(log n) in the number of servers and never scans them all. Randomness comes in
//! through `rng`, so a balancer is a pure, unit-testable state machine.

mod consistent_hash;
mod consistent_hash_bounded;
mod first;
mod indexed_heap;
mod ip_hash;
mod join_idle_queue;
mod least_connections;
mod least_request;
mod least_response_time;
mod least_response_time_naive;
mod maglev;
mod pool;
mod power_of_two_choices;
mod random;
mod round_robin;
#[cfg(test)]
mod testing;
mod weighted_pool;
mod weighted_round_robin;
mod weights;

use std::fmt;

use crate::engine::{SimDuration, SimRng, SimTime};
use crate::hash::{fmix64, hash_addr};
use crate::id::{RequestKey, ServerId};

pub use consistent_hash::ConsistentHash;
pub use consistent_hash_bounded::ConsistentHashBounded;
pub use first::First;
pub use ip_hash::IpHash;
pub use join_idle_queue::JoinIdleQueue;
pub use least_connections::LeastConnections;
pub use least_request::LeastRequest;
pub use least_response_time::LeastResponseTime;
pub use least_response_time_naive::LeastResponseTimeNaive;
pub use maglev::Maglev;
pub use power_of_two_choices::PowerOfTwoChoices;
pub use random::Random;
pub use round_robin::RoundRobin;
pub use weighted_round_robin::WeightedRoundRobin;

/// A server as announced to a balancer when it joins the pool.
#[derive(Copy, Clone, Debug)]
pub struct Backend<'a> {
    pub id: ServerId,
    /// Instance name (`web-3`): hashing algorithms place servers by name, so that a
    /// server keeps its place on a ring whatever ids the others have.
    pub name: &'a str,
    pub weight: u32,
}

/// A load-balancing algorithm.
pub trait Balancer: Send {
    /// A server joins the pool: a newcomer, or a server coming back under the id it had
    /// (health checks, outlier ejection, panic and service discovery take a server out of
    /// rotation and put it back; an id never passes to another server). An algorithm that
    /// counts a server's open requests has counted them all along, out of the pool too
    /// ([`Balancer::finished`]), and takes it back at that count, as Envoy keeps a host's
    /// `rq_active` for the host's life and HAProxy a server's `served` through maintenance:
    /// requests sent before it left and still open are load on it. (A server that left
    /// the cluster for good had every request it held ended first, so nothing of it is
    /// left to count.) A member already: nothing.
    fn add(&mut self, backend: Backend<'_>);

    /// A server leaves the pool; picks never return it until it is added again. What the
    /// balancer counts of it stays: the requests it holds still end, through
    /// [`Balancer::finished`].
    fn remove(&mut self, server: ServerId);

    /// `server`, in the pool, now weighs `weight`; everything else this balancer knows of
    /// it stays (its open connections, its estimates, its place in a schedule), as when
    /// HAProxy's `set weight` or its `slowstart` warm-up changes a running server's
    /// effective weight. A server not in the pool: nothing. Slow start calls it as a
    /// server's weight ramps up.
    ///
    /// Honoured, in O(log n) or better and never by rebuilding the pool, by the algorithms
    /// for which [`Algorithm::honours_weight_changes`] is true: weighted-round-robin,
    /// least-connections, random, power-of-two-choices and least-request (and zone-aware
    /// routing around them, which passes it on). The others keep this default, which does
    /// nothing, because weights do not change what this algorithm does — round-robin,
    /// least-response-time(-naive), first and join-idle-queue ignore weights; the hashing
    /// ones (ip-hash, consistent-hash, maglev, consistent-hash-bounded) place a server by
    /// its weight once, when it joins (re-placing it means laying out the ring or table
    /// again). Validation rejects slow start for all of these.
    fn set_weight(&mut self, _server: ServerId, _weight: u32) {}

    /// Simulated time has reached `now`. The world calls it, when
    /// [`Balancer::wants_ticks`] says so, before every other call it makes at a new
    /// instant (before `pick` on an arrival, before `finished` on a completion, before
    /// `add`/`remove`/`server_idle`), never with a time earlier than the last. Only
    /// balancers whose estimates age with time (peak EWMA) look at it.
    fn tick(&mut self, _now: SimTime) {}

    /// Whether this algorithm reads the time ([`Balancer::tick`]); asked once, so that the
    /// others cost nothing for it.
    fn wants_ticks(&self) -> bool {
        false
    }

    /// Chooses a server for `request`, or `None` when the pool is empty.
    fn pick(&mut self, request: &RequestKey, rng: &mut SimRng) -> Option<ServerId>;

    /// Chooses again for `request`, whose last pick a retry's host predicate refused
    /// (`attempt` is 1 for the first reselection): Envoy's `chooseHost` loop under
    /// `host_selection_retry_max_attempts`. By default a pick like any other — a round
    /// robin moves on, a random choice draws again, a balancer that picks by its state
    /// alone (least connections) finds the same server. The hashing algorithms, whose
    /// pick would never change, choose as Envoy's do for an attempt: the ring the point
    /// `attempt` places further on, Maglev (and IP hash) a hash with `attempt`'s
    /// complement mixed in.
    fn pick_again(
        &mut self,
        request: &RequestKey,
        rng: &mut SimRng,
        _attempt: u32,
    ) -> Option<ServerId> {
        self.pick(request, rng)
    }

    /// A hint that `request` is the next to be picked: a balancer whose pick reads memory
    /// the caches may not hold can start loading it now. Changes nothing.
    fn prefetch(&self, _request: &RequestKey) {}

    /// Whether this algorithm takes [`Balancer::prefetch`] hints; asked once, so that the
    /// others are not called for nothing at every arrival.
    fn wants_prefetch(&self) -> bool {
        false
    }

    /// A hint that `server`'s request is about to end ([`Balancer::finished`]): a balancer
    /// whose per-server state the caches may not hold can start loading it now. Changes
    /// nothing.
    fn prefetch_server(&self, _server: ServerId) {}

    /// The request this balancer picked `server` for was accepted there: one more open
    /// connection.
    fn dispatched(&mut self, _server: ServerId) {}

    /// A request this balancer dispatched to `server` ended after `elapsed` (dispatch to
    /// response); `succeeded` is false when it ended without a response. Told whether or
    /// not `server` is still in the pool: every dispatch has its one end, on the balancer
    /// that dispatched it, so that a balancer's count of a server is always the requests
    /// it sent there that have not ended.
    fn finished(&mut self, _server: ServerId, _elapsed: SimDuration, _succeeded: bool) {}

    /// Where `request` maps for an algorithm whose pick depends only on the request's key
    /// and the pool (the hashing ones), without picking: what a membership change's
    /// remapped share is measured with. `None` for the others. Changes nothing visible.
    fn route(&mut self, _request: &RequestKey) -> Option<ServerId> {
        None
    }

    /// Whether this algorithm listens to [`Balancer::server_idle`]; asked once, so that
    /// the others cost nothing for idle reports.
    fn wants_idle_reports(&self) -> bool {
        false
    }

    /// The health checks entered (`true`) or left panic mode, where every host is in the
    /// pool whatever its health. Only zone-aware routing, which Envoy turns off in panic,
    /// listens.
    fn set_panic(&mut self, _panic: bool) {}

    /// `server` has become idle (no request in service or queued) and reports it to this
    /// balancer, as a server reports to one balancer's idle queue in join-idle-queue.
    /// With several balancers only one of them is told.
    fn server_idle(&mut self, _server: ServerId) {}

    /// What this balancer looked at when it picked `picked` for `request`, just after that
    /// pick and before the request is dispatched: for `lbsim trace`, never on the hot path,
    /// so it may take O(n). Changes nothing.
    fn explain(&self, _request: &RequestKey, _picked: ServerId) -> Explanation {
        Explanation::default()
    }

    /// The open requests this balancer counts on `server`, in the pool or not; `None` for
    /// an algorithm that counts none. For the tests that hold the count to the requests
    /// dispatched there and not yet finished, which `explain` shows only in part.
    #[cfg(test)]
    fn open_requests(&self, _server: ServerId) -> Option<u32> {
        None
    }
}

/// What a balancer compared to make one pick, as `lbsim trace` tells it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Explanation {
    /// The figure the servers were compared by (`"open connections"`, `"estimate ms"`);
    /// empty when the algorithm compares none (round robin, random, and the hashing ones
    /// but consistent-hash-bounded).
    pub measure: &'static str,
    /// The servers compared and their figure, in the order the algorithm considered them
    /// (every server for least-connections, the two drawn for power of two choices).
    pub compared: Vec<(ServerId, f64)>,
    /// For hashing algorithms: the request's hash and the ring point or table slot it
    /// landed on.
    pub hash: Option<(u64, u64)>,
}

/// The algorithms a scenario can name in `balancer.algorithm`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    WeightedRoundRobin,
    LeastConnections,
    LeastResponseTime,
    LeastResponseTimeNaive,
    IpHash,
    Random,
    PowerOfTwoChoices,
    LeastRequest,
    ConsistentHash,
    First,
    JoinIdleQueue,
    Maglev,
    ConsistentHashBounded,
}

impl Algorithm {
    /// Every algorithm, in the order the README's table lists them.
    pub const ALL: [Algorithm; 14] = [
        Algorithm::RoundRobin,
        Algorithm::WeightedRoundRobin,
        Algorithm::LeastConnections,
        Algorithm::LeastResponseTime,
        Algorithm::LeastResponseTimeNaive,
        Algorithm::IpHash,
        Algorithm::Random,
        Algorithm::PowerOfTwoChoices,
        Algorithm::LeastRequest,
        Algorithm::ConsistentHash,
        Algorithm::First,
        Algorithm::JoinIdleQueue,
        Algorithm::Maglev,
        Algorithm::ConsistentHashBounded,
    ];

    /// The kebab-case name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round-robin",
            Algorithm::WeightedRoundRobin => "weighted-round-robin",
            Algorithm::LeastConnections => "least-connections",
            Algorithm::LeastResponseTime => "least-response-time",
            Algorithm::LeastResponseTimeNaive => "least-response-time-naive",
            Algorithm::IpHash => "ip-hash",
            Algorithm::Random => "random",
            Algorithm::PowerOfTwoChoices => "power-of-two-choices",
            Algorithm::LeastRequest => "least-request",
            Algorithm::ConsistentHash => "consistent-hash",
            Algorithm::First => "first",
            Algorithm::JoinIdleQueue => "join-idle-queue",
            Algorithm::Maglev => "maglev",
            Algorithm::ConsistentHashBounded => "consistent-hash-bounded",
        }
    }

    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether server weights change what this algorithm does (a weight of 0 is then an
    /// error rather than a no-op).
    pub fn uses_weights(self) -> bool {
        matches!(
            self,
            Algorithm::WeightedRoundRobin
                | Algorithm::LeastConnections
                | Algorithm::Random
                | Algorithm::PowerOfTwoChoices
                | Algorithm::LeastRequest
                | Algorithm::ConsistentHash
                | Algorithm::Maglev
                | Algorithm::ConsistentHashBounded
        )
    }

    /// Whether [`Balancer::set_weight`] changes what this algorithm does: it uses weights
    /// and does not hash keys. Slow start is valid only for these. Envoy ramps only round
    /// robin and least request (its EDF schedules); HAProxy ramps its dynamic algorithms
    /// (`BE_LB_PROP_DYN`), its consistent hashing among them. Here a ring or a Maglev table
    /// is laid out once per join, and laying it out again at every step of a ramp would be
    /// the rebuild `set_weight` must not be.
    pub fn honours_weight_changes(self) -> bool {
        self.uses_weights() && !self.hashes_keys()
    }

    /// Whether this algorithm maps a request by hashing a key of it, so that it can hash
    /// on the client address or on the session (`balancer.hash_on`).
    pub fn hashes_keys(self) -> bool {
        matches!(
            self,
            Algorithm::IpHash
                | Algorithm::ConsistentHash
                | Algorithm::Maglev
                | Algorithm::ConsistentHashBounded
        )
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A balancer's configuration: the algorithm and its parameters. An algorithm's parameter
/// is ignored by the algorithms it does not concern, so that a sweep over the algorithm can
/// keep one `[balancer]` table.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancerSpec {
    pub algorithm: Algorithm,
    /// Points per unit of weight on the ring of consistent-hash and consistent-hash-bounded
    /// (NGINX: 160).
    pub virtual_nodes: u32,
    /// Servers drawn per pick by `least-request` (Envoy's `choice_count`, default 2); at
    /// least 1.
    pub choice_count: u32,
    /// `least-request` with unequal weights: a server's schedule weight is
    /// `weight / (active + 1)^active_request_bias` (Envoy's default 1.0); at least 0.
    pub active_request_bias: f64,
    /// `first`: the connections a server takes before the next one is used (HAProxy's
    /// per-server `maxconn`); required by `first`.
    pub max_connections: Option<u32>,
    /// `least-response-time`: the time constant τ of the peak EWMA (Finagle's
    /// `decayTime`, default 10 s); positive.
    pub decay: SimDuration,
    /// Balancer instances in front of the cluster, each with its own view (its own
    /// connection counts); requests are spread over them.
    pub instances: u32,
    /// How requests are spread over the instances.
    pub spread: Spread,
    /// What the hashing algorithms hash a request on.
    pub hash_on: HashOn,
    /// `maglev`: entries of the lookup table, a prime (Envoy's default 65,537).
    pub table_size: u32,
    /// `consistent-hash-bounded`: no server takes more than this many times its share of
    /// the open connections (HAProxy's `hash-balance-factor` / 100); above 1.
    pub balance_factor: f64,
}

/// What a hashing algorithm hashes a request on: hash affinity on the client address
/// (NGINX `hash $remote_addr`, HAProxy `balance source`) or on the session cookie (NGINX
/// `hash $cookie_id`, HAProxy `balance hdr(Cookie)`, Envoy's `hash_policy` on a cookie).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HashOn {
    Client,
    /// The session id; a request outside any session hashes on its client address, as
    /// Envoy falls back to its next hash policy when the cookie is absent.
    Session,
}

impl HashOn {
    pub const ALL: [HashOn; 2] = [HashOn::Client, HashOn::Session];

    /// The name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            HashOn::Client => "client",
            HashOn::Session => "session",
        }
    }
}

/// The 64-bit hash of what `request` is hashed on.
pub fn key_hash(request: &RequestKey, hash_on: HashOn) -> u64 {
    match (hash_on, request.session) {
        (HashOn::Session, Some(session)) => fmix64(session.0 ^ 0x5e55_1011_5e55_1011),
        _ => hash_addr(request.client),
    }
}

/// `hash` for a reselection's `attempt`, as Envoy's Maglev mutates it (`maglev_lb.cc`:
/// `hash ^= ~0ULL - attempt + 1`, "a value with most bits set", so that retries spread
/// rather than land on one neighbour); the hash itself for attempt 0.
pub fn reselection_hash(hash: u64, attempt: u32) -> u64 {
    if attempt == 0 {
        hash
    } else {
        hash ^ (!0u64).wrapping_sub(u64::from(attempt)).wrapping_add(1)
    }
}

/// How requests are spread over several balancer instances (DNS round robin or an ECMP
/// router in front of them).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Spread {
    /// Each request to an instance drawn uniformly.
    Random,
    /// By a hash of the client address: a client always reaches the same instance.
    ClientHash,
}

impl Spread {
    pub const ALL: [Spread; 2] = [Spread::Random, Spread::ClientHash];

    /// The kebab-case name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Spread::Random => "random",
            Spread::ClientHash => "client-hash",
        }
    }
}

impl BalancerSpec {
    pub const DEFAULT_VIRTUAL_NODES: u32 = 160;
    /// Envoy's `least_request` default: two choices.
    pub const DEFAULT_CHOICE_COUNT: u32 = 2;
    /// Envoy's `least_request` default bias.
    pub const DEFAULT_ACTIVE_REQUEST_BIAS: f64 = 1.0;
    /// Finagle's `Balancers.p2cPeakEwma(decayTime = 10.seconds)`; Linkerd's proxy uses the
    /// same 10 s.
    pub const DEFAULT_DECAY: SimDuration = SimDuration::from_secs(10);
    /// Envoy's and the Maglev paper's table size.
    pub const DEFAULT_TABLE_SIZE: u32 = maglev::DEFAULT_TABLE_SIZE;
    /// 1.25: the low end of the 125 to 200 HAProxy's manual suggests for
    /// `hash-balance-factor` (Envoy's `hash_balance_factor` has no default).
    pub const DEFAULT_BALANCE_FACTOR: f64 = 1.25;

    /// `algorithm` with the file's defaults for its parameters.
    pub fn new(algorithm: Algorithm) -> Self {
        BalancerSpec {
            algorithm,
            virtual_nodes: Self::DEFAULT_VIRTUAL_NODES,
            choice_count: Self::DEFAULT_CHOICE_COUNT,
            active_request_bias: Self::DEFAULT_ACTIVE_REQUEST_BIAS,
            max_connections: None,
            decay: Self::DEFAULT_DECAY,
            instances: 1,
            spread: Spread::Random,
            hash_on: HashOn::Client,
            table_size: Self::DEFAULT_TABLE_SIZE,
            balance_factor: Self::DEFAULT_BALANCE_FACTOR,
        }
    }

    /// Builds an empty balancer; servers join it through [`Balancer::add`].
    /// `capacity` is the expected number of servers, to size index structures once.
    pub fn build(&self, capacity: usize) -> Box<dyn Balancer> {
        match self.algorithm {
            Algorithm::RoundRobin => Box::new(RoundRobin::with_capacity(capacity)),
            Algorithm::WeightedRoundRobin => Box::new(WeightedRoundRobin::with_capacity(capacity)),
            Algorithm::LeastConnections => Box::new(LeastConnections::with_capacity(capacity)),
            Algorithm::LeastResponseTime => Box::new(LeastResponseTime::new(capacity, self.decay)),
            Algorithm::LeastResponseTimeNaive => {
                Box::new(LeastResponseTimeNaive::with_capacity(capacity))
            }
            Algorithm::IpHash => Box::new(IpHash::with_capacity(capacity).keyed_by(self.hash_on)),
            Algorithm::Random => Box::new(Random::with_capacity(capacity)),
            Algorithm::PowerOfTwoChoices => Box::new(PowerOfTwoChoices::with_capacity(capacity)),
            Algorithm::LeastRequest => Box::new(LeastRequest::new(
                capacity,
                self.choice_count,
                self.active_request_bias,
            )),
            Algorithm::ConsistentHash => {
                Box::new(ConsistentHash::new(self.virtual_nodes).keyed_by(self.hash_on))
            }
            Algorithm::Maglev => Box::new(Maglev::new(self.table_size, self.hash_on)),
            Algorithm::ConsistentHashBounded => Box::new(ConsistentHashBounded::new(
                self.virtual_nodes,
                self.balance_factor,
                self.hash_on,
            )),
            // Validation requires `max_connections` for `first`; without it no server is
            // ever full, and `first` sends everything to the first server.
            Algorithm::First => Box::new(First::new(
                capacity,
                self.max_connections.unwrap_or(u32::MAX),
            )),
            Algorithm::JoinIdleQueue => Box::new(JoinIdleQueue::with_capacity(capacity)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::id::ClientAddr;

    #[test]
    fn the_algorithms_that_honour_weight_changes_are_the_weighted_unhashed_ones() {
        let honouring: Vec<Algorithm> = Algorithm::ALL
            .into_iter()
            .filter(|a| a.honours_weight_changes())
            .collect();
        assert_eq!(
            honouring,
            vec![
                Algorithm::WeightedRoundRobin,
                Algorithm::LeastConnections,
                Algorithm::Random,
                Algorithm::PowerOfTwoChoices,
                Algorithm::LeastRequest,
            ]
        );
    }

    /// The picks of `algorithm` over four servers with requests opening and closing,
    /// calling `set_weight` on two of them along the way when `reweigh` is set.
    fn picks(algorithm: Algorithm, reweigh: bool) -> Vec<ServerId> {
        let spec = BalancerSpec {
            max_connections: Some(3),
            ..BalancerSpec::new(algorithm)
        };
        let mut balancer = spec.build(4);
        let names = ["w-0", "w-1", "w-2", "w-3"];
        for (id, name) in names.iter().enumerate() {
            balancer.add(Backend {
                id: ServerId(id as u32),
                name,
                weight: 100,
            });
            balancer.server_idle(ServerId(id as u32));
        }
        let mut rng = stream(2, 0, 0);
        let mut open = std::collections::VecDeque::new();
        let mut picks = Vec::new();
        for i in 0..400u32 {
            if reweigh && i % 50 == 0 {
                balancer.set_weight(ServerId(i / 50 % 4), 10 + i);
            }
            let request = RequestKey {
                client: ClientAddr(i % 37),
                session: None,
            };
            let server = balancer.pick(&request, &mut rng).expect("a pool");
            balancer.dispatched(server);
            open.push_back(server);
            if open.len() > 6 {
                let done = open.pop_front().expect("open requests");
                balancer.finished(done, SimDuration::from_millis(u64::from(i % 7)), true);
                balancer.server_idle(done);
            }
            picks.push(server);
        }
        picks
    }

    #[test]
    fn set_weight_changes_nothing_for_the_other_algorithms_and_something_for_these() {
        for algorithm in Algorithm::ALL {
            let changed = picks(algorithm, false) != picks(algorithm, true);
            assert_eq!(changed, algorithm.honours_weight_changes(), "{algorithm}");
        }
    }
}
