//! A change in the cluster while a run goes on: a server joined, left or changed state.
//! One row of events.csv each; the model records them as they happen, the report writes
//! them, and a shard file carries them.

use crate::engine::SimTime;

/// One change of one server's state.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterEvent {
    pub time: SimTime,
    /// Instance name (`web-3`).
    pub server: String,
    /// The state before the change (`booting`, `ready`, `draining`, `down`), or `absent`
    /// when the server joins.
    pub from: &'static str,
    /// The state after it, or `absent` when the server has left for good.
    pub to: &'static str,
    /// Why it changed, in kebab-case (`timeline`, `drained`, `server-removed`, and later
    /// `health-check`, `scale-out`, `crash`).
    pub reason: &'static str,
}

/// Every state name a [`ClusterEvent`] may carry, so that a shard file can store an index
/// and read back the same `&'static str`.
pub const STATE_NAMES: &[&str] = &["absent", "booting", "ready", "draining", "down"];
