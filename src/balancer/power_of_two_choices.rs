//! Power of two choices: draw two distinct servers uniformly at random and send the request
//! to the one with fewer open connections.
//!
//! Open connections are the balancer's own count: `dispatched` adds one, `finished` takes
//! one away. On a tie the first server drawn wins, so ties are settled by the random draw,
//! not by server order. With a single server in the pool, that server. The second draw is
//! `random_range(0..len - 1)`, shifted past the first, so the two are always distinct and
//! uniform over pairs. Cost: O(1) per pick, event, join and leave.

use rand::RngExt;

use super::pool::Pool;
use super::{Backend, Balancer};
use crate::engine::{SimDuration, SimRng};
use crate::id::{RequestKey, ServerId};

pub struct PowerOfTwoChoices {
    pool: Pool,
    /// Open connections, indexed by `ServerId`; kept for servers that have left, harmlessly.
    connections: Vec<u32>,
}

impl PowerOfTwoChoices {
    pub fn with_capacity(capacity: usize) -> Self {
        PowerOfTwoChoices {
            pool: Pool::with_capacity(capacity),
            connections: Vec::with_capacity(capacity),
        }
    }

    fn connections(&self, server: ServerId) -> u32 {
        self.connections.get(server.index()).copied().unwrap_or(0)
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
        if self.connections.len() <= backend.id.index() {
            self.connections.resize(backend.id.index() + 1, 0);
        }
        self.pool.insert(backend.id);
    }

    fn remove(&mut self, server: ServerId) {
        self.pool.remove(server);
    }

    fn pick(&mut self, _request: &RequestKey, rng: &mut SimRng) -> Option<ServerId> {
        match self.pool.len() {
            0 => None,
            1 => Some(self.pool.get(0)),
            len => {
                let (first, second) = draw_two(len, rng);
                let (a, b) = (self.pool.get(first), self.pool.get(second));
                if self.connections(b) < self.connections(a) {
                    Some(b)
                } else {
                    Some(a)
                }
            }
        }
    }

    fn dispatched(&mut self, server: ServerId) {
        if let Some(count) = self.connections.get_mut(server.index()) {
            *count += 1;
        }
    }

    fn finished(&mut self, server: ServerId, _elapsed: SimDuration, _succeeded: bool) {
        if let Some(count) = self.connections.get_mut(server.index()) {
            *count = count.saturating_sub(1);
        }
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
                balancer.pool.get(first).index(),
                balancer.pool.get(second).index(),
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

    #[test]
    fn a_single_server_is_always_picked_and_an_empty_pool_picks_nothing() {
        let mut balancer = balancer(&[4]);
        let mut rng = stream(15, 0, 0);
        assert_eq!(balancer.pick(&KEY, &mut rng), Some(ServerId(0)));
        balancer.remove(ServerId(0));
        assert_eq!(balancer.pick(&KEY, &mut rng), None);
    }
}
