//! `deploy/slurm/array.sh`, run as the README says against stub `sbatch` and `cargo`
//! commands that record what they are asked; the array's tasks and the merge are then run
//! as Slurm would run them, with the real lbsim, and must write what one run writes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{SMALL, lbsim, root, tree, write};

/// Records each call's arguments (one per line) and the LBSIM it was given, and answers
/// with job ids 101, 102, ... followed by a cluster name, as `sbatch --parsable` does on a
/// federated cluster.
const SBATCH: &str = r#"#!/bin/bash
n=$(find "$STUB_LOG" -name 'sbatch-*.args' | wc -l)
n=$((n + 1))
printf '%s\n' "$@" > "$STUB_LOG/sbatch-$n.args"
printf '%s' "${LBSIM:-}" > "$STUB_LOG/sbatch-$n.lbsim"
echo "$((100 + n));cluster"
"#;

/// Records its arguments and "builds" lbsim by copying the real binary where cargo would
/// put it, beside the manifest it was given.
const CARGO: &str = r#"#!/bin/bash
printf '%s\n' "$@" > "$STUB_LOG/cargo.args"
while [[ $# -gt 0 && "$1" != --manifest-path ]]; do shift; done
project=$(dirname "$2")
mkdir -p "$project/target/release"
cp "$REAL_LBSIM" "$project/target/release/lbsim"
"#;

/// A fresh checkout on a login node: the project (script, manifest, scenarios) and a
/// folder of stub commands to put first on PATH.
struct LoginNode {
    _dir: tempfile::TempDir,
    project: PathBuf,
    stubs: PathBuf,
    log: PathBuf,
}

impl LoginNode {
    fn new(with_cargo: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("project");
        let stubs = dir.path().join("bin");
        let log = dir.path().join("log");
        for folder in [
            &project.join("deploy/slurm"),
            &project.join("scenarios"),
            &stubs,
            &log,
        ] {
            std::fs::create_dir_all(folder).unwrap();
        }
        std::fs::copy(
            root().join("deploy/slurm/array.sh"),
            project.join("deploy/slurm/array.sh"),
        )
        .unwrap();
        write(&project, "Cargo.toml", "");
        write(&project.join("scenarios"), "small.toml", SMALL);
        stub(&stubs, "sbatch", SBATCH);
        if with_cargo {
            stub(&stubs, "cargo", CARGO);
        }
        LoginNode {
            _dir: dir,
            project,
            stubs,
            log,
        }
    }

    /// `bash deploy/slurm/array.sh` from the project folder, with `env` set and PATH the
    /// stubs, then `path`.
    fn run(&self, path: &str, env: &[(&str, &str)]) -> Output {
        let mut command = Command::new("bash");
        command
            .arg("deploy/slurm/array.sh")
            .current_dir(&self.project)
            .env("PATH", format!("{}:{path}", self.stubs.display()))
            .env("STUB_LOG", &self.log)
            .env("REAL_LBSIM", env!("CARGO_BIN_EXE_lbsim"));
        for name in [
            "LBSIM",
            "SHARDS",
            "SCENARIOS",
            "RESULTS",
            "CHECK",
            "CARGO_TARGET_DIR",
            "SLURM_JOB_ID",
            "SLURM_ARRAY_JOB_ID",
            "SLURM_ARRAY_TASK_ID",
            "SLURM_ARRAY_TASK_COUNT",
            "SLURM_ARRAY_TASK_MIN",
            "SLURM_ARRAY_TASK_MAX",
            "SLURM_CPUS_PER_TASK",
            "ENVIRONMENT",
        ] {
            command.env_remove(name);
        }
        command
            .envs(env.iter().copied())
            .output()
            .expect("bash runs")
    }

    /// Submits from the login node, whose PATH has everything but Slurm.
    fn submit(&self, env: &[(&str, &str)]) -> Output {
        self.run(&std::env::var("PATH").unwrap(), env)
    }

    /// Runs task `k` of an array of `n` as Slurm would, with the LBSIM it was submitted with.
    fn task(&self, k: u32, n: u32, lbsim: &str, env: &[(&str, &str)]) -> Output {
        let (k, n) = (k.to_string(), n.to_string());
        let mut task_env = vec![
            ("LBSIM", lbsim),
            ("SLURM_ARRAY_JOB_ID", "101"),
            ("SLURM_ARRAY_TASK_ID", k.as_str()),
            ("SLURM_ARRAY_TASK_COUNT", n.as_str()),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", n.as_str()),
            ("SLURM_CPUS_PER_TASK", "1"),
        ];
        task_env.extend_from_slice(env);
        self.submit(&task_env)
    }

    /// The arguments of the `call`th sbatch call, and the LBSIM it saw.
    fn sbatch(&self, call: usize) -> (Vec<String>, String) {
        let args = std::fs::read_to_string(self.log.join(format!("sbatch-{call}.args")))
            .unwrap_or_else(|e| panic!("sbatch call {call}: {e}"));
        let lbsim = std::fs::read_to_string(self.log.join(format!("sbatch-{call}.lbsim"))).unwrap();
        (args.lines().map(String::from).collect(), lbsim)
    }

    fn sbatch_calls(&self) -> usize {
        std::fs::read_dir(&self.log)
            .unwrap()
            .filter(|e| {
                let name = e.as_ref().unwrap().file_name();
                name.to_string_lossy().ends_with(".args") && name != "cargo.args"
            })
            .count()
    }
}

fn stub(dir: &Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = write(dir, name, script);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn succeeded(output: &Output) -> bool {
    output.status.success()
}

#[test]
fn a_fresh_checkout_builds_once_submits_the_array_and_its_merge_and_merges_what_one_run_writes() {
    let node = LoginNode::new(true);
    let submitted = node.submit(&[("SHARDS", "3")]);
    assert!(succeeded(&submitted), "{}", text(&submitted.stderr));
    let stdout = text(&submitted.stdout);
    assert!(stdout.contains("submitted 3 shards (lbsim "), "{stdout}");
    assert!(stdout.contains(") as job 101"), "{stdout}");
    assert!(stdout.contains("merge as job 102"), "{stdout}");

    // Built once, with the lock file, from the checkout's manifest.
    let cargo = std::fs::read_to_string(node.log.join("cargo.args")).unwrap();
    let manifest = node.project.join("Cargo.toml");
    assert_eq!(
        cargo.lines().collect::<Vec<_>>(),
        [
            "build",
            "--release",
            "--locked",
            "--manifest-path",
            &manifest.to_string_lossy()
        ]
    );

    // The array: 1-3, logs in results/logs, every node pointed at the built binary.
    let (array, submitted_lbsim) = node.sbatch(1);
    let built = node.project.join("target/release/lbsim");
    assert_eq!(submitted_lbsim, built.to_string_lossy());
    for arg in [
        "--array=1-3",
        "--output=results/logs/shard-%a.out",
        "--export=ALL",
    ] {
        assert!(array.contains(&arg.to_string()), "{arg} not in {array:?}");
    }
    assert_eq!(array.last().unwrap(), "deploy/slurm/array.sh");

    // The merge: after every task succeeded, cancelled if one fails, over shards 1 to 3.
    let (merge, _) = node.sbatch(2);
    for arg in ["--dependency=afterok:101", "--kill-on-invalid-dep=yes"] {
        assert!(merge.contains(&arg.to_string()), "{arg} not in {merge:?}");
    }
    let wrap = merge
        .iter()
        .find_map(|a| a.strip_prefix("--wrap="))
        .expect("the merge command");
    assert_eq!(
        wrap,
        format!(
            "'{}' merge 'results/shard-1' 'results/shard-2' 'results/shard-3' \
             --out 'results/merged'",
            built.display()
        )
    );

    // Slurm runs the tasks, then the merge (`sbatch --wrap` runs it with sh).
    for k in 1..=3 {
        let task = node.task(k, 3, &submitted_lbsim, &[]);
        assert!(succeeded(&task), "task {k}: {}", text(&task.stderr));
    }
    let merged = Command::new("sh")
        .args(["-c", wrap])
        .current_dir(&node.project)
        .output()
        .unwrap();
    assert!(succeeded(&merged), "{}", text(&merged.stderr));

    let direct = lbsim(
        &node.project,
        &["run", "scenarios", "--out", "direct", "--quiet"],
    );
    assert!(succeeded(&direct));
    assert_eq!(
        tree(&node.project.join("results/merged")),
        tree(&node.project.join("direct"))
    );

    // Submitting again, with another N, would merge these shards with the new ones.
    let again = node.submit(&[("SHARDS", "2")]);
    assert_eq!(again.status.code(), Some(2));
    let stderr = text(&again.stderr);
    assert!(stderr.contains("'results' already holds files"), "{stderr}");
    assert!(stderr.contains("rm -r 'results'"), "{stderr}");
    assert_eq!(node.sbatch_calls(), 2, "nothing more was submitted");
}

#[test]
fn a_failed_shard_fails_its_task_and_says_so_where_the_merge_would_have_written() {
    let node = LoginNode::new(true);
    std::fs::create_dir_all(node.project.join("results/logs")).unwrap();
    let task = node.task(
        2,
        3,
        env!("CARGO_BIN_EXE_lbsim"),
        &[("SCENARIOS", "no-such-folder")],
    );
    assert_eq!(task.status.code(), Some(2));
    let merge_log = std::fs::read_to_string(node.project.join("results/logs/merge.out")).unwrap();
    assert!(
        merge_log.contains(
            "shard 2 of 3 (job 101_2) failed with exit status 2, so Slurm cancels the merge; \
             see results/logs/shard-2.out"
        ),
        "{merge_log}"
    );
    assert!(text(&task.stderr).contains("no-such-folder"));
}

#[test]
fn lbsim_overrides_the_build_and_a_relative_path_is_made_absolute() {
    let node = LoginNode::new(true);
    std::fs::create_dir(node.project.join("tools")).unwrap();
    std::fs::copy(
        env!("CARGO_BIN_EXE_lbsim"),
        node.project.join("tools/lbsim"),
    )
    .unwrap();
    let submitted = node.submit(&[("LBSIM", "tools/lbsim"), ("CHECK", "--check")]);
    assert!(succeeded(&submitted), "{}", text(&submitted.stderr));
    assert!(!node.log.join("cargo.args").exists(), "nothing was built");
    let (array, lbsim) = node.sbatch(1);
    assert_eq!(lbsim, node.project.join("tools/lbsim").to_string_lossy());
    assert!(
        array.contains(&"--array=1-8".to_string()),
        "8 shards by default"
    );
    let (merge, _) = node.sbatch(2);
    let wrap = merge.iter().find(|a| a.starts_with("--wrap=")).unwrap();
    assert!(wrap.ends_with("--out 'results/merged' '--check'"), "{wrap}");
}

#[test]
fn what_cannot_work_is_refused_before_anything_is_submitted() {
    // No cargo and no LBSIM: nothing to run on the nodes. PATH keeps bash's tools only.
    let node = LoginNode::new(false);
    let output = node.run("/usr/bin:/bin", &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("cargo not found"), "{stderr}");
    assert!(stderr.contains("set LBSIM"), "{stderr}");

    let node = LoginNode::new(true);
    for (env, message) in [
        (
            &[("SHARDS", "0")][..],
            "SHARDS is the number of shards, at least 1",
        ),
        (&[("SHARDS", "two")], "SHARDS is the number of shards"),
        (&[("SCENARIOS", "elsewhere")], "no scenarios at 'elsewhere'"),
        (&[("LBSIM", "./missing")], "not an executable file"),
    ] {
        let output = node.submit(env);
        assert_eq!(output.status.code(), Some(2), "{env:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains(message), "{env:?}: {stderr}");
    }
    assert_eq!(node.sbatch_calls(), 0);

    // `sbatch deploy/slurm/array.sh`, as the script's old header said: one job, no array.
    let output = node.submit(&[("SLURM_JOB_ID", "5"), ("ENVIRONMENT", "BATCH")]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("not with sbatch"));
    assert_eq!(node.sbatch_calls(), 0);

    // An array that is not 1-N cannot deal the shards.
    let output = node.task(
        2,
        3,
        env!("CARGO_BIN_EXE_lbsim"),
        &[("SLURM_ARRAY_TASK_MIN", "2")],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("--array=1-N"));
}
