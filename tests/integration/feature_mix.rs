//! Capabilities mixed at random, as a user may combine them: each case is a scenario file
//! with some of health checks, outlier detection, a panic threshold, a circuit breaker,
//! client timeouts and retries (with and without the previous-hosts predicate), sessions
//! and cookie affinity, an autoscaler, service discovery, a data tier, crashes and a
//! timeline of every action, under any algorithm. Whatever the mix, a valid file simulates
//! without a panic, no server takes a request before it has first served or (without
//! discovery) after it has left, none that began to drain is ready again (a crash ends a
//! departure, it does not undo it) nor any the timeline removed (crashed or restarting,
//! with a pre-stop time or not), each server's lifecycle in events.csv is one chain of
//! changes, the counts are conserved (over the run and over every interval), no server's
//! time-series row counts more in flight than it queues and serves, and a rerun is
//! identical (with or without an observer) — properties no single capability's tests can
//! show, since each covers its own section.
//!
//! Every case is small (a 20 s run on a handful of servers) so that the module takes a few
//! seconds in release mode; `PROPTEST_CASES=N` runs more.

use std::collections::BTreeSet;
use std::path::Path;

use lbsim::balancer::Algorithm;
use lbsim::engine::SimTime;
use lbsim::model::{Change, Observed, Observer, ServerState, simulate, simulate_observed};
use lbsim::scenario::Scenario;
use lbsim::stats::RunResult;
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::records;

/// `cases`, or `PROPTEST_CASES` when set.
fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// One timeline action on the first servers, at a second of the run.
fn action() -> impl Strategy<Value = String> {
    let server = (0u32..4).prop_map(|i| format!("web-{i}"));
    let at = 1u32..19;
    prop_oneof![
        (at.clone(), server.clone(), prop::option::of(1u32..8)).prop_map(|(at, s, down)| {
            let downtime = down.map_or(String::new(), |d| format!("downtime = \"{d}s\"\n"));
            format!("action = \"crash\"\nat = \"{at}s\"\nserver = \"{s}\"\n{downtime}")
        }),
        (at.clone(), server.clone(), any::<bool>()).prop_map(|(at, s, abrupt)| {
            let mode = if abrupt { "abrupt" } else { "graceful" };
            format!("action = \"remove\"\nat = \"{at}s\"\nserver = \"{s}\"\nmode = \"{mode}\"\n")
        }),
        (at.clone(), 1u32..3).prop_map(|(at, n)| {
            format!("action = \"add\"\nat = \"{at}s\"\ngroup = \"web\"\ncount = {n}\n")
        }),
        (at.clone(), server, 1u32..20).prop_map(|(at, s, tenths)| {
            let speed = f64::from(tenths) / 10.0;
            format!("action = \"set-speed\"\nat = \"{at}s\"\nserver = \"{s}\"\nspeed = {speed}\n")
        }),
        (at, prop::sample::select(vec!["a", "b"]), 1u32..6).prop_map(|(at, zone, d)| {
            format!(
                "action = \"zone-outage\"\nat = \"{at}s\"\nzone = \"{zone}\"\ndowntime = \"{d}s\"\n"
            )
        }),
    ]
}

