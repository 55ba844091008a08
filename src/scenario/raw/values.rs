//! The value types a scenario's keys are read into, and their deserializers: numbers read
//! wide (any integer, any number), a duration or a word kept as written, a limit or a
//! switch that may be either, a rate schedule, and the scalars a sweep or a `where` holds.
//! They check the TOML type only, so that validation, which knows what each key means, can
//! say what was wrong and suggest the nearest valid word.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use toml::Spanned;
use toml::de::DeValue;

/// Any TOML integer, range-checked in validation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Int(pub i128);

/// Any TOML number (integer or float), checked in validation.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Number(pub f64);

/// A duration as written (`"1.5s"`), parsed in validation by `parse_duration`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationText(pub String);

/// `queue`: `"unbounded"` or a limit. Any string is kept, so validation can suggest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawQueue {
    Named(String),
    Limit(i128),
}

/// A number, or a word that turns the feature off (`"off"`). Any string is kept, so
/// validation can suggest.
#[derive(Clone, Debug, PartialEq)]
pub enum RawSwitch {
    Named(String),
    Number(f64),
}

/// `workload.rate`: requests per second, or a step schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum RawRate {
    PerSecond(f64),
    Steps(Vec<Spanned<RawStep>>),
}

/// One `["start", rate]` step of a rate schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct RawStep {
    pub start: Spanned<DurationText>,
    pub rate: Spanned<Number>,
}

/// A string, number or boolean: a swept value or a `where` value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    String(String),
    Integer(i128),
    Float(f64),
    Boolean(bool),
}

/// `where = { "balancer.algorithm" = "random" }`: swept key to value, in file order.
/// Unquoted dotted keys (`{ balancer.algorithm = "random" }`) mean the same and are
/// flattened back to one dotted key.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Filter(pub Vec<(Spanned<String>, Spanned<Scalar>)>);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(i128::from(v)))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Int, E> {
                i128::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom(format!("integer {v} is too large")))
            }
        }
        deserializer.deserialize_i128(IntVisitor)
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl Visitor<'_> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        deserializer.deserialize_f64(NumberVisitor)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit, like \"10s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

impl<'de> Deserialize<'de> for RawQueue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QueueVisitor;
        impl Visitor<'_> for QueueVisitor {
            type Value = RawQueue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"unbounded\" or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawQueue, E> {
                Ok(RawQueue::Named(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawQueue, E> {
                Ok(RawQueue::Limit(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawQueue, E> {
                Ok(RawQueue::Limit(i128::from(v)))
            }
        }
        deserializer.deserialize_any(QueueVisitor)
    }
}

impl<'de> Deserialize<'de> for RawSwitch {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SwitchVisitor;
        impl Visitor<'_> for SwitchVisitor {
            type Value = RawSwitch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or \"off\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Named(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Number(v))
            }
        }
        deserializer.deserialize_any(SwitchVisitor)
    }
}

impl<'de> Deserialize<'de> for RawRate {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RateVisitor;
        impl<'de> Visitor<'de> for RateVisitor {
            type Value = RawRate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "requests per second, or a schedule of [\"start\", rate] steps \
                     like [[\"0s\", 100], [\"5m\", 900]]",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawRate, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element()? {
                    steps.push(step);
                }
                Ok(RawRate::Steps(steps))
            }
        }
        deserializer.deserialize_any(RateVisitor)
    }
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = RawStep;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [\"start\", rate] step like [\"5m\", 900]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawStep, A::Error> {
                let start = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let rate = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let mut extra = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    extra += 1;
                }
                if extra > 0 {
                    return Err(de::Error::invalid_length(2 + extra, &self));
                }
                Ok(RawStep { start, rate })
            }
        }
        deserializer.deserialize_seq(StepVisitor)
    }
}

