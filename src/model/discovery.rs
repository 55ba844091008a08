//! Service discovery: a registry that servers join and leave, and the balancers' late view
//! of it.
//!
//! Servers register when they are ready to serve and deregister when they are told to
//! leave (the seed's Consul registry); the registry's own health check (Consul's every
//! 10 s) deregisters one it finds down. The balancers do not see the registry: they see
//! what it looked like at their last poll (DNS with a TTL, a polling agent), or each
//! change a propagation delay after it happened (Consul's blocking queries, the Kubernetes
//! endpoints watch). Until then a balancer may route to a server that has already gone —
//! a stale route, counted by the world when the server refuses the connection.

use super::autoscaling::{DiscoveryMode, DiscoverySpec};
use crate::engine::SimDuration;
use crate::id::ServerId;

pub struct Discovery {
    spec: DiscoverySpec,
    /// Per server: whether the registry lists it.
    registered: Vec<bool>,
    /// Per server: whether the balancers know it (their last view of the registry).
    known: Vec<bool>,
}

/// What a change in the registry asks of the world.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Propagation {
    /// The balancers learn of it at their next poll.
    AtNextPoll,
    /// The balancers learn of it after this delay.
    After(SimDuration),
}

impl Discovery {
    /// A registry listing the run's first `servers`, which the balancers already know.
    pub fn new(spec: &DiscoverySpec, servers: usize) -> Self {
        Discovery {
            spec: spec.clone(),
            registered: vec![true; servers],
            known: vec![true; servers],
        }
    }

    pub fn spec(&self) -> &DiscoverySpec {
        &self.spec
    }

    /// The poll period, when the balancers poll.
    pub fn poll_interval(&self) -> Option<SimDuration> {
        match self.spec.mode {
            DiscoveryMode::Poll { interval } => Some(interval),
            DiscoveryMode::Watch { .. } => None,
        }
    }

    /// `server` registers (it is ready) or deregisters (it leaves, or the registry found
    /// it down); `None` when the registry already said so.
    pub fn set_registered(&mut self, server: ServerId, registered: bool) -> Option<Propagation> {
        let index = server.index();
        if self.registered.len() <= index {
            self.registered.resize(index + 1, false);
            self.known.resize(index + 1, false);
        }
        if self.registered[index] == registered {
            return None;
        }
        self.registered[index] = registered;
        Some(match self.spec.mode {
            DiscoveryMode::Poll { .. } => Propagation::AtNextPoll,
            DiscoveryMode::Watch { delay } => Propagation::After(delay),
        })
    }

    pub fn is_registered(&self, server: ServerId) -> bool {
        self.registered
            .get(server.index())
            .copied()
            .unwrap_or(false)
    }

    /// Whether the balancers know `server`: what decides whether it may be in rotation.
    pub fn knows(&self, server: ServerId) -> bool {
        self.known.get(server.index()).copied().unwrap_or(false)
    }

    /// A watched change reaches the balancers: they now know `server` as `registered`.
    /// Returns whether their view changed.
    pub fn learn(&mut self, server: ServerId, registered: bool) -> bool {
        let known = &mut self.known[server.index()];
        let changed = *known != registered;
        *known = registered;
        changed
    }

    /// A poll: the balancers take the registry's whole list. Returns the servers whose
    /// standing changed, in id order, with their new standing.
    pub fn poll(&mut self) -> Vec<(ServerId, bool)> {
        let mut changed = Vec::new();
        for (index, (known, &registered)) in self.known.iter_mut().zip(&self.registered).enumerate()
        {
            if *known != registered {
                *known = registered;
                changed.push((ServerId(index as u32), registered));
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery(mode: DiscoveryMode) -> Discovery {
        Discovery::new(
            &DiscoverySpec {
                mode,
                check_interval: SimDuration::from_secs(10),
            },
            2,
        )
    }

    #[test]
    fn a_polled_registry_is_seen_whole_at_the_next_poll_and_not_before() {
        let mut d = discovery(DiscoveryMode::Poll {
            interval: SimDuration::from_secs(30),
        });
        assert!(d.knows(ServerId(0)) && d.knows(ServerId(1)));
        assert_eq!(
            d.set_registered(ServerId(2), true),
            Some(Propagation::AtNextPoll)
        );
        assert_eq!(
            d.set_registered(ServerId(0), false),
            Some(Propagation::AtNextPoll)
        );
        assert_eq!(d.set_registered(ServerId(0), false), None);
        assert!(d.knows(ServerId(0)) && !d.knows(ServerId(2)));
        assert_eq!(d.poll(), vec![(ServerId(0), false), (ServerId(2), true)]);
        assert!(!d.knows(ServerId(0)) && d.knows(ServerId(2)));
        assert_eq!(d.poll(), vec![]);
    }

    #[test]
    fn a_watched_change_arrives_after_the_delay_and_a_change_undone_in_between_is_seen_twice() {
        let delay = SimDuration::from_secs(2);
        let mut d = discovery(DiscoveryMode::Watch { delay });
        assert_eq!(
            d.set_registered(ServerId(1), false),
            Some(Propagation::After(delay))
        );
        assert_eq!(
            d.set_registered(ServerId(1), true),
            Some(Propagation::After(delay))
        );
        assert!(
            d.knows(ServerId(1)),
            "nothing reaches the balancers before the delay"
        );
        assert!(d.learn(ServerId(1), false));
        assert!(!d.knows(ServerId(1)));
        assert!(d.learn(ServerId(1), true));
        assert!(d.knows(ServerId(1)) && d.is_registered(ServerId(1)));
    }
}
