//! The data tier (`[database]`): the queries requests make after their work on their
//! application server, the shards and replicas that serve them, the connection pools
//! they go through, replication lag and stale reads, failover and resharding.
//!
//! Why a component of its own rather than a richer [`Tier`](super::tier::Tier): a tier is
//! one station every request calls once, the same for all. A database is many stations —
//! a primary and replicas per shard — and each query chooses among them by what it is (a
//! read or a write), what it touches (its key's shard) and what the tier knows (which
//! replica lags behind, which node is down), after waiting for a connection of its
//! server's pool; a request makes several queries in turn. Folding that into `Tier`
//! would put routing, pools and per-key state on the path of every tier call and change
//! what `[[tiers]]` does; beside it, `[[tiers]]` stays exactly as it was, a scenario
//! without `[database]` pays one `Option` test per completed request, and the two
//! compose: a request makes its queries first, then calls the tiers in order.
//!
//! How a request goes through: when its application server has done its work, it
//! [`Database::begin`]s its queries (a count drawn per request), one after another, each
//! a read or a write of one key: check out a connection from its server's pool (or wait,
//! up to the pool's timeout), find the key's shard, go to the shard's primary (a write,
//! or with `read_your_writes` a read of a key with a write not yet on the replicas) or to
//! a replica its balancer picks (a read),
//! queue and be served there, give the connection back. The application worker is held
//! throughout. What ends in the data tier is handed back to the world as a [`Settled`]
//! (go on, or fail for a reason); the data tier schedules its own completions and timers.
//!
//! What it measures goes into the run's result at its end: the summary figures and a
//! servers.csv row per node ([`metrics`]), a timeseries.csv row per node and interval and
//! the split of response time between tiers when the run samples a time series
//! ([`series`]), and an events.csv row when a node fails, comes back, is promoted or is
//! created by a reshard — kept here and merged, in time order, with the servers' changes
//! when the run ends, so the world's event path stays as it was.

mod keys;
mod metrics;
mod node;
mod pool;
mod replication;
mod series;
mod shard;
mod shard_map;
mod spec;

use std::collections::VecDeque;

use rand::RngExt;
use rand_distr::{Distribution, Poisson};

pub use spec::{
    DatabaseSpec, KeyDist, NodeFailure, NodeRole, PoolSpec, PrimaryFailure, QueryCount,
    ReplicationMode, Reshard, Sharding,
};

use self::keys::KeySampler;
use self::metrics::Metrics;
use self::node::Node;
use self::pool::{Checkout, ConnectionPool};
use self::replication::Replication;
use self::series::NodeSeries;
use self::shard::Shard;
use self::shard_map::ShardMap;
use super::event::{Event, Timer};
use super::outcome::FailReason;
use super::request::RequestId;
use super::service::ServiceSampler;
use super::station::Admission;
use super::streams;
use crate::balancer::BalancerSpec;
use crate::engine::{EventQueue, SimDuration, SimRng, SimTime, Timers, stream};
use crate::id::ServerId;
use crate::stats::{ClusterEvent, RunResult};

/// The `hop` of a request while it is in the data tier (the session store and the tiers
/// use 1 to 17).
pub const HOP: u8 = u8::MAX;

/// What the world lends the data tier for one call: the clock, and the queue and timers
/// to schedule its own events on.
pub struct Context<'a> {
    pub now: SimTime,
    pub events: &'a mut EventQueue<Event>,
    pub timers: &'a mut Timers,
}

impl Context<'_> {
    fn start_timer(&mut self, at: SimTime, timer: Timer) {
        let id = self.timers.arm(None);
        self.events.schedule(at, Event::Timer(id, timer));
    }
}

/// How a request's stay in the data tier ended.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Settled {
    /// Its queries are answered: it goes on to the tiers, or is answered.
    Done,
    /// A query failed, and the request with it.
    Failed(FailReason),
}

