//! `[balancer]`: the algorithm, the size of the consistent-hash ring, and how many
//! balancer instances requests are spread over. Checked before the servers, whose weights
//! depend on the algorithm.

use toml::Spanned;

use super::checker::Checker;
use crate::balancer::{Algorithm, BalancerSpec, Spread};
use crate::scenario::raw::RawBalancer;

/// The most points per server on the consistent-hash ring (memory grows with it).
pub const MAX_VIRTUAL_NODES: i128 = 10_000;

/// The most balancer instances: a request records its instance in a byte.
pub const MAX_BALANCER_INSTANCES: i128 = 255;

impl Checker<'_> {
    /// `[balancer]`, optional: round-robin with the default ring size when absent.
    pub(super) fn balancer(
        &mut self,
        balancer: Option<&Spanned<RawBalancer>>,
    ) -> Option<BalancerSpec> {
        let raw = balancer.map(Spanned::get_ref);
        let algorithm = match raw.and_then(|b| b.algorithm.as_ref()) {
            None => Some(Algorithm::RoundRobin),
            Some(name) => {
                let names: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
                self.choice(
                    name,
                    "balancer.algorithm",
                    "algorithm",
                    &names,
                    Algorithm::from_name,
                )
            }
        };
        let virtual_nodes = match raw.and_then(|b| b.virtual_nodes.as_ref()) {
            None => Some(BalancerSpec::DEFAULT_VIRTUAL_NODES),
            Some(nodes) => self
                .integer(nodes, "balancer.virtual_nodes", 1, MAX_VIRTUAL_NODES)
                .and_then(|n| u32::try_from(n).ok()),
        };
        let instances = match raw.and_then(|b| b.instances.as_ref()) {
            None => Some(1),
            Some(instances) => self
                .integer(instances, "balancer.instances", 1, MAX_BALANCER_INSTANCES)
                .and_then(|n| u32::try_from(n).ok()),
        };
        let spread = match raw.and_then(|b| b.spread.as_ref()) {
            None => Some(Spread::Random),
            Some(spread) => {
                let names = Spread::ALL.map(Spread::name);
                self.choice(spread, "balancer.spread", "spread", &names, |name| {
                    Spread::ALL.into_iter().find(|s| s.name() == name)
                })
            }
        };
        Some(BalancerSpec {
            virtual_nodes: virtual_nodes?,
            instances: instances?,
            spread: spread?,
            ..BalancerSpec::new(algorithm?)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::scenario::validate::testing::{error, valid, with};

    #[test]
    fn virtual_nodes_are_range_checked() {
        let source = with("balancer", "virtual_nodes = 0");
        assert!(error(&source).contains("balancer.virtual_nodes: expected a positive integer"));
        let source = with("balancer", "virtual_nodes = 7");
        assert_eq!(valid(&source).variants[0].run.balancer.virtual_nodes, 7);
    }
}
