//! `[outlier_detection]`: ejecting servers whose requests fail, with Envoy's defaults
//! ([`OutlierSpec::default`]). `minimum_hosts` and `request_volume` only matter with a
//! `failure_rate`, `success_rate_minimum_hosts` and `success_rate_request_volume` with a
//! `success_rate_stdev_factor`; they are accepted with it `"off"`, so that a sweep can turn
//! it on.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::model::{FailureRateSpec, Fraction, OutlierSpec, SuccessRateSpec};
use crate::scenario::raw::RawOutlierDetection;

impl Checker<'_> {
    /// The outlier-detection spec (`Some(None)` when the section is absent), or `None`
    /// after an error.
    pub(super) fn outlier_detection(
        &mut self,
        raw: Option<&Spanned<RawOutlierDetection>>,
    ) -> Option<Option<OutlierSpec>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let raw = raw.get_ref();
        let default = OutlierSpec::default();
        let consecutive_errors = self.count(
            raw.consecutive_errors.as_ref(),
            "outlier_detection.consecutive_errors",
            default.consecutive_errors,
        );
        let interval = match &raw.interval {
            None => Some(default.interval),
            Some(interval) => self.positive_duration(interval, "outlier_detection.interval"),
        };
        let base_ejection_time = match &raw.base_ejection_time {
            None => Some(default.base_ejection_time),
            Some(base) => self.positive_duration(base, "outlier_detection.base_ejection_time"),
        };
        let max_ejection_time = match &raw.max_ejection_time {
            // Envoy: 300 s, or the base if that is longer.
            None => Some(
                base_ejection_time.map_or(default.max_ejection_time, |base| {
                    base.max(default.max_ejection_time)
                }),
            ),
            Some(max) => {
                let path = "outlier_detection.max_ejection_time";
                match (self.positive_duration(max, path), base_ejection_time) {
                    (Some(parsed), Some(base)) if parsed < base => {
                        let base_text = raw
                            .base_ejection_time
                            .as_ref()
                            .map_or_else(|| "30s".to_string(), |b| b.get_ref().0.clone());
                        self.error(
                            max.span().start,
                            path,
                            format!(
                                "expected at least base_ejection_time ({base_text:?}), \
                                 found {:?}",
                                max.get_ref().0
                            ),
                        );
                        None
                    }
                    (parsed, _) => parsed,
                }
            }
        };
        let max_ejection = match &raw.max_ejection_percent {
            None => Some(default.max_ejection),
            Some(percent) => self
                .number(
                    percent,
                    "outlier_detection.max_ejection_percent",
                    Bound::Percent,
                )
                .map(|p| Fraction::from_f64(p / 100.0)),
        };
        let always_eject_one_host = raw
            .always_eject_one_host
            .as_ref()
            .map_or(default.always_eject_one_host, |a| *a.get_ref());
        let successful_active_health_check_uneject_host = raw
            .successful_active_health_check_uneject_host
            .as_ref()
            .map_or(default.successful_active_health_check_uneject_host, |u| {
                *u.get_ref()
            });
        let stdev_factor = match &raw.success_rate_stdev_factor {
            None => Some(Some(SuccessRateSpec::DEFAULT.stdev_factor)),
            Some(factor) => self.number_or_off(
                factor,
                "outlier_detection.success_rate_stdev_factor",
                Bound::Positive,
            ),
        };
        let success_minimum_hosts = self.count(
            raw.success_rate_minimum_hosts.as_ref(),
            "outlier_detection.success_rate_minimum_hosts",
            SuccessRateSpec::DEFAULT.minimum_hosts,
        );
        let success_request_volume = self.count(
            raw.success_rate_request_volume.as_ref(),
            "outlier_detection.success_rate_request_volume",
            SuccessRateSpec::DEFAULT.request_volume,
        );
        let threshold = match &raw.failure_rate {
            None => Some(None),
            Some(rate) => self.number_or_off(
                rate,
                "outlier_detection.failure_rate",
                Bound::PositiveFraction,
            ),
        };
        let minimum_hosts = self.count(
            raw.minimum_hosts.as_ref(),
            "outlier_detection.minimum_hosts",
            FailureRateSpec::DEFAULT.minimum_hosts,
        );
        let request_volume = self.count(
            raw.request_volume.as_ref(),
            "outlier_detection.request_volume",
            FailureRateSpec::DEFAULT.request_volume,
        );
        let (success_minimum_hosts, success_request_volume) =
            (success_minimum_hosts?, success_request_volume?);
        let success_rate = stdev_factor?.map(|stdev_factor| SuccessRateSpec {
            stdev_factor,
            minimum_hosts: success_minimum_hosts,
            request_volume: success_request_volume,
        });
        let (minimum_hosts, request_volume) = (minimum_hosts?, request_volume?);
        let failure_rate = threshold?.map(|threshold| FailureRateSpec {
            threshold: Fraction::from_f64(threshold),
            minimum_hosts,
            request_volume,
        });
        Some(Some(OutlierSpec {
            consecutive_errors: consecutive_errors?,
            interval: interval?,
            base_ejection_time: base_ejection_time?,
            max_ejection_time: max_ejection_time?,
            max_ejection: max_ejection?,
            always_eject_one_host,
            success_rate,
            failure_rate,
            successful_active_health_check_uneject_host,
        }))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::engine::SimDuration;
    use crate::model::{FailureRateSpec, Fraction, OutlierSpec, SuccessRateSpec};
    use crate::scenario::validate::testing::{MINIMAL, assert_bad_fixtures, error, valid, with};

    /// Each fixture under tests/fixtures/bad for this section, the location and key path
    /// of its one error, and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "outlier_percent_out_of_range",
            "13:24: outlier_detection.max_ejection_percent: ",
            "expected a percentage from 0 to 100, found 150",
        ),
        (
            "outlier_success_rate_factor_misspelled_off",
            "12:29: outlier_detection.success_rate_stdev_factor: ",
            "expected a positive number or \"off\", found \"of\"; did you mean \"off\"?",
        ),
        (
            "outlier_uneject_not_a_boolean",
            "14:47: outlier_detection.successful_active_health_check_uneject_host: ",
            "invalid type: string \"yes\", expected a boolean",
        ),
        (
            "outlier_zero_failure_rate",
            "12:16: outlier_detection.failure_rate: ",
            "expected a fraction greater than 0 and at most 1 or \"off\", found 0",
        ),
    ];

    #[test]
    fn every_bad_outlier_detection_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    fn spec(lines: &str) -> Option<OutlierSpec> {
        let source = format!("{MINIMAL}[outlier_detection]\n{lines}\n");
        valid(&source).variants[0].run.outlier_detection.clone()
    }

    #[test]
    fn an_empty_table_turns_detection_on_with_envoys_defaults() {
        assert_eq!(spec(""), Some(OutlierSpec::default()));
        assert_eq!(valid(MINIMAL).variants[0].run.outlier_detection, None);
    }

    #[test]
    fn every_key_is_read() {
        let read = spec(
            "consecutive_errors = 3\ninterval = \"5s\"\nbase_ejection_time = \"10s\"\n\
             max_ejection_time = \"40s\"\nmax_ejection_percent = 50\n\
             always_eject_one_host = true\nsuccess_rate_stdev_factor = 1.5\n\
             success_rate_minimum_hosts = 4\nsuccess_rate_request_volume = 30\n\
             failure_rate = 0.9\nminimum_hosts = 2\n\
             request_volume = 7\nsuccessful_active_health_check_uneject_host = false",
        );
        assert_eq!(
            read,
            Some(OutlierSpec {
                consecutive_errors: 3,
                interval: SimDuration::from_secs(5),
                base_ejection_time: SimDuration::from_secs(10),
                max_ejection_time: SimDuration::from_secs(40),
                max_ejection: Fraction::from_millionths(500_000),
                always_eject_one_host: true,
                success_rate: Some(SuccessRateSpec {
                    stdev_factor: 1.5,
                    minimum_hosts: 4,
                    request_volume: 30,
                }),
                failure_rate: Some(FailureRateSpec {
                    threshold: Fraction::from_millionths(900_000),
                    minimum_hosts: 2,
                    request_volume: 7,
                }),
                successful_active_health_check_uneject_host: false,
            })
        );
    }

    #[test]
    fn the_failure_rate_keys_are_accepted_while_it_is_off() {
        let read = spec("failure_rate = \"off\"\nminimum_hosts = 2");
        assert_eq!(read.map(|s| s.failure_rate), Some(None));
    }

    #[test]
    fn success_rate_detection_is_on_by_default_and_its_keys_are_accepted_while_it_is_off() {
        assert_eq!(
            spec("").and_then(|s| s.success_rate),
            Some(SuccessRateSpec {
                stdev_factor: 1.9,
                minimum_hosts: 5,
                request_volume: 100,
            })
        );
        let read = spec(
            "success_rate_stdev_factor = \"off\"\nsuccess_rate_minimum_hosts = 2\n\
             success_rate_request_volume = 10",
        );
        assert_eq!(read.map(|s| s.success_rate), Some(None));
    }

    #[test]
    fn the_max_ejection_time_defaults_to_300s_or_the_base_if_longer() {
        let read = spec("base_ejection_time = \"10m\"");
        assert_eq!(
            read.map(|s| s.max_ejection_time),
            Some(SimDuration::from_secs(600))
        );
    }

    #[test]
    fn bad_values_are_located_errors() {
        let cases = [
            (
                "consecutive_errors = 0",
                "outlier_detection.consecutive_errors: expected a positive integer, found 0",
            ),
            (
                "interval = \"0s\"",
                "outlier_detection.interval: expected a positive duration, found \"0s\"",
            ),
            (
                "base_ejection_time = \"0s\"",
                "outlier_detection.base_ejection_time: expected a positive duration, \
                 found \"0s\"",
            ),
            (
                "max_ejection_time = \"10s\"",
                "outlier_detection.max_ejection_time: expected at least base_ejection_time \
                 (\"30s\"), found \"10s\"",
            ),
            (
                "max_ejection_percent = 101",
                "outlier_detection.max_ejection_percent: expected a percentage from 0 to \
                 100, found 101",
            ),
            (
                "max_ejection_percent = -1",
                "outlier_detection.max_ejection_percent: expected a percentage from 0 to \
                 100, found -1",
            ),
            (
                "failure_rate = 0",
                "outlier_detection.failure_rate: expected a fraction greater than 0 and at \
                 most 1 or \"off\", found 0",
            ),
            (
                "failure_rate = 85",
                "outlier_detection.failure_rate: expected a fraction greater than 0 and at \
                 most 1 or \"off\", found 85",
            ),
            (
                "success_rate_stdev_factor = 0",
                "outlier_detection.success_rate_stdev_factor: expected a positive number or \
                 \"off\", found 0",
            ),
            (
                "success_rate_stdev_factor = -1.9",
                "outlier_detection.success_rate_stdev_factor: expected a positive number or \
                 \"off\", found -1.9",
            ),
            (
                "success_rate_stdev_factor = \"on\"",
                "outlier_detection.success_rate_stdev_factor: expected a positive number or \
                 \"off\", found \"on\"",
            ),
            (
                "success_rate_minimum_hosts = 0",
                "outlier_detection.success_rate_minimum_hosts: expected a positive integer, \
                 found 0",
            ),
            (
                "success_rate_request_volume = 1.5",
                "outlier_detection.success_rate_request_volume: invalid type: floating point \
                 `1.5`, expected an integer",
            ),
            (
                "minimum_hosts = 0",
                "outlier_detection.minimum_hosts: expected a positive integer, found 0",
            ),
            (
                "successful_active_health_check_uneject_host = 0",
                "outlier_detection.successful_active_health_check_uneject_host: invalid type: \
                 integer `0`, expected a boolean",
            ),
            (
                "always_eject_one_host = 1",
                "outlier_detection.always_eject_one_host: invalid type: integer `1`, \
                 expected a boolean",
            ),
        ];
        for (line, message) in cases {
            let error = error(&with("outlier_detection", line));
            assert!(error.starts_with("x.toml:8:"), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }

    #[test]
    fn a_max_below_a_given_base_quotes_the_base() {
        let source = format!(
            "{MINIMAL}[outlier_detection]\nbase_ejection_time = \"1m\"\n\
             max_ejection_time = \"30s\"\n"
        );
        assert!(
            error(&source)
                .ends_with("expected at least base_ejection_time (\"1m\"), found \"30s\"")
        );
    }
}
