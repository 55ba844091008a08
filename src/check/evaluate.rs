//! Each expectation against a scenario's summary rows: which variants it concerns, their
//! baselines, and the verdict on each replication, on the mean or on the confidence
//! interval.
//!
//! Every bound is one linear condition per side, `value − k × baseline ≥ c` (or `≤ c`):
//! a plain bound has k = 0, a ratio bound c = 0 (`max_ratio = 0.8`: value − 0.8 × baseline
//! ≤ 0), a difference bound k = 1. Judged on the confidence interval, the condition is
//! tested on the interval of the mean of the paired quantities `x_r − k × b_r`, replication
//! `r` of the variant with replication `r` of its baseline: they ran on the same seed and
//! saw the same requests (common random numbers), so pairing removes the noise the two
//! share, and no ratio of noisy means is needed.

use std::collections::BTreeMap;

use super::CheckLine;
use crate::report::SummaryRow;
use crate::scenario::{Bound, Expectation, Judged, Scenario};
use crate::stats::confidence_interval;

/// One side of a bound: `value − k × baseline` at least (`lower`) or at most `c`.
#[derive(Copy, Clone, Debug, PartialEq)]
struct Condition {
    k: f64,
    lower: bool,
    c: f64,
}

impl Condition {
    fn holds(&self, q: f64) -> bool {
        if self.lower { q >= self.c } else { q <= self.c }
    }
}

fn conditions(bound: &Bound) -> Vec<Condition> {
    // Each bound value v becomes (k, c): plain (0, v), ratio (v, 0), difference (1, v).
    let (min, max) = match bound {
        Bound::Value { min, max }
        | Bound::Ratio { min, max, .. }
        | Bound::Difference { min, max, .. } => (*min, *max),
    };
    let side = |value: f64, lower: bool| {
        let (k, c) = match bound {
            Bound::Value { .. } => (0.0, value),
            Bound::Ratio { .. } => (value, 0.0),
            Bound::Difference { .. } => (1.0, value),
        };
        Condition { k, lower, c }
    };
    min.map(|v| side(v, true))
        .into_iter()
        .chain(max.map(|v| side(v, false)))
        .collect()
}

/// The baseline filter of a comparison.
fn baseline_of(bound: &Bound) -> Option<&[(String, String)]> {
    match bound {
        Bound::Value { .. } => None,
        Bound::Ratio { baseline, .. } | Bound::Difference { baseline, .. } => Some(baseline),
    }
}

/// Checks every expectation of `scenario` against `rows` (variant order, then
/// replication order, as `summary_rows` gives them).
pub fn evaluate(scenario: &Scenario, rows: &[SummaryRow]) -> Vec<CheckLine> {
    let mut runs: Vec<Vec<&SummaryRow>> = vec![Vec::new(); scenario.variants.len()];
    for row in rows {
        runs[row.variant].push(row);
    }
    let by_values: BTreeMap<&[String], usize> = scenario
        .variants
        .iter()
        .enumerate()
        .map(|(i, v)| (v.values.as_slice(), i))
        .collect();
    let key_index = |key: &str| scenario.swept_keys.iter().position(|k| k == key);

    let mut lines = Vec::new();
    for (index, expectation) in scenario.expectations.iter().enumerate() {
        for (v, variant) in scenario.variants.iter().enumerate() {
            let matches = expectation
                .filter
                .iter()
                .all(|(key, value)| key_index(key).is_some_and(|i| &variant.values[i] == value));
            if !matches {
                continue;
            }
            let baseline = baseline_of(&expectation.bound).map(|replaced| {
                let mut values = variant.values.clone();
                for (key, value) in replaced {
                    if let Some(i) = key_index(key) {
                        values[i] = value.clone();
                    }
                }
                by_values.get(values.as_slice()).copied()
            });
            let subject = Subject {
                scenario,
                expectation,
                index,
                variant: v,
                baseline,
            };
            subject.judge(&runs, &mut lines);
        }
    }
    lines
}

/// One expectation applied to one variant.
struct Subject<'a> {
    scenario: &'a Scenario,
    expectation: &'a Expectation,
    index: usize,
    variant: usize,
    /// `None` for a plain bound; `Some(None)` when the baseline variant does not exist.
    baseline: Option<Option<usize>>,
}

