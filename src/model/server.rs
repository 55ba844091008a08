//! A server: workers that serve requests at some speed, and a FIFO queue in front of them.
//!
//! Busy time is integrated as it happens (busy workers × time, in worker-nanoseconds), so
//! utilization over any window is a difference of two readings, with no per-request cost.

use std::collections::VecDeque;

use super::request::RequestId;
use super::spec::ServerGroupSpec;
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;

pub struct Server {
    pub id: ServerId,
    /// Instance name: `<group>-<index in group>`.
    pub name: String,
    /// Index of its group in the scenario's `[[servers]]` list.
    pub group: usize,
    pub workers: u32,
    pub speed: f64,
    pub weight: u32,
    queue_limit: Option<u32>,
    busy: u32,
    queue: VecDeque<RequestId>,
    /// Worker-nanoseconds of service since time zero, up to `integrated_until`.
    busy_integral: u128,
    integrated_until: SimTime,
}

/// What a server does with a request offered to it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    /// A worker is free: service starts now.
    Start,
    /// All workers are busy: it waits in the queue.
    Queued,
    /// The queue is full.
    Rejected,
}

impl Server {
    pub fn new(id: ServerId, group: usize, index: u32, spec: &ServerGroupSpec) -> Self {
        Server {
            id,
            name: format!("{}-{index}", spec.name),
            group,
            workers: spec.workers,
            speed: spec.speed,
            weight: spec.weight,
            queue_limit: spec.queue_limit,
            busy: 0,
            queue: VecDeque::new(),
            busy_integral: 0,
            integrated_until: SimTime::ZERO,
        }
    }

    /// Offers request `id` at `now`: a free worker takes it, else it queues if there is room.
    pub fn admit(&mut self, now: SimTime, id: RequestId) -> Admission {
        if self.busy < self.workers {
            self.integrate(now);
            self.busy += 1;
            Admission::Start
        } else if self
            .queue_limit
            .is_none_or(|limit| (self.queue.len() as u64) < u64::from(limit))
        {
            self.queue.push_back(id);
            Admission::Queued
        } else {
            Admission::Rejected
        }
    }

    /// A worker finished at `now`; returns the queued request it takes next, if any (the
    /// worker then stays busy).
    pub fn finish(&mut self, now: SimTime) -> Option<RequestId> {
        let next = self.queue.pop_front();
        if next.is_none() {
            self.integrate(now);
            self.busy -= 1;
        }
        next
    }

    /// How long this server takes for `work` at its speed.
    pub fn service_time(&self, work: SimDuration) -> SimDuration {
        if self.speed == 1.0 {
            work
        } else {
            SimDuration::from_secs_f64(work.as_secs_f64() / self.speed)
        }
    }

    pub fn busy_workers(&self) -> u32 {
        self.busy
    }

    pub fn queue_length(&self) -> u32 {
        self.queue.len() as u32
    }

    /// Worker-nanoseconds of service from time zero to `now`.
    pub fn busy_integral(&mut self, now: SimTime) -> u128 {
        self.integrate(now);
        self.busy_integral
    }

    fn integrate(&mut self, now: SimTime) {
        let elapsed = now.since(self.integrated_until).as_nanos();
        self.busy_integral += u128::from(self.busy) * u128::from(elapsed);
        self.integrated_until = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::request::{Request, RequestTable};

    fn spec(workers: u32, queue_limit: Option<u32>) -> ServerGroupSpec {
        ServerGroupSpec {
            workers,
            queue_limit,
            speed: 2.0,
            ..ServerGroupSpec::new("web", 1)
        }
    }

    fn ids(n: usize) -> Vec<RequestId> {
        let mut table = RequestTable::default();
        (0..n)
            .map(|_| {
                table.insert(Request {
                    arrived: SimTime::ZERO,
                    work: SimDuration::ZERO,
                    server: ServerId(0),
                    started: SimTime::ZERO,
                    measured: true,
                })
            })
            .collect()
    }

    #[test]
    fn admits_to_free_workers_then_queue_then_rejects() {
        let mut server = Server::new(ServerId(0), 0, 3, &spec(2, Some(1)));
        let ids = ids(4);
        let t = SimTime::ZERO;
        let admissions: Vec<Admission> = ids.iter().map(|&id| server.admit(t, id)).collect();
        assert_eq!(
            admissions,
            vec![
                Admission::Start,
                Admission::Start,
                Admission::Queued,
                Admission::Rejected
            ]
        );
        assert_eq!(server.name, "web-3");
        assert_eq!(server.finish(t), Some(ids[2]));
        assert_eq!(server.busy_workers(), 2);
    }

    #[test]
    fn busy_time_integrates_workers_over_time() {
        let mut server = Server::new(ServerId(0), 0, 0, &spec(2, None));
        let ids = ids(2);
        server.admit(SimTime::ZERO, ids[0]);
        server.admit(SimTime::from_nanos(10), ids[1]);
        server.finish(SimTime::from_nanos(30));
        // One worker for 30 ns, a second for 20 ns, then one until 40 ns.
        assert_eq!(server.busy_integral(SimTime::from_nanos(40)), 30 + 20 + 10);
    }

    #[test]
    fn speed_divides_work() {
        let server = Server::new(ServerId(0), 0, 0, &spec(1, None));
        assert_eq!(
            server.service_time(SimDuration::from_millis(10)),
            SimDuration::from_millis(5)
        );
    }
}
