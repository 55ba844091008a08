//! Autoscaling, service discovery and slow start, run end to end: capacity follows load
//! within its bounds, a new server takes nothing before it is ready and its share ramps as
//! the slow-start formula says, scale-in drains before it removes, and a balancer that
//! hears of a departure late sends traffic to a server that has gone.

use std::collections::BTreeMap;

use lbsim::balancer::{Algorithm, BalancerSpec};
use lbsim::engine::{SimDuration, SimTime};
use lbsim::model::{
    Adjustment, ArrivalPattern, AutoscalerSpec, Change, DiscoveryMode, DiscoverySpec,
    FailureProcess, Fraction, GeneratedWorkload, HealthCheckSpec, Metric, MetricsSpec, Observed,
    Observer, OutlierSpec, PolicySpec, RateSchedule, RunSpec, ScheduledAction, ServerGroupSpec,
    ServerState, ServiceDist, SlowStartSpec, Step, StepSpec, TargetTrackingSpec, TimelineAction,
    VictimOrder, WorkloadSpec, simulate, simulate_observed,
};
use lbsim::stats::{Figure, RunResult};
use proptest::prelude::*;

fn secs(s: u64) -> SimDuration {
    SimDuration::from_secs(s)
}

/// `count` four-worker web servers (400 req/s each at 10 ms) under a rate schedule.
fn spec(steps: &[(u64, f64)], count: u32, algorithm: Algorithm, duration: u64) -> RunSpec {
    let steps = steps
        .iter()
        .map(|&(at, rate)| (SimTime::ZERO + secs(at), rate))
        .collect();
    RunSpec {
        warmup: secs(10),
        ..RunSpec::new(
            secs(duration),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::from_steps(steps),
                arrivals: ArrivalPattern::Poisson,
                service: ServiceDist::Exponential {
                    mean: SimDuration::from_millis(10),
                },
                clients: 1000,
            }),
            vec![ServerGroupSpec {
                workers: 4,
                boot: secs(5),
                ..ServerGroupSpec::new("web", count)
            }],
            BalancerSpec::new(algorithm),
        )
    }
}

/// Target tracking on CPU at 50%, the HPA's defaults but a 60 s scale-down stabilization
/// window, and no cooldown.
fn target_tracking(min: u32, max: u32) -> AutoscalerSpec {
    AutoscalerSpec {
        group: 0,
        min,
        max,
        interval: secs(15),
        cooldown: SimDuration::ZERO,
        policy: PolicySpec::TargetTracking(TargetTrackingSpec {
            scale_down_stabilization: secs(60),
            ..TargetTrackingSpec::hpa(Metric::Cpu, 0.5)
        }),
        metrics: MetricsSpec {
            window: secs(30),
            delay: SimDuration::ZERO,
        },
        provisioning: ServiceDist::Constant { mean: secs(10) },
        victim: VictimOrder::Newest,
    }
}

/// A scheduled autoscaler between `min` and `max` whose one action sets the desired
/// capacity to `desired` at `at` s (target tracking's other settings, unused).
fn scheduled(at: u64, desired: u32, min: u32, max: u32) -> AutoscalerSpec {
    AutoscalerSpec {
        policy: PolicySpec::Scheduled(vec![ScheduledAction {
            at: SimTime::ZERO + secs(at),
            desired: Some(desired),
            min: None,
            max: None,
        }]),
        ..target_tracking(min, max)
    }
}

/// The run's cluster rows: (time s, provisioning, ready, draining).
fn instances(result: &RunResult) -> Vec<(f64, u32, u32, u32)> {
    let mut rows = Vec::new();
    result
        .intervals
        .for_each(|i| {
            let n = i.instances;
            rows.push((i.time.as_secs_f64(), n.provisioning, n.ready, n.draining));
            Ok(())
        })
        .expect("the series reads back");
    rows
}

