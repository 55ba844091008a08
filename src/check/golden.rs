//! Golden results: `lbsim check --bless` records each scenario's summary, every run and
//! every measured column, in `<stem>.golden.toml` beside the scenario file; a later
//! `lbsim check` compares each run with it and names every value that moved beyond its
//! tolerance, and by how much.
//!
//! A run is deterministic: the same lbsim, scenario and seed give the same bytes, so the
//! default tolerance is a fingerprint — counts exactly, other columns within one part in a
//! million (room for the last digit of a platform's floating point, nothing more). A
//! change in lbsim that moves results on purpose is blessed again; `[tolerance]` in the
//! golden file loosens chosen metrics, relative or absolute, and is kept when blessed
//! again. The file records a hash of the scenario's text: a scenario edited since is
//! reported as changed, never compared against results of another scenario.
//!
//! The file is TOML, written by hand in a fixed order with the summary's own decimals, so
//! that a re-bless diffs line by line: one line per metric, a `[[run]]` per run.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use super::number;
use super::table::align;
use crate::report::SummaryRow;
use crate::scenario::{
    Column, MEASURED_COLUMNS, Scenario, ScenarioError, ScenarioErrors, expected_one_of, line_col,
};
use crate::stats::Kind;

/// The version of the golden file's layout.
const FORMAT: u32 = 1;

/// The default tolerance of a column that is not a count: a share of the recorded value.
pub const DEFAULT_RELATIVE: f64 = 1e-6;

/// The golden file of a scenario file: `foo.toml` → `foo.golden.toml` beside it.
pub fn path_for(scenario: &Path) -> PathBuf {
    let stem = scenario
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    scenario.with_file_name(format!("{stem}.golden.toml"))
}

/// Whether `path` names a golden file (which is not a scenario, though it ends in .toml).
pub fn is_golden(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().ends_with(".golden.toml"))
}

/// How far a metric may move: either bound suffices.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Tolerance {
    /// A share of the recorded value's magnitude.
    pub relative: Option<f64>,
    /// In the metric's unit.
    pub absolute: Option<f64>,
}

impl Tolerance {
    /// The default of a column: counts exact, others within [`DEFAULT_RELATIVE`].
    fn default_for(column: &Column) -> Tolerance {
        match column.kind {
            Kind::Count => Tolerance {
                relative: None,
                absolute: None,
            },
            Kind::Real { .. } => Tolerance {
                relative: Some(DEFAULT_RELATIVE),
                absolute: None,
            },
        }
    }

    fn allows(&self, recorded: f64, now: f64) -> bool {
        let moved = (now - recorded).abs();
        let relative = self.relative.map_or(0.0, |r| r * recorded.abs());
        let absolute = self.absolute.unwrap_or(0.0);
        moved <= relative.max(absolute)
    }
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.relative, self.absolute) {
            (None, None) => f.write_str("exact"),
            (Some(r), None) => write!(f, "±{r} relative"),
            (None, Some(a)) => write!(f, "±{a}"),
            (Some(r), Some(a)) => write!(f, "±{r} relative or ±{a}"),
        }
    }
}

/// One run's recorded values, by column name; a column absent from the table was empty.
#[derive(Clone, Debug, PartialEq)]
pub struct GoldenRun {
    pub variant: String,
    pub replication: u32,
    pub values: BTreeMap<String, f64>,
}

