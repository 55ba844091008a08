//! A second tier: a station that every request calls after its work on its server — a
//! database, a session store, another service — with its own workers, queue and service
//! time, drawn from a stream of its own when a worker takes the call.

use super::service::ServiceSampler;
use super::spec::TierSpec;
use super::station::Station;
use super::streams;
use crate::engine::{SimDuration, SimTime, stream};

pub struct Tier {
    pub name: String,
    pub station: Station,
    service: ServiceSampler,
}

impl Tier {
    /// Tier number `index` of a run seeded with `seed`.
    pub fn new(spec: &TierSpec, index: u32, seed: u64) -> Self {
        Tier {
            name: spec.name.clone(),
            station: Station::new(spec.workers, spec.queue_limit, 1.0, SimTime::ZERO),
            service: ServiceSampler::new(&spec.service, stream(seed, streams::TIER_SERVICE, index)),
        }
    }

    /// The shared session store of a run seeded with `seed`: a tier every request calls
    /// first, with a stream of its own so that the other tiers draw as without it.
    pub fn session_store(spec: &TierSpec, seed: u64) -> Self {
        Tier {
            name: spec.name.clone(),
            station: Station::new(spec.workers, spec.queue_limit, 1.0, SimTime::ZERO),
            service: ServiceSampler::new(&spec.service, stream(seed, streams::SESSION_STATE, 0)),
        }
    }

    /// The service time of the call a worker takes now.
    pub fn draw_service(&mut self) -> SimDuration {
        self.service.sample()
    }
}