/// Where a request's current query is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Place {
    /// Waiting for a connection of its server's pool.
    Pool,
    /// Holding a connection, on its way to a node.
    Routing,
    /// Holding a connection, in the queue of shard `.0` for its primary to be promoted:
    /// that shard, kept because a reshard may since have moved the key to another.
    AwaitingPrimary(u32),
    /// Holding a connection, queued or in service at this node.
    Node(u32),
}

/// A request in the data tier.
#[derive(Copy, Clone, Debug)]
struct Visit {
    id: RequestId,
    server: ServerId,
    measured: bool,
    /// Queries still to issue after the current one.
    left: u32,
    place: Place,
    key: u32,
    write: bool,
    /// When the current query was sent to its node.
    sent: SimTime,
    /// For a read sent to a replica: when every write of its key committed before it was
    /// sent is visible there. Served before that, it is stale.
    fresh_from: SimTime,
    /// The current read was served stale: decided when a replica's worker took it, from
    /// the snapshot it reads, and kept should the replica be promoted before it ends.
    stale: bool,
    /// When the request entered the tier.
    entered: SimTime,
}

enum Queries {
    Constant(u32),
    Poisson(Poisson<f64>),
}

pub struct Database {
    spec: DatabaseSpec,
    seed: u64,
    replica_balancer: BalancerSpec,
    nodes: Vec<Node>,
    shards: Vec<Shard>,
    map: ShardMap,
    keys: KeySampler,
    queries: Queries,
    /// Per request: its query count, each query's kind and key.
    rng: SimRng,
    replication: Replication,
    /// Per application server, by id, when the scenario has pools.
    pools: Vec<ConnectionPool>,
    /// Requests in the tier, by their request slot; `None` outside it.
    visits: Vec<Option<Visit>>,
    /// What ended since the world last asked, in order.
    settled: VecDeque<(RequestId, Settled)>,
    metrics: Metrics,
    /// The nodes' time series and the split of response time, when the run samples one.
    series: Option<NodeSeries>,
    /// Nodes failing, coming back, promoted or created, in time order.
    events: Vec<ClusterEvent>,
    /// Scratch for expired pool waiters, reused.
    expired: Vec<RequestId>,
}

impl Database {
    /// The data tier of `spec` for the run seeded with `seed`, keeping a time series when
    /// `sampled`.
    pub fn new(spec: &DatabaseSpec, seed: u64, sampled: bool) -> Self {
        let queries = match spec.queries {
            QueryCount::Constant(n) => Queries::Constant(n),
            QueryCount::Poisson(mean) => {
                Queries::Poisson(Poisson::new(mean).expect("validated mean > 0"))
            }
        };
        let mut database = Database {
            spec: spec.clone(),
            seed,
            replica_balancer: BalancerSpec::new(spec.replica_balancer),
            nodes: Vec::new(),
            shards: Vec::new(),
            map: ShardMap::new(spec.sharding, spec.shards),
            keys: KeySampler::new(spec.keys),
            queries,
            rng: stream(seed, streams::DATABASE_QUERIES, 0),
            replication: Replication::new(
                spec.keys.count(),
                ServiceSampler::new(
                    &spec.replication_lag,
                    stream(seed, streams::REPLICATION_LAG, 0),
                ),
                may_lose_writes(spec),
            ),
            pools: Vec::new(),
            visits: Vec::new(),
            settled: VecDeque::new(),
            metrics: Metrics::new(spec.pool.is_some()),
            series: sampled.then(NodeSeries::new),
            events: Vec::new(),
            expired: Vec::new(),
        };
        database.add_shards(spec.shards, SimTime::ZERO);
        database
    }

