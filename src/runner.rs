//! Runs scenarios: expands them into tasks — (scenario, variant, replication), in input
//! order — simulates the tasks in parallel with rayon, and collects the results in input
//! order, so the output never depends on which thread finished first.
//!
//! A sharded run ([`run_shard`]) simulates only its slice of the same task list and keeps
//! each result's index, for `lbsim merge` to put it back in its place.
//!
//! A run that panics is caught and reported as its scenario's failure, with the seed that
//! reproduces it; the other scenarios finish and are written. Ctrl-C stops runs at their
//! next progress report and skips those not started ([`crate::interrupt`]).
//!
//! Progress is one bar on stderr for the whole run: simulated time done over the total
//! (Σ durations × replications), runs finished, ETA. Runs report simulated-time increments
//! from the rayon workers; the bar's position is an atomic counter, so reporting is cheap
//! and lock-free, and it only observes: nothing about it can change a result.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{FormattedDuration, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use rayon::prelude::*;

use crate::engine::{SimDuration, derive_seed};
use crate::interrupt;
use crate::model::{RunSpec, simulate_with_progress};
use crate::report::ScenarioResults;
use crate::scenario::Scenario;
use crate::shard::{Shard, ShardRuns};
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

impl RunOptions {
    fn replications(&self, scenario: &Scenario) -> u32 {
        self.replications.unwrap_or(scenario.replications)
    }
}

/// One simulation to perform.
struct Task<'a> {
    /// The scenario's position in the run.
    scenario: usize,
    /// `variant × replications + replication`, within the scenario.
    index: u64,
    run: &'a RunSpec,
    seed: u64,
}

/// Why a run has no result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunFailure {
    /// The simulation panicked, with this message: a bug in lbsim.
    Panicked(String),
    /// Ctrl-C stopped it, or came before it started.
    Interrupted,
}

/// A run without a result, named so that it can be reproduced alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRun {
    pub scenario: String,
    pub variant: String,
    pub replication: u32,
    /// The run's own seed: `--seed` with `--replications 1` runs it again.
    pub seed: u64,
    pub failure: RunFailure,
}

/// What a run of scenarios produced: the scenarios whose every run completed, in input
/// order, and the runs that failed.
pub struct Outcome<'a> {
    pub complete: Vec<ScenarioResults<'a>>,
    pub failed: Vec<FailedRun>,
}

/// Every task of the run, in input order: the position in this list is the task's
/// run-wide index, which [`Shard::owns`] slices.
fn tasks<'a>(scenarios: &'a [Scenario], options: &RunOptions) -> Vec<Task<'a>> {
    let mut tasks = Vec::new();
    for (position, scenario) in scenarios.iter().enumerate() {
        let master = options.seed.unwrap_or(scenario.seed);
        let replications = options.replications(scenario);
        let mut index = 0;
        for variant in &scenario.variants {
            for replication in 0..replications {
                tasks.push(Task {
                    scenario: position,
                    index,
                    run: &variant.run,
                    seed: derive_seed(master, replication),
                });
                index += 1;
            }
        }
    }
    tasks
}

/// Simulates every run of `scenarios`. Scenarios whose every run completed come back
/// grouped, `runs[variant][replication]`; the others are left out, their failed runs listed.
pub fn run_scenarios<'a>(
    scenarios: &'a [Scenario],
    options: &RunOptions,
) -> Result<Outcome<'a>, rayon::ThreadPoolBuildError> {
    let tasks = tasks(scenarios, options);
    let task_refs: Vec<&Task> = tasks.iter().collect();
    let mut results = simulate_all(&task_refs, options)?.into_iter();
    let mut outcome = Outcome {
        complete: Vec::new(),
        failed: Vec::new(),
    };
    for scenario in scenarios {
        let replications = options.replications(scenario) as usize;
        let mut runs: Vec<Vec<RunResult>> = Vec::with_capacity(scenario.variants.len());
        let mut failed = Vec::new();
        for variant in &scenario.variants {
            let mut replicated = Vec::with_capacity(replications);
            for (replication, result) in results.by_ref().take(replications).enumerate() {
                match result {
                    Ok(run) => replicated.push(run),
                    Err((seed, failure)) => failed.push(FailedRun {
                        scenario: scenario.name.clone(),
                        variant: variant.label.clone(),
                        replication: replication as u32,
                        seed,
                        failure,
                    }),
                }
            }
            runs.push(replicated);
        }
        if failed.is_empty() {
            outcome.complete.push(ScenarioResults { scenario, runs });
        } else {
            outcome.failed.extend(failed);
        }
    }
    Ok(outcome)
}

