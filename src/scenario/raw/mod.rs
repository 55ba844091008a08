//! The scenario file as serde sees it, and reading it without stopping at the first error.
//!
//! These types mirror the file key for key (`deny_unknown_fields` everywhere, so a typo is
//! never ignored) but check nothing beyond the TOML type: every field is optional and
//! numbers are read wide (`i128`, `f64`; the value types are in `values.rs`), so that
//! validation, which knows what each key means, can say `expected a positive integer,
//! found -3` instead of serde's `invalid value: integer -3, expected u32`, and can report a
//! missing key with the others. `Spanned` keeps each value's location for those messages.
//!
//! serde stops at the first error. [`read()`] (`read.rs`) turns that into "all errors": it
//! deserializes, and on an error finds the entry the error's span belongs to, records the
//! error with that entry's key path, removes the entry and tries again, until the rest
//! deserializes.
//!
//! The file's shape is also written down once more as data, [`SCENARIO_KEYS`]
//! (`keys.rs`), for the sweep, which must tell a valid-but-absent key (sweepable) from a
//! typo; a unit test keeps it in step with the serde types.

mod keys;
mod read;
mod values;

pub use keys::{Key, SCENARIO_KEYS, Shape};
pub use read::{Step, display_key, display_path, moved_key, read};
pub use values::{DurationText, Filter, Int, Number, RawQueue, RawRate, RawSwitch, Scalar};

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::IgnoredAny;
use toml::Spanned;

/// A whole scenario file (`[sweep]` excepted: it is expanded on the document before
/// deserializing, see `sweep.rs`, and removed from it).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    pub name: Option<Spanned<String>>,
    pub description: Option<Spanned<String>>,
    pub seed: Option<Spanned<Int>>,
    pub duration: Option<Spanned<DurationText>>,
    pub warmup: Option<Spanned<DurationText>>,
    pub replications: Option<Spanned<Int>>,
    pub timeseries_interval: Option<Spanned<DurationText>>,
    pub workload: Option<Spanned<RawWorkload>>,
    pub servers: Option<Spanned<Vec<Spanned<RawServer>>>>,
    pub balancer: Option<Spanned<RawBalancer>>,
    pub tiers: Option<Spanned<Vec<Spanned<RawTier>>>>,
    pub timeline: Option<Spanned<Vec<Spanned<RawAction>>>>,
    pub health_check: Option<Spanned<RawHealthCheck>>,
    pub outlier_detection: Option<Spanned<RawOutlierDetection>>,
    pub circuit_breaker: Option<Spanned<RawCircuitBreaker>>,
    pub client: Option<Spanned<RawClient>>,
    pub database: Option<Spanned<RawDatabase>>,
    pub affinity: Option<Spanned<RawAffinity>>,
    pub session_store: Option<Spanned<RawSessionStore>>,
    pub autoscaler: Option<Spanned<RawAutoscaler>>,
    pub discovery: Option<Spanned<RawDiscovery>>,
    pub slo: Option<Spanned<RawSlo>>,
    /// Listed so that serde names it among the valid keys; always absent when read.
    #[expect(dead_code, reason = "only here to be a known key")]
    pub sweep: Option<IgnoredAny>,
    #[serde(default)]
    pub expect: Vec<Spanned<RawExpect>>,
}

/// `[workload]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    pub rate: Option<Spanned<RawRate>>,
    pub arrivals: Option<Spanned<String>>,
    pub service: Option<Spanned<RawService>>,
    pub clients: Option<Spanned<Int>>,
    pub trace: Option<Spanned<RawTrace>>,
    pub client_zones: Option<Spanned<BTreeMap<Spanned<String>, Spanned<Number>>>>,
    pub sessions: Option<Spanned<RawSessions>>,
}

