//! The data tier against what it models: where reads go, stale reads against the analytic
//! share for Poisson writes and a constant lag, and for several keys and an exponential
//! lag replayed in commit order, a Zipf hot shard against its exact share, conservation of
//! requests and queries (also when a reshard and a removal cross a failover), a pool too
//! small, and an M/M/1 database.
//!
//! Like queueing_theory.rs, each statistical check runs independent replications and
//! takes its tolerance from them: the half-width of a 99.9% confidence interval of the
//! mean across replications (Student's t). The seeds are fixed; a miss means a bug.

use lbsim::balancer::{Algorithm, BalancerSpec};
use lbsim::engine::{SimDuration, SimTime, derive_seed};
use lbsim::model::{
    ArrivalPattern, Change, DatabaseSpec, GeneratedWorkload, KeyDist, NodeFailure, NodeRole,
    PoolSpec, PrimaryFailure, QueryCount, RateSchedule, ReplicationMode, Reshard, RunSpec,
    ServerGroupSpec, ServiceDist, Sharding, TimelineAction, WorkloadSpec, simulate,
};
use lbsim::stats::{Figure, RunResult};
use rayon::prelude::*;

const REPLICATIONS: u32 = 10;
/// Student's t, two-sided 99.9%, 9 degrees of freedom.
const T_999_DF9: f64 = 4.781;

fn ms(ms: u64) -> SimDuration {
    SimDuration::from_millis(ms)
}

/// A data tier with one shard, one worker per node, no replica, no lag, no pool.
fn database(service: ServiceDist) -> DatabaseSpec {
    DatabaseSpec {
        read_share: 1.0,
        queries: QueryCount::Constant(1),
        service,
        keys: KeyDist::Uniform { count: 1000 },
        workers: 1,
        queue_limit: None,
        replicas: 0,
        replica_balancer: Algorithm::Random,
        replication_lag: ServiceDist::Constant {
            mean: SimDuration::ZERO,
        },
        replication: ReplicationMode::Async,
        read_your_writes: false,
        shards: 1,
        sharding: Sharding::Modulo,
        pool: None,
        failover: SimDuration::from_secs(10),
        on_primary_failure: PrimaryFailure::Fail,
        failures: Vec::new(),
        reshard: None,
    }
}

/// Poisson arrivals at `rate` to `servers` web servers of `workers` workers each, with
/// constant web work `web`, in front of `database`.
fn model(
    rate: f64,
    servers: u32,
    workers: u32,
    web: SimDuration,
    database: DatabaseSpec,
    seconds: u64,
) -> RunSpec {
    RunSpec {
        warmup: SimDuration::from_secs(seconds / 20),
        sample_interval: None,
        database: Some(database),
        ..RunSpec::new(
            SimDuration::from_secs(seconds),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::constant(rate),
                arrivals: ArrivalPattern::Poisson,
                service: ServiceDist::Constant { mean: web },
                clients: 1000,
            }),
            vec![ServerGroupSpec {
                workers,
                ..ServerGroupSpec::new("web", servers)
            }],
            BalancerSpec::new(Algorithm::LeastConnections),
        )
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

/// Asserts that `theory` lies within the replications' 99.9% confidence interval (widened
/// by `resolution × theory`, the histogram's relative resolution for a percentile), and
/// that the interval is narrow enough (within `precision` of the value) to mean something.
fn assert_matches(
    what: &str,
    (mean, half_width): (f64, f64),
    theory: f64,
    resolution: f64,
    precision: f64,
) {
    let tolerance = half_width + resolution * theory;
    println!("{what}: simulated {mean:.5} ± {tolerance:.5}, theory {theory:.5}");
    assert!(
        (mean - theory).abs() <= tolerance,
        "{what}: simulated {mean:.5} ± {tolerance:.5} (99.9% CI) misses theory {theory:.5}"
    );
    assert!(
        half_width < precision * theory,
        "{what}: interval ±{half_width:.5} too wide to test anything"
    );
}

fn figure(result: &RunResult, figure: Figure) -> f64 {
    result.figures.get(figure).unwrap_or(f64::NAN)
}

fn exponential(mean: u64) -> ServiceDist {
    ServiceDist::Exponential { mean: ms(mean) }
}

