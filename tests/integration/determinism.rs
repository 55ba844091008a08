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
