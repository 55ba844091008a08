//! Weighted round robin: NGINX's smooth weighted round robin, pick for pick.
//!
//! NGINX keeps a `current` per server. For each pick every server's `current` grows by its
//! weight, the server with the largest `current` is chosen (ties: the first in server
//! order, here the lowest `ServerId`) and the total weight is subtracted from its
//! `current`. Weights 5, 1, 1 give `a a b a c a a`, repeating: heavy servers are spread
//! out rather than served in bursts.
//!
//! NGINX scans every server per pick; this does not. Within a class of servers of equal
//! weight `w` every `current` grows by the same `w` per pick, so after `k` picks
//! `current_i = intercept_i + k * w`, and only a pick changes an intercept (the winner's,
//! by minus the total weight). Each weight class keeps its servers in an [`IndexedHeap`]
//! keyed by `-intercept` (ties: lowest id first), whose head is the class's largest
//! `current`. A pick compares the heads of the K classes and updates the winner's key:
//! O(K + log n), with K the number of distinct weights (a property of the configuration,
//! not of the server count). Join: `current` 0 at the present step (`intercept = -k * w`),
//! O(log n); leave: out of its class heap, the total weight drops, O(log n). A class left
//! empty is recycled for the next new weight, so that the classes a pick compares are never
//! more than the distinct weights the pool has held at once. All arithmetic is in i128,
//! which cannot overflow: `|k * w|` stays below 2^96 for 2^64 picks of weight 2^32.
//!
//! A weight change keeps the server's `current` and adds the new weight from the next pick
//! on, as NGINX does when a server's `effective_weight` moves (it lowers it on failures and
//! raises it again pick by pick, leaving `current_weight` alone): the server moves to the
//! class of its new weight with the intercept that gives the same `current`, O(log n).
//!
//! A weight of 0 is rejected by validation for this algorithm; should one reach it anyway
//! it counts as 1, so that every server in the pool can still be picked.

use std::collections::BTreeMap;

use super::indexed_heap::IndexedHeap;
use super::{Backend, Balancer};
use crate::engine::SimRng;
use crate::id::{RequestKey, ServerId};

const ABSENT: u32 = u32::MAX;

struct WeightClass {
    weight: i128,
    /// Members of this weight, keyed by `-intercept`: the head has the largest `current`.
    heap: IndexedHeap<i128>,
}

pub struct WeightedRoundRobin {
    classes: Vec<WeightClass>,
    /// Weight → index in `classes`; consulted on joins, weight changes and when a class
    /// empties.
    class_index: BTreeMap<u32, u32>,
    /// `class_of[id]` is the index of the member's class, or `ABSENT`.
    class_of: Vec<u32>,
    /// Picks made so far (`k`).
    step: i128,
    /// Sum of the members' weights.
    total: i128,
    capacity: usize,
    /// Indices of classes with no member and no weight, to be reused.
    free: Vec<u32>,
}

impl WeightedRoundRobin {
    pub fn with_capacity(capacity: usize) -> Self {
        WeightedRoundRobin {
            classes: Vec::new(),
            class_index: BTreeMap::new(),
            class_of: Vec::with_capacity(capacity),
            step: 0,
            total: 0,
            capacity,
            free: Vec::new(),
        }
    }

    fn class_for(&mut self, weight: u32) -> usize {
        if let Some(&index) = self.class_index.get(&weight) {
            return index as usize;
        }
        let index = match self.free.pop() {
            Some(index) => {
                self.classes[index as usize].weight = i128::from(weight);
                index as usize
            }
            None => {
                self.classes.push(WeightClass {
                    weight: i128::from(weight),
                    heap: IndexedHeap::with_capacity(self.capacity),
                });
                self.classes.len() - 1
            }
        };
        self.class_index.insert(weight, index as u32);
        index
    }

    /// Takes `server` out of class `class` and returns its `current`; an emptied class is
    /// freed. The total weight is the caller's.
    fn take_out(&mut self, server: ServerId, class: u32) -> i128 {
        let entry = &mut self.classes[class as usize];
        let key = entry.heap.remove(server).expect("a member is in its class");
        let current = self.step * entry.weight - key;
        if entry.heap.is_empty() {
            // Weights are u32 (`class_for` made them so).
            self.class_index.remove(&(entry.weight as u32));
            self.free.push(class);
        }
        current
    }
}

