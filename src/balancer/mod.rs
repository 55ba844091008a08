//! Load-balancing algorithms, one file each, behind the [`Balancer`] trait.
//!
//! A balancer only knows what it has been told: which servers are in its pool
//! ([`Balancer::add`], [`Balancer::remove`]) and what happened to the requests it sent
//! ([`Balancer::dispatched`], [`Balancer::finished`]). It keeps its own index structures,
//! updated on each of those calls, so that [`Balancer::pick`] costs O(1) or O(log n) in the
//! number of servers and never scans them all. Randomness comes in through `rng`, so a
//! balancer is a pure, unit-testable state machine.

mod consistent_hash;
mod indexed_heap;
mod ip_hash;
mod least_connections;
mod least_response_time;
mod pool;
mod power_of_two_choices;
mod random;
mod round_robin;
#[cfg(test)]
mod testing;
mod weighted_round_robin;

use std::fmt;

use crate::engine::{SimDuration, SimRng};
use crate::id::{RequestKey, ServerId};

pub use consistent_hash::ConsistentHash;
pub use ip_hash::IpHash;
pub use least_connections::LeastConnections;
pub use least_response_time::LeastResponseTime;
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
    /// A server joins the pool. Its id has never been used in this run.
    fn add(&mut self, backend: Backend<'_>);

    /// A server leaves the pool; later picks never return it.
    fn remove(&mut self, server: ServerId);

    /// Chooses a server for `request`, or `None` when the pool is empty.
    fn pick(&mut self, request: &RequestKey, rng: &mut SimRng) -> Option<ServerId>;

    /// A hint that `request` is the next to be picked: a balancer whose pick reads memory
    /// the caches may not hold can start loading it now. Changes nothing.
    fn prefetch(&self, _request: &RequestKey) {}

    /// The request picked for `server` was accepted there: one more open connection.
    fn dispatched(&mut self, _server: ServerId) {}

    /// A request dispatched to `server` ended after `elapsed` (dispatch to response);
    /// `succeeded` is false when it ended without a response.
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
}

/// What a balancer compared to make one pick, as `lbsim trace` tells it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Explanation {
    /// The figure the servers were compared by (`"open connections"`, `"estimate ms"`);
    /// empty when the algorithm compares none (round robin, hashing, random).
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
    IpHash,
    Random,
    PowerOfTwoChoices,
    ConsistentHash,
}

impl Algorithm {
    /// Every algorithm, in the order the README's table lists them.
    pub const ALL: [Algorithm; 8] = [
        Algorithm::RoundRobin,
        Algorithm::WeightedRoundRobin,
        Algorithm::LeastConnections,
        Algorithm::LeastResponseTime,
        Algorithm::IpHash,
        Algorithm::Random,
        Algorithm::PowerOfTwoChoices,
        Algorithm::ConsistentHash,
    ];

    /// The kebab-case name used in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::RoundRobin => "round-robin",
            Algorithm::WeightedRoundRobin => "weighted-round-robin",
            Algorithm::LeastConnections => "least-connections",
            Algorithm::LeastResponseTime => "least-response-time",
            Algorithm::IpHash => "ip-hash",
            Algorithm::Random => "random",
            Algorithm::PowerOfTwoChoices => "power-of-two-choices",
            Algorithm::ConsistentHash => "consistent-hash",
        }
    }

    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether server weights change what this algorithm does (a weight of 0 is then an
    /// error rather than a no-op).
    pub fn uses_weights(self) -> bool {
        matches!(self, Algorithm::WeightedRoundRobin)
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A balancer's configuration: the algorithm and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct BalancerSpec {
    pub algorithm: Algorithm,
    /// Points per server on the consistent-hash ring.
    pub virtual_nodes: u32,
    /// Balancer instances in front of the cluster, each with its own view (its own
    /// connection counts); requests are spread over them.
    pub instances: u32,
    /// How requests are spread over the instances.
    pub spread: Spread,
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

    /// `algorithm` with the file's defaults for its parameters.
    pub fn new(algorithm: Algorithm) -> Self {
        BalancerSpec {
            algorithm,
            virtual_nodes: Self::DEFAULT_VIRTUAL_NODES,
            instances: 1,
            spread: Spread::Random,
        }
    }

    /// Builds an empty balancer; servers join it through [`Balancer::add`].
    /// `capacity` is the expected number of servers, to size index structures once.
    pub fn build(&self, capacity: usize) -> Box<dyn Balancer> {
        match self.algorithm {
            Algorithm::RoundRobin => Box::new(RoundRobin::with_capacity(capacity)),
            Algorithm::WeightedRoundRobin => Box::new(WeightedRoundRobin::with_capacity(capacity)),
            Algorithm::LeastConnections => Box::new(LeastConnections::with_capacity(capacity)),
            Algorithm::LeastResponseTime => Box::new(LeastResponseTime::with_capacity(capacity)),
            Algorithm::IpHash => Box::new(IpHash::with_capacity(capacity)),
            Algorithm::Random => Box::new(Random::with_capacity(capacity)),
            Algorithm::PowerOfTwoChoices => Box::new(PowerOfTwoChoices::with_capacity(capacity)),
            Algorithm::ConsistentHash => Box::new(ConsistentHash::new(self.virtual_nodes)),
        }
    }
}
