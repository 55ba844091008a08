//! The rules for single values that every section shares: integers in a range, finite
//! and bounded numbers, durations, one of a fixed set of names, and names that become
//! folder and file names; so that one mistake reads the same in whichever key it is made.

use toml::Spanned;

use super::checker::Checker;
use crate::engine::{SimDuration, SimTime};
use crate::scenario::duration::parse_duration;
use crate::scenario::raw::{DurationText, Int, Number, RawQueue, RawSwitch};
use crate::scenario::suggest;

/// The longest scenario or server group name: it names folders and files.
pub const MAX_NAME_LEN: usize = 100;

/// What a number must be.
#[derive(Copy, Clone)]
pub(super) enum Bound {
    Positive,
    NonNegative,
    GreaterThanOne,
    /// A coefficient of variation: 0 to [`MAX_CV`].
    Variation,
    /// A share: 0 to 1.
    Fraction,
    /// A share that cannot be nothing: above 0, at most 1.
    PositiveFraction,
    /// A share that cannot be everything: 0 or more, below 1.
    FractionBelowOne,
    /// 0 to 100.
    Percent,
    Any,
}

impl Bound {
    /// Whether `x` is within the bound, and what the bound asks for, for the message.
    fn check(self, x: f64) -> (bool, &'static str) {
        match self {
            Bound::Positive => (x > 0.0, "a positive number"),
            Bound::NonNegative => (x >= 0.0, "a non-negative number"),
            Bound::GreaterThanOne => (x > 1.0, "a number greater than 1"),
            Bound::Variation => ((0.0..=MAX_CV).contains(&x), "a number from 0 to 100"),
            Bound::Fraction => ((0.0..=1.0).contains(&x), "a fraction from 0 to 1"),
            Bound::PositiveFraction => (
                x > 0.0 && x <= 1.0,
                "a fraction greater than 0 and at most 1",
            ),
            Bound::FractionBelowOne => ((0.0..1.0).contains(&x), "a fraction from 0 to below 1"),
            Bound::Percent => ((0.0..=100.0).contains(&x), "a percentage from 0 to 100"),
            Bound::Any => (true, "a number"),
        }
    }
}

/// The largest coefficient of variation accepted. Beyond it a lognormal's parameters
/// overflow (cv² is infinite from about 1e154), and no real service time varies a
/// hundredfold around its mean anyway.
const MAX_CV: f64 = 100.0;

