//! Ctrl-C: finished scenarios are written, unfinished ones are not, nothing is half
//! written, and the exit status says the run was interrupted.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::{SMALL, write};

const LONG: &str = r#"
name = "long"
duration = "20h"
[workload]
rate = 1000
service = { dist = "exponential", mean = "5ms" }
[[servers]]
count = 10
"#;

#[cfg(unix)]
#[test]
fn ctrl_c_writes_the_finished_scenarios_and_says_which_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a-small.toml", SMALL);
    write(dir.path(), "b-long.toml", LONG);
    let child = Command::new(assert_cmd::cargo::cargo_bin("lbsim"))
        .current_dir(dir.path())
        .args([
            "run",
            "a-small.toml",
            "b-long.toml",
            "--jobs",
            "1",
            "--quiet",
        ])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // The small scenario takes milliseconds; the long one about a minute.
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("finished and written: small; not finished: long"),
        "{stderr}"
    );
    let out = dir.path().join("output");
    assert!(out.join("small/summary.csv").is_file());
    assert!(!out.join("long").exists());
    let stray: Vec<_> = crate::support::tree(&out)
        .into_keys()
        .filter(|path| path.to_string_lossy().contains(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
