//! Trace timestamps to exact nanoseconds: decimal seconds, RFC 3339 dates and the Common
//! Log Format's `10/Oct/2000:13:55:36 -0700`.
//!
//! A replay must put each request exactly where the trace says, so no float ever touches a
//! timestamp: digits become integers (see `decimal.rs`), dates become days by Howard
//! Hinnant's days-from-civil algorithm (proleptic Gregorian, exact for every year written
//! with four digits), and the whole becomes `i128` nanoseconds — since the Unix epoch for
//! dates, since whatever origin the trace uses for decimal seconds. Only differences between
//! timestamps matter to a replay, so either origin serves.
//!
//! Errors are phrases ready to follow a field name: `expected ..., found "..."`.

use crate::scenario::decimal::{Decimal, DecimalError};

const NANOS_PER_SECOND: i128 = 1_000_000_000;
const SECONDS_PER_DAY: i128 = 86_400;

/// The two ways a CSV trace may write its timestamps. A trace sticks to one: mixing an
/// origin-free number with absolute dates would make the gaps between them meaningless.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimestampKind {
    Seconds,
    Rfc3339,
}

impl TimestampKind {
    pub fn describe(self) -> &'static str {
        match self {
            TimestampKind::Seconds => "decimal seconds",
            TimestampKind::Rfc3339 => "an RFC 3339 date",
        }
    }
}

/// A CSV `timestamp`: decimal seconds (`1697040000.25`) or an RFC 3339 date
/// (`2023-10-11T14:00:00.25Z`), told apart by the date's `-` after four digits.
pub fn parse_timestamp(text: &str) -> Result<(i128, TimestampKind), String> {
    let looks_like_date = text.len() > 4 && text.as_bytes()[4] == b'-';
    if looks_like_date {
        parse_rfc3339(text).map(|nanos| (nanos, TimestampKind::Rfc3339))
    } else {
        parse_decimal(text, 9)
            .map_err(|problem| match problem {
                DecimalError::Syntax => format!(
                    "expected seconds like 12.5 or an RFC 3339 date like 2023-10-11T14:00:00Z, \
                 found {text:?}"
                ),
                other => decimal_problem(other, text, "a nanosecond"),
            })
            .map(|nanos| (nanos, TimestampKind::Seconds))
    }
}

/// A non-negative decimal number of units `10^-places` (9: seconds to nanoseconds, 6:
/// milliseconds to nanoseconds), as a whole number of nanoseconds.
pub fn parse_decimal(text: &str, places: u32) -> Result<i128, DecimalError> {
    Decimal::parse(text)?.scaled(places)
}

/// A duration field (`service_ms`, `$request_time`) as whole nanoseconds, which must be a
/// non-negative number that fits a `u64`. `unit` names the unit (`"milliseconds"`).
pub fn parse_work(text: &str, places: u32, unit: &str) -> Result<u64, String> {
    let nanos = parse_decimal(text, places).map_err(|problem| match problem {
        DecimalError::Syntax => format!("expected a number of {unit} like 12.5, found {text:?}"),
        other => decimal_problem(other, text, "a nanosecond"),
    })?;
    if nanos < 0 {
        return Err(format!(
            "expected a non-negative number of {unit}, found {text:?}"
        ));
    }
    u64::try_from(nanos).map_err(|_| format!("{text:?} is too long: at most about 584 years"))
}

