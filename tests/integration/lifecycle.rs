//! A living cluster: servers that join, leave and slow down mid-run, second tiers, and
//! what the engine reports of it, checked event by event through a recording observer.

use std::collections::BTreeMap;

use lbsim::balancer::{Algorithm, BalancerSpec};
use lbsim::engine::{SimDuration, SimTime};
use lbsim::model::{
    ArrivalPattern, Change, FailReason, Fraction, GeneratedWorkload, HealthCheckSpec, Observed,
    Observer, OutlierSpec, RateSchedule, RequestId, RunSpec, ServerGroupSpec, ServerState,
    ServiceDist, TierSpec, TimelineAction, WorkloadSpec, simulate, simulate_observed,
};
use lbsim::stats::{Figure, RunResult};
use proptest::prelude::*;

/// How a request ended, as the observer saw it.
#[derive(Clone, Debug, PartialEq)]
enum End {
    Completed { latency: SimDuration },
    Rejected,
    Failed(FailReason),
}

/// One request's life: where it was sent, when, and how it ended (every end it had).
#[derive(Clone, Debug, Default)]
struct Life {
    arrived: SimTime,
    server: Option<String>,
    ends: Vec<(SimTime, End)>,
}

/// Records every request's life and checks, as events happen, that the balancer picks only
/// servers that are ready.
#[derive(Default)]
struct Recorder {
    lives: Vec<Life>,
    live: BTreeMap<RequestId, usize>,
    /// State of each server by name; servers that exist from the start are ready.
    states: BTreeMap<String, ServerState>,
    picks_of_unready: Vec<(SimTime, String)>,
    /// Servers the health checks took out, and picks of them outside a panic (in one,
    /// every host is in rotation whatever its health).
    unhealthy: Vec<String>,
    panic: bool,
    picks_of_unhealthy: Vec<(SimTime, String)>,
    state_changes: Vec<StateChange>,
}

/// When a server changed state, from what, to what, and why.
type StateChange = (
    SimTime,
    String,
    Option<ServerState>,
    Option<ServerState>,
    String,
);

impl Recorder {
    fn for_servers(names: &[&str]) -> Self {
        Recorder {
            states: names
                .iter()
                .map(|n| (n.to_string(), ServerState::Ready))
                .collect(),
            ..Recorder::default()
        }
    }

    fn end(&mut self, now: SimTime, request: RequestId, end: End) {
        let index = self
            .live
            .remove(&request)
            .expect("an end for a live request");
        self.lives[index].ends.push((now, end));
    }

    /// Requests sent to `server`.
    fn sent_to(&self, server: &str) -> impl Iterator<Item = &Life> {
        self.lives
            .iter()
            .filter(move |life| life.server.as_deref() == Some(server))
    }
}

impl Observer for Recorder {
    fn observe(&mut self, now: SimTime, event: Observed<'_>) {
        match event {
            Observed::Arrived { request, .. } => {
                self.live.insert(request, self.lives.len());
                self.lives.push(Life {
                    arrived: now,
                    ..Life::default()
                });
            }
            Observed::Picked { request, name, .. } => {
                if self.states.get(name) != Some(&ServerState::Ready) {
                    self.picks_of_unready.push((now, name.to_string()));
                }
                if !self.panic && self.unhealthy.iter().any(|n| n == name) {
                    self.picks_of_unhealthy.push((now, name.to_string()));
                }
                let index = self.live[&request];
                self.lives[index].server = Some(name.to_string());
            }
            Observed::Completed {
                request, latency, ..
            } => self.end(now, request, End::Completed { latency }),
            Observed::Rejected { request, .. } => self.end(now, request, End::Rejected),
            Observed::Failed { request, reason } => self.end(now, request, End::Failed(reason)),
            Observed::StateChanged {
                server,
                from,
                to,
                reason,
            } => {
                match to {
                    Some(state) => self.states.insert(server.to_string(), state),
                    None => self.states.remove(server),
                };
                self.state_changes
                    .push((now, server.to_string(), from, to, reason.to_string()));
            }
            Observed::HealthChanged { server, healthy } => {
                if healthy {
                    self.unhealthy.retain(|name| name != server);
                } else {
                    self.unhealthy.push(server.to_string());
                }
            }
            Observed::PanicChanged { panic, .. } => self.panic = panic,
            Observed::Queued { .. }
            | Observed::DiscoveryChanged { .. }
            | Observed::Started { .. }
            | Observed::SpeedChanged { .. }
            | Observed::TimedOut { .. }
            | Observed::Retrying { .. }
            | Observed::Retried { .. }
            | Observed::Hedging { .. }
            | Observed::AttemptFailed { .. }
            | Observed::Reset { .. } => {}
        }
    }
}

