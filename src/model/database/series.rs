//! The data tier's time series, kept only when the run samples one: a row per node and
//! interval in timeseries.csv, and per interval the response time of the requests
//! completed in it split into the part spent in the data tier and the rest.
//!
//! A node's row reads like a server's, in queries rather than requests: `arrivals` are the
//! queries sent to it, `completions` those it answered (their latency percentiles: sent to
//! answered, queueing included), `rejected` those its full queue refused, `failed` those
//! that ended there unanswered (it failed under them, or their request's server went
//! away), `in_flight` those queued or in service at the interval's end. Its `state` is
//! `ready` or `down`; its `health` is the role the data tier routes to it in — `primary`
//! or `replica` — and empty while it is down. The same [`SeriesRecorder`] as the servers'
//! keeps them, so a node's row means what a server's does.
//!
//! The split is measured where the time is known exactly: the data tier notes, per request
//! slot, how long the request stayed when it leaves with its answers, and adds that to the
//! interval in which the request completes — the same interval as its response time, so
//! the two sums cover the same requests even when tiers follow the database.

use super::node::Node;
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;
use crate::model::request::RequestId;
use crate::stats::{SeriesRecorder, SeriesRow, ServerSample, SpillVec, TierTimes};

pub struct NodeSeries {
    recorder: SeriesRecorder,
    /// Per node: busy integral at the previous sample.
    busy_at_sample: Vec<u128>,
    last_sample: SimTime,
    /// Per request slot: how long the request that last left the tier from it stayed.
    spent: Vec<SimDuration>,
    /// The current interval's completions.
    interval: TierTimes,
    tier_times: SpillVec<TierTimes>,
}

impl NodeSeries {
    pub fn new() -> Self {
        NodeSeries {
            recorder: SeriesRecorder::new(0),
            busy_at_sample: Vec::new(),
            last_sample: SimTime::ZERO,
            spent: Vec::new(),
            interval: TierTimes::default(),
            tier_times: SpillVec::default(),
        }
    }

    /// Node number `node` was created.
    pub fn add_node(&mut self, node: usize) {
        self.recorder.add_server(id(node));
        self.busy_at_sample.push(0);
    }

    /// A query was sent to `node`.
    pub fn routed(&mut self, node: usize) {
        self.recorder.record_routed(id(node));
    }

    /// `node`'s full queue refused a query.
    pub fn rejected(&mut self, node: usize) {
        self.recorder.record_rejected(Some(id(node)));
    }

    /// A query ended at `node` without an answer.
    pub fn failed(&mut self, node: usize) {
        self.recorder.record_failed(Some(id(node)));
    }

    /// `node` answered a query `latency` after it was sent there.
    pub fn answered(&mut self, node: usize, latency: SimDuration) {
        self.recorder.record_completion(id(node), latency);
    }

    /// Request `id` leaves the tier with its answers after `spent` in it.
    pub fn left(&mut self, id: RequestId, spent: SimDuration) {
        let slot = id.slot();
        if self.spent.len() <= slot {
            self.spent.resize(slot + 1, SimDuration::ZERO);
        }
        self.spent[slot] = spent;
    }

    /// Request `id` completed after `response_time`: it left the tier before, with its
    /// answers (every request of a run with a data tier goes through it).
    pub fn completed(&mut self, id: RequestId, response_time: SimDuration) {
        let spent = self.spent[id.slot()];
        self.interval.completions += 1;
        self.interval.response_ns += u128::from(response_time.as_nanos());
        self.interval.database_ns += u128::from(spent.as_nanos());
    }

    /// Closes the interval ending at `now`: a row for every node created before it ends
    /// (a reshard's from the interval it joined in), `role` naming each one's, and the
    /// interval's split of response time.
    pub fn sample(
        &mut self,
        now: SimTime,
        nodes: &mut [Node],
        role: impl Fn(usize, &Node) -> &'static str,
    ) {
        let start = self.last_sample;
        for (index, (node, busy_before)) in
            nodes.iter_mut().zip(&mut self.busy_at_sample).enumerate()
        {
            if node.joined >= now {
                continue;
            }
            let width = now.since(node.joined.max(start)).as_nanos();
            let busy = node.station.busy_integral(now);
            let capacity = u128::from(node.station.workers) * u128::from(width);
            let utilization = (busy - *busy_before) as f64 / capacity.max(1) as f64;
            *busy_before = busy;
            let sample = ServerSample {
                queue_length: node.station.queue_length(),
                busy_workers: node.station.busy_workers(),
                utilization,
                state: if node.up { "ready" } else { "down" },
                health: role(index, node),
            };
            self.recorder.close_server(now, id(index), sample);
        }
        self.recorder.end_rows();
        self.interval.time = now;
        self.tier_times.push(std::mem::take(&mut self.interval));
        self.last_sample = now;
    }

    /// The node rows and the split per interval.
    pub fn into_parts(self) -> (SpillVec<SeriesRow>, SpillVec<TierTimes>) {
        (self.recorder.into_parts().0, self.tier_times)
    }
}

/// Node `node` as the recorder's row key.
fn id(node: usize) -> ServerId {
    ServerId(node as u32)
}
