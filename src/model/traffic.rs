//! The traffic component: the one arrival that is scheduled, drawn when it is scheduled.
//!
//! Drawing the next request's client and work when its arrival is scheduled, rather than
//! when it arrives, lets the balancer start loading what its pick will read
//! ([`crate::balancer::Balancer::prefetch`]) while the events before it are handled. Each
//! stream still draws in arrival order, so results do not depend on it.

use super::arrivals::{Arrival, Arrivals};
use super::session_arrivals::SessionArrivals;
use super::sessions::SessionsSpec;
use super::spec::WorkloadSpec;
use crate::engine::{SimDuration, SimTime};
use crate::id::ClientAddr;

pub struct Traffic<'a> {
    arrivals: Arrivals<'a>,
    /// Sessions, when the workload is made of them: they then give every arrival, and
    /// `arrivals` only the work of each request. Boxed and apart, so that independent
    /// requests draw exactly as they did before sessions existed, at the same cost.
    sessions: Option<Box<SessionArrivals>>,
    /// Arrivals stop at this instant.
    end: SimTime,
    next: Arrival,
}

impl<'a> Traffic<'a> {
    /// The traffic of `workload` (in `sessions`, if given) seeded with `seed`, arriving
    /// until `end`; `clients_read` as in [`Arrivals::new`].
    pub fn new(
        workload: &'a WorkloadSpec,
        sessions: Option<&SessionsSpec>,
        seed: u64,
        end: SimTime,
        clients_read: bool,
    ) -> Self {
        let sessions = match workload {
            WorkloadSpec::Generated(generated) => sessions.map(|spec| {
                Box::new(SessionArrivals::new(
                    spec,
                    generated.clients,
                    generated.arrivals,
                    seed,
                ))
            }),
            WorkloadSpec::Replay(_) => None,
        };
        Traffic {
            arrivals: Arrivals::new(workload, seed, clients_read),
            sessions,
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
    /// Its request waits in [`Self::arriving`].
    pub fn draw_next(&mut self) -> Option<SimTime> {
        if self.sessions.is_some() {
            return self.draw_next_of_sessions();
        }
        let time = self.arrivals.next_arrival()?;
        if time >= self.end {
            return None;
        }
        self.next = self.arrivals.arriving();
        Some(time)
    }

    /// [`Self::draw_next`] for traffic made of sessions: the time and the session from
    /// them, the work from the workload's service stream.
    #[inline(never)]
    fn draw_next_of_sessions(&mut self) -> Option<SimTime> {
        let sessions = self.sessions.as_mut()?;
        let time = sessions.next_arrival()?;
        if time >= self.end {
            return None;
        }
        let work = self.arrivals.draw_work();
        self.next = sessions.arriving(work);
        Some(time)
    }

    /// The request drawn last: the one whose arrival is scheduled, or whose arrival
    /// event has just popped.
    pub fn arriving(&self) -> Arrival {
        self.next
    }
}
