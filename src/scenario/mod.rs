//! Scenario files: parsing, validation and sweep expansion, and the trace files a scenario
//! replays.
//!
//! ```text
//! file ──parse──▶ raw (serde, spans) ──validate──▶ Scenario { variants: [RunSpec] }
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
mod suggest;
mod sweep;
mod trace;
mod validate;

use std::path::{Path, PathBuf};

use crate::model::RunSpec;

pub use columns::{
    COLUMNS, Column, IDENTITY_COLUMNS, MEASURED_COLUMNS, REQUIRED_COLUMNS, SUMMARY_METRICS,
    TEXT_COLUMNS,
};
pub use duration::parse_duration;
pub use error::{ScenarioError, ScenarioErrors};

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
    /// Variants in sweep order: the first key varies slowest.
    pub variants: Vec<Variant>,
    pub expectations: Vec<Expectation>,
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

/// An `[[expect]]` bound on a summary.csv column.
#[derive(Clone, Debug)]
pub struct Expectation {
    pub metric: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Swept key and value (as in summary.csv) a variant must have to be checked.
    pub filter: Vec<(String, String)>,
    /// `file:line:col` of the `[[expect]]` table, for the pass/fail report.
    pub location: String,
}

impl Scenario {
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
/// `*.toml` directly in it, in name order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, ScenarioErrors> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| ScenarioErrors::io(path, &e))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|ext| ext == "toml"))
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