/// A golden file, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Golden {
    pub path: PathBuf,
    pub source_hash: u64,
    /// The lbsim version that recorded it.
    pub lbsim: String,
    pub seed: u64,
    pub replications: u32,
    /// The columns recorded: a column added to lbsim since is not compared.
    pub metrics: Vec<String>,
    /// The tolerances written in the file, by metric, in column order.
    pub tolerances: Vec<(String, Tolerance)>,
    pub runs: Vec<GoldenRun>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGolden {
    format: Spanned<u32>,
    #[expect(dead_code, reason = "written for the reader; the file name ties it")]
    scenario: String,
    source_hash: Spanned<String>,
    lbsim: String,
    seed: u64,
    replications: u32,
    metrics: Vec<String>,
    #[serde(default)]
    tolerance: BTreeMap<String, Spanned<RawTolerance>>,
    #[serde(default)]
    run: Vec<RawRun>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTolerance {
    relative: Option<f64>,
    absolute: Option<f64>,
}

#[derive(Deserialize)]
struct RawRun {
    variant: String,
    replication: u32,
    #[serde(flatten)]
    values: BTreeMap<String, f64>,
}

/// Reads the golden file beside `scenario`, if there is one; a malformed one is bad
/// input, located like a scenario error.
pub fn load(scenario: &Path) -> Result<Option<Golden>, ScenarioErrors> {
    let path = path_for(scenario);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(ScenarioErrors::io(&path, &error)),
    };
    parse(&text, &path).map(Some)
}

/// Parses a golden file's text; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Golden, ScenarioErrors> {
    let file = path.display().to_string();
    let error = |offset: usize, key: &str, message: String| {
        let (line, col) = line_col(text, offset);
        ScenarioErrors(vec![ScenarioError {
            file: file.clone(),
            position: Some((line, col)),
            key_path: key.to_string(),
            message,
        }])
    };
    let raw: RawGolden = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        error(offset, "", e.message().to_string())
    })?;
    if *raw.format.get_ref() != FORMAT {
        return Err(error(
            raw.format.span().start,
            "format",
            format!(
                "expected golden format {FORMAT}, found {}: record it again with `lbsim check --bless`",
                raw.format.get_ref()
            ),
        ));
    }
    let source_hash = u64::from_str_radix(raw.source_hash.get_ref(), 16).map_err(|_| {
        error(
            raw.source_hash.span().start,
            "source_hash",
            format!(
                "expected 16 hex digits, found {:?}",
                raw.source_hash.get_ref()
            ),
        )
    })?;
    let names: Vec<&str> = MEASURED_COLUMNS.iter().map(|c| c.name).collect();
    let mut tolerances = Vec::new();
    for column in &MEASURED_COLUMNS {
        if let Some(written) = raw.tolerance.get(column.name) {
            let tolerance = tolerance(written, column.name, &error)?;
            tolerances.push((column.name.to_string(), tolerance));
        }
    }
    if let Some((name, written)) = raw
        .tolerance
        .iter()
        .find(|(name, _)| !names.contains(&name.as_str()))
    {
        return Err(error(
            written.span().start,
            &format!("tolerance.{name}"),
            format!("unknown metric {name:?}, {}", expected_one_of(name, &names)),
        ));
    }
    Ok(Golden {
        path: path.to_path_buf(),
        source_hash,
        lbsim: raw.lbsim,
        seed: raw.seed,
        replications: raw.replications,
        metrics: raw.metrics,
        tolerances,
        runs: raw
            .run
            .into_iter()
            .map(|run| GoldenRun {
                variant: run.variant,
                replication: run.replication,
                values: run.values,
            })
            .collect(),
    })
}

fn tolerance(
    written: &Spanned<RawTolerance>,
    name: &str,
    error: &impl Fn(usize, &str, String) -> ScenarioErrors,
) -> Result<Tolerance, ScenarioErrors> {
    let RawTolerance { relative, absolute } = *written.get_ref();
    let valid = |x: Option<f64>| x.is_none_or(|x| x.is_finite() && x >= 0.0);
    if relative.is_none() && absolute.is_none() || !valid(relative) || !valid(absolute) {
        return Err(error(
            written.span().start,
            &format!("tolerance.{name}"),
            "expected { relative = <share> } and/or { absolute = <amount> }, non-negative"
                .to_string(),
        ));
    }
    Ok(Tolerance { relative, absolute })
}

// ---------------------------------------------------------------------------------------
// Writing.

