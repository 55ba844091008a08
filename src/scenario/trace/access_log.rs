//! Access-log traces: NGINX or Apache "combined" lines, with `$request_time` appended.
//!
//! ```text
//! 127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "Mozilla" 0.042
//! ```
//! The address (the first field) is the client, the bracketed date (with its offset) the
//! arrival, and the last field, `$request_time` in seconds, the request's work. A line that
//! ends with the user agent's closing quote (plain "combined", no request time) is accepted
//! too; its work is drawn from `workload.service`. Nothing else of the line is used, so the
//! request, status and agent are only checked for being there.
//!
//! The log's dates have whole-second resolution; the loader spreads the requests of each
//! second over it (see `mod.rs`). NGINX logs `$time_local` when a request ends, Apache `%t`
//! when it starts: lbsim takes the date as the arrival either way.

use super::address::client_address;
use super::timestamp::{parse_clf_date, parse_work};
use super::{LineProblem, Record};
use crate::engine::SimDuration;

/// The date as it appears in messages.
const DATE_EXAMPLE: &str = "[10/Oct/2000:13:55:36 -0700]";

/// Reads the request on line `line`.
pub fn parse_line(text: &str, line: usize) -> Result<Record, LineProblem> {
    let column_of = |byte: usize| text[..byte].chars().count() + 1;
    let problem = |byte: usize, field: &'static str, message: String| LineProblem {
        line,
        col: column_of(byte),
        field,
        message,
    };

    let address_end = text.find([' ', '\t']).unwrap_or(text.len());
    if address_end == 0 {
        return Err(problem(
            0,
            "address",
            "expected a client address first".into(),
        ));
    }
    let client = client_address(&text[..address_end]);

    let Some(open) = text[address_end..].find('[').map(|i| address_end + i) else {
        return Err(problem(
            address_end,
            "date",
            format!("expected a date like {DATE_EXAMPLE} after the address"),
        ));
    };
    let Some(close) = text[open..].find(']').map(|i| open + i) else {
        return Err(problem(
            open,
            "date",
            "expected a ']' to close the date".into(),
        ));
    };
    let time = parse_clf_date(&text[open + 1..close]).map_err(|m| problem(open + 1, "date", m))?;

    let rest_start = close + 1;
    let rest = text[rest_start..].trim_end();
    if !rest.trim_start().starts_with('"') {
        return Err(problem(
            rest_start,
            "request",
            "expected the quoted request after the date, like \"GET / HTTP/1.1\"".into(),
        ));
    }
    let work = if rest.ends_with('"') {
        None
    } else {
        let last_start = rest.rfind([' ', '\t']).map_or(0, |i| i + 1);
        let last = &rest[last_start..];
        let nanos = parse_work(last, 9, "seconds").map_err(|message| {
            problem(
                rest_start + last_start,
                "request_time",
                format!("{message} (the last field must be $request_time)"),
            )
        })?;
        Some(SimDuration::from_nanos(nanos))
    };
    Ok(Record {
        time,
        client,
        session: None,
        work,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::ClientAddr;

    const LINE: &str = "127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.0\" 200 2326 \
                        \"-\" \"Mozilla/5.0 (X11; Linux)\" 0.042";

    fn problem(text: &str) -> String {
        let p = parse_line(text, 3).expect_err("malformed");
        format!("{}:{}: {}: {}", p.line, p.col, p.field, p.message)
    }

    #[test]
    fn a_combined_line_gives_address_date_and_request_time() {
        let record = parse_line(LINE, 3).expect("valid");
        assert_eq!(record.client, ClientAddr(0x7F00_0001));
        assert_eq!(record.time, 971_211_336 * 1_000_000_000);
        assert_eq!(record.work, Some(SimDuration::from_millis(42)));
        assert_eq!(record.line, 3);
    }

    #[test]
    fn a_line_without_request_time_draws_its_work() {
        let plain = LINE.trim_end_matches(" 0.042");
        assert_eq!(parse_line(plain, 1).expect("valid").work, None);
    }

    #[test]
    fn an_ipv6_client_is_hashed_like_in_a_csv_trace() {
        let line = LINE.replacen("127.0.0.1", "2001:db8::1", 1);
        assert_eq!(
            parse_line(&line, 1).expect("valid").client,
            client_address("2001:db8::1")
        );
    }

    #[test]
    fn a_malformed_line_is_located_at_its_field() {
        assert_eq!(
            problem(" - - [x]"),
            "3:1: address: expected a client address first"
        );
        assert_eq!(
            problem("10.0.0.1 - - 10/Oct/2000"),
            "3:9: date: expected a date like [10/Oct/2000:13:55:36 -0700] after the address"
        );
        assert!(problem(&LINE.replace("Oct/2000", "Okt/2000")).starts_with("3:16: date: "));
        assert!(
            problem("10.0.0.1 - - [10/Oct/2000:13:55:36 -0700]")
                .starts_with("3:42: request: expected the quoted request")
        );
        assert_eq!(
            problem(&LINE.replace("0.042", "fast")),
            "3:101: request_time: expected a number of seconds like 12.5, found \"fast\" \
             (the last field must be $request_time)"
        );
        assert!(problem(&LINE.replace("0.042", "-0.042")).contains("non-negative"));
    }
}
