//! Raw scenario to [`Scenario`]: every rule of the format, every error of the file at once.
//!
//! Validation never stops at the first problem: each check records its error (located at
//! the offending value, named by its key path) and carries on with what it can, so a user
//! fixes a file in one round instead of one error per run. Errors under an entry serde
//! already rejected are not repeated, and the errors of all variants are merged, sorted
//! by position and deduplicated (a mistake outside the sweep is the same in every variant).
//!
//! Messages read `expected <what>, found <value>`, plus `; did you mean "x"?` for names.
//!
//! Each section of the file is checked in a file of its own (workload.rs, trace.rs,
//! servers.rs, balancer.rs, tiers.rs, timeline.rs, health_check.rs, outlier_detection.rs,
//! panic_threshold.rs, circuit_breaker.rs, client.rs, resources.rs, zone_aware.rs,
//! database.rs, sessions.rs, slow_start.rs, autoscaler.rs with scaling_policy.rs,
//! discovery.rs, slo.rs, expect.rs), all through one `Checker` that locates their errors
//! (checker.rs) and with the value rules they share (values.rs). This file holds the
//! scenario-wide keys and calls each section once, so that a new section is a new file and
//! one call here.

mod autoscaler;
mod balancer;
mod checker;
mod circuit_breaker;
mod client;
mod database;
mod discovery;
mod duplicate;
mod expect;
#[cfg(test)]
mod fixtures;
mod health_check;
mod outlier_detection;
mod panic_threshold;
mod resources;
#[cfg(test)]
mod robustness;
mod scaling_policy;
mod servers;
mod sessions;
mod slo;
mod slow_start;
#[cfg(test)]
mod testing;
mod tiers;
mod timeline;
mod trace;
mod values;
mod workload;
mod zone_aware;

use std::collections::BTreeSet;
use std::path::Path;

use toml::de::DeTable;

use super::duration::parse_duration;
use super::raw::{self, RawScenario};
use super::replay::TraceCache;
use super::sweep::Sweep;
use super::{Expectation, Scenario, ScenarioError, ScenarioErrors, Variant};
use crate::engine::SimDuration;
use crate::model::{RunSpec, WorkloadSpec};
use checker::Checker;
use values::check_name;

/// The most replications of a scenario (its `replications`, or `--replications`): each
/// keeps a run's results until its scenario's report is written.
pub const MAX_REPLICATIONS: u32 = 100_000;

/// Reads a scenario from its text; `path` names the file in errors, gives the default
/// scenario name (its stem), and its folder is where trace paths start.
pub fn validate(source: &str, path: &Path) -> Result<Scenario, ScenarioErrors> {
    let file = path.display().to_string();
    let folder = path.parent().unwrap_or(Path::new(""));
    let mut traces = TraceCache::default();
    let mut errors = Vec::new();
    let located = |offset: usize, key_path: &str, message: &str| {
        ScenarioError::at(&file, source, offset, key_path, message)
    };

    let (document, syntax_errors) = DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let offset = error.span().map_or(0, |s| s.start);
            let key_path = if error.message().starts_with("duplicate key") {
                duplicate::key_path_at(source, offset)
            } else {
                String::new()
            };
            errors.push(located(offset, &key_path, error.message()));
        }
        return Err(finish(&file, errors));
    }

    let mut arena = String::new();
    let sweep = Sweep::plan(document.get_ref(), &mut arena);
    for error in &sweep.errors {
        errors.push(located(error.offset, &error.path, &error.message));
    }

    let mut header = None;
    let mut variants = Vec::new();
    let mut complete = true;
    for index in 0..sweep.variant_count() {
        let variant = sweep.variant(&document, index);
        let reading = raw::read(&variant.document);
        for error in &reading.errors {
            errors.push(located(error.offset, &error.path, &error.message));
        }
        let mut check = Checker {
            file: &file,
            source,
            removed: &reading.removed,
            folder,
            traces: &mut traces,
            errors: Vec::new(),
        };
        match &reading.raw {
            Some(raw) => {
                if header.is_none() {
                    header = Some(check.header(raw, path, &sweep));
                }
                match check.run(raw) {
                    Some(run) => variants.push(Variant {
                        label: variant.label,
                        values: variant.values,
                        run,
                    }),
                    None => complete = false,
                }
            }
            None => complete = false,
        }
        errors.extend(check.errors);
    }

    match header {
        Some(Some(header)) if complete && errors.is_empty() => Ok(Scenario {
            name: header.name,
            description: header.description,
            path: path.to_path_buf(),
            seed: header.seed,
            replications: header.replications,
            swept_keys: sweep.paths(),
            dimensions: sweep.dimensions().to_vec(),
            variants,
            expectations: header.expectations,
            source_hash: source_hash(source),
            warnings: traces.warnings,
        }),
        _ => {
            if errors.is_empty() {
                // Unreachable in practice: every failed check records an error.
                errors.push(located(0, "", "the scenario could not be read"));
            }
            Err(finish(&file, errors))
        }
    }
}

