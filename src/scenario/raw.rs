//! The scenario file as serde sees it, and reading it without stopping at the first error.
//!
//! These types mirror the file key for key (`deny_unknown_fields` everywhere, so a typo is
//! never ignored) but check nothing beyond the TOML type: every field is optional and
//! numbers are read wide (`i128`, `f64`), so that validation, which knows what each key
//! means, can say `expected a positive integer, found -3` instead of serde's
//! `invalid value: integer -3, expected u32`, and can report a missing key with the others.
//! `Spanned` keeps each value's location for those messages.
//!
//! serde stops at the first error. [`read`] turns that into "all errors": it deserializes,
//! and on an error finds the entry the error's span belongs to, records the error with that
//! entry's key path, removes the entry and tries again, until the rest deserializes.
//!
//! The file's shape is also written down once more as data, [`SCENARIO_KEYS`], for the
//! sweep, which must tell a valid-but-absent key (sweepable) from a typo; a unit test keeps
//! it in step with the serde types.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Unexpected, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::suggest;

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

/// `[outlier_detection]`: ejecting servers whose requests fail. The failure-rate keys are
/// accepted with `failure_rate = "off"`, so that a sweep can turn it on and off.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlierDetection {
    pub consecutive_errors: Option<Spanned<Int>>,
    pub interval: Option<Spanned<DurationText>>,
    pub base_ejection_time: Option<Spanned<DurationText>>,
    pub max_ejection_time: Option<Spanned<DurationText>>,
    pub max_ejection_percent: Option<Spanned<Number>>,
    pub always_eject_one_host: Option<Spanned<bool>>,
    pub failure_rate: Option<Spanned<RawSwitch>>,
    pub minimum_hosts: Option<Spanned<Int>>,
    pub request_volume: Option<Spanned<Int>>,
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
    pub retries: Option<Spanned<Int>>,
    pub backoff: Option<Spanned<RawBackoff>>,
    pub retry_budget: Option<Spanned<RawSwitch>>,
    pub min_retry_concurrency: Option<Spanned<Int>>,
    pub retry_on: Option<Spanned<Vec<Spanned<String>>>>,
    pub retry_host_predicate: Option<Spanned<String>>,
    pub host_selection_retry_max_attempts: Option<Spanned<Int>>,
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

/// Any TOML integer, range-checked in validation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Int(pub i128);

/// Any TOML number (integer or float), checked in validation.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Number(pub f64);

/// A duration as written (`"1.5s"`), parsed in validation by `parse_duration`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurationText(pub String);

/// `queue`: `"unbounded"` or a limit. Any string is kept, so validation can suggest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RawQueue {
    Named(String),
    Limit(i128),
}

/// A number, or a word that turns the feature off (`"off"`). Any string is kept, so
/// validation can suggest.
#[derive(Clone, Debug, PartialEq)]
pub enum RawSwitch {
    Named(String),
    Number(f64),
}

/// `workload.rate`: requests per second, or a step schedule.
#[derive(Clone, Debug, PartialEq)]
pub enum RawRate {
    PerSecond(f64),
    Steps(Vec<Spanned<RawStep>>),
}

/// One `["start", rate]` step of a rate schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct RawStep {
    pub start: Spanned<DurationText>,
    pub rate: Spanned<Number>,
}

/// A string, number or boolean: a swept value or a `where` value.
#[derive(Clone, Debug, PartialEq)]
pub enum Scalar {
    String(String),
    Integer(i128),
    Float(f64),
    Boolean(bool),
}

/// `where = { "balancer.algorithm" = "random" }`: swept key to value, in file order.
/// Unquoted dotted keys (`{ balancer.algorithm = "random" }`) mean the same and are
/// flattened back to one dotted key.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Filter(pub Vec<(Spanned<String>, Spanned<Scalar>)>);

// ---------------------------------------------------------------------------------------
// The file's shape as data, for sweep paths.

