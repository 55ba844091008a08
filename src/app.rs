//! What each command does, from parsed arguments to an exit status:
//! 0 success, 1 an expectation failed, 2 bad input (usage or scenario), 3 a run failed (a
//! panic, reported with its seed) or the output could not be written, 130 interrupted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::app::console::{errln, outln};
use crate::bench;
use crate::check::{self, golden, golden::Golden, junit};
use crate::cli::{Cli, Command, MergeArgs, RunArgs};
use crate::interrupt;
use crate::merge;
use crate::report::{
    self, ReportOptions, ScenarioResults, summary_rows, terminal_table, writer::write_atomically,
};
use crate::runner::{self, FailedRun, RunFailure, RunOptions, run_scenarios};
use crate::scenario::{Scenario, ScenarioErrors, discover};
use crate::shard::{self, RunIdentity, Shard};
use crate::trace_command;

pub mod console;

/// Exit status for bad input.
const BAD_INPUT: u8 = 2;
/// Exit status for a run that failed for another reason (a panic, an I/O error).
const RUN_FAILED: u8 = 3;

pub fn main(cli: Cli) -> ExitCode {
    interrupt::install_handler();
    match cli.command {
        None => run(&RunArgs::default(), None),
        Some(Command::Run(args)) => run(&args, None),
        Some(Command::Check(args)) => run(
            &args.run,
            Some(Checking {
                junit: args.junit,
                bless: args.bless,
                goldens: BTreeMap::new(),
            }),
        ),
        Some(Command::Bench(args)) => bench::main(&args),
        Some(Command::Merge(args)) => merge(&args),
        Some(Command::Trace(args)) => trace_command::main(&args),
        Some(Command::Schema) => {
            console::out(format_args!("{}\n", crate::scenario::schema()));
            ExitCode::SUCCESS
        }
    }
}

/// What `lbsim check` (and `merge --check`) adds to a run: evaluating expectations,
/// comparing with golden results or recording them, and the JUnit file.
struct Checking {
    junit: Option<PathBuf>,
    bless: bool,
    /// The golden results beside each scenario file that has them, read before anything
    /// runs, so that a malformed one is bad input like a malformed scenario.
    goldens: BTreeMap<PathBuf, Golden>,
}

