//! Exact nearest-rank values at three ranks (the time series' p50, p90 and p99) of every
//! server's latencies in an interval and of all of them together, found with one read of
//! each value and selections among a few of them, instead of three selections over each
//! server's sample and three more over the whole interval's.
//!
//! A probe of the interval's latencies — every `stride`-th one — says roughly where each
//! quantile lies: a bracket around the median, from a probe value somewhat below it to one
//! somewhat above, and an upper bracket from a probe value somewhat below the p90 to the
//! top (as in Floyd and Rivest's selection). One pass over the latencies counts, server
//! by server, those below the median's bracket, and copies those inside each bracket to
//! a buffer. If a bracket holds a rank — the count below it is at most the rank, and the
//! count below plus the bracket's size is more — the value at that rank is the value at
//! the matching place among the values copied, which a selection among those few finds.
//! The values below a bracket are exactly the sample's smallest, so this is exact
//! whatever the probe looked like: an unrepresentative probe (a server much slower than
//! the rest, a burst of ties) costs a selection over that whole sample, never a
//! different value.
//!
//! Every server's sample is bracketed by the same values, so the whole interval's brackets
//! are the servers' put together: the servers' values are copied one after another into
//! the same two buffers, and the interval's ranks are selected among all they hold. The
//! margins are sized for a server's sample, which is far noisier than the interval's, so
//! the interval's ranks almost always fall inside.
//!
//! The pass is branch-free: each value is written to both buffers unconditionally and
//! their lengths advance by the comparisons' results, so its cost does not depend on the
//! values, and its only mispredicted branch is a loop's end. The buffers are kept from
//! interval to interval (they hold a fraction of an interval's latencies, all of them
//! when every latency is the same), so nothing is allocated once they have grown.

/// Below this many latencies in an interval, three chained selections per sample are
/// cheaper than a probe and a pass.
const SMALL: usize = 96;

/// Below this many latencies per server, a server's brackets would hold most of its
/// sample: servers are selected over their whole samples and the brackets are sized for
/// the interval alone.
const SMALL_GROUP: usize = 16;

/// The smallest probe.
const PROBE_MIN: usize = 16;

/// Up to this many values a selection counts (see [`select_counting`]): about 600
/// comparisons, without a branch, against a selection's dozen or so mispredictions.
const COUNTING_UP_TO: usize = 24;

/// Values read per step of the pass: the buffers are checked for room once per block.
const BLOCK: usize = 252;
/// Room for a block's values: a `u8` index into it needs no bounds check.
const BUFFER: usize = 256;

/// Standard deviations of a sample's rank of a bracket's end kept either side of the rank
/// sought. Tighter brackets are cheaper to select in and miss more often; between 1.25
/// and 2 the two balance (a server's bracket misses about one time in eight at 1.5).
const MARGIN_SIGMAS: f64 = 1.5;

/// The nearest-rank selections of one interval, with the scratch buffers they reuse.
#[derive(Debug, Default)]
pub struct IntervalRanks {
    /// Every `stride`-th latency of the interval.
    probe: Vec<u64>,
    /// The brackets, when the interval is large enough for them.
    brackets: Option<Brackets>,
    /// Whether the brackets are sized for a server's sample, and `found` holds what the
    /// pass found in each.
    by_group: bool,
    /// The values inside the median's bracket, server after server (`total.middle` of
    /// them, then room for a block).
    middle: Vec<u64>,
    /// The values inside the upper bracket, likewise.
    upper: Vec<u64>,
    /// Per server, the counts up to and including it.
    found: Vec<Found>,
    /// The counts over the whole interval.
    total: Found,
}

/// The median bracket `[low, low + span]` and the upper bracket `[upper, u64::MAX]`.
#[derive(Copy, Clone, Debug)]
struct Brackets {
    low: u64,
    span: u64,
    upper: u64,
}

/// Counts of values passed: below the median bracket, inside it, inside the upper
/// bracket, and all of them.
#[derive(Copy, Clone, Debug, Default, PartialEq)]
struct Found {
    below: usize,
    middle: usize,
    upper: usize,
    passed: usize,
}