impl Scalar {
    /// The scalar a parsed TOML value holds, if it is one.
    pub fn from_value(value: &DeValue<'_>) -> Option<Scalar> {
        match value {
            DeValue::String(s) => Some(Scalar::String(s.to_string())),
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(Scalar::Integer),
            DeValue::Float(f) => f.as_str().parse().ok().map(Scalar::Float),
            DeValue::Boolean(b) => Some(Scalar::Boolean(*b)),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Scalar::Integer(_) | Scalar::Float(_))
    }
}

/// As written in summary.csv and variant labels: strings without quotes, integers as
/// integers, floats in Rust's shortest form (`0.5`), booleans as `true`/`false`.
impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::String(s) => f.write_str(s),
            Scalar::Integer(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// Marks the private key under which toml hands a datetime to a visitor as a map.
const DATETIME_KEY_PREFIX: &str = "$__toml_private";

/// A `where` value: a scalar, or a nested table from an unquoted dotted key.
enum FilterValue {
    Scalar(Scalar),
    Table(Vec<(Spanned<String>, Spanned<FilterValue>)>),
}

struct FilterValueVisitor;

impl<'de> Visitor<'de> for FilterValueVisitor {
    type Value = FilterValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Boolean(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Integer(i128::from(v))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Integer(i128::from(v))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::String(v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FilterValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if key.get_ref().starts_with(DATETIME_KEY_PREFIX) {
                return Err(de::Error::invalid_type(
                    Unexpected::Other("datetime"),
                    &self,
                ));
            }
            let value: Spanned<FilterValue> = map.next_value()?;
            entries.push((key, value));
        }
        Ok(FilterValue::Table(entries))
    }
}

impl<'de> Deserialize<'de> for FilterValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FilterValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FilterVisitor;
        impl<'de> Visitor<'de> for FilterVisitor {
            type Value = Filter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of swept key = value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Filter, A::Error> {
                let FilterValue::Table(entries) = FilterValueVisitor.visit_map(map)? else {
                    return Err(de::Error::invalid_type(Unexpected::Map, &self));
                };
                let mut flat = Vec::new();
                flatten(entries, None, &mut flat);
                Ok(Filter(flat))
            }
        }
        deserializer.deserialize_map(FilterVisitor)
    }
}

/// Joins nested `where` tables into dotted keys; a joined key spans from its first part
/// to its last.
fn flatten(
    entries: Vec<(Spanned<String>, Spanned<FilterValue>)>,
    prefix: Option<&Spanned<String>>,
    out: &mut Vec<(Spanned<String>, Spanned<Scalar>)>,
) {
    for (key, value) in entries {
        let key = match prefix {
            Some(prefix) => Spanned::new(
                prefix.span().start..key.span().end,
                format!("{}.{}", prefix.get_ref(), key.get_ref()),
            ),
            None => key,
        };
        let span = value.span();
        match value.into_inner() {
            FilterValue::Scalar(scalar) => out.push((key, Spanned::new(span, scalar))),
            FilterValue::Table(nested) => flatten(nested, Some(&key), out),
        }
    }
}

#[cfg(test)]
mod tests {
    use toml::de::DeTable;

    use super::*;

    #[test]
    fn scalars_display_as_in_summary_csv() {
        assert_eq!(Scalar::String("random".into()).to_string(), "random");
        assert_eq!(Scalar::Integer(600).to_string(), "600");
        assert_eq!(Scalar::Float(0.5).to_string(), "0.5");
        assert_eq!(Scalar::Float(600.0).to_string(), "600");
        assert_eq!(Scalar::Boolean(true).to_string(), "true");
    }

    #[test]
    fn scalars_read_from_toml_values_in_any_notation() {
        let document = DeTable::parse("a = 0x10\nb = 1_000\nc = 1_0.5e1\nd = [1]").unwrap();
        let scalar = |key: &str| Scalar::from_value(document.get_ref().get(key).unwrap().get_ref());
        assert_eq!(scalar("a"), Some(Scalar::Integer(16)));
        assert_eq!(scalar("b"), Some(Scalar::Integer(1000)));
        assert_eq!(scalar("c"), Some(Scalar::Float(105.0)));
        assert_eq!(scalar("d"), None);
    }
}