impl Checking {
    /// Reads the golden file of every scenario that has one.
    fn load_goldens(&mut self, scenarios: &[&Scenario]) -> Result<(), Vec<ScenarioErrors>> {
        let mut errors = Vec::new();
        for scenario in scenarios {
            match golden::load(&scenario.path) {
                Ok(Some(found)) => {
                    self.goldens.insert(scenario.path.clone(), found);
                }
                Ok(None) => {}
                Err(error) => errors.push(error),
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Loads every scenario first, so that bad input stops the run before anything is written.
/// Returns the scenarios and their source texts (which a shard saves).
fn load(paths: &[PathBuf]) -> Result<(Vec<Scenario>, Vec<String>), Vec<ScenarioErrors>> {
    let files = discover(paths).map_err(|e| vec![e])?;
    let mut scenarios = Vec::new();
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        if golden::is_golden(&file) {
            errors.push(ScenarioErrors::message(
                &file.display().to_string(),
                "a golden file (results recorded by `lbsim check --bless`), not a scenario: \
                 pass the scenario it sits beside",
            ));
            continue;
        }
        let loaded = std::fs::read_to_string(&file)
            .map_err(|e| ScenarioErrors::io(&file, &e))
            .and_then(|source| Ok((Scenario::from_source(&source, &file)?, source)));
        match loaded {
            Ok((scenario, source)) => {
                for warning in &scenario.warnings {
                    errln!("{warning}");
                }
                scenarios.push(scenario);
                sources.push(source);
            }
            Err(e) => errors.push(e),
        }
    }
    if scenarios.is_empty() && errors.is_empty() {
        let listed: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        errors.push(ScenarioErrors::message(
            &listed.join(" "),
            "no scenario files (*.toml) found",
        ));
    }
    let mut names: Vec<(&str, &PathBuf)> = Vec::new();
    for scenario in &scenarios {
        if let Some((_, other)) = names.iter().find(|(name, _)| *name == scenario.name) {
            errors.push(ScenarioErrors::message(
                &scenario.path.display().to_string(),
                &format!(
                    "scenario name {:?} is also used by {}: outputs would collide",
                    scenario.name,
                    other.display()
                ),
            ));
        }
        names.push((&scenario.name, &scenario.path));
    }
    if errors.is_empty() {
        Ok((scenarios, sources))
    } else {
        Err(errors)
    }
}

/// Events a run may be expected to simulate before `--force` is needed: about ten minutes
/// of one core at the engine's speed.
const EVENT_LIMIT: f64 = 1e10;

/// Refuses scenarios whose estimated size is far beyond a sensible run, unless forced.
fn check_size(
    scenarios: &[Scenario],
    replications: Option<u32>,
) -> Result<(), Vec<ScenarioErrors>> {
    let errors: Vec<ScenarioErrors> = scenarios
        .iter()
        .filter_map(|scenario| {
            let replications = f64::from(replications.unwrap_or(scenario.replications));
            let events: f64 = scenario
                .variants
                .iter()
                .map(|v| v.run.estimated_events() * replications)
                .sum();
            (events > EVENT_LIMIT).then(|| {
                ScenarioErrors::message(
                    &scenario.path.display().to_string(),
                    &format!(
                        "an estimated {events:.1e} events over {} variant(s) × {replications} \
                         replication(s), more than the limit of {EVENT_LIMIT:.0e} (about ten \
                         minutes of one core); check rate, duration and the sweep, or pass \
                         --force to run it anyway",
                        scenario.variants.len()
                    ),
                )
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn run(args: &RunArgs, mut checking: Option<Checking>) -> ExitCode {
    let loaded = load(&args.paths).and_then(|(scenarios, sources)| {
        if !args.force {
            check_size(&scenarios, args.replications)?;
        }
        if let Some(checking) = &mut checking
            && args.shard.is_none()
        {
            checking.load_goldens(&scenarios.iter().collect::<Vec<_>>())?;
        }
        Ok((scenarios, sources))
    });
    let (scenarios, sources) = match loaded {
        Ok(loaded) => loaded,
        Err(errors) => {
            for error in errors {
                errln!("{error}");
            }
            return ExitCode::from(BAD_INPUT);
        }
    };
    let options = RunOptions {
        jobs: args.jobs.map(|j| j as usize),
        seed: args.seed,
        replications: args.replications,
        quiet: args.quiet,
    };
    if let Some(shard) = args.shard {
        return run_shard(
            &scenarios,
            &sources,
            &options,
            shard,
            args,
            checking.is_some(),
        );
    }
    let simulated = run_scenarios(&scenarios, &options)
        .and_then(|outcome| Ok((outcome, options.thread_pool()?)));
    let (outcome, pool) = match simulated {
        Ok(simulated) => simulated,
        Err(error) => {
            errln!("lbsim: cannot start worker threads: {error}");
            return ExitCode::from(RUN_FAILED);
        }
    };
    let report_options = ReportOptions { png: args.png };
    let reported = pool.install(|| {
        report(
            &outcome.complete,
            &args.out,
            &report_options,
            args.quiet,
            checking.as_ref(),
        )
    });
    match explain_failures(&outcome.failed, &outcome.complete) {
        Some(status) => ExitCode::from(status),
        None => reported,
    }
}

/// Says which runs failed and why, and which scenarios were written all the same; returns
/// the exit status they call for (`None` when nothing failed).
fn explain_failures(failed: &[FailedRun], complete: &[ScenarioResults<'_>]) -> Option<u8> {
    if failed.is_empty() {
        return None;
    }
    let mut interrupted: Vec<&str> = Vec::new();
    for run in failed {
        match &run.failure {
            RunFailure::Panicked(message) => errln!(
                "lbsim: scenario {} failed: variant {} replication {} (seed {}) panicked: \
                 {message}; rerun it alone with --seed {} --replications 1",
                run.scenario,
                run.variant,
                run.replication,
                run.seed,
                run.seed
            ),
            RunFailure::Interrupted => {
                if !interrupted.contains(&run.scenario.as_str()) {
                    interrupted.push(&run.scenario);
                }
            }
        }
    }
    let finished: Vec<&str> = complete.iter().map(|r| r.scenario.name.as_str()).collect();
    if !interrupted.is_empty() {
        errln!(
            "lbsim: interrupted; finished and written: {}; not finished: {}",
            list(&finished),
            interrupted.join(", ")
        );
        return Some(interrupt::EXIT_STATUS);
    }
    errln!("lbsim: finished and written: {}", list(&finished));
    Some(RUN_FAILED)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// Writes every scenario's files and the run's report, prints each scenario's table and,
/// when checking, evaluates its expectations and golden results: one path for a run and a
/// merge, so that both write the same bytes.
fn report(
    results: &[ScenarioResults<'_>],
    out: &Path,
    options: &ReportOptions,
    quiet: bool,
    checking: Option<&Checking>,
) -> ExitCode {
    let mut failed_checks = 0;
    let mut charts = Vec::with_capacity(results.len());
    let mut suites = Vec::new();
    for scenario_results in results {
        let scenario = scenario_results.scenario;
        match report::write_scenario(out, scenario_results, options) {
            Ok(drawn) => charts.push(drawn),
            Err(error) => {
                errln!("lbsim: {}: cannot write results: {error}", scenario.name);
                return ExitCode::from(RUN_FAILED);
            }
        }
        let rows = summary_rows(scenario_results);
        if !quiet {
            outln!("{}", terminal_table(scenario, &rows));
        }
        let Some(checking) = checking else {
            continue;
        };
        let lines = check::evaluate(scenario, &rows);
        failed_checks += lines.iter().filter(|l| !l.passed).count();
        console::out(format_args!("{}", check::render_table(scenario, &lines)));
        let recorded = checking.goldens.get(&scenario.path);
        let mut compared = None;
        if checking.bless {
            let kept = recorded.map_or(&[][..], |g| g.tolerances.as_slice());
            let path = golden::path_for(&scenario.path);
            let text = golden::render(scenario, &rows, kept);
            if let Err(error) = write_atomically(&path, text.as_bytes()) {
                errln!("lbsim: cannot write {}: {error}", path.display());
                return ExitCode::from(RUN_FAILED);
            }
            outln!(
                "golden {}: blessed, {} run(s) recorded",
                path.display(),
                rows.len()
            );
        } else if let Some(recorded) = recorded {
            let outcome = golden::compare(recorded, scenario, &rows);
            if outcome.failed() {
                failed_checks += 1;
            }
            console::out(format_args!(
                "{}",
                golden::render_outcome(recorded, scenario, &outcome)
            ));
            compared = Some((recorded, outcome));
        }
        suites.push(junit::Suite {
            scenario,
            lines,
            golden: compared,
        });
    }
    if let Some(checking) = checking {
        let nothing_to_check = !checking.bless
            && suites
                .iter()
                .all(|s| s.scenario.expectations.is_empty() && s.golden.is_none());
        if nothing_to_check {
            console::out(format_args!(
                "{}",
                check::render_nothing_checked(results.len())
            ));
        }
    }
    if let Err(error) = report::write_index(out, results, &charts, options) {
        errln!("lbsim: cannot write the report: {error}");
        return ExitCode::from(RUN_FAILED);
    }
    if let Some(path) = checking.and_then(|c| c.junit.as_ref())
        && let Err(error) = write_atomically(path, junit::render(&suites).as_bytes())
    {
        errln!("lbsim: cannot write {}: {error}", path.display());
        return ExitCode::from(RUN_FAILED);
    }
    if !quiet {
        outln!(
            "results in {}, report in {}",
            out.display(),
            out.join("index.html").display()
        );
    }
    if failed_checks > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// `run --shard K/N` and `check --shard K/N`: simulates the shard's tasks and saves them,
/// one shard file per scenario; no CSV and no checks (`lbsim merge --check` does those).
fn run_shard(
    scenarios: &[Scenario],
    sources: &[String],
    options: &RunOptions,
    shard: Shard,
    args: &RunArgs,
    check_expectations: bool,
) -> ExitCode {
    if check_expectations {
        errln!(
            "lbsim: check --shard {shard} runs and saves its share only; \
             `lbsim merge --check` evaluates the expectations"
        );
    }
    let shares = match runner::run_shard(scenarios, options, shard) {
        Ok((shares, failed)) => {
            // A shard with a run missing cannot be merged: save nothing.
            if let Some(status) = explain_failures(&failed, &[]) {
                return ExitCode::from(status);
            }
            shares
        }
        Err(error) => {
            errln!("lbsim: cannot start worker threads: {error}");
            return ExitCode::from(RUN_FAILED);
        }
    };
    let run = RunIdentity {
        shard,
        scenarios,
        sources,
        seed: options.seed,
        replications: options.replications,
    };
    match shard::save(&args.out, &run, &shares) {
        Ok(paths) => {
            if !args.quiet {
                for (share, path) in shares.iter().zip(paths) {
                    outln!(
                        "{}: {} of {} runs in {}",
                        scenarios[share.scenario].name,
                        share.tasks.len(),
                        share.task_count,
                        path.display()
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            errln!("lbsim: cannot write shard files: {error}");
            ExitCode::from(RUN_FAILED)
        }
    }
}

/// `lbsim merge`: checks the shard files, reads them back into one run's results and
/// reports them as that run would have.
fn merge(args: &MergeArgs) -> ExitCode {
    let merged = match merge::plan(&args.dirs) {
        Ok(merged) => merged,
        Err(error) => {
            errln!("{error}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let results = match merged.read() {
        Ok(results) => results,
        Err(error) => {
            errln!("{error}");
            return ExitCode::from(BAD_INPUT);
        }
    };
    let mut checking = args.check.then(|| Checking {
        junit: args.junit.clone(),
        bless: false,
        goldens: BTreeMap::new(),
    });
    if let Some(checking) = &mut checking {
        let scenarios: Vec<&Scenario> = results.iter().map(|r| r.scenario).collect();
        if let Err(errors) = checking.load_goldens(&scenarios) {
            for error in errors {
                errln!("{error}");
            }
            return ExitCode::from(BAD_INPUT);
        }
    }
    let options = ReportOptions { png: args.png };
    report(&results, &args.out, &options, args.quiet, checking.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(failure: RunFailure) -> FailedRun {
        FailedRun {
            scenario: "s".into(),
            variant: "base".into(),
            replication: 1,
            seed: 77,
            failure,
        }
    }

    #[test]
    fn a_panicked_run_fails_the_run_and_an_interruption_says_so() {
        assert_eq!(explain_failures(&[], &[]), None);
        let panicked = failed(RunFailure::Panicked("boom".into()));
        assert_eq!(
            explain_failures(std::slice::from_ref(&panicked), &[]),
            Some(RUN_FAILED)
        );
        let interrupted = failed(RunFailure::Interrupted);
        assert_eq!(
            explain_failures(&[panicked, interrupted], &[]),
            Some(interrupt::EXIT_STATUS)
        );
    }
}
