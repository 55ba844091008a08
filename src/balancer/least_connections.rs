//! Least connections: the server with the fewest open connections.
//!
//! Open connections are the balancer's own count: `dispatched` adds one, `finished` takes
//! one away. Servers sit in buckets by connection count; each bucket is a FIFO doubly
//! linked list threaded through per-server `prev`/`next` indices, so no event allocates
//! (the bucket vector only grows when a count higher than any before is reached). The
//! lowest non-empty bucket is tracked: a dispatch can only raise it by one, a finish can
//! only lower it, so keeping it costs O(1).
//!
//! Ties: the server that has been in the lowest bucket the longest, i.e. the head of that
//! bucket's FIFO. A server joins the tail of a bucket whenever its count changes, so idle
//! servers take turns (0, 1, 2, 0, ...) instead of server 0 getting every request that
//! arrives while all are idle.
//!
//! A server that leaves is unlinked with its open connections; `finished` (and
//! `dispatched`) for a server that is not in the pool are ignored. Cost: O(1) per pick,
//! dispatch, finish and join; a leave is O(1) unless it empties the lowest bucket, in which
//! case the next non-empty bucket is searched upward, O(highest connection count).

use super::{Backend, Balancer};
use crate::engine::{SimDuration, SimRng};
use crate::id::{RequestKey, ServerId};

const NIL: u32 = u32::MAX;

#[derive(Copy, Clone, Debug)]
struct Node {
    prev: u32,
    next: u32,
    connections: u32,
    member: bool,
}

const DETACHED: Node = Node {
    prev: NIL,
    next: NIL,
    connections: 0,
    member: false,
};

#[derive(Copy, Clone, Debug)]
struct Bucket {
    head: u32,
    tail: u32,
}

const EMPTY: Bucket = Bucket {
    head: NIL,
    tail: NIL,
};

pub struct LeastConnections {
    /// Indexed by `ServerId`.
    nodes: Vec<Node>,
    /// Indexed by connection count.
    buckets: Vec<Bucket>,
    /// The lowest non-empty bucket; meaningful only while `members > 0`.
    min: usize,
    members: usize,
}

impl LeastConnections {
    pub fn with_capacity(capacity: usize) -> Self {
        LeastConnections {
            nodes: Vec::with_capacity(capacity),
            buckets: vec![EMPTY; 16],
            min: 0,
            members: 0,
        }
    }

    fn is_member(&self, server: ServerId) -> bool {
        self.nodes.get(server.index()).is_some_and(|n| n.member)
    }

    /// Appends `id` to the tail of bucket `count` and records the count.
    fn push_back(&mut self, id: u32, count: u32) {
        let c = count as usize;
        if self.buckets.len() <= c {
            self.buckets.resize(c + 1, EMPTY);
        }
        let tail = self.buckets[c].tail;
        let node = &mut self.nodes[id as usize];
        node.connections = count;
        node.prev = tail;
        node.next = NIL;
        if tail == NIL {
            self.buckets[c].head = id;
        } else {
            self.nodes[tail as usize].next = id;
        }
        self.buckets[c].tail = id;
    }

    /// Takes `id` out of its bucket's list.
    fn unlink(&mut self, id: u32) {
        let Node {
            prev,
            next,
            connections,
            ..
        } = self.nodes[id as usize];
        let bucket = &mut self.buckets[connections as usize];
        if prev == NIL {
            bucket.head = next;
        } else {
            self.nodes[prev as usize].next = next;
        }
        if next == NIL {
            bucket.tail = prev;
        } else {
            self.nodes[next as usize].prev = prev;
        }
        let node = &mut self.nodes[id as usize];
        node.prev = NIL;
        node.next = NIL;
    }

    fn bucket_is_empty(&self, count: usize) -> bool {
        self.buckets[count].head == NIL
    }
}

impl Balancer for LeastConnections {
    fn add(&mut self, backend: Backend<'_>) {
        let id = backend.id;
        if self.is_member(id) {
            return;
        }
        if self.nodes.len() <= id.index() {
            self.nodes.resize(id.index() + 1, DETACHED);
        }
        self.nodes[id.index()].member = true;
        self.push_back(id.0, 0);
        self.min = 0;
        self.members += 1;
    }

    fn remove(&mut self, server: ServerId) {
        if !self.is_member(server) {
            return;
        }
        self.unlink(server.0);
        let count = self.nodes[server.index()].connections as usize;
        self.nodes[server.index()] = DETACHED;
        self.members -= 1;
        if self.members > 0 && count == self.min && self.bucket_is_empty(count) {
            // Some member remains, and none is below `count`: the search ends.
            while self.bucket_is_empty(self.min) {
                self.min += 1;
            }
        }
    }

    fn pick(&mut self, _request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        if self.members == 0 {
            return None;
        }
        Some(ServerId(self.buckets[self.min].head))
    }

    fn dispatched(&mut self, server: ServerId) {
        if !self.is_member(server) {
            return;
        }
        let count = self.nodes[server.index()].connections;
        self.unlink(server.0);
        self.push_back(server.0, count + 1);
        if self.min == count as usize && self.bucket_is_empty(count as usize) {
            self.min += 1;
        }
    }

