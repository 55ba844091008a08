//! Asynchronous replication, as MySQL and PostgreSQL streaming replicas do it: a write
//! commits on the primary and reaches the replicas a replication lag later. Until then a
//! replica serves the key's previous value, and a read served there is stale.
//!
//! Per key, the instant its last committed write becomes visible on the replicas (the
//! latest over its writes, so a write with a short lag does not hide an earlier one still
//! in flight). One `SimTime` per key: a read checks in O(1).

use crate::engine::SimTime;
use crate::model::service::ServiceSampler;

pub struct Replication {
    visible_at: Vec<SimTime>,
    lag: ServiceSampler,
}

impl Replication {
    pub fn new(keys: u32, lag: ServiceSampler) -> Self {
        Replication {
            visible_at: vec![SimTime::ZERO; keys as usize],
            lag,
        }
    }

    /// A write of `key` committed on the primary at `now`.
    pub fn committed(&mut self, key: u32, now: SimTime) {
        let visible = now + self.lag.sample();
        let slot = &mut self.visible_at[key as usize];
        *slot = (*slot).max(visible);
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
