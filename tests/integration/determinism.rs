//! Same scenario and seed → byte-identical files, whatever --jobs is and however often run:
//! every file, the CSVs, the charts (SVG and PNG) and the report.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::support::{SMALL, lbsim, tree, write};

/// Every file of a run of `SMALL` with three replications, by path.
fn run(jobs: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let args = [
        "run",
        "small.toml",
        "--jobs",
        jobs,
        "--replications",
        "3",
        "--png",
        "--quiet",
    ];
    let output = lbsim(dir.path(), &args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    tree(&dir.path().join("output"))
}

#[test]
fn the_same_scenario_twice_gives_identical_bytes() {
    assert_eq!(run("2"), run("2"));
}

#[test]
fn one_job_and_two_jobs_give_identical_bytes() {
    let one = run("1");
    let two = run("2");
    assert_eq!(
        one.keys().collect::<Vec<_>>(),
        two.keys().collect::<Vec<_>>()
    );
    for name in [
        "summary.csv",
        "timeseries.csv",
        "variants.csv",
        "servers.csv",
        "events.csv",
        "latency-cdf.svg",
        "latency-cdf.png",
    ] {
        assert!(
            one.contains_key(&PathBuf::from("small").join(name)),
            "{name} missing"
        );
    }
    assert!(one.contains_key(&PathBuf::from("index.html")));
    for (path, bytes) in &one {
        assert!(!bytes.is_empty(), "{} is empty", path.display());
        assert!(
            *bytes == two[path],
            "{} differs between --jobs 1 and --jobs 2",
            path.display()
        );
    }
}

#[test]
fn a_different_seed_gives_different_results() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let a = lbsim(dir.path(), &["run", "small.toml", "--out", "a", "--quiet"]);
    let b = lbsim(
        dir.path(),
        &["run", "small.toml", "--out", "b", "--seed", "10", "--quiet"],
    );
    assert!(a.status.success() && b.status.success());
    let summary = |d: &str| std::fs::read(dir.path().join(d).join("small/summary.csv")).unwrap();
    assert_ne!(summary("a"), summary("b"));
}

/// A cluster that changes while the run goes on: a graceful and an abrupt removal, a join,
/// a slowdown, a crash with a restart and random crashes, under two hashing algorithms and
/// least-connections, three replications each.
const CHANGING: &str = r#"
name = "changing"
seed = 3
duration = "20s"
warmup = "2s"
replications = 3

[workload]
rate = 500
service = { dist = "exponential", mean = "10ms" }

[[servers]]
name = "web"
count = 6
boot = "1s"
mtbf = "15s"
mttr = "2s"

[balancer]
algorithm = "ip-hash"

[sweep]
"balancer.algorithm" = ["ip-hash", "consistent-hash", "least-connections"]

[[timeline]]
at = "4s"
action = "remove"
server = "web-1"

[[timeline]]
at = "6s"
action = "add"
group = "web"
count = 2

[[timeline]]
at = "8s"
action = "set-speed"
server = "web-2"
speed = 0.5

[[timeline]]
at = "10s"
action = "crash"
server = "web-6"
downtime = "3s"

[[timeline]]
at = "12s"
action = "remove"
server = "web-0"
mode = "abrupt"
"#;

