//! `lbsim check` end to end: the table and exit status, comparisons between variants,
//! confidence-interval bounds that do not flake, golden results, and the JUnit file.

use std::path::Path;

use crate::support::{lbsim, write};

/// Two algorithms at 90% load on four servers with highly variable service times: the
/// load where least-connections' tail is far shorter than round robin's.
const PAIR: &str = r#"
name = "pair"
seed = 3
duration = "20s"
warmup = "2s"
replications = 4

[workload]
rate = 360
service = { dist = "lognormal", mean = "10ms", cv = 2 }

[[servers]]
name = "web"
count = 4

[sweep]
"balancer.algorithm" = ["round-robin", "least-connections"]
"#;

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn check(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["check", "--quiet"];
    all.extend_from_slice(args);
    let output = lbsim(dir, &all);
    let text = format!(
        "{}{}",
        stdout(&output),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code(), text)
}

#[test]
fn a_violated_expectation_exits_1_and_shows_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{PAIR}\n[[expect]]\nmetric = \"p99_ms\"\nmax = 5\n\
         where = {{ \"balancer.algorithm\" = \"round-robin\" }}\n"
    );
    write(dir.path(), "pair.toml", &text);
    let (code, out) = check(dir.path(), &["pair.toml"]);
    assert_eq!(code, Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "check pair");
    for column in [
        "expectation",
        "variant",
        "measured",
        "bound",
        "verdict",
        "declared",
    ] {
        assert!(lines[1].contains(column), "{}", lines[1]);
    }
    // Four replications of the one round-robin variant, each over 5 ms, declared on the
    // [[expect]] line of the file (line 19: PAIR's 17 lines, a blank, then the table).
    let failures: Vec<&&str> = lines.iter().filter(|l| l.contains("  FAIL  ")).collect();
    assert_eq!(failures.len(), 4, "{out}");
    for (r, line) in failures.iter().enumerate() {
        assert!(line.starts_with("p99_ms"), "{line}");
        assert!(
            line.contains(&format!("balancer.algorithm=round-robin #{r}")),
            "{line}"
        );
        assert!(line.contains("≤ 5"), "{line}");
        assert!(line.ends_with("pair.toml:19"), "{line}");
    }
    assert!(out.contains("4 of 4 checks FAILED"), "{out}");
}

#[test]
fn a_failing_comparison_names_both_variants_and_values() {
    let dir = tempfile::tempdir().unwrap();
    // Round robin's p99 is not at most 0.8 × least-connections': it is several times it.
    let text = format!(
        "{PAIR}\n[[expect]]\nmetric = \"p99_ms\"\nmax_ratio = 0.8\n\
         where = {{ \"balancer.algorithm\" = \"round-robin\" }}\n\
         baseline = {{ \"balancer.algorithm\" = \"least-connections\" }}\ncheck = \"mean\"\n\
         [[expect]]\nmetric = \"p99_ms\"\nmax_ratio = 0.8\n\
         where = {{ \"balancer.algorithm\" = \"least-connections\" }}\n\
         baseline = {{ \"balancer.algorithm\" = \"round-robin\" }}\n"
    );
    write(dir.path(), "pair.toml", &text);
    let (code, out) = check(dir.path(), &["pair.toml"]);
    assert_eq!(code, Some(1), "{out}");
    let failed: Vec<&str> = out.lines().filter(|l| l.contains("  FAIL  ")).collect();
    assert_eq!(failed.len(), 1, "{out}");
    let line = failed[0];
    assert!(line.starts_with("mean p99_ms"), "{line}");
    assert!(
        line.contains(
            "balancer.algorithm=round-robin (4 runs) vs balancer.algorithm=least-connections (4 runs)"
        ),
        "{line}"
    );
    assert!(line.contains("≤ 0.8 × baseline"), "{line}");
    // Both means and their ratio: "<rr> vs <lc> (<ratio>×)".
    let measured = line
        .split("(4 runs)")
        .nth(2)
        .expect("the measured column")
        .trim();
    let (values, ratio) = measured.split_once(" (").expect("a ratio");
    let (rr, lc) = values.split_once(" vs ").expect("two values");
    let (rr, lc): (f64, f64) = (rr.parse().unwrap(), lc.parse().unwrap());
    let ratio: f64 = ratio.split('×').next().unwrap().parse().unwrap();
    assert!(rr > lc && ratio > 1.0, "{line}");
    assert!((ratio - rr / lc).abs() < 0.002, "{line}");
    // The other direction holds, replication by replication against the same seeds.
    let passed = out.lines().filter(|l| l.contains("  PASS  ")).count();
    assert_eq!(passed, 4, "{out}");
    assert!(
        out.contains("vs balancer.algorithm=round-robin #3"),
        "{out}"
    );
}