/// The golden file of `scenario`'s run, `rows` in summary order, keeping the tolerances
/// of the file it replaces.
pub fn render(scenario: &Scenario, rows: &[SummaryRow], kept: &[(String, Tolerance)]) -> String {
    let file_name = scenario
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let seed = rows.first().map_or(scenario.seed, |r| r.seed);
    let replications = rows.iter().filter(|r| r.variant == 0).count();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Golden results of {file_name}, recorded by `lbsim check --bless`: `lbsim check`\n\
         # compares every run with them, within [tolerance]. Bless again after a change you mean."
    );
    let _ = writeln!(out, "format = {FORMAT}");
    let _ = writeln!(out, "scenario = {}", quoted(&scenario.name));
    let _ = writeln!(out, "source_hash = \"{:016x}\"", scenario.source_hash);
    let _ = writeln!(out, "lbsim = {}", quoted(env!("CARGO_PKG_VERSION")));
    let _ = writeln!(out, "seed = {seed}");
    let _ = writeln!(out, "replications = {replications}");
    let metrics: Vec<String> = MEASURED_COLUMNS.iter().map(|c| quoted(c.name)).collect();
    let _ = writeln!(out, "metrics = [{}]", metrics.join(", "));
    let _ = writeln!(
        out,
        "\n# Per metric, `p99_ms = {{ relative = 0.05 }}` (a share of the recorded value) and/or\n\
         # `{{ absolute = 2 }}`; either suffices. Unlisted: counts exact, others within {DEFAULT_RELATIVE}\n\
         # relative. Kept when blessed again.\n[tolerance]"
    );
    for (name, tolerance) in kept {
        let mut parts = Vec::new();
        if let Some(r) = tolerance.relative {
            parts.push(format!("relative = {r:?}"));
        }
        if let Some(a) = tolerance.absolute {
            parts.push(format!("absolute = {a:?}"));
        }
        let _ = writeln!(out, "{name} = {{ {} }}", parts.join(", "));
    }
    for row in rows {
        let _ = writeln!(out, "\n[[run]]");
        let label = &scenario.variants[row.variant].label;
        let _ = writeln!(out, "variant = {}", quoted(label));
        let _ = writeln!(out, "replication = {}", row.replication);
        for (column, value) in MEASURED_COLUMNS.iter().zip(&row.values) {
            if let Some(value) = value {
                let _ = writeln!(out, "{} = {}", column.name, written(column, *value));
            }
        }
    }
    out
}

/// A value as summary.csv writes it: with the column's decimals.
fn written(column: &Column, value: f64) -> String {
    format!("{value:.*}", column.kind.decimals())
}

/// A TOML basic string.
fn quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

// ---------------------------------------------------------------------------------------
// Comparing.

/// A value that moved beyond its tolerance, or a run on one side only.
#[derive(Clone, Debug, PartialEq)]
pub struct Moved {
    /// `label #r`.
    pub run: String,
    pub metric: String,
    pub recorded: Option<f64>,
    pub now: Option<f64>,
    pub tolerance: Tolerance,
}

/// What comparing a run with its golden file found.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Every recorded value is within tolerance; `new_metrics` were not recorded.
    Matched {
        runs: usize,
        metrics: usize,
        new_metrics: Vec<String>,
    },
    /// These values moved (or runs appeared or vanished).
    Moved(Vec<Moved>),
    /// The scenario file is not the one the results were recorded from.
    ScenarioChanged { recorded: u64, now: u64 },
    /// Recorded with another seed or number of replications than this run's.
    NotComparable(String),
}

impl Outcome {
    /// Whether it fails the check (a run that cannot be compared does not).
    pub fn failed(&self) -> bool {
        matches!(self, Outcome::Moved(_) | Outcome::ScenarioChanged { .. })
    }
}