/// `[workload.sessions]`: traffic made of sessions.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessions {
    pub rate: Option<Spanned<RawRate>>,
    pub requests: Option<Spanned<RawLength>>,
    pub think: Option<Spanned<RawService>>,
    pub users_per_address: Option<Spanned<Int>>,
    pub relogin: Option<Spanned<RawService>>,
    pub state: Option<Spanned<String>>,
}

/// `workload.sessions.requests`: a distribution of whole numbers.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { dist = \"geometric\", mean = 10 }"
)]
pub struct RawLength {
    pub dist: Option<Spanned<String>>,
    pub mean: Option<Spanned<Number>>,
    pub min: Option<Spanned<Int>>,
    pub max: Option<Spanned<Int>>,
}

/// `[affinity]`: cookie affinity through a session table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAffinity {
    pub mode: Option<Spanned<String>>,
    pub ttl: Option<Spanned<DurationText>>,
    pub refresh: Option<Spanned<bool>>,
    pub sweep_interval: Option<Spanned<DurationText>>,
    pub on_unavailable: Option<Spanned<String>>,
    pub draining: Option<Spanned<String>>,
}

/// `[session_store]`: a shared store of session state, a station every request calls.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSessionStore {
    pub workers: Option<Spanned<Int>>,
    pub queue: Option<Spanned<RawQueue>>,
    pub service: Option<Spanned<RawService>>,
}

/// `workload.trace`: a recorded trace to replay instead of generated arrivals.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { path = \"traces/x.csv\", format = \"csv\" }"
)]
pub struct RawTrace {
    pub path: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub speed: Option<Spanned<Number>>,
    pub on_error: Option<Spanned<String>>,
}

/// `workload.service`: one struct for every distribution; which parameters a `dist` takes
/// is checked in validation, where a missing or superfluous one can be named.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub dist: Option<Spanned<String>>,
    pub mean: Option<Spanned<DurationText>>,
    pub min: Option<Spanned<DurationText>>,
    pub max: Option<Spanned<DurationText>>,
    pub cv: Option<Spanned<Number>>,
    pub shape: Option<Spanned<Number>>,
}

/// One `[[servers]]` group.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServer {
    pub name: Option<Spanned<String>>,
    pub count: Option<Spanned<Int>>,
    pub workers: Option<Spanned<Int>>,
    pub queue: Option<Spanned<RawQueue>>,
    pub speed: Option<Spanned<Number>>,
    pub weight: Option<Spanned<Int>>,
    pub zone: Option<Spanned<String>>,
    pub boot: Option<Spanned<DurationText>>,
    pub mtbf: Option<Spanned<DurationText>>,
    pub mttr: Option<Spanned<DurationText>>,
    pub error_fraction: Option<Spanned<Number>>,
    pub deregistration_delay: Option<Spanned<DurationText>>,
    pub resources: Option<Spanned<RawResources>>,
    pub pre_stop: Option<Spanned<DurationText>>,
    pub price_per_hour: Option<Spanned<Number>>,
}

/// `[[servers]] resources`: CPU and memory as the health check reads them.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { cpu_threshold = 0.9, memory_per_request = 2, memory_capacity = 512 }"
)]
pub struct RawResources {
    pub cpu_threshold: Option<Spanned<Number>>,
    pub memory_per_request: Option<Spanned<Number>>,
    pub memory_capacity: Option<Spanned<Number>>,
    pub memory_threshold: Option<Spanned<Number>>,
    pub reject_when_full: Option<Spanned<bool>>,
}

