//! Asynchronous replication, as MySQL and PostgreSQL streaming replicas do it: a write
//! commits on the primary and reaches the replicas a replication lag later. Until then a
//! replica serves the key's previous value, and a read served there is stale.
//!
//! Replicas apply the writes in commit order, whatever their keys: PostgreSQL replays the
//! WAL in order, MySQL with `replica_preserve_commit_order` (on by default since 8.0.27)
//! commits in the source's order. So a write is visible no sooner than the one committed
//! before it: write i, committed at c_i with a lag L_i drawn for it, is visible from
//! V_i = max(V_{i-1}, c_i + L_i) — a long lag holds back every later write, of any key,
//! as a large transaction holds back the replay. With a constant lag this is c_i + L.
//!
//! Per key, when its last committed write is visible (the latest of its writes' V, as V
//! only grows): one `SimTime` per key and one for the log, so a read checks in O(1).

use crate::engine::SimTime;
use crate::model::service::ServiceSampler;

pub struct Replication {
    visible_at: Vec<SimTime>,
    /// When the last write committed, of any key, is visible: the replay's position.
    applied_until: SimTime,
    lag: ServiceSampler,
}

impl Replication {
    pub fn new(keys: u32, lag: ServiceSampler) -> Self {
        Replication {
            visible_at: vec![SimTime::ZERO; keys as usize],
            applied_until: SimTime::ZERO,
            lag,
        }
    }

    /// A write of `key` committed on the primary at `now`.
    pub fn committed(&mut self, key: u32, now: SimTime) {
        self.applied_until = self.applied_until.max(now + self.lag.sample());
        self.visible_at[key as usize] = self.applied_until;
    }

    /// Whether a replica answering a read of `key` at `now` misses a committed write.
    pub fn is_stale(&self, key: u32, now: SimTime) -> bool {
        now < self.visible_from(key)
    }

    /// When every write of `key` committed so far is visible on the replicas.
    pub fn visible_from(&self, key: u32) -> SimTime {
        self.visible_at[key as usize]
    }
}
