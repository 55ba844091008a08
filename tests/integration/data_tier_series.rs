//! The data tier over time: a timeseries.csv row per database node and interval, its
//! failures, promotions and reshards in events.csv, and the split of response time
//! between the tiers per interval.
//!
//! Checked against what holds whatever the draws: a node's utilization over its rows is
//! its servers.csv utilization (the time-average identity), its queries in flight are
//! those queued and in service, a failover's rows come at the instants the scenario sets,
//! and on a model where only the database's part varies, the rest of every response time
//! is a known constant.

use lbsim::balancer::{Algorithm, BalancerSpec};
use lbsim::engine::SimDuration;
use lbsim::model::{
    ArrivalPattern, DatabaseSpec, GeneratedWorkload, KeyDist, PrimaryFailure, QueryCount,
    RateSchedule, ReplicationMode, RunSpec, ServerGroupSpec, ServiceDist, Sharding, TierSpec,
    WorkloadSpec, simulate,
};
use lbsim::stats::{Figure, TierTimes};

use crate::support::{field, lbsim, read_csv, records, write};

/// Two shards, failing over at 4 s and growing to three at 7.25 s, with one replica per
/// shard (a replica is promoted at 6 s) or none (the failed primary comes back at 6 s).
const FAILOVER: &str = r#"
name = "db-series"
seed = 3
duration = "10s"
warmup = "2s"
timeseries_interval = "500ms"

[workload]
rate = 300
service = { dist = "exponential", mean = "4ms" }

[[servers]]
name = "web"
count = 3
workers = 4

[database]
read_share = 0.8
queries = 2
service = { dist = "exponential", mean = "2ms" }
workers = 2
replicas = 1
shards = 2
failover = "2s"
reshard = { at = "7250ms", shards = 3 }

[[database.failures]]
at = "4s"
shard = 0
node = "primary"

[sweep]
"database.replicas" = [1, 0]
"#;

/// One row of timeseries.csv, the columns a test reads.
#[derive(Debug)]
struct Row {
    variant: String,
    time: f64,
    server: String,
    queue: i64,
    busy: i64,
    utilization: f64,
    completions: i64,
    arrivals: i64,
    rejected: i64,
    failed: i64,
    in_flight: i64,
    state: String,
    health: String,
}

fn rows(path: &std::path::Path) -> Vec<Row> {
    let (header, rows) = read_csv(path);
    let number = |row: &[String], column: &str| field(&header, row, column).parse().unwrap();
    rows.iter()
        .map(|row| Row {
            variant: field(&header, row, "variant").to_string(),
            time: field(&header, row, "time_s").parse().unwrap(),
            server: field(&header, row, "server").to_string(),
            queue: number(row, "queue_length"),
            busy: number(row, "busy_workers"),
            utilization: field(&header, row, "utilization").parse().unwrap(),
            completions: number(row, "completions"),
            arrivals: number(row, "arrivals"),
            rejected: number(row, "rejected"),
            failed: number(row, "failed"),
            in_flight: number(row, "in_flight"),
            state: field(&header, row, "state").to_string(),
            health: field(&header, row, "health").to_string(),
        })
        .collect()
}

/// Runs `FAILOVER` and returns its output folder.
fn run_failover() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "db-series.toml", FAILOVER);
    let output = lbsim(
        dir.path(),
        &["run", "db-series.toml", "--out", "out", "--quiet"],
    );
    assert!(output.status.success(), "{output:?}");
    dir
}

const REPLICA: &str = "database.replicas=1";
const NO_REPLICA: &str = "database.replicas=0";

