//! A circuit breaker per backend: stop sending requests to a server that fails most of
//! them, so that it can recover and callers fail fast instead of waiting on it.
//!
//! The state machine is Hystrix's and resilience4j's: **closed** while the failure rate
//! over a sliding `window` stays below `failure_rate`; **open** for `open_for` once it
//! reaches it with at least `min_requests` answers in the window (every request is then
//! refused); **half-open** after that, letting `probes` requests through: all succeed and
//! it closes with a fresh window, any fails and it opens again. resilience4j closes or
//! reopens on the failure rate of its half-open calls; reopening on the first failed
//! probe is Hystrix's single-probe rule applied to each of several probes.
//!
//! The window is counted in O(1) per answer, as Hystrix's rolling statistics are: ten
//! buckets of a tenth of the window each, the oldest cleared as time moves on, so the
//! failure rate covers between nine and ten tenths of the window.
//!
//! Separately, `max_pending` bounds the requests waiting in a backend's queue — Envoy's
//! `max_pending_requests` circuit breaker, whose pending requests are those waiting for a
//! connection to the host. A request beyond it is refused at once, without waiting for
//! the failure rate to notice anything, which is what keeps a slow backend from turning
//! every caller's queue into a backlog.
//!
//! Answers are not tied to the state in which their request was sent: a late answer to a
//! request sent before the breaker opened counts, in half-open, as a probe's, as
//! resilience4j records each call in the state the breaker is in when the call completes.
//! The breaker leaves the open state only when the world, having armed a timer at the
//! [`BreakerTransition::Opened`] deadline, calls [`CircuitBreakers::half_open`], so every
//! transition happens, and is recorded, at its exact instant.

use super::fraction::Fraction;
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;

/// `[circuit_breaker]`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct CircuitBreakerSpec {
    /// How far back the failure rate looks (counted in tenths; a window under 10 ns
    /// counts over ten buckets of 1 ns).
    pub window: SimDuration,
    /// The failure rate, over the window, that opens the breaker; `None` never opens it on
    /// failures (`max_pending` still bounds the queue), so that a sweep can compare a
    /// cluster with and without the breaker.
    pub failure_rate: Option<Fraction>,
    /// Answers needed in the window before the rate is trusted.
    pub min_requests: u32,
    /// How long the breaker stays open before probing.
    pub open_for: SimDuration,
    /// Requests let through when half-open; all must succeed to close.
    pub probes: u32,
    /// Requests that may wait in a backend's queue; beyond it they are refused. `None` is
    /// unbounded.
    pub max_pending: Option<u32>,
}

impl Default for CircuitBreakerSpec {
    /// A `[circuit_breaker]` table with no keys: a 10 s window (Hystrix's
    /// `metrics.rollingStats.timeInMilliseconds`), opening at 50% failures of at least 20
    /// requests (Hystrix's `errorThresholdPercentage` and `requestVolumeThreshold`), open
    /// for 30 s, 3 probes, no bound on pending requests.
    fn default() -> Self {
        CircuitBreakerSpec {
            window: SimDuration::from_secs(10),
            failure_rate: Some(Fraction::from_millionths(500_000)),
            min_requests: 20,
            open_for: SimDuration::from_secs(30),
            probes: 3,
            max_pending: None,
        }
    }
}

/// Where a breaker is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
    HalfOpen,
}

impl BreakerState {
    /// The name events.csv and the trace view use.
    pub fn name(self) -> &'static str {
        match self {
            BreakerState::Closed => "closed",
            BreakerState::Open => "open",
            BreakerState::HalfOpen => "half-open",
        }
    }
}

/// A breaker changed state: what the world records, and acts on (arming a timer at
/// `until` for an opening).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BreakerTransition {
    /// Refusing everything until `until`, when the world calls
    /// [`CircuitBreakers::half_open`].
    Opened {
        until: SimTime,
    },
    HalfOpened,
    Closed,
}

impl BreakerTransition {
    /// The state the breaker is in after the transition.
    pub fn to(self) -> BreakerState {
        match self {
            BreakerTransition::Opened { .. } => BreakerState::Open,
            BreakerTransition::HalfOpened => BreakerState::HalfOpen,
            BreakerTransition::Closed => BreakerState::Closed,
        }
    }
}

/// Buckets in a window.
const BUCKETS: usize = 10;

#[derive(Copy, Clone, Debug, Default)]
struct Bucket {
    answered: u32,
    failed: u32,
}

