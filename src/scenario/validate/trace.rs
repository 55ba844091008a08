//! `workload.trace`: the trace file (read once per scenario and shared by every variant)
//! and the keys that go with it. The keys of generated traffic are errors beside it, since
//! the trace gives arrival times and clients.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::model::TraceReplay;
use crate::scenario::raw::{RawTrace, RawWorkload};
use crate::scenario::replay::{Loaded, ON_ERROR, OnError};
use crate::scenario::suggest;
use crate::scenario::trace::{FORMATS, TraceFormat};

impl Checker<'_> {
    /// `workload.trace`: the trace, read once per scenario, and the keys that go with it.
    pub(super) fn replay(
        &mut self,
        raw: &RawWorkload,
        trace: &Spanned<RawTrace>,
    ) -> Option<TraceReplay> {
        let generated_only: [(&str, Option<usize>, &str); 3] = [
            (
                "rate",
                raw.rate.as_ref().map(|v| v.span().start),
                "arrival times come from the trace",
            ),
            (
                "arrivals",
                raw.arrivals.as_ref().map(|v| v.span().start),
                "arrival times come from the trace",
            ),
            (
                "clients",
                raw.clients.as_ref().map(|v| v.span().start),
                "client addresses come from the trace",
            ),
        ];
        let mut ok = true;
        for (key, offset, why) in generated_only {
            if let Some(offset) = offset {
                self.error(
                    offset,
                    &format!("workload.{key}"),
                    format!("not allowed with workload.trace: {why}"),
                );
                ok = false;
            }
        }
        let table_offset = trace.span().start;
        let spec = trace.get_ref();
        let path = match &spec.path {
            None => {
                self.error(
                    table_offset,
                    "workload.trace.path",
                    "missing: expected the trace file's path, relative to the scenario's folder",
                );
                None
            }
            Some(path) if path.get_ref().is_empty() => {
                self.error(
                    path.span().start,
                    "workload.trace.path",
                    "expected the trace file's path, found \"\"",
                );
                None
            }
            Some(path) => Some(path),
        };
        let format = match &spec.format {
            None => {
                self.error(
                    table_offset,
                    "workload.trace.format",
                    format!("missing: {}", suggest::expected_one_of("", FORMATS)),
                );
                None
            }
            Some(format) => self.choice(
                format,
                "workload.trace.format",
                "trace format",
                FORMATS,
                TraceFormat::from_name,
            ),
        };
        let speed = match &spec.speed {
            None => Some(1.0),
            Some(speed) => self.number(speed, "workload.trace.speed", Bound::Positive),
        };
        let on_error = match &spec.on_error {
            None => Some(OnError::Skip),
            Some(on_error) => self.choice(
                on_error,
                "workload.trace.on_error",
                "on_error",
                ON_ERROR,
                OnError::from_name,
            ),
        };
        let service = match &raw.service {
            None => Some(None),
            Some(service) => self.service(service).map(Some),
        };

        let (Some(path), Some(format), Some(on_error)) = (path, format, on_error) else {
            return None;
        };
        let file = self.folder.join(path.get_ref());
        let (trace, first_without_work) = match self.traces.load(&file, format, on_error) {
            Loaded::Ready {
                trace,
                first_without_work,
            } => (trace, first_without_work),
            Loaded::Unreadable(why) => {
                self.error(path.span().start, "workload.trace.path", why);
                return None;
            }
            Loaded::Unusable(errors) => {
                self.errors.extend(errors);
                return None;
            }
            Loaded::Empty(why, errors) => {
                self.error(path.span().start, "workload.trace.path", why);
                self.errors.extend(errors);
                return None;
            }
        };
        if let (Some(line), Some(None)) = (first_without_work, service) {
            self.error(
                table_offset,
                "workload.service",
                format!(
                    "missing: {} requests of {:?} carry no service time (the first on line \
                     {line}); give workload.service to draw theirs",
                    trace.without_work(),
                    trace.source()
                ),
            );
            return None;
        }
        let (Some(speed), Some(service), true) = (speed, service, ok) else {
            return None;
        };
        let replay = TraceReplay::new(trace, speed, service);
        if replay.is_none() {
            // Unreachable: the speed and the service were checked above.
            self.error(
                table_offset,
                "workload.trace",
                "the trace cannot be replayed",
            );
        }
        replay
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use crate::engine::SimDuration;
    use crate::model::WorkloadSpec;
    use crate::scenario::Scenario;
    use crate::scenario::validate::testing::errors;
    use crate::scenario::validate::validate;

    /// A scenario file in a fresh folder, with `trace` written beside it as `t.csv`.
    fn trace_scenario(scenario: &str, trace: &str) -> (tempfile::TempDir, PathBuf, String) {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(dir.path().join("t.csv"), trace).expect("write the trace");
        let path = dir.path().join("s.toml");
        (dir, path, scenario.to_string())
    }

    const TRACE_SCENARIO: &str = "[workload]\n\
                                  trace = { path = \"t.csv\", format = \"csv\" }\n\
                                  [[servers]]\n";

    const TRACE: &str = "timestamp,client,service_ms\n0,10.0.0.1,5\n2.5,10.0.0.2,5\n";

    /// Every error of a scenario with a trace, as printed, with the temp folder removed.
    fn trace_errors(scenario: &str, trace: &str) -> Vec<String> {
        let (dir, path, source) = trace_scenario(scenario, trace);
        let folder = format!("{}/", dir.path().display());
        match validate(&source, &path) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .0
                .iter()
                .map(|e| e.to_string().replace(&folder, ""))
                .collect(),
        }
    }

    fn trace_valid(scenario: &str, trace: &str) -> Scenario {
        let (_dir, path, source) = trace_scenario(scenario, trace);
        validate(&source, &path).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_keys_of_generated_traffic_are_errors_beside_a_trace() {
        let source = TRACE_SCENARIO.replace(
            "[[servers]]",
            "rate = 5\narrivals = \"constant\"\nclients = 3\n[[servers]]",
        );
        assert_eq!(
            trace_errors(&source, TRACE),
            [
                "s.toml:3:8: workload.rate: not allowed with workload.trace: arrival times \
                 come from the trace",
                "s.toml:4:12: workload.arrivals: not allowed with workload.trace: arrival \
                 times come from the trace",
                "s.toml:5:11: workload.clients: not allowed with workload.trace: client \
                 addresses come from the trace",
            ]
        );
    }

    #[test]
    fn a_trace_that_is_not_a_table_is_one_error() {
        assert_eq!(
            errors("[workload]\ntrace = \"t.csv\"\n[[servers]]\n"),
            [
                "x.toml:2:9: workload.trace: invalid type: string \"t.csv\", expected a table \
              like { path = \"traces/x.csv\", format = \"csv\" }"
            ]
        );
    }

    #[test]
    fn a_duration_may_cut_a_trace_short_or_run_past_it() {
        for (duration, nanos) in [("1s", 1_000_000_000), ("1m", 60_000_000_000)] {
            let source = format!("duration = \"{duration}\"\n{TRACE_SCENARIO}");
            let scenario = trace_valid(&source, TRACE);
            assert_eq!(scenario.variants[0].run.duration.as_nanos(), nanos);
        }
    }

    #[test]
    fn a_warmup_must_end_before_the_traces_default_duration() {
        let source = format!("warmup = \"3s\"\n{TRACE_SCENARIO}");
        assert_eq!(
            trace_errors(&source, TRACE),
            [
                "s.toml:1:10: warmup: expected a warmup shorter than duration (the trace's \
              2.500000001s), found \"3s\""
            ]
        );
    }

    #[test]
    fn skipped_lines_become_warnings_and_are_counted() {
        let trace = format!("{TRACE}x,10.0.0.3,5\n3,10.0.0.4,5,9\n");
        let scenario = trace_valid(TRACE_SCENARIO, &trace);
        let WorkloadSpec::Replay(replay) = &scenario.variants[0].run.workload else {
            panic!("a replay")
        };
        assert_eq!(replay.trace().skipped(), 2);
        assert_eq!(replay.trace().requests().len(), 2);
        let result = crate::model::simulate(&scenario.variants[0].run, scenario.seed);
        assert_eq!((result.counts.arrived, result.counts.completed), (2, 1));
        let warnings: Vec<&str> = scenario
            .warnings
            .iter()
            .map(|w| w.rsplit("t.csv").next().unwrap_or_default())
            .collect();
        assert_eq!(
            warnings,
            [
                ":4:1: timestamp: expected seconds like 12.5 or an RFC 3339 date like \
                 2023-10-11T14:00:00Z, found \"x\"; line skipped",
                ":5:1: expected 3 fields as in the header, found 4; line skipped",
                ": 2 malformed lines skipped; set workload.trace.on_error = \"fail\" to \
                 reject them instead",
            ]
        );
    }

    #[test]
    fn failing_lines_follow_the_scenarios_own_errors_and_are_reported_once() {
        let source = format!(
            "seed = -1\n{}[sweep]\n\"workload.trace.speed\" = [1, 2]\n",
            TRACE_SCENARIO.replace("format = \"csv\"", "format = \"csv\", on_error = \"fail\"")
        );
        let trace = format!("{TRACE}x,10.0.0.3,5\n");
        assert_eq!(
            trace_errors(&source, &trace),
            [
                "s.toml:1:8: seed: expected a non-negative integer, found -1",
                "t.csv:4:1: timestamp: expected seconds like 12.5 or an RFC 3339 date like \
                 2023-10-11T14:00:00Z, found \"x\"",
            ]
        );
    }

    #[test]
    fn a_trace_without_requests_is_an_error_that_shows_its_lines() {
        assert_eq!(
            trace_errors(TRACE_SCENARIO, "timestamp,client,service_ms\nx,a,1\n"),
            [
                "s.toml:2:18: workload.trace.path: \"t.csv\" holds no request, only 1 \
                 malformed line",
                "t.csv:2:1: timestamp: expected seconds like 12.5 or an RFC 3339 date like \
                 2023-10-11T14:00:00Z, found \"x\"",
            ]
        );
    }

    #[test]
    fn an_access_log_replays_its_dates_with_their_offsets_and_its_request_times() {
        let log = "10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1\" 200 5 \"-\" \"a\" 0.010\n\
                   10.0.0.2 - - [10/Oct/2000:22:55:38 +0200] \"GET / HTTP/1.1\" 200 5 \"-\" \"b\" 0.250\n";
        let source = TRACE_SCENARIO.replace("\"csv\"", "\"access-log\"");
        let scenario = trace_valid(&source, log);
        let WorkloadSpec::Replay(replay) = &scenario.variants[0].run.workload else {
            panic!("a replay")
        };
        let requests: Vec<(u64, Option<u64>)> = replay
            .trace()
            .requests()
            .iter()
            .map(|r| (r.at.as_nanos(), r.work.map(SimDuration::as_nanos)))
            .collect();
        // 13:55:36 -0700 and 22:55:38 +0200 are 20:55:36 and 20:55:38 UTC.
        assert_eq!(
            requests,
            [(0, Some(10_000_000)), (2_000_000_000, Some(250_000_000))]
        );
    }
}