/// `[balancer]`. `virtual_nodes` only changes `consistent-hash`, `choice_count` and
/// `active_request_bias` `least-request`, `max_connections` `first`, `decay`
/// `least-response-time`; each is accepted with other algorithms so that a sweep over
/// `balancer.algorithm` can keep one `[balancer]` table. `slow_start` is the exception:
/// with an algorithm that ignores weights it would silently do nothing, so it is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBalancer {
    pub algorithm: Option<Spanned<String>>,
    pub virtual_nodes: Option<Spanned<Int>>,
    pub instances: Option<Spanned<Int>>,
    pub spread: Option<Spanned<String>>,
    pub choice_count: Option<Spanned<Int>>,
    pub active_request_bias: Option<Spanned<Number>>,
    pub max_connections: Option<Spanned<Int>>,
    pub decay: Option<Spanned<DurationText>>,
    pub min_cluster_size: Option<Spanned<Int>>,
    pub hash_on: Option<Spanned<String>>,
    pub table_size: Option<Spanned<Int>>,
    pub balance_factor: Option<Spanned<Number>>,
    pub panic_threshold: Option<Spanned<RawSwitch>>,
    pub slow_start: Option<Spanned<RawSlowStart>>,
}

/// `balancer.slow_start`: Envoy's `slow_start_config`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { window = \"60s\", aggression = 1.0, min_weight_percent = 10 }"
)]
pub struct RawSlowStart {
    pub window: Option<Spanned<DurationText>>,
    pub aggression: Option<Spanned<Number>>,
    pub min_weight_percent: Option<Spanned<Number>>,
}

/// One `[[tiers]]` table: a second tier every request calls.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    pub name: Option<Spanned<String>>,
    pub workers: Option<Spanned<Int>>,
    pub queue: Option<Spanned<RawQueue>>,
    pub service: Option<Spanned<RawService>>,
}

/// One `[[timeline]]` action; which keys an action takes is checked in validation.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAction {
    pub at: Option<Spanned<DurationText>>,
    pub action: Option<Spanned<String>>,
    pub server: Option<Spanned<String>>,
    pub mode: Option<Spanned<String>>,
    pub group: Option<Spanned<String>>,
    pub count: Option<Spanned<Int>>,
    pub speed: Option<Spanned<Number>>,
    pub zone: Option<Spanned<String>>,
    pub downtime: Option<Spanned<DurationText>>,
    pub error_fraction: Option<Spanned<Number>>,
}

/// `[health_check]`: active health checking of every server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    pub interval: Option<Spanned<DurationText>>,
    pub timeout: Option<Spanned<DurationText>>,
    pub unhealthy_threshold: Option<Spanned<Int>>,
    pub healthy_threshold: Option<Spanned<Int>>,
    pub jitter: Option<Spanned<Number>>,
    pub work: Option<Spanned<DurationText>>,
}

/// `[outlier_detection]`: ejecting servers whose requests fail. The success-rate and
/// failure-rate keys are accepted with their detector `"off"`, so that a sweep can turn it
/// on and off.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlierDetection {
    pub consecutive_errors: Option<Spanned<Int>>,
    pub interval: Option<Spanned<DurationText>>,
    pub base_ejection_time: Option<Spanned<DurationText>>,
    pub max_ejection_time: Option<Spanned<DurationText>>,
    pub max_ejection_percent: Option<Spanned<Number>>,
    pub always_eject_one_host: Option<Spanned<bool>>,
    pub success_rate_stdev_factor: Option<Spanned<RawSwitch>>,
    pub success_rate_minimum_hosts: Option<Spanned<Int>>,
    pub success_rate_request_volume: Option<Spanned<Int>>,
    pub failure_rate: Option<Spanned<RawSwitch>>,
    pub minimum_hosts: Option<Spanned<Int>>,
    pub request_volume: Option<Spanned<Int>>,
    pub successful_active_health_check_uneject_host: Option<Spanned<bool>>,
}

/// `[circuit_breaker]`: a breaker per backend.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreaker {
    pub window: Option<Spanned<DurationText>>,
    pub failure_rate: Option<Spanned<RawSwitch>>,
    pub min_requests: Option<Spanned<Int>>,
    pub open_for: Option<Spanned<DurationText>>,
    pub probes: Option<Spanned<Int>>,
    pub max_pending: Option<Spanned<RawQueue>>,
}

