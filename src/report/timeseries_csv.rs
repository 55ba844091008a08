//! timeseries.csv: per run and interval, a row per server, a row per database node when
//! the run has a data tier, and one for the whole cluster (server `cluster`, last). `time_s`
//! is the end of the interval the row covers; `queue_length`, `busy_workers`, `in_flight`,
//! `state` and `health` are read at that instant; `utilization`, `completions`,
//! `arrivals`, `rejected`, `failed` and the latency percentiles cover the interval
//! (percentiles are empty when nothing completed). The cluster row's counts include the
//! requests that reached no server, so over each interval its `arrivals = completions +
//! rejected + failed + Δ in_flight`; it counts requests, and a database node's row counts
//! queries (see `model::database::series`), so the node rows add nothing to it. Unlike
//! summary.csv it includes the warmup, to show it. The cluster row alone has
//! `instances_provisioning`, `instances_ready`, `instances_draining` (servers launched and
//! not yet serving, serving, finishing what they hold, at the interval's end) and
//! `capacity_rps` (requests per second the ready servers can answer at the mean work of a
//! request); the other rows leave them empty.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};

use rayon::prelude::*;

use super::ScenarioResults;
use crate::engine::SimTime;
use crate::scenario::Variant;
use crate::stats::{Instances, IntervalCounts, Percentiles, RunResult, SeriesRow};

pub const COLUMNS: [&str; 22] = [
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
    "arrivals",
    "rejected",
    "failed",
    "in_flight",
    "state",
    "health",
    "instances_provisioning",
    "instances_ready",
    "instances_draining",
    "capacity_rps",
];

/// The `server` of the row that totals an interval over the cluster. No instance has this
/// name: an instance's is `<group>-<index>`.
pub const CLUSTER: &str = "cluster";

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

/// The rows of one run: each interval's server rows, its database nodes' rows, then its
/// cluster row.
fn write_run(
    scenario: &str,
    variant: &Variant,
    replication: usize,
    run: &RunResult,
    out: &mut impl Write,
) -> io::Result<()> {
    let prefix = record_prefix(&[scenario, &variant.label, &replication.to_string()])?;
    let mut line = Vec::with_capacity(160);
    // One record per interval, not per server: small enough to hold while the server rows
    // stream past.
    let mut intervals = Vec::with_capacity(run.intervals.len() as usize);
    run.intervals.for_each(|total| {
        intervals.push(*total);
        Ok(())
    })?;
    let mut totals = intervals.into_iter().peekable();
    // The nodes' rows, read alongside: those of an interval go just before its cluster row.
    let mut nodes = run.database_series.iter()?;
    let mut next_node = nodes.next().transpose()?;
    let mut flush_totals_before = |time: Option<SimTime>, out: &mut dyn Write| {
        let mut line = Vec::with_capacity(160);
        while let Some(total) = totals.next_if(|t| time.is_none_or(|time| t.time < time)) {
            while let Some(node) = next_node.filter(|node| node.time <= total.time) {
                line.clear();
                line.extend_from_slice(&prefix);
                Row::of(&node, &run.database[node.server.index()].name).write(&mut line)?;
                out.write_all(&line)?;
                next_node = nodes.next().transpose()?;
            }
            line.clear();
            line.extend_from_slice(&prefix);
            let row = Row {
                time: total.time,
                server: CLUSTER,
                queue_length: total.queue_length,
                busy_workers: total.busy_workers,
                utilization: total.utilization,
                completions: total.completions,
                latency_ms: total.latency_ms,
                counts: total.counts,
                in_flight: total.in_flight,
                state: "",
                health: "",
                instances: Some((total.instances, total.capacity)),
            };
            row.write(&mut line)?;
            out.write_all(&line)?;
        }
        Ok::<(), io::Error>(())
    };
    run.series.for_each(|row| {
        flush_totals_before(Some(row.time), out)?;
        line.clear();
        line.extend_from_slice(&prefix);
        Row::of(row, &run.servers[row.server.index()].name).write(&mut line)?;
        out.write_all(&line)
    })?;
    flush_totals_before(None, out)
}

/// The fields of a row after the run's prefix, server or cluster alike.
struct Row<'a> {
    time: SimTime,
    server: &'a str,
    queue_length: u32,
    busy_workers: u32,
    utilization: f64,
    completions: u32,
    latency_ms: Option<Percentiles>,
    counts: IntervalCounts,
    in_flight: u32,
    state: &'a str,
    health: &'a str,
    /// The cluster row's servers in each stage of their life and the requests per second
    /// the ready ones can answer; empty on a server's row.
    instances: Option<(Instances, f64)>,
}

impl<'a> Row<'a> {
    /// The row of a server or a database node, named `server`.
    fn of(row: &'a SeriesRow, server: &'a str) -> Self {
        Row {
            time: row.time,
            server,
            queue_length: row.queue_length,
            busy_workers: row.busy_workers,
            utilization: row.utilization,
            completions: row.completions,
            latency_ms: row.latency_ms,
            counts: row.counts,
            in_flight: row.in_flight,
            state: row.state,
            health: row.health,
            instances: None,
        }
    }

    fn write(&self, line: &mut Vec<u8>) -> io::Result<()> {
        // Seconds with six decimals, from the exact nanoseconds (rounded half up).
        let nanos = self.time.as_nanos();
        let micros = nanos / 1_000 + u64::from(nanos % 1_000 >= 500);
        write!(line, "{}.{:06},", micros / 1_000_000, micros % 1_000_000)?;
        line.extend_from_slice(self.server.as_bytes());
        write!(line, ",{},{},", self.queue_length, self.busy_workers)?;
        push_fixed6(line, self.utilization);
        write!(line, ",{}", self.completions)?;
        match self.latency_ms {
            Some(p) => {
                for value in [p.p50, p.p90, p.p99] {
                    line.push(b',');
                    push_fixed6(line, value);
                }
            }
            None => line.extend_from_slice(b",,,"),
        }
        let counts = self.counts;
        write!(
            line,
            ",{},{},{},{},{},{}",
            counts.arrivals,
            counts.rejected,
            counts.failed,
            self.in_flight,
            self.state,
            self.health
        )?;
        match self.instances {
            Some((instances, capacity)) => {
                write!(
                    line,
                    ",{},{},{},",
                    instances.provisioning, instances.ready, instances.draining
                )?;
                push_fixed6(line, capacity);
                writeln!(line)
            }
            None => writeln!(line, ",,,,"),
        }
    }
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