/// The hash a golden file records of its scenario's text: any edit changes it.
fn source_hash(source: &str) -> u64 {
    crate::hash::hash_bytes(source.as_bytes())
}

/// Sorts the scenario file's errors by position (stable, so one spot's errors keep their
/// order), then those of trace files, by file, in the order they were found (line order,
/// then a count of the rest), and drops repeats (the variants sharing a trace all report
/// its problems).
fn finish(file: &str, mut errors: Vec<ScenarioError>) -> ScenarioErrors {
    errors.sort_by(|a, b| {
        let key = |e: &ScenarioError| {
            let own = e.file == file;
            (!own, e.file.clone(), if own { e.position } else { None })
        };
        key(a).cmp(&key(b))
    });
    let mut seen = BTreeSet::new();
    errors.retain(|e| {
        seen.insert((
            e.file.clone(),
            e.position,
            e.key_path.clone(),
            e.message.clone(),
        ))
    });
    ScenarioErrors(errors)
}

/// The scenario-wide part of a scenario: the same for every variant.
struct Header {
    name: String,
    description: String,
    seed: u64,
    replications: u32,
    expectations: Vec<Expectation>,
}

impl Checker<'_> {
    /// The scenario-wide keys and `[[expect]]`, the same in every variant (nothing in them
    /// can be swept), so read from the first variant only.
    fn header(&mut self, raw: &RawScenario, path: &Path, sweep: &Sweep<'_>) -> Option<Header> {
        let name = match &raw.name {
            Some(name) => self.name(name, "name"),
            None => {
                let stem = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                match check_name(&stem) {
                    Ok(()) => Some(stem),
                    Err(problem) => {
                        self.error(
                            0,
                            "name",
                            format!(
                                "the file name {stem:?} cannot be the scenario's name ({problem}); \
                                 set `name`"
                            ),
                        );
                        None
                    }
                }
            }
        };
        let description = raw
            .description
            .as_ref()
            .map_or_else(String::new, |d| d.get_ref().clone());
        let seed = match &raw.seed {
            None => Some(1),
            Some(seed) => self
                .integer(seed, "seed", 0, i128::from(u64::MAX))
                .and_then(|s| u64::try_from(s).ok()),
        };
        let replications = self.count_up_to(
            raw.replications.as_ref(),
            "replications",
            1,
            MAX_REPLICATIONS,
        );
        let mut expectations = Some(Vec::new());
        for (index, expect) in raw.expect.iter().enumerate() {
            let checked = self.expectation(index, expect, sweep, replications);
            match (&mut expectations, checked) {
                (Some(list), Some(expectation)) => list.push(expectation),
                _ => expectations = None,
            }
        }
        Some(Header {
            name: name?,
            description,
            seed: seed?,
            replications: replications?,
            expectations: expectations?,
        })
    }

    /// One variant's run: its duration, warmup and time-series interval, and one call per
    /// section.
    fn run(&mut self, raw: &RawScenario) -> Option<RunSpec> {
        let replays = raw
            .workload
            .as_ref()
            .is_some_and(|w| w.get_ref().trace.is_some())
            || self.is_removed("workload.trace");
        let given = match &raw.duration {
            Some(duration) => Some(self.positive_duration(duration, "duration")),
            None if replays => None,
            None => {
                self.error(0, "duration", "missing: expected a duration like \"10m\"");
                Some(None)
            }
        };
        let sessions = self.sessions(raw.workload.as_ref());
        let session_rate = sessions
            .as_ref()
            .and_then(|s| s.as_ref().map(sessions::request_rate));
        let workload = self.workload(raw.workload.as_ref(), session_rate.as_ref());
        let duration = match (given, &workload) {
            (Some(duration), _) => duration,
            // Until just after the last request, so that it arrives.
            (None, Some(WorkloadSpec::Replay(replay))) => Some(SimDuration::from_nanos(
                replay.last_arrival().as_nanos().saturating_add(1),
            )),
            // The trace's problem is reported already.
            (None, _) => None,
        };
        let warmup = match &raw.warmup {
            None => Some(SimDuration::ZERO),
            Some(warmup) => {
                let parsed = self.duration(warmup, "warmup");
                if let (Some(w), Some(d)) = (parsed, duration)
                    && w >= d
                {
                    let limit = match &raw.duration {
                        Some(text) => format!("{:?}", text.get_ref().0),
                        None => format!("the trace's {d}"),
                    };
                    self.error(
                        warmup.span().start,
                        "warmup",
                        format!(
                            "expected a warmup shorter than duration ({limit}), found {:?}",
                            warmup.get_ref().0
                        ),
                    );
                    None
                } else {
                    parsed
                }
            }
        };
        let sample_interval = match &raw.timeseries_interval {
            None => Some(Some(SimDuration::from_secs(1))),
            Some(interval) if interval.get_ref().0 == "off" => Some(None),
            Some(interval) => {
                let path = "timeseries_interval";
                match parse_duration(&interval.get_ref().0) {
                    Ok(d) if !d.is_zero() => Some(Some(d)),
                    Ok(_) => {
                        self.error(
                            interval.span().start,
                            path,
                            format!(
                                "expected a positive duration or \"off\", found {:?}",
                                interval.get_ref().0
                            ),
                        );
                        None
                    }
                    Err(problem) => {
                        self.error(
                            interval.span().start,
                            path,
                            format!("{problem} (or \"off\" for no time series)"),
                        );
                        None
                    }
                }
            }
        };
        let balancer = self.balancer(raw.balancer.as_ref());
        let algorithm = balancer.as_ref().map(|b| b.algorithm);
        let servers = self.servers(raw.servers.as_ref(), algorithm);
        let tiers = self.tiers(raw.tiers.as_ref());
        let timeline = self.timeline(raw.timeline.as_ref(), servers.as_deref(), duration);
        let health_check = self.health_check(raw.health_check.as_ref());
        let outlier_detection = self.outlier_detection(raw.outlier_detection.as_ref());
        let panic_threshold = self.panic_threshold(raw.balancer.as_ref());
        let circuit_breaker = self.circuit_breaker(raw.circuit_breaker.as_ref());
        let client = self.client(raw.client.as_ref());
        let zone_aware = self.zone_aware(raw, servers.as_deref(), balancer.as_ref());
        let database = self.database(raw.database.as_ref(), duration);
        let has_sessions = match &workload {
            Some(WorkloadSpec::Replay(replay)) => replay
                .trace()
                .requests()
                .iter()
                .any(|r| r.session.is_some()),
            _ => sessions.as_ref().is_some_and(Option::is_some),
        };
        let affinity = self.affinity(raw.affinity.as_ref(), has_sessions);
        // Where `workload.sessions.state = "store"` asks for the store, if it does.
        let store_wanted = sessions
            .as_ref()
            .and_then(Option::as_ref)
            .filter(|s| s.shared_store)
            .and_then(|_| raw.workload.as_ref()?.get_ref().sessions.as_ref())
            .and_then(|s| s.get_ref().state.as_ref())
            .map(|state| state.span().start);
        let session_store = self
            .session_store(raw.session_store.as_ref(), store_wanted)
            .map(|store| store.filter(|_| store_wanted.is_some()));
        let slow_start = self.slow_start(raw.balancer.as_ref(), algorithm);
        let autoscaler = self.autoscaler(raw.autoscaler.as_ref(), servers.as_deref(), duration);
        let discovery = self.discovery(raw.discovery.as_ref());
        let slo = self.slo(raw.slo.as_ref(), sample_interval);
        Some(RunSpec {
            warmup: warmup?,
            sample_interval: sample_interval?,
            tiers: tiers?,
            timeline: timeline?,
            health_check: health_check?,
            outlier_detection: outlier_detection?,
            panic_threshold: panic_threshold?,
            circuit_breaker: circuit_breaker?,
            client: client?,
            zone_aware: zone_aware?,
            database: database?,
            sessions: sessions?,
            affinity: affinity?,
            session_store: session_store?,
            autoscaler: autoscaler?,
            discovery: discovery?,
            slow_start: slow_start?,
            slo: slo?,
            ..RunSpec::new(duration?, workload?, servers?, balancer?)
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::testing::{MINIMAL, error, errors, valid, with};
    use super::*;

    #[test]
    fn a_bad_swept_value_is_reported_at_the_sweep() {
        let source = format!("{MINIMAL}[sweep]\n\"servers.0.workers\" = [1, -2, 3]\n");
        assert_eq!(
            error(&source),
            "x.toml:8:27: servers[0].workers: expected a positive integer, found -2"
        );
        let source = format!("{MINIMAL}[sweep]\n\"servers.0.workers\" = [1, \"two\"]\n");
        assert_eq!(
            error(&source),
            "x.toml:8:27: servers[0].workers: invalid type: string \"two\", expected an integer"
        );
    }

    #[test]
    fn a_bad_value_in_a_range_is_reported_at_the_range() {
        let source =
            format!("{MINIMAL}[sweep]\n\"servers.0.workers\" = {{ from = 0, to = 2, step = 1 }}\n");
        assert_eq!(
            error(&source),
            "x.toml:8:23: servers[0].workers: expected a positive integer, found 0"
        );
    }

    #[test]
    fn a_mistake_outside_the_sweep_is_reported_once() {
        let source = with("", "warmup = \"1h\"");
        let source = format!("{source}[sweep]\n\"workload.rate\" = [1, 2, 3]\n");
        assert_eq!(errors(&source).len(), 1);
    }

    #[test]
    fn a_misspelled_sweep_key_suggests_the_valid_one() {
        let source = format!("{MINIMAL}[sweep]\n\"workload.clinets\" = [1]\n");
        assert!(error(&source).starts_with(
            "x.toml:8:1: sweep.\"workload.clinets\": \"workload\" has no key \"clinets\""
        ));
        assert!(error(&source).ends_with("did you mean \"clients\"?"));
    }

    #[test]
    fn other_errors_are_still_found_when_the_sweep_is_bad() {
        let source = with("", "warmup = \"1h\"");
        let source = format!("{source}[sweep]\n\"servers.5.count\" = [1]\n");
        let all = errors(&source);
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(all[0].starts_with("x.toml:2:10: warmup: "));
        assert!(all[1].starts_with("x.toml:9:1: sweep.\"servers.5.count\": "));
    }

    #[test]
    fn syntax_errors_are_located() {
        let message = error("duration = \"10s\"\nduration = \"20s\"\n");
        assert_eq!(message, "x.toml:2:1: duration: duplicate key");
        assert_eq!(
            error("a = [1,\n"),
            "x.toml:1:8: unclosed array, expected `]`"
        );
    }

    #[test]
    fn an_empty_file_names_every_missing_part() {
        assert_eq!(
            errors(""),
            [
                "x.toml:1:1: duration: missing: expected a duration like \"10m\"",
                "x.toml:1:1: workload: missing: expected a [workload] table",
                "x.toml:1:1: servers: expected at least one [[servers]] group",
            ]
        );
    }

    #[test]
    fn an_entry_serde_rejected_is_not_also_reported_missing() {
        let source = "duration = 10\nservers = 4\n[workload]\nrate = 1\nservice = 3\n";
        let all = errors(source);
        let paths: Vec<&str> = all
            .iter()
            .map(|e| e.split(": ").nth(1).unwrap_or_default())
            .collect();
        assert_eq!(
            paths,
            ["duration", "servers", "workload.service"],
            "{all:#?}"
        );
    }

    #[test]
    fn the_default_name_is_the_file_stem_and_must_be_valid() {
        let scenario = validate(MINIMAL, Path::new("dir/my-case.v2.toml")).expect("valid");
        assert_eq!(scenario.name, "my-case.v2");
        let errors = validate(MINIMAL, Path::new("dir/my case.toml")).expect_err("a space");
        assert_eq!(errors.0.len(), 1);
        assert!(errors.0[0].message.contains("set `name`"));
    }

    #[test]
    fn seed_and_replications_are_range_checked() {
        assert_eq!(
            error(&with("", "seed = -1")),
            "x.toml:2:8: seed: expected a non-negative integer, found -1"
        );
        assert_eq!(valid(&with("", "seed = 0")).seed, 0);
        assert!(error(&with("", "replications = 0")).ends_with("found 0"));
        assert!(error(&with("", "replications = 100001")).contains("at most 100000"));
        assert_eq!(
            valid(&with("", "replications = 100000")).replications,
            100_000
        );
    }

    #[test]
    fn the_time_series_interval_can_be_set_or_turned_off() {
        let run = |line: &str| valid(&with("", line)).variants[0].run.sample_interval;
        assert_eq!(
            run("timeseries_interval = \"500ms\""),
            Some(SimDuration::from_millis(500))
        );
        assert_eq!(run("timeseries_interval = \"off\""), None);
        assert!(
            error(&with("", "timeseries_interval = \"0s\""))
                .ends_with("expected a positive duration or \"off\", found \"0s\"")
        );
        assert!(error(&with("", "timeseries_interval = \"of\"")).contains("\"off\""));
    }

    #[test]
    fn durations_must_be_positive_and_well_formed() {
        assert!(error(&with("", "duration = \"0s\"")).ends_with("found \"0s\""));
        assert!(error(&with("", "duration = \"10\"")).contains("expected a unit"));
        assert!(error(&with("", "warmup = \"-1s\"")).contains("non-negative"));
        assert!(error(&with("", "duration = \"9999999999h\"")).contains("too long"));
    }
}
