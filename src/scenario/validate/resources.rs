//! `[[servers]] resources`: the resource model a group's health checks read. CPU is always
//! read once the table is there; memory needs both a footprint per request and a capacity.
//! A threshold must be above 0 (a server at 0% would fail every check) and at most 1.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::model::{Fraction, MemorySpec, ResourceSpec};
use crate::scenario::raw::{Number, RawResources};

impl Checker<'_> {
    /// The resource model of the group at `path` (`servers[0]`), or `None` after an error.
    pub(super) fn resources(
        &mut self,
        resources: &Spanned<RawResources>,
        path: &str,
    ) -> Option<ResourceSpec> {
        let raw = resources.get_ref();
        let path = format!("{path}.resources");
        let threshold = |checker: &mut Self, value: Option<&Spanned<Number>>, key: &str| match value
        {
            None => Some(ResourceSpec::DEFAULT_THRESHOLD),
            Some(value) => checker
                .number(value, &format!("{path}.{key}"), Bound::PositiveFraction)
                .map(Fraction::from_f64),
        };
        let cpu_threshold = threshold(self, raw.cpu_threshold.as_ref(), "cpu_threshold");
        let memory_threshold = threshold(self, raw.memory_threshold.as_ref(), "memory_threshold");
        let memory = match (&raw.memory_per_request, &raw.memory_capacity) {
            (None, None) => {
                let stray = [
                    (
                        "memory_threshold",
                        raw.memory_threshold.as_ref().map(|v| v.span().start),
                    ),
                    (
                        "reject_when_full",
                        raw.reject_when_full.as_ref().map(|v| v.span().start),
                    ),
                ];
                for (key, offset) in stray {
                    if let Some(offset) = offset {
                        self.error(
                            offset,
                            &format!("{path}.{key}"),
                            "needs memory_per_request and memory_capacity (no memory is \
                             modelled without them)",
                        );
                        return None;
                    }
                }
                Some(None)
            }
            (Some(per_request), Some(capacity)) => {
                let per_request = self.number(
                    per_request,
                    &format!("{path}.memory_per_request"),
                    Bound::Positive,
                );
                let capacity = self.number(
                    capacity,
                    &format!("{path}.memory_capacity"),
                    Bound::Positive,
                );
                per_request.zip(capacity).zip(memory_threshold).map(
                    |((per_request, capacity), threshold)| {
                        Some(MemorySpec {
                            per_request,
                            capacity,
                            threshold,
                            reject_when_full: raw
                                .reject_when_full
                                .as_ref()
                                .is_some_and(|r| *r.get_ref()),
                        })
                    },
                )
            }
            (Some(given), None) | (None, Some(given)) => {
                let (key, missing) = if raw.memory_per_request.is_some() {
                    ("memory_per_request", "memory_capacity")
                } else {
                    ("memory_capacity", "memory_per_request")
                };
                self.error(
                    given.span().start,
                    &format!("{path}.{missing}"),
                    format!("missing: {key} needs {missing} (memory is a footprint per request against a capacity)"),
                );
                None
            }
        };
        Some(ResourceSpec {
            cpu_threshold: cpu_threshold?,
            memory: memory?,
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::model::{Fraction, MemorySpec, ResourceSpec};

    /// Each fixture under tests/fixtures/bad, the location and key path of its one error,
    /// and a fragment of its message: the new `[[servers]]` keys and `client_zones`.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "servers_resources_zero_threshold",
            "10:31: servers[0].resources.cpu_threshold: ",
            "expected a fraction greater than 0 and at most 1, found 0",
        ),
        (
            "servers_negative_error_fraction",
            "10:18: servers[0].error_fraction: ",
            "expected a fraction from 0 to 1, found -0.5",
        ),
        (
            "workload_unknown_client_zone",
            "6:27: workload.client_zones.c: ",
            "unknown zone \"c\", expected one of \"a\", \"b\"",
        ),
    ];

    #[test]
    fn every_bad_resource_error_or_zone_fixture_is_one_located_error() {
        crate::scenario::validate::testing::assert_bad_fixtures(BAD);
    }
    use crate::scenario::validate::testing::{error, valid, with};

    #[test]
    fn resources_default_to_the_seeds_ninety_percent() {
        let scenario = valid(&with(
            "servers",
            "resources = { memory_per_request = 2, memory_capacity = 100 }",
        ));
        assert_eq!(
            scenario.variants[0].run.servers[0].resources,
            Some(ResourceSpec {
                cpu_threshold: ResourceSpec::DEFAULT_THRESHOLD,
                memory: Some(MemorySpec {
                    per_request: 2.0,
                    capacity: 100.0,
                    threshold: Fraction::from_f64(0.9),
                    reject_when_full: false,
                }),
            })
        );
    }

    #[test]
    fn resource_values_are_checked() {
        let group = |line: &str| error(&with("servers", line));
        assert!(
            group("resources = { cpu_threshold = 0 }").contains(
                "servers[0].resources.cpu_threshold: expected a fraction greater than 0 and at most 1, found 0"
            )
        );
        assert!(
            group("resources = { memory_capacity = 10 }")
                .contains("servers[0].resources.memory_per_request: missing")
        );
        assert!(
            group("resources = { reject_when_full = true }")
                .contains("servers[0].resources.reject_when_full: needs memory_per_request")
        );
        assert!(group("resources = { cpu_treshold = 1 }").contains("cpu_threshold"));
    }
}
