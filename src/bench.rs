//! `lbsim bench`: the engine's speed and memory on the reference model — servers of one
//! worker, Poisson arrivals, exponential service, load 0.9 — in simulated requests per
//! wall-clock second and peak resident memory. Wall time is read here only, around a run,
//! never inside one.

use std::path::Path;
use std::process::Command;
use std::process::ExitCode;
use std::time::Instant;

use crate::app::console::{errln, outln};
use crate::balancer::{Algorithm, BalancerSpec};
use crate::cli::BenchArgs;
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    ArrivalPattern, GeneratedWorkload, Observed, Observer, RateSchedule, RunSpec, ServerGroupSpec,
    ServiceDist, WorkloadSpec, simulate, simulate_observed,
};

const LOAD: f64 = 0.9;
/// 10 ms, where the speedlimit loop's model has 1 ms: only the time scale differs, and the
/// queueing is the same event for event. At 10 ms a one-second interval of the time series
/// holds about 1,440 requests at 16 servers, as a scenario's would; at 1 ms and 10,000
/// servers a whole measurement would fall inside one interval.
const MEAN_SERVICE: SimDuration = SimDuration::from_millis(10);
/// `first`'s per-server limit in the reference model: one in service, three waiting.
const FIRST_MAX_CONNECTIONS: u32 = 4;

/// The reference model with `servers` servers, sized to bring about `requests` arrivals.
pub fn reference_model(servers: u32, requests: u64, algorithm: Algorithm) -> RunSpec {
    let rate = LOAD * f64::from(servers) / MEAN_SERVICE.as_secs_f64();
    RunSpec::new(
        SimDuration::from_secs_f64(requests as f64 / rate),
        WorkloadSpec::Generated(GeneratedWorkload {
            rate: RateSchedule::constant(rate),
            arrivals: ArrivalPattern::Poisson,
            service: ServiceDist::Exponential { mean: MEAN_SERVICE },
            // Many clients, so that the hashing algorithms spread load as evenly as a
            // large real population would.
            clients: 1_000_000,
        }),
        vec![ServerGroupSpec::new("server", servers)],
        BalancerSpec {
            // `first` needs a limit; the other algorithms ignore it.
            max_connections: Some(FIRST_MAX_CONNECTIONS),
            ..BalancerSpec::new(algorithm)
        },
    )
}

