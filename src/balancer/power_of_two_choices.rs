//! Power of two choices: draw two servers at random and send the request to the one with
//! the lower weighted load `(open connections + 1) / weight`.
//!
//! Open connections are the balancer's own count: `dispatched` adds one, `finished` takes
//! one away, for a server out of the pool too, so that one coming back is compared at the
//! requests it still holds. With all weights equal the two are drawn uniformly and
//! distinct: the second draw is `random_range(0..len - 1)`, shifted past the first, so the
//! pair is uniform over ordered pairs, and the comparison is that of the counts. With
//! unequal weights each is drawn in proportion to its weight (a Fenwick tree, O(log n)),
//! independently, as HAProxy's `random(2)` draws from its weighted consistent-hash tree;
//! the same server may then come twice, and is picked. HAProxy compares `served / weight`;
//! the `+ 1` counts the request about to be placed, as least-connections does. With equal
//! weights it changes nothing (the order is the counts'); with unequal ones it favours the
//! heavier server beyond breaking ties: of two idle servers the heavier wins, and an idle
//! server can lose to a busy heavier one (idle of weight 1: 1 / 1; one open of weight 4:
//! 2 / 4), where `served / weight` always sends to the idle one. With one server in the
//! pool, that server.
//!
//! Ties go to the first server drawn, so they are settled by the draw, not by server order.
//! Loads are compared exactly, by cross-multiplication. Cost: O(1) per pick with equal
//! weights, O(log n) with unequal ones; O(1) per event, O(log n) per join, leave and weight
//! change (which keeps the server's open connections).

use rand::RngExt;

use super::weighted_pool::WeightedPool;
use super::{Backend, Balancer, Explanation};
use crate::engine::{SimDuration, SimRng, prefetch};
use crate::id::{RequestKey, ServerId};

pub struct PowerOfTwoChoices {
    members: WeightedPool,
    /// Open connections, indexed by `ServerId`, counted in the pool and out of it: a server
    /// that comes back is compared at the requests it still holds.
    connections: Vec<u32>,
    /// The two servers the last pick compared, for `explain`.
    drawn: Option<(ServerId, ServerId)>,
}

impl PowerOfTwoChoices {
    pub fn with_capacity(capacity: usize) -> Self {
        PowerOfTwoChoices {
            members: WeightedPool::with_capacity(capacity),
            connections: Vec::with_capacity(capacity),
            drawn: None,
        }
    }

    fn connections(&self, server: ServerId) -> u32 {
        self.connections.get(server.index()).copied().unwrap_or(0)
    }

    /// Whether `b` carries less load per weight than `a`.
    fn lighter(&self, b: ServerId, a: ServerId) -> bool {
        let load = |s: ServerId| u128::from(self.connections(s)) + 1;
        let weight = |s: ServerId| u128::from(self.members.weight(s));
        load(b) * weight(a) < load(a) * weight(b)
    }
}

/// Two distinct indices in `0..len` (`len >= 2`), uniform over ordered pairs.
fn draw_two(len: usize, rng: &mut SimRng) -> (usize, usize) {
    let first = rng.random_range(0..len);
    let mut second = rng.random_range(0..len - 1);
    if second >= first {
        second += 1;
    }
    (first, second)
}

impl Balancer for PowerOfTwoChoices {
    fn add(&mut self, backend: Backend<'_>) {
        if !self.members.add(backend.id, backend.weight) {
            return;
        }
        if self.connections.len() <= backend.id.index() {
            self.connections.resize(backend.id.index() + 1, 0);
        }
    }

    fn remove(&mut self, server: ServerId) {
        self.members.remove(server);
    }

    fn set_weight(&mut self, server: ServerId, weight: u32) {
        self.members.set_weight(server, weight);
    }

    fn pick(&mut self, _request: &RequestKey, rng: &mut SimRng) -> Option<ServerId> {
        let (a, b) = match self.members.len() {
            0 => return None,
            1 => (self.members.get(0), self.members.get(0)),
            len if self.members.uniform() => {
                let (first, second) = draw_two(len, rng);
                (self.members.get(first), self.members.get(second))
            }
            _ => (
                self.members.draw_weighted(rng)?,
                self.members.draw_weighted(rng)?,
            ),
        };
        self.drawn = Some((a, b));
        Some(if self.lighter(b, a) { b } else { a })
    }