impl IntervalRanks {
    /// Starts an interval whose latencies are `values`, grouped by server: server `g`'s
    /// are `values[starts[g]..starts[g + 1]]`. Takes the probe, sets the brackets and
    /// passes every value.
    pub fn begin(&mut self, values: &[u64], starts: &[u32]) {
        self.brackets = None;
        self.by_group = false;
        self.found.clear();
        self.total = Found::default();

        let n = values.len();
        if n < SMALL {
            return;
        }
        let groups = starts.windows(2).filter(|w| w[1] > w[0]).count().max(1);
        let typical = n / groups;
        self.by_group = typical >= SMALL_GROUP;
        let sample = if self.by_group { typical } else { n };
        self.brackets = Some(self.take_brackets(values, sample));
        if self.by_group {
            for group in starts.windows(2) {
                self.pass(&values[group[0] as usize..group[1] as usize]);
                self.found.push(self.total);
            }
        } else {
            self.pass(values);
        }
    }

    /// Takes the probe of `values` and the brackets it gives for a sample of `sample`.
    fn take_brackets(&mut self, values: &[u64], sample: usize) -> Brackets {
        let n = values.len();
        // About n^(2/3) (Floyd and Rivest's balance between the probe's cost and the
        // brackets' width).
        let size = ((n as f64).powf(2.0 / 3.0) as usize).clamp(PROBE_MIN, n);
        let stride = n / size;
        self.probe.clear();
        self.probe
            .extend(values.iter().skip(stride / 2).step_by(stride).take(size));
        let positions = [
            position(0.5, -1.0, size, sample),
            position(0.5, 1.0, size, sample),
            position(0.9, -1.0, size, sample),
        ];
        // Room for what the probe says the brackets will hold and some to spare, so that
        // the buffers seldom grow during the pass.
        let share = |from: Option<usize>, to: Option<usize>| {
            let places = to.unwrap_or(size) - from.unwrap_or(0) + 1;
            (places * n / size) * 5 / 4 + BUFFER
        };
        reserve(&mut self.middle, share(positions[0], positions[1]));
        reserve(&mut self.upper, share(positions[2], None));
        let [low, high, upper] = probe_values(&mut self.probe, positions);
        let low = low.unwrap_or(0);
        Brackets {
            low,
            span: high.unwrap_or(u64::MAX) - low,
            upper: upper.unwrap_or(0),
        }
    }

    /// The values at 0-based `ranks` (non-decreasing, below its length) of server
    /// `group`'s `sample`, sorted ascending: the latencies [`Self::begin`] was given for
    /// it. `sample` may be reordered.
    pub fn select_group(
        &mut self,
        group: usize,
        sample: &mut [u64],
        ranks: [usize; 3],
    ) -> [u64; 3] {
        if !self.by_group {
            return select_chained(sample, ranks);
        }
        let before = match group {
            0 => Found::default(),
            _ => self.found[group - 1],
        };
        let after = self.found[group];
        debug_assert_eq!(after.passed - before.passed, sample.len());
        let found = Found {
            below: after.below - before.below,
            middle: after.middle - before.middle,
            upper: after.upper - before.upper,
            passed: sample.len(),
        };
        let middle = &mut self.middle[before.middle..after.middle];
        let upper = &mut self.upper[before.upper..after.upper];
        select_bracketed(sample, middle, upper, found, ranks)
    }

    /// The values at `ranks` of all the interval's latencies, `all` (those
    /// [`Self::begin`] was given, in any order).
    pub fn select_all(&mut self, all: &mut [u64], ranks: [usize; 3]) -> [u64; 3] {
        if self.brackets.is_none() || self.total.passed != all.len() {
            return select_chained(all, ranks);
        }
        let found = self.total;
        let middle = &mut self.middle[..found.middle];
        let upper = &mut self.upper[..found.upper];
        select_bracketed(all, middle, upper, found, ranks)
    }

