//! A station: a pool of workers with a FIFO queue in front of them — the same code for an
//! application server, a second tier or session store, and a database node. It knows which
//! requests it is serving and which are waiting, so that taking it down can fail exactly
//! those.
//!
//! Busy time is integrated as it happens (busy workers × time, in worker-nanoseconds), so
//! utilization over any window is a difference of two readings, with no per-request cost.

use std::collections::VecDeque;

use super::in_service::InService;
use super::request::RequestId;
use crate::engine::{SimDuration, SimTime};

/// What a station does with a request offered to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A worker is free: service starts now.
    Start,
    /// All workers are busy: it waits in the queue, behind `ahead` others.
    Queued { ahead: u32 },
    /// The queue is full.
    Rejected,
}

/// In declaration order (`repr(C)`): in the [`Server`](super::server::Server) that holds
/// it, the fields up to `queue` fill the rest of the struct's first cache line, `queue`
/// and `serving`'s first request the second, so that a request's start and end read two
/// lines at its server (a test holds the layout to it).
#[derive(Debug)]
#[repr(C)]
pub struct Station {
    /// Worker-nanoseconds of service since time zero, up to `integrated_until`.
    busy_integral: u128,
    integrated_until: SimTime,
    /// Service time is work divided by speed.
    pub speed: f64,
    pub workers: u32,
    queue_limit: Option<u32>,
    queue: VecDeque<RequestId>,
    /// The requests holding a worker; at most `workers` of them, so finding one to remove
    /// is a scan of a few entries.
    serving: InService,
}

impl Station {
    pub fn new(workers: u32, queue_limit: Option<u32>, speed: f64, now: SimTime) -> Self {
        Station {
            workers,
            speed,
            queue_limit,
            serving: InService::with_capacity(workers.min(64) as usize),
            queue: VecDeque::new(),
            busy_integral: 0,
            integrated_until: now,
        }
    }

    /// Offers request `id` at `now`: a free worker takes it, else it queues if there is room.
    /// Always inlined, as the compiler chose before the station held its first request
    /// itself: out of line, the call cost the reference run about 40 instructions a
    /// request.
    #[inline(always)]
    pub fn admit(&mut self, now: SimTime, id: RequestId) -> Admission {
        if (self.serving.len() as u32) < self.workers {
            self.integrate(now);
            self.serving.push(id);
            Admission::Start
        } else if self
            .queue_limit
            .is_none_or(|limit| (self.queue.len() as u64) < u64::from(limit))
        {
            let ahead = self.queue.len() as u32;
            self.queue.push_back(id);
            Admission::Queued { ahead }
        } else {
            Admission::Rejected
        }
    }

    /// Request `id`'s service ended at `now`; returns the queued request its worker takes
    /// next, if any (the worker then stays busy). Always inlined, as [`Station::admit`].
    #[inline(always)]
    pub fn finish(&mut self, now: SimTime, id: RequestId) -> Option<RequestId> {
        let position = self
            .serving
            .position(id)
            .expect("a request finishes only where it is served");
        match self.queue.pop_front() {
            Some(next) => {
                self.serving.replace(position, next);
                Some(next)
            }
            None => {
                self.integrate(now);
                self.serving.swap_remove(position);
                None
            }
        }
    }

    /// Takes every request off the station at `now` (it is going down): first those in
    /// service, then the queue in order.
    pub fn evict_all(&mut self, now: SimTime) -> Vec<RequestId> {
        self.integrate(now);
        let mut evicted: Vec<RequestId> = self.serving.drain().collect();
        evicted.extend(self.queue.drain(..));
        evicted
    }

    /// Takes request `id` off the station at `now` (it ended elsewhere): a worker it held
    /// takes the next queued request, which is returned.
    pub fn withdraw(&mut self, now: SimTime, id: RequestId) -> Option<RequestId> {
        if let Some(position) = self.queue.iter().position(|&queued| queued == id) {
            self.queue.remove(position);
            return None;
        }
        if self.serving.position(id).is_some() {
            return self.finish(now, id);
        }
        None
    }

    /// How long this station takes for `work` at its speed.
    pub fn service_time(&self, work: SimDuration) -> SimDuration {
        if self.speed == 1.0 {
            work
        } else {
            SimDuration::from_secs_f64(work.as_secs_f64() / self.speed)
        }
    }

    pub fn busy_workers(&self) -> u32 {
        self.serving.len() as u32
    }

    pub fn queue_length(&self) -> u32 {
        self.queue.len() as u32
    }

