//! `[balancer]`: the algorithm, its parameters (the size of the consistent-hash ring,
//! least-request's choices and bias, first's connection limit, the peak-EWMA time
//! constant, what the hashing algorithms hash, Maglev's table size, the bounded-load
//! factor), and how many balancer instances requests are spread over, and how. Checked
//! before the servers, whose weights depend on the algorithm. Zone-aware routing's
//! minimum, the panic threshold and slow start have files of their own.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::balancer::{Algorithm, BalancerSpec, HashOn, Spread};
use crate::scenario::raw::RawBalancer;

/// The most points per server on the consistent-hash ring (memory grows with it).
pub const MAX_VIRTUAL_NODES: u32 = 10_000;

/// The most balancer instances: a request records its instance in a byte.
pub const MAX_BALANCER_INSTANCES: i128 = 255;

/// The largest Maglev table (memory grows with it: 4 bytes an entry).
pub const MAX_TABLE_SIZE: i128 = 1 << 24;

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
        let virtual_nodes = self.count_up_to(
            raw.and_then(|b| b.virtual_nodes.as_ref()),
            "balancer.virtual_nodes",
            BalancerSpec::DEFAULT_VIRTUAL_NODES,
            MAX_VIRTUAL_NODES,
        );
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
        let choice_count = self.count(
            raw.and_then(|b| b.choice_count.as_ref()),
            "balancer.choice_count",
            BalancerSpec::DEFAULT_CHOICE_COUNT,
        );
        let active_request_bias = match raw.and_then(|b| b.active_request_bias.as_ref()) {
            None => Some(BalancerSpec::DEFAULT_ACTIVE_REQUEST_BIAS),
            Some(bias) => self.number(bias, "balancer.active_request_bias", Bound::NonNegative),
        };
        let max_connections = match raw.and_then(|b| b.max_connections.as_ref()) {
            None => Some(None),
            Some(max) => self
                .integer(max, "balancer.max_connections", 1, i128::from(u32::MAX))
                .and_then(|n| u32::try_from(n).ok())
                .map(Some),
        };
        if algorithm == Some(Algorithm::First) && max_connections == Some(None) {
            // Without a limit no server is ever full and `first` is "everything to server
            // 0"; HAProxy's manual: "It does not make sense to use this algorithm without
            // setting maxconn".
            let offset = raw
                .and_then(|b| b.algorithm.as_ref())
                .map_or(0, |a| a.span().start);
            self.error(
                offset,
                "balancer.max_connections",
                "\"first\" needs max_connections, the connections a server takes before the \
                 next one is used",
            );
        }
        let decay = match raw.and_then(|b| b.decay.as_ref()) {
            None => Some(BalancerSpec::DEFAULT_DECAY),
            Some(decay) => self.positive_duration(decay, "balancer.decay"),
        };
        let hash_on = match raw.and_then(|b| b.hash_on.as_ref()) {
            None => Some(HashOn::Client),
            Some(name) => {
                let names = HashOn::ALL.map(HashOn::name);
                let hash_on = self.choice(name, "balancer.hash_on", "hash key", &names, |n| {
                    HashOn::ALL.into_iter().find(|h| h.name() == n)
                });
                if let (Some(HashOn::Session), Some(algorithm)) = (hash_on, algorithm)
                    && !algorithm.hashes_keys()
                {
                    let hashing: Vec<&str> = Algorithm::ALL
                        .iter()
                        .filter(|a| a.hashes_keys())
                        .map(|a| a.name())
                        .collect();
                    self.error(
                        name.span().start,
                        "balancer.hash_on",
                        format!(
                            "{:?} does not hash requests, so it cannot keep a session on one \
                             server by its id: use one of {}, or cookie affinity ([affinity])",
                            algorithm.name(),
                            hashing.join(", ")
                        ),
                    );
                    return None;
                }
                hash_on
            }
        };
        let table_size = match raw.and_then(|b| b.table_size.as_ref()) {
            None => Some(BalancerSpec::DEFAULT_TABLE_SIZE),
            Some(size) => match self.integer(size, "balancer.table_size", 1, MAX_TABLE_SIZE) {
                Some(n) if is_prime(n) => u32::try_from(n).ok(),
                Some(n) => {
                    // Maglev's permutations visit every entry only when the size is prime.
                    self.error(
                        size.span().start,
                        "balancer.table_size",
                        format!("expected a prime number of entries (like 65537), found {n}"),
                    );
                    None
                }
                None => None,
            },
        };
        let balance_factor = match raw.and_then(|b| b.balance_factor.as_ref()) {
            None => Some(BalancerSpec::DEFAULT_BALANCE_FACTOR),
            Some(factor) => self.number(factor, "balancer.balance_factor", Bound::GreaterThanOne),
        };
        Some(BalancerSpec {
            virtual_nodes: virtual_nodes?,
            instances: instances?,
            spread: spread?,
            choice_count: choice_count?,
            active_request_bias: active_request_bias?,
            max_connections: max_connections?,
            decay: decay?,
            hash_on: hash_on?,
            table_size: table_size?,
            balance_factor: balance_factor?,
            ..BalancerSpec::new(algorithm?)
        })
    }
}