    fn dispatched(&mut self, server: ServerId) {
        if let Some(count) = self.connections.get_mut(server.index()) {
            *count += 1;
        }
    }

    fn prefetch_server(&self, server: ServerId) {
        prefetch(self.connections.as_ptr().wrapping_add(server.index()));
    }

    fn finished(&mut self, server: ServerId, _elapsed: SimDuration, _succeeded: bool) {
        if let Some(count) = self.connections.get_mut(server.index()) {
            *count = count.saturating_sub(1);
        }
    }

    /// The two servers drawn for the last pick, in draw order, with their weighted load.
    fn explain(&self, _request: &RequestKey, _picked: ServerId) -> Explanation {
        let load =
            |s: ServerId| f64::from(self.connections(s) + 1) / self.members.weight(s).max(1) as f64;
        Explanation {
            measure: "(open connections + 1) / weight",
            compared: self
                .drawn
                .map(|(a, b)| vec![(a, load(a)), (b, load(b))])
                .unwrap_or_default(),
            hash: None,
        }
    }

    #[cfg(test)]
    fn open_requests(&self, server: ServerId) -> Option<u32> {
        Some(self.connections(server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::id::ClientAddr;

    const KEY: RequestKey = RequestKey {
        client: ClientAddr(1),
        session: None,
    };

    fn balancer(loads: &[u32]) -> PowerOfTwoChoices {
        let mut balancer = PowerOfTwoChoices::with_capacity(loads.len());
        for (id, &load) in loads.iter().enumerate() {
            let id = ServerId(id as u32);
            balancer.add(Backend {
                id,
                name: "s",
                weight: 1,
            });
            for _ in 0..load {
                balancer.dispatched(id);
            }
        }
        balancer
    }

    #[test]
    fn never_picks_the_busier_of_its_two_draws() {
        let loads = [5, 0, 3, 3, 9, 1, 0, 7];
        let mut balancer = balancer(&loads);
        let mut rng = stream(11, 0, 0);
        for _ in 0..5_000 {
            // Replay the draws the pick is about to make on a copy of its stream.
            let (first, second) = draw_two(loads.len(), &mut rng.clone());
            let picked = balancer.pick(&KEY, &mut rng).unwrap().index();
            let (a, b) = (
                balancer.members.get(first).index(),
                balancer.members.get(second).index(),
            );
            assert!(picked == a || picked == b);
            assert!(loads[picked] <= loads[a].min(loads[b]));
            if loads[a] == loads[b] {
                assert_eq!(picked, a, "a tie goes to the first draw");
            }
        }
    }

    #[test]
    fn the_busiest_server_is_never_picked() {
        let mut balancer = balancer(&[2, 2, 8, 2]);
        let mut rng = stream(12, 0, 0);
        for _ in 0..2_000 {
            assert_ne!(balancer.pick(&KEY, &mut rng), Some(ServerId(2)));
        }
    }

    #[test]
    fn the_two_draws_are_distinct_and_cover_every_pair() {
        let mut rng = stream(13, 0, 0);
        let mut seen = [[0u32; 4]; 4];
        for _ in 0..12_000 {
            let (a, b) = draw_two(4, &mut rng);
            assert_ne!(a, b);
            seen[a][b] += 1;
        }
        // 12 ordered pairs, 1000 expected each (sd ~30).
        for (a, row) in seen.iter().enumerate() {
            for (b, &count) in row.iter().enumerate() {
                if a != b {
                    assert!(count.abs_diff(1000) < 150, "{seen:?}");
                }
            }
        }
    }

    #[test]
    fn finished_requests_lower_the_count_again() {
        let mut balancer = balancer(&[0, 0]);
        balancer.dispatched(ServerId(0));
        let mut rng = stream(14, 0, 0);
        assert_eq!(balancer.pick(&KEY, &mut rng), Some(ServerId(1)));
        balancer.finished(ServerId(0), SimDuration::from_millis(3), true);
        balancer.dispatched(ServerId(1));
        assert_eq!(balancer.pick(&KEY, &mut rng), Some(ServerId(0)));
    }

    fn weighted(weights: &[u32]) -> PowerOfTwoChoices {
        crate::balancer::testing::weighted(PowerOfTwoChoices::with_capacity(weights.len()), weights)
    }

    #[test]
    fn weighted_load_decides_and_draws_follow_the_weights() {
        // Server 1 weighs 4: with 3 open it carries (3 + 1) / 4 = 1 against server 0's
        // (0 + 1) / 1 = 1, a tie that goes to the first drawn; with 2 open it is lighter.
        let mut balancer = weighted(&[1, 4]);
        for _ in 0..2 {
            balancer.dispatched(ServerId(1));
        }
        let mut rng = stream(16, 0, 0);
        for _ in 0..200 {
            let picked = balancer.pick(&KEY, &mut rng).unwrap();
            let (a, b) = balancer.drawn.unwrap();
            if a != b {
                assert_eq!(picked, ServerId(1));
            }
        }
        // Draws in proportion to weight: server 1 is drawn 4 times in 5.
        let mut ones = 0;
        for _ in 0..10_000 {
            balancer.pick(&KEY, &mut rng);
            let (a, b) = balancer.drawn.unwrap();
            ones += usize::from(a == ServerId(1)) + usize::from(b == ServerId(1));
        }
        // Binomial(20000, 0.8): sd ~57; 400 is 7 sd.
        assert!(ones.abs_diff(16_000) < 400, "{ones}");
    }

    #[test]
    fn equal_weights_keep_the_unweighted_draws_and_comparisons() {
        let loads = [5, 0, 3, 3, 9, 1, 0, 7];
        let mut plain = balancer(&loads);
        let mut heavy = weighted(&[3; 8]);
        for (id, &load) in loads.iter().enumerate() {
            for _ in 0..load {
                heavy.dispatched(ServerId(id as u32));
            }
        }
        let (mut r1, mut r2) = (stream(17, 0, 0), stream(17, 0, 0));
        for _ in 0..1_000 {
            assert_eq!(plain.pick(&KEY, &mut r1), heavy.pick(&KEY, &mut r2));
        }
    }

    #[test]
    fn a_weight_change_moves_the_draws_and_keeps_the_connections() {
        let mut balancer = weighted(&[100, 100]);
        for _ in 0..3 {
            balancer.dispatched(ServerId(1));
        }
        balancer.set_weight(ServerId(1), 300);
        let mut rng = stream(19, 0, 0);
        let mut ones = 0;
        for _ in 0..10_000 {
            let picked = balancer.pick(&KEY, &mut rng).unwrap();
            let (a, b) = balancer.drawn.unwrap();
            if a != b {
                // Server 1 still holds 3: (3 + 1) / 300 is above server 0's 1 / 100. Had
                // its count been lost, 1 / 300 would have won.
                assert_eq!(picked, ServerId(0));
            }
            ones += usize::from(a == ServerId(1)) + usize::from(b == ServerId(1));
        }
        // Each of the 20,000 draws is server 1 with probability 300 / 400:
        // Binomial(20000, 0.75) has sd ≈ 61; 400 is over 6 sd.
        assert!(ones.abs_diff(15_000) < 400, "{ones}");
        assert_eq!(balancer.connections(ServerId(1)), 3);
    }

    #[test]
    fn explain_gives_the_two_drawn_in_order() {
        let mut balancer = balancer(&[2, 0, 5]);
        let mut rng = stream(18, 0, 0);
        let picked = balancer.pick(&KEY, &mut rng).unwrap();
        let (a, b) = balancer.drawn.unwrap();
        let explanation = balancer.explain(&KEY, picked);
        let load = |s: ServerId| f64::from([2, 0, 5][s.index()] + 1);
        assert_eq!(explanation.compared, vec![(a, load(a)), (b, load(b))]);
        assert!(picked == a || picked == b);
        assert_eq!(explanation.measure, "(open connections + 1) / weight");
    }

    #[test]
    fn a_single_server_is_always_picked_and_an_empty_pool_picks_nothing() {
        let mut balancer = balancer(&[4]);
        let mut rng = stream(15, 0, 0);
        assert_eq!(balancer.pick(&KEY, &mut rng), Some(ServerId(0)));
        balancer.remove(ServerId(0));
        assert_eq!(balancer.pick(&KEY, &mut rng), None);
    }
}
