//! summary.csv: one row per variant and replication.
//!
//! Columns: the contract's fixed ones in its order (`scenario` … `utilization`), then one
//! per swept key, then lbsim's extras (`in_flight`, `wait_mean_ms`, `wait_p99_ms`). The
//! names come from `scenario::SUMMARY_METRICS`, the list `[[expect]]` is validated against.

use super::fixed;
use super::summary::SummaryRow;
use crate::scenario::{REQUIRED_COLUMNS, SUMMARY_METRICS, Scenario};

pub fn render(scenario: &Scenario, rows: &[SummaryRow]) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let (contract, extras) = SUMMARY_METRICS.split_at(REQUIRED_COLUMNS);
    let header = contract
        .iter()
        .map(|s| s.to_string())
        .chain(scenario.swept_keys.iter().cloned())
        .chain(extras.iter().map(|s| s.to_string()));
    out.write_record(header).expect("writing to memory");
    for row in rows {
        let variant = &scenario.variants[row.variant];
        let c = &row.counts;
        let mut record = vec![
            scenario.name.clone(),
            variant.label.clone(),
            row.replication.to_string(),
            row.seed.to_string(),
            c.arrived.to_string(),
            c.completed.to_string(),
            c.rejected.to_string(),
            c.failed.to_string(),
            fixed(row.mean_ms, 6),
            fixed(row.p50_ms, 6),
            fixed(row.p90_ms, 6),
            fixed(row.p99_ms, 6),
            fixed(row.p999_ms, 6),
            fixed(row.max_ms, 6),
            fixed(row.throughput_rps, 3),
            fixed(row.utilization, 6),
        ];
        record.extend(variant.values.iter().cloned());
        record.extend([
            c.in_flight.to_string(),
            fixed(row.wait_mean_ms, 6),
            fixed(row.wait_p99_ms, 6),
        ]);
        out.write_record(&record).expect("writing to memory");
    }
    out.into_inner().expect("writing to memory")
}
