//! Servers that fail in the ways issue 8 lists beyond a crash — gray failures, overload a
//! health check can see, graceful shutdown bounded by a deregistration delay — and what
//! the balancer does about them, checked request by request through an observer.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use lbsim::balancer::{Algorithm, BalancerSpec};
use lbsim::engine::{SimDuration, SimTime};
use lbsim::model::{
    ArrivalPattern, Change, FailReason, Fraction, GeneratedWorkload, HealthCheckSpec, Observed,
    Observer, OutlierSpec, RateSchedule, RequestId, ResourceSpec, RunSpec, ServerGroupSpec,
    ServiceDist, SlowStartSpec, TimelineAction, WorkloadSpec, simulate, simulate_observed,
};
use lbsim::scenario::Scenario;
use lbsim::stats::{Figure, RunResult};
use proptest::prelude::*;

const SECOND: u64 = 1_000_000_000;

fn at(seconds: f64) -> SimTime {
    SimTime::from_nanos((seconds * SECOND as f64) as u64)
}

fn action(seconds: f64, change: Change) -> TimelineAction {
    TimelineAction {
        at: at(seconds),
        change,
    }
}

/// Servers `web-i` for each i of `servers` crash at `seconds`, for `downtime` (for good
/// when `None`).
fn crashes(
    seconds: f64,
    servers: Range<u32>,
    downtime: Option<SimDuration>,
) -> Vec<TimelineAction> {
    servers
        .map(|i| {
            action(
                seconds,
                Change::Crash {
                    server: format!("web-{i}"),
                    downtime,
                },
            )
        })
        .collect()
}

/// `servers` one-worker servers named web-0.., Poisson arrivals at `rate` bringing
/// exponential work of `mean_ms`, for `seconds`.
fn spec(servers: u32, algorithm: Algorithm, rate: f64, mean_ms: u64, seconds: u64) -> RunSpec {
    RunSpec::new(
        SimDuration::from_secs(seconds),
        WorkloadSpec::Generated(GeneratedWorkload {
            rate: RateSchedule::constant(rate),
            arrivals: ArrivalPattern::Poisson,
            service: ServiceDist::Exponential {
                mean: SimDuration::from_millis(mean_ms),
            },
            clients: 1000,
        }),
        vec![ServerGroupSpec::new("web", servers)],
        BalancerSpec::new(algorithm),
    )
}

/// Every request: when it arrived, where it was sent and every end it had.
#[derive(Default)]
struct Recorder {
    lives: Vec<Life>,
    live: BTreeMap<RequestId, usize>,
}

#[derive(Clone, Debug, Default)]
struct Life {
    arrived: SimTime,
    picked: Option<(SimTime, String)>,
    ends: Vec<(SimTime, Option<FailReason>)>,
}

impl Recorder {
    fn end(&mut self, now: SimTime, request: RequestId, reason: Option<FailReason>) {
        let index = self
            .live
            .remove(&request)
            .expect("an end for a live request");
        self.lives[index].ends.push((now, reason));
    }

    fn sent_to<'a>(&'a self, server: &'a str) -> impl Iterator<Item = &'a Life> {
        self.lives
            .iter()
            .filter(move |life| life.picked.as_ref().is_some_and(|(_, s)| s == server))
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
                let index = self.live[&request];
                self.lives[index].picked = Some((now, name.to_string()));
            }
            Observed::Completed { request, .. } | Observed::Rejected { request, .. } => {
                self.end(now, request, None);
            }
            Observed::Failed { request, reason } => self.end(now, request, Some(reason)),
            _ => {}
        }
    }
}

/// events.csv's rows of a run: time, from, to, reason.
fn event_rows(result: &RunResult) -> Vec<(SimTime, &'static str, &'static str, &'static str)> {
    result
        .events
        .iter()
        .map(|e| (e.time, e.from, e.to, e.reason))
        .collect()
}

fn record(spec: &RunSpec, seed: u64) -> (Recorder, RunResult) {
    let mut recorder = Recorder::default();
    let result = simulate_observed(spec, seed, &mut recorder);
    (recorder, result)
}

/// Two one-worker servers at 1.5 times their capacity: queues grow on both.
fn overloaded(seconds: u64) -> RunSpec {
    spec(2, Algorithm::RoundRobin, 300.0, 10, seconds)
}

#[test]
fn a_drain_past_its_deregistration_delay_fails_exactly_what_is_left() {
    // web-0 leaves gracefully at 5 s with a 1 s delay and a queue of hundreds: what it
    // finishes by 6 s completes, everything it still holds at 6 s fails then, and nothing
    // is sent to it after 5 s.
    let mut run = overloaded(10);
    run.servers[0].deregistration_delay = SimDuration::from_secs(1);
    run.timeline = vec![action(
        5.0,
        Change::Remove {
            server: "web-0".into(),
            abrupt: false,
        },
    )];
    let (recorder, result) = record(&run, 3);
    assert!(result.counts.is_conserved(), "{:?}", result.counts);
    let (mut finished_while_draining, mut cut_off) = (0, 0);
    for life in recorder.sent_to("web-0") {
        assert!(life.arrived < at(5.0), "sent to web-0 while it drained");
        assert_eq!(life.ends.len(), 1, "{life:?}");
        let (when, reason) = life.ends[0];
        match reason {
            None if when >= at(5.0) => {
                assert!(when <= at(6.0), "{life:?}");
                finished_while_draining += 1;
            }
            None => {}
            Some(FailReason::ServerRemoved) => {
                assert_eq!(when, at(6.0), "{life:?}");
                cut_off += 1;
            }
            Some(other) => panic!("{other:?}: {life:?}"),
        }
    }
    // At 1.5 × capacity for 5 s, web-0's queue holds about 250 (0.5 × 150/s × 5 s...)
    // requests; a 10 ms worker finishes about 100 of them in the second it has.
    assert!(
        (70..=130).contains(&finished_while_draining),
        "{finished_while_draining}"
    );
    assert!(cut_off > 50, "{cut_off}");
    assert_eq!(result.counts.failed, cut_off);
    assert_eq!(
        result.figures.get(Figure::FailedServerRemoved),
        Some(cut_off as f64)
    );
    assert_eq!(
        event_rows(&result),
        vec![
            (at(5.0), "ready", "draining", "timeline"),
            (at(6.0), "draining", "down", "server-removed"),
        ]
    );
}

