//! The simulator against queueing theory: M/M/1, M/M/c (Erlang C), random routing as
//! independent M/M/1 queues, and M/D/1 and M/G/1 (Pollaczek–Khinchine).
//!
//! Each check runs independent replications and derives its tolerance from them: the
//! half-width of a 99.9% confidence interval of the mean across replications (Student's t),
//! plus, for percentiles, the histogram's 1% relative resolution. The seed is fixed; a
//! tolerance is never tuned until green — a miss means a bug.

use lbsim::balancer::{Algorithm, BalancerSpec};
use lbsim::engine::{SimDuration, derive_seed};
use lbsim::model::{
    ArrivalPattern, GeneratedWorkload, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist,
    WorkloadSpec, simulate,
};
use lbsim::stats::RunResult;
use rayon::prelude::*;

const MEAN_SERVICE_MS: f64 = 10.0;
const MU: f64 = 1000.0 / MEAN_SERVICE_MS;
const REPLICATIONS: u32 = 10;
/// Student's t, two-sided 99.9%, 9 degrees of freedom.
const T_999_DF9: f64 = 4.781;

fn model(
    servers: u32,
    workers: u32,
    rate: f64,
    service: ServiceDist,
    algorithm: Algorithm,
    seconds: u64,
) -> RunSpec {
    RunSpec {
        // Long against the relaxation time of every model below (under 2 s).
        warmup: SimDuration::from_secs(seconds / 20),
        sample_interval: None,
        ..RunSpec::new(
            SimDuration::from_secs(seconds),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::constant(rate),
                arrivals: ArrivalPattern::Poisson,
                service,
                clients: 10_000,
            }),
            vec![ServerGroupSpec {
                workers,
                ..ServerGroupSpec::new("server", servers)
            }],
            BalancerSpec::new(algorithm),
        )
    }
}

fn exponential() -> ServiceDist {
    ServiceDist::Exponential {
        mean: SimDuration::from_millis(10),
    }
}

fn replicate(spec: &RunSpec, seed: u64) -> Vec<RunResult> {
    (0..REPLICATIONS)
        .into_par_iter()
        .map(|r| simulate(spec, derive_seed(seed, r)))
        .collect()
}

/// Mean across replications and the half-width of its 99.9% confidence interval.
fn estimate(results: &[RunResult], metric: impl Fn(&RunResult) -> f64) -> (f64, f64) {
    let xs: Vec<f64> = results.iter().map(metric).collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let variance = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, T_999_DF9 * (variance / n).sqrt())
}

/// Asserts that `theory` lies within the run's confidence interval, widened by the
/// histogram's relative resolution where the metric is a percentile.
fn assert_matches(what: &str, (mean, half_width): (f64, f64), theory: f64, resolution: f64) {
    let tolerance = half_width + resolution * theory;
    println!("{what}: simulated {mean:.4} ± {half_width:.4}, theory {theory:.4}");
    assert!(
        (mean - theory).abs() <= tolerance,
        "{what}: simulated {mean:.4} ± {tolerance:.4} (99.9% CI + resolution) misses theory {theory:.4}"
    );
    // The interval must be tight enough to mean something: within 5% of the value.
    assert!(
        half_width < 0.05 * theory.max(1.0),
        "{what}: interval ±{half_width:.4} too wide to test anything"
    );
}

/// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
/// `a = λ/μ` erlangs.
fn erlang_c(c: u32, a: f64) -> f64 {
    // Erlang B by its stable recursion, then C from B.
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (f64::from(k) + a * b);
    }
    let rho = a / f64::from(c);
    b / (1.0 - rho * (1.0 - b))
}

/// Mean response time (ms) and 99th percentile of waiting (ms) of M/M/c.
fn mmc(c: u32, lambda: f64) -> (f64, f64) {
    let a = lambda / MU;
    let wait_probability = erlang_c(c, a);
    let drain_rate = f64::from(c) * MU - lambda;
    let mean_wait = wait_probability / drain_rate;
    // P(W > t) = C e^{-(cμ-λ)t}; the 99th percentile is 0 when fewer than 1% wait.
    let p99_wait = if wait_probability <= 0.01 {
        0.0
    } else {
        (wait_probability / 0.01).ln() / drain_rate
    };
    ((mean_wait + 1.0 / MU) * 1000.0, p99_wait * 1000.0)
}