/// Four servers at speed 1 or one at speed 4, linked by `together`, at two light loads of
/// constant 10 ms work: the four take about 10 ms, the fast one about 2.6 ms.
const LINKED: &str = r#"
name = "linked"
seed = 5
duration = "20s"
warmup = "2s"
replications = 2

[workload]
rate = 40
service = { dist = "constant", mean = "10ms" }

[[servers]]
count = 4

[sweep]
"servers.0.count" = [4, 1]
"workload.rate" = [40, 80]
"servers.0.speed" = [1, 4]
together = [["servers.0.count", "servers.0.speed"]]

[[expect]]
metric = "mean_ms"
min_ratio = 3
where = { "servers.0.speed" = 1 }
baseline = { "servers.0.count" = 1 }
"#;

/// A baseline naming one key of a linked pair is the variant with the whole pair changed:
/// `servers.0.count = 1` compares four servers at speed 1 with one at speed 4 (with the
/// speed left at 1 there would be no such variant, and the check would fail saying so).
#[test]
fn a_baseline_on_a_linked_key_changes_its_partner_too() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "linked.toml", LINKED);
    let (code, out) = check(dir.path(), &["linked.toml"]);
    assert_eq!(code, Some(0), "{out}");
    let passed: Vec<&str> = out.lines().filter(|l| l.contains("  PASS  ")).collect();
    assert_eq!(passed.len(), 4, "two rates × two replications\n{out}");
    for rate in [40, 80] {
        for r in 0..2 {
            let pair = format!(
                "servers.0.count=4,workload.rate={rate},servers.0.speed=1 #{r} vs \
                 servers.0.count=1,workload.rate={rate},servers.0.speed=4 #{r}"
            );
            assert!(passed.iter().any(|l| l.contains(&pair)), "{pair}\n{out}");
        }
    }
}

/// Poisson arrivals at 1000/s for one second: `arrived` is Poisson(1000), standard
/// deviation √1000 ≈ 31.6, exactly, whatever the servers do. The bound 1063 is its mean
/// plus 2 standard deviations: one run exceeds it with probability 2.3%, so among 20 seeds
/// × 10 replications (200 runs) some run exceeds it with probability 1 − 0.977^200 ≈ 99%.
/// The 95% interval of a mean of 10 reaches it only when the mean passes about
/// 1063 − 2.262 × 31.6/√10 ≈ 1040, 4 standard errors (10) above 1000: probability 3·10⁻⁵
/// per seed, 6·10⁻⁴ over 20.
const POISSON: &str = r#"
name = "poisson"
duration = "1s"
replications = 10
timeseries_interval = "off"

[workload]
rate = 1000
service = { dist = "constant", mean = "1ms" }

[[servers]]
count = 2

[[expect]]
metric = "arrived"
max = 1063
check = "each"

[[expect]]
metric = "arrived"
max = 1063
check = "interval"
"#;

#[test]
fn a_bound_on_the_confidence_interval_does_not_flake_where_one_run_does() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "poisson.toml", POISSON);
    let mut point_failures = 0;
    for seed in 1..=20 {
        let (_, out) = check(dir.path(), &["poisson.toml", "--seed", &seed.to_string()]);
        let verdict = |prefix: &str| {
            out.lines()
                .filter(|l| l.starts_with(prefix))
                .any(|l| l.contains("  FAIL  "))
        };
        assert!(
            !verdict("95% CI of arrived"),
            "seed {seed}: the interval bound failed\n{out}"
        );
        let interval_line = out
            .lines()
            .find(|l| l.starts_with("95% CI of arrived"))
            .expect("an interval line");
        assert!(interval_line.contains(" ± "), "{interval_line}");
        if verdict("arrived ") {
            point_failures += 1;
        }
    }
    assert!(
        point_failures > 0,
        "no single run exceeded the mean + 2 sd in 200 runs"
    );
}