/// What a key holds, as far as sweeping it is concerned.
#[derive(Copy, Clone, Debug)]
pub enum Shape {
    /// One value; a variant may override it.
    Value,
    /// A table of further keys.
    Table(&'static [Key]),
    /// An array of tables addressed by index (`servers.0.count`).
    Groups(&'static [Key]),
    /// Applies to the whole scenario (name, seed, ...), so it cannot differ per variant.
    Scenario,
}

/// A key of the file and what it holds.
#[derive(Copy, Clone, Debug)]
pub struct Key {
    pub name: &'static str,
    pub shape: Shape,
}

const fn value(name: &'static str) -> Key {
    Key {
        name,
        shape: Shape::Value,
    }
}

const fn scenario_wide(name: &'static str) -> Key {
    Key {
        name,
        shape: Shape::Scenario,
    }
}

/// `workload.service` keys.
pub const SERVICE_KEYS: &[Key] = &[
    value("dist"),
    value("mean"),
    value("min"),
    value("max"),
    value("cv"),
    value("shape"),
];

/// `workload.trace` keys.
pub const TRACE_KEYS: &[Key] = &[
    value("path"),
    value("format"),
    value("speed"),
    value("on_error"),
];

/// `[workload]` keys.
pub const WORKLOAD_KEYS: &[Key] = &[
    value("rate"),
    value("arrivals"),
    Key {
        name: "service",
        shape: Shape::Table(SERVICE_KEYS),
    },
    value("clients"),
    Key {
        name: "trace",
        shape: Shape::Table(TRACE_KEYS),
    },
    value("client_zones"),
    Key {
        name: "sessions",
        shape: Shape::Table(SESSIONS_KEYS),
    },
];

/// `[[servers]] resources` keys.
pub const RESOURCE_KEYS: &[Key] = &[
    value("cpu_threshold"),
    value("memory_per_request"),
    value("memory_capacity"),
    value("memory_threshold"),
    value("reject_when_full"),
];

/// `workload.sessions.requests` keys.
pub const LENGTH_KEYS: &[Key] = &[value("dist"), value("mean"), value("min"), value("max")];

/// `[workload.sessions]` keys.
pub const SESSIONS_KEYS: &[Key] = &[
    value("rate"),
    Key {
        name: "requests",
        shape: Shape::Table(LENGTH_KEYS),
    },
    Key {
        name: "think",
        shape: Shape::Table(SERVICE_KEYS),
    },
    value("users_per_address"),
    Key {
        name: "relogin",
        shape: Shape::Table(SERVICE_KEYS),
    },
    value("state"),
];

/// `[affinity]` keys.
pub const AFFINITY_KEYS: &[Key] = &[
    value("mode"),
    value("ttl"),
    value("refresh"),
    value("sweep_interval"),
    value("on_unavailable"),
];

/// `[session_store]` keys.
pub const SESSION_STORE_KEYS: &[Key] = &[
    value("workers"),
    value("queue"),
    Key {
        name: "service",
        shape: Shape::Table(SERVICE_KEYS),
    },
];

/// `[[servers]]` keys.
pub const SERVER_KEYS: &[Key] = &[
    value("name"),
    value("count"),
    value("workers"),
    value("queue"),
    value("speed"),
    value("weight"),
    value("zone"),
    value("boot"),
    value("mtbf"),
    value("mttr"),
    value("error_fraction"),
    value("deregistration_delay"),
    Key {
        name: "resources",
        shape: Shape::Table(RESOURCE_KEYS),
    },
    value("pre_stop"),
    value("price_per_hour"),
];

/// `[balancer]` keys.
pub const BALANCER_KEYS: &[Key] = &[
    value("algorithm"),
    value("virtual_nodes"),
    value("instances"),
    value("spread"),
    value("choice_count"),
    value("active_request_bias"),
    value("max_connections"),
    value("decay"),
    value("min_cluster_size"),
    value("hash_on"),
    value("table_size"),
    value("balance_factor"),
    value("panic_threshold"),
    Key {
        name: "slow_start",
        shape: Shape::Table(SLOW_START_KEYS),
    },
];

/// `balancer.slow_start` keys.
pub const SLOW_START_KEYS: &[Key] = &[
    value("window"),
    value("aggression"),
    value("min_weight_percent"),
];

/// `[[tiers]]` keys.
pub const TIER_KEYS: &[Key] = &[
    value("name"),
    value("workers"),
    value("queue"),
    Key {
        name: "service",
        shape: Shape::Table(SERVICE_KEYS),
    },
];

/// `[health_check]` keys.
pub const HEALTH_CHECK_KEYS: &[Key] = &[
    value("interval"),
    value("timeout"),
    value("unhealthy_threshold"),
    value("healthy_threshold"),
    value("jitter"),
    value("work"),
];

/// `[outlier_detection]` keys.
pub const OUTLIER_DETECTION_KEYS: &[Key] = &[
    value("consecutive_errors"),
    value("interval"),
    value("base_ejection_time"),
    value("max_ejection_time"),
    value("max_ejection_percent"),
    value("always_eject_one_host"),
    value("failure_rate"),
    value("minimum_hosts"),
    value("request_volume"),
];

/// `[circuit_breaker]` keys.
pub const CIRCUIT_BREAKER_KEYS: &[Key] = &[
    value("window"),
    value("failure_rate"),
    value("min_requests"),
    value("open_for"),
    value("probes"),
    value("max_pending"),
];

/// `client.backoff` keys.
pub const BACKOFF_KEYS: &[Key] = &[value("base"), value("max")];

/// `[client]` keys.
pub const CLIENT_KEYS: &[Key] = &[
    value("timeout"),
    value("retries"),
    Key {
        name: "backoff",
        shape: Shape::Table(BACKOFF_KEYS),
    },
    value("retry_budget"),
    value("min_retry_concurrency"),
    value("retry_on"),
    value("retry_host_predicate"),
    value("host_selection_retry_max_attempts"),
];

/// `database.pool` keys.
pub const POOL_KEYS: &[Key] = &[value("max_connections"), value("timeout")];

/// `[[database.failures]]` keys.
pub const NODE_FAILURE_KEYS: &[Key] = &[value("at"), value("shard"), value("node")];

/// `database.reshard` keys.
pub const RESHARD_KEYS: &[Key] = &[value("at"), value("shards")];

/// `[database]` keys.
pub const DATABASE_KEYS: &[Key] = &[
    value("read_share"),
    value("queries"),
    value("queries_dist"),
    Key {
        name: "service",
        shape: Shape::Table(SERVICE_KEYS),
    },
    value("keys"),
    value("key_dist"),
    value("zipf_exponent"),
    value("workers"),
    value("queue"),
    value("replicas"),
    value("replica_balancer"),
    value("replication_lag"),
    value("replication_lag_dist"),
    value("read_your_writes"),
    value("shards"),
    value("sharding"),
    value("virtual_nodes"),
    Key {
        name: "pool",
        shape: Shape::Table(POOL_KEYS),
    },
    value("failover"),
    value("on_primary_failure"),
    Key {
        name: "failures",
        shape: Shape::Groups(NODE_FAILURE_KEYS),
    },
    Key {
        name: "reshard",
        shape: Shape::Table(RESHARD_KEYS),
    },
];

/// `autoscaler.metrics` keys.
pub const METRICS_KEYS: &[Key] = &[value("window"), value("delay")];

/// `[autoscaler.threshold]` keys.
pub const THRESHOLD_KEYS: &[Key] = &[
    value("cpu_high"),
    value("memory_high"),
    value("response_time_high"),
    value("cpu_low"),
    value("memory_low"),
    value("response_time_low"),
    value("step"),
    value("response_time"),
];

/// `scale_up_limit` and `scale_down_limit` keys.
pub const RATE_LIMIT_KEYS: &[Key] = &[value("pods"), value("percent"), value("period")];

/// `[autoscaler.target_tracking]` keys.
pub const TARGET_TRACKING_KEYS: &[Key] = &[
    value("metric"),
    value("statistic"),
    value("target"),
    value("tolerance"),
    value("scale_down_stabilization"),
    value("scale_up_stabilization"),
    Key {
        name: "scale_up_limit",
        shape: Shape::Table(RATE_LIMIT_KEYS),
    },
    Key {
        name: "scale_down_limit",
        shape: Shape::Table(RATE_LIMIT_KEYS),
    },
];

/// `autoscaler.step.steps` keys.
pub const SCALING_STEP_KEYS: &[Key] = &[
    value("from"),
    value("to"),
    value("change"),
    value("percent"),
    value("exact"),
];

/// `[autoscaler.step]` keys.
pub const STEP_SCALING_KEYS: &[Key] = &[
    value("metric"),
    value("statistic"),
    Key {
        name: "steps",
        shape: Shape::Groups(SCALING_STEP_KEYS),
    },
];

/// `[[autoscaler.schedule]]` keys.
pub const SCHEDULED_ACTION_KEYS: &[Key] =
    &[value("at"), value("desired"), value("min"), value("max")];

/// `[autoscaler]` keys.
pub const AUTOSCALER_KEYS: &[Key] = &[
    value("group"),
    value("policy"),
    value("min"),
    value("max"),
    value("interval"),
    value("cooldown"),
    Key {
        name: "metrics",
        shape: Shape::Table(METRICS_KEYS),
    },
    Key {
        name: "provisioning",
        shape: Shape::Table(SERVICE_KEYS),
    },
    value("victim"),
    Key {
        name: "threshold",
        shape: Shape::Table(THRESHOLD_KEYS),
    },
    Key {
        name: "target_tracking",
        shape: Shape::Table(TARGET_TRACKING_KEYS),
    },
    Key {
        name: "step",
        shape: Shape::Table(STEP_SCALING_KEYS),
    },
    Key {
        name: "schedule",
        shape: Shape::Groups(SCHEDULED_ACTION_KEYS),
    },
];

/// `[discovery]` keys.
pub const DISCOVERY_KEYS: &[Key] = &[
    value("mode"),
    value("interval"),
    value("delay"),
    value("check_interval"),
];

/// `[slo]` keys.
pub const SLO_KEYS: &[Key] = &[value("p99")];

/// `[[timeline]]` keys.
pub const TIMELINE_KEYS: &[Key] = &[
    value("at"),
    value("action"),
    value("server"),
    value("mode"),
    value("group"),
    value("count"),
    value("speed"),
    value("zone"),
    value("downtime"),
    value("error_fraction"),
];

/// Top-level keys, in the order of [`RawScenario`]'s fields.
pub const SCENARIO_KEYS: &[Key] = &[
    scenario_wide("name"),
    scenario_wide("description"),
    scenario_wide("seed"),
    value("duration"),
    value("warmup"),
    scenario_wide("replications"),
    value("timeseries_interval"),
    Key {
        name: "workload",
        shape: Shape::Table(WORKLOAD_KEYS),
    },
    Key {
        name: "servers",
        shape: Shape::Groups(SERVER_KEYS),
    },
    Key {
        name: "balancer",
        shape: Shape::Table(BALANCER_KEYS),
    },
    Key {
        name: "tiers",
        shape: Shape::Groups(TIER_KEYS),
    },
    Key {
        name: "timeline",
        shape: Shape::Groups(TIMELINE_KEYS),
    },
    Key {
        name: "health_check",
        shape: Shape::Table(HEALTH_CHECK_KEYS),
    },
    Key {
        name: "outlier_detection",
        shape: Shape::Table(OUTLIER_DETECTION_KEYS),
    },
    Key {
        name: "circuit_breaker",
        shape: Shape::Table(CIRCUIT_BREAKER_KEYS),
    },
    Key {
        name: "client",
        shape: Shape::Table(CLIENT_KEYS),
    },
    Key {
        name: "database",
        shape: Shape::Table(DATABASE_KEYS),
    },
    Key {
        name: "affinity",
        shape: Shape::Table(AFFINITY_KEYS),
    },
    Key {
        name: "session_store",
        shape: Shape::Table(SESSION_STORE_KEYS),
    },
    Key {
        name: "autoscaler",
        shape: Shape::Table(AUTOSCALER_KEYS),
    },
    Key {
        name: "discovery",
        shape: Shape::Table(DISCOVERY_KEYS),
    },
    Key {
        name: "slo",
        shape: Shape::Table(SLO_KEYS),
    },
    scenario_wide("sweep"),
    scenario_wide("expect"),
];

// ---------------------------------------------------------------------------------------
// Reading with every error.

/// A problem serde found, located and named by key path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawError {
    /// Byte offset in the source.
    pub offset: usize,
    /// `servers[0].workers`; empty when the error could not be placed.
    pub path: String,
    pub message: String,
}

/// The outcome of [`read`].
#[derive(Debug, Default)]
pub struct Reading {
    /// What deserialized once the failing entries were removed; `None` only when an error
    /// could not be tied to any entry.
    pub raw: Option<RawScenario>,
    pub errors: Vec<RawError>,
    /// Key paths of the entries removed because they failed: validation must not report
    /// them (or anything under them) again as missing.
    pub removed: Vec<String>,
}

/// Deserializes a document, collecting every serde error rather than the first.
pub fn read(document: &Spanned<DeTable<'_>>) -> Reading {
    let mut table = document.clone();
    let mut reading = Reading::default();
    loop {
        let error = match RawScenario::deserialize(toml::de::Deserializer::from(table.clone())) {
            Ok(raw) => {
                reading.raw = Some(raw);
                return reading;
            }
            Err(error) => error,
        };
        let message = describe(error.message());
        let span = error.span().filter(|s| !s.is_empty());
        let located = span.clone().and_then(|span| locate(table.get_ref(), &span));
        let Some(steps) = located else {
            reading.errors.push(RawError {
                offset: span.map_or(0, |s| s.start),
                path: String::new(),
                message,
            });
            return reading;
        };
        // Remove the innermost table entry holding the error (an array element cannot be
        // removed without renumbering its siblings, so an error inside an array takes the
        // whole array with it).
        let entry_len = steps
            .iter()
            .rposition(|s| matches!(s, Step::Key(_)))
            .map_or(0, |i| i + 1);
        reading.errors.push(RawError {
            offset: span.map_or(0, |s| s.start),
            path: display_path(&steps),
            message,
        });
        let entry = steps.get(..entry_len).unwrap_or_default();
        if !remove(table.get_mut(), entry) {
            return reading;
        }
        reading.removed.push(display_path(entry));
    }
}

/// One step of a key path into a document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// `servers[0].workers`, `expect[1].where."balancer.algorithm"`: keys joined by dots,
/// indices in brackets, keys that are not bare TOML keys quoted.
pub fn display_path(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&display_key(key));
            }
            Step::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// A key as it appears in a path: bare when TOML allows it, quoted otherwise.
