//! Active health checking: the balancer probes every server on a timer and takes a server
//! out of its healthy set after `unhealthy_threshold` consecutive failed checks, back in
//! after `healthy_threshold` consecutive passes — HAProxy's `fall` and `rise`, Envoy's
//! `unhealthy_threshold` and `healthy_threshold`.
//!
//! This file is the state machine only: it is told each check's result and answers whether
//! the server changed state; the world sends the checks. A check is a small request of
//! [`HealthCheckSpec::work`] that the server must serve, queued behind real work, so a
//! server drowning in requests fails its checks by [`HealthCheckSpec::timeout`] — the way
//! an overloaded host really gets marked down. As in Envoy's health checker session, the
//! next check of a server is scheduled when its previous one ends (passed, failed or timed
//! out), [`HealthChecks::next_delay`] later, so a server never has two checks out at once.
//!
//! A server added to a running cluster starts unhealthy and becomes healthy on its first
//! passed check — Envoy's rule ("during startup, only a single successful health check is
//! required to mark a host healthy": `first_check_ || ++num_healthy_ == healthy_threshold`
//! in `HealthCheckerImplBase::ActiveHealthCheckSession::handleSuccess`) rather than
//! HAProxy's, which starts a server up unless `init-state` says otherwise. If that first
//! check fails, the full `healthy_threshold` is needed. The world should check a new
//! server at once, as Envoy does when a host is added. Servers present when the run starts
//! may be added healthy instead: Envoy warms a cluster with a first round of checks before
//! it takes traffic, and a run begins with a warm cluster.
//!
//! A simulated check fails by timing out, by finding its server down or booting, or by a
//! 503 (a full queue, or a CPU or memory reading over its threshold). Each failure counts
//! against `unhealthy_threshold`, where Envoy would mark a host unhealthy at once on a 503.
//!
//! When too few hosts are healthy the balancer stops trusting health at all: see
//! `panic_mode.rs`, where a failed check and an outlier ejection count alike.

use rand::RngExt;

use super::fraction::Fraction;
use crate::engine::{SimDuration, SimRng};
use crate::id::ServerId;

/// `[health_check]`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheckSpec {
    /// The mean time from the end of one check of a server to the start of the next.
    pub interval: SimDuration,
    /// A check unanswered after this long has failed.
    pub timeout: SimDuration,
    /// Consecutive failed checks that take a healthy server out (HAProxy's `fall`).
    pub unhealthy_threshold: u32,
    /// Consecutive passed checks that bring an unhealthy server back (HAProxy's `rise`).
    pub healthy_threshold: u32,
    /// Each delay is drawn uniformly from `interval × [1 − jitter, 1 + jitter]`: HAProxy's
    /// `spread-checks`, so that checks of many servers do not march in step.
    pub jitter: Fraction,
    /// The service demand of one check on the server, at speed 1.
    pub work: SimDuration,
}

impl Default for HealthCheckSpec {
    /// A `[health_check]` table with no keys: every 10 s (the seed's health-aware
    /// balancer), a 5 s timeout, HAProxy's fall 3 and rise 2, 10% jitter and 1 ms of work
    /// per check.
    fn default() -> Self {
        HealthCheckSpec {
            interval: SimDuration::from_secs(10),
            timeout: SimDuration::from_secs(5),
            unhealthy_threshold: 3,
            healthy_threshold: 2,
            jitter: Fraction::from_millionths(100_000),
            work: SimDuration::from_millis(1),
        }
    }
}

/// A change of a server's health, for the world to act on and record.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum HealthTransition {
    BecameUnhealthy,
    BecameHealthy,
}

/// One server's checking state.
#[derive(Copy, Clone, Debug, Default)]
struct Health {
    checked: bool,
    healthy: bool,
    /// No check has answered yet: one pass is enough.
    first_check: bool,
    /// Consecutive results against the current state: passes while unhealthy, failures
    /// while healthy. A result agreeing with the state resets it.
    streak: u32,
}

