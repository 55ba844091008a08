//! The bundled scenario library: every file runs, every request is accounted for, the
//! summary has the contract's columns, and the lessons the files teach hold.

use std::sync::OnceLock;

use tempfile::TempDir;

use crate::support::{field, lbsim, read_csv, root};

/// Runs `scenarios/` once for all tests of this module.
fn bundled_output() -> &'static TempDir {
    static OUTPUT: OnceLock<TempDir> = OnceLock::new();
    OUTPUT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let scenarios = root().join("scenarios");
        let out = dir.path().join("output");
        let output = lbsim(
            dir.path(),
            &[
                "run",
                scenarios.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--quiet",
            ],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        dir
    })
}

fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(bundled_output().path().join("output"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn summary(name: &str) -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(
        &bundled_output()
            .path()
            .join("output")
            .join(name)
            .join("summary.csv"),
    )
}

/// The stems of the scenario files in `scenarios/`, in name order: data beside them
/// (scenarios/traces/, scenarios/charts/) and golden files are not scenarios.
fn scenario_files() -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(root().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".toml") && !name.ends_with(".golden.toml"))
        .map(|name| name.trim_end_matches(".toml").to_string())
        .collect();
    stems.sort();
    stems
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_bundled_scenario_produces_results() {
    let files = scenario_files();
    assert!(files.len() >= 5);
    assert_eq!(scenario_names(), files);
}

/// The library's contract (scenarios/README.md): each file opens with the question it
/// answers and the lesson, proves the lesson with `[[expect]]`, and has its results recorded
/// in a golden file, so that `lbsim check scenarios/` in CI catches both a broken lesson and
/// any silent change of a figure.
#[test]
fn every_bundled_scenario_states_its_question_and_lesson_proves_it_and_is_blessed() {
    for stem in scenario_files() {
        let text = read(&format!("scenarios/{stem}.toml"));
        assert!(
            text.starts_with("# Question: "),
            "scenarios/{stem}.toml does not open with `# Question: `"
        );
        assert!(
            text.contains("\n# Lesson: "),
            "scenarios/{stem}.toml has no `# Lesson: ` in its header"
        );
        assert!(
            text.contains("\n[[expect]]"),
            "scenarios/{stem}.toml has no [[expect]] to prove its lesson"
        );
        assert!(
            root()
                .join(format!("scenarios/{stem}.golden.toml"))
                .is_file(),
            "scenarios/{stem}.toml has no golden file: \
             `lbsim check scenarios/{stem}.toml --bless` records it"
        );
    }
}

/// Every bound says where it comes from (scenarios/README.md): a comment on its
/// `[[expect]]` line or just above it, which may explain a run of `[[expect]]` blocks that
/// follow one another. The derivation itself — theory, the spread measured over seeds, the
/// margin — is for a reader to judge; a bound with no word at all is caught here.
#[test]
fn every_bundled_expectation_is_explained_next_to_it() {
    for stem in scenario_files() {
        let text = read(&format!("scenarios/{stem}.toml"));
        let lines: Vec<&str> = text.lines().collect();
        // Whether the last table header was an explained `[[expect]]`.
        let mut in_explained_run = false;
        for (index, line) in lines.iter().enumerate() {
            if !line.starts_with('[') {
                continue;
            }
            let is_expect = line.starts_with("[[expect]]");
            let above = index.checked_sub(1).map_or("", |i| lines[i].trim());
            let explained = line.contains('#')
                || above.starts_with('#')
                || (above.is_empty() && in_explained_run);
            assert!(
                !is_expect || explained,
                "scenarios/{stem}.toml:{}: an [[expect]] with no comment saying where its \
                 bound comes from",
                index + 1
            );
            in_explained_run = is_expect && explained;
        }
    }
}

/// Every scenario is in the index by question, with its chart, and the chart is one that
/// scripts/library-charts regenerates (CI checks that it matches a fresh run).
#[test]
fn the_library_index_lists_every_scenario_with_its_chart() {
    let index = read("scenarios/README.md");
    let script = read("scripts/library-charts");
    for stem in scenario_files() {
        assert!(
            index.contains(&format!("]({stem}.toml)")),
            "scenarios/README.md does not link {stem}.toml"
        );
        assert!(
            index.contains(&format!("](charts/{stem}.svg)")),
            "scenarios/README.md does not show charts/{stem}.svg"
        );
        assert!(
            root()
                .join(format!("scenarios/charts/{stem}.svg"))
                .is_file(),
            "scenarios/charts/{stem}.svg is missing: run scripts/library-charts"
        );
        assert!(
            script
                .lines()
                .any(|line| line.trim_start().starts_with(&format!("\"{stem} "))),
            "scripts/library-charts does not regenerate the chart of {stem}"
        );
    }
}

