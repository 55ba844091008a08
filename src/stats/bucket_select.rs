//! The values at three ranks of every server's latencies in an interval and of all of
//! them, for a cluster of few servers, found by sorting only the latencies near the ranks.
//!
//! The interval's keys ([`IntervalLatencies`](super::interval_latencies)'s, a latency
//! shifted above its server's index) are counted twice in one pass: by server and by
//! coarse bucket of latency (128 equal parts of the range up to the power of two above the
//! interval's largest latency), and
//! by finer bucket for the whole interval (1,024). A scan of each server's counts finds the
//! bucket that holds each of its ranks, and one of the interval's counts the bucket of
//! each of its ranks. A second pass copies the keys of those buckets aside, without a
//! branch (every key is written, and the end of the copy moves on only for a wanted one),
//! and only they are sorted: near a tenth of the keys at 16 servers. A rank's value is then
//! a place among them: for the interval, a place in its copied buckets; for a server, the
//! walk along the copied keys counts its keys down to the place its rank has among them.
//!
//! The sort it replaces, of every key, took three scatters, a counting pass and a walk
//! along all of them; this takes two passes, the scans and a sort and walk of a tenth.
//! With many servers the counts by server outgrow the first-level cache and the scans
//! grow with the servers, so the whole sort is kept for them (see
//! [`SELECT_UP_TO`]). Exact whatever the latencies: when they are all equal, a bucket
//! holds every key and the sort is of every key, as before.

use super::interval_latencies::{Sorted, nearest_ranks, sort_by_latency};

/// The most servers whose intervals are selected rather than sorted whole: 64 servers'
/// counts, 32 KB, still fit in the first-level cache beside the keys.
pub const SELECT_UP_TO: usize = 64;

/// Buckets a server's latencies are counted in, equal parts of the interval's range.
const SERVER_BUCKET_BITS: u32 = 7;
const SERVER_BUCKETS: usize = 1 << SERVER_BUCKET_BITS;

/// Buckets the interval's latencies are counted in: finer, as the interval has many more
/// latencies than each server.
const ALL_BUCKET_BITS: u32 = 10;
const ALL_BUCKETS: usize = 1 << ALL_BUCKET_BITS;

/// Cells of the counts by server and bucket: `SERVER_BUCKETS` for each server.
const CELLS: usize = SELECT_UP_TO * SERVER_BUCKETS;

/// The buffers of the selection, kept from interval to interval. The counts and marks are
/// arrays of fixed size, indexed through masks, so that the passes over the keys check no
/// bounds; only the cells of the servers present are cleared.
#[derive(Debug)]
pub struct BucketSelect {
    /// Per server, its latencies per bucket (server `s`'s from `s * SERVER_BUCKETS`).
    server_counts: Box<[u32; CELLS]>,
    /// Per server and bucket: whether it holds one of the server's ranks.
    server_wanted: Box<[bool; CELLS]>,
    /// The interval's latencies per bucket.
    all_counts: Box<[u32; ALL_BUCKETS]>,
    /// Per bucket: whether it holds one of the interval's ranks.
    all_wanted: Box<[bool; ALL_BUCKETS]>,
    /// The keys of the servers' wanted buckets (the first `for_servers_len`), sorted by
    /// latency once selected.
    for_servers: Vec<u64>,
    for_servers_len: usize,
    /// The keys of the interval's wanted buckets, likewise.
    for_all: Vec<u64>,
    /// Per server, the places of its three ranks among its keys in [`Self::walked`].
    places: Vec<[u32; 3]>,
    /// The sort's other buffer and its counters.
    spare: Vec<u64>,
    counts: Vec<u32>,
}

impl Default for BucketSelect {
    fn default() -> Self {
        BucketSelect {
            server_counts: Box::new([0; CELLS]),
            server_wanted: Box::new([false; CELLS]),
            all_counts: Box::new([0; ALL_BUCKETS]),
            all_wanted: Box::new([false; ALL_BUCKETS]),
            for_servers: Vec::new(),
            for_servers_len: 0,
            for_all: Vec::new(),
            places: Vec::new(),
            spare: Vec::new(),
            counts: Vec::new(),
        }
    }
}

