//! CSV traces: a header row naming the columns, then one request per line.
//!
//! ```text
//! timestamp,client,session,service_ms
//! 0.000,10.0.0.7,s-1,12.5
//! 0.013,2001:db8::1,,
//! ```
//! `timestamp` (seconds, or RFC 3339 dates) and `client` are required; `session` and
//! `service_ms` may be left out, or left empty on a line (an empty `service_ms` draws the
//! request's work from `workload.service`). Columns may come in any order; an unknown or
//! repeated column is an error, since a misspelled `service_ms` would otherwise silently
//! replace every recorded service time by a drawn one.
//!
//! Fields may be quoted (`"a,b"`, with `""` for a quote inside) and are trimmed of spaces
//! outside quotes; a record is one line. Columns in messages are 1-based characters.

use std::borrow::Cow;

use super::address::{client_address, session_id};
use super::timestamp::{TimestampKind, parse_timestamp, parse_work};
use super::{LineProblem, Record};
use crate::engine::SimDuration;
use crate::scenario::suggest;

/// What a column holds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Column {
    Timestamp,
    Client,
    Session,
    ServiceMs,
}

/// Column names, in the order messages list them.
const COLUMNS: &[(&str, Column)] = &[
    ("timestamp", Column::Timestamp),
    ("client", Column::Client),
    ("session", Column::Session),
    ("service_ms", Column::ServiceMs),
];

/// The reader of one CSV trace, once its header is known.
pub struct CsvTrace {
    columns: Vec<Column>,
    /// How the first valid timestamp was written; every other must be written alike.
    kind: Option<TimestampKind>,
}

/// One field of a line: where it starts (1-based character column) and its text.
#[derive(Debug, PartialEq, Eq)]
struct Field<'a> {
    col: usize,
    text: Cow<'a, str>,
}

impl CsvTrace {
    /// Reads the header at line `line`; every problem with it at once.
    pub fn from_header(text: &str, line: usize) -> Result<CsvTrace, Vec<LineProblem>> {
        let fields = split(text).map_err(|(col, message)| vec![whole(line, col, message)])?;
        let names: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
        if !fields.iter().any(|f| names.contains(&f.text.as_ref())) {
            return Err(vec![whole(
                line,
                1,
                format!(
                    "expected a header row naming the columns, like \
                     timestamp,client,session,service_ms, found {text:?}"
                ),
            )]);
        }
        let mut problems = Vec::new();
        let mut columns = Vec::with_capacity(fields.len());
        for field in &fields {
            let name = field.text.as_ref();
            match COLUMNS.iter().find(|(n, _)| *n == name) {
                Some(&(_, column)) if columns.contains(&column) => problems.push(whole(
                    line,
                    field.col,
                    format!("column {name:?} appears twice in the header"),
                )),
                Some(&(_, column)) => columns.push(column),
                None => problems.push(whole(
                    line,
                    field.col,
                    format!(
                        "unknown column {name:?} in the header, {}",
                        suggest::expected_one_of(name, &names)
                    ),
                )),
            }
        }
        for (name, column) in &COLUMNS[..2] {
            if !columns.contains(column) && problems.is_empty() {
                problems.push(whole(
                    line,
                    1,
                    format!(
                        "the header has no {name:?} column: expected a header row like \
                         timestamp,client,service_ms"
                    ),
                ));
            }
        }
        if problems.is_empty() {
            Ok(CsvTrace {
                columns,
                kind: None,
            })
        } else {
            Err(problems)
        }
    }

