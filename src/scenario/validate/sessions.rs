//! `[workload.sessions]`, `[affinity]` and `[session_store]`: traffic made of sessions,
//! cookie affinity through a session table, and a shared store of session state.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::engine::SimDuration;
use crate::model::{
    AffinitySpec, Draining, OnUnavailable, RateSchedule, ServiceDist, SessionLength, SessionsSpec,
    TierSpec,
};
use crate::scenario::raw::{RawAffinity, RawLength, RawSessionStore, RawWorkload};

/// The names `workload.sessions.requests.dist` accepts, with the parameters each takes.
const LENGTHS: &[(&str, &[&str])] = &[
    ("constant", &["mean"]),
    ("geometric", &["mean"]),
    ("uniform", &["min", "max"]),
];

/// The names `workload.sessions.state` accepts.
const STATES: &[&str] = &["local", "store"];

/// The names `affinity.mode` accepts.
const MODES: &[&str] = &["none", "cookie"];

/// The most requests one session may make (a session is a visit, not a lifetime).
const MAX_SESSION_REQUESTS: i128 = 1_000_000;

/// The default re-login: a login is a heavier request than most, a password hash and a
/// few queries; 50 ms of work.
const DEFAULT_RELOGIN: ServiceDist = ServiceDist::Constant {
    mean: SimDuration::from_millis(50),
};

/// The default think time between a session's requests.
const DEFAULT_THINK: ServiceDist = ServiceDist::Exponential {
    mean: SimDuration::from_secs(5),
};

