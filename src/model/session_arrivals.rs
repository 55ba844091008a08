//! Traffic made of sessions: users arrive at a rate (or a schedule of rates), each makes a
//! number of requests separated by think time, then leaves.
//!
//! A session's requests are open-loop, as the independent requests are: the next one is
//! sent a think time after the previous one was *sent*, whatever became of it. (A user
//! who waits for each answer before thinking is a closed loop the world would have to
//! drive; at think times of seconds against responses of milliseconds the two differ by
//! the response time, and the open loop keeps the traffic the same for every variant of a
//! scenario — common random numbers.)
//!
//! Users share client addresses `users_per_address` at a time, as behind a NAT or a
//! corporate proxy: `workload.clients` users make `⌈clients / users_per_address⌉`
//! addresses, user `u` sending from address `u / users_per_address`. Each session is a new
//! visit by a user drawn uniformly, and carries a fresh session id (its cookie).
//!
//! The sessions waiting for their next request sit in a heap ordered by (time, session
//! id): ids are unique, so the order is total and deterministic. Memory is the live
//! sessions, not the run's. Each of the four quantities drawn has its own stream (kind
//! [`streams::SESSIONS`], one index each), and the work of each request is drawn from the
//! workload's service stream as for independent requests.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rand::RngExt;

use super::arrivals::{Arrival, ArrivalProcess};
use super::clients::ClientPopulation;
use super::service::ServiceSampler;
use super::sessions::{SessionLength, SessionsSpec};
use super::spec::ArrivalPattern;
use super::streams;
use crate::engine::{SimRng, SimTime, stream};
use crate::id::{ClientAddr, SessionId};

/// A session between two of its requests.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Waiting {
    next: SimTime,
    session: SessionId,
    client: ClientAddr,
    /// Requests still to come, the next included.
    remaining: u32,
}

pub struct SessionArrivals {
    starts: ArrivalProcess,
    /// The next session's start, drawn ahead.
    next_start: Option<SimTime>,
    waiting: BinaryHeap<Reverse<Waiting>>,
    length: SessionLength,
    length_rng: SimRng,
    think: ServiceSampler,
    users: u32,
    users_per_address: u32,
    user_rng: SimRng,
    next_id: u64,
    /// The request chosen by the last `next_arrival`, its work still to draw.
    current: Option<Waiting>,
}

impl SessionArrivals {
    pub fn new(spec: &SessionsSpec, users: u32, pattern: ArrivalPattern, seed: u64) -> Self {
        let mut starts =
            ArrivalProcess::new(&spec.rate, pattern, stream(seed, streams::SESSIONS, 0));
        SessionArrivals {
            next_start: starts.next_arrival(),
            starts,
            waiting: BinaryHeap::new(),
            length: spec.requests,
            length_rng: stream(seed, streams::SESSIONS, 1),
            think: ServiceSampler::new(&spec.think, stream(seed, streams::SESSIONS, 2)),
            users: users.max(1),
            users_per_address: spec.users_per_address.max(1),
            user_rng: stream(seed, streams::SESSIONS, 3),
            next_id: 0,
            current: None,
        }
    }

    /// The time of the next request, of a session starting or going on; `None` when no
    /// more will ever come.
    pub fn next_arrival(&mut self) -> Option<SimTime> {
        let going_on = self.waiting.peek().map(|w| w.0.next);
        let request = match (self.next_start, going_on) {
            (None, None) => return None,
            (Some(start), next) if next.is_none_or(|next| start < next) => {
                self.next_start = self.starts.next_arrival();
                self.start_session(start)
            }
            _ => self.waiting.pop()?.0,
        };
        self.current = Some(request);
        Some(request.next)
    }

    /// A new session's first request at `now`.
    fn start_session(&mut self, now: SimTime) -> Waiting {
        let user = self.user_rng.random_range(0..self.users);
        let session = SessionId(self.next_id);
        self.next_id += 1;
        Waiting {
            next: now,
            session,
            client: ClientPopulation::address(user / self.users_per_address),
            remaining: self.length.sample(&mut self.length_rng),
        }
    }

