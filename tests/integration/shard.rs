//! Distributed runs: `run --shard K/N` on each machine, then `merge`, must give the very
//! bytes one run gives; shards that do not make up one run are refused with exit 2.

use std::fs;
use std::path::Path;
use std::process::Output;

use crate::support::{SMALL, lbsim, tree, write};

/// 2 × 2 variants × 2 replications: 8 tasks, so each of 3 shards has work.
fn sweep() -> String {
    format!("replications = 2\n{SMALL}")
}

/// One task, fewer than the shards: two of three shards have none of it.
const TINY: &str = r#"
name = "tiny"
seed = 3
duration = "20s"

[workload]
rate = 50
service = { dist = "exponential", mean = "10ms" }

[[servers]]
count = 2
"#;

const FILES: [&str; 5] = [
    "summary.csv",
    "variants.csv",
    "servers.csv",
    "timeseries.csv",
    "events.csv",
];

fn succeeded(output: &Output) {
    assert!(
        output.status.success(),
        "status {:?}\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Writes both scenarios to `dir/scenarios/`.
fn scenarios(dir: &Path) {
    let folder = dir.join("scenarios");
    fs::create_dir_all(&folder).unwrap();
    write(&folder, "a-sweep.toml", &sweep());
    write(&folder, "b-tiny.toml", TINY);
}

/// Runs shard `k` of 3 of `scenarios/` into `shard-k`.
fn shard(dir: &Path, k: u32) -> Output {
    let out = format!("shard-{k}");
    let spec = format!("{k}/3");
    lbsim(
        dir,
        &[
            "run",
            "scenarios",
            "--shard",
            &spec,
            "--out",
            &out,
            "--quiet",
        ],
    )
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn three_shards_merged_give_the_very_bytes_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    scenarios(dir.path());
    succeeded(&lbsim(
        dir.path(),
        &["run", "scenarios", "--out", "single", "--quiet"],
    ));
    for k in 1..=3 {
        succeeded(&shard(dir.path(), k));
    }
    // A shard writes its shard files only, an empty one included.
    for k in 1..=3 {
        for name in ["small", "tiny"] {
            let folder = dir.path().join(format!("shard-{k}/{name}"));
            let files: Vec<String> = fs::read_dir(&folder)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(files, vec![format!("shard-{k}-of-3.lbsim")], "{k} {name}");
        }
    }
    let merged = lbsim(
        dir.path(),
        &[
            "merge", "shard-1", "shard-2", "shard-3", "--out", "merged", "--quiet",
        ],
    );
    succeeded(&merged);
    // Every file: CSVs, charts, index.html and report.md.
    let single = tree(&dir.path().join("single"));
    let merged = tree(&dir.path().join("merged"));
    assert_eq!(
        single.keys().collect::<Vec<_>>(),
        merged.keys().collect::<Vec<_>>()
    );
    for name in ["small", "tiny"] {
        for file in FILES {
            let path = Path::new(name).join(file);
            assert!(!single[&path].is_empty(), "{} is empty", path.display());
        }
    }
    for (path, bytes) in &single {
        assert!(
            *bytes == merged[path],
            "{} differs after merging",
            path.display()
        );
    }
}

#[test]
fn a_missing_shard_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    scenarios(dir.path());
    succeeded(&shard(dir.path(), 1));
    succeeded(&shard(dir.path(), 3));
    let output = lbsim(
        dir.path(),
        &["merge", "shard-1", "shard-3", "--out", "merged"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("small: missing shard 2 of 3"), "{message}");
    assert!(message.contains("tiny: missing shard 2 of 3"), "{message}");
    assert!(
        !dir.path().join("merged").exists(),
        "output despite the error"
    );
}

#[test]
fn shards_of_different_scenario_texts_do_not_merge() {
    let dir = tempfile::tempdir().unwrap();
    scenarios(dir.path());
    succeeded(&shard(dir.path(), 1));
    succeeded(&shard(dir.path(), 2));
    write(
        &dir.path().join("scenarios"),
        "a-sweep.toml",
        &sweep().replace("rate = 300", "rate = 310"),
    );
    succeeded(&shard(dir.path(), 3));
    let output = lbsim(
        dir.path(),
        &["merge", "shard-1", "shard-2", "shard-3", "--out", "merged"],
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("small:") && message.contains("different scenario text"),
        "{message}"
    );
    assert!(!message.contains("tiny:"), "{message}");
    assert!(!dir.path().join("merged").exists());
}

#[test]
fn shards_run_with_different_overrides_or_shard_counts_are_not_one_run() {
    let dir = tempfile::tempdir().unwrap();
    scenarios(dir.path());
    succeeded(&shard(dir.path(), 1));
    succeeded(&lbsim(
        dir.path(),
        &[
            "run",
            "scenarios",
            "--shard",
            "2/3",
            "--seed",
            "5",
            "--out",
            "seeded",
            "--quiet",
        ],
    ));
    succeeded(&lbsim(
        dir.path(),
        &[
            "run",
            "scenarios",
            "--shard",
            "2/2",
            "--out",
            "halves",
            "--quiet",
        ],
    ));
    let output = lbsim(
        dir.path(),
        &["merge", "shard-1", "seeded", "--out", "merged"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("(--seed 5, no --replications)"),
        "{}",
        stderr(&output)
    );
    let output = lbsim(
        dir.path(),
        &["merge", "shard-1", "halves", "--out", "merged"],
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("(N = 2)") && message.contains("not shards of one run"),
        "{message}"
    );
    assert!(!dir.path().join("merged").exists());
}

#[test]
fn a_shard_that_is_not_k_of_n_with_k_from_1_to_n_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    scenarios(dir.path());
    for bad in ["0/3", "4/3", "x"] {
        let output = lbsim(dir.path(), &["run", "scenarios", "--shard", bad]);
        assert_eq!(output.status.code(), Some(2), "--shard {bad}");
        assert!(stderr(&output).contains("--shard"), "{}", stderr(&output));
    }
    assert!(!dir.path().join("output").exists());
}

#[test]
fn a_truncated_or_corrupted_shard_file_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    scenarios(dir.path());
    for k in 1..=3 {
        succeeded(&shard(dir.path(), k));
    }
    let file = dir.path().join("shard-2/small/shard-2-of-3.lbsim");
    let original = fs::read(&file).unwrap();
    let merge = || {
        lbsim(
            dir.path(),
            &["merge", "shard-1", "shard-2", "shard-3", "--out", "merged"],
        )
    };

    fs::write(&file, &original[..original.len() / 2]).unwrap();
    let output = merge();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("shard-2-of-3.lbsim: truncated"),
        "{}",
        stderr(&output)
    );

    // A bit of the last run's last float, its last interval's p99 (after it come the
    // run's data-tier series, empty here: a record size and a count each, 12 bytes, then
    // the file's checksum): only the checksum can tell.
    let mut corrupted = original.clone();
    let at = corrupted.len() - 8 - 2 * 12 - 1;
    corrupted[at] ^= 0x10;
    fs::write(&file, &corrupted).unwrap();
    let output = merge();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("corrupted"), "{}", stderr(&output));

    fs::write(&file, b"not a shard").unwrap();
    let output = merge();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("not a shard file"),
        "{}",
        stderr(&output)
    );
    assert!(!dir.path().join("merged").exists());
}

