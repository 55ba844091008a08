//! The columns of `summary.csv`, declared once: each one's name, how its value comes from a
//! run's [`RunResult`], and how it is written.
//!
//! Everything else reads this list: validation checks `[[expect]]` metrics against it (so
//! a metric a scenario can expect is always a column the report writes), summary.csv and
//! variants.csv write it, `lbsim check` and the tables look values up in it by name. A
//! value is computed from the `RunResult` when the report is written, never stored apart
//! from it, so a shard file — which carries the whole `RunResult` — carries every column.
//!
//! A figure the model reports by key (a [`Figure`]) becomes a column by being declared in
//! [`FIGURES`]: the columns of figures follow the fixed ones, in that table's order.

use crate::stats::{FIGURES, Figure, Kind, RunResult};

/// One numeric column computed from a run.
#[derive(Copy, Clone, Debug)]
pub struct Column {
    pub name: &'static str,
    /// Written as a count or with its decimals.
    pub kind: Kind,
    source: Source,
}

/// Where a column's value comes from.
#[derive(Copy, Clone, Debug)]
enum Source {
    /// Computed from the run's fields.
    Computed(fn(&RunResult) -> Option<f64>),
    /// One of the run's figures.
    Figure(Figure),
}

impl Column {
    /// The column's value in `run`; `None` when it does not apply (an empty cell).
    pub fn value(&self, run: &RunResult) -> Option<f64> {
        match self.source {
            Source::Computed(value) => value(run),
            Source::Figure(figure) => run.figures.get(figure),
        }
    }
}

const fn count(name: &'static str, value: fn(&RunResult) -> Option<f64>) -> Column {
    Column {
        name,
        kind: Kind::Count,
        source: Source::Computed(value),
    }
}

const fn real(name: &'static str, decimals: usize, value: fn(&RunResult) -> Option<f64>) -> Column {
    Column {
        name,
        kind: Kind::Real { decimals },
        source: Source::Computed(value),
    }
}

/// The columns naming a run, first in summary.csv; the report writes them from what it
/// knows of the run (its scenario, variant and replication) and its seed.
pub const IDENTITY_COLUMNS: [&str; 4] = ["scenario", "variant", "replication", "seed"];

/// Columns holding text rather than numbers: an expectation cannot bound them.
pub const TEXT_COLUMNS: &[&str] = &["scenario", "variant"];

/// The fixed measured columns, in summary.csv order: first those the contract
/// (docs/scenario-format.md) requires, in its order, then the extras lbsim adds.
pub const COLUMNS: [Column; 16] = [
    count("arrived", |r| Some(r.counts.arrived as f64)),
    count("completed", |r| Some(r.counts.completed as f64)),
    count("rejected", |r| Some(r.counts.rejected as f64)),
    count("failed", |r| Some(r.counts.failed as f64)),
    real("mean_ms", 6, |r| Some(r.latency.mean_ms())),
    real("p50_ms", 6, |r| Some(r.latency.quantile_ms(0.50))),
    real("p90_ms", 6, |r| Some(r.latency.quantile_ms(0.90))),
    real("p99_ms", 6, |r| Some(r.latency.quantile_ms(0.99))),
    real("p999_ms", 6, |r| Some(r.latency.quantile_ms(0.999))),
    real("max_ms", 6, |r| Some(r.latency.max_ms())),
    real("throughput_rps", 3, |r| Some(r.throughput_rps())),
    real("utilization", 6, |r| Some(r.utilization)),
    // Extras: requests still queued or in service when the run stops; the time spent
    // waiting for a worker (arrival at the server to start of service); how unevenly the
    // servers shared the completions.
    count("in_flight", |r| Some(r.counts.in_flight as f64)),
    real("wait_mean_ms", 6, |r| Some(r.wait.mean_ms())),
    real("wait_p99_ms", 6, |r| Some(r.wait.quantile_ms(0.99))),
    real("load_cv", 6, RunResult::load_cv),
];

/// Every measured column: [`COLUMNS`], then one per [`Figure`], in [`FIGURES`] order.
pub const MEASURED_COLUMNS: [Column; COLUMNS.len() + FIGURES.len()] = measured_columns();