    fn finished(&mut self, server: ServerId, _elapsed: SimDuration, _succeeded: bool) {
        if !self.is_member(server) {
            return;
        }
        let count = self.nodes[server.index()].connections;
        if count == 0 {
            return;
        }
        self.unlink(server.0);
        self.push_back(server.0, count - 1);
        self.min = self.min.min(count as usize - 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::testing::{backend, filled, pick_id as pick, picks_dispatched};
    use proptest::prelude::*;

    fn balancer(servers: u32) -> LeastConnections {
        filled(LeastConnections::with_capacity(servers as usize), servers)
    }

    fn done(balancer: &mut LeastConnections, id: u32) {
        balancer.finished(ServerId(id), SimDuration::from_millis(1), true);
    }

    #[test]
    fn picks_the_least_loaded_server() {
        let mut balancer = balancer(3);
        for (id, load) in [(0, 4), (1, 2), (2, 3)] {
            for _ in 0..load {
                balancer.dispatched(ServerId(id));
            }
        }
        assert_eq!(pick(&mut balancer), Some(1));
        done(&mut balancer, 0);
        done(&mut balancer, 0);
        done(&mut balancer, 0);
        assert_eq!(pick(&mut balancer), Some(0));
    }

    #[test]
    fn idle_servers_take_turns_instead_of_the_first_taking_everything() {
        let mut balancer = balancer(3);
        let mut picks = Vec::new();
        for _ in 0..6 {
            // Each request completes before the next arrives: all servers are idle at
            // every pick.
            let id = pick(&mut balancer).unwrap();
            balancer.dispatched(ServerId(id));
            done(&mut balancer, id);
            picks.push(id);
        }
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn equally_loaded_servers_are_filled_in_turn() {
        let mut balancer = balancer(3);
        let picks = picks_dispatched(&mut balancer, 7);
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2, 0]);
    }

    #[test]
    fn removing_a_busy_server_keeps_the_others_consistent() {
        let mut balancer = balancer(3);
        balancer.dispatched(ServerId(0));
        balancer.dispatched(ServerId(1));
        balancer.dispatched(ServerId(1));
        balancer.dispatched(ServerId(2));
        balancer.dispatched(ServerId(2));
        balancer.remove(ServerId(0));
        // The lowest bucket (1 connection) emptied: the next one holds both remaining.
        assert_eq!(pick(&mut balancer), Some(1));
        // Late completions for the removed server change nothing.
        done(&mut balancer, 0);
        done(&mut balancer, 0);
        assert_eq!(pick(&mut balancer), Some(1));
        done(&mut balancer, 2);
        assert_eq!(pick(&mut balancer), Some(2));
        balancer.add(backend(3));
        assert_eq!(pick(&mut balancer), Some(3));
    }

    #[test]
    fn an_empty_pool_picks_nothing() {
        let mut balancer = balancer(1);
        balancer.dispatched(ServerId(0));
        balancer.remove(ServerId(0));
        assert_eq!(pick(&mut balancer), None);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(u32),
        Remove(u32),
        Dispatch(u32),
        Finish(u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => (0..12u32).prop_map(Op::Add),
            1 => (0..12u32).prop_map(Op::Remove),
            4 => (0..12u32).prop_map(Op::Dispatch),
            3 => (0..12u32).prop_map(Op::Finish),
        ]
    }

    /// The specification, by brute force: per member, its count and when it last changed;
    /// pick the lowest count, the earliest change among equals.
    #[derive(Default)]
    struct Model {
        servers: [Option<(u32, u64)>; 12],
        clock: u64,
    }

    impl Model {
        fn set(&mut self, id: u32, count: u32) {
            self.clock += 1;
            self.servers[id as usize] = Some((count, self.clock));
        }

        fn apply(&mut self, op: &Op) {
            match *op {
                Op::Add(id) if self.servers[id as usize].is_none() => self.set(id, 0),
                Op::Remove(id) => self.servers[id as usize] = None,
                Op::Dispatch(id) => {
                    if let Some((count, _)) = self.servers[id as usize] {
                        self.set(id, count + 1);
                    }
                }
                Op::Finish(id) => {
                    if let Some((count, _)) = self.servers[id as usize]
                        && count > 0
                    {
                        self.set(id, count - 1);
                    }
                }
                Op::Add(_) => {}
            }
        }

        fn pick(&self) -> Option<u32> {
            (0..12u32)
                .filter_map(|id| self.servers[id as usize].map(|key| (key, id)))
                .min()
                .map(|(_, id)| id)
        }
    }

    proptest! {
        #[test]
        fn agrees_with_a_brute_force_model(ops in prop::collection::vec(op(), 0..300)) {
            let mut balancer = LeastConnections::with_capacity(2);
            let mut model = Model::default();
            for op in &ops {
                match *op {
                    Op::Add(id) => balancer.add(backend(id)),
                    Op::Remove(id) => balancer.remove(ServerId(id)),
                    Op::Dispatch(id) => balancer.dispatched(ServerId(id)),
                    Op::Finish(id) => done(&mut balancer, id),
                }
                model.apply(op);
                prop_assert_eq!(pick(&mut balancer), model.pick());
            }
        }
    }
}