#[test]
fn every_node_has_a_row_per_interval_between_the_servers_and_the_cluster() {
    let dir = run_failover();
    let rows = rows(&dir.path().join("out/db-series/timeseries.csv"));
    for (variant, replicas) in [(REPLICA, 1), (NO_REPLICA, 0)] {
        let nodes = |shards: u32| -> Vec<String> {
            (0..shards)
                .flat_map(|s| {
                    std::iter::once(format!("db-s{s}-primary"))
                        .chain((0..replicas).map(move |r| format!("db-s{s}-replica-{r}")))
                })
                .collect()
        };
        let variant_rows: Vec<&Row> = rows.iter().filter(|r| r.variant == variant).collect();
        let mut times: Vec<f64> = variant_rows.iter().map(|r| r.time).collect();
        times.dedup();
        assert_eq!(times.len(), 20, "{variant}: 500 ms intervals over 10 s");
        for &time in &times {
            let names: Vec<&str> = variant_rows
                .iter()
                .filter(|r| r.time == time)
                .map(|r| r.server.as_str())
                .collect();
            // The reshard at 7.25 s adds shard 2's nodes from the interval it falls in.
            let mut expected = vec!["web-0", "web-1", "web-2"];
            let shards = if time > 7.25 { 3 } else { 2 };
            let nodes = nodes(shards);
            expected.extend(nodes.iter().map(String::as_str));
            expected.push("cluster");
            assert_eq!(names, expected, "{variant} at {time} s");
        }
    }
}

#[test]
fn a_nodes_rows_count_its_queries_and_average_to_its_utilization() {
    let dir = run_failover();
    let rows = rows(&dir.path().join("out/db-series/timeseries.csv"));
    let (header, servers) = read_csv(&dir.path().join("out/db-series/servers.csv"));
    let mut checked = 0;
    for server in servers
        .iter()
        .filter(|s| field(&header, s, "server").starts_with("db-"))
    {
        let (variant, name) = (
            field(&header, server, "variant"),
            field(&header, server, "server"),
        );
        let node: Vec<&Row> = rows
            .iter()
            .filter(|r| r.variant == variant && r.server == name)
            .collect();
        assert!(!node.is_empty(), "{variant} {name}: no rows");
        let mut held = 0;
        for row in &node {
            // A node's queries in flight are those queued and in service there, and every
            // query sent to it ends as one answered, refused or failed, or is still there.
            assert_eq!(row.in_flight, row.queue + row.busy, "{row:?}");
            assert_eq!(
                row.arrivals,
                row.completions + row.rejected + row.failed + row.in_flight - held,
                "{row:?}"
            );
            held = row.in_flight;
        }
        // The intervals after warmup (2 s, an interval boundary) cover the node's measured
        // life, from 7.25 s for a reshard's, whose first interval is half as long: their
        // utilizations weighted by the time each covers average to its utilization over
        // the measured period. Each figure is printed to 6 decimals, so each is within
        // 5e-7 of its value: the mean of the rows and the servers.csv figure differ by at
        // most 1e-6.
        let joined = if name.starts_with("db-s2") { 7.25 } else { 0.0 };
        let (mut busy, mut width) = (0.0, 0.0);
        for row in node.iter().filter(|r| r.time > 2.0) {
            let covered = row.time - (row.time - 0.5).max(joined);
            busy += row.utilization * covered;
            width += covered;
        }
        let mean = busy / width;
        let utilization: f64 = field(&header, server, "utilization").parse().unwrap();
        assert!(
            (mean - utilization).abs() <= 1e-6 + 1e-12,
            "{variant} {name}: rows average {mean}, servers.csv {utilization}"
        );
        assert!(utilization > 0.0 || name == "db-s0-primary", "{name} idle");
        checked += 1;
    }
    // Two variants: 4 + 2 nodes, then 2 + 1.
    assert_eq!(checked, 9);
}