/// Simulates the tasks of `shard` and returns them per scenario, every scenario of the run
/// included (with no task when the shard has none of it).
pub fn run_shard(
    scenarios: &[Scenario],
    options: &RunOptions,
    shard: Shard,
) -> Result<(Vec<ShardRuns>, Vec<FailedRun>), rayon::ThreadPoolBuildError> {
    let tasks = tasks(scenarios, options);
    let mine: Vec<&Task> = tasks
        .iter()
        .enumerate()
        .filter(|(i, _)| shard.owns(*i as u64))
        .map(|(_, task)| task)
        .collect();
    let results = simulate_all(&mine, options)?;

    let mut first_task = 0u64;
    let mut shares: Vec<ShardRuns> = scenarios
        .iter()
        .enumerate()
        .map(|(position, scenario)| {
            let task_count =
                scenario.variants.len() as u64 * u64::from(options.replications(scenario));
            let share = ShardRuns {
                scenario: position,
                first_task,
                task_count,
                tasks: Vec::new(),
            };
            first_task += task_count;
            share
        })
        .collect();
    let mut failed = Vec::new();
    for (task, result) in mine.iter().zip(results) {
        match result {
            Ok(run) => shares[task.scenario].tasks.push((task.index, run)),
            Err((seed, failure)) => {
                let scenario = &scenarios[task.scenario];
                let replications = u64::from(options.replications(scenario));
                failed.push(FailedRun {
                    scenario: scenario.name.clone(),
                    variant: scenario.variants[(task.index / replications) as usize]
                        .label
                        .clone(),
                    replication: (task.index % replications) as u32,
                    seed,
                    failure,
                });
            }
        }
    }
    Ok((shares, failed))
}

impl RunOptions {
    /// A pool of `jobs` threads (every core when unset): the simulations run on it, and so
    /// does the drawing of the report, so that `--jobs 1` really is one thread.
    pub fn thread_pool(&self) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
        rayon::ThreadPoolBuilder::new()
            .num_threads(self.jobs.unwrap_or(0))
            .build()
    }
}

/// A task's result, or its seed and why it has none.
type TaskResult = Result<RunResult, (u64, RunFailure)>;