impl Checker<'_> {
    /// `[workload.sessions]`: `Some(None)` when absent, `None` after an error.
    pub(super) fn sessions(
        &mut self,
        workload: Option<&Spanned<RawWorkload>>,
    ) -> Option<Option<SessionsSpec>> {
        let Some(workload) = workload else {
            return Some(None);
        };
        let Some(sessions) = &workload.get_ref().sessions else {
            return Some(None);
        };
        let path = "workload.sessions";
        if workload.get_ref().trace.is_some() {
            self.error(
                sessions.span().start,
                path,
                "expected no [workload.sessions] with a trace: a trace's own `session` \
                 column says which requests belong together",
            );
            return None;
        }
        let raw = sessions.get_ref();
        let rate = match &raw.rate {
            None => {
                self.error(
                    sessions.span().start,
                    &format!("{path}.rate"),
                    "missing: expected new sessions per second, or a schedule like \
                     [[\"0s\", 5], [\"5m\", 20]]",
                );
                None
            }
            Some(rate) => self.rate(rate, &format!("{path}.rate")),
        };
        let requests = match &raw.requests {
            None => Some(SessionLength::Geometric { mean: 10.0 }),
            Some(requests) => self.length(requests, &format!("{path}.requests")),
        };
        let think = match &raw.think {
            None => Some(DEFAULT_THINK),
            Some(think) => self.service_at(think, &format!("{path}.think")),
        };
        let relogin = match &raw.relogin {
            None => Some(DEFAULT_RELOGIN),
            Some(relogin) => self.service_at(relogin, &format!("{path}.relogin")),
        };
        let shared_store = match &raw.state {
            None => Some(false),
            Some(state) => self.choice(state, &format!("{path}.state"), "state", STATES, |name| {
                STATES.contains(&name).then_some(name == "store")
            }),
        };
        let users_per_address = self.count(
            raw.users_per_address.as_ref(),
            &format!("{path}.users_per_address"),
            1,
        );
        let spec = SessionsSpec {
            rate: rate?,
            requests: requests?,
            think: think?,
            users_per_address: users_per_address?,
            relogin: relogin?,
            shared_store: shared_store?,
        };
        // Each session brings its mean number of requests: their product must still be a
        // rate the arrival process can draw gaps from.
        if request_rate(&spec)
            .steps()
            .iter()
            .any(|&(_, rate)| !rate.is_finite())
        {
            let at = raw
                .rate
                .as_ref()
                .map_or(sessions.span().start, |r| r.span().start);
            self.error(
                at,
                &format!("{path}.rate"),
                "too large: new sessions per second times requests per session must be a \
                 finite request rate",
            );
            return None;
        }
        Some(Some(spec))
    }

    /// `workload.sessions.requests`: a distribution of whole numbers of requests.
    fn length(&mut self, raw: &Spanned<RawLength>, path: &str) -> Option<SessionLength> {
        let offset = raw.span().start;
        let length = raw.get_ref();
        let names: Vec<&str> = LENGTHS.iter().map(|(name, _)| *name).collect();
        let Some(dist) = &length.dist else {
            self.error(
                offset,
                &format!("{path}.dist"),
                format!("missing: expected one of {}", names.join(", ")),
            );
            return None;
        };
        let takes = self.choice(
            dist,
            &format!("{path}.dist"),
            "distribution",
            &names,
            |name| LENGTHS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t),
        )?;
        let given = [
            ("mean", length.mean.as_ref().map(|v| v.span().start)),
            ("min", length.min.as_ref().map(|v| v.span().start)),
            ("max", length.max.as_ref().map(|v| v.span().start)),
        ];
        let mut ok = true;
        for (parameter, at) in given {
            let at = match at {
                Some(at) if !takes.contains(&parameter) => at,
                Some(_) => continue,
                None if takes.contains(&parameter) => {
                    self.error(
                        offset,
                        &format!("{path}.{parameter}"),
                        format!(
                            "missing: {:?} needs {}",
                            dist.get_ref(),
                            takes.join(" and ")
                        ),
                    );
                    ok = false;
                    continue;
                }
                None => continue,
            };
            self.error(
                at,
                &format!("{path}.{parameter}"),
                format!(
                    "{:?} takes no {parameter}: it takes {}",
                    dist.get_ref(),
                    takes.join(" and ")
                ),
            );
            ok = false;
        }
        if !ok {
            return None;
        }
        let whole = |checker: &mut Self, value: &Spanned<crate::scenario::raw::Int>, key: &str| {
            checker
                .integer(value, &format!("{path}.{key}"), 1, MAX_SESSION_REQUESTS)
                .map(|n| n as u32)
        };
        match dist.get_ref().as_str() {
            "uniform" => {
                let (min_raw, max_raw) = (length.min.as_ref()?, length.max.as_ref()?);
                let min = whole(self, min_raw, "min");
                let max = whole(self, max_raw, "max");
                match (min, max) {
                    (Some(min), Some(max)) if min > max => {
                        self.error(
                            min_raw.span().start,
                            &format!("{path}.min"),
                            format!("expected min at most max ({max}), found {min}"),
                        );
                        None
                    }
                    (Some(min), Some(max)) => Some(SessionLength::Uniform { min, max }),
                    _ => None,
                }
            }
            name => {
                let mean_raw = length.mean.as_ref()?;
                let mean = self.number(mean_raw, &format!("{path}.mean"), Bound::Positive)?;
                if !(1.0..=MAX_SESSION_REQUESTS as f64).contains(&mean)
                    || (name == "constant" && mean.fract() != 0.0)
                {
                    let what = if name == "constant" {
                        "a whole number of requests"
                    } else {
                        "a mean number of requests"
                    };
                    self.error(
                        mean_raw.span().start,
                        &format!("{path}.mean"),
                        format!("expected {what} from 1 to {MAX_SESSION_REQUESTS}, found {mean}"),
                    );
                    return None;
                }
                Some(if name == "constant" {
                    SessionLength::Constant(mean as u32)
                } else {
                    SessionLength::Geometric { mean }
                })
            }
        }
    }

    /// `[affinity]`: `Some(None)` when absent or `mode = "none"`, `None` after an error.
    /// Cookie affinity needs a cookie: sessions in the workload or in the trace.
    pub(super) fn affinity(
        &mut self,
        raw: Option<&Spanned<RawAffinity>>,
        has_sessions: bool,
    ) -> Option<Option<AffinitySpec>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let table = raw.get_ref();
        let cookie = match &table.mode {
            None => Some(true),
            Some(mode) => self.choice(mode, "affinity.mode", "affinity mode", MODES, |name| {
                MODES.contains(&name).then_some(name == "cookie")
            }),
        };
        let ttl = match &table.ttl {
            None => Some(AffinitySpec::DEFAULT_TTL),
            Some(ttl) => self.positive_duration(ttl, "affinity.ttl"),
        };
        let sweep_interval = match &table.sweep_interval {
            // A tenth of the TTL: entries outlive it by at most 10%.
            None => ttl.map(|ttl| SimDuration::from_nanos((ttl.as_nanos() / 10).max(1))),
            Some(interval) => self.positive_duration(interval, "affinity.sweep_interval"),
        };
        let on_unavailable = match &table.on_unavailable {
            None => Some(OnUnavailable::Repin),
            Some(name) => {
                let names = OnUnavailable::ALL.map(OnUnavailable::name);
                self.choice(name, "affinity.on_unavailable", "choice", &names, |name| {
                    OnUnavailable::ALL.into_iter().find(|o| o.name() == name)
                })
            }
        };
        let draining = match &table.draining {
            None => Some(Draining::Move),
            Some(name) => {
                let names = Draining::ALL.map(Draining::name);
                self.choice(name, "affinity.draining", "choice", &names, |name| {
                    Draining::ALL.into_iter().find(|d| d.name() == name)
                })
            }
        };
        if cookie == Some(true) && !has_sessions {
            let offset = table
                .mode
                .as_ref()
                .map_or(raw.span().start, |m| m.span().start);
            self.error(
                offset,
                "affinity.mode",
                "cookie affinity needs sessions: add [workload.sessions], or replay a trace \
                 with a `session` column",
            );
            return None;
        }
        let spec = AffinitySpec {
            ttl: ttl?,
            refresh: table.refresh.as_ref().is_none_or(|r| *r.get_ref()),
            sweep_interval: sweep_interval?,
            on_unavailable: on_unavailable?,
            draining: draining?,
        };
        Some(cookie?.then_some(spec))
    }

    /// `[session_store]`: `Some(None)` when absent, `None` after an error. Checked even
    /// when sessions keep their state locally (a sweep may switch between the two), and
    /// required when they keep it in the store (`wanted_at`: where the file says so).
    pub(super) fn session_store(
        &mut self,
        raw: Option<&Spanned<RawSessionStore>>,
        wanted_at: Option<usize>,
    ) -> Option<Option<TierSpec>> {
        let Some(raw) = raw else {
            if let Some(offset) = wanted_at {
                self.error(
                    offset,
                    "session_store",
                    "missing: workload.sessions.state = \"store\" needs a [session_store] \
                     table with the store's workers and service time",
                );
                return None;
            }
            return Some(None);
        };
        let store = raw.get_ref();
        let workers = self.count(store.workers.as_ref(), "session_store.workers", 1);
        let queue_limit = match &store.queue {
            None => Some(None),
            Some(queue) => self.queue(queue, "session_store.queue"),
        };
        let service = match &store.service {
            None => {
                self.error(
                    raw.span().start,
                    "session_store.service",
                    "missing: expected the store's time per request, like \
                     { dist = \"exponential\", mean = \"1ms\" }",
                );
                None
            }
            Some(service) => self.service_at(service, "session_store.service"),
        };
        Some(Some(TierSpec {
            name: "session-store".to_string(),
            workers: workers?,
            queue_limit: queue_limit?,
            service: service?,
        }))
    }
}

