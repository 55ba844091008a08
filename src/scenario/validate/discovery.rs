//! `[discovery]`: a service registry the balancer learns membership from, by polling it
//! (DNS with a TTL, a polling agent) or by watching it (Consul blocking queries, the
//! Kubernetes endpoints watch), and the registry's own health check of each instance.
//! Each mode takes its own timing key and refuses the other's, which would do nothing.

use toml::Spanned;

use super::checker::Checker;
use crate::engine::SimDuration;
use crate::model::{DiscoveryMode, DiscoverySpec};
use crate::scenario::raw::RawDiscovery;
use crate::scenario::suggest;

/// The modes, by name.
const MODES: [&str; 2] = ["poll", "watch"];

/// The seed's Consul check interval.
const DEFAULT_CHECK_INTERVAL: SimDuration = SimDuration::from_secs(10);

impl Checker<'_> {
    /// The discovery spec (`Some(None)` when the section is absent), or `None` after an
    /// error.
    pub(super) fn discovery(
        &mut self,
        raw: Option<&Spanned<RawDiscovery>>,
    ) -> Option<Option<DiscoverySpec>> {
        let Some(table) = raw else {
            return Some(None);
        };
        let offset = table.span().start;
        let raw = table.get_ref();
        let check_interval = match &raw.check_interval {
            None => Some(DEFAULT_CHECK_INTERVAL),
            Some(interval) => self.positive_duration(interval, "discovery.check_interval"),
        };
        let Some(mode) = &raw.mode else {
            self.error(
                offset,
                "discovery.mode",
                format!("missing: {}", suggest::expected_one_of("", &MODES)),
            );
            return None;
        };
        let mode = self.choice(mode, "discovery.mode", "mode", &MODES, |n| {
            MODES.into_iter().find(|m| *m == n)
        })?;
        // The key the mode takes, and the other mode's, which it refuses.
        let poll = mode == "poll";
        let (taken, takes, refused, refuses, other_mode) = if poll {
            ("interval", &raw.interval, "delay", &raw.delay, "watch")
        } else {
            ("delay", &raw.delay, "interval", &raw.interval, "poll")
        };
        let what = if poll {
            "the poll period, like \"30s\""
        } else {
            "how long a change takes to reach the balancer, like \"2s\""
        };
        if let Some(other) = refuses {
            self.error(
                other.span().start,
                &format!("discovery.{refused}"),
                format!(
                    "not allowed with mode = {mode:?}, which takes {taken}: {refused} is for \
                     mode = {other_mode:?}"
                ),
            );
        }
        let path = format!("discovery.{taken}");
        let timing = match takes {
            None => {
                self.error(
                    offset,
                    &path,
                    format!("missing: mode = {mode:?} needs {taken}, {what}"),
                );
                None
            }
            // A poll period of zero would poll without end; a watch may be instant.
            Some(value) if poll => self.positive_duration(value, &path),
            Some(value) => self.duration(value, &path),
        };
        let mode = if poll {
            DiscoveryMode::Poll { interval: timing? }
        } else {
            DiscoveryMode::Watch { delay: timing? }
        };
        if refuses.is_some() {
            return None;
        }
        Some(Some(DiscoverySpec {
            mode,
            check_interval: check_interval?,
        }))
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::engine::SimDuration;
    use crate::model::{DiscoveryMode, DiscoverySpec};
    use crate::scenario::validate::testing::{MINIMAL, assert_bad_fixtures, error, valid};

    /// Each fixture under tests/fixtures/bad for this section, the location and key path
    /// of its one error, and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[(
        "discovery_interval_with_watch",
        "14:12: discovery.interval: ",
        "not allowed with mode = \"watch\", which takes delay: interval is for mode = \"poll\"",
    )];

    #[test]
    fn every_bad_discovery_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    fn spec(lines: &str) -> Option<DiscoverySpec> {
        let source = format!("{MINIMAL}[discovery]\n{lines}\n");
        valid(&source).variants[0].run.discovery.clone()
    }

    #[test]
    fn each_mode_takes_its_own_timing() {
        assert_eq!(
            spec("mode = \"poll\"\ninterval = \"30s\""),
            Some(DiscoverySpec {
                mode: DiscoveryMode::Poll {
                    interval: SimDuration::from_secs(30)
                },
                check_interval: SimDuration::from_secs(10),
            })
        );
        assert_eq!(
            spec("mode = \"watch\"\ndelay = \"0s\"\ncheck_interval = \"2s\""),
            Some(DiscoverySpec {
                mode: DiscoveryMode::Watch {
                    delay: SimDuration::ZERO
                },
                check_interval: SimDuration::from_secs(2),
            })
        );
        assert_eq!(valid(MINIMAL).variants[0].run.discovery, None);
    }

    #[test]
    fn bad_values_are_located_errors() {
        let cases = [
            (
                "interval = \"30s\"",
                "discovery.mode: missing: expected one of \"poll\", \"watch\"",
            ),
            (
                "mode = \"push\"",
                "discovery.mode: unknown mode \"push\", expected one of \"poll\", \"watch\"",
            ),
            (
                "mode = \"poll\"",
                "discovery.interval: missing: mode = \"poll\" needs interval, the poll \
                 period, like \"30s\"",
            ),
            (
                "mode = \"watch\"",
                "discovery.delay: missing: mode = \"watch\" needs delay, how long a change \
                 takes to reach the balancer, like \"2s\"",
            ),
            (
                "mode = \"poll\"\ninterval = \"0s\"",
                "discovery.interval: expected a positive duration, found \"0s\"",
            ),
            (
                "mode = \"poll\"\ninterval = \"30s\"\ndelay = \"1s\"",
                "discovery.delay: not allowed with mode = \"poll\", which takes interval: \
                 delay is for mode = \"watch\"",
            ),
            (
                "mode = \"watch\"\ndelay = \"1s\"\ncheck_interval = \"0s\"",
                "discovery.check_interval: expected a positive duration, found \"0s\"",
            ),
        ];
        for (lines, message) in cases {
            let error = error(&format!("{MINIMAL}[discovery]\n{lines}\n"));
            assert!(error.starts_with("x.toml:"), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }
}
