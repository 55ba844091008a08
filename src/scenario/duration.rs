//! Duration strings (`"250us"`, `"1.5s"`, `"5m"`) to exact nanoseconds.
//!
//! A duration a user wrote must mean exactly what it says: `"0.1s"` is 100 000 000 ns, not
//! the nearest double. So the number is parsed as integer digits with integer arithmetic
//! (no float ever touches it), and anything that is not a whole number of nanoseconds or
//! does not fit in a `u64` is rejected instead of rounded or wrapped.

use crate::engine::SimDuration;

/// The units a duration may use, with their length in nanoseconds. Both micro signs are
/// accepted (U+00B5 and the Greek mu U+03BC look the same on screen).
const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// The unit list as shown in error messages.
const UNIT_NAMES: &str = "ns, us, µs, ms, s, m, h";

/// The most fractional digits worth looking at: beyond this (after trailing zeros are
/// dropped) no unit above divides into whole nanoseconds, and `10^digits` still fits a u128.
const MAX_FRACTION_DIGITS: usize = 18;

/// Parses a duration such as `"250us"`, `"10ms"`, `"2s"`, `"5m"`, `"1h"` or `"1.5s"`.
///
/// The error is a complete phrase that quotes the input, ready to follow a key path.
pub fn parse_duration(text: &str) -> Result<SimDuration, String> {
    let expected = || format!("expected a duration like \"10s\" or \"1.5ms\", found {text:?}");
    if text.starts_with('-') {
        return Err(format!("expected a non-negative duration, found {text:?}"));
    }
    let number_len = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(number_len);
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (number, None),
    };
    let digits_ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_ok(whole) || fraction.is_some_and(|f| !digits_ok(f)) {
        return Err(expected());
    }
    if unit.is_empty() {
        return Err(format!(
            "expected a unit ({UNIT_NAMES}) after the number, found {text:?}"
        ));
    }
    let Some(&(_, nanos_per_unit)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "unknown unit {unit:?} in {text:?}, expected one of {UNIT_NAMES}"
        ));
    };

    let too_long = || format!("{text:?} is too long: durations are limited to about 584 years");
    let whole = parse_digits(whole).ok_or_else(too_long)?;
    let mut nanos = whole.checked_mul(nanos_per_unit).ok_or_else(too_long)?;
    if let Some(fraction) = fraction {
        let fraction = fraction.trim_end_matches('0');
        let too_precise = || format!("{text:?} is more precise than a nanosecond");
        if fraction.len() > MAX_FRACTION_DIGITS {
            return Err(too_precise());
        }
        if !fraction.is_empty() {
            let numerator = parse_digits(fraction)
                .and_then(|f| f.checked_mul(nanos_per_unit))
                .ok_or_else(too_precise)?;
            let denominator = 10u128
                .checked_pow(u32::try_from(fraction.len()).map_err(|_| too_precise())?)
                .ok_or_else(too_precise)?;
            if numerator % denominator != 0 {
                return Err(too_precise());
            }
            nanos = nanos
                .checked_add(numerator / denominator)
                .ok_or_else(too_long)?;
        }
    }
    u64::try_from(nanos)
        .map(SimDuration::from_nanos)
        .map_err(|_| too_long())
}

/// Decimal digits to a number; `None` when it does not fit a u128.
fn parse_digits(digits: &str) -> Option<u128> {
    digits.bytes().try_fold(0u128, |acc, b| {
        acc.checked_mul(10)?.checked_add(u128::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nanos(text: &str) -> u64 {
        parse_duration(text)
            .unwrap_or_else(|e| panic!("{text}: {e}"))
            .as_nanos()
    }

    #[test]
    fn every_unit_converts_to_nanoseconds() {
        assert_eq!(nanos("7ns"), 7);
        assert_eq!(nanos("250us"), 250_000);
        assert_eq!(nanos("250µs"), 250_000);
        assert_eq!(nanos("250μs"), 250_000);
        assert_eq!(nanos("10ms"), 10_000_000);
        assert_eq!(nanos("2s"), 2_000_000_000);
        assert_eq!(nanos("5m"), 300_000_000_000);
        assert_eq!(nanos("1h"), 3_600_000_000_000);
    }

    #[test]
    fn decimal_fractions_are_exact() {
        assert_eq!(nanos("1.5s"), 1_500_000_000);
        assert_eq!(nanos("0.1s"), 100_000_000);
        assert_eq!(nanos("0.000000001s"), 1);
        assert_eq!(nanos("0.5m"), 30_000_000_000);
        assert_eq!(nanos("1.25ms"), 1_250_000);
        assert_eq!(nanos("2.000000000000000000000000s"), 2_000_000_000);
        assert_eq!(nanos("0.0000000001m"), 6);
    }

    #[test]
    fn zero_is_a_duration() {
        assert_eq!(nanos("0s"), 0);
        assert_eq!(nanos("0.0ms"), 0);
    }

    #[test]
    fn leading_zeros_are_harmless() {
        assert_eq!(nanos("007s"), 7_000_000_000);
    }

    #[test]
    fn the_largest_duration_fits_and_one_more_nanosecond_does_not() {
        assert_eq!(nanos("18446744073709551615ns"), u64::MAX);
        assert!(
            parse_duration("18446744073709551616ns")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        for text in [
            "99999999999h",
            "1000000000000000000000000000000000000000000s",
        ] {
            assert!(
                parse_duration(text).unwrap_err().contains("too long"),
                "{text}"
            );
        }
    }

    #[test]
    fn negative_durations_are_rejected() {
        assert_eq!(
            parse_duration("-5s").unwrap_err(),
            "expected a non-negative duration, found \"-5s\""
        );
    }

    #[test]
    fn a_number_without_unit_is_rejected() {
        assert_eq!(
            parse_duration("10").unwrap_err(),
            "expected a unit (ns, us, µs, ms, s, m, h) after the number, found \"10\""
        );
    }

    #[test]
    fn unknown_units_are_named() {
        assert_eq!(
            parse_duration("10sec").unwrap_err(),
            "unknown unit \"sec\" in \"10sec\", expected one of ns, us, µs, ms, s, m, h"
        );
    }

    #[test]
    fn garbage_is_rejected() {
        for text in [
            "", "s", "abc", ".5s", "1.s", "1..5s", "1.2.3s", " 1s", "1 s", "+1s", "1e3s",
        ] {
            assert!(parse_duration(text).is_err(), "{text:?} should be rejected");
        }
    }

    #[test]
    fn sub_nanosecond_precision_is_rejected() {
        for text in ["1.5ns", "0.0000000001s", "0.0000000000000000000000000001h"] {
            assert!(
                parse_duration(text).unwrap_err().contains("more precise"),
                "{text}"
            );
        }
    }
}
