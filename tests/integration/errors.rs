//! Bad input: exit status 2, `file:line:col: key.path: message` on stderr, nothing written.

use crate::support::{SMALL, lbsim, root, write};

/// Runs `text` as `bad.toml` next to a valid scenario and returns stderr, after checking
/// the exit status and that no output at all was written.
fn rejected(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "bad.toml", text);
    write(dir.path(), "good.toml", SMALL);
    let output = lbsim(dir.path(), &["run", "bad.toml", "good.toml"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        !dir.path().join("output").exists(),
        "output written despite bad input"
    );
    String::from_utf8(output.stderr).unwrap()
}

const BASE: &str = r#"duration = "10s"
[workload]
rate = 100
service = { dist = "exponential", mean = "10ms" }
[[servers]]
count = 2
"#;

#[test]
fn a_wrong_type_names_its_line_column_and_key() {
    let stderr = rejected(&BASE.replace("count = 2", "count = \"two\""));
    assert!(
        stderr.contains("bad.toml:6:9: servers[0].count:"),
        "{stderr}"
    );
}

#[test]
fn an_unknown_key_is_an_error_with_a_suggestion() {
    let stderr = rejected(&BASE.replace("count = 2", "count = 2\nworkrs = 3"));
    assert!(
        stderr.contains("bad.toml:7:1: servers[0].workrs:"),
        "{stderr}"
    );
    assert!(stderr.contains("workers"), "{stderr}");
}

#[test]
fn an_unknown_algorithm_lists_the_valid_ones() {
    let stderr = rejected(&format!(
        "{BASE}[balancer]\nalgorithm = \"least-connection\"\n"
    ));
    assert!(
        stderr.contains("bad.toml:8:13: balancer.algorithm:"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean \"least-connections\""),
        "{stderr}"
    );
    assert!(stderr.contains("power-of-two-choices"), "{stderr}");
}

#[test]
fn a_negative_count_says_what_was_expected_and_found() {
    let stderr = rejected(&BASE.replace("count = 2", "count = -3"));
    assert!(
        stderr.contains("bad.toml:6:9: servers[0].count:"),
        "{stderr}"
    );
    assert!(stderr.contains("-3"), "{stderr}");
}

const TRACE_SCENARIO: &str = r#"
[workload]
trace = { path = "trace.csv", format = "csv", on_error = "ON_ERROR" }
[[servers]]
count = 2
"#;

const TRACE: &str =
    "timestamp,client,service_ms\n0.0,10.0.0.1,5\n0.5,10.0.0.2,oops\n1.0,10.0.0.3,5\n";

#[test]
fn a_malformed_trace_line_is_reported_with_its_number_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "trace.csv", TRACE);
    write(
        dir.path(),
        "replay.toml",
        &TRACE_SCENARIO.replace("ON_ERROR", "skip"),
    );
    let output = lbsim(dir.path(), &["run", "replay.toml", "--quiet"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("trace.csv:3:"), "{stderr}");
    let (header, rows) = crate::support::read_csv(&dir.path().join("output/replay/summary.csv"));
    assert_eq!(crate::support::field(&header, &rows[0], "arrived"), "2");
}

#[test]
fn a_malformed_trace_line_stops_the_run_when_asked() {
    let stderr = {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "trace.csv", TRACE);
        write(
            dir.path(),
            "replay.toml",
            &TRACE_SCENARIO.replace("ON_ERROR", "fail"),
        );
        let output = lbsim(dir.path(), &["run", "replay.toml"]);
        assert_eq!(output.status.code(), Some(2));
        assert!(!dir.path().join("output").exists());
        String::from_utf8(output.stderr).unwrap()
    };
    assert!(stderr.contains("trace.csv:3:"), "{stderr}");
}

#[test]
fn an_enormous_scenario_is_refused_with_its_estimate_and_the_flag_that_forces_it() {
    // 1e12 requests per second for 10 s: two events each.
    let huge = BASE.replace("rate = 100", "rate = 1e12");
    let stderr = rejected(&huge);
    assert!(
        stderr.contains("bad.toml: an estimated 2.0e13 events"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
}

/// Every bad fixture, run from the command line, exits 2 having written nothing, and
/// its first error names a file, a line and a column.
#[test]
fn every_bad_fixture_exits_2_with_a_located_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join("tests/fixtures/bad")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "toml") {
            continue;
        }
        let output = lbsim(dir.path(), &["run", path.to_str().unwrap()]);
        let name = path.display();
        assert_eq!(output.status.code(), Some(2), "{name}");
        assert!(!dir.path().join("output").exists(), "{name} wrote output");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let first = stderr.lines().next().unwrap_or_default();
        let mut parts = first.split(':');
        let (file, line, col) = (parts.next(), parts.next(), parts.next());
        let number = |p: Option<&str>| p.is_some_and(|p| p.parse::<u32>().is_ok_and(|n| n > 0));
        assert!(
            file.is_some_and(|f| f.ends_with(".toml") || f.ends_with(".csv"))
                && number(line)
                && number(col),
            "{name}: {first}"
        );
        checked += 1;
    }
    assert!(checked >= 70, "{checked}");
}
