//! timeseries.csv: per run, interval and server. `time_s` is the end of the interval the
//! row covers; `queue_length` and `busy_workers` are read at that instant; `utilization`,
//! `completions` and the latency percentiles cover the interval (percentiles are empty when
//! nothing completed). Unlike summary.csv it includes the warmup, to show it.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use rayon::prelude::*;

use super::ScenarioResults;
use crate::scenario::Variant;
use crate::stats::RunResult;

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

/// Writes the rows of every run to `out`, reading spilled series back from disk.
///
/// The largest file lbsim writes. Each run's rows are formatted on the rayon pool into a
/// temporary file of their own, then the parts are copied to `out` in run order: parallel,
/// yet the memory held is a buffer per run, however long the series. Rows are formatted
/// straight into the buffered writer, with no allocation per field; the fields that could
/// need CSV quoting (scenario and variant) are quoted once per run by the csv crate.
pub fn write(results: &ScenarioResults<'_>, out: &mut dyn Write) -> io::Result<()> {
    let scenario = results.scenario;
    let runs: Vec<(&Variant, usize, &RunResult)> = scenario
        .variants
        .iter()
        .zip(&results.runs)
        .flat_map(|(variant, runs)| {
            runs.iter()
                .enumerate()
                .map(move |(replication, run)| (variant, replication, run))
        })
        .collect();
    let parts = runs
        .par_iter()
        .map(|&(variant, replication, run)| {
            let mut part = BufWriter::new(tempfile::tempfile()?);
            write_run(&scenario.name, variant, replication, run, &mut part)?;
            let mut file = part.into_inner().map_err(io::IntoInnerError::into_error)?;
            file.seek(SeekFrom::Start(0))?;
            Ok(file)
        })
        .collect::<io::Result<Vec<File>>>()?;
    writeln!(out, "{}", COLUMNS.join(","))?;
    for mut part in parts {
        io::copy(&mut part, out)?;
    }
    Ok(())
}

/// The rows of one run.
fn write_run(
    scenario: &str,
    variant: &Variant,
    replication: usize,
    run: &RunResult,
    out: &mut impl Write,
) -> io::Result<()> {
    let prefix = record_prefix(&[scenario, &variant.label, &replication.to_string()])?;
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
    })
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