const SECOND: u64 = 1_000_000_000;

fn at(seconds: f64) -> SimTime {
    SimTime::from_nanos((seconds * SECOND as f64) as u64)
}

fn millis(ms: u64) -> SimDuration {
    SimDuration::from_millis(ms)
}

/// `servers` servers of one worker named web-0.., `algorithm`, `rate` requests per second
/// bringing `service`, for `seconds`, no warmup.
fn spec(
    servers: u32,
    algorithm: Algorithm,
    rate: f64,
    arrivals: ArrivalPattern,
    service: ServiceDist,
    seconds: u64,
) -> RunSpec {
    RunSpec::new(
        SimDuration::from_secs(seconds),
        WorkloadSpec::Generated(GeneratedWorkload {
            rate: RateSchedule::constant(rate),
            arrivals,
            service,
            clients: 1000,
        }),
        vec![ServerGroupSpec::new("web", servers)],
        BalancerSpec::new(algorithm),
    )
}

fn action(seconds: f64, change: Change) -> TimelineAction {
    TimelineAction {
        at: at(seconds),
        change,
    }
}

fn remove(seconds: f64, server: &str, abrupt: bool) -> TimelineAction {
    action(
        seconds,
        Change::Remove {
            server: server.to_string(),
            abrupt,
        },
    )
}

fn record(spec: &RunSpec, names: &[&str]) -> (Recorder, RunResult) {
    let mut recorder = Recorder::for_servers(names);
    let result = simulate_observed(spec, 7, &mut recorder);
    (recorder, result)
}

#[test]
fn a_server_added_mid_run_takes_traffic_only_after_it_joins_and_is_measured_over_its_life() {
    // Round robin over constant arrivals: after the join each server gets exactly a third.
    let mut run = spec(
        2,
        Algorithm::RoundRobin,
        100.0,
        ArrivalPattern::Constant,
        ServiceDist::Constant { mean: millis(5) },
        20,
    );
    run.timeline = vec![action(10.0, Change::Add { group: 0, count: 1 })];
    let (recorder, result) = record(&run, &["web-0", "web-1"]);
    assert!(recorder.picks_of_unready.is_empty());
    let to_new: Vec<&Life> = recorder.sent_to("web-2").collect();
    assert!(to_new.iter().all(|life| life.arrived >= at(10.0)));
    // 1,000 arrivals in the last 10 s, a third each: 333 or 334.
    assert!((333..=334).contains(&to_new.len()), "{}", to_new.len());
    let new = result.servers.iter().find(|s| s.name == "web-2").unwrap();
    // Over its 10 s of life: 333.5 requests × 5 ms / 10 s = 0.1667 (over 20 s it would
    // be half that); one request of difference is 0.0005.
    assert!(
        (new.utilization - 0.1667).abs() < 0.001,
        "{}",
        new.utilization
    );
    // Its first time-series row is the first interval it lived in, (10 s, 11 s].
    let mut rows: Vec<SimTime> = Vec::new();
    result
        .series
        .for_each(|row| {
            if row.server.index() == 2 {
                rows.push(row.time);
            }
            Ok(())
        })
        .unwrap();
    assert_eq!(rows.first(), Some(&at(11.0)));
    assert_eq!(rows.len(), 10);
    assert_eq!(result.events.len(), 1);
    let joined = &result.events[0];
    assert_eq!(
        (joined.time, joined.server.as_str(), joined.from, joined.to),
        (at(10.0), "web-2", "absent", "ready")
    );
}

/// Two single-worker servers at 1.5 times their capacity: queues grow on both.
fn overloaded() -> RunSpec {
    spec(
        2,
        Algorithm::RoundRobin,
        300.0,
        ArrivalPattern::Poisson,
        ServiceDist::Exponential { mean: millis(10) },
        10,
    )
}

