//! timeseries.csv: per run, interval and server. `time_s` is the end of the interval the
//! row covers; `queue_length` and `busy_workers` are read at that instant; `utilization`,
//! `completions` and the latency percentiles cover the interval (percentiles are empty when
//! nothing completed). Unlike summary.csv it includes the warmup, to show it.

use std::io::{self, Write};

use super::ScenarioResults;

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
///
/// The largest file lbsim writes, so rows are formatted straight into the buffered writer,
/// with no allocation per field; the fields that could need CSV quoting (scenario and
/// variant) are quoted once per run by the csv crate and reused.
pub fn write(results: &ScenarioResults<'_>, out: &mut dyn Write) -> io::Result<()> {
    let scenario = results.scenario;
    writeln!(out, "{}", COLUMNS.join(","))?;
    for (variant, runs) in scenario.variants.iter().zip(&results.runs) {
        for (replication, run) in runs.iter().enumerate() {
            let prefix = record_prefix(&[
                scenario.name.as_str(),
                variant.label.as_str(),
                &replication.to_string(),
            ])?;
            run.series.for_each(|row| {
                out.write_all(&prefix)?;
                write!(
                    out,
                    "{:.6},{},{},{},{:.6},{},",
                    row.time.as_secs_f64(),
                    run.servers[row.server.index()].name,
                    row.queue_length,
                    row.busy_workers,
                    row.utilization,
                    row.completions,
                )?;
                match row.latency_ms {
                    Some(p) => writeln!(out, "{:.6},{:.6},{:.6}", p.p50, p.p90, p.p99),
                    None => writeln!(out, ",,"),
                }
            })?;
        }
    }
    Ok(())
}

/// `fields`, CSV-quoted where needed, each followed by a comma.
fn record_prefix(fields: &[&str]) -> io::Result<Vec<u8>> {
    let mut csv = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b','))
        .from_writer(Vec::new());
    csv.write_record(fields)?;
    csv.into_inner().map_err(|e| e.into_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_quotes_what_needs_quoting() {
        let prefix = record_prefix(&["s", "a=1,b=2", "0"]).unwrap();
        assert_eq!(prefix, b"s,\"a=1,b=2\",0,");
    }
}
