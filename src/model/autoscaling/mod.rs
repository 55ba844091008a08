//! Autoscaling: a policy that reads metrics late and moves a group's desired capacity.
//!
//! [`Autoscaler`] is a pure state machine, like the resilience components: the world tells
//! it what happened — a [`Datapoint`] every collection period, each response's latency when
//! the policy reads response time — and asks it what to do every `interval` and at each
//! scheduled action's time; it answers with a [`Decision`] when the desired capacity
//! changes. It has no clock or event queue of its own. The pieces, one per file: the
//! metrics pipeline (`metric_window`), the desired capacity with its bounds and cooldown
//! (`capacity`), and the policies — the seed's thresholds (`threshold`), Kubernetes HPA
//! target tracking (`target_tracking`), AWS step scaling (`step_scaling`) and AWS scheduled
//! actions (`scheduled`).
//!
//! Every policy moves the desired capacity from the desired capacity, not from the
//! instances running: AWS policies change the group's desired capacity, and the HPA's
//! "current replicas" is its target's `spec.replicas`. Instances asked for and still
//! booting therefore count, and a policy does not order them again at each evaluation.
//! The instances launched and not leaving (`current` of [`Autoscaler::evaluate`]) serve
//! target tracking only, to count the pods not ready yet.

mod capacity;
mod metric_window;
mod scheduled;
mod spec;
mod step_scaling;
mod target_tracking;
mod threshold;

use std::fmt;

pub use spec::{
    Adjustment, AutoscalerSpec, DiscoveryMode, DiscoverySpec, Metric, MetricsSpec, PolicySpec,
    RateLimit, ScheduledAction, SloSpec, SlowStartSpec, Statistic, Step, StepSpec,
    TargetTrackingSpec, ThresholdSpec, VictimOrder,
};

use super::service::ServiceSampler;
use super::streams;
use crate::engine::{SimDuration, SimTime, stream};
use capacity::Capacity;
use metric_window::MetricWindow;
use target_tracking::{Replicas, TargetTracking};

/// One metrics datapoint: what the cluster looked like over the last collection period.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Datapoint {
    /// The period it covers, ending at the time it is recorded.
    pub period: SimDuration,
    /// Member instances in state ready (in rotation or not: an unhealthy or ejected one
    /// counts) at the period's end.
    pub ready: u32,
    /// Busy fraction of the ready instances' workers over the period.
    pub cpu: f64,
    /// Mean share of memory in use on the ready instances (0 for a group without a memory
    /// model).
    pub memory: f64,
    /// Mean requests queued per ready instance, at the period's end.
    pub queue_length: f64,
    /// Responses answered over the period.
    pub completions: u32,
}

/// The scaled group's instances as the world counts them at an evaluation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Fleet {
    /// Launched and not leaving: booting, ready, or crashed with their restart pending.
    /// Target tracking counts the pods not ready yet from it.
    pub current: u32,
    /// The ready instances not leaving whose CPU the HPA reads as ready pods': those past
    /// their CPU initialization period, or that were ready before the metrics window
    /// began (see [`CPU_INITIALIZATION_PERIOD`]). The others count as not ready, so that
    /// a window's CPU, measured while the group was smaller, is not multiplied by
    /// instances that took none of its load.
    pub cpu_ready: u32,
    /// Instances launched and not yet ready, not leaving: AWS step scaling's instances in
    /// warm-up.
    pub warming: u32,
}

/// The Kubernetes controller manager's `--horizontal-pod-autoscaler-cpu-initialization-period`
/// (default 5 minutes): for this long after a pod starts, the HPA counts it as not ready
/// for CPU unless it was ready for a whole metrics window (`groupPods` in
/// `replica_calculator.go`: unready when `metric.Timestamp` is before the ready
/// condition's `LastTransitionTime + metric.Window`). After it, a ready pod's CPU counts.
pub const CPU_INITIALIZATION_PERIOD: SimDuration = SimDuration::from_secs(300);

