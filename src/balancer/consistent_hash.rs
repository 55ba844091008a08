//! Consistent hashing: each server owns `virtual_nodes × weight` points on a ring of
//! hashes, point `i` of a server at `hash("{name}#{i}")`; a request goes to the owner of
//! the first point clockwise from the hash of the request's key (its client address, or its
//! session with `hash_on = "session"`), wrapping past the top of the ring.
//!
//! Points in proportion to weight are NGINX's `hash ... consistent` (160 points per unit of
//! weight, `ngx_http_upstream_hash_module.c`), so a server's share of clients follows its
//! weight; with weight 1 everywhere the ring is the unweighted one, point for point. A
//! server's points are capped at 2^20 so that one absurd weight cannot exhaust memory:
//! beyond 2^20 / `virtual_nodes` (6,553 at 160) larger weights all count the same.
//!
//! Placing points by instance name (not id) keeps a server in the same place whatever the
//! others are called, and a leave only remaps the clients that were on the leaving server:
//! about 1/N of them, against ~1 - 1/N for ip-hash. Hashes are the stable FNV-1a + fmix64
//! of `hash.rs`; a point's key is hashed in pieces (`name`, `#`, decimal `i`) so that no
//! string is formatted. Names are assumed unique: two servers with the same name collide
//! on every point.
//!
//! Ties: points are ordered by `(position, ServerId)`, so of two points at the same 32-bit
//! position the lower id owns it, and the other takes over if that one leaves: the
//! ring is always exactly the one the current members would build, whatever their order.
//!
//! Ring positions are 32 bits (the top half of the 64-bit hash), as in ketama, the
//! memcached ring this follows: a point is then 8 bytes, and 10,000 servers × 160 points
//! fit in a processor's last-level cache, which decides the speed of a lookup at scale.
//!
//! Layout: the ring is a flat sorted vector plus a bucket index that maps the top bits of a
//! hash to the first point at or after the bucket's start, with about four points per
//! bucket: a lookup is one index read and a short forward scan within one or two cache
//! lines, O(1) expected, where a tree or a binary search over 1.6 million points costs
//! twenty dependent cache misses. A join or leave marks the ring stale; the next pick
//! rebuilds it in O(n·v log(n·v)) — milliseconds for 10,000 servers — so changes at one
//! instant cost one rebuild. `virtual_nodes` of 0 counts as 1, so that every member owns
//! a point.

use super::weights::effective;
use super::{Backend, Balancer, Explanation, HashOn, key_hash};
use crate::engine::{SimRng, prefetch};
use crate::hash::StableHasher;
use crate::id::{RequestKey, ServerId};

/// The most points one server may own.
const MAX_POINTS: u64 = 1 << 20;

pub struct ConsistentHash {
    virtual_nodes: u32,
    /// Every member's points as `(position, owner)`, sorted when `stale` is false.
    ring: Vec<(u32, ServerId)>,
    /// `buckets[b]` is the index in `ring` of the first point whose hash is at or after
    /// `b << shift`.
    buckets: Vec<u32>,
    /// `32 - log2(buckets.len())`.
    shift: u32,
    /// A member joined or left since the ring was last sorted and indexed.
    stale: bool,
    /// Which ids are members, indexed by `ServerId`.
    members: Vec<bool>,
    /// What a request is hashed on: its client address (the default) or its session.
    hash_on: HashOn,
}

impl ConsistentHash {
    pub fn new(virtual_nodes: u32) -> Self {
        ConsistentHash {
            virtual_nodes: virtual_nodes.max(1),
            ring: Vec::new(),
            buckets: Vec::new(),
            shift: 32,
            stale: false,
            members: Vec::new(),
            hash_on: HashOn::Client,
        }
    }

    /// The same ring, hashing requests on `hash_on`.
    pub fn keyed_by(self, hash_on: HashOn) -> Self {
        ConsistentHash { hash_on, ..self }
    }

    /// Where `request` lands on the ring.
    pub(super) fn ring_position(&self, request: &RequestKey) -> u32 {
        position(key_hash(request, self.hash_on))
    }

