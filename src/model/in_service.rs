//! The requests a station's workers hold: a list in the order of a `Vec` with
//! `swap_remove`, whose first element lives in the station itself.
//!
//! Why not a plain `Vec`: a single-worker server (the common model) would keep its one
//! request in a heap buffer of its own, a cache line away from the station, and every
//! request's start and end would touch that line too; with 10,000 servers it is a likely
//! miss at each. Why not a small-vector crate: it checks whether it has spilled on every
//! access, which cost the reference run 5% more instructions; here the first element is
//! always inline and the rest always in the vector, so each operation is one predictable
//! branch. The order is exactly a `Vec`'s (push at the end, `swap_remove` moving the last
//! element into the hole), because a station going down fails its requests in this order.
//! The per-request operations are always inlined: each is a few instructions, and a call
//! would cost more than its work.

use super::request::RequestId;

/// Where the count and the first element end, from the start of an [`InService`].
#[cfg(test)]
pub const FIRST_END: usize =
    std::mem::offset_of!(InService, first) + std::mem::size_of::<RequestId>();

/// In declaration order (`repr(C)`): the count and the first element, which a
/// single-worker station reads, come before the vector, which it never touches; they end
/// `FIRST_END` bytes in (a test constant).
#[derive(Debug)]
#[repr(C)]
pub struct InService {
    /// How many: kept, rather than derived from the other two fields, so that asking
    /// (each admission does) is one load.
    len: u32,
    /// Element 0, or [`RequestId::NONE`] when empty.
    first: RequestId,
    /// Elements 1 and up.
    rest: Vec<RequestId>,
}

impl InService {
    /// Room for `capacity` elements without reallocating.
    pub fn with_capacity(capacity: usize) -> Self {
        InService {
            first: RequestId::NONE,
            len: 0,
            rest: Vec::with_capacity(capacity.saturating_sub(1)),
        }
    }

    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn push(&mut self, id: RequestId) {
        if self.len == 0 {
            self.first = id;
        } else {
            self.rest.push(id);
        }
        self.len += 1;
    }

    /// The index of `id`, if held.
    #[inline(always)]
    pub fn position(&self, id: RequestId) -> Option<usize> {
        if self.first == id {
            return Some(0);
        }
        self.rest.iter().position(|&held| held == id).map(|i| i + 1)
    }

    /// Puts `id` at `index`, in place of what was there.
    #[inline(always)]
    pub fn replace(&mut self, index: usize, id: RequestId) {
        match index {
            0 => self.first = id,
            _ => self.rest[index - 1] = id,
        }
    }

    /// Removes element `index`; the last element takes its place.
    #[inline(always)]
    pub fn swap_remove(&mut self, index: usize) {
        self.len -= 1;
        if self.len == 0 {
            // The only element: the vector, empty, is not read.
            self.first = RequestId::NONE;
            return;
        }
        let last = self.rest.pop().expect("a second element is in the vector");
        if index < self.len() {
            self.replace(index, last);
        }
    }

    /// Removes every element, in order.
    pub fn drain(&mut self) -> impl Iterator<Item = RequestId> + '_ {
        let first = std::mem::replace(&mut self.first, RequestId::NONE);
        self.len = 0;
        (first != RequestId::NONE)
            .then_some(first)
            .into_iter()
            .chain(self.rest.drain(..))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::request::testing::ids;
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Push,
        /// Remove (swap) the element at this index, modulo the length.
        SwapRemove(usize),
        /// Replace the element at this index, modulo the length, with a new id.
        Replace(usize),
        Drain,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => Just(Op::Push),
            3 => (0..8usize).prop_map(Op::SwapRemove),
            2 => (0..8usize).prop_map(Op::Replace),
            1 => Just(Op::Drain),
        ]
    }

    proptest! {
        /// Whatever the operations, the elements and their order are a `Vec`'s.
        #[test]
        fn holds_what_a_vec_would_in_its_order(ops in proptest::collection::vec(op(), 0..200)) {
            let fresh = ids(ops.len());
            let mut fresh = fresh.into_iter();
            let mut held = InService::with_capacity(1);
            let mut model: Vec<RequestId> = Vec::new();
            for op in ops {
                match op {
                    Op::Push => {
                        let id = fresh.next().expect("one id per operation");
                        held.push(id);
                        model.push(id);
                    }
                    Op::SwapRemove(at) if !model.is_empty() => {
                        let at = at % model.len();
                        held.swap_remove(at);
                        model.swap_remove(at);
                    }
                    Op::Replace(at) if !model.is_empty() => {
                        let at = at % model.len();
                        let id = fresh.next().expect("one id per operation");
                        held.replace(at, id);
                        model[at] = id;
                    }
                    Op::Drain => {
                        let drained: Vec<RequestId> = held.drain().collect();
                        prop_assert_eq!(drained, std::mem::take(&mut model));
                    }
                    Op::SwapRemove(_) | Op::Replace(_) => {}
                }
                prop_assert_eq!(held.len(), model.len());
                prop_assert_eq!(held.is_empty(), model.is_empty());
                for (index, &id) in model.iter().enumerate() {
                    prop_assert_eq!(held.position(id), Some(index));
                }
            }
        }
    }
}