impl Subject<'_> {
    fn value(&self, variant: usize, row: &SummaryRow) -> Option<f64> {
        let metric = &self.expectation.metric;
        row.metric(metric).or_else(|| {
            let key = self.scenario.swept_keys.iter().position(|k| k == metric)?;
            self.scenario.variants[variant].values[key].parse().ok()
        })
    }

    fn label(&self, variant: usize) -> &str {
        &self.scenario.variants[variant].label
    }

    fn judge(&self, runs: &[Vec<&SummaryRow>], lines: &mut Vec<CheckLine>) {
        let conditions = conditions(&self.expectation.bound);
        let own = &runs[self.variant];
        let baseline = match self.baseline {
            None => None,
            Some(Some(b)) => Some(b),
            Some(None) => {
                lines.push(self.line(
                    self.label(self.variant).to_string(),
                    "no baseline variant".into(),
                    false,
                ));
                return;
            }
        };
        // (x, b) per replication; b is 0 for a plain bound (k = 0 there).
        let pairs: Vec<(u32, Option<(f64, f64)>)> = own
            .iter()
            .enumerate()
            .map(|(r, row)| {
                let x = self.value(self.variant, row);
                let b = match baseline {
                    None => Some(0.0),
                    Some(b) => runs[b].get(r).and_then(|brow| self.value(b, brow)),
                };
                (row.replication, x.zip(b))
            })
            .collect();
        let names = |suffix: &str| match baseline {
            None => format!("{}{suffix}", self.label(self.variant)),
            Some(b) => format!(
                "{}{suffix} vs {}{suffix}",
                self.label(self.variant),
                self.label(b)
            ),
        };
        match self.expectation.judged {
            Judged::Each => {
                for (replication, pair) in &pairs {
                    let variant = names(&format!(" #{replication}"));
                    let line = match pair {
                        None => self.line(variant, "n/a".into(), false),
                        Some((x, b)) => {
                            let passed = conditions.iter().all(|c| c.holds(x - c.k * b));
                            let measured = self.measured(*x, *b, baseline.is_some());
                            self.line(variant, measured, passed)
                        }
                    };
                    lines.push(line);
                }
            }
            Judged::Mean | Judged::Interval => {
                let known: Vec<(f64, f64)> = pairs.iter().filter_map(|(_, p)| *p).collect();
                let n = known.len();
                let variant = names(&format!(" ({} runs)", own.len()));
                if n == 0 {
                    lines.push(self.line(variant, "n/a".into(), false));
                    return;
                }
                let mean_x = known.iter().map(|p| p.0).sum::<f64>() / n as f64;
                let mean_b = known.iter().map(|p| p.1).sum::<f64>() / n as f64;
                let mut measured = self.measured(mean_x, mean_b, baseline.is_some());
                let passed = if self.expectation.judged == Judged::Mean {
                    conditions.iter().all(|c| c.holds(mean_x - c.k * mean_b))
                } else if n < 2 {
                    measured.push_str("; a confidence interval needs 2 runs or more");
                    false
                } else {
                    let mut passed = true;
                    let mut shown: Vec<f64> = Vec::new();
                    for c in &conditions {
                        let q: Vec<f64> = known.iter().map(|(x, b)| x - c.k * b).collect();
                        let ci = confidence_interval(&q);
                        let end = if c.lower {
                            ci.mean - ci.half_width
                        } else {
                            ci.mean + ci.half_width
                        };
                        passed &= c.holds(end);
                        // A plain bound's two sides share one interval: show it once.
                        if !shown.contains(&c.k) {
                            shown.push(c.k);
                            measured.push_str(&interval_text(c.k, baseline.is_some(), ci));
                        }
                    }
                    passed
                };
                lines.push(self.line(variant, measured, passed));
            }
        }
    }

    /// The value, or both values and how they compare.
    fn measured(&self, x: f64, b: f64, compared: bool) -> String {
        if !compared {
            return number(x);
        }
        match self.expectation.bound {
            Bound::Ratio { .. } if b != 0.0 => {
                format!("{} vs {} ({}×)", number(x), number(b), number(x / b))
            }
            Bound::Difference { .. } => {
                format!("{} vs {} ({:+})", number(x), number(b), Signed(x - b))
            }
            _ => format!("{} vs {}", number(x), number(b)),
        }
    }

    fn line(&self, variant: String, measured: String, passed: bool) -> CheckLine {
        CheckLine {
            expectation: self.index,
            variant,
            measured,
            passed,
        }
    }
}

/// ` ± h` after a plain mean, or the interval of the paired quantity of a comparison.
fn interval_text(k: f64, compared: bool, ci: crate::stats::ConfidenceInterval) -> String {
    if !compared {
        return format!(" ± {}", number(ci.half_width));
    }
    let quantity = if k == 1.0 {
        "x − baseline".to_string()
    } else {
        format!("x − {k} × baseline")
    };
    format!(
        "; {quantity}: {} ± {}",
        Signed(ci.mean),
        number(ci.half_width)
    )
}

/// A number as the check table shows it: whole numbers without decimals, others with
/// three.
pub fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.3}")
    }
}

/// A number with its sign, `+1.5` or `−1.5`.
struct Signed(f64);

impl std::fmt::Display for Signed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = number(self.0.abs());
        if self.0 < 0.0 {
            write!(f, "−{text}")
        } else if f.sign_plus() {
            write!(f, "+{text}")
        } else {
            f.write_str(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_bound_is_one_linear_condition_per_side() {
        let ratio = Bound::Ratio {
            baseline: Vec::new(),
            min: Some(0.5),
            max: Some(0.8),
        };
        assert_eq!(
            conditions(&ratio),
            [
                Condition {
                    k: 0.5,
                    lower: true,
                    c: 0.0
                },
                Condition {
                    k: 0.8,
                    lower: false,
                    c: 0.0
                }
            ]
        );
        // 70 ≤ 0.8 × 100 holds, 90 does not; 40 is below 0.5 × 100.
        let holds = |x: f64, b: f64| conditions(&ratio).iter().all(|c| c.holds(x - c.k * b));
        assert!(holds(70.0, 100.0) && !holds(90.0, 100.0) && !holds(40.0, 100.0));
        let difference = Bound::Difference {
            baseline: Vec::new(),
            min: None,
            max: Some(0.0),
        };
        let never_more =
            |x: f64, b: f64| conditions(&difference).iter().all(|c| c.holds(x - c.k * b));
        assert!(never_more(3.0, 3.0) && !never_more(4.0, 3.0));
        let value = Bound::Value {
            min: Some(45.0),
            max: None,
        };
        assert_eq!(
            conditions(&value),
            [Condition {
                k: 0.0,
                lower: true,
                c: 45.0
            }]
        );
    }

    #[test]
    fn numbers_show_whole_values_bare_and_others_with_three_decimals() {
        assert_eq!(number(2600.0), "2600");
        assert_eq!(number(49.0213), "49.021");
        assert_eq!(format!("{:+}", Signed(-1.5)), "−1.500");
        assert_eq!(format!("{:+}", Signed(2.0)), "+2");
    }
}