#[test]
fn progress_writes_nothing_to_stderr_when_it_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    scenarios(dir.path());
    // Not --quiet: only the terminal check keeps the bar away.
    let output = lbsim(dir.path(), &["run", "scenarios"]);
    succeeded(&output);
    assert_eq!(stderr(&output), "");
    let output = lbsim(dir.path(), &["run", "scenarios", "--shard", "1/2"]);
    succeeded(&output);
    assert_eq!(stderr(&output), "");
}

#[test]
fn merge_check_evaluates_the_expectations_of_the_merged_run() {
    let dir = tempfile::tempdir().unwrap();
    let failing = format!("{SMALL}\n[[expect]]\nmetric = \"p99_ms\"\nmax = 1\n");
    write(dir.path(), "small.toml", &failing);
    for k in ["1/2", "2/2"] {
        let out = format!("shard-{}", &k[..1]);
        let output = lbsim(
            dir.path(),
            &[
                "check",
                "small.toml",
                "--shard",
                k,
                "--out",
                &out,
                "--quiet",
            ],
        );
        // A shard cannot check: it says so and succeeds.
        succeeded(&output);
        assert!(
            stderr(&output).contains("merge --check"),
            "{}",
            stderr(&output)
        );
    }
    let merge = |extra: &[&str]| {
        let mut args = vec!["merge", "shard-1", "shard-2", "--out", "merged"];
        args.extend(extra);
        lbsim(dir.path(), &args)
    };
    assert_eq!(merge(&[]).status.code(), Some(0));
    let checked = merge(&["--check"]);
    assert_eq!(checked.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(stdout.contains("4 of 4 checks FAILED"), "{stdout}");
}
