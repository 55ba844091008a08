//! The discrete-event kernel. It knows nothing of load balancing: simulated time, the
//! future-event list, timers with lazy cancellation and seeded random streams. Everything
//! above it (servers, balancers, clients, health checks, scalers) is built from these
//! pieces, so a new entity never touches this module.

mod prefetch;
mod queue;
mod rng;
mod time;
mod timer;

pub use prefetch::prefetch;
pub use queue::{EventQueue, Prioritized};
pub use rng::{SimRng, derive_seed, exponential, stream};
pub use time::{SimDuration, SimTime};
pub use timer::{Firing, TimerId, Timers};
