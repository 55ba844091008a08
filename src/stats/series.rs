//! The time series: per fixed interval and server, queue length and busy workers at the
//! interval's end, utilization and completions over the interval, and latency percentiles
//! of the requests completed in it.
//!
//! Percentiles per interval are exact (nearest rank): the latencies of one interval are
//! kept in a buffer per server that is cleared, not freed, at each interval's end, so its
//! memory is bounded by one interval's completions and nothing is allocated once the
//! buffers have grown to their working size.

use crate::balancer::ServerId;
use crate::engine::{SimDuration, SimTime};

/// One row of timeseries.csv.
#[derive(Clone, Debug, PartialEq)]
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
#[derive(Clone, Debug, PartialEq)]
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
    rows: Vec<SeriesRow>,
    intervals: Vec<IntervalLatency>,
}

impl SeriesRecorder {
    pub fn new(servers: usize) -> Self {
        SeriesRecorder {
            windows: vec![Vec::new(); servers],
            all: Vec::new(),
            rows: Vec::new(),
            intervals: Vec::new(),
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

    pub fn into_parts(self) -> (Vec<SeriesRow>, Vec<IntervalLatency>) {
        (self.rows, self.intervals)
    }
}

/// Nearest-rank percentiles: the smallest value with at least `q` of the sample at or
/// below it.
fn percentiles(sample: &mut [u64]) -> Option<Percentiles> {
    if sample.is_empty() {
        return None;
    }
    sample.sort_unstable();
    let at = |q: f64| {
        let rank = (q * sample.len() as f64).ceil() as usize;
        sample[rank.clamp(1, sample.len()) - 1] as f64 / 1e6
    };
    Some(Percentiles {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred() {
        let mut sample: Vec<u64> = (1..=100).rev().map(|ms| ms * 1_000_000).collect();
        let p = percentiles(&mut sample).unwrap();
        assert_eq!((p.p50, p.p90, p.p99), (50.0, 90.0, 99.0));
    }

    #[test]
    fn an_interval_without_completions_has_no_percentiles() {
        let mut recorder = SeriesRecorder::new(2);
        recorder.record_completion(ServerId(1), SimDuration::from_millis(4));
        let t = SimTime::from_nanos(1_000_000_000);
        recorder.close_server(t, ServerId(0), 0, 0, 0.0);
        recorder.close_server(t, ServerId(1), 3, 1, 0.5);
        recorder.close_interval(t);
        let (rows, intervals) = recorder.into_parts();
        assert_eq!(rows[0].completions, 0);
        assert_eq!(rows[0].latency_ms, None);
        assert_eq!(rows[1].completions, 1);
        assert_eq!(rows[1].latency_ms.unwrap().p99, 4.0);
        assert_eq!(intervals[0].completions, 1);
    }
}