/// Runs the scenario `text` (named `name`) with `--jobs 1`, `--jobs 2` and as two shards
/// merged, checks that the three give the very same files, and returns them.
fn same_bytes_for_any_jobs_and_across_shards(name: &str, text: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let file = format!("{name}.toml");
    write(dir.path(), &file, text);
    let run = |args: &[&str]| {
        let output = lbsim(dir.path(), args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    run(&["run", &file, "--jobs", "1", "--out", "one", "--quiet"]);
    run(&["run", &file, "--jobs", "2", "--out", "two", "--quiet"]);
    run(&["run", &file, "--shard", "1/2", "--out", "s1", "--quiet"]);
    run(&["run", &file, "--shard", "2/2", "--out", "s2", "--quiet"]);
    run(&["merge", "s1", "s2", "--out", "merged", "--quiet"]);
    let one = tree(&dir.path().join("one"));
    assert_eq!(one, tree(&dir.path().join("two")), "--jobs 1 against 2");
    assert_eq!(
        one,
        tree(&dir.path().join("merged")),
        "one run against shards"
    );
    one
}

#[test]
fn a_changing_cluster_gives_the_same_bytes_for_any_jobs_and_across_shards() {
    let one = same_bytes_for_any_jobs_and_across_shards("changing", CHANGING);
    let events = &one[&PathBuf::from("changing/events.csv")];
    let text = String::from_utf8_lossy(events);
    for reason in [
        "drained",
        "server-removed",
        "speed-change",
        "crash",
        "booted",
    ] {
        assert!(text.contains(reason), "no {reason} event:\n{text}");
    }
}

/// An autoscaled group under a load step, its servers discovered through a watched
/// registry and ramped by slow start, under two policies, three replications each.
const SCALING: &str = r#"
name = "scaling"
seed = 9
duration = "150s"
warmup = "5s"
replications = 3

[workload]
rate = [["0s", 300], ["30s", 1500], ["100s", 300]]
service = { dist = "exponential", mean = "10ms" }

[[servers]]
name = "web"
count = 2
workers = 4
boot = "3s"
pre_stop = "3s"
price_per_hour = 0.5

[balancer]
algorithm = "least-connections"
slow_start = { window = "10s" }

[autoscaler]
policy = "threshold"
min = 2
max = 10
interval = "10s"
cooldown = "0s"
metrics = { window = "10s", delay = "2s" }
provisioning = { dist = "uniform", min = "2s", max = "6s" }

[autoscaler.threshold]
cpu_high = 0.6

[autoscaler.target_tracking]
metric = "response-time"
statistic = "p99"
target = 0.05
scale_down_stabilization = "20s"

[discovery]
mode = "watch"
delay = "1s"

[slo]
p99 = "100ms"

[sweep]
"autoscaler.policy" = ["threshold", "target-tracking"]
"#;

#[test]
fn an_autoscaled_cluster_gives_the_same_bytes_for_any_jobs_and_across_shards() {
    let one = same_bytes_for_any_jobs_and_across_shards("scaling", SCALING);
    let events = String::from_utf8_lossy(&one[&PathBuf::from("scaling/events.csv")]).into_owned();
    for reason in ["scale-out", "scale-in", "discovery", "drained"] {
        assert!(events.contains(reason), "no {reason} event:\n{events}");
    }
    assert!(one.contains_key(&PathBuf::from("scaling/capacity-over-time.svg")));
}

/// A data tier that changes while the run goes on: a replica and a primary fail, a
/// replica is promoted, a shard is added, and a pool makes queries wait, under two replica
/// balancers, two replications each.
const DATA_TIER: &str = r#"
name = "data-tier"
seed = 5
duration = "12s"
warmup = "2s"
replications = 2

[workload]
rate = 400
service = { dist = "exponential", mean = "5ms" }

[[servers]]
name = "web"
count = 4
workers = 4

[database]
read_share = 0.8
queries = 2
queries_dist = "poisson"
service = { dist = "exponential", mean = "2ms" }
workers = 2
replicas = 2
shards = 2
replication_lag = "20ms"
pool = { max_connections = 3, timeout = "50ms" }
failover = "2s"
reshard = { at = "8s", shards = 3 }

[[database.failures]]
at = "3s"
shard = 1
node = "replica-1"

[[database.failures]]
at = "5s"
node = "primary"

[sweep]
"database.replica_balancer" = ["random", "least-connections"]
"#;

#[test]
fn a_changing_data_tier_gives_the_same_bytes_for_any_jobs_and_across_shards() {
    let one = same_bytes_for_any_jobs_and_across_shards("data-tier", DATA_TIER);
    let events = String::from_utf8_lossy(&one[&PathBuf::from("data-tier/events.csv")]);
    for reason in ["db-failure", "promotion", "reshard"] {
        assert!(events.contains(reason), "no {reason} event:\n{events}");
    }
    let series = String::from_utf8_lossy(&one[&PathBuf::from("data-tier/timeseries.csv")]);
    assert!(
        series.contains(",db-s2-replica-1,"),
        "no rows of the new shard"
    );
}

/// A server failing 5% of its requests among nine that do not, ejected by Envoy's
/// success-rate detection (consecutive_errors out of reach), two replications.
const SUCCESS_RATE: &str = r#"
name = "success-rate"
seed = 4
duration = "30s"
replications = 2

[workload]
rate = 1000
service = { dist = "exponential", mean = "5ms" }

[[servers]]
name = "web"
count = 9

[[servers]]
name = "bad"
count = 1
error_fraction = 0.05

[outlier_detection]
consecutive_errors = 1000
"#;

#[test]
fn success_rate_ejections_give_the_same_bytes_for_any_jobs_and_across_shards() {
    let one = same_bytes_for_any_jobs_and_across_shards("success-rate", SUCCESS_RATE);
    let events = &one[&PathBuf::from("success-rate/events.csv")];
    let text = String::from_utf8_lossy(events);
    assert!(
        text.contains(",bad-0,healthy,ejected,outlier-success-rate,"),
        "no success-rate ejection:\n{text}"
    );
}
