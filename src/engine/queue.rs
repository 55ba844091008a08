//! The future-event list: a binary heap ordered by `(time, priority, sequence)`.
//!
//! The priority class makes same-instant semantics explicit (the event type says, for
//! example, that a completion at `t` is handled before an arrival at `t`); the sequence
//! number breaks the remaining ties in insertion order, so the order of events never
//! depends on anything but the order in which they were scheduled. Events are stored by
//! value: scheduling allocates nothing once the heap has grown to its working size.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use super::time::SimTime;

/// An event type declares the order of events that fall on the same instant:
/// lower classes are handled first.
pub trait Prioritized {
    fn priority(&self) -> u8;
}

/// Bits of the packed key reserved for the sequence number: 2^56 events per run.
const SEQUENCE_BITS: u32 = 56;

struct Entry<E> {
    /// `time << 64 | priority << 56 | sequence`: one integer comparison orders all three,
    /// which keeps the heap's sifting short (the heap is a fifth of a run's time).
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn time(&self) -> SimTime {
        SimTime::from_nanos((self.key >> 64) as u64)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}

impl<E> Eq for Entry<E> {}

impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<E> Ord for Entry<E> {
    /// Reversed, so that std's max-heap pops the earliest event.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key.cmp(&self.key)
    }
}

/// A deterministic priority queue of future events.
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    next_sequence: u64,
}

impl<E: Prioritized> EventQueue<E> {
    pub fn with_capacity(capacity: usize) -> Self {
        EventQueue {
            heap: BinaryHeap::with_capacity(capacity),
            next_sequence: 0,
        }
    }

    /// Schedules `event` at `time`. Events at the same time and priority pop in the order
    /// they were scheduled.
    pub fn schedule(&mut self, time: SimTime, event: E) {
        debug_assert!(self.next_sequence < 1 << SEQUENCE_BITS);
        let order = (u64::from(event.priority()) << SEQUENCE_BITS) | self.next_sequence;
        self.next_sequence += 1;
        let key = (u128::from(time.as_nanos()) << 64) | u128::from(order);
        self.heap.push(Entry { key, event });
    }

    /// Removes and returns the earliest event.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.heap.pop().map(|entry| (entry.time(), entry.event))
    }

    /// The time of the earliest event, if any.
    pub fn next_time(&self) -> Option<SimTime> {
        self.heap.peek().map(Entry::time)
    }

    /// The number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Clone, Copy, Debug, PartialEq)]
    struct Tagged {
        priority: u8,
        id: usize,
    }

    impl Prioritized for Tagged {
        fn priority(&self) -> u8 {
            self.priority
        }
    }

    #[test]
    fn same_instant_events_pop_by_priority_then_insertion_order() {
        let mut queue = EventQueue::with_capacity(4);
        let t = SimTime::from_nanos(10);
        queue.schedule(t, Tagged { priority: 2, id: 0 });
        queue.schedule(t, Tagged { priority: 1, id: 1 });
        queue.schedule(t, Tagged { priority: 2, id: 2 });
        queue.schedule(SimTime::from_nanos(5), Tagged { priority: 9, id: 3 });
        let order: Vec<usize> = std::iter::from_fn(|| queue.pop())
            .map(|(_, e)| e.id)
            .collect();
        assert_eq!(order, vec![3, 1, 0, 2]);
    }

    proptest! {
        /// Whatever is scheduled, events come out sorted by (time, priority, insertion).
        #[test]
        fn pops_in_time_priority_sequence_order(items in proptest::collection::vec((0u64..50, 0u8..4), 0..200)) {
            let mut queue = EventQueue::with_capacity(items.len());
            for (id, &(time, priority)) in items.iter().enumerate() {
                queue.schedule(SimTime::from_nanos(time), Tagged { priority, id });
            }
            let mut expected: Vec<(u64, u8, usize)> =
                items.iter().enumerate().map(|(id, &(t, p))| (t, p, id)).collect();
            expected.sort();
            let popped: Vec<(u64, u8, usize)> = std::iter::from_fn(|| queue.pop())
                .map(|(t, e)| (t.as_nanos(), e.priority, e.id))
                .collect();
            prop_assert_eq!(popped, expected);
        }
    }
}
