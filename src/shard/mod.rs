//! Distributed runs: `lbsim run --shard K/N` simulates one slice of a run's tasks and saves
//! the results, one shard file per scenario, for `lbsim merge` to turn into the very files
//! a single run writes.
//!
//! A shard carries the scenario's full text and the command line's overrides, so merging
//! needs neither the original files nor trust: it re-validates the scenario and checks that
//! every shard ran the same one. Every shard writes a file for every scenario, even one
//! with no task for it, so that a missing shard is always noticed.
//!
//! `slice.rs` decides which tasks a shard runs; `format.rs` is the file.

mod format;
mod slice;

use std::io;
use std::path::{Path, PathBuf};

use crate::report::writer::write_atomically_with;
use crate::scenario::Scenario;
use crate::stats::RunResult;

pub use format::{ReadError, ShardHeader, ShardReader};
pub use slice::Shard;

/// One scenario's share of a sharded run.
pub struct ShardRuns {
    /// The scenario's position in the run.
    pub scenario: usize,
    /// The run-wide index of the scenario's first task.
    pub first_task: u64,
    /// The scenario's tasks in the whole run: variants × replications.
    pub task_count: u64,
    /// The shard's tasks of this scenario: (index within the scenario, result), in order.
    pub tasks: Vec<(u64, RunResult)>,
}

/// The run a shard belongs to: what every shard file of it repeats.
pub struct RunIdentity<'a> {
    pub shard: Shard,
    /// Every scenario of the run, in input order, with its source text.
    pub scenarios: &'a [Scenario],
    pub sources: &'a [String],
    pub seed: Option<u64>,
    pub replications: Option<u32>,
}

/// The file name of shard `shard` within a scenario's folder: `shard-K-of-N.lbsim`.
pub fn file_name(k: u32, n: u32) -> String {
    format!("shard-{k}-of-{n}.lbsim")
}

/// Whether `name` looks like a shard file's name.
pub fn is_shard_file_name(name: &str) -> bool {
    name.starts_with("shard-") && name.ends_with(".lbsim")
}

/// Writes one shard file per scenario, `out/<name>/shard-K-of-N.lbsim`, returning the paths.
pub fn save(out: &Path, run: &RunIdentity<'_>, shares: &[ShardRuns]) -> io::Result<Vec<PathBuf>> {
    let names: Vec<String> = run.scenarios.iter().map(|s| s.name.clone()).collect();
    let mut written = Vec::with_capacity(shares.len());
    for share in shares {
        let index = share.scenario;
        let scenario = &run.scenarios[index];
        let header = ShardHeader {
            lbsim_version: env!("CARGO_PKG_VERSION").to_string(),
            shard: run.shard,
            run_scenarios: names.clone(),
            scenario_index: index as u32,
            first_task: share.first_task,
            task_count: share.task_count,
            scenario_path: scenario.path.to_string_lossy().into_owned(),
            scenario_source: run.sources[index].clone(),
            seed: run.seed,
            replications: run.replications,
        };
        let path = out
            .join(&scenario.name)
            .join(file_name(run.shard.index(), run.shard.count()));
        written.push(write_atomically_with(&path, |file| {
            format::write(file, &header, &share.tasks)
        })?);
    }
    Ok(written)
}
