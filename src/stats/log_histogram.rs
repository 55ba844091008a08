//! A log-linear histogram with HdrHistogram's bucket layout, fixed at 1 ns to 10^13 ns
//! and two significant digits, recorded in a handful of instructions.
//!
//! The `hdrhistogram` crate recorded every latency until this module replaced it: its
//! general recording path (any layout, auto-resize, minimum and maximum tracking, a
//! `Result` to unwrap) cost about 60 instructions per value, and every request records
//! two values (its latency and its wait), a twelfth of the reference run. The layout here
//! is the crate's own, index for index, and so are the quantile and iteration rules, so
//! every percentile and every shard's buckets are exactly what they were; the tests hold
//! it to the crate, value by value.
//!
//! The layout: values below 256 have a count each; above, each power of two `[2^k, 2^(k+1))`
//! is split into 128 equal sub-buckets, so a bucket is at most 1/128 of its values wide
//! (HdrHistogram's "two significant digits": 2 × 10² distinguishable values, rounded up
//! to a power of two).

/// log2 of the sub-buckets in a power of two's upper half: 2 × 10² rounded up to 256 is
/// 2^8, half of it 2^7.
const HALF_MAGNITUDE: u32 = 7;
const HALF_COUNT: u64 = 1 << HALF_MAGNITUDE;
/// Values below 256 each have their own count.
const SUB_BUCKET_MASK: u64 = (2 << HALF_MAGNITUDE) - 1;
/// `64 - log2(256)`: the leading zeros of a value in the first bucket.
const LEADING_ZERO_BASE: u32 = 64 - (HALF_MAGNITUDE + 1);
/// The highest value recorded as itself; higher ones beyond the last bucket are recorded
/// as this value (about 2.8 hours in nanoseconds).
pub const HIGHEST: u64 = 10_000_000_000_000;
/// Buckets (powers of two) needed to hold `HIGHEST`: 256 · 2^36 > 10^13.
const BUCKETS: usize = 37;
/// Counts: `(BUCKETS + 1) × 128`, as HdrHistogram sizes them.
const LENGTH: usize = (BUCKETS + 1) << HALF_MAGNITUDE;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogHistogram {
    counts: Box<[u64]>,
    total: u64,
}

impl Default for LogHistogram {
    fn default() -> Self {
        Self::new()
    }
}

/// The power of two `value` falls in (0 for values below 256).
fn bucket_of(value: u64) -> u32 {
    LEADING_ZERO_BASE - (value | SUB_BUCKET_MASK).leading_zeros()
}

/// The index of `value`'s count; past the end for values beyond the last bucket.
fn index_of(value: u64) -> usize {
    let bucket = bucket_of(value);
    let sub_bucket = value >> bucket;
    (((u64::from(bucket) + 1) << HALF_MAGNITUDE) + sub_bucket - HALF_COUNT) as usize
}

/// The lowest value counted at `index`.
fn value_at_index(index: usize) -> u64 {
    let bucket = (index >> HALF_MAGNITUDE) as i64 - 1;
    let sub_bucket = (index as u64 & (HALF_COUNT - 1)) + HALF_COUNT;
    if bucket < 0 {
        sub_bucket - HALF_COUNT
    } else {
        sub_bucket << bucket
    }
}

/// The lowest value counted with `value`.
fn lowest_equivalent(value: u64) -> u64 {
    let bucket = bucket_of(value);
    (value >> bucket) << bucket
}

/// The highest value counted with `value`.
fn highest_equivalent(value: u64) -> u64 {
    if value == u64::MAX {
        return u64::MAX;
    }
    lowest_equivalent(value).saturating_add(1 << bucket_of(value)) - 1
}

impl LogHistogram {
    pub fn new() -> Self {
        LogHistogram {
            counts: vec![0; LENGTH].into_boxed_slice(),
            total: 0,
        }
    }

    /// Counts `value`; a value beyond the last bucket counts as [`HIGHEST`].
    #[inline]
    pub fn record(&mut self, value: u64) {
        let index = index_of(value);
        match self.counts.get_mut(index) {
            Some(count) => *count += 1,
            None => self.counts[index_of(HIGHEST)] += 1,
        }
        self.total += 1;
    }

