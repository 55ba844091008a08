//! The simulated world on top of the kernel: traffic, servers and the balancer between them.
//! Each entity lives in its own file; `world` wires them together and runs the loop.

mod arrivals;
mod clients;
mod event;
mod outcome;
mod request;
mod server;
mod service;
mod spec;
mod streams;
mod trace;
mod world;

pub use spec::{
    ArrivalPattern, GeneratedWorkload, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist,
    WorkloadSpec,
};
pub use trace::{Trace, TraceReplay, TraceRequest};
pub use world::{simulate, simulate_with_progress};