#[test]
fn a_server_that_crashes_while_it_drains_leaves_at_once_and_never_restarts() {
    // web-0 leaves gracefully at 5 s with hundreds queued and 300 s to drain them, and
    // crashes at 6 s with a 1 s downtime (a zone outage, or its own failure process): the
    // crash ends the departure. Everything it still holds fails then, for the crash, and
    // it never comes back — before the fix it restarted at 7 s and sat ready, outside
    // every rotation, until its deregistration delay.
    let mut run = overloaded(20);
    run.timeline = vec![
        action(
            5.0,
            Change::Remove {
                server: "web-0".into(),
                abrupt: false,
            },
        ),
        action(
            6.0,
            Change::Crash {
                server: "web-0".into(),
                downtime: Some(SimDuration::from_secs(1)),
            },
        ),
    ];
    let (recorder, result) = record(&run, 3);
    assert!(result.counts.is_conserved(), "{:?}", result.counts);
    let mut crashed = 0;
    for life in recorder.sent_to("web-0") {
        assert!(life.arrived < at(5.0), "sent to web-0 while it drained");
        assert_eq!(life.ends.len(), 1, "{life:?}");
        match life.ends[0] {
            (when, None) => assert!(when < at(6.0), "completed after the crash: {life:?}"),
            (when, Some(FailReason::Crash)) => {
                assert_eq!(when, at(6.0), "{life:?}");
                crashed += 1;
            }
            other => panic!("{other:?}: {life:?}"),
        }
    }
    // At 1.5 × capacity web-0 holds about 250 at 5 s and finishes about 100 a second.
    assert!(crashed > 50, "{crashed}");
    assert_eq!(
        result.figures.get(Figure::FailedCrash),
        Some(crashed as f64)
    );
    assert_eq!(
        event_rows(&result),
        vec![
            (at(5.0), "ready", "draining", "timeline"),
            (at(6.0), "draining", "down", "crash"),
        ]
    );
}

#[test]
fn a_server_removed_while_it_is_down_or_restarting_leaves_at_once_without_its_pre_stop() {
    // web-0 crashes at 5 s for 2 s, then boots for 4 s: down until 7 s, booting until
    // 11 s. A graceful removal with a 30 s pre-stop, at 6 s (down) or at 9 s (booting),
    // terminates it then: nothing runs that could keep serving or drain. Before, the
    // removal waited out the pre-stop while the restart went on, so that web-0 came up
    // ready at 11 s outside every rotation, counted among the ready until it drained
    // at 36 s or 39 s. Abrupt or graceful, the rows are the same but for the reason.
    let removal = |seconds: f64, abrupt: bool| {
        let mut run = spec(2, Algorithm::RoundRobin, 100.0, 10, 60);
        run.servers[0].pre_stop = SimDuration::from_secs(30);
        run.servers[0].boot = SimDuration::from_secs(4);
        run.timeline = crashes(5.0, 0..1, Some(SimDuration::from_secs(2)));
        run.timeline.push(action(
            seconds,
            Change::Remove {
                server: "web-0".into(),
                abrupt,
            },
        ));
        let (recorder, result) = record(&run, 3);
        assert!(result.counts.is_conserved(), "{:?}", result.counts);
        // Round robin, not told of the crash: web-0 refuses its half until it leaves.
        let last_sent = recorder.sent_to("web-0").map(|life| life.arrived).max();
        assert!(last_sent < Some(at(seconds)), "{last_sent:?}");
        event_rows(&result)
    };
    let crash = (at(5.0), "ready", "down", "crash");
    for abrupt in [false, true] {
        let reason = if abrupt { "server-removed" } else { "timeline" };
        assert_eq!(
            removal(6.0, abrupt),
            vec![crash, (at(6.0), "down", "absent", reason)]
        );
        assert_eq!(
            removal(9.0, abrupt),
            vec![
                crash,
                (at(7.0), "down", "booting", "restart"),
                (at(9.0), "booting", "down", reason),
            ]
        );
    }
}

#[test]
fn a_draining_server_with_several_workers_goes_down_when_its_last_request_ends() {
    // Eight workers per server and requests of a second on average: web-0 holds about
    // four when it leaves at 10 s, and goes down when the last of them completes — not
    // when the first worker frees.
    let mut run = spec(2, Algorithm::RoundRobin, 8.0, 1000, 30);
    run.servers[0].workers = 8;
    run.timeline = vec![action(
        10.0,
        Change::Remove {
            server: "web-0".into(),
            abrupt: false,
        },
    )];
    let (recorder, result) = record(&run, 5);
    assert_eq!(result.counts.failed, 0);
    let ends: Vec<SimTime> = recorder
        .sent_to("web-0")
        .filter_map(|life| life.ends.first().map(|&(when, _)| when))
        .filter(|&when| when >= at(10.0))
        .collect();
    assert!(ends.len() >= 2, "{ends:?}");
    let last = ends.iter().copied().max().expect("an end");
    let down = result.events.iter().find(|e| e.to == "down").expect("down");
    assert_eq!((down.time, down.reason), (last, "drained"));
}

#[test]
fn a_drain_that_empties_before_its_delay_fails_nothing_and_cancels_the_deadline() {
    // At a tenth of capacity web-0 holds at most a few requests: it drains in
    // milliseconds, long before its 1 s delay, and nothing fails at 6 s.
    let mut run = spec(2, Algorithm::RoundRobin, 20.0, 10, 10);
    run.servers[0].deregistration_delay = SimDuration::from_secs(1);
    run.timeline = vec![action(
        5.0,
        Change::Remove {
            server: "web-0".into(),
            abrupt: false,
        },
    )];
    let result = simulate(&run, 4);
    assert_eq!(result.counts.failed, 0);
    let down = result.events.iter().find(|e| e.to == "down").expect("down");
    assert_eq!(down.reason, "drained");
    assert!(down.time < at(5.5), "{:?}", down.time);
    assert_eq!(result.events.len(), 2);
}