/// What the pipeline showed a policy at one evaluation (`None`: no data in the window).
#[derive(Copy, Clone, Debug, Default, PartialEq)]
pub struct MetricValues {
    pub cpu: Option<f64>,
    pub memory: Option<f64>,
    /// Responses per second per ready instance.
    pub request_rate: Option<f64>,
    /// Seconds, as the policy's statistic (mean or quantile) summarizes them; `None` also
    /// when the policy does not read response time.
    pub response_time: Option<f64>,
    pub queue_length: Option<f64>,
}

impl MetricValues {
    /// The value `metric` reads.
    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Cpu => self.cpu,
            Metric::Memory => self.memory,
            Metric::RequestRate => self.request_rate,
            Metric::ResponseTime(_) => self.response_time,
            Metric::QueueLength => self.queue_length,
        }
    }
}

impl fmt::Display for MetricValues {
    /// `cpu=0.823 memory=0.000 request_rate=95.1 response_time=0.412s queue_length=3.20`,
    /// the values present only, with fixed decimals: deterministic text for events.csv.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fields: [(&str, Option<f64>, usize, &str); 5] = [
            ("cpu", self.cpu, 3, ""),
            ("memory", self.memory, 3, ""),
            ("request_rate", self.request_rate, 1, ""),
            ("response_time", self.response_time, 3, "s"),
            ("queue_length", self.queue_length, 2, ""),
        ];
        let mut separator = "";
        for (name, value, decimals, unit) in fields {
            if let Some(value) = value {
                write!(f, "{separator}{name}={value:.decimals$}{unit}")?;
                separator = " ";
            }
        }
        Ok(())
    }
}

/// A change of desired capacity and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub from: u32,
    pub to: u32,
    /// One of [`DECISION_REASONS`].
    pub reason: &'static str,
    /// What the pipeline showed when it was made.
    pub seen: MetricValues,
}

/// Every reason a [`Decision`] may give, so that a shard file can store the name and read
/// back the same `&'static str`: the threshold that fired (the first of CPU, memory,
/// response time above its high mark, or all below their low marks), target tracking's
/// proposal as computed, held back by stabilization or cut by a rate limit, a step
/// scaling band, a scheduled action.
pub const DECISION_REASONS: &[&str] = &[
    "cpu-above-high",
    "memory-above-high",
    "response-time-above-high",
    "below-low",
    "target-tracking",
    "stabilized",
    "rate-limited",
    "step",
    "scheduled",
];

/// One group's autoscaler: its policy, the pipeline it reads and the capacity it moves.
pub struct Autoscaler {
    spec: AutoscalerSpec,
    capacity: Capacity,
    pipeline: MetricWindow,
    /// The HPA's memory of proposals and changes; stays empty for the other policies.
    tracking: TargetTracking,
    /// Provisioning delays, from the stream of the scaled group.
    provisioning: ServiceSampler,
}

impl Autoscaler {
    /// An autoscaler whose group starts with `initial` instances (its `count`), clamped
    /// into `[min, max]`.
    pub fn new(spec: &AutoscalerSpec, initial: u32, seed: u64) -> Self {
        let statistic = match &spec.policy {
            PolicySpec::Threshold(threshold) => Some(threshold.response_time),
            PolicySpec::TargetTracking(TargetTrackingSpec {
                metric: Metric::ResponseTime(statistic),
                ..
            })
            | PolicySpec::Step(StepSpec {
                metric: Metric::ResponseTime(statistic),
                ..
            }) => Some(*statistic),
            _ => None,
        };
        Autoscaler {
            capacity: Capacity::new(initial, spec.min, spec.max, spec.cooldown),
            pipeline: MetricWindow::new(&spec.metrics, statistic),
            tracking: TargetTracking::default(),
            provisioning: ServiceSampler::new(
                &spec.provisioning,
                stream(seed, streams::AUTOSCALING, spec.group as u32),
            ),
            spec: spec.clone(),
        }
    }

    pub fn spec(&self) -> &AutoscalerSpec {
        &self.spec
    }

