//! One interval's latencies, and the exact nearest-rank values at three ranks (the time
//! series' p50, p90 and p99) of every server's and of all of them together, from one sort
//! and one walk along it.
//!
//! A completion is recorded as one integer key, its latency shifted above its server's
//! index: one append to one buffer, in completion order, whatever the number of servers
//! (a buffer per server cost a cache miss or two per request with thousands of servers).
//! Sorting the keys by their latency bits sorts the latencies, and each keeps its server.
//! They are sorted by the latency's digits, least significant first (an LSD radix sort: a
//! counting pass, then one stable scatter per digit that varies — three of 9 or 10 bits
//! for the 1,440 latencies of an interval of 16 servers), with no comparison and no branch
//! on a value, and the server's index below them not sorted on; an interval too
//! large for the caches (the 900,000 latencies of 10,000 servers) is first split by the
//! keys' top byte. The interval's ranks are then places in the sorted keys; a
//! server's rank `r` is where the walk, counting each server's keys down as it passes
//! them, meets that server's `r`-th key.
//!
//! With few servers (up to [`SELECT_UP_TO`]) the interval is not sorted whole: only the
//! keys in buckets of latency that hold a rank are, about a tenth of them, found from
//! counts by server and bucket ([`BucketSelect`]); the walk is the same, along those.
//!
//! This replaced selections near each rank, bracketed by a probe of the interval: they
//! branched on the values they compared, and the predictor lost about one time in two.
//! The sort executes more instructions and runs faster (see docs/performance.md).
//!
//! A latency too large to share a key with its server (above 2^(64 − bits of the server
//! count), centuries in nanoseconds) is kept aside as a pair, and an interval with one is
//! sorted as pairs by comparison; the walk is the same. The buffers are kept from interval
//! to interval, so nothing is allocated once they have grown to an interval's completions.

use super::bucket_select::{BucketSelect, SELECT_UP_TO};

/// The widest digit: 2,048 counters a pass, 8 KB, which stay in the first-level cache
/// beside an interval's keys. (Digits of 14 bits, three passes instead of four at 10,000
/// servers before the split, measured no faster: a scatter to 16,384 places misses the
/// caches as one to 2,048 does.)
const DIGIT_BITS: u32 = 11;

/// Below this many latencies in an interval, a comparison sort is cheaper than clearing
/// and summing the radix sort's counters.
const RADIX_FROM: usize = 256;

/// Above this many latencies in an interval (512 KB of keys, and as much again to sort
/// them into), they outgrow the second-level cache, and are split by their top
/// [`SPLIT_BITS`] bits before the radix sort: see [`split_then_sort`].
const SPLIT_ABOVE: usize = 1 << 16;
const SPLIT_BITS: u32 = 8;

/// The ranks of p50, p90 and p99, 0-based, in a sample of `n > 0`: the `ceil(q·n)`-th
/// smallest value for quantile `q`.
pub fn nearest_ranks(n: usize) -> [usize; 3] {
    let index = |q: f64| ((q * n as f64).ceil() as usize).clamp(1, n) - 1;
    [index(0.50), index(0.90), index(0.99)]
}

/// One server's ranks and the values found at them, in the walk.
#[derive(Copy, Clone, Debug, Default)]
struct Ranks {
    /// Its three ranks, 0-based.
    at: [u32; 3],
    /// How many of them the walk has reached.
    reached: usize,
    /// The values at the ranks reached.
    values: [u64; 3],
}

/// The latencies of the current interval, and their percentiles once computed. Built by
/// [`Self::new`] only: a default, with no latency fitting in a key, would be wrong.
#[derive(Debug)]
pub struct IntervalLatencies {
    /// Bits of a key below its latency, which hold the server's index.
    server_bits: u32,
    /// The largest latency that fits in a key beside a server's index.
    widest: u64,
    /// Servers, every index recorded below it.
    servers: usize,
    /// The interval's completions as keys, `latency << server_bits | server`; sorted by
    /// latency once [`Self::compute`] has run, unless the interval was selected.
    keys: Vec<u64>,
    /// `(server, latency)` of the completions whose latency does not fit in a key.
    wide: Vec<(u32, u64)>,
    /// The radix sort's other buffer.
    scratch: Vec<u64>,
    /// The radix sort's counters, one table per pass.
    counts: Vec<u32>,
    /// Per server, its latencies in the interval.
    sizes: Vec<u32>,
    /// Per server, its keys still to pass before the walk reaches its next rank, counted
    /// down (`u32::MAX` once it has reached all three): the one figure the walk reads and
    /// writes at every key, kept apart from the rest so that with thousands of servers it
    /// stays in the caches.
    to_next: Vec<u32>,
    /// Per server, its ranks and the values at them.
    ranks: Vec<Ranks>,
    /// An interval of few servers is selected rather than sorted whole.
    select: BucketSelect,
    /// The values at the interval's three ranks; `None` without latencies.
    all: Option<[u64; 3]>,
}

