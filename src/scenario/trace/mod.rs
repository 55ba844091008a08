//! Trace files: a recorded trace read into the model's [`Trace`], once per scenario.
//!
//! One file per format (`csv_trace.rs`, `access_log.rs`) turns a line into a [`Record`];
//! this file reads the lines, collects what is wrong with them, and orders the records:
//! - **Order.** Lines out of time order (common in logs, which are written when requests
//!   end) are sorted stably by timestamp: requests at the same instant keep their file
//!   order, so a replay is deterministic whatever order the file is in.
//! - **Resolution.** An access log's dates have whole-second resolution. Replaying each
//!   second's requests at the same instant would invent bursts the real traffic never had,
//!   so the `n` requests logged in one second are spread evenly over it, in file order: the
//!   `k`-th at `k/n` s after the second (rounded down to the nanosecond). Per-second counts
//!   are kept exactly; that is all such a log knows. CSV timestamps are used as written.
//! - **Malformed lines** are collected with their line, column and reason; whether they
//!   are skipped or fail the scenario is `on_error`'s business (validation's).
//!
//! Memory is proportional to the number of requests, not to the file's size: lines are read
//! one at a time (at most 64 KiB each). Reading holds each request twice for a moment
//! (as a record, then in the trace), some 90 bytes per request at the peak.

mod access_log;
mod address;
mod csv_trace;
mod timestamp;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::engine::SimDuration;
use crate::id::ClientAddr;
use crate::model::{Trace, TraceRequest};
use csv_trace::CsvTrace;

/// The names `workload.trace.format` accepts, in [`TraceFormat`] order.
pub const FORMATS: &[&str] = &["csv", "access-log"];

/// The most malformed lines listed one by one (the rest are counted).
pub const MAX_LISTED: usize = 20;

/// The most requests a trace may hold, so that a runaway file is an error rather than an
/// out-of-memory abort: 50 million requests take about 2 GB.
pub const MAX_REQUESTS: usize = 50_000_000;

/// The longest line read; a longer one is malformed (and read no further).
const MAX_LINE_BYTES: usize = 64 * 1024;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// How a trace file is written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    Csv,
    AccessLog,
}

impl TraceFormat {
    pub fn from_name(name: &str) -> Option<TraceFormat> {
        match name {
            "csv" => Some(TraceFormat::Csv),
            "access-log" => Some(TraceFormat::AccessLog),
            _ => None,
        }
    }
}

/// One request as read from its line: `time` in nanoseconds from the trace's own origin.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub time: i128,
    pub client: ClientAddr,
    pub session: Option<u64>,
    pub work: Option<SimDuration>,
    pub line: usize,
}

/// What is wrong with a line: where (1-based line and character column), in which field
/// (`""` for the line as a whole), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineProblem {
    pub line: usize,
    pub col: usize,
    pub field: &'static str,
    pub message: String,
}

/// What reading a trace file found.
#[derive(Debug)]
pub struct TraceFile {
    /// The requests; `None` when no line held one.
    pub trace: Option<Trace>,
    /// Problems that make the file unusable whatever `on_error` says (its header, its
    /// size, its span).
    pub fatal: Vec<LineProblem>,
    /// Malformed lines, the first [`MAX_LISTED`] of them.
    pub malformed: Vec<LineProblem>,
    /// How many lines were malformed in all.
    pub malformed_count: u64,
    /// The first line whose request carries no work of its own.
    pub first_without_work: Option<usize>,
}

