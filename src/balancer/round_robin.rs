//! Round robin: each server in turn, whatever its load.
//!
//! Ties cannot arise. When a server leaves, the last server of the pool takes its place in
//! the rotation (the pool's swap-remove); the cursor keeps going from where it was.

use super::pool::Pool;
use super::{Backend, Balancer};
use crate::engine::SimRng;
use crate::id::{RequestKey, ServerId};

pub struct RoundRobin {
    pool: Pool,
    cursor: usize,
}

impl RoundRobin {
    pub fn with_capacity(capacity: usize) -> Self {
        RoundRobin {
            pool: Pool::with_capacity(capacity),
            cursor: 0,
        }
    }
}

impl Balancer for RoundRobin {
    fn add(&mut self, backend: Backend<'_>) {
        self.pool.insert(backend.id);
    }

    fn remove(&mut self, server: ServerId) {
        self.pool.remove(server);
    }

    fn pick(&mut self, _request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        if self.pool.is_empty() {
            return None;
        }
        let index = self.cursor % self.pool.len();
        self.cursor = index + 1;
        Some(self.pool.get(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::id::ClientAddr;

    #[test]
    fn visits_every_server_in_turn() {
        let mut balancer = RoundRobin::with_capacity(3);
        for id in 0..3 {
            balancer.add(Backend {
                id: ServerId(id),
                name: "s",
                weight: 1,
            });
        }
        let mut rng = stream(1, 0, 0);
        let key = RequestKey {
            client: ClientAddr(1),
            session: None,
        };
        let picks: Vec<u32> = (0..6)
            .map(|_| balancer.pick(&key, &mut rng).unwrap().0)
            .collect();
        assert_eq!(picks, vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn an_empty_pool_picks_nothing() {
        let mut balancer = RoundRobin::with_capacity(0);
        let mut rng = stream(1, 0, 0);
        assert_eq!(
            balancer.pick(
                &RequestKey {
                    client: ClientAddr(1),
                    session: None
                },
                &mut rng
            ),
            None
        );
    }
}
