//! Consistent hashing: each server owns `virtual_nodes` points on a ring of 64-bit hashes,
//! point `i` of a server at `hash("{name}#{i}")`; a request goes to the owner of the first
//! point clockwise from `hash(client address)`, wrapping past the top of the ring.
//!
//! Placing points by instance name (not id) keeps a server in the same place whatever the
//! others are called, and a leave only remaps the clients that were on the leaving server:
//! about 1/N of them, against ~1 - 1/N for ip-hash. Hashes are the stable FNV-1a + fmix64
//! of `hash.rs`; a point's key is hashed in pieces (`name`, `#`, decimal `i`) so that no
//! string is formatted. Names are assumed unique: two servers with the same name collide
//! on every point.
//!
//! Ties: two points with the same hash (a 64-bit collision) go to the lower `ServerId`;
//! the other point is kept aside and takes over if the winner leaves, so the ring is always
//! exactly the one the current members would build, whatever the order they came in.
//!
//! The ring is a `BTreeMap<u64, ServerId>`: lookup is `range(h..)`, O(log(n·v)), with no
//! allocation; a join or leave inserts or removes `v` points, O(v·log(n·v)). A sorted
//! `Vec` would make lookups a little faster (one contiguous binary search) but every join
//! or leave O(n·v) element moves, and membership changes during a run (autoscaling,
//! failures). `virtual_nodes` of 0 counts as 1, so that every member owns a point.

use std::collections::{BTreeMap, BTreeSet};

use super::hash::{StableHasher, hash_addr};
use super::{Backend, Balancer, RequestKey, ServerId};
use crate::engine::SimRng;

pub struct ConsistentHash {
    virtual_nodes: u32,
    ring: BTreeMap<u64, ServerId>,
    /// Points that lost a collision to a lower id, as (hash, server). Almost always empty.
    shadowed: BTreeSet<(u64, ServerId)>,
    /// The points of each member (sorted, deduplicated), indexed by `ServerId`; `None` for
    /// servers not in the pool.
    points: Vec<Option<Box<[u64]>>>,
}

impl ConsistentHash {
    pub fn new(virtual_nodes: u32) -> Self {
        ConsistentHash {
            virtual_nodes: virtual_nodes.max(1),
            ring: BTreeMap::new(),
            shadowed: BTreeSet::new(),
            points: Vec::new(),
        }
    }

    /// The ring position of point `index` of the server named `name`:
    /// `hash(format!("{name}#{index}"))`, without the formatting.
    fn point(name: &str, index: u32) -> u64 {
        StableHasher::new()
            .write(name.as_bytes())
            .write(b"#")
            .write_decimal(index)
            .finish()
    }

    fn insert_point(&mut self, hash: u64, server: ServerId) {
        match self.ring.get(&hash) {
            None => {
                self.ring.insert(hash, server);
            }
            Some(&owner) if server < owner => {
                self.ring.insert(hash, server);
                self.shadowed.insert((hash, owner));
            }
            Some(_) => {
                self.shadowed.insert((hash, server));
            }
        }
    }

    fn remove_point(&mut self, hash: u64, server: ServerId) {
        if self.ring.get(&hash) != Some(&server) {
            self.shadowed.remove(&(hash, server));
            return;
        }
        let heir = self
            .shadowed
            .range((hash, ServerId(0))..=(hash, ServerId(u32::MAX)))
            .next()
            .copied();
        match heir {
            Some((_, heir)) => {
                self.shadowed.remove(&(hash, heir));
                self.ring.insert(hash, heir);
            }
            None => {
                self.ring.remove(&hash);
            }
        }
    }

    /// The owner of the first point at or after `hash`, wrapping around.
    fn owner(&self, hash: u64) -> Option<ServerId> {
        self.ring
            .range(hash..)
            .next()
            .or_else(|| self.ring.first_key_value())
            .map(|(_, &server)| server)
    }
}

impl Balancer for ConsistentHash {
    fn add(&mut self, backend: Backend<'_>) {
        let id = backend.id;
        if self.points.get(id.index()).is_some_and(Option::is_some) {
            return;
        }
        let mut points: Vec<u64> = (0..self.virtual_nodes)
            .map(|i| Self::point(backend.name, i))
            .collect();
        points.sort_unstable();
        points.dedup();
        for &hash in &points {
            self.insert_point(hash, id);
        }
        if self.points.len() <= id.index() {
            self.points.resize_with(id.index() + 1, || None);
        }
        self.points[id.index()] = Some(points.into_boxed_slice());
    }

    fn remove(&mut self, server: ServerId) {
        let Some(points) = self.points.get_mut(server.index()).and_then(Option::take) else {
            return;
        };
        for &hash in points.iter() {
            self.remove_point(hash, server);
        }
    }

