//! Range sweeps: `"workload.rate" = { from = 100, to = 1000, step = 100 }` stands for the
//! list `[100, 200, …, 1000]`.
//!
//! Value `i` is `from + i × step`, computed on integers: the three numbers are read as exact
//! decimals and scaled by a common power of ten, so a float range reads `0.1, 0.2, 0.3` and
//! never `0.30000000000000004`, and no error accumulates over thousands of steps. `to` is
//! included when a step lands on it. Integers stay integers; if any of the three is a float,
//! every value is a float (`1.0, 1.5, 2.0`, shown as `1, 1.5, 2` like any swept float).
//!
//! A range expands to TOML literals, which the sweep then parses into ordinary values: from
//! there on a range is a list, checked and labelled exactly like one written out.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::decimal::{Decimal, DecimalError, scaled_to_text};
use super::suggest;
use super::sweep::SweepError;

/// The keys of a range table, in the order they are listed in messages.
pub const RANGE_KEYS: &[&str] = &["from", "to", "step"];

/// The most values one range may produce: more is almost certainly a mistake in `step`.
pub const MAX_RANGE_VALUES: i128 = 10_000;

/// One bound of a range as written.
struct Bound {
    value: Decimal,
    integer: bool,
    /// As written, for messages.
    text: String,
    offset: usize,
}

