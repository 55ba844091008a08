//! Fuzzing the scenario parser and validator with proptest: arbitrary text, mutations of
//! the bundled scenarios and fixtures, and random key paths in `[sweep]`.
//!
//! Whatever the input, `Scenario::from_source` must return, never panic, and
//! - an error list is never empty, and every error reads `FILE:line:col: ...` or
//!   `FILE: ...`, with the line and column inside the text (column up to one past the
//!   line's last character) and the same position as the error's `position` field;
//! - a scenario it accepts holds only what the model may trust (positive durations, a
//!   warmup shorter than the duration, finite positive speeds, ...).
//!
//! The unit tests in `src/scenario/validate/robustness.rs` already feed it a restricted
//! alphabet and whole-value replacements in the good fixtures; these go wider. Case counts keep the
//! module to a few seconds in release mode; `PROPTEST_CASES=N` runs N cases per property
//! for a longer session.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use lbsim::balancer::Algorithm;
use lbsim::engine::SimTime;
use lbsim::model::{
    DiscoveryMode, GeneratedWorkload, PolicySpec, RunSpec, ServiceDist, Step, WorkloadSpec,
};
use lbsim::scenario::{Bound, Scenario, ScenarioErrors};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::Config;

use crate::support::root;

/// The file name errors are reported against.
const FILE: &str = "fuzz/case.toml";

/// `cases` per property, or `PROPTEST_CASES` when set.
fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

// ---- The oracle ---------------------------------------------------------------------------

/// Validates `source` and checks what comes back.
fn check(source: &str) -> Result<(), TestCaseError> {
    match Scenario::from_source(source, Path::new(FILE)) {
        Ok(scenario) => check_scenario(&scenario, source),
        Err(errors) => check_errors(&errors, source),
    }
}

/// Every error names the file, then a position inside the text or none, then a message.
fn check_errors(errors: &ScenarioErrors, source: &str) -> Result<(), TestCaseError> {
    prop_assert!(!errors.0.is_empty(), "an empty error list for:\n{source}");
    for error in &errors.0 {
        let shown = error.to_string();
        let position = parse_prefix(&shown)
            .map_err(|problem| TestCaseError::fail(format!("{problem}: {shown:?}\n{source}")))?;
        prop_assert_eq!(position, error.position, "{}", shown);
        if let Some((line, col)) = position {
            let lines: Vec<&str> = source.split('\n').collect();
            prop_assert!(
                (1..=lines.len()).contains(&line),
                "line {line} of {} lines: {shown:?}\n{source}",
                lines.len()
            );
            let width = lines[line - 1].chars().count();
            prop_assert!(
                (1..=width + 1).contains(&col),
                "column {col} of a line of {width} characters: {shown:?}\n{source}"
            );
        }
    }
    Ok(())
}

/// Reads `FILE:line:col: message` (`Some((line, col))`) or `FILE: message` (`None`), without
/// a regex: the message must not be empty.
fn parse_prefix(shown: &str) -> Result<Option<(usize, usize)>, String> {
    let rest = shown
        .strip_prefix(FILE)
        .ok_or("the message does not start with the file name")?;
    let non_empty = |message: &str| {
        if message.trim().is_empty() {
            Err("an empty message".to_string())
        } else {
            Ok(())
        }
    };
    if let Some(message) = rest.strip_prefix(": ") {
        non_empty(message)?;
        return Ok(None);
    }
    let rest = rest
        .strip_prefix(':')
        .ok_or("expected ':' or ': ' after the file name")?;
    let number = |text: &str| -> Result<(usize, usize), String> {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("expected a number".to_string());
        }
        let value = text[..digits].parse().map_err(|e| format!("{e}"))?;
        Ok((value, digits))
    };
    let (line, digits) = number(rest)?;
    let rest = rest[digits..]
        .strip_prefix(':')
        .ok_or("expected ':' after the line")?;
    let (col, digits) = number(rest)?;
    let message = rest[digits..]
        .strip_prefix(": ")
        .ok_or("expected ': ' after the column")?;
    non_empty(message)?;
    Ok(Some((line, col)))
}

