//! `lbsim schema`: the JSON Schema accepts every bundled scenario and rejects a misspelt
//! key, as an editor using it would.

use crate::support::{lbsim, root};

fn validator() -> jsonschema::Validator {
    let dir = tempfile::tempdir().unwrap();
    let output = lbsim(dir.path(), &["schema"]);
    assert!(output.status.success());
    let schema: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("lbsim schema prints JSON");
    jsonschema::validator_for(&schema).expect("a valid JSON Schema")
}

/// A TOML document as the JSON an editor's schema validation sees.
fn as_json(text: &str) -> serde_json::Value {
    let table: toml::Table = toml::from_str(text).expect("TOML");
    serde_json::to_value(table).expect("TOML values are JSON values")
}

/// Checks every scenario file in `folder` (golden files aside) against the schema and
/// returns how many there were.
fn assert_all_accepted(validator: &jsonschema::Validator, folder: &str) -> usize {
    let mut checked = 0;
    for entry in std::fs::read_dir(root().join(folder)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.ends_with(".toml") || name.ends_with(".golden.toml") {
            continue;
        }
        let document = as_json(&std::fs::read_to_string(&path).unwrap());
        let errors: Vec<String> = validator
            .iter_errors(&document)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{folder}/{name}: {errors:#?}");
        checked += 1;
    }
    checked
}

#[test]
fn the_schema_accepts_every_bundled_scenario() {
    assert!(assert_all_accepted(&validator(), "scenarios") >= 5);
}

/// The good fixtures use every section and key between them (autoscaling.toml those of
/// `[autoscaler]`, `[discovery]`, `[slo]` and `balancer.slow_start`).
#[test]
fn the_schema_accepts_every_good_fixture() {
    assert!(assert_all_accepted(&validator(), "tests/fixtures/good") >= 5);
}

/// `[sweep] together` is a list of groups of key paths: an editor accepts the bundled
/// scenario that links two keys, and flags a group written as a bare list of paths.
#[test]
fn the_schema_accepts_linked_sweep_keys_and_rejects_a_flat_group() {
    let validator = validator();
    let text =
        std::fs::read_to_string(root().join("scenarios/horizontal-vs-vertical.toml")).unwrap();
    let linked = "together = [[\"servers.0.count\", \"servers.0.speed\"]]";
    assert!(text.contains(linked));
    assert!(validator.is_valid(&as_json(&text)));
    let flat = text.replacen(
        linked,
        "together = [\"servers.0.count\", \"servers.0.speed\"]",
        1,
    );
    assert!(
        !validator.is_valid(&as_json(&flat)),
        "a flat group was accepted"
    );
}

#[test]
fn the_schema_rejects_a_misspelt_key_and_a_wrong_type() {
    let validator = validator();
    let text =
        std::fs::read_to_string(root().join("scenarios/rr-vs-least-connections.toml")).unwrap();
    assert!(validator.is_valid(&as_json(&text)));
    for (from, to) in [
        ("[balancer]\nalgorithm", "[balancer]\nalgoritm"),
        ("count = 10", "cuont = 10"),
        ("count = 10", "count = \"ten\""),
        ("metric = \"p99_ms\"", "metric = \"p99_ms\"\nmax_ration = 1"),
        ("duration = \"10m\"", "durations = \"10m\""),
    ] {
        assert!(text.contains(from), "{from}");
        let bad = as_json(&text.replacen(from, to, 1));
        assert!(!validator.is_valid(&bad), "{to} was accepted");
    }
}
