//! The command line, declared with clap. `lbsim` alone runs `scenarios/` into `output/`.
//!
//! Numeric flags are parsed by lbsim's own functions, with negative numbers allowed through
//! to them: clap would read `--seed -1` as a flag and advise `-- -1`, which turns the value
//! into a scenario path; lbsim says what the flag takes instead.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::shard::Shard;

#[derive(Debug, Parser)]
#[command(
    name = "lbsim",
    version,
    about = "A deterministic simulator of load balancing",
    after_help = "With no command, lbsim runs every scenario in scenarios/ and writes the \
                  results to output/: the same as `lbsim run scenarios --out output`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

// These doc comments are clap's help texts, read on a terminal: `[[expect]]` there names a
// scenario section, which rustdoc would take for a link.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run scenarios and write their results.
    Run(RunArgs),
    /// Run scenarios, then evaluate their [[expect]] bounds and compare them with their
    /// golden results; exit 1 when any fails.
    Check(CheckArgs),
    /// Measure the engine's speed and memory on the reference model.
    Bench(BenchArgs),
    /// Merge the shard files of a `--shard` run into the files one run writes.
    Merge(MergeArgs),
    /// Tell a short run of one variant event by event: arrivals, picks and why, queueing,
    /// completions, failures and changes to the cluster.
    Trace(TraceArgs),
    /// Print the JSON Schema of the scenario format, for editors (Even Better TOML, taplo).
    Schema,
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
    #[arg(long, allow_negative_numbers = true, value_parser = jobs)]
    pub jobs: Option<u32>,
    /// Master seed for every scenario, replacing the files' `seed`.
    #[arg(long, allow_negative_numbers = true, value_parser = seed)]
    pub seed: Option<u64>,
    /// Replications for every scenario, replacing the files' `replications`.
    #[arg(long, allow_negative_numbers = true, value_parser = replications)]
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
pub struct CheckArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Also write the verdicts as JUnit XML to FILE: one test case per expectation, and
    /// one for each scenario's golden results.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Record each scenario's results as its golden results, `<name>.golden.toml` beside
    /// the scenario file, instead of comparing with them.
    #[arg(long)]
    pub bless: bool,
}

// Help texts, as `Command`'s.
#[allow(rustdoc::broken_intra_doc_links)]
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Folders holding the shards' output (`<name>/shard-K-of-N.lbsim`), or shard files.
    #[arg(required = true)]
    pub dirs: Vec<PathBuf>,
    /// Where to write results: exactly what one run without --shard writes there.
    #[arg(long)]
    pub out: PathBuf,
    /// Then evaluate every scenario's [[expect]] bounds and compare with its golden
    /// results; exit 1 when any fails.
    #[arg(long)]
    pub check: bool,
    /// With --check, also write the verdicts as JUnit XML to FILE.
    #[arg(long, value_name = "FILE", requires = "check")]
    pub junit: Option<PathBuf>,
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
    #[arg(long, default_value_t = 0, allow_negative_numbers = true, value_parser = variant)]
    pub variant: usize,
    /// Master seed, replacing the file's `seed`.
    #[arg(long, allow_negative_numbers = true, value_parser = seed)]
    pub seed: Option<u64>,
    /// One CSV row per event (time_s,request,event,station,detail) instead of text.
    #[arg(long)]
    pub csv: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Requests to simulate per measurement.
    #[arg(long, default_value_t = 10_000_000, allow_negative_numbers = true, value_parser = requests)]
    pub requests: u64,
    /// Servers of one worker each, at load 0.9.
    #[arg(long, default_value_t = 16, allow_negative_numbers = true, value_parser = servers)]
    pub servers: u32,
    /// Algorithm to measure, or `all`.
    #[arg(long, default_value = "least-connections")]
    pub algorithm: String,
    /// Attach an observer that counts every event, to measure what watching a run costs.
    #[arg(long)]
    pub observed: bool,
    /// A hand-written loop of the same model to compare with in the same run (the
    /// speedlimit program: `PATH SERVERS REQUESTS` prints a JSON line with
    /// requests_per_second); adds its speed and lbsim's share of it.
    #[arg(long, value_name = "PATH")]
    pub speedlimit: Option<PathBuf>,
    /// Measurements per algorithm, taken in turn with the speedlimit loop's: the medians
    /// are printed, with the range of lbsim's share over the rounds and its best rate over
    /// the loop's best. On a shared machine one measurement can be 20% off; the median of
    /// several is steadier, and the best of several the least disturbed.
    #[arg(long, default_value_t = 1, allow_negative_numbers = true, value_parser = rounds)]
    pub rounds: u32,
}