/// What validation promises the model about an accepted scenario.
fn check_scenario(scenario: &Scenario, source: &str) -> Result<(), TestCaseError> {
    let name_ok = |name: &str| {
        !name.is_empty()
            && name != "."
            && name != ".."
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    };
    prop_assert!(
        name_ok(&scenario.name),
        "name {:?}\n{source}",
        scenario.name
    );
    prop_assert!(scenario.replications >= 1, "{}", source);
    prop_assert!(!scenario.variants.is_empty(), "no variant\n{}", source);
    for variant in &scenario.variants {
        prop_assert_eq!(
            variant.values.len(),
            scenario.swept_keys.len(),
            "{}",
            source
        );
        check_run(&variant.run).map_err(|problem| {
            TestCaseError::fail(format!("{}: {problem}\n{source}", variant.label))
        })?;
    }
    for expectation in &scenario.expectations {
        let (Bound::Value { min, max }
        | Bound::Ratio { min, max, .. }
        | Bound::Difference { min, max, .. }) = expectation.bound.clone();
        prop_assert!(min.is_some() || max.is_some());
        if let (Some(min), Some(max)) = (min, max) {
            prop_assert!(min <= max, "{}", source);
        }
    }
    Ok(())
}

fn check_run(run: &RunSpec) -> Result<(), String> {
    let fail = |what: &str| Err(format!("accepted {what}: {run:?}"));
    if run.duration.is_zero() || run.warmup >= run.duration {
        return fail("a duration and warmup the model cannot run");
    }
    if run.sample_interval.is_some_and(|i| i.is_zero()) {
        return fail("a zero time-series interval");
    }
    // A replay was validated when its trace loaded; generated traffic is checked here.
    if let WorkloadSpec::Generated(workload) = &run.workload
        && let Err(what) = check_generated(workload)
    {
        return fail(what);
    }
    if run.servers.is_empty() || run.server_count() == 0 {
        return fail("no servers");
    }
    for group in &run.servers {
        if group.count == 0 || group.workers == 0 {
            return fail("an empty group or no workers");
        }
        if !group.speed.is_finite() || group.speed <= 0.0 {
            return fail("a speed that is not a positive number");
        }
        if group.zone.is_empty() {
            return fail("an empty zone");
        }
        if group.weight == 0 && run.balancer.algorithm == Algorithm::WeightedRoundRobin {
            return fail("a zero weight under weighted-round-robin");
        }
    }
    if run.balancer.virtual_nodes == 0 {
        return fail("no virtual nodes");
    }
    if let Err(what) = check_scaling(run) {
        return fail(what);
    }
    Ok(())
}

/// What the autoscaler, discovery, slow start and the SLO may trust.
fn check_scaling(run: &RunSpec) -> Result<(), &'static str> {
    if let Some(autoscaler) = &run.autoscaler {
        let Some(group) = run.servers.get(autoscaler.group) else {
            return Err("an autoscaler of no group");
        };
        if autoscaler.min == 0 || autoscaler.min > autoscaler.max {
            return Err("autoscaler bounds out of order");
        }
        if !(autoscaler.min..=autoscaler.max).contains(&group.count) {
            return Err("a scaled group starting outside its bounds");
        }
        if autoscaler.interval.is_zero() || autoscaler.metrics.window.is_zero() {
            return Err("a zero autoscaler interval or metrics window");
        }
        let in_run = |at: SimTime| at.as_nanos() < run.duration.as_nanos();
        match &autoscaler.policy {
            PolicySpec::Scheduled(actions) => {
                if actions.is_empty() || !actions.iter().all(|a| in_run(a.at)) {
                    return Err("no scheduled action, or one past the run's end");
                }
                if actions.windows(2).any(|w| w[0].at > w[1].at) {
                    return Err("scheduled actions out of order");
                }
            }
            PolicySpec::TargetTracking(tracking) => {
                let target_ok = tracking.target.is_finite() && tracking.target > 0.0;
                if !target_ok || !(0.0..1.0).contains(&tracking.tolerance) {
                    return Err("a target that is not positive, or a tolerance out of [0, 1)");
                }
            }
            PolicySpec::Step(step) => {
                let start = |s: &Step| s.from.unwrap_or(f64::NEG_INFINITY);
                let end = |s: &Step| s.to.unwrap_or(f64::INFINITY);
                if step.steps.is_empty() || step.steps.windows(2).any(|w| end(&w[0]) > start(&w[1]))
                {
                    return Err("no step, or steps overlapping or out of order");
                }
            }
            PolicySpec::Threshold(threshold) => {
                if threshold.cpu_low >= threshold.cpu_high || threshold.step == 0 {
                    return Err("a threshold low mark not below its high mark, or no step");
                }
            }
        }
    }
    if let Some(slow_start) = &run.slow_start {
        let ramps = !slow_start.window.is_zero()
            && slow_start.aggression.is_finite()
            && slow_start.aggression > 0.0
            && (0.0..=1.0).contains(&slow_start.min_weight)
            && run.balancer.algorithm.uses_weights();
        if !ramps {
            return Err("a slow start that cannot ramp");
        }
    }
    if let Some(discovery) = &run.discovery
        && (discovery.check_interval.is_zero()
            || matches!(discovery.mode, DiscoveryMode::Poll { interval } if interval.is_zero()))
    {
        return Err("a discovery that would poll or check without end");
    }
    if run.slo.is_some_and(|slo| slo.p99.is_zero())
        || (run.slo.is_some() && run.sample_interval.is_none())
    {
        return Err("an SLO of zero, or without a time series");
    }
    Ok(())
}

