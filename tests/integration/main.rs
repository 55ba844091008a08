//! lbsim's integration tests, one binary with a module per concern.

mod queueing_theory;
