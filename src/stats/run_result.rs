//! Everything one run measured, handed from the model to the report.

use super::{
    ClusterEvent, Counts, Figures, IntervalTotals, LatencyStats, SeriesRow, SpillVec, TierTimes,
};
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
    /// The data tier's nodes (primaries and replicas), like servers; empty without one.
    pub database: Vec<ServerSummary>,
    /// Per interval and server; kept in a temporary file when long.
    pub series: SpillVec<SeriesRow>,
    /// All servers together, per interval.
    pub intervals: SpillVec<IntervalTotals>,
    /// Per interval and database node (its `server` the node's index in `database`), in
    /// the order of `series`; empty without a data tier.
    pub database_series: SpillVec<SeriesRow>,
    /// Per interval, the response time of its completions split by tier; empty without a
    /// data tier.
    pub tier_times: SpillVec<TierTimes>,
    /// Every change of a server's or database node's state, every autoscaling decision and
    /// every entry into or exit from panic, in time order.
    pub events: Vec<ClusterEvent>,
    /// The figures the model reports by key (see [`super::Figure`]).
    pub figures: Figures,
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

    /// How unevenly the servers shared the work: the coefficient of variation (population
    /// standard deviation over mean) of measured completions across servers; 0 when all
    /// completed as many, `None` when none completed anything.
    pub fn load_cv(&self) -> Option<f64> {
        coefficient_of_variation(self.servers.iter().map(|s| s.completions as f64))
    }
}

/// σ/μ of `values` over the values themselves (not a sample of more); `None` without a
/// positive mean.
fn coefficient_of_variation(values: impl Iterator<Item = f64> + Clone) -> Option<f64> {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    (mean > 0.0).then(|| {
        let variance = values.map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        variance.sqrt() / mean
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coefficient_of_variation_matches_a_hand_computation() {
        // Mean 5; deviations -3, -1, 1, 3; variance (9 + 1 + 1 + 9) / 4 = 5; σ = √5.
        let cv = coefficient_of_variation([2.0, 4.0, 6.0, 8.0].into_iter()).unwrap();
        assert!((cv - 5f64.sqrt() / 5.0).abs() < 1e-15, "{cv}");
        // 0, 0, 30: mean 10, variance (100 + 100 + 400) / 3 = 200.
        let skewed = coefficient_of_variation([0.0, 0.0, 30.0].into_iter()).unwrap();
        assert!((skewed - 200f64.sqrt() / 10.0).abs() < 1e-15, "{skewed}");
    }

    #[test]
    fn an_even_spread_is_zero_and_no_work_has_no_spread() {
        assert_eq!(coefficient_of_variation([7.0; 3].into_iter()), Some(0.0));
        assert_eq!(coefficient_of_variation([0.0; 3].into_iter()), None);
        assert_eq!(coefficient_of_variation(std::iter::empty()), None);
    }
}
