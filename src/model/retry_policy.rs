//! Client resilience: a timeout per attempt, retries with backoff, and a retry budget —
//! the `[client]` section. Pure decisions: the world keeps the attempts, asks here whether
//! a failed one is retried and after how long, and arms the timers.
//!
//! **Backoff** is exponential with "full jitter" (AWS Architecture Blog, "Exponential
//! Backoff And Jitter"): the `n`th retry waits a uniform draw from `[0, min(max, base ×
//! 2^(n−1))]`. Clients that failed together then retry apart instead of in synchronized
//! waves. Envoy's defaults set the scale (`base_interval` 25 ms, `max_interval` ten times
//! that), and Envoy's `JitteredExponentialBackOffStrategy::nextBackOffMs` draws the same
//! band (`random() % interval`, the interval doubling up to the max; open at the top,
//! where this one is closed; its router documentation states `[0, (2^n − 1) × base)`).
//!
//! **The retry budget** caps retries in flight to a share of all active requests, so that
//! a failing backend does not see its load multiplied by the retry count exactly when it
//! can least take it: Envoy's `retry_budget` (`budget_percent` 20%, `min_retry_concurrency`
//! 3), whose limit is `max(budget_percent × active, min_retry_concurrency)` with the
//! retries themselves counted among the active requests (`RetryBudgetImpl::canCreate`:
//! `count() < max()`). Finagle's `RetryBudget` bounds retries to a share of requests over
//! a time window instead; the concurrent form needs no window.
//!
//! **What is retried** is configurable (Envoy's `retry_on`): by default a timeout, a server
//! that went down holding the attempt or was down when it was sent, and a rejection by a
//! full queue (and what counts as one: a full tier, no memory, an error response, a pool
//! timeout, a database down) — failures another server may well not repeat. Not, by
//! default, an open circuit breaker or the absence of any healthy server: retrying those
//! only adds load, which is what the breaker and the panic threshold are there to shed.

use rand::RngExt;

use super::fraction::Fraction;
use super::outcome::FailReason;
use crate::engine::{SimDuration, SimRng};

/// `[client]`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientSpec {
    /// How long an attempt may take before the client gives up on it; `None` waits
    /// forever.
    pub timeout: Option<SimDuration>,
    /// How long a request may take over all its attempts and backoffs, from its first
    /// arrival (Envoy's route `timeout`); `None` waits forever.
    pub request_timeout: Option<SimDuration>,
    /// Retries per request at most (attempts are one more).
    pub retries: u32,
    pub backoff: Backoff,
    /// `None` allows any number of retries at once.
    pub retry_budget: Option<RetryBudget>,
    pub retry_on: RetryOn,
    /// Envoy's `previous_hosts` retry host predicate, when on.
    pub previous_hosts: Option<PreviousHosts>,
    /// Envoy's `hedge_policy.hedge_on_per_try_timeout`: a per-try timeout does not give
    /// up on the attempt, and the retry it may send races it (see
    /// [`ClientCalls`](super::client_calls::ClientCalls)).
    pub hedge_on_per_try_timeout: bool,
}

/// Envoy's `previous_hosts` retry host predicate (`envoy.retry_host_predicates.
/// previous_hosts`, which Istio turns on for every route): a retry's pick that lands on a
/// host an earlier attempt of the same request went to is made again, up to
/// `reselections` more times (`host_selection_retry_max_attempts`), and the last pick goes
/// if none lands elsewhere (`LoadBalancerBase::chooseHost`: "If we didn't find anything,
/// return the last host"). A retry after a hung or failing host then tends to go
/// elsewhere instead of back to it by chance — or, under round robin, by the rotation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PreviousHosts {
    pub reselections: u32,
}

impl PreviousHosts {
    /// Envoy's default `host_selection_retry_max_attempts`: one reselection.
    pub const DEFAULT_RESELECTIONS: u32 = 1;
}

impl Default for ClientSpec {
    /// A `[client]` table with no keys: no timeout, no retries, Envoy's backoff and retry
    /// budget, retrying timeouts, crashes, refused connections and rejections.
    fn default() -> Self {
        ClientSpec {
            timeout: None,
            request_timeout: None,
            retries: 0,
            backoff: Backoff::DEFAULT,
            retry_budget: Some(RetryBudget::DEFAULT),
            retry_on: RetryOn::DEFAULT,
            previous_hosts: None,
            hedge_on_per_try_timeout: false,
        }
    }
}

