//! Random: a server drawn uniformly from the pool, ignoring load and the request.
//!
//! One `rng.random_range(0..len)` per pick indexes the pool's current order, so ties cannot
//! arise. Cost: O(1) per pick, join and leave (the pool's swap-remove).

use rand::RngExt;

use super::pool::Pool;
use super::{Backend, Balancer};
use crate::engine::SimRng;
use crate::id::{RequestKey, ServerId};

pub struct Random {
    pool: Pool,
}

impl Random {
    pub fn with_capacity(capacity: usize) -> Self {
        Random {
            pool: Pool::with_capacity(capacity),
        }
    }
}

impl Balancer for Random {
    fn add(&mut self, backend: Backend<'_>) {
        self.pool.insert(backend.id);
    }

    fn remove(&mut self, server: ServerId) {
        self.pool.remove(server);
    }

    fn pick(&mut self, _request: &RequestKey, rng: &mut SimRng) -> Option<ServerId> {
        if self.pool.is_empty() {
            return None;
        }
        Some(self.pool.get(rng.random_range(0..self.pool.len())))
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
}
