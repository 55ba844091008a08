//! `lbsim trace`: a fixed tiny scenario told event by event, compared whole with what a
//! person should read (a snapshot: a change of wording or order shows up here).

use std::path::Path;

use crate::support::{lbsim, write};

/// Two servers under least-connections, a request every 10 ms of 15 ms each, a queue of
/// one per server; web-1 is removed abruptly at 40 ms.
const TINY: &str = r#"
name = "tiny"
seed = 1
duration = "1s"

[workload]
rate = 100
arrivals = "constant"
service = { dist = "constant", mean = "15ms" }
clients = 4

[[servers]]
name = "web"
count = 2
queue = 1

[balancer]
algorithm = "least-connections"

[[timeline]]
at = "40ms"
action = "remove"
server = "web-1"
mode = "abrupt"
"#;

const TOLD: &str = "    0.010000 s      r1  arrived   from 10.0.0.2, work 15.000 ms
    0.010000 s      r1  picked    web-0  open connections: web-0 0, web-1 0
    0.010000 s      r1  started   web-0
    0.020000 s      r2  arrived   from 10.0.0.3, work 15.000 ms
    0.020000 s      r2  picked    web-1  open connections: web-0 1, web-1 0
    0.020000 s      r2  started   web-1
    0.025000 s      r1  completed web-0  after 15.000 ms, waited 0.000 ms
    0.030000 s      r3  arrived   from 10.0.0.3, work 15.000 ms
    0.030000 s      r3  picked    web-0  open connections: web-0 0, web-1 1
    0.030000 s      r3  started   web-0
    0.035000 s      r2  completed web-1  after 15.000 ms, waited 0.000 ms
    0.040000 s          server    web-1  ready -> down (server-removed)
    0.040000 s      r4  arrived   from 10.0.0.2, work 15.000 ms
    0.040000 s      r4  picked    web-0  open connections: web-0 1
    0.040000 s      r4  queued    web-0  behind 0
    0.045000 s      r3  completed web-0  after 15.000 ms, waited 0.000 ms
    0.045000 s      r4  started   web-0
    0.050000 s      r5  arrived   from 10.0.0.2, work 15.000 ms
    0.050000 s      r5  picked    web-0  open connections: web-0 1
    0.050000 s      r5  queued    web-0  behind 0
";

#[test]
fn a_tiny_run_is_told_event_by_event() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tiny.toml", TINY);
    let output = lbsim(dir.path(), &["trace", "tiny.toml", "--until", "60ms"]);
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout), TOLD);
}

#[test]
fn the_csv_form_has_one_quoted_row_per_event() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tiny.toml", TINY);
    let output = lbsim(
        dir.path(),
        &["trace", "tiny.toml", "--until", "15ms", "--csv"],
    );
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "time_s,request,event,station,detail\n\
         0.010000000,r1,arrived,,\"from 10.0.0.2, work 15.000 ms\"\n\
         0.010000000,r1,picked,web-0,\"open connections: web-0 0, web-1 0\"\n\
         0.010000000,r1,started,web-0,\n"
    );
}

