//! The time series: per fixed interval and server, what the server held at the interval's
//! end (queue length, busy workers, requests in flight, its state and the balancers' view
//! of it), what happened over the interval (requests routed to it, completed, rejected,
//! failed; its utilization) and the latency percentiles of the requests completed in it;
//! and per interval one row for the whole cluster, which also counts the requests that
//! reached no server.
//!
//! Percentiles per interval are exact (nearest rank): the latencies of one interval are
//! appended to one buffer and, when the interval closes, sorted and walked once
//! ([`IntervalLatencies`]); the buffers are cleared, not freed, at each interval's end, so
//! their memory is bounded by one interval's completions and nothing is allocated once
//! they have grown to their working size.

use super::cluster_event::STATE_NAMES;
use super::interval_latencies::IntervalLatencies;
use super::spill_vec::{SpillVec, Spillable};
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;

/// One server's row of timeseries.csv, or one database node's (queries rather than
/// requests; see `RunResult::database_series`).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SeriesRow {
    /// End of the interval the row covers.
    pub time: SimTime,
    /// The server, or the database node by its index among the run's nodes.
    pub server: ServerId,
    pub queue_length: u32,
    pub busy_workers: u32,
    /// Busy fraction of the server's workers over the interval.
    pub utilization: f64,
    pub completions: u32,
    /// Latency percentiles of this interval's completions; `None` without completions.
    pub latency_ms: Option<Percentiles>,
    /// The interval's counts of requests routed to the server and of those that ended
    /// there rejected or failed.
    pub counts: IntervalCounts,
    /// Requests routed to it and not yet ended, at the interval's end.
    pub in_flight: u32,
    /// Its lifecycle state at the interval's end (`ready`, `draining`, ...).
    pub state: &'static str,
    /// The balancers' view of it then: `healthy`, `unhealthy`, `ejected`, or `unknown` when
    /// service discovery has not told them of it; a database
    /// node's role, `primary` or `replica`, or empty while it is down.
    pub health: &'static str,
}

/// What arrived and how requests ended without an answer, over one interval.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct IntervalCounts {
    pub arrivals: u32,
    pub rejected: u32,
    pub failed: u32,
}

/// Exact nearest-rank percentiles of a small sample, in milliseconds.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

/// All servers together over one interval — the cluster row of timeseries.csv, and what
/// the latency-over-time and load-over-time charts draw.
///
/// Its counts cover every request, those that reached no server included, so that over
/// each interval `arrivals = completions + rejected + failed + Δ in_flight`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct IntervalTotals {
    pub time: SimTime,
    /// New requests that reached the balancer, rejected and failed ones.
    pub counts: IntervalCounts,
    pub completions: u32,
    /// Requests arrived and not yet ended at the interval's end (health-check probes are
    /// not requests).
    pub in_flight: u32,
    /// Summed over the servers up in the interval, at its end.
    pub queue_length: u32,
    pub busy_workers: u32,
    /// Busy fraction of all their workers over the interval.
    pub utilization: f64,
    pub latency_ms: Option<Percentiles>,
    /// Servers provisioning, ready and draining at its end.
    pub instances: Instances,
    /// What the ready servers could answer then, in requests per second.
    pub capacity: f64,
}

/// What a server holds at an interval's end, as the model sees it.
#[derive(Copy, Clone, Debug)]
pub struct ServerSample {
    pub queue_length: u32,
    pub busy_workers: u32,
    pub utilization: f64,
    pub state: &'static str,
    pub health: &'static str,
}

/// What the whole cluster holds at an interval's end.
#[derive(Copy, Clone, Debug)]
pub struct ClusterSample {
    pub in_flight: u32,
    pub queue_length: u32,
    pub busy_workers: u32,
    pub utilization: f64,
    pub instances: Instances,
    /// Requests per second the ready servers can answer: their workers times their speed
    /// over the mean work of a request.
    pub capacity: f64,
}

/// How many servers are in each stage of their life at an interval's end: what an
/// autoscaled group pays for against what serves.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Instances {
    /// Launched and not yet serving (`booting`: provisioning, then the boot).
    pub provisioning: u32,
    pub ready: u32,
    pub draining: u32,
}

/// One server's running counts in the current interval.
#[derive(Copy, Clone, Debug, Default)]
struct Tally {
    counts: IntervalCounts,
    /// Requests routed to the server and not yet ended, as of the last interval's end.
    held: u32,
}