impl Balancer for WeightedRoundRobin {
    fn add(&mut self, backend: Backend<'_>) {
        let id = backend.id;
        if self.class_of.get(id.index()).is_some_and(|&c| c != ABSENT) {
            return;
        }
        let weight = backend.weight.max(1);
        let class = self.class_for(weight);
        if self.class_of.len() <= id.index() {
            self.class_of.resize(id.index() + 1, ABSENT);
        }
        self.class_of[id.index()] = class as u32;
        let class = &mut self.classes[class];
        // current = 0 now: intercept = -step * w, key = -intercept.
        class.heap.insert(id, self.step * class.weight);
        self.total += class.weight;
    }

    fn remove(&mut self, server: ServerId) {
        let Some(&class) = self.class_of.get(server.index()) else {
            return;
        };
        if class == ABSENT {
            return;
        }
        self.total -= self.classes[class as usize].weight;
        self.take_out(server, class);
        self.class_of[server.index()] = ABSENT;
    }

    fn set_weight(&mut self, server: ServerId, weight: u32) {
        let Some(&old) = self.class_of.get(server.index()) else {
            return;
        };
        let weight = weight.max(1);
        if old == ABSENT || self.classes[old as usize].weight == i128::from(weight) {
            return;
        }
        self.total -= self.classes[old as usize].weight;
        let current = self.take_out(server, old);
        let class = self.class_for(weight);
        self.class_of[server.index()] = class as u32;
        let class = &mut self.classes[class];
        // The same `current` in the new class: intercept = current - step * w.
        class
            .heap
            .insert(server, self.step * class.weight - current);
        self.total += class.weight;
    }

    fn pick(&mut self, _request: &RequestKey, _rng: &mut SimRng) -> Option<ServerId> {
        if self.total == 0 {
            return None;
        }
        self.step += 1;
        // (current, id, class, key) of the best head so far.
        let mut best: Option<(i128, ServerId, usize, i128)> = None;
        for (index, class) in self.classes.iter().enumerate() {
            let Some((id, key)) = class.heap.peek() else {
                continue;
            };
            let current = self.step * class.weight - key;
            let better = match best {
                None => true,
                Some((best_current, best_id, _, _)) => {
                    current > best_current || (current == best_current && id < best_id)
                }
            };
            if better {
                best = Some((current, id, index, key));
            }
        }
        let (_, id, class, key) = best?;
        // current -= total, i.e. intercept -= total, i.e. key += total.
        self.classes[class].heap.update(id, key + self.total);
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;
    use crate::id::ClientAddr;
    use proptest::prelude::*;

    const KEY: RequestKey = RequestKey {
        client: ClientAddr(1),
        session: None,
    };

    fn backend(id: u32, weight: u32) -> Backend<'static> {
        Backend {
            id: ServerId(id),
            name: "s",
            weight,
        }
    }

    /// NGINX's loop, transcribed: O(n) per pick over the members in id order.
    #[derive(Default)]
    struct Reference {
        /// (id, weight, current), sorted by id.
        servers: Vec<(u32, i128, i128)>,
    }

    impl Reference {
        fn add(&mut self, id: u32, weight: u32) {
            if self.servers.iter().any(|s| s.0 == id) {
                return;
            }
            self.servers.push((id, i128::from(weight.max(1)), 0));
            self.servers.sort_by_key(|s| s.0);
        }

        fn remove(&mut self, id: u32) {
            self.servers.retain(|s| s.0 != id);
        }

        /// NGINX's `effective_weight` moving: `current_weight` stays.
        fn set_weight(&mut self, id: u32, weight: u32) {
            if let Some(server) = self.servers.iter_mut().find(|s| s.0 == id) {
                server.1 = i128::from(weight.max(1));
            }
        }

        fn pick(&mut self) -> Option<u32> {
            let total: i128 = self.servers.iter().map(|s| s.1).sum();
            let mut best: Option<usize> = None;
            for i in 0..self.servers.len() {
                self.servers[i].2 += self.servers[i].1;
                if best.is_none_or(|b| self.servers[i].2 > self.servers[b].2) {
                    best = Some(i);
                }
            }
            let best = best?;
            self.servers[best].2 -= total;
            Some(self.servers[best].0)
        }
    }