#[test]
fn a_gray_failure_passes_its_health_checks_and_outlier_detection_ejects_it() {
    // web-0 answers half its requests with errors from 10 s. Its health checks still pass
    // (the probe hits /health, which is fine), so without outlier detection it keeps its
    // share to the end; with it, five consecutive errors (1/32 per response at one half,
    // so within a few dozen responses) eject it.
    // Envoy's default lets a passed health check end an ejection: the checks, which miss
    // the gray failure, would bring web-0 back within a second each time (see
    // `a_passed_health_check_ends_an_ejection_unless_told_not_to`). Off here.
    let gray = |outliers: bool| record(&gray_web_0(outliers.then_some(false)), 8);
    let (recorder, missed) = gray(false);
    assert!(missed.counts.is_conserved());
    assert!(!missed.events.iter().any(|e| e.reason == "health-check"));
    let errors = missed.figures.get(Figure::FailedErrorResponse).unwrap();
    // A quarter of 200/s for 50 s is 2,500 requests, half of them errors: 1,250, with a
    // binomial sd of about 35 and a Poisson one of 25; 6 sd is ±260.
    assert!((1_000.0..=1_500.0).contains(&errors), "{errors}");
    for life in recorder.sent_to("web-0") {
        if life.arrived < at(10.0) {
            assert!(life.ends.iter().all(|(_, r)| r.is_none()), "{life:?}");
        }
    }
    let (_, caught) = gray(true);
    assert!(caught.counts.is_conserved());
    let ejections = caught
        .events
        .iter()
        .filter(|e| e.to == "ejected" && e.server == "web-0")
        .count();
    assert!(ejections >= 1);
    let errors = caught.figures.get(Figure::FailedErrorResponse).unwrap();
    assert!(errors < 400.0, "{errors}");
}

#[test]
fn an_overloaded_server_fails_its_health_check_when_resources_are_modelled() {
    // slow-0 runs at a quarter speed: 50 requests a second of 5 ms each keep it busy
    // 50 × 20 ms = 100% of the time, above the 90% threshold, so /health answers 503 and
    // the checks take it out; web-0 at 25%, then 50% with all the traffic, stays in.
    // Without the resource model its probes, answered late but within their 60 s
    // timeout, pass.
    let overload = |resources: bool| {
        let mut run = spec(1, Algorithm::RoundRobin, 100.0, 5, 60);
        run.servers.push(ServerGroupSpec {
            speed: 0.25,
            ..ServerGroupSpec::new("slow", 1)
        });
        if resources {
            for group in &mut run.servers {
                group.resources = Some(ResourceSpec {
                    cpu_threshold: ResourceSpec::DEFAULT_THRESHOLD,
                    memory: None,
                });
            }
        }
        run.health_check = Some(HealthCheckSpec {
            interval: SimDuration::from_secs(2),
            timeout: SimDuration::from_secs(60),
            ..HealthCheckSpec::default()
        });
        run.panic_threshold = Fraction::ZERO;
        simulate(&run, 2)
    };
    let seen = overload(true);
    let out: Vec<&str> = seen
        .events
        .iter()
        .filter(|e| e.to == "unhealthy")
        .map(|e| e.server.as_str())
        .collect();
    assert!(
        !out.is_empty() && out.iter().all(|s| *s == "slow-0"),
        "{out:?}"
    );
    let unseen = overload(false);
    assert!(!unseen.events.iter().any(|e| e.to == "unhealthy"));
}

#[test]
fn a_restart_reports_its_time_from_booted_to_back_in_rotation() {
    // web-1 crashes at 10 s, restarts at 15 s and boots for 2 s: ready at 17 s. Checks a
    // second apart without jitter need two passes: back in rotation one to two seconds
    // after it booted. The recovered row follows its booted row by recovery_s.
    let mut run = spec(4, Algorithm::RoundRobin, 40.0, 5, 40);
    run.servers[0].boot = SimDuration::from_secs(2);
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(200),
        jitter: Fraction::ZERO,
        ..HealthCheckSpec::default()
    });
    run.timeline = vec![action(
        10.0,
        Change::Crash {
            server: "web-1".into(),
            downtime: Some(SimDuration::from_secs(5)),
        },
    )];
    let result = simulate(&run, 1);
    let time_of = |reason: &str| {
        result
            .events
            .iter()
            .find(|e| e.reason == reason && e.server == "web-1")
            .map(|e| e.time)
            .unwrap_or_else(|| panic!("no {reason} row"))
    };
    let booted = time_of("booted");
    let recovered = time_of("recovered");
    assert_eq!(booted, at(17.0));
    let recovery = result.figures.get(Figure::RecoveryS).expect("a recovery");
    assert_eq!(recovery, (recovered - booted).as_secs_f64());
    assert!((1.0..=2.1).contains(&recovery), "{recovery}");
}

