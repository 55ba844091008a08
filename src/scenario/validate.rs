//! Raw scenario to [`Scenario`]: every rule of the format, every error of the file at once.
//!
//! Validation never stops at the first problem: each check records its error (located at
//! the offending value, named by its key path) and carries on with what it can, so a user
//! fixes a file in one round instead of one error per run. Errors under an entry serde
//! already rejected are not repeated, and the errors of all variants are merged, sorted
//! by position and deduplicated (a mistake outside the sweep is the same in every variant).
//!
//! Messages read `expected <what>, found <value>`, plus `; did you mean "x"?` for names.

use std::collections::BTreeSet;
use std::path::Path;

use toml::Spanned;
use toml::de::DeTable;

use super::columns::{SUMMARY_METRICS, TEXT_COLUMNS};
use super::duration::parse_duration;
use super::raw::{
    self, DurationText, Int, Number, RawBalancer, RawExpect, RawQueue, RawRate, RawScenario,
    RawServer, RawService, RawTrace, RawWorkload,
};
use super::replay::{Loaded, ON_ERROR, OnError, TraceCache};
use super::suggest;
use super::sweep::Sweep;
use super::trace::{FORMATS, TraceFormat};
use super::{Expectation, Scenario, ScenarioError, ScenarioErrors, Variant, error::line_col};
use crate::balancer::{Algorithm, BalancerSpec};
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    ArrivalPattern, GeneratedWorkload, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist,
    TraceReplay, WorkloadSpec,
};

/// The longest scenario or server group name: it names folders and files.
pub const MAX_NAME_LEN: usize = 100;

/// The most servers a run may have in all, so that a typo such as `count = 1000000000`
/// is an error rather than an out-of-memory abort.
pub const MAX_SERVERS: u64 = 1_000_000;

/// The most points per server on the consistent-hash ring (memory grows with it).
pub const MAX_VIRTUAL_NODES: i128 = 10_000;

/// The names `workload.arrivals` accepts.
const ARRIVALS: &[&str] = &["poisson", "constant"];

/// The names `workload.service.dist` accepts, with the parameters each one takes.
const DISTRIBUTIONS: &[(&str, &[&str])] = &[
    ("constant", &["mean"]),
    ("exponential", &["mean"]),
    ("uniform", &["min", "max"]),
    ("lognormal", &["mean", "cv"]),
    ("pareto", &["mean", "shape"]),
];

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
            errors.push(located(offset, "", error.message()));
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
            variants,
            expectations: header.expectations,
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

/// Checks one variant's raw scenario, recording errors as it goes.
struct Checker<'a> {
    file: &'a str,
    source: &'a str,
    /// Entries serde rejected: their errors are already reported.
    removed: &'a [String],
    /// The scenario file's folder, where trace paths start.
    folder: &'a Path,
    /// The traces read so far, shared by every variant.
    traces: &'a mut TraceCache,
    errors: Vec<ScenarioError>,
}

/// A service distribution's parameters, for reporting a missing one.
struct Need<'a> {
    dist: &'a str,
    takes: &'a [&'a str],
    /// The service table, where a missing parameter is reported.
    offset: usize,
}

/// What a number must be.
#[derive(Copy, Clone)]
enum Bound {
    Positive,
    NonNegative,
    GreaterThanOne,
    /// A coefficient of variation: 0 to [`MAX_CV`].
    Variation,
    Any,
}

/// The largest coefficient of variation accepted. Beyond it a lognormal's parameters
/// overflow (cv² is infinite from about 1e154), and no real service time varies a
/// hundredfold around its mean anyway.
const MAX_CV: f64 = 100.0;

