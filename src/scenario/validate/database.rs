//! `[database]`: the data tier — queries, shards, replicas, pools, failures, a reshard.

use toml::Spanned;

use super::balancer::MAX_VIRTUAL_NODES;
use super::checker::Checker;
use super::values::Bound;
use crate::balancer::Algorithm;
use crate::engine::SimDuration;
use crate::model::{
    DatabaseSpec, KeyDist, NodeFailure, NodeRole, PoolSpec, PrimaryFailure, QueryCount,
    ReplicationMode, Reshard, ServiceDist, Sharding,
};
use crate::scenario::raw::{Int, RawDatabase, RawNodeFailure, RawPool, RawReshard};

/// The most keys: the data tier keeps one timestamp per key (8 bytes each).
const MAX_KEYS: i128 = 10_000_000;
/// The most shards and the most replicas per shard.
const MAX_SHARDS: i128 = 1024;
const MAX_REPLICAS: i128 = 64;
/// The most queries of a request.
const MAX_QUERIES: f64 = 10_000.0;

/// Defaults of the optional keys.
const DEFAULT_READ_SHARE: f64 = 0.9;
const DEFAULT_KEYS: u32 = 10_000;
/// Aurora's typical failover is under 30 s; RDS Multi-AZ takes 60–120 s.
const DEFAULT_FAILOVER: SimDuration = SimDuration::from_secs(30);

