//! Least response time, naive: the server with the lowest `EWMA of response time × (open
//! connections + 1)`, where the EWMA moves only when a response comes back.
//!
//! Kept as `least-response-time-naive` to show the failure mode the peak-EWMA version
//! (`least-response-time`, whose cost is Finagle's peak EWMA) fixes: the average forgets
//! nothing with time. A few long requests raise a server's EWMA above its peers' score; it
//! then gets no traffic, so no response, so its EWMA never comes down again, and the server
//! starves while its peers queue (healthy-0 in `scenarios/slow-servers.toml` sat idle for
//! ~23 s at a time while its peers ran at 75%).
//!
//! The EWMA follows response times, dispatch to finish, of successful requests only (a
//! failure that ends fast says nothing about how fast the server answers); it uses
//! `alpha = 2 / (N + 1)` with `N = 10`, a window of ~10 responses, and starts at a server's
//! first response. Open connections are the balancer's own count (`dispatched` +1,
//! `finished` -1, success or not), kept for a server out of the pool too: one that comes
//! back is measured afresh, as a newcomer, at the connections it still holds. Ties: fewer
//! open connections, then lowest `ServerId`.
//!
//! A server with no response yet is scored as if its EWMA were the mean EWMA of the
//! servers that have one (a running sum and count, O(1)), or 0 if none do. Scoring it at 0
//! would make its score 0 whatever its connection count, so a newly joined server would
//! take all traffic until its first response came back: a thundering herd onto the one
//! server that has never been measured. At the start of a run no server has a response,
//! all score 0 and the rule reduces to least connections.
//!
//! Everything is integer: EWMAs are nanoseconds in fixed point (16 fractional bits),
//! scores are `u128`, so heap comparisons are exact, total and deterministic (no float, no
//! NaN). Measured servers sit in an [`IndexedHeap`] keyed by `(score, connections)`.
//! Unmeasured ones all share the mean, so their order is that of `connections` alone; they
//! sit in a second heap keyed by connections, and the mean can change without touching
//! them. A pick compares the two heads, O(1); a dispatch, finish, join or leave updates
//! one key, O(log n).

use super::indexed_heap::IndexedHeap;
use super::{Backend, Balancer, Explanation};
use crate::engine::{SimDuration, SimRng, prefetch};
use crate::id::{RequestKey, ServerId};

/// Fractional bits of the fixed-point EWMA.
const FRAC_BITS: u32 = 16;
/// The EWMA's window: `alpha = 2 / (WINDOW + 1)`.
const WINDOW: u128 = 10;

#[derive(Copy, Clone, Debug, Default)]
struct Server {
    member: bool,
    connections: u32,
    /// Fixed-point nanoseconds; meaningful once `measured`.
    ewma: u128,
    /// Whether a successful response has been seen.
    measured: bool,
}

/// What a pick orders servers by: score, then connections, then id.
type Rank = (u128, u32, ServerId);

pub struct LeastResponseTimeNaive {
    servers: Vec<Server>,
    /// Measured members, keyed by `(score, connections)`.
    measured: IndexedHeap<(u128, u32)>,
    /// Members without a response yet, keyed by connections.
    unmeasured: IndexedHeap<u32>,
    /// Sum of the measured members' EWMAs.
    ewma_sum: u128,
}

fn score(ewma: u128, connections: u32) -> u128 {
    ewma * (u128::from(connections) + 1)
}

impl LeastResponseTimeNaive {
    pub fn with_capacity(capacity: usize) -> Self {
        LeastResponseTimeNaive {
            servers: Vec::with_capacity(capacity),
            measured: IndexedHeap::with_capacity(capacity),
            unmeasured: IndexedHeap::with_capacity(capacity),
            ewma_sum: 0,
        }
    }

    /// The EWMA an unmeasured server is scored with.
    fn mean_ewma(&self) -> u128 {
        match self.measured.len() as u128 {
            0 => 0,
            count => self.ewma_sum / count,
        }
    }

