//! How a request ends. Every count in a run derives from these outcomes, so conservation
//! (arrived = completed + rejected + failed + in flight) holds by construction; the enum
//! grows as the model does (timeouts, crashes, ...).

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Served and answered.
    Completed,
    /// Turned away by a full queue at the chosen server.
    Rejected,
    /// Never served, for the reason given.
    Failed(FailReason),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// The balancer had no server to pick.
    NoServer,
}
