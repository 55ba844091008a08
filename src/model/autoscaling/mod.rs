//! Autoscaling: a policy that reads metrics late and moves a group's desired capacity.

mod spec;

pub use spec::{
    Adjustment, AutoscalerSpec, DiscoveryMode, DiscoverySpec, Metric, MetricsSpec, PolicySpec,
    RateLimit, ScheduledAction, SloSpec, SlowStartSpec, Statistic, Step, StepSpec,
    TargetTrackingSpec, ThresholdSpec, VictimOrder,
};
