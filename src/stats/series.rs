//! The time series: per fixed interval and server, queue length and busy workers at the
//! interval's end, utilization and completions over the interval, and latency percentiles
//! of the requests completed in it.
//!
//! Percentiles per interval are exact (nearest rank): the latencies of one interval are
//! kept in a buffer per server that is cleared, not freed, at each interval's end, so its
//! memory is bounded by one interval's completions and nothing is allocated once the
//! buffers have grown to their working size.

use super::spill_vec::{SpillVec, Spillable};
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;

/// One row of timeseries.csv.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SeriesRow {
    /// End of the interval the row covers.
    pub time: SimTime,
    pub server: ServerId,
    pub queue_length: u32,
    pub busy_workers: u32,
    /// Busy fraction of the server's workers over the interval.
    pub utilization: f64,
    pub completions: u32,
    /// Latency percentiles of this interval's completions; `None` without completions.
    pub latency_ms: Option<Percentiles>,
}

/// Exact nearest-rank percentiles of a small sample, in milliseconds.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
}

/// All servers together over one interval: what the latency-over-time chart draws.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct IntervalLatency {
    pub time: SimTime,
    pub completions: u32,
    pub latency_ms: Option<Percentiles>,
}

/// Collects the time series of one run.
#[derive(Debug)]
pub struct SeriesRecorder {
    /// Latencies (ns) completed in the current interval, per server.
    windows: Vec<Vec<u64>>,
    /// Latencies (ns) completed in the current interval, all servers.
    all: Vec<u64>,
    rows: SpillVec<SeriesRow>,
    intervals: SpillVec<IntervalLatency>,
}

impl SeriesRecorder {
    pub fn new(servers: usize) -> Self {
        SeriesRecorder {
            windows: vec![Vec::new(); servers],
            all: Vec::new(),
            rows: SpillVec::default(),
            intervals: SpillVec::default(),
        }
    }

    /// Server `server` joined the cluster: it gets a window of its own.
    pub fn add_server(&mut self, server: ServerId) {
        if self.windows.len() <= server.index() {
            self.windows.resize_with(server.index() + 1, Vec::new);
        }
    }

    /// A request completed on `server` after `latency` (arrival to completion).
    pub fn record_completion(&mut self, server: ServerId, latency: SimDuration) {
        self.windows[server.index()].push(latency.as_nanos());
        self.all.push(latency.as_nanos());
    }

    /// Closes `server`'s row for the interval ending at `time`.
    pub fn close_server(
        &mut self,
        time: SimTime,
        server: ServerId,
        queue_length: u32,
        busy_workers: u32,
        utilization: f64,
    ) {
        let window = &mut self.windows[server.index()];
        let completions = window.len() as u32;
        let latency_ms = percentiles(window);
        window.clear();
        self.rows.push(SeriesRow {
            time,
            server,
            queue_length,
            busy_workers,
            utilization,
            completions,
            latency_ms,
        });
    }

    /// Closes the all-servers summary of the interval ending at `time`; call after the
    /// interval's server rows.
    pub fn close_interval(&mut self, time: SimTime) {
        let completions = self.all.len() as u32;
        let latency_ms = percentiles(&mut self.all);
        self.all.clear();
        self.intervals.push(IntervalLatency {
            time,
            completions,
            latency_ms,
        });
    }

    pub fn into_parts(self) -> (SpillVec<SeriesRow>, SpillVec<IntervalLatency>) {
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

/// Layout, little-endian: time u64, server u32, queue u32, busy u32, completions u32,
/// utilization f64 bits, then p50, p90, p99 as f64 bits.
impl Spillable for SeriesRow {
    const BYTES: usize = 56;

    fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.time.as_nanos().to_le_bytes());
        out[8..12].copy_from_slice(&self.server.0.to_le_bytes());
        out[12..16].copy_from_slice(&self.queue_length.to_le_bytes());
        out[16..20].copy_from_slice(&self.busy_workers.to_le_bytes());
        out[20..24].copy_from_slice(&self.completions.to_le_bytes());
        out[24..32].copy_from_slice(&self.utilization.to_bits().to_le_bytes());
        encode_latency(self.latency_ms, &mut out[32..56]);
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
        }
    }
}

/// Layout, little-endian: time u64, completions u32, then p50, p90, p99 as f64 bits.
impl Spillable for IntervalLatency {
    const BYTES: usize = 36;

    fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.time.as_nanos().to_le_bytes());
        out[8..12].copy_from_slice(&self.completions.to_le_bytes());
        encode_latency(self.latency_ms, &mut out[12..36]);
    }

    fn decode(bytes: &[u8]) -> Self {
        IntervalLatency {
            time: SimTime::from_nanos(u64_at(bytes, 0)),
            completions: u32_at(bytes, 8),
            latency_ms: decode_latency(&bytes[12..36]),
        }
    }
}

/// Nearest-rank percentiles: the smallest value with at least `q` of the sample at or
/// below it.
///
/// Three selections rather than a sort: each is linear, and the p90 and p50 selections
/// work only on what lies below the previous one, so the cost per interval is about
/// twice the sample's size instead of `n log n` — a sort of every interval's latencies was
/// a twelfth of a run's time. The ranks and so the values are exactly a sort's.
fn percentiles(sample: &mut [u64]) -> Option<Percentiles> {
    if sample.is_empty() {
        return None;
    }
    let index = |q: f64| {
        let rank = (q * sample.len() as f64).ceil() as usize;
        rank.clamp(1, sample.len()) - 1
    };
    let (i50, i90, i99) = (index(0.50), index(0.90), index(0.99));
    let ms = |ns: u64| ns as f64 / 1e6;
    let (below, &mut p99, _) = sample.select_nth_unstable(i99);
    let p90 = if i90 == i99 {
        p99
    } else {
        *below.select_nth_unstable(i90).1
    };
    let p50 = if i50 == i90 {
        p90
    } else {
        *below[..i90].select_nth_unstable(i50).1
    };
    Some(Percentiles {
        p50: ms(p50),
        p90: ms(p90),
        p99: ms(p99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        };
        let mut bytes = [0u8; SeriesRow::BYTES];
        row.encode(&mut bytes);
        assert_eq!(SeriesRow::decode(&bytes), row);
        let interval = IntervalLatency {
            time: SimTime::from_nanos(5),
            completions: 0,
            latency_ms: None,
        };
        let mut bytes = [0u8; IntervalLatency::BYTES];
        interval.encode(&mut bytes);
        assert_eq!(IntervalLatency::decode(&bytes), interval);
    }

    #[test]
    fn an_interval_without_completions_has_no_percentiles() {
        let mut recorder = SeriesRecorder::new(2);
        recorder.record_completion(ServerId(1), SimDuration::from_millis(4));
        let t = SimTime::from_nanos(1_000_000_000);
        recorder.close_server(t, ServerId(0), 0, 0, 0.0);
        recorder.close_server(t, ServerId(1), 3, 1, 0.5);
        recorder.close_interval(t);
        let (store, intervals) = recorder.into_parts();
        let mut rows = Vec::new();
        store
            .for_each(|r| {
                rows.push(*r);
                Ok(())
            })
            .unwrap();
        assert_eq!(rows[0].completions, 0);
        assert_eq!(rows[0].latency_ms, None);
        assert_eq!(rows[1].completions, 1);
        assert_eq!(rows[1].latency_ms.unwrap().p99, 4.0);
        intervals
            .for_each(|interval| {
                assert_eq!(interval.completions, 1);
                Ok(())
            })
            .unwrap();
    }
}