impl IntervalLatencies {
    /// The latencies of an interval of `servers` servers.
    pub fn new(servers: usize) -> Self {
        let mut latencies = IntervalLatencies {
            server_bits: 0,
            widest: u64::MAX,
            servers: 0,
            keys: Vec::new(),
            wide: Vec::new(),
            scratch: Vec::new(),
            counts: Vec::new(),
            sizes: Vec::new(),
            to_next: Vec::new(),
            ranks: Vec::new(),
            select: BucketSelect::default(),
            all: None,
        };
        latencies.set_servers(servers);
        latencies
    }

    /// The cluster has grown to `servers` servers: a key may need more bits for the
    /// server's index, and the keys recorded so far are made again with them.
    pub fn set_servers(&mut self, servers: usize) {
        self.servers = self.servers.max(servers);
        let bits = u64::BITS - (self.servers.max(1) as u64 - 1).leading_zeros();
        if bits == self.server_bits {
            return;
        }
        let (old_bits, old_mask) = (self.server_bits, (1u64 << self.server_bits) - 1);
        self.server_bits = bits;
        self.widest = u64::MAX >> bits;
        let keys = std::mem::take(&mut self.keys);
        for key in keys {
            self.record((key & old_mask) as u32, key >> old_bits);
        }
    }

    /// A request completed on server `server` after `latency` nanoseconds.
    #[inline(always)]
    pub fn record(&mut self, server: u32, latency: u64) {
        if latency <= self.widest {
            self.keys
                .push(latency << self.server_bits | u64::from(server));
        } else {
            self.record_wide(server, latency);
        }
    }

    #[cold]
    #[inline(never)]
    fn record_wide(&mut self, server: u32, latency: u64) {
        self.wide.push((server, latency));
    }

    /// The interval's latencies so far.
    pub fn len(&self) -> usize {
        self.keys.len() + self.wide.len()
    }

    /// The interval is over: its latencies are forgotten.
    pub fn clear(&mut self) {
        self.keys.clear();
        self.wide.clear();
    }

    /// Finds the values at the three ranks of every server's latencies and of all of
    /// them.
    pub fn compute(&mut self) {
        let servers = self.servers;
        self.sizes.clear();
        self.sizes.resize(servers, 0);
        self.all = None;
        let bits = self.server_bits;
        if !self.wide.is_empty() {
            // One latency too wide for a key and the whole interval is sorted as pairs.
            self.sort_as_pairs();
            start_walk(&self.sizes, None, &mut self.to_next, &mut self.ranks);
            for &(server, latency) in &self.wide {
                step(&mut self.to_next, &mut self.ranks, server as usize, latency);
            }
            self.all = Some(nearest_ranks(self.wide.len()).map(|r| self.wide[r].1));
        } else if self.keys.len() >= RADIX_FROM && servers <= SELECT_UP_TO {
            let all = self.select.select(&self.keys, bits, &mut self.sizes);
            let places = Some(self.select.places());
            start_walk(&self.sizes, places, &mut self.to_next, &mut self.ranks);
            walk(
                self.select.walked(),
                bits,
                &mut self.to_next,
                &mut self.ranks,
            );
            self.all = Some(all.map(|key| key >> bits));
        } else {
            self.sort_keys();
            start_walk(&self.sizes, None, &mut self.to_next, &mut self.ranks);
            walk(&self.keys, bits, &mut self.to_next, &mut self.ranks);
            if !self.keys.is_empty() {
                self.all = Some(nearest_ranks(self.keys.len()).map(|r| self.keys[r] >> bits));
            }
        }
    }

    /// Server `server`'s latencies in the interval and the values at their three ranks
    /// (meaningless when it had none), once computed.
    pub fn server(&self, server: usize) -> (usize, [u64; 3]) {
        (self.sizes[server] as usize, self.ranks[server].values)
    }