fn check_generated(workload: &GeneratedWorkload) -> Result<(), &'static str> {
    let steps = workload.rate.steps();
    if steps.is_empty()
        || steps.windows(2).any(|w| w[0].0 >= w[1].0)
        || steps.iter().any(|&(_, r)| !r.is_finite() || r < 0.0)
        || steps.iter().all(|&(_, r)| r == 0.0)
    {
        return Err("a rate schedule out of order, negative, non-finite or all zero");
    }
    if workload.clients == 0 {
        return Err("no clients");
    }
    let service_ok = match workload.service {
        ServiceDist::Constant { mean } | ServiceDist::Exponential { mean } => !mean.is_zero(),
        ServiceDist::Uniform { min, max } => min <= max && !max.is_zero(),
        ServiceDist::LogNormal { mean, cv } => !mean.is_zero() && cv.is_finite() && cv >= 0.0,
        ServiceDist::Pareto { mean, shape } => !mean.is_zero() && shape.is_finite() && shape > 1.0,
    };
    if service_ok {
        Ok(())
    } else {
        Err("a service distribution out of range")
    }
}

// ---- (a) Arbitrary text -------------------------------------------------------------------

/// Pieces of TOML and of scenario files, to make text that gets past the first character.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    " ",
    "\t",
    "=",
    " = ",
    ".",
    ",",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "#",
    "\\",
    "\\u",
    "\\U0010FFFF",
    "\\n",
    "-",
    "+",
    "_",
    ":",
    "0",
    "1",
    "-1",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "0x1F",
    "0o7",
    "0b1",
    "1_000",
    "1.5",
    "true",
    "false",
    "1979-05-27",
    "07:32:00",
    "1979-05-27T07:32:00Z",
    "é",
    "µs",
    "🦀",
    "\u{0}",
    "\u{FEFF}",
    "\u{200B}",
    "name",
    "seed",
    "duration",
    "warmup",
    "replications",
    "timeseries_interval",
    "workload",
    "rate",
    "arrivals",
    "service",
    "dist",
    "mean",
    "min",
    "max",
    "cv",
    "shape",
    "clients",
    "servers",
    "count",
    "workers",
    "queue",
    "speed",
    "weight",
    "zone",
    "balancer",
    "algorithm",
    "virtual_nodes",
    "sweep",
    "expect",
    "metric",
    "where",
    "\"10s\"",
    "\"0s\"",
    "\"1ms\"",
    "\"off\"",
    "\"unbounded\"",
    "\"exponential\"",
    "\"pareto\"",
    "\"round-robin\"",
    "\"p99_ms\"",
    "\"servers.0.count\"",
    "\"workload.rate\"",
    "\"balancer.algorithm\"",
    "[workload]",
    "[[servers]]",
    "[sweep]",
    "[[expect]]",
    "[balancer]",
];