/// Why a well-formed number is still unusable.
fn decimal_problem(problem: DecimalError, text: &str, finest: &str) -> String {
    match problem {
        DecimalError::TooPrecise => format!("{text:?} is more precise than {finest}"),
        _ => format!("{text:?} has too many digits"),
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (the `T` may also be `t` or a space, `Z` may
/// be `z`), as nanoseconds since the Unix epoch.
pub fn parse_rfc3339(text: &str) -> Result<i128, String> {
    let expected =
        || format!("expected an RFC 3339 date like 2023-10-11T14:00:00.25Z, found {text:?}");
    let bytes = text.as_bytes();
    if bytes.len() < 20
        || !text.is_ascii()
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return Err(expected());
    }
    let number = |range: std::ops::Range<usize>| digits(&text[range]).ok_or_else(expected);
    let year = number(0..4)?;
    let month = number(5..7)?;
    let day = number(8..10)?;
    let hour = number(11..13)?;
    let minute = number(14..16)?;
    let second = number(17..19)?;

    // The fraction runs from an optional '.' to the zone.
    let rest = &text[19..];
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(after) => {
            let end = after
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(after.len());
            if end == 0 {
                return Err(expected());
            }
            (&after[..end], &after[end..])
        }
        None => ("", rest),
    };
    let fraction_nanos = fraction_to_nanos(fraction)
        .ok_or_else(|| format!("{text:?} is more precise than a nanosecond"))?;
    // The text is ASCII, so every byte index below is a character boundary.
    let offset_seconds: i128 = match zone.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let hours = digits(&zone[1..3]).ok_or_else(expected)?;
            let minutes = digits(&zone[4..6]).ok_or_else(expected)?;
            if hours > 23 || minutes > 59 {
                return Err(format!(
                    "expected a time zone offset up to 23:59, in {text:?}"
                ));
            }
            let offset = i128::from(hours * 3600 + minutes * 60);
            if *sign == b'-' { -offset } else { offset }
        }
        _ => {
            return Err(format!(
                "expected a time zone (Z or an offset like +02:00) at the end of {text:?}"
            ));
        }
    };
    let seconds = civil_seconds(text, year, month, day, hour, minute, second)?;
    Ok((seconds - offset_seconds) * NANOS_PER_SECOND + fraction_nanos)
}

/// The Common Log Format's `dd/Mon/yyyy:HH:MM:SS ±hhmm` (`10/Oct/2000:13:55:36 -0700`), as
/// nanoseconds since the Unix epoch. Month names are English, in any case.
pub fn parse_clf_date(text: &str) -> Result<i128, String> {
    let expected = || format!("expected a date like 10/Oct/2000:13:55:36 -0700, found {text:?}");
    let bytes = text.as_bytes();
    if bytes.len() != 26
        || !text.is_ascii()
        || bytes[2] != b'/'
        || bytes[6] != b'/'
        || bytes[11] != b':'
        || bytes[14] != b':'
        || bytes[17] != b':'
        || bytes[20] != b' '
        || !matches!(bytes[21], b'+' | b'-')
    {
        return Err(expected());
    }
    let number = |range: std::ops::Range<usize>| digits(&text[range]).ok_or_else(expected);
    let day = number(0..2)?;
    let month_name = &text[3..6];
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))
        .map(|i| i as u32 + 1)
        .ok_or_else(|| {
            format!("expected a month name (Jan, Feb, ..., Dec), found {month_name:?} in {text:?}")
        })?;
    let year = number(7..11)?;
    let hour = number(12..14)?;
    let minute = number(15..17)?;
    let second = number(18..20)?;
    let offset_hours = number(22..24)?;
    let offset_minutes = number(24..26)?;
    if offset_hours > 23 || offset_minutes > 59 {
        return Err(format!(
            "expected a time zone offset up to 2359, in {text:?}"
        ));
    }
    let offset = i128::from(offset_hours * 3600 + offset_minutes * 60);
    let offset = if bytes[21] == b'-' { -offset } else { offset };
    let seconds = civil_seconds(text, year, month, day, hour, minute, second)?;
    Ok((seconds - offset) * NANOS_PER_SECOND)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since the epoch of a local date and time, every field range-checked. A leap