#[test]
fn the_health_checks_panic_when_fewer_than_half_the_hosts_are_healthy_and_say_so() {
    // All four servers crash at 3 s and restart at 9 s. The checks find them out one by
    // one: with the third verdict one host of four is healthy, below half, and the checks
    // panic (every host back in rotation, down or not); after the restart the second
    // server to pass again makes it two of four, no longer below half, and the panic ends.
    let mut run = spec(4, Algorithm::LeastConnections, 200.0, 10, 14);
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(500),
        ..HealthCheckSpec::default()
    });
    run.timeline = crashes(3.0, 0..4, Some(SimDuration::from_secs(6)));
    let (recorder, result) = record(&run, 1);
    let verdicts = |to: &str| -> Vec<SimTime> {
        let rows = result.events.iter().filter(|e| e.reason == "health-check");
        rows.filter(|e| !e.server.is_empty() && e.to == to)
            .map(|e| e.time)
            .collect()
    };
    let (unhealthy, healthy) = (verdicts("unhealthy"), verdicts("healthy"));
    assert_eq!(
        (unhealthy.len(), healthy.len()),
        (4, 4),
        "{:?}",
        result.events
    );
    let panics = panic_rows(&result);
    assert_eq!(panics.len(), 2, "{panics:?}");
    assert_eq!((panics[0].from, panics[0].to), ("normal", "panic"));
    assert_eq!(panics[0].time, unhealthy[2]);
    assert_eq!(
        panics[0].detail,
        "1 of 4 hosts healthy, below the panic threshold 0.5"
    );
    assert_eq!((panics[1].from, panics[1].to), ("panic", "normal"));
    assert_eq!(panics[1].time, healthy[1]);
    assert_eq!(
        panics[1].detail,
        "2 of 4 hosts healthy, at or above the panic threshold 0.5"
    );
    // In panic the balancer sends requests to the crashed servers again.
    let (from, restart) = (panics[0].time, at(9.0));
    let sent_to_the_dead = recorder
        .lives
        .iter()
        .filter(|life| {
            life.picked
                .as_ref()
                .is_some_and(|(t, _)| from < *t && *t < restart)
        })
        .count();
    assert!(sent_to_the_dead > 100, "{sent_to_the_dead}");
    // No warmup: the whole panic is measured.
    let panic_s = (panics[1].time - panics[0].time).as_secs_f64();
    assert_eq!(result.figures.get(Figure::PanicS), Some(panic_s));
    // Half a second of warmup past the panic's start takes that half second off.
    let mut warm = run.clone();
    warm.warmup = panics[0].time.since(SimTime::ZERO) + SimDuration::from_millis(500);
    let warm = simulate(&warm, 1).figures.get(Figure::PanicS).unwrap();
    // Both are whole nanoseconds in seconds: they agree to the last bit of a second.
    assert!(
        (warm - (panic_s - 0.5)).abs() < 1e-9,
        "{warm} against {panic_s}"
    );
    // With the threshold at zero there is no panic, and no row for one.
    run.panic_threshold = Fraction::ZERO;
    let calm = simulate(&run, 1);
    assert!(calm.events.iter().all(|e| !e.server.is_empty()));
    assert_eq!(calm.figures.get(Figure::PanicS), Some(0.0));
    // Without health checks there is no panic to measure: the figure is not applicable.
    run.health_check = None;
    assert_eq!(simulate(&run, 1).figures.get(Figure::PanicS), None);
}

/// Four servers under round robin at 200/s, three of which crash for good at 3 s, with
/// outlier detection that may eject every host: each crashed server is ejected after its
/// fifth refusal in a row, within a tenth of a second, and stays out past the run's end.
fn three_of_four_ejected() -> RunSpec {
    let mut run = spec(4, Algorithm::RoundRobin, 200.0, 10, 10);
    run.outlier_detection = Some(OutlierSpec {
        max_ejection: Fraction::ONE,
        ..OutlierSpec::default()
    });
    run.timeline = crashes(3.0, 1..4, None);
    run
}

/// The times of the rows of `result` that eject a server.
fn ejections(result: &RunResult) -> Vec<SimTime> {
    let rows = result.events.iter().filter(|e| e.to == "ejected");
    rows.map(|e| e.time).collect()
}

/// The rows of `result` for the balancer's mode (no server): its panics.
fn panic_rows(result: &RunResult) -> Vec<&lbsim::stats::ClusterEvent> {
    result
        .events
        .iter()
        .filter(|e| e.server.is_empty())
        .collect()
}

/// Requests picked for a crashed server (web-1 to web-3) after `since`.
fn sent_to_the_crashed(recorder: &Recorder, since: SimTime) -> usize {
    (1..4)
        .map(|i| {
            let crashed = format!("web-{i}");
            recorder
                .sent_to(&crashed)
                .filter(|life| life.picked.as_ref().is_some_and(|(t, _)| *t > since))
                .count()
        })
        .sum()
}

#[test]
fn outlier_ejections_alone_can_panic_the_balancer_as_in_envoy() {
    // Envoy's panic threshold is the cluster's and an ejected host is unhealthy
    // (FAILED_OUTLIER_CHECK): with the third ejection one host of four is healthy, below
    // half, and the balancer panics without any health check, sending requests to the
    // ejected, crashed hosts again until the run ends.
    let run = three_of_four_ejected();
    let (recorder, result) = record(&run, 1);
    let ejected = ejections(&result);
    assert_eq!(ejected.len(), 3, "{:?}", result.events);
    let panics = panic_rows(&result);
    assert_eq!(panics.len(), 1, "{panics:?}");
    let panic = panics[0];
    assert_eq!((panic.from, panic.to), ("normal", "panic"));
    assert_eq!((panic.time, panic.reason), (ejected[2], "outlier-ejection"));
    assert_eq!(
        panic.detail,
        "1 of 4 hosts healthy, below the panic threshold 0.5"
    );
    // Round robin over four hosts, three of them dead: three in four of the ~1,400
    // requests after the panic are sent to a crashed server.
    let to_the_dead = sent_to_the_crashed(&recorder, panic.time);
    assert!(to_the_dead > 900, "{to_the_dead}");
    // The panic lasts to the end and is measured.
    let panic_s = at(10.0).since(panic.time).as_secs_f64();
    assert_eq!(result.figures.get(Figure::PanicS), Some(panic_s));

    // With the threshold off the ejected stay out: every request goes to web-0.
    let mut off = run;
    off.panic_threshold = Fraction::ZERO;
    let (recorder, result) = record(&off, 1);
    let last_ejection = *ejections(&result).last().expect("ejections");
    assert!(result.events.iter().all(|e| !e.server.is_empty()));
    assert_eq!(sent_to_the_crashed(&recorder, last_ejection), 0);
    assert_eq!(result.figures.get(Figure::PanicS), Some(0.0));
}