fn token_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(select(TOKENS), 0..120).prop_map(|tokens| tokens.concat())
}

// ---- (b) Mutations of the bundled files ---------------------------------------------------

/// The bundled scenarios and every fixture, good and bad.
static CORPUS: LazyLock<Vec<(PathBuf, String)>> = LazyLock::new(|| {
    let root = root();
    let mut files = Vec::new();
    for dir in ["scenarios", "tests/fixtures/good", "tests/fixtures/bad"] {
        let mut found: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|e| e == "toml"))
            // A golden file beside a scenario records results: it is no scenario.
            .filter(|path| !path.to_string_lossy().ends_with(".golden.toml"))
            .collect();
        found.sort();
        for path in found {
            let text = std::fs::read_to_string(&path).expect("a readable fixture");
            // A trace replay reads a file beside the scenario, whose errors name that file:
            // text read as `FILE` from elsewhere cannot find it.
            if !text.contains("trace = {") {
                files.push((path, text));
            }
        }
    }
    assert!(files.len() >= 5, "the corpus is missing: {files:?}");
    files
});

/// Numbers that break naive code: out of every integer type's range, non-finite, tiny,
/// and TOML's other notations.
const EXTREME_NUMBERS: &[&str] = &[
    "-1",
    "0",
    "-0",
    "-0.0",
    "1e308",
    "1e309",
    "-1e308",
    "5e-324",
    "1e-320",
    "1.7976931348623157e308",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775809",
    "4294967295",
    "4294967296",
    "170141183460469231731687303715884105728",
    "99999999999999999999999999999999999999999999999",
    "nan",
    "+nan",
    "-nan",
    "inf",
    "+inf",
    "-inf",
    "NaN",
    "Infinity",
    "0x7fffffffffffffff",
    "0xffffffffffffffff",
    "0o777",
    "0b101",
    "1_000_000_000",
    "1__0",
    "1.",
    ".5",
    "00",
    "0.000000000000000000001",
    "1e",
    "1e+",
];