impl Checker<'_> {
    /// The data tier (`Some(None)` when the section is absent), or `None` after an error.
    /// `duration` is the run's, when known, to check scheduled changes against.
    pub(super) fn database(
        &mut self,
        raw: Option<&Spanned<RawDatabase>>,
        duration: Option<SimDuration>,
    ) -> Option<Option<DatabaseSpec>> {
        let Some(entry) = raw else {
            return Some(None);
        };
        let raw = entry.get_ref();
        let read_share = match &raw.read_share {
            None => Some(DEFAULT_READ_SHARE),
            Some(share) => self.number(share, "database.read_share", Bound::Fraction),
        };
        let queries = self.queries(raw);
        let service = match &raw.service {
            None => {
                self.error(
                    entry.span().start,
                    "database.service",
                    "missing: expected a query's service time distribution, like \
                     { dist = \"exponential\", mean = \"2ms\" }",
                );
                None
            }
            Some(service) => self.service_at(service, "database.service"),
        };
        let keys = self.keys(raw);
        let workers = self.count(raw.workers.as_ref(), "database.workers", 1);
        let queue_limit = match &raw.queue {
            None => Some(None),
            Some(queue) => self.queue(queue, "database.queue"),
        };
        let replicas = self.bounded(
            raw.replicas.as_ref(),
            "database.replicas",
            0,
            MAX_REPLICAS,
            0,
        );
        let replica_balancer = match &raw.replica_balancer {
            None => Some(Algorithm::Random),
            Some(name) => self.choice(
                name,
                "database.replica_balancer",
                "algorithm",
                &Algorithm::ALL.map(Algorithm::name),
                Algorithm::from_name,
            ),
        };
        let replication_lag = self.replication_lag(raw);
        // Asynchronous by default, as PostgreSQL's streaming replication (no
        // `synchronous_standby_names`) and MySQL's (the semi-synchronous plugin off) are.
        let replication = match &raw.replication {
            None => Some(ReplicationMode::Async),
            Some(name) => self.choice(
                name,
                "database.replication",
                "replication mode",
                &ReplicationMode::NAMES,
                ReplicationMode::from_name,
            ),
        };
        let read_your_writes = raw.read_your_writes.as_ref().is_some_and(|r| *r.get_ref());
        let shards = self.bounded(raw.shards.as_ref(), "database.shards", 1, MAX_SHARDS, 1);
        let sharding = self.sharding(raw);
        let pool = match &raw.pool {
            None => Some(None),
            Some(pool) => self.pool(pool).map(Some),
        };
        let failover = match &raw.failover {
            None => Some(DEFAULT_FAILOVER),
            Some(failover) => self.duration(failover, "database.failover"),
        };
        let on_primary_failure = match &raw.on_primary_failure {
            None => Some(PrimaryFailure::Fail),
            Some(name) => self.choice(
                name,
                "database.on_primary_failure",
                "behaviour",
                &["fail", "wait"],
                |name| match name {
                    "fail" => Some(PrimaryFailure::Fail),
                    "wait" => Some(PrimaryFailure::Wait),
                    _ => None,
                },
            ),
        };
        let failures = match (&raw.failures, shards, replicas) {
            (None, _, _) => Some(Vec::new()),
            (Some(list), Some(shards), Some(replicas)) => {
                self.failures(list.get_ref(), shards, replicas, duration)
            }
            _ => None,
        };
        let reshard = match (&raw.reshard, shards) {
            (None, _) => Some(None),
            (Some(reshard), Some(shards)) => self.reshard(reshard, shards, duration).map(Some),
            _ => None,
        };
        Some(Some(DatabaseSpec {
            read_share: read_share?,
            queries: queries?,
            service: service?,
            keys: keys?,
            workers: workers?,
            queue_limit: queue_limit?,
            replicas: replicas?,
            replica_balancer: replica_balancer?,
            replication_lag: replication_lag?,
            replication: replication?,
            read_your_writes,
            shards: shards?,
            sharding: sharding?,
            pool: pool?,
            failover: failover?,
            on_primary_failure: on_primary_failure?,
            failures: failures?,
            reshard: reshard?,
        }))
    }

    /// An optional integer in `[min, max]` with a default.
    fn bounded(
        &mut self,
        value: Option<&Spanned<Int>>,
        path: &str,
        min: i128,
        max: i128,
        default: u32,
    ) -> Option<u32> {
        match value {
            None => Some(default),
            Some(value) => self
                .integer(value, path, min, max)
                .and_then(|n| u32::try_from(n).ok()),
        }
    }

    /// `queries` and `queries_dist`: a constant count, or a Poisson mean.
    fn queries(&mut self, raw: &RawDatabase) -> Option<QueryCount> {
        let poisson = match &raw.queries_dist {
            None => Some(false),
            Some(name) => self.choice(
                name,
                "database.queries_dist",
                "distribution",
                &["constant", "poisson"],
                |name| match name {
                    "constant" => Some(false),
                    "poisson" => Some(true),
                    _ => None,
                },
            ),
        }?;
        let Some(queries) = &raw.queries else {
            return Some(QueryCount::Constant(1));
        };
        let path = "database.queries";
        let offset = queries.span().start;
        let n = self.finite(queries.get_ref().0, offset, path)?;
        if poisson {
            if n > 0.0 && n <= MAX_QUERIES {
                return Some(QueryCount::Poisson(n));
            }
            self.error(
                offset,
                path,
                format!("expected a positive mean of at most {MAX_QUERIES}, found {n}"),
            );
            return None;
        }
        if (0.0..=MAX_QUERIES).contains(&n) && n.fract() == 0.0 {
            return Some(QueryCount::Constant(n as u32));
        }
        self.error(
            offset,
            path,
            format!(
                "expected a non-negative integer of at most {MAX_QUERIES} \
                 (or queries_dist = \"poisson\" for a mean), found {n}"
            ),
        );
        None
    }

    /// `keys`, `key_dist` and `zipf_exponent`.
    fn keys(&mut self, raw: &RawDatabase) -> Option<KeyDist> {
        let count = self.bounded(
            raw.keys.as_ref(),
            "database.keys",
            1,
            MAX_KEYS,
            DEFAULT_KEYS,
        );
        let zipf = match &raw.key_dist {
            None => Some(false),
            Some(name) => self.choice(
                name,
                "database.key_dist",
                "key distribution",
                &["uniform", "zipf"],
                |name| match name {
                    "uniform" => Some(false),
                    "zipf" => Some(true),
                    _ => None,
                },
            ),
        };
        // Ignored by a uniform distribution, so that a sweep over `key_dist` can keep it.
        let exponent = match &raw.zipf_exponent {
            None => Some(1.0),
            Some(exponent) => self.number(exponent, "database.zipf_exponent", Bound::NonNegative),
        };
        let (count, zipf, exponent) = (count?, zipf?, exponent?);
        Some(if zipf {
            KeyDist::Zipf { count, exponent }
        } else {
            KeyDist::Uniform { count }
        })
    }

    /// `replication_lag` (a duration, zero allowed) and `replication_lag_dist`.
    fn replication_lag(&mut self, raw: &RawDatabase) -> Option<ServiceDist> {
        let mean = match &raw.replication_lag {
            None => Some(SimDuration::ZERO),
            Some(lag) => self.duration(lag, "database.replication_lag"),
        };
        let exponential = match &raw.replication_lag_dist {
            None => Some(false),
            Some(name) => self.choice(
                name,
                "database.replication_lag_dist",
                "distribution",
                &["constant", "exponential"],
                |name| match name {
                    "constant" => Some(false),
                    "exponential" => Some(true),
                    _ => None,
                },
            ),
        };
        let (mean, exponential) = (mean?, exponential?);
        if exponential && mean.is_zero() {
            let offset = raw.replication_lag.as_ref().map_or(0, |l| l.span().start);
            self.error(
                offset,
                "database.replication_lag",
                "expected a positive mean for an exponential lag, found \"0s\"",
            );
            return None;
        }
        Some(if exponential {
            ServiceDist::Exponential { mean }
        } else {
            ServiceDist::Constant { mean }
        })
    }

    /// `sharding` and `virtual_nodes`.
    fn sharding(&mut self, raw: &RawDatabase) -> Option<Sharding> {
        let ring = match &raw.sharding {
            None => Some(false),
            Some(name) => self.choice(
                name,
                "database.sharding",
                "sharding",
                &["modulo", "consistent-hash"],
                |name| match name {
                    "modulo" => Some(false),
                    "consistent-hash" => Some(true),
                    _ => None,
                },
            ),
        }?;
        let path = "database.virtual_nodes";
        let virtual_nodes =
            self.count_up_to(raw.virtual_nodes.as_ref(), path, 160, MAX_VIRTUAL_NODES)?;
        Some(if ring {
            Sharding::ConsistentHash { virtual_nodes }
        } else {
            Sharding::Modulo
        })
    }

    fn pool(&mut self, entry: &Spanned<RawPool>) -> Option<PoolSpec> {
        let raw = entry.get_ref();
        let max_connections = match &raw.max_connections {
            None => {
                self.error(
                    entry.span().start,
                    "database.pool.max_connections",
                    "missing: expected a positive integer",
                );
                None
            }
            Some(max) => self.count(Some(max), "database.pool.max_connections", 1),
        };
        let timeout = match &raw.timeout {
            // HikariCP's `connectionTimeout` default.
            None => Some(SimDuration::from_secs(30)),
            Some(timeout) => self.positive_duration(timeout, "database.pool.timeout"),
        };
        Some(PoolSpec {
            max_connections: max_connections?,
            timeout: timeout?,
        })
    }

    fn failures(
        &mut self,
        list: &[Spanned<RawNodeFailure>],
        shards: u32,
        replicas: u32,
        duration: Option<SimDuration>,
    ) -> Option<Vec<NodeFailure>> {
        let mut failures = Some(Vec::new());
        for (index, entry) in list.iter().enumerate() {
            let raw = entry.get_ref();
            let path = format!("database.failures[{index}]");
            let offset = entry.span().start;
            let at = self.change_time(raw.at.as_ref(), offset, &format!("{path}.at"), duration);
            let shard = self.bounded(
                raw.shard.as_ref(),
                &format!("{path}.shard"),
                0,
                i128::from(shards) - 1,
                0,
            );
            let node = match &raw.node {
                None => Some(NodeRole::Primary),
                Some(name) => {
                    let mut names = vec!["primary".to_string()];
                    names.extend((0..replicas).map(|r| format!("replica-{r}")));
                    let names: Vec<&str> = names.iter().map(String::as_str).collect();
                    self.choice(name, &format!("{path}.node"), "node", &names, |name| {
                        if name == "primary" {
                            return Some(NodeRole::Primary);
                        }
                        let n: u32 = name.strip_prefix("replica-")?.parse().ok()?;
                        (n < replicas).then_some(NodeRole::Replica(n))
                    })
                }
            };
            match (&mut failures, at, shard, node) {
                (Some(list), Some(at), Some(shard), Some(node)) => {
                    list.push(NodeFailure { at, shard, node });
                }
                _ => failures = None,
            }
        }
        let mut failures = failures?;
        failures.sort_by_key(|f| f.at);
        Some(failures)
    }

    fn reshard(
        &mut self,
        entry: &Spanned<RawReshard>,
        shards: u32,
        duration: Option<SimDuration>,
    ) -> Option<Reshard> {
        let raw = entry.get_ref();
        let offset = entry.span().start;
        let at = self.change_time(raw.at.as_ref(), offset, "database.reshard.at", duration);
        let to = match &raw.shards {
            None => {
                self.error(
                    offset,
                    "database.reshard.shards",
                    format!("missing: expected a shard count above {shards}"),
                );
                None
            }
            Some(count) => self.integer(
                count,
                "database.reshard.shards",
                i128::from(shards) + 1,
                MAX_SHARDS,
            ),
        };
        Some(Reshard {
            at: at?,
            shards: u32::try_from(to?).ok()?,
        })
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::model::{KeyDist, PrimaryFailure, QueryCount, ReplicationMode, Sharding};
    use crate::scenario::validate::testing::{MINIMAL, assert_bad_fixtures, error, valid};

    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "database_read_share",
            "13:14: database.read_share: ",
            "expected a fraction from 0 to 1, found 1.5",
        ),
        (
            "database_replication",
            "13:15: database.replication: ",
            "unknown replication mode \"synch\", expected one of \"async\", \"sync\"; \
             did you mean \"sync\"?",
        ),
        (
            "database_zero_shards",
            "13:10: database.shards: ",
            "expected a positive integer, found 0",
        ),
        (
            "database_pool_zero",
            "13:28: database.pool.max_connections: ",
            "expected a positive integer, found 0",
        ),
        (
            "database_negative_replicas",
            "13:12: database.replicas: ",
            "expected a non-negative integer, found -1",
        ),
        (
            "database_unknown_node",
            "17:8: database.failures[0].node: ",
            "unknown node \"replica-3\"",
        ),
    ];

    #[test]
    fn every_bad_database_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    fn database(lines: &str) -> crate::model::DatabaseSpec {
        let source = format!(
            "{MINIMAL}[database]\nservice = {{ dist = \"constant\", mean = \"1ms\" }}\n{lines}"
        );
        let scenario = valid(&source);
        scenario.variants[0]
            .run
            .database
            .clone()
            .expect("a database")
    }

    #[test]
    fn defaults_are_one_read_heavy_query_on_one_unreplicated_shard() {
        let db = database("");
        assert_eq!(db.read_share, 0.9);
        assert_eq!(db.queries, QueryCount::Constant(1));
        assert_eq!(db.keys, KeyDist::Uniform { count: 10_000 });
        assert_eq!((db.replicas, db.shards, db.workers), (0, 1, 1));
        assert_eq!(db.sharding, Sharding::Modulo);
        assert_eq!(db.on_primary_failure, PrimaryFailure::Fail);
        assert_eq!(db.replication, ReplicationMode::Async);
        assert_eq!(
            database("replication = \"sync\"").replication,
            ReplicationMode::Sync
        );
        assert!(db.pool.is_none() && db.failures.is_empty() && db.reshard.is_none());
    }

    #[test]
    fn the_ring_is_bounded_as_the_balancers_is() {
        let source = format!(
            "{MINIMAL}[database]\nservice = {{ dist = \"constant\", mean = \"1ms\" }}\n\
             sharding = \"consistent-hash\"\nvirtual_nodes = 4000000000\n"
        );
        let message = error(&source);
        assert!(
            message.contains(
                "database.virtual_nodes: expected a positive integer of at most 10000, found \
                 4000000000"
            ),
            "{message}"
        );
    }

    #[test]
    fn keys_queries_sharding_and_changes_are_read() {
        let db = database(
            "queries = 2.5\nqueries_dist = \"poisson\"\nkey_dist = \"zipf\"\nkeys = 50\n\
             zipf_exponent = 1.1\nsharding = \"consistent-hash\"\nvirtual_nodes = 40\n\
             replicas = 2\nreshard = { at = \"5s\", shards = 3 }\n\
             [[database.failures]]\nat = \"6s\"\nnode = \"replica-1\"\n\
             [[database.failures]]\nat = \"2s\"\n",
        );
        assert_eq!(db.queries, QueryCount::Poisson(2.5));
        assert_eq!(
            db.keys,
            KeyDist::Zipf {
                count: 50,
                exponent: 1.1
            }
        );
        assert_eq!(db.sharding, Sharding::ConsistentHash { virtual_nodes: 40 });
        assert_eq!(db.reshard.map(|r| r.shards), Some(3));
        // Failures come in time order.
        assert_eq!(db.failures.len(), 2);
        assert!(db.failures[0].at < db.failures[1].at);
    }

    #[test]
    fn a_fractional_constant_query_count_or_a_shrinking_reshard_is_refused() {
        let base =
            format!("{MINIMAL}[database]\nservice = {{ dist = \"constant\", mean = \"1ms\" }}\n");
        let message = error(&format!("{base}queries = 1.5\n"));
        assert!(message.contains("database.queries"), "{message}");
        let message = error(&format!(
            "{base}shards = 2\nreshard = {{ at = \"1s\", shards = 2 }}\n"
        ));
        assert!(message.contains("database.reshard.shards"), "{message}");
        let message = error(&format!("{base}reshard = {{ at = \"10s\", shards = 2 }}\n"));
        assert!(message.contains("before the run's end"), "{message}");
    }
}
