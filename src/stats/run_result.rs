//! Everything one run measured, handed from the model to the report.

use super::{ClusterEvent, Counts, IntervalLatency, LatencyStats, SeriesRow, SpillVec};
use crate::engine::SimDuration;

/// The outcome of one (scenario, variant, replication).
#[derive(Debug)]
pub struct RunResult {
    /// The seed the run used (reruns it alone with `--seed`).
    pub seed: u64,
    /// Length of the measured period, warmup to end.
    pub measured: SimDuration,
    pub counts: Counts,
    /// Response time of measured requests: arrival at the balancer to completion.
    pub latency: LatencyStats,
    /// Time measured requests spent queued before a worker took them.
    pub wait: LatencyStats,
    /// Mean busy fraction of all workers over the measured period.
    pub utilization: f64,
    pub servers: Vec<ServerSummary>,
    /// Per interval and server; kept in a temporary file when long.
    pub series: SpillVec<SeriesRow>,
    /// All servers together, per interval.
    pub intervals: SpillVec<IntervalLatency>,
    /// Every change of a server's state, in time order.
    pub events: Vec<ClusterEvent>,
    /// The mean share of client addresses that a membership change moved to another
    /// server; `None` without membership changes or for an algorithm that does not map
    /// clients by key alone.
    pub remapped_share: Option<f64>,
}

impl RunResult {
    /// Completed measured requests per second of measured time.
    pub fn throughput_rps(&self) -> f64 {
        let seconds = self.measured.as_secs_f64();
        if seconds > 0.0 {
            self.counts.completed as f64 / seconds
        } else {
            0.0
        }
    }
}

/// One server over the measured period.
#[derive(Clone, Debug, PartialEq)]
pub struct ServerSummary {
    pub name: String,
    pub group: String,
    pub zone: String,
    /// Measured requests it completed.
    pub completions: u64,
    /// Busy fraction of its workers over the measured period.
    pub utilization: f64,
}