/// What may replace a string: other types, odd strings, huge strings.
fn replacement_values() -> Vec<String> {
    let mut values: Vec<String> = [
        "1",
        "-1",
        "0",
        "1.5",
        "nan",
        "true",
        "[]",
        "[1, \"a\"]",
        "[[\"0s\", 1]]",
        "[[\"0s\"]]",
        "{}",
        "{ dist = \"constant\" }",
        "{ a = { b = { c = 1 } } }",
        "1979-05-27T07:32:00Z",
        "07:32:00",
        "\"\"",
        "\" \"",
        "\"é漢字🦀\"",
        "\"\\u0000\"",
        "\"\\uFFFF\"",
        "'literal \\ string'",
        "\"\"\"multi\nline\"\"\"",
        "'''multi\nline'''",
        "\"-1s\"",
        "\"0ns\"",
        "\"1ns\"",
        "\"18446744073709551615ns\"",
        "\"18446744073709551616ns\"",
        "\"1e308s\"",
        "\"99999999999999999999999999999999h\"",
        "\"0.0000000000000000000000001s\"",
        "\"1.0000000001s\"",
        "\"1.5.5s\"",
        "\".5s\"",
        "\"5.s\"",
        "\"1µs\"",
        "\"1μs\"",
        "\"µs\"",
        "\"1 s\"",
        "\" 1s\"",
        "\"1S\"",
        "\"1y\"",
        "\"off\"",
        "\"unbounded\"",
        "\"constant\"",
        "\"pareto\"",
        "\"weighted-round-robin\"",
        "\"consistent-hash\"",
        "\"p99_ms\"",
        "\"scenario\"",
        "\"servers.0.count\"",
        "\"servers.99.count\"",
        "\"..\"",
        "\".\"",
        "\"../escape\"",
        "\"a/b\"",
        "\"nul\\u0000name\"",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    values.push(format!("\"{}\"", "a".repeat(100_000)));
    values.push(format!("\"{}\"", "é".repeat(20_000)));
    values.push(format!("\"{}s\"", "9".repeat(10_000)));
    values.push(format!("\"1.{}s\"", "0".repeat(10_000)));
    values.push(format!("\"0.{}1s\"", "0".repeat(10_000)));
    values.push("9".repeat(10_000));
    values.push(format!("[{}]", vec!["1"; 10_000].join(", ")));
    values
}

static REPLACEMENTS: LazyLock<Vec<String>> = LazyLock::new(replacement_values);

/// Keys to write in place of others: valid ones in the wrong place, typos, odd ones.
const KEYS: &[&str] = &[
    "name",
    "duration",
    "warmup",
    "seed",
    "replications",
    "timeseries_interval",
    "rate",
    "arrivals",
    "service",
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
    "sweep",
    "expect",
    "servers",
    "workload",
    "balancer",
    "Duration",
    "workrs",
    "\"\"",
    "\"é\"",
    "a.b.c",
    "workload.rate",
    "servers.0",
    "\"servers.0.count\"",
    "\"balancer.algorithm\"",
];

/// One edit of a file. Indices are resolved against the text as it is when applied.
#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(Index),
    DuplicateLine(Index, Index),
    SwapLines(Index, Index),
    /// Replaces the n-th run of digits (in a number, a duration, anywhere).
    ReplaceNumber(Index, &'static str),
    /// Replaces the n-th `"..."` string, quotes included.
    ReplaceString(Index, usize),
    /// Replaces everything after ` = ` on a line.
    ReplaceValue(Index, usize),
    /// Replaces the key before ` = ` on a line.
    ReplaceKey(Index, &'static str),
    Truncate(Index),
    Insert(Index, String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let replacements = REPLACEMENTS.len();
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::DeleteLine),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::DuplicateLine(a, b)),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        3 => (any::<Index>(), select(EXTREME_NUMBERS))
            .prop_map(|(i, n)| Mutation::ReplaceNumber(i, n)),
        3 => (any::<Index>(), 0..replacements).prop_map(|(i, r)| Mutation::ReplaceString(i, r)),
        2 => (any::<Index>(), 0..replacements).prop_map(|(i, r)| Mutation::ReplaceValue(i, r)),
        1 => (any::<Index>(), select(KEYS)).prop_map(|(i, k)| Mutation::ReplaceKey(i, k)),
        1 => any::<Index>().prop_map(Mutation::Truncate),
        1 => (any::<Index>(), prop_oneof![token_soup(), any::<String>()])
            .prop_map(|(i, s)| Mutation::Insert(i, s)),
    ]
}

/// Byte ranges of runs of ASCII digits.
fn digit_runs(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    runs
}

/// Byte ranges of `"..."` strings on one line, quotes included (escapes honoured).
fn string_spans(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i < bytes.len() && bytes[i] == b'"' {
                spans.push((start, i + 1));
            }
        }
        i += 1;
    }
    spans
}

/// The char boundary at or before `index` of `text`'s length.
fn boundary(text: &str, index: Index) -> usize {
    text.floor_char_boundary(index.index(text.len() + 1))
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
    let n = lines.len();
    let join = |lines: Vec<String>| lines.join("\n");
    match mutation {
        Mutation::DeleteLine(i) => {
            lines.remove(i.index(n));
            join(lines)
        }
        Mutation::DuplicateLine(from, to) => {
            let line = lines[from.index(n)].clone();
            lines.insert(to.index(n + 1), line);
            join(lines)
        }
        Mutation::SwapLines(a, b) => {
            lines.swap(a.index(n), b.index(n));
            join(lines)
        }
        Mutation::ReplaceNumber(i, number) => {
            let runs = digit_runs(text);
            if runs.is_empty() {
                return text.to_string();
            }
            let (start, end) = runs[i.index(runs.len())];
            format!("{}{number}{}", &text[..start], &text[end..])
        }
        Mutation::ReplaceString(i, r) => {
            let spans = string_spans(text);
            if spans.is_empty() {
                return text.to_string();
            }
            let (start, end) = spans[i.index(spans.len())];
            format!("{}{}{}", &text[..start], REPLACEMENTS[*r], &text[end..])
        }
        Mutation::ReplaceValue(i, r) => {
            let line = &mut lines[i.index(n)];
            if let Some(at) = line.find(" = ") {
                line.truncate(at + 3);
                line.push_str(&REPLACEMENTS[*r]);
            }
            join(lines)
        }
        Mutation::ReplaceKey(i, key) => {
            let line = &mut lines[i.index(n)];
            if let Some(at) = line.find(" = ") {
                *line = format!("{key}{}", &line[at..]);
            }
            join(lines)
        }
        Mutation::Truncate(i) => text[..boundary(text, *i)].to_string(),
        Mutation::Insert(i, inserted) => {
            let at = boundary(text, *i);
            format!("{}{inserted}{}", &text[..at], &text[at..])
        }
    }
}

