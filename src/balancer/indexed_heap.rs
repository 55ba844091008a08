//! A binary min-heap of servers with a position index, so that any server's key can be
//! changed or the server removed in O(log n), not only the minimum.
//!
//! Entries are ordered by `(key, ServerId)`: on equal keys the lowest id comes first, so the
//! heap's answer never depends on the order of insertions. Insert, remove and update sift
//! up or down, O(log n); peeking at the minimum is O(1). Storage is a vector of entries
//! plus a vector of positions indexed by `ServerId`; neither allocates once it has reached
//! the number of members (respectively the largest id) it has to hold.

use std::cmp::Ordering;

use crate::id::ServerId;

const ABSENT: u32 = u32::MAX;

/// A float heap key, totally ordered by `f64::total_cmp` (the balancers never make NaN).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FloatKey(pub f64);

impl Eq for FloatKey {}

impl PartialOrd for FloatKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for FloatKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

#[derive(Clone, Debug)]
pub struct IndexedHeap<K: Ord + Copy> {
    /// The heap proper: `entries[0]` is the minimum, `entries[i]` is no greater than its
    /// children `entries[2i + 1]` and `entries[2i + 2]`.
    entries: Vec<(K, ServerId)>,
    /// `position[id]` is the index of `id` in `entries`, or `ABSENT`.
    position: Vec<u32>,
}

