//! Latency distribution of a run: a histogram with HdrHistogram's layout for percentiles
//! (at most 1% relative error, memory independent of the number of requests) plus an
//! exact sum for the mean.
//!
//! [`LatencyParts`] is the distribution taken apart exactly — the histogram's non-empty
//! buckets, the sum and the maximum — so that a run simulated on one machine can be
//! reported on another (`lbsim merge`) with the very same percentiles, mean and maximum.

use super::log_histogram::LogHistogram;
use crate::engine::SimDuration;

#[derive(Clone, Debug)]
pub struct LatencyStats {
    histogram: LogHistogram,
    sum_nanos: u128,
    max_nanos: u64,
}

impl Default for LatencyStats {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyStats {
    pub fn new() -> Self {
        LatencyStats {
            histogram: LogHistogram::new(),
            sum_nanos: 0,
            max_nanos: 0,
        }
    }

    pub fn record(&mut self, latency: SimDuration) {
        let nanos = latency.as_nanos();
        self.histogram.record(nanos.max(1));
        self.sum_nanos += u128::from(nanos);
        self.max_nanos = self.max_nanos.max(nanos);
    }

    pub fn count(&self) -> u64 {
        self.histogram.len()
    }

    /// Exact mean in milliseconds; 0 when nothing was recorded.
    pub fn mean_ms(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum_nanos as f64 / n as f64 / 1e6,
        }
    }

    /// The `q` quantile (0..=1) in milliseconds, within 1%; 0 when nothing was recorded.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.count() == 0 {
            return 0.0;
        }
        let value = self.histogram.value_at_quantile(q).min(self.max_nanos);
        value as f64 / 1e6
    }

    /// Exact maximum in milliseconds.
    pub fn max_ms(&self) -> f64 {
        self.max_nanos as f64 / 1e6
    }

    /// The distribution taken apart exactly: [`LatencyStats::from_parts`] rebuilds it.
    pub fn to_parts(&self) -> LatencyParts {
        LatencyParts {
            // Each bucket's highest equivalent value lands in that same bucket again.
            buckets: self.histogram.iter_recorded().collect(),
            sum_nanos: self.sum_nanos,
            max_nanos: self.max_nanos,
        }
    }

    /// Rebuilds a distribution from [`LatencyStats::to_parts`]; an error names a bucket
    /// value outside the histogram's range (parts that no run could have produced).
    pub fn from_parts(parts: &LatencyParts) -> Result<Self, String> {
        let mut stats = LatencyStats::new();
        for &(value, count) in &parts.buckets {
            stats
                .histogram
                .record_n(value, count)
                .map_err(|_| format!("latency bucket {value} ns is out of range"))?;
        }
        stats.sum_nanos = parts.sum_nanos;
        stats.max_nanos = parts.max_nanos;
        Ok(stats)
    }

    /// Points of the empirical CDF, one per histogram bucket with data:
    /// `(latency_ms, fraction at or below)`.
    pub fn cdf_points(&self) -> Vec<(f64, f64)> {
        let total = self.count() as f64;
        let mut seen = 0u64;
        self.histogram
            .iter_recorded()
            .map(|(value, count)| {
                seen += count;
                (value as f64 / 1e6, seen as f64 / total)
            })
            .collect()
    }
}

/// A [`LatencyStats`] as plain numbers: `(bucket value ns, count)` for every non-empty
/// histogram bucket in increasing order, the exact sum and the exact maximum.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LatencyParts {
    pub buckets: Vec<(u64, u64)>,
    pub sum_nanos: u128,
    pub max_nanos: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_is_exact_and_quantiles_within_one_percent() {
        let mut stats = LatencyStats::new();
        for ms in 1..=1000u64 {
            stats.record(SimDuration::from_millis(ms));
        }
        assert_eq!(stats.mean_ms(), 500.5);
        for q in [0.5, 0.9, 0.99] {
            let exact = q * 1000.0;
            let got = stats.quantile_ms(q);
            assert!(
                (got - exact).abs() / exact <= 0.01,
                "q={q}: {got} vs {exact}"
            );
        }
        assert_eq!(stats.max_ms(), 1000.0);
    }

    #[test]
    fn an_empty_distribution_reports_zeros() {
        let stats = LatencyStats::new();
        assert_eq!(
            (stats.mean_ms(), stats.quantile_ms(0.99), stats.max_ms()),
            (0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn a_distribution_rebuilt_from_its_parts_reports_identical_figures() {
        let mut stats = LatencyStats::new();
        // Spread over six orders of magnitude, with repeats, the minimum and a clamped value.
        let mut x = 12_345u64;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            stats.record(SimDuration::from_nanos(1_000 + (x >> 40) % 5_000_000_000));
        }
        stats.record(SimDuration::from_nanos(0));
        stats.record(SimDuration::from_nanos(
            crate::stats::log_histogram::HIGHEST * 2,
        ));
        let parts = stats.to_parts();
        let rebuilt = LatencyStats::from_parts(&parts).unwrap();
        assert_eq!(rebuilt.count(), stats.count());
        assert_eq!(rebuilt.mean_ms().to_bits(), stats.mean_ms().to_bits());
        assert_eq!(rebuilt.max_ms().to_bits(), stats.max_ms().to_bits());
        for i in 0..=1000 {
            let q = f64::from(i) / 1000.0;
            assert_eq!(
                rebuilt.quantile_ms(q).to_bits(),
                stats.quantile_ms(q).to_bits(),
                "q={q}"
            );
        }
        assert_eq!(rebuilt.cdf_points(), stats.cdf_points());
        assert_eq!(rebuilt.to_parts(), parts);
    }

    #[test]
    fn cdf_points_match_a_hand_counted_sample() {
        let mut stats = LatencyStats::new();
        // Seven values in four distinct histogram buckets, recorded out of order.
        for ms in [5, 1, 100, 5, 2, 1, 5] {
            stats.record(SimDuration::from_millis(ms));
        }
        let points = stats.cdf_points();
        // Counted by hand: two values at 1 ms, one at 2, three at 5, one at 100.
        let expected = [
            (1.0, 2.0 / 7.0),
            (2.0, 3.0 / 7.0),
            (5.0, 6.0 / 7.0),
            (100.0, 1.0),
        ];
        assert_eq!(points.len(), expected.len(), "{points:?}");
        for (&(ms, fraction), &(value_ms, counted)) in points.iter().zip(&expected) {
            // Same counts over the same total: the division is the same float operation.
            assert_eq!(fraction, counted, "at {value_ms} ms");
            // Each point sits at its bucket's top, in milliseconds (not ns, not s): at or
            // above the value, by less than the histogram's resolution of 1%.
            assert!(
                ms >= value_ms && ms <= value_ms * 1.01,
                "{ms} ms for a value of {value_ms} ms"
            );
        }
        assert!(LatencyStats::new().cdf_points().is_empty());
    }

    #[test]
    fn an_empty_distribution_survives_the_round_trip() {
        let parts = LatencyStats::new().to_parts();
        assert!(parts.buckets.is_empty());
        let rebuilt = LatencyStats::from_parts(&parts).unwrap();
        assert_eq!((rebuilt.count(), rebuilt.max_ms()), (0, 0.0));
    }

    #[test]
    fn parts_outside_the_histogram_range_are_an_error_not_a_panic() {
        let parts = LatencyParts {
            buckets: vec![(u64::MAX, 1)],
            sum_nanos: 0,
            max_nanos: 0,
        };
        assert!(LatencyStats::from_parts(&parts).is_err());
    }
}