const fn measured_columns() -> [Column; COLUMNS.len() + FIGURES.len()] {
    let mut all = [COLUMNS[0]; COLUMNS.len() + FIGURES.len()];
    let mut i = 0;
    while i < COLUMNS.len() {
        all[i] = COLUMNS[i];
        i += 1;
    }
    let mut f = 0;
    while f < FIGURES.len() {
        let declaration = &FIGURES[f];
        all[COLUMNS.len() + f] = Column {
            name: declaration.name,
            kind: declaration.kind,
            source: Source::Figure(declaration.figure),
        };
        f += 1;
    }
    all
}

/// The name of every column of `summary.csv` but the swept keys, in the order they are
/// written: [`IDENTITY_COLUMNS`], then [`MEASURED_COLUMNS`]. One column per swept key,
/// named by its path, comes after the first [`REQUIRED_COLUMNS`].
pub const SUMMARY_METRICS: [&str; IDENTITY_COLUMNS.len() + MEASURED_COLUMNS.len()] =
    summary_metrics();

const fn summary_metrics() -> [&'static str; IDENTITY_COLUMNS.len() + MEASURED_COLUMNS.len()] {
    let mut names = [""; IDENTITY_COLUMNS.len() + MEASURED_COLUMNS.len()];
    let mut i = 0;
    while i < IDENTITY_COLUMNS.len() {
        names[i] = IDENTITY_COLUMNS[i];
        i += 1;
    }
    let mut m = 0;
    while m < MEASURED_COLUMNS.len() {
        names[IDENTITY_COLUMNS.len() + m] = MEASURED_COLUMNS[m].name;
        m += 1;
    }
    names
}

/// How many of [`SUMMARY_METRICS`] the contract requires (the rest are extras).
pub const REQUIRED_COLUMNS: usize = 16;

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
    fn the_extras_follow_then_one_column_per_figure() {
        let extras = ["in_flight", "wait_mean_ms", "wait_p99_ms", "load_cv"];
        let end = REQUIRED_COLUMNS + extras.len();
        assert_eq!(&SUMMARY_METRICS[REQUIRED_COLUMNS..end], extras);
        let figures: Vec<&str> = FIGURES.iter().map(|d| d.name).collect();
        assert_eq!(&SUMMARY_METRICS[end..], figures.as_slice());
    }

    #[test]
    fn column_names_are_unique() {
        for (i, a) in SUMMARY_METRICS.iter().enumerate() {
            assert!(!SUMMARY_METRICS[i + 1..].contains(a), "{a} twice");
        }
    }

    fn scenario_expecting(metric: &str) -> Result<crate::scenario::Scenario, String> {
        let text = format!(
            "duration = \"20s\"\n\
             [workload]\nrate = 150\nservice = {{ dist = \"exponential\", mean = \"10ms\" }}\n\
             [[servers]]\ncount = 2\n\
             [[expect]]\nmetric = \"{metric}\"\nmax = 1\n"
        );
        crate::scenario::Scenario::from_source(&text, std::path::Path::new("x.toml"))
            .map_err(|errors| errors.to_string())
    }

    #[test]
    fn every_numeric_column_can_be_expected_and_a_typo_gets_the_nearest_name() {
        for name in SUMMARY_METRICS.iter().filter(|c| !TEXT_COLUMNS.contains(c)) {
            let scenario = scenario_expecting(name).unwrap();
            assert_eq!(scenario.expectations[0].metric, *name);
        }
        let error = scenario_expecting("load_vc").unwrap_err();
        assert!(error.contains("unknown metric \"load_vc\""), "{error}");
        assert!(error.contains("\"load_cv\""), "{error}");
        let error = scenario_expecting("variant").unwrap_err();
        assert!(error.contains("holds text"), "{error}");
    }

    #[test]
    fn text_columns_identify_the_run() {
        assert!(TEXT_COLUMNS.iter().all(|c| IDENTITY_COLUMNS.contains(c)));
    }
}
