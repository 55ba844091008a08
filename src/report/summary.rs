//! One summary row per (variant, replication): the numbers summary.csv, variants.csv,
//! the terminal table and `lbsim check` all read.

use super::ScenarioResults;
use crate::stats::{Counts, RunResult};

/// The metrics of one run, derived once from its [`RunResult`].
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryRow {
    pub variant: usize,
    pub replication: u32,
    pub seed: u64,
    pub counts: Counts,
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub throughput_rps: f64,
    pub utilization: f64,
    pub wait_mean_ms: f64,
    pub wait_p99_ms: f64,
}

/// Numeric columns of summary.csv after the identifying ones, in order, with the decimals
/// each is printed with. Counts come first and are integers.
pub const METRIC_COLUMNS: [(&str, usize); 10] = [
    ("mean_ms", 6),
    ("p50_ms", 6),
    ("p90_ms", 6),
    ("p99_ms", 6),
    ("p999_ms", 6),
    ("max_ms", 6),
    ("throughput_rps", 3),
    ("utilization", 6),
    ("wait_mean_ms", 6),
    ("wait_p99_ms", 6),
];

/// The count columns, in summary.csv order.
pub const COUNT_COLUMNS: [&str; 5] = ["arrived", "completed", "rejected", "failed", "in_flight"];

impl SummaryRow {
    pub fn from_run(variant: usize, replication: u32, run: &RunResult) -> Self {
        SummaryRow {
            variant,
            replication,
            seed: run.seed,
            counts: run.counts,
            mean_ms: run.latency.mean_ms(),
            p50_ms: run.latency.quantile_ms(0.50),
            p90_ms: run.latency.quantile_ms(0.90),
            p99_ms: run.latency.quantile_ms(0.99),
            p999_ms: run.latency.quantile_ms(0.999),
            max_ms: run.latency.max_ms(),
            throughput_rps: run.throughput_rps(),
            utilization: run.utilization,
            wait_mean_ms: run.wait.mean_ms(),
            wait_p99_ms: run.wait.quantile_ms(0.99),
        }
    }

    /// The value of a numeric column by its summary.csv name.
    pub fn metric(&self, name: &str) -> Option<f64> {
        let c = &self.counts;
        Some(match name {
            "replication" => f64::from(self.replication),
            "seed" => self.seed as f64,
            "arrived" => c.arrived as f64,
            "completed" => c.completed as f64,
            "rejected" => c.rejected as f64,
            "failed" => c.failed as f64,
            "in_flight" => c.in_flight as f64,
            "mean_ms" => self.mean_ms,
            "p50_ms" => self.p50_ms,
            "p90_ms" => self.p90_ms,
            "p99_ms" => self.p99_ms,
            "p999_ms" => self.p999_ms,
            "max_ms" => self.max_ms,
            "throughput_rps" => self.throughput_rps,
            "utilization" => self.utilization,
            "wait_mean_ms" => self.wait_mean_ms,
            "wait_p99_ms" => self.wait_p99_ms,
            _ => return None,
        })
    }

    pub fn count(&self, name: &str) -> u64 {
        self.metric(name).map_or(0, |v| v as u64)
    }
}

/// Rows in variant order, then replication order.
pub fn summary_rows(results: &ScenarioResults<'_>) -> Vec<SummaryRow> {
    results
        .runs
        .iter()
        .enumerate()
        .flat_map(|(variant, runs)| {
            runs.iter().enumerate().map(move |(replication, run)| {
                SummaryRow::from_run(variant, replication as u32, run)
            })
        })
        .collect()
}
