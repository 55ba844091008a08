//! variants.csv: one row per variant, each measured column of summary.csv as the mean over
//! replications and the half-width of its 95% confidence interval (Student's t; 0 with one
//! replication).
//!
//! Column order: summary.csv's fixed measured columns, counts first, then one pair per
//! figure, so that a new figure adds columns at the end. A column that does not apply to
//! some replications is averaged over those it applies to, and left empty when it applies
//! to none.

use super::fixed;
use super::summary::SummaryRow;
use crate::scenario::{COLUMNS, MEASURED_COLUMNS, Scenario};
use crate::stats::{Kind, confidence_interval};

/// Positions in `MEASURED_COLUMNS`, in variants.csv order.
fn order() -> impl Iterator<Item = usize> + Clone {
    let is_count = |&i: &usize| MEASURED_COLUMNS[i].kind == Kind::Count;
    let counts = (0..COLUMNS.len()).filter(is_count);
    let others = (0..COLUMNS.len()).filter(move |i| !is_count(i));
    counts
        .chain(others)
        .chain(COLUMNS.len()..MEASURED_COLUMNS.len())
}

pub fn render(scenario: &Scenario, rows: &[SummaryRow]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "scenario".to_string(),
        "variant".into(),
        "replications".into(),
    ];
    for i in order() {
        let name = MEASURED_COLUMNS[i].name;
        header.push(format!("{name}_mean"));
        header.push(format!("{name}_ci95"));
    }
    header.extend(scenario.swept_keys.iter().cloned());
    out.write_record(&header).expect("writing to memory");

    for (index, variant) in scenario.variants.iter().enumerate() {
        let runs: Vec<&SummaryRow> = rows.iter().filter(|r| r.variant == index).collect();
        let mut record = vec![
            scenario.name.clone(),
            variant.label.clone(),
            runs.len().to_string(),
        ];
        for i in order() {
            let samples: Vec<f64> = runs.iter().filter_map(|r| r.values[i]).collect();
            if samples.is_empty() {
                record.extend([String::new(), String::new()]);
                continue;
            }
            let ci = confidence_interval(&samples);
            let decimals = MEASURED_COLUMNS[i].kind.mean_decimals();
            record.push(fixed(ci.mean, decimals));
            record.push(fixed(ci.half_width, decimals));
        }
        record.extend(variant.values.iter().cloned());
        out.write_record(&record).expect("writing to memory");
    }
    out.into_inner().expect("writing to memory")
}
