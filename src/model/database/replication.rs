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
//!
//! What a failover loses. Under asynchronous replication, PostgreSQL's and MySQL's
//! default, the primary answers a commit before any replica has the write, so when it
//! fails at f, a promoted replica lacks every write with V_i > f: "any transactions that
//! have not been replicated to that standby remain in a 'forked timeline' on the primary,
//! and are effectively unrecoverable" (Patroni, Replication modes). To know which, a
//! replication that may lose writes keeps those still in flight (V_i > now) in commit
//! order, which is V's order: a ring buffer, pruned from the front as writes arrive, whose
//! length is the writes of one lag — no allocation per write once it has grown. A tier
//! that can lose nothing (synchronous replication, no primary failure, no replica to
//! promote) keeps none and costs what it did.

use std::collections::{HashSet, VecDeque};

use crate::engine::SimTime;
use crate::model::service::ServiceSampler;

pub struct Replication {
    visible_at: Vec<SimTime>,
    /// When the last write committed, of any key, is visible: the replay's position.
    applied_until: SimTime,
    lag: ServiceSampler,
    /// The writes not yet visible on the replicas, in commit order, when a failover may
    /// lose them; `None` when none can be lost.
    in_flight: Option<VecDeque<InFlight>>,
}

/// A write committed and not yet on the replicas.
#[derive(Copy, Clone, Debug)]
struct InFlight {
    key: u32,
    /// The shard whose primary committed it.
    shard: u32,
    /// Whether its request is measured.
    measured: bool,
    /// V_i: when it reaches the replicas.
    visible: SimTime,
    /// When its key's previous write (the one a read sees if this one is lost) became
    /// visible.
    before: SimTime,
}

impl Replication {
    /// Replication of `keys` keys with lags drawn from `lag`, keeping the writes in
    /// flight when `may_lose` (a failover may lose them).
    pub fn new(keys: u32, lag: ServiceSampler, may_lose: bool) -> Self {
        Replication {
            visible_at: vec![SimTime::ZERO; keys as usize],
            applied_until: SimTime::ZERO,
            lag,
            in_flight: may_lose.then(VecDeque::new),
        }
    }

    /// A write of `key` committed at `now` by the primary of `shard`, for a measured
    /// request or not.
    pub fn committed(&mut self, key: u32, shard: u32, measured: bool, now: SimTime) {
        self.applied_until = self.applied_until.max(now + self.lag.sample());
        let before = self.visible_at[key as usize];
        self.visible_at[key as usize] = self.applied_until;
        if let Some(in_flight) = &mut self.in_flight {
            while in_flight.front().is_some_and(|w| w.visible <= now) {
                in_flight.pop_front();
            }
            if self.applied_until > now {
                in_flight.push_back(InFlight {
                    key,
                    shard,
                    measured,
                    visible: self.applied_until,
                    before,
                });
            }
        }
    }

    /// The primary of `shard` failed at `now` and one of its replicas will be promoted:
    /// the shard's writes not on the replicas by now (V_i > now) are lost. Each key whose
    /// last write is among them goes back to its last write that survived, and the
    /// replay's position to the last write that survived. Returns how many of the lost
    /// writes were measured. O(writes in flight), at the failure only.
    pub fn lose(&mut self, shard: u32, now: SimTime) -> u64 {
        let Some(in_flight) = &mut self.in_flight else {
            return 0;
        };
        while in_flight.front().is_some_and(|w| w.visible <= now) {
            in_flight.pop_front();
        }
        // Newest first: a lost write gives its key back the visibility of the write before
        // it, unless a later write of the key survives (committed by another shard's
        // primary, the key having moved with a reshard).
        let mut survived: HashSet<u32> = HashSet::new();
        let mut measured = 0;
        for write in in_flight.iter().rev() {
            if write.shard != shard {
                survived.insert(write.key);
            } else {
                measured += u64::from(write.measured);
                if !survived.contains(&write.key) {
                    self.visible_at[write.key as usize] = write.before;
                }
            }
        }
        in_flight.retain(|w| w.shard != shard);
        // Every write left is visible after now; with none, the position is at most now,
        // and now serves as well: every later write is visible after its commit.
        self.applied_until = in_flight.back().map_or(now, |w| w.visible);
        measured
    }

