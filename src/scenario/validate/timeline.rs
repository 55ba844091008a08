//! `[[timeline]]`: scheduled changes to the cluster.
//!
//! Each action is checked on its own (its keys for its kind), then all of them in time
//! order against the cluster as it will be at that moment: a removed or slowed server must
//! be up then (servers added earlier in the timeline included, by the names they will get),
//! and no removal may leave the cluster without a server. So a run never meets an action
//! it cannot apply.

use toml::Spanned;

use super::checker::Checker;
use super::servers::MAX_SERVERS;
use super::values::{Bound, seconds};
use crate::engine::{SimDuration, SimTime};
use crate::model::{Change, Fraction, ServerGroupSpec, TimelineAction};
use crate::scenario::raw::RawAction;
use crate::scenario::suggest;

/// The actions a timeline entry can take, and the keys each takes besides `at` and
/// `action`.
const ACTIONS: [(&str, &[&str]); 6] = [
    ("add", &["group", "count"]),
    ("remove", &["server", "mode"]),
    ("set-speed", &["server", "speed"]),
    ("set-errors", &["server", "error_fraction"]),
    ("crash", &["server", "downtime"]),
    ("zone-outage", &["zone", "downtime"]),
];
/// How a server is removed.
const MODES: [&str; 2] = ["graceful", "abrupt"];

/// An action checked on its own, with where it was written for the checks in time order.
struct Checked<'r> {
    action: TimelineAction,
    index: usize,
    raw: &'r Spanned<RawAction>,
}