/// The health of every checked server, by id.
#[derive(Debug)]
pub struct HealthChecks {
    spec: HealthCheckSpec,
    /// Half the width of the jitter band, in nanoseconds (at most interval − 1, so that
    /// every delay is positive).
    jitter_span: u64,
    servers: Vec<Health>,
}

impl HealthChecks {
    pub fn new(spec: &HealthCheckSpec) -> Self {
        let interval = spec.interval.as_nanos();
        let jitter_span = (spec.jitter.of(interval)).min(interval.saturating_sub(1));
        HealthChecks {
            spec: spec.clone(),
            jitter_span,
            servers: Vec::new(),
        }
    }

    pub fn spec(&self) -> &HealthCheckSpec {
        &self.spec
    }

    /// Starts checking server `id`: healthy at once (a server of the warm cluster at time
    /// zero) or unhealthy until its first passed check (a newcomer).
    pub fn add_server(&mut self, id: ServerId, initially_healthy: bool) {
        let index = id.index();
        if self.servers.len() <= index {
            self.servers.resize(index + 1, Health::default());
        }
        self.servers[index] = Health {
            checked: true,
            healthy: initially_healthy,
            first_check: !initially_healthy,
            streak: 0,
        };
    }

    /// Stops checking server `id` (it left the cluster); a result still on its way for it
    /// is ignored.
    pub fn remove_server(&mut self, id: ServerId) {
        if let Some(server) = self.servers.get_mut(id.index())
            && server.checked
        {
            *server = Health::default();
        }
    }

    /// How long until the next check of a server: `interval` moved by up to ±`jitter` of
    /// itself, uniformly, in whole nanoseconds. Draws once from `rng`, or not at all when
    /// the jitter is zero.
    pub fn next_delay(&self, rng: &mut SimRng) -> SimDuration {
        let interval = self.spec.interval.as_nanos();
        if self.jitter_span == 0 {
            return self.spec.interval;
        }
        let offset = rng.random_range(0..=2 * self.jitter_span);
        SimDuration::from_nanos(interval - self.jitter_span + offset)
    }

    /// A check of server `id` passed or failed: the transition it caused, if any.
    pub fn on_result(&mut self, id: ServerId, passed: bool) -> Option<HealthTransition> {
        let server = self.servers.get_mut(id.index()).filter(|s| s.checked)?;
        let first_check = std::mem::replace(&mut server.first_check, false);
        if passed == server.healthy {
            server.streak = 0;
            return None;
        }
        server.streak += 1;
        let threshold = if passed {
            self.spec.healthy_threshold
        } else {
            self.spec.unhealthy_threshold
        };
        if !(server.streak >= threshold || (passed && first_check)) {
            return None;
        }
        server.streak = 0;
        server.healthy = passed;
        Some(if passed {
            HealthTransition::BecameHealthy
        } else {
            HealthTransition::BecameUnhealthy
        })
    }

