//! `lbsim trace SCENARIO [--until 1s] [--variant K] [--seed N] [--csv]`: one variant of a
//! scenario, run for a short simulated time and told event by event on standard output.
//!
//! The run is the scenario's own (its seed unless `--seed` replaces it, the variant asked
//! for, the first replication), cut at
//! `--until`: arrivals stop there and the events after it are not told. Exit status 2 for
//! bad input, as every command.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use crate::app::console::errln;
use crate::cli::TraceArgs;
use crate::engine::{SimDuration, derive_seed};
use crate::model::{RunSpec, simulate_observed};
use crate::report::{Narration, NarrationFormat};
use crate::scenario::{Scenario, parse_duration};

pub fn main(args: &TraceArgs) -> ExitCode {
    let scenario = match Scenario::from_path(&args.scenario) {
        Ok(scenario) => scenario,
        Err(errors) => {
            errln!("{errors}");
            return ExitCode::from(2);
        }
    };
    let until = match parse_duration(&args.until) {
        Ok(until) if until > SimDuration::ZERO => until,
        Ok(_) => return usage("--until: expected a positive duration such as \"2s\""),
        Err(message) => return usage(&format!("--until: {message}")),
    };
    let Some(variant) = scenario.variants.get(args.variant) else {
        let labels: Vec<String> = (0..)
            .zip(&scenario.variants)
            .map(|(i, v): (usize, _)| format!("  {i}: {}", v.label))
            .collect();
        return usage(&format!(
            "--variant: {} has no variant {}; its variants are:\n{}",
            scenario.name,
            args.variant,
            labels.join("\n")
        ));
    };
    let spec = cut(&variant.run, until);
    let names = server_names(&spec);
    let format = if args.csv {
        NarrationFormat::Csv
    } else {
        NarrationFormat::Text
    };
    let mut narration = Narration::new(BufWriter::new(io::stdout().lock()), format, names);
    let seed = derive_seed(args.seed.unwrap_or(scenario.seed), 0);
    simulate_observed(&spec, seed, &mut narration);
    match narration.finish() {
        Ok(_) => ExitCode::SUCCESS,
        // A reader that stopped reading (`| head`) is not an error.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            errln!("lbsim trace: {error}");
            ExitCode::from(3)
        }
    }
}

/// `run` ending at `until` if that is sooner, its warmup and sampling unchanged.
fn cut(run: &RunSpec, until: SimDuration) -> RunSpec {
    let duration = run.duration.min(until);
    RunSpec {
        duration,
        warmup: run.warmup.min(duration),
        timeline: run
            .timeline
            .iter()
            .filter(|action| action.at.as_nanos() < duration.as_nanos())
            .cloned()
            .collect(),
        ..run.clone()
    }
}

/// The names of the servers a run starts with, by id.
fn server_names(run: &RunSpec) -> Vec<String> {
    run.servers
        .iter()
        .flat_map(|group| (0..group.count).map(move |i| format!("{}-{i}", group.name)))
        .collect()
}

fn usage(message: &str) -> ExitCode {
    errln!("lbsim trace: {message}");
    ExitCode::from(2)
}
