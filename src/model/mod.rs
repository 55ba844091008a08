//! The simulated world on top of the kernel: traffic, the balancer, the servers and their
//! lifecycle, second tiers, scheduled changes, measurement and each capability a scenario
//! may add — one component per file, or per folder for the larger ones (`autoscaling`,
//! `database`) — and `world`, the loop that dispatches events to them. The resilience
//! components (active health checks, outlier detection, circuit breakers, the client's
//! retry policy and zone-aware routing) are pure state machines: told what happened, asked
//! what to do, with no clock or event queue of their own.

mod affinity;
mod arrivals;
mod autoscaling;
mod circuit_breaker;
mod client_calls;
mod clients;
mod cluster;
mod database;
mod discovery;
mod event;
mod fraction;
mod frontend;
mod gray_failure;
mod health_check;
mod in_service;
mod measurement;
mod observer;
mod outcome;
mod outlier_detector;
mod panic_mode;
mod request;
mod resilience;
mod resources;
mod retry_policy;
mod server;
mod service;
mod session_arrivals;
mod sessions;
mod slow_start;
mod spec;
mod station;
mod streams;
mod tier;
mod timeline;
mod trace;
mod traffic;
mod world;
mod zone_aware;
mod zone_routing;

pub use affinity::{AffinitySpec, Draining, OnUnavailable};
pub use autoscaling::{
    Adjustment, Autoscaler, AutoscalerSpec, DECISION_REASONS, Datapoint, Decision, DiscoveryMode,
    DiscoverySpec, Metric, MetricValues, MetricsSpec, PolicySpec, RateLimit, ScheduledAction,
    SloSpec, SlowStartSpec, Statistic, Step, StepSpec, TargetTrackingSpec, ThresholdSpec,
    VictimOrder,
};
pub use circuit_breaker::{BreakerState, BreakerTransition, CircuitBreakerSpec, CircuitBreakers};
pub use database::{
    DatabaseSpec, KeyDist, NodeFailure, NodeRole, PoolSpec, PrimaryFailure, QueryCount,
    ReplicationMode, Reshard, Sharding,
};
pub use fraction::Fraction;
pub use health_check::{HealthCheckSpec, HealthChecks, HealthTransition};
pub use observer::{Observed, Observer, Unobserved};
pub use outcome::FailReason;
pub use outlier_detector::{
    Ejection, EjectionCause, FailureRateSpec, OutlierDetector, OutlierSpec, SuccessRateSpec,
};
pub use panic_mode::DEFAULT_PANIC_THRESHOLD;
pub use request::RequestId;
pub use resources::{MemorySpec, ResourceSpec};
pub use retry_policy::{
    Backoff, ClientSpec, PreviousHosts, RetryBudget, RetryCondition, RetryDecision, RetryOn,
    RetryPolicy,
};
pub use server::ServerState;
pub use sessions::{SessionLength, SessionsSpec};
pub use slow_start::SlowStart;
pub use spec::{
    ArrivalPattern, FailureProcess, GeneratedWorkload, RateSchedule, RunSpec, ServerGroupSpec,
    ServiceDist, TierSpec, WorkloadSpec,
};
pub use timeline::{Change, TimelineAction};
pub use trace::{Trace, TraceReplay, TraceRequest};
pub use world::{simulate, simulate_observed, simulate_with_progress};
pub use zone_aware::ZoneAwareSpec;
pub use zone_routing::{DEFAULT_MIN_CLUSTER_SIZE, ZoneRouting};