/// `--seed`: any 64-bit master seed.
fn seed(text: &str) -> Result<u64, String> {
    text.parse().map_err(|_| {
        format!(
            "a seed is 0..2^64-1 (a whole number from 0 to {})",
            u64::MAX
        )
    })
}

/// `trace --variant`: an index into the scenario's variants.
fn variant(text: &str) -> Result<usize, String> {
    text.trim()
        .parse()
        .map_err(|_| "a variant is its index in the sweep order: 0, 1, 2, ...".to_string())
}

fn jobs(text: &str) -> Result<u32, String> {
    at_least_one("jobs", text, u32::MAX)
}

fn replications(text: &str) -> Result<u32, String> {
    at_least_one("replications", text, crate::scenario::MAX_REPLICATIONS)
}

fn servers(text: &str) -> Result<u32, String> {
    at_least_one("servers", text, u32::MAX)
}

fn rounds(text: &str) -> Result<u32, String> {
    at_least_one("rounds", text, 1_000)
}

fn requests(text: &str) -> Result<u64, String> {
    at_least_one("requests", text, u64::MAX)
}

/// A count from 1 to `max`; `what` names it in the message.
fn at_least_one<T: TryFrom<i128> + Into<i128> + Copy + std::fmt::Display>(
    what: &str,
    text: &str,
    max: T,
) -> Result<T, String> {
    match text.trim().parse::<i128>() {
        Ok(n) if n < 1 => Err(format!("{what} is at least 1")),
        Ok(n) if n > max.into() => Err(format!("{what} is at most {max}")),
        Ok(n) => T::try_from(n).map_err(|_| format!("{what} is at most {max}")),
        Err(_) => Err(format!("{what} is a whole number, at least 1")),
    }
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
            Some(Command::Check(args)) => {
                assert_eq!(args.run.shard, Some(Shard::new(2, 3).unwrap()))
            }
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

    /// The message clap shows for `args`, which must not parse.
    fn rejected(args: &[&str]) -> String {
        Cli::try_parse_from(args).unwrap_err().to_string()
    }

    #[test]
    fn numeric_flags_answer_a_negative_number_with_what_they_take() {
        let message = rejected(&["lbsim", "run", "--seed", "-1"]);
        assert!(message.contains("a seed is 0..2^64-1"), "{message}");
        assert!(!message.contains("-- -1"), "{message}");
        for (flag, what) in [("--jobs", "jobs"), ("--replications", "replications")] {
            for value in ["0", "-1"] {
                let message = rejected(&["lbsim", "run", flag, value]);
                assert!(
                    message.contains(&format!("{what} is at least 1")),
                    "{message}"
                );
            }
        }
        let message = rejected(&["lbsim", "trace", "s.toml", "--seed", "-5"]);
        assert!(message.contains("a seed is 0..2^64-1"), "{message}");
        let message = rejected(&["lbsim", "trace", "s.toml", "--variant", "-1"]);
        assert!(message.contains("a variant is its index"), "{message}");
        let message = rejected(&["lbsim", "bench", "--servers", "-2"]);
        assert!(message.contains("servers is at least 1"), "{message}");
        let message = rejected(&["lbsim", "run", "--jobs", "4294967296"]);
        assert!(message.contains("jobs is at most 4294967295"), "{message}");
        let message = rejected(&["lbsim", "run", "--replications", "100001"]);
        assert!(
            message.contains("replications is at most 100000"),
            "{message}"
        );
        let message = rejected(&["lbsim", "run", "--replications", "two"]);
        assert!(message.contains("a whole number"), "{message}");
    }

    #[test]
    fn every_seed_and_count_in_range_parses() {
        let cli = Cli::try_parse_from([
            "lbsim",
            "run",
            "--seed",
            "18446744073709551615",
            "--jobs",
            "1",
            "--replications",
            "100000",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Run(args)) => {
                assert_eq!(args.seed, Some(u64::MAX));
                assert_eq!(args.jobs, Some(1));
                assert_eq!(args.replications, Some(crate::scenario::MAX_REPLICATIONS));
            }
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["lbsim", "run", "--seed", "0"]).unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Run(RunArgs { seed: Some(0), .. }))
        ));
    }

    #[test]
    fn the_help_says_that_no_command_runs_the_scenarios_folder() {
        let help = Cli::command().render_help().to_string();
        assert!(help.contains("With no command, lbsim runs every scenario in scenarios/"));
    }
}
