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
const MEAN_SERVICE: SimDuration = SimDuration::from_millis(10);

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
        BalancerSpec::new(algorithm),
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
        "{:<22} {:>8} {:>12} {:>9} {:>14} {:>10} {:>13}",
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
        let started = Instant::now();
        let (result, observed) = if args.observed {
            let mut counter = EventCounter(0);
            (simulate_observed(&spec, 1, &mut counter), Some(counter.0))
        } else {
            (simulate(&spec, 1), None)
        };
        let wall = started.elapsed().as_secs_f64();
        let requests = result.counts.arrived;
        let rate = requests as f64 / wall;
        outln!(
            "{:<22} {:>8} {:>12} {:>9.3} {:>14.0} {:>10.1} {:>13}{}",
            algorithm.name(),
            args.servers,
            requests,
            wall,
            rate,
            wall * 1e9 / requests as f64,
            peak_rss_mb().map_or("n/a".to_string(), |mb| format!("{mb:.1}")),
            observed.map_or(String::new(), |n| format!("  ({n} events observed)")),
        );
        if let Some(path) = &args.speedlimit {
            match speedlimit(path, args.servers, args.requests) {
                Ok(limit) => outln!(
                    "{:<22} {:>8} {:>12} {:>9} {:>14.0} {:>10.1}   lbsim at {:.2} of it",
                    "speedlimit",
                    args.servers,
                    args.requests,
                    "",
                    limit,
                    1e9 / limit,
                    rate / limit
                ),
                Err(problem) => {
                    errln!("lbsim bench: --speedlimit {}: {problem}", path.display());
                    return ExitCode::from(2);
                }
            }
        }
    }
    ExitCode::SUCCESS
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
    let output = Command::new(path)
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