    /// The values at the three ranks of all the interval's latencies, once computed;
    /// `None` when it had none.
    pub fn all(&self) -> Option<[u64; 3]> {
        self.all
    }

    /// Sorts the keys by their latency and counts each server's.
    fn sort_keys(&mut self) {
        let server_mask = (1u64 << self.server_bits) - 1;
        let sizes = &mut self.sizes;
        let count = |key: u64| sizes[(key & server_mask) as usize] += 1;
        let (keys, spare) = (&mut self.keys, &mut self.scratch);
        let sorted = sort_by_latency(keys, spare, &mut self.counts, self.server_bits, count);
        if sorted == Sorted::InSpare {
            std::mem::swap(keys, spare);
        }
    }

    /// Sorts every latency, kept as keys or aside, into `wide` as `(server, latency)`
    /// pairs by latency, and counts each server's.
    #[cold]
    fn sort_as_pairs(&mut self) {
        let bits = self.server_bits;
        let mask = (1u64 << bits) - 1;
        let keys = self.keys.drain(..);
        self.wide
            .extend(keys.map(|key| ((key & mask) as u32, key >> bits)));
        self.wide
            .sort_unstable_by_key(|&(server, latency)| (latency, server));
        for &(server, _) in &self.wide {
            self.sizes[server as usize] += 1;
        }
    }
}

/// Sorts `keys` by their latency, the bits above the lowest `server_bits`, with
/// `spare` (made as long as `keys`) and `counts` as the radix sort's buffers; `count`
/// sees every key once. Returns where the sorted keys are.
pub(super) fn sort_by_latency(
    keys: &mut [u64],
    spare: &mut Vec<u64>,
    counts: &mut Vec<u32>,
    server_bits: u32,
    mut count: impl FnMut(u64),
) -> Sorted {
    let n = keys.len();
    if n < RADIX_FROM {
        keys.iter().copied().for_each(&mut count);
        keys.sort_unstable();
        return Sorted::InPlace;
    }
    let top = keys.iter().fold(0, |high, &key| high | key);
    let bits = u64::BITS - top.leading_zeros();
    spare.resize(n, 0);
    if n > SPLIT_ABOVE && bits > SPLIT_BITS {
        split_then_sort(keys, spare, counts, server_bits, bits, count);
        Sorted::InPlace
    } else {
        lsd(
            keys,
            spare,
            counts,
            Digits::for_bits(server_bits, bits),
            count,
        )
    }
}

/// How the keys are cut into digits for the radix sort: as few passes as digits of at
/// most [`DIGIT_BITS`] bits allow, the bits sorted on shared out evenly among them, the
/// least significant digit first. Only a key's latency is sorted on, never the server's
/// index below it: keys of equal latency may stay in any order (each server's values at
/// its ranks, and the interval's, are the same whichever of them comes first), and the
/// index's bits would cost a pass of their own as soon as they pushed a key past a
/// multiple of [`DIGIT_BITS`] (a third pass at 16 servers, two more at 10,000).
#[derive(Copy, Clone, Debug)]
struct Digits {
    passes: u32,
    width: u32,
    /// Bits of a key below the first digit: the server's index.
    below: u32,
}

impl Digits {
    /// The digits of bits `below..bits` of a key.
    fn for_bits(below: u32, bits: u32) -> Self {
        let sorted = bits.saturating_sub(below);
        let passes = sorted.div_ceil(DIGIT_BITS).max(1);
        Digits {
            passes,
            width: sorted.div_ceil(passes),
            below,
        }
    }

    /// Counters a pass.
    fn radix(self) -> usize {
        1 << self.width
    }

    /// Digit `pass` of `key`, the least significant first.
    #[inline(always)]
    fn of(self, key: u64, pass: usize) -> usize {
        (key >> (self.below + pass as u32 * self.width)) as usize & (self.radix() - 1)
    }
}

/// Where a sort left the keys.
#[derive(Copy, Clone, Debug, PartialEq)]
pub(super) enum Sorted {
    InPlace,
    InSpare,
}

