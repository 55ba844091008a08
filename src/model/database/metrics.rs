//! What the data tier measures, for measured requests only, and how it reports it: the
//! summary figures and a servers.csv row per node.

use super::Visit;
use super::node::Node;
use super::shard::Shard;
use crate::engine::{SimDuration, SimTime};
use crate::stats::{Figure, LatencyStats, RunResult, ServerSummary};

pub struct Metrics {
    /// When measurement started.
    pub warmup_end: SimTime,
    /// Time each query waited for a connection, when there are pools.
    pool_wait: Option<LatencyStats>,
    reads: u64,
    writes: u64,
    /// Reads a replica served before the key's last write reached it, counted by where
    /// they were served even if the replica is promoted before they end.
    stale_reads: u64,
    /// Reads sent to the primary by `read_your_writes`: their key had a write, anyone's,
    /// not yet on the replicas.
    pub fresh_reads: u64,
    /// Nanoseconds requests spent in the tier, entry to last answer, summed.
    pub time_in_tier: u128,
    /// The share of keys the reshard moved, if one happened.
    pub moved_share: Option<f64>,
    /// Measured writes lost at failovers: committed, not yet on the replica promoted.
    pub lost_writes: u64,
}

impl Metrics {
    pub fn new(pools: bool) -> Self {
        Metrics {
            warmup_end: SimTime::ZERO,
            pool_wait: pools.then(LatencyStats::new),
            reads: 0,
            writes: 0,
            stale_reads: 0,
            fresh_reads: 0,
            time_in_tier: 0,
            moved_share: None,
            lost_writes: 0,
        }
    }

    /// The query of `visit` waited `waited` for a connection.
    pub fn pool_waited(&mut self, visit: Option<&Visit>, waited: SimDuration) {
        if let (Some(stats), Some(visit)) = (&mut self.pool_wait, visit)
            && visit.measured
        {
            stats.record(waited);
        }
    }

    /// A measured query was answered: a write, or a read, stale or not.
    pub fn answered(&mut self, write: bool, stale: bool) {
        if write {
            self.writes += 1;
        } else {
            self.reads += 1;
            self.stale_reads += u64::from(stale);
        }
    }

    pub fn report(
        &self,
        result: &mut RunResult,
        end: SimTime,
        nodes: &mut [Node],
        shards: &[Shard],
    ) {
        let figures = &mut result.figures;
        let queries = self.reads + self.writes;
        figures.add(Figure::DbQueries, queries);
        figures.add(Figure::StaleReads, self.stale_reads);
        figures.add(Figure::FreshReads, self.fresh_reads);
        figures.add(Figure::LostWrites, self.lost_writes);
        if self.reads > 0 {
            figures.set(
                Figure::StaleReadShare,
                self.stale_reads as f64 / self.reads as f64,
            );
        }
        if let Some(wait) = &self.pool_wait
            && wait.count() > 0
        {
            figures.set(Figure::PoolWaitMeanMs, wait.mean_ms());
            figures.set(Figure::PoolWaitP99Ms, wait.quantile_ms(0.99));
        }
        let response_time_ns = result.latency.mean_ms() * 1e6 * result.latency.count() as f64;
        if response_time_ns > 0.0 {
            figures.set(
                Figure::DbTimeShare,
                (self.time_in_tier as f64 / response_time_ns).min(1.0),
            );
        }
        let routed: u64 = shards.iter().map(|s| s.queries).sum();
        if routed > 0 {
            let hottest = shards.iter().map(|s| s.queries).max().unwrap_or(0);
            figures.set(Figure::HottestShardShare, hottest as f64 / routed as f64);
        }
        if let Some(moved) = self.moved_share {
            figures.set(Figure::DbMovedShare, moved);
        }
        let (mut busy_total, mut capacity_total) = (0u128, 0u128);
        for node in nodes.iter_mut() {
            let from = node.joined.max(self.warmup_end);
            let busy = node.station.busy_integral(end) - node.busy_at_warmup;
            let capacity =
                u128::from(node.station.workers) * u128::from(end.since(from).as_nanos());
            busy_total += busy;
            capacity_total += capacity;
            result.database.push(ServerSummary {
                name: node.name.clone(),
                group: format!("db-s{}", node.shard),
                zone: String::new(),
                completions: node.completions,
                utilization: if capacity == 0 {
                    0.0
                } else {
                    busy as f64 / capacity as f64
                },
            });
        }
        if capacity_total > 0 {
            figures.set(
                Figure::DbUtilization,
                busy_total as f64 / capacity_total as f64,
            );
        }
    }
}