/// Simulates `tasks` on a pool of `options.jobs` threads; results in task order.
fn simulate_all(
    tasks: &[&Task<'_>],
    options: &RunOptions,
) -> Result<Vec<TaskResult>, rayon::ThreadPoolBuildError> {
    let progress = Progress::new(tasks, options.quiet);
    let results = options.thread_pool()?.install(|| {
        run_isolated(tasks, |task| {
            let result = simulate_with_progress(task.run, task.seed, &|simulated| {
                progress.simulated(simulated);
                if interrupt::requested() {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            });
            progress.run_finished();
            result
        })
    });
    progress.bar.finish_and_clear();
    Ok(results)
}

/// Runs `simulate` on every task in parallel, turning a panic into that task's failure and
/// skipping the tasks not started when Ctrl-C comes. `simulate` returns `None` when it was
/// stopped.
fn run_isolated(
    tasks: &[&Task<'_>],
    simulate: impl Fn(&Task<'_>) -> Option<RunResult> + Sync,
) -> Vec<TaskResult> {
    tasks
        .par_iter()
        .map(|task| {
            if interrupt::requested() {
                return Err((task.seed, RunFailure::Interrupted));
            }
            match catch_unwind(AssertUnwindSafe(|| simulate(task))) {
                Ok(Some(run)) => Ok(run),
                Ok(None) => Err((task.seed, RunFailure::Interrupted)),
                Err(panic) => Err((task.seed, RunFailure::Panicked(panic_message(&*panic)))),
            }
        })
        .collect()
}

/// The text a panic was raised with.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string())
}

/// The progress bar of a run, updated from the rayon workers.
struct Progress {
    /// Position: simulated nanoseconds done; length: the total.
    bar: ProgressBar,
    runs_done: AtomicU64,
    runs: u64,
}

impl Progress {
    /// A bar on stderr for `tasks`, hidden when stderr is not a terminal or when quiet.
    fn new(tasks: &[&Task<'_>], quiet: bool) -> Self {
        let runs = tasks.len() as u64;
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            let total = tasks.iter().fold(0u64, |sum, task| {
                sum.saturating_add(task.run.duration.as_nanos())
            });
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{wide_bar} {simulated}/{simulated_total} simulated  {msg}  eta {eta}",
                )
                .expect("constant template is valid")
                .with_key(
                    "simulated",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(
                            w,
                            "{}",
                            FormattedDuration(Duration::from_nanos(state.pos()))
                        );
                    },
                )
                .with_key(
                    "simulated_total",
                    |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let total = state.len().unwrap_or(0);
                        let _ = write!(w, "{}", FormattedDuration(Duration::from_nanos(total)));
                    },
                ),
            );
            bar.set_message(format!("0/{runs} runs"));
            bar
        };
        Progress {
            bar,
            runs_done: AtomicU64::new(0),
            runs,
        }
    }

    /// A run advanced by `simulated` (an atomic add: callable from any thread).
    fn simulated(&self, simulated: SimDuration) {
        self.bar.inc(simulated.as_nanos());
    }

    fn run_finished(&self) {
        let done = self.runs_done.fetch_add(1, Ordering::Relaxed) + 1;
        if !self.bar.is_hidden() {
            self.bar.set_message(format!("{done}/{} runs", self.runs));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn scenario(name: &str, sweep: &str) -> Scenario {
        let text = format!(
            "name = \"{name}\"\nduration = \"2s\"\n[workload]\nrate = 50\n\
             service = {{ dist = \"exponential\", mean = \"10ms\" }}\n[[servers]]\ncount = 2\n{sweep}"
        );
        Scenario::from_source(&text, Path::new("test.toml")).unwrap()
    }

    #[test]
    fn the_shards_of_a_run_hold_each_of_its_tasks_once_as_the_whole_run_simulates_it() {
        let scenarios = [
            scenario("a", "[sweep]\n\"workload.rate\" = [10, 20, 30]\n"),
            scenario("b", ""),
        ];
        let options = RunOptions {
            jobs: Some(2),
            replications: Some(2),
            quiet: true,
            ..RunOptions::default()
        };
        let whole = run_scenarios(&scenarios, &options).unwrap();
        let mut seen: Vec<Vec<u64>> = vec![Vec::new(); 2];
        for k in 1..=3 {
            let shard = Shard::new(k, 3).unwrap();
            let (shares, failed) = run_shard(&scenarios, &options, shard).unwrap();
            assert!(failed.is_empty());
            assert_eq!(
                shares.len(),
                2,
                "a share for every scenario, even an empty one"
            );
            for share in shares {
                assert_eq!(share.first_task, [0, 6][share.scenario]);
                assert_eq!(share.task_count, [6, 2][share.scenario]);
                for (index, run) in &share.tasks {
                    assert!(shard.owns(share.first_task + index));
                    let (variant, replication) = (*index as usize / 2, *index as usize % 2);
                    let alone = &whole.complete[share.scenario].runs[variant][replication];
                    assert_eq!((run.seed, run.counts), (alone.seed, alone.counts));
                    seen[share.scenario].push(*index);
                }
            }
        }
        for indices in &mut seen {
            indices.sort_unstable();
        }
        assert_eq!(seen, vec![(0..6).collect::<Vec<u64>>(), vec![0, 1]]);
    }

    #[test]
    fn a_panicking_run_fails_alone_with_its_seed() {
        let scenarios = [
            scenario("a", "[sweep]\n\"workload.rate\" = [10, 20]\n"),
            scenario("b", "[sweep]\n\"workload.rate\" = [10, 20]\n"),
        ];
        let options = RunOptions {
            replications: Some(2),
            ..RunOptions::default()
        };
        let tasks = tasks(&scenarios, &options);
        let refs: Vec<&Task> = tasks.iter().collect();
        // Scenario b, first variant, second replication: task 5 of 8.
        let doomed = derive_seed(scenarios[1].seed, 1);
        let results = run_isolated(&refs, |task| {
            if task.scenario == 1 && task.index == 1 {
                panic!("boom at seed {}", task.seed);
            }
            Some(crate::model::simulate(task.run, task.seed))
        });
        assert_eq!(results.len(), 8);
        let failures: Vec<(usize, &(u64, RunFailure))> = results
            .iter()
            .enumerate()
            .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
            .collect();
        let message = format!("boom at seed {doomed}");
        assert_eq!(
            failures,
            vec![(5, &(doomed, RunFailure::Panicked(message)))]
        );
    }
}
