//! The traffic component: the one arrival that is scheduled, drawn when it is scheduled.
//!
//! Drawing the next request's client and work when its arrival is scheduled, rather than
//! when it arrives, lets the balancer start loading what its pick will read
//! ([`crate::balancer::Balancer::prefetch`]) while the events before it are handled. Each
//! stream still draws in arrival order, so results do not depend on it.

use super::arrivals::{Arrival, Arrivals};
use super::sessions::SessionsSpec;
use super::spec::WorkloadSpec;
use crate::engine::{SimDuration, SimTime};
use crate::id::ClientAddr;

pub struct Traffic<'a> {
    arrivals: Arrivals<'a>,
    /// Arrivals stop at this instant.
    end: SimTime,
    next: Arrival,
}

impl<'a> Traffic<'a> {
    pub fn new(
        workload: &'a WorkloadSpec,
        sessions: Option<&SessionsSpec>,
        seed: u64,
        end: SimTime,
    ) -> Self {
        Traffic {
            arrivals: Arrivals::new(workload, sessions, seed),
            end,
            next: Arrival {
                client: ClientAddr(0),
                session: None,
                work: SimDuration::ZERO,
                ends_session: false,
            },
        }
    }

    /// Draws the next arrival: its time, or `None` when no request arrives before the end.
    pub fn draw_next(&mut self) -> Option<(SimTime, &Arrival)> {
        let time = self.arrivals.next_arrival()?;
        if time >= self.end {
            return None;
        }
        self.next = self.arrivals.arriving();
        Some((time, &self.next))
    }

    /// The request whose arrival event has just popped.
    pub fn arriving(&self) -> Arrival {
        self.next
    }
}
