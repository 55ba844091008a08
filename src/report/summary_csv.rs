//! summary.csv: one row per variant and replication.
//!
//! Columns: the contract's fixed ones in its order (`scenario` … `utilization`), then one
//! per swept key, then lbsim's extras (`in_flight`, `wait_mean_ms`, `wait_p99_ms`,
//! `load_cv`, then one per figure). Names, values and formats all come from
//! `scenario::MEASURED_COLUMNS`, the list `[[expect]]` is validated against; a column that
//! does not apply to a run is an empty cell.

use super::fixed;
use super::summary::SummaryRow;
use crate::scenario::{
    IDENTITY_COLUMNS, MEASURED_COLUMNS, REQUIRED_COLUMNS, SUMMARY_METRICS, Scenario,
};

pub fn render(scenario: &Scenario, rows: &[SummaryRow]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let (contract, extras) = SUMMARY_METRICS.split_at(REQUIRED_COLUMNS);
    let header = contract
        .iter()
        .map(|s| s.to_string())
        .chain(scenario.swept_keys.iter().cloned())
        .chain(extras.iter().map(|s| s.to_string()));
    out.write_record(header).expect("writing to memory");
    // Where the swept keys go among the measured columns.
    let split = REQUIRED_COLUMNS - IDENTITY_COLUMNS.len();
    for row in rows {
        let variant = &scenario.variants[row.variant];
        let mut cells = MEASURED_COLUMNS
            .iter()
            .zip(&row.values)
            .map(|(column, value)| {
                value.map_or_else(String::new, |v| fixed(v, column.kind.decimals()))
            });
        let mut record = vec![
            scenario.name.clone(),
            variant.label.clone(),
            row.replication.to_string(),
            row.seed.to_string(),
        ];
        record.extend(cells.by_ref().take(split));
        record.extend(variant.values.iter().cloned());
        record.extend(cells);
        out.write_record(&record).expect("writing to memory");
    }
    out.into_inner().expect("writing to memory")
}
