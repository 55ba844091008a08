//! Consistent hashing with bounded loads (Mirrokni, Thorup and Zadimoghaddam, SODA 2018),
//! as HAProxy's `hash-balance-factor` runs it.
//!
//! The ring is [`ConsistentHash`]'s (points in proportion to weight, placed by name). Each
//! server has a capacity: with `m` connections open over the pool and the new request,
//! `⌈c × (m + 1) × w / W⌉` for a server of weight `w` out of a total `W` (`c` the
//! `balance_factor`, > 1). A request goes to the first server clockwise from its hash that
//! is below its capacity: a full server passes the key on. HAProxy computes the same
//! bound (`chash_server_is_eligible`: `(served + 1) × factor` slots shared by weight) and
//! walks its tree clockwise past full servers likewise. Envoy's `hash_balance_factor` (in
//! percent, at least 100) sets a like bound but passes the key on differently: a full
//! host's key tries the other hosts in a random order seeded by the key's hash, not the
//! next clockwise, so the keys of one full server spread over all the others rather than
//! onto its neighbours on the ring.
//!
//! Why `c > 1`: the capacities then sum to more than `m + 1`, so some server always has
//! room, and at most `1/c` of the servers can be full, so the walk passes an expected
//! `O(1 / (1 - 1/c))` servers — O(1) for moderate `c` (the paper's bound is
//! `O(1/(c - 1)^2)` probes with linear probing). The load counted is the open connections
//! this balancer instance dispatched, as HAProxy's `served`, counted for a server out of
//! the pool too, so that one coming back holds what it still serves; `m` is the members'.
//!
//! [`Balancer::route`] answers where a key maps when no server is full — the ring's owner
//! — so that the share of keys a membership change moves is measured as for the ring.

use super::consistent_hash::ConsistentHash;
use super::weights::effective;
use super::{Backend, Balancer, Explanation, HashOn};
use crate::engine::{SimRng, prefetch};
use crate::id::{RequestKey, ServerId};

pub struct ConsistentHashBounded {
    ring: ConsistentHash,
    balance_factor: f64,
    /// Per server id: what the walk and the counts read of it, side by side.
    servers: Vec<Slot>,
    /// The members' open connections.
    total_load: u64,
    total_weight: u64,
}

#[derive(Copy, Clone, Debug, Default)]
struct Slot {
    /// Open connections dispatched by this balancer, in the pool or out of it.
    load: u32,
    /// Its effective weight, 0 for non-members.
    weight: u64,
}

impl ConsistentHashBounded {
    /// An empty pool on a ring of `virtual_nodes` points per unit of weight; no server
    /// takes more than `balance_factor` (> 1, checked by validation) times its share.
    pub fn new(virtual_nodes: u32, balance_factor: f64, hash_on: HashOn) -> Self {
        ConsistentHashBounded {
            ring: ConsistentHash::new(virtual_nodes).keyed_by(hash_on),
            balance_factor,
            servers: Vec::new(),
            total_load: 0,
            total_weight: 0,
        }
    }

    /// The first server with room clockwise from `request`'s point on the ring — or, for
    /// a reselection's `attempt`, from the point that many further on (the ring's own
    /// reselection), walking past full servers from there.
    fn first_with_room(&mut self, request: &RequestKey, attempt: u32) -> Option<ServerId> {
        let hash = self.ring.ring_position(request);
        let (factor, total_load, total_weight) =
            (self.balance_factor, self.total_load, self.total_weight);
        let servers = &self.servers;
        self.ring.first_accepted(hash, attempt, |server| {
            let Slot { load, weight } = servers[server.index()];
            u64::from(load) < capacity(factor, total_load, weight, total_weight)
        })
    }

    /// The most connections `server` may hold once the next request is placed.
    #[cfg(test)]
    fn capacity(&self, server: ServerId) -> u64 {
        capacity(
            self.balance_factor,
            self.total_load,
            self.servers[server.index()].weight,
            self.total_weight,
        )
    }
}

/// `⌈c × (m + 1) × w / W⌉`: the capacity of a server of weight `weight` when `load`
/// connections are open over a pool weighing `total_weight`.
fn capacity(factor: f64, load: u64, weight: u64, total_weight: u64) -> u64 {
    (factor * (load + 1) as f64 * weight as f64 / total_weight.max(1) as f64).ceil() as u64
}