    /// The owner of the first point at or after `hash` — or, for a reselection's
    /// `attempt`, of the point that many further on (as [`Self::owner_after`]) — walking
    /// clockwise (wrapping once around) past every point whose owner `accept` refuses: how
    /// bounded loads passes a full server's key on. `None` when the ring is empty or every
    /// owner is refused.
    pub(super) fn first_accepted(
        &mut self,
        hash: u32,
        attempt: u32,
        mut accept: impl FnMut(ServerId) -> bool,
    ) -> Option<ServerId> {
        if self.stale {
            self.rebuild();
        }
        let mut start = *self.buckets.get((hash >> self.shift) as usize)? as usize;
        while start < self.ring.len() && self.ring[start].0 < hash {
            start += 1;
        }
        if attempt > 0 && !self.ring.is_empty() {
            start = (start + attempt as usize) % self.ring.len();
        }
        let (wrapped, onward) = self.ring.split_at(start.min(self.ring.len()));
        onward
            .iter()
            .chain(wrapped)
            .map(|&(_, owner)| owner)
            .find(|&owner| accept(owner))
    }

    /// The ring position of point `index` of the server named `name`: the top 32 bits of
    /// `hash(format!("{name}#{index}"))`, without the formatting.
    fn point(name: &str, index: u32) -> u32 {
        position(
            StableHasher::new()
                .write(name.as_bytes())
                .write(b"#")
                .write_decimal(index)
                .finish(),
        )
    }

    /// Sorts the ring and rebuilds the bucket index after membership changed. Out of line,
    /// as Maglev's table rebuild: it runs once per change, not once per pick.
    #[cold]
    #[inline(never)]
    fn rebuild(&mut self) {
        self.ring.sort_unstable();
        self.ring.dedup();
        let points_per_bucket = 4;
        let bits = (self.ring.len() / points_per_bucket)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(1, 31);
        self.shift = 32 - bits;
        self.buckets.clear();
        let mut next = 0usize;
        for bucket in 0..1u32 << bits {
            let start = bucket << self.shift;
            while next < self.ring.len() && self.ring[next].0 < start {
                next += 1;
            }
            self.buckets.push(next as u32);
        }
        self.stale = false;
    }

    /// The owner of the first point at or after `hash`, wrapping around.
    fn owner(&mut self, hash: u32) -> Option<ServerId> {
        if self.stale {
            self.rebuild();
        }
        self.point_at(hash).map(|(_, owner)| owner)
    }

    /// The first point at or after `hash` on the built ring, wrapping around.
    fn point_at(&self, hash: u32) -> Option<(u32, ServerId)> {
        self.ring.get(self.index_at(hash)?).copied()
    }

    /// The index of the first point at or after `hash` on the built ring, wrapping around;
    /// `None` when the ring is empty.
    fn index_at(&self, hash: u32) -> Option<usize> {
        let mut index = *self.buckets.get((hash >> self.shift) as usize)? as usize;
        while index < self.ring.len() && self.ring[index].0 < hash {
            index += 1;
        }
        if self.ring.is_empty() {
            None
        } else if index == self.ring.len() {
            Some(0)
        } else {
            Some(index)
        }
    }

    /// The owner of the point `attempt` places after the first at or after `hash`: Envoy's
    /// ring for a reselection (`ring_hash_lb.cc`: "behave as if this host was not in the
    /// ring", `midp = (midp + attempt) % ring_.size()`). Not always another server: the
    /// next point may be the same server's.
    pub(super) fn owner_after(&mut self, hash: u32, attempt: u32) -> Option<ServerId> {
        if self.stale {
            self.rebuild();
        }
        let index = self.index_at(hash)?;
        let point = (index + attempt as usize) % self.ring.len();
        Some(self.ring[point].1)
    }
}

impl Balancer for ConsistentHash {
    fn add(&mut self, backend: Backend<'_>) {
        let id = backend.id;
        if self.members.get(id.index()).copied().unwrap_or(false) {
            return;
        }
        if self.members.len() <= id.index() {
            self.members.resize(id.index() + 1, false);
        }
        self.members[id.index()] = true;
        let points = (u64::from(self.virtual_nodes) * effective(backend.weight)).min(MAX_POINTS);
        self.ring
            .extend((0..points as u32).map(|i| (Self::point(backend.name, i), id)));
        self.stale = true;
    }