#[test]
fn bless_then_check_passes_and_a_moved_value_fails_naming_metric_and_amount() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pair.toml", PAIR);
    let (code, out) = check(dir.path(), &["pair.toml", "--bless"]);
    assert_eq!(code, Some(0), "{out}");
    let golden_path = dir.path().join("pair.golden.toml");
    let golden = std::fs::read_to_string(&golden_path).expect("a golden file");
    assert!(
        golden.contains("[[run]]\nvariant = \"balancer.algorithm=round-robin\"\nreplication = 0\n")
    );
    // Deterministic: blessing again writes the same bytes.
    check(dir.path(), &["pair.toml", "--bless"]);
    assert_eq!(std::fs::read_to_string(&golden_path).unwrap(), golden);

    let (code, out) = check(dir.path(), &["pair.toml"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("pair.golden.toml: PASS, 8 run(s)"), "{out}");

    // A regression: round robin's recorded p99 (first run) and a count of the last run
    // moved in the golden file, as if lbsim's results had moved the other way.
    let p99_line = golden
        .lines()
        .find(|l| l.starts_with("p99_ms = "))
        .unwrap()
        .to_string();
    let p99: f64 = p99_line["p99_ms = ".len()..].parse().unwrap();
    let arrived_line = golden
        .lines()
        .rfind(|l| l.starts_with("arrived = "))
        .unwrap()
        .to_string();
    let arrived: u64 = arrived_line["arrived = ".len()..].parse().unwrap();
    let mut edited = golden.replacen(&p99_line, &format!("p99_ms = {:.6}", p99 * 0.9), 1);
    let last = edited.rfind(&arrived_line).unwrap();
    edited.replace_range(
        last..last + arrived_line.len(),
        &format!("arrived = {}", arrived - 1),
    );
    std::fs::write(&golden_path, edited).unwrap();
    let (code, out) = check(dir.path(), &["pair.toml"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("FAIL, 2 value(s) moved beyond tolerance"),
        "{out}"
    );
    let p99_row = out
        .lines()
        .find(|l| l.contains(" p99_ms "))
        .expect("a p99_ms row");
    assert!(
        p99_row.starts_with("balancer.algorithm=round-robin #0"),
        "{p99_row}"
    );
    // Now 1/0.9 of the recorded value: +11.111%.
    assert!(p99_row.contains("(+11.111%)"), "{p99_row}");
    let arrived_row = out
        .lines()
        .find(|l| l.contains(" arrived "))
        .expect("an arrived row");
    assert!(
        arrived_row.starts_with("balancer.algorithm=least-connections #3"),
        "{arrived_row}"
    );
    assert!(arrived_row.contains(" +1 "), "{arrived_row}");
    assert!(arrived_row.ends_with("exact"), "{arrived_row}");

    // A tolerance written in the golden file lets the p99 move 12%; the count stays exact.
    let loosened = std::fs::read_to_string(&golden_path).unwrap().replace(
        "[tolerance]\n",
        "[tolerance]\np99_ms = { relative = 0.12 }\n",
    );
    std::fs::write(&golden_path, loosened).unwrap();
    let (code, out) = check(dir.path(), &["pair.toml"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL, 1 value(s) moved"), "{out}");
    // Blessing again keeps the tolerance.
    check(dir.path(), &["pair.toml", "--bless"]);
    let blessed = std::fs::read_to_string(&golden_path).unwrap();
    assert!(
        blessed.contains("[tolerance]\np99_ms = { relative = 0.12 }\n"),
        "{blessed}"
    );
}

#[test]
fn a_changed_scenario_is_reported_not_compared() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pair.toml", PAIR);
    let (code, _) = check(dir.path(), &["pair.toml", "--bless"]);
    assert_eq!(code, Some(0));
    write(
        dir.path(),
        "pair.toml",
        &PAIR.replace("rate = 360", "rate = 300"),
    );
    let (code, out) = check(dir.path(), &["pair.toml"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("pair.toml changed since its results were recorded"),
        "{out}"
    );
    assert!(out.contains("not compared"), "{out}");
    // Another seed is not a regression: the comparison is skipped and said so.
    write(dir.path(), "pair.toml", PAIR);
    let (code, out) = check(dir.path(), &["pair.toml", "--seed", "4"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("not compared, recorded with seed 3"), "{out}");
}

#[test]
fn a_folder_run_skips_golden_files_and_a_malformed_one_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pair.toml", PAIR);
    check(dir.path(), &["pair.toml", "--bless"]);
    let (code, out) = check(dir.path(), &["."]);
    assert_eq!(code, Some(0), "{out}");
    let golden = std::fs::read_to_string(dir.path().join("pair.golden.toml")).unwrap();
    let broken = golden.replace("[tolerance]\n", "[tolerance]\np99 = { relative = 0.1 }\n");
    std::fs::write(dir.path().join("pair.golden.toml"), broken).unwrap();
    let (code, out) = check(dir.path(), &["."]);
    assert_eq!(code, Some(2), "{out}");
    assert!(out.contains("pair.golden.toml:"), "{out}");
    assert!(
        out.contains("tolerance.p99: unknown metric \"p99\""),
        "{out}"
    );
    assert!(out.contains("did you mean \"p99_ms\"?"), "{out}");
}

#[test]
fn the_junit_file_is_xml_with_one_testcase_per_expectation() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{PAIR}\n[[expect]]\nmetric = \"p99_ms\"\nmax = 5\n\
         where = {{ \"balancer.algorithm\" = \"round-robin\" }}\n\
         [[expect]]\nmetric = \"utilization\"\nmin = 0.5\ncheck = \"interval\"\n\
         [[expect]]\nmetric = \"p99_ms\"\nmax_ratio = 0.8\n\
         where = {{ \"balancer.algorithm\" = \"least-connections\" }}\n\
         baseline = {{ \"balancer.algorithm\" = \"round-robin\" }}\n"
    );
    write(dir.path(), "pair.toml", &text);
    check(dir.path(), &["pair.toml", "--bless"]);
    let (code, out) = check(dir.path(), &["pair.toml", "--junit", "reports/junit.xml"]);
    assert_eq!(code, Some(1), "{out}");
    let xml = std::fs::read_to_string(dir.path().join("reports/junit.xml")).expect("written");
    let document = roxmltree::Document::parse(&xml).expect("valid XML");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("tests"), Some("4"));
    assert_eq!(root.attribute("failures"), Some("1"));
    let suites: Vec<_> = root.children().filter(|n| n.is_element()).collect();
    assert_eq!(suites.len(), 1);
    assert_eq!(suites[0].attribute("name"), Some("pair"));
    let cases: Vec<_> = suites[0]
        .children()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    // Three expectations and the golden results.
    assert_eq!(cases.len(), 4);
    let names: Vec<&str> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(
        names,
        [
            "p99_ms ≤ 5 where balancer.algorithm=round-robin",
            "95% CI of utilization ≥ 0.5",
            "p99_ms ≤ 0.8 × baseline where balancer.algorithm=least-connections, baseline \
             balancer.algorithm=round-robin",
            "golden results",
        ]
    );
    assert_eq!(cases[0].attribute("file"), Some("pair.toml"));
    assert_eq!(cases[0].attribute("line"), Some("19"));
    let failure = cases[0]
        .children()
        .find(|n| n.has_tag_name("failure"))
        .expect("the first fails");
    assert!(
        failure.attribute("message").unwrap().starts_with(
            "4 of 4 checks failed; first: balancer.algorithm=round-robin #0 p99_ms = "
        ),
        "{:?}",
        failure.attribute("message")
    );
    for case in &cases[1..] {
        assert!(
            case.children().all(|n| !n.has_tag_name("failure")),
            "{:?}",
            case.attribute("name")
        );
    }
}

#[test]
fn a_junit_file_that_cannot_be_written_leaves_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pair.toml", PAIR);
    // The report's folder is a file: it cannot be created.
    write(dir.path(), "blocked", "");
    let (code, out) = check(dir.path(), &["pair.toml", "--junit", "blocked/junit.xml"]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("cannot write blocked/junit.xml"), "{out}");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("junit"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
