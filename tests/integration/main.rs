//! lbsim's integration tests, one binary with a module per concern.

mod cli;
mod determinism;
mod errors;
mod fuzz_scenarios;
mod interrupt;
mod lifecycle;
mod properties;
mod queueing_theory;
mod scenarios;
mod shard;
mod support;