    /// Counts `values` below the median bracket and appends those inside each bracket to
    /// its buffer.
    fn pass(&mut self, values: &[u64]) {
        let Some(brackets) = self.brackets else {
            return;
        };
        let total = &mut self.total;
        for chunk in values.chunks(BLOCK) {
            // Each block is written into room past the buffers' ends, then the lengths
            // advance by what it kept.
            if self.middle.len() < total.middle + BUFFER {
                self.middle.resize(total.middle + BUFFER, 0);
            }
            if self.upper.len() < total.upper + BUFFER {
                self.upper.resize(total.upper + BUFFER, 0);
            }
            let middle = (&mut self.middle[total.middle..][..BUFFER]).try_into();
            let upper = (&mut self.upper[total.upper..][..BUFFER]).try_into();
            let (below, m, u) = gather(
                chunk,
                brackets,
                middle.expect("a block's room"),
                upper.expect("a block's room"),
            );
            total.below += below;
            total.middle += m;
            total.upper += u;
        }
        total.passed += values.len();
    }
}

/// Makes room for `len` values in `buffer` beyond what it holds now.
fn reserve(buffer: &mut Vec<u64>, len: usize) {
    buffer.reserve(len.saturating_sub(buffer.len()));
}

/// Where in a sorted probe of `s` values a bracket's end lies: on `side` (-1 below, 1
/// above) of quantile `q` by the margin for a sample of `n`, one place further for the
/// rounding — the sample's rank of a probe value and the probe's rank of a quantile are
/// each binomial; `None` past the probe's ends.
fn position(q: f64, side: f64, s: usize, n: usize) -> Option<usize> {
    let sigma = (q * (1.0 - q) * (1.0 / n as f64 + 1.0 / s as f64)).sqrt();
    let at = (q + side * MARGIN_SIGMAS * sigma) * s as f64 + side;
    (0.0..s as f64).contains(&at).then_some(at as usize)
}

/// The values at `positions` of `probe` sorted, each selected among those at or above the
/// one before (`probe` is reordered).
fn probe_values(probe: &mut [u64], positions: [Option<usize>; 3]) -> [Option<u64>; 3] {
    let mut order = [0, 1, 2];
    order.sort_unstable_by_key(|&slot| positions[slot]);
    let mut values = [None; 3];
    let mut from = 0;
    for slot in order {
        if let Some(at) = positions[slot] {
            values[slot] = Some(*probe[from..].select_nth_unstable(at - from).1);
            from = at;
        }
    }
    values
}

/// The values at `ranks` of `sample`, whose pass found `found` and copied the bracketed
/// values to `middle` and `upper`: each selected among those when its bracket holds it,
/// else over the whole sample.
fn select_bracketed(
    sample: &mut [u64],
    middle: &mut [u64],
    upper: &mut [u64],
    found: Found,
    [r0, r1, r2]: [usize; 3],
) -> [u64; 3] {
    let middle_holds = found.below <= r0 && r0 < found.below + found.middle;
    let v0 = if middle_holds {
        select_one(middle, r0 - found.below)
    } else {
        // A partitioning selection, never a counted one: the upper ranks below may be
        // sought among the values above this one.
        *sample.select_nth_unstable(r0).1
    };
    // The upper bracket runs to the top: it holds r1 and r2 when nothing at or above r1
    // lies below it.
    let below_upper = found.passed - found.upper;
    let (v1, v2) = if below_upper <= r1 {
        select_pair(upper, r1 - below_upper, r2 - below_upper)
    } else if !middle_holds && r1 > r0 {
        // The sample is partitioned at r0 already.
        select_pair(&mut sample[r0 + 1..], r1 - r0 - 1, r2 - r0 - 1)
    } else {
        select_pair(sample, r1, r2)
    };
    [v0, v1, v2]
}

/// The value at `rank` of `values` sorted (`values` may be reordered).
fn select_one(values: &mut [u64], rank: usize) -> u64 {
    if values.len() <= COUNTING_UP_TO {
        let [value] = select_counting(values, [rank]);
        return value;
    }
    *values.select_nth_unstable(rank).1
}

