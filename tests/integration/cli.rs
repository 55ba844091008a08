//! The command line: default run, exit statuses, `check`.

use crate::support::{SMALL, field, lbsim, read_csv, write};

#[test]
fn no_arguments_run_scenarios_into_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("scenarios")).unwrap();
    write(&dir.path().join("scenarios"), "small.toml", SMALL);
    let output = lbsim(dir.path(), &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (header, rows) = read_csv(&dir.path().join("output/small/summary.csv"));
    // 2 algorithms × 2 rates, one replication each.
    assert_eq!(rows.len(), 4);
    assert_eq!(
        field(&header, &rows[0], "variant"),
        "balancer.algorithm=round-robin,workload.rate=200"
    );
    assert_eq!(
        field(&header, &rows[3], "variant"),
        "balancer.algorithm=least-connections,workload.rate=380"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("least-connections"));
}

#[test]
fn replications_get_derived_seeds_and_a_confidence_interval() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let output = lbsim(
        dir.path(),
        &["run", "small.toml", "--replications", "3", "--quiet"],
    );
    assert!(output.status.success());
    let (header, rows) = read_csv(&dir.path().join("output/small/summary.csv"));
    assert_eq!(rows.len(), 12);
    let seeds: Vec<&str> = rows[..3]
        .iter()
        .map(|r| field(&header, r, "seed"))
        .collect();
    assert_eq!(seeds[0], "9");
    assert!(seeds[0] != seeds[1] && seeds[1] != seeds[2]);
    let (header, rows) = read_csv(&dir.path().join("output/small/variants.csv"));
    assert_eq!(rows.len(), 4);
    let half_width: f64 = field(&header, &rows[0], "p99_ms_ci95").parse().unwrap();
    assert!(half_width > 0.0);
}

#[test]
fn check_exits_1_when_an_expectation_fails_and_0_when_all_hold() {
    let dir = tempfile::tempdir().unwrap();
    let passing = format!("{SMALL}\n[[expect]]\nmetric = \"utilization\"\nmin = 0.3\nmax = 1.0\n");
    write(dir.path(), "small.toml", &passing);
    let output = lbsim(dir.path(), &["check", "small.toml", "--quiet"]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("PASS"));

    let failing = format!(
        "{SMALL}\n[[expect]]\nmetric = \"p99_ms\"\nmax = 1\nwhere = {{ \"balancer.algorithm\" = \"round-robin\" }}\n"
    );
    write(dir.path(), "small.toml", &failing);
    let output = lbsim(dir.path(), &["check", "small.toml", "--quiet"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Only the two round-robin variants are checked, and both fail.
    assert_eq!(
        stdout.lines().filter(|l| l.contains("  FAIL  ")).count(),
        2,
        "{stdout}"
    );
    assert!(stdout.contains("2 of 2 checks FAILED"), "{stdout}");
    assert!(!stdout.contains("least-connections"), "{stdout}");
}

#[test]
fn a_usage_error_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        lbsim(dir.path(), &["run", "--jobs", "0"]).status.code(),
        Some(2)
    );
    assert_eq!(lbsim(dir.path(), &["frobnicate"]).status.code(), Some(2));
    let missing = lbsim(dir.path(), &["run", "nowhere.toml"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("nowhere.toml"));
}

#[test]
fn bench_rounds_take_turns_with_the_speedlimit_and_print_the_median_and_best_shares() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // A stand-in for the speedlimit loop, always 1,000 requests a second, which counts
    // its calls: lbsim's share is then its own median rate over 1,000.
    let script = write(
        dir.path(),
        "limit.sh",
        "#!/bin/sh\necho x >> calls\necho '{\"servers\": 2, \"requests_per_second\": 1000}'\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = lbsim(
        dir.path(),
        &[
            "bench",
            "--requests",
            "20000",
            "--servers",
            "2",
            "--rounds",
            "3",
            "--speedlimit",
            "limit.sh",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
    assert_eq!(calls.lines().count(), 3, "one speedlimit run per round");
    let line = |name: &str| -> Vec<&str> {
        let line = stdout.lines().find(|l| l.starts_with(name)).expect(name);
        line.split_whitespace().collect()
    };
    let lbsim_line = line("least-connections");
    assert!(stdout.contains("(median of 3)"), "{stdout}");
    let rate: f64 = lbsim_line[4].parse().unwrap();
    let limit_line = line("speedlimit");
    assert_eq!(limit_line[3], "1000", "{stdout}");
    // "lbsim at S of it by the median round (by round A to B), C best against best"
    let at = limit_line.iter().position(|w| *w == "at").unwrap();
    let share: f64 = limit_line[at + 1].parse().unwrap();
    let lowest: f64 = limit_line[at + 10].parse().unwrap();
    let highest: f64 = limit_line[at + 12].trim_end_matches("),").parse().unwrap();
    let best = limit_line[at + 13];
    // The median share is the median round's rate over the limit's 1,000 (both printed
    // rounded: the share to 0.01, the rate to a request a second).
    assert!(
        (share - rate / 1000.0).abs() <= 0.0051,
        "{share} against {rate}: {stdout}"
    );
    assert!(lowest <= share && share <= highest, "{stdout}");
    // The limit never varies, so lbsim's best round over it is the highest share.
    assert_eq!(best, limit_line[at + 12].trim_end_matches("),"), "{stdout}");
    assert_eq!(
        &limit_line[at + 14..],
        ["best", "against", "best"],
        "{stdout}"
    );
}

#[test]
fn bench_refuses_zero_rounds() {
    let dir = tempfile::tempdir().unwrap();
    let output = lbsim(dir.path(), &["bench", "--rounds", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("rounds is at least 1"));
}