impl BucketSelect {
    /// Counts `keys` (latencies above `server_bits` bits of server index, every server
    /// below `sizes.len()`), sets each server's count in `sizes` and finds its three ranks'
    /// places ([`Self::places`]), and returns the interval's keys at its three ranks.
    /// `keys` must not be empty.
    pub fn select(&mut self, keys: &[u64], server_bits: u32, sizes: &mut [u32]) -> [u64; 3] {
        let servers = sizes.len();
        let server_mask = (1u64 << server_bits) - 1;
        let top = keys.iter().fold(0, |high, &key| high | key);
        let latency_bits = (u64::BITS - top.leading_zeros()).saturating_sub(server_bits);
        // The bucket of a key is its latency's top bits: below the bucket count when the
        // latencies are narrower.
        let server_shift = server_bits + latency_bits.saturating_sub(SERVER_BUCKET_BITS);
        let all_shift = server_bits + latency_bits.saturating_sub(ALL_BUCKET_BITS);
        let cell = |key: u64| {
            let server = (key & server_mask) as usize;
            let bucket = (key >> server_shift) as usize;
            (server << SERVER_BUCKET_BITS | bucket) & (CELLS - 1)
        };
        let bucket = |key: u64| (key >> all_shift) as usize & (ALL_BUCKETS - 1);

        let cells = servers * SERVER_BUCKETS;
        self.server_counts[..cells].fill(0);
        self.all_counts.fill(0);
        for &key in keys {
            self.server_counts[cell(key)] += 1;
            self.all_counts[bucket(key)] += 1;
        }

        self.server_wanted[..cells].fill(false);
        self.places.clear();
        for (server, size) in sizes.iter_mut().enumerate() {
            let range = server * SERVER_BUCKETS..(server + 1) * SERVER_BUCKETS;
            let counts = &self.server_counts[range.clone()];
            *size = counts.iter().sum();
            self.places.push(match *size {
                0 => [0; 3],
                n => find_ranks(counts, n as usize, &mut self.server_wanted[range]),
            });
        }
        self.all_wanted.fill(false);
        let all_places = find_ranks(&*self.all_counts, keys.len(), &mut *self.all_wanted);

        // Every key is written at the end of each copy; the end moves on past it only
        // when its bucket is wanted.
        if self.for_servers.len() < keys.len() {
            self.for_servers.resize(keys.len(), 0);
            self.for_all.resize(keys.len(), 0);
        }
        let (mut for_servers, mut for_all) = (0, 0);
        for &key in keys {
            self.for_servers[for_servers] = key;
            for_servers += usize::from(self.server_wanted[cell(key)]);
            self.for_all[for_all] = key;
            for_all += usize::from(self.all_wanted[bucket(key)]);
        }
        self.for_servers_len = for_servers;
        let (spare, counts) = (&mut self.spare, &mut self.counts);
        sort_in_place(
            &mut self.for_servers[..for_servers],
            spare,
            counts,
            server_bits,
        );
        sort_in_place(&mut self.for_all[..for_all], spare, counts, server_bits);
        all_places.map(|place| self.for_all[place as usize])
    }

    /// The keys of the servers' wanted buckets, sorted by latency, once selected: the
    /// walk's keys.
    pub fn walked(&self) -> &[u64] {
        &self.for_servers[..self.for_servers_len]
    }

    /// Per server, once selected, the places of its three ranks among its keys in
    /// [`Self::walked`] (meaningless for a server without latencies).
    pub fn places(&self) -> &[[u32; 3]] {
        &self.places
    }
}

/// Sorts `keys` by latency where they are, with `spare` and `counts` as the sort's buffers.
fn sort_in_place(keys: &mut [u64], spare: &mut Vec<u64>, counts: &mut Vec<u32>, bits: u32) {
    if sort_by_latency(keys, spare, counts, bits, |_| {}) == Sorted::InSpare {
        keys.copy_from_slice(&spare[..keys.len()]);
    }
}

/// The places of the three ranks of `n` latencies counted in `counts` by bucket, among the
/// latencies of the buckets that hold a rank, which are marked in `wanted`.
fn find_ranks(counts: &[u32], n: usize, wanted: &mut [bool]) -> [u32; 3] {
    let ranks = nearest_ranks(n).map(|rank| rank as u32);
    let mut places = [0; 3];
    let (mut next, mut below, mut wanted_below) = (0, 0, 0);
    for (bucket, &count) in counts.iter().enumerate() {
        if next == ranks.len() {
            break;
        }
        let mut holds_a_rank = false;
        while next < ranks.len() && ranks[next] < below + count {
            places[next] = wanted_below + ranks[next] - below;
            holds_a_rank = true;
            next += 1;
        }
        if holds_a_rank {
            wanted[bucket] = true;
            wanted_below += count;
        }
        below += count;
    }
    places
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rank_is_placed_among_the_latencies_of_the_wanted_buckets() {
        // 10 latencies over four buckets: ranks 4, 8 and 9 (0-based) of ten fall in buckets
        // 1 (holding ranks 3 to 5) and 3 (ranks 7 to 9); bucket 2 is not wanted, so the
        // places count bucket 1's three and then bucket 3's.
        let counts = [3, 3, 1, 3];
        let mut wanted = [false; 4];
        assert_eq!(nearest_ranks(10), [4, 8, 9]);
        assert_eq!(find_ranks(&counts, 10, &mut wanted), [1, 4, 5]);
        assert_eq!(wanted, [false, true, false, true]);
    }
}