#[test]
fn an_abrupt_removal_fails_exactly_the_requests_it_held_and_drops_their_completions() {
    let mut run = overloaded();
    run.timeline = vec![remove(5.0, "web-0", true)];
    let (recorder, result) = record(&run, &["web-0", "web-1"]);
    assert!(result.counts.is_conserved(), "{:?}", result.counts);
    assert!(recorder.picks_of_unready.is_empty());
    let removal = at(5.0);
    let mut held = 0;
    for life in recorder.sent_to("web-0") {
        assert!(life.arrived < removal, "sent to web-0 after it left");
        // Exactly one end each: a stale completion after the failure would be a second.
        assert_eq!(life.ends.len(), 1, "{life:?}");
        let (when, end) = &life.ends[0];
        if *when >= removal {
            assert_eq!(
                (*when, end),
                (removal, &End::Failed(FailReason::ServerRemoved))
            );
            held += 1;
        } else {
            assert!(matches!(end, End::Completed { .. }), "{life:?}");
        }
    }
    // A queue of hundreds had built up at 1.5 times capacity.
    assert!(held > 100, "{held}");
    assert_eq!(result.counts.failed, held);
    let by_reason = result.figures.get(Figure::FailedServerRemoved);
    assert_eq!(by_reason, Some(held as f64));
    let change = &recorder.state_changes[0];
    assert_eq!(
        (change.0, change.1.as_str(), change.3, change.4.as_str()),
        (removal, "web-0", Some(ServerState::Down), "server-removed")
    );
}

#[test]
fn a_graceful_removal_finishes_what_it_held_and_takes_nothing_after() {
    let mut run = overloaded();
    run.timeline = vec![remove(5.0, "web-0", false)];
    let (recorder, result) = record(&run, &["web-0", "web-1"]);
    assert!(result.counts.is_conserved());
    assert_eq!(result.counts.failed, 0);
    let mut last_end = SimTime::ZERO;
    for life in recorder.sent_to("web-0") {
        assert!(life.arrived < at(5.0));
        assert_eq!(life.ends.len(), 1);
        assert!(matches!(life.ends[0].1, End::Completed { .. }));
        last_end = last_end.max(life.ends[0].0);
    }
    assert!(last_end > at(5.0), "it held a queue when it was removed");
    let changes: Vec<(SimTime, Option<ServerState>, &str)> = recorder
        .state_changes
        .iter()
        .map(|c| (c.0, c.3, c.4.as_str()))
        .collect();
    assert_eq!(
        changes,
        vec![
            (at(5.0), Some(ServerState::Draining), "timeline"),
            (last_end, Some(ServerState::Down), "drained")
        ]
    );
}

#[test]
fn a_two_hop_latency_is_the_sum_of_its_waits_and_services() {
    // Every 5 ms a request brings 2 ms of work to its server (100 workers: no wait there),
    // then calls a one-worker tier taking 6 ms: the tier falls 1 ms further behind with
    // each call, so request i waits i ms for it and answers after 2 + i + 6 ms.
    let mut run = spec(
        1,
        Algorithm::RoundRobin,
        200.0,
        ArrivalPattern::Constant,
        ServiceDist::Constant { mean: millis(2) },
        1,
    );
    run.servers[0].workers = 100;
    run.tiers = vec![TierSpec {
        name: "db".to_string(),
        workers: 1,
        queue_limit: None,
        service: ServiceDist::Constant { mean: millis(6) },
    }];
    run.duration = SimDuration::from_millis(100);
    let (recorder, result) = record(&run, &["web-0"]);
    let latencies: Vec<SimDuration> = recorder
        .lives
        .iter()
        .filter_map(|life| match life.ends.first() {
            Some((_, End::Completed { latency })) => Some(*latency),
            _ => None,
        })
        .collect();
    // Arrivals at 5, 10, ..., 95 ms (constant spacing starts one gap in); request i is
    // answered at 5(i + 1) + 8 + i ms, before the 100 ms end for i <= 14.
    assert_eq!(latencies.len(), 15);
    for (i, latency) in latencies.iter().enumerate() {
        assert_eq!(*latency, millis(8 + i as u64), "request {i}");
    }
    assert!(result.counts.is_conserved());
}