/// Reads the trace at `path`, written in `format`. Only a failure to read the file is an
/// `Err`; everything wrong inside it is reported in the [`TraceFile`].
pub fn read(path: &Path, format: TraceFormat) -> std::io::Result<TraceFile> {
    let mut reader = BufReader::new(File::open(path)?);
    let mut file = TraceFile {
        trace: None,
        fatal: Vec::new(),
        malformed: Vec::new(),
        malformed_count: 0,
        first_without_work: None,
    };
    let mut csv: Option<CsvTrace> = None;
    let mut records = Vec::new();
    let mut buffer = Vec::new();
    let mut line = 0;
    loop {
        buffer.clear();
        let limit = MAX_LINE_BYTES as u64 + 1;
        if (&mut reader).take(limit).read_until(b'\n', &mut buffer)? == 0 {
            break;
        }
        line += 1;
        if buffer.last() != Some(&b'\n') && buffer.len() > MAX_LINE_BYTES {
            skip_rest_of_line(&mut reader)?;
            let message = format!("the line is longer than {} KiB", MAX_LINE_BYTES / 1024);
            malformed(&mut file, whole_line(line, message));
            continue;
        }
        let mut bytes = buffer.as_slice();
        bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        if line == 1 {
            bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
        }
        let Ok(text) = std::str::from_utf8(bytes) else {
            malformed(
                &mut file,
                whole_line(line, "the line is not valid UTF-8".into()),
            );
            continue;
        };
        if text.trim().is_empty() {
            continue;
        }
        let record = match (format, &mut csv) {
            (TraceFormat::AccessLog, _) => access_log::parse_line(text, line),
            (TraceFormat::Csv, Some(reader)) => reader.record(text, line),
            (TraceFormat::Csv, None) => {
                match CsvTrace::from_header(text, line) {
                    Ok(header) => csv = Some(header),
                    Err(problems) => {
                        file.fatal = problems;
                        return Ok(file);
                    }
                }
                continue;
            }
        };
        match record {
            Ok(record) => {
                if records.len() == MAX_REQUESTS {
                    file.fatal.push(whole_line(
                        line,
                        format!(
                            "the trace holds more than {MAX_REQUESTS} requests, the most lbsim \
                             keeps in memory"
                        ),
                    ));
                    return Ok(file);
                }
                records.push(record);
            }
            Err(problem) => malformed(&mut file, problem),
        }
    }
    if format == TraceFormat::Csv && csv.is_none() {
        file.fatal.push(whole_line(
            1,
            "the file is empty: expected a header row like timestamp,client,service_ms".into(),
        ));
        return Ok(file);
    }

    records.sort_by_key(|r| r.time);
    if format == TraceFormat::AccessLog {
        spread_within_seconds(&mut records);
    }
    file.first_without_work = records
        .iter()
        .filter(|r| r.work.is_none())
        .map(|r| r.line)
        .min();
    let origin = records.first().map_or(0, |r| r.time);
    let mut requests = Vec::with_capacity(records.len());
    for record in records {
        let Some(at) = record
            .time
            .checked_sub(origin)
            .and_then(|offset| u64::try_from(offset).ok())
        else {
            file.fatal.push(whole_line(
                record.line,
                "this request is more than 584 years after the trace's first: timestamps \
                 must share one origin"
                    .into(),
            ));
            return Ok(file);
        };
        requests.push(TraceRequest {
            at: SimDuration::from_nanos(at),
            client: record.client,
            session: record.session,
            work: record.work,
        });
    }
    file.trace = Trace::new(path.display().to_string(), requests, file.malformed_count);
    Ok(file)
}

/// Counts a malformed line, listing it if fewer than [`MAX_LISTED`] are.
fn malformed(file: &mut TraceFile, problem: LineProblem) {
    file.malformed_count += 1;
    if file.malformed.len() < MAX_LISTED {
        file.malformed.push(problem);
    }
}

/// Spreads the requests of each whole second (time-sorted records sharing a timestamp)
/// evenly over it, in their order.
fn spread_within_seconds(records: &mut [Record]) {
    for group in records.chunk_by_mut(|a, b| a.time == b.time) {
        let n = group.len() as i128;
        for (k, record) in group.iter_mut().enumerate() {
            record.time += k as i128 * NANOS_PER_SECOND / n;
        }
    }
}

/// Reads and drops the rest of an overlong line.
fn skip_rest_of_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    let mut scratch = Vec::new();
    loop {
        scratch.clear();
        let read = reader
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut scratch)?;
        if read == 0 || scratch.last() == Some(&b'\n') {
            return Ok(());
        }
    }
}