/// Collects the time series of one run.
///
/// A completion is one append to a single buffer of the interval; when the interval
/// closes, one sort of the buffer gives every server's percentiles and the interval's.
#[derive(Debug)]
pub struct SeriesRecorder {
    /// The current interval's latencies, and their percentiles per server and in all.
    latencies: IntervalLatencies,
    /// Whether `latencies` holds the current interval's percentiles.
    computed: bool,
    /// Per server: the current interval's counts.
    tallies: Vec<Tally>,
    /// The whole cluster's counts of the current interval.
    cluster: IntervalCounts,
    rows: SpillVec<SeriesRow>,
    intervals: SpillVec<IntervalTotals>,
}

impl SeriesRecorder {
    pub fn new(servers: usize) -> Self {
        SeriesRecorder {
            latencies: IntervalLatencies::new(servers),
            computed: false,
            tallies: vec![Tally::default(); servers],
            cluster: IntervalCounts::default(),
            rows: SpillVec::default(),
            intervals: SpillVec::default(),
        }
    }

    /// Server `server` joined the cluster: it gets a slot of its own.
    pub fn add_server(&mut self, server: ServerId) {
        if self.tallies.len() <= server.index() {
            self.tallies.resize(server.index() + 1, Tally::default());
            self.latencies.set_servers(self.tallies.len());
        }
    }

    /// A request reached the balancer.
    pub fn record_arrival(&mut self) {
        self.cluster.arrivals += 1;
    }

    /// The balancer sent a request to `server`.
    pub fn record_routed(&mut self, server: ServerId) {
        self.tallies[server.index()].counts.arrivals += 1;
    }

    /// A request was turned away by a full queue, at `server` when it reached one.
    pub fn record_rejected(&mut self, server: Option<ServerId>) {
        self.cluster.rejected += 1;
        if let Some(server) = server {
            self.record_attempt_rejected(server);
        }
    }

    /// A request ended without an answer, at `server` when it reached one.
    pub fn record_failed(&mut self, server: Option<ServerId>) {
        self.cluster.failed += 1;
        if let Some(server) = server {
            self.record_attempt_failed(server);
        }
    }

    /// An attempt was turned away by `server`'s full queue. A server's row counts
    /// attempts; the cluster's counts requests, which this alone does not end.
    pub fn record_attempt_rejected(&mut self, server: ServerId) {
        self.tallies[server.index()].counts.rejected += 1;
    }

    /// An attempt ended at `server` without an answer (see
    /// [`Self::record_attempt_rejected`]).
    pub fn record_attempt_failed(&mut self, server: ServerId) {
        self.tallies[server.index()].counts.failed += 1;
    }

    /// A request completed on `server` after `latency` (arrival to completion).
    pub fn record_completion(&mut self, server: ServerId, latency: SimDuration) {
        self.latencies.record(server.0, latency.as_nanos());
    }

    /// Computes the interval's percentiles, once.
    fn compute(&mut self) {
        if !self.computed {
            self.latencies.compute();
            self.computed = true;
        }
    }

    /// Closes `server`'s row for the interval ending at `time`.
    pub fn close_server(&mut self, time: SimTime, server: ServerId, sample: ServerSample) {
        self.compute();
        let (count, values) = self.latencies.server(server.index());
        let completions = count as u32;
        let latency_ms = (count > 0).then(|| in_ms(values));
        let tally = &mut self.tallies[server.index()];
        let counts = std::mem::take(&mut tally.counts);
        tally.held = tally.held + counts.arrivals - completions - counts.rejected - counts.failed;
        self.rows.push(SeriesRow {
            time,
            server,
            queue_length: sample.queue_length,
            busy_workers: sample.busy_workers,
            utilization: sample.utilization,
            completions,
            latency_ms,
            counts,
            in_flight: tally.held,
            state: sample.state,
            health: sample.health,
        });
    }

    /// Closes the cluster's row of the interval ending at `time`; call after the
    /// interval's server rows.
    /// Returns the interval's totals.
    pub fn close_interval(&mut self, time: SimTime, sample: ClusterSample) -> IntervalTotals {
        let completions = self.latencies.len() as u32;
        self.compute();
        let latency_ms = self.latencies.all().map(in_ms);
        self.latencies.clear();
        self.computed = false;
        let totals = IntervalTotals {
            time,
            counts: std::mem::take(&mut self.cluster),
            completions,
            in_flight: sample.in_flight,
            queue_length: sample.queue_length,
            busy_workers: sample.busy_workers,
            utilization: sample.utilization,
            latency_ms,
            instances: sample.instances,
            capacity: sample.capacity,
        };
        self.intervals.push(totals);
        totals
    }

