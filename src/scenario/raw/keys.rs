//! The file's shape written down once more as data, for the sweep, which must tell a
//! valid-but-absent key (sweepable) from a typo. A unit test keeps it in step with the
//! serde types of [`super`].

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
    value("draining"),
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
    value("success_rate_stdev_factor"),
    value("success_rate_minimum_hosts"),
    value("success_rate_request_volume"),
    value("failure_rate"),
    value("minimum_hosts"),
    value("request_volume"),
    value("successful_active_health_check_uneject_host"),
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
    value("request_timeout"),
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
    value("hedge_on_per_try_timeout"),
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
    value("replication"),
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

/// Top-level keys, in the order of [`RawScenario`](super::RawScenario)'s fields.
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

#[cfg(test)]
mod tests {
    use toml::de::DeTable;

    use super::super::read::read;
    use super::*;

    /// The keys serde accepts in a table, from the unknown-key error it gives there.
    fn serde_keys(source: &str) -> Vec<String> {
        let reading = read(&DeTable::parse(source).expect("valid TOML"));
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
}