    /// Creates shards up to `count`, each with its primary and replicas, at `now`.
    fn add_shards(&mut self, count: u32, now: SimTime) {
        while (self.shards.len() as u32) < count {
            let index = self.shards.len() as u32;
            let mut shard = Shard::new(&self.replica_balancer, index, self.seed);
            let primary = self.add_node(format!("db-s{index}-primary"), index, now);
            shard.primary = Some(primary);
            for replica in 0..self.spec.replicas {
                let node = self.add_node(format!("db-s{index}-replica-{replica}"), index, now);
                shard.replicas.push(node);
                shard.add_replica(node, &self.nodes[node].name);
            }
            self.shards.push(shard);
        }
    }

    fn add_node(&mut self, name: String, shard: u32, now: SimTime) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node::new(
            &self.spec,
            name,
            shard,
            index as u32,
            self.seed,
            now,
        ));
        if let Some(series) = &mut self.series {
            series.add_node(index);
        }
        index
    }

    /// Node `node` changed from `from` to `to` at `now`, for `reason`: an events.csv row.
    fn node_changed(
        &mut self,
        now: SimTime,
        node: usize,
        from: &'static str,
        to: &'static str,
        reason: &'static str,
    ) {
        self.events.push(ClusterEvent {
            time: now,
            server: self.nodes[node].name.clone(),
            from,
            to,
            reason,
            detail: String::new(),
        });
    }

    /// Arms the timers of the scheduled failures and reshard.
    pub fn start(&mut self, ctx: &mut Context<'_>) {
        for (index, failure) in (0..).zip(&self.spec.failures) {
            ctx.start_timer(failure.at, Timer::DatabaseChange(index));
        }
        if let Some(reshard) = self.spec.reshard {
            let index = self.spec.failures.len() as u32;
            ctx.start_timer(reshard.at, Timer::DatabaseChange(index));
        }
    }

    /// The next request whose stay in the tier ended, and how.
    pub fn next_settled(&mut self) -> Option<(RequestId, Settled)> {
        self.settled.pop_front()
    }

    /// Request `id`, served by `server`, has done its work there and starts its queries.
    pub fn begin(&mut self, id: RequestId, server: ServerId, measured: bool, ctx: &mut Context) {
        let count = match &self.queries {
            Queries::Constant(n) => *n,
            Queries::Poisson(poisson) => poisson.sample(&mut self.rng) as u32,
        };
        if count == 0 {
            if let Some(series) = &mut self.series {
                series.left(id, SimDuration::ZERO);
            }
            self.settled.push_back((id, Settled::Done));
            return;
        }
        let slot = id.slot();
        if self.visits.len() <= slot {
            self.visits.resize(slot + 1, None);
        }
        self.visits[slot] = Some(Visit {
            id,
            server,
            measured,
            left: count,
            place: Place::Pool,
            key: 0,
            write: false,
            sent: ctx.now,
            fresh_from: ctx.now,
            stale: false,
            entered: ctx.now,
        });
        self.issue(slot, ctx);
    }

    fn visit(&mut self, slot: usize) -> &mut Visit {
        self.visits[slot]
            .as_mut()
            .expect("a request in the data tier has its visit")
    }

    /// The next query of the request in `slot`: drawn, then a connection asked for.
    fn issue(&mut self, slot: usize, ctx: &mut Context) {
        let write = self.rng.random::<f64>() >= self.spec.read_share;
        let key = self.keys.sample(&mut self.rng);
        let visit = self.visit(slot);
        visit.left -= 1;
        visit.write = write;
        visit.key = key;
        visit.place = Place::Pool;
        let (id, server) = (visit.id, visit.server);
        if self.spec.pool.is_none() {
            self.send(slot, ctx);
            return;
        }
        let pool = self.pool(server);
        match pool.check_out(id, ctx.now) {
            Checkout::Connected => {
                self.metrics
                    .pool_waited(self.visits[slot].as_ref(), SimDuration::ZERO);
                self.send(slot, ctx);
            }
            Checkout::Waiting { deadline } => {
                if let Some(deadline) = deadline {
                    ctx.start_timer(deadline, Timer::PoolTimeout(server));
                }
            }
        }
    }

    /// The pool of application server `server`.
    fn pool(&mut self, server: ServerId) -> &mut ConnectionPool {
        let spec = self
            .spec
            .pool
            .expect("pools only when the scenario has them");
        if self.pools.len() <= server.index() {
            self.pools
                .resize_with(server.index() + 1, || ConnectionPool::new(spec));
        }
        &mut self.pools[server.index()]
    }

    /// The request in `slot` holds a connection: its query goes to the node that serves it.
    fn send(&mut self, slot: usize, ctx: &mut Context) {
        let visit = self.visit(slot);
        visit.place = Place::Routing;
        visit.stale = false;
        let visit = *visit;
        let shard_index = self.map.shard(visit.key);
        let shard = &mut self.shards[shard_index as usize];
        if visit.measured {
            shard.queries += 1;
        }
        let must_be_fresh = !visit.write
            && self.spec.read_your_writes
            && self.replication.is_stale(visit.key, ctx.now);
        let replica = if visit.write || must_be_fresh {
            None
        } else {
            shard.pick_replica(visit.key, ctx.now)
        };
        let node = match (replica, shard.primary) {
            (Some(replica), _) => {
                self.visit(slot).fresh_from = self.replication.visible_from(visit.key);
                replica
            }
            (None, Some(primary)) => {
                if must_be_fresh && visit.measured {
                    self.metrics.fresh_reads += 1;
                }
                primary
            }
            (None, None) => match self.spec.on_primary_failure {
                PrimaryFailure::Fail => {
                    self.fail(slot, FailReason::DatabaseDown, ctx);
                    return;
                }
                PrimaryFailure::Wait => {
                    shard.waiting_for_primary.push_back(visit.id);
                    self.visit(slot).place = Place::AwaitingPrimary(shard_index);
                    return;
                }
            },
        };
        self.admit(slot, node, ctx);
    }

    /// The query of the request in `slot` reaches node `node`.
    fn admit(&mut self, slot: usize, node: usize, ctx: &mut Context) {
        let visit = self.visit(slot);
        visit.place = Place::Node(node as u32);
        visit.sent = ctx.now;
        let id = visit.id;
        if let Some(series) = &mut self.series {
            series.routed(node);
        }
        match self.nodes[node].station.admit(ctx.now, id) {
            Admission::Start => self.start_query(node, id, ctx),
            Admission::Queued { .. } => {}
            Admission::Rejected => {
                if let Some(series) = &mut self.series {
                    series.rejected(node);
                }
                self.read_ended(node, ctx.now, ctx.now, false);
                self.fail(slot, FailReason::TierRejected, ctx);
            }
        }
    }

    /// A worker of node `node` takes the query of request `id` now. A read on a replica
    /// is served from what the replica has applied by now: stale if a write committed
    /// before the read was sent has not reached it (a write committed since is concurrent
    /// with the read, and either answer is correct). A write lost at a failover since the
    /// read was sent no longer exists: missing it is not stale.
    fn start_query(&mut self, node: usize, id: RequestId, ctx: &mut Context) {
        if self.is_replica(node) {
            let lost_since = self.replication.may_lose();
            let visit = *self.visit(id.slot());
            let mut fresh_from = visit.fresh_from;
            if lost_since {
                // Visibility only grows but at a loss, which lowers it.
                fresh_from = fresh_from.min(self.replication.visible_from(visit.key));
            }
            self.visit(id.slot()).stale = !visit.write && ctx.now < fresh_from;
        }
        let service = self.nodes[node].draw_service();
        ctx.events.schedule(ctx.now + service, Event::Done(id));
    }

    /// Whether `node` is one of its shard's replicas (not its primary), up or down.
    fn is_replica(&self, node: usize) -> bool {
        self.shards[self.nodes[node].shard as usize].primary != Some(node)
    }

    /// A read at node `node`, sent at `sent`, ended at `now`: its replica balancer learns
    /// it, if it went to a replica.
    fn read_ended(&mut self, node: usize, sent: SimTime, now: SimTime, succeeded: bool) {
        if self.is_replica(node) {
            let shard = self.nodes[node].shard as usize;
            self.shards[shard].read_finished(node, now - sent, succeeded, now);
        }
    }

    /// The current query of request `id` is answered by its node.
    pub fn query_done(&mut self, id: RequestId, ctx: &mut Context) {
        let slot = id.slot();
        let visit = *self.visit(slot);
        let Place::Node(node) = visit.place else {
            unreachable!("a query completes only at a node");
        };
        let node = node as usize;
        if let Some(next) = self.nodes[node].station.finish(ctx.now, id) {
            self.start_query(node, next, ctx);
        }
        self.read_ended(node, visit.sent, ctx.now, true);
        if visit.write {
            let shard = self.nodes[node].shard;
            self.replication
                .committed(visit.key, shard, visit.measured, ctx.now);
        }
        if visit.measured {
            self.nodes[node].completions += 1;
            self.metrics.answered(visit.write, visit.stale);
        }
        if let Some(series) = &mut self.series {
            series.answered(node, ctx.now - visit.sent);
        }
        self.release(visit.server, ctx);
        if visit.left > 0 {
            self.issue(slot, ctx);
        } else {
            self.visits[slot] = None;
            let spent = ctx.now - visit.entered;
            if visit.measured {
                self.metrics.time_in_tier += u128::from(spent.as_nanos());
            }
            if let Some(series) = &mut self.series {
                series.left(id, spent);
            }
            self.settled.push_back((id, Settled::Done));
        }
    }

    /// A connection of `server`'s pool comes back: the first waiter sends its query.
    fn release(&mut self, server: ServerId, ctx: &mut Context) {
        if self.spec.pool.is_none() {
            return;
        }
        if let Some((waiter, since)) = self.pool(server).give_back() {
            let slot = waiter.slot();
            self.metrics
                .pool_waited(self.visits[slot].as_ref(), ctx.now - since);
            self.send(slot, ctx);
        }
    }

    /// The current query of the request in `slot` failed for `reason`, and the request
    /// with it; a connection it held goes back.
    fn fail(&mut self, slot: usize, reason: FailReason, ctx: &mut Context) {
        let visit = self.visits[slot]
            .take()
            .expect("a failing request is in the data tier");
        if visit.place != Place::Pool {
            self.release(visit.server, ctx);
        }
        self.settled.push_back((visit.id, Settled::Failed(reason)));
    }

    /// The pool timer of `server` fired: its waiters past their deadline fail.
    pub fn pool_timeout(&mut self, server: ServerId, ctx: &mut Context) {
        let mut expired = std::mem::take(&mut self.expired);
        let next = self.pool(server).expired(ctx.now, &mut expired);
        if let Some(next) = next {
            ctx.start_timer(next, Timer::PoolTimeout(server));
        }
        let timeout = self.spec.pool.map(|p| p.timeout).unwrap_or_default();
        for id in expired.drain(..) {
            let slot = id.slot();
            self.metrics
                .pool_waited(self.visits[slot].as_ref(), timeout);
            self.fail(slot, FailReason::PoolTimeout, ctx);
        }
        self.expired = expired;
    }

    /// Request `id` left its server (it crashed or was removed): its query is withdrawn
    /// wherever it is, without a [`Settled`] (the world ends the request itself).
    pub fn withdraw(&mut self, id: RequestId, ctx: &mut Context) {
        let slot = id.slot();
        let Some(visit) = self.visits.get_mut(slot).and_then(Option::take) else {
            return;
        };
        match visit.place {
            Place::Pool => {
                if self.spec.pool.is_some() {
                    self.pool(visit.server).leave(id);
                }
                return;
            }
            Place::Routing => {}
            Place::AwaitingPrimary(shard) => {
                let waiting = &mut self.shards[shard as usize].waiting_for_primary;
                waiting.retain(|&waiter| waiter != id);
            }
            Place::Node(node) => {
                let node = node as usize;
                if let Some(series) = &mut self.series {
                    series.failed(node);
                }
                if let Some(next) = self.nodes[node].station.withdraw(ctx.now, id) {
                    self.start_query(node, next, ctx);
                }
                self.read_ended(node, visit.sent, ctx.now, false);
            }
        }
        self.release(visit.server, ctx);
    }

    /// Application server `server` is going down with every request it holds: its
    /// pool's waiters will be withdrawn, so no connection coming back goes to them.
    pub fn server_down(&mut self, server: ServerId) {
        if self.spec.pool.is_some() {
            self.pool(server).forget_waiters();
        }
    }

    /// The scheduled change number `index` happens: a node failure or the reshard.
    pub fn change(&mut self, index: u32, ctx: &mut Context) {
        match self.spec.failures.get(index as usize) {
            Some(&failure) => {
                let shard = &self.shards[failure.shard as usize];
                let node = match failure.node {
                    NodeRole::Primary => shard.primary,
                    NodeRole::Replica(n) => Some(shard.replicas[n as usize]),
                };
                if let Some(node) = node {
                    self.fail_node(node, ctx);
                }
            }
            None => {
                let reshard = self.spec.reshard.expect("the last change is the reshard");
                let moved = self.map.reshard(reshard.shards, self.spec.keys.count());
                self.metrics.moved_share = Some(moved);
                let before = self.nodes.len();
                self.add_shards(reshard.shards, ctx.now);
                for node in before..self.nodes.len() {
                    self.node_changed(ctx.now, node, "absent", "ready", "reshard");
                }
            }
        }
    }

    /// Node `node` fails: the queries on it fail, at once (a simplification: a real client
    /// learns it at its read timeout); a primary's shard fails over after the failover
    /// delay, a replica's shard reads from the others.
    fn fail_node(&mut self, node: usize, ctx: &mut Context) {
        if !self.nodes[node].up {
            return;
        }
        let was_replica = self.is_replica(node);
        let shard = self.nodes[node].shard as usize;
        if was_replica {
            self.shards[shard].remove_replica(node);
        } else {
            if self.shards[shard].has_live_replica() {
                // A replica will be promoted (unless every one fails first): what it lacks
                // now is lost, counted at the promotion.
                self.shards[shard].lost_writes = self.replication.lose(shard as u32, ctx.now);
            }
            self.shards[shard].primary = None;
            self.shards[shard].failed_primary = Some(node);
            ctx.start_timer(ctx.now + self.spec.failover, Timer::Promotion(shard as u32));
        }
        self.nodes[node].up = false;
        self.node_changed(ctx.now, node, "ready", "down", "db-failure");
        let evicted = self.nodes[node].station.evict_all(ctx.now);
        for id in evicted {
            if let Some(series) = &mut self.series {
                series.failed(node);
            }
            let slot = id.slot();
            if was_replica {
                let sent = self.visit(slot).sent;
                self.shards[shard].read_finished(node, ctx.now - sent, false, ctx.now);
            }
            self.fail(slot, FailReason::DatabaseDown, ctx);
        }
    }

    /// The failover delay of shard `shard` has passed: its first live replica becomes its
    /// primary (MySQL Orchestrator, Patroni, RDS Multi-AZ promote a standby), or, without
    /// one, the failed primary comes back; the queries that waited go to it. The promoted
    /// replica has what had reached the replicas when the primary failed: under
    /// `replication = "async"` the writes still in flight then are lost (taken out of the
    /// replication at the failure, counted here); under `"sync"` none is. A primary that
    /// comes back has all its writes: nothing is lost then.
    pub fn promote(&mut self, shard: u32, ctx: &mut Context) {
        let index = shard as usize;
        let candidate = self.shards[index]
            .replicas
            .iter()
            .copied()
            .find(|&node| self.nodes[node].up);
        let lost = std::mem::take(&mut self.shards[index].lost_writes);
        let primary = match candidate {
            Some(replica) => {
                self.metrics.lost_writes += lost;
                self.shards[index].remove_replica(replica);
                self.node_changed(ctx.now, replica, "replica", "primary", "promotion");
                replica
            }
            None => {
                let failed = self.shards[index]
                    .failed_primary
                    .expect("a shard failing over has a failed primary");
                self.nodes[failed].up = true;
                self.node_changed(ctx.now, failed, "down", "ready", "db-recovery");
                failed
            }
        };
        self.shards[index].primary = Some(primary);
        while let Some(id) = self.shards[index].waiting_for_primary.pop_front() {
            // Only a request still waiting here: [`Database::withdraw`] takes a withdrawn
            // one out of the queue, but should an id outlive its request, its slot may
            // belong to another request by now, which must not be admitted twice.
            let waiting = self
                .visits
                .get(id.slot())
                .copied()
                .flatten()
                .is_some_and(|v| v.id == id && v.place == Place::AwaitingPrimary(shard));
            if waiting {
                self.admit(id.slot(), primary, ctx);
            }
        }
    }

    /// Measurement starts at `now`: busy time so far is set aside.
    pub fn warmup_ended(&mut self, now: SimTime) {
        self.metrics.warmup_end = now;
        for node in &mut self.nodes {
            node.busy_at_warmup = node.station.busy_integral(now);
        }
    }

    /// Closes the time series' interval ending at `now` (the servers' rows of it are
    /// closed, its cluster row not yet).
    pub fn sample(&mut self, now: SimTime) {
        if let Some(series) = &mut self.series {
            let shards = &self.shards;
            series.sample(now, &mut self.nodes, |index, node| {
                role(node, index, shards)
            });
        }
    }

    /// Request `id` completed after `response_time`: the time-series split of it between
    /// the data tier and the rest, when the run samples one.
    pub fn completed(&mut self, id: RequestId, response_time: SimDuration) {
        if let Some(series) = &mut self.series {
            series.completed(id, response_time);
        }
    }

    /// Adds what the data tier measured to `result`, for a run that ended at `end`: its
    /// figures and nodes, their time series, and its nodes' changes among the servers'.
    pub fn report(mut self, result: &mut RunResult, end: SimTime) {
        self.metrics
            .report(result, end, &mut self.nodes, &self.shards);
        if let Some(series) = self.series {
            (result.database_series, result.tier_times) = series.into_parts();
        }
        if !self.events.is_empty() {
            let servers = std::mem::take(&mut result.events);
            result.events = merge_by_time(servers, self.events);
        }
    }
}

/// Whether a failover of `spec` may lose writes, so that its replication must keep the
/// writes in flight: asynchronous replication, a replica to promote and a primary failure.
fn may_lose_writes(spec: &DatabaseSpec) -> bool {
    spec.replication == ReplicationMode::Async
        && spec.replicas > 0
        && spec
            .failures
            .iter()
            .any(|failure| failure.node == NodeRole::Primary)
}

/// The role the tier routes to node number `index` in: `primary`, `replica`, or none
/// (empty) while it is down.
fn role(node: &Node, index: usize, shards: &[Shard]) -> &'static str {
    if !node.up {
        ""
    } else if shards[node.shard as usize].primary == Some(index) {
        "primary"
    } else {
        "replica"
    }
}

/// Two time-ordered lists of changes as one, `first`'s before `second`'s at equal times.
fn merge_by_time(first: Vec<ClusterEvent>, second: Vec<ClusterEvent>) -> Vec<ClusterEvent> {
    let mut merged = Vec::with_capacity(first.len() + second.len());
    let mut second = second.into_iter().peekable();
    for event in first {
        while let Some(earlier) = second.next_if(|e| e.time < event.time) {
            merged.push(earlier);
        }
        merged.push(event);
    }
    merged.extend(second);
    merged
}