    /// Reads the request on line `line`.
    pub fn record(&mut self, text: &str, line: usize) -> Result<Record, LineProblem> {
        let fields = split(text).map_err(|(col, message)| whole(line, col, message))?;
        if fields.len() != self.columns.len() {
            return Err(whole(
                line,
                1,
                format!(
                    "expected {} fields as in the header, found {}",
                    self.columns.len(),
                    fields.len()
                ),
            ));
        }
        let mut time = None;
        let mut client = None;
        let mut session = None;
        let mut work = None;
        for (field, &column) in fields.iter().zip(&self.columns) {
            let text = field.text.as_ref();
            let problem = |message: String| LineProblem {
                line,
                col: field.col,
                field: column_name(column),
                message,
            };
            match column {
                Column::Timestamp => {
                    let (nanos, kind) = parse_timestamp(text).map_err(problem)?;
                    let expected = *self.kind.get_or_insert(kind);
                    if kind != expected {
                        return Err(problem(format!(
                            "expected {} like the lines before, found {}: {text:?}",
                            expected.describe(),
                            kind.describe()
                        )));
                    }
                    time = Some(nanos);
                }
                Column::Client if text.is_empty() => {
                    return Err(problem("expected a client address, found nothing".into()));
                }
                Column::Client => client = Some(client_address(text)),
                Column::Session if text.is_empty() => {}
                Column::Session => session = Some(session_id(text)),
                Column::ServiceMs if text.is_empty() => {}
                Column::ServiceMs => {
                    let nanos = parse_work(text, 6, "milliseconds").map_err(problem)?;
                    work = Some(SimDuration::from_nanos(nanos));
                }
            }
        }
        match (time, client) {
            (Some(time), Some(client)) => Ok(Record {
                time,
                client,
                session,
                work,
                line,
            }),
            // The header check guarantees both columns.
            _ => Err(whole(line, 1, "expected a timestamp and a client".into())),
        }
    }
}

fn column_name(column: Column) -> &'static str {
    COLUMNS
        .iter()
        .find(|(_, c)| *c == column)
        .map_or("", |(name, _)| name)
}

/// A problem with a line as a whole rather than one field.
fn whole(line: usize, col: usize, message: String) -> LineProblem {
    LineProblem {
        line,
        col,
        field: "",
        message,
    }
}

