//! The command line, declared with clap. `lbsim` alone runs `scenarios/` into `output/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shard::Shard;

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
    /// Merge the shard files of a `--shard` run into the files one run writes.
    Merge(MergeArgs),
    /// Tell a short run of one variant event by event: arrivals, picks and why, queueing,
    /// completions, failures and changes to the cluster.
    Trace(TraceArgs),
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
    /// Run only shard K of N of the run's tasks (task i is shard i mod N + 1) and save them
    /// as `<out>/<name>/shard-K-of-N.lbsim` for `lbsim merge`, instead of the CSV files.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
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
            shard: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Folders holding the shards' output (`<name>/shard-K-of-N.lbsim`), or shard files.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write results: exactly what one run without --shard writes there.
    #[arg(long)]
    pub out: PathBuf,
    /// Then evaluate every scenario's [[expect]] bounds; exit 1 when any fails.
    #[arg(long)]
    pub check: bool,
    /// No result table.
    #[arg(long)]
    pub quiet: bool,
    /// Also write every chart as a PNG image beside its SVG.
    #[arg(long)]
    pub png: bool,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    /// The scenario file.
    pub scenario: PathBuf,
    /// Simulated time to tell; arrivals stop there.
    #[arg(long, default_value = "1s")]
    pub until: String,
    /// Which variant (its index in the sweep order, from 0).
    #[arg(long, default_value_t = 0)]
    pub variant: usize,
    /// Master seed, replacing the file's `seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// One CSV row per event (time_s,request,event,station,detail) instead of text.
    #[arg(long)]
    pub csv: bool,
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
    fn a_shard_is_k_of_n_and_merge_needs_folders_and_out() {
        let cli = Cli::try_parse_from(["lbsim", "check", "--shard", "2/3"]).unwrap();
        match cli.command {
            Some(Command::Check(args)) => assert_eq!(args.shard, Some(Shard::new(2, 3).unwrap())),
            other => panic!("{other:?}"),
        }
        for bad in ["0/3", "4/3", "x"] {
            assert!(
                Cli::try_parse_from(["lbsim", "run", "--shard", bad]).is_err(),
                "{bad}"
            );
        }
        assert!(Cli::try_parse_from(["lbsim", "merge", "a", "b", "--out", "c"]).is_ok());
        assert!(Cli::try_parse_from(["lbsim", "merge", "--out", "c"]).is_err());
        assert!(Cli::try_parse_from(["lbsim", "merge", "a"]).is_err());
    }

    #[test]
    fn zero_jobs_is_a_usage_error() {
        assert!(Cli::try_parse_from(["lbsim", "run", "--jobs", "0"]).is_err());
    }
}