/// A section or none, with probability one half.
fn maybe(section: &'static str) -> impl Strategy<Value = &'static str> {
    prop_oneof![Just(""), Just(section)]
}

/// A whole scenario file.
fn scenario() -> impl Strategy<Value = String> {
    let base = (
        prop::sample::select(Algorithm::ALL.to_vec()),
        2u32..6,
        1u32..4,
        prop::option::of(1u32..30),
        100u32..900,
        prop::option::of(prop::sample::select(vec!["0", "0.5", "1", "\"off\""])),
        any::<bool>(),
        prop::option::of(1u32..4),
    );
    let sections = (
        maybe("[health_check]\ninterval = \"1s\"\ntimeout = \"300ms\"\n"),
        prop_oneof![
            Just(String::new()),
            (0u32..=100).prop_map(|p| format!(
                "[outlier_detection]\nconsecutive_errors = 3\nbase_ejection_time = \"3s\"\n\
                 max_ejection_percent = {p}\ninterval = \"2s\"\n"
            )),
        ],
        maybe(
            "[circuit_breaker]\nwindow = \"5s\"\nfailure_rate = 0.5\nmin_requests = 5\n\
             open_for = \"2s\"\nprobes = 2\n",
        ),
        prop_oneof![
            Just(""),
            Just(
                "[client]\ntimeout = \"200ms\"\nretries = 2\n\
                 backoff = { base = \"10ms\", max = \"50ms\" }\n"
            ),
            Just(
                "[client]\ntimeout = \"200ms\"\nretries = 2\n\
                 backoff = { base = \"10ms\", max = \"50ms\" }\n\
                 retry_host_predicate = \"previous-hosts\"\nhost_selection_retry_max_attempts = 2\n"
            ),
        ],
        prop_oneof![
            Just(""),
            Just(
                "[autoscaler]\npolicy = \"target-tracking\"\nmin = 1\nmax = 6\ninterval = \"3s\"\n\
                 provisioning = { dist = \"constant\", mean = \"2s\" }\n\
                 [autoscaler.target_tracking]\nmetric = \"cpu\"\ntarget = 0.5\n"
            ),
            Just(
                "[autoscaler]\npolicy = \"scheduled\"\nmin = 1\nmax = 6\n\
                 [[autoscaler.schedule]]\nat = \"6s\"\ndesired = 1\n\
                 [[autoscaler.schedule]]\nat = \"12s\"\ndesired = 5\n"
            ),
        ],
        prop_oneof![
            Just(""),
            Just("[discovery]\nmode = \"poll\"\ninterval = \"3s\"\n"),
            Just("[discovery]\nmode = \"watch\"\ndelay = \"1s\"\n"),
        ],
        maybe(
            "[database]\nread_share = 0.8\nqueries = 1\n\
             service = { dist = \"exponential\", mean = \"1ms\" }\nworkers = 2\nreplicas = 1\n\
             replication_lag = \"20ms\"\nfailover = \"2s\"\n\
             [[database.failures]]\nat = \"8s\"\nnode = \"primary\"\n",
        ),
        any::<bool>(),
        prop::collection::vec(action(), 0..5),
    );
    (base, sections).prop_map(
        |(
            (algorithm, count, workers, queue, rate, panic, failures, pre_stop),
            (health, outliers, breaker, client, autoscaler, discovery, database, sessions, actions),
        )| {
            let queue = queue.map_or(String::new(), |q| format!("queue = {q}\n"));
            let pre_stop = pre_stop.map_or(String::new(), |p| format!("pre_stop = \"{p}s\"\n"));
            let failures = if failures {
                "mtbf = \"8s\"\nmttr = \"2s\"\n"
            } else {
                ""
            };
            let panic = panic.map_or(String::new(), |p| format!("panic_threshold = {p}\n"));
            let workload = if sessions {
                "[workload]\nclients = 200\nservice = { dist = \"exponential\", mean = \"5ms\" }\n\
                 [workload.sessions]\nrate = 40\nrequests = { dist = \"geometric\", mean = 5 }\n\
                 think = { dist = \"exponential\", mean = \"500ms\" }\n\
                 [affinity]\nmode = \"cookie\"\nttl = \"10s\"\n"
                    .to_string()
            } else {
                format!(
                    "[workload]\nrate = {rate}\nservice = {{ dist = \"exponential\", mean = \"5ms\" }}\n"
                )
            };
            let timeline: String = actions
                .iter()
                .map(|action| format!("[[timeline]]\n{action}"))
                .collect();
            format!(
                "duration = \"20s\"\nwarmup = \"1s\"\n{workload}\
                 [[servers]]\nname = \"web\"\ncount = {count}\nworkers = {workers}\n{queue}\
                 boot = \"1s\"\n{pre_stop}{failures}\
                 [[servers]]\nname = \"edge\"\ncount = 1\nzone = \"b\"\n\
                 [balancer]\nalgorithm = \"{}\"\nmax_connections = 8\n{panic}\
                 {health}{outliers}{breaker}{client}{autoscaler}{discovery}{database}{timeline}",
                algorithm.name()
            )
        },
    )
}

/// Which servers have been ready and which have left rotation for good (draining, or
/// gone), every pick of a server before it was first ready or after it left, every
/// server ready again after it began to drain (a crash while draining ends the departure;
/// nothing brings a leaving server back), and when each server became ready.
#[derive(Default)]
struct Picks {
    ready: BTreeSet<String>,
    became_ready: Vec<(SimTime, String)>,
    left: BTreeSet<String>,
    picked_unready: Vec<(SimTime, String)>,
    picked_after_leaving: Vec<(SimTime, String)>,
    ready_after_draining: Vec<(SimTime, String)>,
}

impl Observer for Picks {
    const ACTIVE: bool = true;

    fn observe(&mut self, now: SimTime, event: Observed<'_>) {
        match event {
            Observed::StateChanged { server, to, .. } => match to {
                Some(ServerState::Ready) => {
                    if self.left.contains(server) {
                        self.ready_after_draining.push((now, server.to_string()));
                    }
                    self.ready.insert(server.to_string());
                    self.became_ready.push((now, server.to_string()));
                }
                Some(ServerState::Draining) | None => {
                    self.left.insert(server.to_string());
                }
                _ => {}
            },
            Observed::Picked { name, .. } => {
                if !self.ready.contains(name) {
                    self.picked_unready.push((now, name.to_string()));
                }
                if self.left.contains(name) {
                    self.picked_after_leaving.push((now, name.to_string()));
                }
            }
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    /// A valid mix simulates, no server is picked before it has first been ready (the
    /// balancers learn of a server when it first serves) nor, without service discovery,
    /// once it drains or leaves, the counts add up, and a run without the observer is the
    /// same run.
    #[test]
    fn any_valid_mix_of_capabilities_simulates_and_conserves_requests(
        source in scenario(),
        seed in 0u64..1000,
    ) {
        let Ok(scenario) = Scenario::from_source(&source, Path::new("mix.toml")) else {
            // The timeline may name a server removed before it: a located error, which
            // the fuzzers of the parser check. Nothing to simulate.
            return Ok(());
        };
        for variant in &scenario.variants {
            let mut picks = Picks::default();
            // The servers of the warm cluster are ready from the start.
            for group in &variant.run.servers {
                picks
                    .ready
                    .extend((0..group.count).map(|i| format!("{}-{i}", group.name)));
            }
            let result = simulate_observed(&variant.run, seed, &mut picks);
            prop_assert!(
                picks.picked_unready.is_empty(),
                "picked before ready: {:?}\n{}",
                &picks.picked_unready[..picks.picked_unready.len().min(3)],
                source
            );
            // Without service discovery the balancers take a leaving server out at once;
            // with it they may route to it until they hear (stale routes, by design).
            if variant.run.discovery.is_none() {
                prop_assert!(
                    picks.picked_after_leaving.is_empty(),
                    "picked after leaving: {:?}\n{}",
                    &picks.picked_after_leaving[..picks.picked_after_leaving.len().min(3)],
                    source
                );
            }
            prop_assert!(
                picks.ready_after_draining.is_empty(),
                "ready again after draining: {:?}\n{}",
                &picks.ready_after_draining[..picks.ready_after_draining.len().min(3)],
                source
            );
            // A server the timeline removes, whatever its state (a crashed or restarting
            // one included, with a pre-stop time or not), is never ready after.
            let ready_after_removal: Vec<_> = variant
                .run
                .timeline
                .iter()
                .filter_map(|action| match &action.change {
                    Change::Remove { server, .. } => Some((action.at, server)),
                    _ => None,
                })
                .flat_map(|(removed, server)| {
                    picks
                        .became_ready
                        .iter()
                        .filter(move |(when, name)| name == server && *when > removed)
                })
                .collect();
            prop_assert!(
                ready_after_removal.is_empty(),
                "ready after its removal: {:?}\n{}",
                ready_after_removal,
                source
            );
            prop_assert!(result.counts.is_conserved(), "{:?}\n{}", result.counts, source);
            // Each server's lifecycle in events.csv is one chain: every change starts from
            // the state the last one left it in.
            let lifecycle = ["absent", "booting", "ready", "draining", "down"];
            let mut last: std::collections::BTreeMap<&str, &str> = Default::default();
            let mut broken = Vec::new();
            for event in &result.events {
                if !lifecycle.contains(&event.from) || !lifecycle.contains(&event.to) {
                    continue;
                }
                if let Some(&before) = last.get(event.server.as_str())
                    && before != event.from
                {
                    broken.push((before, event.clone()));
                }
                last.insert(event.server.as_str(), event.to);
            }
            prop_assert!(
                broken.is_empty(),
                "a lifecycle change from a state the server was not in: {:?}\n{}",
                &broken[..broken.len().min(2)],
                source
            );
            // The cluster's row conserves requests over every interval.
            let mut unconserved = Vec::new();
            let mut in_flight_before = 0i64;
            for interval in records(&result.intervals) {
                let ended = i64::from(interval.completions)
                    + i64::from(interval.counts.rejected)
                    + i64::from(interval.counts.failed);
                let in_flight = i64::from(interval.in_flight);
                if i64::from(interval.counts.arrivals) != ended + in_flight - in_flight_before {
                    unconserved.push(interval);
                }
                in_flight_before = in_flight;
            }
            prop_assert!(
                unconserved.is_empty(),
                "an interval that does not conserve requests: {:?}\n{}",
                &unconserved[..unconserved.len().min(2)],
                source
            );
            // A server's row counts attempts that reached it and have not ended there: each
            // is queued or in service (a timed-out one may stay on after it ended).
            let overcounted: Vec<_> = records(&result.series)
                .into_iter()
                .filter(|row| row.in_flight > row.queue_length + row.busy_workers)
                .collect();
            prop_assert!(
                overcounted.is_empty(),
                "more in flight than queued and served: {:?}\n{}",
                &overcounted[..overcounted.len().min(2)],
                source
            );
            // The same spec and seed, without an observer: the very same run.
            let again = simulate(&variant.run, seed);
            let outcome = |r: &RunResult| format!("{:?}", (&r.counts, &r.latency, &r.events, &r.figures));
            prop_assert_eq!(outcome(&result), outcome(&again), "{}", source);
        }
    }
}
