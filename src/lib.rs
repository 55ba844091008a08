//! lbsim: a deterministic discrete-event simulator of load balancing.
//!
//! A scenario file describes traffic, servers and a balancer; lbsim simulates it with
//! integer-nanosecond time and seeded random streams, so the same scenario and seed always
//! give byte-identical results.

pub mod balancer;
pub mod engine;
pub mod model;
pub mod scenario;
pub mod stats;