pub fn display_key(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// The path of the innermost entry or array element whose key or value span contains
/// `span`. Every table is searched, because a `[table]`'s own span covers only its header.
fn locate(table: &DeTable<'_>, span: &Range<usize>) -> Option<Vec<Step>> {
    let mut best = None;
    search_table(table, span, &mut Vec::new(), &mut best);
    best
}

fn contains(outer: &Range<usize>, inner: &Range<usize>) -> bool {
    !outer.is_empty() && outer.start <= inner.start && inner.end <= outer.end
}

fn search_table(
    table: &DeTable<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
    best: &mut Option<Vec<Step>>,
) {
    for (key, value) in table.iter() {
        path.push(Step::Key(key.get_ref().to_string()));
        if contains(&key.span(), span) || contains(&value.span(), span) {
            consider(path, best);
        }
        search_value(value.get_ref(), span, path, best);
        path.pop();
    }
}

fn search_value(
    value: &DeValue<'_>,
    span: &Range<usize>,
    path: &mut Vec<Step>,
    best: &mut Option<Vec<Step>>,
) {
    match value {
        DeValue::Table(table) => search_table(table, span, path, best),
        DeValue::Array(array) => {
            for (index, element) in array.iter().enumerate() {
                path.push(Step::Index(index));
                if contains(&element.span(), span) {
                    consider(path, best);
                }
                search_value(element.get_ref(), span, path, best);
                path.pop();
            }
        }
        _ => {}
    }
}

fn consider(path: &[Step], best: &mut Option<Vec<Step>>) {
    if best.as_ref().is_none_or(|b| path.len() > b.len()) {
        *best = Some(path.to_vec());
    }
}

/// Removes the entry at `steps` (which ends in a key); false when there is none.
fn remove(table: &mut DeTable<'_>, steps: &[Step]) -> bool {
    match steps {
        [Step::Key(key)] => table.remove(key.as_str()).is_some(),
        [Step::Key(key), rest @ ..] => match table.get_mut(key.as_str()) {
            Some(value) => remove_in(value.get_mut(), rest),
            None => false,
        },
        _ => false,
    }
}

fn remove_in(value: &mut DeValue<'_>, steps: &[Step]) -> bool {
    match (value, steps) {
        (DeValue::Table(table), _) => remove(table, steps),
        (DeValue::Array(array), [Step::Index(index), rest @ ..]) => match array.get_mut(*index) {
            Some(element) => remove_in(element.get_mut(), rest),
            None => false,
        },
        _ => false,
    }
}

/// Keys that moved to another table, and where: an old file that still has one is told.
const MOVED_KEYS: &[(&str, &str)] = &[(
    "panic_threshold",
    "`panic_threshold` is a key of [balancer]: the panic threshold is the cluster's \
     (Envoy's healthy_panic_threshold), and outlier ejections count against it too",
)];

/// Where key `name` went, if it is one that moved to another table.
pub fn moved_key(name: &str) -> Option<&'static str> {
    MOVED_KEYS
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, moved)| *moved)
}

