//! Stable 64-bit hashing for the hashing balancers (ip-hash, consistent-hash, maglev,
//! consistent-hash-bounded), the client-hash spread over balancer instances, a client's
//! zone, scenario source hashes, and trace clients that are not IPv4 addresses.
//!
//! FNV-1a 64 over the bytes, then MurmurHash3's `fmix64` finalizer. FNV-1a alone mixes the
//! last bytes poorly into the high bits, which matters here: ip-hash reduces the hash
//! modulo a small server count and consistent-hash places its top 32 bits on the ring, and
//! client addresses of one subnet differ only in their last byte. The finalizer is a
//! bijection, so it adds no collisions. Nothing depends on std's per-process randomized
//! hasher: the same input hashes to the same value in every run, on every platform. Cost:
//! O(length).

use crate::id::ClientAddr;

const FNV_OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Incremental FNV-1a 64, so that a key built from pieces (`name`, `#`, `i`) can be hashed
/// without first being formatted into a string.
#[derive(Copy, Clone, Debug)]
pub struct StableHasher {
    state: u64,
}

impl StableHasher {
    pub fn new() -> Self {
        StableHasher {
            state: FNV_OFFSET_BASIS,
        }
    }

    pub fn write(&mut self, bytes: &[u8]) -> &mut Self {
        for &byte in bytes {
            self.state ^= u64::from(byte);
            self.state = self.state.wrapping_mul(FNV_PRIME);
        }
        self
    }

    /// Writes `value` in decimal, as `format!("{value}")` would, without allocating.
    pub fn write_decimal(&mut self, mut value: u32) -> &mut Self {
        let mut digits = [0u8; 10];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (value % 10) as u8;
            value /= 10;
            if value == 0 {
                break;
            }
        }
        self.write(&digits[start..])
    }

    /// The finalized hash of everything written so far.
    pub fn finish(&self) -> u64 {
        fmix64(self.state)
    }
}

impl Default for StableHasher {
    fn default() -> Self {
        Self::new()
    }
}

/// MurmurHash3's 64-bit finalizer: a bijection with full avalanche.
pub fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

pub fn hash_bytes(bytes: &[u8]) -> u64 {
    StableHasher::new().write(bytes).finish()
}

/// The hash of a client address: its four bytes in network (big-endian) order.
pub fn hash_addr(addr: ClientAddr) -> u64 {
    hash_bytes(&addr.0.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_str(text: &str) -> u64 {
        hash_bytes(text.as_bytes())
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        StableHasher::new().write(bytes).state
    }

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fmix64_matches_murmur3() {
        assert_eq!(fmix64(0), 0);
        assert_eq!(fmix64(1), 0xb456_bcfc_34c2_cb2c);
    }

    #[test]
    fn hashes_are_pinned_so_runs_stay_reproducible() {
        assert_eq!(hash_str("web-0#0"), PINNED_WEB_0_0);
        assert_eq!(hash_addr(ClientAddr(0x0a00_0001)), PINNED_10_0_0_1);
    }

    #[test]
    fn an_address_hashes_as_its_big_endian_bytes() {
        assert_eq!(
            hash_addr(ClientAddr(0x0a00_0001)),
            hash_bytes(&[10, 0, 0, 1])
        );
    }

    #[test]
    fn a_key_hashed_in_pieces_equals_the_formatted_string() {
        for i in [0, 7, 10, 159, 4_294_967_295] {
            let mut hasher = StableHasher::new();
            hasher.write(b"web-3").write(b"#").write_decimal(i);
            assert_eq!(hasher.finish(), hash_str(&format!("web-3#{i}")));
        }
    }

    /// Computed independently (Python) from the definition above.
    const PINNED_WEB_0_0: u64 = 0x37cb_e031_c8dd_05bc;
    const PINNED_10_0_0_1: u64 = 0x251c_e681_282f_daa9;
}