/// One backend's breaker.
#[derive(Copy, Clone, Debug)]
struct Breaker {
    tracked: bool,
    state: BreakerState,
    /// Open: when it may half-open.
    until: SimTime,
    /// Half-open: probes let through, and probes answered successfully.
    probes_sent: u32,
    probes_passed: u32,
    buckets: [Bucket; BUCKETS],
    /// The bucket number (time / bucket width) of the newest bucket.
    newest: u64,
    answered: u32,
    failed: u32,
}

impl Breaker {
    const CLOSED: Breaker = Breaker {
        tracked: false,
        state: BreakerState::Closed,
        until: SimTime::ZERO,
        probes_sent: 0,
        probes_passed: 0,
        buckets: [Bucket {
            answered: 0,
            failed: 0,
        }; BUCKETS],
        newest: 0,
        answered: 0,
        failed: 0,
    };

    /// Moves the window on to bucket number `number`, clearing those it passes.
    fn advance(&mut self, number: u64) {
        if number <= self.newest {
            return;
        }
        let steps = (number - self.newest).min(BUCKETS as u64);
        for step in 1..=steps {
            let bucket = &mut self.buckets[((self.newest + step) % BUCKETS as u64) as usize];
            self.answered -= bucket.answered;
            self.failed -= bucket.failed;
            *bucket = Bucket::default();
        }
        self.newest = number;
    }

    /// Forgets the window (on closing and opening).
    fn clear_window(&mut self) {
        self.buckets = [Bucket::default(); BUCKETS];
        self.answered = 0;
        self.failed = 0;
    }
}

/// The breakers of every backend, by server id.
#[derive(Debug)]
pub struct CircuitBreakers {
    spec: CircuitBreakerSpec,
    /// The width of one bucket, in nanoseconds (at least 1).
    bucket_width: u64,
    breakers: Vec<Breaker>,
}

impl CircuitBreakers {
    pub fn new(spec: &CircuitBreakerSpec) -> Self {
        CircuitBreakers {
            spec: spec.clone(),
            bucket_width: (spec.window.as_nanos() / BUCKETS as u64).max(1),
            breakers: Vec::new(),
        }
    }

    pub fn spec(&self) -> &CircuitBreakerSpec {
        &self.spec
    }

    /// Backend `id` joins, its breaker closed.
    pub fn add_server(&mut self, id: ServerId) {
        let index = id.index();
        if self.breakers.len() <= index {
            self.breakers.resize(index + 1, Breaker::CLOSED);
        }
        self.breakers[index] = Breaker {
            tracked: true,
            ..Breaker::CLOSED
        };
    }

    /// Backend `id` leaves; its pending timer, if any, will find nothing to do.
    pub fn remove_server(&mut self, id: ServerId) {
        if let Some(breaker) = self.breakers.get_mut(id.index()) {
            *breaker = Breaker::CLOSED;
        }
    }