impl Checker<'_> {
    /// A scenario or server group name (see [`check_name`]).
    pub(super) fn name(&mut self, name: &Spanned<String>, path: &str) -> Option<String> {
        match check_name(name.get_ref()) {
            Ok(()) => Some(name.get_ref().clone()),
            Err(problem) => {
                self.error(name.span().start, path, problem);
                None
            }
        }
    }

    /// An integer in `[min, max]`.
    pub(super) fn integer(
        &mut self,
        value: &Spanned<Int>,
        path: &str,
        min: i128,
        max: i128,
    ) -> Option<i128> {
        let Int(n) = *value.get_ref();
        let what = match min {
            1 => "a positive integer",
            0 => "a non-negative integer",
            _ => "an integer",
        };
        if n < min {
            self.error(
                value.span().start,
                path,
                format!("expected {what}, found {n}"),
            );
            None
        } else if n > max {
            self.error(
                value.span().start,
                path,
                format!("expected {what} of at most {max}, found {n}"),
            );
            None
        } else {
            Some(n)
        }
    }

    /// An optional positive `u32` with a default (a group's count, workers, thresholds).
    pub(super) fn count(
        &mut self,
        value: Option<&Spanned<Int>>,
        path: &str,
        default: u32,
    ) -> Option<u32> {
        self.count_up_to(value, path, default, u32::MAX)
    }

    /// A count from 1 to `max`, or `default` when absent: for the counts whose size the
    /// model allocates for (clients listed, replications kept, ring points).
    pub(super) fn count_up_to(
        &mut self,
        value: Option<&Spanned<Int>>,
        path: &str,
        default: u32,
        max: u32,
    ) -> Option<u32> {
        match value {
            None => Some(default),
            Some(value) => self
                .integer(value, path, 1, i128::from(max))
                .and_then(|n| u32::try_from(n).ok()),
        }
    }

    /// A finite number: NaN and infinities are errors wherever a number goes.
    pub(super) fn finite(&mut self, value: f64, offset: usize, path: &str) -> Option<f64> {
        if value.is_finite() {
            Some(value)
        } else {
            self.error(
                offset,
                path,
                format!("expected a finite number, found {value}"),
            );
            None
        }
    }

    /// A finite number within `bound`.
    pub(super) fn number(
        &mut self,
        value: &Spanned<Number>,
        path: &str,
        bound: Bound,
    ) -> Option<f64> {
        let offset = value.span().start;
        let x = self.finite(value.get_ref().0, offset, path)?;
        let (ok, what) = bound.check(x);
        if ok {
            Some(x)
        } else {
            self.error(offset, path, format!("expected {what}, found {}", show(x)));
            None
        }
    }

    /// One of a fixed set of names (`what` says which set), parsed by `parse`; an unknown
    /// name is an error listing the valid ones, with the closest.
    pub(super) fn choice<T>(
        &mut self,
        value: &Spanned<String>,
        path: &str,
        what: &str,
        names: &[&str],
        parse: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let name = value.get_ref();
        let parsed = parse(name);
        if parsed.is_none() {
            self.error(
                value.span().start,
                path,
                format!(
                    "unknown {what} {name:?}, {}",
                    suggest::expected_one_of(name, names)
                ),
            );
        }
        parsed
    }

    /// `"off"` (`Some(None)`), or a number within `bound`.
    pub(super) fn number_or_off(
        &mut self,
        value: &Spanned<RawSwitch>,
        path: &str,
        bound: Bound,
    ) -> Option<Option<f64>> {
        let offset = value.span().start;
        let (_, what) = bound.check(0.0);
        match value.get_ref() {
            RawSwitch::Named(name) if name == OFF => Some(None),
            RawSwitch::Named(name) => {
                self.error(
                    offset,
                    path,
                    format!(
                        "expected {what} or \"off\", found {name:?}{}",
                        suggest::did_you_mean(name, [OFF])
                    ),
                );
                None
            }
            &RawSwitch::Number(x) => {
                let x = self.finite(x, offset, path)?;
                if bound.check(x).0 {
                    Some(Some(x))
                } else {
                    self.error(
                        offset,
                        path,
                        format!("expected {what} or \"off\", found {}", show(x)),
                    );
                    None
                }
            }
        }
    }

    /// `"off"` (`Some(None)`), or a duration greater than zero.
    pub(super) fn duration_or_off(
        &mut self,
        value: &Spanned<DurationText>,
        path: &str,
    ) -> Option<Option<SimDuration>> {
        let text = &value.get_ref().0;
        if text == OFF {
            return Some(None);
        }
        match parse_duration(text) {
            Ok(duration) if !duration.is_zero() => Some(Some(duration)),
            Ok(_) => {
                self.error(
                    value.span().start,
                    path,
                    format!("expected a positive duration or \"off\", found {text:?}"),
                );
                None
            }
            Err(problem) => {
                self.error(
                    value.span().start,
                    path,
                    format!(
                        "{problem} (or \"off\"){}",
                        suggest::did_you_mean(text, [OFF])
                    ),
                );
                None
            }
        }
    }

    /// `queue`: `"unbounded"` (`Some(None)`) or a limit.
    pub(super) fn queue(&mut self, queue: &Spanned<RawQueue>, path: &str) -> Option<Option<u32>> {
        match queue.get_ref() {
            RawQueue::Named(name) if name == "unbounded" => Some(None),
            RawQueue::Named(name) => {
                self.error(
                    queue.span().start,
                    path,
                    format!(
                        "expected \"unbounded\" or a non-negative integer, found {name:?}{}",
                        suggest::did_you_mean(name, ["unbounded"])
                    ),
                );
                None
            }
            RawQueue::Limit(limit) => self
                .integer(
                    &Spanned::new(queue.span(), Int(*limit)),
                    path,
                    0,
                    i128::from(u32::MAX),
                )
                .and_then(|l| u32::try_from(l).ok())
                .map(Some),
        }
    }

    /// A duration like `"10ms"`, zero allowed.
    pub(super) fn duration(
        &mut self,
        value: &Spanned<DurationText>,
        path: &str,
    ) -> Option<SimDuration> {
        match parse_duration(&value.get_ref().0) {
            Ok(duration) => Some(duration),
            Err(problem) => {
                self.error(value.span().start, path, problem);
                None
            }
        }
    }

    /// An instant `at` of a scheduled change, before the run's end (`duration`, `None`
    /// when that is itself in error); `offset` is where a missing one is reported.
    pub(super) fn change_time(
        &mut self,
        at: Option<&Spanned<DurationText>>,
        offset: usize,
        path: &str,
        duration: Option<SimDuration>,
    ) -> Option<SimTime> {
        let Some(at) = at else {
            self.error(offset, path, "missing: expected a time like \"60s\"");
            return None;
        };
        let time = self.duration(at, path)?;
        if let Some(duration) = duration
            && time >= duration
        {
            self.error(
                at.span().start,
                path,
                format!(
                    "expected a time before the run's end ({}), found {:?}",
                    seconds(duration.as_nanos()),
                    at.get_ref().0
                ),
            );
            return None;
        }
        Some(SimTime::ZERO + time)
    }

    /// A duration greater than zero.
    pub(super) fn positive_duration(
        &mut self,
        value: &Spanned<DurationText>,
        path: &str,
    ) -> Option<SimDuration> {
        let duration = self.duration(value, path)?;
        if duration.is_zero() {
            self.error(
                value.span().start,
                path,
                format!(
                    "expected a positive duration, found {:?}",
                    value.get_ref().0
                ),
            );
            None
        } else {
            Some(duration)
        }
    }
}