#[test]
fn every_change_of_the_timeline_is_an_event_row() {
    let mut run = overloaded();
    run.timeline = vec![
        action(2.0, Change::Add { group: 0, count: 2 }),
        action(
            3.0,
            Change::SetSpeed {
                server: "web-1".to_string(),
                speed: 0.5,
            },
        ),
        remove(4.0, "web-2", false),
        remove(6.0, "web-3", true),
    ];
    let result = simulate(&run, 3);
    let rows: Vec<(&str, &str, &str, &str)> = result
        .events
        .iter()
        .map(|e| (e.server.as_str(), e.from, e.to, e.reason))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("web-2", "absent", "ready", "timeline"),
            ("web-3", "absent", "ready", "timeline"),
            ("web-1", "ready", "ready", "speed-change"),
            ("web-2", "ready", "draining", "timeline"),
            ("web-2", "draining", "down", "drained"),
            ("web-3", "ready", "down", "server-removed"),
        ]
    );
    assert!(result.events.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn a_hash_balancer_remaps_the_share_of_clients_its_algorithm_moves() {
    // Ten servers, one leaves: modulo hashing moves about 9 in 10 clients, the ring only
    // the tenth that was on the leaver. 1,000 clients: a binomial share's sd is under 0.016,
    // and the ring's own unevenness (160 points per server) adds a few percent.
    let share = |algorithm| {
        let mut run = spec(
            10,
            algorithm,
            100.0,
            ArrivalPattern::Poisson,
            ServiceDist::Exponential { mean: millis(10) },
            10,
        );
        run.timeline = vec![remove(5.0, "web-3", false)];
        simulate(&run, 1)
            .figures
            .get(Figure::RemappedShare)
            .expect("a hashing algorithm")
    };
    let modulo = share(Algorithm::IpHash);
    let ring = share(Algorithm::ConsistentHash);
    assert!((0.8..=0.95).contains(&modulo), "{modulo}");
    assert!((0.05..=0.15).contains(&ring), "{ring}");
    let mut run = overloaded();
    run.timeline = vec![remove(5.0, "web-0", false)];
    let round_robin = simulate(&run, 1).figures.get(Figure::RemappedShare);
    assert_eq!(round_robin, None);
}

/// Raw steps of a timeline, sorted by time: (time in ms, kind, which server).
fn timeline_strategy() -> impl Strategy<Value = Vec<(u64, u8, u8)>> {
    prop::collection::vec((0u64..10_000, 0u8..4, 0u8..8), 0..8).prop_map(|mut steps| {
        steps.sort();
        steps
    })
}

/// Turns raw steps into actions that keep at least one server up: (time in ms, kind,
/// which server among those up).
fn build_timeline(initial: u32, steps: &[(u64, u8, u8)]) -> Vec<TimelineAction> {
    let mut up: Vec<String> = (0..initial).map(|i| format!("web-{i}")).collect();
    let mut next = initial;
    let mut actions = Vec::new();
    for &(ms, kind, which) in steps {
        let seconds = ms as f64 / 1000.0;
        let server = up[usize::from(which) % up.len()].clone();
        match kind {
            0 => {
                let count = u32::from(which % 3) + 1;
                for _ in 0..count {
                    up.push(format!("web-{next}"));
                    next += 1;
                }
                actions.push(action(seconds, Change::Add { group: 0, count }));
            }
            1 | 2 if up.len() > 1 => {
                up.retain(|name| *name != server);
                actions.push(remove(seconds, &server, kind == 2));
            }
            _ => actions.push(action(
                seconds,
                Change::SetSpeed {
                    server,
                    speed: 0.25 + f64::from(which) / 4.0,
                },
            )),
        }
    }
    actions
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever joins, leaves or slows down, under every algorithm: no request is sent to a
    /// server that is not ready, every request ends at most once (exactly once or still in
    /// flight), and the counts are conserved.
    #[test]
    fn random_timelines_keep_every_request_accounted_for(
        algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
        initial in 1u32..5,
        steps in timeline_strategy(),
        queue in prop::option::of(1u32..20),
        seed in 0u64..1000,
    ) {
        let mut run = spec(
            initial,
            algorithm,
            150.0 * f64::from(initial),
            ArrivalPattern::Poisson,
            ServiceDist::Exponential { mean: millis(5) },
            10,
        );
        run.servers[0].queue_limit = queue;
        run.timeline = build_timeline(initial, &steps);
        let names: Vec<String> = (0..initial).map(|i| format!("web-{i}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut recorder = Recorder::for_servers(&names);
        let result = simulate_observed(&run, seed, &mut recorder);
        prop_assert!(recorder.picks_of_unready.is_empty(), "{:?}", recorder.picks_of_unready);
        prop_assert!(recorder.lives.iter().all(|life| life.ends.len() <= 1));
        let in_flight = recorder.lives.iter().filter(|life| life.ends.is_empty()).count();
        prop_assert_eq!(in_flight as u64, result.counts.in_flight);
        prop_assert!(result.counts.is_conserved(), "{:?}", result.counts);
        prop_assert_eq!(result.counts.arrived, recorder.lives.len() as u64);
    }
}

#[test]
fn a_crash_fails_what_the_server_held_and_refuses_what_the_unaware_balancer_still_sends() {
    // Round robin over two servers keeps sending half the traffic to web-0 while it is down
    // (5 s to 7 s) and booting (7 s to 8 s): no health check tells the balancer.
    let mut run = overloaded();
    run.servers[0].boot = SimDuration::from_secs(1);
    run.timeline = vec![action(
        5.0,
        Change::Crash {
            server: "web-0".to_string(),
            downtime: Some(SimDuration::from_secs(2)),
        },
    )];
    let (recorder, result) = record(&run, &["web-0", "web-1"]);
    assert!(result.counts.is_conserved());
    let (mut crashed, mut refused) = (0, 0);
    for life in recorder.sent_to("web-0") {
        let Some((when, end)) = life.ends.first() else {
            continue;
        };
        match end {
            End::Failed(FailReason::Crash) => {
                assert_eq!(*when, at(5.0));
                assert!(life.arrived < at(5.0));
                crashed += 1;
            }
            End::Failed(FailReason::ServerDown) => {
                assert!(
                    life.arrived >= at(5.0) && life.arrived < at(8.0),
                    "{life:?}"
                );
                refused += 1;
            }
            _ => {}
        }
    }
    assert!(crashed > 100, "a queue had built up: {crashed}");
    // 300 requests per second for 3 s, half of them to web-0: 450 expected; a binomial
    // count of 900 at one half has sd 15, and the arrivals' own Poisson spread sd 30.
    assert!((300..=600).contains(&refused), "{refused}");
    assert_eq!(
        result.figures.get(Figure::FailedCrash),
        Some(f64::from(crashed))
    );
    assert_eq!(
        result.figures.get(Figure::FailedServerDown),
        Some(f64::from(refused))
    );
    let changes: Vec<(SimTime, &str, &str, &str)> = result
        .events
        .iter()
        .map(|e| (e.time, e.from, e.to, e.reason))
        .collect();
    assert_eq!(
        changes,
        vec![
            (at(5.0), "ready", "down", "crash"),
            (at(7.0), "down", "booting", "restart"),
            (at(8.0), "booting", "ready", "booted"),
            // Never taken out (no health check saw the crash): back the moment it serves.
            (at(8.0), "ready", "healthy", "recovered"),
        ]
    );
}

#[test]
fn random_crashes_renew_at_the_rate_of_mtbf_plus_mttr() {
    // Four servers crash after exponential times of mean 10 s and are repaired after
    // exponential times of mean 1 s: each renews every 11 s on average, so 1,000 s bring
    // about 4 × 1000 / 11 = 364 crashes. The count of a renewal process with exponential
    // parts has a variance near its mean times (cv² of the cycle, here about 0.83): sd 17,
    // and 4 sd is 70.
    let mut run = spec(
        4,
        Algorithm::LeastConnections,
        100.0,
        ArrivalPattern::Poisson,
        ServiceDist::Exponential { mean: millis(10) },
        1000,
    );
    run.sample_interval = None;
    run.servers[0].failures = Some(lbsim::model::FailureProcess {
        mtbf: SimDuration::from_secs(10),
        mttr: SimDuration::from_secs(1),
    });
    let result = simulate(&run, 5);
    let crashes = result.events.iter().filter(|e| e.reason == "crash").count();
    assert!((364 - 70..=364 + 70).contains(&crashes), "{crashes}");
    assert!(result.counts.is_conserved());
    for event in &result.events {
        assert!(
            lbsim::stats::REASON_NAMES.contains(&event.reason),
            "{} is not a reason a shard can carry",
            event.reason
        );
    }
}

/// Four servers at light load with health checks of `spec`, web-1 crashing at `crash_s`
/// for good.
fn checked_crash(spec: HealthCheckSpec, crash_s: f64, seconds: u64) -> RunSpec {
    let mut run = spec_of(4, Algorithm::RoundRobin, 40.0, seconds);
    run.health_check = Some(spec);
    run.timeline = vec![action(
        crash_s,
        Change::Crash {
            server: "web-1".to_string(),
            downtime: None,
        },
    )];
    run
}

fn spec_of(servers: u32, algorithm: Algorithm, rate: f64, seconds: u64) -> RunSpec {
    spec(
        servers,
        algorithm,
        rate,
        ArrivalPattern::Poisson,
        ServiceDist::Exponential { mean: millis(5) },
        seconds,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// A crash is detected after `unhealthy_threshold` failed checks. A check fails after
    /// `timeout` (a crashed server does not answer) and the next starts an interval (with
    /// jitter) after the previous ended, as Envoy schedules them. So, with T the threshold,
    /// I the interval within its jitter band [I(1−j), I(1+j)] and t the timeout, detection
    /// takes at least (T−1)(I(1−j) + t) — a check in flight at the crash fails at its own
    /// timeout — and at most T(I(1+j) + t), plus the probe's own service and queueing, under
    /// 50 ms at this load. After it, no request is sent to the crashed server.
    #[test]
    fn detection_time_lies_within_the_bounds_of_the_check_schedule(
        interval_ms in 500u64..8_000,
        timeout_share in 0.05f64..1.0,
        threshold in 1u32..5,
        jitter in 0.0f64..0.3,
        crash_s in 10.0f64..20.0,
        seed in 0u64..100,
    ) {
        let interval = interval_ms as f64 / 1000.0;
        let timeout = (interval * timeout_share).max(0.01);
        let health = HealthCheckSpec {
            interval: SimDuration::from_millis(interval_ms),
            timeout: SimDuration::from_secs_f64(timeout),
            unhealthy_threshold: threshold,
            jitter: Fraction::from_f64(jitter),
            ..HealthCheckSpec::default()
        };
        let run = checked_crash(health, crash_s, 80);
        let mut recorder = Recorder::for_servers(&["web-0", "web-1", "web-2", "web-3"]);
        let result = simulate_observed(&run, seed, &mut recorder);
        let detection = result.figures.get(Figure::DetectionS).expect("the crash is detected");
        let t = f64::from(threshold);
        let lower = (t - 1.0) * (interval * (1.0 - jitter) + timeout) - 0.001;
        let upper = t * (interval * (1.0 + jitter) + timeout) + 0.05;
        prop_assert!(
            (lower..=upper).contains(&detection),
            "detection {detection} s outside [{lower}, {upper}]"
        );
        prop_assert!(recorder.picks_of_unhealthy.is_empty(), "{:?}", recorder.picks_of_unhealthy);
        prop_assert!(result.counts.is_conserved());
    }
}

#[test]
fn a_restarted_server_returns_to_rotation_after_its_healthy_checks() {
    let health = HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(200),
        jitter: Fraction::ZERO,
        ..HealthCheckSpec::default()
    };
    let mut run = checked_crash(health, 10.0, 40);
    run.timeline = vec![action(
        10.0,
        Change::Crash {
            server: "web-1".to_string(),
            downtime: Some(SimDuration::from_secs(5)),
        },
    )];
    let (recorder, result) = record(&run, &["web-0", "web-1", "web-2", "web-3"]);
    let health: Vec<(&str, &str)> = result
        .events
        .iter()
        .filter(|e| e.reason == "health-check")
        .map(|e| (e.from, e.to))
        .collect();
    assert_eq!(
        health,
        vec![("healthy", "unhealthy"), ("unhealthy", "healthy")]
    );
    let back = result
        .events
        .iter()
        .find(|e| e.to == "healthy")
        .map(|e| e.time)
        .unwrap();
    // Ready again at 15 s; two passed checks a second apart bring it back by about 17 s.
    assert!(back > at(15.0) && back < at(17.5), "{back}");
    let after: usize = recorder
        .sent_to("web-1")
        .filter(|life| life.arrived > back)
        .count();
    assert!(after > 100, "{after} requests after its return");
    assert!(recorder.picks_of_unhealthy.is_empty());
}

#[test]
fn below_the_panic_threshold_every_server_is_back_in_rotation() {
    // Three of four servers crash for good: one healthy is 25%, under Envoy's 50% panic
    // threshold, so the balancer spreads over all four again and keeps failing on the three
    // (server_down); with the threshold off it sends everything to the healthy one.
    let failures = |panic_threshold: Fraction| {
        let health = HealthCheckSpec {
            interval: SimDuration::from_secs(1),
            timeout: SimDuration::from_millis(200),
            ..HealthCheckSpec::default()
        };
        let mut run = checked_crash(health, 10.0, 60);
        run.panic_threshold = panic_threshold;
        run.timeline = ["web-1", "web-2", "web-3"]
            .iter()
            .map(|server| {
                action(
                    10.0,
                    Change::Crash {
                        server: server.to_string(),
                        downtime: None,
                    },
                )
            })
            .collect();
        let result = simulate(&run, 2);
        result.figures.get(Figure::FailedServerDown).unwrap()
    };
    let in_panic = failures(Fraction::from_millionths(500_000));
    let off = failures(Fraction::ZERO);
    // 40 requests per second: in panic three in four of the last ~45 s fail (~1,350);
    // without panic only those sent before detection (~10 s of three quarters: ~300).
    assert!(in_panic > 1000.0, "{in_panic}");
    assert!(off < 500.0, "{off}");
}

#[test]
fn outlier_detection_ejects_a_crashed_server_after_its_consecutive_errors() {
    // Ten servers under round robin at 200/s: the crashed one refuses every tenth request.
    // Five refusals in a row eject it (Envoy's consecutive_5xx), for 30 s, then 60 s after
    // it fails again (Envoy's backoff): while ejected it takes nothing.
    let mut run = spec_of(10, Algorithm::RoundRobin, 200.0, 120);
    run.outlier_detection = Some(OutlierSpec::default());
    run.timeline = vec![action(
        10.0,
        Change::Crash {
            server: "web-4".to_string(),
            downtime: None,
        },
    )];
    let (recorder, result) = record(
        &run,
        &[
            "web-0", "web-1", "web-2", "web-3", "web-4", "web-5", "web-6", "web-7", "web-8",
            "web-9",
        ],
    );
    let ejections: Vec<(SimTime, &str)> = result
        .events
        .iter()
        .filter(|e| e.reason == "outlier-ejection")
        .map(|e| (e.time, e.to))
        .collect();
    // Ejected, back, ejected again for twice as long, back, ejected a third time (90 s,
    // past the end of the run).
    assert_eq!(ejections.len(), 5, "{ejections:?}");
    assert_eq!(ejections[4].1, "ejected");
    let (ejected, _) = ejections[0];
    // Five refusals at one request in ten, 200/s: about 0.25 s after the crash.
    assert!(ejected > at(10.0) && ejected < at(11.0), "{ejected}");
    assert_eq!(
        ejections[1],
        (ejected + SimDuration::from_secs(30), "healthy")
    );
    let second = ejections[2].0;
    assert_eq!(
        ejections[3],
        (second + SimDuration::from_secs(60), "healthy")
    );
    let sent_while_ejected = recorder
        .sent_to("web-4")
        .filter(|life| {
            (life.arrived > ejected && life.arrived < ejections[1].0)
                || (life.arrived > second && life.arrived < ejections[3].0)
        })
        .count();
    assert_eq!(sent_while_ejected, 0);
    // Five refusals before each of the three ejections.
    assert_eq!(result.figures.get(Figure::FailedServerDown), Some(15.0));
}

#[test]
fn equal_weights_change_nothing_whatever_their_value() {
    // Weights only matter relative to each other: every server at weight 5 must give the
    // very run every server at weight 1 gives, pick for pick. Consistent hashing is the
    // exception by design: it places `virtual_nodes × weight` points per server (NGINX),
    // so a uniform weight of 5 is a finer ring, not the same one — and so is bounded
    // loads, which hashes on the same ring.
    for algorithm in Algorithm::ALL {
        if matches!(
            algorithm,
            Algorithm::ConsistentHash | Algorithm::ConsistentHashBounded
        ) {
            continue;
        }
        let run = |weight: u32| {
            let mut run = spec_of(6, algorithm, 900.0, 20);
            run.balancer.max_connections = Some(4);
            run.servers[0].weight = weight;
            let result = simulate(&run, 9);
            (
                result.counts,
                result.latency.mean_ms(),
                result.latency.quantile_ms(0.99),
            )
        };
        assert_eq!(run(1), run(5), "{}", algorithm.name());
    }
}
