//! First: the first server, in id order, with a free slot under `max_connections` — HAProxy's
//! `balance first`, the consolidation algorithm. "The first server with available
//! connection slots receives the connection. The servers are chosen from the lowest
//! numeric identifier to the highest ... Once a server reaches its maxconn value, the next
//! server is used." Traffic packs onto as few servers as possible, so that the rest can be
//! stopped or scaled in; the price is that the first servers run at their limit.
//!
//! Open connections are the balancer's own count (`dispatched` +1, `finished` -1, for a
//! server out of the pool too, so that one coming back is as full as it is) and a server
//! is full at `max_connections` of them. When every server is full HAProxy holds the
//! request in the backend queue until a connection ends somewhere, and the first server to
//! free a slot takes it. A balancer here must name a server at once, so it names the one
//! with the fewest open connections (ties: the lowest id), which is where a slot is likely
//! to free first; its server queue then stands in for HAProxy's backend queue.
//!
//! Members sit in an [`IndexedHeap`] keyed by `(full, connections if full else 0)`, ties
//! by lowest id: its head is the first server with a free slot, or, when all are full, the
//! least loaded. A pick is O(1); a dispatch, finish, join or leave O(log n).

use super::indexed_heap::IndexedHeap;
use super::{Backend, Balancer, Explanation};
use crate::engine::{SimDuration, SimRng, prefetch};
use crate::id::{RequestKey, ServerId};

pub struct First {
    /// Open connections per `ServerId`, in the pool or out of it.
    connections: Vec<u32>,
    /// The members, by their key.
    heap: IndexedHeap<(bool, u32)>,
    max_connections: u32,
}

impl First {
    /// `max_connections` of 0 counts as 1: every server then takes one at a time.
    pub fn new(capacity: usize, max_connections: u32) -> Self {
        First {
            connections: Vec::with_capacity(capacity),
            heap: IndexedHeap::with_capacity(capacity),
            max_connections: max_connections.max(1),
        }
    }

    fn key(&self, connections: u32) -> (bool, u32) {
        if connections >= self.max_connections {
            (true, connections)
        } else {
            (false, 0)
        }
    }

    /// Records `server`'s `connections` and, if it is a member, its key.
    fn set(&mut self, server: ServerId, connections: u32) {
        self.connections[server.index()] = connections;
        if self.heap.contains(server) {
            self.heap.insert(server, self.key(connections));
        }
    }
}

impl Balancer for First {
    fn add(&mut self, backend: Backend<'_>) {
        let id = backend.id;
        if self.connections.len() <= id.index() {
            self.connections.resize(id.index() + 1, 0);
        }
        if !self.heap.contains(id) {
            self.heap.insert(id, self.key(self.connections[id.index()]));
        }
    }

    fn remove(&mut self, server: ServerId) {
        self.heap.remove(server);
    }

    fn pick(&mut self, _request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        self.heap.peek().map(|(id, _)| id)
    }

    fn dispatched(&mut self, server: ServerId) {
        if let Some(&count) = self.connections.get(server.index()) {
            self.set(server, count + 1);
        }
    }

    fn prefetch_server(&self, server: ServerId) {
        prefetch(self.connections.as_ptr().wrapping_add(server.index()));
    }

    fn finished(&mut self, server: ServerId, _elapsed: SimDuration, _succeeded: bool) {
        if let Some(&count) = self.connections.get(server.index()) {
            self.set(server, count.saturating_sub(1));
        }
    }

    /// The members looked at in id order, up to the one picked, with their connections:
    /// the full ones passed over, then the pick (every member when all were full).
    fn explain(&self, _request: &RequestKey, picked: ServerId) -> Explanation {
        let all_full = self.heap.peek().is_some_and(|(_, (full, _))| full);
        let compared = (0..self.connections.len())
            .map(|i| (ServerId(i as u32), self.connections[i]))
            .filter(|&(id, _)| self.heap.contains(id))
            .take_while(|&(id, _)| all_full || id <= picked)
            .map(|(id, count)| (id, f64::from(count)))
            .collect();
        Explanation {
            measure: "open connections",
            compared,
            hash: None,
        }
    }

    #[cfg(test)]
    fn open_requests(&self, server: ServerId) -> Option<u32> {
        Some(self.connections.get(server.index()).copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::testing::{KEY, backend, pick_id as pick, picks_dispatched};

    fn balancer(servers: u32, max: u32) -> First {
        let mut balancer = First::new(servers as usize, max);
        for id in 0..servers {
            balancer.add(backend(id));
        }
        balancer
    }

    #[test]
    fn fills_server_zero_before_server_one() {
        let mut balancer = balancer(3, 4);
        let picks = picks_dispatched(&mut balancer, 10);
        assert_eq!(picks, vec![0, 0, 0, 0, 1, 1, 1, 1, 2, 2]);
        // A slot frees on server 0: it is first again.
        balancer.finished(ServerId(0), SimDuration::ZERO, true);
        assert_eq!(pick(&mut balancer), Some(0));
    }

    #[test]
    fn when_all_are_full_the_least_loaded_takes_the_overflow() {
        let mut balancer = balancer(2, 2);
        picks_dispatched(&mut balancer, 4);
        balancer.dispatched(ServerId(0));
        // Both full: server 0 holds 3, server 1 holds 2.
        assert_eq!(pick(&mut balancer), Some(1));
        balancer.dispatched(ServerId(1));
        // 3 and 3: the lowest id.
        assert_eq!(pick(&mut balancer), Some(0));
        let explanation = balancer.explain(&KEY, ServerId(0));
        assert_eq!(
            explanation.compared,
            vec![(ServerId(0), 3.0), (ServerId(1), 3.0)]
        );
    }

    #[test]
    fn a_removed_server_is_skipped_and_explain_shows_the_full_ones_passed_over() {
        let mut balancer = balancer(4, 1);
        picks_dispatched(&mut balancer, 2);
        balancer.remove(ServerId(2));
        assert_eq!(pick(&mut balancer), Some(3));
        let explanation = balancer.explain(&KEY, ServerId(3));
        assert_eq!(
            explanation.compared,
            vec![(ServerId(0), 1.0), (ServerId(1), 1.0), (ServerId(3), 0.0)]
        );
        balancer.finished(ServerId(2), SimDuration::ZERO, true);
        balancer.remove(ServerId(0));
        balancer.remove(ServerId(1));
        balancer.remove(ServerId(3));
        assert_eq!(pick(&mut balancer), None);
    }

    #[test]
    fn a_server_that_comes_back_holds_what_it_still_serves() {
        let mut balancer = balancer(2, 2);
        assert_eq!(picks_dispatched(&mut balancer, 2), vec![0, 0]);
        // Server 0 leaves full; one of its two ends while it is out.
        balancer.remove(ServerId(0));
        balancer.finished(ServerId(0), SimDuration::ZERO, true);
        balancer.add(backend(0));
        // One slot free: it is first again, then full after one more.
        assert_eq!(picks_dispatched(&mut balancer, 2), vec![0, 1]);
        assert_eq!(balancer.open_requests(ServerId(0)), Some(2));
    }
}