/// Compares `rows` (summary order) with `golden`.
pub fn compare(golden: &Golden, scenario: &Scenario, rows: &[SummaryRow]) -> Outcome {
    if golden.source_hash != scenario.source_hash {
        return Outcome::ScenarioChanged {
            recorded: golden.source_hash,
            now: scenario.source_hash,
        };
    }
    let seed = rows.first().map_or(scenario.seed, |r| r.seed);
    let replications = rows.iter().filter(|r| r.variant == 0).count();
    if seed != golden.seed || replications != golden.replications as usize {
        return Outcome::NotComparable(format!(
            "recorded with seed {} and {} replication(s), run with seed {seed} and \
             {replications}",
            golden.seed, golden.replications
        ));
    }
    let compared: Vec<&Column> = MEASURED_COLUMNS
        .iter()
        .filter(|c| golden.metrics.iter().any(|m| m == c.name))
        .collect();
    let new_metrics: Vec<String> = MEASURED_COLUMNS
        .iter()
        .filter(|c| !golden.metrics.iter().any(|m| m == c.name))
        .map(|c| c.name.to_string())
        .collect();
    let tolerance_of = |column: &Column| {
        golden
            .tolerances
            .iter()
            .find(|(name, _)| name == column.name)
            .map_or_else(|| Tolerance::default_for(column), |(_, t)| *t)
    };
    let mut recorded: BTreeMap<(&str, u32), &GoldenRun> = golden
        .runs
        .iter()
        .map(|run| ((run.variant.as_str(), run.replication), run))
        .collect();
    let mut moved = Vec::new();
    for row in rows {
        let label = &scenario.variants[row.variant].label;
        let run = format!("{label} #{}", row.replication);
        let Some(golden_run) = recorded.remove(&(label.as_str(), row.replication)) else {
            moved.push(Moved {
                run,
                metric: "(run)".into(),
                recorded: None,
                now: Some(1.0),
                tolerance: Tolerance {
                    relative: None,
                    absolute: None,
                },
            });
            continue;
        };
        for column in &compared {
            let index = MEASURED_COLUMNS
                .iter()
                .position(|c| c.name == column.name)
                .unwrap_or_default();
            // As written: the golden file holds the summary's decimals.
            let now = row.values[index].and_then(|v| written(column, v).parse::<f64>().ok());
            let then = golden_run.values.get(column.name).copied();
            let tolerance = tolerance_of(column);
            let same = match (then, now) {
                (Some(a), Some(b)) => tolerance.allows(a, b),
                (None, None) => true,
                _ => false,
            };
            if !same {
                moved.push(Moved {
                    run: run.clone(),
                    metric: column.name.to_string(),
                    recorded: then,
                    now,
                    tolerance,
                });
            }
        }
    }
    for ((variant, replication), _) in recorded {
        moved.push(Moved {
            run: format!("{variant} #{replication}"),
            metric: "(run)".into(),
            recorded: Some(1.0),
            now: None,
            tolerance: Tolerance {
                relative: None,
                absolute: None,
            },
        });
    }
    if moved.is_empty() {
        Outcome::Matched {
            runs: rows.len(),
            metrics: compared.len(),
            new_metrics,
        }
    } else {
        Outcome::Moved(moved)
    }
}

/// How much a value moved: `+7.288 (+10.0%)`.
pub fn movement(moved: &Moved) -> String {
    match (moved.recorded, moved.now) {
        _ if moved.metric == "(run)" => {
            if moved.now.is_some() {
                "run now, not recorded".to_string()
            } else {
                "recorded, not run now".to_string()
            }
        }
        (Some(a), Some(b)) => {
            let delta = b - a;
            let sign = if delta < 0.0 { "−" } else { "+" };
            if a == 0.0 {
                format!("{sign}{}", number(delta.abs()))
            } else {
                format!(
                    "{sign}{} ({sign}{:.3}%)",
                    number(delta.abs()),
                    (delta / a).abs() * 100.0
                )
            }
        }
        (None, Some(_)) => "was empty".to_string(),
        (Some(_), None) => "now empty".to_string(),
        (None, None) => String::new(),
    }
}