    /// Whether a failover may lose writes (the writes in flight are kept).
    pub fn may_lose(&self) -> bool {
        self.in_flight.is_some()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{SimDuration, stream};
    use crate::model::ServiceDist;

    fn ms(ms: u64) -> SimTime {
        SimTime::ZERO + SimDuration::from_millis(ms)
    }

    /// Replication of 4 keys with a constant lag of 10 ms, keeping the writes in flight.
    fn replication() -> Replication {
        let lag = ServiceDist::Constant {
            mean: SimDuration::from_millis(10),
        };
        Replication::new(4, ServiceSampler::new(&lag, stream(1, 0, 0)), true)
    }

    #[test]
    fn a_failure_loses_the_writes_of_the_last_lag_and_their_keys_go_back() {
        let mut r = replication();
        // Key 0 at 1 ms (visible at 11 ms), key 1 at 2 ms (12 ms), key 0 again at 8 ms
        // (18 ms), key 2 at 9 ms (19 ms), all by shard 0; the primary fails at 15 ms.
        r.committed(0, 0, true, ms(1));
        r.committed(1, 0, true, ms(2));
        r.committed(0, 0, false, ms(8));
        r.committed(2, 0, true, ms(9));
        assert!(r.is_stale(0, ms(15)) && r.is_stale(2, ms(15)));
        // Lost: the writes committed in (15 − 10, 15] ms, at 8 and 9 ms; one of them, at
        // 9 ms, measured.
        assert_eq!(r.lose(0, ms(15)), 1);
        // Key 0 is back to its write of 1 ms, visible since 11 ms; key 2 to none; key 1
        // kept its write. None of them is stale for a lost write.
        assert_eq!(r.visible_from(0), ms(11));
        assert_eq!(r.visible_from(1), ms(12));
        assert_eq!(r.visible_from(2), SimTime::ZERO);
        assert!(!r.is_stale(0, ms(15)) && !r.is_stale(2, ms(15)));
        // The replay no longer waits for the lost writes: one at 16 ms is visible at 26.
        r.committed(3, 0, true, ms(16));
        assert_eq!(r.visible_from(3), ms(26));
        // Each write lost counts once: a second failure at 20 ms loses only that one.
        assert_eq!(r.lose(0, ms(20)), 1);
        assert_eq!(r.lose(0, ms(20)), 0);
    }

    #[test]
    fn only_the_failed_shards_writes_are_lost_and_a_later_write_of_a_key_survives() {
        let mut r = replication();
        // Key 0 by shard 0 at 1 ms, then (moved by a reshard) by shard 1 at 2 ms; key 1 by
        // shard 0 at 3 ms. Shard 0's primary fails at 5 ms.
        r.committed(0, 0, true, ms(1));
        r.committed(0, 1, true, ms(2));
        r.committed(1, 0, true, ms(3));
        assert_eq!(r.lose(0, ms(5)), 2);
        // Key 0's last write, shard 1's, survives, and stays in flight.
        assert_eq!(r.visible_from(0), ms(12));
        assert_eq!(r.visible_from(1), SimTime::ZERO);
        assert_eq!(r.lose(0, ms(5)), 0);
        assert!(r.is_stale(0, ms(11)));
    }

    #[test]
    fn writes_already_on_the_replicas_or_untracked_are_never_lost() {
        let mut r = replication();
        r.committed(0, 0, true, ms(1));
        assert_eq!(r.lose(0, ms(11)), 0, "visible at 11 ms: on the replicas");
        let lag = ServiceDist::Constant {
            mean: SimDuration::from_millis(10),
        };
        let mut sync = Replication::new(4, ServiceSampler::new(&lag, stream(1, 0, 0)), false);
        sync.committed(0, 0, true, ms(1));
        assert_eq!(sync.lose(0, ms(5)), 0);
        assert_eq!(sync.visible_from(0), ms(11));
    }
}
