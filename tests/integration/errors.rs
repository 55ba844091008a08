//! Bad input: exit status 2, `file:line:col: key.path: message` on stderr, nothing written.

use crate::support::{SMALL, lbsim, write};

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
