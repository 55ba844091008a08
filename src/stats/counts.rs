//! Request outcome counts over the measured period.

/// How measured requests (those arriving after warmup) ended. Every arrived request is
/// exactly one of completed, rejected, failed or in flight when the run stops.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub arrived: u64,
    pub completed: u64,
    /// Turned away by a full server queue.
    pub rejected: u64,
    /// Ended without service for another reason (no server available, ...).
    pub failed: u64,
    /// Still queued or in service at the end of the run.
    pub in_flight: u64,
}

impl Counts {
    /// Whether every arrived request is accounted for exactly once.
    pub fn is_conserved(&self) -> bool {
        self.arrived == self.completed + self.rejected + self.failed + self.in_flight
    }
}