    fn remove(&mut self, server: ServerId) {
        if !self.members.get(server.index()).copied().unwrap_or(false) {
            return;
        }
        self.members[server.index()] = false;
        self.ring.retain(|&(_, owner)| owner != server);
        self.stale = true;
    }

    fn pick(&mut self, request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        self.route(request)
    }

    fn pick_again(
        &mut self,
        request: &RequestKey,
        _rng: &mut SimRng,
        attempt: u32,
    ) -> Option<ServerId> {
        self.owner_after(self.ring_position(request), attempt)
    }

    fn route(&mut self, request: &RequestKey) -> Option<ServerId> {
        self.owner(self.ring_position(request))
    }

    fn wants_prefetch(&self) -> bool {
        true
    }

    /// Starts loading the ring line the pick will scan: with 10,000 servers the ring is
    /// megabytes, and the load then overlaps the events handled before the arrival.
    fn prefetch(&self, request: &RequestKey) {
        if self.stale {
            return;
        }
        let hash = self.ring_position(request);
        if let Some(&start) = self.buckets.get((hash >> self.shift) as usize) {
            prefetch(self.ring.as_ptr().wrapping_add(start as usize));
        }
    }

    /// The key's 64-bit hash and the ring point (its 32-bit position) it landed on.
    fn explain(&self, request: &RequestKey, _picked: ServerId) -> Explanation {
        let hash = key_hash(request, self.hash_on);
        Explanation {
            hash: self
                .point_at(position(hash))
                .map(|(point, _)| (hash, u64::from(point))),
            ..Explanation::default()
        }
    }
}

