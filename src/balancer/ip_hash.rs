//! IP hash: the server at index `hash(client address) % len` of the pool's current order,
//! like `servers[hash(ip) % len(servers)]` — a modulo over the servers in rotation.
//!
//! The same client keeps landing on the same server as long as the pool does not change;
//! any join or leave changes the modulus and so remaps most clients (about `1 - 1/N` of
//! them), which is the weakness consistent hashing fixes. A leave here is any exit from
//! rotation, a failed health check or an ejection included. That is not NGINX's
//! `ip_hash`, which hashes the first three octets of an IPv4 address (a /24 shares a
//! server), weighs its peers, and keeps the modulus over the configured peers: a peer
//! that is down or failing is passed over by hashing again (up to 20 tries, then round
//! robin), so a health-check removal moves only that server's clients in NGINX, and most
//! clients here. Only a change of the configuration (a peer added or deleted) moves most
//! clients in NGINX as it does here. This ip-hash hashes the whole address and ignores
//! weights. When a server leaves, the last
//! server of the pool takes its index (the pool's swap-remove). Ties cannot arise. The hash
//! is the stable FNV-1a + fmix64 of the address's four big-endian bytes (see `hash.rs`).
//! Cost: O(1) per pick, join and leave.

use super::pool::Pool;
use super::{Backend, Balancer, Explanation, HashOn, key_hash, reselection_hash};
use crate::engine::SimRng;
use crate::id::{RequestKey, ServerId};

pub struct IpHash {
    pool: Pool,
    /// What a request is hashed on: its client address (the default) or its session.
    hash_on: HashOn,
}

impl IpHash {
    pub fn with_capacity(capacity: usize) -> Self {
        IpHash {
            pool: Pool::with_capacity(capacity),
            hash_on: HashOn::Client,
        }
    }

    /// The same balancer, hashing requests on `hash_on`.
    pub fn keyed_by(self, hash_on: HashOn) -> Self {
        IpHash { hash_on, ..self }
    }

    /// The server at `hash`'s index of the pool, `None` when it is empty.
    fn at(&self, hash: u64) -> Option<ServerId> {
        if self.pool.is_empty() {
            return None;
        }
        Some(self.pool.get((hash % self.pool.len() as u64) as usize))
    }
}

impl Balancer for IpHash {
    fn add(&mut self, backend: Backend<'_>) {
        self.pool.insert(backend.id);
    }

    fn remove(&mut self, server: ServerId) {
        self.pool.remove(server);
    }

    fn pick(&mut self, request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        self.route(request)
    }

    /// Maglev's reselection hash (Envoy's), modulo the servers in rotation. NGINX's
    /// `ip_hash` likewise hashes again to pass over a peer it already tried (or one down),
    /// though modulo its configured peers.
    fn pick_again(
        &mut self,
        request: &RequestKey,
        _rng: &mut SimRng,
        attempt: u32,
    ) -> Option<ServerId> {
        self.at(reselection_hash(key_hash(request, self.hash_on), attempt))
    }

    fn route(&mut self, request: &RequestKey) -> Option<ServerId> {
        self.at(key_hash(request, self.hash_on))
    }

    /// The client's hash and the pool index it selected.
    fn explain(&self, request: &RequestKey, _picked: ServerId) -> Explanation {
        let hash = key_hash(request, self.hash_on);
        Explanation {
            hash: (!self.pool.is_empty()).then(|| (hash, hash % self.pool.len() as u64)),
            ..Explanation::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::testing::filled;
    use crate::engine::stream;
    use crate::hash::hash_addr;
    use crate::id::ClientAddr;

    fn balancer(servers: u32) -> IpHash {
        filled(IpHash::with_capacity(servers as usize), servers)
    }

    fn key(i: u32) -> RequestKey {
        RequestKey {
            client: ClientAddr(0x0a00_0000 + i),
            session: None,
        }
    }

    fn assignment(balancer: &mut IpHash, clients: u32) -> Vec<ServerId> {
        let mut rng = stream(1, 0, 0);
        (0..clients)
            .map(|i| balancer.pick(&key(i), &mut rng).unwrap())
            .collect()
    }

    #[test]
    fn a_client_always_lands_on_the_same_server() {
        let mut balancer = balancer(7);
        assert_eq!(
            assignment(&mut balancer, 100),
            assignment(&mut balancer, 100)
        );
    }

    #[test]
    fn clients_spread_evenly_over_the_servers() {
        let mut balancer = balancer(10);
        let mut counts = [0u32; 10];
        for server in assignment(&mut balancer, 10_000) {
            counts[server.index()] += 1;
        }
        // Binomial(10000, 1/10): mean 1000, sd 30; 150 is 5 sd.
        for count in counts {
            assert!(count.abs_diff(1000) < 150, "{counts:?}");
        }
    }

    #[test]
    fn removing_one_of_ten_servers_remaps_most_clients() {
        const N: u32 = 10;
        const CLIENTS: u32 = 10_000;
        let mut balancer = balancer(N);
        let before = assignment(&mut balancer, CLIENTS);
        balancer.remove(ServerId(3));
        let after = assignment(&mut balancer, CLIENTS);
        let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
        let fraction = moved as f64 / f64::from(CLIENTS);
        // A client stays only if `h % 10` and `h % 9` happen to index the same server:
        // about 1/N of them, so about 1 - 1/N = 90% move. Anything over half shows the
        // modulo rehash, against ~1/N = 10% for consistent hashing.
        assert!(fraction > 0.5, "only {fraction} of clients moved");
        assert!(after.iter().all(|&s| s != ServerId(3)));
    }

    #[test]
    fn explain_gives_the_hash_and_the_index_it_selected() {
        let mut balancer = balancer(7);
        let picked = balancer.pick(&key(3), &mut stream(1, 0, 0)).unwrap();
        let (hash, index) = balancer.explain(&key(3), picked).hash.unwrap();
        assert_eq!(hash, hash_addr(key(3).client));
        assert_eq!(balancer.pool.get(index as usize), picked);
        assert_eq!(balancer.explain(&key(3), picked).measure, "");
    }

    #[test]
    fn an_empty_pool_picks_nothing() {
        let mut balancer = balancer(0);
        assert_eq!(balancer.pick(&key(0), &mut stream(1, 0, 0)), None);
    }
}
