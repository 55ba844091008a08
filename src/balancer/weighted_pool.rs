//! The members of a pool and their weights, for the algorithms that draw servers at random
//! in proportion to weight (random, power of two choices): the members in a [`Pool`] for
//! the draws of equal weights, a [`Census`] that says whether the weights are equal, and a
//! [`WeightedDraw`] for the draws of unequal ones, kept in step by every join, leave and
//! weight change. Each is O(log n).

use super::pool::Pool;
use super::weights::{Census, WeightedDraw, effective};
use crate::engine::SimRng;
use crate::id::ServerId;

pub struct WeightedPool {
    pool: Pool,
    census: Census,
    draw: WeightedDraw,
}

impl WeightedPool {
    pub fn with_capacity(capacity: usize) -> Self {
        WeightedPool {
            pool: Pool::with_capacity(capacity),
            census: Census::default(),
            draw: WeightedDraw::with_capacity(capacity),
        }
    }

    /// Adds `server` with its declared `weight`; false, and nothing changes, if it is a
    /// member already.
    pub fn add(&mut self, server: ServerId, weight: u32) -> bool {
        if self.pool.contains(server) {
            return false;
        }
        let weight = effective(weight);
        self.pool.insert(server);
        self.census.add(weight);
        self.draw.set(server, weight);
        true
    }

    /// Takes `server` out; nothing happens if it is not a member.
    pub fn remove(&mut self, server: ServerId) {
        if self.pool.contains(server) {
            self.pool.remove(server);
            self.reweigh(server, 0);
        }
    }

    /// Gives member `server` its declared `weight`; nothing happens if it is not a member.
    pub fn set_weight(&mut self, server: ServerId, weight: u32) {
        if self.pool.contains(server) {
            self.reweigh(server, effective(weight));
        }
    }

    /// Moves `server` from its weight to `weight` in the draw and the census (0 takes it
    /// out of both).
    fn reweigh(&mut self, server: ServerId, weight: u64) {
        self.census.remove(self.draw.weight(server));
        if weight > 0 {
            self.census.add(weight);
        }
        self.draw.set(server, weight);
    }

    pub fn len(&self) -> usize {
        self.pool.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }

    /// The member at `index` of the pool's current order, for the draws of equal weights.
    pub fn get(&self, index: usize) -> ServerId {
        self.pool.get(index)
    }

    /// Whether every member has the same weight (true for an empty pool).
    pub fn uniform(&self) -> bool {
        self.census.uniform()
    }

    /// A member drawn with probability weight / total, or `None` when there is none.
    pub fn draw_weighted(&self, rng: &mut SimRng) -> Option<ServerId> {
        self.draw.draw(rng)
    }

    /// `server`'s effective weight, 0 if it is not a member.
    pub fn weight(&self, server: ServerId) -> u64 {
        self.draw.weight(server)
    }
}