/// serde's message, except that an unknown field becomes an unknown key with the valid
/// keys quoted and the closest one suggested (or, for a key that moved, where it went).
fn describe(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_string();
    };
    let Some((field, rest)) = rest.split_once('`') else {
        return message.to_string();
    };
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    if let Some(moved) = moved_key(field) {
        format!("unknown key {field:?} here; {moved}")
    } else if expected.is_empty() {
        format!("unknown key {field:?}: this table takes no keys")
    } else {
        format!(
            "unknown key {field:?}, {}",
            suggest::expected_one_of(field, &expected)
        )
    }
}

// ---------------------------------------------------------------------------------------
// Deserialize implementations for the wide value types.

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IntVisitor;
        impl Visitor<'_> for IntVisitor {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(i128::from(v)))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Int, E> {
                i128::try_from(v)
                    .map(Int)
                    .map_err(|_| E::custom(format!("integer {v} is too large")))
            }
        }
        deserializer.deserialize_i128(IntVisitor)
    }
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NumberVisitor;
        impl Visitor<'_> for NumberVisitor {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_i128<E: de::Error>(self, v: i128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_u128<E: de::Error>(self, v: u128) -> Result<Number, E> {
                Ok(Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number(v))
            }
        }
        deserializer.deserialize_f64(NumberVisitor)
    }
}

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = DurationText;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration string with a unit, like \"10s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationText, E> {
                Ok(DurationText(v.to_string()))
            }
        }
        deserializer.deserialize_str(DurationVisitor)
    }
}