/// One line, or a table of what moved, for the terminal.
pub fn render_outcome(golden: &Golden, scenario: &Scenario, outcome: &Outcome) -> String {
    let path = golden.path.display();
    match outcome {
        Outcome::Matched {
            runs,
            metrics,
            new_metrics,
        } => {
            let mut text =
                format!("golden {path}: PASS, {runs} run(s) × {metrics} metrics as recorded");
            if !new_metrics.is_empty() {
                text.push_str(&format!(
                    "; not recorded, so not compared: {} (bless again to record them)",
                    new_metrics.join(", ")
                ));
            }
            text.push('\n');
            text
        }
        Outcome::ScenarioChanged { recorded, now } => format!(
            "golden {path}: FAIL, {} changed since its results were recorded (hash \
             {recorded:016x}, now {now:016x}): not compared; `lbsim check --bless` records \
             them again\n",
            scenario.path.display()
        ),
        Outcome::NotComparable(why) => {
            format!("golden {path}: not compared, {why}\n")
        }
        Outcome::Moved(moved) => {
            let mut cells =
                vec![["run", "metric", "recorded", "now", "moved", "tolerance"].map(String::from)];
            let show = |x: Option<f64>| x.map_or("empty".to_string(), number);
            for m in moved {
                cells.push([
                    m.run.clone(),
                    m.metric.clone(),
                    show(m.recorded),
                    show(m.now),
                    movement(m),
                    m.tolerance.to_string(),
                ]);
            }
            format!(
                "golden {path}: FAIL, {} value(s) moved beyond tolerance\n{}",
                moved.len(),
                align(&cells)
            )
        }
    }
}

/// A one-paragraph account of what moved, for a JUnit failure message.
pub fn summary(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Moved(moved) => moved
            .iter()
            .map(|m| format!("{} {}: {}", m.run, m.metric, movement(m)))
            .collect::<Vec<_>>()
            .join("; "),
        Outcome::ScenarioChanged { .. } => {
            "the scenario changed since its results were recorded".to_string()
        }
        Outcome::NotComparable(why) => why.clone(),
        Outcome::Matched { .. } => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{charts_fixtures, summary_rows};

    #[test]
    fn a_recorded_run_reads_back_and_matches_itself() {
        let fixture = charts_fixtures::swept();
        let rows = summary_rows(&fixture.view());
        let kept = [(
            "p99_ms".to_string(),
            Tolerance {
                relative: Some(0.05),
                absolute: None,
            },
        )];
        let text = render(&fixture.scenario, &rows, &kept);
        let golden = parse(&text, Path::new("swept.golden.toml")).expect("it parses");
        assert_eq!(golden.tolerances, kept);
        assert_eq!(golden.runs.len(), rows.len());
        assert_eq!(golden.source_hash, fixture.scenario.source_hash);
        assert!(matches!(
            compare(&golden, &fixture.scenario, &rows),
            Outcome::Matched { runs, .. } if runs == rows.len()
        ));
        // Rendering again gives the same bytes.
        assert_eq!(render(&fixture.scenario, &rows, &golden.tolerances), text);
    }

    #[test]
    fn counts_are_exact_and_other_columns_move_within_a_millionth() {
        let column = |name: &str| MEASURED_COLUMNS.iter().find(|c| c.name == name).unwrap();
        let count = Tolerance::default_for(column("arrived"));
        assert!(count.allows(1000.0, 1000.0) && !count.allows(1000.0, 1001.0));
        let real = Tolerance::default_for(column("p99_ms"));
        assert!(real.allows(100.0, 100.00009) && !real.allows(100.0, 100.0002));
        let loose = Tolerance {
            relative: Some(0.1),
            absolute: Some(5.0),
        };
        // Either suffices: 10% of 100, or 5 in the unit.
        assert!(loose.allows(100.0, 110.0) && !loose.allows(100.0, 111.0));
        assert!(loose.allows(10.0, 15.0) && !loose.allows(10.0, 15.5));
        assert_eq!(count.to_string(), "exact");
        assert_eq!(loose.to_string(), "±0.1 relative or ±5");
        assert_eq!(real.to_string(), "±0.000001 relative");
    }

    #[test]
    fn golden_files_sit_beside_their_scenarios() {
        assert_eq!(
            path_for(Path::new("scenarios/foo.toml")),
            Path::new("scenarios/foo.golden.toml")
        );
        assert!(is_golden(Path::new("scenarios/foo.golden.toml")));
        assert!(!is_golden(Path::new("scenarios/foo.toml")));
    }
}
