//! Seeded random streams.
//!
//! Every source of randomness (the arrival process, the service demand, a balancer, ...)
//! draws from its own ChaCha8 stream. The key comes from the run's seed; the 64-bit ChaCha
//! stream number packs `(kind, index)`. Streams therefore never overlap and never depend on
//! one another: adding a server or a client leaves every other stream's draws unchanged.
//! ChaCha8 is specified bit for bit, unlike `StdRng`, whose algorithm may change between
//! versions of `rand`.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp1};

/// The generator every simulated entity draws from.
pub type SimRng = ChaCha8Rng;

/// An exponential draw with mean `mean` (in whatever unit `mean` is): a standard
/// exponential times the mean, which is exactly what `rand_distr`'s `Exp::new(1 / mean)`
/// draws, with the standard draw inlined into the caller.
#[inline(always)]
pub fn exponential(rng: &mut SimRng, mean: f64) -> f64 {
    let standard: f64 = Exp1.sample(rng);
    standard * mean
}

/// SplitMix64's finalizer: a bijection of u64 with good avalanche.
fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of replication `replication` of a run whose master seed is `master`.
/// Replication 0 uses the master seed itself, so `--seed S` with one replication reproduces
/// it; every later replication gets a hashed seed, which is reported in summary.csv so that
/// any replication can be rerun alone.
pub fn derive_seed(master: u64, replication: u32) -> u64 {
    if replication == 0 {
        master
    } else {
        mix64(master.wrapping_add(mix64(u64::from(replication))))
    }
}

/// The stream `(kind, index)` of the run seeded with `seed`.
pub fn stream(seed: u64, kind: u16, index: u32) -> SimRng {
    let mut key = [0u8; 32];
    let mut state = seed;
    for chunk in key.chunks_exact_mut(8) {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        chunk.copy_from_slice(&mix64(state).to_le_bytes());
    }
    let mut rng = SimRng::from_seed(key);
    rng.set_stream((u64::from(kind) << 32) | u64::from(index));
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    fn draws(mut rng: SimRng) -> Vec<u64> {
        (0..4).map(|_| rng.random()).collect()
    }

    #[test]
    fn the_same_stream_repeats_its_draws() {
        assert_eq!(draws(stream(7, 1, 3)), draws(stream(7, 1, 3)));
    }

    #[test]
    fn streams_differ_by_seed_kind_and_index() {
        let base = draws(stream(7, 1, 3));
        assert_ne!(base, draws(stream(8, 1, 3)));
        assert_ne!(base, draws(stream(7, 2, 3)));
        assert_ne!(base, draws(stream(7, 1, 4)));
    }

    #[test]
    fn replication_zero_keeps_the_master_seed_and_others_differ() {
        assert_eq!(derive_seed(42, 0), 42);
        let seeds: std::collections::BTreeSet<u64> =
            (0..1000).map(|r| derive_seed(42, r)).collect();
        assert_eq!(seeds.len(), 1000);
    }
}