    /// Ends the interval ending now of a recorder that keeps rows only: a data tier's
    /// nodes, whose requests the cluster row already counts.
    pub fn end_rows(&mut self) {
        self.latencies.clear();
        self.computed = false;
        self.cluster = IntervalCounts::default();
    }

    pub fn into_parts(self) -> (SpillVec<SeriesRow>, SpillVec<IntervalTotals>) {
        (self.rows, self.intervals)
    }
}

/// Marks an interval without completions, which has no percentiles.
const NO_LATENCY: u64 = u64::MAX;

fn encode_latency(latency: Option<Percentiles>, out: &mut [u8]) {
    let bits = match latency {
        Some(p) => [p.p50.to_bits(), p.p90.to_bits(), p.p99.to_bits()],
        None => [NO_LATENCY; 3],
    };
    for (chunk, value) in out.chunks_exact_mut(8).zip(bits) {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
}

fn decode_latency(bytes: &[u8]) -> Option<Percentiles> {
    let at = |i: usize| u64_at(bytes, 8 * i);
    (at(0) != NO_LATENCY).then(|| Percentiles {
        p50: f64::from_bits(at(0)),
        p90: f64::from_bits(at(1)),
        p99: f64::from_bits(at(2)),
    })
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + 4]);
    u32::from_le_bytes(word)
}

/// The byte of an empty name: a database node that is down has no role, its row's
/// `health` is empty.
const EMPTY: u8 = u8::MAX;

/// A state name's index in [`STATE_NAMES`], one byte in the binary form.
fn state_code(name: &'static str) -> u8 {
    if name.is_empty() {
        return EMPTY;
    }
    STATE_NAMES
        .iter()
        .position(|&known| known == name)
        .unwrap_or(0) as u8
}

/// The state name a byte of the binary form stands for.
fn state_name(code: u8) -> &'static str {
    if code == EMPTY {
        return "";
    }
    STATE_NAMES
        .get(usize::from(code))
        .copied()
        .unwrap_or("absent")
}

fn encode_counts(counts: IntervalCounts, out: &mut [u8]) {
    out[0..4].copy_from_slice(&counts.arrivals.to_le_bytes());
    out[4..8].copy_from_slice(&counts.rejected.to_le_bytes());
    out[8..12].copy_from_slice(&counts.failed.to_le_bytes());
}

fn decode_counts(bytes: &[u8]) -> IntervalCounts {
    IntervalCounts {
        arrivals: u32_at(bytes, 0),
        rejected: u32_at(bytes, 4),
        failed: u32_at(bytes, 8),
    }
}

/// Layout, little-endian: time u64, server u32, queue u32, busy u32, completions u32,
/// utilization f64 bits, p50, p90, p99 as f64 bits, arrivals, rejected, failed and in
/// flight u32, then state and health as one byte each (indices in [`STATE_NAMES`], 255
/// for an empty name).
impl Spillable for SeriesRow {
    const BYTES: usize = 74;

    fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.time.as_nanos().to_le_bytes());
        out[8..12].copy_from_slice(&self.server.0.to_le_bytes());
        out[12..16].copy_from_slice(&self.queue_length.to_le_bytes());
        out[16..20].copy_from_slice(&self.busy_workers.to_le_bytes());
        out[20..24].copy_from_slice(&self.completions.to_le_bytes());
        out[24..32].copy_from_slice(&self.utilization.to_bits().to_le_bytes());
        encode_latency(self.latency_ms, &mut out[32..56]);
        encode_counts(self.counts, &mut out[56..68]);
        out[68..72].copy_from_slice(&self.in_flight.to_le_bytes());
        out[72] = state_code(self.state);
        out[73] = state_code(self.health);
    }

    fn decode(bytes: &[u8]) -> Self {
        SeriesRow {
            time: SimTime::from_nanos(u64_at(bytes, 0)),
            server: ServerId(u32_at(bytes, 8)),
            queue_length: u32_at(bytes, 12),
            busy_workers: u32_at(bytes, 16),
            completions: u32_at(bytes, 20),
            utilization: f64::from_bits(u64_at(bytes, 24)),
            latency_ms: decode_latency(&bytes[32..56]),
            counts: decode_counts(&bytes[56..68]),
            in_flight: u32_at(bytes, 68),
            state: state_name(bytes[72]),
            health: state_name(bytes[73]),
        }
    }
}

/// Layout, little-endian: time u64, arrivals, rejected, failed, completions, in flight,
/// queue and busy u32, utilization f64 bits, then p50, p90, p99 as f64 bits.
impl Spillable for IntervalTotals {
    const BYTES: usize = 88;

    fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.time.as_nanos().to_le_bytes());
        encode_counts(self.counts, &mut out[8..20]);
        out[20..24].copy_from_slice(&self.completions.to_le_bytes());
        out[24..28].copy_from_slice(&self.in_flight.to_le_bytes());
        out[28..32].copy_from_slice(&self.queue_length.to_le_bytes());
        out[32..36].copy_from_slice(&self.busy_workers.to_le_bytes());
        out[36..44].copy_from_slice(&self.utilization.to_bits().to_le_bytes());
        encode_latency(self.latency_ms, &mut out[44..68]);
        out[68..72].copy_from_slice(&self.instances.provisioning.to_le_bytes());
        out[72..76].copy_from_slice(&self.instances.ready.to_le_bytes());
        out[76..80].copy_from_slice(&self.instances.draining.to_le_bytes());
        out[80..88].copy_from_slice(&self.capacity.to_bits().to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Self {
        IntervalTotals {
            time: SimTime::from_nanos(u64_at(bytes, 0)),
            counts: decode_counts(&bytes[8..20]),
            completions: u32_at(bytes, 20),
            in_flight: u32_at(bytes, 24),
            queue_length: u32_at(bytes, 28),
            busy_workers: u32_at(bytes, 32),
            utilization: f64::from_bits(u64_at(bytes, 36)),
            latency_ms: decode_latency(&bytes[44..68]),
            instances: Instances {
                provisioning: u32_at(bytes, 68),
                ready: u32_at(bytes, 72),
                draining: u32_at(bytes, 76),
            },
            capacity: f64::from_bits(u64_at(bytes, 80)),
        }
    }
}