    fn picks(balancer: &mut WeightedRoundRobin, count: usize) -> Vec<u32> {
        let mut rng = stream(1, 0, 0);
        (0..count)
            .map(|_| balancer.pick(&KEY, &mut rng).unwrap().0)
            .collect()
    }

    #[test]
    fn weights_five_one_one_give_nginx_sequence() {
        let mut balancer = WeightedRoundRobin::with_capacity(3);
        for (id, weight) in [(0, 5), (1, 1), (2, 1)] {
            balancer.add(backend(id, weight));
        }
        let (a, b, c) = (0, 1, 2);
        let cycle = [a, a, b, a, c, a, a];
        let expected: Vec<u32> = cycle.iter().cycle().take(21).copied().collect();
        assert_eq!(picks(&mut balancer, 21), expected);
    }

    #[test]
    fn equal_weights_reduce_to_round_robin_in_id_order() {
        let mut balancer = WeightedRoundRobin::with_capacity(3);
        for id in [2, 0, 1] {
            balancer.add(backend(id, 4));
        }
        assert_eq!(picks(&mut balancer, 6), vec![0, 1, 2, 0, 1, 2]);
    }

    #[test]
    fn a_few_weight_sets_match_the_reference() {
        for weights in [
            &[1, 2, 3][..],
            &[3, 3, 1, 1, 2],
            &[10, 1],
            &[7, 7, 7, 2, 9, 1, 1, 4],
            &[u32::MAX, 1, u32::MAX - 1],
        ] {
            let mut balancer = WeightedRoundRobin::with_capacity(weights.len());
            let mut reference = Reference::default();
            for (id, &weight) in weights.iter().enumerate() {
                balancer.add(backend(id as u32, weight));
                reference.add(id as u32, weight);
            }
            let expected: Vec<u32> = (0..500).map(|_| reference.pick().unwrap()).collect();
            assert_eq!(picks(&mut balancer, 500), expected, "weights {weights:?}");
        }
    }

    #[test]
    fn a_late_joiner_starts_from_zero_like_in_nginx() {
        let mut balancer = WeightedRoundRobin::with_capacity(4);
        let mut reference = Reference::default();
        for (id, weight) in [(0, 3), (1, 2)] {
            balancer.add(backend(id, weight));
            reference.add(id, weight);
        }
        let mut got = picks(&mut balancer, 7);
        let mut expected: Vec<u32> = (0..7).map(|_| reference.pick().unwrap()).collect();
        balancer.add(backend(2, 4));
        reference.add(2, 4);
        balancer.remove(ServerId(0));
        reference.remove(0);
        got.extend(picks(&mut balancer, 20));
        expected.extend((0..20).map(|_| reference.pick().unwrap()));
        assert_eq!(got, expected);
    }

    #[test]
    fn joining_after_a_trillion_picks_neither_overflows_nor_drifts() {
        let mut balancer = WeightedRoundRobin::with_capacity(3);
        let mut reference = Reference::default();
        // Pretend 10^12 picks have gone by, then join servers of extreme weights.
        balancer.step = 1_000_000_000_000;
        for (id, weight) in [(0, u32::MAX), (1, 1), (2, u32::MAX / 3)] {
            balancer.add(backend(id, weight));
            reference.add(id, weight);
        }
        let expected: Vec<u32> = (0..300).map(|_| reference.pick().unwrap()).collect();
        assert_eq!(picks(&mut balancer, 300), expected);
    }

