//! `lbsim bench`: the engine's speed and memory on the reference model — servers of one
//! worker, Poisson arrivals, exponential service, load 0.9 — in simulated requests per
//! wall-clock second and peak resident memory. Wall time is read here only, around a run,
//! never inside one.

use std::process::ExitCode;
use std::time::Instant;

use crate::balancer::{Algorithm, BalancerSpec};
use crate::cli::BenchArgs;
use crate::engine::SimDuration;
use crate::model::{
    ArrivalPattern, GeneratedWorkload, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist,
    WorkloadSpec, simulate,
};

const LOAD: f64 = 0.9;
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
        eprintln!(
            "lbsim bench: --algorithm: unknown {:?}; expected all or one of {}",
            args.algorithm,
            names.join(", ")
        );
        return ExitCode::from(2);
    };
    if args.servers == 0 || args.requests == 0 {
        eprintln!("lbsim bench: --servers and --requests must be positive");
        return ExitCode::from(2);
    }
    println!(
        "{:<26} {:>8} {:>12} {:>9} {:>14} {:>10} {:>13}",
        "algorithm", "servers", "requests", "wall s", "requests/s", "ns/req", "peak RSS MB"
    );
    for algorithm in algorithms {
        let spec = reference_model(args.servers, args.requests, algorithm);
        let started = Instant::now();
        let result = simulate(&spec, 1);
        let wall = started.elapsed().as_secs_f64();
        let requests = result.counts.arrived;
        println!(
            "{:<26} {:>8} {:>12} {:>9.3} {:>14.0} {:>10.1} {:>13}",
            algorithm.name(),
            args.servers,
            requests,
            wall,
            requests as f64 / wall,
            wall * 1e9 / requests as f64,
            peak_rss_mb().map_or("n/a".to_string(), |mb| format!("{mb:.1}")),
        );
    }
    ExitCode::SUCCESS
}

/// Peak resident set size of this process (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