    fn member(&self, server: ServerId) -> Option<Server> {
        self.servers
            .get(server.index())
            .copied()
            .filter(|s| s.member)
    }

    /// Puts `server`'s current state into the right heap.
    fn rekey(&mut self, server: ServerId) {
        let s = self.servers[server.index()];
        if s.measured {
            self.measured
                .insert(server, (score(s.ewma, s.connections), s.connections));
        } else {
            self.unmeasured.insert(server, s.connections);
        }
    }
}

impl Balancer for LeastResponseTimeNaive {
    fn add(&mut self, backend: Backend<'_>) {
        if self.member(backend.id).is_some() {
            return;
        }
        if self.servers.len() <= backend.id.index() {
            self.servers
                .resize(backend.id.index() + 1, Server::default());
        }
        // Measured afresh, but at the connections it still holds.
        let connections = self.servers[backend.id.index()].connections;
        self.servers[backend.id.index()] = Server {
            member: true,
            connections,
            ..Server::default()
        };
        self.rekey(backend.id);
    }

    fn remove(&mut self, server: ServerId) {
        let Some(s) = self.member(server) else {
            return;
        };
        if s.measured {
            self.measured.remove(server);
            self.ewma_sum -= s.ewma;
        } else {
            self.unmeasured.remove(server);
        }
        self.servers[server.index()].member = false;
    }

    fn pick(&mut self, _request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        let measured: Option<Rank> = self
            .measured
            .peek()
            .map(|(id, (score, connections))| (score, connections, id));
        let unmeasured: Option<Rank> = self
            .unmeasured
            .peek()
            .map(|(id, connections)| (score(self.mean_ewma(), connections), connections, id));
        match (measured, unmeasured) {
            (Some(a), Some(b)) => Some(a.min(b).2),
            (a, b) => a.or(b).map(|rank| rank.2),
        }
    }

    fn dispatched(&mut self, server: ServerId) {
        let Some(s) = self.servers.get_mut(server.index()) else {
            return;
        };
        s.connections += 1;
        if s.member {
            self.rekey(server);
        }
    }

    fn prefetch_server(&self, server: ServerId) {
        prefetch(self.servers.as_ptr().wrapping_add(server.index()));
    }

    fn finished(&mut self, server: ServerId, elapsed: SimDuration, succeeded: bool) {
        let Some(mut s) = self.member(server) else {
            // Out of the pool: its count goes down, and what the response says is left
            // alone, as the server is measured afresh when it comes back.
            if let Some(s) = self.servers.get_mut(server.index()) {
                s.connections = s.connections.saturating_sub(1);
            }
            return;
        };
        s.connections = s.connections.saturating_sub(1);
        if succeeded {
            let sample = u128::from(elapsed.as_nanos()) << FRAC_BITS;
            if s.measured {
                // ewma += alpha * (sample - ewma), alpha = 2 / (WINDOW + 1), rounded.
                let updated =
                    ((WINDOW - 1) * s.ewma + 2 * sample + WINDOW.div_ceil(2)) / (WINDOW + 1);
                self.ewma_sum = self.ewma_sum - s.ewma + updated;
                s.ewma = updated;
            } else {
                self.unmeasured.remove(server);
                s.measured = true;
                s.ewma = sample;
                self.ewma_sum += sample;
            }
        }
        self.servers[server.index()] = s;
        self.rekey(server);
    }

    /// Every member's score in id order, `EWMA × (open + 1)` in milliseconds, the mean
    /// EWMA standing in for servers without a response.
    fn explain(&self, _request: &RequestKey, _picked: ServerId) -> Explanation {
        let mean = self.mean_ewma();
        let compared = (0..self.servers.len())
            .filter(|&i| self.servers[i].member)
            .map(|i| {
                let s = self.servers[i];
                let ewma = if s.measured { s.ewma } else { mean };
                let millis = score(ewma, s.connections) as f64 / f64::from(1u32 << FRAC_BITS) / 1e6;
                (ServerId(i as u32), millis)
            })
            .collect();
        Explanation {
            measure: "EWMA ms × (open + 1)",
            compared,
            hash: None,
        }
    }