pub fn main(args: &BenchArgs) -> ExitCode {
    let algorithms: Vec<Algorithm> = if args.algorithm == "all" {
        Algorithm::ALL.to_vec()
    } else if let Some(algorithm) = Algorithm::from_name(&args.algorithm) {
        vec![algorithm]
    } else {
        let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        errln!(
            "lbsim bench: --algorithm: unknown {:?}; expected all or one of {}",
            args.algorithm,
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    if args.servers == 0 || args.requests == 0 {
        errln!("lbsim bench: --servers and --requests must be positive");
        return ExitCode::from(2);
    }
    outln!(
        "{:<26} {:>8} {:>12} {:>9} {:>14} {:>10} {:>13}",
        "algorithm",
        "servers",
        "requests",
        "wall s",
        "requests/s",
        "ns/req",
        "peak RSS MB"
    );
    for algorithm in algorithms {
        let spec = reference_model(args.servers, args.requests, algorithm);
        let mut runs = Vec::with_capacity(args.rounds as usize);
        let mut limits = Vec::with_capacity(args.rounds as usize);
        // In turn, so that a neighbour's busy minute slows both sides of a round.
        for _ in 0..args.rounds {
            runs.push(measure(&spec, args.observed));
            if let Some(path) = &args.speedlimit {
                match speedlimit(path, args.servers, args.requests) {
                    Ok(limit) => limits.push(limit),
                    Err(problem) => {
                        errln!("lbsim bench: --speedlimit {}: {problem}", path.display());
                        return ExitCode::from(2);
                    }
                }
            }
        }
        let requests = runs[0].requests;
        let wall = median(runs.iter().map(|run| run.wall).collect());
        let rate = requests as f64 / wall;
        outln!(
            "{:<26} {:>8} {:>12} {:>9.3} {:>14.0} {:>10.1} {:>13}{}{}",
            algorithm.name(),
            args.servers,
            requests,
            wall,
            rate,
            wall * 1e9 / requests as f64,
            peak_rss_mb().map_or("n/a".to_string(), |mb| format!("{mb:.1}")),
            runs[0]
                .observed
                .map_or(String::new(), |n| format!("  ({n} events observed)")),
            rounds_note(args.rounds),
        );
        if !limits.is_empty() {
            let rates: Vec<f64> = runs
                .iter()
                .map(|run| run.requests as f64 / run.wall)
                .collect();
            let shares = Shares::of(&rates, &limits);
            let limit = median(limits);
            let by_round = if args.rounds > 1 {
                format!(
                    " by the median round (by round {:.2} to {:.2}), {:.2} best against best",
                    shares.lowest, shares.highest, shares.best
                )
            } else {
                String::new()
            };
            outln!(
                "{:<26} {:>8} {:>12} {:>9} {:>14.0} {:>10.1}   lbsim at {:.2} of it{by_round}",
                "speedlimit",
                args.servers,
                args.requests,
                "",
                limit,
                1e9 / limit,
                shares.median,
            );
        }
    }
    ExitCode::SUCCESS
}

/// lbsim's share of the loop's speed over the rounds.
#[derive(Debug, PartialEq)]
struct Shares {
    /// The median of the rounds' shares, each lbsim's rate over the loop's beside it.
    median: f64,
    lowest: f64,
    highest: f64,
    /// lbsim's best rate over the loop's best. A neighbour on a shared machine only ever
    /// adds time, and adds more to lbsim, whose steps do more work than the loop's, so
    /// each program's fastest round is its least disturbed: Python's `timeit` reports the
    /// best of its repeats for this reason, and Chen and Revels ("Robust benchmarking in
    /// noisy environments", 2016) argue for the minimum as the estimator such noise moves
    /// least.
    best: f64,
}

impl Shares {
    /// From lbsim's rate and the loop's, round by round.
    fn of(rates: &[f64], limits: &[f64]) -> Shares {
        let by_round: Vec<f64> = rates
            .iter()
            .zip(limits)
            .map(|(rate, limit)| rate / limit)
            .collect();
        let (lowest, highest) = range(&by_round);
        Shares {
            median: median(by_round),
            lowest,
            highest,
            best: range(rates).1 / range(limits).1,
        }
    }
}

/// One measurement of lbsim on the reference model.
struct Run {
    wall: f64,
    requests: u64,
    observed: Option<u64>,
}

fn measure(spec: &RunSpec, observed: bool) -> Run {
    let started = Instant::now();
    let (result, observed) = if observed {
        let mut counter = EventCounter(0);
        (simulate_observed(spec, 1, &mut counter), Some(counter.0))
    } else {
        (simulate(spec, 1), None)
    };
    Run {
        wall: started.elapsed().as_secs_f64(),
        requests: result.counts.arrived,
        observed,
    }
}

fn rounds_note(rounds: u32) -> String {
    if rounds > 1 {
        format!("  (median of {rounds})")
    } else {
        String::new()
    }
}

/// The median: the middle value, or the mean of the two middle values.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 {
        values[middle]
    } else {
        (values[middle - 1] + values[middle]) / 2.0
    }
}

/// The lowest and highest value.
fn range(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), &v| {
            (low.min(v), high.max(v))
        })
}

/// Counts what it is told: the cheapest observer that still makes every report happen.
struct EventCounter(u64);

impl Observer for EventCounter {
    fn observe(&mut self, _now: SimTime, _event: Observed<'_>) {
        self.0 += 1;
    }
}

/// Runs the hand-written reference loop on the same model and reads its requests per second.
fn speedlimit(path: &Path, servers: u32, requests: u64) -> Result<f64, String> {
    // A bare name is a file here, as the option says, not a command to look up on PATH.
    let output = Command::new(Path::new(".").join(path))
        .arg(servers.to_string())
        .arg(requests.to_string())
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!("exited with {}", output.status));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let key = "\"requests_per_second\":";
    let at = text
        .find(key)
        .ok_or_else(|| format!("no requests_per_second in {text:?}"))?;
    text[at + key.len()..]
        .trim_start()
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("no number after requests_per_second in {text:?}"))
}

/// Peak resident set size of this process (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(vec![7.0]), 7.0);
    }

    #[test]
    fn shares_are_taken_round_by_round_and_best_against_best() {
        // lbsim's worst round (5) met the loop's best (20), and best against best is
        // 8 over 20, though no round had both.
        let shares = Shares::of(&[5.0, 8.0, 6.0], &[20.0, 16.0, 12.0]);
        assert_eq!(
            shares,
            Shares {
                median: 0.5,
                lowest: 0.25,
                highest: 0.5,
                best: 0.4,
            }
        );
    }

    #[test]
    fn the_range_is_the_lowest_and_highest_value() {
        assert_eq!(range(&[0.5, 0.42, 0.54, 0.49]), (0.42, 0.54));
    }
}
