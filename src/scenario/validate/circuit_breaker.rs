//! `[circuit_breaker]`: a breaker per backend, with the defaults of
//! [`CircuitBreakerSpec::default`].

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::model::{CircuitBreakerSpec, Fraction};
use crate::scenario::raw::{Int, RawCircuitBreaker, RawQueue};
use crate::scenario::suggest;

impl Checker<'_> {
    /// The circuit-breaker spec (`Some(None)` when the section is absent), or `None` after
    /// an error.
    pub(super) fn circuit_breaker(
        &mut self,
        raw: Option<&Spanned<RawCircuitBreaker>>,
    ) -> Option<Option<CircuitBreakerSpec>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let raw = raw.get_ref();
        let default = CircuitBreakerSpec::default();
        let window = match &raw.window {
            None => Some(default.window),
            Some(window) => self.positive_duration(window, "circuit_breaker.window"),
        };
        let failure_rate = match &raw.failure_rate {
            None => Some(default.failure_rate),
            Some(rate) => self
                .number_or_off(
                    rate,
                    "circuit_breaker.failure_rate",
                    Bound::PositiveFraction,
                )
                .map(|rate| rate.map(Fraction::from_f64)),
        };
        let min_requests = self.count(
            raw.min_requests.as_ref(),
            "circuit_breaker.min_requests",
            default.min_requests,
        );
        let open_for = match &raw.open_for {
            None => Some(default.open_for),
            Some(open_for) => self.positive_duration(open_for, "circuit_breaker.open_for"),
        };
        let probes = self.count(
            raw.probes.as_ref(),
            "circuit_breaker.probes",
            default.probes,
        );
        let max_pending = match &raw.max_pending {
            None => Some(default.max_pending),
            Some(max) => self.max_pending(max),
        };
        Some(Some(CircuitBreakerSpec {
            window: window?,
            failure_rate: failure_rate?,
            min_requests: min_requests?,
            open_for: open_for?,
            probes: probes?,
            max_pending: max_pending?,
        }))
    }

    /// `max_pending`: `"unbounded"` or a positive limit (at zero a request would be
    /// refused even with a worker free).
    fn max_pending(&mut self, max: &Spanned<RawQueue>) -> Option<Option<u32>> {
        let path = "circuit_breaker.max_pending";
        match max.get_ref() {
            RawQueue::Named(name) if name == "unbounded" => Some(None),
            RawQueue::Named(name) => {
                self.error(
                    max.span().start,
                    path,
                    format!(
                        "expected \"unbounded\" or a positive integer, found {name:?}{}",
                        suggest::did_you_mean(name, ["unbounded"])
                    ),
                );
                None
            }
            &RawQueue::Limit(limit) => self
                .count(Some(&Spanned::new(max.span(), Int(limit))), path, 0)
                .map(Some),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::engine::SimDuration;
    use crate::model::{CircuitBreakerSpec, Fraction};
    use crate::scenario::validate::testing::{MINIMAL, assert_bad_fixtures, error, valid, with};

    /// Each fixture under tests/fixtures/bad for this section, the location and key path
    /// of its one error, and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "circuit_breaker_failure_rate_above_one",
            "13:16: circuit_breaker.failure_rate: ",
            "expected a fraction greater than 0 and at most 1 or \"off\", found 1.5",
        ),
        (
            "circuit_breaker_zero_window",
            "12:10: circuit_breaker.window: ",
            "expected a positive duration, found \"0ms\"",
        ),
    ];

    #[test]
    fn every_bad_circuit_breaker_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    fn spec(lines: &str) -> Option<CircuitBreakerSpec> {
        let source = format!("{MINIMAL}[circuit_breaker]\n{lines}\n");
        valid(&source).variants[0].run.circuit_breaker.clone()
    }

    #[test]
    fn an_empty_table_turns_the_breakers_on_with_the_defaults() {
        assert_eq!(spec(""), Some(CircuitBreakerSpec::default()));
        assert_eq!(valid(MINIMAL).variants[0].run.circuit_breaker, None);
    }

    #[test]
    fn every_key_is_read() {
        let read = spec(
            "window = \"5s\"\nfailure_rate = 1\nmin_requests = 4\nopen_for = \"1m\"\n\
             probes = 1\nmax_pending = 8",
        );
        assert_eq!(
            read,
            Some(CircuitBreakerSpec {
                window: SimDuration::from_secs(5),
                failure_rate: Some(Fraction::ONE),
                min_requests: 4,
                open_for: SimDuration::from_secs(60),
                probes: 1,
                max_pending: Some(8),
            })
        );
        assert_eq!(
            spec("max_pending = \"unbounded\"").map(|s| s.max_pending),
            Some(None)
        );
        assert_eq!(
            spec("failure_rate = \"off\"").map(|s| s.failure_rate),
            Some(None)
        );
    }

    #[test]
    fn bad_values_are_located_errors() {
        let cases = [
            (
                "window = \"0s\"",
                "circuit_breaker.window: expected a positive duration, found \"0s\"",
            ),
            (
                "failure_rate = 0",
                "circuit_breaker.failure_rate: expected a fraction greater than 0 and at \
                 most 1 or \"off\", found 0",
            ),
            (
                "failure_rate = 1.01",
                "circuit_breaker.failure_rate: expected a fraction greater than 0 and at \
                 most 1 or \"off\", found 1.01",
            ),
            (
                "min_requests = 0",
                "circuit_breaker.min_requests: expected a positive integer, found 0",
            ),
            (
                "open_for = \"0ms\"",
                "circuit_breaker.open_for: expected a positive duration, found \"0ms\"",
            ),
            (
                "probes = 0",
                "circuit_breaker.probes: expected a positive integer, found 0",
            ),
            (
                "max_pending = 0",
                "circuit_breaker.max_pending: expected a positive integer, found 0",
            ),
            (
                "max_pending = \"unbounde\"",
                "circuit_breaker.max_pending: expected \"unbounded\" or a positive integer, \
                 found \"unbounde\"; did you mean \"unbounded\"?",
            ),
        ];
        for (line, message) in cases {
            let error = error(&with("circuit_breaker", line));
            assert!(error.starts_with("x.toml:8:"), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }
}
