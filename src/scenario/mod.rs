//! Scenario files: parsing, validation and sweep expansion, and the trace files a scenario
//! replays.
//!
//! ```text
//! file ──parse──▶ raw (serde, spans) ──validate──▶ Scenario { variants: [Variant] }
//!                                         └── each workload.trace read once (trace/, replay.rs)
//! ```
//! Every error names `file:line:col` (of the scenario, or of the trace file for a bad
//! line), the key path, what was expected and, for a misspelled name, the closest valid
//! one; all errors of a file are reported together.

mod columns;
mod decimal;
mod duration;
mod error;
mod range;
mod raw;
mod replay;
mod schema;
mod suggest;
mod sweep;
mod together;
mod trace;
mod validate;

use std::path::{Path, PathBuf};

use crate::model::RunSpec;

pub use columns::{
    COLUMNS, Column, IDENTITY_COLUMNS, MEASURED_COLUMNS, REQUIRED_COLUMNS, SUMMARY_METRICS,
    TEXT_COLUMNS,
};
pub use duration::parse_duration;
pub use error::{ScenarioError, ScenarioErrors, line_col};
pub use schema::schema;
pub use suggest::expected_one_of;
pub use validate::MAX_REPLICATIONS;

/// A validated scenario: its variants (one per sweep combination, or one named `base`)
/// and what `lbsim check` expects of them.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// `[A-Za-z0-9._-]+`: also the name of its output folder.
    pub name: String,
    pub description: String,
    /// The file it came from, as given on the command line.
    pub path: PathBuf,
    /// The master seed; replication `r` runs with `engine::derive_seed(seed, r)`.
    pub seed: u64,
    pub replications: u32,
    /// The swept keys in file order (`balancer.algorithm`): one summary column each.
    pub swept_keys: Vec<String>,
    /// For each swept key, its dimension of the sweep's product: keys that vary together
    /// (`[sweep] together`) share one, so that a chart varying one of them varies all.
    pub dimensions: Vec<usize>,
    /// Variants in sweep order: the first key varies slowest.
    pub variants: Vec<Variant>,
    pub expectations: Vec<Expectation>,
    /// A stable hash of the scenario file's text (`hash::StableHasher`), recorded in its
    /// golden results so that a changed file is noticed rather than compared.
    pub source_hash: u64,
    /// What the user should know but need not fix (malformed trace lines that were
    /// skipped), one line each; the command line prints them on stderr.
    pub warnings: Vec<String>,
}

/// One combination of swept values.
#[derive(Clone, Debug)]
pub struct Variant {
    /// `key=value` pairs joined by `,`, or `base` when nothing is swept.
    pub label: String,
    /// The value of each swept key, as written in summary.csv, in `swept_keys` order.
    pub values: Vec<String>,
    pub run: RunSpec,
}

/// An `[[expect]]` bound on a summary.csv column, or on how one variant's value compares
/// with another's.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub metric: String,
    /// Swept key and value (as in summary.csv) a variant must have to be checked.
    pub filter: Vec<(String, String)>,
    /// What is bounded: the value, or its ratio to or difference from a baseline variant's.
    pub bound: Bound,
    /// How the replications of a variant are judged.
    pub judged: Judged,
    /// Where the `[[expect]]` table was written, for the report and JUnit.
    pub declared: Declared,
}

/// The bounds of an expectation, inclusive; at least one of each pair is set.
#[derive(Clone, Debug, PartialEq)]
pub enum Bound {
    /// `min ≤ value ≤ max`.
    Value { min: Option<f64>, max: Option<f64> },
    /// `min × baseline ≤ value ≤ max × baseline` (`min_ratio`, `max_ratio`).
    Ratio {
        baseline: Baseline,
        min: Option<f64>,
        max: Option<f64>,
    },
    /// `baseline + min ≤ value ≤ baseline + max` (`min_difference`, `max_difference`).
    Difference {
        baseline: Baseline,
        min: Option<f64>,
        max: Option<f64>,
    },
}

/// The variant a checked variant is compared with: the checked variant's swept values
/// with these replaced (`baseline = { "balancer.algorithm" = "round-robin" }`), so that
/// each variant meets the baseline offered the same traffic.
pub type Baseline = Vec<(String, String)>;

/// How the replications of a variant are judged (`check`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Judged {
    /// Every replication on its own (`"each"`, the default): any regressed run fails.
    Each,
    /// The mean over the replications (`"mean"`).
    Mean,
    /// The whole 95% confidence interval of the mean over the replications
    /// (`"interval"`): the bound holds with 95% confidence, and the check does not flake
    /// with the seed the way one run's value does.
    Interval,
}

/// Where an expectation was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Declared {
    /// The scenario file, as given on the command line.
    pub file: String,
    /// 1-based line of the `[[expect]]` header.
    pub line: usize,
}

impl std::fmt::Display for Declared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

impl Scenario {
    /// Whether swept keys `a` and `b` (indices into `swept_keys`) are one dimension of the
    /// sweep: the same key, or keys that vary together.
    pub fn varies_with(&self, a: usize, b: usize) -> bool {
        a == b
            || matches!(
                (self.dimensions.get(a), self.dimensions.get(b)),
                (Some(x), Some(y)) if x == y
            )
    }

    /// Reads and validates a scenario file. `path` is shown as given in error messages.
    pub fn from_path(path: &Path) -> Result<Scenario, ScenarioErrors> {
        let source = std::fs::read_to_string(path).map_err(|e| ScenarioErrors::io(path, &e))?;
        Scenario::from_source(&source, path)
    }

    /// Validates scenario text as if read from `path` (which names it in errors, gives
    /// the default scenario name, its stem, and whose folder trace paths start from).
    /// Warnings are left in [`Scenario::warnings`].
    pub fn from_source(source: &str, path: &Path) -> Result<Scenario, ScenarioErrors> {
        validate::validate(source, path)
    }
}

/// Expands command-line paths into scenario files: a file as is, a folder as every
/// `*.toml` directly in it but golden files (`*.golden.toml`), in name order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioErrors> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| ScenarioErrors::io(path, &e))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == "toml"))
                // Golden results sit beside their scenarios: not scenarios themselves.
                .filter(|p| !crate::check::golden::is_golden(p))
                .collect();
            found.sort();
            files.extend(found);
        } else if path.is_file() {
            files.push(path.clone());
        } else {
            return Err(ScenarioErrors::io(
                path,
                &std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            ));
        }
    }
    Ok(files)
}