/// Exponential backoff with full jitter.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The cap on the first retry's delay.
    pub base: SimDuration,
    /// The cap on any delay; at least `base`.
    pub max: SimDuration,
}

impl Backoff {
    /// Envoy's: 25 ms, at most 250 ms.
    pub const DEFAULT: Backoff = Backoff {
        base: SimDuration::from_millis(25),
        max: SimDuration::from_millis(250),
    };

    /// The longest the `retry`th retry (1 for the first) may wait: `base × 2^(retry−1)`,
    /// at most `max`.
    pub fn cap(&self, retry: u32) -> SimDuration {
        let doubled = 1u64
            .checked_shl(retry.saturating_sub(1))
            .and_then(|factor| self.base.as_nanos().checked_mul(factor))
            .unwrap_or(u64::MAX);
        SimDuration::from_nanos(doubled.min(self.max.as_nanos()))
    }

    /// The delay before the `retry`th retry: uniform over `[0, cap(retry)]` in whole
    /// nanoseconds, one draw from `rng`.
    pub fn delay(&self, retry: u32, rng: &mut SimRng) -> SimDuration {
        SimDuration::from_nanos(rng.random_range(0..=self.cap(retry).as_nanos()))
    }
}

/// Retries that may be in flight at once.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    /// The share of active requests that may be retries.
    pub share: Fraction,
    /// Retries allowed at once however few requests are active.
    pub min_concurrency: u32,
}

impl RetryBudget {
    /// Envoy's: 20%, at least 3.
    pub const DEFAULT: RetryBudget = RetryBudget {
        share: Fraction::from_millionths(200_000),
        min_concurrency: 3,
    };

    /// Whether one more retry fits, with `active_requests` in flight (first attempts and
    /// retries alike) of which `active_retries` are retries.
    pub fn may_retry(&self, active_requests: u64, active_retries: u64) -> bool {
        let limit = self
            .share
            .of(active_requests)
            .max(u64::from(self.min_concurrency));
        active_retries < limit
    }
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RetryCondition {
    /// The client's timeout fired first.
    Timeout,
    /// Its server went down (crashed, or was removed) while holding it.
    Crash,
    /// Its server was down when it was sent: the connection was refused (Envoy's
    /// `connect-failure`).
    ServerDown,
    /// A full queue turned it away, or a refusal or an error like one (a 503): a full tier,
    /// no memory, an error response, a pool timeout, a database down.
    Rejected,
    /// No server was healthy (or none was there) to send it to.
    NoHealthyServer,
    /// The backend's circuit breaker refused it.
    CircuitOpen,
}

impl RetryCondition {
    /// Every condition, in the order of their names.
    pub const ALL: [RetryCondition; 6] = [
        RetryCondition::Timeout,
        RetryCondition::Crash,
        RetryCondition::ServerDown,
        RetryCondition::Rejected,
        RetryCondition::NoHealthyServer,
        RetryCondition::CircuitOpen,
    ];

    /// The kebab-case name in `retry_on`.
    pub fn name(self) -> &'static str {
        match self {
            RetryCondition::Timeout => "timeout",
            RetryCondition::Crash => "crash",
            RetryCondition::ServerDown => "server-down",
            RetryCondition::Rejected => "rejected",
            RetryCondition::NoHealthyServer => "no-healthy-server",
            RetryCondition::CircuitOpen => "circuit-open",
        }
    }