impl Checker<'_> {
    /// The timeline, sorted by time (file order within an instant), or `None` after an
    /// error. `groups` and `duration` are `None` when their own checks failed: the actions
    /// are then checked as far as possible without them.
    pub(super) fn timeline(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<RawAction>>>>,
        groups: Option<&[ServerGroupSpec]>,
        duration: Option<SimDuration>,
    ) -> Option<Vec<TimelineAction>> {
        let Some(raw) = raw else {
            return Some(Vec::new());
        };
        let mut checked = Some(Vec::new());
        for (index, entry) in raw.get_ref().iter().enumerate() {
            let action = self.action(entry, index, groups, duration);
            match (&mut checked, action) {
                (Some(list), Some(action)) => list.push(Checked {
                    action,
                    index,
                    raw: entry,
                }),
                _ => checked = None,
            }
        }
        let mut checked = checked?;
        checked.sort_by_key(|c| (c.action.at, c.index));
        self.replay_membership(&checked, groups?)?;
        Some(checked.into_iter().map(|c| c.action).collect())
    }

    fn action(
        &mut self,
        entry: &Spanned<RawAction>,
        index: usize,
        groups: Option<&[ServerGroupSpec]>,
        duration: Option<SimDuration>,
    ) -> Option<TimelineAction> {
        let raw = entry.get_ref();
        let path = format!("timeline[{index}]");
        let at = match &raw.at {
            None => {
                self.error(
                    entry.span().start,
                    &format!("{path}.at"),
                    "missing: expected the time of the action, like \"2m\"",
                );
                None
            }
            Some(at) => self
                .duration(at, &format!("{path}.at"))
                .and_then(|time| match duration {
                    Some(duration) if time >= duration => {
                        self.error(
                            at.span().start,
                            &format!("{path}.at"),
                            format!(
                                "expected a time before the end of the run ({}), found {:?}",
                                seconds(duration.as_nanos()),
                                at.get_ref().0
                            ),
                        );
                        None
                    }
                    _ => Some(SimTime::ZERO + time),
                }),
        };
        let names = ACTIONS.map(|(name, _)| name);
        let Some(kind) = &raw.action else {
            self.error(
                entry.span().start,
                &format!("{path}.action"),
                format!("missing: expected one of {}", quoted(&names)),
            );
            return None;
        };
        let kind_name = kind.get_ref().as_str();
        let Some(&(_, takes)) = ACTIONS.iter().find(|(name, _)| *name == kind_name) else {
            self.error(
                kind.span().start,
                &format!("{path}.action"),
                format!(
                    "unknown action {kind_name:?}, {}",
                    suggest::expected_one_of(kind_name, &names)
                ),
            );
            return None;
        };
        self.only(raw, &path, kind_name, takes);
        let change = match kind_name {
            "add" => self.add(raw, &path, entry, groups),
            "remove" => self.remove(raw, &path, entry),
            "set-speed" => self.set_speed(raw, &path, entry),
            "set-errors" => self.set_errors(raw, &path, entry),
            "crash" => {
                let downtime = self.downtime(raw, &path);
                let server = self.server_name(raw, &path, entry);
                Some(Change::Crash {
                    server: server?,
                    downtime: downtime?,
                })
            }
            _ => {
                let downtime = self.downtime(raw, &path);
                let zone = self.zone(raw, &path, entry, groups);
                Some(Change::ZoneOutage {
                    zone: zone?,
                    downtime: downtime?,
                })
            }
        };
        Some(TimelineAction {
            at: at?,
            change: change?,
        })
    }

    fn add(
        &mut self,
        raw: &RawAction,
        path: &str,
        entry: &Spanned<RawAction>,
        groups: Option<&[ServerGroupSpec]>,
    ) -> Option<Change> {
        let count = self.count(raw.count.as_ref(), &format!("{path}.count"), 1);
        let group = match &raw.group {
            None => {
                self.error(
                    entry.span().start,
                    &format!("{path}.group"),
                    "missing: expected the name of the [[servers]] group to add to",
                );
                None
            }
            Some(name) => self.group_named(name, &format!("{path}.group"), groups),
        };
        Some(Change::Add {
            group: group?,
            count: count?,
        })
    }

    fn remove(
        &mut self,
        raw: &RawAction,
        path: &str,
        entry: &Spanned<RawAction>,
    ) -> Option<Change> {
        let abrupt = match &raw.mode {
            None => Some(false),
            Some(mode) => self.choice(mode, &format!("{path}.mode"), "mode", &MODES, |m| {
                MODES.iter().position(|&known| known == m).map(|i| i == 1)
            }),
        };
        let server = self.server_name(raw, path, entry);
        Some(Change::Remove {
            server: server?,
            abrupt: abrupt?,
        })
    }

    fn set_speed(
        &mut self,
        raw: &RawAction,
        path: &str,
        entry: &Spanned<RawAction>,
    ) -> Option<Change> {
        let speed = match &raw.speed {
            None => {
                self.error(
                    entry.span().start,
                    &format!("{path}.speed"),
                    "missing: expected the server's new speed, like 0.5",
                );
                None
            }
            Some(speed) => self.number(speed, &format!("{path}.speed"), Bound::Positive),
        };
        let server = self.server_name(raw, path, entry);
        Some(Change::SetSpeed {
            server: server?,
            speed: speed?,
        })
    }

    fn set_errors(
        &mut self,
        raw: &RawAction,
        path: &str,
        entry: &Spanned<RawAction>,
    ) -> Option<Change> {
        let fraction = match &raw.error_fraction {
            None => {
                self.error(
                    entry.span().start,
                    &format!("{path}.error_fraction"),
                    "missing: expected the share of requests answered with errors, like 0.2",
                );
                None
            }
            Some(fraction) => self
                .number(fraction, &format!("{path}.error_fraction"), Bound::Fraction)
                .map(Fraction::from_f64),
        };
        let server = self.server_name(raw, path, entry);
        Some(Change::SetErrors {
            server: server?,
            fraction: fraction?,
        })
    }

    fn server_name(
        &mut self,
        raw: &RawAction,
        path: &str,
        entry: &Spanned<RawAction>,
    ) -> Option<String> {
        match &raw.server {
            Some(server) => Some(server.get_ref().clone()),
            None => {
                self.error(
                    entry.span().start,
                    &format!("{path}.server"),
                    "missing: expected a server's name, like \"web-3\"",
                );
                None
            }
        }
    }

    /// A key that the action does not take is an error, not silently ignored.
    fn only(&mut self, raw: &RawAction, path: &str, kind: &str, takes: &[&str]) {
        let given: [(&str, Option<usize>); 8] = [
            ("server", raw.server.as_ref().map(|v| v.span().start)),
            ("mode", raw.mode.as_ref().map(|v| v.span().start)),
            ("group", raw.group.as_ref().map(|v| v.span().start)),
            ("count", raw.count.as_ref().map(|v| v.span().start)),
            ("speed", raw.speed.as_ref().map(|v| v.span().start)),
            ("zone", raw.zone.as_ref().map(|v| v.span().start)),
            ("downtime", raw.downtime.as_ref().map(|v| v.span().start)),
            (
                "error_fraction",
                raw.error_fraction.as_ref().map(|v| v.span().start),
            ),
        ];
        for (key, offset) in given {
            if let Some(offset) = offset
                && !takes.contains(&key)
            {
                self.error(
                    offset,
                    &format!("{path}.{key}"),
                    format!(
                        "not used by action {kind:?}, which takes {}: remove it",
                        takes.join(" and ")
                    ),
                );
            }
        }
    }

    /// `downtime`: how long a crashed server stays down before it restarts; absent, it
    /// stays down.
    fn downtime(&mut self, raw: &RawAction, path: &str) -> Option<Option<SimDuration>> {
        match &raw.downtime {
            None => Some(None),
            Some(downtime) => self
                .positive_duration(downtime, &format!("{path}.downtime"))
                .map(Some),
        }
    }

    /// `zone`: a zone some `[[servers]]` group is in.
    fn zone(
        &mut self,
        raw: &RawAction,
        path: &str,
        entry: &Spanned<RawAction>,
        groups: Option<&[ServerGroupSpec]>,
    ) -> Option<String> {
        let Some(zone) = &raw.zone else {
            self.error(
                entry.span().start,
                &format!("{path}.zone"),
                "missing: expected the zone that goes down, like \"b\"",
            );
            return None;
        };
        let mut zones: Vec<&str> = groups?.iter().map(|g| g.zone.as_str()).collect();
        zones.sort_unstable();
        zones.dedup();
        if !zones.contains(&zone.get_ref().as_str()) {
            self.error(
                zone.span().start,
                &format!("{path}.zone"),
                format!(
                    "unknown zone {:?}, {}",
                    zone.get_ref(),
                    suggest::expected_one_of(zone.get_ref(), &zones)
                ),
            );
            return None;
        }
        Some(zone.get_ref().clone())
    }

    /// Plays the actions in time order over the names of the servers up, so that each
    /// removal or speed change names a server that will be up, and no removal empties the
    /// cluster.
    fn replay_membership(
        &mut self,
        actions: &[Checked<'_>],
        groups: &[ServerGroupSpec],
    ) -> Option<()> {
        let mut up: Vec<String> = groups
            .iter()
            .flat_map(|g| (0..g.count).map(move |i| format!("{}-{i}", g.name)))
            .collect();
        let mut next_index: Vec<u32> = groups.iter().map(|g| g.count).collect();
        let mut ok = true;
        for checked in actions {
            let path = format!("timeline[{}]", checked.index);
            let server_span = || {
                checked
                    .raw
                    .get_ref()
                    .server
                    .as_ref()
                    .map_or(checked.raw.span().start, |s| s.span().start)
            };
            match &checked.action.change {
                Change::Add { group, count } => {
                    // Every server that ever joins has an id and a name for the run's
                    // length: the run's servers in all stay within the model's bound.
                    let joined: u64 = next_index.iter().map(|&n| u64::from(n)).sum();
                    let total = joined + u64::from(*count);
                    if total > MAX_SERVERS {
                        let count_span = checked.raw.get_ref().count.as_ref();
                        self.error(
                            count_span.map_or(checked.raw.span().start, |c| c.span().start),
                            &format!("{path}.count"),
                            format!(
                                "expected at most {MAX_SERVERS} servers in all, found {total} \
                                 with this addition"
                            ),
                        );
                        ok = false;
                        continue;
                    }
                    for _ in 0..*count {
                        up.push(format!("{}-{}", groups[*group].name, next_index[*group]));
                        next_index[*group] += 1;
                    }
                }
                Change::ZoneOutage { .. } => {}
                Change::Remove { server, .. }
                | Change::SetSpeed { server, .. }
                | Change::SetErrors { server, .. }
                | Change::Crash { server, .. } => {
                    let Some(position) = up.iter().position(|name| name == server) else {
                        self.error(
                            server_span(),
                            &format!("{path}.server"),
                            format!(
                                "no server {server:?} is up at {}{}",
                                seconds(checked.action.at.as_nanos()),
                                suggest::did_you_mean(server, up.iter().map(String::as_str))
                            ),
                        );
                        ok = false;
                        continue;
                    };
                    if matches!(checked.action.change, Change::Remove { .. }) {
                        if up.len() == 1 {
                            self.error(
                                server_span(),
                                &format!("{path}.server"),
                                format!(
                                    "removing {server:?} at {} would leave no server; add \
                                     one before it or keep it",
                                    seconds(checked.action.at.as_nanos())
                                ),
                            );
                            ok = false;
                            continue;
                        }
                        up.remove(position);
                    }
                }
            }
        }
        ok.then_some(())
    }
}

