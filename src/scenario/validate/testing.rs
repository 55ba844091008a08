//! What the validation tests of every section build on: a minimal valid scenario to vary
//! one key of, the fixtures under tests/, and errors as the user sees them.

use std::path::{Path, PathBuf};

use super::validate;
use crate::model::{GeneratedWorkload, RunSpec, WorkloadSpec};
use crate::scenario::Scenario;

/// The fixture folder, wherever the tests run from.
pub(super) const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// A valid scenario to build test cases on.
pub(super) const MINIMAL: &str = "duration = \"10s\"\n\
                                  [workload]\n\
                                  rate = 100\n\
                                  service = { dist = \"exponential\", mean = \"10ms\" }\n\
                                  [[servers]]\n\
                                  count = 2\n";

/// A fixture's text and its path relative to the crate, as a user would type it.
pub(super) fn fixture(kind: &str, name: &str) -> (String, PathBuf) {
    let source = std::fs::read_to_string(format!("{FIXTURES}/{kind}/{name}.toml"))
        .unwrap_or_else(|e| panic!("{kind}/{name}.toml: {e}"));
    (
        source,
        PathBuf::from(format!("tests/fixtures/{kind}/{name}.toml")),
    )
}

/// The scenario of a source that must be valid (panics with its errors).
pub(super) fn valid(source: &str) -> Scenario {
    validate(source, Path::new("x.toml")).unwrap_or_else(|e| panic!("{e}"))
}

/// Every error of a source, as printed.
pub(super) fn errors(source: &str) -> Vec<String> {
    match validate(source, Path::new("x.toml")) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
    }
}

/// Checks each entry of a section's table of bad fixtures: the fixture under
/// tests/fixtures/bad reports exactly one error, at `line:col: key.path: ` in the fixture,
/// whose message contains the fragment.
pub(super) fn assert_bad_fixtures(table: &[(&str, &str, &str)]) {
    for &(name, location, fragment) in table {
        let (source, path) = fixture("bad", name);
        let errors = validate(&source, &path).expect_err(name).0;
        assert_eq!(errors.len(), 1, "{name}: {errors:#?}");
        let error = errors[0].to_string();
        let prefix = format!("{}:{location}", path.display());
        assert!(error.starts_with(&prefix), "{error}\nexpected {prefix}");
        assert!(error.contains(fragment), "{error}\nexpected {fragment}");
    }
}

/// The generated workload of a run (panics on a replay).
pub(super) fn generated(run: &RunSpec) -> &GeneratedWorkload {
    match &run.workload {
        WorkloadSpec::Generated(generated) => generated,
        WorkloadSpec::Replay(replay) => panic!("a replay of {:?}", replay.trace()),
    }
}

/// The only error of a source, as printed.
pub(super) fn error(source: &str) -> String {
    let mut all = errors(source);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    all.remove(0)
}

/// MINIMAL with `line` added (or replacing the key it sets) in `table` ("" for top).
pub(super) fn with(table: &str, line: &str) -> String {
    let key = line.split(" =").next().unwrap_or_default();
    let mut out = String::new();
    let mut current = String::new();
    let mut done = false;
    for l in MINIMAL.lines() {
        if l.starts_with('[') {
            if current == table && !done {
                out.push_str(line);
                out.push('\n');
                done = true;
            }
            current = l.trim_matches(['[', ']']).to_string();
        } else if current == table && l.starts_with(&format!("{key} =")) {
            continue;
        }
        out.push_str(l);
        out.push('\n');
    }
    if !done {
        if current != table {
            out.push_str(&format!("[{table}]\n"));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}