    /// The desired capacity: how many instances the group should have, booting or ready.
    pub fn desired(&self) -> u32 {
        self.capacity.desired()
    }

    /// `(min, max)`, as scheduled actions last set them.
    pub fn bounds(&self) -> (u32, u32) {
        self.capacity.bounds()
    }

    /// Files the datapoint of the collection period ending at `now`.
    pub fn record(&mut self, now: SimTime, datapoint: Datapoint) {
        self.pipeline.record(now, datapoint);
    }

    /// Whether the policy reads response time, so the world need only report responses
    /// then: nothing is added to the per-response path of a scenario that does not.
    pub fn needs_response_times(&self) -> bool {
        self.pipeline.reads_response_times()
    }

    /// Files a response answered at `now` after `latency`; ignored unless
    /// [`Autoscaler::needs_response_times`].
    pub fn record_response(&mut self, now: SimTime, latency: SimDuration) {
        self.pipeline.record_response(now, latency);
    }

    /// How far back the metrics window an evaluation reads begins: `delay + window`.
    pub fn window_reach(&self) -> SimDuration {
        self.spec.metrics.delay + self.spec.metrics.window
    }

    /// The periodic evaluation of a group counted as `fleet`. A [`Decision`] only when the
    /// desired capacity changes; none within the cooldown of the last change, and none
    /// from a scheduled policy, whose actions come through [`Autoscaler::scheduled`].
    pub fn evaluate(&mut self, now: SimTime, fleet: Fleet) -> Option<Decision> {
        let seen = match self.spec.policy {
            PolicySpec::Scheduled(_) => return None,
            _ => self.pipeline.values(now),
        };
        let desired = self.capacity.desired();
        // Computed even within a cooldown: the HPA remembers every sync's proposal.
        let (target, reason) = match &self.spec.policy {
            PolicySpec::Threshold(spec) => threshold::propose(spec, &seen, desired),
            PolicySpec::Step(spec) => {
                step_scaling::propose(spec, &seen, desired, fleet.warming).map(|to| (to, "step"))
            }
            PolicySpec::TargetTracking(spec) => {
                // CPU by the HPA's rule for pods starting up; the other per-pod metrics
                // from every ready pod with metrics, as `groupPods` takes them.
                let ready = match spec.metric {
                    Metric::Cpu => fleet.cpu_ready,
                    _ => self.pipeline.latest_ready().unwrap_or(0),
                };
                let replicas = Replicas {
                    desired,
                    ready,
                    current: fleet.current,
                };
                let value = seen.get(spec.metric);
                let bounds = self.capacity.bounds();
                self.tracking.propose(spec, now, value, replicas, bounds)
            }
            PolicySpec::Scheduled(_) => None,
        }?;
        if self.capacity.cooling_down(now) {
            return None;
        }
        let (from, to) = self.capacity.set(now, target)?;
        if let PolicySpec::TargetTracking(spec) = &self.spec.policy {
            self.tracking.record_change(spec, now, from, to);
        }
        Some(Decision {
            from,
            to,
            reason,
            seen,
        })
    }

    /// Scheduled actions' times, in the order of the actions (the world arms a timer per
    /// action and passes its index back); empty unless the policy is scheduled.
    pub fn scheduled_times(&self) -> Vec<SimTime> {
        match &self.spec.policy {
            PolicySpec::Scheduled(actions) => actions.iter().map(|action| action.at).collect(),
            _ => Vec::new(),
        }
    }

    /// Scheduled action `index` is due now: a [`Decision`] when it changes the desired
    /// capacity (its bounds may change alone; [`Autoscaler::bounds`] tells). `current` is
    /// not read: an AWS scheduled action sets the desired capacity whatever is running.
    pub fn scheduled(&mut self, now: SimTime, index: usize, _current: u32) -> Option<Decision> {
        let PolicySpec::Scheduled(actions) = &self.spec.policy else {
            return None;
        };
        let (from, to) = scheduled::apply(actions.get(index)?, &mut self.capacity, now)?;
        Some(Decision {
            from,
            to,
            reason: "scheduled",
            seen: self.pipeline.values(now),
        })
    }

