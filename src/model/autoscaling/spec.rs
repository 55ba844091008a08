//! `[autoscaler]`, `[discovery]` and `[slo]`, validated: what the scaling components are
//! built from. `scenario::validate` is the only producer; the model trusts them.

use crate::engine::{SimDuration, SimTime};
use crate::model::ServiceDist;

/// An autoscaler over one server group, as an AWS Auto Scaling group or a Kubernetes
/// HorizontalPodAutoscaler runs it: a policy evaluated every `interval` on metrics that a
/// pipeline shows late, moving a desired capacity kept within `[min, max]`.
#[derive(Clone, Debug, PartialEq)]
pub struct AutoscalerSpec {
    /// Index in `[[servers]]` of the group it scales; its `count` is the starting capacity.
    pub group: usize,
    pub min: u32,
    pub max: u32,
    /// How often the policy is evaluated (the seed's 60 s; the HPA's sync period is 15 s).
    pub interval: SimDuration,
    /// After each change of capacity, how long the metric policies make no other (AWS's
    /// default cooldown is 300 s). Scheduled actions still happen, as in AWS.
    pub cooldown: SimDuration,
    pub policy: PolicySpec,
    /// How the metrics reach the policy.
    pub metrics: MetricsSpec,
    /// From the decision to the start of the boot: an instance is requested, placed and
    /// started (then it boots for its group's `boot`).
    pub provisioning: ServiceDist,
    /// Which instance a scale-in removes (crashed members waiting to restart always go
    /// first, then those still booting).
    pub victim: VictimOrder,
}

/// The scaling policy and its parameters.
#[derive(Clone, Debug, PartialEq)]
pub enum PolicySpec {
    Threshold(ThresholdSpec),
    TargetTracking(TargetTrackingSpec),
    Step(StepSpec),
    Scheduled(Vec<ScheduledAction>),
}

impl PolicySpec {
    /// The name a scenario file gives it.
    pub fn name(&self) -> &'static str {
        match self {
            PolicySpec::Threshold(_) => "threshold",
            PolicySpec::TargetTracking(_) => "target-tracking",
            PolicySpec::Step(_) => "step",
            PolicySpec::Scheduled(_) => "scheduled",
        }
    }
}

/// The seed's AutoScaler: up by `step` when any metric is above its high mark, down by
/// `step` when every metric is below its low mark.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdSpec {
    /// CPU above this (the seed's 0.7) scales up.
    pub cpu_high: f64,
    /// Memory above this (the seed's 0.8) scales up.
    pub memory_high: f64,
    /// Response time above this (the seed's 2 s) scales up.
    pub response_time_high: SimDuration,
    /// CPU below this (the seed's 0.3) allows a scale-in.
    pub cpu_low: f64,
    /// Memory below this (the seed's 0.5) allows a scale-in.
    pub memory_low: f64,
    /// Response time below this (the seed's 0.5 s) allows a scale-in.
    pub response_time_low: SimDuration,
    /// Instances added or removed per decision (the seed's 1).
    pub step: u32,
    /// Which response time the marks compare with: the mean, or a quantile.
    pub response_time: Statistic,
}

impl ThresholdSpec {
    /// The seed's numbers.
    pub const SEED: ThresholdSpec = ThresholdSpec {
        cpu_high: 0.7,
        memory_high: 0.8,
        response_time_high: SimDuration::from_secs(2),
        cpu_low: 0.3,
        memory_low: 0.5,
        response_time_low: SimDuration::from_millis(500),
        step: 1,
        response_time: Statistic::Mean,
    };
}

/// Target tracking as the Kubernetes HPA computes it:
/// `desired = ceil(current × metric / target)`, nothing done within `tolerance` of 1, the
/// highest recommendation of the last `scale_down_stabilization` wins a scale-in, and the
/// change per period is limited.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetTrackingSpec {
    pub metric: Metric,
    /// The metric's target per instance (CPU 0.6 is 60% busy; request rate in requests per
    /// second per instance; response time in seconds; queue length in requests).
    pub target: f64,
    /// The HPA's `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `behavior.scaleDown.stabilizationWindowSeconds` (300 s).
    pub scale_down_stabilization: SimDuration,
    /// `behavior.scaleUp.stabilizationWindowSeconds` (0 s): the lowest recommendation of
    /// the window wins a scale-out.
    pub scale_up_stabilization: SimDuration,
    /// `behavior.scaleUp.policies` (the HPA's default: 4 pods or 100% per 15 s, the larger).
    pub scale_up_limit: RateLimit,
    /// `behavior.scaleDown.policies` (the HPA's default: 100% per 15 s).
    pub scale_down_limit: RateLimit,
}

impl TargetTrackingSpec {
    /// The HPA's default `behavior.scaleUp.policies`: 4 pods or 100% per 15 s, the larger.
    pub const HPA_SCALE_UP: RateLimit = RateLimit {
        pods: Some(4),
        percent: Some(100.0),
        period: SimDuration::from_secs(15),
    };

    /// The HPA's default `behavior.scaleDown.policies`: 100% per 15 s.
    pub const HPA_SCALE_DOWN: RateLimit = RateLimit {
        pods: None,
        percent: Some(100.0),
        period: SimDuration::from_secs(15),
    };

