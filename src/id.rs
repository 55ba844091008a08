//! Identities that every layer may name: a server, a client address, a session, and the
//! part of a request a balancer may look at. They live here, below the model and the
//! balancers, so that neither reaches into the other for them.

use std::fmt;

/// A server's identity for the whole run. Ids are dense (they index vectors) and are never
/// reused within a run, even after the server leaves.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServerId(pub u32);

impl ServerId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A client's IPv4 address, as a balancer hashing on it would see it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClientAddr(pub u32);

impl fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d] = self.0.to_be_bytes();
        write!(f, "{a}.{b}.{c}.{d}")
    }
}

/// A user session (the cookie a browser sends back), unique within a run.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(pub u64);

/// What a balancer may look at in a request: who sent it and, for traffic made of
/// sessions, which session it belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RequestKey {
    pub client: ClientAddr,
    pub session: Option<SessionId>,
}
