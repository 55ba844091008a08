//! The random streams of the model: one kind per source of randomness. Kinds are never
//! renumbered, so a scenario keeps its results when a new kind is added.

/// Gaps between arrivals.
pub const ARRIVALS: u16 = 1;
/// Which client address each request comes from.
pub const CLIENTS: u16 = 2;
/// Work each request brings.
pub const SERVICE: u16 = 3;
/// The balancer's own draws (random, power of two choices).
pub const BALANCER: u16 = 4;