    /// Counts `value` `count` times; an error when `value` is beyond the last bucket.
    pub fn record_n(&mut self, value: u64, count: u64) -> Result<(), ()> {
        let slot = self.counts.get_mut(index_of(value)).ok_or(())?;
        *slot = slot.saturating_add(count);
        self.total = self.total.saturating_add(count);
        Ok(())
    }

    /// Values counted.
    pub fn len(&self) -> u64 {
        self.total
    }

    /// The highest value equivalent to the smallest counted value with at least `q` of
    /// the counts at or below it (the lowest equivalent for `q = 0`); 0 when empty.
    pub fn value_at_quantile(&self, q: f64) -> u64 {
        let q = q.min(1.0);
        let target = ((q * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (index, &count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= target {
                let value = value_at_index(index);
                return if q == 0.0 {
                    lowest_equivalent(value)
                } else {
                    highest_equivalent(value)
                };
            }
        }
        0
    }

    /// `(highest equivalent value, count)` of every non-empty bucket, in increasing order.
    pub fn iter_recorded(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &count)| count > 0)
            .map(|(index, &count)| (highest_equivalent(value_at_index(index)), count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::Histogram;
    use proptest::prelude::*;

    /// The histogram this one replaced, configured as it was.
    fn reference() -> Histogram<u64> {
        Histogram::new_with_bounds(1, HIGHEST, 2).unwrap()
    }

    #[test]
    fn the_layout_is_the_crates() {
        let reference = reference();
        assert_eq!(reference.distinct_values(), LENGTH);
        for value in (0..100_000).chain((0..64).map(|shift| 1u64 << shift)) {
            assert_eq!(
                (lowest_equivalent(value), highest_equivalent(value)),
                (
                    reference.lowest_equivalent(value),
                    reference.highest_equivalent(value)
                ),
                "{value}"
            );
        }
    }

    /// The crate's non-empty buckets as [`LogHistogram::iter_recorded`] lists them.
    fn buckets(histogram: &Histogram<u64>) -> Vec<(u64, u64)> {
        histogram
            .iter_recorded()
            .map(|b| (b.value_iterated_to(), b.count_at_value()))
            .collect()
    }

    fn values() -> impl Strategy<Value = Vec<u64>> {
        let value = prop_oneof![
            0u64..512,
            1_000u64..100_000_000,
            (0u32..64).prop_flat_map(|shift| (1u64 << shift)..=u64::MAX >> (63 - shift)),
            Just(HIGHEST),
            Just(u64::MAX),
        ];
        proptest::collection::vec(value, 0..400)
    }

    proptest! {
        /// Whatever is recorded, every quantile, every bucket and the count are the crate's.
        #[test]
        fn records_and_reports_exactly_as_hdrhistogram(values in values()) {
            let mut ours = LogHistogram::new();
            let mut theirs = reference();
            for &value in &values {
                ours.record(value);
                theirs.saturating_record(value);
            }
            prop_assert_eq!(ours.len(), theirs.len());
            prop_assert_eq!(ours.iter_recorded().collect::<Vec<_>>(), buckets(&theirs));
            if !values.is_empty() {
                for i in 0..=200 {
                    let q = f64::from(i) / 200.0;
                    prop_assert_eq!(ours.value_at_quantile(q), theirs.value_at_quantile(q), "q={}", q);
                }
                prop_assert_eq!(ours.value_at_quantile(1.5), theirs.value_at_quantile(1.5));
            }
        }

        /// Counts recorded in bulk land where the crate puts them, and out-of-range values
        /// are refused as it refuses them.
        #[test]
        fn bulk_records_match_the_crate(entries in proptest::collection::vec((any::<u64>(), 1u64..1000), 0..50)) {
            let mut ours = LogHistogram::new();
            let mut theirs = reference();
            for &(value, count) in &entries {
                prop_assert_eq!(ours.record_n(value, count).is_ok(), theirs.record_n(value, count).is_ok());
            }
            prop_assert_eq!(ours.len(), theirs.len());
            prop_assert_eq!(ours.iter_recorded().collect::<Vec<_>>(), buckets(&theirs));
        }
    }
}
