//! No input makes validation panic or overflow the stack: nasty values in every key of the
//! good fixtures, deep nesting, and arbitrary text.

use std::path::Path;

use super::testing::{MINIMAL, errors, fixture};
use super::validate;

/// Values that break naive code: out of range, wrong type, empty, non-finite, huge.
const NASTY: &[&str] = &[
    "-1",
    "0",
    "-0.0",
    "nan",
    "-inf",
    "1e308",
    "9223372036854775807",
    "-9223372036854775808",
    "\"\"",
    "\"-1s\"",
    "\"18446744073709551616ns\"",
    "\"1.0000000001s\"",
    "\"µ\"",
    "[]",
    "[[]]",
    "[[\"0s\"]]",
    "[[1, 2, 3]]",
    "{}",
    "{ a = 1 }",
    "{ from = 0.1, to = 0.2, step = 0.05 }",
    "true",
    "1979-05-27T07:32:00Z",
];

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let depth = 100_000;
    let source = format!("duration = {}{}", "[".repeat(depth), "]".repeat(depth));
    assert!(!errors(&source).is_empty());
    let source = format!(
        "duration = {}1{}",
        "{ a = ".repeat(depth),
        " }".repeat(depth)
    );
    assert!(!errors(&source).is_empty());
}

#[test]
fn no_value_anywhere_makes_validation_panic() {
    for (kind, name) in [
        ("good", "minimal"),
        ("good", "sweep"),
        ("good", "trace"),
        ("good", "resilience"),
        ("good", "autoscaling"),
    ] {
        let (source, path) = fixture(kind, name);
        for (i, line) in source.lines().enumerate() {
            let Some((key, _)) = line.split_once(" = ") else {
                continue;
            };
            for nasty in NASTY {
                let mutated: Vec<String> = source
                    .lines()
                    .enumerate()
                    .map(|(j, l)| {
                        if i == j {
                            format!("{key} = {nasty}")
                        } else {
                            l.to_string()
                        }
                    })
                    .collect();
                let mutated = mutated.join("\n");
                let result = std::panic::catch_unwind(|| {
                    let _ = validate(&mutated, &path);
                });
                assert!(result.is_ok(), "panicked on:\n{mutated}");
            }
        }
    }
}

proptest::proptest! {
    #[test]
    fn arbitrary_text_never_makes_validation_panic(
        source in "[a-z_.=\\[\\]{}\"0-9 ,\n-]{0,300}"
    ) {
        let _ = validate(&source, Path::new("x.toml"));
    }

    #[test]
    fn arbitrary_text_after_a_valid_file_never_makes_validation_panic(
        tail in "[a-z_.=\\[\\]{}\"0-9 ,\n-]{0,200}"
    ) {
        let _ = validate(&format!("{MINIMAL}{tail}"), Path::new("x.toml"));
    }

    #[test]
    fn random_files_of_known_keys_never_make_validation_panic(
        lines in proptest::collection::vec((0..TABLES.len(), 0..KEYS.len(), 0..VALUES.len()), 0..24)
    ) {
        let mut source = String::new();
        for (table, key, value) in lines {
            source.push_str(&format!("{}\n{} = {}\n", TABLES[table], KEYS[key], VALUES[value]));
        }
        let _ = validate(&source, Path::new("x.toml"));
    }
}

/// Building blocks for random scenario files.
const TABLES: &[&str] = &[
    "",
    "[workload]",
    "[workload.service]",
    "[workload.trace]",
    "[[servers]]",
    "[balancer]",
    "[sweep]",
    "[[expect]]",
];
const KEYS: &[&str] = &[
    "name",
    "duration",
    "warmup",
    "seed",
    "replications",
    "timeseries_interval",
    "rate",
    "arrivals",
    "dist",
    "mean",
    "min",
    "max",
    "cv",
    "shape",
    "clients",
    "count",
    "workers",
    "queue",
    "speed",
    "weight",
    "zone",
    "algorithm",
    "virtual_nodes",
    "metric",
    "where",
    "trace",
    "path",
    "format",
    "on_error",
    "\"servers.0.count\"",
    "\"workload.rate\"",
    "\"balancer.algorithm\"",
    "\"workload.trace.speed\"",
    "bogus",
];
const VALUES: &[&str] = &[
    "1",
    "0",
    "-1",
    "2.5",
    "\"10s\"",
    "\"0s\"",
    "\"1ms\"",
    "\"off\"",
    "\"uniform\"",
    "\"pareto\"",
    "\"lognormal\"",
    "\"weighted-round-robin\"",
    "\"p99_ms\"",
    "[1, 2]",
    "[\"random\", \"ip-hash\"]",
    "[[\"0s\", 1], [\"1s\", 0]]",
    "[]",
    "{ \"workload.rate\" = 1 }",
    "{ dist = \"constant\", mean = \"1ms\" }",
    "{ from = 1, to = 3, step = 1 }",
    "\"csv\"",
    "\"access-log\"",
    "\"fail\"",
    "{ path = \"tests/fixtures/good/traces/tiny.csv\", format = \"csv\" }",
    "{ from = 0.5, to = 0.1, step = 0, stpe = 1 }",
    "nan",
    "true",
];