/// What `lbsim trace FILE --until UNTIL` tells, run in `dir`; it must succeed.
fn run_trace(dir: &Path, file: &str, until: &str) -> String {
    let output = lbsim(dir, &["trace", file, "--until", until]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn an_unknown_variant_is_bad_input_listing_the_variants() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "tiny.toml", TINY);
    let output = lbsim(dir.path(), &["trace", "tiny.toml", "--variant", "3"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("has no variant 3") && stderr.contains("0: base"),
        "{stderr}"
    );
}

/// Two servers of one zone, checked every 200 ms; the zone goes down at 100 ms for 1.9 s.
const OUTAGE: &str = r#"
name = "outage"
seed = 1
duration = "3s"

[workload]
rate = 20
service = { dist = "constant", mean = "5ms" }

[[servers]]
name = "web"
count = 2
zone = "a"

[balancer]
algorithm = "round-robin"

[health_check]
interval = "200ms"
timeout = "100ms"

[[timeline]]
at = "100ms"
action = "zone-outage"
zone = "a"
downtime = "1900ms"
"#;

#[test]
fn the_health_checks_panic_is_told_when_it_starts_and_ends() {
    // Both servers fail their checks: with the first verdict one of two is healthy, not
    // below half; with the second none is, and the checks panic until one passes again.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "outage.toml", OUTAGE);
    let told = run_trace(dir.path(), "outage.toml", "3s");
    let panics: Vec<&str> = told.lines().filter(|l| l.contains("panic")).collect();
    assert_eq!(panics.len(), 2, "{told}");
    assert!(
        panics[0].ends_with("health    panic, 0 of 2 hosts healthy: every host in rotation"),
        "{}",
        panics[0]
    );
    assert!(
        panics[1].ends_with("health    panic over, 1 of 2 hosts healthy"),
        "{}",
        panics[1]
    );
}

/// Two servers behind a balancer that polls its registry every second; web-1 is removed
/// abruptly at 300 ms, and the balancer hears of it at its poll at 1 s.
const STALE: &str = r#"
name = "stale"
seed = 1
duration = "2s"

[workload]
rate = 20
arrivals = "constant"
service = { dist = "constant", mean = "5ms" }

[[servers]]
name = "web"
count = 2

[balancer]
algorithm = "round-robin"

[discovery]
mode = "poll"
interval = "1s"

[[timeline]]
at = "300ms"
action = "remove"
server = "web-1"
mode = "abrupt"
"#;

#[test]
fn a_stale_route_is_told_until_the_balancers_hear_the_server_left() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stale.toml", STALE);
    let told = run_trace(dir.path(), "stale.toml", "2s");
    let heard = told
        .lines()
        .position(|l| l.contains("discovery web-1  the balancers hear it left"))
        .unwrap_or_else(|| panic!("no discovery line: {told}"));
    assert!(
        told.lines()
            .nth(heard)
            .unwrap()
            .trim_start()
            .starts_with("1.000000 s")
    );
    let removed = told
        .lines()
        .position(|l| l.contains("web-1  ready -> down (server-removed)"))
        .unwrap();
    // Round robin keeps sending every other request to web-1 until the poll: each fails.
    let between: Vec<&str> = told.lines().take(heard).skip(removed).collect();
    let stale = between
        .iter()
        .filter(|l| l.contains("picked    web-1"))
        .count();
    assert!(stale >= 6, "{stale} stale picks: {between:?}");
    assert!(
        !told
            .lines()
            .skip(heard)
            .any(|l| l.contains("picked    web-1")),
        "picked after the balancers heard"
    );
}

/// Two servers under round robin, web-1 hung from the start; clients give up after 50 ms
/// and retry once, with Envoy's previous_hosts predicate.
const RESELECT: &str = r#"
name = "reselect"
seed = 1
duration = "1s"

[workload]
rate = 100
arrivals = "constant"
service = { dist = "constant", mean = "5ms" }

[[servers]]
name = "web"
count = 2

[balancer]
algorithm = "round-robin"

[client]
timeout = "50ms"
retries = 1
backoff = { base = "10ms", max = "10ms" }
retry_host_predicate = "previous-hosts"

[[timeline]]
at = "1ms"
action = "set-speed"
server = "web-1"
speed = 0.001
"#;

#[test]
fn a_retry_whose_pick_was_a_server_already_tried_says_so_and_goes_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "reselect.toml", RESELECT);
    let told = run_trace(dir.path(), "reselect.toml", "500ms");
    let lines: Vec<&str> = told.lines().collect();
    let reselected: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].ends_with("retry 1; its first pick was a server already tried"))
        .collect();
    // Round robin alternates, and a retry comes at a moment unrelated to the rotation:
    // over 500 ms a share of the retries of web-1's timed-out attempts meet web-1 first.
    assert!(!reselected.is_empty(), "{told}");
    for i in reselected {
        // The retry's pick, the line after, is the other server.
        let request = lines[i].split_whitespace().nth(2).unwrap();
        let picked = lines[i + 1];
        assert!(
            picked.contains(&format!(" {request} ")) && picked.contains("picked    web-0"),
            "{picked}"
        );
    }
    // Without the predicate no retry is picked again.
    write(
        dir.path(),
        "blind.toml",
        &RESELECT.replace("retry_host_predicate = \"previous-hosts\"\n", ""),
    );
    let blind = run_trace(dir.path(), "blind.toml", "500ms");
    assert!(blind.contains("retry 1"), "{blind}");
    assert!(!blind.contains("already tried"), "{blind}");
}
