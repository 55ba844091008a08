//! Join-idle-queue (Lu, Xie, Kliot, Geller, Larus and Greenberg, "Join-Idle-Queue: A novel
//! load balancing algorithm for dynamically scalable web services", Performance 2011).
//!
//! Servers that become idle report it to a balancer ([`Balancer::server_idle`]), which
//! keeps them in its idle queue (the paper's I-queue). A request goes to the server at the
//! head of the queue, which leaves it; with the queue empty it goes to a server drawn
//! uniformly at random (one `random_range(0..len)`), as the paper's dispatcher does. The
//! point is that the balancer learns of idle servers off the request path, so that with
//! several balancers none has to ask the servers for their load at each request; with one
//! balancer told of every idle server no request waits behind another while a server idles.
//!
//! A server that joins the pool is not queued by joining: like any idle server it reports
//! to one balancer (the world reports a newcomer, or a server back in rotation, if it is
//! idle, and with several balancers only one of them hears it, as in the paper). A server
//! is never in the queue twice (a second report while queued changes nothing), a server
//! that leaves is taken out of it, and so is one sent a request other than by a pick from
//! the queue (a session pinned to it; under zone-aware routing, a pick by the other pool
//! that holds it, the zone's or that of all servers): it is no longer idle. The
//! queue is a FIFO doubly linked list threaded through per-server indices: every operation
//! is O(1) and none allocates once the largest id has been seen.

use rand::RngExt;

use super::pool::Pool;
use super::{Backend, Balancer, Explanation};
use crate::engine::SimRng;
use crate::id::{RequestKey, ServerId};

const NIL: u32 = u32::MAX;

#[derive(Copy, Clone, Debug)]
struct Link {
    prev: u32,
    next: u32,
    queued: bool,
}

const UNQUEUED: Link = Link {
    prev: NIL,
    next: NIL,
    queued: false,
};

pub struct JoinIdleQueue {
    pool: Pool,
    /// Indexed by `ServerId`.
    links: Vec<Link>,
    head: u32,
    tail: u32,
    /// Whether the last pick came from the idle queue, for `explain`.
    from_queue: bool,
}

impl JoinIdleQueue {
    pub fn with_capacity(capacity: usize) -> Self {
        JoinIdleQueue {
            pool: Pool::with_capacity(capacity),
            links: Vec::with_capacity(capacity),
            head: NIL,
            tail: NIL,
            from_queue: false,
        }
    }

    fn push_back(&mut self, server: ServerId) {
        let id = server.0;
        if self.links[id as usize].queued {
            return;
        }
        self.links[id as usize] = Link {
            prev: self.tail,
            next: NIL,
            queued: true,
        };
        if self.tail == NIL {
            self.head = id;
        } else {
            self.links[self.tail as usize].next = id;
        }
        self.tail = id;
    }

    fn unlink(&mut self, id: u32) {
        let Link { prev, next, queued } = self.links[id as usize];
        if !queued {
            return;
        }
        if prev == NIL {
            self.head = next;
        } else {
            self.links[prev as usize].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.links[next as usize].prev = prev;
        }
        self.links[id as usize] = UNQUEUED;
    }

    /// The idle queue from head to tail.
    #[cfg(test)]
    fn queue(&self) -> Vec<u32> {
        let mut queue = Vec::new();
        let mut id = self.head;
        while id != NIL {
            queue.push(id);
            id = self.links[id as usize].next;
        }
        queue
    }
}

impl Balancer for JoinIdleQueue {
    fn add(&mut self, backend: Backend<'_>) {
        if self.pool.contains(backend.id) {
            return;
        }
        if self.links.len() <= backend.id.index() {
            self.links.resize(backend.id.index() + 1, UNQUEUED);
        }
        self.pool.insert(backend.id);
    }

    fn remove(&mut self, server: ServerId) {
        if !self.pool.contains(server) {
            return;
        }
        self.pool.remove(server);
        self.unlink(server.0);
    }

    fn pick(&mut self, _request: &RequestKey, rng: &mut SimRng) -> Option<ServerId> {
        if self.head != NIL {
            let id = self.head;
            self.unlink(id);
            self.from_queue = true;
            return Some(ServerId(id));
        }
        self.from_queue = false;
        if self.pool.is_empty() {
            return None;
        }
        Some(self.pool.get(rng.random_range(0..self.pool.len())))
    }

    fn wants_idle_reports(&self) -> bool {
        true
    }

    /// `server` is busy now: out of the queue, if a pick from it did not take it out.
    fn dispatched(&mut self, server: ServerId) {
        if server.index() < self.links.len() {
            self.unlink(server.0);
        }
    }

    fn server_idle(&mut self, server: ServerId) {
        if self.pool.contains(server) {
            self.push_back(server);
        }
    }