fn quoted(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
    quoted.join(", ")
}

#[cfg(test)]
pub(super) mod tests {
    use std::path::PathBuf;

    use super::super::validate;
    use crate::model::Change;

    /// Each fixture under tests/fixtures/bad, the location and key path its one error has,
    /// and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "timeline_unknown_server",
            "14:10: timeline[0].server: ",
            "no server \"web-7\" is up at 2s; did you mean \"web-0\"?",
        ),
        (
            "timeline_past_duration",
            "12:6: timeline[0].at: ",
            "expected a time before the end of the run (10s), found \"12s\"",
        ),
        (
            "timeline_negative_count",
            "15:9: timeline[0].count: ",
            "expected a positive integer, found -1",
        ),
        (
            "timeline_too_many_servers",
            "15:9: timeline[0].count: ",
            "expected at most 1000000 servers in all, found 4000000002 with this addition",
        ),
        (
            "timeline_unknown_group",
            "14:9: timeline[0].group: ",
            "unknown group \"db\", expected \"web\"",
        ),
        (
            "timeline_removes_last_server",
            "19:10: timeline[1].server: ",
            "removing \"web-1\" at 3s would leave no server",
        ),
        (
            "timeline_missing_speed",
            "11:1: timeline[0].speed: ",
            "missing: expected the server's new speed",
        ),
        (
            "timeline_outage_unknown_zone",
            "15:8: timeline[0].zone: ",
            "unknown zone \"eu-west-1b\", expected \"eu-west-1a\"",
        ),
        (
            "timeline_error_fraction_above_one",
            "15:18: timeline[0].error_fraction: ",
            "expected a fraction from 0 to 1, found 1.5",
        ),
        (
            "tier_zero_workers",
            "13:11: tiers[0].workers: ",
            "expected a positive integer, found 0",
        ),
        (
            "tiers_too_many",
            "11:1: tiers: ",
            "expected at most 16 tiers, found 17",
        ),
        (
            "balancer_zero_instances",
            "13:13: balancer.instances: ",
            "expected a positive integer, found 0",
        ),
    ];

    #[test]
    fn every_bad_timeline_tier_or_balancer_fixture_is_one_located_error() {
        super::super::testing::assert_bad_fixtures(BAD);
    }

    #[test]
    fn actions_are_sorted_by_time_and_added_servers_can_be_removed_later() {
        let source = r#"
            duration = "10s"
            [workload]
            rate = 100
            service = { dist = "exponential", mean = "10ms" }
            [[servers]]
            name = "web"
            count = 1
            [[timeline]]
            at = "5s"
            action = "remove"
            server = "web-2"
            mode = "abrupt"
            [[timeline]]
            at = "1s"
            action = "add"
            group = "web"
            count = 2
            [[timeline]]
            at = "5s"
            action = "set-speed"
            server = "web-1"
            speed = 0.5
        "#;
        let scenario = validate(source, &PathBuf::from("t.toml")).unwrap_or_else(|e| panic!("{e}"));
        let timeline = &scenario.variants[0].run.timeline;
        let changes: Vec<&Change> = timeline.iter().map(|a| &a.change).collect();
        assert_eq!(
            changes,
            vec![
                &Change::Add { group: 0, count: 2 },
                &Change::Remove {
                    server: "web-2".to_string(),
                    abrupt: true
                },
                &Change::SetSpeed {
                    server: "web-1".to_string(),
                    speed: 0.5
                },
            ]
        );
    }
}
