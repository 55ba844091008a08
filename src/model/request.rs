//! Requests in flight, addressable until they end.
//!
//! A slab of slots reused through a free list: no allocation per request once the table
//! has grown to the peak number in flight. Each slot carries a generation, bumped when the
//! slot is freed, so an event naming a request that has already ended (a completion after
//! a crash, a timeout after a response) is recognised and ignored when it pops.

use crate::engine::{SimDuration, SimTime, prefetch};
use crate::id::ServerId;

/// A handle on a request: its slot and the slot's generation when it was created.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    slot: u32,
    generation: u32,
}

impl RequestId {
    /// A handle no request ever has: its slot would be the table's 2^32-th.
    pub const NONE: RequestId = RequestId {
        slot: u32::MAX,
        generation: u32::MAX,
    };

    /// Its slot: a dense index, unique among the requests live at one time, by which a
    /// component can keep per-request state beside the table.
    pub fn slot(self) -> usize {
        self.slot as usize
    }
}

/// A request in flight: where it came from, where it is, and what it still has to do.
#[derive(Copy, Clone, Debug)]
pub struct Request {
    pub arrived: SimTime,
    /// Work at speed 1.0 on its application server.
    pub work: SimDuration,
    pub server: ServerId,
    /// When a worker of its application server took it; equal to `arrived` if it did not
    /// wait.
    pub started: SimTime,
    /// The station it is at: 0 its application server, `k` the `k`-th tier it calls
    /// (holding its application worker meanwhile), or [`database::HOP`] while it makes
    /// its queries.
    ///
    /// [`database::HOP`]: super::database::HOP
    pub hop: u8,
    /// The balancer instance that dispatched it, which alone counts its connection.
    pub balancer: u8,
    /// Arrived after warmup, so its outcome counts.
    pub measured: bool,
    /// A health check's probe, not a client's request: never counted, never a connection
    /// of the balancer.
    pub probe: bool,
}

#[derive(Clone, Debug)]
struct Slot {
    generation: u32,
    request: Option<Request>,
}

#[derive(Debug, Default)]
pub struct RequestTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Live requests, health-check probes left out.
    in_flight: u32,
}

impl RequestTable {
    pub fn insert(&mut self, request: Request) -> RequestId {
        self.in_flight += u32::from(!request.probe);
        match self.free.pop() {
            Some(slot) => {
                let entry = &mut self.slots[slot as usize];
                entry.request = Some(request);
                RequestId {
                    slot,
                    generation: entry.generation,
                }
            }
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    request: Some(request),
                });
                RequestId {
                    slot: self.slots.len() as u32 - 1,
                    generation: 0,
                }
            }
        }
    }

    /// The live request `id` names, or `None` if it has ended.
    pub fn get(&self, id: RequestId) -> Option<&Request> {
        let slot = self.slots.get(id.slot as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.request.as_ref()
    }

    /// The live request `id` names, mutably, or `None` if it has ended.
    pub fn get_mut(&mut self, id: RequestId) -> Option<&mut Request> {
        let slot = self.slots.get_mut(id.slot as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        slot.request.as_mut()
    }

    /// Starts loading request `id`'s slot into the cache, for a read soon after.
    pub fn prefetch(&self, id: RequestId) {
        prefetch(self.slots.as_ptr().wrapping_add(id.slot as usize));
    }

    /// Ends request `id`, returning it, or `None` if it had already ended.
    pub fn remove(&mut self, id: RequestId) -> Option<Request> {
        let slot = self.slots.get_mut(id.slot as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let request = slot.request.take()?;
        self.in_flight -= u32::from(!request.probe);
        slot.generation = slot.generation.wrapping_add(1);
        self.free.push(id.slot);
        Some(request)
    }

    /// How many requests (not probes) are in flight.
    pub fn in_flight(&self) -> u32 {
        self.in_flight
    }

    /// The requests still in flight.
    pub fn live(&self) -> impl Iterator<Item = &Request> {
        self.slots.iter().filter_map(|slot| slot.request.as_ref())
    }
}

#[cfg(test)]
pub mod testing {
    use super::*;

    /// A request arriving at time zero with 1 ms of work.
    pub fn request() -> Request {
        Request {
            arrived: SimTime::ZERO,
            work: SimDuration::from_millis(1),
            server: ServerId(0),
            started: SimTime::ZERO,
            hop: 0,
            balancer: 0,
            measured: true,
            probe: false,
        }
    }

    /// `n` distinct live request ids.
    pub fn ids(n: usize) -> Vec<RequestId> {
        let mut table = RequestTable::default();
        (0..n).map(|_| table.insert(request())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::request;
    use super::*;

    #[test]
    fn a_stale_handle_does_not_reach_the_slots_next_request() {
        let mut table = RequestTable::default();
        let first = table.insert(request());
        assert!(table.remove(first).is_some());
        let second = table.insert(request());
        assert!(table.remove(first).is_none());
        assert!(table.get_mut(first).is_none());
        assert!(table.get_mut(second).is_some());
        assert_eq!(table.live().count(), 1);
    }
}
