//! A connection pool of one application server, as HikariCP or a Go `sql.DB` with
//! `SetMaxOpenConns` keeps one: at most `max_connections` queries of that server are out
//! at the database at once; a query finding every connection taken waits in FIFO order,
//! up to `timeout` (HikariCP's `connectionTimeout`), for one to be returned, and its
//! request then fails with `pool-timeout`. The request's application worker is held all
//! the while (the call is synchronous), which is how a pool too small starves the web
//! tier while the database idles.
//!
//! A connection is checked out per query and returned when the query ends (autocommit
//! statements, HikariCP's `getConnection()`/`close()` around each one).
//!
//! Waiters leave in arrival order, and all wait the same timeout, so their deadlines are
//! in order too: one timer per pool, set at the first waiter's deadline, replaces a timer
//! per waiter (see [`ConnectionPool::expired`]).

use std::collections::VecDeque;

use super::spec::PoolSpec;
use crate::engine::SimTime;
use crate::model::request::RequestId;

#[derive(Debug)]
pub struct ConnectionPool {
    spec: PoolSpec,
    in_use: u32,
    /// Requests waiting for a connection, with the instant each began to wait.
    waiting: VecDeque<(RequestId, SimTime)>,
    /// Whether a timeout timer is pending for this pool.
    pub timer_armed: bool,
}

/// What a query asking for a connection gets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Checkout {
    /// A connection: the query goes to the database now.
    Connected,
    /// Every connection is out: the query waits; arm a timer for `deadline` if none is.
    Waiting { deadline: Option<SimTime> },
}

impl ConnectionPool {
    pub fn new(spec: PoolSpec) -> Self {
        ConnectionPool {
            spec,
            in_use: 0,
            waiting: VecDeque::new(),
            timer_armed: false,
        }
    }

    /// Request `id` wants a connection at `now`.
    pub fn check_out(&mut self, id: RequestId, now: SimTime) -> Checkout {
        if self.in_use < self.spec.max_connections {
            self.in_use += 1;
            return Checkout::Connected;
        }
        self.waiting.push_back((id, now));
        let deadline = (!self.timer_armed).then(|| {
            self.timer_armed = true;
            now + self.spec.timeout
        });
        Checkout::Waiting { deadline }
    }

    /// A connection comes back at `now`: the first waiter takes it, returned with the time
    /// it waited's start; else it is free.
    pub fn give_back(&mut self) -> Option<(RequestId, SimTime)> {
        match self.waiting.pop_front() {
            Some(next) => Some(next),
            None => {
                self.in_use -= 1;
                None
            }
        }
    }

    /// The pool's timer fired at `now`: every waiter whose deadline has passed is pushed
    /// to `expired`, and the next deadline, if any waiter remains, is returned (the timer
    /// is then re-armed for it).
    pub fn expired(&mut self, now: SimTime, expired: &mut Vec<RequestId>) -> Option<SimTime> {
        while let Some(&(id, since)) = self.waiting.front()
            && since + self.spec.timeout <= now
        {
            self.waiting.pop_front();
            expired.push(id);
        }
        let next = self
            .waiting
            .front()
            .map(|&(_, since)| since + self.spec.timeout);
        self.timer_armed = next.is_some();
        next
    }

    /// Every waiter leaves (their server went down with them).
    pub fn forget_waiters(&mut self) {
        self.waiting.clear();
    }

    /// Request `id` is no longer waiting (its server went away); `true` if it was.
    pub fn leave(&mut self, id: RequestId) -> bool {
        match self.waiting.iter().position(|&(waiting, _)| waiting == id) {
            Some(position) => {
                self.waiting.remove(position);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;
    use crate::model::request::testing::ids;

    #[test]
    fn waiters_take_returned_connections_in_order_and_time_out_in_order() {
        let timeout = SimDuration::from_millis(10);
        let mut pool = ConnectionPool::new(PoolSpec {
            max_connections: 1,
            timeout,
        });
        let ids = ids(4);
        let t = |ms| SimTime::ZERO + SimDuration::from_millis(ms);
        assert_eq!(pool.check_out(ids[0], t(0)), Checkout::Connected);
        assert_eq!(
            pool.check_out(ids[1], t(1)),
            Checkout::Waiting {
                deadline: Some(t(11))
            }
        );
        assert_eq!(
            pool.check_out(ids[2], t(2)),
            Checkout::Waiting { deadline: None }
        );
        assert_eq!(pool.give_back(), Some((ids[1], t(1))));
        pool.check_out(ids[3], t(5));
        let mut expired = Vec::new();
        // At 11 ms the first waiter's deadline has no waiter left; 2's is at 12 ms.
        assert_eq!(pool.expired(t(11), &mut expired), Some(t(12)));
        assert!(expired.is_empty());
        assert_eq!(pool.expired(t(12), &mut expired), Some(t(15)));
        assert_eq!(expired, vec![ids[2]]);
        assert!(pool.leave(ids[3]));
        assert_eq!(pool.give_back(), None);
        assert_eq!(pool.check_out(ids[0], t(20)), Checkout::Connected);
    }
}
