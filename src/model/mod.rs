//! The simulated world on top of the kernel: traffic, the balancer, the servers and their
//! lifecycle, second tiers, scheduled changes and measurement — one component per file —
//! and `world`, the loop that dispatches events to them.

mod arrivals;
mod clients;
mod cluster;
mod event;
mod frontend;
mod measurement;
mod observer;
mod outcome;
mod request;
mod server;
mod service;
mod spec;
mod station;
mod streams;
mod tier;
mod timeline;
mod trace;
mod traffic;
mod world;

pub use observer::{Observed, Observer, Unobserved};
pub use outcome::FailReason;
pub use request::RequestId;
pub use server::ServerState;
pub use spec::{
    ArrivalPattern, GeneratedWorkload, RateSchedule, RunSpec, ServerGroupSpec, ServiceDist,
    TierSpec, WorkloadSpec,
};
pub use timeline::{Change, TimelineAction};
pub use trace::{Trace, TraceReplay, TraceRequest};
pub use world::{simulate, simulate_observed, simulate_with_progress};
