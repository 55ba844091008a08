//! What the algorithms that honour weights share.
//!
//! [`Census`] tells whether the pool's weights are all equal: an algorithm then runs its
//! unweighted path, pick for pick and draw for draw, so that a scenario whose servers all
//! have the default weight gives exactly the results it gave before weights were honoured.
//! [`WeightedDraw`] draws a server with probability proportional to its weight, from a
//! Fenwick tree over server ids: O(log n) per draw, join and leave, no allocation except
//! when an id beyond the tree's capacity joins (the tree then doubles, O(n) amortised).
//!
//! A weight of 0 counts as 1 everywhere: validation rejects it for every algorithm that
//! uses weights, and a member must stay pickable should one come through anyway.

use std::collections::BTreeMap;

use rand::RngExt;

use crate::engine::SimRng;
use crate::id::ServerId;

/// The effective weight of a server declared with `weight`.
pub fn effective(weight: u32) -> u64 {
    u64::from(weight.max(1))
}

/// How many members have each weight.
#[derive(Clone, Debug, Default)]
pub struct Census {
    counts: BTreeMap<u64, u32>,
}

impl Census {
    pub fn add(&mut self, weight: u64) {
        *self.counts.entry(weight).or_insert(0) += 1;
    }

    pub fn remove(&mut self, weight: u64) {
        if let Some(count) = self.counts.get_mut(&weight) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&weight);
            }
        }
    }

    /// Whether every member has the same weight (true for an empty pool).
    pub fn uniform(&self) -> bool {
        self.counts.len() <= 1
    }
}

/// Members' weights in a Fenwick tree indexed by `ServerId`, for proportional draws.
#[derive(Clone, Debug, Default)]
pub struct WeightedDraw {
    /// 1-based Fenwick tree: `tree[i]` sums the weights of ids `i - lowbit(i) .. i - 1`.
    /// Its length minus one is a power of two, so that a draw descends it in one pass.
    tree: Vec<u64>,
    /// Each id's weight, 0 for non-members.
    weights: Vec<u64>,
    total: u64,
}

impl WeightedDraw {
    pub fn with_capacity(capacity: usize) -> Self {
        let size = capacity.max(1).next_power_of_two();
        WeightedDraw {
            tree: vec![0; size + 1],
            weights: vec![0; size],
            total: 0,
        }
    }

    /// Sets `server`'s weight (0 takes it out of the draw).
    pub fn set(&mut self, server: ServerId, weight: u64) {
        if server.index() >= self.weights.len() {
            self.grow(server.index() + 1);
        }
        let old = self.weights[server.index()];
        self.weights[server.index()] = weight;
        self.total = self.total - old + weight;
        let size = self.weights.len();
        let mut i = server.index() + 1;
        while i <= size {
            self.tree[i] = self.tree[i] - old + weight;
            i += i & i.wrapping_neg();
        }
    }

    pub fn weight(&self, server: ServerId) -> u64 {
        self.weights.get(server.index()).copied().unwrap_or(0)
    }

    /// Rebuilds the tree for at least `ids` ids, in O(size).
    fn grow(&mut self, ids: usize) {
        let size = ids.next_power_of_two();
        self.weights.resize(size, 0);
        self.tree = vec![0; size + 1];
        for i in 1..=size {
            self.tree[i] += self.weights[i - 1];
            let parent = i + (i & i.wrapping_neg());
            if parent <= size {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    /// A member drawn with probability weight / total, or `None` when there is none. One
    /// `random_range(0..total)` per draw.
    pub fn draw(&self, rng: &mut SimRng) -> Option<ServerId> {
        if self.total == 0 {
            return None;
        }
        Some(self.find(rng.random_range(0..self.total)))
    }

    /// The member whose cumulative weight range, in id order, holds `target`.
    fn find(&self, mut target: u64) -> ServerId {
        let size = self.weights.len();
        let mut position = 0;
        let mut step = size;
        while step > 0 {
            let next = position + step;
            if next <= size && self.tree[next] <= target {
                position = next;
                target -= self.tree[next];
            }
            step >>= 1;
        }
        ServerId(position as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    #[test]
    fn the_census_tells_when_weights_are_all_equal() {
        let mut census = Census::default();
        assert!(census.uniform());
        census.add(3);
        census.add(3);
        assert!(census.uniform());
        census.add(1);
        assert!(!census.uniform());
        census.remove(1);
        assert!(census.uniform());
        census.remove(3);
        census.remove(3);
        assert!(census.uniform());
    }

    #[test]
    fn every_target_lands_on_the_member_whose_range_holds_it() {
        let mut draw = WeightedDraw::with_capacity(2);
        let weights = [(0, 2), (3, 1), (4, 0), (6, 5), (9, 3)];
        for (id, weight) in weights {
            draw.set(ServerId(id), weight);
        }
        let mut expected = Vec::new();
        for (id, weight) in weights {
            expected.extend(std::iter::repeat_n(ServerId(id), weight as usize));
        }
        assert_eq!(draw.total, 11);
        for (target, &owner) in expected.iter().enumerate() {
            assert_eq!(draw.find(target as u64), owner, "target {target}");
        }
        draw.set(ServerId(6), 0);
        assert_eq!(draw.find(2), ServerId(3));
        assert_eq!(draw.find(3), ServerId(9));
        assert_eq!(draw.weight(ServerId(9)), 3);
    }

    #[test]
    fn draws_follow_the_weights() {
        let mut draw = WeightedDraw::with_capacity(4);
        for (id, weight) in [(0, 1), (1, 2), (2, 7)] {
            draw.set(ServerId(id), weight);
        }
        let mut rng = stream(5, 0, 0);
        let mut counts = [0u32; 3];
        for _ in 0..100_000 {
            counts[draw.draw(&mut rng).unwrap().index()] += 1;
        }
        // Binomial(100000, p) has sd ≤ 158; 1000 is over 6 sd from each expectation.
        for (count, expected) in counts.iter().zip([10_000, 20_000, 70_000]) {
            assert!(count.abs_diff(expected) < 1_000, "{counts:?}");
        }
    }

    #[test]
    fn an_empty_draw_gives_nothing() {
        let mut draw = WeightedDraw::with_capacity(1);
        assert_eq!(draw.draw(&mut stream(1, 0, 0)), None);
        draw.set(ServerId(40), 2);
        draw.set(ServerId(40), 0);
        assert_eq!(draw.draw(&mut stream(1, 0, 0)), None);
    }
}
