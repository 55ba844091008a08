//! Exact decimal numbers: `0.1` as 1 × 10⁻¹, never as the nearest double.
//!
//! Numbers people write must keep the value they wrote: the values of a range sweep are
//! stepped on these (so `0.1 + 2 × 0.1` is `0.3`, not `0.30000000000000004`), and a trace's
//! timestamps and service times become whole nanoseconds through them, exactly or not at
//! all. A decimal is a signed integer mantissa and a power of ten, with the mantissa's
//! trailing zeros moved into the exponent, so that "is it a whole number of units" is a
//! question about the exponent's sign alone.

use std::cmp::Ordering;

/// The most significant digits a decimal may have: a mantissa always fits an `i128`.
const MAX_DIGITS: usize = 38;

/// `mantissa × 10^exponent`, the mantissa without trailing zeros (zero is `0 × 10⁰`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Decimal {
    mantissa: i128,
    exponent: i32,
}

/// Why text is not a decimal, or a decimal not a whole number of some unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DecimalError {
    /// Not `[+-]digits[.digits][e[+-]digits]`.
    Syntax,
    /// More than 38 significant digits, or an exponent beyond ±10⁴.
    TooManyDigits,
    /// Finer than the unit asked for.
    TooPrecise,
    /// Does not fit an `i128` of that unit.
    TooLarge,
}

/// Exponents beyond this are refused outright: no unit makes them representable.
const MAX_EXPONENT: i64 = 10_000;

impl Decimal {
    /// Parses `[+-]digits[.digits][(e|E)[+-]digits]`, with digits on at least one side of
    /// the point (`1`, `-0.5`, `.042`, `1.5e-3`).
    pub fn parse(text: &str) -> Result<Decimal, DecimalError> {
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let (number, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
            None => (unsigned, None),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() && fraction.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return Err(DecimalError::Syntax);
        }
        let exponent: i64 = match exponent {
            None => 0,
            Some(e) => {
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !all_digits(digits) {
                    return Err(DecimalError::Syntax);
                }
                if digits.len() > 6 {
                    return Err(DecimalError::TooManyDigits);
                }
                e.parse().map_err(|_| DecimalError::Syntax)?
            }
        };
        let digits = format!("{whole}{fraction}");
        let significant = digits.trim_start_matches('0');
        let trimmed = significant.trim_end_matches('0');
        if trimmed.is_empty() {
            return Ok(Decimal {
                mantissa: 0,
                exponent: 0,
            });
        }
        if trimmed.len() > MAX_DIGITS {
            return Err(DecimalError::TooManyDigits);
        }
        let mantissa: i128 = trimmed.parse().map_err(|_| DecimalError::TooManyDigits)?;
        // Lengths are bounded by the text, far below i64::MAX.
        let trailing_zeros = (significant.len() - trimmed.len()) as i64;
        let exponent = exponent - fraction.len() as i64 + trailing_zeros;
        if exponent.abs() > MAX_EXPONENT {
            return Err(DecimalError::TooManyDigits);
        }
        Ok(Decimal {
            mantissa: if negative { -mantissa } else { mantissa },
            exponent: exponent as i32,
        })
    }

    /// An integer as a decimal.
    pub fn from_integer(value: i128) -> Decimal {
        let mut decimal = Decimal {
            mantissa: value,
            exponent: 0,
        };
        while decimal.mantissa != 0 && decimal.mantissa % 10 == 0 {
            decimal.mantissa /= 10;
            decimal.exponent += 1;
        }
        decimal
    }

    /// The number of decimal places needed to write it (`0.25` → 2, `300` → 0).
    pub fn places(self) -> u32 {
        if self.exponent < 0 {
            self.exponent.unsigned_abs()
        } else {
            0
        }
    }

    /// The value in units of `10^-places`, exactly: `0.25` at 3 places is 250.
    pub fn scaled(self, places: u32) -> Result<i128, DecimalError> {
        if self.mantissa == 0 {
            return Ok(0);
        }
        let shift = i64::from(self.exponent) + i64::from(places);
        match shift.cmp(&0) {
            // The mantissa has no trailing zeros: a negative shift leaves a fraction.
            Ordering::Less => Err(DecimalError::TooPrecise),
            Ordering::Equal => Ok(self.mantissa),
            Ordering::Greater => u32::try_from(shift)
                .ok()
                .and_then(|shift| 10i128.checked_pow(shift))
                .and_then(|factor| self.mantissa.checked_mul(factor))
                .ok_or(DecimalError::TooLarge),
        }
    }
}