impl<K: Ord + Copy> IndexedHeap<K> {
    pub fn with_capacity(capacity: usize) -> Self {
        IndexedHeap {
            entries: Vec::with_capacity(capacity),
            position: Vec::with_capacity(capacity),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, server: ServerId) -> bool {
        self.slot(server).is_some()
    }

    /// The key of `server`, if it is in the heap.
    pub fn key(&self, server: ServerId) -> Option<K> {
        self.slot(server).map(|slot| self.entries[slot].0)
    }

    /// The entry with the smallest `(key, id)`.
    pub fn peek(&self) -> Option<(ServerId, K)> {
        self.entries.first().map(|&(key, id)| (id, key))
    }

    /// Adds `server` with `key`; if it is already there, this sets its key instead.
    pub fn insert(&mut self, server: ServerId, key: K) {
        if self.contains(server) {
            self.update(server, key);
            return;
        }
        if self.position.len() <= server.index() {
            self.position.resize(server.index() + 1, ABSENT);
        }
        let slot = self.entries.len();
        self.entries.push((key, server));
        self.position[server.index()] = slot as u32;
        self.sift_up(slot);
    }

    /// Removes `server` and returns its key; `None` (and no change) if it was absent.
    pub fn remove(&mut self, server: ServerId) -> Option<K> {
        let slot = self.slot(server)?;
        let (key, _) = self.entries.swap_remove(slot);
        self.position[server.index()] = ABSENT;
        if slot < self.entries.len() {
            // The former last entry now sits in the gap: it may belong above or below it.
            self.position[self.entries[slot].1.index()] = slot as u32;
            let slot = self.sift_up(slot);
            self.sift_down(slot);
        }
        Some(key)
    }

    /// Changes the key of `server`; does nothing if `server` is absent.
    pub fn update(&mut self, server: ServerId, key: K) {
        let Some(slot) = self.slot(server) else {
            return;
        };
        let old = self.entries[slot].0;
        self.entries[slot].0 = key;
        if key < old {
            self.sift_up(slot);
        } else if key > old {
            self.sift_down(slot);
        }
    }

    fn slot(&self, server: ServerId) -> Option<usize> {
        match self.position.get(server.index()) {
            Some(&slot) if slot != ABSENT => Some(slot as usize),
            _ => None,
        }
    }

    fn swap(&mut self, a: usize, b: usize) {
        self.entries.swap(a, b);
        self.position[self.entries[a].1.index()] = a as u32;
        self.position[self.entries[b].1.index()] = b as u32;
    }

    /// Moves the entry at `slot` up while it is smaller than its parent; returns where it
    /// ended.
    fn sift_up(&mut self, mut slot: usize) -> usize {
        while slot > 0 {
            let parent = (slot - 1) / 2;
            if self.entries[slot] < self.entries[parent] {
                self.swap(slot, parent);
                slot = parent;
            } else {
                break;
            }
        }
        slot
    }

    /// Moves the entry at `slot` down while a child is smaller than it.
    fn sift_down(&mut self, mut slot: usize) {
        let len = self.entries.len();
        loop {
            let left = 2 * slot + 1;
            if left >= len {
                break;
            }
            let right = left + 1;
            let child = if right < len && self.entries[right] < self.entries[left] {
                right
            } else {
                left
            };
            if self.entries[child] < self.entries[slot] {
                self.swap(slot, child);
                slot = child;
            } else {
                break;
            }
        }
    }

    #[cfg(test)]
    fn check_invariants(&self) {
        for (slot, &(_, id)) in self.entries.iter().enumerate() {
            assert_eq!(self.position[id.index()] as usize, slot);
            if slot > 0 {
                assert!(self.entries[(slot - 1) / 2] <= self.entries[slot]);
            }
        }
        let present = self.position.iter().filter(|&&p| p != ABSENT).count();
        assert_eq!(present, self.entries.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn peek_returns_the_smallest_key() {
        let mut heap = IndexedHeap::with_capacity(4);
        heap.insert(ServerId(0), 30);
        heap.insert(ServerId(1), 10);
        heap.insert(ServerId(2), 20);
        assert_eq!(heap.peek(), Some((ServerId(1), 10)));
        assert_eq!(heap.len(), 3);
    }

    #[test]
    fn equal_keys_come_out_lowest_id_first() {
        let mut heap = IndexedHeap::with_capacity(4);
        for id in [3, 1, 2, 0] {
            heap.insert(ServerId(id), 7);
        }
        assert_eq!(heap.peek(), Some((ServerId(0), 7)));
        heap.remove(ServerId(0));
        assert_eq!(heap.peek(), Some((ServerId(1), 7)));
    }

    #[test]
    fn updating_a_key_moves_the_server_both_ways() {
        let mut heap = IndexedHeap::with_capacity(4);
        for id in 0..4 {
            heap.insert(ServerId(id), 10 * id as i64);
        }
        heap.update(ServerId(3), -1);
        assert_eq!(heap.peek(), Some((ServerId(3), -1)));
        heap.update(ServerId(3), 100);
        assert_eq!(heap.peek(), Some((ServerId(0), 0)));
        assert_eq!(heap.key(ServerId(3)), Some(100));
        heap.check_invariants();
    }

    #[test]
    fn removing_an_absent_server_changes_nothing() {
        let mut heap = IndexedHeap::with_capacity(2);
        heap.insert(ServerId(0), 1);
        assert_eq!(heap.remove(ServerId(5)), None);
        assert_eq!(heap.remove(ServerId(0)), Some(1));
        assert_eq!(heap.remove(ServerId(0)), None);
        assert!(heap.is_empty());
        assert_eq!(heap.peek(), None);
    }

    #[test]
    fn no_allocation_happens_once_capacity_is_reached() {
        let mut heap = IndexedHeap::with_capacity(8);
        for id in 0..8 {
            heap.insert(ServerId(id), id);
        }
        let (entries, positions) = (heap.entries.as_ptr(), heap.position.as_ptr());
        for round in 0..100u32 {
            let id = ServerId(round % 8);
            heap.remove(id);
            heap.insert(id, round.wrapping_mul(2_654_435_761) % 97);
            heap.update(ServerId((round + 3) % 8), round % 13);
        }
        assert_eq!(heap.entries.as_ptr(), entries);
        assert_eq!(heap.position.as_ptr(), positions);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u32, u8),
        Remove(u32),
        Update(u32, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..16u32, any::<u8>()).prop_map(|(id, key)| Op::Insert(id, key)),
            (0..16u32).prop_map(Op::Remove),
            (0..16u32, any::<u8>()).prop_map(|(id, key)| Op::Update(id, key)),
        ]
    }

    proptest! {
        #[test]
        fn behaves_like_an_ordered_set_of_key_id_pairs(ops in prop::collection::vec(op(), 0..200)) {
            let mut heap = IndexedHeap::with_capacity(4);
            let mut model: BTreeSet<(u8, u32)> = BTreeSet::new();
            let mut keys = [None::<u8>; 16];
            for op in ops {
                match op {
                    Op::Insert(id, key) | Op::Update(id, key) => {
                        let is_insert = matches!(op, Op::Insert(..));
                        if let Some(old) = keys[id as usize] {
                            model.remove(&(old, id));
                            model.insert((key, id));
                            keys[id as usize] = Some(key);
                        } else if is_insert {
                            model.insert((key, id));
                            keys[id as usize] = Some(key);
                        }
                        if is_insert {
                            heap.insert(ServerId(id), key);
                        } else {
                            heap.update(ServerId(id), key);
                        }
                    }
                    Op::Remove(id) => {
                        let old = keys[id as usize].take();
                        if let Some(old) = old {
                            model.remove(&(old, id));
                        }
                        prop_assert_eq!(heap.remove(ServerId(id)), old);
                    }
                }
                heap.check_invariants();
                prop_assert_eq!(heap.len(), model.len());
                prop_assert_eq!(
                    heap.peek(),
                    model.first().map(|&(key, id)| (ServerId(id), key))
                );
            }
        }
    }
}