#[test]
fn capacity_follows_a_step_of_load_within_its_bounds_and_scale_in_loses_nothing() {
    // 300 req/s is 3 busy workers of 2 servers' 8 (37%); 2,400 req/s needs 6 servers at
    // 100%, so 12 at the 50% target — capped at 10; back at 300 it returns toward 2.
    let mut spec = spec(
        &[(0, 300.0), (120, 2400.0), (300, 300.0)],
        2,
        Algorithm::LeastConnections,
        600,
    );
    spec.autoscaler = Some(target_tracking(2, 10));
    let result = simulate(&spec, 7);
    let rows = instances(&result);
    for &(t, provisioning, ready, _) in &rows {
        assert!(
            (2..=10).contains(&(provisioning + ready)),
            "capacity left [2, 10] at {t} s: {rows:?}"
        );
    }
    let peak = rows.iter().map(|r| r.2).max().unwrap();
    assert_eq!(peak, 10, "the spike needs the maximum: {rows:?}");
    let last = rows.last().unwrap();
    assert!(last.2 <= 3, "capacity came back down: {rows:?}");
    // Scale-in drains: nothing fails, nothing is turned away.
    let c = result.counts;
    assert_eq!((c.failed, c.rejected), (0, 0), "{c:?}");
    assert!(result.figures.get(Figure::ScaleEvents).unwrap() >= 3.0);
    // Every instance scaled in was drained before it went down.
    let mut draining: BTreeMap<&str, f64> = BTreeMap::new();
    for event in &result.events {
        match (event.from, event.to, event.reason) {
            ("ready", "draining", "scale-in") => {
                draining.insert(&event.server, event.time.as_secs_f64());
            }
            ("draining", "down", reason) => {
                assert_eq!(reason, "drained", "{event:?}");
                assert!(
                    draining.remove(event.server.as_str()).is_some(),
                    "{event:?}"
                );
            }
            _ => {}
        }
    }
    assert!(
        draining.is_empty(),
        "still draining at the end: {draining:?}"
    );
}

/// Records, per server, when it became ready and every time it was picked.
#[derive(Default)]
struct Picks {
    ready_at: BTreeMap<String, SimTime>,
    picks: BTreeMap<String, Vec<SimTime>>,
    total: Vec<SimTime>,
}

impl Observer for Picks {
    const ACTIVE: bool = true;

    fn observe(&mut self, now: SimTime, event: Observed<'_>) {
        match event {
            Observed::StateChanged {
                server,
                to: Some(ServerState::Ready),
                ..
            } => {
                self.ready_at.entry(server.to_string()).or_insert(now);
            }
            Observed::Picked { name, .. } => {
                self.picks.entry(name.to_string()).or_default().push(now);
                self.total.push(now);
            }
            _ => {}
        }
    }
}

#[test]
fn a_launched_server_takes_no_traffic_before_it_is_ready() {
    let mut spec = spec(
        &[(0, 300.0), (60, 2000.0)],
        2,
        Algorithm::LeastConnections,
        180,
    );
    spec.autoscaler = Some(target_tracking(2, 8));
    let mut picks = Picks::default();
    simulate_observed(&spec, 3, &mut picks);
    let launched: Vec<&String> = picks
        .picks
        .keys()
        .filter(|name| !["web-0", "web-1"].contains(&name.as_str()))
        .collect();
    assert!(!launched.is_empty(), "the spike launched servers");
    for name in launched {
        let ready = picks.ready_at[name.as_str()];
        let first = picks.picks[name.as_str()][0];
        assert!(
            first >= ready,
            "{name} picked at {first} before ready at {ready}"
        );
    }
}