#[test]
fn with_no_replica_every_read_reaches_the_primary_and_with_replicas_none_does() {
    let mut db = database(exponential(1));
    db.read_share = 0.7;
    db.workers = 4;
    let spec = model(200.0, 4, 8, ms(2), db.clone(), 30);
    let result = simulate(&spec, 1);
    let queries = figure(&result, Figure::DbQueries) as u64;
    assert!(queries > 5000, "{queries}");
    assert_eq!(result.database.len(), 1);
    assert_eq!(result.database[0].completions, queries);

    db.replicas = 2;
    let result = simulate(&model(200.0, 4, 8, ms(2), db, 30), 1);
    let queries = figure(&result, Figure::DbQueries) as u64;
    let [primary, replicas @ ..] = result.database.as_slice() else {
        panic!("no node");
    };
    let reads: u64 = replicas.iter().map(|r| r.completions).sum();
    assert_eq!(primary.completions + reads, queries);
    // The primary serves the writes only: 30% of the queries. Over ~5,700 queries the
    // share's standard error is 0.006; 0.03 is five of them.
    let write_share = primary.completions as f64 / queries as f64;
    assert!((write_share - 0.3).abs() < 0.03, "{write_share}");
    assert!(replicas.iter().all(|r| r.completions > 0));
}

#[test]
fn without_lag_no_read_is_stale_and_with_lag_some_are() {
    let mut db = database(exponential(1));
    db.read_share = 0.5;
    db.workers = 8;
    db.replicas = 2;
    db.keys = KeyDist::Uniform { count: 10 };
    let result = simulate(&model(500.0, 4, 8, ms(1), db.clone(), 20), 2);
    assert!(figure(&result, Figure::DbQueries) > 5000.0);
    assert_eq!(figure(&result, Figure::StaleReads), 0.0);
    db.replication_lag = ServiceDist::Constant { mean: ms(20) };
    let result = simulate(&model(500.0, 4, 8, ms(1), db.clone(), 20), 2);
    assert!(figure(&result, Figure::StaleReads) > 100.0);
    // Read-your-writes sends exactly those reads to the primary: none is stale then.
    db.read_your_writes = true;
    let result = simulate(&model(500.0, 4, 8, ms(1), db, 20), 2);
    assert_eq!(figure(&result, Figure::StaleReads), 0.0);
    assert!(figure(&result, Figure::FreshReads) > 100.0);
}

#[test]
fn the_stale_share_matches_poisson_writes_and_a_constant_lag() {
    // One key, requests at λ = 1000/s making one query each, a write with probability
    // 1/2, and nodes with workers to spare and a constant service time: writes commit as
    // a Poisson process of rate λ_w = 500/s (a thinned Poisson process shifted by a
    // constant), independent of the reads (the other half of the thinning). A read is
    // stale when a write committed in the lag L before it: P = 1 - exp(-λ_w L), 0.3935
    // for L = 1 ms.
    let mut db = database(ServiceDist::Constant { mean: ms(1) });
    db.read_share = 0.5;
    db.workers = 1000;
    db.replicas = 1;
    db.keys = KeyDist::Uniform { count: 1 };
    db.replication_lag = ServiceDist::Constant { mean: ms(1) };
    let results = replicate(&model(1000.0, 2, 1000, ms(1), db, 20), 7);
    let theory = 1.0 - (-500.0f64 * 0.001).exp();
    assert_matches(
        "stale read share",
        estimate(&results, |r| figure(r, Figure::StaleReadShare)),
        theory,
        0.0,
        0.02,
    );
}

