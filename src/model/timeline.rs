//! Scheduled changes to the cluster: the `[[timeline]]` of a scenario.
//!
//! Each action is a one-shot timer armed when the run starts; actions at the same instant
//! happen in file order. Validation has checked every name and count against the cluster
//! as it will be at that moment (a removed server exists, a group exists, the cluster is
//! never left empty), so applying an action cannot fail; an action naming a server an
//! autoscaler has removed since does nothing.

use super::fraction::Fraction;
use crate::engine::{SimDuration, SimTime};

/// One scheduled change.
#[derive(Clone, Debug, PartialEq)]
pub struct TimelineAction {
    pub at: SimTime,
    pub change: Change,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// `count` new servers of group `group` (its index in `[[servers]]`) join, ready at
    /// once, named on from the group's last index.
    Add { group: usize, count: u32 },
    /// Server `server` (an instance name) leaves. Gracefully it leaves rotation and
    /// finishes what it holds, then goes down — or, if its group's deregistration delay
    /// ends first, fails what is left with reason `server-removed`; abruptly it goes down
    /// at once and every request it holds fails with that reason.
    Remove { server: String, abrupt: bool },
    /// Server `server` serves at `speed` from now on (a degraded or recovered host);
    /// requests already in service keep the time they started with.
    SetSpeed { server: String, speed: f64 },
    /// Server `server` crashes: every request it holds fails (reason `crash`) and it
    /// refuses connections; after `downtime` it restarts and boots (its group's `boot`),
    /// or it stays down when `downtime` is `None` — or when it was leaving (its pre-stop
    /// time, its drain), which the crash ends. The balancer is not told: only health
    /// checks, outlier detection (the refused connections) or the registry's check find
    /// out.
    Crash {
        server: String,
        downtime: Option<SimDuration>,
    },
    /// Server `server` answers `fraction` of its requests with an error after doing their
    /// work (a gray failure; zero ends it). It keeps passing its health checks.
    SetErrors { server: String, fraction: Fraction },
    /// Every member of zone `zone` crashes at once, as in [`Change::Crash`].
    ZoneOutage {
        zone: String,
        downtime: Option<SimDuration>,
    },
}

impl Change {
    /// The kebab-case name of the action in scenario files.
    pub fn action(&self) -> &'static str {
        match self {
            Change::Add { .. } => "add",
            Change::Remove { .. } => "remove",
            Change::SetSpeed { .. } => "set-speed",
            Change::Crash { .. } => "crash",
            Change::SetErrors { .. } => "set-errors",
            Change::ZoneOutage { .. } => "zone-outage",
        }
    }
}