#[test]
fn a_newcomers_share_ramps_as_envoys_slow_start_formula_says() {
    // Four weight-1 servers and a fifth added at 60 s, picked at random by weight: its
    // share of picks is w(t) / (4 + w(t)) with w = max(0.1, t / 60 s) (aggression 1).
    let mut spec = spec(&[(0, 2000.0)], 4, Algorithm::Random, 180);
    spec.timeline = vec![TimelineAction {
        at: SimTime::ZERO + secs(60),
        change: Change::Add { group: 0, count: 1 },
    }];
    let window = secs(60);
    spec.slow_start = Some(SlowStartSpec {
        window,
        aggression: 1.0,
        min_weight: 0.1,
    });
    let mut picks = Picks::default();
    simulate_observed(&spec, 11, &mut picks);
    let newcomer = &picks.picks["web-4"];
    let entered = picks.ready_at["web-4"].as_secs_f64();
    // Weights change at the ramp's ticks (every window / 20 = 3 s), so the expected share
    // over a bin is the mean of the stepped share over its ticks.
    let tick = window.as_secs_f64() / 20.0;
    let share_at = |t: f64| {
        let stepped = ((t - entered) / tick).floor() * tick;
        let w = (stepped / window.as_secs_f64()).clamp(0.1, 1.0);
        w / (4.0 + w)
    };
    for bin in 0..8 {
        let (from, to) = (
            entered + 9.0 * f64::from(bin),
            entered + 9.0 * f64::from(bin + 1),
        );
        let in_bin = |times: &[SimTime]| {
            times
                .iter()
                .filter(|t| (from..to).contains(&t.as_secs_f64()))
                .count() as f64
        };
        let (mine, all) = (in_bin(newcomer), in_bin(&picks.total));
        let expected = (0..90)
            .map(|k| share_at(from + (f64::from(k) + 0.5) * 0.1))
            .sum::<f64>()
            / 90.0;
        // About 18,000 picks per bin: the binomial s.d. of the share is at most 0.004;
        // five of them.
        let sd = (expected * (1.0 - expected) / all).sqrt();
        let share = mine / all;
        assert!(
            (share - expected).abs() < 5.0 * sd,
            "bin {bin}: share {share:.4}, expected {expected:.4} ± {:.4}",
            5.0 * sd
        );
    }
    let full = 1.0 / 5.0;
    let late = picks.picks["web-4"]
        .iter()
        .filter(|t| t.as_secs_f64() > entered + 70.0)
        .count() as f64
        / picks
            .total
            .iter()
            .filter(|t| t.as_secs_f64() > entered + 70.0)
            .count() as f64;
    assert!((late - full).abs() < 0.01, "after the window: {late}");
}

/// Eight servers scheduled down to four at 61 s, with the balancers polling the registry
/// every 30 s (the last poll before was at 60 s, the next is at 90 s), and `pre_stop` of
/// serving after deregistering.
fn scale_in_under_discovery(pre_stop: SimDuration) -> RunResult {
    let mut spec = spec(&[(0, 1000.0)], 8, Algorithm::RoundRobin, 150);
    spec.servers[0].pre_stop = pre_stop;
    spec.autoscaler = Some(scheduled(61, 4, 1, 8));
    spec.discovery = Some(DiscoverySpec {
        mode: DiscoveryMode::Poll { interval: secs(30) },
        check_interval: secs(10),
    });
    simulate(&spec, 5)
}

#[test]
fn a_balancer_that_hears_late_routes_to_servers_that_left_unless_they_wait_to_stop() {
    let abrupt = scale_in_under_discovery(SimDuration::ZERO);
    let stale = abrupt.figures.get(Figure::StaleRoutes).unwrap();
    // Round robin over 8 servers, 4 gone, for the 29 s until the next poll: half of about
    // 29,000 requests (Poisson: s.d. about 120).
    assert!((stale - 14_500.0).abs() < 600.0, "stale routes: {stale}");
    assert_eq!(abrupt.counts.failed as f64, stale, "each stale route fails");
    let patient = scale_in_under_discovery(secs(35));
    assert_eq!(patient.figures.get(Figure::StaleRoutes), Some(0.0));
    assert_eq!(patient.counts.failed, 0);
}

#[test]
fn the_registrys_own_check_takes_a_crashed_server_out_of_the_balancers_view() {
    // No balancer health checks: only the registry's check (every 10 s) finds the crash at
    // 30 s, and its watch tells the balancers 1 s later. Round robin over four servers sends
    // the dead one a quarter of 400 req/s until then: at most 11 s of it.
    let mut spec = spec(&[(0, 400.0)], 4, Algorithm::RoundRobin, 90);
    spec.timeline = vec![TimelineAction {
        at: SimTime::ZERO + secs(30),
        change: Change::Crash {
            server: "web-2".to_string(),
            downtime: None,
        },
    }];
    spec.discovery = Some(DiscoverySpec {
        mode: DiscoveryMode::Watch { delay: secs(1) },
        check_interval: secs(10),
    });
    let result = simulate(&spec, 2);
    let forgotten = result
        .events
        .iter()
        .find(|e| e.server == "web-2" && e.to == "unknown")
        .expect("the balancers forget the crashed server");
    let after = forgotten.time.as_secs_f64() - 30.0;
    assert!(
        (1.0..=11.0).contains(&after),
        "forgotten {after} s after the crash"
    );
    let refused = result.figures.get(Figure::FailedServerDown).unwrap();
    // Poisson: the mean over `after` seconds is 100 × after; five s.d. above it.
    let bound = 100.0 * after + 5.0 * (100.0 * after).sqrt();
    assert!(
        refused > 0.0 && refused <= bound,
        "{refused} refused, bound {bound}"
    );
    // Without the registry the dead server would draw its share to the end: 6,000.
    spec.discovery = None;
    let blind = simulate(&spec, 2);
    assert!(blind.figures.get(Figure::FailedServerDown).unwrap() > 5000.0);
}

