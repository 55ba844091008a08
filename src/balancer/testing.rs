//! What the balancers' tests share: a request key, a backend, a filled pool, a pick, and a
//! small cluster to drive a balancer with traffic over time.

use super::{Backend, Balancer};
use crate::engine::{SimDuration, SimRng, SimTime, stream};
use crate::id::{ClientAddr, RequestKey, ServerId};

/// A request from one fixed client.
pub const KEY: RequestKey = RequestKey {
    client: ClientAddr(1),
    session: None,
};

/// Server `id` with weight 1.
pub fn backend(id: u32) -> Backend<'static> {
    Backend {
        id: ServerId(id),
        name: "s",
        weight: 1,
    }
}

/// `balancer` with servers `0..servers` added.
pub fn filled<B: Balancer>(mut balancer: B, servers: u32) -> B {
    for id in 0..servers {
        balancer.add(backend(id));
    }
    balancer
}

/// `balancer` with servers `0..weights.len()` added, server `i` weighing `weights[i]`.
pub fn weighted<B: Balancer>(mut balancer: B, weights: &[u32]) -> B {
    for (id, &weight) in weights.iter().enumerate() {
        balancer.add(Backend {
            weight,
            ..backend(id as u32)
        });
    }
    balancer
}

/// The id `balancer` picks for [`KEY`].
pub fn pick_id(balancer: &mut impl Balancer) -> Option<u32> {
    balancer.pick(&KEY, &mut stream(1, 0, 0)).map(|s| s.0)
}

/// `picks` picks for [`KEY`], each dispatched (one more open connection) before the next.
pub fn picks_dispatched(balancer: &mut impl Balancer, picks: usize) -> Vec<u32> {
    (0..picks)
        .map(|_| {
            let id = pick_id(balancer).expect("a non-empty pool");
            balancer.dispatched(ServerId(id));
            id
        })
        .collect()
}

/// A small cluster driven through a balancer alone, for tests that need traffic over time:
/// Poisson arrivals, exponential work, servers of one worker with a FIFO queue each and
/// their own speed. Deterministic for a given seed.
#[derive(Copy, Clone)]
pub struct Cluster<'a> {
    /// Each server's speed: work `w` takes `w / speed`.
    pub speeds: &'a [f64],
    /// Arrivals per second.
    pub rate: f64,
    /// Mean work in seconds.
    pub mean_work: f64,
    /// Simulated seconds.
    pub duration: f64,
    /// Idle stretches are measured from here on (seconds).
    pub warmup: f64,
    pub seed: u64,
}

/// What happened in a [`Cluster`] run.
#[derive(Debug)]
pub struct ClusterReport {
    /// Per server, its longest stretch without any request after warmup, in seconds.
    pub longest_idle: Vec<f64>,
    /// Requests that had to wait in a queue while some server sat idle.
    pub queued_while_idle: u64,
    /// Requests each server received.
    pub received: Vec<u64>,
}

impl Cluster<'_> {
    /// Runs the cluster with `balancer`, whose pool must hold servers `0..speeds.len()`.
    /// The balancer hears what the world will tell it: `tick` at every instant, then
    /// `pick` and `dispatched` on an arrival, `finished` on a completion and `server_idle`
    /// at the start and whenever a server's queue runs dry.
    pub fn run(&self, balancer: &mut dyn Balancer) -> ClusterReport {
        use rand::RngExt;
        use std::cmp::Reverse;
        use std::collections::{BinaryHeap, VecDeque};

        let nanos = |secs: f64| (secs * 1e9).round() as u64;
        let n = self.speeds.len();
        let mut rng = stream(self.seed, 0, 0);
        let mut balancer_rng = stream(self.seed, 1, 0);
        let exponential = |mean: f64, rng: &mut SimRng| -mean * (1.0 - rng.random::<f64>()).ln();
        // (time, sequence, server): `None` is an arrival, `Some(s)` a completion at `s`.
        let mut events: BinaryHeap<Reverse<(u64, u64, Option<usize>)>> = BinaryHeap::new();
        let mut sequence = 0u64;
        // Per server: arrival times of the requests it holds, the first in service.
        let mut held: Vec<VecDeque<(u64, u64)>> = vec![VecDeque::new(); n];
        let mut idle_since: Vec<Option<u64>> = vec![Some(0); n];
        let mut longest_idle = vec![0u64; n];
        let mut received = vec![0u64; n];
        let mut queued_while_idle = 0;
        let (end, warmup) = (nanos(self.duration), nanos(self.warmup));
        let close_stretch = |since: u64, until: u64, longest: &mut u64| {
            if until > warmup {
                *longest = (*longest).max(until - since.max(warmup));
            }
        };
        events.push(Reverse((
            nanos(exponential(1.0 / self.rate, &mut rng)),
            0,
            None,
        )));
        while let Some(Reverse((now, _, event))) = events.pop() {
            if now >= end {
                break;
            }
            balancer.tick(SimTime::from_nanos(now));
            match event {
                None => {
                    let work = exponential(self.mean_work, &mut rng);
                    let server = balancer
                        .pick(&KEY, &mut balancer_rng)
                        .expect("a non-empty pool")
                        .index();
                    balancer.dispatched(ServerId(server as u32));
                    received[server] += 1;
                    let service = nanos(work / self.speeds[server]);
                    if let Some(since) = idle_since[server].take() {
                        close_stretch(since, now, &mut longest_idle[server]);
                        sequence += 1;
                        events.push(Reverse((now + service, sequence, Some(server))));
                    } else if idle_since.iter().any(Option::is_some) {
                        queued_while_idle += 1;
                    }
                    held[server].push_back((now, service));
                    sequence += 1;
                    let gap = nanos(exponential(1.0 / self.rate, &mut rng));
                    events.push(Reverse((now + gap, sequence, None)));
                }
                Some(server) => {
                    let (arrived, _) = held[server].pop_front().expect("a request in service");
                    balancer.finished(
                        ServerId(server as u32),
                        SimDuration::from_nanos(now - arrived),
                        true,
                    );
                    if let Some(&(_, service)) = held[server].front() {
                        sequence += 1;
                        events.push(Reverse((now + service, sequence, Some(server))));
                    } else {
                        idle_since[server] = Some(now);
                        balancer.server_idle(ServerId(server as u32));
                    }
                }
            }
        }
        for (server, since) in idle_since.iter().enumerate() {
            if let Some(since) = *since {
                close_stretch(since, end, &mut longest_idle[server]);
            }
        }
        ClusterReport {
            longest_idle: longest_idle.iter().map(|&d| d as f64 / 1e9).collect(),
            queued_while_idle,
            received,
        }
    }
}
