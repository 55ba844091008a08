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
    let mut line = Vec::with_capacity(128);
    run.series.for_each(|row| {
        line.clear();
        line.extend_from_slice(&prefix);
        // Seconds with six decimals, from the exact nanoseconds (rounded half up).
        let nanos = row.time.as_nanos();
        let micros = nanos / 1_000 + u64::from(nanos % 1_000 >= 500);
        write!(line, "{}.{:06},", micros / 1_000_000, micros % 1_000_000)?;
        line.extend_from_slice(run.servers[row.server.index()].name.as_bytes());
        write!(line, ",{},{},", row.queue_length, row.busy_workers)?;
        push_fixed6(&mut line, row.utilization);
        write!(line, ",{}", row.completions)?;
        match row.latency_ms {
            Some(p) => {
                for value in [p.p50, p.p90, p.p99] {
                    line.push(b',');
                    push_fixed6(&mut line, value);
                }
            }
            None => line.extend_from_slice(b",,,"),
        }
        line.push(b'\n');
        out.write_all(&line)
    })
}

/// Appends `value` with six decimals, exactly as `{:.6}` would, but by integer arithmetic
/// where that is safe: float formatting with a precision is the costliest part of the
/// largest file lbsim writes. Safe means the scaled value fits an integer exactly and is
/// not within 10^-6 of a rounding tie, where the product's own rounding could tip it; those
/// few values take the exact path.
fn push_fixed6(line: &mut Vec<u8>, value: f64) {
    let product = value * 1e6;
    let scaled = product.round();
    let near_tie = ((product - product.trunc()) - 0.5).abs() < 1e-6;
    if value >= 0.0 && scaled < 9.0e15 && !near_tie {
        let scaled = scaled as u64;
        let _ = write!(line, "{}.{:06}", scaled / 1_000_000, scaled % 1_000_000);
    } else {
        let _ = write!(line, "{value:.6}");
    }
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
    fn six_decimals_by_integers_read_like_float_formatting() {
        let ties = [0.634_737_5, 0.000_000_5, 2.000_001_5];
        for value in [
            0.0,
            1.0,
            0.5,
            0.123_456_4,
            0.123_456_6,
            12.345_678_9,
            1e9 + 0.25,
            -2.5,
        ]
        .into_iter()
        .chain(ties)
        {
            let mut line = Vec::new();
            push_fixed6(&mut line, value);
            assert_eq!(
                String::from_utf8(line).unwrap(),
                format!("{value:.6}"),
                "{value}"
            );
        }
    }

    #[test]
    fn a_prefix_quotes_what_needs_quoting() {
        let prefix = record_prefix(&["s", "a=1,b=2", "0"]).unwrap();
        assert_eq!(prefix, b"s,\"a=1,b=2\",0,");
    }
}