/// `[database]`: the data tier behind the application servers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDatabase {
    pub read_share: Option<Spanned<Number>>,
    pub queries: Option<Spanned<Number>>,
    pub queries_dist: Option<Spanned<String>>,
    pub service: Option<Spanned<RawService>>,
    pub keys: Option<Spanned<Int>>,
    pub key_dist: Option<Spanned<String>>,
    pub zipf_exponent: Option<Spanned<Number>>,
    pub workers: Option<Spanned<Int>>,
    pub queue: Option<Spanned<RawQueue>>,
    pub replicas: Option<Spanned<Int>>,
    pub replica_balancer: Option<Spanned<String>>,
    pub replication_lag: Option<Spanned<DurationText>>,
    pub replication_lag_dist: Option<Spanned<String>>,
    pub replication: Option<Spanned<String>>,
    pub read_your_writes: Option<Spanned<bool>>,
    pub shards: Option<Spanned<Int>>,
    pub sharding: Option<Spanned<String>>,
    pub virtual_nodes: Option<Spanned<Int>>,
    pub pool: Option<Spanned<RawPool>>,
    pub failover: Option<Spanned<DurationText>>,
    pub on_primary_failure: Option<Spanned<String>>,
    pub failures: Option<Spanned<Vec<Spanned<RawNodeFailure>>>>,
    pub reshard: Option<Spanned<RawReshard>>,
}

/// `database.pool`: each application server's connection pool.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPool {
    pub max_connections: Option<Spanned<Int>>,
    pub timeout: Option<Spanned<DurationText>>,
}

/// One `[[database.failures]]` entry: a node failing at a time.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNodeFailure {
    pub at: Option<Spanned<DurationText>>,
    pub shard: Option<Spanned<Int>>,
    pub node: Option<Spanned<String>>,
}

/// `database.reshard`: the shard count changing at a time.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReshard {
    pub at: Option<Spanned<DurationText>>,
    pub shards: Option<Spanned<Int>>,
}

/// `[autoscaler]`: one server group's capacity, moved by a policy. The tables of every
/// policy are accepted whichever is selected, so that a sweep over `autoscaler.policy` can
/// keep them all.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAutoscaler {
    pub group: Option<Spanned<String>>,
    pub policy: Option<Spanned<String>>,
    pub min: Option<Spanned<Int>>,
    pub max: Option<Spanned<Int>>,
    pub interval: Option<Spanned<DurationText>>,
    pub cooldown: Option<Spanned<DurationText>>,
    pub metrics: Option<Spanned<RawMetrics>>,
    pub provisioning: Option<Spanned<RawService>>,
    pub victim: Option<Spanned<String>>,
    pub threshold: Option<Spanned<RawThreshold>>,
    pub target_tracking: Option<Spanned<RawTargetTracking>>,
    pub step: Option<Spanned<RawStepScaling>>,
    pub schedule: Option<Spanned<Vec<Spanned<RawScheduledAction>>>>,
}

/// `autoscaler.metrics`: the pipeline the policy reads through.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { window = \"60s\", delay = \"0s\" }"
)]
pub struct RawMetrics {
    pub window: Option<Spanned<DurationText>>,
    pub delay: Option<Spanned<DurationText>>,
}

/// `[autoscaler.threshold]`: the seed's high and low marks.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThreshold {
    pub cpu_high: Option<Spanned<Number>>,
    pub memory_high: Option<Spanned<Number>>,
    pub response_time_high: Option<Spanned<DurationText>>,
    pub cpu_low: Option<Spanned<Number>>,
    pub memory_low: Option<Spanned<Number>>,
    pub response_time_low: Option<Spanned<DurationText>>,
    pub step: Option<Spanned<Int>>,
    pub response_time: Option<Spanned<String>>,
}

