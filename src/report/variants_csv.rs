//! variants.csv: one row per variant, each metric as the mean over replications and the
//! half-width of its 95% confidence interval (Student's t; 0 with one replication).

use super::fixed;
use super::summary::{COUNT_COLUMNS, METRIC_COLUMNS, SummaryRow};
use crate::scenario::Scenario;
use crate::stats::confidence_interval;

pub fn render(scenario: &Scenario, rows: &[SummaryRow]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "scenario".to_string(),
        "variant".into(),
        "replications".into(),
    ];
    let names = COUNT_COLUMNS
        .iter()
        .map(|&name| (name, 3))
        .chain(METRIC_COLUMNS.iter().copied());
    for (name, _) in names.clone() {
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
        for (name, decimals) in names.clone() {
            let samples: Vec<f64> = runs.iter().filter_map(|r| r.metric(name)).collect();
            let ci = confidence_interval(&samples);
            record.push(fixed(ci.mean, decimals));
            record.push(fixed(ci.half_width, decimals));
        }
        record.extend(variant.values.iter().cloned());
        out.write_record(&record).expect("writing to memory");
    }
    out.into_inner().expect("writing to memory")
}
