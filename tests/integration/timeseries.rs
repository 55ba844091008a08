//! timeseries.csv's queue lengths against values worked out by hand: a deterministic
//! queue (constant arrivals, constant service) whose length at every sample is known.

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
    for row in &rows {
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