impl<'de> Deserialize<'de> for RawQueue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QueueVisitor;
        impl Visitor<'_> for QueueVisitor {
            type Value = RawQueue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("\"unbounded\" or a non-negative integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawQueue, E> {
                Ok(RawQueue::Named(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawQueue, E> {
                Ok(RawQueue::Limit(i128::from(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawQueue, E> {
                Ok(RawQueue::Limit(i128::from(v)))
            }
        }
        deserializer.deserialize_any(QueueVisitor)
    }
}

impl<'de> Deserialize<'de> for RawSwitch {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SwitchVisitor;
        impl Visitor<'_> for SwitchVisitor {
            type Value = RawSwitch;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or \"off\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Named(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Number(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Number(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawSwitch, E> {
                Ok(RawSwitch::Number(v))
            }
        }
        deserializer.deserialize_any(SwitchVisitor)
    }
}

impl<'de> Deserialize<'de> for RawRate {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RateVisitor;
        impl<'de> Visitor<'de> for RateVisitor {
            type Value = RawRate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "requests per second, or a schedule of [\"start\", rate] steps \
                     like [[\"0s\", 100], [\"5m\", 900]]",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawRate, E> {
                Ok(RawRate::PerSecond(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawRate, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element()? {
                    steps.push(step);
                }
                Ok(RawRate::Steps(steps))
            }
        }
        deserializer.deserialize_any(RateVisitor)
    }
}

impl<'de> Deserialize<'de> for RawStep {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> Visitor<'de> for StepVisitor {
            type Value = RawStep;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [\"start\", rate] step like [\"5m\", 900]")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawStep, A::Error> {
                let start = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                let rate = seq
                    .next_element()?
                    .ok_or_else(|| de::Error::invalid_length(1, &self))?;
                let mut extra = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    extra += 1;
                }
                if extra > 0 {
                    return Err(de::Error::invalid_length(2 + extra, &self));
                }
                Ok(RawStep { start, rate })
            }
        }
        deserializer.deserialize_seq(StepVisitor)
    }
}