fn whole_line(line: usize, message: String) -> LineProblem {
    LineProblem {
        line,
        col: 1,
        field: "",
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_text(text: &str, format: TraceFormat) -> TraceFile {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("trace");
        std::fs::write(&path, text).expect("write");
        read(&path, format).expect("readable")
    }

    fn times(file: &TraceFile) -> Vec<u64> {
        file.trace
            .as_ref()
            .expect("a trace")
            .requests()
            .iter()
            .map(|r| r.at.as_nanos())
            .collect()
    }

    #[test]
    fn lines_out_of_order_are_sorted_stably() {
        let file = read_text(
            "timestamp,client\n10.5,10.0.0.3\n10.2,10.0.0.1\n10.5,10.0.0.2\n10.0,10.0.0.4\n",
            TraceFormat::Csv,
        );
        let trace = file.trace.expect("a trace");
        let order: Vec<(u64, u32)> = trace
            .requests()
            .iter()
            .map(|r| (r.at.as_nanos(), r.client.0 & 0xff))
            .collect();
        assert_eq!(
            order,
            [(0, 4), (200_000_000, 1), (500_000_000, 3), (500_000_000, 2)]
        );
    }

    #[test]
    fn an_access_logs_second_is_shared_evenly_by_its_requests() {
        let line = |time: &str| {
            format!(
                "10.0.0.1 - - [10/Oct/2000:13:55:{time} -0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"x\" 0.01\n"
            )
        };
        let text = [line("36"), line("37"), line("36"), line("36"), line("38")].concat();
        let file = read_text(&text, TraceFormat::AccessLog);
        assert_eq!(
            times(&file),
            [0, 333_333_333, 666_666_666, 1_000_000_000, 2_000_000_000]
        );
    }

    #[test]
    fn malformed_lines_are_counted_and_the_first_twenty_listed() {
        let mut text = String::from("timestamp,client\n");
        for i in 0..30 {
            text.push_str(&format!("{i},10.0.0.1\nbad{i},10.0.0.1\n"));
        }
        let file = read_text(&text, TraceFormat::Csv);
        assert_eq!(file.malformed_count, 30);
        assert_eq!(file.malformed.len(), MAX_LISTED);
        assert_eq!((file.malformed[0].line, file.malformed[0].col), (3, 1));
        assert_eq!(file.malformed[0].field, "timestamp");
        let trace = file.trace.expect("a trace");
        assert_eq!(trace.requests().len(), 30);
        assert_eq!(trace.skipped(), 30);
    }

    #[test]
    fn blank_lines_crlf_and_a_byte_order_mark_are_harmless() {
        let file = read_text(
            "\u{feff}timestamp,client,service_ms\r\n\r\n1,a,2\r\n  \n2,b,\r\n",
            TraceFormat::Csv,
        );
        assert_eq!(file.malformed, []);
        assert_eq!(times(&file), [0, 1_000_000_000]);
        assert_eq!(file.first_without_work, Some(5));
    }

    #[test]
    fn a_bad_header_or_an_empty_file_is_fatal() {
        let file = read_text("timestamp,clint\n1,a\n", TraceFormat::Csv);
        assert!(file.fatal[0].message.contains("did you mean \"client\"?"));
        assert!(file.trace.is_none());
        let file = read_text("\n\n", TraceFormat::Csv);
        assert!(file.fatal[0].message.starts_with("the file is empty"));
        let file = read_text("", TraceFormat::AccessLog);
        assert!(file.fatal.is_empty() && file.trace.is_none());
    }

    #[test]
    fn invalid_utf8_and_overlong_lines_are_malformed_not_fatal() {
        let mut bytes = b"timestamp,client\n1,\xff\xfe\n".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES * 3));
        bytes.extend(b"\n2,10.0.0.1\n");
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("trace.csv");
        std::fs::write(&path, bytes).expect("write");
        let file = read(&path, TraceFormat::Csv).expect("readable");
        let lines: Vec<(usize, &str)> = file
            .malformed
            .iter()
            .map(|p| (p.line, p.message.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                (2, "the line is not valid UTF-8"),
                (3, "the line is longer than 64 KiB")
            ]
        );
        assert_eq!(times(&file), [0]);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_lines_never_make_a_parser_panic(
            line in "[0-9a-zA-Z .,:/+\\-\"\\[\\]éT\t]{0,80}"
        ) {
            let _ = access_log::parse_line(&line, 1);
            let _ = timestamp::parse_timestamp(&line);
            let _ = timestamp::parse_clf_date(&line);
            let _ = timestamp::parse_rfc3339(&line);
            if let Ok(mut csv) = CsvTrace::from_header("timestamp,client,session,service_ms", 1) {
                let _ = csv.record(&line, 2);
            }
            let _ = CsvTrace::from_header(&line, 1);
        }

        #[test]
        fn arbitrary_dates_in_the_right_shape_never_make_a_parser_panic(
            day in "[0-9é]{2}", month in "[A-Za-zé]{3}", rest in "[0-9:+\\- é]{15}"
        ) {
            let _ = timestamp::parse_clf_date(&format!("{day}/{month}/{rest}"));
            let _ = timestamp::parse_rfc3339(&format!("2023-{day}-{day}T{rest}"));
        }
    }

    #[test]
    fn timestamps_too_far_apart_are_fatal() {
        let file = read_text(
            "timestamp,client\n0,a\n99999999999999999999,b\n",
            TraceFormat::Csv,
        );
        assert_eq!(file.fatal[0].line, 3);
        assert!(file.fatal[0].message.contains("584 years"));
    }
}