#[test]
fn replicas_apply_writes_in_commit_order_as_the_stale_share_of_several_keys_shows() {
    // As above (writes commit as a Poisson process of rate λ_w = 500/s, independent of
    // the reads, a read reading what the replica has applied at its send), with 10 keys
    // drawn from a Zipf distribution (key k with probability p_k ∝ 1/(k+1)) and an
    // exponential lag of mean m = 4 ms. Replicas apply writes in commit order: write i is
    // visible from V_i = max(V_{i-1}, c_i + L_i). A read of key k is stale when the last
    // write of k before it, s earlier (s exponential at λ_k = p_k λ_w), is not visible
    // yet: its own lag exceeds s (probability e^{-s/m}), or some earlier write of any key
    // — Poisson at λ_w before it, the one u earlier still in flight with probability
    // e^{-u/m} — is, a Poisson count of mean λ_w m e^{-s/m}. So
    //   P(stale | s) = 1 - (1 - e^{-s/m}) exp(-λ_w m e^{-s/m}),
    // integrated over s and averaged over the keys a read touches: 0.3785. Applying each
    // write on its own, as though the log had no order, would give
    // Σ p_k (1 - e^{-λ_k m}) = 0.2828.
    let (rate_w, m, keys) = (500.0, 0.004, 10u32);
    let mut db = database(ServiceDist::Constant { mean: ms(1) });
    db.read_share = 0.5;
    db.workers = 1000;
    db.replicas = 1;
    db.keys = KeyDist::Zipf {
        count: keys,
        exponent: 1.0,
    };
    db.replication_lag = exponential(4);
    let results = replicate(&model(1000.0, 2, 1000, ms(1), db, 20), 17);
    let weight: Vec<f64> = (1..=keys).map(|k| 1.0 / f64::from(k)).collect();
    let total: f64 = weight.iter().sum();
    let theory: f64 = weight
        .iter()
        .map(|w| w / total * stale_share_of_key(w / total * rate_w, rate_w, m))
        .sum();
    // Measured: 0.3833 ± 0.0112 (99.9% interval of the 10 replications), theory 0.3785;
    // 40 runs of the same model through the CLI gave 0.3788, standard error 0.0010. The
    // interval is an eighth of the gap to 0.2828.
    assert_matches(
        "stale read share, in-order replay of 10 Zipf keys",
        estimate(&results, |r| figure(r, Figure::StaleReadShare)),
        theory,
        0.0,
        0.05,
    );
}