    fn pick(&mut self, request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        self.owner(hash_addr(request.client))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::ClientAddr;
    use crate::engine::stream;

    const N: u32 = 10;
    const CLIENTS: u32 = 10_000;

    fn add(balancer: &mut ConsistentHash, id: u32, name: &str) {
        balancer.add(Backend {
            id: ServerId(id),
            name,
            weight: 1,
        });
    }

    fn balancer(servers: u32) -> ConsistentHash {
        let mut balancer = ConsistentHash::new(160);
        for id in 0..servers {
            add(&mut balancer, id, &format!("web-{id}"));
        }
        balancer
    }

    fn assignment(balancer: &mut ConsistentHash) -> Vec<ServerId> {
        let mut rng = stream(1, 0, 0);
        (0..CLIENTS)
            .map(|i| {
                let key = RequestKey {
                    client: ClientAddr(0x0a00_0000 + i),
                };
                balancer.pick(&key, &mut rng).unwrap()
            })
            .collect()
    }

    #[test]
    fn removing_one_of_ten_servers_remaps_about_a_tenth_of_the_clients() {
        let mut balancer = balancer(N);
        let before = assignment(&mut balancer);
        let removed = ServerId(4);
        balancer.remove(removed);
        let after = assignment(&mut balancer);
        let moved: Vec<usize> = (0..before.len())
            .filter(|&i| before[i] != after[i])
            .collect();
        // Only the removed server's clients move, and all of them must.
        for &i in &moved {
            assert_eq!(
                before[i], removed,
                "client {i} moved off a server that stayed"
            );
        }
        assert_eq!(
            moved.len(),
            before.iter().filter(|&&s| s == removed).count()
        );
        // The moved fraction is the removed server's share of the ring, expected 1/N. That
        // share is the sum of v = 160 arcs of mean 1/(N·v), each roughly exponential, so
        // its relative standard deviation is about 1/sqrt(v) ≈ 8%; sampling 10,000 clients
        // adds sqrt(0.1·0.9/10000)/0.1 ≈ 3%. Bounds of 1/(2N) and 2/N are 50% and 100%
        // away from the mean, over 5 standard deviations each way.
        let fraction = moved.len() as f64 / f64::from(CLIENTS);
        let expected = 1.0 / f64::from(N);
        assert!(
            fraction >= expected / 2.0 && fraction <= 2.0 * expected,
            "{fraction} of clients moved"
        );
    }

    #[test]
    fn a_new_server_only_takes_clients_from_the_others() {
        let mut balancer = balancer(N);
        let before = assignment(&mut balancer);
        add(&mut balancer, N, "web-new");
        let after = assignment(&mut balancer);
        for (b, a) in before.iter().zip(&after) {
            assert!(a == b || *a == ServerId(N));
        }
        let gained = after.iter().filter(|&&s| s == ServerId(N)).count();
        // Expected 1/(N+1) ≈ 909 of 10,000; same reasoning as for a removal.
        assert!((450..=1820).contains(&gained), "{gained}");
    }

    #[test]
    fn clients_spread_over_all_servers() {
        let mut balancer = balancer(N);
        let mut counts = [0u32; N as usize];
        for server in assignment(&mut balancer) {
            counts[server.index()] += 1;
        }
        // Each share is ~1/N with a relative standard deviation of ~8.5% (see above).
        for count in counts {
            assert!((600..=1400).contains(&count), "{counts:?}");
        }
    }

    #[test]
    fn a_server_keeps_its_place_by_name_whatever_its_id() {
        let mut balancer = balancer(5);
        let before = assignment(&mut balancer);
        balancer.remove(ServerId(2));
        add(&mut balancer, 7, "web-2");
        let after = assignment(&mut balancer);
        let renamed = |s: ServerId| if s == ServerId(2) { ServerId(7) } else { s };
        assert_eq!(after, before.into_iter().map(renamed).collect::<Vec<_>>());
    }

    #[test]
    fn lookups_wrap_around_the_top_of_the_ring() {
        let balancer = balancer(3);
        let (&last, _) = balancer.ring.last_key_value().unwrap();
        let (_, &first_owner) = balancer.ring.first_key_value().unwrap();
        assert!(last < u64::MAX);
        assert_eq!(balancer.owner(last + 1), Some(first_owner));
        assert_eq!(balancer.owner(u64::MAX), Some(first_owner));
        assert_eq!(balancer.owner(last), Some(balancer.ring[&last]));
    }

    #[test]
    fn colliding_points_go_to_the_lower_id_and_pass_on_when_it_leaves() {
        let mut balancer = ConsistentHash::new(1);
        balancer.insert_point(42, ServerId(5));
        balancer.insert_point(42, ServerId(2));
        balancer.insert_point(42, ServerId(9));
        assert_eq!(balancer.owner(0), Some(ServerId(2)));
        balancer.remove_point(42, ServerId(9));
        assert_eq!(balancer.owner(0), Some(ServerId(2)));
        balancer.remove_point(42, ServerId(2));
        assert_eq!(balancer.owner(0), Some(ServerId(5)));
        balancer.remove_point(42, ServerId(5));
        assert_eq!(balancer.owner(0), None);
        assert!(balancer.shadowed.is_empty());
    }

    #[test]
    fn servers_with_the_same_name_share_their_points_by_lowest_id() {
        let mut balancer = ConsistentHash::new(8);
        add(&mut balancer, 3, "twin");
        add(&mut balancer, 1, "twin");
        assert!(balancer.ring.values().all(|&s| s == ServerId(1)));
        balancer.remove(ServerId(1));
        assert!(balancer.ring.values().all(|&s| s == ServerId(3)));
        assert_eq!(balancer.ring.len(), 8);
    }

    #[test]
    fn an_empty_pool_picks_nothing() {
        let mut balancer = balancer(2);
        balancer.remove(ServerId(0));
        balancer.remove(ServerId(1));
        assert!(balancer.ring.is_empty());
        let key = RequestKey {
            client: ClientAddr(1),
        };
        assert_eq!(balancer.pick(&key, &mut stream(1, 0, 0)), None);
    }
}