    /// Whether a request may be sent to backend `id`, whose queue holds `queued`
    /// requests: not while open, only the remaining probes while half-open, and never
    /// past `max_pending`. A refusal fails the request with `circuit-open`. A request let
    /// through while half-open is a probe.
    pub fn allow(&mut self, id: ServerId, queued: u32) -> bool {
        if self.spec.max_pending.is_some_and(|max| queued >= max) {
            return false;
        }
        let Some(breaker) = self.breakers.get_mut(id.index()).filter(|b| b.tracked) else {
            return true;
        };
        match breaker.state {
            BreakerState::Closed => true,
            BreakerState::Open => false,
            BreakerState::HalfOpen => {
                if breaker.probes_sent < self.spec.probes {
                    breaker.probes_sent += 1;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// A request to backend `id` was answered at `now`, successfully or not: the
    /// transition it caused, if any. `now` never goes back between calls for one backend.
    pub fn on_result(&mut self, id: ServerId, now: SimTime, ok: bool) -> Option<BreakerTransition> {
        let spec = &self.spec;
        let breaker = self.breakers.get_mut(id.index()).filter(|b| b.tracked)?;
        match breaker.state {
            BreakerState::Open => None,
            BreakerState::HalfOpen if ok => {
                breaker.probes_passed += 1;
                if breaker.probes_passed < spec.probes {
                    return None;
                }
                breaker.state = BreakerState::Closed;
                breaker.clear_window();
                breaker.newest = now.as_nanos() / self.bucket_width;
                Some(BreakerTransition::Closed)
            }
            BreakerState::HalfOpen => Some(Self::open(breaker, spec, now)),
            BreakerState::Closed => {
                let number = now.as_nanos() / self.bucket_width;
                breaker.advance(number);
                let bucket = &mut breaker.buckets[(number % BUCKETS as u64) as usize];
                bucket.answered += 1;
                breaker.answered += 1;
                if !ok {
                    bucket.failed += 1;
                    breaker.failed += 1;
                }
                let trips = breaker.answered >= spec.min_requests
                    && spec.failure_rate.is_some_and(|rate| {
                        rate.ratio_cmp(u64::from(breaker.failed), u64::from(breaker.answered))
                            .is_ge()
                    });
                trips.then(|| Self::open(breaker, spec, now))
            }
        }
    }

    fn open(breaker: &mut Breaker, spec: &CircuitBreakerSpec, now: SimTime) -> BreakerTransition {
        breaker.state = BreakerState::Open;
        breaker.until = now + spec.open_for;
        breaker.clear_window();
        BreakerTransition::Opened {
            until: breaker.until,
        }
    }

    /// The timer armed at an opening fired at `now`: backend `id` half-opens, unless the
    /// timer is stale (the backend left, or the breaker is not open until `now`).
    pub fn half_open(&mut self, id: ServerId, now: SimTime) -> Option<BreakerTransition> {
        let breaker = self
            .breakers
            .get_mut(id.index())
            .filter(|b| b.tracked && b.state == BreakerState::Open && b.until <= now)?;
        breaker.state = BreakerState::HalfOpen;
        breaker.probes_sent = 0;
        breaker.probes_passed = 0;
        Some(BreakerTransition::HalfOpened)
    }

    /// Backend `id`'s breaker state (closed for a backend not tracked).
    pub fn state(&self, id: ServerId) -> BreakerState {
        self.breakers
            .get(id.index())
            .filter(|b| b.tracked)
            .map_or(BreakerState::Closed, |b| b.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ServerId = ServerId(0);

    fn ms(millis: u64) -> SimTime {
        SimTime::from_nanos(millis * 1_000_000)
    }

    fn breakers(spec: CircuitBreakerSpec) -> CircuitBreakers {
        let mut breakers = CircuitBreakers::new(&spec);
        breakers.add_server(A);
        breakers
    }

    #[test]
    fn it_opens_at_exactly_the_failure_rate_with_enough_requests() {
        let mut b = breakers(CircuitBreakerSpec::default());
        // 10 successes then 9 failures: 19 answers, under min_requests.
        for _ in 0..10 {
            assert_eq!(b.on_result(A, ms(100), true), None);
        }
        for _ in 0..9 {
            assert_eq!(b.on_result(A, ms(100), false), None);
        }
        assert_eq!(b.state(A), BreakerState::Closed);
        // The 20th answer, a failure: 10 of 20 is exactly 50%.
        assert_eq!(
            b.on_result(A, ms(100), false),
            Some(BreakerTransition::Opened { until: ms(30_100) })
        );
        assert_eq!(b.state(A), BreakerState::Open);
        assert!(!b.allow(A, 0));
    }

    #[test]
    fn it_stays_closed_just_below_the_failure_rate() {
        let mut b = breakers(CircuitBreakerSpec::default());
        for _ in 0..11 {
            b.on_result(A, ms(0), true);
        }
        for _ in 0..10 {
            assert_eq!(b.on_result(A, ms(0), false), None, "10 of 21 < 50%");
        }
        assert!(b.allow(A, 0));
    }

    #[test]
    fn with_the_failure_rate_off_it_never_opens_but_still_bounds_the_queue() {
        let mut b = breakers(CircuitBreakerSpec {
            failure_rate: None,
            max_pending: Some(2),
            ..CircuitBreakerSpec::default()
        });
        for _ in 0..1000 {
            assert_eq!(b.on_result(A, ms(100), false), None);
        }
        assert_eq!(b.state(A), BreakerState::Closed);
        assert!(b.allow(A, 1));
        assert!(!b.allow(A, 2), "a third pending request overflows");
    }

    #[test]
    fn old_answers_slide_out_of_the_window() {
        let mut b = breakers(CircuitBreakerSpec::default());
        // 19 failures in the first second (bucket 0 of the 10 s window).
        for _ in 0..19 {
            b.on_result(A, ms(500), false);
        }
        // At 10.0 s bucket 10 replaces bucket 0: those 19 are gone.
        assert_eq!(b.on_result(A, ms(10_000), false), None);
        // At 9.999 s they would still have counted: 20 failures of 20.
        let mut b = breakers(CircuitBreakerSpec::default());
        for _ in 0..19 {
            b.on_result(A, ms(500), false);
        }
        assert!(b.on_result(A, ms(9_999), false).is_some());
    }

    #[test]
    fn it_half_opens_after_open_for_and_closes_after_the_probes_pass() {
        let mut b = breakers(CircuitBreakerSpec::default());
        for _ in 0..20 {
            b.on_result(A, ms(0), false);
        }
        assert_eq!(b.state(A), BreakerState::Open);
        // A timer that fires early does nothing.
        assert_eq!(b.half_open(A, ms(29_999)), None);
        assert_eq!(
            b.half_open(A, ms(30_000)),
            Some(BreakerTransition::HalfOpened)
        );
        // Three probes go through, the fourth request is refused.
        assert!(b.allow(A, 0) && b.allow(A, 0) && b.allow(A, 0));
        assert!(!b.allow(A, 0));
        assert_eq!(b.on_result(A, ms(30_010), true), None);
        assert_eq!(b.on_result(A, ms(30_020), true), None);
        assert_eq!(
            b.on_result(A, ms(30_030), true),
            Some(BreakerTransition::Closed)
        );
        assert_eq!(b.state(A), BreakerState::Closed);
        assert!(b.allow(A, 0));
        // The window starts afresh: 19 failures do not reopen it.
        for _ in 0..19 {
            assert_eq!(b.on_result(A, ms(30_040), false), None);
        }
    }

    #[test]
    fn a_failed_probe_opens_it_again_for_open_for() {
        let mut b = breakers(CircuitBreakerSpec::default());
        for _ in 0..20 {
            b.on_result(A, ms(0), false);
        }
        b.half_open(A, ms(30_000));
        assert!(b.allow(A, 0));
        assert_eq!(b.on_result(A, ms(30_005), true), None);
        assert_eq!(
            b.on_result(A, ms(30_010), false),
            Some(BreakerTransition::Opened { until: ms(60_010) })
        );
        assert!(!b.allow(A, 0));
        // Answers while open change nothing.
        assert_eq!(b.on_result(A, ms(30_020), true), None);
        assert_eq!(
            b.half_open(A, ms(60_010)),
            Some(BreakerTransition::HalfOpened)
        );
    }

    #[test]
    fn max_pending_refuses_requests_beyond_the_queue_bound() {
        let mut b = breakers(CircuitBreakerSpec {
            max_pending: Some(2),
            ..CircuitBreakerSpec::default()
        });
        assert!(b.allow(A, 0) && b.allow(A, 1));
        assert!(!b.allow(A, 2));
        // It applies even to a backend the breakers do not track.
        assert!(!b.allow(ServerId(5), 2));
        assert!(b.allow(ServerId(5), 1));
    }

    #[test]
    fn a_removed_backend_forgets_its_breaker_and_its_timer() {
        let mut b = breakers(CircuitBreakerSpec::default());
        for _ in 0..20 {
            b.on_result(A, ms(0), false);
        }
        b.remove_server(A);
        assert_eq!(b.state(A), BreakerState::Closed);
        assert_eq!(b.half_open(A, ms(30_000)), None);
        assert_eq!(b.on_result(A, ms(1), false), None);
    }

    #[test]
    fn a_success_that_brings_the_count_to_min_requests_can_open_it() {
        let mut b = breakers(CircuitBreakerSpec::default());
        for _ in 0..19 {
            b.on_result(A, ms(0), false);
        }
        // 19 failures of 20 answers.
        assert!(b.on_result(A, ms(0), true).is_some());
    }

    #[test]
    fn a_window_under_ten_nanoseconds_has_buckets_of_one() {
        let mut b = breakers(CircuitBreakerSpec {
            window: SimDuration::from_nanos(3),
            failure_rate: Some(Fraction::from_millionths(600_000)),
            min_requests: 1,
            ..CircuitBreakerSpec::default()
        });
        assert_eq!(b.on_result(A, SimTime::from_nanos(7), true), None);
        // 1 failure of 2 is under 60%.
        assert_eq!(b.on_result(A, SimTime::from_nanos(8), false), None);
        // Ten buckets later both are gone: 1 failure of 1.
        assert!(b.on_result(A, SimTime::from_nanos(18), false).is_some());
    }
}