/// Writes `value × 10^-places` in decimal (`scaled_to_text(25, 2)` is `0.25`), without
/// trailing zeros after the point; `float` keeps a `.0` on whole numbers, as TOML floats
/// need.
pub fn scaled_to_text(value: i128, places: u32, float: bool) -> String {
    let digits = value.unsigned_abs().to_string();
    let places = places as usize;
    let (whole, fraction) = if digits.len() > places {
        digits.split_at(digits.len() - places)
    } else {
        ("0", digits.as_str())
    };
    let padding = "0".repeat(places.saturating_sub(fraction.len()));
    let fraction = format!("{padding}{fraction}");
    let fraction = fraction.trim_end_matches('0');
    let sign = if value < 0 { "-" } else { "" };
    match (fraction.is_empty(), float) {
        (true, false) => format!("{sign}{whole}"),
        (true, true) => format!("{sign}{whole}.0"),
        (false, _) => format!("{sign}{whole}.{fraction}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scaled(text: &str, places: u32) -> Result<i128, DecimalError> {
        Decimal::parse(text)?.scaled(places)
    }

    #[test]
    fn decimals_scale_exactly_to_whole_units() {
        assert_eq!(scaled("0.1", 9), Ok(100_000_000));
        assert_eq!(
            scaled("1697040000.123456789", 9),
            Ok(1_697_040_000_123_456_789)
        );
        assert_eq!(scaled("-2.5", 1), Ok(-25));
        assert_eq!(scaled(".042", 3), Ok(42));
        assert_eq!(scaled("1.5e-3", 6), Ok(1500));
        assert_eq!(scaled("12E2", 0), Ok(1200));
        assert_eq!(scaled("0.000", 0), Ok(0));
        assert_eq!(
            scaled("1.250000000000000000000000000000000000000000", 2),
            Ok(125)
        );
    }

    #[test]
    fn a_fraction_finer_than_the_unit_is_refused_not_rounded() {
        assert_eq!(scaled("0.0000000001", 9), Err(DecimalError::TooPrecise));
        assert_eq!(scaled("1.5", 0), Err(DecimalError::TooPrecise));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        assert_eq!(scaled("1e300", 0), Err(DecimalError::TooLarge));
        assert_eq!(scaled("1e38", 9), Err(DecimalError::TooLarge));
        assert_eq!(
            scaled("123456789012345678901234567890123456789", 0),
            Err(DecimalError::TooManyDigits)
        );
        assert_eq!(scaled("1e99999999", 0), Err(DecimalError::TooManyDigits));
    }

    #[test]
    fn anything_but_a_plain_decimal_is_a_syntax_error() {
        for text in [
            "", ".", "-", "+.", "1..2", "1.2.3", "1e", "1e+", "e5", "0x10", "1_000", " 1", "inf",
            "nan", "1,5", "١",
        ] {
            assert_eq!(Decimal::parse(text), Err(DecimalError::Syntax), "{text:?}");
        }
    }

    #[test]
    fn places_count_the_digits_after_the_point() {
        assert_eq!(Decimal::parse("0.25").map(Decimal::places), Ok(2));
        assert_eq!(Decimal::parse("300").map(Decimal::places), Ok(0));
        assert_eq!(Decimal::parse("2.50").map(Decimal::places), Ok(1));
        assert_eq!(
            Decimal::from_integer(-4000),
            Decimal::parse("-4e3").unwrap()
        );
    }

    #[test]
    fn scaled_values_are_written_without_float_noise() {
        assert_eq!(scaled_to_text(3, 1, true), "0.3");
        assert_eq!(scaled_to_text(30, 1, true), "3.0");
        assert_eq!(scaled_to_text(30, 1, false), "3");
        assert_eq!(scaled_to_text(-5, 3, true), "-0.005");
        assert_eq!(scaled_to_text(1200, 0, false), "1200");
        assert_eq!(scaled_to_text(0, 2, true), "0.0");
    }
}