#[test]
fn an_ejected_host_counts_against_the_panic_threshold_beside_failed_checks() {
    // The same crashes with health checks a minute apart, which see nothing in this run:
    // every host passes its checks, yet the ejections alone bring the healthy share to one
    // in four and the balancer panics, at the third ejection, as Envoy's coarse health
    // (failed check or ejected) says.
    let mut run = three_of_four_ejected();
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(60),
        ..HealthCheckSpec::default()
    });
    let result = simulate(&run, 1);
    assert!(!result.events.iter().any(|e| e.reason == "health-check"));
    let ejected = ejections(&result);
    assert_eq!(ejected.len(), 3, "{:?}", result.events);
    let panic = result
        .events
        .iter()
        .find(|e| e.server.is_empty())
        .expect("a panic row");
    assert_eq!((panic.to, panic.time), ("panic", ejected[2]));
}

#[test]
fn a_scale_out_of_unchecked_hosts_panics_the_balancer_until_one_passes_as_in_envoy() {
    // One healthy server; at 5 s three join. Envoy recomputes panic on every host-set
    // update and a new host is unhealthy until its first check passes: one of four hosts
    // is healthy, below half, so the balancer panics at the very instant they join and
    // sends requests to the newcomers at once. Their first checks start at once and take
    // 200 ms of work; the first to pass makes it two of four, and the panic ends. Before
    // panic was recomputed on host-set changes there was no panic here at all.
    let mut run = spec(1, Algorithm::RoundRobin, 150.0, 4, 8);
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(500),
        work: SimDuration::from_millis(200),
        ..HealthCheckSpec::default()
    });
    run.timeline = vec![action(5.0, Change::Add { group: 0, count: 3 })];
    let (recorder, result) = record(&run, 1);
    let panics = panic_rows(&result);
    assert_eq!(panics.len(), 2, "{:?}", result.events);
    assert_eq!(
        (panics[0].time, panics[0].to, panics[0].reason),
        (at(5.0), "panic", "timeline")
    );
    assert_eq!(
        panics[0].detail,
        "1 of 4 hosts healthy, below the panic threshold 0.5"
    );
    // Each newcomer's first check is the first thing it serves: it passes 200 ms later.
    let first_pass = result
        .events
        .iter()
        .find(|e| e.to == "healthy" && e.reason == "health-check")
        .expect("a newcomer passes its first check");
    assert_eq!(first_pass.time, at(5.2));
    assert_eq!(
        (panics[1].time, panics[1].to, panics[1].reason),
        (first_pass.time, "normal", "health-check")
    );
    assert_eq!(
        panics[1].detail,
        "2 of 4 hosts healthy, at or above the panic threshold 0.5"
    );
    assert_eq!(result.figures.get(Figure::PanicS), Some(0.2));
    // In panic the round robin includes all four: three in four of the ~30 requests of
    // those 200 ms (150/s) go to newcomers no check has passed; Poisson, so the count's
    // standard deviation is about 4.7 and 8 lies three of them below 22.5.
    let unchecked_picks: usize = (1..4)
        .map(|i| {
            recorder
                .sent_to(&format!("web-{i}"))
                .filter(|life| {
                    life.picked
                        .as_ref()
                        .is_some_and(|(t, _)| *t < first_pass.time)
                })
                .count()
        })
        .sum();
    assert!(unchecked_picks > 8, "{unchecked_picks}");
    // Threshold off: the newcomers wait for their checks, and nothing panics.
    run.panic_threshold = Fraction::ZERO;
    assert!(panic_rows(&simulate(&run, 1)).is_empty());
}

#[test]
fn a_healthy_host_leaving_can_panic_the_balancer_as_in_envoy() {
    // Four servers; web-0 and web-1 crash for good at 3 s and the checks find them out:
    // two of four healthy, exactly half, no panic. At 10 s web-3 is removed gracefully:
    // one of the three hosts left is healthy, below half, and the balancer panics at that
    // instant (reason: the removal's), sending requests to the crashed hosts again.
    let mut run = spec(4, Algorithm::RoundRobin, 100.0, 5, 14);
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(500),
        ..HealthCheckSpec::default()
    });
    run.timeline = crashes(3.0, 0..2, None);
    run.timeline.push(action(
        10.0,
        Change::Remove {
            server: "web-3".into(),
            abrupt: false,
        },
    ));
    let (recorder, result) = record(&run, 1);
    let unhealthy = result.events.iter().filter(|e| e.to == "unhealthy").count();
    assert_eq!(unhealthy, 2, "{:?}", result.events);
    let panics = panic_rows(&result);
    assert_eq!(panics.len(), 1, "{:?}", result.events);
    assert_eq!(
        (panics[0].time, panics[0].to, panics[0].reason),
        (at(10.0), "panic", "timeline")
    );
    assert_eq!(
        panics[0].detail,
        "1 of 3 hosts healthy, below the panic threshold 0.5"
    );
    // Round robin over three hosts, two of them dead: two in three of the ~400 requests
    // after the removal are sent to a crashed server.
    let to_the_dead: usize = (0..2)
        .map(|i| {
            recorder
                .sent_to(&format!("web-{i}"))
                .filter(|life| life.picked.as_ref().is_some_and(|(t, _)| *t > at(10.0)))
                .count()
        })
        .sum();
    assert!(to_the_dead > 200, "{to_the_dead}");
}

#[test]
fn failures_of_every_kind_are_deterministic() {
    let run = mixed_failures(4, Algorithm::LeastConnections, 0.3, 7.0, 0.5);
    let a = simulate(&run, 11);
    let b = simulate(&run, 11);
    let c = simulate(&run, 12);
    let fingerprint = |r: &RunResult| {
        (
            r.counts,
            r.latency.mean_ms().to_bits(),
            r.figures.clone(),
            r.events.clone(),
            r.servers.clone(),
        )
    };
    assert_eq!(fingerprint(&a), fingerprint(&b));
    assert_ne!(fingerprint(&a), fingerprint(&c));
    assert!(a.figures.get(Figure::FailedErrorResponse).unwrap() > 0.0);
    assert!(a.events.iter().any(|e| e.reason == "crash"));
}