/// The stale share of reads of a key written at `rate_k` among writes at `rate_w`, with
/// an exponential lag of mean `m`, replayed in order:
/// ∫₀^∞ λ_k e^{-λ_k s} [1 - (1 - e^{-s/m}) exp(-λ_w m e^{-s/m})] ds, by Simpson's rule up
/// to 40 times the slower of the integrand's decay times (1/λ_k, and m for the bracket),
/// where what is left is below e^{-40}.
fn stale_share_of_key(rate_k: f64, rate_w: f64, m: f64) -> f64 {
    let end = 40.0 * m.max(1.0 / rate_k);
    let steps = 100_000;
    let h = end / f64::from(steps);
    let f = |s: f64| {
        let in_flight = (-s / m).exp();
        rate_k * (-rate_k * s).exp() * (1.0 - (1.0 - in_flight) * (-rate_w * m * in_flight).exp())
    };
    let inner: f64 = (1..steps)
        .map(|i| f(f64::from(i) * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    (f(0.0) + inner + f(end)) * h / 3.0
}

#[test]
fn a_read_a_replica_took_is_stale_by_its_snapshot_though_the_replica_is_promoted() {
    // One key, one replica, a lag longer than the run: after the first write, every read
    // the replica serves misses a write. The primary fails at 5 s and the replica is
    // promoted 10 ms later; reads take 100 ms, and the run ends 95 ms after the promotion,
    // so every read answered was taken by the replica before it — some 50 of them still
    // in service at the promotion, answered by what is then the primary from the
    // replica's snapshot. Every read counts stale, by where it was served.
    let mut db = database(ServiceDist::Constant { mean: ms(100) });
    db.read_share = 0.5;
    db.workers = 1000;
    db.replicas = 1;
    db.keys = KeyDist::Uniform { count: 1 };
    db.replication_lag = ServiceDist::Constant {
        mean: SimDuration::from_secs(1000),
    };
    db.failover = ms(10);
    db.failures = vec![NodeFailure {
        at: SimTime::ZERO + ms(5000),
        shard: 0,
        node: NodeRole::Primary,
    }];
    // Commits wait for the replica, so that the failover loses no write: under "async"
    // every write would be lost at 5 s, and the reads taken after it fresh.
    db.replication = ReplicationMode::Sync;
    let mut spec = model(1000.0, 2, 1000, ms(1), db, 5);
    // Measured from 0.5 s, once the first write (some 100 ms in) has committed.
    spec.warmup = ms(500);
    spec.duration = ms(5105);
    let result = simulate(&spec, 19);
    assert!(figure(&result, Figure::StaleReads) > 1000.0);
    assert_eq!(figure(&result, Figure::StaleReadShare), 1.0);
}

/// A data tier taking only writes: requests at `rate` a second (`arrivals`) make one write
/// each, 1 ms on the web and 1 ms on the primary, with workers to spare, so that writes
/// commit exactly 2 ms after their request arrives; `replicas` replicas and a lag `lag`.
fn writes_only(
    rate: f64,
    arrivals: ArrivalPattern,
    replicas: u32,
    lag: ServiceDist,
    failures: Vec<NodeFailure>,
    seconds: u64,
) -> RunSpec {
    let mut db = database(ServiceDist::Constant { mean: ms(1) });
    db.read_share = 0.0;
    db.workers = 1000;
    db.replicas = replicas;
    db.replication_lag = lag;
    db.failover = ms(10);
    db.failures = failures;
    let mut spec = model(rate, 2, 1000, ms(1), db, seconds);
    if let lbsim::model::WorkloadSpec::Generated(workload) = &mut spec.workload {
        workload.arrivals = arrivals;
    }
    spec
}

fn primary_fails_at(at: SimTime) -> NodeFailure {
    NodeFailure {
        at,
        shard: 0,
        node: NodeRole::Primary,
    }
}

#[test]
fn an_async_failover_loses_exactly_the_writes_of_the_last_lag_and_a_sync_one_none() {
    // A write every millisecond, committed on a whole millisecond (2 ms after its
    // request), a constant lag L = 10 ms, the primary failing at f = 5.0005 s (between two
    // commits): the writes committed in (f − L, f] = (4.9905, 5.0005] s, at 4.991, 4.992,
    // ..., 5.000 s, had not reached the replica: 10 writes lost. (The write in service at
    // f fails with the primary, uncommitted.)
    let failure = primary_fails_at(SimTime::ZERO + SimDuration::from_nanos(5_000_500_000));
    let lag = ServiceDist::Constant { mean: ms(10) };
    let mut spec = writes_only(1000.0, ArrivalPattern::Constant, 1, lag, vec![failure], 20);
    let result = simulate(&spec, 23);
    assert_eq!(figure(&result, Figure::LostWrites), 10.0);
    // Measured only: with the failure in the warmup, nothing counts.
    spec.warmup = SimDuration::from_secs(6);
    assert_eq!(figure(&simulate(&spec, 23), Figure::LostWrites), 0.0);
    // A commit that waited for the replica is on it: nothing is lost.
    spec.warmup = SimDuration::from_secs(1);
    spec.database.as_mut().unwrap().replication = ReplicationMode::Sync;
    assert_eq!(figure(&simulate(&spec, 23), Figure::LostWrites), 0.0);
    // Without a replica the primary comes back with its writes: nothing is lost either.
    spec.database.as_mut().unwrap().replication = ReplicationMode::Async;
    spec.database.as_mut().unwrap().replicas = 0;
    assert_eq!(figure(&simulate(&spec, 23), Figure::LostWrites), 0.0);
}

#[test]
fn after_an_async_failover_a_read_of_a_key_whose_last_write_was_lost_is_not_stale() {
    // One key, two replicas, a lag longer than the run: under "sync" every read a
    // replica serves after the first write is stale; the primary fails at 5 s and
    // replica 0 is promoted 10 ms later, replica 1 serving the reads. Measured from 5 s,
    // reads take 1 ms. Under "async" every write so far is lost at 5 s: a read is stale
    // again only once a write has committed on the new primary, from 5.010 s on. So the
    // reads of (5, 5.010] s — some 5 of the 1,000 a second, 1 ms long, sent to a replica,
    // half of them reads — are stale under "sync" and not under "async", and every stale
    // read of "async" is one of "sync" too (the same draws up to the failure).
    let mut db = database(ServiceDist::Constant { mean: ms(1) });
    db.read_share = 0.5;
    db.workers = 1000;
    db.replicas = 2;
    db.keys = KeyDist::Uniform { count: 1 };
    db.replication_lag = ServiceDist::Constant {
        mean: SimDuration::from_secs(1000),
    };
    db.failover = ms(10);
    db.failures = vec![primary_fails_at(SimTime::ZERO + ms(5000))];
    db.replication = ReplicationMode::Sync;
    let mut spec = model(1000.0, 2, 1000, ms(1), db, 6);
    spec.warmup = ms(5000);
    let sync = simulate(&spec, 29);
    spec.database.as_mut().unwrap().replication = ReplicationMode::Async;
    let lossy = simulate(&spec, 29);
    assert_eq!(figure(&sync, Figure::StaleReadShare), 1.0);
    assert_eq!(figure(&sync, Figure::LostWrites), 0.0);
    assert!(figure(&lossy, Figure::StaleReadShare) < 1.0);
    let fresh = figure(&sync, Figure::StaleReads) - figure(&lossy, Figure::StaleReads);
    // Reads answered fresh under "async": those sent in the 10 ms before the new
    // primary's first commit, Poisson at 500 a second: mean 5, at least 1 but with
    // probability e^{-5} (this seed gives one or more).
    assert!((1.0..=20.0).contains(&fresh), "{fresh}");
    // The writes measured before 5 s — none: the failure is at the warmup's end.
    assert_eq!(figure(&lossy, Figure::LostWrites), 0.0);
}

#[test]
fn the_writes_an_async_failover_loses_match_poisson_writes_and_an_exponential_lag() {
    // Requests Poisson at 500 a second, each one write, committed 2 ms after arrival:
    // writes commit as a Poisson process at λ_w = 500/s. Lags are exponential of mean
    // m = 10 ms, replayed in order. A write committed s before the failure at f has not
    // reached the replicas when its own lag exceeds s (probability e^{-s/m}) or an earlier
    // write's, u before f, exceeds u — a Poisson count of mean λ_w m e^{-s/m} — so
    //   P(lost | s) = 1 − (1 − e^{-s/m}) exp(−λ_w m e^{-s/m}),
    // and the expected loss is λ_w ∫₀^∞ P(lost | s) ds = 11.93 writes (against λ_w m = 5
    // had each write been applied on its own). The shard's primary fails 64 times, a
    // second apart (each far more than 40 m after the last promotion, 10 ms after its
    // failure: the replay is in its steady state again), each time promoting one of 64
    // replicas; a run's figure is its mean loss per failure.
    // (With 16 failures a run the mean was 12.19 ± 2.73: too wide an interval to check.)
    let failures = (0..64)
        .map(|i| primary_fails_at(SimTime::ZERO + ms(4000 + 1000 * i)))
        .collect();
    // 70 s, measured after a warmup of 3.5 s: every failure, at 4 to 67 s, counts.
    let spec = writes_only(
        500.0,
        ArrivalPattern::Poisson,
        64,
        exponential(10),
        failures,
        70,
    );
    let results = replicate(&spec, 37);
    let theory = expected_lost(500.0, 0.010);
    // The interval is the replications' 99.9% one; it must be within 20% of the value.
    // Measured: 12.41 ± 1.75 writes per failure (seed 37), theory 11.93.
    assert_matches(
        "writes lost per async failover",
        estimate(&results, |r| figure(r, Figure::LostWrites) / 64.0),
        theory,
        0.0,
        0.2,
    );
    assert!((theory - 11.93).abs() < 0.01, "{theory}");
}

/// The expected writes lost at a failure, for writes at `rate_w` with an exponential lag
/// of mean `m` replayed in order: λ_w ∫₀^∞ [1 − (1 − e^{-s/m}) exp(−λ_w m e^{-s/m})] ds,
/// by Simpson's rule up to 40 m (what is left is below λ_w · 40 m · λ_w m e^{-40}).
fn expected_lost(rate_w: f64, m: f64) -> f64 {
    let end = 40.0 * m;
    let steps = 100_000;
    let h = end / f64::from(steps);
    let f = |s: f64| {
        let in_flight = (-s / m).exp();
        1.0 - (1.0 - in_flight) * (-rate_w * m * in_flight).exp()
    };
    let inner: f64 = (1..steps)
        .map(|i| f(f64::from(i) * h) * if i % 2 == 1 { 4.0 } else { 2.0 })
        .sum();
    rate_w * (f(0.0) + inner + f(end)) * h / 3.0
}

#[test]
fn zipf_keys_make_a_hot_shard_with_their_exact_share_and_uniform_keys_do_not() {
    let shards = 8;
    let keys = 1000u32;
    let exponent = 1.2;
    let mut db = database(exponential(1));
    db.workers = 8;
    db.shards = shards;
    db.keys = KeyDist::Zipf {
        count: keys,
        exponent,
    };
    let spec = model(400.0, 4, 8, ms(1), db.clone(), 30);
    // Under modulo, shard 0 holds keys 0, 8, 16, ...: its share is the sum of their
    // Zipf probabilities (key k has weight 1/(k+1)^s).
    let weight = |k: u32| 1.0 / f64::from(k + 1).powf(exponent);
    let total: f64 = (0..keys).map(weight).sum();
    let shard_0: f64 = (0..keys).step_by(shards as usize).map(weight).sum::<f64>() / total;
    assert_matches(
        "hottest shard share, zipf",
        estimate(&replicate(&spec, 11), |r| {
            figure(r, Figure::HottestShardShare)
        }),
        shard_0,
        0.0,
        0.05,
    );
    // Twice the share of a shard under uniform keys.
    assert!(shard_0 > 2.0 / f64::from(shards));
    // Uniform keys: the busiest of 8 shards takes barely more than its eighth (the
    // maximum of 8 shares of ~12,000 queries each, a standard error of 0.003 each).
    db.keys = KeyDist::Uniform { count: keys };
    let uniform = simulate(&model(400.0, 4, 8, ms(1), db, 30), 11);
    let hottest = figure(&uniform, Figure::HottestShardShare);
    assert!(hottest < 1.0 / 8.0 + 0.015, "{hottest}");
}

#[test]
fn requests_and_queries_are_conserved_across_the_tiers() {
    let mut db = database(exponential(2));
    db.read_share = 0.8;
    db.queries = QueryCount::Constant(3);
    db.workers = 2;
    db.queue_limit = Some(1);
    db.replicas = 2;
    db.pool = Some(PoolSpec {
        max_connections: 2,
        timeout: ms(5),
    });
    db.failures = vec![
        NodeFailure {
            at: SimTime::from_nanos(10_000_000_000),
            shard: 0,
            node: NodeRole::Primary,
        },
        NodeFailure {
            at: SimTime::from_nanos(15_000_000_000),
            shard: 0,
            node: NodeRole::Replica(1),
        },
    ];
    db.failover = SimDuration::from_secs(2);
    let spec = model(600.0, 4, 4, ms(2), db, 30);
    let result = simulate(&spec, 3);
    let c = result.counts;
    assert!(c.is_conserved(), "{c:?}");
    for reason in [
        Figure::FailedPoolTimeout,
        Figure::FailedDatabaseDown,
        Figure::FailedTierRejected,
    ] {
        assert!(figure(&result, reason) > 0.0, "{reason:?}: {c:?}");
    }
    let failed_by_reason: f64 = [
        Figure::FailedNoServer,
        Figure::FailedServerRemoved,
        Figure::FailedTierRejected,
        Figure::FailedCrash,
        Figure::FailedServerDown,
        Figure::FailedPoolTimeout,
        Figure::FailedDatabaseDown,
    ]
    .iter()
    .map(|&f| figure(&result, f))
    .sum();
    assert_eq!(failed_by_reason, c.failed as f64);
    // Every answered query is answered by exactly one node.
    let answered: u64 = result.database.iter().map(|n| n.completions).sum();
    assert_eq!(answered as f64, figure(&result, Figure::DbQueries));
    // A completed request made its 3 queries; a failed or unfinished one fewer.
    let queries = figure(&result, Figure::DbQueries) as u64;
    assert!(queries >= 3 * c.completed, "{queries} {c:?}");
    assert!(queries <= 3 * (c.completed + c.failed + c.in_flight));
}

#[test]
fn a_query_waiting_out_a_failover_can_leave_after_a_reshard_moved_its_key() {
    // Shard 0's primary fails at 5 s and, with no replica, comes back after 10 s; its
    // queries wait for it. At 7 s a reshard to 3 shards moves a third of the keys (shard
    // 0's among them) elsewhere, and at 9 s web-0 is removed abruptly, withdrawing its
    // requests — some of them waiting for shard 0 with a key that now maps to another
    // shard. They must leave shard 0's queue: had one stayed there, the promotion would
    // admit whatever request its slot holds by then, twice, wedging a worker of the
    // primary for good and everything queued behind it.
    let mut db = database(exponential(1));
    db.read_share = 0.8;
    db.workers = 8;
    db.shards = 2;
    db.on_primary_failure = PrimaryFailure::Wait;
    db.failures = vec![NodeFailure {
        at: SimTime::ZERO + ms(5000),
        shard: 0,
        node: NodeRole::Primary,
    }];
    db.reshard = Some(Reshard {
        at: SimTime::ZERO + ms(7000),
        shards: 3,
    });
    let mut spec = model(200.0, 4, 200, ms(2), db, 30);
    spec.timeline = vec![TimelineAction {
        at: SimTime::ZERO + ms(9000),
        change: Change::Remove {
            server: "web-0".to_string(),
            abrupt: true,
        },
    }];
    let result = simulate(&spec, 1);
    let c = result.counts;
    assert!(c.is_conserved(), "{c:?}");
    assert!(figure(&result, Figure::FailedServerRemoved) > 0.0, "{c:?}");
    // After the promotion at 15 s the backlog (shard 0's share of 10 s of requests, some
    // 700) drains in a fraction of a second and the tier is back to 200 requests a second
    // of a few milliseconds: by Little's law a couple in flight at the end, not the
    // thousands piled up behind a wedged primary.
    assert!(c.in_flight < 50, "{c:?}");
    // Nor is a worker of the primary held: it carries the offered 200/s × 1 ms over 2,
    // then 3 shards, on 8 workers (about 1%), where one worker wedged from 15 s would add
    // 1/8 of the half of the run left.
    let primary = &result.database[0];
    assert_eq!(primary.name, "db-s0-primary");
    assert!(primary.utilization < 0.04, "{primary:?}");
}

#[test]
fn a_pool_too_small_shows_as_pool_wait_not_as_database_load() {
    let mut db = database(exponential(2));
    db.queries = QueryCount::Constant(2);
    db.workers = 16;
    db.pool = Some(PoolSpec {
        max_connections: 1,
        timeout: SimDuration::from_secs(1),
    });
    // 700 requests a second, 2 queries of 2 ms: 2.8 connections busy of 4 (4 servers × 1),
    // each pool 70% busy, and 2.8 database workers of 16.
    let small = simulate(&model(700.0, 4, 8, ms(3), db.clone(), 30), 5);
    db.pool = Some(PoolSpec {
        max_connections: 8,
        timeout: SimDuration::from_secs(1),
    });
    let ample = simulate(&model(700.0, 4, 8, ms(3), db, 30), 5);
    let wait = |r: &RunResult| figure(r, Figure::PoolWaitMeanMs);
    let load = |r: &RunResult| figure(r, Figure::DbUtilization);
    assert!(wait(&small) > 0.5, "{}", wait(&small));
    assert!(wait(&ample) < 0.05 * wait(&small), "{}", wait(&ample));
    // The same queries reach the database either way: its load is the offered 2.8/16,
    // within a few percent, whatever the pool.
    assert!((load(&small) - 0.175).abs() < 0.01, "{}", load(&small));
    assert!((load(&ample) - load(&small)).abs() < 0.01);
    assert!(small.latency.mean_ms() > ample.latency.mean_ms());
}

#[test]
fn an_mm1_database_behind_constant_time_web_servers_matches_theory() {
    // Web servers with workers to spare and 1 ms of constant work pass the Poisson
    // arrivals on shifted by 1 ms: the database's one worker is an M/M/1 queue at
    // ρ = 50/100. Its sojourn is exponential with rate μ - λ = 50/s: mean 20 ms, 90th
    // percentile ln(10)/50 s = 46.05 ms; the response adds the 1 ms.
    let db = database(exponential(10));
    let results = replicate(&model(50.0, 2, 100, ms(1), db, 2000), 13);
    assert_matches(
        "M/M/1 database: mean response ms",
        estimate(&results, |r| r.latency.mean_ms()),
        21.0,
        0.0,
        0.05,
    );
    assert_matches(
        "M/M/1 database: p90 response ms",
        estimate(&results, |r| r.latency.quantile_ms(0.9)),
        1.0 + 10.0f64.ln() / 50.0 * 1000.0,
        0.01,
        0.05,
    );
    assert_matches(
        "M/M/1 database: utilization",
        estimate(&results, |r| figure(r, Figure::DbUtilization)),
        0.5,
        0.0,
        0.05,
    );
}