fn mutated_file() -> impl Strategy<Value = String> {
    (
        0..CORPUS.len(),
        proptest::collection::vec(mutation(), 1..=6),
    )
        .prop_map(|(file, mutations)| {
            mutations
                .iter()
                .fold(CORPUS[file].1.clone(), |text, m| apply(&text, m))
        })
}

// ---- (c) Random key paths in [sweep] ------------------------------------------------------

const SEGMENTS: &[&str] = &[
    "workload",
    "rate",
    "arrivals",
    "service",
    "dist",
    "mean",
    "min",
    "max",
    "cv",
    "shape",
    "clients",
    "servers",
    "0",
    "1",
    "2",
    "-1",
    "00",
    "+1",
    "1e0",
    "18446744073709551616",
    "99999999999999999999999999",
    "count",
    "workers",
    "queue",
    "speed",
    "weight",
    "zone",
    "name",
    "balancer",
    "algorithm",
    "virtual_nodes",
    "duration",
    "warmup",
    "seed",
    "replications",
    "timeseries_interval",
    "description",
    "sweep",
    "expect",
    "where",
    "metric",
    "",
    " ",
    "é",
    "🦀",
    "[0]",
    "servers[0]",
];

const SWEPT_VALUES: &[&str] = &[
    "1",
    "0",
    "-1",
    "2.5",
    "1e308",
    "nan",
    "inf",
    "18446744073709551616",
    "true",
    "\"10s\"",
    "\"0s\"",
    "\"1ms\"",
    "\"off\"",
    "\"unbounded\"",
    "\"round-robin\"",
    "\"weighted-round-robin\"",
    "\"ip-hash\"",
    "\"uniform\"",
    "\"lognormal\"",
    "\"\"",
    "\"é\"",
    "\"b\"",
    "\"5ms\"",
    "2",
    "3",
    "[]",
    "[1]",
    "[[\"0s\", 100]]",
    "{}",
    "{ dist = \"constant\", mean = \"1ms\" }",
    "1979-05-27",
];

/// Escapes text for a TOML basic string.
fn quote(text: &str) -> String {
    let mut quoted = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            c if c.is_control() => quoted.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Paths a sweep may name in [`BASE`] (and `servers.2`, which it does not have).
const VALID_PATHS: &[&str] = &[
    "duration",
    "warmup",
    "timeseries_interval",
    "workload.rate",
    "workload.arrivals",
    "workload.service",
    "workload.service.dist",
    "workload.service.mean",
    "workload.service.min",
    "workload.service.max",
    "workload.service.cv",
    "workload.service.shape",
    "workload.clients",
    "servers.0.count",
    "servers.1.count",
    "servers.0.name",
    "servers.1.workers",
    "servers.0.queue",
    "servers.1.queue",
    "servers.0.speed",
    "servers.1.weight",
    "servers.0.zone",
    "servers.2.count",
    "balancer.algorithm",
    "balancer.virtual_nodes",
];

fn segment() -> impl Strategy<Value = String> {
    prop_oneof![8 => select(SEGMENTS).prop_map(String::from), 1 => "\\PC{0,6}"]
}

/// A valid path, a valid path with one segment replaced, inserted or removed, or random
/// segments.
fn sweep_path() -> impl Strategy<Value = String> {
    let edited = (select(VALID_PATHS), any::<Index>(), 0..3u8, segment()).prop_map(
        |(path, at, edit, segment)| {
            let mut segments: Vec<String> = path.split('.').map(String::from).collect();
            match edit {
                0 => {
                    let i = at.index(segments.len());
                    segments[i] = segment;
                }
                1 => segments.insert(at.index(segments.len() + 1), segment),
                _ => {
                    segments.remove(at.index(segments.len()));
                }
            }
            segments.join(".")
        },
    );
    prop_oneof![
        4 => select(VALID_PATHS).prop_map(String::from),
        3 => edited,
        2 => proptest::collection::vec(segment(), 1..=5).prop_map(|s| s.join(".")),
    ]
}

fn swept_values() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => proptest::collection::vec(select(SWEPT_VALUES), 0..=4)
            .prop_map(|values| format!("[{}]", values.join(", "))),
        1 => select(SWEPT_VALUES).prop_map(String::from),
    ]
}