impl Scalar {
    /// The scalar a parsed TOML value holds, if it is one.
    pub fn from_value(value: &DeValue<'_>) -> Option<Scalar> {
        match value {
            DeValue::String(s) => Some(Scalar::String(s.to_string())),
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .ok()
                .map(Scalar::Integer),
            DeValue::Float(f) => f.as_str().parse().ok().map(Scalar::Float),
            DeValue::Boolean(b) => Some(Scalar::Boolean(*b)),
            _ => None,
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Scalar::Integer(_) | Scalar::Float(_))
    }
}

/// As written in summary.csv and variant labels: strings without quotes, integers as
/// integers, floats in Rust's shortest form (`0.5`), booleans as `true`/`false`.
impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::String(s) => f.write_str(s),
            Scalar::Integer(i) => write!(f, "{i}"),
            Scalar::Float(x) => write!(f, "{x}"),
            Scalar::Boolean(b) => write!(f, "{b}"),
        }
    }
}

/// Marks the private key under which toml hands a datetime to a visitor as a map.
const DATETIME_KEY_PREFIX: &str = "$__toml_private";

/// A `where` value: a scalar, or a nested table from an unquoted dotted key.
enum FilterValue {
    Scalar(Scalar),
    Table(Vec<(Spanned<String>, Spanned<FilterValue>)>),
}

struct FilterValueVisitor;

