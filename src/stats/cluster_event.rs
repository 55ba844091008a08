//! A change in the cluster while a run goes on: a server joined, left or changed state.
//! One row of events.csv each; the model records them as they happen, the report writes
//! them, and a shard file carries them.

use crate::engine::SimTime;

/// One change in the cluster: of one server's state, of the balancers' view of it, of an
/// autoscaled group's capacity, or of the balancer's panic.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterEvent {
    pub time: SimTime,
    /// Instance name (`web-3`), a database node's (`db-s0-primary`), an autoscaled group's
    /// (on a capacity row), or empty (on a panic row).
    pub server: String,
    /// The state before the change (`booting`, `ready`, `draining`, `down`), or `absent`
    /// when the server joins; for a change of the balancers' view of it, that view
    /// (`healthy`, `unhealthy`, `ejected`, `unknown`, a breaker's `closed`, `open` or
    /// `half-open`); a database node's role (`primary`, `replica`); `capacity` on an
    /// autoscaler's row, `normal` or `panic` on a panic's. One of [`STATE_NAMES`].
    pub from: &'static str,
    /// The state after it, or `absent` when the server has left for good.
    pub to: &'static str,
    /// Why it changed: one of [`REASON_NAMES`].
    pub reason: &'static str,
    /// What a decision saw, for the rows that record one (an autoscaler's: the capacity it
    /// moved and the metric values it read; a panic's: the count that decided it), and a
    /// speed change's new speed; empty for the others.
    pub detail: String,
}

/// Every state name a [`ClusterEvent`] may carry, so that a shard file can store the name
/// and read back the same `&'static str`; a database node's role (`primary`, `replica`)
/// among them. New names go at the end: a time-series row stores a name's position.
pub const STATE_NAMES: &[&str] = &[
    "absent",
    "booting",
    "ready",
    "draining",
    "down",
    "healthy",
    "unhealthy",
    "ejected",
    "closed",
    "open",
    "half-open",
    "unknown",
    "capacity",
    "primary",
    "replica",
    "normal",
    "panic",
];

/// Every reason a [`ClusterEvent`] may give, in kebab-case, for the same purpose: a change
/// the scenario's timeline scheduled, a drain that finished, a server taken out, a speed
/// change, a crash, the restart and boot after it, a recovery, a health check's or an
/// outlier ejection's verdict (`outlier-success-rate` when the success-rate detector
/// ejected it), a circuit breaker's transition (its states `closed`,
/// `open`, `half-open`), an autoscaler's decision and the replacement of a crashed
/// instance, the end of a slow start, service discovery catching up; a database node
/// failing, a failed primary coming back, a replica promoted to primary, a node created by
/// a reshard.
pub const REASON_NAMES: &[&str] = &[
    "timeline",
    "drained",
    "server-removed",
    "speed-change",
    "crash",
    "restart",
    "booted",
    "recovered",
    "health-check",
    "outlier-ejection",
    "scale-out",
    "scale-in",
    "slow-start",
    "discovery",
    "circuit-breaker",
    "db-failure",
    "db-recovery",
    "promotion",
    "reshard",
    "replaced",
    "replacement",
    "outlier-success-rate",
];

/// The `from` and `to` of an autoscaler's decision row, whose `server` is the group it
/// scales and whose `detail` says how many instances and why.
pub const CAPACITY: &str = "capacity";

/// The balancer's mode in a panic row (no server): `normal`, or `panic` when too few
/// hosts are healthy and every host is in rotation whatever its health.
pub const NORMAL: &str = "normal";
pub const PANIC: &str = "panic";

/// The balancers' view of a server service discovery has not told them of (yet, or any
/// more).
pub const UNKNOWN: &str = "unknown";

/// The `&'static str` of `names` equal to `name`: how a name read from a file becomes one
/// an event can hold; `None` when `names` lacks it.
pub fn known_name(names: &[&'static str], name: &str) -> Option<&'static str> {
    names.iter().copied().find(|&known| known == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_name_comes_back_as_a_static_str() {
        let read = String::from("draining");
        let name: &'static str = known_name(STATE_NAMES, &read).unwrap();
        drop(read);
        assert_eq!(name, "draining");
        assert_eq!(known_name(REASON_NAMES, "scale-out"), Some("scale-out"));
        assert_eq!(known_name(REASON_NAMES, "draining"), None);
        assert_eq!(known_name(STATE_NAMES, "Ready"), None);
    }

    #[test]
    fn names_are_unique_kebab_case() {
        for names in [STATE_NAMES, REASON_NAMES] {
            for (i, name) in names.iter().enumerate() {
                assert!(
                    name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                    "{name}"
                );
                assert!(!names[i + 1..].contains(name), "{name} twice");
            }
        }
    }
}
