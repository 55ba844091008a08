//! Client addresses and session ids from a trace, as the 32-bit address and 64-bit id the
//! model works with.
//!
//! An IPv4 dotted quad is the address itself, so `ip-hash` sends a traced client where it
//! would send the live one. Anything else must still map to one fixed address, the same on
//! every run and machine, so it is hashed with the balancers' stable hash (not std's, which
//! is randomized per process): FNV-1a 64 over the bytes, then MurmurHash3's `fmix64`
//! finalizer, folded to 32 bits by xoring its halves.
//! - An IPv6 address is hashed as its 16 bytes, so every spelling of one address
//!   (`2001:db8::1`, `2001:0db8:0:0:0:0:0:1`) is one client; an IPv4-mapped one
//!   (`::ffff:10.0.0.1`) is its IPv4 address.
//! - Any other string (a host name, a user id) is hashed as its UTF-8 bytes.
//!
//! A hashed address can coincide with a real IPv4 one (or another hash) with probability
//! about 2⁻³² per pair; at worst two clients then share an affinity.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::hash::hash_bytes as stable_hash;
use crate::id::ClientAddr;

/// The address of a trace's client field.
pub fn client_address(text: &str) -> ClientAddr {
    if let Ok(v4) = text.parse::<Ipv4Addr>() {
        return ClientAddr(u32::from(v4));
    }
    if let Ok(v6) = text.parse::<Ipv6Addr>() {
        return match v6.to_ipv4_mapped() {
            Some(v4) => ClientAddr(u32::from(v4)),
            None => ClientAddr(fold(stable_hash(&v6.octets()))),
        };
    }
    ClientAddr(fold(stable_hash(text.as_bytes())))
}

/// The id of a trace's session field.
pub fn session_id(text: &str) -> u64 {
    stable_hash(text.as_bytes())
}

/// The high half xored into the low half.
fn fold(hash: u64) -> u32 {
    ((hash >> 32) ^ hash) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv4_address_is_itself() {
        assert_eq!(client_address("10.0.0.1"), ClientAddr(0x0A00_0001));
        assert_eq!(client_address("255.255.255.255"), ClientAddr(u32::MAX));
        assert_eq!(client_address("::ffff:10.0.0.1"), ClientAddr(0x0A00_0001));
    }

    #[test]
    fn ipv6_hashing_is_stable_and_ignores_spelling() {
        // Pinned (checked against an independent implementation): these values must never
        // change, or replays would move clients.
        assert_eq!(client_address("2001:db8::1"), ClientAddr(0x86e2_7822));
        assert_eq!(
            client_address("2001:0DB8:0:0:0:0:0:1"),
            ClientAddr(0x86e2_7822)
        );
        assert_eq!(client_address("::1"), ClientAddr(0xb80d_7488));
        assert_ne!(client_address("2001:db8::2"), client_address("2001:db8::1"));
    }

    #[test]
    fn other_strings_hash_stably_by_their_bytes() {
        assert_eq!(client_address("gateway.example"), ClientAddr(0xe7c3_1520));
        assert_eq!(client_address("-"), client_address("-"));
        assert_ne!(client_address("a"), client_address("b"));
        assert_eq!(session_id("s-42"), session_id("s-42"));
        assert_ne!(session_id("s-42"), session_id("s-43"));
    }
}
