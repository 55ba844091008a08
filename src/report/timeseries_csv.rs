//! timeseries.csv: per run, interval and server. `time_s` is the end of the interval the
//! row covers; `queue_length` and `busy_workers` are read at that instant; `utilization`,
//! `completions` and the latency percentiles cover the interval (percentiles are empty when
//! nothing completed). Unlike summary.csv it includes the warmup, to show it.

use std::io::{self, Write};

use super::{ScenarioResults, fixed};

pub const COLUMNS: [&str; 12] = [
    "scenario",
    "variant",
    "replication",
    "time_s",
    "server",
    "queue_length",
    "busy_workers",
    "utilization",
    "completions",
    "p50_ms",
    "p90_ms",
    "p99_ms",
];

/// Streams the rows of every run to `out`, reading spilled series back from disk.
pub fn write(results: &ScenarioResults<'_>, out: &mut dyn Write) -> io::Result<()> {
    let scenario = results.scenario;
    let mut csv = csv::Writer::from_writer(out);
    csv.write_record(COLUMNS)?;
    for (variant, runs) in scenario.variants.iter().zip(&results.runs) {
        for (replication, run) in runs.iter().enumerate() {
            let replication = replication.to_string();
            run.series.for_each(|row| {
                let (p50, p90, p99) = match row.latency_ms {
                    Some(p) => (fixed(p.p50, 6), fixed(p.p90, 6), fixed(p.p99, 6)),
                    None => Default::default(),
                };
                csv.write_record([
                    scenario.name.as_str(),
                    variant.label.as_str(),
                    &replication,
                    &fixed(row.time.as_secs_f64(), 6),
                    &run.servers[row.server.index()].name,
                    &row.queue_length.to_string(),
                    &row.busy_workers.to_string(),
                    &fixed(row.utilization, 6),
                    &row.completions.to_string(),
                    &p50,
                    &p90,
                    &p99,
                ])?;
                Ok(())
            })?;
        }
    }
    csv.flush()
}
