//! timeseries.csv against values worked out independently: the queue lengths of a
//! deterministic queue (constant arrivals, constant service) whose length at every sample
//! is known, and the conservation of requests over every interval of a run that sheds
//! load, crashes a server and removes another.

use crate::support::{field, lbsim, read_csv, write};

/// One server, one worker, 10 ms of work per request, arrivals evenly spaced: at 200/s
/// the server completes 100 a second and the queue grows by 100 a second; at 50/s each
/// request is done 10 ms before the next arrives and nothing ever waits.
const DETERMINISTIC: &str = r#"
name = "deterministic"
seed = 1
duration = "5s"
timeseries_interval = "1s"

[workload]
rate = 200
arrivals = "constant"
service = { dist = "constant", mean = "10ms" }

[[servers]]
name = "only"
count = 1

[sweep]
"workload.rate" = [200, 50]
"#;

#[test]
fn queue_lengths_are_the_backlog_at_each_sample() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deterministic.toml", DETERMINISTIC);
    let output = lbsim(
        dir.path(),
        &["run", "deterministic.toml", "--out", "out", "--quiet"],
    );
    assert!(output.status.success(), "{output:?}");
    let (header, rows) = read_csv(&dir.path().join("out/deterministic/timeseries.csv"));
    let mut overloaded = Vec::new();
    let mut light = Vec::new();
    for row in rows
        .iter()
        .filter(|r| field(&header, r, "server") != "cluster")
    {
        let time: f64 = field(&header, row, "time_s").parse().unwrap();
        let queue: i64 = field(&header, row, "queue_length").parse().unwrap();
        let busy: i64 = field(&header, row, "busy_workers").parse().unwrap();
        match field(&header, row, "variant") {
            "workload.rate=200" => overloaded.push((time, queue, busy)),
            "workload.rate=50" => light.push((time, queue, busy)),
            other => panic!("unexpected variant {other}"),
        }
    }
    assert_eq!(overloaded.len(), 5, "{overloaded:?}");
    for &(time, queue, busy) in &overloaded {
        // By t seconds 200t requests arrived and 100t were served; one is in service.
        // Arrivals and completions both fall on multiples of 5 ms, so one of each may
        // land exactly on the sample instant and count on either side of it: ±2.
        let expected = (100.0 * time) as i64 - 1;
        assert!(
            (queue - expected).abs() <= 2,
            "t={time}: queue {queue}, expected {expected}"
        );
        assert_eq!(busy, 1, "t={time}: a backlogged server is always busy");
    }
    assert_eq!(light.len(), 5, "{light:?}");
    for &(time, queue, _) in &light {
        assert_eq!(queue, 0, "t={time}: at 50/s nothing waits");
    }
}

/// Overload on a bounded queue (rejections), a crash that fails what the server held and
/// the requests sent to it while down, and an abrupt removal.
const SHEDDING: &str = r#"
name = "shedding"
seed = 5
duration = "20s"
timeseries_interval = "500ms"

[workload]
rate = [["0s", 150], ["5s", 400], ["10s", 150]]
service = { dist = "exponential", mean = "20ms" }

[[servers]]
name = "web"
count = 4
workers = 2
queue = 5

[[timeline]]
at = "12s"
action = "crash"
server = "web-1"
downtime = "3s"

[[timeline]]
at = "16s"
action = "remove"
server = "web-0"
mode = "abrupt"
"#;

/// The cluster rows of a run, in time order: `(arrivals, completions, rejected, failed,
/// in_flight)`.
fn cluster_rows(header: &[String], rows: &[Vec<String>]) -> Vec<[i64; 5]> {
    rows.iter()
        .filter(|r| field(header, r, "server") == "cluster")
        .map(|r| {
            ["arrivals", "completions", "rejected", "failed", "in_flight"]
                .map(|column| field(header, r, column).parse().unwrap())
        })
        .collect()
}

/// Checks `arrivals = completions + rejected + failed + Δ in_flight` on every cluster row.
fn assert_conserved(cluster: &[[i64; 5]]) {
    let mut in_flight_before = 0;
    for (i, &[arrivals, completions, rejected, failed, in_flight]) in cluster.iter().enumerate() {
        assert_eq!(
            arrivals,
            completions + rejected + failed + (in_flight - in_flight_before),
            "interval {i}: {:?}",
            cluster[i]
        );
        in_flight_before = in_flight;
    }
}

