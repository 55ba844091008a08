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
    RawServer, RawService, RawWorkload,
};
use super::suggest;
use super::sweep::Sweep;
use super::{Expectation, Scenario, ScenarioError, ScenarioErrors, Variant, error::line_col};
use crate::balancer::{Algorithm, BalancerSpec};
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    ArrivalPattern, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist, WorkloadSpec,
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

/// Reads a scenario from its text; `path` names the file in errors and gives the default
/// scenario name (its stem).
pub fn validate(source: &str, path: &Path) -> Result<Scenario, ScenarioErrors> {
    let file = path.display().to_string();
    let mut errors = Vec::new();

    let (document, syntax_errors) = DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        for error in syntax_errors {
            let offset = error.span().map_or(0, |s| s.start);
            errors.push(ScenarioError::at(
                &file,
                source,
                offset,
                "",
                error.message(),
            ));
        }
        return Err(finish(errors));
    }

    let sweep = Sweep::plan(document.get_ref());
    for error in &sweep.errors {
        errors.push(ScenarioError::at(
            &file,
            source,
            error.offset,
            error.path.as_str(),
            error.message.as_str(),
        ));
    }

    let mut header = None;
    let mut variants = Vec::new();
    let mut complete = true;
    for index in 0..sweep.variant_count() {
        let variant = sweep.variant(&document, index);
        let reading = raw::read(&variant.document);
        for error in &reading.errors {
            errors.push(ScenarioError::at(
                &file,
                source,
                error.offset,
                error.path.as_str(),
                error.message.as_str(),
            ));
        }
        let mut check = Checker {
            file: &file,
            source,
            removed: &reading.removed,
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
        }),
        _ => {
            if errors.is_empty() {
                // Unreachable in practice: every failed check records an error.
                errors.push(ScenarioError::at(
                    &file,
                    source,
                    0,
                    "",
                    "the scenario could not be read",
                ));
            }
            Err(finish(errors))
        }
    }
}

/// Sorts errors by position (stable, so one spot's errors keep their order) and drops
/// repeats.
fn finish(mut errors: Vec<ScenarioError>) -> ScenarioErrors {
    errors.sort_by_key(|e| e.position);
    let mut seen = BTreeSet::new();
    errors.retain(|e| seen.insert((e.position, e.key_path.clone(), e.message.clone())));
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
    Any,
}

impl Checker<'_> {
    fn error(&mut self, offset: usize, path: &str, message: impl Into<String>) {
        let under_removed = self.removed.iter().any(|removed| {
            path.strip_prefix(removed.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        });
        if !under_removed {
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
            let message = if sweep.keys.is_empty() {
                format!("{name:?} is not a swept key: this scenario has no [sweep]")
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
                "matches no variant: found {label}, {}",
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
        let duration = match &raw.duration {
            None => {
                self.error(0, "duration", "missing: expected a duration like \"10m\"");
                None
            }
            Some(duration) => self.positive_duration(duration, "duration"),
        };
        let warmup = match &raw.warmup {
            None => Some(SimDuration::ZERO),
            Some(warmup) => {
                let parsed = self.duration(warmup, "warmup");
                if let (Some(w), Some(d), Some(text)) = (parsed, duration, &raw.duration)
                    && w >= d
                {
                    self.error(
                        warmup.span().start,
                        "warmup",
                        format!(
                            "expected a warmup shorter than duration ({:?}), found {:?}",
                            text.get_ref().0,
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
        let workload = self.workload(raw.workload.as_ref());
        let balancer = self.balancer(raw.balancer.as_ref());
        let algorithm = balancer.as_ref().map(|b| b.algorithm);
        let servers = self.servers(raw.servers.as_ref(), algorithm);
        Some(RunSpec {
            duration: duration?,
            warmup: warmup?,
            sample_interval: sample_interval?,
            workload: workload?,
            servers: servers?,
            balancer: balancer?,
        })
    }

    fn workload(&mut self, workload: Option<&Spanned<RawWorkload>>) -> Option<WorkloadSpec> {
        let Some(workload) = workload else {
            self.error(0, "workload", "missing: expected a [workload] table");
            return None;
        };
        let table_offset = workload.span().start;
        let raw = workload.get_ref();
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
            Some(arrivals) => match arrivals.get_ref().as_str() {
                "poisson" => Some(ArrivalPattern::Poisson),
                "constant" => Some(ArrivalPattern::Constant),
                other => {
                    self.error(
                        arrivals.span().start,
                        "workload.arrivals",
                        format!(
                            "unknown arrival pattern {other:?}, {}",
                            suggest::expected_one_of(other, ARRIVALS)
                        ),
                    );
                    None
                }
            },
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
        Some(WorkloadSpec {
            rate: rate?,
            arrivals: arrivals?,
            service: service?,
            clients: clients?,
        })
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
                    .and_then(|c| self.number(c, "workload.service.cv", Bound::NonNegative));
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
        let mut names: Vec<(String, usize)> = Vec::new();
        let mut total: u64 = 0;
        for (index, group) in groups.iter().enumerate() {
            let path = format!("servers[{index}]");
            let spec = self.server_group(group, &path, algorithm);
            if let Some(spec) = &spec {
                total = total.saturating_add(u64::from(spec.count));
                let name_offset = group
                    .get_ref()
                    .name
                    .as_ref()
                    .map_or(group.span().start, |n| n.span().start);
                if let Some((_, first)) = names.iter().find(|(n, _)| *n == spec.name) {
                    self.error(
                        name_offset,
                        &format!("{path}.name"),
                        format!(
                            "duplicate group name {:?} (servers[{first}] has it too); \
                             give each [[servers]] group its own name",
                            spec.name
                        ),
                    );
                    specs = None;
                }
                names.push((spec.name.clone(), index));
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
            Some(name) => match Algorithm::from_name(name.get_ref()) {
                Some(algorithm) => Some(algorithm),
                None => {
                    let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                    self.error(
                        name.span().start,
                        "balancer.algorithm",
                        format!(
                            "unknown algorithm {:?}, {}",
                            name.get_ref(),
                            suggest::expected_one_of(name.get_ref(), &names)
                        ),
                    );
                    None
                }
            },
        };
        let virtual_nodes = match raw.and_then(|b| b.virtual_nodes.as_ref()) {
            None => Some(BalancerSpec::DEFAULT_VIRTUAL_NODES),
            Some(nodes) => self
                .integer(nodes, "balancer.virtual_nodes", 1, MAX_VIRTUAL_NODES)
                .and_then(|n| u32::try_from(n).ok()),
        };
        Some(BalancerSpec {
            algorithm: algorithm?,
            virtual_nodes: virtual_nodes?,
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
            Bound::Any => (true, "a number"),
        };
        if ok {
            Some(x)
        } else {
            self.error(offset, path, format!("expected {what}, found {}", show(x)));
            None
        }
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
