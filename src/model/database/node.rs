//! A database node: a primary or a read replica of one shard, a [`Station`] (workers and
//! a FIFO queue, the same code as an application server's) with a service time drawn
//! from a stream of its own when a worker takes a query.

use super::spec::DatabaseSpec;
use crate::engine::{SimDuration, SimTime, stream};
use crate::model::service::ServiceSampler;
use crate::model::station::Station;
use crate::model::streams;

pub struct Node {
    /// `db-s0-primary`, `db-s0-replica-1`.
    pub name: String,
    pub shard: u32,
    pub station: Station,
    service: ServiceSampler,
    /// Up and answering; a failed node stays down (a failed primary comes back only when
    /// its shard has no replica to promote).
    pub up: bool,
    /// Queries of measured requests it completed.
    pub completions: u64,
    /// Busy integral when measurement started, or 0 for a node created later.
    pub busy_at_warmup: u128,
    /// When it started serving; nodes of a shard added by a reshard start then.
    pub joined: SimTime,
}

impl Node {
    /// Node number `index` of the run seeded with `seed`.
    pub fn new(
        spec: &DatabaseSpec,
        name: String,
        shard: u32,
        index: u32,
        seed: u64,
        now: SimTime,
    ) -> Self {
        Node {
            name,
            shard,
            station: Station::new(spec.workers, spec.queue_limit, 1.0, now),
            service: ServiceSampler::new(
                &spec.service,
                stream(seed, streams::DATABASE_SERVICE, index),
            ),
            up: true,
            completions: 0,
            busy_at_warmup: 0,
            joined: now,
        }
    }

    /// The service time of the query a worker takes now.
    pub fn draw_service(&mut self) -> SimDuration {
        self.service.sample()
    }
}