    /// The HPA's `--horizontal-pod-autoscaler-tolerance`.
    pub const HPA_TOLERANCE: f64 = 0.1;

    /// The HPA's default `behavior.scaleDown.stabilizationWindowSeconds`.
    pub const HPA_SCALE_DOWN_STABILIZATION: SimDuration = SimDuration::from_secs(300);

    /// Tracking `metric` at `target` with every other setting the HPA's default.
    pub fn hpa(metric: Metric, target: f64) -> Self {
        TargetTrackingSpec {
            metric,
            target,
            tolerance: Self::HPA_TOLERANCE,
            scale_down_stabilization: Self::HPA_SCALE_DOWN_STABILIZATION,
            scale_up_stabilization: SimDuration::ZERO,
            scale_up_limit: Self::HPA_SCALE_UP,
            scale_down_limit: Self::HPA_SCALE_DOWN,
        }
    }
}

/// How far capacity may move within one `period`: by `pods` instances or by `percent` of
/// the capacity at the period's start, whichever allows more (the HPA's `selectPolicy:
/// Max`); either may be absent.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct RateLimit {
    pub pods: Option<u32>,
    pub percent: Option<f64>,
    pub period: SimDuration,
}

/// AWS step scaling: the metric's band gives a change of capacity.
#[derive(Clone, Debug, PartialEq)]
pub struct StepSpec {
    pub metric: Metric,
    /// Non-overlapping bands, sorted by `from`; a metric in no band changes nothing.
    pub steps: Vec<Step>,
}

/// A band `[from, to)` of the metric (an absent end is unbounded) and what it does.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Step {
    pub from: Option<f64>,
    pub to: Option<f64>,
    pub adjustment: Adjustment,
}

/// AWS's adjustment types.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Adjustment {
    /// `ChangeInCapacity`: add (or remove, when negative) this many instances.
    Change(i32),
    /// `PercentChangeInCapacity`: by this percent of the desired capacity; a fractional
    /// change is rounded toward zero but moves at least one instance (AWS: 12.7 → 12,
    /// 0.67 → 1, −0.58 → −1, −6.67 → −6).
    Percent(f64),
    /// `ExactCapacity`: set the capacity to this.
    Exact(u32),
}

/// AWS scheduled scaling: at `at`, the group's desired capacity (and its bounds, when
/// given) are set.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ScheduledAction {
    pub at: SimTime,
    pub desired: Option<u32>,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

/// What a metric policy reads.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Metric {
    /// The busy fraction of the ready instances' workers.
    Cpu,
    /// Memory in use over capacity on the ready instances (0 for a group without a memory
    /// model).
    Memory,
    /// Requests answered per second per ready instance.
    RequestRate,
    /// Response time in seconds, as its mean or a quantile.
    ResponseTime(Statistic),
    /// Requests queued per ready instance.
    QueueLength,
}

impl Metric {
    /// The name a scenario file gives it (events.csv's detail writes `request_rate`,
    /// `response_time`, `queue_length`).
    pub fn name(self) -> &'static str {
        match self {
            Metric::Cpu => "cpu",
            Metric::Memory => "memory",
            Metric::RequestRate => "request-rate",
            Metric::ResponseTime(_) => "response-time",
            Metric::QueueLength => "queue-length",
        }
    }
}

/// A summary of response times over the window.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Statistic {
    Mean,
    /// A quantile in (0, 1): 0.99 is the p99.
    Quantile(f64),
}

/// A metrics pipeline: each evaluation sees the average over `window` ending `delay` ago.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct MetricsSpec {
    pub window: SimDuration,
    /// Collection and aggregation lag (CloudWatch's, metrics-server's scrape).
    pub delay: SimDuration,
}

/// The instance a scale-in removes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum VictimOrder {
    /// The last launched (Kubernetes' ReplicaSet prefers the newest pods).
    Newest,
    /// The first launched (AWS's `OldestInstance`).
    Oldest,
    /// The one holding fewest requests (Kubernetes' pod-deletion-cost, set from load).
    LeastLoaded,
}

/// Service discovery: the balancer learns of registrations late.
#[derive(Clone, Debug, PartialEq)]
pub struct DiscoverySpec {
    pub mode: DiscoveryMode,
    /// The registry's own health check of each registered instance (the seed's Consul
    /// check every 10 s): an instance found down is deregistered.
    pub check_interval: SimDuration,
}

/// How the balancer reads the registry.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum DiscoveryMode {
    /// It fetches the whole registry every `interval` (DNS with a TTL, a polling agent).
    Poll { interval: SimDuration },
    /// Each change reaches it `delay` after it happens (Consul blocking queries, the
    /// Kubernetes endpoints watch).
    Watch { delay: SimDuration },
}

/// A latency objective: the run counts the seconds of time-series intervals whose p99 is
/// above `p99`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SloSpec {
    pub p99: SimDuration,
}

/// Envoy's slow start (`slow_start_config`): a server that enters rotation carries
/// `weight × max(min_weight_percent, (t / window)^(1/aggression))` until `window` has
/// passed. HAProxy's `slowstart` is the linear ramp: aggression 1.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SlowStartSpec {
    pub window: SimDuration,
    /// Envoy's default 1.0.
    pub aggression: f64,
    /// Envoy's default 10%, as a fraction.
    pub min_weight: f64,
}