/// The values at `i1 <= i2` of `values` sorted: the second selected among those above the
/// first, or both counted at once among a few.
fn select_pair(values: &mut [u64], i1: usize, i2: usize) -> (u64, u64) {
    if values.len() <= COUNTING_UP_TO {
        let [v1, v2] = select_counting(values, [i1, i2]);
        return (v1, v2);
    }
    let v1 = *values.select_nth_unstable(i1).1;
    let v2 = if i2 == i1 {
        v1
    } else {
        *values[i1 + 1..].select_nth_unstable(i2 - i1 - 1).1
    };
    (v1, v2)
}

/// The values at `ranks` (each below its length) of `values` sorted, by counting: the
/// value at rank `r` is the largest of those with at most `r` values below them. Every
/// pair is compared, and nothing branches on a value. The standard selection ends in an
/// insertion sort of up to 16 values, each of whose steps is a coin toss to the branch
/// predictor, and a server's brackets in a busy second hold about 20: counted, the
/// reference model runs about 1.4% faster (0.986 in 300 pairs), though it executes 13
/// instructions a request more.
fn select_counting<const K: usize>(values: &[u64], ranks: [usize; K]) -> [u64; K] {
    debug_assert!(ranks.iter().all(|&rank| rank < values.len()));
    let mut found = [0; K];
    for &x in values {
        let below = values.iter().filter(|&&y| y < x).count();
        for (value, &rank) in found.iter_mut().zip(&ranks) {
            let candidate = if below <= rank { x } else { 0 };
            *value = (*value).max(candidate);
        }
    }
    found
}

/// Three selections, each among the values above the previous one's: about five
/// comparisons per value in all (the median first over the whole sample, then the higher
/// ranks in what lies above it).
fn select_chained(sample: &mut [u64], [r0, r1, r2]: [usize; 3]) -> [u64; 3] {
    let v0 = *sample.select_nth_unstable(r0).1;
    let v1 = if r1 == r0 {
        v0
    } else {
        *sample[r0 + 1..].select_nth_unstable(r1 - r0 - 1).1
    };
    let v2 = if r2 == r1 {
        v1
    } else {
        *sample[r1 + 1..].select_nth_unstable(r2 - r1 - 1).1
    };
    [v0, v1, v2]
}

