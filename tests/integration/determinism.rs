//! Same scenario and seed → byte-identical files, whatever --jobs is and however often run.

use std::fs;

use crate::support::{SMALL, lbsim, write};

const FILES: [&str; 4] = [
    "summary.csv",
    "timeseries.csv",
    "variants.csv",
    "servers.csv",
];

fn run(jobs: &str) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let output = lbsim(
        dir.path(),
        &[
            "run",
            "small.toml",
            "--jobs",
            jobs,
            "--replications",
            "3",
            "--quiet",
        ],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    FILES
        .iter()
        .map(|name| fs::read(dir.path().join("output/small").join(name)).unwrap())
        .collect()
}

#[test]
fn the_same_scenario_twice_gives_identical_bytes() {
    assert_eq!(run("2"), run("2"));
}

#[test]
fn one_job_and_two_jobs_give_identical_bytes() {
    let one = run("1");
    let two = run("2");
    for (name, (a, b)) in FILES.iter().zip(one.iter().zip(&two)) {
        assert!(!a.is_empty(), "{name} is empty");
        assert!(a == b, "{name} differs between --jobs 1 and --jobs 2");
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
    let summary = |d: &str| fs::read(dir.path().join(d).join("small/summary.csv")).unwrap();
    assert_ne!(summary("a"), summary("b"));
}