/// `[autoscaler.target_tracking]`: the Kubernetes HPA's algorithm and `behavior`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTargetTracking {
    pub metric: Option<Spanned<String>>,
    pub statistic: Option<Spanned<String>>,
    pub target: Option<Spanned<Number>>,
    pub tolerance: Option<Spanned<Number>>,
    pub scale_down_stabilization: Option<Spanned<DurationText>>,
    pub scale_up_stabilization: Option<Spanned<DurationText>>,
    pub scale_up_limit: Option<Spanned<RawRateLimit>>,
    pub scale_down_limit: Option<Spanned<RawRateLimit>>,
}

/// `scale_up_limit`, `scale_down_limit`: one HPA scaling policy pair.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { pods = 4, percent = 100, period = \"15s\" }"
)]
pub struct RawRateLimit {
    pub pods: Option<Spanned<Int>>,
    pub percent: Option<Spanned<Number>>,
    pub period: Option<Spanned<DurationText>>,
}

/// `[autoscaler.step]`: AWS step scaling.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStepScaling {
    pub metric: Option<Spanned<String>>,
    pub statistic: Option<Spanned<String>>,
    pub steps: Option<Spanned<Vec<Spanned<RawScalingStep>>>>,
}

/// One band of `autoscaler.step.steps`; which adjustment it makes is checked in
/// validation, where a missing or second one can be named.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { from = 0.7, to = 0.9, change = 1 }"
)]
pub struct RawScalingStep {
    pub from: Option<Spanned<Number>>,
    pub to: Option<Spanned<Number>>,
    pub change: Option<Spanned<Int>>,
    pub percent: Option<Spanned<Number>>,
    pub exact: Option<Spanned<Int>>,
}

/// One `[[autoscaler.schedule]]` action.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduledAction {
    pub at: Option<Spanned<DurationText>>,
    pub desired: Option<Spanned<Int>>,
    pub min: Option<Spanned<Int>>,
    pub max: Option<Spanned<Int>>,
}

/// `[discovery]`: a service registry between the servers and the balancer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiscovery {
    pub mode: Option<Spanned<String>>,
    pub interval: Option<Spanned<DurationText>>,
    pub delay: Option<Spanned<DurationText>>,
    pub check_interval: Option<Spanned<DurationText>>,
}

/// `[slo]`: a latency objective.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSlo {
    pub p99: Option<Spanned<DurationText>>,
}

/// `[client]`: timeouts, retries and their budget.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClient {
    pub timeout: Option<Spanned<DurationText>>,
    pub request_timeout: Option<Spanned<DurationText>>,
    pub retries: Option<Spanned<Int>>,
    pub backoff: Option<Spanned<RawBackoff>>,
    pub retry_budget: Option<Spanned<RawSwitch>>,
    pub min_retry_concurrency: Option<Spanned<Int>>,
    pub retry_on: Option<Spanned<Vec<Spanned<String>>>>,
    pub retry_host_predicate: Option<Spanned<String>>,
    pub host_selection_retry_max_attempts: Option<Spanned<Int>>,
    pub hedge_on_per_try_timeout: Option<Spanned<bool>>,
}

/// `client.backoff`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { base = \"25ms\", max = \"250ms\" }"
)]
pub struct RawBackoff {
    pub base: Option<Spanned<DurationText>>,
    pub max: Option<Spanned<DurationText>>,
}

/// One `[[expect]]` bound: on a value (`min`, `max`), or on its comparison with a
/// `baseline` variant's (`min_ratio`, `max_ratio`, `min_difference`, `max_difference`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    pub metric: Option<Spanned<String>>,
    pub min: Option<Spanned<Number>>,
    pub max: Option<Spanned<Number>>,
    #[serde(rename = "where")]
    pub filter: Option<Spanned<Filter>>,
    pub check: Option<Spanned<String>>,
    pub baseline: Option<Spanned<Filter>>,
    pub min_ratio: Option<Spanned<Number>>,
    pub max_ratio: Option<Spanned<Number>>,
    pub min_difference: Option<Spanned<Number>>,
    pub max_difference: Option<Spanned<Number>>,
}