    pub fn from_name(name: &str) -> Option<RetryCondition> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The condition of a request that failed for `reason` (a rejection by a full queue at
    /// its server is an outcome of its own, [`RetryCondition::Rejected`]).
    pub fn of_failure(reason: FailReason) -> RetryCondition {
        match reason {
            // HAProxy answers 503 when a stuck session's server is down and it may not
            // redispatch, as when no server is available.
            FailReason::NoServer | FailReason::PinnedUnavailable => RetryCondition::NoHealthyServer,
            FailReason::ServerRemoved | FailReason::Crash => RetryCondition::Crash,
            // A 503 from a full tier or a server out of memory is a refusal; so, until a
            // `5xx` condition exists, is an error response; the application answers a query
            // it could not make with an error of its own, a 503 to the client too.
            FailReason::TierRejected
            | FailReason::OutOfMemory
            | FailReason::ErrorResponse
            | FailReason::PoolTimeout
            | FailReason::DatabaseDown => RetryCondition::Rejected,
            FailReason::ServerDown => RetryCondition::ServerDown,
            FailReason::Timeout => RetryCondition::Timeout,
            FailReason::CircuitOpen => RetryCondition::CircuitOpen,
        }
    }

    fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// A set of retryable conditions.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RetryOn(u8);

impl RetryOn {
    pub const NONE: RetryOn = RetryOn(0);
    /// Timeouts, crashes, refused connections and rejections.
    pub const DEFAULT: RetryOn = RetryOn(
        1 << RetryCondition::Timeout as u8
            | 1 << RetryCondition::Crash as u8
            | 1 << RetryCondition::ServerDown as u8
            | 1 << RetryCondition::Rejected as u8,
    );

    /// This set and `condition`.
    pub fn with(self, condition: RetryCondition) -> RetryOn {
        RetryOn(self.0 | condition.bit())
    }

    pub fn contains(self, condition: RetryCondition) -> bool {
        self.0 & condition.bit() != 0
    }
}

/// What to do about a failed attempt.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Send the next attempt after this delay.
    Retry { after: SimDuration },
    /// The failure is not in `retry_on`: the request fails.
    NotRetryable,
    /// The request has had all its retries.
    Exhausted,
    /// The retry budget is spent (Envoy's `upstream_rq_retry_overflow`).
    OverBudget,
}

/// The client's policy, built once per run from its spec.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    spec: ClientSpec,
}

impl RetryPolicy {
    pub fn new(spec: &ClientSpec) -> Self {
        RetryPolicy { spec: spec.clone() }
    }

    /// The timeout of every attempt, if any.
    pub fn timeout(&self) -> Option<SimDuration> {
        self.spec.timeout
    }

    /// The timeout of a request over all its attempts, if any.
    pub fn request_timeout(&self) -> Option<SimDuration> {
        self.spec.request_timeout
    }

    /// The delay before the `retry`th retry (1 for the first), drawn from `rng`.
    pub fn backoff(&self, retry: u32, rng: &mut SimRng) -> SimDuration {
        self.spec.backoff.delay(retry, rng)
    }

    /// An attempt of a request that has had `retries_so_far` retries failed for
    /// `condition`, with `active_requests` in flight of which `active_retries` are retries:
    /// retry (the delay drawn from `rng`, only then) or give up, and why.
    pub fn decide(
        &self,
        condition: RetryCondition,
        retries_so_far: u32,
        active_requests: u64,
        active_retries: u64,
        rng: &mut SimRng,
    ) -> RetryDecision {
        if !self.spec.retry_on.contains(condition) {
            RetryDecision::NotRetryable
        } else {
            self.decide_hedge(retries_so_far, active_requests, active_retries, rng)
        }
    }

