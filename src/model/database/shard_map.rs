//! Which shard holds a key: the seed's `user_id % shard_count`, or consistent hashing.
//!
//! Consistent hashing reuses the balancer of the same name ([`ConsistentHash`]): shards
//! are its backends (`shard-0`, `shard-1`, ... placed on the ring by name with
//! `virtual_nodes` points each) and a key is looked up as a client address, so a key
//! hashes exactly as a client does in front of the web tier. Adding a shard then moves
//! only the keys the newcomer's points take (about 1/(n+1) of them), where modulo moves
//! every key whose remainder changes (about n/(n+1)): the reason Dynamo, Cassandra and
//! memcached clients use a ring (DeCandia et al., "Dynamo", SOSP 2007, §4.2).

use super::spec::Sharding;
use crate::balancer::{Backend, Balancer, ConsistentHash};
use crate::id::{ClientAddr, RequestKey, ServerId};

pub struct ShardMap {
    shards: u32,
    ring: Option<ConsistentHash>,
}

impl ShardMap {
    pub fn new(sharding: Sharding, shards: u32) -> Self {
        let ring = match sharding {
            Sharding::Modulo => None,
            Sharding::ConsistentHash { virtual_nodes } => Some(ConsistentHash::new(virtual_nodes)),
        };
        let mut map = ShardMap { shards: 0, ring };
        map.grow_to(shards);
        map
    }

    /// Adds shards up to `shards` in all.
    pub fn grow_to(&mut self, shards: u32) {
        while self.shards < shards {
            if let Some(ring) = &mut self.ring {
                ring.add(Backend {
                    id: ServerId(self.shards),
                    name: &format!("shard-{}", self.shards),
                    weight: 1,
                });
            }
            self.shards += 1;
        }
    }

    /// The shard holding `key`.
    pub fn shard(&mut self, key: u32) -> u32 {
        match &mut self.ring {
            None => key % self.shards,
            Some(ring) => {
                let key = RequestKey {
                    client: ClientAddr(key),
                    session: None,
                };
                ring.route(&key).expect("a ring of at least one shard").0
            }
        }
    }

    /// The share of the keys `0..keys` that change shard when the count grows to `shards`;
    /// the map then has `shards` shards. O(keys), once per reshard.
    pub fn reshard(&mut self, shards: u32, keys: u32) -> f64 {
        let before: Vec<u32> = (0..keys).map(|key| self.shard(key)).collect();
        self.grow_to(shards);
        let moved = (0..keys).filter(|&key| self.shard(key) != before[key as usize]);
        moved.count() as f64 / f64::from(keys.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RING: Sharding = Sharding::ConsistentHash { virtual_nodes: 160 };

    #[test]
    fn a_key_stays_on_its_shard_until_the_count_changes() {
        for sharding in [Sharding::Modulo, RING] {
            let mut map = ShardMap::new(sharding, 4);
            let first: Vec<u32> = (0..1000).map(|k| map.shard(k)).collect();
            let again: Vec<u32> = (0..1000).map(|k| map.shard(k)).collect();
            assert_eq!(first, again);
            assert!(first.iter().all(|&s| s < 4));
            for shard in 0..4 {
                assert!(first.contains(&shard), "{sharding:?}: shard {shard} empty");
            }
        }
    }

    #[test]
    fn adding_a_shard_moves_most_keys_under_modulo_and_few_on_a_ring() {
        let keys = 100_000;
        // Modulo from 4 to 5 shards keeps a key only when k % 4 == k % 5, i.e. k % 20 < 4:
        // exactly 4/5 of the keys move.
        let modulo = ShardMap::new(Sharding::Modulo, 4).reshard(5, keys);
        assert!((modulo - 0.8).abs() < 1e-9, "{modulo}");
        // The ring: the new shard takes about 1/5 of it. With 160 points a shard's arc
        // has a relative spread of about 1/sqrt(160) = 8%, so 0.2 ± 0.05 is generous but
        // still far below modulo's 0.8.
        let ring = ShardMap::new(RING, 4).reshard(5, keys);
        assert!((ring - 0.2).abs() < 0.05, "{ring}");
    }
}
