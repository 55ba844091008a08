//! The validated description of a data tier (`[database]`): what its queries look like,
//! how its data is laid out (shards, replicas), how application servers reach it
//! (connection pools) and what goes wrong with it (failures, a reshard).

use crate::balancer::Algorithm;
use crate::engine::{SimDuration, SimTime};
use crate::model::ServiceDist;

/// The data tier behind the application servers.
#[derive(Clone, Debug, PartialEq)]
pub struct DatabaseSpec {
    /// The share of queries that read; the rest write.
    pub read_share: f64,
    /// Queries each request makes, one after another, after its work on its server.
    pub queries: QueryCount,
    /// The service time of one query on a node, drawn when a worker takes it.
    pub service: ServiceDist,
    /// Which key (a row) each query touches, drawn per query, independently of the
    /// request's client and session.
    pub keys: KeyDist,
    /// Workers (concurrent queries) of every node.
    pub workers: u32,
    /// Queries that may wait at a node; beyond it the query is refused and its request
    /// fails (`tier-rejected`). `None` is unbounded.
    pub queue_limit: Option<u32>,
    /// Read replicas of every shard.
    pub replicas: u32,
    /// How a read picks one of its shard's replicas.
    pub replica_balancer: Algorithm,
    /// The time from a write's commit on the primary to its visibility on the replicas.
    pub replication_lag: ServiceDist,
    /// Whether a commit waits for a replica: what a failover loses.
    pub replication: ReplicationMode,
    /// Reads of a key with a write — by any request — not yet on the replicas go to the
    /// primary: a per-key oracle of replication, so that a scenario can show what stale
    /// reads cost against the best routing by freshness. It is not session read-your-
    /// writes (Rails' database selector, ProxySQL's GTID causal reads), which follows a
    /// session's own writes: keys here are drawn independently of sessions.
    pub read_your_writes: bool,
    pub shards: u32,
    pub sharding: Sharding,
    /// Connection pool of every application server; `None`: a connection is always free.
    pub pool: Option<PoolSpec>,
    /// From a primary's failure to a replica's promotion (or the primary's restart when
    /// its shard has no replica).
    pub failover: SimDuration,
    /// What a query needing the primary does while its shard has none.
    pub on_primary_failure: PrimaryFailure,
    /// Nodes that fail at given times, in time order.
    pub failures: Vec<NodeFailure>,
    /// A change of the shard count at a given time.
    pub reshard: Option<Reshard>,
}

/// Queries per request.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum QueryCount {
    Constant(u32),
    /// Poisson with this mean (a request may make none).
    Poisson(f64),
}

impl QueryCount {
    pub fn mean(self) -> f64 {
        match self {
            QueryCount::Constant(n) => f64::from(n),
            QueryCount::Poisson(mean) => mean,
        }
    }
}

/// The key a query touches, among `count` keys numbered from 0.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum KeyDist {
    Uniform {
        count: u32,
    },
    /// Key `k` (0-based) with probability proportional to `1 / (k + 1)^exponent`: a few
    /// hot rows.
    Zipf {
        count: u32,
        exponent: f64,
    },
}

impl KeyDist {
    pub fn count(self) -> u32 {
        match self {
            KeyDist::Uniform { count } | KeyDist::Zipf { count, .. } => count,
        }
    }
}

/// How a key maps to a shard.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sharding {
    /// `key % shards`.
    Modulo,
    /// The owner of the first point clockwise from the key's hash on a ring of
    /// `virtual_nodes` points per shard.
    ConsistentHash { virtual_nodes: u32 },
}

/// A connection pool of one application server (HikariCP's `maximumPoolSize` and
/// `connectionTimeout`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PoolSpec {
    pub max_connections: u32,
    /// How long a query waits for a connection before its request fails `pool-timeout`.
    pub timeout: SimDuration,
}

/// How a commit relates to the replicas, which decides what a promotion loses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ReplicationMode {
    /// The primary answers a commit before any replica has it, PostgreSQL's and MySQL's
    /// default: a promoted replica lacks the writes that had not reached it when the
    /// primary failed, and they are lost.
    Async,
    /// A commit waits for a replica's acknowledgement that it has the write (MySQL's
    /// semi-synchronous replication with `rpl_semi_sync_source_wait_point = AFTER_SYNC`,
    /// its default: "failover to the replica is lossless"; PostgreSQL's
    /// `synchronous_commit = on` with a synchronous standby, which Patroni's
    /// `synchronous_mode` sets up, promoting only a standby "certain" to hold every
    /// transaction that returned a successful commit): a promoted replica has every
    /// committed write. The wait itself, a round trip to the replica, is not modelled.
    Sync,
}

impl ReplicationMode {
    pub const NAMES: [&'static str; 2] = ["async", "sync"];

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "async" => Some(ReplicationMode::Async),
            "sync" => Some(ReplicationMode::Sync),
            _ => None,
        }
    }
}

/// What a query needing the primary does while its shard's primary is down.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PrimaryFailure {
    /// It fails at once (`database-down`).
    Fail,
    /// It waits, holding its connection and its request's worker, for the new primary.
    Wait,
}

/// One node of one shard failing at a time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct NodeFailure {
    pub at: SimTime,
    pub shard: u32,
    pub node: NodeRole,
}

/// A node of a shard, by role.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NodeRole {
    Primary,
    /// Replica number `n`, from 0.
    Replica(u32),
}

/// The shard count becomes `shards` at `at` (the new shards' nodes start empty).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reshard {
    pub at: SimTime,
    pub shards: u32,
}