/// One block of the pass: counts the values below the median bracket, copies those
/// within it to `middle` and those in the upper bracket to `upper`, and returns the three
/// counts.
#[inline(always)]
fn gather(
    chunk: &[u64],
    brackets: Brackets,
    middle: &mut [u64; BUFFER],
    upper: &mut [u64; BUFFER],
) -> (usize, usize, usize) {
    debug_assert!(chunk.len() <= BLOCK);
    let Brackets {
        low,
        span,
        upper: top,
    } = brackets;
    let (mut below, mut m, mut u) = (0usize, 0u8, 0u8);
    let mut step = |x: u64| {
        below += usize::from(x < low);
        middle[usize::from(m)] = x;
        m += u8::from(x.wrapping_sub(low) <= span);
        upper[usize::from(u)] = x;
        u += u8::from(x >= top);
    };
    // Four at a time: the loop's own instructions, once per four values.
    let mut quads = chunk.chunks_exact(4);
    for quad in &mut quads {
        for &x in quad {
            step(x);
        }
    }
    for &x in quads.remainder() {
        step(x);
    }
    (below, usize::from(m), usize::from(u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The 0-based nearest ranks of p50, p90 and p99 in a sample of `n`.
    fn nearest(n: usize) -> [usize; 3] {
        let index = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
        [index(0.5), index(0.9), index(0.99)]
    }

    fn sorted_at(values: &[u64], ranks: [usize; 3]) -> [u64; 3] {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        ranks.map(|rank| sorted[rank])
    }

    /// Selects every group's ranks and then the whole interval's, as the time series
    /// does, and checks each against a sort; `extra` ranks are checked too, for every
    /// sample of at least three values.
    fn check(ranks: &mut IntervalRanks, values: &[u64], starts: &[u32], extra: [usize; 3]) {
        let mut grouped = values.to_vec();
        ranks.begin(&grouped, starts);
        for (group, bounds) in starts.windows(2).enumerate() {
            let range = bounds[0] as usize..bounds[1] as usize;
            if range.is_empty() {
                continue;
            }
            let expected = sorted_at(&values[range.clone()], nearest(range.len()));
            let sample = &mut grouped[range.clone()];
            let got = ranks.select_group(group, sample, nearest(range.len()));
            assert_eq!(got, expected, "group {group} of {} values", range.len());
        }
        if values.is_empty() {
            return;
        }
        let n = values.len();
        assert_eq!(
            ranks.select_all(&mut grouped, nearest(n)),
            sorted_at(values, nearest(n))
        );
        // Other ranks of the same interval, from a fresh start: any non-decreasing ranks.
        let mut extra = extra.map(|rank| rank % n);
        extra.sort_unstable();
        let mut again = values.to_vec();
        ranks.begin(&again, starts);
        assert_eq!(
            ranks.select_all(&mut again, extra),
            sorted_at(values, extra)
        );
    }

    /// Group bounds cutting `n` values at `cuts` (taken modulo `n + 1`).
    fn starts(n: usize, cuts: &[usize]) -> Vec<u32> {
        let mut starts: Vec<u32> = cuts.iter().map(|&cut| (cut % (n + 1)) as u32).collect();
        starts.push(0);
        starts.push(n as u32);
        starts.sort_unstable();
        starts
    }

    /// A deterministic sample of `n` values of one of several shapes, from `seed`.
    fn sample(shape: u8, n: usize, seed: u64) -> Vec<u64> {
        let mut state = seed | 1;
        let mut next = move || {
            // xorshift64*
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        };
        let mut values: Vec<u64> = (0..n)
            .map(|_| match shape % 8 {
                // Any value at all, up to u64::MAX.
                0 => next(),
                // Latency-like: exponential, in nanoseconds.
                1 | 5 | 6 => {
                    let u = ((next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
                    (-u.ln() * 10e6) as u64
                }
                // Heavy ties: a handful of values.
                2 => next() % 5,
                // Two values.
                3 => 7 + (next() % 2) * 1_000,
                // All equal.
                4 => 42,
                // Near the top of the range.
                _ => u64::MAX - next() % 1_000,
            })
            .collect();
        match shape % 8 {
            5 => values.sort_unstable(),
            6 => values.sort_unstable_by(|a, b| b.cmp(a)),
            _ => {}
        }
        values
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn every_groups_and_the_whole_intervals_ranks_equal_a_sorts(
            shape in 0..8u8,
            n in prop_oneof![0..200usize, 80..120usize, 200..5_000usize],
            seed in any::<u64>(),
            cuts in proptest::collection::vec(any::<usize>(), 0..40),
            extra in any::<[usize; 3]>(),
        ) {
            let values = sample(shape, n, seed);
            let mut ranks = IntervalRanks::default();
            check(&mut ranks, &values, &starts(n, &cuts), extra);
            // The same scratch space serves the next interval.
            let values = sample(shape.wrapping_add(1), n / 2, seed ^ 1);
            check(&mut ranks, &values, &starts(n / 2, &cuts), extra);
        }

        #[test]
        fn groups_of_every_size_near_the_thresholds_are_exact(
            shape in 0..8u8,
            groups in 1..12usize,
            size in (SMALL_GROUP - 3)..(SMALL_GROUP + 3),
            seed in any::<u64>(),
        ) {
            let n = (groups * size).max(SMALL - 2);
            let values = sample(shape, n, seed);
            let starts: Vec<u32> =
                (0..=groups).map(|g| (g * n / groups) as u32).collect();
            check(&mut IntervalRanks::default(), &values, &starts, [0, n / 3, n]);
        }

        /// One and two ranks of a few values, counted or selected on either side of
        /// the counting bound, ties and extreme values included, equal a sort's.
        #[test]
        fn small_selections_equal_a_sorts(
            shape in 0..8u8,
            n in 1..(2 * COUNTING_UP_TO),
            seed in any::<u64>(),
            ranks in any::<[usize; 2]>(),
        ) {
            let values = sample(shape, n, seed);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let (a, b) = (ranks[0] % n, ranks[1] % n);
            let (low, high) = (a.min(b), a.max(b));
            prop_assert_eq!(select_one(&mut values.clone(), low), sorted[low]);
            prop_assert_eq!(
                select_pair(&mut values.clone(), low, high),
                (sorted[low], sorted[high])
            );
            prop_assert_eq!(select_counting(&values, [low, high]), [sorted[low], sorted[high]]);
        }
    }

    #[test]
    fn intervals_of_every_size_around_the_small_threshold_are_exact() {
        let mut ranks = IntervalRanks::default();
        for n in 1..=2 * SMALL {
            for shape in 0..8 {
                let values = sample(shape, n, n as u64);
                check(&mut ranks, &values, &[0, n as u32], [1, 2, 3]);
                check(&mut ranks, &values, &starts(n, &[n / 3, n / 2]), [n, 0, 5]);
            }
        }
    }

    /// Whether the brackets the last `begin` set hold `ranks` of the whole interval.
    fn brackets_hold(ranks: &IntervalRanks, [r0, r1, _]: [usize; 3]) -> (bool, bool) {
        let found = ranks.total;
        (
            found.below <= r0 && r0 < found.below + found.middle,
            found.passed - found.upper <= r1,
        )
    }

    #[test]
    fn a_probe_unlike_the_sample_misses_and_the_values_stay_exact() {
        // Every value the probe reads is huge, every other one small: both brackets sit
        // among the huge values, far above the median and the p90.
        let n = 3_000;
        let size = (n as f64).powf(2.0 / 3.0) as usize;
        let stride = n / size;
        let values: Vec<u64> = (0..n as u64)
            .map(|i| {
                let probed = i as usize % stride == stride / 2;
                if probed { 1 << 40 | i } else { i }
            })
            .collect();
        let mut ranks = IntervalRanks::default();
        ranks.begin(&values, &[0, n as u32]);
        assert_eq!(brackets_hold(&ranks, nearest(n)), (false, false));
        check(&mut ranks, &values, &[0, n as u32], [0, 1, 2]);
        // One slow server among fast ones: its values lie above the shared brackets.
        let mut values: Vec<u64> = (0..4_000).map(|i| 1_000 + i % 997).collect();
        values.extend((0..400).map(|i| 1_000_000 + i));
        check(
            &mut ranks,
            &values,
            &[0, 1_000, 2_000, 3_000, 4_000, 4_400],
            [0, 0, 0],
        );
    }

    #[test]
    fn a_representative_probe_brackets_the_ranks() {
        let n = 20_000;
        let values = sample(1, n, 7);
        let starts: Vec<u32> = (0..=20).map(|g| g * 1_000).collect();
        let mut ranks = IntervalRanks::default();
        ranks.begin(&values, &starts);
        assert_eq!(brackets_hold(&ranks, nearest(n)), (true, true));
        // The brackets hold a fraction of the values, not most of them.
        assert!(
            ranks.total.middle + ranks.total.upper < n / 2,
            "{:?}",
            ranks.total
        );
    }

    #[test]
    fn the_buffers_stop_growing_once_they_hold_an_interval() {
        let values = sample(1, 5_000, 3);
        let starts: Vec<u32> = (0..=10).map(|g| g * 500).collect();
        let mut ranks = IntervalRanks::default();
        check(&mut ranks, &values, &starts, [0, 0, 0]);
        let capacities = (ranks.middle.capacity(), ranks.upper.capacity());
        for seed in 4..10 {
            check(&mut ranks, &sample(1, 5_000, seed), &starts, [0, 0, 0]);
        }
        assert_eq!(
            (ranks.middle.capacity(), ranks.upper.capacity()),
            capacities
        );
    }
}
