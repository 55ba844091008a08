//! `[health_check]`: active health checking. Every key is optional; the table alone turns
//! checking on with the defaults of [`HealthCheckSpec::default`].

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::model::{Fraction, HealthCheckSpec};
use crate::scenario::raw::RawHealthCheck;

impl Checker<'_> {
    /// The health-check spec (`Some(None)` when the section is absent), or `None` after an
    /// error.
    pub(super) fn health_check(
        &mut self,
        raw: Option<&Spanned<RawHealthCheck>>,
    ) -> Option<Option<HealthCheckSpec>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let raw = raw.get_ref();
        let default = HealthCheckSpec::default();
        let interval = match &raw.interval {
            None => Some(default.interval),
            Some(interval) => self.positive_duration(interval, "health_check.interval"),
        };
        let timeout = match &raw.timeout {
            None => Some(default.timeout),
            Some(timeout) => self.positive_duration(timeout, "health_check.timeout"),
        };
        let unhealthy_threshold = self.count(
            raw.unhealthy_threshold.as_ref(),
            "health_check.unhealthy_threshold",
            default.unhealthy_threshold,
        );
        let healthy_threshold = self.count(
            raw.healthy_threshold.as_ref(),
            "health_check.healthy_threshold",
            default.healthy_threshold,
        );
        let jitter = match &raw.jitter {
            None => Some(default.jitter),
            Some(jitter) => self
                .number(jitter, "health_check.jitter", Bound::Fraction)
                .map(Fraction::from_f64),
        };
        let work = match &raw.work {
            None => Some(default.work),
            Some(work) => self.duration(work, "health_check.work"),
        };
        Some(Some(HealthCheckSpec {
            interval: interval?,
            timeout: timeout?,
            unhealthy_threshold: unhealthy_threshold?,
            healthy_threshold: healthy_threshold?,
            jitter: jitter?,
            work: work?,
        }))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::engine::SimDuration;
    use crate::model::{Fraction, HealthCheckSpec};
    use crate::scenario::validate::testing::{assert_bad_fixtures, error, valid, with};

    /// Each fixture under tests/fixtures/bad for this section, the location and key path
    /// of its one error, and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "health_check_zero_interval",
            "12:12: health_check.interval: ",
            "expected a positive duration, found \"0s\"",
        ),
        (
            "health_check_zero_threshold",
            "13:23: health_check.unhealthy_threshold: ",
            "expected a positive integer, found 0",
        ),
    ];

    #[test]
    fn every_bad_health_check_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    fn spec(line: &str) -> Option<HealthCheckSpec> {
        valid(&with("health_check", line)).variants[0]
            .run
            .health_check
            .clone()
    }

    #[test]
    fn an_empty_table_turns_checking_on_with_the_defaults() {
        assert_eq!(spec(""), Some(HealthCheckSpec::default()));
        let minimal = crate::scenario::validate::testing::MINIMAL;
        assert_eq!(valid(minimal).variants[0].run.health_check, None);
    }

    #[test]
    fn every_key_is_read() {
        let source = "[health_check]\ninterval = \"2s\"\ntimeout = \"500ms\"\n\
                      unhealthy_threshold = 4\nhealthy_threshold = 1\njitter = 0\n\
                      work = \"0s\"\n";
        let source = format!("{}{source}", crate::scenario::validate::testing::MINIMAL);
        assert_eq!(
            valid(&source).variants[0].run.health_check,
            Some(HealthCheckSpec {
                interval: SimDuration::from_secs(2),
                timeout: SimDuration::from_millis(500),
                unhealthy_threshold: 4,
                healthy_threshold: 1,
                jitter: Fraction::ZERO,
                work: SimDuration::ZERO,
            })
        );
    }

    #[test]
    fn bad_values_are_located_errors() {
        let cases = [
            (
                "interval = \"0s\"",
                "health_check.interval: expected a positive duration, found \"0s\"",
            ),
            (
                "timeout = \"0ms\"",
                "health_check.timeout: expected a positive duration, found \"0ms\"",
            ),
            (
                "unhealthy_threshold = 0",
                "health_check.unhealthy_threshold: expected a positive integer, found 0",
            ),
            (
                "healthy_threshold = -2",
                "health_check.healthy_threshold: expected a positive integer, found -2",
            ),
            (
                "jitter = 1.5",
                "health_check.jitter: expected a fraction from 0 to 1, found 1.5",
            ),
            (
                "work = \"-1ms\"",
                "health_check.work: expected a non-negative duration, found \"-1ms\"",
            ),
        ];
        for (line, message) in cases {
            let error = error(&with("health_check", line));
            assert!(error.starts_with("x.toml:8:"), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }
}
