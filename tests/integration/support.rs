//! Helpers shared by the integration tests: running the binary in a temp dir, reading CSVs,
//! reading a run's spilled records back.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use lbsim::stats::{SpillVec, Spillable};

/// The repository root, where `scenarios/` lives.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `lbsim` with `args` in `dir`.
pub fn lbsim(dir: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("lbsim")
        .expect("the lbsim binary is built")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("lbsim runs")
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write fixture");
    path
}

/// A CSV file as a header and rows of strings.
pub fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("record").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// The value of `column` in `row`.
pub fn field<'a>(header: &[String], row: &'a [String], column: &str) -> &'a str {
    let index = header
        .iter()
        .position(|h| h == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    &row[index]
}

/// A small, fast scenario: two algorithms over a few servers for one simulated minute.
pub const SMALL: &str = r#"
name = "small"
seed = 9
duration = "60s"
warmup = "5s"

[workload]
rate = 300
service = { dist = "lognormal", mean = "10ms", cv = 1.5 }

[[servers]]
name = "web"
count = 4
queue = 8

[sweep]
"balancer.algorithm" = ["round-robin", "least-connections"]
"workload.rate" = [200, 380]
"#;

/// Every file under `dir`, by path relative to it, with its bytes.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, files: &mut std::collections::BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(root, &path, files);
            } else {
                let bytes = std::fs::read(&path).expect("a readable file");
                files.insert(
                    path.strip_prefix(root).expect("under root").to_path_buf(),
                    bytes,
                );
            }
        }
    }
    let mut files = std::collections::BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// Every record of a run's spilled sequence (its time series' server rows, its intervals,
/// its tier times), read back in order.
pub fn records<T: Spillable + Clone>(spilled: &SpillVec<T>) -> Vec<T> {
    let mut records = Vec::new();
    spilled
        .for_each(|record| {
            records.push(record.clone());
            Ok(())
        })
        .expect("the spilled records read back");
    records
}