#[test]
fn erlang_c_matches_known_values() {
    // M/M/1: C = ρ. Two servers at a = 1: C = 1/3.
    assert!((erlang_c(1, 0.8) - 0.8).abs() < 1e-12);
    assert!((erlang_c(2, 1.0) - 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn mm1_at_load_0_8_matches_the_exact_formulas() {
    let lambda = 0.8 * MU;
    let results = replicate(
        &model(1, 1, lambda, exponential(), Algorithm::RoundRobin, 4000),
        101,
    );
    let (mean_response, p99_wait) = mmc(1, lambda);
    assert_matches(
        "M/M/1 mean response ms",
        estimate(&results, |r| r.latency.mean_ms()),
        mean_response,
        0.0,
    );
    assert_matches(
        "M/M/1 p99 wait ms",
        estimate(&results, |r| r.wait.quantile_ms(0.99)),
        p99_wait,
        0.01,
    );
    assert_matches(
        "M/M/1 utilization",
        estimate(&results, |r| r.utilization),
        0.8,
        0.0,
    );
}

#[test]
fn mmc_with_4_and_16_workers_at_load_0_9_matches_erlang_c() {
    for (c, seconds) in [(4u32, 10_000u64), (16, 2_000)] {
        let lambda = 0.9 * f64::from(c) * MU;
        let results = replicate(
            &model(1, c, lambda, exponential(), Algorithm::RoundRobin, seconds),
            202 + u64::from(c),
        );
        let (mean_response, p99_wait) = mmc(c, lambda);
        assert_matches(
            &format!("M/M/{c} mean response ms"),
            estimate(&results, |r| r.latency.mean_ms()),
            mean_response,
            0.0,
        );
        assert_matches(
            &format!("M/M/{c} p99 wait ms"),
            estimate(&results, |r| r.wait.quantile_ms(0.99)),
            p99_wait,
            0.01,
        );
    }
}

#[test]
fn random_routing_over_n_servers_is_n_independent_mm1_queues() {
    // Splitting a Poisson stream at random gives each of N servers a Poisson stream of
    // rate λ/N: each is an M/M/1 queue at load 0.8.
    let n = 4;
    let lambda = 0.8 * MU * f64::from(n);
    let results = replicate(
        &model(n, 1, lambda, exponential(), Algorithm::Random, 2000),
        303,
    );
    let (mean_response, p99_wait) = mmc(1, lambda / f64::from(n));
    assert_matches(
        "random routing mean response ms",
        estimate(&results, |r| r.latency.mean_ms()),
        mean_response,
        0.0,
    );
    assert_matches(
        "random routing p99 wait ms",
        estimate(&results, |r| r.wait.quantile_ms(0.99)),
        p99_wait,
        0.01,
    );
    for server in 0..n as usize {
        assert_matches(
            &format!("random routing utilization of server {server}"),
            estimate(&results, |r| r.servers[server].utilization),
            0.8,
            0.0,
        );
    }
}

#[test]
fn md1_mean_wait_matches_pollaczek_khinchine() {
    // P–K: E[W] = λ E[S²] / (2 (1 - ρ)); constant service has E[S²] = E[S]².
    let lambda = 0.8 * MU;
    let service = ServiceDist::Constant {
        mean: SimDuration::from_millis(10),
    };
    let results = replicate(
        &model(1, 1, lambda, service, Algorithm::RoundRobin, 2000),
        404,
    );
    let s = MEAN_SERVICE_MS / 1000.0;
    let theory = lambda * s * s / (2.0 * (1.0 - 0.8)) * 1000.0;
    assert_matches(
        "M/D/1 mean wait ms",
        estimate(&results, |r| r.wait.mean_ms()),
        theory,
        0.0,
    );
}

#[test]
fn mg1_with_lognormal_service_matches_pollaczek_khinchine() {
    // E[S²] = E[S]² (1 + cv²); cv = 0.5 at load 0.7.
    let lambda = 0.7 * MU;
    let service = ServiceDist::LogNormal {
        mean: SimDuration::from_millis(10),
        cv: 0.5,
    };
    let results = replicate(
        &model(1, 1, lambda, service, Algorithm::RoundRobin, 2000),
        505,
    );
    let s = MEAN_SERVICE_MS / 1000.0;
    let theory = lambda * s * s * 1.25 / (2.0 * (1.0 - 0.7)) * 1000.0;
    assert_matches(
        "M/G/1 mean wait ms",
        estimate(&results, |r| r.wait.mean_ms()),
        theory,
        0.0,
    );
}
