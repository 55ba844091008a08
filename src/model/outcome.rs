//! How a request ends. Every count in a run derives from these outcomes, so conservation
//! (arrived = completed + rejected + failed + in flight) holds by construction. A new
//! way to fail is a new [`FailReason`], with its own figure.

use crate::stats::Figure;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Served and answered.
    Completed,
    /// Turned away by a full queue at the chosen server.
    Rejected,
    /// Never answered, for the reason given.
    Failed(FailReason),
}

impl Outcome {
    /// The kebab-case name the trace view uses.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Completed => "completed",
            Outcome::Rejected => "rejected",
            Outcome::Failed(reason) => reason.name(),
        }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// The balancer had no server to pick.
    NoServer,
    /// Its server was taken out abruptly while the request was queued or in service there,
    /// or still held it when its graceful removal's deregistration delay ended.
    ServerRemoved,
    /// A tier it called had no room in its queue.
    TierRejected,
    /// Its server crashed while the request was queued or in service there.
    Crash,
    /// It was sent to a server that was down or still booting: the connection was refused.
    ServerDown,
    /// Its server did the work and answered with an error (a gray failure).
    ErrorResponse,
    /// Its server had no memory left for it and refused it (the resource model).
    OutOfMemory,
    /// The client's timeout fired before an answer came (`[client]`).
    Timeout,
    /// The circuit breaker of the backend the balancer picked refused it
    /// (`[circuit_breaker]`).
    CircuitOpen,
    /// A query waited longer than its pool's timeout for a database connection.
    PoolTimeout,
    /// A query's database node failed under it, or its shard had no primary.
    DatabaseDown,
    /// Its session was pinned to a server out of rotation, and affinity says to fail
    /// rather than re-pin.
    PinnedUnavailable,
}

impl FailReason {
    /// The summary column that counts failures for this reason.
    pub fn figure(self) -> Figure {
        match self {
            FailReason::NoServer => Figure::FailedNoServer,
            FailReason::ServerRemoved => Figure::FailedServerRemoved,
            FailReason::TierRejected => Figure::FailedTierRejected,
            FailReason::Crash => Figure::FailedCrash,
            FailReason::ServerDown => Figure::FailedServerDown,
            FailReason::ErrorResponse => Figure::FailedErrorResponse,
            FailReason::OutOfMemory => Figure::FailedOutOfMemory,
            FailReason::Timeout => Figure::FailedTimeout,
            FailReason::CircuitOpen => Figure::FailedCircuitOpen,
            FailReason::PoolTimeout => Figure::FailedPoolTimeout,
            FailReason::DatabaseDown => Figure::FailedDatabaseDown,
            FailReason::PinnedUnavailable => Figure::FailedPinnedUnavailable,
        }
    }

    /// The kebab-case name the trace view and the outputs use.
    pub fn name(self) -> &'static str {
        match self {
            FailReason::NoServer => "no-server",
            FailReason::ServerRemoved => "server-removed",
            FailReason::TierRejected => "tier-rejected",
            FailReason::Crash => "crash",
            FailReason::ServerDown => "server-down",
            FailReason::ErrorResponse => "error-response",
            FailReason::OutOfMemory => "out-of-memory",
            FailReason::Timeout => "timeout",
            FailReason::CircuitOpen => "circuit-open",
            FailReason::PoolTimeout => "pool-timeout",
            FailReason::DatabaseDown => "database-down",
            FailReason::PinnedUnavailable => "pinned-unavailable",
        }
    }
}