/// How a sweep entry is written.
#[derive(Clone, Debug)]
enum Form {
    /// `"a.b" = [..]`
    Quoted,
    /// `a.b = [..]` (dotted keys: nested tables), when every segment is a bare key.
    Dotted,
}

const BASE: &str = "duration = \"10s\"\n\
                    [workload]\n\
                    rate = 100\n\
                    service = { dist = \"exponential\", mean = \"10ms\" }\n\
                    [[servers]]\n\
                    name = \"a\"\n\
                    count = 2\n\
                    [[servers]]\n\
                    name = \"b\"\n\
                    [balancer]\n\
                    algorithm = \"least-connections\"\n";

/// Columns an expectation may name, and some it may not.
const METRICS: &[&str] = &[
    "p99_ms",
    "mean_ms",
    "utilization",
    "arrived",
    "scenario",
    "variant",
    "p99",
    "",
];

fn sweep_file() -> impl Strategy<Value = String> {
    let entry = (
        sweep_path(),
        swept_values(),
        prop_oneof![Just(Form::Quoted), Just(Form::Dotted)],
    );
    // An expectation: its metric (a column, or the n-th swept path) and its filter (the
    // n-th swept path, or any path) with a value.
    let expect = (
        prop_oneof![
            select(METRICS).prop_map(|m| Err(m.to_string())),
            any::<Index>().prop_map(Ok)
        ],
        prop_oneof![sweep_path().prop_map(Err), any::<Index>().prop_map(Ok)],
        select(SWEPT_VALUES),
    );
    (
        proptest::collection::vec(entry, 0..=4),
        proptest::option::of(expect),
        any::<bool>(),
    )
        .prop_map(|(entries, expect, sweep_first)| {
            let paths: Vec<String> = entries.iter().map(|(path, _, _)| path.clone()).collect();
            let mut sweep = String::from("[sweep]\n");
            for (path, values, form) in entries {
                let bare = |s: &str| {
                    !s.is_empty()
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                };
                let key = match form {
                    Form::Dotted if path.split('.').all(bare) => path,
                    _ => quote(&path),
                };
                sweep.push_str(&format!("{key} = {values}\n"));
            }
            let mut text = if sweep_first {
                // Root keys must come before any table: put [sweep] after them.
                BASE.replacen("[workload]", &format!("{sweep}[workload]"), 1)
            } else {
                format!("{BASE}{sweep}")
            };
            if let Some((metric, filter, value)) = expect {
                let pick = |choice: Result<Index, String>| match choice {
                    Ok(i) if !paths.is_empty() => paths[i.index(paths.len())].clone(),
                    Ok(_) => "workload.rate".to_string(),
                    Err(other) => other,
                };
                text.push_str(&format!(
                    "[[expect]]\nmetric = {}\nmax = 1\nwhere = {{ {} = {value} }}\n",
                    quote(&pick(metric)),
                    quote(&pick(filter))
                ));
            }
            text
        })
}

