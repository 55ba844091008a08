//! The random streams of the model: one kind per source of randomness. Kinds are never
//! renumbered, so a scenario keeps its results when a new kind is added.

/// Gaps between arrivals.
pub const ARRIVALS: u16 = 1;
/// Which client address each request comes from.
pub const CLIENTS: u16 = 2;
/// Work each request brings.
pub const SERVICE: u16 = 3;
/// The balancer's own draws (random, power of two choices, least-request,
/// join-idle-queue), one stream per instance.
pub const BALANCER: u16 = 4;
/// Which balancer instance a request reaches, and which one an idle server reports to.
pub const SPREAD: u16 = 5;
/// Work each request brings to a second tier, one stream per tier.
pub const TIER_SERVICE: u16 = 6;
/// Times to failure and to repair, one stream per server.
pub const FAILURES: u16 = 7;
/// The jitter of health-check intervals.
pub const HEALTH_CHECKS: u16 = 8;
/// Which responses of a server in a gray failure are errors, one stream per server.
pub const GRAY_FAILURES: u16 = 11;
/// Zone-aware routing's draws: whether a request stays in its zone, and where it spills.
pub const ZONE_ROUTING: u16 = 12;
/// The jitter of the clients' retry backoff (`[client]`).
pub const RETRY_BACKOFF: u16 = 9;
/// An autoscaler's provisioning delays, one stream per scaled group.
pub const AUTOSCALING: u16 = 10;
/// The data tier's per-request draws: how many queries, each one's kind and key.
pub const DATABASE_QUERIES: u16 = 17;
/// Query service times, one stream per database node.
pub const DATABASE_SERVICE: u16 = 18;
/// The replica balancer's own draws, one stream per shard.
pub const DATABASE_REPLICA_CHOICE: u16 = 19;
/// Replication lags, one per write.
pub const REPLICATION_LAG: u16 = 20;
/// Sessions: index 0 their starts, 1 their lengths, 2 think times, 3 their users.
pub const SESSIONS: u16 = 13;
/// Session state: index 0 the session store's service, 1 re-login work.
pub const SESSION_STATE: u16 = 14;