impl Balancer for ConsistentHashBounded {
    fn add(&mut self, backend: Backend<'_>) {
        let index = backend.id.index();
        if self.servers.len() <= index {
            self.servers.resize(index + 1, Slot::default());
        }
        let slot = &mut self.servers[index];
        if slot.weight != 0 {
            return;
        }
        slot.weight = effective(backend.weight);
        self.total_weight += slot.weight;
        self.total_load += u64::from(slot.load);
        self.ring.add(backend);
    }

    fn remove(&mut self, server: ServerId) {
        let Some(slot) = self
            .servers
            .get_mut(server.index())
            .filter(|s| s.weight != 0)
        else {
            return;
        };
        self.total_weight -= slot.weight;
        self.total_load -= u64::from(slot.load);
        slot.weight = 0;
        self.ring.remove(server);
    }

    fn pick(&mut self, request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        self.first_with_room(request, 0)
    }

    fn pick_again(
        &mut self,
        request: &RequestKey,
        _rng: &mut SimRng,
        attempt: u32,
    ) -> Option<ServerId> {
        self.first_with_room(request, attempt)
    }

    fn route(&mut self, request: &RequestKey) -> Option<ServerId> {
        self.ring.route(request)
    }

    fn dispatched(&mut self, server: ServerId) {
        if let Some(slot) = self.servers.get_mut(server.index()) {
            slot.load += 1;
            self.total_load += u64::from(slot.weight != 0);
        }
    }

    fn prefetch_server(&self, server: ServerId) {
        prefetch(self.servers.as_ptr().wrapping_add(server.index()));
    }

    fn finished(&mut self, server: ServerId, _elapsed: crate::engine::SimDuration, _ok: bool) {
        if let Some(slot) = self.servers.get_mut(server.index())
            && slot.load > 0
        {
            slot.load -= 1;
            self.total_load -= u64::from(slot.weight != 0);
        }
    }

    fn wants_prefetch(&self) -> bool {
        true
    }

    fn prefetch(&self, request: &RequestKey) {
        self.ring.prefetch(request);
    }

    /// The ring's hash and point, and the open connections of the server picked.
    fn explain(&self, request: &RequestKey, picked: ServerId) -> Explanation {
        Explanation {
            measure: "open connections",
            compared: vec![(picked, f64::from(self.servers[picked.index()].load))],
            ..self.ring.explain(request, picked)
        }
    }

