//! The columns of `summary.csv`, named once.
//!
//! Validation checks `[[expect]]` metrics against this list and the report writes its header
//! from it, so a metric a scenario can expect is always a column the report writes.

/// The fixed columns of `summary.csv`, in the order they are written: first the columns the
/// contract (SCENARIO.md) requires, in its order, then the extras lbsim adds. One column per
/// swept key follows them, named by the key's path.
pub const SUMMARY_METRICS: &[&str] = &[
    "scenario",
    "variant",
    "replication",
    "seed",
    "arrived",
    "completed",
    "rejected",
    "failed",
    "mean_ms",
    "p50_ms",
    "p90_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "throughput_rps",
    "utilization",
    // Extras: requests still queued or in service when the run stops, and the time spent
    // waiting for a worker (arrival at the server to start of service).
    "in_flight",
    "wait_mean_ms",
    "wait_p99_ms",
];

/// How many of [`SUMMARY_METRICS`] the contract requires (the rest are extras).
pub const REQUIRED_COLUMNS: usize = 16;

/// Columns holding text rather than numbers: an expectation cannot bound them.
pub const TEXT_COLUMNS: &[&str] = &["scenario", "variant"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_required_columns_come_first_in_contract_order() {
        let contract = "scenario, variant, replication, seed, arrived, completed, rejected, \
                        failed, mean_ms, p50_ms, p90_ms, p99_ms, p999_ms, max_ms, \
                        throughput_rps, utilization";
        let required: Vec<&str> = contract.split(", ").collect();
        assert_eq!(&SUMMARY_METRICS[..REQUIRED_COLUMNS], required.as_slice());
    }

    #[test]
    fn column_names_are_unique() {
        for (i, a) in SUMMARY_METRICS.iter().enumerate() {
            assert!(!SUMMARY_METRICS[i + 1..].contains(a), "{a} twice");
        }
    }
}