/// A 64-bit hash's position on the 32-bit ring.
fn position(hash: u64) -> u32 {
    (hash >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::hash::hash_addr;
    use crate::id::ClientAddr;

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

    #[test]
    fn a_reselection_takes_the_point_attempt_places_further_on_as_envoys_ring() {
        let mut ring = balancer(N);
        let mut rng = stream(1, 0, 0);
        let mut elsewhere = 0;
        for i in 0..CLIENTS {
            let key = RequestKey {
                client: ClientAddr(0x0a00_0000 + i),
                session: None,
            };
            let first = ring.pick(&key, &mut rng).unwrap();
            let index = ring.index_at(ring.ring_position(&key)).unwrap();
            assert_eq!(ring.ring[index].1, first);
            for attempt in 1..4u32 {
                let point = (index + attempt as usize) % ring.ring.len();
                let again = ring.pick_again(&key, &mut rng, attempt);
                assert_eq!(
                    again,
                    Some(ring.ring[point].1),
                    "client {i}, attempt {attempt}"
                );
            }
            elsewhere += usize::from(ring.pick_again(&key, &mut rng, 1) != Some(first));
        }
        // The next point is another server's about nine times in ten (ten servers' points
        // interleaved at random): the binomial standard deviation over 10,000 keys is 30,
        // and the bound is twenty of them below.
        assert!(elsewhere > 8_400, "{elsewhere}");
    }

    fn assignment(balancer: &mut ConsistentHash) -> Vec<ServerId> {
        let mut rng = stream(1, 0, 0);
        (0..CLIENTS)
            .map(|i| {
                let key = RequestKey {
                    client: ClientAddr(0x0a00_0000 + i),
                    session: None,
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
        let mut balancer = balancer(3);
        balancer.rebuild();
        let (last, last_owner) = *balancer.ring.last().unwrap();
        let (_, first_owner) = *balancer.ring.first().unwrap();
        assert!(last < u32::MAX);
        assert_eq!(balancer.owner(last + 1), Some(first_owner));
        assert_eq!(balancer.owner(u32::MAX), Some(first_owner));
        assert_eq!(balancer.owner(last), Some(last_owner));
    }

    #[test]
    fn every_lookup_finds_the_first_point_at_or_after_the_hash() {
        let mut balancer = balancer(5);
        balancer.rebuild();
        let ring = balancer.ring.clone();
        let mut rng = stream(4, 0, 0);
        for _ in 0..10_000 {
            let hash: u32 = rand::RngExt::random(&mut rng);
            let expected = ring.iter().find(|p| p.0 >= hash).unwrap_or(&ring[0]).1;
            assert_eq!(balancer.owner(hash), Some(expected));
        }
    }

    #[test]
    fn a_prefetch_changes_no_pick() {
        let mut hinted = balancer(7);
        let mut plain = balancer(7);
        let mut rng = stream(1, 0, 0);
        for client in 0..1_000 {
            let key = RequestKey {
                client: ClientAddr(client),
                session: None,
            };
            hinted.prefetch(&key);
            assert_eq!(hinted.pick(&key, &mut rng), plain.pick(&key, &mut rng));
        }
    }

    #[test]
    fn colliding_points_go_to_the_lower_id_and_pass_on_when_it_leaves() {
        let mut balancer = ConsistentHash::new(1);
        balancer.members = vec![true; 10];
        balancer.ring = vec![(42, ServerId(5)), (42, ServerId(2)), (42, ServerId(9))];
        balancer.stale = true;
        assert_eq!(balancer.owner(0), Some(ServerId(2)));
        balancer.remove(ServerId(2));
        assert_eq!(balancer.owner(0), Some(ServerId(5)));
        balancer.remove(ServerId(5));
        balancer.remove(ServerId(9));
        assert_eq!(balancer.owner(0), None);
    }

    #[test]
    fn servers_with_the_same_name_share_their_points_by_lowest_id() {
        let mut balancer = ConsistentHash::new(8);
        add(&mut balancer, 3, "twin");
        add(&mut balancer, 1, "twin");
        let owners = |b: &mut ConsistentHash| -> Vec<ServerId> {
            (0..64).map(|i| b.owner(i << 26).unwrap()).collect()
        };
        assert!(owners(&mut balancer).iter().all(|&s| s == ServerId(1)));
        balancer.remove(ServerId(1));
        assert!(owners(&mut balancer).iter().all(|&s| s == ServerId(3)));
        assert_eq!(balancer.ring.len(), 8);
    }

    #[test]
    fn points_and_shares_follow_the_weights() {
        let mut balancer = ConsistentHash::new(160);
        for (id, weight) in [(0, 1), (1, 3)] {
            balancer.add(Backend {
                id: ServerId(id),
                name: &format!("web-{id}"),
                weight,
            });
        }
        balancer.rebuild();
        let owned = |id| balancer.ring.iter().filter(|p| p.1 == ServerId(id)).count();
        assert_eq!((owned(0), owned(1)), (160, 480));
        let mut counts = [0u32; 2];
        for server in assignment(&mut balancer) {
            counts[server.index()] += 1;
        }
        // Expected 1/4 and 3/4 of 10,000; the share of 160 points has a relative sd of
        // ~8% (see above), so 2,500 ± 1,000 is over 4 sd.
        assert!((1_500..=3_500).contains(&counts[0]), "{counts:?}");
    }

    #[test]
    fn explain_gives_the_hash_and_the_point_it_landed_on() {
        let mut balancer = balancer(4);
        let key = RequestKey {
            client: ClientAddr(0x0a00_0001),
            session: None,
        };
        let picked = balancer.pick(&key, &mut stream(1, 0, 0)).unwrap();
        let explanation = balancer.explain(&key, picked);
        let (hash, point) = explanation.hash.unwrap();
        assert_eq!(hash, hash_addr(key.client));
        let owner = balancer
            .ring
            .iter()
            .find(|p| u64::from(p.0) == point)
            .unwrap()
            .1;
        assert_eq!(owner, picked);
        assert!(point >= u64::from(position(hash)) || point == u64::from(balancer.ring[0].0));
        assert!(explanation.compared.is_empty());
    }

    #[test]
    fn an_empty_pool_picks_nothing() {
        let mut balancer = balancer(2);
        balancer.remove(ServerId(0));
        balancer.remove(ServerId(1));
        assert!(balancer.ring.is_empty());
        let key = RequestKey {
            client: ClientAddr(1),
            session: None,
        };
        assert_eq!(balancer.pick(&key, &mut stream(1, 0, 0)), None);
    }
}