    /// A worker is free, so nothing waits: what a server reports to a join-idle-queue
    /// balancer when one frees.
    pub fn has_free_worker(&self) -> bool {
        (self.serving.len() as u32) < self.workers
    }

    /// Nothing in service and nothing waiting.
    pub fn is_idle(&self) -> bool {
        self.serving.is_empty()
    }

    /// Worker-nanoseconds of service from time zero to `now`.
    pub fn busy_integral(&mut self, now: SimTime) -> u128 {
        self.integrate(now);
        self.busy_integral
    }

    fn integrate(&mut self, now: SimTime) {
        let elapsed = now.since(self.integrated_until).as_nanos();
        self.busy_integral += self.serving.len() as u128 * u128::from(elapsed);
        self.integrated_until = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::in_service;
    use crate::model::request::testing::ids;
    use crate::model::server::{Server, ServerState};
    use std::mem::{align_of, offset_of, size_of};

    #[test]
    fn what_a_request_reads_at_its_server_lies_in_its_first_two_cache_lines() {
        // Line 0: the state, the busy time, the speed, the workers, the queue's limit.
        assert_eq!(align_of::<Server>(), 64);
        assert_eq!(offset_of!(Server, state), 0);
        let station = offset_of!(Server, station);
        let end = |offset: usize, size: usize| station + offset + size;
        assert!(size_of::<ServerState>() <= station);
        assert!(end(offset_of!(Station, queue_limit), size_of::<Option<u32>>()) <= 64);
        // Line 1: the queue, and the count and first of the requests in service.
        let queue = station + offset_of!(Station, queue);
        assert!(
            queue >= 64 && end(offset_of!(Station, queue), size_of::<VecDeque<RequestId>>()) <= 128
        );
        let serving = offset_of!(Station, serving);
        assert!(end(serving, in_service::FIRST_END) <= 128);
    }

    #[test]
    fn admits_to_free_workers_then_queue_then_rejects() {
        let mut station = Station::new(2, Some(1), 2.0, SimTime::ZERO);
        let ids = ids(4);
        let t = SimTime::ZERO;
        let admissions: Vec<Admission> = ids.iter().map(|&id| station.admit(t, id)).collect();
        assert_eq!(
            admissions,
            vec![
                Admission::Start,
                Admission::Start,
                Admission::Queued { ahead: 0 },
                Admission::Rejected
            ]
        );
        assert_eq!(station.finish(t, ids[1]), Some(ids[2]));
        assert_eq!(station.busy_workers(), 2);
        assert_eq!(station.finish(t, ids[0]), None);
        assert_eq!(station.finish(t, ids[2]), None);
        assert!(station.is_idle());
    }

    #[test]
    fn busy_time_integrates_workers_over_time() {
        let mut station = Station::new(2, None, 1.0, SimTime::ZERO);
        let ids = ids(2);
        station.admit(SimTime::ZERO, ids[0]);
        station.admit(SimTime::from_nanos(10), ids[1]);
        station.finish(SimTime::from_nanos(30), ids[0]);
        // One worker for 30 ns, a second for 20 ns, then one until 40 ns.
        assert_eq!(station.busy_integral(SimTime::from_nanos(40)), 30 + 20 + 10);
    }

    #[test]
    fn eviction_returns_served_then_queued_and_stops_the_clock() {
        let mut station = Station::new(1, None, 1.0, SimTime::ZERO);
        let ids = ids(3);
        for &id in &ids {
            station.admit(SimTime::ZERO, id);
        }
        assert_eq!(station.evict_all(SimTime::from_nanos(5)), ids);
        assert!(station.is_idle());
        assert_eq!(station.busy_integral(SimTime::from_nanos(100)), 5);
    }

    #[test]
    fn a_withdrawn_request_frees_its_worker_for_the_next_or_leaves_the_queue() {
        let mut station = Station::new(1, None, 1.0, SimTime::ZERO);
        let ids = ids(3);
        for &id in &ids {
            station.admit(SimTime::ZERO, id);
        }
        assert_eq!(station.withdraw(SimTime::ZERO, ids[2]), None);
        assert_eq!(station.queue_length(), 1);
        assert_eq!(station.withdraw(SimTime::ZERO, ids[0]), Some(ids[1]));
        assert_eq!(station.queue_length(), 0);
        assert_eq!(station.busy_workers(), 1);
    }

    #[test]
    fn speed_divides_work() {
        let station = Station::new(1, None, 2.0, SimTime::ZERO);
        assert_eq!(
            station.service_time(SimDuration::from_millis(10)),
            SimDuration::from_millis(5)
        );
    }
}
