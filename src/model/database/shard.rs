//! One shard: a primary and its read replicas, and how a read picks a replica — through
//! the [`Balancer`] trait, so any of lbsim's algorithms can spread reads (the seed's
//! `DatabasePool` draws one at random; ProxySQL and pgpool-II offer weighted and
//! least-connections choices).

use std::collections::VecDeque;

use crate::balancer::{Backend, Balancer, BalancerSpec};
use crate::engine::{SimDuration, SimRng, SimTime, stream};
use crate::id::{ClientAddr, RequestKey, ServerId};
use crate::model::request::RequestId;
use crate::model::streams;

pub struct Shard {
    /// The node taking writes; `None` between a primary's failure and the promotion.
    pub primary: Option<usize>,
    /// The primary that failed last, which comes back when there is no replica to
    /// promote.
    pub failed_primary: Option<usize>,
    /// Its replicas' node indices, up or down, in creation order.
    pub replicas: Vec<usize>,
    /// The live replicas, by node index as a `ServerId`.
    balancer: Box<dyn Balancer>,
    /// Whether the balancer reads the clock ([`Balancer::wants_ticks`]).
    ticks: bool,
    live_replicas: u32,
    rng: SimRng,
    /// Queries waiting for a primary during a failover (`on_primary_failure = "wait"`).
    pub waiting_for_primary: VecDeque<RequestId>,
    /// Queries of measured requests routed here.
    pub queries: u64,
    /// Measured writes its failed primary took with it, lost if a replica is promoted.
    pub lost_writes: u64,
}

impl Shard {
    pub fn new(spec: &BalancerSpec, index: u32, seed: u64) -> Self {
        let balancer = spec.build(4);
        Shard {
            primary: None,
            failed_primary: None,
            replicas: Vec::new(),
            ticks: balancer.wants_ticks(),
            balancer,
            live_replicas: 0,
            rng: stream(seed, streams::DATABASE_REPLICA_CHOICE, index),
            waiting_for_primary: VecDeque::new(),
            queries: 0,
            lost_writes: 0,
        }
    }

    /// Node `node` (named `name`) serves reads of this shard from now.
    pub fn add_replica(&mut self, node: usize, name: &str) {
        self.balancer.add(Backend {
            id: ServerId(node as u32),
            name,
            weight: 1,
        });
        self.live_replicas += 1;
    }

    /// Replica `node` stops serving reads (it failed, or it is promoted).
    pub fn remove_replica(&mut self, node: usize) {
        self.balancer.remove(ServerId(node as u32));
        self.live_replicas -= 1;
    }

    /// Whether a replica is up to serve reads, or to be promoted.
    pub fn has_live_replica(&self) -> bool {
        self.live_replicas > 0
    }

    /// The replica that serves a read of `key`, or `None` when no replica is up.
    pub fn pick_replica(&mut self, key: u32, now: SimTime) -> Option<usize> {
        if self.live_replicas == 0 {
            return None;
        }
        if self.ticks {
            self.balancer.tick(now);
        }
        let request = RequestKey {
            client: ClientAddr(key),
            session: None,
        };
        let picked = self.balancer.pick(&request, &mut self.rng)?;
        self.balancer.dispatched(picked);
        Some(picked.index())
    }

    /// A read sent to replica `node` ended (answered or failed) `elapsed` after it was
    /// sent, at `now`.
    pub fn read_finished(
        &mut self,
        node: usize,
        elapsed: SimDuration,
        succeeded: bool,
        now: SimTime,
    ) {
        if self.ticks {
            self.balancer.tick(now);
        }
        self.balancer
            .finished(ServerId(node as u32), elapsed, succeeded);
    }
}
