//! `[workload]`: generated traffic (its rate, constant or a schedule of steps, its
//! arrival pattern, its service-time distribution and its clients), or a trace to replay
//! (trace.rs) instead.

use toml::Spanned;

use super::checker::Checker;
use super::values::{Bound, show};
use crate::engine::{SimDuration, SimTime};
use crate::model::{ArrivalPattern, GeneratedWorkload, RateSchedule, ServiceDist, WorkloadSpec};
use crate::scenario::raw::{RawRate, RawService, RawWorkload};
use crate::scenario::suggest;

/// The names `workload.arrivals` accepts.
const ARRIVALS: &[&str] = &["poisson", "constant"];

/// The most client addresses: a run whose timeline changes membership under a hashing
/// algorithm lists every address to measure the share remapped (4 bytes each), so the
/// population is bounded as the servers are.
const MAX_CLIENTS: u32 = 100_000_000;

/// The names `workload.service.dist` accepts, with the parameters each one takes.
const DISTRIBUTIONS: &[(&str, &[&str])] = &[
    ("constant", &["mean"]),
    ("exponential", &["mean"]),
    ("uniform", &["min", "max"]),
    ("lognormal", &["mean", "cv"]),
    ("pareto", &["mean", "shape"]),
];

/// A service distribution's parameters, for reporting a missing one.
struct Need<'a> {
    dist: &'a str,
    takes: &'a [&'a str],
    /// The service table, where a missing parameter is reported.
    offset: usize,
    /// Its key path (`workload.service`, `tiers[0].service`).
    path: &'a str,
}

impl Checker<'_> {
    /// `[workload]`: generated traffic, or the replay of `workload.trace` (trace.rs).
    /// `session_rate` is the request rate of `[workload.sessions]`, checked before.
    pub(super) fn workload(
        &mut self,
        workload: Option<&Spanned<RawWorkload>>,
        session_rate: Option<&RateSchedule>,
    ) -> Option<WorkloadSpec> {
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
                .generated(table_offset, raw, session_rate)
                .map(WorkloadSpec::Generated),
        }
    }

    fn generated(
        &mut self,
        table_offset: usize,
        raw: &RawWorkload,
        session_rate: Option<&RateSchedule>,
    ) -> Option<GeneratedWorkload> {
        let rate = match (&raw.rate, &raw.sessions) {
            // Sessions bring their own rate (sessions.rs); the request rate follows.
            (None, Some(_)) => session_rate.cloned(),
            (Some(rate), Some(_)) => {
                self.error(
                    rate.span().start,
                    "workload.rate",
                    "expected either a request rate or [workload.sessions] with its session \
                     rate, not both",
                );
                None
            }
            (None, None) => {
                self.error(
                    table_offset,
                    "workload.rate",
                    "missing: expected requests per second, or a schedule like \
                     [[\"0s\", 100], [\"5m\", 900]]",
                );
                None
            }
            (Some(rate), None) => self.rate(rate, "workload.rate"),
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
        let clients = self.count_up_to(raw.clients.as_ref(), "workload.clients", 1000, MAX_CLIENTS);
        Some(GeneratedWorkload {
            rate: rate?,
            arrivals: arrivals?,
            service: service?,
            clients: clients?,
        })
    }

    /// A rate of requests (or sessions) per second, or a schedule of them, at `path`.
    pub(super) fn rate(&mut self, rate: &Spanned<RawRate>, path: &str) -> Option<RateSchedule> {
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

    /// `workload.service`: a distribution and the parameters it takes; also what a trace
    /// replay draws for requests that carry no service time.
    pub(super) fn service(&mut self, service: &Spanned<RawService>) -> Option<ServiceDist> {
        self.service_at(service, "workload.service")
    }

    /// A service-time distribution at key path `path` (the workload's, or a tier's).
    pub(super) fn service_at(
        &mut self,
        service: &Spanned<RawService>,
        path: &str,
    ) -> Option<ServiceDist> {
        let raw = service.get_ref();
        let table_offset = service.span().start;
        let names: Vec<&str> = DISTRIBUTIONS.iter().map(|(name, _)| *name).collect();
        let Some(dist) = &raw.dist else {
            self.error(
                table_offset,
                &format!("{path}.dist"),
                format!("missing: {}", suggest::expected_one_of("", &names)),
            );
            return None;
        };
        let Some(&(dist_name, takes)) = DISTRIBUTIONS.iter().find(|(n, _)| n == dist.get_ref())
        else {
            self.error(
                dist.span().start,
                &format!("{path}.dist"),
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
                    &format!("{path}.{parameter}"),
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
            path,
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
                    .and_then(|m| self.duration(m, &format!("{path}.min")));
                let max = self
                    .required(&need, raw.max.as_ref(), "max")
                    .and_then(|m| self.positive_duration(m, &format!("{path}.max")));
                match (min, max, &raw.min, &raw.max) {
                    (Some(min), Some(max), Some(min_text), Some(max_text)) if min > max => {
                        self.error(
                            min_text.span().start,
                            &format!("{path}.min"),
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
                    .and_then(|c| self.number(c, &format!("{path}.cv"), Bound::Variation));
                mean.zip(cv)
                    .map(|(mean, cv)| ServiceDist::LogNormal { mean, cv })
            }
            _ => {
                let mean = self.mean(&need, raw);
                let shape = self
                    .required(&need, raw.shape.as_ref(), "shape")
                    .and_then(|s| self.number(s, &format!("{path}.shape"), Bound::GreaterThanOne));
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
                &format!("{}.{name}", need.path),
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
            .and_then(|m| self.positive_duration(m, &format!("{}.mean", need.path)))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::scenario::validate::testing::{error, generated, valid, with};
    use crate::scenario::validate::validate;

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
    fn the_client_population_is_bounded() {
        let message = error(&with("workload", "clients = 4000000000"));
        assert!(
            message.ends_with(
                "workload.clients: expected a positive integer of at most 100000000, found \
                 4000000000"
            ),
            "{message}"
        );
        let scenario = valid(&with("workload", "clients = 100000000"));
        assert_eq!(generated(&scenario.variants[0].run).clients, 100_000_000);
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
}