    /// The provisioning delay of one new instance: from the decision to the start of its
    /// boot.
    pub fn draw_provisioning(&mut self) -> SimDuration {
        self.provisioning.sample()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceDist;
    use proptest::option;
    use proptest::prelude::*;
    use rand::RngExt;

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    fn spec(policy: PolicySpec) -> AutoscalerSpec {
        AutoscalerSpec {
            group: 0,
            min: 1,
            max: 10,
            interval: SimDuration::from_secs(60),
            cooldown: SimDuration::from_secs(300),
            policy,
            metrics: MetricsSpec {
                window: SimDuration::from_secs(60),
                delay: SimDuration::ZERO,
            },
            provisioning: ServiceDist::Constant {
                mean: SimDuration::from_secs(30),
            },
            victim: VictimOrder::Newest,
        }
    }

    /// `n` instances, all ready and settled.
    fn all_ready(n: u32) -> Fleet {
        Fleet {
            current: n,
            cpu_ready: n,
            warming: 0,
        }
    }

    fn busy(cpu: f64, ready: u32) -> Datapoint {
        Datapoint {
            period: SimDuration::from_secs(1),
            ready,
            cpu,
            memory: 0.0,
            queue_length: 0.0,
            completions: 10 * ready,
        }
    }

    #[test]
    fn the_seed_policy_scales_out_then_waits_out_the_cooldown() {
        let mut scaler = Autoscaler::new(&spec(PolicySpec::Threshold(ThresholdSpec::SEED)), 2, 1);
        assert!(scaler.needs_response_times());
        for s in 1..=60 {
            scaler.record(secs(s), busy(0.875, 2));
        }
        scaler.record_response(secs(30), SimDuration::from_millis(125));
        let decision = scaler.evaluate(secs(60), all_ready(2)).unwrap();
        assert_eq!(
            (decision.from, decision.to, decision.reason),
            (2, 3, "cpu-above-high")
        );
        assert_eq!(decision.seen.cpu, Some(0.875));
        assert_eq!(decision.seen.response_time, Some(0.125));
        assert_eq!(decision.seen.request_rate, Some(10.0));
        assert_eq!(scaler.desired(), 3);
        // Still hot, but the 300 s cooldown holds every evaluation until 360 s.
        for s in 61..=360 {
            scaler.record(secs(s), busy(0.875, 3));
            if s % 60 == 0 && s < 360 {
                assert_eq!(scaler.evaluate(secs(s), all_ready(3)), None, "t = {s}");
            }
        }
        let decision = scaler.evaluate(secs(360), all_ready(3)).unwrap();
        assert_eq!((decision.from, decision.to), (3, 4));
    }

    #[test]
    fn capacity_stops_at_the_bounds() {
        let mut scaler = Autoscaler::new(&spec(PolicySpec::Threshold(ThresholdSpec::SEED)), 10, 1);
        scaler.record(secs(1), busy(1.0, 10));
        // Already at max: asking for 11 changes nothing, so no decision.
        assert_eq!(scaler.evaluate(secs(60), all_ready(10)), None);
        let mut idle = Autoscaler::new(&spec(PolicySpec::Threshold(ThresholdSpec::SEED)), 1, 1);
        idle.record(secs(1), busy(0.0, 1));
        assert_eq!(idle.evaluate(secs(60), all_ready(1)), None);
        assert_eq!(
            Autoscaler::new(&spec(PolicySpec::Scheduled(vec![])), 40, 1).desired(),
            10
        );
    }

    #[test]
    fn target_tracking_counts_booting_instances_as_unready() {
        let mut hpa_spec = spec(PolicySpec::TargetTracking(TargetTrackingSpec::hpa(
            Metric::Cpu,
            0.5,
        )));
        hpa_spec.cooldown = SimDuration::ZERO;
        hpa_spec.interval = SimDuration::from_secs(15);
        let mut scaler = Autoscaler::new(&hpa_spec, 4, 1);
        assert!(!scaler.needs_response_times());
        for s in 1..=15 {
            scaler.record(secs(s), busy(0.875, 4));
        }
        // ceil(4 × 0.875 / 0.5) = 7.
        let decision = scaler.evaluate(secs(15), all_ready(4)).unwrap();
        assert_eq!(
            (decision.from, decision.to, decision.reason),
            (4, 7, "target-tracking")
        );
        // 3 of the 7 still booting: 1.75 × 4/7 = 1.0 is within tolerance; hold.
        for s in 16..=30 {
            scaler.record(secs(s), busy(0.875, 4));
        }
        let booting = Fleet {
            current: 7,
            cpu_ready: 4,
            warming: 3,
        };
        assert_eq!(scaler.evaluate(secs(30), booting), None);
        assert_eq!(scaler.desired(), 7);
    }

    #[test]
    fn step_scaling_decides_by_band() {
        let mut step_spec = spec(PolicySpec::Step(StepSpec {
            metric: Metric::RequestRate,
            steps: vec![Step {
                from: Some(20.0),
                to: None,
                adjustment: Adjustment::Percent(50.0),
            }],
        }));
        step_spec.cooldown = SimDuration::ZERO;
        let mut scaler = Autoscaler::new(&step_spec, 4, 1);
        scaler.record(secs(1), busy(0.5, 4));
        // 10 responses per instance-second: below the band.
        assert_eq!(scaler.evaluate(secs(30), all_ready(4)), None);
        scaler.record(
            secs(31),
            Datapoint {
                completions: 200,
                ..busy(0.5, 4)
            },
        );
        // (40 + 200) / 8 instance-seconds = 30: 50% of 4 more.
        let decision = scaler.evaluate(secs(31), all_ready(4)).unwrap();
        assert_eq!(
            (decision.from, decision.to, decision.reason),
            (4, 6, "step")
        );
        assert_eq!(decision.seen.request_rate, Some(30.0));
    }

    #[test]
    fn scheduled_actions_set_desired_and_bounds() {
        let actions = vec![
            ScheduledAction {
                at: secs(100),
                desired: Some(8),
                min: Some(4),
                max: Some(12),
            },
            ScheduledAction {
                at: secs(50),
                desired: None,
                min: None,
                max: Some(3),
            },
        ];
        let mut scaler = Autoscaler::new(&spec(PolicySpec::Scheduled(actions)), 5, 1);
        assert!(!scaler.needs_response_times());
        assert_eq!(scaler.scheduled_times(), vec![secs(100), secs(50)]);
        scaler.record(secs(1), busy(1.0, 5));
        assert_eq!(scaler.evaluate(secs(60), all_ready(5)), None);
        let lower = scaler.scheduled(secs(50), 1, 5).unwrap();
        assert_eq!((lower.from, lower.to, lower.reason), (5, 3, "scheduled"));
        assert_eq!(lower.seen.cpu, Some(1.0));
        assert_eq!(scaler.bounds(), (1, 3));
        // Within the cooldown of the first: scheduled actions are not held back.
        let raise = scaler.scheduled(secs(100), 0, 3).unwrap();
        assert_eq!((raise.from, raise.to), (3, 8));
        assert_eq!(scaler.bounds(), (4, 12));
        assert_eq!(scaler.scheduled(secs(100), 2, 8), None);
        // A metric policy has no scheduled actions.
        let mut threshold =
            Autoscaler::new(&spec(PolicySpec::Threshold(ThresholdSpec::SEED)), 5, 1);
        assert!(threshold.scheduled_times().is_empty());
        assert_eq!(threshold.scheduled(secs(1), 0, 5), None);
    }

    #[test]
    fn provisioning_delays_come_from_their_own_stream() {
        let mut exponential = spec(PolicySpec::Threshold(ThresholdSpec::SEED));
        exponential.provisioning = ServiceDist::Exponential {
            mean: SimDuration::from_secs(40),
        };
        exponential.group = 2;
        let draws = |seed| {
            let mut scaler = Autoscaler::new(&exponential, 3, seed);
            (0..5)
                .map(|_| scaler.draw_provisioning())
                .collect::<Vec<_>>()
        };
        let mut own = ServiceSampler::new(
            &exponential.provisioning,
            stream(7, streams::AUTOSCALING, 2),
        );
        assert_eq!(draws(7), (0..5).map(|_| own.sample()).collect::<Vec<_>>());
        assert_ne!(draws(7), draws(8));
        let mut constant = Autoscaler::new(&spec(PolicySpec::Scheduled(vec![])), 3, 1);
        assert_eq!(constant.draw_provisioning(), SimDuration::from_secs(30));
        assert_eq!(
            constant.spec().provisioning,
            spec(PolicySpec::Scheduled(vec![])).provisioning
        );
    }

    #[test]
    fn metric_values_print_with_fixed_decimals() {
        let seen = MetricValues {
            cpu: Some(0.8234),
            memory: Some(0.0),
            request_rate: Some(95.06),
            response_time: Some(0.4119),
            queue_length: Some(3.2),
        };
        assert_eq!(
            seen.to_string(),
            "cpu=0.823 memory=0.000 request_rate=95.1 response_time=0.412s queue_length=3.20"
        );
        let partial = MetricValues {
            request_rate: Some(2.0),
            queue_length: Some(0.5),
            ..MetricValues::default()
        };
        assert_eq!(partial.to_string(), "request_rate=2.0 queue_length=0.50");
        assert_eq!(MetricValues::default().to_string(), "");
    }

    fn metric_and_target() -> impl Strategy<Value = (Metric, f64)> {
        prop_oneof![
            (0.3f64..0.9).prop_map(|t| (Metric::Cpu, t)),
            (0.1f64..0.5).prop_map(|t| (Metric::Memory, t)),
            (2.0f64..20.0).prop_map(|t| (Metric::RequestRate, t)),
            (0.05f64..0.5).prop_map(|t| (Metric::ResponseTime(Statistic::Quantile(0.9)), t)),
            (0.05f64..0.5).prop_map(|t| (Metric::ResponseTime(Statistic::Mean), t)),
            (0.5f64..5.0).prop_map(|t| (Metric::QueueLength, t)),
        ]
    }

    fn rate_limit() -> impl Strategy<Value = RateLimit> {
        (option::of(1u32..6), option::of(10.0f64..200.0), 1u64..120).prop_map(
            |(pods, percent, period)| RateLimit {
                pods,
                percent,
                period: SimDuration::from_secs(period),
            },
        )
    }

    fn policy() -> impl Strategy<Value = PolicySpec> {
        let threshold = (0.5f64..0.95, 0.05f64..0.45, 1u32..4, any::<bool>()).prop_map(
            |(cpu_high, cpu_low, step, p99)| {
                PolicySpec::Threshold(ThresholdSpec {
                    cpu_high,
                    cpu_low,
                    step,
                    response_time: if p99 {
                        Statistic::Quantile(0.99)
                    } else {
                        Statistic::Mean
                    },
                    ..ThresholdSpec::SEED
                })
            },
        );
        let tracking = (
            metric_and_target(),
            0.0f64..0.3,
            0u64..400,
            0u64..90,
            rate_limit(),
            rate_limit(),
        )
            .prop_map(
                |((metric, target), tolerance, down, up, up_limit, down_limit)| {
                    PolicySpec::TargetTracking(TargetTrackingSpec {
                        metric,
                        target,
                        tolerance,
                        scale_down_stabilization: SimDuration::from_secs(down),
                        scale_up_stabilization: SimDuration::from_secs(up),
                        scale_up_limit: up_limit,
                        scale_down_limit: down_limit,
                    })
                },
            );
        let step = (
            metric_and_target(),
            1i32..4,
            10.0f64..100.0,
            any::<bool>(),
            0u32..15,
        )
            .prop_map(|((metric, t), change, percent, exact, n)| {
                PolicySpec::Step(StepSpec {
                    metric,
                    steps: vec![
                        Step {
                            from: None,
                            to: Some(t * 0.5),
                            adjustment: if exact {
                                Adjustment::Exact(n)
                            } else {
                                Adjustment::Percent(-percent / 2.0)
                            },
                        },
                        Step {
                            from: Some(t),
                            to: Some(t * 1.5),
                            adjustment: Adjustment::Percent(percent),
                        },
                        Step {
                            from: Some(t * 1.5),
                            to: None,
                            adjustment: Adjustment::Change(change),
                        },
                    ],
                })
            });
        prop_oneof![threshold, tracking, step]
    }

    fn scenario() -> impl Strategy<Value = AutoscalerSpec> {
        (
            policy(),
            0u32..4,
            0u32..12,
            0u64..120,
            prop::sample::select(vec![1u64, 15, 60]),
            1u64..90,
            0u64..60,
        )
            .prop_map(|(policy, min, span, cooldown, interval, window, delay)| {
                AutoscalerSpec {
                    min,
                    max: min + span,
                    interval: SimDuration::from_secs(interval),
                    cooldown: SimDuration::from_secs(cooldown),
                    metrics: MetricsSpec {
                        window: SimDuration::from_secs(window),
                        delay: SimDuration::from_secs(delay),
                    },
                    provisioning: ServiceDist::Exponential {
                        mean: SimDuration::from_secs(20),
                    },
                    ..spec(policy)
                }
            })
    }

    /// The capacity at the start of the `period` ending `now`, from the decisions made.
    fn period_start(
        log: &[(SimTime, u32, u32)],
        now: SimTime,
        period: SimDuration,
        from: u32,
    ) -> i64 {
        log.iter()
            .filter(|&&(time, _, _)| time + period > now)
            .fold(i64::from(from), |start, &(_, f, t)| {
                start - (i64::from(t) - i64::from(f))
            })
    }

    /// A crude cluster under a random walk of load: instances boot after a provisioning
    /// delay and a boot time, a scale-in removes the newest first; every decision is
    /// checked against the invariants of the capacity, the cooldown and the HPA's limits.
    fn drive(spec: &AutoscalerSpec, initial: u32, seed: u64) -> Result<(), TestCaseError> {
        let mut scaler = Autoscaler::new(spec, initial, seed);
        let mut rng = stream(seed, 0, 1);
        let boot = SimDuration::from_secs(rng.random_range(0..60));
        let mut instances: Vec<SimTime> = vec![SimTime::ZERO; scaler.desired() as usize];
        let mut load: f64 = rng.random_range(0.0..10.0);
        let mut log: Vec<(SimTime, u32, u32)> = Vec::new();
        let interval = spec.interval.as_nanos() / 1_000_000_000;
        for s in 1..=900u64 {
            let now = secs(s);
            load = (load + rng.random_range(-0.6..0.6)).clamp(0.0, 30.0);
            let ready = instances.iter().filter(|&&at| at <= now).count() as u32;
            let cpu = if ready > 0 {
                (load / f64::from(ready)).min(1.0)
            } else {
                0.0
            };
            let completions = (load.min(f64::from(ready)) * 10.0) as u32;
            scaler.record(
                now,
                Datapoint {
                    period: SimDuration::from_secs(1),
                    ready,
                    cpu,
                    memory: cpu * 0.6,
                    queue_length: (load - f64::from(ready)).max(0.0) / f64::from(ready.max(1)),
                    completions,
                },
            );
            if scaler.needs_response_times() {
                for _ in 0..completions.min(5) {
                    let latency = 0.02 + 0.5 * cpu.powi(4) * rng.random_range(0.5..1.5);
                    scaler.record_response(now, SimDuration::from_secs_f64(latency));
                }
            }
            if s % interval != 0 {
                continue;
            }
            let before = scaler.desired();
            let fleet = Fleet {
                current: instances.len() as u32,
                cpu_ready: ready,
                warming: instances.len() as u32 - ready,
            };
            let decision = scaler.evaluate(now, fleet);
            let (min, max) = scaler.bounds();
            prop_assert!(min <= scaler.desired() && scaler.desired() <= max);
            let Some(decision) = decision else {
                prop_assert_eq!(scaler.desired(), before);
                continue;
            };
            prop_assert_eq!(decision.from, before);
            prop_assert_eq!(decision.to, scaler.desired());
            prop_assert_ne!(decision.from, decision.to);
            prop_assert!(DECISION_REASONS.contains(&decision.reason));
            if let Some(&(last, _, _)) = log.last() {
                prop_assert!(
                    now >= last + spec.cooldown,
                    "{now} within cooldown of {last}"
                );
            }
            if let PolicySpec::TargetTracking(hpa) = &spec.policy {
                let (from, to) = (i64::from(decision.from), i64::from(decision.to));
                if to > from {
                    let rule = &hpa.scale_up_limit;
                    let start = period_start(&log, now, rule.period, decision.from);
                    let pods = rule.pods.map(|p| start + i64::from(p));
                    let percent = rule
                        .percent
                        .map(|p| (start as f64 * (1.0 + p / 100.0)).ceil() as i64);
                    if let Some(limit) = pods.max(percent) {
                        prop_assert!(to <= limit.max(from), "up {from} → {to}, limit {limit}");
                    }
                } else {
                    let rule = &hpa.scale_down_limit;
                    let start = period_start(&log, now, rule.period, decision.from);
                    let pods = rule.pods.map(|p| start - i64::from(p));
                    let percent = rule
                        .percent
                        .map(|p| (start as f64 * (1.0 - p / 100.0)) as i64);
                    let limit = match (pods, percent) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    if let Some(limit) = limit {
                        prop_assert!(to >= limit.min(from), "down {from} → {to}, limit {limit}");
                    }
                }
            }
            log.push((now, decision.from, decision.to));
            // The world follows: launch, or remove the newest (booting ones first).
            instances.sort_unstable();
            instances.truncate(decision.to as usize);
            while instances.len() < decision.to as usize {
                instances.push(now + scaler.draw_provisioning() + boot);
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]
        #[test]
        fn capacity_stays_in_bounds_and_cooldowns_and_rate_limits_hold(
            spec in scenario(),
            initial in 0u32..20,
            seed in any::<u64>(),
        ) {
            drive(&spec, initial, seed)?;
        }

        #[test]
        fn scheduled_actions_keep_desired_within_the_bounds_they_set(
            initial in 0u32..30,
            min in 0u32..5,
            span in 0u32..10,
            actions in prop::collection::vec(
                (option::of(0u32..30), option::of(0u32..15), option::of(0u32..30)),
                1..20,
            ),
        ) {
            let actions: Vec<ScheduledAction> = actions
                .iter()
                .enumerate()
                .map(|(i, &(desired, min, max))| ScheduledAction {
                    at: secs(i as u64),
                    desired,
                    min,
                    max,
                })
                .collect();
            let mut scaler = Autoscaler::new(
                &AutoscalerSpec {
                    min,
                    max: min + span,
                    ..spec(PolicySpec::Scheduled(actions.clone()))
                },
                initial,
                1,
            );
            let (mut lo, mut hi) = (min, min + span);
            prop_assert_eq!(scaler.desired(), initial.clamp(lo, hi));
            for (i, action) in actions.iter().enumerate() {
                let before = scaler.desired();
                let decision = scaler.scheduled(action.at, i, before);
                let (new_lo, new_hi) = (action.min.unwrap_or(lo), action.max.unwrap_or(hi));
                let expected = if new_lo <= new_hi {
                    (lo, hi) = (new_lo, new_hi);
                    action.desired.unwrap_or(before).clamp(lo, hi)
                } else {
                    before
                };
                prop_assert_eq!(scaler.bounds(), (lo, hi));
                prop_assert_eq!(scaler.desired(), expected);
                prop_assert_eq!(
                    decision.map(|d| (d.from, d.to)),
                    (expected != before).then_some((before, expected))
                );
            }
        }
    }
}