#[test]
fn a_failover_shows_in_the_rows_and_as_failure_then_promotion_or_recovery() {
    let dir = run_failover();
    let (header, events) = read_csv(&dir.path().join("out/db-series/events.csv"));
    let seen: Vec<[&str; 6]> = events
        .iter()
        .map(|e| {
            ["variant", "time_s", "server", "from", "to", "reason"]
                .map(|column| field(&header, e, column))
        })
        .collect();
    assert_eq!(
        seen,
        [
            [
                REPLICA,
                "4.000000000",
                "db-s0-primary",
                "ready",
                "down",
                "db-failure"
            ],
            [
                REPLICA,
                "6.000000000",
                "db-s0-replica-0",
                "replica",
                "primary",
                "promotion"
            ],
            [
                REPLICA,
                "7.250000000",
                "db-s2-primary",
                "absent",
                "ready",
                "reshard"
            ],
            [
                REPLICA,
                "7.250000000",
                "db-s2-replica-0",
                "absent",
                "ready",
                "reshard"
            ],
            [
                NO_REPLICA,
                "4.000000000",
                "db-s0-primary",
                "ready",
                "down",
                "db-failure"
            ],
            [
                NO_REPLICA,
                "6.000000000",
                "db-s0-primary",
                "down",
                "ready",
                "db-recovery"
            ],
            [
                NO_REPLICA,
                "7.250000000",
                "db-s2-primary",
                "absent",
                "ready",
                "reshard"
            ],
        ]
    );
    // The rows read the state at each interval's end: a change at that very instant shows
    // from the next row on.
    let rows = rows(&dir.path().join("out/db-series/timeseries.csv"));
    let states = |variant: &str, server: &str| -> Vec<(f64, String, String)> {
        rows.iter()
            .filter(|r| r.variant == variant && r.server == server)
            .map(|r| (r.time, r.state.clone(), r.health.clone()))
            .collect()
    };
    let role = |time: f64, up_until: f64, back_at: Option<f64>| {
        if time <= up_until || back_at.is_some_and(|back| time > back) {
            ("ready", "primary")
        } else {
            ("down", "")
        }
    };
    for (time, state, health) in states(REPLICA, "db-s0-primary") {
        assert_eq!(
            (state.as_str(), health.as_str()),
            role(time, 4.0, None),
            "{time}"
        );
    }
    for (time, state, health) in states(NO_REPLICA, "db-s0-primary") {
        let expected = role(time, 4.0, Some(6.0));
        assert_eq!((state.as_str(), health.as_str()), expected, "{time}");
    }
    for (time, state, health) in states(REPLICA, "db-s0-replica-0") {
        let expected = if time <= 6.0 { "replica" } else { "primary" };
        assert_eq!(
            (state.as_str(), health.as_str()),
            ("ready", expected),
            "{time}"
        );
    }
    // The queries on the primary when it failed failed with it, in the interval after
    // 4 s, and it took none while down. Without a replica it serves all of its shard's
    // queries, some 60% busy: this seed finds two in flight at 4 s.
    let primary: Vec<&Row> = rows
        .iter()
        .filter(|r| r.variant == NO_REPLICA && r.server == "db-s0-primary")
        .collect();
    for row in primary.iter().filter(|r| r.time > 4.0 && r.time <= 6.0) {
        assert_eq!(
            (row.arrivals, row.completions, row.busy),
            (0, 0, 0),
            "{row:?}"
        );
    }
    let (before, failing) = (primary[7], primary[8]);
    assert_eq!((before.time, failing.time), (4.0, 4.5));
    assert!(before.in_flight > 0, "{before:?}");
    assert_eq!(failing.failed, before.in_flight);
    assert!(
        primary[12].completions > 0,
        "back at 6 s: {:?}",
        primary[12]
    );
}