#[test]
fn requests_are_conserved_under_timeouts_and_retries() {
    // Clients time out and retry through the spike: a timed-out attempt stays on its
    // server and a retry waiting out its backoff is on none, yet each request is in flight
    // once until its last attempt ends.
    let client = "[client]\ntimeout = \"60ms\"\nretries = 2\n\
                  backoff = { base = \"10ms\", max = \"50ms\" }\n";
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "shedding.toml",
        &format!("{SHEDDING}\n{client}"),
    );
    let output = lbsim(
        dir.path(),
        &["run", "shedding.toml", "--out", "out", "--quiet"],
    );
    assert!(output.status.success(), "{output:?}");
    let (header, rows) = read_csv(&dir.path().join("out/shedding/timeseries.csv"));
    let cluster = cluster_rows(&header, &rows);
    assert_eq!(cluster.len(), 40);
    assert_conserved(&cluster);
    let (summary_header, summary) = read_csv(&dir.path().join("out/shedding/summary.csv"));
    let retries: i64 = field(&summary_header, &summary[0], "retries")
        .parse()
        .unwrap();
    assert!(retries > 0, "the spike must make clients retry");
}

#[test]
fn every_interval_conserves_requests_and_shows_what_was_shed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shedding.toml", SHEDDING);
    let output = lbsim(
        dir.path(),
        &["run", "shedding.toml", "--out", "out", "--quiet"],
    );
    assert!(output.status.success(), "{output:?}");
    let (header, rows) = read_csv(&dir.path().join("out/shedding/timeseries.csv"));
    let cluster = cluster_rows(&header, &rows);
    assert_eq!(cluster.len(), 40, "one cluster row per 500 ms interval");
    assert_conserved(&cluster);
    let total = |column: usize| cluster.iter().map(|row| row[column]).sum::<i64>();
    assert!(
        total(2) > 0,
        "the spike to 400/s over 8 workers must shed load"
    );
    assert!(total(3) > 0, "the crash must fail requests");

    // Each cluster row totals its interval's server rows, plus what reached no server.
    let mut server_sums = std::collections::BTreeMap::<String, [i64; 4]>::new();
    for row in rows
        .iter()
        .filter(|r| field(&header, r, "server") != "cluster")
    {
        let sums = server_sums
            .entry(field(&header, row, "time_s").to_string())
            .or_default();
        for (sum, column) in
            sums.iter_mut()
                .zip(["arrivals", "completions", "rejected", "queue_length"])
        {
            *sum += field(&header, row, column).parse::<i64>().unwrap();
        }
    }
    for row in rows
        .iter()
        .filter(|r| field(&header, r, "server") == "cluster")
    {
        let sums = server_sums[field(&header, row, "time_s")];
        let value = |column| field(&header, row, column).parse::<i64>().unwrap();
        assert!(sums[0] <= value("arrivals"));
        assert_eq!(sums[1], value("completions"));
        assert_eq!(sums[2], value("rejected"), "rejections happen at a server");
        assert_eq!(sums[3], value("queue_length"));
    }

    // A server's in_flight is what it holds: queued or in service (no probes here).
    for row in rows
        .iter()
        .filter(|r| field(&header, r, "server") != "cluster")
    {
        let value = |column| field(&header, row, column).parse::<i64>().unwrap();
        if field(&header, row, "state") != "down" {
            assert_eq!(
                value("in_flight"),
                value("queue_length") + value("busy_workers"),
                "{row:?}"
            );
        }
    }
}

#[test]
fn server_rows_carry_each_servers_state_over_time() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shedding.toml", SHEDDING);
    let output = lbsim(
        dir.path(),
        &["run", "shedding.toml", "--out", "out", "--quiet"],
    );
    assert!(output.status.success(), "{output:?}");
    let (header, rows) = read_csv(&dir.path().join("out/shedding/timeseries.csv"));
    let states: Vec<(f64, &str)> = rows
        .iter()
        .filter(|r| field(&header, r, "server") == "web-1")
        .map(|r| {
            let time = field(&header, r, "time_s").parse().unwrap();
            (time, field(&header, r, "state"))
        })
        .collect();
    // Crashed at 12 s for 3 s: down at the samples in between, ready before and after (at
    // 12 s and 15 s themselves the change and the sample share an instant).
    assert_eq!(states.len(), 40);
    for &(time, state) in &states {
        let expected = if !(12.0..=15.0).contains(&time) {
            "ready"
        } else if time > 12.0 && time < 15.0 {
            "down"
        } else {
            continue;
        };
        assert_eq!(state, expected, "web-1 at {time} s");
    }
    // While down, every request the least-connections balancer sends it fails: it looks
    // the least loaded.
    for row in rows
        .iter()
        .filter(|r| field(&header, r, "server") == "web-1")
    {
        if field(&header, row, "state") == "down" {
            assert_eq!(
                field(&header, row, "arrivals"),
                field(&header, row, "failed")
            );
        }
    }
    // web-0 leaves at 16 s: its last row is the interval it left in (a sample at the very
    // instant of a change reads the state just before it).
    let web0: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| field(&header, r, "server") == "web-0")
        .collect();
    assert_eq!(field(&header, web0.last().unwrap(), "time_s"), "16.000000");
}
