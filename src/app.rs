//! What each command does, from parsed arguments to an exit status:
//! 0 success, 1 an expectation failed, 2 bad input (usage or scenario), 3 the run or its
//! output failed (an I/O error, say).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::bench;
use crate::check;
use crate::cli::{Cli, Command, RunArgs};
use crate::report::{self, ReportOptions, summary_rows, terminal_table};
use crate::runner::{RunOptions, run_scenarios};
use crate::scenario::{Scenario, ScenarioErrors, discover};

/// Exit status for bad input.
const BAD_INPUT: u8 = 2;
/// Exit status for a run that failed for another reason.
const RUN_FAILED: u8 = 3;

pub fn main(cli: Cli) -> ExitCode {
    match cli.command {
        None => run(&RunArgs::default(), false),
        Some(Command::Run(args)) => run(&args, false),
        Some(Command::Check(args)) => run(&args, true),
        Some(Command::Bench(args)) => bench::main(&args),
    }
}

/// Loads every scenario first, so that bad input stops the run before anything is written.
fn load(paths: &[PathBuf]) -> Result<Vec<Scenario>, Vec<ScenarioErrors>> {
    let files = discover(paths).map_err(|e| vec![e])?;
    let mut scenarios = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match Scenario::from_path(&file) {
            Ok(scenario) => {
                for warning in &scenario.warnings {
                    eprintln!("{warning}");
                }
                scenarios.push(scenario);
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
        Ok(scenarios)
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

fn run(args: &RunArgs, check_expectations: bool) -> ExitCode {
    let loaded = load(&args.paths).and_then(|scenarios| {
        if !args.force {
            check_size(&scenarios, args.replications)?;
        }
        Ok(scenarios)
    });
    let scenarios = match loaded {
        Ok(scenarios) => scenarios,
        Err(errors) => {
            for error in errors {
                eprintln!("{error}");
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
    let results = match run_scenarios(&scenarios, &options) {
        Ok(results) => results,
        Err(error) => {
            eprintln!("lbsim: cannot start worker threads: {error}");
            return ExitCode::from(RUN_FAILED);
        }
    };

    let report_options = ReportOptions { png: args.png };
    let mut stdout = std::io::stdout().lock();
    let mut failed_checks = 0;
    for scenario_results in &results {
        if let Err(error) = report::write_scenario(&args.out, scenario_results, &report_options) {
            eprintln!(
                "lbsim: {}: cannot write results: {error}",
                scenario_results.scenario.name
            );
            return ExitCode::from(RUN_FAILED);
        }
        let rows = summary_rows(scenario_results);
        // A closed stdout (`lbsim run | head`) is not an error: results are on disk.
        if !args.quiet {
            let _ = writeln!(
                stdout,
                "{}",
                terminal_table(scenario_results.scenario, &rows)
            );
        }
        if check_expectations {
            let lines = check::evaluate(scenario_results.scenario, &rows);
            failed_checks += lines.iter().filter(|l| !l.passed).count();
            let _ = write!(stdout, "{}", check::render_table(&lines));
        }
    }
    if let Err(error) = report::write_index(&args.out, &results, &report_options) {
        eprintln!("lbsim: cannot write the report: {error}");
        return ExitCode::from(RUN_FAILED);
    }
    if !args.quiet {
        let _ = writeln!(
            stdout,
            "results in {}, report in {}",
            args.out.display(),
            args.out.join("index.html").display()
        );
    }
    if failed_checks > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
