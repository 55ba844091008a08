//! Random: a server drawn from the pool with probability proportional to its weight,
//! ignoring load and the request, as NGINX's `random` and HAProxy's `random(1)` draw
//! (HAProxy's plain `random` draws two and takes the less loaded: power of two choices).
//!
//! With all weights equal, one `rng.random_range(0..len)` per pick indexes the pool's
//! current order (O(1)). With unequal weights, one `rng.random_range(0..total weight)` per
//! pick is located in a Fenwick tree of the weights in id order (O(log n)). Ties cannot
//! arise. Cost: join and leave O(log n) (the pool's swap-remove and the tree's update); a
//! weight change O(log n) (the tree's update), and it only changes the draws that follow.

use rand::RngExt;

use super::weighted_pool::WeightedPool;
use super::{Backend, Balancer};
use crate::engine::SimRng;
use crate::id::{RequestKey, ServerId};

pub struct Random {
    members: WeightedPool,
}

impl Random {
    pub fn with_capacity(capacity: usize) -> Self {
        Random {
            members: WeightedPool::with_capacity(capacity),
        }
    }
}

impl Balancer for Random {
    fn add(&mut self, backend: Backend<'_>) {
        self.members.add(backend.id, backend.weight);
    }

    fn remove(&mut self, server: ServerId) {
        self.members.remove(server);
    }

    fn set_weight(&mut self, server: ServerId, weight: u32) {
        self.members.set_weight(server, weight);
    }

    fn pick(&mut self, _request: &RequestKey, rng: &mut SimRng) -> Option<ServerId> {
        if self.members.is_empty() {
            return None;
        }
        if self.members.uniform() {
            Some(self.members.get(rng.random_range(0..self.members.len())))
        } else {
            self.members.draw_weighted(rng)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::testing::{KEY, filled};
    use crate::engine::stream;

    fn balancer(servers: u32) -> Random {
        filled(Random::with_capacity(servers as usize), servers)
    }

    #[test]
    fn every_server_gets_about_an_equal_share() {
        let mut balancer = balancer(4);
        let mut rng = stream(3, 0, 0);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[balancer.pick(&KEY, &mut rng).unwrap().index()] += 1;
        }
        // Each count is Binomial(40000, 1/4): mean 10000, sd ~87; 500 is over 5 sd.
        for count in counts {
            assert!(count.abs_diff(10_000) < 500, "{counts:?}");
        }
    }

    #[test]
    fn the_same_stream_gives_the_same_picks() {
        let picks = |seed| {
            let mut balancer = balancer(5);
            let mut rng = stream(seed, 0, 0);
            (0..20)
                .map(|_| balancer.pick(&KEY, &mut rng).unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(picks(9), picks(9));
    }

    #[test]
    fn a_removed_server_is_never_picked() {
        let mut balancer = balancer(3);
        balancer.remove(ServerId(1));
        let mut rng = stream(3, 0, 0);
        for _ in 0..1000 {
            assert_ne!(balancer.pick(&KEY, &mut rng), Some(ServerId(1)));
        }
    }

    #[test]
    fn an_empty_pool_picks_nothing() {
        let mut balancer = balancer(1);
        balancer.remove(ServerId(0));
        assert_eq!(balancer.pick(&KEY, &mut stream(1, 0, 0)), None);
    }

    #[test]
    fn shares_follow_the_weights() {
        let mut balancer = Random::with_capacity(3);
        for (id, weight) in [(0, 1), (1, 3), (2, 6)] {
            balancer.add(Backend {
                id: ServerId(id),
                name: "s",
                weight,
            });
        }
        let mut rng = stream(3, 0, 0);
        let mut counts = [0u32; 3];
        for _ in 0..50_000 {
            counts[balancer.pick(&KEY, &mut rng).unwrap().index()] += 1;
        }
        // Binomial(50000, p): sd at most 112; 600 is over 5 sd from each expectation.
        for (count, expected) in counts.iter().zip([5_000, 15_000, 30_000]) {
            assert!(count.abs_diff(expected) < 600, "{counts:?}");
        }
        // Once the heavier ones leave the weights are equal again: the uniform path.
        balancer.remove(ServerId(1));
        balancer.remove(ServerId(2));
        assert_eq!(balancer.pick(&KEY, &mut rng), Some(ServerId(0)));
    }

    #[test]
    fn after_a_weight_change_shares_follow_the_new_weights() {
        let mut balancer = Random::with_capacity(4);
        for id in 0..4 {
            balancer.add(Backend {
                id: ServerId(id),
                name: "s",
                weight: 100,
            });
        }
        balancer.set_weight(ServerId(3), 10);
        balancer.set_weight(ServerId(0), 290);
        balancer.set_weight(ServerId(9), 5);
        let mut rng = stream(4, 0, 0);
        let mut counts = [0u32; 4];
        for _ in 0..50_000 {
            counts[balancer.pick(&KEY, &mut rng).unwrap().index()] += 1;
        }
        // Weights 290 : 100 : 100 : 10 of 500. Binomial(50000, p) has sd at most
        // sqrt(50000 · 0.25) ≈ 112; 600 is over 5 sd from each expectation.
        for (count, expected) in counts.iter().zip([29_000, 10_000, 10_000, 1_000]) {
            assert!(count.abs_diff(expected) < 600, "{counts:?}");
        }
        // Back to equal weights: the unweighted path again, and a departed server's weight
        // cannot be changed back into the draw.
        balancer.set_weight(ServerId(0), 100);
        balancer.set_weight(ServerId(3), 100);
        assert!(balancer.members.uniform());
        balancer.remove(ServerId(1));
        balancer.set_weight(ServerId(1), 100);
        assert_eq!(balancer.members.weight(ServerId(1)), 0);
        for _ in 0..1_000 {
            assert_ne!(balancer.pick(&KEY, &mut rng), Some(ServerId(1)));
        }
    }

    #[test]
    fn equal_weights_draw_exactly_as_the_unweighted_pool_does() {
        let picks = |weight| {
            let mut balancer = Random::with_capacity(5);
            for id in 0..5 {
                balancer.add(Backend {
                    id: ServerId(id),
                    name: "s",
                    weight,
                });
            }
            let mut rng = stream(8, 0, 0);
            (0..50)
                .map(|_| balancer.pick(&KEY, &mut rng).unwrap().index())
                .collect::<Vec<_>>()
        };
        let mut rng = stream(8, 0, 0);
        let reference: Vec<usize> = (0..50).map(|_| rng.random_range(0..5usize)).collect();
        assert_eq!(picks(1), reference);
        assert_eq!(picks(7), reference);
    }
}
