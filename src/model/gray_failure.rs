//! Gray failures: a server that stays up, accepts connections and passes its health checks,
//! yet answers a share of requests with an error after doing their work — a bad deploy, a
//! corrupted cache, a dependency failing behind it. "Gray failure" is the term of Huang et
//! al. (HotOS 2017): a failure the system's own failure detector does not see. An active
//! health check hits `/health`, which still answers 200, so only passive checking (outlier
//! detection on consecutive 5xx, Envoy's `consecutive_5xx`) can take such a server out.
//!
//! Which responses fail is drawn per server from its own stream, and only for servers with
//! a positive share, so a run without gray failures draws nothing and pays one branch.

use rand::RngExt;

use super::fraction::Fraction;
use super::spec::RunSpec;
use super::streams;
use super::timeline::Change;
use crate::engine::{SimRng, stream};
use crate::id::ServerId;

pub struct GrayFailures {
    seed: u64,
    /// Per server: the share of its responses that are errors.
    error_fraction: Vec<Fraction>,
    /// Per server: its stream, created when its share first becomes positive.
    rngs: Vec<Option<SimRng>>,
}

impl GrayFailures {
    /// The gray failures `spec` can have, or `None` when no group starts with errors and
    /// the timeline never sets any.
    pub fn new(spec: &RunSpec, seed: u64) -> Option<Self> {
        let any = spec.servers.iter().any(|g| !g.error_fraction.is_zero())
            || spec
                .timeline
                .iter()
                .any(|action| matches!(action.change, Change::SetErrors { .. }));
        any.then(|| GrayFailures {
            seed,
            error_fraction: Vec::new(),
            rngs: Vec::new(),
        })
    }

    /// `server` answers `fraction` of its requests with errors from now on.
    pub fn set(&mut self, server: ServerId, fraction: Fraction) {
        let index = server.index();
        if self.error_fraction.len() <= index {
            self.error_fraction.resize(index + 1, Fraction::ZERO);
            self.rngs.resize_with(index + 1, || None);
        }
        self.error_fraction[index] = fraction;
        if !fraction.is_zero() && self.rngs[index].is_none() {
            self.rngs[index] = Some(stream(self.seed, streams::GRAY_FAILURES, server.0));
        }
    }

    /// Whether the response `server` is about to send is an error.
    pub fn answers_with_error(&mut self, server: ServerId) -> bool {
        let index = server.index();
        let Some(&fraction) = self.error_fraction.get(index) else {
            return false;
        };
        if fraction.is_zero() {
            return false;
        }
        let rng = self.rngs[index]
            .as_mut()
            .expect("a server with errors has its stream");
        rng.random::<f64>() < fraction.as_f64()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::{Algorithm, BalancerSpec};
    use crate::engine::SimDuration;
    use crate::model::{
        ArrivalPattern, GeneratedWorkload, RateSchedule, ServerGroupSpec, ServiceDist, WorkloadSpec,
    };

    fn spec(error_fraction: Fraction) -> RunSpec {
        RunSpec::new(
            SimDuration::from_secs(1),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::constant(1.0),
                arrivals: ArrivalPattern::Poisson,
                service: ServiceDist::Constant {
                    mean: SimDuration::from_millis(1),
                },
                clients: 1,
            }),
            vec![ServerGroupSpec {
                error_fraction,
                ..ServerGroupSpec::new("web", 2)
            }],
            BalancerSpec::new(Algorithm::RoundRobin),
        )
    }

    #[test]
    fn a_run_without_errors_has_no_gray_failures() {
        assert!(GrayFailures::new(&spec(Fraction::ZERO), 1).is_none());
    }

    #[test]
    fn the_share_of_errors_is_the_fraction_set() {
        let mut gray = GrayFailures::new(&spec(Fraction::from_f64(0.3)), 1).expect("errors");
        gray.set(ServerId(0), Fraction::from_f64(0.3));
        let n = 100_000;
        let errors = (0..n)
            .filter(|_| gray.answers_with_error(ServerId(0)))
            .count();
        // Binomial: standard error sqrt(0.3 × 0.7 / 100000) = 0.00145; five of them 0.0073.
        let share = errors as f64 / f64::from(n);
        assert!((share - 0.3).abs() < 0.0073, "{share}");
        assert!(!gray.answers_with_error(ServerId(1)));
        gray.set(ServerId(0), Fraction::ZERO);
        assert!(!gray.answers_with_error(ServerId(0)));
    }
}
