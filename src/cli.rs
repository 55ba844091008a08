//! The command line, declared with clap. `lbsim` alone runs `scenarios/` into `output/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lbsim",
    version,
    about = "A deterministic simulator of load balancing"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios and write their results.
    Run(RunArgs),
    /// Run scenarios, then evaluate their [[expect]] bounds; exit 1 when any fails.
    Check(RunArgs),
    /// Measure the engine's speed and memory on the reference model.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario files, or folders whose *.toml files are run in name order.
    #[arg(default_value = "scenarios")]
    pub paths: Vec<PathBuf>,
    /// Where to write results: one folder per scenario.
    #[arg(long, default_value = "output")]
    pub out: PathBuf,
    /// Runs simulated at once (default: every core). Never changes the results.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// Master seed for every scenario, replacing the files' `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Replications for every scenario, replacing the files' `replications`.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub replications: Option<u32>,
    /// No progress bar and no result table.
    #[arg(long)]
    pub quiet: bool,
    /// Also write every chart as a PNG image beside its SVG.
    #[arg(long)]
    pub png: bool,
    /// Run scenarios even when their estimated size is over the limit.
    #[arg(long)]
    pub force: bool,
}

impl Default for RunArgs {
    fn default() -> Self {
        RunArgs {
            paths: vec![PathBuf::from("scenarios")],
            out: PathBuf::from("output"),
            jobs: None,
            seed: None,
            replications: None,
            quiet: false,
            png: false,
            force: false,
        }
    }
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Requests to simulate per measurement.
    #[arg(long, default_value_t = 10_000_000)]
    pub requests: u64,
    /// Servers of one worker each, at load 0.9.
    #[arg(long, default_value_t = 16)]
    pub servers: u32,
    /// Algorithm to measure, or `all`.
    #[arg(long, default_value = "least-connections")]
    pub algorithm: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_subcommand_means_the_bundled_scenarios() {
        let cli = Cli::try_parse_from(["lbsim"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["lbsim", "run", "--jobs", "2", "a.toml"]).unwrap();
        match cli.command {
            Some(Command::Run(args)) => {
                assert_eq!(args.jobs, Some(2));
                assert_eq!(args.paths, vec![PathBuf::from("a.toml")]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn zero_jobs_is_a_usage_error() {
        assert!(Cli::try_parse_from(["lbsim", "run", "--jobs", "0"]).is_err());
    }
}
