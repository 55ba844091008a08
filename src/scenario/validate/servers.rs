//! `[[servers]]`: each group's values, group names distinct (they name the rows of
//! servers.csv), and a bounded fleet. A weight is checked against the balancer's
//! algorithm, since only some algorithms need it positive.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::balancer::Algorithm;
use crate::engine::SimDuration;
use crate::model::{FailureProcess, Fraction, ServerGroupSpec};
use crate::scenario::raw::RawServer;
use crate::scenario::suggest;

/// The most servers a run may have in all, so that a typo such as `count = 1000000000`
/// is an error rather than an out-of-memory abort.
pub const MAX_SERVERS: u64 = 1_000_000;

impl Checker<'_> {
    /// The index of the `[[servers]]` group `name` names (at `path`), or an error that
    /// lists the groups and suggests the nearest; `None` too when the groups themselves
    /// were invalid.
    pub(super) fn group_named(
        &mut self,
        name: &Spanned<String>,
        path: &str,
        groups: Option<&[ServerGroupSpec]>,
    ) -> Option<usize> {
        let groups = groups?;
        let found = groups.iter().position(|g| g.name == *name.get_ref());
        if found.is_none() {
            let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
            self.error(
                name.span().start,
                path,
                format!(
                    "unknown group {:?}, {}",
                    name.get_ref(),
                    suggest::expected_one_of(name.get_ref(), &names)
                ),
            );
        }
        found
    }

    /// `[[servers]]`: at least one group; `algorithm` is the balancer's, `None` when that
    /// is itself in error (then no weight is reported for it).
    pub(super) fn servers(
        &mut self,
        servers: Option<&Spanned<Vec<Spanned<RawServer>>>>,
        algorithm: Option<Algorithm>,
    ) -> Option<Vec<ServerGroupSpec>> {
        let (offset, groups) = match servers {
            None => (0, &[][..]),
            Some(servers) => (servers.span().start, servers.get_ref().as_slice()),
        };
        if groups.is_empty() {
            self.error(offset, "servers", "expected at least one [[servers]] group");
            return None;
        }
        let mut specs = Some(Vec::with_capacity(groups.len()));
        let mut names: Vec<(&str, usize)> = Vec::new();
        let mut total: u64 = 0;
        for (index, group) in groups.iter().enumerate() {
            let path = format!("servers[{index}]");
            let spec = self.server_group(group, &path, algorithm);
            if !self.distinct_name(group, &path, index, &mut names) {
                specs = None;
            }
            if let Some(spec) = &spec {
                total = total.saturating_add(u64::from(spec.count));
            }
            match (&mut specs, spec) {
                (Some(list), Some(spec)) => list.push(spec),
                _ => specs = None,
            }
        }
        if total > MAX_SERVERS {
            self.error(
                offset,
                "servers",
                format!("expected at most {MAX_SERVERS} servers in all, found {total}"),
            );
            return None;
        }
        specs
    }

    /// Checks that a group's name (given or default) is not an earlier group's, and
    /// records it in `names`; false for a duplicate.
    fn distinct_name<'r>(
        &mut self,
        group: &'r Spanned<RawServer>,
        path: &str,
        index: usize,
        names: &mut Vec<(&'r str, usize)>,
    ) -> bool {
        let name_path = format!("{path}.name");
        let (name, offset) = match &group.get_ref().name {
            Some(name) => (name.get_ref().as_str(), name.span().start),
            // A name serde rejected fell back to the default: not a real duplicate.
            None if self.is_removed(&name_path) => return true,
            None => ("server", group.span().start),
        };
        if let Some((_, first)) = names.iter().find(|(n, _)| *n == name) {
            self.error(
                offset,
                &name_path,
                format!(
                    "duplicate group name {name:?} (servers[{first}] has it too); \
                     give each [[servers]] group its own name"
                ),
            );
            return false;
        }
        names.push((name, index));
        true
    }

    fn server_group(
        &mut self,
        group: &Spanned<RawServer>,
        path: &str,
        algorithm: Option<Algorithm>,
    ) -> Option<ServerGroupSpec> {
        let raw = group.get_ref();
        let name = match &raw.name {
            None => Some("server".to_string()),
            Some(name) => self.name(name, &format!("{path}.name")),
        };
        let count = self.count(raw.count.as_ref(), &format!("{path}.count"), 1);
        let workers = self.count(raw.workers.as_ref(), &format!("{path}.workers"), 1);
        let queue_limit = match &raw.queue {
            None => Some(None),
            Some(queue) => self.queue(queue, &format!("{path}.queue")),
        };
        let speed = match &raw.speed {
            None => Some(1.0),
            Some(speed) => self.number(speed, &format!("{path}.speed"), Bound::Positive),
        };
        let weight = match &raw.weight {
            None => Some(1),
            Some(weight) => {
                let value = self
                    .integer(weight, &format!("{path}.weight"), 0, i128::from(u32::MAX))
                    .and_then(|w| u32::try_from(w).ok());
                match (value, algorithm) {
                    (Some(0), Some(algorithm)) if algorithm.uses_weights() => {
                        self.error(
                            weight.span().start,
                            &format!("{path}.weight"),
                            format!(
                                "expected a positive weight under {:?}, found 0",
                                algorithm.name()
                            ),
                        );
                        None
                    }
                    _ => value,
                }
            }
        };
        let zone = match &raw.zone {
            None => Some("a".to_string()),
            Some(zone) if zone.get_ref().is_empty() => {
                self.error(
                    zone.span().start,
                    &format!("{path}.zone"),
                    "expected a zone name, found \"\"",
                );
                None
            }
            Some(zone) => Some(zone.get_ref().clone()),
        };
        let boot = match &raw.boot {
            None => Some(SimDuration::ZERO),
            Some(boot) => self.duration(boot, &format!("{path}.boot")),
        };
        let failures = match (&raw.mtbf, &raw.mttr) {
            (None, None) => Some(None),
            (Some(mtbf), Some(mttr)) => {
                let mtbf = self.positive_duration(mtbf, &format!("{path}.mtbf"));
                let mttr = self.positive_duration(mttr, &format!("{path}.mttr"));
                mtbf.zip(mttr)
                    .map(|(mtbf, mttr)| Some(FailureProcess { mtbf, mttr }))
            }
            (Some(given), None) | (None, Some(given)) => {
                let (key, missing) = if raw.mtbf.is_some() {
                    ("mtbf", "mttr")
                } else {
                    ("mttr", "mtbf")
                };
                self.error(
                    given.span().start,
                    &format!("{path}.{missing}"),
                    format!(
                        "missing: {key} needs {missing} (crashes need both the mean time \
                         between failures and the mean time to repair)"
                    ),
                );
                None
            }
        };
        let error_fraction = match &raw.error_fraction {
            None => Some(Fraction::ZERO),
            Some(fraction) => self
                .number(fraction, &format!("{path}.error_fraction"), Bound::Fraction)
                .map(Fraction::from_f64),
        };
        let deregistration_delay = match &raw.deregistration_delay {
            None => Some(ServerGroupSpec::DEFAULT_DEREGISTRATION_DELAY),
            Some(delay) => self.duration(delay, &format!("{path}.deregistration_delay")),
        };
        let resources = match &raw.resources {
            None => Some(None),
            Some(resources) => self.resources(resources, path).map(Some),
        };
        let pre_stop = match &raw.pre_stop {
            None => Some(SimDuration::ZERO),
            Some(pre_stop) => self.duration(pre_stop, &format!("{path}.pre_stop")),
        };
        let price_per_hour = match &raw.price_per_hour {
            None => Some(0.0),
            Some(price) => {
                self.number(price, &format!("{path}.price_per_hour"), Bound::NonNegative)
            }
        };
        Some(ServerGroupSpec {
            name: name?,
            count: count?,
            workers: workers?,
            queue_limit: queue_limit?,
            speed: speed?,
            weight: weight?,
            zone: zone?,
            boot: boot?,
            failures: failures?,
            error_fraction: error_fraction?,
            deregistration_delay: deregistration_delay?,
            resources: resources?,
            pre_stop: pre_stop?,
            price_per_hour: price_per_hour?,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::SimDuration;
    use crate::scenario::validate::testing::{MINIMAL, error, valid, with};

    #[test]
    fn server_group_values_are_checked() {
        let group = |line: &str| error(&with("servers", line));
        assert!(group("count = 0").contains("servers[0].count: expected a positive integer"));
        assert!(group("speed = 0").contains("servers[0].speed: expected a positive number"));
        assert!(group("speed = inf").contains("expected a finite number, found inf"));
        assert!(group("queue = -1").contains("expected a non-negative integer, found -1"));
        assert!(group("queue = \"unbound\"").ends_with("did you mean \"unbounded\"?"));
        assert!(group("weight = -1").contains("servers[0].weight"));
        assert!(group("zone = \"\"").contains("servers[0].zone"));
        assert!(group("count = 2000000").contains("at most 1000000 servers"));
        assert!(
            group("error_fraction = 1.5")
                .contains("servers[0].error_fraction: expected a fraction from 0 to 1, found 1.5")
        );
        assert!(group("error_fraction = -0.1").contains("servers[0].error_fraction"));
        assert!(
            group("deregistration_delay = \"5 min\"").contains("servers[0].deregistration_delay")
        );
        assert!(
            group("pre_stop = \"-5s\"")
                .contains("servers[0].pre_stop: expected a non-negative duration, found \"-5s\"")
        );
        assert!(
            group("price_per_hour = -0.1")
                .contains("servers[0].price_per_hour: expected a non-negative number, found -0.1")
        );
        let run = valid(&with("servers", "queue = 0")).variants[0].run.clone();
        assert_eq!(run.servers[0].queue_limit, Some(0));
    }

    #[test]
    fn pre_stop_and_price_default_to_zero_and_are_read() {
        let group = &valid(MINIMAL).variants[0].run.servers[0];
        assert_eq!(
            (group.pre_stop, group.price_per_hour),
            (SimDuration::ZERO, 0.0)
        );
        let source = with("servers", "pre_stop = \"5s\"\nprice_per_hour = 0.0416");
        let group = &valid(&source).variants[0].run.servers[0];
        assert_eq!(
            (group.pre_stop, group.price_per_hour),
            (SimDuration::from_secs(5), 0.0416)
        );
    }

    #[test]
    fn a_zero_weight_is_fine_when_the_algorithm_ignores_weights() {
        let scenario = valid(&with("servers", "weight = 0"));
        assert_eq!(scenario.variants[0].run.servers[0].weight, 0);
    }

    #[test]
    fn group_names_must_be_distinct_even_by_default() {
        let source = format!("{MINIMAL}[[servers]]\n");
        assert_eq!(
            error(&source),
            "x.toml:7:1: servers[1].name: duplicate group name \"server\" (servers[0] has \
             it too); give each [[servers]] group its own name"
        );
        let source = format!("{MINIMAL}[[servers]]\nname = \"b\"\n");
        assert_eq!(valid(&source).variants[0].run.servers.len(), 2);
    }

    #[test]
    fn a_sweep_can_make_a_weight_invalid_for_some_variants_only() {
        let source = format!(
            "{}[sweep]\n\"balancer.algorithm\" = [\"round-robin\", \"weighted-round-robin\"]\n",
            with("servers", "weight = 0")
        );
        assert!(error(&source).contains("expected a positive weight under"));
    }
}
