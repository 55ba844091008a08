//! lbsim's integration tests, one binary with a module per concern.

mod autoscaling;
mod check;
mod cli;
mod data_tier;
mod data_tier_series;
mod determinism;
mod errors;
mod feature_mix;
mod fuzz_scenarios;
mod interrupt;
#[cfg(unix)]
mod kubernetes;
mod lifecycle;
mod properties;
mod queueing_theory;
mod resilience;
mod robustness;
mod rotation_counts;
mod scenarios;
mod schema;
mod server_failures;
mod sessions;
mod shard;
#[cfg(unix)]
mod slurm;
mod support;
mod timeseries;
mod trace_view;