impl<'de> Visitor<'de> for FilterValueVisitor {
    type Value = FilterValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Boolean(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Integer(i128::from(v))))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Integer(i128::from(v))))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::Float(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<FilterValue, E> {
        Ok(FilterValue::Scalar(Scalar::String(v.to_string())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FilterValue, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<String>>()? {
            if key.get_ref().starts_with(DATETIME_KEY_PREFIX) {
                return Err(de::Error::invalid_type(
                    Unexpected::Other("datetime"),
                    &self,
                ));
            }
            let value: Spanned<FilterValue> = map.next_value()?;
            entries.push((key, value));
        }
        Ok(FilterValue::Table(entries))
    }
}

impl<'de> Deserialize<'de> for FilterValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(FilterValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Filter {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FilterVisitor;
        impl<'de> Visitor<'de> for FilterVisitor {
            type Value = Filter;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of swept key = value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Filter, A::Error> {
                let FilterValue::Table(entries) = FilterValueVisitor.visit_map(map)? else {
                    return Err(de::Error::invalid_type(Unexpected::Map, &self));
                };
                let mut flat = Vec::new();
                flatten(entries, None, &mut flat);
                Ok(Filter(flat))
            }
        }
        deserializer.deserialize_map(FilterVisitor)
    }
}

/// Joins nested `where` tables into dotted keys; a joined key spans from its first part
/// to its last.
fn flatten(
    entries: Vec<(Spanned<String>, Spanned<FilterValue>)>,
    prefix: Option<&Spanned<String>>,
    out: &mut Vec<(Spanned<String>, Spanned<Scalar>)>,
) {
    for (key, value) in entries {
        let key = match prefix {
            Some(prefix) => Spanned::new(
                prefix.span().start..key.span().end,
                format!("{}.{}", prefix.get_ref(), key.get_ref()),
            ),
            None => key,
        };
        let span = value.span();
        match value.into_inner() {
            FilterValue::Scalar(scalar) => out.push((key, Spanned::new(span, scalar))),
            FilterValue::Table(nested) => flatten(nested, Some(&key), out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_source(source: &str) -> Reading {
        let document = DeTable::parse(source).expect("valid TOML");
        read(&document)
    }

    /// The keys serde accepts in a table, from the unknown-key error it gives there.
    fn serde_keys(source: &str) -> Vec<String> {
        let reading = read_source(source);
        let message = &reading
            .errors
            .first()
            .expect("an unknown-key error")
            .message;
        let (_, list) = message.split_once("expected").expect("a list of keys");
        let list = list.split(';').next().unwrap_or_default();
        list.split('"')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect()
    }

    fn names(keys: &[Key]) -> Vec<String> {
        keys.iter().map(|k| k.name.to_string()).collect()
    }

    #[test]
    fn the_key_schema_matches_the_serde_types() {
        assert_eq!(serde_keys("bogus = 1"), names(SCENARIO_KEYS));
        assert_eq!(serde_keys("[workload]\nbogus = 1"), names(WORKLOAD_KEYS));
        assert_eq!(
            serde_keys("[workload.service]\nbogus = 1"),
            names(SERVICE_KEYS)
        );
        assert_eq!(serde_keys("[workload.trace]\nbogus = 1"), names(TRACE_KEYS));
        assert_eq!(serde_keys("[[servers]]\nbogus = 1"), names(SERVER_KEYS));
        assert_eq!(
            serde_keys("[[servers]]\n[servers.resources]\nbogus = 1"),
            names(RESOURCE_KEYS)
        );
        assert_eq!(serde_keys("[[timeline]]\nbogus = 1"), names(TIMELINE_KEYS));
        assert_eq!(serde_keys("[balancer]\nbogus = 1"), names(BALANCER_KEYS));
        assert_eq!(
            serde_keys("[health_check]\nbogus = 1"),
            names(HEALTH_CHECK_KEYS)
        );
        assert_eq!(
            serde_keys("[outlier_detection]\nbogus = 1"),
            names(OUTLIER_DETECTION_KEYS)
        );
        assert_eq!(
            serde_keys("[circuit_breaker]\nbogus = 1"),
            names(CIRCUIT_BREAKER_KEYS)
        );
        assert_eq!(serde_keys("[client]\nbogus = 1"), names(CLIENT_KEYS));
        assert_eq!(
            serde_keys("[workload.sessions]\nbogus = 1"),
            names(SESSIONS_KEYS)
        );
        assert_eq!(
            serde_keys("[workload.sessions.requests]\nbogus = 1"),
            names(LENGTH_KEYS)
        );
        assert_eq!(serde_keys("[affinity]\nbogus = 1"), names(AFFINITY_KEYS));
        assert_eq!(
            serde_keys("[session_store]\nbogus = 1"),
            names(SESSION_STORE_KEYS)
        );
        assert_eq!(
            serde_keys("[client.backoff]\nbogus = 1"),
            names(BACKOFF_KEYS)
        );
        assert_eq!(
            serde_keys("[balancer.slow_start]\nbogus = 1"),
            names(SLOW_START_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler]\nbogus = 1"),
            names(AUTOSCALER_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler.metrics]\nbogus = 1"),
            names(METRICS_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler.provisioning]\nbogus = 1"),
            names(SERVICE_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler.threshold]\nbogus = 1"),
            names(THRESHOLD_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler.target_tracking]\nbogus = 1"),
            names(TARGET_TRACKING_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler.target_tracking.scale_up_limit]\nbogus = 1"),
            names(RATE_LIMIT_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler.target_tracking.scale_down_limit]\nbogus = 1"),
            names(RATE_LIMIT_KEYS)
        );
        assert_eq!(
            serde_keys("[autoscaler.step]\nbogus = 1"),
            names(STEP_SCALING_KEYS)
        );
        assert_eq!(
            serde_keys("[[autoscaler.step.steps]]\nbogus = 1"),
            names(SCALING_STEP_KEYS)
        );
        assert_eq!(
            serde_keys("[[autoscaler.schedule]]\nbogus = 1"),
            names(SCHEDULED_ACTION_KEYS)
        );
        assert_eq!(serde_keys("[discovery]\nbogus = 1"), names(DISCOVERY_KEYS));
        assert_eq!(serde_keys("[slo]\nbogus = 1"), names(SLO_KEYS));
        assert_eq!(
            serde_keys("[[expect]]\nbogus = 1"),
            [
                "metric",
                "min",
                "max",
                "where",
                "check",
                "baseline",
                "min_ratio",
                "max_ratio",
                "min_difference",
                "max_difference"
            ]
        );
    }

    #[test]
    fn a_valid_file_reads_without_errors() {
        let reading = read_source(
            "duration = \"10s\"\nseed = 7\n[workload]\nrate = [[\"0s\", 1], [\"1s\", 2.5]]\n\
             service = { dist = \"uniform\", min = \"1ms\", max = \"2ms\" }\n\
             [[servers]]\nqueue = \"unbounded\"\n[[servers]]\nqueue = 4\n\
             [[expect]]\nmetric = \"p99_ms\"\nmax = 3\nwhere = { a.b = 1, \"c.d\" = \"x\" }\n",
        );
        assert_eq!(reading.errors, []);
        let raw = reading.raw.expect("read");
        assert_eq!(raw.seed.map(|s| s.into_inner()), Some(Int(7)));
        let rate = raw.workload.and_then(|w| w.into_inner().rate);
        let Some(RawRate::Steps(steps)) = rate.map(Spanned::into_inner) else {
            panic!("a schedule")
        };
        assert_eq!(steps.len(), 2);
        let filter = raw.expect[0].get_ref().filter.clone().expect("where");
        let keys: Vec<&str> = filter
            .get_ref()
            .0
            .iter()
            .map(|(k, _)| k.as_ref().as_str())
            .collect();
        assert_eq!(keys, ["a.b", "c.d"]);
    }

    #[test]
    fn every_serde_error_is_reported_with_its_key_path() {
        let source = "seed = \"x\"\nbogus = 1\n[[servers]]\nworkers = 1.5\nwokers = 2\n";
        let reading = read_source(source);
        let paths: Vec<&str> = reading.errors.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            ["seed", "bogus", "servers[0].workers", "servers[0].wokers"]
        );
        assert_eq!(
            reading.errors[3].message,
            "unknown key \"wokers\", expected one of \"name\", \"count\", \"workers\", \
             \"queue\", \"speed\", \"weight\", \"zone\", \"boot\", \"mtbf\", \"mttr\", \"error_fraction\", \"deregistration_delay\", \"resources\", \"pre_stop\", \"price_per_hour\"; did you mean \"workers\"?"
        );
        assert_eq!(reading.errors[2].offset, source.find("1.5").unwrap());
        assert!(reading.raw.is_some());
        assert_eq!(reading.removed.len(), 4);
    }

    #[test]
    fn an_error_inside_an_array_names_the_element() {
        let reading = read_source("[workload]\nrate = [[\"0s\", 1], [\"1s\", \"x\"]]\n");
        assert_eq!(reading.errors.len(), 1);
        assert_eq!(reading.errors[0].path, "workload.rate[1][1]");
        assert_eq!(
            reading.errors[0].message,
            "invalid type: string \"x\", expected a number"
        );
        assert_eq!(reading.removed, ["workload.rate"]);
    }

    #[test]
    fn a_step_must_have_exactly_two_elements() {
        let reading = read_source("[workload]\nrate = [[\"0s\", 1, 2]]\n");
        assert_eq!(reading.errors[0].path, "workload.rate[0]");
        assert!(reading.errors[0].message.contains("invalid length 3"));
    }

    #[test]
    fn paths_quote_keys_that_are_not_bare() {
        let steps = [
            Step::Key("expect".into()),
            Step::Index(1),
            Step::Key("where".into()),
            Step::Key("balancer.algorithm".into()),
        ];
        assert_eq!(
            display_path(&steps),
            "expect[1].where.\"balancer.algorithm\""
        );
    }

    #[test]
    fn scalars_display_as_in_summary_csv() {
        assert_eq!(Scalar::String("random".into()).to_string(), "random");
        assert_eq!(Scalar::Integer(600).to_string(), "600");
        assert_eq!(Scalar::Float(0.5).to_string(), "0.5");
        assert_eq!(Scalar::Float(600.0).to_string(), "600");
        assert_eq!(Scalar::Boolean(true).to_string(), "true");
    }

    #[test]
    fn scalars_read_from_toml_values_in_any_notation() {
        let document = DeTable::parse("a = 0x10\nb = 1_000\nc = 1_0.5e1\nd = [1]").unwrap();
        let scalar = |key: &str| Scalar::from_value(document.get_ref().get(key).unwrap().get_ref());
        assert_eq!(scalar("a"), Some(Scalar::Integer(16)));
        assert_eq!(scalar("b"), Some(Scalar::Integer(1000)));
        assert_eq!(scalar("c"), Some(Scalar::Float(105.0)));
        assert_eq!(scalar("d"), None);
    }
}