// ---- The properties -----------------------------------------------------------------------

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn arbitrary_unicode_never_panics_and_errors_are_located(source in any::<String>()) {
        check(&source)?;
    }

    #[test]
    fn toml_token_soup_never_panics_and_errors_are_located(source in token_soup()) {
        check(&source)?;
    }

    #[test]
    fn mutated_scenarios_never_panic_and_errors_are_located(source in mutated_file()) {
        check(&source)?;
    }

    #[test]
    fn random_sweep_paths_never_panic_and_errors_are_located(source in sweep_file()) {
        check(&source)?;
    }
}

/// The oracle itself: it accepts what it should and rejects what it should.
#[test]
fn the_prefix_parser_reads_both_forms_and_rejects_others() {
    assert_eq!(
        parse_prefix(&format!("{FILE}:12:9: servers[0].workers: bad")),
        Ok(Some((12, 9)))
    );
    assert_eq!(parse_prefix(&format!("{FILE}: cannot read")), Ok(None));
    for bad in [
        "other.toml:1:1: x".to_string(),
        format!("{FILE}:1: x"),
        format!("{FILE}:1:x: x"),
        format!("{FILE}:1:1:x"),
        format!("{FILE}:1:1: "),
        format!("{FILE}:: x"),
    ] {
        assert!(parse_prefix(&bad).is_err(), "{bad}");
    }
}

/// Every file of the corpus validates without panicking, and its errors are located.
#[test]
fn the_corpus_itself_passes_the_oracle() {
    for (path, text) in CORPUS.iter() {
        check(text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    // The good ones are valid.
    for (path, text) in CORPUS.iter() {
        if !path.to_string_lossy().contains("/bad/") {
            assert!(
                Scenario::from_source(text, Path::new(FILE)).is_ok(),
                "{}",
                path.display()
            );
        }
    }
}

/// The generated sweep files reach validation's sweep checks rather than stopping at the
/// TOML syntax: the base with a valid sweep is valid.
#[test]
fn the_sweep_base_is_valid() {
    let text = format!("{BASE}[sweep]\n\"servers.1.count\" = [1, 2]\n");
    let scenario = Scenario::from_source(&text, Path::new(FILE)).unwrap();
    assert_eq!(scenario.variants.len(), 2);
}

// ---- Time -------------------------------------------------------------------------------

/// Validates `source`, returning how long it took and whether it was rejected.
fn timed(source: &str) -> (std::time::Duration, bool) {
    let start = std::time::Instant::now();
    let rejected = Scenario::from_source(source, Path::new(FILE)).is_err();
    (start.elapsed(), rejected)
}

/// A 120 KB file must not take seconds to reject. "Did you mean" once compared a `where`
/// value with every swept label by edit distance, O(len × len): two 60,000-character
/// strings took about 6 s. Now it takes milliseconds; the 1 s bound leaves a wide margin
/// for a slow machine while still catching a quadratic regression.
#[test]
fn a_long_where_value_is_rejected_quickly() {
    let n = 60_000;
    let source = format!(
        "{BASE}[sweep]\n\"servers.0.zone\" = [\"{}\"]\n\
         [[expect]]\nmetric = \"p99_ms\"\nmax = 1\nwhere = {{ \"servers.0.zone\" = \"{}\" }}\n",
        "x".repeat(n),
        "y".repeat(n)
    );
    let (took, rejected) = timed(&source);
    assert!(rejected);
    assert!(
        took.as_secs_f64() < 1.0,
        "{took:?} for {} bytes",
        source.len()
    );
}

/// A sweep of 60,000 values is rejected (more than 10,000 variants). Finding duplicates
/// once compared each value with every earlier one, O(n²), about 4 s; now it is a sorted
/// map, milliseconds, and the 1 s bound catches a quadratic regression.
#[test]
fn a_huge_sweep_list_is_rejected_quickly() {
    let values: Vec<String> = (1..=60_000).map(|i| i.to_string()).collect();
    let source = format!(
        "{BASE}[sweep]\n\"servers.0.count\" = [{}]\n",
        values.join(",")
    );
    let (took, rejected) = timed(&source);
    assert!(rejected);
    assert!(
        took.as_secs_f64() < 1.0,
        "{took:?} for {} bytes",
        source.len()
    );
}
