//! Robustness at the edges of the process: closed pipes, a file that is not a scenario at
//! all, suggestions that must not mislead, numeric flags given nonsense.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::support::{SMALL, lbsim, write};

/// A pipe whose reading end is already closed: every write to it fails with EPIPE, as a
/// write to `| head -1` does once head has exited — without the race of waiting for head.
fn closed_pipe() -> std::io::PipeWriter {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    writer
}

/// Runs lbsim in `dir` with `args`, stdout (and stderr when `close_stderr`) into a closed
/// pipe; returns the exit code and whatever stderr said when it was not closed.
fn with_stdout_closed(dir: &Path, args: &[&str], close_stderr: bool) -> (Option<i32>, String) {
    let writer = closed_pipe();
    let stderr = if close_stderr {
        Stdio::from(writer.try_clone().expect("a second handle"))
    } else {
        Stdio::piped()
    };
    let output = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .current_dir(dir)
        .args(args)
        .stdout(writer)
        .stderr(stderr)
        .output()
        .expect("lbsim runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs lbsim in `dir` with `args` and stderr into a closed pipe; returns the exit code and
/// stdout.
fn with_stderr_closed(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_lbsim"))
        .current_dir(dir)
        .args(args)
        .stderr(closed_pipe())
        .output()
        .expect("lbsim runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// Not TOML: a Markdown page, as `lbsim run README.md` would read.
const MARKDOWN: &str =
    "# A title\n\nSome prose, `code` and a list:\n\n- one item\n- another item\n";

fn markdown(dir: &Path, lines: usize) {
    let text: String = MARKDOWN
        .lines()
        .cycle()
        .take(lines)
        .collect::<Vec<_>>()
        .join("\n");
    write(dir, "notes.md", &text);
}

#[test]
fn bad_input_into_a_closed_pipe_exits_2_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    markdown(dir.path(), 300);
    // `lbsim run notes.md 2>&1 | head -1`, once head has gone.
    let (code, _) = with_stdout_closed(dir.path(), &["run", "notes.md"], true);
    assert_eq!(code, Some(2));
    // stderr alone closed: still 2, and nothing on stdout.
    let (code, stdout) = with_stderr_closed(dir.path(), &["run", "notes.md"]);
    assert_eq!(code, Some(2));
    assert_eq!(stdout, "");
    assert!(!dir.path().join("output").exists());
}

#[test]
fn a_run_into_a_closed_stdout_writes_its_results_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let (code, stderr) = with_stdout_closed(dir.path(), &["run", "small.toml"], false);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(dir.path().join("output/small/summary.csv").is_file());
    assert!(dir.path().join("output/index.html").is_file());
}

#[test]
fn a_failed_check_into_a_closed_stdout_still_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let failing = format!("{SMALL}\n[[expect]]\nmetric = \"p99_ms\"\nmax = 0.001\n");
    write(dir.path(), "small.toml", &failing);
    let (code, stderr) = with_stdout_closed(dir.path(), &["check", "small.toml"], false);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let (code, _) = with_stdout_closed(dir.path(), &["check", "small.toml"], true);
    assert_eq!(code, Some(1));
}

#[test]
fn bench_shard_merge_trace_and_help_into_a_closed_pipe_end_with_their_usual_status() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let cases: &[(&[&str], i32)] = &[
        (&["bench", "--requests", "2000", "--servers", "2"], 0),
        (&["bench", "--algorithm", "nope"], 2),
        (&["run", "small.toml", "--shard", "1/1", "--out", "s"], 0),
        (&["merge", "s", "--out", "merged"], 0),
        (&["merge", "missing", "--out", "merged"], 2),
        (&["trace", "small.toml", "--until", "2s"], 0),
        (&["trace", "small.toml", "--variant", "99"], 2),
        (&["--help"], 0),
        (&["run", "--seed", "-1"], 2),
    ];
    for (args, status) in cases {
        let (code, stderr) = with_stdout_closed(dir.path(), args, false);
        assert_eq!(code, Some(*status), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        let (code, _) = with_stdout_closed(dir.path(), args, true);
        assert_eq!(code, Some(*status), "{args:?} with stderr closed too");
    }
    assert!(dir.path().join("merged/small/summary.csv").is_file());
}

#[test]
fn a_file_that_is_not_toml_gets_the_first_ten_errors_and_a_count() {
    let dir = tempfile::tempdir().unwrap();
    markdown(dir.path(), 300);
    let output = lbsim(dir.path(), &["run", "notes.md"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 11, "{stderr}");
    // The title is a TOML comment; the prose under it is the first error.
    assert!(lines[0].starts_with("notes.md:3:"), "{stderr}");
    assert!(
        lines[..10].iter().all(|l| l.starts_with("notes.md:")),
        "{stderr}"
    );
    let last = lines[10];
    let more: usize = last
        .strip_prefix("notes.md: and ")
        .and_then(|rest| rest.strip_suffix(" more errors"))
        .unwrap_or_else(|| panic!("{last}"))
        .parse()
        .unwrap();
    assert!(more > 100, "{last}");
}

/// A valid scenario whose server group ends with `line`.
fn with_group_line(line: &str) -> String {
    format!(
        "duration = \"10s\"\n[workload]\nrate = 100\n\
         service = {{ dist = \"exponential\", mean = \"10ms\" }}\n[[servers]]\ncount = 2\n{line}\n"
    )
}

fn rejected(text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "s.toml", text);
    let output = lbsim(dir.path(), &["run", "s.toml"]);
    assert_eq!(output.status.code(), Some(2));
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn a_bounded_queue_is_not_told_to_be_unbounded() {
    let stderr = rejected(&with_group_line("queue = \"bounded\""));
    assert!(stderr.contains("s.toml:7:9: servers[0].queue:"), "{stderr}");
    assert!(stderr.contains("or a non-negative integer"), "{stderr}");
    assert!(!stderr.contains("did you mean"), "{stderr}");
}

#[test]
fn a_misspelled_unbounded_queue_is_still_suggested() {
    let stderr = rejected(&with_group_line("queue = \"unbouned\""));
    assert!(stderr.contains("did you mean \"unbounded\"?"), "{stderr}");
}

#[test]
fn a_negative_seed_or_zero_jobs_gets_lbsims_message_and_status_2() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let cases = [
        (
            &["run", "small.toml", "--seed", "-1"][..],
            "a seed is 0..2^64-1",
        ),
        (&["run", "small.toml", "--jobs", "0"], "jobs is at least 1"),
        (&["run", "small.toml", "--jobs", "-2"], "jobs is at least 1"),
        (
            &["check", "small.toml", "--replications", "0"],
            "replications is at least 1",
        ),
    ];
    for (args, message) in cases {
        let output = lbsim(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("-- -"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("output").exists());
}

#[test]
fn the_help_says_that_bare_lbsim_runs_the_scenarios_folder() {
    let output = lbsim(Path::new("."), &["--help"]);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.contains("With no command, lbsim runs every scenario in scenarios/"),
        "{stdout}"
    );
}