    #[cfg(test)]
    fn open_requests(&self, server: ServerId) -> Option<u32> {
        Some(
            self.servers
                .get(server.index())
                .map_or(0, |s| s.connections),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::testing::{backend, filled, pick_id as pick, picks_dispatched};
    use proptest::prelude::*;

    fn balancer(servers: u32) -> LeastResponseTimeNaive {
        filled(
            LeastResponseTimeNaive::with_capacity(servers as usize),
            servers,
        )
    }

    /// One request to `id` that took `millis` and succeeded.
    fn respond(balancer: &mut LeastResponseTimeNaive, id: u32, millis: u64) {
        balancer.dispatched(ServerId(id));
        balancer.finished(ServerId(id), SimDuration::from_millis(millis), true);
    }

    fn open(balancer: &mut LeastResponseTimeNaive, id: u32, connections: u32) {
        for _ in 0..connections {
            balancer.dispatched(ServerId(id));
        }
    }

    fn ewma_millis(balancer: &LeastResponseTimeNaive, id: u32) -> f64 {
        let ewma = balancer.servers[id as usize].ewma;
        ewma as f64 / f64::from(1u32 << FRAC_BITS) / 1e6
    }

    #[test]
    fn picks_the_lowest_response_time_times_connections() {
        let mut balancer = balancer(2);
        respond(&mut balancer, 0, 10);
        respond(&mut balancer, 1, 4);
        assert_eq!(pick(&mut balancer), Some(1));
        // 10 × 1 against 4 × 3.
        open(&mut balancer, 1, 2);
        assert_eq!(pick(&mut balancer), Some(0));
    }

    #[test]
    fn equal_scores_go_to_fewer_connections_then_the_lowest_id() {
        let mut balancer = balancer(3);
        respond(&mut balancer, 0, 6);
        respond(&mut balancer, 1, 12);
        respond(&mut balancer, 2, 12);
        open(&mut balancer, 0, 1);
        // Scores: 6 × 2 = 12, 12 × 1 = 12, 12 × 1 = 12.
        assert_eq!(pick(&mut balancer), Some(1));
        open(&mut balancer, 1, 1);
        assert_eq!(pick(&mut balancer), Some(2));
    }

    #[test]
    fn the_average_covers_a_window_of_about_ten_responses() {
        let mut balancer = balancer(1);
        respond(&mut balancer, 0, 110);
        assert_eq!(ewma_millis(&balancer, 0), 110.0);
        // alpha = 2/11: 110 + (0 - 110) × 2/11 = 90.
        respond(&mut balancer, 0, 0);
        assert_eq!(ewma_millis(&balancer, 0), 90.0);
        for _ in 0..100 {
            respond(&mut balancer, 0, 50);
        }
        assert!((ewma_millis(&balancer, 0) - 50.0).abs() < 1e-6);
    }

    #[test]
    fn failures_release_the_connection_but_leave_the_average_alone() {
        let mut balancer = balancer(2);
        respond(&mut balancer, 0, 10);
        respond(&mut balancer, 1, 10);
        balancer.dispatched(ServerId(0));
        balancer.finished(ServerId(0), SimDuration::from_millis(1), false);
        assert_eq!(ewma_millis(&balancer, 0), 10.0);
        assert_eq!(balancer.servers[0].connections, 0);
        assert_eq!(pick(&mut balancer), Some(0));
    }

    #[test]
    fn a_server_without_responses_is_scored_at_the_mean_not_at_zero() {
        let mut balancer = balancer(2);
        respond(&mut balancer, 0, 10);
        respond(&mut balancer, 1, 20);
        balancer.add(backend(2));
        // Mean 15: the newcomer (15 × 1) beats 10 × 2 and 20 × 1 ...
        open(&mut balancer, 0, 1);
        assert_eq!(pick(&mut balancer), Some(2));
        // ... but once it holds a connection (15 × 2) it no longer takes everything.
        open(&mut balancer, 2, 1);
        assert_eq!(pick(&mut balancer), Some(1));
    }

    #[test]
    fn explain_gives_every_score_with_the_mean_for_the_unmeasured() {
        let mut balancer = balancer(3);
        respond(&mut balancer, 0, 10);
        respond(&mut balancer, 1, 30);
        open(&mut balancer, 0, 1);
        open(&mut balancer, 2, 2);
        let explanation = balancer.explain(&crate::balancer::testing::KEY, ServerId(2));
        assert_eq!(
            explanation.compared,
            vec![
                (ServerId(0), 20.0),
                (ServerId(1), 30.0),
                (ServerId(2), 60.0)
            ]
        );
    }

    #[test]
    fn before_any_response_the_rule_is_least_connections() {
        let mut balancer = balancer(3);
        let picks = picks_dispatched(&mut balancer, 6);
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn a_removed_server_leaves_the_mean_and_its_late_responses_are_ignored() {
        let mut balancer = balancer(3);
        respond(&mut balancer, 0, 10);
        respond(&mut balancer, 1, 30);
        balancer.dispatched(ServerId(1));
        balancer.remove(ServerId(1));
        assert_eq!(balancer.mean_ewma() >> FRAC_BITS, 10_000_000);
        balancer.finished(ServerId(1), SimDuration::from_millis(1), true);
        assert_eq!(balancer.mean_ewma() >> FRAC_BITS, 10_000_000);
        open(&mut balancer, 0, 1);
        assert_eq!(pick(&mut balancer), Some(2));
        balancer.remove(ServerId(0));
        balancer.remove(ServerId(2));
        assert_eq!(pick(&mut balancer), None);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(u32),
        Remove(u32),
        Dispatch(u32),
        Finish(u32, u64, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            1 => (0..10u32).prop_map(Op::Add),
            1 => (0..10u32).prop_map(Op::Remove),
            4 => (0..10u32).prop_map(Op::Dispatch),
            4 => (0..10u32, 0..1_000_000u64, prop::bool::weighted(0.8))
                .prop_map(|(id, nanos, ok)| Op::Finish(id, nanos, ok)),
        ]
    }

    proptest! {
        /// The heaps against a scan of every member, scored by the same rule.
        #[test]
        fn picks_what_a_full_scan_would(ops in prop::collection::vec(op(), 0..300)) {
            let mut balancer = LeastResponseTimeNaive::with_capacity(2);
            for op in ops {
                match op {
                    Op::Add(id) => balancer.add(backend(id)),
                    Op::Remove(id) => balancer.remove(ServerId(id)),
                    Op::Dispatch(id) => balancer.dispatched(ServerId(id)),
                    Op::Finish(id, nanos, ok) => {
                        balancer.finished(ServerId(id), SimDuration::from_nanos(nanos), ok)
                    }
                }
                let members: Vec<(u32, Server)> = (0..balancer.servers.len() as u32)
                    .map(|id| (id, balancer.servers[id as usize]))
                    .filter(|(_, s)| s.member)
                    .collect();
                let measured: Vec<u128> =
                    members.iter().filter(|(_, s)| s.measured).map(|(_, s)| s.ewma).collect();
                let mean = if measured.is_empty() {
                    0
                } else {
                    measured.iter().sum::<u128>() / measured.len() as u128
                };
                let expected = members
                    .iter()
                    .map(|&(id, s)| {
                        let ewma = if s.measured { s.ewma } else { mean };
                        (score(ewma, s.connections), s.connections, id)
                    })
                    .min()
                    .map(|rank| rank.2);
                prop_assert_eq!(pick(&mut balancer), expected);
            }
        }
    }
}