/// Every kind of failure at once over `servers` (at least 3): web-0 answers
/// `error_fraction` of requests with errors from 2 s, web-1 crashes at `crash_s` for 3 s,
/// web-2 leaves gracefully at 8 s with a `delay_s` deregistration delay, a server joins
/// at 9 s, and memory refuses what does not fit; health checks (panic off) and outlier
/// detection watch.
fn mixed_failures(
    servers: u32,
    algorithm: Algorithm,
    error_fraction: f64,
    crash_s: f64,
    delay_s: f64,
) -> RunSpec {
    let mut run = spec(servers, algorithm, 80.0 * f64::from(servers), 10, 15);
    run.servers[0].boot = SimDuration::from_millis(500);
    run.servers[0].deregistration_delay = SimDuration::from_secs_f64(delay_s);
    run.servers[0].resources = Some(ResourceSpec {
        cpu_threshold: ResourceSpec::DEFAULT_THRESHOLD,
        memory: Some(lbsim::model::MemorySpec {
            per_request: 1.0,
            capacity: 20.0,
            threshold: ResourceSpec::DEFAULT_THRESHOLD,
            reject_when_full: true,
        }),
    });
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_millis(500),
        timeout: SimDuration::from_millis(200),
        ..HealthCheckSpec::default()
    });
    run.panic_threshold = Fraction::ZERO;
    run.outlier_detection = Some(OutlierSpec {
        max_ejection: Fraction::from_f64(0.5),
        ..OutlierSpec::default()
    });
    run.timeline = vec![
        action(
            2.0,
            Change::SetErrors {
                server: "web-0".into(),
                fraction: Fraction::from_f64(error_fraction),
            },
        ),
        action(
            crash_s,
            Change::Crash {
                server: "web-1".into(),
                downtime: Some(SimDuration::from_secs(3)),
            },
        ),
        action(
            8.0,
            Change::Remove {
                server: "web-2".into(),
                abrupt: false,
            },
        ),
        action(9.0, Change::Add { group: 0, count: 1 }),
    ];
    run.timeline.sort_by_key(|a| a.at);
    run
}

/// When each server was out of the balancer's rotation by its own record (events.csv):
/// unhealthy, ejected, draining or gone — not crashed, which the balancer does not know.
fn out_of_rotation(result: &RunResult) -> BTreeMap<String, Vec<(SimTime, SimTime)>> {
    let mut out: BTreeMap<String, Vec<(SimTime, SimTime)>> = BTreeMap::new();
    let mut since: BTreeMap<(String, &str), SimTime> = BTreeMap::new();
    let end = SimTime::from_nanos(u64::MAX);
    for event in &result.events {
        let name = event.server.clone();
        let cause = match event.reason {
            // A passed check may end an ejection.
            "health-check" if event.from == "ejected" => "ejection",
            "health-check" => "health",
            "outlier-ejection" | "outlier-success-rate" => "ejection",
            "timeline" if event.from == "absent" => "health",
            "timeline" | "drained" | "server-removed" => "leaving",
            _ => continue,
        };
        let leaves = matches!(event.to, "unhealthy" | "ejected" | "draining" | "down")
            || (event.from == "absent");
        if leaves {
            since.entry((name, cause)).or_insert(event.time);
        } else if let Some(from) = since.remove(&(name.clone(), cause)) {
            out.entry(name).or_default().push((from, event.time));
        }
    }
    for ((name, _), from) in since {
        out.entry(name).or_default().push((from, end));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Whatever the algorithm and however the failures fall: every request ends exactly
    /// once or is still in flight, the counts are conserved, and no request is sent to a
    /// server while the balancer holds it out of rotation — unhealthy, ejected, draining,
    /// gone, or newly joined and not yet checked.
    #[test]
    fn every_failure_keeps_requests_accounted_for_and_out_of_rotation_servers_unpicked(
        algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
        servers in 3u32..6,
        error_fraction in 0.0f64..=1.0,
        crash_s in 1.0f64..12.0,
        delay_s in 0.0f64..3.0,
        seed in 0u64..1000,
    ) {
        let run = mixed_failures(servers, algorithm, error_fraction, crash_s, delay_s);
        let (recorder, result) = record(&run, seed);
        prop_assert!(result.counts.is_conserved(), "{:?}", result.counts);
        prop_assert!(recorder.lives.iter().all(|life| life.ends.len() <= 1));
        let in_flight = recorder.lives.iter().filter(|life| life.ends.is_empty()).count();
        prop_assert_eq!(in_flight as u64, result.counts.in_flight);
        let by_reason: f64 = [
            Figure::FailedNoServer,
            Figure::FailedServerRemoved,
            Figure::FailedTierRejected,
            Figure::FailedCrash,
            Figure::FailedServerDown,
            Figure::FailedErrorResponse,
            Figure::FailedOutOfMemory,
        ]
        .iter()
        .map(|&f| result.figures.get(f).unwrap_or(0.0))
        .sum();
        prop_assert_eq!(by_reason, result.counts.failed as f64);
        let out = out_of_rotation(&result);
        for life in &recorder.lives {
            let Some((when, server)) = &life.picked else { continue };
            let intervals = out.get(server).map(Vec::as_slice).unwrap_or_default();
            // Strictly after it went out: the request whose error ejects a server was
            // picked at the instant of the ejection, just before it.
            prop_assert!(
                !intervals.iter().any(|&(from, until)| from < *when && *when < until),
                "{server} picked at {when:?} while out of rotation: {intervals:?}"
            );
        }
    }
}

/// Four one-worker servers under round robin at 200 requests a second, checked every
/// second; web-0 answers half its requests with errors from 10 s. With `uneject`, outlier
/// detection is on, allowed to eject half of them (with four servers Envoy's default 10%
/// allows no ejection at all), a passed check ending an ejection as `uneject` says.
fn gray_web_0(uneject: Option<bool>) -> RunSpec {
    let mut run = spec(4, Algorithm::RoundRobin, 200.0, 5, 60);
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(200),
        ..HealthCheckSpec::default()
    });
    run.outlier_detection = uneject.map(|uneject| OutlierSpec {
        max_ejection: Fraction::from_f64(0.5),
        successful_active_health_check_uneject_host: uneject,
        ..OutlierSpec::default()
    });
    run.timeline = vec![action(
        10.0,
        Change::SetErrors {
            server: "web-0".into(),
            fraction: Fraction::from_f64(0.5),
        },
    )];
    run
}