    /// Whether the pick came from the idle queue (1) or was drawn at random because the
    /// queue was empty (0).
    fn explain(&self, _request: &RequestKey, picked: ServerId) -> Explanation {
        Explanation {
            measure: "from the idle queue",
            compared: vec![(picked, if self.from_queue { 1.0 } else { 0.0 })],
            hash: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::Random;
    use crate::balancer::testing::{Cluster, KEY, filled, pick_id as pick};

    /// `servers` servers, each reporting idle in id order, as the world reports newcomers.
    fn balancer(servers: u32) -> JoinIdleQueue {
        let mut balancer = filled(JoinIdleQueue::with_capacity(servers as usize), servers);
        for id in 0..servers {
            balancer.server_idle(ServerId(id));
        }
        balancer
    }

    #[test]
    fn idle_servers_are_taken_in_the_order_they_reported() {
        let mut balancer = balancer(3);
        assert_eq!(balancer.queue(), vec![0, 1, 2]);
        assert_eq!(pick(&mut balancer), Some(0));
        assert_eq!(pick(&mut balancer), Some(1));
        balancer.server_idle(ServerId(0));
        assert_eq!(balancer.queue(), vec![2, 0]);
        assert_eq!(pick(&mut balancer), Some(2));
        assert_eq!(pick(&mut balancer), Some(0));
        assert!(balancer.explain(&KEY, ServerId(0)).compared == vec![(ServerId(0), 1.0)]);
    }

    #[test]
    fn with_no_idle_server_known_the_pick_is_random() {
        let mut balancer = balancer(4);
        for _ in 0..4 {
            pick(&mut balancer);
        }
        let mut rng = crate::engine::stream(31, 0, 0);
        let mut counts = [0u32; 4];
        for _ in 0..4_000 {
            counts[balancer.pick(&KEY, &mut rng).unwrap().index()] += 1;
        }
        // Binomial(4000, 1/4): sd ~27; 200 is over 7 sd.
        assert!(counts.iter().all(|c| c.abs_diff(1_000) < 200), "{counts:?}");
        let explanation = balancer.explain(&KEY, ServerId(1));
        assert_eq!(explanation.compared, vec![(ServerId(1), 0.0)]);
    }

    #[test]
    fn joining_is_not_reporting() {
        let mut balancer = filled(JoinIdleQueue::with_capacity(2), 2);
        assert_eq!(balancer.queue(), Vec::<u32>::new());
        balancer.server_idle(ServerId(1));
        assert_eq!(pick(&mut balancer), Some(1));
        assert!(balancer.wants_idle_reports());
    }

    #[test]
    fn a_server_sent_a_request_otherwise_than_from_the_queue_leaves_it() {
        let mut balancer = balancer(3);
        balancer.dispatched(ServerId(1));
        assert_eq!(balancer.queue(), vec![0, 2]);
        // Picked from the queue, then told of the dispatch: nothing more changes.
        assert_eq!(pick(&mut balancer), Some(0));
        balancer.dispatched(ServerId(0));
        assert_eq!(balancer.queue(), vec![2]);
    }

    #[test]
    fn a_server_is_never_queued_twice_and_leaves_the_queue_when_removed() {
        let mut balancer = balancer(3);
        balancer.server_idle(ServerId(1));
        balancer.server_idle(ServerId(1));
        assert_eq!(balancer.queue(), vec![0, 1, 2]);
        balancer.remove(ServerId(1));
        assert_eq!(balancer.queue(), vec![0, 2]);
        balancer.server_idle(ServerId(1));
        assert_eq!(balancer.queue(), vec![0, 2]);
        balancer.remove(ServerId(0));
        balancer.remove(ServerId(2));
        assert_eq!(balancer.queue(), Vec::<u32>::new());
        assert_eq!(pick(&mut balancer), None);
    }

    /// Ten equal servers at 80% load. Told of every idle server, the balancer always has
    /// one to give while any is idle, so no request ever waits behind another then; random
    /// placement, on the same traffic, queues thousands of requests behind busy servers
    /// while others idle.
    #[test]
    fn no_request_queues_while_a_server_is_idle() {
        let cluster = Cluster {
            speeds: &[1.0; 10],
            rate: 800.0,
            mean_work: 0.010,
            duration: 60.0,
            warmup: 0.0,
            seed: 32,
        };
        let jiq = cluster.run(&mut balancer(10));
        assert_eq!(jiq.queued_while_idle, 0);
        assert!(jiq.received.iter().all(|&r| r > 0));
        let random = cluster.run(&mut filled(Random::with_capacity(10), 10));
        assert!(
            random.queued_while_idle > 1_000,
            "{}",
            random.queued_while_idle
        );
    }
}