/// The word that turns an optional feature off.
const OFF: &str = "off";

/// A number as a user would write it: `-3`, `0.5`, `1e300`.
pub(super) fn show(x: f64) -> String {
    if x != 0.0 && !(1e-6..1e16).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// `ns` nanoseconds as a person writes a time: `2s`, `1.5s`, `0.25s`.
pub(super) fn seconds(ns: u64) -> String {
    let text = format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000);
    format!("{}s", text.trim_end_matches('0').trim_end_matches('.'))
}

/// Scenario and server group names become folder and file names: `[A-Za-z0-9._-]+`,
/// never `.` or `..`.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if name.is_empty() || !name.chars().all(allowed) {
        Err(format!(
            "expected a name of letters, digits, '.', '_' and '-', found {name:?}"
        ))
    } else if name == "." || name == ".." {
        Err(format!(
            "expected a name other than \".\" or \"..\", found {name:?}"
        ))
    } else if name.len() > MAX_NAME_LEN {
        Err(format!(
            "expected a name of at most {MAX_NAME_LEN} characters, found one of {}",
            name.len()
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::MAX_NAME_LEN;
    use crate::scenario::validate::testing::{error, valid, with};

    #[test]
    fn names_cannot_escape_the_output_folder() {
        for name in [".", "..", "a/b", "", "x\\y", "naïve"] {
            let source = with("", &format!("name = {name:?}"));
            assert!(error(&source).contains("name: expected a name"), "{name:?}");
        }
        assert_eq!(valid(&with("", "name = \"a.b_c-1\"")).name, "a.b_c-1");
        let long = "n".repeat(MAX_NAME_LEN + 1);
        assert!(error(&with("", &format!("name = \"{long}\""))).contains("at most"));
    }
}