    /// The request whose time `next_arrival` gave, with `work`; its session's next
    /// request is scheduled a think time later.
    pub fn arriving(&mut self, work: crate::engine::SimDuration) -> Arrival {
        let request = self.current.take().expect("arriving follows next_arrival");
        let ends_session = request.remaining <= 1;
        if !ends_session {
            self.waiting.push(Reverse(Waiting {
                next: request.next + self.think.sample(),
                remaining: request.remaining - 1,
                ..request
            }));
        }
        Arrival {
            client: request.client,
            session: Some(request.session),
            work,
            ends_session,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;
    use crate::model::{RateSchedule, ServiceDist};

    fn spec(length: SessionLength, users_per_address: u32) -> SessionsSpec {
        SessionsSpec {
            rate: RateSchedule::constant(10.0),
            requests: length,
            think: ServiceDist::Exponential {
                mean: SimDuration::from_secs(2),
            },
            users_per_address,
            relogin: ServiceDist::Constant {
                mean: SimDuration::from_millis(50),
            },
            shared_store: false,
        }
    }

    fn run(arrivals: &mut SessionArrivals, until_s: u64) -> Vec<(SimTime, Arrival)> {
        let end = SimTime::from_nanos(until_s * 1_000_000_000);
        let mut out = Vec::new();
        while let Some(time) = arrivals.next_arrival() {
            if time >= end {
                break;
            }
            out.push((time, arrivals.arriving(SimDuration::ZERO)));
        }
        out
    }

    #[test]
    fn requests_come_in_time_order_and_each_session_ends_once_with_its_length() {
        let mut arrivals = SessionArrivals::new(
            &spec(SessionLength::Constant(4), 1),
            100,
            ArrivalPattern::Poisson,
            3,
        );
        let requests = run(&mut arrivals, 1_000);
        assert!(requests.windows(2).all(|w| w[0].0 <= w[1].0));
        let mut per_session = std::collections::BTreeMap::new();
        for (_, arrival) in &requests {
            let entry = per_session
                .entry(arrival.session.unwrap())
                .or_insert((0, 0));
            entry.0 += 1;
            entry.1 += u32::from(arrival.ends_session);
        }
        // Sessions that started well before the end (think 2 s × 3) are complete.
        let complete = per_session.values().filter(|&&(_, ends)| ends == 1).count();
        assert!(per_session.values().all(|&(n, ends)| n <= 4 && ends <= 1));
        assert!(per_session.values().all(|&(n, ends)| ends == 0 || n == 4));
        // 10 sessions/s for 1,000 s: 10,000 expected, Poisson sd 100; 5 sd.
        assert!(complete.abs_diff(10_000) < 500, "{complete}");
    }

    #[test]
    fn users_behind_one_address_share_it() {
        let mut arrivals = SessionArrivals::new(
            &spec(SessionLength::Constant(1), 250),
            1000,
            ArrivalPattern::Poisson,
            3,
        );
        let addresses: std::collections::BTreeSet<ClientAddr> = run(&mut arrivals, 200)
            .iter()
            .map(|(_, a)| a.client)
            .collect();
        assert_eq!(addresses.len(), 4, "{addresses:?}");
    }

    #[test]
    fn geometric_lengths_have_their_mean() {
        let length = SessionLength::Geometric { mean: 8.0 };
        let mut rng = stream(1, 0, 0);
        let n = 20_000;
        let draws: Vec<u32> = (0..n).map(|_| length.sample(&mut rng)).collect();
        assert!(draws.iter().all(|&d| d >= 1));
        let mean = draws.iter().map(|&d| f64::from(d)).sum::<f64>() / f64::from(n);
        // Geometric on {1, 2, ...} with mean 8 has sd sqrt(8 × 7) ≈ 7.5; the mean of
        // 20,000 draws has sd 0.053, and 0.3 is over 5 of them.
        assert!((mean - 8.0).abs() < 0.3, "{mean}");
    }
}