#[test]
fn a_passed_health_check_ends_an_ejection_unless_told_not_to() {
    // Envoy's `successful_active_health_check_uneject_host`, on by default: web-0's /health
    // keeps passing, so each ejection (30 s, then 60 s, ...) ends at its next check, at
    // most 1.1 s later (the interval with 10% jitter, plus the probe's 1 ms), in a row
    // whose reason is the check. Each return costs a few dozen errors before the next
    // ejection, so web-0 fails many more requests than when the ejection holds.
    let unejected = simulate(&gray_web_0(Some(true)), 8);
    assert!(unejected.counts.is_conserved());
    let rows: Vec<_> = unejected
        .events
        .iter()
        .filter(|e| e.server == "web-0")
        .collect();
    let ejections: Vec<SimTime> = rows
        .iter()
        .filter(|e| e.to == "ejected")
        .map(|e| e.time)
        .collect();
    let returns: Vec<SimTime> = rows
        .iter()
        .filter(|e| e.from == "ejected")
        .map(|e| {
            assert_eq!((e.to, e.reason), ("healthy", "health-check"), "{e:?}");
            e.time
        })
        .collect();
    assert!(ejections.len() > 10, "{ejections:?}");
    for (out, back) in ejections.iter().zip(&returns) {
        assert!(
            *back - *out <= SimDuration::from_millis(1_101),
            "{out:?} {back:?}"
        );
    }
    let held = simulate(&gray_web_0(Some(false)), 8);
    assert!(
        held.events
            .iter()
            .all(|e| !(e.from == "ejected" && e.reason == "health-check"))
    );
    let errors = |r: &RunResult| r.figures.get(Figure::FailedErrorResponse).unwrap();
    assert!(errors(&held) < 400.0, "{}", errors(&held));
    assert!(
        errors(&unejected) > 2.0 * errors(&held) + 200.0,
        "{}",
        errors(&unejected)
    );
}

/// How many of the requests picked for `server` arrived in `[from, to)` seconds.
fn picks_between(recorder: &Recorder, server: &str, from: f64, to: f64) -> usize {
    recorder
        .sent_to(server)
        .filter(|life| (at(from)..at(to)).contains(&life.arrived))
        .count()
}

#[test]
fn slow_start_does_not_ramp_a_host_back_from_an_ejection() {
    // Four servers under weighted round robin with a 20 s slow start. web-0 answers only
    // errors from 1 s to 3 s, is ejected within a few requests for 10 s, and comes back
    // healthy at about 11 s. Envoy ramps a host from its last passed health check (or its
    // addition), which an ejection's end is not: web-0 takes its full quarter at once,
    // where a restarted ramp would give it 10% of its weight, about 3% of the picks.
    let mut run = spec(4, Algorithm::WeightedRoundRobin, 200.0, 1, 30);
    run.servers[0].workers = 10;
    run.slow_start = Some(SlowStartSpec {
        window: SimDuration::from_secs(20),
        aggression: 1.0,
        min_weight: 0.1,
    });
    run.outlier_detection = Some(OutlierSpec {
        max_ejection: Fraction::from_f64(0.5),
        base_ejection_time: SimDuration::from_secs(10),
        ..OutlierSpec::default()
    });
    run.timeline = vec![
        action(
            1.0,
            Change::SetErrors {
                server: "web-0".into(),
                fraction: Fraction::ONE,
            },
        ),
        action(
            3.0,
            Change::SetErrors {
                server: "web-0".into(),
                fraction: Fraction::ZERO,
            },
        ),
    ];
    let (recorder, result) = record(&run, 1);
    let back = result
        .events
        .iter()
        .find(|e| e.from == "ejected")
        .expect("web-0 comes back")
        .time
        .as_secs_f64();
    assert!((11.0..11.5).contains(&back), "{back}");
    let (from, to) = (back, back + 4.0);
    let web_0 = picks_between(&recorder, "web-0", from, to);
    let web_1 = picks_between(&recorder, "web-1", from, to);
    assert!(web_0 + 2 >= web_1 && web_1 + 2 >= web_0, "{web_0} {web_1}");
}

#[test]
fn slow_start_ramps_a_host_passing_its_checks_back_to_healthy_and_not_one_in_panic() {
    // Three servers under weighted round robin with a 20 s slow start, checked every
    // second (one failure takes a server out, twenty passes bring it back). web-0 crashes
    // at 5 s for 2 s and is taken out; it serves again from 7 s but stays unhealthy
    // until about 27 s. web-1 crashes for good at 10 s: one healthy host of three is
    // below the panic threshold, and the balancer puts every host back in rotation. An
    // unhealthy host in rotation by panic carries its full weight in Envoy (it ramps only
    // while healthy): web-0 takes as many picks as web-2. When web-0 passes its checks
    // back to healthy, panic ends and its ramp starts there, at a tenth of its weight.
    let mut run = spec(3, Algorithm::WeightedRoundRobin, 150.0, 2, 40);
    run.slow_start = Some(SlowStartSpec {
        window: SimDuration::from_secs(20),
        aggression: 1.0,
        min_weight: 0.1,
    });
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(200),
        unhealthy_threshold: 1,
        healthy_threshold: 20,
        ..HealthCheckSpec::default()
    });
    run.timeline = vec![
        action(
            5.0,
            Change::Crash {
                server: "web-0".into(),
                downtime: Some(SimDuration::from_secs(2)),
            },
        ),
        action(
            10.0,
            Change::Crash {
                server: "web-1".into(),
                downtime: None,
            },
        ),
    ];
    let (recorder, result) = record(&run, 1);
    let healthy = |server: &str| {
        result
            .events
            .iter()
            .find(|e| e.server == server && (e.to, e.reason) == ("healthy", "health-check"))
            .map(|e| e.time.as_secs_f64())
    };
    let back = healthy("web-0").expect("web-0 passes its checks again");
    assert!((25.0..30.0).contains(&back), "{back}");
    assert!(result.events.iter().any(|e| e.to == "panic"));
    let (web_0, web_2) = (
        picks_between(&recorder, "web-0", 12.0, 20.0),
        picks_between(&recorder, "web-2", 12.0, 20.0),
    );
    assert!(web_0 + 2 >= web_2 && web_2 + 2 >= web_0, "{web_0} {web_2}");
    // Back to healthy: the first two seconds of its ramp give it at most a tenth of
    // web-2's weight (the ramp's first step, 10%), so about 1/11 of the picks.
    let (web_0, web_2) = (
        picks_between(&recorder, "web-0", back, back + 2.0),
        picks_between(&recorder, "web-2", back, back + 2.0),
    );
    assert!(web_0 * 5 < web_2, "{web_0} {web_2}");
}