    /// Whether server `id` is checked and healthy.
    pub fn is_healthy(&self, id: ServerId) -> bool {
        self.servers
            .get(id.index())
            .is_some_and(|s| s.checked && s.healthy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn checks() -> HealthChecks {
        HealthChecks::new(&HealthCheckSpec::default())
    }

    const A: ServerId = ServerId(0);
    const B: ServerId = ServerId(1);

    #[test]
    fn a_healthy_server_goes_down_after_exactly_unhealthy_threshold_failures() {
        let mut hc = checks();
        hc.add_server(A, true);
        assert_eq!(hc.on_result(A, false), None);
        assert_eq!(hc.on_result(A, false), None);
        assert!(hc.is_healthy(A));
        assert_eq!(
            hc.on_result(A, false),
            Some(HealthTransition::BecameUnhealthy)
        );
        assert!(!hc.is_healthy(A));
        // Further failures change nothing.
        assert_eq!(hc.on_result(A, false), None);
    }

    #[test]
    fn a_pass_between_failures_restarts_the_count() {
        let mut hc = checks();
        hc.add_server(A, true);
        let results = [false, false, true, false, false, true, false, false];
        assert!(results.iter().all(|&r| hc.on_result(A, r).is_none()));
        assert!(hc.is_healthy(A));
        assert_eq!(
            hc.on_result(A, false),
            Some(HealthTransition::BecameUnhealthy)
        );
    }

    #[test]
    fn an_unhealthy_server_comes_back_after_exactly_healthy_threshold_passes() {
        let mut hc = checks();
        hc.add_server(A, true);
        for _ in 0..3 {
            hc.on_result(A, false);
        }
        assert_eq!(hc.on_result(A, true), None);
        assert_eq!(hc.on_result(A, false), None);
        assert_eq!(hc.on_result(A, true), None);
        assert_eq!(hc.on_result(A, true), Some(HealthTransition::BecameHealthy));
        assert!(hc.is_healthy(A));
    }

    #[test]
    fn a_newcomer_is_healthy_after_its_first_pass_as_in_envoy() {
        let mut hc = checks();
        hc.add_server(A, false);
        assert!(!hc.is_healthy(A));
        assert_eq!(hc.on_result(A, true), Some(HealthTransition::BecameHealthy));

        // A newcomer whose first check fails needs the full healthy threshold.
        hc.add_server(B, false);
        assert_eq!(hc.on_result(B, false), None);
        assert_eq!(hc.on_result(B, true), None);
        assert_eq!(hc.on_result(B, true), Some(HealthTransition::BecameHealthy));
        assert!(hc.is_healthy(A) && hc.is_healthy(B));
    }

    #[test]
    fn a_removed_server_is_forgotten_and_its_late_results_ignored() {
        let mut hc = checks();
        hc.add_server(A, true);
        hc.add_server(B, true);
        hc.remove_server(A);
        assert!(!hc.is_healthy(A));
        for _ in 0..5 {
            assert_eq!(hc.on_result(A, false), None);
        }
        assert_eq!(hc.on_result(ServerId(9), true), None);
        assert!(!hc.is_healthy(A) && hc.is_healthy(B));
        assert!(!hc.is_healthy(ServerId(9)));
    }

    #[test]
    fn delays_stay_within_the_jitter_band_and_cover_it() {
        let hc = checks();
        let mut rng = stream(1, 0, 0);
        let delays: Vec<u64> = (0..2000)
            .map(|_| hc.next_delay(&mut rng).as_nanos())
            .collect();
        // 10 s ± 10%: [9 s, 11 s].
        assert!(
            delays
                .iter()
                .all(|&d| (9_000_000_000..=11_000_000_000).contains(&d))
        );
        // Uniform over the band: of 2000 draws, each tenth of the band gets none with
        // probability 0.9^2000, about 1e-92.
        let mut deciles = [0u32; 10];
        for &d in &delays {
            deciles[((d - 9_000_000_000) / 200_000_001) as usize] += 1;
        }
        assert!(deciles.iter().all(|&n| n > 0), "{deciles:?}");
        let still = HealthChecks::new(&HealthCheckSpec {
            jitter: Fraction::ZERO,
            ..HealthCheckSpec::default()
        });
        assert_eq!(still.next_delay(&mut rng), SimDuration::from_secs(10));
    }

    #[test]
    fn full_jitter_never_gives_a_zero_delay() {
        let hc = HealthChecks::new(&HealthCheckSpec {
            interval: SimDuration::from_nanos(3),
            jitter: Fraction::ONE,
            ..HealthCheckSpec::default()
        });
        let mut rng = stream(1, 0, 0);
        assert!((0..100).all(|_| (1..=5).contains(&hc.next_delay(&mut rng).as_nanos())));
    }
}