/// Nearest-rank percentiles in milliseconds, from their values in nanoseconds (see
/// [`nearest_ranks`](super::interval_latencies::nearest_ranks)).
fn in_ms(values: [u64; 3]) -> Percentiles {
    let [p50, p90, p99] = values.map(|ns| ns as f64 / 1e6);
    Percentiles { p50, p90, p99 }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The percentiles of one sample, as the recorder selects them for an interval.
    fn percentiles(sample: &mut [u64]) -> Option<Percentiles> {
        let mut latencies = IntervalLatencies::new(1);
        for &ns in sample.iter() {
            latencies.record(0, ns);
        }
        latencies.compute();
        latencies.all().map(in_ms)
    }

    #[test]
    fn selected_percentiles_equal_those_of_a_sorted_sample_of_every_size() {
        // A scrambled sample with ties, at every size up to 300: the selections must give
        // exactly the nearest-rank values of the sorted sample.
        for n in 1..=300u64 {
            let mut sample: Vec<u64> = (0..n).map(|i| (i * 7919 + 13) % 97).collect();
            let mut sorted = sample.clone();
            sorted.sort_unstable();
            let rank = |q: f64| sorted[((q * n as f64).ceil() as usize).clamp(1, n as usize) - 1];
            let p = percentiles(&mut sample).unwrap();
            let expected = [rank(0.5), rank(0.9), rank(0.99)].map(|ns| ns as f64 / 1e6);
            assert_eq!([p.p50, p.p90, p.p99], expected, "n = {n}");
        }
    }

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let mut sample: Vec<u64> = (1..=100).rev().map(|ms| ms * 1_000_000).collect();
        let p = percentiles(&mut sample).unwrap();
        assert_eq!((p.p50, p.p90, p.p99), (50.0, 90.0, 99.0));
    }

    fn sample(queue_length: u32, busy_workers: u32, utilization: f64) -> ServerSample {
        ServerSample {
            queue_length,
            busy_workers,
            utilization,
            state: "ready",
            health: "healthy",
        }
    }

    fn cluster(in_flight: u32) -> ClusterSample {
        ClusterSample {
            in_flight,
            queue_length: 0,
            busy_workers: 0,
            utilization: 0.0,
            instances: Instances::default(),
            capacity: 0.0,
        }
    }

    #[test]
    fn rows_and_intervals_round_trip_through_their_binary_form() {
        let row = SeriesRow {
            time: SimTime::from_nanos(7_000_000_001),
            server: ServerId(12),
            queue_length: 3,
            busy_workers: 2,
            utilization: 0.123_456_789,
            completions: 40,
            latency_ms: Some(Percentiles {
                p50: 1.5,
                p90: 2.25,
                p99: 9.125,
            }),
            counts: IntervalCounts {
                arrivals: 45,
                rejected: 2,
                failed: 1,
            },
            in_flight: 7,
            state: "draining",
            health: "ejected",
        };
        let mut bytes = [0u8; SeriesRow::BYTES];
        row.encode(&mut bytes);
        assert_eq!(SeriesRow::decode(&bytes), row);
        // A database node's role, and the empty role of a node that is down.
        for (state, health) in [("ready", "primary"), ("ready", "replica"), ("down", "")] {
            let node = SeriesRow {
                state,
                health,
                ..row
            };
            node.encode(&mut bytes);
            assert_eq!(SeriesRow::decode(&bytes), node);
        }
        let interval = IntervalTotals {
            time: SimTime::from_nanos(5),
            counts: IntervalCounts {
                arrivals: 9,
                rejected: 8,
                failed: 7,
            },
            completions: 0,
            in_flight: 6,
            queue_length: 5,
            busy_workers: 4,
            utilization: 0.3,
            latency_ms: None,
            instances: Instances {
                provisioning: 3,
                ready: 2,
                draining: 1,
            },
            capacity: 412.5,
        };
        let mut bytes = [0u8; IntervalTotals::BYTES];
        interval.encode(&mut bytes);
        assert_eq!(IntervalTotals::decode(&bytes), interval);
    }

    #[test]
    fn an_interval_without_completions_has_no_percentiles() {
        let mut recorder = SeriesRecorder::new(2);
        recorder.record_routed(ServerId(1));
        recorder.record_completion(ServerId(1), SimDuration::from_millis(4));
        let t = SimTime::from_nanos(1_000_000_000);
        recorder.close_server(t, ServerId(0), sample(0, 0, 0.0));
        recorder.close_server(t, ServerId(1), sample(3, 1, 0.5));
        recorder.close_interval(t, cluster(0));
        let (store, intervals) = recorder.into_parts();
        let rows = store.to_vec();
        assert_eq!(rows[0].completions, 0);
        assert_eq!(rows[0].latency_ms, None);
        assert_eq!(rows[1].completions, 1);
        assert_eq!(rows[1].latency_ms.unwrap().p99, 4.0);
        assert_eq!(intervals.to_vec()[0].completions, 1);
    }

    #[test]
    fn hand_counted_arrivals_and_endings_land_in_their_rows_and_the_cluster_row() {
        // Interval 1: five requests arrive; one finds no server, server 0 gets three and
        // server 1 one. Server 0 completes one and rejects one; server 1's fails.
        let mut recorder = SeriesRecorder::new(2);
        let (s0, s1) = (ServerId(0), ServerId(1));
        for _ in 0..5 {
            recorder.record_arrival();
        }
        recorder.record_failed(None);
        for server in [s0, s0, s0, s1] {
            recorder.record_routed(server);
        }
        recorder.record_completion(s0, SimDuration::from_millis(2));
        recorder.record_rejected(Some(s0));
        recorder.record_failed(Some(s1));
        let t1 = SimTime::from_nanos(1_000_000_000);
        recorder.close_server(t1, s0, sample(0, 1, 0.5));
        recorder.close_server(t1, s1, sample(0, 0, 0.0));
        recorder.close_interval(t1, cluster(1));
        // Interval 2: nothing arrives; server 0 completes the request it still held.
        recorder.record_completion(s0, SimDuration::from_millis(900));
        let t2 = SimTime::from_nanos(2_000_000_000);
        recorder.close_server(t2, s0, sample(0, 0, 0.4));
        recorder.close_server(t2, s1, sample(0, 0, 0.0));
        recorder.close_interval(t2, cluster(0));

        let (rows, intervals) = recorder.into_parts();
        let rows = rows.to_vec();
        let counts = |arrivals, rejected, failed| IntervalCounts {
            arrivals,
            rejected,
            failed,
        };
        let seen: Vec<_> = rows
            .iter()
            .map(|r| (r.server, r.counts, r.completions, r.in_flight))
            .collect();
        assert_eq!(
            seen,
            [
                (s0, counts(3, 1, 0), 1, 1),
                (s1, counts(1, 0, 1), 0, 0),
                (s0, counts(0, 0, 0), 1, 0),
                (s1, counts(0, 0, 0), 0, 0),
            ]
        );
        let totals: Vec<_> = intervals
            .to_vec()
            .iter()
            .map(|t| (t.counts, t.completions, t.in_flight))
            .collect();
        assert_eq!(totals, [(counts(5, 1, 2), 1, 1), (counts(0, 0, 0), 1, 0)]);
    }
}
