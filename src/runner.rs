//! Runs scenarios: expands them into (scenario, variant, replication) runs, simulates the
//! runs in parallel with rayon, and collects the results in input order, so the output
//! never depends on which thread finished first.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::engine::derive_seed;
use crate::model::{RunSpec, simulate};
use crate::report::ScenarioResults;
use crate::scenario::Scenario;
use crate::stats::RunResult;

/// How to run: parallelism and the command line's overrides of scenario settings.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads; `None` uses every core.
    pub jobs: Option<usize>,
    /// Replaces every scenario's master seed.
    pub seed: Option<u64>,
    /// Replaces every scenario's replication count.
    pub replications: Option<u32>,
    /// No progress bar.
    pub quiet: bool,
}

/// One simulation to perform.
struct Task<'a> {
    run: &'a RunSpec,
    seed: u64,
}

/// Simulates every run of `scenarios` and returns their results grouped per scenario,
/// `runs[variant][replication]`.
pub fn run_scenarios<'a>(
    scenarios: &'a [Scenario],
    options: &RunOptions,
) -> Result<Vec<ScenarioResults<'a>>, rayon::ThreadPoolBuildError> {
    let tasks: Vec<Task<'a>> = scenarios
        .iter()
        .flat_map(|scenario| {
            let master = options.seed.unwrap_or(scenario.seed);
            let replications = options.replications.unwrap_or(scenario.replications);
            scenario.variants.iter().flat_map(move |variant| {
                (0..replications).map(move |replication| Task {
                    run: &variant.run,
                    seed: derive_seed(master, replication),
                })
            })
        })
        .collect();

    let progress = progress_bar(tasks.len() as u64, options.quiet);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(options.jobs.unwrap_or(0))
        .build()?;
    let results: Vec<RunResult> = pool.install(|| {
        tasks
            .par_iter()
            .map(|task| {
                let result = simulate(task.run, task.seed);
                progress.inc(1);
                result
            })
            .collect()
    });
    progress.finish_and_clear();

    let mut grouped: Vec<ScenarioResults<'a>> = scenarios
        .iter()
        .map(|scenario| ScenarioResults {
            scenario,
            runs: scenario.variants.iter().map(|_| Vec::new()).collect(),
        })
        .collect();
    let mut results = results.into_iter();
    for group in &mut grouped {
        let replications = options.replications.unwrap_or(group.scenario.replications);
        for runs in &mut group.runs {
            runs.extend(results.by_ref().take(replications as usize));
        }
    }
    Ok(grouped)
}

/// A bar on stderr counting finished runs, hidden when stderr is not a terminal.
fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs  {elapsed_precise} eta {eta}")
            .expect("constant template is valid"),
    );
    bar
}