/// The long-run request rate of sessions starting at `sessions.rate`: each makes
/// `requests.mean()` requests on average.
pub(super) fn request_rate(sessions: &SessionsSpec) -> RateSchedule {
    let mean = sessions.requests.mean();
    RateSchedule::from_steps(
        sessions
            .rate
            .steps()
            .iter()
            .map(|&(start, rate)| (start, rate * mean))
            .collect(),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use crate::model::{Draining, OnUnavailable, SessionLength};
    use crate::scenario::validate::testing::{
        MINIMAL, assert_bad_fixtures, error, generated, valid,
    };

    fn sessions(lines: &str) -> String {
        let without_rate = MINIMAL.replace("rate = 100\n", "");
        format!("{without_rate}[workload.sessions]\n{lines}\n")
    }

    #[test]
    fn sessions_have_defaults_and_set_the_long_run_request_rate() {
        let scenario = valid(&sessions("rate = 4"));
        let run = &scenario.variants[0].run;
        let spec = run.sessions.as_ref().unwrap();
        assert_eq!(spec.requests, SessionLength::Geometric { mean: 10.0 });
        assert_eq!(spec.users_per_address, 1);
        assert_eq!(generated(run).rate.steps()[0].1, 40.0);
    }

    #[test]
    fn affinity_and_the_store_are_read() {
        let source = format!(
            "{}[affinity]\nttl = \"30s\"\nrefresh = false\non_unavailable = \"fail\"\n\
             draining = \"keep\"\n\
             [session_store]\nworkers = 2\nservice = {{ dist = \"constant\", mean = \"1ms\" }}\n",
            sessions(
                "rate = 4\nstate = \"store\"\nrequests = { dist = \"uniform\", min = 2, max = 5 }"
            )
        );
        let scenario = valid(&source);
        let run = &scenario.variants[0].run;
        let affinity = run.affinity.as_ref().unwrap();
        assert!(!affinity.refresh);
        assert_eq!(affinity.on_unavailable, OnUnavailable::Fail);
        assert_eq!(affinity.draining, Draining::Keep);
        assert_eq!(affinity.sweep_interval.as_nanos(), 3_000_000_000);
        assert_eq!(run.session_store.as_ref().unwrap().workers, 2);
        let source = format!("{}[affinity]\nmode = \"none\"\n", sessions("rate = 4"));
        assert_eq!(valid(&source).variants[0].run.affinity, None);
    }

    #[test]
    fn a_session_rate_whose_request_rate_overflows_is_an_error() {
        // 1e308 sessions a second of 10 requests each: an infinite request rate.
        let message = error(&sessions("rate = 1e308"));
        assert!(
            message.contains("workload.sessions.rate: too large"),
            "{message}"
        );
    }

    #[test]
    fn a_rate_and_sessions_together_are_an_error() {
        let source = format!("{MINIMAL}[workload.sessions]\nrate = 4\n");
        assert!(error(&source).contains("workload.rate: expected either a request rate"));
    }

    /// The bad fixtures of sessions, affinity, the store and the affinity algorithms.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "affinity_negative_ttl",
            "9:7: affinity.ttl: ",
            "non-negative",
        ),
        (
            "affinity_unknown_draining",
            "9:12: affinity.draining: ",
            "did you mean \"keep\"?",
        ),
        (
            "affinity_without_sessions",
            "7:8: affinity.mode: ",
            "cookie affinity needs sessions",
        ),
        (
            "session_store_zero_workers",
            "10:11: session_store.workers: ",
            "expected a positive integer, found 0",
        ),
        (
            "balance_factor_not_above_one",
            "9:18: balancer.balance_factor: ",
            "expected a number greater than 1, found 1",
        ),
        (
            "hash_on_session_without_hashing",
            "9:11: balancer.hash_on: ",
            "\"least-connections\" does not hash",
        ),
        (
            "session_length_unknown_dist",
            "8:21: workload.sessions.requests.dist: ",
            "did you mean \"geometric\"?",
        ),
    ];

    #[test]
    fn bad_session_input_is_a_located_error() {
        assert_bad_fixtures(BAD);
    }
}
