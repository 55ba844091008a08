//! Where response time goes, per interval, in a run with a data tier: of the requests
//! completed in the interval, their response times summed and the part of them spent in
//! the data tier summed. The latency-over-time chart draws the two means, so a reader sees
//! whether the database or the web tier makes a slow interval slow.
//!
//! Sums of integer nanoseconds rather than means: windows of several intervals add up
//! exactly, and the part outside the data tier is the difference of two exact sums, so the
//! two parts add up to the mean response time to the nanosecond.

use super::spill_vec::Spillable;
use crate::engine::SimTime;

/// One interval's requests, split by tier.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct TierTimes {
    /// End of the interval.
    pub time: SimTime,
    /// Requests completed in the interval (the cluster row's `completions`).
    pub completions: u32,
    /// Their response times, summed, in nanoseconds.
    pub response_ns: u128,
    /// Of which spent in the data tier — pool waits, node queues, queries, waits for a
    /// primary — from their server handing them to it to the last answer.
    pub database_ns: u128,
}

impl TierTimes {
    /// Adds `other`'s requests to these (a window of intervals), keeping the later time.
    pub fn add(&mut self, other: &TierTimes) {
        self.time = self.time.max(other.time);
        self.completions += other.completions;
        self.response_ns += other.response_ns;
        self.database_ns += other.database_ns;
    }

    /// The mean time in the data tier and the mean time outside it, in milliseconds, of
    /// these requests; `None` when none completed.
    pub fn means_ms(&self) -> Option<(f64, f64)> {
        (self.completions > 0).then(|| {
            let n = f64::from(self.completions) * 1e6;
            let outside = self.response_ns - self.database_ns;
            (self.database_ns as f64 / n, outside as f64 / n)
        })
    }
}

/// Layout, little-endian: time u64, completions u32, response and database u128.
impl Spillable for TierTimes {
    const BYTES: usize = 44;

    fn encode(&self, out: &mut [u8]) {
        out[0..8].copy_from_slice(&self.time.as_nanos().to_le_bytes());
        out[8..12].copy_from_slice(&self.completions.to_le_bytes());
        out[12..28].copy_from_slice(&self.response_ns.to_le_bytes());
        out[28..44].copy_from_slice(&self.database_ns.to_le_bytes());
    }

    fn decode(bytes: &[u8]) -> Self {
        TierTimes {
            time: SimTime::from_nanos(u64::from_le_bytes(array(bytes, 0))),
            completions: u32::from_le_bytes(array(bytes, 8)),
            response_ns: u128::from_le_bytes(array(bytes, 12)),
            database_ns: u128::from_le_bytes(array(bytes, 28)),
        }
    }
}

/// The `N` bytes at `at`.
fn array<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    let mut array = [0u8; N];
    array.copy_from_slice(&bytes[at..at + N]);
    array
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_through_its_binary_form() {
        let times = TierTimes {
            time: SimTime::from_nanos(3_000_000_007),
            completions: 41,
            response_ns: u128::from(u64::MAX) + 5,
            database_ns: 123_456_789,
        };
        let mut bytes = [0u8; TierTimes::BYTES];
        times.encode(&mut bytes);
        assert_eq!(TierTimes::decode(&bytes), times);
    }

    #[test]
    fn windows_add_exactly_and_the_parts_sum_to_the_mean() {
        let at = |s: u64| SimTime::from_nanos(s * 1_000_000_000);
        let mut window = TierTimes {
            time: at(1),
            completions: 2,
            response_ns: 30_000_000,
            database_ns: 10_000_000,
        };
        window.add(&TierTimes {
            time: at(2),
            completions: 1,
            response_ns: 15_000_001,
            database_ns: 5_000_000,
        });
        assert_eq!(window.time, at(2));
        let (database, outside) = window.means_ms().unwrap();
        assert_eq!(database, 5.0);
        // Exact sums, so the parts add up to the mean but for the floats' last bit.
        assert!((database + outside - 45_000_001.0 / 3e6).abs() < 1e-12);
        assert_eq!(TierTimes::default().means_ms(), None);
    }
}