/// Sorts `keys` by their `digits` (bits outside them are taken as equal), each pass a
/// stable scatter from one buffer to the other, so that the sorted keys end in `keys` or
/// in `spare`, as long; `count` sees every key once.
fn lsd(
    keys: &mut [u64],
    spare: &mut [u64],
    counts: &mut Vec<u32>,
    digits: Digits,
    count: impl FnMut(u64),
) -> Sorted {
    match digits.passes {
        0 | 1 => lsd_passes::<1>(keys, spare, counts, digits, count),
        2 => lsd_passes::<2>(keys, spare, counts, digits, count),
        3 => lsd_passes::<3>(keys, spare, counts, digits, count),
        4 => lsd_passes::<4>(keys, spare, counts, digits, count),
        5 => lsd_passes::<5>(keys, spare, counts, digits, count),
        _ => lsd_passes::<6>(keys, spare, counts, digits, count),
    }
}

/// [`lsd`] in `P` passes, a constant so that the counting pass's loop over the digits
/// unrolls.
fn lsd_passes<const P: usize>(
    keys: &mut [u64],
    spare: &mut [u64],
    counts: &mut Vec<u32>,
    digits: Digits,
    mut count: impl FnMut(u64),
) -> Sorted {
    let n = keys.len();
    let radix = digits.radix();
    counts.clear();
    counts.resize(P * radix, 0);
    for &key in keys.iter() {
        count(key);
        for pass in 0..P {
            counts[pass * radix + digits.of(key, pass)] += 1;
        }
    }
    let (mut from, mut to) = (keys, spare);
    let mut sorted = Sorted::InPlace;
    for (pass, counts) in counts.chunks_exact_mut(radix).enumerate() {
        // A digit every key shares leaves the order as it is.
        if counts[digits.of(from[0], pass)] == n as u32 {
            continue;
        }
        // Each counter becomes where its digit's keys start.
        let mut start = 0;
        for count in counts.iter_mut() {
            let size = *count;
            *count = start;
            start += size;
        }
        for &key in from.iter() {
            let place = &mut counts[digits.of(key, pass)];
            to[*place as usize] = key;
            *place += 1;
        }
        std::mem::swap(&mut from, &mut to);
        sorted = match sorted {
            Sorted::InPlace => Sorted::InSpare,
            Sorted::InSpare => Sorted::InPlace,
        };
    }
    sorted
}

/// Sorts `keys` of `bits` bits, too many for the caches: first by their top byte into
/// `spare`, a scatter to 256 places whose lines stay in the first-level cache, where a
/// scatter by a wider digit would miss at nearly every store; then each part, which the
/// caches hold, by the bits below down to `below` (the server's index), back into `keys`.
/// `count` sees every key once.
fn split_then_sort(
    keys: &mut [u64],
    spare: &mut [u64],
    counts: &mut Vec<u32>,
    below: u32,
    bits: u32,
    mut count: impl FnMut(u64),
) {
    let shift = bits - SPLIT_BITS;
    let mut starts = [0u32; (1 << SPLIT_BITS) + 1];
    for &key in keys.iter() {
        count(key);
        starts[(key >> shift) as usize + 1] += 1;
    }
    for part in 1..starts.len() {
        starts[part] += starts[part - 1];
    }
    let mut next = starts;
    for &key in keys.iter() {
        let place = &mut next[(key >> shift) as usize];
        spare[*place as usize] = key;
        *place += 1;
    }
    for part in starts.windows(2) {
        let range = part[0] as usize..part[1] as usize;
        let (part, into) = (&mut spare[range.clone()], &mut keys[range]);
        if part.len() < RADIX_FROM {
            part.sort_unstable();
            into.copy_from_slice(part);
        } else {
            let digits = Digits::for_bits(below, shift);
            if lsd(part, into, counts, digits, |_| {}) == Sorted::InPlace {
                into.copy_from_slice(part);
            }
        }
    }
}

/// Sets every server's ranks before a walk: the places of its three ranks among the keys
/// the walk passes (`places`, per server, when the walk passes only some of its keys; its
/// nearest ranks when it passes them all), and its countdown to the first.
fn start_walk(
    sizes: &[u32],
    places: Option<&[[u32; 3]]>,
    to_next: &mut Vec<u32>,
    ranks: &mut Vec<Ranks>,
) {
    to_next.clear();
    ranks.clear();
    for (server, &size) in sizes.iter().enumerate() {
        let at = match (size, places) {
            (0, _) => [0; 3],
            (_, Some(places)) => places[server],
            (n, None) => nearest_ranks(n as usize).map(|r| r as u32),
        };
        to_next.push(if size == 0 { u32::MAX } else { at[0] + 1 });
        ranks.push(Ranks {
            at,
            ..Ranks::default()
        });
    }
}