#[test]
fn the_deregistration_delay_runs_from_the_removal_and_cuts_a_longer_pre_stop_short() {
    // web-0, holding requests of 30 s, is removed at 10 s with a 5 s pre-stop and a 10 s
    // deregistration delay. Kubernetes counts the grace period from the deletion, before
    // the preStop hook: it drains from 15 s and is cut off at 20 s, not 25 s.
    let removal = |pre_stop: u64| {
        let mut run = spec(2, Algorithm::RoundRobin, 2.0, 30_000, 40);
        run.servers[0].workers = 100;
        run.servers[0].pre_stop = SimDuration::from_secs(pre_stop);
        run.servers[0].deregistration_delay = SimDuration::from_secs(10);
        run.timeline = vec![action(
            10.0,
            Change::Remove {
                server: "web-0".into(),
                abrupt: false,
            },
        )];
        simulate(&run, 1)
    };
    let drained = removal(5);
    assert_eq!(
        event_rows(&drained),
        vec![
            (at(15.0), "ready", "draining", "timeline"),
            (at(20.0), "draining", "down", "server-removed"),
        ]
    );
    assert!(drained.figures.get(Figure::FailedServerRemoved).unwrap() > 0.0);
    // A pre-stop as long as the delay, or longer, never ends: the server is killed at the
    // delay with what it serves, without draining.
    for pre_stop in [10, 15] {
        assert_eq!(
            event_rows(&removal(pre_stop)),
            vec![(at(20.0), "ready", "down", "server-removed")]
        );
    }
}

/// Ten servers under round robin at 1,000 requests a second, 100 each; web-9 answers 5% of
/// its requests with errors from the start. consecutive_errors is 1,000, out of reach; the
/// success-rate detection is at Envoy's defaults, `stdev_factor` as given.
fn five_percent_errors_on_web_9(stdev_factor: &str) -> RunSpec {
    let source = format!(
        r#"
name = "success-rate"
seed = 5
duration = "60s"

[workload]
rate = 1000
service = {{ dist = "exponential", mean = "5ms" }}

[[servers]]
name = "web"
count = 9

[[servers]]
name = "bad"
count = 1
error_fraction = 0.05

[balancer]
algorithm = "round-robin"

[outlier_detection]
consecutive_errors = 1000
success_rate_stdev_factor = {stdev_factor}
"#
    );
    let scenario =
        Scenario::from_source(&source, Path::new("x.toml")).unwrap_or_else(|e| panic!("{e}"));
    scenario.variants[0].run.clone()
}

#[test]
fn success_rate_detection_ejects_a_server_failing_five_percent_that_consecutive_errors_miss() {
    // Each server answers about 1,000 requests per 10 s interval, over the 100 needed, and
    // all ten take part (5 needed). Nine succeed 100%; bad-0 about 95%, d = 5 points short.
    // One server d short among n: mean 100 − d/n, population sd d√(n − 1)/n, so the
    // threshold is 100 − d(1 + 1.9√(n − 1))/n = 100 − 0.67 d at n = 10 — above bad-0's
    // 100 − d whatever d > 0 is: it is ejected at the first interval, at 10 s, for 30 s
    // (10% of 10 servers allows one). Back at 40 s it is judged again at 50 s, on its
    // counts since 40 s (~1,000 requests), and ejected for 60 s. Between ejections the
    // nine others are all at 100%: sd 0, no rate below the mean, none ejected.
    // (Five errors in a row at 5% is 3 × 10⁻⁷ a request: even Envoy's default
    // consecutive_5xx would hardly ever fire.)
    let on = simulate(&five_percent_errors_on_web_9("1.9"), 1);
    assert!(on.counts.is_conserved());
    let rows: Vec<(SimTime, &str, &str, &str)> = on
        .events
        .iter()
        .map(|e| (e.time, e.server.as_str(), e.to, e.reason))
        .collect();
    assert_eq!(
        rows,
        [
            (at(10.0), "bad-0", "ejected", "outlier-success-rate"),
            (at(40.0), "bad-0", "healthy", "outlier-ejection"),
            (at(50.0), "bad-0", "ejected", "outlier-success-rate"),
        ]
    );
    // Off, nothing ejects it, and it fails 5% of its tenth of the 60,000 arrivals, ~300
    // (sd 17); ejected 10 s to 40 s and from 50 s, only ~100 in the 20 s it serves.
    let off = simulate(&five_percent_errors_on_web_9("\"off\""), 1);
    assert!(off.events.is_empty(), "{:?}", off.events);
    let errors = |result: &RunResult| result.figures.get(Figure::FailedErrorResponse).unwrap();
    assert!((220.0..380.0).contains(&errors(&off)), "{}", errors(&off));
    assert!((60.0..140.0).contains(&errors(&on)), "{}", errors(&on));
}