/// Splits a line into fields, each trimmed of spaces outside quotes. An unterminated
/// quote, or text after a closing quote, is an error at its column.
fn split(line: &str) -> Result<Vec<Field<'_>>, (usize, String)> {
    let mut fields = Vec::new();
    let mut chars = line.char_indices().peekable();
    let column_of = |byte: usize| line[..byte].chars().count() + 1;
    loop {
        while chars.next_if(|&(_, c)| c == ' ' || c == '\t').is_some() {}
        let start = chars.peek().map_or(line.len(), |&(i, _)| i);
        if chars.next_if(|&(_, c)| c == '"').is_some() {
            let mut text = String::new();
            loop {
                match chars.next() {
                    None => {
                        return Err((column_of(start), "unterminated quoted field".to_string()));
                    }
                    Some((_, '"')) if chars.next_if(|&(_, c)| c == '"').is_some() => {
                        text.push('"');
                    }
                    Some((_, '"')) => break,
                    Some((_, c)) => text.push(c),
                }
            }
            while chars.next_if(|&(_, c)| c == ' ' || c == '\t').is_some() {}
            match chars.next() {
                None => {
                    fields.push(Field {
                        col: column_of(start),
                        text: Cow::Owned(text),
                    });
                    return Ok(fields);
                }
                Some((_, ',')) => fields.push(Field {
                    col: column_of(start),
                    text: Cow::Owned(text),
                }),
                Some((at, _)) => {
                    return Err((
                        column_of(at),
                        "expected a comma after the closing quote".to_string(),
                    ));
                }
            }
        } else {
            let end = line[start..].find(',').map_or(line.len(), |i| start + i);
            fields.push(Field {
                col: column_of(start),
                text: Cow::Borrowed(line[start..end].trim_end_matches([' ', '\t'])),
            });
            if end == line.len() {
                return Ok(fields);
            }
            // Continue after the comma.
            while chars.next_if(|&(i, _)| i <= end).is_some() {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ClientAddr;

    fn fields(line: &str) -> Vec<(usize, String)> {
        split(line)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .into_iter()
            .map(|f| (f.col, f.text.into_owned()))
            .collect()
    }

    fn problem_text(problem: &LineProblem) -> String {
        format!(
            "{}:{}: {}: {}",
            problem.line, problem.col, problem.field, problem.message
        )
    }

    #[test]
    fn fields_split_on_commas_with_quotes_and_spaces() {
        assert_eq!(
            fields("1.5, 10.0.0.1 ,\"a,\"\"b\"\" \",x"),
            [
                (1, "1.5".to_string()),
                (6, "10.0.0.1".to_string()),
                (16, "a,\"b\" ".to_string()),
                (27, "x".to_string())
            ]
        );
        assert_eq!(
            fields("a,,"),
            [(1, "a".into()), (3, "".into()), (4, "".into())]
        );
        assert_eq!(fields("é,b"), [(1, "é".into()), (3, "b".into())]);
        assert_eq!(
            split("\"open"),
            Err((1, "unterminated quoted field".into()))
        );
        assert_eq!(
            split("\"a\"b,c"),
            Err((4, "expected a comma after the closing quote".into()))
        );
    }

    #[test]
    fn a_header_names_known_columns_in_any_order() {
        let mut trace = CsvTrace::from_header("client, service_ms ,timestamp", 1).expect("valid");
        let record = trace.record("10.0.0.2,1.5,3", 2).expect("valid");
        assert_eq!(record.time, 3_000_000_000);
        assert_eq!(record.client, ClientAddr(0x0A00_0002));
        assert_eq!(record.work, Some(SimDuration::from_nanos(1_500_000)));
        assert_eq!(record.session, None);
    }

    #[test]
    fn unknown_repeated_and_missing_columns_are_named() {
        let problems = CsvTrace::from_header("timestamp,client,servce_ms,client", 1)
            .err()
            .expect("bad header");
        let texts: Vec<String> = problems.iter().map(problem_text).collect();
        assert_eq!(
            texts,
            [
                "1:18: : unknown column \"servce_ms\" in the header, expected one of \
                 \"timestamp\", \"client\", \"session\", \"service_ms\"; did you mean \
                 \"service_ms\"?",
                "1:28: : column \"client\" appears twice in the header",
            ]
        );
        let problems = CsvTrace::from_header("timestamp,session", 1)
            .err()
            .expect("bad");
        assert!(problems[0].message.contains("no \"client\" column"));
    }

    #[test]
    fn a_bad_line_is_reported_at_its_field() {
        let mut trace = CsvTrace::from_header("timestamp,client,service_ms", 1).expect("valid");
        let bad = |trace: &mut CsvTrace, text: &str| {
            problem_text(&trace.record(text, 7).expect_err("bad line"))
        };
        assert_eq!(
            bad(&mut trace, "0.5,10.0.0.1"),
            "7:1: : expected 3 fields as in the header, found 2"
        );
        assert_eq!(
            bad(&mut trace, "0.5,,3"),
            "7:5: client: expected a client address, found nothing"
        );
        assert!(
            bad(&mut trace, "0.5,10.0.0.1,-3")
                .starts_with("7:14: service_ms: expected a non-negative")
        );
        assert!(bad(&mut trace, "noon,10.0.0.1,3").starts_with("7:1: timestamp: expected seconds"));
        assert!(
            trace
                .record("0.5,10.0.0.1,", 8)
                .is_ok_and(|r| r.work.is_none())
        );
    }

    #[test]
    fn timestamps_must_all_be_written_alike() {
        let mut trace = CsvTrace::from_header("timestamp,client", 1).expect("valid");
        assert!(trace.record("2023-10-11T14:00:00Z,a", 2).is_ok());
        let problem = trace.record("1697032800,a", 3).expect_err("mixed");
        assert_eq!(
            problem.message,
            "expected an RFC 3339 date like the lines before, found decimal seconds: \
             \"1697032800\""
        );
    }
}