/// The values of the range `table` (spanning `span` in the file, swept under the key path
/// `key_path`) as TOML literals, or every problem with it.
pub fn expand(
    table: &DeTable<'_>,
    span: &Range<usize>,
    key_path: &str,
) -> Result<Vec<String>, Vec<SweepError>> {
    let mut errors = Vec::new();
    let mut bounds: [Option<Bound>; 3] = [None, None, None];
    // Keys a misspelling was taken for: not also reported missing.
    let mut suggested = Vec::new();
    for (key, value) in table.iter() {
        let name = key.get_ref().as_ref();
        let path = format!("{key_path}.{name}");
        let Some(slot) = RANGE_KEYS.iter().position(|k| *k == name) else {
            suggested.extend(suggest::closest(name, RANGE_KEYS.iter().copied()));
            error(
                &mut errors,
                key.span().start,
                path,
                format!(
                    "unknown key {name:?} in a range, {}",
                    suggest::expected_one_of(name, RANGE_KEYS)
                ),
            );
            continue;
        };
        match bound(value) {
            Ok(read) => bounds[slot] = Some(read),
            Err(message) => error(&mut errors, value.span().start, path, message),
        }
    }
    let missing: Vec<&str> = RANGE_KEYS
        .iter()
        .zip(&bounds)
        .filter(|(name, bound)| {
            bound.is_none() && table.get(**name).is_none() && !suggested.contains(*name)
        })
        .map(|(name, _)| *name)
        .collect();
    if !missing.is_empty() {
        error(
            &mut errors,
            span.start,
            key_path.to_string(),
            format!(
                "missing {}: a range needs from, to and step, like {{ from = 100, to = 1000, \
                 step = 100 }}",
                missing.join(" and ")
            ),
        );
    }
    let [Some(from), Some(to), Some(step)] = bounds else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }

    let places = from
        .value
        .places()
        .max(to.value.places())
        .max(step.value.places());
    let mut scale = |bound: &Bound, name: &str| match bound.value.scaled(places) {
        Ok(scaled) => Some(scaled),
        Err(_) => {
            error(
                &mut errors,
                bound.offset,
                format!("{key_path}.{name}"),
                format!(
                    "{} has too many digits to step exactly (at most 38 in all)",
                    bound.text
                ),
            );
            None
        }
    };
    let (Some(first), Some(last), Some(increment)) =
        (scale(&from, "from"), scale(&to, "to"), scale(&step, "step"))
    else {
        return Err(errors);
    };
    if increment <= 0 {
        error(
            &mut errors,
            step.offset,
            format!("{key_path}.step"),
            format!("expected a positive step, found {}", step.text),
        );
    }
    if first > last {
        error(
            &mut errors,
            from.offset,
            format!("{key_path}.from"),
            format!(
                "expected from at most to ({}), found {}",
                to.text, from.text
            ),
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    // first <= last and increment > 0: the difference and the count cannot overflow an
    // i128 by more than the checked operations catch.
    let count = last
        .checked_sub(first)
        .map(|span| span / increment)
        .and_then(|steps| steps.checked_add(1));
    match count {
        Some(count) if count <= MAX_RANGE_VALUES => {
            let float = !(from.integer && to.integer && step.integer);
            Ok((0..count)
                .filter_map(|i| i.checked_mul(increment)?.checked_add(first))
                .map(|value| scaled_to_text(value, places, float))
                .collect())
        }
        _ => {
            let shown = count.map_or_else(|| "too many".to_string(), |n| n.to_string());
            error(
                &mut errors,
                span.start,
                key_path.to_string(),
                format!("the range makes {shown} values, at most {MAX_RANGE_VALUES} are allowed"),
            );
            Err(errors)
        }
    }
}

fn error(errors: &mut Vec<SweepError>, offset: usize, path: String, message: String) {
    errors.push(SweepError {
        offset,
        path,
        message,
    });
}

/// A `from`, `to` or `step` value: a finite TOML number.
fn bound(value: &Spanned<DeValue<'_>>) -> Result<Bound, String> {
    let offset = value.span().start;
    match value.get_ref() {
        DeValue::Integer(integer) => {
            let parsed = i128::from_str_radix(integer.as_str(), integer.radix())
                .map_err(|_| format!("integer {integer} is too large"))?;
            Ok(Bound {
                value: Decimal::from_integer(parsed),
                integer: true,
                text: parsed.to_string(),
                offset,
            })
        }
        DeValue::Float(float) => {
            let text = float.as_str();
            match Decimal::parse(text) {
                Ok(decimal) => Ok(Bound {
                    value: decimal,
                    integer: false,
                    text: text.to_string(),
                    offset,
                }),
                Err(DecimalError::Syntax) => Err(format!("expected a finite number, found {text}")),
                Err(_) => Err(format!(
                    "{text} has too many digits to step exactly (at most 38 in all)"
                )),
            }
        }
        other => Err(format!("expected a number, found {}", other.type_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(table: &str) -> Result<Vec<String>, Vec<String>> {
        let source = format!("r = {table}");
        let document = DeTable::parse(&source).expect("valid TOML");
        let value = &document.get_ref()["r"];
        let DeValue::Table(table) = value.get_ref() else {
            panic!("a table")
        };
        expand(table, &value.span(), "sweep.r").map_err(|errors| {
            errors
                .into_iter()
                .map(|e| format!("{}: {}", e.path, e.message))
                .collect()
        })
    }

    fn values(table: &str) -> Vec<String> {
        range(table).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn an_integer_range_includes_to_when_a_step_lands_on_it() {
        assert_eq!(
            values("{ from = 100, to = 1000, step = 100 }"),
            [
                "100", "200", "300", "400", "500", "600", "700", "800", "900", "1000"
            ]
        );
        assert_eq!(values("{ from = 1, to = 10, step = 4 }"), ["1", "5", "9"]);
        assert_eq!(values("{ from = 3, to = 3, step = 1 }"), ["3"]);
        assert_eq!(values("{ from = -2, to = 2, step = 2 }"), ["-2", "0", "2"]);
        assert_eq!(
            values("{ from = 0x10, to = 0x12, step = 1 }"),
            ["16", "17", "18"]
        );
    }

    #[test]
    fn a_float_range_steps_in_exact_decimals() {
        assert_eq!(
            values("{ from = 0.1, to = 0.5, step = 0.1 }"),
            ["0.1", "0.2", "0.3", "0.4", "0.5"]
        );
        assert_eq!(
            values("{ from = 1, to = 2, step = 0.5 }"),
            ["1.0", "1.5", "2.0"]
        );
        assert_eq!(
            values("{ from = 0.0, to = 0.3, step = 0.15 }"),
            ["0.0", "0.15", "0.3"]
        );
        let many = values("{ from = 0.01, to = 100.0, step = 0.01 }");
        assert_eq!(many.len(), 10_000);
        assert_eq!(many[2], "0.03");
        assert_eq!(many[9_999], "100.0");
    }

    #[test]
    fn a_step_must_be_positive() {
        assert_eq!(
            range("{ from = 1, to = 5, step = 0 }"),
            Err(vec![
                "sweep.r.step: expected a positive step, found 0".to_string()
            ])
        );
        assert_eq!(
            range("{ from = 1, to = 5, step = -0.5 }"),
            Err(vec![
                "sweep.r.step: expected a positive step, found -0.5".to_string()
            ])
        );
    }

    #[test]
    fn from_must_not_exceed_to() {
        assert_eq!(
            range("{ from = 10, to = 1, step = 1 }"),
            Err(vec![
                "sweep.r.from: expected from at most to (1), found 10".to_string()
            ])
        );
    }

    #[test]
    fn more_than_ten_thousand_values_is_an_error() {
        assert_eq!(
            range("{ from = 0, to = 10000, step = 1 }"),
            Err(vec![
                "sweep.r: the range makes 10001 values, at most 10000 are allowed".to_string()
            ])
        );
        let huge = range(
            "{ from = -170141183460469231731687303715884105728, \
                          to = 170141183460469231731687303715884105727, step = 1 }",
        );
        assert!(
            huge.is_err_and(|e| e[0].contains("too many values") || e[0].contains("too large"))
        );
    }

    #[test]
    fn bounds_must_be_finite_numbers() {
        let errors = range("{ from = \"1\", to = inf, step = true }").expect_err("bad");
        assert_eq!(
            errors,
            [
                "sweep.r.from: expected a number, found string",
                "sweep.r.to: expected a finite number, found inf",
                "sweep.r.step: expected a number, found boolean",
            ]
        );
        assert!(range("{ from = 1e300, to = 2e300, step = 1e-300 }").is_err());
    }

    #[test]
    fn unknown_and_missing_keys_are_named() {
        assert_eq!(
            range("{ from = 1, to = 5, stpe = 1 }"),
            Err(vec![
                "sweep.r.stpe: unknown key \"stpe\" in a range, expected one of \"from\", \
                 \"to\", \"step\"; did you mean \"step\"?"
                    .to_string()
            ])
        );
        assert_eq!(
            range("{ from = 1, bogus = 5 }"),
            Err(vec![
                "sweep.r.bogus: unknown key \"bogus\" in a range, expected one of \"from\", \
                 \"to\", \"step\""
                    .to_string(),
                "sweep.r: missing to and step: a range needs from, to and step, like \
                 { from = 100, to = 1000, step = 100 }"
                    .to_string(),
            ])
        );
    }
}