    #[test]
    fn a_weight_change_keeps_current_and_matches_the_reference() {
        let mut balancer = WeightedRoundRobin::with_capacity(3);
        let mut reference = Reference::default();
        for (id, weight) in [(0, 5), (1, 1), (2, 1)] {
            balancer.add(backend(id, weight));
            reference.add(id, weight);
        }
        // Mid-cycle, so that the currents are far from zero when the weights move.
        let mut got = picks(&mut balancer, 4);
        let mut expected: Vec<u32> = (0..4).map(|_| reference.pick().unwrap()).collect();
        for (id, weight) in [(0, 1), (2, 7), (1, 7), (1, 7), (2, 0)] {
            balancer.set_weight(ServerId(id), weight);
            reference.set_weight(id, weight);
            got.extend(picks(&mut balancer, 9));
            expected.extend((0..9).map(|_| reference.pick().unwrap()));
        }
        assert_eq!(got, expected);
        // Unknown and departed servers are ignored.
        balancer.set_weight(ServerId(9), 3);
        balancer.remove(ServerId(2));
        balancer.set_weight(ServerId(2), 3);
        assert_eq!(balancer.total, 7 + 1);
    }

    #[test]
    fn after_a_weight_change_each_cycle_follows_the_new_weights() {
        let mut balancer = WeightedRoundRobin::with_capacity(4);
        for id in 0..4 {
            balancer.add(backend(id, 100));
        }
        picks(&mut balancer, 3);
        balancer.set_weight(ServerId(3), 10);
        balancer.set_weight(ServerId(1), 250);
        // Over `total` picks a server is chosen `weight + (current before - current after)
        // / total` times; once the schedule has settled into its cycle (within the first
        // 460 picks here) the currents repeat every `total` picks, and each cycle gives
        // every server exactly its new weight.
        picks(&mut balancer, 460);
        for _ in 0..3 {
            let cycle = picks(&mut balancer, 460);
            let counts: Vec<usize> = (0..4)
                .map(|id| cycle.iter().filter(|&&p| p == id).count())
                .collect();
            assert_eq!(counts, vec![100, 250, 100, 10]);
        }
    }

    #[test]
    fn a_ramp_through_many_weights_recycles_its_classes() {
        let mut balancer = WeightedRoundRobin::with_capacity(3);
        balancer.add(backend(0, 100));
        balancer.add(backend(1, 100));
        balancer.add(backend(2, 10));
        for weight in 11..=100 {
            balancer.set_weight(ServerId(2), weight);
            picks(&mut balancer, 3);
        }
        // Weights 100 and the ramping one: never more than two classes at once, plus the
        // one the ramp leaves free when it lands on 100.
        assert!(balancer.classes.len() <= 3, "{}", balancer.classes.len());
        assert_eq!(balancer.class_index.len(), 1);
    }

    #[test]
    fn an_empty_pool_picks_nothing() {
        let mut balancer = WeightedRoundRobin::with_capacity(1);
        assert_eq!(balancer.pick(&KEY, &mut stream(1, 0, 0)), None);
        balancer.add(backend(0, 2));
        balancer.remove(ServerId(0));
        assert_eq!(balancer.pick(&KEY, &mut stream(1, 0, 0)), None);
    }

    proptest! {
        #[test]
        fn random_weights_give_the_reference_sequence(
            weights in prop::collection::vec(1..10u32, 1..20),
        ) {
            let mut balancer = WeightedRoundRobin::with_capacity(weights.len());
            let mut reference = Reference::default();
            for (id, &weight) in weights.iter().enumerate() {
                balancer.add(backend(id as u32, weight));
                reference.add(id as u32, weight);
            }
            let expected: Vec<u32> = (0..200).map(|_| reference.pick().unwrap()).collect();
            prop_assert_eq!(picks(&mut balancer, 200), expected);
        }

        #[test]
        fn joins_leaves_and_weight_changes_keep_the_reference_sequence(
            ops in prop::collection::vec((0..4u8, 0..12u32, 1..6u32), 0..300),
        ) {
            let mut balancer = WeightedRoundRobin::with_capacity(4);
            let mut reference = Reference::default();
            let mut rng = stream(1, 0, 0);
            for (kind, id, weight) in ops {
                match kind {
                    0 => {
                        balancer.add(backend(id, weight));
                        reference.add(id, weight);
                    }
                    1 => {
                        balancer.remove(ServerId(id));
                        reference.remove(id);
                    }
                    2 => {
                        balancer.set_weight(ServerId(id), weight);
                        reference.set_weight(id, weight);
                    }
                    _ => prop_assert_eq!(
                        balancer.pick(&KEY, &mut rng).map(|s| s.0),
                        reference.pick()
                    ),
                }
            }
        }
    }
}