/// The walk along `keys`, sorted by latency, with `server_bits` of server index each.
fn walk(keys: &[u64], server_bits: u32, to_next: &mut [u32], ranks: &mut [Ranks]) {
    let mask = (1u64 << server_bits) - 1;
    for &key in keys {
        step(to_next, ranks, (key & mask) as usize, key >> server_bits);
    }
}

/// The walk passes a key of `server` with `latency`: where the server's countdown to its
/// next rank runs out, the latency is that rank's value.
#[inline(always)]
fn step(to_next: &mut [u32], ranks: &mut [Ranks], server: usize, latency: u64) {
    let left = &mut to_next[server];
    *left -= 1;
    if *left == 0 {
        *left = reached(&mut ranks[server], latency);
    }
}

/// A server's walk reached its next rank at `latency`: the value there, and at the ranks
/// after it that coincide with it (in a small sample); returns the keys to pass to the
/// next rank, `u32::MAX` after the last.
#[cold]
fn reached(ranks: &mut Ranks, latency: u64) -> u32 {
    loop {
        ranks.values[ranks.reached] = latency;
        ranks.reached += 1;
        match ranks.at.get(ranks.reached) {
            None => return u32::MAX,
            Some(&next) => {
                let gap = next - ranks.at[ranks.reached - 1];
                if gap > 0 {
                    return gap;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Records `completed` (server, latency) over `servers` servers, and checks every
    /// server's values and the whole interval's against a sort's.
    fn check(completed: &[(u32, u64)], servers: usize) {
        let mut latencies = IntervalLatencies::new(servers);
        for &(server, latency) in completed {
            latencies.record(server, latency);
        }
        assert_eq!(latencies.len(), completed.len());
        check_recorded(&mut latencies, completed, servers);
    }

    fn check_recorded(latencies: &mut IntervalLatencies, completed: &[(u32, u64)], servers: usize) {
        latencies.compute();
        let mut samples = vec![Vec::new(); servers];
        for &(server, latency) in completed {
            samples[server as usize].push(latency);
        }
        let sorted_at = |sample: &mut Vec<u64>| {
            sample.sort_unstable();
            nearest_ranks(sample.len()).map(|r| sample[r])
        };
        for (server, sample) in samples.iter_mut().enumerate() {
            let (count, values) = latencies.server(server);
            assert_eq!(count, sample.len(), "server {server}");
            if count > 0 {
                assert_eq!(values, sorted_at(sample), "server {server} of {servers}");
            }
        }
        let mut all: Vec<u64> = completed.iter().map(|&(_, ns)| ns).collect();
        let expected = (!all.is_empty()).then(|| sorted_at(&mut all));
        assert_eq!(latencies.all(), expected);
    }

    /// `n` pseudo-random `(server, latency)` pairs over `servers` servers, latencies of
    /// `width` bits.
    fn completions(n: usize, servers: usize, width: u32, seed: u64) -> Vec<(u32, u64)> {
        let mut state = seed | 1;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..n)
            .map(|_| ((next() % servers as u64) as u32, next() >> (64 - width)))
            .collect()
    }

    #[test]
    fn nearest_ranks_of_a_hundred_of_ten_and_of_one() {
        assert_eq!(nearest_ranks(100), [49, 89, 98]);
        assert_eq!(nearest_ranks(10), [4, 8, 9]);
        assert_eq!(nearest_ranks(1), [0, 0, 0]);
    }

    #[test]
    fn an_empty_interval_has_no_values() {
        let mut latencies = IntervalLatencies::new(3);
        latencies.compute();
        assert_eq!(latencies.all(), None);
        assert_eq!(latencies.server(2).0, 0);
    }

    #[test]
    fn latencies_too_large_to_share_a_key_are_sorted_as_pairs() {
        // Three servers take two bits: a latency at 2^62 or above does not fit beside one.
        let completed = [
            (2, u64::MAX),
            (0, 5),
            (2, 1 << 62),
            (1, 7),
            (2, 3),
            (0, u64::MAX - 1),
        ];
        check(&completed, 3);
    }

    #[test]
    fn one_server_keeps_every_bit_for_the_latency() {
        let completed: Vec<(u32, u64)> = (0..600).map(|i| (0, u64::MAX - i * 977)).collect();
        check(&completed, 1);
    }

    #[test]
    fn a_key_is_cut_into_as_few_digits_as_fit_shared_out_evenly() {
        let cut = |below, bits| {
            let digits = Digits::for_bits(below, bits);
            (digits.passes, digits.width)
        };
        assert_eq!(
            [cut(0, 11), cut(0, 12), cut(0, 32), cut(0, 36), cut(0, 64)],
            [(1, 11), (2, 6), (3, 11), (4, 9), (6, 11)]
        );
        // The server's index is not sorted on: 16 servers' keys of 31 bits take three
        // passes of 9 bits, not three of 11; 10,000 servers' of 42, three of 10, not four.
        assert_eq!(
            [cut(4, 31), cut(14, 42), cut(10, 10), cut(10, 4)],
            [(3, 9), (3, 10), (1, 0), (1, 0)]
        );
        // The most keys sorted whole, of 36 bits (26 of latency, 10 of the server).
        check(&completions(SPLIT_ABOVE, 1000, 26, 7), 1000);
    }

    #[test]
    fn a_large_interval_is_split_by_its_top_byte_then_sorted() {
        let n = 1 << 18;
        assert!(n > SPLIT_ABOVE);
        // Latencies spread evenly: every part holds about a thousand keys.
        check(&completions(n, 1000, 34, 7), 1000);
        // Latencies of every width from 3 to 40 bits: a few parts hold most keys, many
        // fewer than the radix sort's threshold.
        let skewed: Vec<(u32, u64)> = (0..)
            .zip(completions(n, 300, 40, 11))
            .map(|(i, (server, latency))| (server, latency >> (i % 38)))
            .collect();
        check(&skewed, 300);
    }

    #[test]
    fn an_interval_of_few_servers_is_selected_and_of_more_sorted_whole_alike() {
        for servers in [1, 2, 16, SELECT_UP_TO, SELECT_UP_TO + 1] {
            check(&completions(5000, servers, 27, 17), servers);
        }
    }

    #[test]
    fn equal_latencies_fill_one_bucket_and_are_all_sorted() {
        // Every key in the selection's one wanted bucket, more of them than the split's
        // threshold: the selection sorts them all, split first by their top byte.
        let n = SPLIT_ABOVE + 4000;
        let completed: Vec<(u32, u64)> = (0..n as u32).map(|i| (i % 16, 3_000_000)).collect();
        check(&completed, 16);
        // Two values only, and latencies too narrow to fill the buckets' bits.
        let completed: Vec<(u32, u64)> = (0..2000).map(|i| (i % 5, u64::from(i % 2) + 1)).collect();
        check(&completed, 5);
    }

    #[test]
    fn a_server_joining_mid_interval_widens_the_keys_recorded_before() {
        // Four servers take two bits and forty six: a latency of 60 bits fits beside the
        // first and no longer beside the second.
        for width in [40, 60] {
            let before = completions(700, 4, width, 3);
            let after = completions(700, 40, 40, 5);
            let mut latencies = IntervalLatencies::new(4);
            for &(server, latency) in &before {
                latencies.record(server, latency);
            }
            latencies.set_servers(40);
            for &(server, latency) in &after {
                latencies.record(server, latency);
            }
            let all: Vec<(u32, u64)> = before.into_iter().chain(after).collect();
            check_recorded(&mut latencies, &all, 40);
        }
    }

    #[test]
    fn an_interval_cleared_starts_empty() {
        let mut latencies = IntervalLatencies::new(2);
        latencies.record(1, 9);
        latencies.record(0, u64::MAX);
        latencies.clear();
        assert_eq!(latencies.len(), 0);
        check_recorded(&mut latencies, &[], 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Samples on both sides of the radix sort's threshold, over few servers and
        /// many, with ties (values drawn from a narrow range) and without, and latencies
        /// of every width (from a few bits to ones that need every pass, or that do not
        /// fit beside a server).
        #[test]
        fn every_servers_and_the_whole_intervals_values_equal_a_sorts(
            servers in 1usize..40,
            n in 0usize..1200,
            width in 1u32..=64,
            seed in any::<u64>(),
        ) {
            check(&completions(n, servers, width, seed), servers);
        }
    }
}