/// Poisson arrivals to servers and a data tier with workers to spare, so nothing ever
/// queues: every response is the web work, the queries and the tier call, in that order.
/// Only the number of queries varies (Poisson, mean 2), so the time outside the database
/// is the same for every request — `WEB + TIER` — however long its queries took.
fn unqueued(warmup: SimDuration) -> RunSpec {
    const QUERY: SimDuration = SimDuration::from_millis(2);
    RunSpec {
        warmup,
        database: Some(DatabaseSpec {
            read_share: 0.7,
            queries: QueryCount::Poisson(2.0),
            service: ServiceDist::Constant { mean: QUERY },
            keys: KeyDist::Uniform { count: 100 },
            workers: 1000,
            queue_limit: None,
            replicas: 1,
            replica_balancer: Algorithm::Random,
            replication_lag: ServiceDist::Constant {
                mean: SimDuration::ZERO,
            },
            replication: ReplicationMode::Async,
            read_your_writes: false,
            shards: 2,
            sharding: Sharding::Modulo,
            pool: None,
            failover: SimDuration::from_secs(1),
            on_primary_failure: PrimaryFailure::Fail,
            failures: Vec::new(),
            reshard: None,
        }),
        tiers: vec![TierSpec {
            name: "cache".into(),
            workers: 1000,
            queue_limit: None,
            service: ServiceDist::Constant { mean: TIER },
        }],
        ..RunSpec::new(
            SimDuration::from_secs(20),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::constant(400.0),
                arrivals: ArrivalPattern::Poisson,
                service: ServiceDist::Constant { mean: WEB },
                clients: 1000,
            }),
            vec![ServerGroupSpec {
                workers: 1000,
                ..ServerGroupSpec::new("web", 4)
            }],
            BalancerSpec::new(Algorithm::RoundRobin),
        )
    }
}

const WEB: SimDuration = SimDuration::from_millis(3);
const TIER: SimDuration = SimDuration::from_millis(1);

#[test]
fn the_split_by_tier_is_exact_where_the_time_outside_the_database_is_known() {
    let result = simulate(&unqueued(SimDuration::ZERO), 11);
    let intervals = records(&result.tier_times);
    assert_eq!(intervals.len(), 20);
    let mut whole = TierTimes::default();
    let completions: Vec<u32> = records(&result.intervals)
        .iter()
        .map(|total| total.completions)
        .collect();
    let outside = u128::from((WEB + TIER).as_nanos());
    for (times, &completed) in intervals.iter().zip(&completions) {
        // The same requests as the cluster row's completions ...
        assert_eq!(times.completions, completed, "{times:?}");
        // ... whose time outside the database is exactly the web work and the tier call:
        // the database's part is theirs, however many queries each made.
        assert_eq!(
            times.response_ns - times.database_ns,
            u128::from(times.completions) * outside,
            "{times:?}"
        );
        assert_eq!(times.database_ns % 2_000_000, 0, "whole queries: {times:?}");
        whole.add(times);
    }
    // Poisson(2) queries of 2 ms: 4 ms in the database on average, over some 8,000
    // requests. The count's standard deviation is √2 queries per request, so the mean's
    // is 2 ms × √2 / √8000 ≈ 0.032 ms: 0.2 ms is more than six of them.
    let (database, rest) = whole.means_ms().unwrap();
    assert!(
        (database - 4.0).abs() < 0.2,
        "{database} ms in the database"
    );
    assert_eq!(rest, 4.0);
    // Without warmup every completion is measured: the two parts add up to the run's
    // measured mean response time, and the database's is its db_time_share of it.
    let mean = result.latency.mean_ms();
    assert!(
        (database + rest - mean).abs() < 1e-9,
        "{database} + {rest} against {mean}"
    );
    let share = result.figures.get(Figure::DbTimeShare).unwrap();
    assert!((database / mean - share).abs() < 1e-12, "{share}");
}

#[test]
fn without_a_time_series_the_data_tier_keeps_none() {
    let spec = RunSpec {
        sample_interval: None,
        ..unqueued(SimDuration::from_secs(1))
    };
    let result = simulate(&spec, 11);
    assert!(result.tier_times.is_empty());
    assert!(result.database_series.is_empty());
    assert_eq!(result.database.len(), 4);
}