    /// [`Self::decide`] for a per-try timeout with hedging on, which `retry_on` does not
    /// filter: Envoy's `shouldHedgeRetryPerTryTimeout` ("A hedged retry on per try timeout
    /// is always retried if there are retries left") asks `shouldRetry` with a decision to
    /// retry, so only the count and the budget may refuse it.
    pub fn decide_hedge(
        &self,
        retries_so_far: u32,
        active_requests: u64,
        active_retries: u64,
        rng: &mut SimRng,
    ) -> RetryDecision {
        if retries_so_far >= self.spec.retries {
            RetryDecision::Exhausted
        } else if self
            .spec
            .retry_budget
            .is_some_and(|budget| !budget.may_retry(active_requests, active_retries))
        {
            RetryDecision::OverBudget
        } else {
            RetryDecision::Retry {
                after: self.backoff(retries_so_far + 1, rng),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    const MS: u64 = 1_000_000;

    #[test]
    fn the_backoff_cap_doubles_from_base_up_to_max() {
        let caps: Vec<u64> = (1..=6)
            .map(|n| Backoff::DEFAULT.cap(n).as_nanos() / MS)
            .collect();
        assert_eq!(caps, [25, 50, 100, 200, 250, 250]);
        // No overflow however many retries.
        assert_eq!(Backoff::DEFAULT.cap(64), SimDuration::from_millis(250));
        assert_eq!(
            Backoff::DEFAULT.cap(u32::MAX),
            SimDuration::from_millis(250)
        );
    }

    #[test]
    fn backoff_delays_spread_over_the_whole_band() {
        let mut rng = stream(3, 0, 0);
        for retry in 1..=5 {
            let cap = Backoff::DEFAULT.cap(retry).as_nanos();
            let delays: Vec<u64> = (0..1000)
                .map(|_| Backoff::DEFAULT.delay(retry, &mut rng).as_nanos())
                .collect();
            assert!(delays.iter().all(|&d| d <= cap));
            // Uniform on [0, cap]: no draw in the lowest (or highest) tenth has
            // probability 0.9^1000, about 2e-46.
            assert!(delays.iter().any(|&d| d < cap / 10));
            assert!(delays.iter().any(|&d| d > cap - cap / 10));
        }
    }

    #[test]
    fn the_budget_refuses_the_fourth_concurrent_retry_at_20_percent_of_10() {
        let budget = RetryBudget::DEFAULT;
        // 20% of 10 is 2, below the minimum of 3.
        assert!(budget.may_retry(10, 0));
        assert!(budget.may_retry(10, 2));
        assert!(!budget.may_retry(10, 3));
        // 20% of 50 is 10.
        assert!(budget.may_retry(50, 9));
        assert!(!budget.may_retry(50, 10));
        let none = RetryBudget {
            share: Fraction::ZERO,
            min_concurrency: 0,
        };
        assert!(!none.may_retry(1000, 0));
    }

    fn policy(retries: u32) -> RetryPolicy {
        RetryPolicy::new(&ClientSpec {
            retries,
            ..ClientSpec::default()
        })
    }

    #[test]
    fn decisions_check_the_condition_then_the_count_then_the_budget() {
        let mut rng = stream(3, 0, 0);
        let policy = policy(2);
        assert_eq!(
            policy.decide(RetryCondition::CircuitOpen, 0, 10, 0, &mut rng),
            RetryDecision::NotRetryable
        );
        assert_eq!(
            policy.decide(RetryCondition::Timeout, 2, 10, 0, &mut rng),
            RetryDecision::Exhausted
        );
        assert_eq!(
            policy.decide(RetryCondition::Timeout, 1, 10, 3, &mut rng),
            RetryDecision::OverBudget
        );
        let RetryDecision::Retry { after } =
            policy.decide(RetryCondition::Crash, 1, 10, 2, &mut rng)
        else {
            panic!("a retry")
        };
        // The second retry waits at most base × 2.
        assert!(after <= SimDuration::from_millis(50));
    }

    #[test]
    fn without_a_budget_retries_are_only_limited_by_their_count() {
        let mut rng = stream(3, 0, 0);
        let policy = RetryPolicy::new(&ClientSpec {
            retries: 1,
            retry_budget: None,
            ..ClientSpec::default()
        });
        assert!(matches!(
            policy.decide(RetryCondition::Rejected, 0, 1, 1_000_000, &mut rng),
            RetryDecision::Retry { .. }
        ));
    }

    #[test]
    fn the_default_client_never_retries_and_never_times_out() {
        let mut rng = stream(3, 0, 0);
        let policy = RetryPolicy::new(&ClientSpec::default());
        assert_eq!(policy.timeout(), None);
        assert_eq!(
            policy.decide(RetryCondition::Timeout, 0, 0, 0, &mut rng),
            RetryDecision::Exhausted
        );
    }

    #[test]
    fn retry_on_sets_are_built_from_names() {
        let all = RetryCondition::ALL
            .iter()
            .fold(RetryOn::NONE, |set, &c| set.with(c));
        assert!(RetryCondition::ALL.iter().all(|&c| all.contains(c)));
        assert_eq!(
            RetryCondition::from_name("no-healthy-server"),
            Some(RetryCondition::NoHealthyServer)
        );
        assert_eq!(RetryCondition::from_name("5xx"), None);
        let default: Vec<&str> = RetryCondition::ALL
            .iter()
            .filter(|&&c| RetryOn::DEFAULT.contains(c))
            .map(|c| c.name())
            .collect();
        assert_eq!(default, ["timeout", "crash", "server-down", "rejected"]);
        assert_eq!(
            RetryCondition::of_failure(FailReason::ServerRemoved),
            RetryCondition::Crash
        );
        assert_eq!(
            RetryCondition::of_failure(FailReason::NoServer),
            RetryCondition::NoHealthyServer
        );
    }
}