/// second (`:60`) is accepted as the first second of the next minute.
fn civil_seconds(
    text: &str,
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Result<i128, String> {
    if !(1..=12).contains(&month) {
        return Err(format!("expected a month from 1 to 12, in {text:?}"));
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(format!("expected a day of the month, in {text:?}"));
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err(format!("expected a time of day, in {text:?}"));
    }
    let days = i128::from(days_from_civil(i64::from(year), month, day));
    Ok(days * SECONDS_PER_DAY + i128::from(hour * 3600 + minute * 60 + second))
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`): years start in March so the leap day comes last, and 400-year eras
/// of 146 097 days repeat exactly.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month_from_march = i64::from((month + 9) % 12);
    let day_of_year = (153 * month_from_march + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        _ => 31,
    }
}

/// ASCII digits (and nothing else) as a number.
fn digits(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A fraction of a second's digits as nanoseconds; `None` when finer than a nanosecond.
fn fraction_to_nanos(fraction: &str) -> Option<i128> {
    let significant = fraction.trim_end_matches('0');
    if significant.len() > 9 {
        return None;
    }
    let padded = format!("{significant:0<9}");
    padded.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i128 = NANOS_PER_SECOND;

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(days_from_civil(0, 3, 1), -719_468);
    }

    #[test]
    fn a_clf_date_with_a_negative_offset_is_later_in_utc() {
        // 13:55:36 at UTC-7 is 20:55:36 UTC: 971211336 (date -d @971211336 -u).
        assert_eq!(
            parse_clf_date("10/Oct/2000:13:55:36 -0700"),
            Ok(971_211_336 * SECOND)
        );
        assert_eq!(
            parse_clf_date("10/oct/2000:22:25:36 +0130"),
            Ok(971_211_336 * SECOND)
        );
        assert_eq!(parse_clf_date("01/Jan/1970:00:00:00 +0000"), Ok(0));
    }

    #[test]
    fn a_bad_clf_date_says_what_is_wrong() {
        assert!(
            parse_clf_date("10/Oct/2000:13:55:36")
                .unwrap_err()
                .starts_with("expected a date like")
        );
        assert!(
            parse_clf_date("10/Okt/2000:13:55:36 -0700")
                .unwrap_err()
                .contains("month name")
        );
        assert!(
            parse_clf_date("31/Apr/2000:13:55:36 -0700")
                .unwrap_err()
                .contains("day")
        );
        assert!(parse_clf_date("29/Feb/1900:13:55:36 -0700").is_err());
        assert!(parse_clf_date("29/Feb/2000:13:55:36 -0700").is_ok());
        assert!(
            parse_clf_date("10/Oct/2000:24:00:00 -0700")
                .unwrap_err()
                .contains("time of day")
        );
        assert!(
            parse_clf_date("10/Oct/2000:13:55:36 -0760")
                .unwrap_err()
                .contains("offset")
        );
        assert!(parse_clf_date("10/Öct/2000:13:55:36 -070").is_err());
    }

    #[test]
    fn rfc3339_dates_parse_to_the_nanosecond_with_their_offset() {
        let base = 1_697_032_800 * SECOND; // 2023-10-11T14:00:00Z
        assert_eq!(parse_rfc3339("2023-10-11T14:00:00Z"), Ok(base));
        assert_eq!(
            parse_rfc3339("2023-10-11T16:00:00.000000001+02:00"),
            Ok(base + 1)
        );
        assert_eq!(
            parse_rfc3339("2023-10-11 13:30:00.25-00:30"),
            Ok(base + SECOND / 4)
        );
        assert_eq!(
            parse_rfc3339("2023-10-11t14:00:00.5000000000z"),
            Ok(base + SECOND / 2)
        );
        assert!(
            parse_rfc3339("2023-10-11T14:00:00.0000000001Z")
                .unwrap_err()
                .contains("precise")
        );
        assert!(
            parse_rfc3339("2023-10-11T14:00:00")
                .unwrap_err()
                .contains("expected")
        );
        assert!(
            parse_rfc3339("2023-10-11T14:00:00+0200")
                .unwrap_err()
                .contains("time zone")
        );
        assert!(
            parse_rfc3339("2023-13-11T14:00:00Z")
                .unwrap_err()
                .contains("month")
        );
        assert!(parse_rfc3339("2023-10-11T14:00:00.Z").is_err());
    }

    #[test]
    fn timestamps_are_seconds_or_dates() {
        assert_eq!(
            parse_timestamp("12.5"),
            Ok((12_500_000_000, TimestampKind::Seconds))
        );
        assert_eq!(parse_timestamp("-1"), Ok((-SECOND, TimestampKind::Seconds)));
        assert_eq!(
            parse_timestamp("1970-01-01T00:00:01Z"),
            Ok((SECOND, TimestampKind::Rfc3339))
        );
        assert!(
            parse_timestamp("noon")
                .unwrap_err()
                .starts_with("expected seconds like 12.5")
        );
        assert!(
            parse_timestamp("0.0000000001")
                .unwrap_err()
                .contains("more precise")
        );
    }

    #[test]
    fn work_is_a_non_negative_exact_duration() {
        assert_eq!(parse_work("12.5", 6, "milliseconds"), Ok(12_500_000));
        assert_eq!(parse_work("0.042", 9, "seconds"), Ok(42_000_000));
        assert_eq!(parse_work("0", 9, "seconds"), Ok(0));
        assert!(
            parse_work("-1", 6, "milliseconds")
                .unwrap_err()
                .contains("non-negative")
        );
        assert!(
            parse_work("fast", 6, "milliseconds")
                .unwrap_err()
                .contains("milliseconds like")
        );
        assert!(
            parse_work("0.0000001", 6, "milliseconds")
                .unwrap_err()
                .contains("precise")
        );
        assert!(
            parse_work("1e20", 9, "seconds")
                .unwrap_err()
                .contains("too long")
        );
    }
}
