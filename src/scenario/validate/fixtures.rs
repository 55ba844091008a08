//! The fixtures under tests/fixtures: each bad one reports its one mistake where and as
//! its entry says, and each good one validates into what it describes.

use super::testing::{FIXTURES, fixture, generated};
use super::validate;
use crate::balancer::{Algorithm, BalancerSpec};
use crate::engine::{SimDuration, SimTime};
use crate::model::{
    Adjustment, ArrivalPattern, AutoscalerSpec, Backoff, CircuitBreakerSpec, ClientSpec,
    DiscoveryMode, DiscoverySpec, FailureRateSpec, Fraction, GeneratedWorkload, HealthCheckSpec,
    Metric, MetricsSpec, OutlierSpec, PolicySpec, RateLimit, RateSchedule, RetryBudget,
    RetryCondition, RetryOn, RunSpec, ScheduledAction, ServerGroupSpec, ServiceDist, SloSpec,
    SlowStartSpec, Statistic, Step, StepSpec, SuccessRateSpec, TargetTrackingSpec, ThresholdSpec,
    TraceReplay, VictimOrder, WorkloadSpec,
};

/// For each bad fixture: where its one mistake is reported (`line:col: path: ` in the
/// fixture, or a whole `file:line:col: ` prefix for a mistake in a trace file), and what
/// the message says.
const BAD_FIXTURES: &[(&str, &str, &str)] = &[
    ("bad_name", "1:8: name: ", "found \"../etc\""),
    ("duplicate_key", "14:1: servers[1].count: ", "duplicate key"),
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
        "sweep_together_unswept",
        "13:33: sweep.together[0][1]: ",
        "\"servers.0.sped\" is not swept, expected one of \"servers.0.count\", \
         \"servers.0.speed\"; did you mean \"servers.0.speed\"?",
    ),
    (
        "sweep_together_value_counts",
        "13:33: sweep.together[0][1]: ",
        "\"servers.0.speed\" has 2 values but \"servers.0.count\" has 3",
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
        "where_linked_values_disagree",
        "18:54: expect[0].where.\"servers.0.speed\": ",
        "matches no variant: \"servers.0.speed\" varies together with \"servers.0.count\", \
         and with \"servers.0.count\" = \"4\" it is \"1\", found \"4\"",
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
            BAD_FIXTURES
                .iter()
                .chain(super::timeline::tests::BAD)
                .chain(super::resources::tests::BAD)
                .chain(super::health_check::tests::BAD)
                .chain(super::outlier_detection::tests::BAD)
                .chain(super::circuit_breaker::tests::BAD)
                .chain(super::client::tests::BAD)
                .chain(super::expect::tests::BAD)
                .chain(super::database::tests::BAD)
                .chain(super::sessions::tests::BAD)
                .chain(super::autoscaler::tests::BAD)
                .chain(super::slow_start::tests::BAD)
                .chain(super::discovery::tests::BAD)
                .any(|(name, _, _)| *name == stem),
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
                boot: SimDuration::ZERO,
                failures: None,
                error_fraction: Fraction::ZERO,
                deregistration_delay: SimDuration::from_secs(300),
                resources: None,
                pre_stop: SimDuration::ZERO,
                price_per_hour: 0.0,
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
    assert_eq!(
        expectation.bound,
        crate::scenario::Bound::Value {
            min: None,
            max: Some(250.0)
        }
    );
    assert_eq!(
        expectation.filter,
        [(
            "balancer.algorithm".to_string(),
            "least-connections".to_string()
        )]
    );
    assert_eq!(
        expectation.declared.to_string(),
        "tests/fixtures/good/sweep.toml:36"
    );
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

#[test]
fn the_resilience_fixture_fills_every_section_and_sweeps_the_budget_off() {
    let (source, path) = fixture("good", "resilience");
    let scenario = validate(&source, &path).unwrap_or_else(|e| panic!("{e}"));
    let run = &scenario.variants[0].run;
    assert_eq!(
        run.health_check,
        Some(HealthCheckSpec {
            interval: SimDuration::from_secs(5),
            timeout: SimDuration::from_secs(1),
            unhealthy_threshold: 2,
            healthy_threshold: 3,
            jitter: Fraction::from_millionths(200_000),
            work: SimDuration::from_millis(2),
        })
    );
    assert_eq!(run.panic_threshold, Fraction::from_millionths(300_000));
    assert_eq!(
        run.outlier_detection,
        Some(OutlierSpec {
            consecutive_errors: 7,
            interval: SimDuration::from_secs(5),
            base_ejection_time: SimDuration::from_secs(20),
            max_ejection_time: SimDuration::from_secs(120),
            max_ejection: Fraction::from_millionths(200_000),
            always_eject_one_host: true,
            success_rate: Some(SuccessRateSpec {
                stdev_factor: 2.5,
                minimum_hosts: 3,
                request_volume: 40,
            }),
            failure_rate: Some(FailureRateSpec {
                threshold: Fraction::from_millionths(800_000),
                minimum_hosts: 3,
                request_volume: 25,
            }),
            successful_active_health_check_uneject_host: false,
        })
    );
    assert_eq!(
        run.circuit_breaker,
        Some(CircuitBreakerSpec {
            window: SimDuration::from_secs(20),
            failure_rate: Some(Fraction::from_millionths(600_000)),
            min_requests: 10,
            open_for: SimDuration::from_secs(15),
            probes: 2,
            max_pending: Some(40),
        })
    );
    let retry_on = RetryOn::NONE
        .with(RetryCondition::Timeout)
        .with(RetryCondition::Crash)
        .with(RetryCondition::NoHealthyServer);
    assert_eq!(
        run.client,
        Some(ClientSpec {
            timeout: Some(SimDuration::from_millis(500)),
            request_timeout: None,
            retries: 2,
            backoff: Backoff {
                base: SimDuration::from_millis(10),
                max: SimDuration::from_millis(100),
            },
            retry_budget: Some(RetryBudget {
                share: Fraction::from_millionths(250_000),
                min_concurrency: 5,
            }),
            retry_on,
            previous_hosts: None,
            hedge_on_per_try_timeout: false,
        })
    );
    let labels: Vec<&str> = scenario.variants.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(
        labels,
        ["client.retry_budget=0.25", "client.retry_budget=off"]
    );
    let off = scenario.variants[1].run.client.as_ref().expect("a client");
    assert_eq!(off.retry_budget, None);
}

#[test]
fn the_autoscaling_fixture_reads_every_key_and_sweeps_the_policy() {
    let (source, path) = fixture("good", "autoscaling");
    let scenario = validate(&source, &path).unwrap_or_else(|e| panic!("{e}"));
    let labels: Vec<&str> = scenario.variants.iter().map(|v| v.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "autoscaler.policy=threshold",
            "autoscaler.policy=target-tracking",
            "autoscaler.policy=step",
            "autoscaler.policy=scheduled",
        ]
    );
    let run = &scenario.variants[1].run;
    let (web, cache) = (&run.servers[0], &run.servers[1]);
    assert_eq!(
        (web.pre_stop, web.price_per_hour),
        (SimDuration::from_secs(5), 0.0416)
    );
    assert_eq!(
        (cache.pre_stop, cache.price_per_hour),
        (SimDuration::ZERO, 0.5)
    );
    assert_eq!(
        run.slow_start,
        Some(SlowStartSpec {
            window: SimDuration::from_secs(60),
            aggression: 2.0,
            min_weight: 0.05,
        })
    );
    assert_eq!(
        run.autoscaler,
        Some(AutoscalerSpec {
            group: 0,
            min: 2,
            max: 12,
            interval: SimDuration::from_secs(15),
            cooldown: SimDuration::from_secs(120),
            policy: PolicySpec::TargetTracking(TargetTrackingSpec {
                metric: Metric::ResponseTime(Statistic::Quantile(0.999)),
                target: 0.25,
                tolerance: 0.05,
                scale_down_stabilization: SimDuration::from_secs(120),
                scale_up_stabilization: SimDuration::ZERO,
                scale_up_limit: RateLimit {
                    pods: Some(2),
                    percent: None,
                    period: SimDuration::from_secs(30),
                },
                scale_down_limit: RateLimit {
                    pods: None,
                    percent: Some(50.0),
                    period: SimDuration::from_secs(15),
                },
            }),
            metrics: MetricsSpec {
                window: SimDuration::from_secs(30),
                delay: SimDuration::from_secs(10),
            },
            provisioning: ServiceDist::Uniform {
                min: SimDuration::from_secs(20),
                max: SimDuration::from_secs(40),
            },
            victim: VictimOrder::Oldest,
        })
    );
    assert_eq!(
        run.discovery,
        Some(DiscoverySpec {
            mode: DiscoveryMode::Poll {
                interval: SimDuration::from_secs(30)
            },
            check_interval: SimDuration::from_secs(5),
        })
    );
    assert_eq!(
        run.slo,
        Some(SloSpec {
            p99: SimDuration::from_millis(250)
        })
    );

    let autoscaler = |variant: usize| {
        scenario.variants[variant]
            .run
            .autoscaler
            .clone()
            .expect("an autoscaler")
    };
    // The threshold policy's interval defaults to the seed's 60 s, the others' to 15 s.
    let threshold = autoscaler(0);
    assert_eq!(threshold.interval, SimDuration::from_secs(60));
    assert_eq!(
        threshold.policy,
        PolicySpec::Threshold(ThresholdSpec {
            cpu_high: 0.75,
            response_time_high: SimDuration::from_secs(1),
            response_time: Statistic::Quantile(0.99),
            ..ThresholdSpec::SEED
        })
    );
    let step = autoscaler(2);
    assert_eq!(step.interval, SimDuration::from_secs(15));
    // Sorted by where each band starts; an open start first.
    assert_eq!(
        step.policy,
        PolicySpec::Step(StepSpec {
            metric: Metric::QueueLength,
            steps: vec![
                Step {
                    from: None,
                    to: Some(1.0),
                    adjustment: Adjustment::Percent(-25.0),
                },
                Step {
                    from: Some(5.0),
                    to: Some(10.0),
                    adjustment: Adjustment::Exact(6),
                },
                Step {
                    from: Some(10.0),
                    to: None,
                    adjustment: Adjustment::Change(2),
                },
            ],
        })
    );
    // Sorted by time.
    assert_eq!(
        autoscaler(3).policy,
        PolicySpec::Scheduled(vec![
            ScheduledAction {
                at: SimTime::ZERO + SimDuration::from_secs(60),
                desired: None,
                min: None,
                max: Some(10),
            },
            ScheduledAction {
                at: SimTime::ZERO + SimDuration::from_secs(300),
                desired: Some(8),
                min: Some(4),
                max: None,
            },
        ])
    );
    // Everything but the policy and its interval is the same in every variant.
    for variant in &scenario.variants {
        let other = variant.run.autoscaler.as_ref().expect("an autoscaler");
        assert_eq!(
            (other.min, other.max, other.victim, other.cooldown),
            (2, 12, VictimOrder::Oldest, SimDuration::from_secs(120))
        );
    }
}
