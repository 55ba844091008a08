//! The simulated world on top of the kernel: traffic, servers and the balancer between them.

mod spec;

pub use spec::{ArrivalPattern, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist, WorkloadSpec};