#[test]
fn a_server_told_to_leave_leaves_for_good_whether_or_not_it_crashes_in_its_pre_stop() {
    // web-1 is told to leave at 20 s with a 10 s pre-stop. Without crashes it serves out
    // its pre-stop, then drains (at this load, within a second) and goes down. A crash in
    // its pre-stop (a zone outage, or its own failure process: a process in its preStop
    // hook can still die) ends the departure at once, as a terminating pod is not
    // restarted: its repair does not bring it back, and its pre-stop's end no longer
    // comes. Before, a crash by another cause cancelled the pre-stop's end, and it
    // restarted a member for good.
    let mut spec = spec(&[(0, 200.0)], 3, Algorithm::RoundRobin, 60);
    spec.servers[0].pre_stop = secs(10);
    let removal = TimelineAction {
        at: SimTime::ZERO + secs(20),
        change: Change::Remove {
            server: "web-1".to_string(),
            abrupt: false,
        },
    };
    spec.timeline = vec![removal.clone()];
    let rows_after_the_removal = |result: &RunResult| -> Vec<(f64, &str, &str, &str)> {
        result
            .events
            .iter()
            .filter(|e| e.server == "web-1" && e.time >= SimTime::ZERO + secs(20))
            .map(|e| (e.time.as_secs_f64(), e.from, e.to, e.reason))
            .collect::<Vec<_>>()
    };
    let steady = simulate(&spec, 4);
    let rows = rows_after_the_removal(&steady);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0], (30.0, "ready", "draining", "timeline"));
    assert_eq!(
        (rows[1].1, rows[1].2, rows[1].3),
        ("draining", "down", "drained")
    );
    assert!(rows[1].0 < 31.0, "{rows:?}");

    // A crash at 25 s (a zone outage, say), with a 1 s downtime: down for good at 25 s.
    spec.timeline.push(TimelineAction {
        at: SimTime::ZERO + secs(25),
        change: Change::Crash {
            server: "web-1".to_string(),
            downtime: Some(secs(1)),
        },
    });
    let outage = simulate(&spec, 4);
    assert_eq!(
        rows_after_the_removal(&outage),
        vec![(25.0, "ready", "down", "crash")]
    );

    // Random crashes every 3 s on average, each repaired in 1 s. When told to leave,
    // web-1 is either down or restarting, and leaves at once (a server that serves
    // nothing has no pre-stop to serve out); or ready (probability 3/4), and then it
    // crashes in its 10 s pre-stop with probability 1 - e^(-10/3) = 0.96, which ends its
    // departure, or it serves the pre-stop out and drains (a crash may cut the drain).
    // Whichever, it never comes back.
    spec.timeline = vec![removal];
    spec.servers[0].failures = Some(FailureProcess {
        mtbf: secs(3),
        mttr: secs(1),
    });
    let mut crashed_in_pre_stop = 0;
    for seed in 1..=20 {
        let crashing = simulate(&spec, seed);
        let rows = rows_after_the_removal(&crashing);
        match rows.as_slice() {
            [(20.0, "down", "absent", "timeline")] | [(20.0, "booting", "down", "timeline")] => {}
            [(time, "ready", "down", "crash")] if (20.0..30.0).contains(time) => {
                crashed_in_pre_stop += 1;
            }
            [
                (30.0, "ready", "draining", "timeline"),
                (_, "draining", "down", "drained" | "crash"),
            ] => {}
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    // Binomial(20, 0.72): mean 14.4, sd 2.0; at least 5 is 4.7 sd below the mean.
    assert!(crashed_in_pre_stop >= 5, "{crashed_in_pre_stop} of 20");
}

/// The run's decisions: (time s, desired before, desired after).
fn decisions(result: &RunResult) -> Vec<(f64, u32, u32)> {
    result
        .events
        .iter()
        .filter(|e| e.from == "capacity")
        .map(|e| {
            let (from, to) = e.detail.split_once(" -> ").expect("from -> to");
            let to = to.split(' ').next().expect("to");
            (
                e.time.as_secs_f64(),
                from.parse().unwrap(),
                to.parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn target_tracking_reads_no_cpu_from_instances_not_ready_for_its_whole_window() {
    // 800 req/s of 10 ms is 8 busy workers: at the 50% target, 16 workers, 4 servers. Two
    // servers are saturated (CPU 1.0, their short queues shedding), so the first sync asks
    // for ceil(2 × 1.0 / 0.5) = 4, ready at 30 s. Over the next minute the 60 s window
    // still averages the saturated half-minute: at 45 s its CPU is about (30 × 1.0 + 15 ×
    // 0.5) / 45 = 0.83. Multiplied by 4 ready instances, as if all four had carried that
    // load, it would ask for ceil(4 × 0.83 / 0.5) = 7 and keep climbing. The HPA counts
    // the two newcomers as not ready until a whole window has passed since they became
    // ready (its CPU initialization period): ceil(2 × 0.83 / 0.5) = 4 with two unready,
    // 0.83 × 2 / 4 < 1, so it holds at 4, and at 90 s the window reads 0.5 on four: within
    // tolerance. The group never leaves 4.
    let mut spec = spec(&[(0, 800.0)], 2, Algorithm::LeastConnections, 240);
    spec.servers[0].queue_limit = Some(10);
    spec.autoscaler = Some(AutoscalerSpec {
        metrics: MetricsSpec {
            window: secs(60),
            delay: SimDuration::ZERO,
        },
        ..target_tracking(1, 20)
    });
    let result = simulate(&spec, 3);
    assert_eq!(decisions(&result), vec![(15.0, 2, 4)]);
    let last = *instances(&result).last().unwrap();
    assert_eq!((last.1, last.2), (0, 4), "{last:?}");
}

#[test]
fn step_scaling_adds_nothing_for_a_band_whose_instances_still_warm_up() {
    // 1,000 req/s of 10 ms on 2 servers of 4 workers is CPU above 1: every evaluation
    // (every 15 s) sees the +1 band. Each new instance takes 10 s to provision and 5 s to
    // boot, ready 15 s after its decision, and with no cooldown AWS step scaling would
    // still not stack: while an instance warms up the same band adds nothing. So the
    // decisions come one per boot, never two within 15 s, each adding one.
    let mut spec = spec(&[(0, 1000.0)], 2, Algorithm::LeastConnections, 120);
    spec.servers[0].queue_limit = Some(10);
    spec.servers[0].boot = secs(20);
    spec.autoscaler = Some(AutoscalerSpec {
        interval: secs(10),
        policy: PolicySpec::Step(StepSpec {
            metric: Metric::Cpu,
            steps: vec![Step {
                from: Some(0.7),
                to: None,
                adjustment: Adjustment::Change(1),
            }],
        }),
        ..target_tracking(1, 20)
    });
    let result = simulate(&spec, 3);
    let made = decisions(&result);
    assert!(made.len() >= 2, "{made:?}");
    for pair in made.windows(2) {
        let ((t0, _, to0), (t1, from1, to1)) = (pair[0], pair[1]);
        assert_eq!((from1, to1), (to0, to0 + 1), "{made:?}");
        // Ready 30 s after the decision (10 s provisioning, 20 s boot); evaluations every
        // 10 s: the next decision is the first evaluation at or after it.
        assert!(t1 - t0 >= 30.0, "{made:?}");
    }
}

#[test]
fn a_scheduled_action_sizes_the_group_after_its_dead_members_are_replaced() {
    // Four servers; web-1 crashes for good at 70 s, before anything replaces it (the
    // evaluations, every 60 s, come at 60 and 120 s). At 100 s a scheduled action sets
    // the desired capacity to 2. The dead member is replaced first, then two instances
    // leave, the booting replacement first: two remain, and the replacement at the next
    // evaluation adds nothing.
    let mut spec = spec(&[(0, 200.0)], 4, Algorithm::RoundRobin, 300);
    spec.autoscaler = Some(AutoscalerSpec {
        interval: secs(60),
        ..scheduled(100, 2, 1, 8)
    });
    spec.timeline = vec![TimelineAction {
        at: SimTime::ZERO + secs(70),
        change: Change::Crash {
            server: "web-1".to_string(),
            downtime: None,
        },
    }];
    let result = simulate(&spec, 6);
    let ready: Vec<u32> = instances(&result)
        .into_iter()
        .filter(|&(time, ..)| time > 130.0)
        .map(|(_, provisioning, ready, _)| provisioning + ready)
        .collect();
    assert!(
        !ready.is_empty() && ready.iter().all(|&r| r == 2),
        "{ready:?}"
    );
}

#[test]
fn a_crashed_member_that_restarts_still_counts_and_one_down_for_good_is_replaced() {
    // Capacity pinned at 4 (min = max): only crashes can move the group. web-2 crashes at
    // 31 s and restarts 20 s later; web-1 crashes at 31 s for good. An Auto Scaling group
    // keeps its desired 4: nothing is launched for web-2, which comes back, and web-1 is
    // replaced at the next evaluation (every 15 s: at 45 s), the newcomer ready after its
    // 10 s of provisioning and 5 s of boot.
    let mut spec = spec(&[(0, 400.0)], 4, Algorithm::LeastConnections, 120);
    spec.autoscaler = Some(target_tracking(4, 4));
    let crash = |server: &str, downtime| TimelineAction {
        at: SimTime::ZERO + secs(31),
        change: Change::Crash {
            server: server.to_string(),
            downtime,
        },
    };
    spec.timeline = vec![crash("web-2", Some(secs(20))), crash("web-1", None)];
    let result = simulate(&spec, 6);
    let rows = |server: &str| -> Vec<(f64, &str, &str, &str)> {
        result
            .events
            .iter()
            .filter(|e| e.server == server)
            .map(|e| (e.time.as_secs_f64(), e.from, e.to, e.reason))
            .collect()
    };
    let launched: Vec<_> = result
        .events
        .iter()
        .filter(|e| e.from == "absent")
        .map(|e| (e.time.as_secs_f64(), e.server.as_str(), e.reason))
        .collect();
    assert_eq!(launched, vec![(45.0, "web-4", "replacement")], "launches");
    assert_eq!(
        rows("web-1"),
        vec![
            (31.0, "ready", "down", "crash"),
            (45.0, "down", "absent", "replaced")
        ]
    );
    assert_eq!(
        rows("web-2"),
        vec![
            (31.0, "ready", "down", "crash"),
            (51.0, "down", "booting", "restart"),
            (56.0, "booting", "ready", "booted"),
            (56.0, "ready", "healthy", "recovered")
        ]
    );
    assert_eq!(
        rows("web-4"),
        vec![
            (45.0, "absent", "booting", "replacement"),
            (60.0, "booting", "ready", "booted")
        ]
    );
    // From then on, four instances ready: never five.
    let ready: Vec<u32> = instances(&result)
        .into_iter()
        .filter(|&(time, ..)| time > 60.0)
        .map(|(_, _, ready, _)| ready)
        .collect();
    assert!(
        !ready.is_empty() && ready.iter().all(|&r| r == 4),
        "{ready:?}"
    );
}

#[test]
fn a_scale_in_terminates_a_crashed_instance_first_and_the_balancers_forget_it() {
    // Round robin over four servers, no health checks: the balancers never learn of
    // web-3's crash at 20 s (it would restart at 60 s). A scheduled scale-in to 3 at 30 s
    // takes the crashed instance first, and takes it out of the balancers' rotation:
    // from then on nothing is sent to it. Refused before: about a quarter of 400 req/s
    // for the 10 s it was down in rotation, 1,000 (Poisson: ±5 s.d. is ±160).
    let mut spec = spec(&[(0, 400.0)], 4, Algorithm::RoundRobin, 90);
    spec.autoscaler = Some(scheduled(30, 3, 1, 4));
    spec.timeline = vec![TimelineAction {
        at: SimTime::ZERO + secs(20),
        change: Change::Crash {
            server: "web-3".to_string(),
            downtime: Some(secs(40)),
        },
    }];
    let result = simulate(&spec, 8);
    let web3: Vec<(f64, &str, &str, &str)> = result
        .events
        .iter()
        .filter(|e| e.server == "web-3")
        .map(|e| (e.time.as_secs_f64(), e.from, e.to, e.reason))
        .collect();
    assert_eq!(
        web3,
        vec![
            (20.0, "ready", "down", "crash"),
            (30.0, "down", "absent", "scale-in")
        ]
    );
    let refused = result.figures.get(Figure::FailedServerDown).unwrap();
    assert!((840.0..=1160.0).contains(&refused), "{refused} refused");
}

#[test]
fn an_instance_still_booting_is_no_host_of_the_balancers_whatever_changes_meanwhile() {
    // Two servers under round robin with outlier detection and no health checks; a
    // scheduled scale-out to four at 30 s launches two instances, ready at 40 s (10 s of
    // provisioning, no boot). web-0 crashes at 35 s and is ejected after five refusals,
    // which re-reads every server's place in rotation while the two are still booting.
    // The balancers learn of an instance when it first serves, so neither takes a
    // request before 40 s: the only refusals are the five that ejected web-0.
    let mut spec = spec(&[(0, 100.0)], 2, Algorithm::RoundRobin, 60);
    spec.outlier_detection = Some(OutlierSpec {
        max_ejection: Fraction::ONE,
        ..OutlierSpec::default()
    });
    spec.autoscaler = Some(scheduled(30, 4, 1, 4));
    spec.timeline = vec![TimelineAction {
        at: SimTime::ZERO + secs(35),
        change: Change::Crash {
            server: "web-0".to_string(),
            downtime: None,
        },
    }];
    let result = simulate(&spec, 3);
    let ejected: Vec<(f64, &str)> = result
        .events
        .iter()
        .filter(|e| e.to == "ejected")
        .map(|e| (e.time.as_secs_f64(), e.server.as_str()))
        .collect();
    assert!(
        matches!(ejected.as_slice(), [(t, "web-0")] if (35.0..40.0).contains(t)),
        "{ejected:?}"
    );
    assert_eq!(result.figures.get(Figure::FailedServerDown), Some(5.0));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the autoscaler launches while crashes, ejections, health verdicts and
    /// panics re-read who is in rotation, with or without service discovery: no launched
    /// instance is picked before it is ready (the balancers learn of it when it first
    /// serves), and every request is accounted for.
    #[test]
    fn no_launched_instance_is_picked_before_it_is_ready(
        initial in 1u32..4,
        sizes in prop::collection::vec((5u64..55, 1u32..7), 1..4),
        crashes in prop::collection::vec((0u32..3, 5u64..55, prop::option::of(1u64..20)), 0..4),
        max_ejection in 0.0f64..=1.0,
        checked in any::<bool>(),
        discovery in prop::option::of(prop::bool::ANY.prop_map(|watch| if watch {
            DiscoveryMode::Watch { delay: secs(2) }
        } else {
            DiscoveryMode::Poll { interval: secs(5) }
        })),
        seed in 0u64..1000,
    ) {
        let mut spec = spec(&[(0, 300.0 * f64::from(initial))], initial, Algorithm::RoundRobin, 60);
        let mut schedule: Vec<ScheduledAction> = sizes
            .iter()
            .map(|&(at, desired)| ScheduledAction {
                at: SimTime::ZERO + secs(at),
                desired: Some(desired),
                min: None,
                max: None,
            })
            .collect();
        schedule.sort_by_key(|action| action.at);
        spec.autoscaler = Some(AutoscalerSpec {
            policy: PolicySpec::Scheduled(schedule),
            ..target_tracking(1, 6)
        });
        spec.outlier_detection = Some(OutlierSpec {
            max_ejection: Fraction::from_f64(max_ejection),
            ..OutlierSpec::default()
        });
        if checked {
            spec.health_check = Some(HealthCheckSpec {
                interval: secs(1),
                timeout: SimDuration::from_millis(200),
                ..HealthCheckSpec::default()
            });
        }
        spec.discovery = discovery.map(|mode| DiscoverySpec {
            mode,
            check_interval: secs(3),
        });
        let mut timeline: Vec<TimelineAction> = crashes
            .iter()
            .filter(|&&(server, _, _)| server < initial)
            .map(|&(server, at, downtime)| TimelineAction {
                at: SimTime::ZERO + secs(at),
                change: Change::Crash {
                    server: format!("web-{server}"),
                    downtime: downtime.map(secs),
                },
            })
            .collect();
        timeline.sort_by_key(|action| action.at);
        spec.timeline = timeline;
        let mut picks = Picks::default();
        let result = simulate_observed(&spec, seed, &mut picks);
        for (name, times) in &picks.picks {
            let launched = !(0..initial).any(|i| *name == format!("web-{i}"));
            if launched {
                let ready = picks.ready_at.get(name);
                prop_assert!(
                    ready.is_some_and(|ready| times[0] >= *ready),
                    "{} picked at {:?}, ready at {:?}", name, times[0], ready
                );
            }
        }
        prop_assert!(result.counts.is_conserved(), "{:?}", result.counts);
    }
}

#[test]
fn a_timeline_action_on_a_server_the_autoscaler_removed_acts_on_nothing() {
    // Validation replays the timeline against the servers it adds and removes; it cannot
    // know that a scheduled scale-in to two at 30 s takes web-3 and web-2 (newest first).
    // The actions that name them later find no such server and do nothing: the run ends
    // normally, and neither has a row after its removal.
    let mut spec = spec(&[(0, 400.0)], 4, Algorithm::RoundRobin, 60);
    spec.autoscaler = Some(scheduled(30, 2, 1, 4));
    let at = |s: u64, change: Change| TimelineAction {
        at: SimTime::ZERO + secs(s),
        change,
    };
    spec.timeline = vec![
        at(
            40,
            Change::Crash {
                server: "web-3".to_string(),
                downtime: None,
            },
        ),
        at(
            45,
            Change::SetSpeed {
                server: "web-2".to_string(),
                speed: 0.5,
            },
        ),
        at(
            50,
            Change::Remove {
                server: "web-3".to_string(),
                abrupt: true,
            },
        ),
    ];
    let result = simulate(&spec, 1);
    for name in ["web-2", "web-3"] {
        let last = result
            .events
            .iter()
            .filter(|e| e.server == name)
            .map(|e| e.time.as_secs_f64())
            .fold(0.0, f64::max);
        assert!((30.0..40.0).contains(&last), "{name}: last row at {last} s");
    }
    assert!(result.counts.is_conserved());
}

#[test]
fn an_instance_that_crashes_before_it_first_serves_serves_once_it_boots_again() {
    // A scheduled scale-out to four at 5 s launches two instances, ready at 20 s (10 s of
    // provisioning, 5 s of boot). A zone outage at 12 s takes the whole zone for 2 s,
    // the two still booting included; all four restart at 14 s and are ready at 19 s. The
    // two newcomers then serve for the first time: the balancers learn of them, and they
    // take their share of the traffic from then on.
    let mut spec = spec(&[(0, 400.0)], 2, Algorithm::RoundRobin, 40);
    spec.autoscaler = Some(scheduled(5, 4, 1, 4));
    spec.timeline = vec![TimelineAction {
        at: SimTime::ZERO + secs(12),
        change: Change::ZoneOutage {
            zone: "a".to_string(),
            downtime: Some(secs(2)),
        },
    }];
    let mut picks = Picks::default();
    let result = simulate_observed(&spec, 4, &mut picks);
    for name in ["web-2", "web-3"] {
        let times = picks.picks.get(name).map_or(&[][..], Vec::as_slice);
        let ready = SimTime::ZERO + secs(19);
        assert!(
            times.first().is_some_and(|&first| first >= ready),
            "{name}: first pick {:?}",
            times.first()
        );
        // Round robin over four: a quarter of 400 a second for the last 21 s.
        assert!(times.len() > 1800, "{name}: {} picks", times.len());
    }
    assert!(result.counts.is_conserved());
}
