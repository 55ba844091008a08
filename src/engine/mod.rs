//! The discrete-event kernel. It knows nothing of load balancing: simulated time, the
//! future-event list and seeded random streams. Everything above it (servers, balancers,
//! clients) is built from these three pieces, so a new entity never touches this module.

mod queue;
mod rng;
mod time;

pub use queue::{EventQueue, Prioritized};
pub use rng::{SimRng, derive_seed, stream};
pub use time::{SimDuration, SimTime};