impl Checker<'_> {
    /// Whether `path` is, or is under, an entry serde rejected.
    fn is_removed(&self, path: &str) -> bool {
        self.removed.iter().any(|removed| {
            path.strip_prefix(removed.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    fn error(&mut self, offset: usize, path: &str, message: impl Into<String>) {
        if !self.is_removed(path) {
            self.errors.push(ScenarioError::at(
                self.file,
                self.source,
                offset,
                path,
                message,
            ));
        }
    }

    fn location(&self, offset: usize) -> String {
        let (line, col) = line_col(self.source, offset);
        format!("{}:{line}:{col}", self.file)
    }

    // ---- Scenario-wide keys ------------------------------------------------------------

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
        let replications = self.count(raw.replications.as_ref(), "replications", 1);
        let mut expectations = Some(Vec::new());
        for (index, expect) in raw.expect.iter().enumerate() {
            let checked = self.expectation(index, expect, sweep);
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

    fn name(&mut self, name: &Spanned<String>, path: &str) -> Option<String> {
        match check_name(name.get_ref()) {
            Ok(()) => Some(name.get_ref().clone()),
            Err(problem) => {
                self.error(name.span().start, path, problem);
                None
            }
        }
    }

    fn expectation(
        &mut self,
        index: usize,
        expect: &Spanned<RawExpect>,
        sweep: &Sweep<'_>,
    ) -> Option<Expectation> {
        let path = format!("expect[{index}]");
        let table_offset = expect.span().start;
        let raw = expect.get_ref();

        let metric = match &raw.metric {
            None => {
                self.error(
                    table_offset,
                    &format!("{path}.metric"),
                    "missing: expected a summary.csv column such as \"p99_ms\"",
                );
                None
            }
            Some(metric) => self.metric(metric, &format!("{path}.metric"), sweep),
        };

        let bounded = raw.min.is_some() || raw.max.is_some();
        if !bounded {
            self.error(
                table_offset,
                &path,
                "expected a bound: `min`, `max` or both",
            );
        }
        let bound = |checker: &mut Self, value: Option<&Spanned<Number>>, key: &str| match value {
            None => Some(None),
            Some(v) => checker
                .number(v, &format!("{path}.{key}"), Bound::Any)
                .map(Some),
        };
        let min = bound(self, raw.min.as_ref(), "min");
        let max = bound(self, raw.max.as_ref(), "max");
        let mut ordered = true;
        if let (Some(Some(low)), Some(Some(high)), Some(min_value)) = (min, max, &raw.min)
            && low > high
        {
            self.error(
                min_value.span().start,
                &format!("{path}.min"),
                format!(
                    "expected min at most max ({}), found {}",
                    show(high),
                    show(low)
                ),
            );
            ordered = false;
        }

        let mut filter = Some(Vec::new());
        let entries = raw
            .filter
            .as_ref()
            .map_or(&[][..], |f| f.get_ref().0.as_slice());
        for (key, value) in entries {
            let key_path = format!("{path}.where.{}", raw::display_key(key.get_ref()));
            match self.filter_entry(key, value, &key_path, sweep) {
                Some(entry) => {
                    if let Some(list) = &mut filter {
                        list.push(entry);
                    }
                }
                None => filter = None,
            }
        }

        let (Some(metric), Some(min), Some(max), Some(filter), true) =
            (metric, min, max, filter, bounded && ordered)
        else {
            return None;
        };
        Some(Expectation {
            metric,
            min,
            max,
            filter,
            location: self.location(table_offset),
        })
    }

    /// One `where` entry: a swept key and one of its values.
    fn filter_entry(
        &mut self,
        key: &Spanned<String>,
        value: &Spanned<raw::Scalar>,
        key_path: &str,
        sweep: &Sweep<'_>,
    ) -> Option<(String, String)> {
        let name = key.get_ref();
        let Some(swept) = sweep.keys.iter().find(|k| k.path == *name) else {
            if sweep.rejected.contains(name) {
                return None;
            }
            let message = if sweep.keys.is_empty() && sweep.rejected.is_empty() {
                format!("{name:?} is not a swept key: this scenario has no [sweep]")
            } else if sweep.keys.is_empty() {
                format!("{name:?} is not a swept key: nothing else is swept")
            } else {
                let paths = sweep.paths();
                let names: Vec<&str> = paths.iter().map(String::as_str).collect();
                format!(
                    "{name:?} is not a swept key, {}",
                    suggest::expected_one_of(name, &names)
                )
            };
            self.error(key.span().start, key_path, message);
            return None;
        };
        let label = value.get_ref().to_string();
        if swept.labels.contains(&label) {
            return Some((swept.path.clone(), label));
        }
        let labels: Vec<&str> = swept.labels.iter().map(String::as_str).collect();
        self.error(
            value.span().start,
            key_path,
            format!(
                "matches no variant: found {label:?}, {}",
                suggest::expected_one_of(&label, &labels)
            ),
        );
        None
    }

    fn metric(
        &mut self,
        metric: &Spanned<String>,
        path: &str,
        sweep: &Sweep<'_>,
    ) -> Option<String> {
        let name = metric.get_ref();
        let offset = metric.span().start;
        if TEXT_COLUMNS.contains(&name.as_str()) {
            self.error(
                offset,
                path,
                format!("expected a numeric column, found {name:?}, which holds text"),
            );
            return None;
        }
        if SUMMARY_METRICS.contains(&name.as_str()) {
            return Some(name.clone());
        }
        if let Some(key) = sweep.keys.iter().find(|k| k.path == *name) {
            if key.numeric {
                return Some(name.clone());
            }
            self.error(
                offset,
                path,
                format!("expected a numeric column, found {name:?}, which is swept over text"),
            );
            return None;
        }
        if sweep.rejected.contains(name) {
            return None;
        }
        let mut columns: Vec<&str> = SUMMARY_METRICS
            .iter()
            .copied()
            .filter(|c| !TEXT_COLUMNS.contains(c))
            .collect();
        columns.extend(
            sweep
                .keys
                .iter()
                .filter(|k| k.numeric)
                .map(|k| k.path.as_str()),
        );
        self.error(
            offset,
            path,
            format!(
                "unknown metric {name:?}, {}",
                suggest::expected_one_of(name, &columns)
            ),
        );
        None
    }

    // ---- One run -----------------------------------------------------------------------

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
        let workload = self.workload(raw.workload.as_ref());
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
        Some(RunSpec {
            warmup: warmup?,
            sample_interval: sample_interval?,
            ..RunSpec::new(duration?, workload?, servers?, balancer?)
        })
    }

    fn workload(&mut self, workload: Option<&Spanned<RawWorkload>>) -> Option<WorkloadSpec> {
        let Some(workload) = workload else {
            self.error(0, "workload", "missing: expected a [workload] table");
            return None;
        };
        let table_offset = workload.span().start;
        let raw = workload.get_ref();
        match &raw.trace {
            Some(trace) => self.replay(raw, trace).map(WorkloadSpec::Replay),
            // A trace serde rejected: its error is reported, and generated traffic was
            // not what the file meant.
            None if self.is_removed("workload.trace") => None,
            None => self
                .generated(table_offset, raw)
                .map(WorkloadSpec::Generated),
        }
    }

    fn generated(&mut self, table_offset: usize, raw: &RawWorkload) -> Option<GeneratedWorkload> {
        let rate = match &raw.rate {
            None => {
                self.error(
                    table_offset,
                    "workload.rate",
                    "missing: expected requests per second, or a schedule like \
                     [[\"0s\", 100], [\"5m\", 900]]",
                );
                None
            }
            Some(rate) => self.rate(rate),
        };
        let arrivals = match &raw.arrivals {
            None => Some(ArrivalPattern::Poisson),
            Some(arrivals) => self.choice(
                arrivals,
                "workload.arrivals",
                "arrival pattern",
                ARRIVALS,
                |name| match name {
                    "poisson" => Some(ArrivalPattern::Poisson),
                    "constant" => Some(ArrivalPattern::Constant),
                    _ => None,
                },
            ),
        };
        let service = match &raw.service {
            None => {
                self.error(
                    table_offset,
                    "workload.service",
                    "missing: expected a distribution like { dist = \"exponential\", mean = \"10ms\" }",
                );
                None
            }
            Some(service) => self.service(service),
        };
        let clients = self.count(raw.clients.as_ref(), "workload.clients", 1000);
        Some(GeneratedWorkload {
            rate: rate?,
            arrivals: arrivals?,
            service: service?,
            clients: clients?,
        })
    }

    /// `workload.trace`: the trace, read once per scenario, and the keys that go with it.
    fn replay(&mut self, raw: &RawWorkload, trace: &Spanned<RawTrace>) -> Option<TraceReplay> {
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

    fn rate(&mut self, rate: &Spanned<RawRate>) -> Option<RateSchedule> {
        let path = "workload.rate";
        match rate.get_ref() {
            RawRate::PerSecond(value) => {
                let value = self.finite(*value, rate.span().start, path)?;
                if value > 0.0 {
                    Some(RateSchedule::constant(value))
                } else {
                    self.error(
                        rate.span().start,
                        path,
                        format!(
                            "expected a positive number of requests per second, found {}",
                            show(value)
                        ),
                    );
                    None
                }
            }
            RawRate::Steps(raw_steps) => {
                if raw_steps.is_empty() {
                    self.error(
                        rate.span().start,
                        path,
                        "expected at least one [\"start\", rate] step",
                    );
                    return None;
                }
                let mut steps = Vec::with_capacity(raw_steps.len());
                let mut ok = true;
                let mut previous: Option<(SimDuration, &str)> = None;
                for (index, step) in raw_steps.iter().enumerate() {
                    let step = step.get_ref();
                    let start_path = format!("{path}[{index}][0]");
                    let start = self.duration(&step.start, &start_path);
                    let value = self.number(
                        &step.rate,
                        &format!("{path}[{index}][1]"),
                        Bound::NonNegative,
                    );
                    if let (Some(start), Some((before, before_text))) = (start, previous)
                        && start <= before
                    {
                        self.error(
                            step.start.span().start,
                            &start_path,
                            format!(
                                "expected steps in increasing time order: {:?} must come after \
                                 the previous step's {before_text:?}",
                                step.start.get_ref().0
                            ),
                        );
                        ok = false;
                    }
                    if let Some(start) = start {
                        previous = Some((start, step.start.get_ref().0.as_str()));
                    }
                    match (start, value) {
                        (Some(start), Some(value)) => {
                            steps.push((SimTime::from_nanos(start.as_nanos()), value));
                        }
                        _ => ok = false,
                    }
                }
                if ok && steps.iter().all(|&(_, r)| r == 0.0) {
                    self.error(
                        rate.span().start,
                        path,
                        "expected at least one step with a positive rate, found only zeros",
                    );
                    return None;
                }
                ok.then(|| RateSchedule::from_steps(steps))
            }
        }
    }

    fn service(&mut self, service: &Spanned<RawService>) -> Option<ServiceDist> {
        let raw = service.get_ref();
        let table_offset = service.span().start;
        let names: Vec<&str> = DISTRIBUTIONS.iter().map(|(name, _)| *name).collect();
        let Some(dist) = &raw.dist else {
            self.error(
                table_offset,
                "workload.service.dist",
                format!("missing: {}", suggest::expected_one_of("", &names)),
            );
            return None;
        };
        let Some(&(dist_name, takes)) = DISTRIBUTIONS.iter().find(|(n, _)| n == dist.get_ref())
        else {
            self.error(
                dist.span().start,
                "workload.service.dist",
                format!(
                    "unknown distribution {:?}, {}",
                    dist.get_ref(),
                    suggest::expected_one_of(dist.get_ref(), &names)
                ),
            );
            return None;
        };

        // Parameters given that this distribution does not take.
        let given: [(&str, Option<usize>); 5] = [
            ("mean", raw.mean.as_ref().map(|v| v.span().start)),
            ("min", raw.min.as_ref().map(|v| v.span().start)),
            ("max", raw.max.as_ref().map(|v| v.span().start)),
            ("cv", raw.cv.as_ref().map(|v| v.span().start)),
            ("shape", raw.shape.as_ref().map(|v| v.span().start)),
        ];
        let mut ok = true;
        for (parameter, offset) in given {
            if let Some(offset) = offset
                && !takes.contains(&parameter)
            {
                self.error(
                    offset,
                    &format!("workload.service.{parameter}"),
                    format!(
                        "{dist_name:?} takes no {parameter}: it takes {}",
                        takes.join(" and ")
                    ),
                );
                ok = false;
            }
        }

        let need = Need {
            dist: dist_name,
            takes,
            offset: table_offset,
        };
        let dist = match dist_name {
            "constant" => self
                .mean(&need, raw)
                .map(|mean| ServiceDist::Constant { mean }),
            "exponential" => self
                .mean(&need, raw)
                .map(|mean| ServiceDist::Exponential { mean }),
            "uniform" => {
                let min = self
                    .required(&need, raw.min.as_ref(), "min")
                    .and_then(|m| self.duration(m, "workload.service.min"));
                let max = self
                    .required(&need, raw.max.as_ref(), "max")
                    .and_then(|m| self.positive_duration(m, "workload.service.max"));
                match (min, max, &raw.min, &raw.max) {
                    (Some(min), Some(max), Some(min_text), Some(max_text)) if min > max => {
                        self.error(
                            min_text.span().start,
                            "workload.service.min",
                            format!(
                                "expected min at most max ({:?}), found {:?}",
                                max_text.get_ref().0,
                                min_text.get_ref().0
                            ),
                        );
                        None
                    }
                    (Some(min), Some(max), _, _) => Some(ServiceDist::Uniform { min, max }),
                    _ => None,
                }
            }
            "lognormal" => {
                let mean = self.mean(&need, raw);
                let cv = self
                    .required(&need, raw.cv.as_ref(), "cv")
                    .and_then(|c| self.number(c, "workload.service.cv", Bound::Variation));
                mean.zip(cv)
                    .map(|(mean, cv)| ServiceDist::LogNormal { mean, cv })
            }
            _ => {
                let mean = self.mean(&need, raw);
                let shape = self
                    .required(&need, raw.shape.as_ref(), "shape")
                    .and_then(|s| self.number(s, "workload.service.shape", Bound::GreaterThanOne));
                mean.zip(shape)
                    .map(|(mean, shape)| ServiceDist::Pareto { mean, shape })
            }
        };
        dist.filter(|_| ok)
    }

    /// A parameter `need.dist` takes; reports it missing.
    fn required<'r, T>(
        &mut self,
        need: &Need<'_>,
        value: Option<&'r Spanned<T>>,
        name: &str,
    ) -> Option<&'r Spanned<T>> {
        if value.is_none() {
            self.error(
                need.offset,
                &format!("workload.service.{name}"),
                format!(
                    "missing: {:?} needs {}",
                    need.dist,
                    need.takes.join(" and ")
                ),
            );
        }
        value
    }

    fn mean(&mut self, need: &Need<'_>, raw: &RawService) -> Option<SimDuration> {
        self.required(need, raw.mean.as_ref(), "mean")
            .and_then(|m| self.positive_duration(m, "workload.service.mean"))
    }

    fn servers(
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
            Some(queue) => match queue.get_ref() {
                RawQueue::Named(name) if name == "unbounded" => Some(None),
                RawQueue::Named(name) => {
                    self.error(
                        queue.span().start,
                        &format!("{path}.queue"),
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
                        &format!("{path}.queue"),
                        0,
                        i128::from(u32::MAX),
                    )
                    .and_then(|l| u32::try_from(l).ok())
                    .map(Some),
            },
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
        Some(ServerGroupSpec {
            name: name?,
            count: count?,
            workers: workers?,
            queue_limit: queue_limit?,
            speed: speed?,
            weight: weight?,
            zone: zone?,
        })
    }

    fn balancer(&mut self, balancer: Option<&Spanned<RawBalancer>>) -> Option<BalancerSpec> {
        let raw = balancer.map(Spanned::get_ref);
        let algorithm = match raw.and_then(|b| b.algorithm.as_ref()) {
            None => Some(Algorithm::RoundRobin),
            Some(name) => {
                let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                self.choice(
                    name,
                    "balancer.algorithm",
                    "algorithm",
                    &names,
                    Algorithm::from_name,
                )
            }
        };
        let virtual_nodes = match raw.and_then(|b| b.virtual_nodes.as_ref()) {
            None => Some(BalancerSpec::DEFAULT_VIRTUAL_NODES),
            Some(nodes) => self
                .integer(nodes, "balancer.virtual_nodes", 1, MAX_VIRTUAL_NODES)
                .and_then(|n| u32::try_from(n).ok()),
        };
        Some(BalancerSpec {
            virtual_nodes: virtual_nodes?,
            ..BalancerSpec::new(algorithm?)
        })
    }

    // ---- Values ------------------------------------------------------------------------

    /// An integer in `[min, max]`.
    fn integer(&mut self, value: &Spanned<Int>, path: &str, min: i128, max: i128) -> Option<i128> {
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

    /// An optional positive `u32` with a default (count, workers, clients, replications).
    fn count(&mut self, value: Option<&Spanned<Int>>, path: &str, default: u32) -> Option<u32> {
        match value {
            None => Some(default),
            Some(value) => self
                .integer(value, path, 1, i128::from(u32::MAX))
                .and_then(|n| u32::try_from(n).ok()),
        }
    }

    fn finite(&mut self, value: f64, offset: usize, path: &str) -> Option<f64> {
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

    fn number(&mut self, value: &Spanned<Number>, path: &str, bound: Bound) -> Option<f64> {
        let offset = value.span().start;
        let x = self.finite(value.get_ref().0, offset, path)?;
        let (ok, what) = match bound {
            Bound::Positive => (x > 0.0, "a positive number"),
            Bound::NonNegative => (x >= 0.0, "a non-negative number"),
            Bound::GreaterThanOne => (x > 1.0, "a number greater than 1"),
            Bound::Variation => ((0.0..=MAX_CV).contains(&x), "a number from 0 to 100"),
            Bound::Any => (true, "a number"),
        };
        if ok {
            Some(x)
        } else {
            self.error(offset, path, format!("expected {what}, found {}", show(x)));
            None
        }
    }

    /// One of a fixed set of names (`what` says which set), parsed by `parse`; an unknown
    /// name is an error listing the valid ones, with the closest.
    fn choice<T>(
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

    fn duration(&mut self, value: &Spanned<DurationText>, path: &str) -> Option<SimDuration> {
        match parse_duration(&value.get_ref().0) {
            Ok(duration) => Some(duration),
            Err(problem) => {
                self.error(value.span().start, path, problem);
                None
            }
        }
    }

    fn positive_duration(
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

/// A number as a user would write it: `-3`, `0.5`, `1e300`.
fn show(x: f64) -> String {
    if x != 0.0 && !(1e-6..1e16).contains(&x.abs()) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

/// Scenario and server group names become folder and file names: `[A-Za-z0-9._-]+`,
/// never `.` or `..`.
fn check_name(name: &str) -> Result<(), String> {
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
    use std::path::PathBuf;

    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

    /// A valid scenario to build test cases on.
    const MINIMAL: &str = "duration = \"10s\"\n\
                           [workload]\n\
                           rate = 100\n\
                           service = { dist = \"exponential\", mean = \"10ms\" }\n\
                           [[servers]]\n\
                           count = 2\n";

    /// A fixture's text and its path relative to the crate, as a user would type it.
    fn fixture(kind: &str, name: &str) -> (String, PathBuf) {
        let source = std::fs::read_to_string(format!("{FIXTURES}/{kind}/{name}.toml"))
            .unwrap_or_else(|e| panic!("{kind}/{name}.toml: {e}"));
        (
            source,
            PathBuf::from(format!("tests/fixtures/{kind}/{name}.toml")),
        )
    }

    fn valid(source: &str) -> Scenario {
        validate(source, Path::new("x.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every error of a source, as printed.
    fn errors(source: &str) -> Vec<String> {
        match validate(source, Path::new("x.toml")) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.0.iter().map(ToString::to_string).collect(),
        }
    }

    /// The generated workload of a run (panics on a replay).
    fn generated(run: &RunSpec) -> &GeneratedWorkload {
        match &run.workload {
            WorkloadSpec::Generated(generated) => generated,
            WorkloadSpec::Replay(replay) => panic!("a replay of {:?}", replay.trace()),
        }
    }

    /// The only error of a source, as printed.
    fn error(source: &str) -> String {
        let mut all = errors(source);
        assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
        all.remove(0)
    }

    /// MINIMAL with `line` added (or replacing the key it sets) in `table` ("" for top).
    fn with(table: &str, line: &str) -> String {
        let key = line.split(" =").next().unwrap_or_default();
        let mut out = String::new();
        let mut current = String::new();
        let mut done = false;
        for l in MINIMAL.lines() {
            if l.starts_with('[') {
                if current == table && !done {
                    out.push_str(line);
                    out.push('\n');
                    done = true;
                }
                current = l.trim_matches(['[', ']']).to_string();
            } else if current == table && l.starts_with(&format!("{key} =")) {
                continue;
            }
            out.push_str(l);
            out.push('\n');
        }
        if !done {
            if current != table {
                out.push_str(&format!("[{table}]\n"));
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }

    /// For each bad fixture: where its one mistake is reported (`line:col: path: ` in the
    /// fixture, or a whole `file:line:col: ` prefix for a mistake in a trace file), and what
    /// the message says.
    const BAD_FIXTURES: &[(&str, &str, &str)] = &[
        ("bad_name", "1:8: name: ", "found \"../etc\""),
        (
            "expect_unknown_metric",
            "11:10: expect[0].metric: ",
            "unknown metric \"p99\", expected one of \"replication\"",
        ),
        (
            "negative_workers",
            "9:11: servers[0].workers: ",
            "expected a positive integer, found -3",
        ),
        (
            "no_servers",
            "1:1: servers: ",
            "expected at least one [[servers]] group",
        ),
        (
            "rate_schedule_out_of_order",
            "4:36: workload.rate[2][0]: ",
            "\"5m\" must come after the previous step's \"8m\"",
        ),
        (
            "sweep_missing_group",
            "11:1: sweep.\"servers.1.count\": ",
            "there is no group servers.1: the file has one [[servers]] group, servers.0",
        ),
        (
            "sweep_range_bad_step",
            "11:51: sweep.\"workload.rate\".step: ",
            "expected a positive step, found 0",
        ),
        (
            "sweep_range_from_after_to",
            "11:28: sweep.\"workload.rate\".from: ",
            "expected from at most to (100), found 1000",
        ),
        (
            "sweep_range_not_numeric",
            "11:28: sweep.\"workload.rate\".from: ",
            "expected a number, found string",
        ),
        (
            "sweep_range_too_many",
            "11:19: sweep.\"workload.rate\": ",
            "the range makes 100000 values, at most 10000 are allowed",
        ),
        (
            "sweep_range_unknown_key",
            "11:44: sweep.\"workload.rate\".stpe: ",
            "unknown key \"stpe\" in a range, expected one of \"from\", \"to\", \"step\"; \
             did you mean \"step\"?",
        ),
        (
            "three_mistakes",
            "6:42: workload.service.mean: ",
            "expected a positive duration, found \"0ms\"",
        ),
        (
            "trace_bad_speed",
            "2:59: workload.trace.speed: ",
            "expected a positive number, found 0",
        ),
        (
            "trace_malformed_fail",
            "tests/fixtures/bad/traces/malformed.csv:3:1: timestamp: ",
            "expected seconds like 12.5 or an RFC 3339 date like 2023-10-11T14:00:00Z, \
             found \"noon\"",
        ),
        (
            "trace_missing_file",
            "2:18: workload.trace.path: ",
            "cannot read \"tests/fixtures/bad/traces/nowhere.csv\": ",
        ),
        (
            "trace_missing_path",
            "2:9: workload.trace.path: ",
            "missing: expected the trace file's path, relative to the scenario's folder",
        ),
        (
            "trace_needs_service",
            "2:9: workload.service: ",
            "missing: 2 requests of \"tests/fixtures/bad/traces/no_service.csv\" carry no \
             service time (the first on line 2); give workload.service to draw theirs",
        ),
        (
            "trace_unknown_column",
            "tests/fixtures/bad/traces/unknown_column.csv:1:18: ",
            "unknown column \"servce_ms\" in the header, expected one of \"timestamp\", \
             \"client\", \"session\", \"service_ms\"; did you mean \"service_ms\"?",
        ),
        (
            "trace_unknown_format",
            "2:44: workload.trace.format: ",
            "unknown trace format \"cvs\", expected one of \"csv\", \"access-log\"; did you \
             mean \"csv\"?",
        ),
        (
            "trace_unknown_on_error",
            "2:62: workload.trace.on_error: ",
            "unknown on_error \"skp\", expected one of \"skip\", \"fail\"; did you mean \
             \"skip\"?",
        ),
        (
            "trace_with_rate",
            "3:8: workload.rate: ",
            "not allowed with workload.trace: arrival times come from the trace",
        ),
        (
            "unknown_algorithm",
            "11:13: balancer.algorithm: ",
            "unknown algorithm \"least-conections\", expected one of \"round-robin\"",
        ),
        (
            "unknown_distribution",
            "5:20: workload.service.dist: ",
            "did you mean \"exponential\"?",
        ),
        (
            "unknown_key",
            "9:1: servers[0].wokers: ",
            "unknown key \"wokers\", expected one of \"name\", \"count\", \"workers\"",
        ),
        (
            "warmup_not_before_duration",
            "2:10: warmup: ",
            "expected a warmup shorter than duration (\"10s\"), found \"10s\"",
        ),
        (
            "where_matches_no_variant",
            "16:34: expect[0].where.\"balancer.algorithm\": ",
            "matches no variant: found \"random\", expected one of \"round-robin\", \
             \"least-connections\"",
        ),
        (
            "wrong_type",
            "1:12: duration: ",
            "invalid type: integer `10`, expected a duration string",
        ),
        (
            "zero_weight",
            "13:10: servers[1].weight: ",
            "expected a positive weight under \"weighted-round-robin\", found 0",
        ),
    ];

    #[test]
    fn every_bad_fixture_reports_its_mistake_at_file_line_col_and_key_path() {
        for &(name, prefix, fragment) in BAD_FIXTURES {
            let (source, path) = fixture("bad", name);
            let errors = validate(&source, &path).expect_err(name).0;
            if name != "three_mistakes" {
                assert_eq!(errors.len(), 1, "{name}: {errors:#?}");
            }
            let first = errors[0].to_string();
            let prefix = if prefix.starts_with("tests/") {
                prefix.to_string()
            } else {
                format!("{}:{prefix}", path.display())
            };
            assert!(
                first.starts_with(&prefix),
                "{name}: {first}\nexpected {prefix}"
            );
            assert!(
                first.contains(fragment),
                "{name}: {first}\nexpected {fragment}"
            );
        }
    }

    #[test]
    fn every_bad_fixture_has_an_expectation() {
        let entries = std::fs::read_dir(format!("{FIXTURES}/bad")).expect("fixtures/bad");
        for entry in entries {
            let path = entry.expect("an entry").path();
            if path.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            let stem = path.file_stem().unwrap_or_default().to_string_lossy();
            assert!(
                BAD_FIXTURES.iter().any(|(name, _, _)| *name == stem),
                "{stem} is not in BAD_FIXTURES"
            );
        }
    }

    #[test]
    fn a_file_with_three_mistakes_reports_all_three_in_file_order() {
        let (source, path) = fixture("bad", "three_mistakes");
        let errors = validate(&source, &path).expect_err("three mistakes").0;
        let located: Vec<String> = errors
            .iter()
            .map(|e| {
                let (line, col) = e.position.unwrap_or_default();
                format!("{line}:{col} {}", e.key_path)
            })
            .collect();
        assert_eq!(
            located,
            [
                "6:42 workload.service.mean",
                "9:9 servers[0].count",
                "10:1 servers[0].sped",
            ]
        );
        assert!(errors[2].message.ends_with("did you mean \"speed\"?"));
    }

    #[test]
    fn the_minimal_fixture_fills_in_every_default() {
        let (source, path) = fixture("good", "minimal");
        let scenario = validate(&source, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.name, "minimal");
        assert_eq!(scenario.description, "");
        assert_eq!(scenario.seed, 1);
        assert_eq!(scenario.replications, 1);
        assert!(scenario.swept_keys.is_empty());
        assert!(scenario.expectations.is_empty());
        assert_eq!(scenario.variants.len(), 1);
        let variant = &scenario.variants[0];
        assert_eq!(variant.label, "base");
        assert_eq!(
            variant.run,
            RunSpec::new(
                SimDuration::from_secs(10),
                WorkloadSpec::Generated(GeneratedWorkload {
                    rate: RateSchedule::constant(100.0),
                    arrivals: ArrivalPattern::Poisson,
                    service: ServiceDist::Exponential {
                        mean: SimDuration::from_millis(10)
                    },
                    clients: 1000,
                }),
                vec![ServerGroupSpec {
                    name: "server".to_string(),
                    count: 2,
                    workers: 1,
                    queue_limit: None,
                    speed: 1.0,
                    weight: 1,
                    zone: "a".to_string(),
                }],
                BalancerSpec::new(Algorithm::RoundRobin),
            )
        );
    }

    #[test]
    fn the_sweep_fixture_expands_into_four_variants_in_order() {
        let (source, path) = fixture("good", "sweep");
        let scenario = validate(&source, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.name, "sweep-example");
        assert_eq!(scenario.seed, 42);
        assert_eq!(scenario.replications, 2);
        assert_eq!(
            scenario.swept_keys,
            ["balancer.algorithm", "workload.clients"]
        );
        let labels: Vec<&str> = scenario.variants.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "balancer.algorithm=round-robin,workload.clients=10",
                "balancer.algorithm=round-robin,workload.clients=1000",
                "balancer.algorithm=least-connections,workload.clients=10",
                "balancer.algorithm=least-connections,workload.clients=1000",
            ]
        );
        let last = &scenario.variants[3];
        assert_eq!(last.values, ["least-connections", "1000"]);
        assert_eq!(last.run.balancer.algorithm, Algorithm::LeastConnections);
        assert_eq!(last.run.balancer.virtual_nodes, 40);
        assert_eq!(generated(&last.run).clients, 1000);
        assert_eq!(generated(&scenario.variants[0].run).clients, 10);
        assert_eq!(last.run.sample_interval, None);
        assert_eq!(last.run.warmup, SimDuration::from_secs(10));
        assert_eq!(generated(&last.run).arrivals, ArrivalPattern::Constant);
        assert_eq!(
            generated(&last.run).rate.steps(),
            [
                (SimTime::ZERO, 100.0),
                (SimTime::from_nanos(30_000_000_000), 300.0)
            ]
        );
        assert_eq!(
            generated(&last.run).service,
            ServiceDist::LogNormal {
                mean: SimDuration::from_millis(5),
                cv: 1.5
            }
        );
        let web = &last.run.servers[0];
        assert_eq!(
            (
                web.count,
                web.workers,
                web.queue_limit,
                web.speed,
                web.weight
            ),
            (4, 2, Some(16), 1.5, 3)
        );
        assert_eq!(web.zone, "b");
        assert_eq!(last.run.servers[1].name, "slow");

        let expectation = &scenario.expectations[0];
        assert_eq!(expectation.metric, "p99_ms");
        assert_eq!((expectation.min, expectation.max), (None, Some(250.0)));
        assert_eq!(
            expectation.filter,
            [(
                "balancer.algorithm".to_string(),
                "least-connections".to_string()
            )]
        );
        assert_eq!(expectation.location, "tests/fixtures/good/sweep.toml:36:1");
    }

    #[test]
    fn the_trace_fixture_replays_one_shared_trace_at_each_swept_speed() {
        let (source, path) = fixture("good", "trace");
        let scenario = validate(&source, &path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.warnings, Vec::<String>::new());
        let replays: Vec<&TraceReplay> = scenario
            .variants
            .iter()
            .map(|v| match &v.run.workload {
                WorkloadSpec::Replay(replay) => replay,
                WorkloadSpec::Generated(_) => panic!("a replay"),
            })
            .collect();
        assert!(std::ptr::eq(replays[0].trace(), replays[1].trace()));
        assert_eq!(
            replays[0].trace().source(),
            "tests/fixtures/good/traces/tiny.csv"
        );
        assert_eq!(replays[0].trace().requests().len(), 5);
        assert_eq!(replays[0].trace().without_work(), 1);
        assert_eq!(
            replays[0].service(),
            Some(&ServiceDist::Constant {
                mean: SimDuration::from_millis(7)
            })
        );
        assert_eq!((replays[0].speed(), replays[1].speed()), (1.0, 2.0));
        // The default duration ends just after the last request, at 1 s / speed.
        let durations: Vec<u64> = scenario
            .variants
            .iter()
            .map(|v| v.run.duration.as_nanos())
            .collect();
        assert_eq!(durations, [1_000_000_001, 500_000_001]);
    }

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
    fn a_float_range_gives_exact_labels_that_expectations_can_match() {
        let source = format!(
            "{MINIMAL}[sweep]\n\"workload.rate\" = {{ from = 0.1, to = 0.3, step = 0.1 }}\n\
             [[expect]]\nmetric = \"p99_ms\"\nmax = 1\nwhere = {{ \"workload.rate\" = 0.3 }}\n"
        );
        let scenario = valid(&source);
        let labels: Vec<&str> = scenario.variants.iter().map(|v| v.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "workload.rate=0.1",
                "workload.rate=0.2",
                "workload.rate=0.3"
            ]
        );
        let rates: Vec<f64> = scenario
            .variants
            .iter()
            .map(|v| generated(&v.run).rate.steps()[0].1)
            .collect();
        assert_eq!(rates, [0.1, 0.2, 0.3]);
        assert_eq!(
            scenario.expectations[0].filter,
            [("workload.rate".to_string(), "0.3".to_string())]
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
        assert!(
            message.starts_with("x.toml:2:1: duplicate key"),
            "{message}"
        );
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
    fn names_cannot_escape_the_output_folder() {
        for name in [".", "..", "a/b", "", "x\\y", "naïve"] {
            let source = with("", &format!("name = {name:?}"));
            assert!(error(&source).contains("name: expected a name"), "{name:?}");
        }
        assert_eq!(valid(&with("", "name = \"a.b_c-1\"")).name, "a.b_c-1");
        let long = "n".repeat(MAX_NAME_LEN + 1);
        assert!(error(&with("", &format!("name = \"{long}\""))).contains("at most"));
    }

    #[test]
    fn seed_and_replications_are_range_checked() {
        assert_eq!(
            error(&with("", "seed = -1")),
            "x.toml:2:8: seed: expected a non-negative integer, found -1"
        );
        assert_eq!(valid(&with("", "seed = 0")).seed, 0);
        assert!(error(&with("", "replications = 0")).ends_with("found 0"));
        assert!(error(&with("", "replications = 5000000000")).contains("at most 4294967295"));
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

    #[test]
    fn rates_must_be_finite_non_negative_and_somewhere_positive() {
        for rate in ["0", "-5", "nan", "inf"] {
            let message = error(&with("workload", &format!("rate = {rate}")));
            assert!(
                message.starts_with("x.toml:4:8: workload.rate: "),
                "{message}"
            );
        }
        assert!(
            error(&with("workload", "rate = [[\"0s\", 0], [\"1s\", 0.0]]"))
                .contains("at least one step with a positive rate")
        );
        assert!(
            error(&with("workload", "rate = [[\"0s\", 1], [\"1s\", -2]]"))
                .contains("workload.rate[1][1]: expected a non-negative number, found -2")
        );
        assert!(error(&with("workload", "rate = []")).contains("at least one"));
        assert!(
            error(&with("workload", "rate = [[\"0s\", 1], [\"0s\", 2]]"))
                .contains("increasing time order")
        );
    }

    #[test]
    fn a_schedule_starting_late_begins_at_rate_zero() {
        let scenario = valid(&with("workload", "rate = [[\"2s\", 50]]"));
        assert_eq!(
            generated(&scenario.variants[0].run).rate.steps(),
            [
                (SimTime::ZERO, 0.0),
                (SimTime::from_nanos(2_000_000_000), 50.0)
            ]
        );
    }

    #[test]
    fn unknown_arrival_patterns_are_suggested() {
        assert!(
            error(&with("workload", "arrivals = \"posson\""))
                .ends_with("did you mean \"poisson\"?")
        );
    }

    fn service(table: &str) -> Result<ServiceDist, Vec<String>> {
        let source = with("workload", &format!("service = {table}"));
        match validate(&source, Path::new("x.toml")) {
            Ok(s) => Ok(generated(&s.variants[0].run).service),
            Err(e) => Err(e
                .0
                .iter()
                .map(|e| format!("{}: {}", e.key_path, e.message))
                .collect()),
        }
    }

    #[test]
    fn every_distribution_takes_its_own_parameters() {
        let ms = SimDuration::from_millis;
        assert_eq!(
            service("{ dist = \"constant\", mean = \"2ms\" }"),
            Ok(ServiceDist::Constant { mean: ms(2) })
        );
        assert_eq!(
            service("{ dist = \"uniform\", min = \"0ms\", max = \"4ms\" }"),
            Ok(ServiceDist::Uniform {
                min: ms(0),
                max: ms(4)
            })
        );
        assert_eq!(
            service("{ dist = \"pareto\", mean = \"1ms\", shape = 2.5 }"),
            Ok(ServiceDist::Pareto {
                mean: ms(1),
                shape: 2.5
            })
        );
        assert_eq!(
            service("{ dist = \"lognormal\", mean = \"1ms\", cv = 0 }"),
            Ok(ServiceDist::LogNormal {
                mean: ms(1),
                cv: 0.0
            })
        );
    }

    #[test]
    fn distribution_parameters_are_checked() {
        assert_eq!(
            service("{ dist = \"exponential\", mean = \"1ms\", cv = 2 }"),
            Err(vec![
                "workload.service.cv: \"exponential\" takes no cv: it takes mean".to_string()
            ])
        );
        assert_eq!(
            service("{ dist = \"lognormal\", mean = \"1ms\" }"),
            Err(vec![
                "workload.service.cv: missing: \"lognormal\" needs mean and cv".to_string()
            ])
        );
        assert_eq!(
            service("{ dist = \"uniform\", min = \"5ms\", max = \"4ms\" }"),
            Err(vec![
                "workload.service.min: expected min at most max (\"4ms\"), found \"5ms\""
                    .to_string()
            ])
        );
        assert_eq!(
            service("{ dist = \"pareto\", mean = \"1ms\", shape = 1 }"),
            Err(vec![
                "workload.service.shape: expected a number greater than 1, found 1".to_string()
            ])
        );
        assert_eq!(
            service("{ dist = \"lognormal\", mean = \"1ms\", cv = -0.5 }"),
            Err(vec![
                "workload.service.cv: expected a number from 0 to 100, found -0.5".to_string()
            ])
        );
        assert_eq!(
            service("{ mean = \"1ms\" }"),
            Err(vec![
                "workload.service.dist: missing: expected one of \"constant\", \
                 \"exponential\", \"uniform\", \"lognormal\", \"pareto\""
                    .to_string()
            ])
        );
    }

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
        let run = valid(&with("servers", "queue = 0")).variants[0].run.clone();
        assert_eq!(run.servers[0].queue_limit, Some(0));
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
    fn virtual_nodes_are_range_checked() {
        let source = with("balancer", "virtual_nodes = 0");
        assert!(error(&source).contains("balancer.virtual_nodes: expected a positive integer"));
        let source = with("balancer", "virtual_nodes = 7");
        assert_eq!(valid(&source).variants[0].run.balancer.virtual_nodes, 7);
    }

    fn expect(lines: &str, sweep: &str) -> Vec<String> {
        errors(&format!("{MINIMAL}{sweep}\n[[expect]]\n{lines}\n"))
    }

    #[test]
    fn expectations_are_checked() {
        let no_sweep = "";
        let sweep =
            "[sweep]\n\"workload.rate\" = [600, 900.0]\n\"balancer.algorithm\" = [\"random\"]";
        assert!(expect("max = 1", no_sweep)[0].contains("expect[0].metric: missing"));
        assert!(expect("metric = \"p99_ms\"", no_sweep)[0].contains("expected a bound"));
        assert!(
            expect("metric = \"p99_ms\"\nmin = 2\nmax = 1", no_sweep)[0]
                .contains("expect[0].min: expected min at most max (1), found 2")
        );
        assert!(expect("metric = \"variant\"\nmax = 1", no_sweep)[0].contains("holds text"));
        assert!(
            expect("metric = \"balancer.algorithm\"\nmax = 1", sweep)[0]
                .contains("swept over text")
        );
        assert!(
            expect(
                "metric = \"mean_ms\"\nmax = 1\nwhere = { \"workload.rate\" = 1 }",
                no_sweep
            )[0]
            .contains("\"workload.rate\" is not a swept key: this scenario has no [sweep]")
        );
        assert!(
            expect(
                "metric = \"mean_ms\"\nmax = 1\nwhere = { \"workload.rat\" = 1 }",
                sweep
            )[0]
            .ends_with("did you mean \"workload.rate\"?")
        );
    }

    #[test]
    fn where_values_match_as_summary_csv_shows_them() {
        let source = format!(
            "{MINIMAL}[sweep]\n\"workload.rate\" = [600, 900.5]\n\
             [[expect]]\nmetric = \"workload.rate\"\nmin = 1\n\
             where = {{ workload.rate = 600.0 }}\n\
             [[expect]]\nmetric = \"p50_ms\"\nmin = 0\n\
             where = {{ \"workload.rate\" = 900.5 }}\n"
        );
        let scenario = valid(&source);
        let filters: Vec<&[(String, String)]> = scenario
            .expectations
            .iter()
            .map(|e| e.filter.as_slice())
            .collect();
        assert_eq!(
            filters,
            [
                [("workload.rate".to_string(), "600".to_string())],
                [("workload.rate".to_string(), "900.5".to_string())]
            ]
        );
    }

    #[test]
    fn a_sweep_can_make_a_weight_invalid_for_some_variants_only() {
        let source = format!(
            "{}[sweep]\n\"balancer.algorithm\" = [\"round-robin\", \"weighted-round-robin\"]\n",
            with("servers", "weight = 0")
        );
        assert!(error(&source).contains("expected a positive weight under"));
    }

    /// Values that break naive code: out of range, wrong type, empty, non-finite, huge.
    const NASTY: &[&str] = &[
        "-1",
        "0",
        "-0.0",
        "nan",
        "-inf",
        "1e308",
        "9223372036854775807",
        "-9223372036854775808",
        "\"\"",
        "\"-1s\"",
        "\"18446744073709551616ns\"",
        "\"1.0000000001s\"",
        "\"µ\"",
        "[]",
        "[[]]",
        "[[\"0s\"]]",
        "[[1, 2, 3]]",
        "{}",
        "{ a = 1 }",
        "{ from = 0.1, to = 0.2, step = 0.05 }",
        "true",
        "1979-05-27T07:32:00Z",
    ];

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let depth = 100_000;
        let source = format!("duration = {}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(!errors(&source).is_empty());
        let source = format!(
            "duration = {}1{}",
            "{ a = ".repeat(depth),
            " }".repeat(depth)
        );
        assert!(!errors(&source).is_empty());
    }

    #[test]
    fn no_value_anywhere_makes_validation_panic() {
        for name in ["minimal", "sweep", "trace"] {
            let (source, path) = fixture("good", name);
            for (i, line) in source.lines().enumerate() {
                let Some((key, _)) = line.split_once(" = ") else {
                    continue;
                };
                for nasty in NASTY {
                    let mutated: Vec<String> = source
                        .lines()
                        .enumerate()
                        .map(|(j, l)| {
                            if i == j {
                                format!("{key} = {nasty}")
                            } else {
                                l.to_string()
                            }
                        })
                        .collect();
                    let mutated = mutated.join("\n");
                    let result = std::panic::catch_unwind(|| {
                        let _ = validate(&mutated, &path);
                    });
                    assert!(result.is_ok(), "panicked on:\n{mutated}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_makes_validation_panic(
            source in "[a-z_.=\\[\\]{}\"0-9 ,\n-]{0,300}"
        ) {
            let _ = validate(&source, Path::new("x.toml"));
        }

        #[test]
        fn arbitrary_text_after_a_valid_file_never_makes_validation_panic(
            tail in "[a-z_.=\\[\\]{}\"0-9 ,\n-]{0,200}"
        ) {
            let _ = validate(&format!("{MINIMAL}{tail}"), Path::new("x.toml"));
        }

        #[test]
        fn random_files_of_known_keys_never_make_validation_panic(
            lines in proptest::collection::vec((0..TABLES.len(), 0..KEYS.len(), 0..VALUES.len()), 0..24)
        ) {
            let mut source = String::new();
            for (table, key, value) in lines {
                source.push_str(&format!("{}\n{} = {}\n", TABLES[table], KEYS[key], VALUES[value]));
            }
            let _ = validate(&source, Path::new("x.toml"));
        }
    }

    /// Building blocks for random scenario files.
    const TABLES: &[&str] = &[
        "",
        "[workload]",
        "[workload.service]",
        "[workload.trace]",
        "[[servers]]",
        "[balancer]",
        "[sweep]",
        "[[expect]]",
    ];
    const KEYS: &[&str] = &[
        "name",
        "duration",
        "warmup",
        "seed",
        "replications",
        "timeseries_interval",
        "rate",
        "arrivals",
        "dist",
        "mean",
        "min",
        "max",
        "cv",
        "shape",
        "clients",
        "count",
        "workers",
        "queue",
        "speed",
        "weight",
        "zone",
        "algorithm",
        "virtual_nodes",
        "metric",
        "where",
        "trace",
        "path",
        "format",
        "on_error",
        "\"servers.0.count\"",
        "\"workload.rate\"",
        "\"balancer.algorithm\"",
        "\"workload.trace.speed\"",
        "bogus",
    ];
    const VALUES: &[&str] = &[
        "1",
        "0",
        "-1",
        "2.5",
        "\"10s\"",
        "\"0s\"",
        "\"1ms\"",
        "\"off\"",
        "\"uniform\"",
        "\"pareto\"",
        "\"lognormal\"",
        "\"weighted-round-robin\"",
        "\"p99_ms\"",
        "[1, 2]",
        "[\"random\", \"ip-hash\"]",
        "[[\"0s\", 1], [\"1s\", 0]]",
        "[]",
        "{ \"workload.rate\" = 1 }",
        "{ dist = \"constant\", mean = \"1ms\" }",
        "{ from = 1, to = 3, step = 1 }",
        "\"csv\"",
        "\"access-log\"",
        "\"fail\"",
        "{ path = \"tests/fixtures/good/traces/tiny.csv\", format = \"csv\" }",
        "{ from = 0.5, to = 0.1, step = 0, stpe = 1 }",
        "nan",
        "true",
    ];
}