    #[cfg(test)]
    fn open_requests(&self, server: ServerId) -> Option<u32> {
        Some(self.servers.get(server.index()).map_or(0, |s| s.load))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::engine::stream;
    use crate::id::ClientAddr;

    fn balancer(servers: u32, factor: f64) -> ConsistentHashBounded {
        let mut balancer = ConsistentHashBounded::new(160, factor, HashOn::Client);
        for id in 0..servers {
            balancer.add(Backend {
                id: ServerId(id),
                name: &format!("web-{id}"),
                weight: 1,
            });
        }
        balancer
    }

    fn key(client: u32) -> RequestKey {
        RequestKey {
            client: ClientAddr(client),
            session: None,
        }
    }

    #[test]
    fn one_hot_key_overflows_clockwise_instead_of_piling_on_one_server() {
        let mut balancer = balancer(4, 1.25);
        let mut rng = stream(1, 0, 0);
        let first = balancer.pick(&key(42), &mut rng).unwrap();
        let mut counts = [0u32; 4];
        for _ in 0..100 {
            let server = balancer.pick(&key(42), &mut rng).unwrap();
            balancer.dispatched(server);
            counts[server.index()] += 1;
        }
        // With 100 open connections a server's capacity is ⌈1.25 × 100 / 4⌉ = 32: the
        // key's own server fills to its cap, and the rest passes on.
        assert_eq!(counts[first.index()], 32, "{counts:?}");
        assert!(counts.iter().all(|&c| c <= 32), "{counts:?}");
    }

    #[test]
    fn a_reselection_starts_the_walk_at_the_rings_reselected_point() {
        // With no load no server is full: the reselection is the ring's own.
        let mut bounded = balancer(10, 1.25);
        let mut rng = stream(1, 0, 0);
        for client in 0..2_000 {
            for attempt in 1..3 {
                let ring = bounded.ring.pick_again(&key(client), &mut rng, attempt);
                let again = bounded.pick_again(&key(client), &mut rng, attempt);
                assert_eq!(again, ring, "client {client}, attempt {attempt}");
            }
        }
    }

    #[test]
    fn with_no_load_a_key_goes_where_the_ring_sends_it() {
        let mut bounded = balancer(10, 1.25);
        let mut ring = ConsistentHash::new(160);
        for id in 0..10 {
            ring.add(Backend {
                id: ServerId(id),
                name: &format!("web-{id}"),
                weight: 1,
            });
        }
        let mut rng = stream(1, 0, 0);
        for client in 0..1000 {
            assert_eq!(
                bounded.pick(&key(client), &mut rng),
                ring.pick(&key(client), &mut rng)
            );
        }
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Pick for a client and dispatch there.
        Request(u32),
        /// The `n`-th open connection (modulo) finishes.
        Finish(usize),
        /// Member `n` (modulo the members) leaves, if the pool keeps one.
        Leave(u32),
        /// Server `n` (modulo those out of the pool) comes back.
        Return(u32),
        /// A new server joins, with this weight.
        Join(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u32..50).prop_map(Op::Request),
            3 => any::<usize>().prop_map(Op::Finish),
            1 => any::<u32>().prop_map(Op::Leave),
            1 => any::<u32>().prop_map(Op::Return),
            1 => (1u32..4).prop_map(Op::Join),
        ]
    }

    proptest! {
        /// Whatever the sequence of requests, completions, joins, leaves and returns, no
        /// server is given a connection that takes it past its capacity, every server's
        /// load is its open connections, in the pool or out, and the total is the members'.
        #[test]
        fn no_server_ever_exceeds_its_cap(
            factor in 1.05f64..3.0,
            ops in prop::collection::vec(op(), 1..400),
        ) {
            let mut balancer = balancer(5, factor);
            let mut next_id = 5u32;
            let mut members: Vec<ServerId> = (0..5).map(ServerId).collect();
            let mut out: Vec<ServerId> = Vec::new();
            let mut open: Vec<ServerId> = Vec::new();
            let mut rng = stream(1, 0, 0);
            for op in ops {
                match op {
                    Op::Request(client) => {
                        let cap = |b: &ConsistentHashBounded, s: ServerId| b.capacity(s);
                        let server = balancer.pick(&key(client), &mut rng).expect("a member has room");
                        let limit = cap(&balancer, server);
                        balancer.dispatched(server);
                        open.push(server);
                        prop_assert!(u64::from(balancer.servers[server.index()].load) <= limit);
                        prop_assert!(members.contains(&server));
                    }
                    Op::Finish(n) if !open.is_empty() => {
                        let server = open.swap_remove(n % open.len());
                        balancer.finished(server, crate::engine::SimDuration::ZERO, true);
                    }
                    Op::Finish(_) => {}
                    Op::Leave(n) if members.len() > 1 => {
                        let server = members.remove(n as usize % members.len());
                        balancer.remove(server);
                        out.push(server);
                    }
                    Op::Leave(_) => {}
                    Op::Return(n) if !out.is_empty() => {
                        let id = out.remove(n as usize % out.len());
                        balancer.add(Backend { id, name: &format!("web-{}", id.0), weight: 1 });
                        members.push(id);
                    }
                    Op::Return(_) => {}
                    Op::Join(weight) => {
                        let id = ServerId(next_id);
                        next_id += 1;
                        balancer.add(Backend { id, name: &format!("web-{}", id.0), weight });
                        members.push(id);
                    }
                }
                for id in 0..next_id {
                    let count = open.iter().filter(|&&s| s == ServerId(id)).count();
                    prop_assert_eq!(balancer.open_requests(ServerId(id)), Some(count as u32));
                }
                let total: u64 = members.iter().map(|s| u64::from(balancer.servers[s.index()].load)).sum();
                prop_assert_eq!(total, balancer.total_load);
            }
        }
    }
}