#[test]
fn every_arrived_request_is_completed_rejected_failed_or_in_flight() {
    for name in scenario_names() {
        let (header, rows) = summary(&name);
        assert!(!rows.is_empty(), "{name}: no rows");
        for row in &rows {
            let count = |column: &str| field(&header, row, column).parse::<u64>().unwrap();
            let arrived = count("arrived");
            assert!(arrived > 0, "{name}: nothing arrived");
            assert_eq!(
                arrived,
                count("completed") + count("rejected") + count("failed") + count("in_flight"),
                "{name} {}: conservation",
                field(&header, row, "variant")
            );
        }
    }
}

#[test]
fn summaries_start_with_the_contract_columns_in_order() {
    let contract = [
        "scenario",
        "variant",
        "replication",
        "seed",
        "arrived",
        "completed",
        "rejected",
        "failed",
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "throughput_rps",
        "utilization",
    ];
    for name in scenario_names() {
        let (header, rows) = summary(&name);
        assert_eq!(&header[..contract.len()], contract, "{name}");
        for row in &rows {
            let p = |c: &str| field(&header, row, c).parse::<f64>().unwrap();
            assert!(
                p("p50_ms") <= p("p90_ms")
                    && p("p90_ms") <= p("p99_ms")
                    && p("p99_ms") <= p("p999_ms")
                    && p("p999_ms") <= p("max_ms"),
                "{name}: percentiles out of order"
            );
            assert!(
                (0.0..=1.0).contains(&p("utilization")),
                "{name}: utilization"
            );
        }
    }
}

#[test]
fn the_algorithm_comparison_covers_every_algorithm() {
    let (header, rows) = summary("algorithms-compared");
    let algorithms: Vec<&str> = rows
        .iter()
        .map(|r| field(&header, r, "balancer.algorithm"))
        .collect();
    assert_eq!(algorithms.len(), lbsim::balancer::Algorithm::ALL.len());
    for name in lbsim::balancer::Algorithm::ALL {
        assert!(algorithms.contains(&name.name()), "{name} missing");
    }
}

#[test]
fn least_connections_beats_round_robin_at_high_load() {
    let (header, rows) = summary("rr-vs-least-connections");
    let p99 = |algorithm: &str| -> f64 {
        let row = rows
            .iter()
            .find(|r| {
                field(&header, r, "balancer.algorithm") == algorithm
                    && field(&header, r, "workload.rate") == "900"
            })
            .unwrap();
        field(&header, row, "p99_ms").parse().unwrap()
    };
    // Theory: round robin over 10 M/M/1-like queues at 0.9 has p99 around 10 × 46 ms; the
    // shared-queue behaviour of least-connections is several times lower.
    assert!(
        p99("least-connections") * 2.0 < p99("round-robin"),
        "{} vs {}",
        p99("least-connections"),
        p99("round-robin")
    );
}

#[test]
fn a_bounded_queue_rejects_during_the_spike_and_an_unbounded_one_never_does() {
    let (header, rows) = summary("traffic-spike");
    let rejected = |queue: &str| -> u64 {
        let row = rows
            .iter()
            .find(|r| field(&header, r, "servers.0.queue") == queue)
            .unwrap();
        field(&header, row, "rejected").parse().unwrap()
    };
    assert!(rejected("20") > 0);
    assert_eq!(rejected("unbounded"), 0);
}

/// The longest stretch of consecutive time-series intervals in which a healthy (full-speed)
/// server of `slow-servers` did nothing, under `algorithm`, in seconds.
fn longest_idle_stretch_of_a_healthy_server(algorithm: &str) -> u32 {
    let (header, rows) = read_csv(
        &bundled_output()
            .path()
            .join("output/slow-servers/timeseries.csv"),
    );
    let variant = format!("balancer.algorithm={algorithm}");
    let mut stretch: std::collections::BTreeMap<String, (u32, u32)> = Default::default();
    for row in rows
        .iter()
        .filter(|r| field(&header, r, "variant") == variant)
    {
        let server = field(&header, row, "server");
        if !server.starts_with("healthy") {
            continue;
        }
        let busy: f64 = field(&header, row, "utilization").parse().unwrap();
        let (current, longest) = stretch.entry(server.to_string()).or_default();
        *current = if busy == 0.0 { *current + 1 } else { 0 };
        *longest = (*longest).max(*current);
    }
    stretch
        .values()
        .map(|&(_, longest)| longest)
        .max()
        .unwrap_or(0)
}

#[test]
fn peak_ewma_never_starves_a_healthy_server_and_the_naive_average_does() {
    // At 70% load a healthy server that the balancer still tries is idle for a whole second
    // only by rare chance; the naive moving average leaves one idle for tens of seconds.
    let peak = longest_idle_stretch_of_a_healthy_server("least-response-time");
    let naive = longest_idle_stretch_of_a_healthy_server("least-response-time-naive");
    assert!(peak <= 2, "peak EWMA left a healthy server idle {peak} s");
    assert!(naive >= 10, "the naive average starved one only {naive} s");
}
