//! `lbsim check`: evaluates a scenario's `[[expect]]` bounds against its summary rows,
//! compares its summary with its golden results, prints the verdicts as a table and, on
//! request, as JUnit XML for CI.
//!
//! By default every run (each variant the `where` filter matches, each replication) must
//! satisfy the bound: a regression test should fail when any replication regresses, not
//! only on average. An expectation may judge the mean over replications instead, or the
//! whole confidence interval of that mean (evaluate.rs).

mod evaluate;
pub mod golden;
pub mod junit;
mod table;

pub use evaluate::{evaluate, number};
pub use table::{render_nothing_checked, render_table};

use crate::scenario::{Bound, Expectation, Judged};

/// One verdict: an expectation applied to one variant, and to one replication of it when
/// each is judged on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckLine {
    /// Its index in the scenario's `expectations`.
    pub expectation: usize,
    /// The variant's label, `#r` for one replication, `vs` its baseline's for a comparison.
    pub variant: String,
    /// What was measured, as shown: the value, both values of a comparison, a mean with
    /// its interval.
    pub measured: String,
    pub passed: bool,
}

/// What an expectation bounds, as the table's first column says it: `p99_ms`,
/// `mean p99_ms`, `95% CI of p99_ms`.
pub fn describe(expectation: &Expectation) -> String {
    let metric = &expectation.metric;
    match expectation.judged {
        Judged::Each => metric.clone(),
        Judged::Mean => format!("mean {metric}"),
        Judged::Interval => format!("95% CI of {metric}"),
    }
}

/// The bound as written: `≤ 250`, `45 ≤ x ≤ 55`, `≤ 0.8 × baseline`, `≥ baseline + 2`.
pub fn bound_text(bound: &Bound) -> String {
    // The shortest form that reads back as the same number: as the file wrote it.
    let show = |x: f64| format!("{x}");
    let (min, max) = match bound {
        Bound::Value { min, max } => (min.map(show), max.map(show)),
        Bound::Ratio { min, max, .. } => (
            min.map(|k| format!("{} × baseline", show(k))),
            max.map(|k| format!("{} × baseline", show(k))),
        ),
        Bound::Difference { min, max, .. } => {
            let offset = |d: f64| match d {
                0.0 => "baseline".to_string(),
                d if d < 0.0 => format!("baseline − {}", show(-d)),
                d => format!("baseline + {}", show(d)),
            };
            (min.map(offset), max.map(offset))
        }
    };
    match (min, max) {
        (Some(min), Some(max)) => format!("{min} ≤ x ≤ {max}"),
        (Some(min), None) => format!("≥ {min}"),
        (None, Some(max)) => format!("≤ {max}"),
        (None, None) => "any".to_string(),
    }
}

/// The expectation in one line, for a JUnit test case's name:
/// `p99_ms ≤ 250 where balancer.algorithm=least-connections`.
pub fn title(expectation: &Expectation) -> String {
    let mut title = format!(
        "{} {}",
        describe(expectation),
        bound_text(&expectation.bound)
    );
    let filter = |pairs: &[(String, String)]| {
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(",")
    };
    if !expectation.filter.is_empty() {
        title.push_str(&format!(" where {}", filter(&expectation.filter)));
    }
    if let Bound::Ratio { baseline, .. } | Bound::Difference { baseline, .. } = &expectation.bound {
        title.push_str(&format!(", baseline {}", filter(baseline)));
    }
    title
}