/// Whether `n` is prime, by trial division (n is at most [`MAX_TABLE_SIZE`]).
fn is_prime(n: i128) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

#[cfg(test)]
mod tests {
    use crate::scenario::validate::testing::{error, valid, with};

    use crate::balancer::Algorithm;
    use crate::engine::SimDuration;

    #[test]
    fn the_algorithm_parameters_have_defaults_and_are_read() {
        let balancer = &valid(&with("balancer", "algorithm = \"least-request\"")).variants[0]
            .run
            .balancer;
        assert_eq!(
            (balancer.choice_count, balancer.active_request_bias),
            (2, 1.0)
        );
        assert_eq!(balancer.max_connections, None);
        assert_eq!(balancer.decay, SimDuration::from_secs(10));
        let source = with(
            "balancer",
            "algorithm = \"first\"\nchoice_count = 5\nactive_request_bias = 0.5\n\
             max_connections = 30\ndecay = \"2s\"",
        );
        let balancer = &valid(&source).variants[0].run.balancer;
        assert_eq!(balancer.algorithm, Algorithm::First);
        assert_eq!(
            (balancer.choice_count, balancer.active_request_bias),
            (5, 0.5)
        );
        assert_eq!(balancer.max_connections, Some(30));
        assert_eq!(balancer.decay, SimDuration::from_secs(2));
    }

    #[test]
    fn bad_parameters_are_located_errors() {
        let source = with("balancer", "choice_count = 0");
        assert!(error(&source).contains("balancer.choice_count: expected a positive integer"));
        let source = with("balancer", "active_request_bias = -0.5");
        assert!(
            error(&source).contains("balancer.active_request_bias: expected a non-negative number")
        );
        let source = with("balancer", "max_connections = 0");
        assert!(error(&source).contains("balancer.max_connections: expected a positive integer"));
        let source = with("balancer", "decay = \"0s\"");
        assert!(error(&source).contains("balancer.decay: expected a positive duration"));
    }

    #[test]
    fn first_without_max_connections_is_an_error_at_the_algorithm() {
        let message = error(&with("balancer", "algorithm = \"first\""));
        assert!(message.contains("balancer.max_connections: \"first\" needs max_connections"));
        // Located at the algorithm's value, not at the start of the file.
        assert!(!message.starts_with("x.toml:1:1"), "{message}");
    }

    #[test]
    fn a_misspelt_parameter_gets_the_nearest_key() {
        let message = error(&with("balancer", "choice_cont = 3"));
        assert!(message.contains("choice_count"), "{message}");
    }

    #[test]
    fn the_affinity_parameters_are_read_and_checked() {
        let source = with(
            "balancer",
            "algorithm = \"maglev\"\nhash_on = \"session\"\ntable_size = 251\nbalance_factor = 2",
        );
        let balancer = &valid(&source).variants[0].run.balancer;
        assert_eq!(balancer.hash_on, crate::balancer::HashOn::Session);
        assert_eq!((balancer.table_size, balancer.balance_factor), (251, 2.0));
        let message = error(&with("balancer", "table_size = 65536"));
        assert!(
            message.contains("expected a prime number of entries"),
            "{message}"
        );
        let message = error(&with("balancer", "hash_on = \"cookie\""));
        assert!(message.contains("unknown hash key \"cookie\""), "{message}");
        assert!(super::is_prime(65_537) && !super::is_prime(1) && super::is_prime(2));
    }

    #[test]
    fn virtual_nodes_are_range_checked() {
        let source = with("balancer", "virtual_nodes = 0");
        assert!(error(&source).contains("balancer.virtual_nodes: expected a positive integer"));
        let source = with("balancer", "virtual_nodes = 7");
        assert_eq!(valid(&source).variants[0].run.balancer.virtual_nodes, 7);
    }
}
