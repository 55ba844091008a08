//! Client timeouts and retries and circuit breakers in whole runs: every request ends once,
//! timed-out attempts stay on their servers and are never answered, the retry storm is
//! metastable without a budget, breakers move as computed by hand, runs are deterministic.

use std::collections::BTreeMap;
use std::path::Path;

use lbsim::balancer::{Algorithm, Backend, BalancerSpec};
use lbsim::engine::{SimDuration, SimTime, stream};
use lbsim::id::{ClientAddr, RequestKey, ServerId};
use lbsim::model::{
    Backoff, FailReason, Fraction, Observed, Observer, RequestId, RetryBudget, RunSpec, simulate,
    simulate_observed,
};
use lbsim::scenario::Scenario;
use lbsim::stats::{FIGURES, Figure, RunResult};
use proptest::prelude::*;

use crate::support::{lbsim, records, tree, write};

/// The variants of scenario `source`.
fn runs(source: &str) -> Vec<RunSpec> {
    Scenario::from_source(source, Path::new("x.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .variants
        .into_iter()
        .map(|v| v.run)
        .collect()
}

fn run(source: &str) -> RunSpec {
    runs(source).remove(0)
}

/// Failures by reason: the `failed_*` figures.
fn failed_by_reason(result: &RunResult) -> f64 {
    FIGURES
        .iter()
        .filter(|d| d.name.starts_with("failed_"))
        .map(|d| result.figures.get(d.figure).unwrap_or(0.0))
        .sum()
}

/// Follows every client request across its attempts, as the observer reports them.
#[derive(Default)]
struct Calls {
    /// The call each live attempt belongs to.
    call_of: BTreeMap<RequestId, usize>,
    /// Attempts the client gave up on.
    abandoned: BTreeMap<RequestId, usize>,
    /// Per call: how many ends it had.
    ends: Vec<u32>,
    /// Ends reported for an attempt after its timeout: must stay empty.
    answered_after_timeout: Vec<(SimTime, RequestId)>,
    timed_out: u64,
    retried: u64,
    hedges: u64,
}

impl Calls {
    /// `request` ended; `at_timeout` when as the final failure its timeout caused, the
    /// one end an abandoned attempt may have.
    fn end(&mut self, now: SimTime, request: RequestId, at_timeout: bool) {
        if !at_timeout && self.abandoned.contains_key(&request) {
            self.answered_after_timeout.push((now, request));
        }
        if let Some(call) = self.call_of.remove(&request) {
            self.ends[call] += 1;
        }
    }
}

impl Observer for Calls {
    fn observe(&mut self, now: SimTime, event: Observed<'_>) {
        match event {
            Observed::Arrived { request, .. } => {
                self.call_of.insert(request, self.ends.len());
                self.ends.push(0);
            }
            Observed::Retried {
                request,
                previous,
                hedge,
                ..
            } => {
                self.retried += 1;
                let call = self
                    .abandoned
                    .get(&previous)
                    .or(self.call_of.get(&previous))
                    .copied()
                    .expect("a retry follows an attempt of a live call");
                if hedge {
                    // An earlier attempt is still out, and may yet answer the call.
                    self.hedges += 1;
                } else {
                    self.call_of.remove(&previous);
                }
                self.call_of.insert(request, call);
            }
            Observed::TimedOut { request } => {
                self.timed_out += 1;
                let call = self.call_of[&request];
                self.abandoned.insert(request, call);
            }
            // Hedging: its per-try timeout fired, and its call still waits for it.
            Observed::Hedging { request, .. } => {
                self.timed_out += 1;
                assert!(self.call_of.contains_key(&request));
            }
            // Its call ended without it (or, by its request timeout, with it as its last
            // attempt, just reported failed): it must never be heard of again.
            Observed::Reset { request } => {
                let call = self.call_of.remove(&request).unwrap_or(usize::MAX);
                self.abandoned.insert(request, call);
            }
            Observed::Failed { request, reason } => {
                self.end(now, request, reason == FailReason::Timeout);
            }
            Observed::Completed { request, .. } | Observed::Rejected { request, .. } => {
                self.end(now, request, false);
            }
            _ => {}
        }
    }
}

/// A cluster of `servers` with queues of `queue`, under `rate`, with clients timing out
/// after `timeout_ms` and retrying `retries` times (budget `budget`, or none) within a
/// request timeout (`request_timeout`, a duration or "off"), and web-1 crashing for a
/// while.
fn stormy(
    servers: u32,
    queue: u32,
    rate: u32,
    timeout_ms: u32,
    retries: u32,
    budget: &str,
    request_timeout: &str,
) -> String {
    format!(
        "duration = \"20s\"\n\
         [workload]\nrate = [[\"0s\", {rate}], [\"5s\", {}], [\"8s\", {rate}]]\n\
         service = {{ dist = \"exponential\", mean = \"10ms\" }}\n\
         [[servers]]\nname = \"web\"\ncount = {servers}\nqueue = {queue}\n\
         [balancer]\nalgorithm = \"least-connections\"\n\
         [client]\ntimeout = \"{timeout_ms}ms\"\nretries = {retries}\nretry_budget = {budget}\n\
         request_timeout = \"{request_timeout}\"\n\
         retry_on = [\"timeout\", \"crash\", \"server-down\", \"rejected\", \"circuit-open\"]\n\
         [circuit_breaker]\nwindow = \"2s\"\nmin_requests = 10\nopen_for = \"500ms\"\n\
         [[timeline]]\nat = \"10s\"\naction = \"crash\"\nserver = \"web-1\"\ndowntime = \"3s\"\n",
        rate * 2
    )
}

/// `source`, its `[client]` hedging on its per-try timeouts or not.
fn with_hedging(source: &str, hedge: bool) -> String {
    source.replacen(
        "[client]\n",
        &format!("[client]\nhedge_on_per_try_timeout = {hedge}\n"),
        1,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Whatever the timeouts, retries and budget: every request ends in exactly one outcome
    /// or is still in flight, failures split exactly by reason, no timed-out attempt is
    /// ever answered, and the counts the run reports are those the observer saw.
    #[test]
    fn every_request_ends_once_under_timeouts_and_retries(
        servers in 2u32..6,
        queue in 5u32..200,
        load in 50u32..95,
        timeout_ms in 20u32..400,
        retries in 0u32..4,
        budget in prop_oneof![Just("\"off\"".to_string()), (0u32..=100).prop_map(|p| format!("{}", f64::from(p) / 100.0))],
        request_timeout in prop_oneof![Just("off".to_string()), (10u32..1500).prop_map(|ms| format!("{ms}ms"))],
        seed in 0u64..1000,
        hedge in any::<bool>(),
    ) {
        let rate = servers * 100 * load / 100;
        let source = stormy(servers, queue, rate, timeout_ms, retries, &budget, &request_timeout);
        let spec = run(&with_hedging(&source, hedge));
        let mut calls = Calls::default();
        let result = simulate_observed(&spec, seed, &mut calls);
        let c = result.counts;
        prop_assert!(c.is_conserved(), "{c:?}");
        prop_assert_eq!(c.failed as f64, failed_by_reason(&result));
        prop_assert_eq!(c.arrived, calls.ends.len() as u64);
        prop_assert!(calls.ends.iter().all(|&n| n <= 1), "a request ended twice");
        let ended = calls.ends.iter().filter(|&&n| n == 1).count() as u64;
        prop_assert_eq!(ended, c.completed + c.rejected + c.failed);
        prop_assert!(calls.answered_after_timeout.is_empty(), "{:?}", calls.answered_after_timeout);
        prop_assert_eq!(Some(calls.timed_out as f64), result.figures.get(Figure::Timeouts));
        prop_assert_eq!(Some(calls.retried as f64), result.figures.get(Figure::Retries));
        prop_assert_eq!(Some(calls.hedges as f64), result.figures.get(Figure::Hedges));
        if !hedge {
            prop_assert_eq!(calls.hedges, 0);
        }
    }

    /// Full jitter: the `n`th retry waits at most `min(max, base × 2^(n−1))`, that cap
    /// never shrinks from one retry to the next, and draws reach both ends of the band.
    #[test]
    fn backoff_delays_stay_in_the_doubling_band(
        base_ms in 1u64..100,
        factor in 1u64..50,
        retry in 1u32..40,
        seed in 0u64..1000,
    ) {
        let backoff = Backoff {
            base: SimDuration::from_millis(base_ms),
            max: SimDuration::from_millis(base_ms * factor),
        };
        let cap = backoff.cap(retry).as_nanos();
        let doubled = u128::from(base_ms * 1_000_000) << (retry - 1).min(64);
        prop_assert_eq!(u128::from(cap), doubled.min(u128::from(base_ms * factor * 1_000_000)));
        prop_assert!(backoff.cap(retry + 1) >= backoff.cap(retry));
        let mut rng = stream(seed, 9, 0);
        let delays: Vec<u64> = (0..200).map(|_| backoff.delay(retry, &mut rng).as_nanos()).collect();
        prop_assert!(delays.iter().all(|&d| d <= cap));
        // Uniform on [0, cap]: 200 draws all above cap/4 have probability 0.75^200 < 1e-24.
        prop_assert!(delays.iter().any(|&d| d < cap / 4));
        prop_assert!(delays.iter().any(|&d| d > cap - cap / 4));
    }

    /// Envoy's budget: a retry fits while retries in flight are fewer than
    /// `max(share × active, min_retry_concurrency)`, and only then.
    #[test]
    fn the_budget_admits_retries_below_its_limit_only(
        millionths in 0u32..=1_000_000,
        min in 0u32..10,
        active in 0u64..10_000,
        retries in 0u64..10_000,
    ) {
        let budget = RetryBudget {
            share: Fraction::from_millionths(millionths),
            min_concurrency: min,
        };
        let limit = (u128::from(millionths) * u128::from(active) / 1_000_000) as u64;
        prop_assert_eq!(budget.may_retry(active, retries), retries < limit.max(u64::from(min)));
    }
}

#[test]
fn a_timed_out_request_keeps_its_server_busy_and_is_never_answered() {
    // One server serving 100 ms per request, a request every 200 ms, clients giving up
    // after 50 ms without retrying: every request times out at 50 ms, yet the server
    // still works on each for 100 ms — busy half the time — and completes none.
    let spec = run("duration = \"10s\"\n\
         [workload]\nrate = 5\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"100ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 1\n\
         [client]\ntimeout = \"50ms\"\n");
    let mut calls = Calls::default();
    let result = simulate_observed(&spec, 1, &mut calls);
    let c = result.counts;
    // Arrivals at 0.2 s, 0.4 s, ..., 9.8 s: 49; the last times out at 9.85 s.
    assert_eq!(
        (c.arrived, c.completed, c.failed, c.in_flight),
        (49, 0, 49, 0)
    );
    assert_eq!(result.figures.get(Figure::FailedTimeout), Some(49.0));
    assert_eq!(result.figures.get(Figure::Timeouts), Some(49.0));
    assert_eq!(result.figures.get(Figure::Retries), Some(0.0));
    // 49 × 100 ms of work in 10 s.
    assert!(
        (result.utilization - 0.49).abs() < 1e-9,
        "{}",
        result.utilization
    );
    assert!(calls.answered_after_timeout.is_empty());
}

#[test]
fn a_request_timeout_bounds_a_request_over_all_its_attempts() {
    // One server, 30 ms of work per attempt, a request every 200 ms; each attempt timed
    // out after 20 ms and retried (10 retries allowed) after at most 1 ms, within a
    // 100 ms request timeout. Attempts go out at about 0, 20.5, 41, 61.5 and 82 ms (at
    // most 84): the fifth, whose own timeout would fire at 102 ms or later, is given up on
    // by the request timeout at 100 ms, and no sixth is sent — whatever the backoff draws.
    // Each attempt, abandoned, still costs the server its 30 ms: 150 ms per request, done
    // before the next arrives.
    let source = |request_timeout: &str| {
        format!(
            "duration = \"10s\"\n\
             [workload]\nrate = 5\narrivals = \"constant\"\n\
             service = {{ dist = \"constant\", mean = \"30ms\" }}\n\
             [[servers]]\nname = \"web\"\ncount = 1\n\
             [client]\ntimeout = \"20ms\"\nretries = 10\n\
             backoff = {{ base = \"1ms\", max = \"1ms\" }}\nretry_budget = \"off\"\n\
             request_timeout = \"{request_timeout}\"\n"
        )
    };
    let mut calls = Calls::default();
    let result = simulate_observed(&run(&source("100ms")), 1, &mut calls);
    let c = result.counts;
    // Arrivals at 0.2 s, 0.4 s, ..., 9.8 s: 49, each failed at its request timeout.
    assert_eq!((c.arrived, c.failed, c.in_flight), (49, 49, 0));
    assert_eq!(result.figures.get(Figure::RequestTimeouts), Some(49.0));
    assert_eq!(result.figures.get(Figure::FailedTimeout), Some(49.0));
    assert_eq!(result.figures.get(Figure::Retries), Some(4.0 * 49.0));
    assert_eq!(result.figures.get(Figure::Timeouts), Some(5.0 * 49.0));
    assert!(calls.ends.iter().all(|&n| n == 1));
    assert!(calls.answered_after_timeout.is_empty());
    // 49 × 5 attempts × 30 ms of work in 10 s.
    assert!(
        (result.utilization - 0.735).abs() < 1e-9,
        "{}",
        result.utilization
    );
    // Without it, each request goes on to all ten retries, eleven attempts of 30 ms each
    // 200 ms: the server falls behind, and only the last request may not have sent
    // all of its retries by the end.
    let result = simulate(&run(&source("off")), 1);
    assert_eq!(result.figures.get(Figure::RequestTimeouts), Some(0.0));
    let retries = result.figures.get(Figure::Retries).unwrap();
    assert!((10.0 * 48.0..=10.0 * 49.0).contains(&retries), "{retries}");
}

#[test]
fn a_request_timeout_during_a_backoff_ends_the_request_and_cancels_its_retry() {
    // One server down from the start (crashed, never restarting within the run): every
    // attempt is refused at once and retried after a backoff of up to 400 ms, against a
    // 50 ms request timeout. A request ends at its request timeout in a backoff unless
    // its draws fit five refusals within 50 ms; it fails with `timeout`, not `server-down`,
    // and no retry of it is sent after it ended.
    let spec = run("duration = \"20s\"\n\
         [workload]\nrate = 10\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"10ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 1\n\
         [client]\nretries = 5\nbackoff = { base = \"400ms\", max = \"400ms\" }\n\
         retry_budget = \"off\"\nrequest_timeout = \"50ms\"\n\
         [[timeline]]\nat = \"1ms\"\naction = \"crash\"\nserver = \"web-0\"\n");
    let mut calls = Calls::default();
    let result = simulate_observed(&spec, 1, &mut calls);
    let c = result.counts;
    assert_eq!((c.arrived, c.failed, c.in_flight), (199, 199, 0));
    let timed_out = result.figures.get(Figure::RequestTimeouts).unwrap();
    let refused = result.figures.get(Figure::FailedServerDown).unwrap();
    assert_eq!(timed_out + refused, 199.0);
    assert_eq!(result.figures.get(Figure::FailedTimeout), Some(timed_out));
    // Five retries within 50 ms need five uniform draws on [0, 400 ms] summing under
    // 50 ms: probability (50/400)^5 / 5! < 3e-7. Every request but such a one times out.
    assert_eq!(timed_out, 199.0);
    // A backoff of under 50 ms sends a retry in time: each is at most 50/400 likely, so
    // over 199 requests about 25 are sent, and at least one with near certainty.
    let retries = result.figures.get(Figure::Retries).unwrap();
    assert!((1.0..199.0).contains(&retries), "{retries}");
    assert_eq!(calls.retried as f64, retries);
    assert!(
        calls.ends.iter().all(|&n| n == 1),
        "every request ends once"
    );
}

#[test]
fn latency_runs_from_the_first_attempt_and_retries_are_counted() {
    // Constant 30 ms of work on one server, a request every 100 ms, a 20 ms timeout, and
    // two retries waiting at most 1 ms: every attempt times out, so each request fails
    // after three attempts and two retries.
    let spec = run("duration = \"10s\"\n\
         [workload]\nrate = 10\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"30ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 1\n\
         [client]\ntimeout = \"20ms\"\nretries = 2\nbackoff = { base = \"1ms\", max = \"1ms\" }\n\
         retry_budget = \"off\"\n");
    let result = simulate(&spec, 3);
    let c = result.counts;
    assert_eq!((c.arrived, c.completed, c.failed), (99, 0, 99));
    assert_eq!(result.figures.get(Figure::Retries), Some(198.0));
    assert_eq!(result.figures.get(Figure::Timeouts), Some(297.0));
    // With a 40 ms timeout, the first attempt of each request completes in 30 ms, end to
    // end, and no retry is ever sent.
    let spec = run("duration = \"10s\"\n\
         [workload]\nrate = 10\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"30ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 1\n\
         [client]\ntimeout = \"40ms\"\nretries = 2\n");
    let result = simulate(&spec, 3);
    assert_eq!(result.counts.completed, 99);
    assert_eq!(result.latency.max_ms(), 30.0);
    assert_eq!(result.figures.get(Figure::Retries), Some(0.0));
}

#[test]
fn a_retried_request_is_timed_from_its_first_arrival() {
    // Two servers, round robin; web-1 is down from 50 ms. A request picked for it is
    // refused, waits its backoff (at most 5 ms) and is retried on web-0, where it takes
    // 10 ms: its latency is over 10 ms. The retry takes web-0's turn, so every later
    // arrival is picked for web-1 first: all but the first request are retried once.
    let spec = run("duration = \"2s\"\n\
         [workload]\nrate = 10\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"10ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 2\n\
         [balancer]\nalgorithm = \"round-robin\"\n\
         [client]\nretries = 1\nbackoff = { base = \"5ms\", max = \"5ms\" }\n\
         [[timeline]]\nat = \"50ms\"\naction = \"crash\"\nserver = \"web-1\"\n");
    let result = simulate(&spec, 1);
    let c = result.counts;
    assert_eq!((c.arrived, c.completed, c.failed), (19, 19, 0));
    assert_eq!(result.figures.get(Figure::Retries), Some(18.0));
    assert_eq!(result.figures.get(Figure::FailedServerDown), Some(0.0));
    assert!(result.latency.max_ms() > 10.0 && result.latency.max_ms() <= 15.0);
    // The first request, never retried, took exactly 10 ms (to within the latency
    // histogram's resolution of 1%).
    assert!((result.latency.quantile_ms(0.0) - 10.0).abs() < 0.1);
}

#[test]
fn the_retry_storm_stays_degraded_without_a_budget_and_recovers_with_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let scenario = Scenario::from_path(&root.join("scenarios/retry-storm.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let [off, budget] = &scenario.variants[..] else {
        panic!("two variants")
    };
    // Three seeds beside the scenario's: the lesson holds whatever the draws.
    for seed in [scenario.seed, 1, 2, 3] {
        let storm = simulate(&off.run, seed);
        let calm = simulate(&budget.run, seed);
        // Measured from 22 s after the spike: without a budget nothing completes, with
        // one everything does (none failed, every measured request done or in flight).
        assert!(storm.counts.completed == 0, "{seed}: {:?}", storm.counts);
        assert!(storm.counts.failed > storm.counts.arrived * 9 / 10);
        assert_eq!(calm.counts.failed, 0, "{seed}: {:?}", calm.counts);
        assert!(calm.counts.completed + calm.counts.in_flight == calm.counts.arrived);
        assert!(calm.latency.quantile_ms(0.99) < 100.0);
    }
}

/// Two servers, round robin, a request every 100 ms (at 0.1 s, 0.2 s, ...) of 10 ms;
/// web-1, picked at every even tenth, is down from 0.05 s to 2.05 s. Its breaker opens
/// after 3 answers all failed, stays open 1 s, and lets 1 probe through half-open.
fn breaker_on_a_crashed_server() -> RunSpec {
    run("duration = \"4s\"\n\
         [workload]\nrate = 10\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"10ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 2\n\
         [balancer]\nalgorithm = \"round-robin\"\n\
         [circuit_breaker]\nwindow = \"10s\"\nfailure_rate = 1.0\nmin_requests = 3\n\
         open_for = \"1s\"\nprobes = 1\n\
         [[timeline]]\nat = \"50ms\"\naction = \"crash\"\nserver = \"web-1\"\ndowntime = \"2s\"\n")
}

#[test]
fn a_breaker_opens_probes_and_closes_as_computed_by_hand() {
    let spec = breaker_on_a_crashed_server();
    let result = simulate(&spec, 1);
    let breaker: Vec<(u64, &str, &str)> = result
        .events
        .iter()
        .filter(|e| e.reason == "circuit-breaker")
        .map(|e| (e.time.as_nanos() / 1_000_000, e.from, e.to))
        .collect();
    assert_eq!(
        breaker,
        [
            // Refused at 0.2, 0.4 and 0.6 s: three failures of three.
            (600, "closed", "open"),
            // Open until 1.6 s; the request at 1.6 s is the probe, refused again.
            (1600, "open", "half-open"),
            (1600, "half-open", "open"),
            // web-1 is back at 2.05 s; the probe at 2.6 s is answered at 2.61 s.
            (2600, "open", "half-open"),
            (2610, "half-open", "closed"),
        ]
    );
    // 39 arrivals; web-1's 19 picks: 4 refused connections (0.2, 0.4, 0.6, 1.6 s), 8
    // circuit-open (0.8–1.4 s and 1.8–2.4 s), the rest served from 2.6 s on.
    let c = result.counts;
    assert_eq!((c.arrived, c.completed, c.failed), (39, 27, 12));
    assert_eq!(result.figures.get(Figure::FailedServerDown), Some(4.0));
    assert_eq!(result.figures.get(Figure::FailedCircuitOpen), Some(8.0));
}

#[test]
fn an_attempt_the_breaker_refuses_never_reaches_its_server() {
    // The run of `breaker_on_a_crashed_server`: of web-1's 19 picks the breaker refuses 8,
    // which fail at the client's side. web-1's rows count the other 11 as its arrivals, and
    // every one of them ends there (4 refused connections, 7 answered): nothing is left in
    // flight at web-1.
    let spec = breaker_on_a_crashed_server();
    let result = simulate(&spec, 1);
    let rows = records(&result.series);
    let web_1: Vec<_> = rows.iter().filter(|r| r.server == ServerId(1)).collect();
    let arrivals: u32 = web_1.iter().map(|r| r.counts.arrivals).sum();
    let ended: u32 = web_1
        .iter()
        .map(|r| r.completions + r.counts.rejected + r.counts.failed)
        .sum();
    assert_eq!((arrivals, ended), (11, 11));
}

#[test]
fn the_pending_limit_refuses_requests_beyond_the_queue() {
    // One server of 100 ms per request, a request every 25 ms, at most 2 waiting. The
    // first three (25, 50, 75 ms) are taken; from then on, of the four arriving in each
    // 100 ms, only the one arriving as a request finishes (125, 225, ... ms: completions
    // come first at an instant) finds a place.
    let spec = run("duration = \"10s\"\n\
         [workload]\nrate = 40\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"100ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 1\n\
         [circuit_breaker]\nmax_pending = 2\n");
    let result = simulate(&spec, 1);
    let c = result.counts;
    // 399 arrivals, 3 + 99 taken, 99 completed by 9.925 s, 3 still there at 10 s.
    assert_eq!((c.arrived, c.completed, c.in_flight), (399, 99, 3));
    assert_eq!(result.figures.get(Figure::FailedCircuitOpen), Some(297.0));
}

/// A scenario with every resilience key, swept, for the byte-identity checks.
const RESILIENT: &str = r#"
name = "resilient"
seed = 5
duration = "30s"

[workload]
rate = [["0s", 700], ["10s", 1400], ["12s", 700]]
service = { dist = "exponential", mean = "10ms" }

[[servers]]
name = "web"
count = 10
queue = 80

[balancer]
algorithm = "power-of-two-choices"

[client]
timeout = "200ms"
retries = 2

[circuit_breaker]
window = "2s"
min_requests = 10
open_for = "1s"
max_pending = 60

[sweep]
"client.retry_budget" = ["off", 0.2]
"#;

#[test]
fn runs_with_retries_and_breakers_are_identical_for_one_and_two_jobs() {
    let files = |jobs: &str| {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "resilient.toml", RESILIENT);
        let args = [
            "run",
            "resilient.toml",
            "--jobs",
            jobs,
            "--replications",
            "2",
            "--quiet",
        ];
        let output = lbsim(dir.path(), &args);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        tree(&dir.path().join("output"))
    };
    let one = files("1");
    let summary = String::from_utf8(one[Path::new("resilient/summary.csv")].clone()).unwrap();
    // The runs did retry, time out and trip breakers: the identity is not a trivial one.
    let events = String::from_utf8(one[Path::new("resilient/events.csv")].clone()).unwrap();
    assert!(events.contains("circuit-breaker"), "{events}");
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    let retries = header.iter().position(|&h| h == "retries").unwrap();
    assert!(
        summary
            .lines()
            .skip(1)
            .all(|l| l.split(',').nth(retries).unwrap() != "0"),
        "{summary}"
    );
    assert_eq!(one, files("2"));
}

/// The server each attempt was picked for, the client of each, and each retry with the
/// attempt it follows.
#[derive(Default)]
struct RetryHosts {
    picked: BTreeMap<RequestId, ServerId>,
    client: BTreeMap<RequestId, ClientAddr>,
    retries: Vec<(RequestId, RequestId)>,
}

impl RetryHosts {
    /// Retries picked for the very server their previous attempt went to.
    fn back_to_the_same_server(&self) -> usize {
        self.retries
            .iter()
            .filter(|(retry, previous)| self.picked.get(retry) == self.picked.get(previous))
            .count()
    }
}

impl Observer for RetryHosts {
    fn observe(&mut self, _now: SimTime, event: Observed<'_>) {
        match event {
            Observed::Arrived {
                request, client, ..
            } => {
                self.client.insert(request, client);
            }
            Observed::Picked {
                request, server, ..
            } => {
                self.picked.insert(request, server);
            }
            Observed::Retried {
                request, previous, ..
            } => {
                let client = self.client[&previous];
                self.client.insert(request, client);
                self.retries.push((request, previous));
            }
            _ => {}
        }
    }
}

/// Four servers under `algorithm`, web-1 hung from 5 s (it answers fifty times slower):
/// clients time out after 250 ms and retry once, with the retry host predicate `predicate`.
fn hung_server(algorithm: &str, predicate: &str) -> RunSpec {
    run(&format!(
        r#"
duration = "30s"
[workload]
rate = 600
service = {{ dist = "exponential", mean = "10ms" }}
[[servers]]
name = "web"
count = 4
workers = 4
[balancer]
algorithm = "{algorithm}"
[client]
timeout = "250ms"
retries = 1
backoff = {{ base = "10ms", max = "50ms" }}
retry_budget = "off"
{predicate}
[[timeline]]
at = "5s"
action = "set-speed"
server = "web-1"
speed = 0.02
"#
    ))
}

const PREVIOUS_HOSTS: &str = r#"retry_host_predicate = "previous-hosts""#;

#[test]
fn with_the_previous_hosts_predicate_a_retry_goes_to_another_server() {
    // Round robin gives web-1 a quarter of the picks, retries included: about 600 × 25 / 4
    // = 3,750 attempts time out there and are retried. Without the predicate a retry
    // lands where its timed-out attempt did whenever the rotation brings it back there;
    // with it (Envoy's previous_hosts, one reselection) the retry's pick of the same
    // server is made again, and round robin's next pick is another server: not one retry
    // goes back. A request then fails only if both attempts time out, which needs two
    // servers hung: none does.
    let mut blind = RetryHosts::default();
    let blind_result = simulate_observed(&hung_server("round-robin", ""), 1, &mut blind);
    let mut seeing = RetryHosts::default();
    let with = hung_server("round-robin", PREVIOUS_HOSTS);
    let seeing_result = simulate_observed(&with, 1, &mut seeing);
    assert!(seeing.retries.len() > 3_000, "{}", seeing.retries.len());
    assert_eq!(seeing.back_to_the_same_server(), 0);
    assert!(
        blind.back_to_the_same_server() > 100,
        "{}",
        blind.back_to_the_same_server()
    );
    let timeouts_failed = |r: &RunResult| r.figures.get(Figure::FailedTimeout).unwrap_or(0.0);
    assert!(timeouts_failed(&blind_result) > 100.0);
    assert_eq!(timeouts_failed(&seeing_result), 0.0);
    assert!(seeing_result.counts.is_conserved());
}

#[test]
fn a_hashing_balancer_reselects_as_envoy_does_and_a_stateful_one_cannot() {
    // Maglev sends a client's retry where its first attempt went: the same key, the same
    // entry. With the predicate the reselection mixes the attempt into the hash, as
    // Envoy's Maglev does (`hash ^= ~0 - attempt + 1`), and the retry goes to that
    // entry's server — web-1 again, kept as the last pick, exactly when the reselected
    // entry is web-1's. A table built alone from the same four servers says which.
    let maglev = |predicate: &str| {
        let mut hosts = RetryHosts::default();
        simulate_observed(&hung_server("maglev", predicate), 1, &mut hosts);
        hosts
    };
    let (blind, seeing) = (maglev(""), maglev(PREVIOUS_HOSTS));
    assert_eq!(blind.back_to_the_same_server(), blind.retries.len());
    let mut table = BalancerSpec::new(Algorithm::Maglev).build(4);
    for id in 0..4 {
        table.add(Backend {
            id: ServerId(id),
            name: &format!("web-{id}"),
            weight: 1,
        });
    }
    let mut rng = stream(1, 0, 0);
    let reselected_to_web_1 = seeing
        .retries
        .iter()
        .filter(|(retry, _)| {
            let key = RequestKey {
                client: seeing.client[retry],
                session: None,
            };
            table.pick_again(&key, &mut rng, 1) == Some(ServerId(1))
        })
        .count();
    assert_eq!(seeing.back_to_the_same_server(), reselected_to_web_1);
    // Attempt 1 flips every bit of the hash, and since 2^64 is 1 modulo the table's
    // 65,537 entries the reselected entry is the mirror of the first, M − e: 41% of
    // web-1's entries mirror onto web-1 (14.6% over the four servers), a quirk of Envoy's
    // mutation the model keeps, and 48% of this run's retried clients. Still, about half
    // of the retries now go elsewhere, where without the predicate none did.
    let share = reselected_to_web_1 as f64 / seeing.retries.len() as f64;
    assert!(share < 0.6, "{share}");

    // Least connections picks by its counts alone, which a refused pick does not change:
    // its reselection is the same server, and the predicate changes nothing, as for any
    // balancer whose pick is a function of its state.
    let least = |predicate: &str| {
        let mut hosts = RetryHosts::default();
        let spec = hung_server("least-connections", predicate);
        let result = simulate_observed(&spec, 1, &mut hosts);
        (result.counts, hosts.back_to_the_same_server())
    };
    assert_eq!(least(""), least(PREVIOUS_HOSTS));
}

#[test]
fn a_server_never_counts_more_in_flight_than_it_queues_and_serves() {
    // A server's row counts attempts. One that fails there and is retried, or that the
    // client gives up on, has ended at that server (a timed-out one may still sit in its
    // queue), and one the breaker refuses never reached it. So in no interval does a
    // server count more in flight than it queues and serves; before attempts were counted
    // so, every retried failure stayed in flight at its server for good.
    for spec in runs(RESILIENT) {
        let result = simulate(&spec, 5);
        assert!(result.figures.get(Figure::Retries).unwrap_or(0.0) > 0.0);
        for row in records(&result.series) {
            assert!(
                row.in_flight <= row.queue_length + row.busy_workers,
                "{row:?}"
            );
        }
    }
}

/// When outlier detection first ejects a server in `spec`'s run, in seconds.
fn first_ejection(spec: &RunSpec) -> Option<f64> {
    simulate(spec, 1)
        .events
        .iter()
        .find(|e| e.to == "ejected")
        .map(|e| e.time.as_secs_f64())
}

/// Two servers under round robin with a request every 250 ms (web-0 gets those at 0.25 s,
/// 0.75 s, 1.25 s, ...), outlier detection ejecting after six errors in a row, clients
/// giving up after 100 ms without retrying; web-0 works fifty times slower from the start
/// (500 ms a request), and `trouble` happens to it.
fn slow_web_0(trouble: &str) -> RunSpec {
    run(&format!(
        r#"
duration = "4s"
[workload]
rate = 4
arrivals = "constant"
service = {{ dist = "constant", mean = "10ms" }}
[[servers]]
name = "web"
count = 2
workers = 10
[balancer]
algorithm = "round-robin"
panic_threshold = "off"
[outlier_detection]
consecutive_errors = 6
max_ejection_percent = 50
[client]
timeout = "100ms"
[[timeline]]
at = "0s"
action = "set-speed"
server = "web-0"
speed = 0.02
{trouble}
"#
    ))
}

#[test]
fn a_timed_out_attempt_is_one_error_to_outlier_detection_whatever_it_meets_later() {
    // Each attempt web-0 gets times out 100 ms after it arrived: one error each, so the
    // sixth, sent at 2.75 s, ejects web-0 at 2.85 s. Given up on, an attempt still ends at
    // web-0 — with an error answer 500 ms after it arrived, or failed by a crash — and
    // that is no second error: Envoy resets the stream when a per-try timeout fires.
    // Counted twice, the third attempt's error answer at 1.75 s would eject it.
    let errors = "[[timeline]]\nat = \"0s\"\naction = \"set-errors\"\nserver = \"web-0\"\n\
                  error_fraction = 1.0\n";
    assert_eq!(first_ejection(&slow_web_0(errors)), Some(2.85));
    // A crash at 1.5 s fails the three attempts web-0 still holds, each timed out before;
    // counted again they would eject it then. Instead the attempts sent to it after the
    // crash are refused: the fourth, fifth and sixth errors, the last at 2.75 s.
    let crash = "[[timeline]]\nat = \"1.5s\"\naction = \"crash\"\nserver = \"web-0\"\n";
    assert_eq!(first_ejection(&slow_web_0(crash)), Some(2.75));
    // A tier of one worker that web-1's first request (at 0.51 s) keeps for an hour, and
    // that queues nothing: every later call is refused. Each of web-0's attempts, given up
    // on at 100 ms, calls it at 500 ms and is refused — no second error either (counted,
    // the third error would come at 0.85 s and the sixth eject web-0 at 1.75 s). web-1's
    // own errors (its first request's timeout at 0.6 s, then a refusal every 0.5 s from
    // 1.01 s) reach six only at 3.01 s.
    let full_tier = "[[tiers]]\nname = \"db\"\nworkers = 1\nqueue = 0\n\
                     service = { dist = \"constant\", mean = \"1h\" }\n";
    assert_eq!(first_ejection(&slow_web_0(full_tier)), Some(2.85));
}

#[test]
fn a_request_uses_all_its_retries_when_the_budget_allows_one_at_a_time() {
    // Both servers down, a request a second, three retries each under a budget of one
    // retry at a time: requests never overlap (each fails within its backoffs, under
    // 175 ms), so each may use all three, as in Envoy, where a request gives back its own
    // retry before asking the budget for the next. Counted against itself, each would get
    // one.
    let spec = run(r#"
duration = "10s"
[workload]
rate = 1
arrivals = "constant"
service = { dist = "constant", mean = "10ms" }
[[servers]]
name = "web"
count = 2
[client]
retries = 3
retry_budget = 0.0
min_retry_concurrency = 1
retry_on = ["server-down"]
[[timeline]]
at = "0s"
action = "crash"
server = "web-0"
[[timeline]]
at = "0s"
action = "crash"
server = "web-1"
"#);
    let result = simulate(&spec, 1);
    assert_eq!(result.counts.arrived, 9);
    assert_eq!(result.figures.get(Figure::Retries), Some(27.0));
    assert_eq!(result.figures.get(Figure::FailedServerDown), Some(9.0));
}

/// What a hedged run's observer saw, call by call: calls never overlap in
/// [`slow_web_1`], so each event belongs to the last call that arrived.
#[derive(Default)]
struct Races {
    calls: Vec<Race>,
    hedges: u64,
    resets: u64,
    timed_out: u64,
}

/// One call: the backoff drawn at its per-try timeout (hedging) or before its retry, its
/// latency if answered, its reason if failed.
#[derive(Default)]
struct Race {
    backoff: Option<SimDuration>,
    latency: Option<SimDuration>,
    failed: Option<FailReason>,
}

impl Races {
    fn last(&mut self) -> &mut Race {
        self.calls.last_mut().expect("a call arrived")
    }

    /// The calls whose first attempt timed out, with a backoff drawn.
    fn backed_off(&self) -> impl Iterator<Item = (SimDuration, Option<SimDuration>)> + '_ {
        self.calls
            .iter()
            .filter_map(|c| c.backoff.map(|b| (b, c.latency)))
    }
}

impl Observer for Races {
    fn observe(&mut self, _now: SimTime, event: Observed<'_>) {
        match event {
            Observed::Arrived { .. } => self.calls.push(Race::default()),
            Observed::Hedging { after, .. } => {
                self.timed_out += 1;
                self.last().backoff = after;
            }
            Observed::TimedOut { .. } => self.timed_out += 1,
            Observed::Retrying { after, .. } => self.last().backoff = Some(after),
            Observed::Retried { hedge, .. } => self.hedges += u64::from(hedge),
            Observed::Reset { .. } => self.resets += 1,
            Observed::Completed { latency, .. } => self.last().latency = Some(latency),
            Observed::Failed { reason, .. } => self.last().failed = Some(reason),
            _ => {}
        }
    }
}

/// Two servers under round robin, a request every 500 ms of 10 ms of work; web-1 eight
/// times slower from the start (80 ms an attempt); clients time out after 50 ms and retry
/// `retries` times after a backoff of at most 40 ms, hedging or not.
fn slow_web_1(retries: u32, hedge: bool) -> RunSpec {
    run(&format!(
        r#"
duration = "10s"
[workload]
rate = 2
arrivals = "constant"
service = {{ dist = "constant", mean = "10ms" }}
[[servers]]
name = "web"
count = 2
[balancer]
algorithm = "round-robin"
[client]
timeout = "50ms"
retries = {retries}
backoff = {{ base = "40ms", max = "40ms" }}
retry_budget = "off"
hedge_on_per_try_timeout = {hedge}
[[timeline]]
at = "0s"
action = "set-speed"
server = "web-1"
speed = 0.125
"#
    ))
}

fn ms(ms: u64) -> SimDuration {
    SimDuration::from_millis(ms)
}

#[test]
fn a_hedge_races_the_attempt_it_follows_and_the_first_answer_wins() {
    // Arrivals at 0.5 s, 1 s, ..., 9.5 s: 19, one at a time (each over in 80 ms at most).
    // One sent to web-0 answers in 10 ms; one sent to web-1 times out at 50 ms, and its
    // hedge leaves at 50 ms + b (the backoff b, up to 40 ms) for web-0, idle, and answers
    // at 60 ms + b, while web-1 answers the first attempt at 80 ms. The first answer
    // wins: min(80, 60 + b) ms. A backoff over 30 ms ends after web-1's answer: that
    // hedge is never sent (and round robin's next pick is web-1's turn again).
    let mut races = Races::default();
    let result = simulate_observed(&slow_web_1(1, true), 1, &mut races);
    let c = result.counts;
    assert_eq!(
        (c.arrived, c.completed, c.failed, c.in_flight),
        (19, 19, 0, 0)
    );
    let slow = races.backed_off().count() as u64;
    for call in races.calls.iter().filter(|c| c.backoff.is_none()) {
        assert_eq!(call.latency, Some(ms(10)));
    }
    for (b, latency) in races.backed_off() {
        assert_eq!(latency, Some(ms(80).min(ms(60) + b)), "backoff {b:?}");
    }
    let sent = races.backed_off().filter(|&(b, _)| b <= ms(30)).count() as u64;
    let won = races.backed_off().filter(|&(b, _)| b < ms(20)).count() as u64;
    // The draws of this seed give every case: the hedge wins, loses, is never sent.
    assert!(0 < won && won < sent && sent < slow, "{won} {sent} {slow}");
    assert_eq!(races.hedges, sent);
    // Every hedge sent leaves one attempt to reset: the first, or the hedge itself.
    assert_eq!(races.resets, sent);
    assert_eq!(result.figures.get(Figure::Hedges), Some(sent as f64));
    assert_eq!(result.figures.get(Figure::Retries), Some(sent as f64));
    // Each per-try timeout counts once, as without hedging.
    assert_eq!(races.timed_out, slow);
    assert_eq!(result.figures.get(Figure::Timeouts), Some(slow as f64));

    // Without hedging the timed-out attempt is given up on, and its retry, sent
    // whatever its backoff, answers at 60 ms + b.
    let mut plain = Races::default();
    let result = simulate_observed(&slow_web_1(1, false), 1, &mut plain);
    assert_eq!((result.counts.completed, result.counts.failed), (19, 0));
    let retried = plain.backed_off().count() as u64;
    assert!(retried > 0);
    for (b, latency) in plain.backed_off() {
        assert_eq!(latency, Some(ms(60) + b));
    }
    assert_eq!(result.figures.get(Figure::Retries), Some(retried as f64));
    assert_eq!(result.figures.get(Figure::Hedges), Some(0.0));
    assert_eq!((plain.hedges, plain.resets), (0, 0));
}

#[test]
fn without_a_retry_left_a_hedging_client_waits_where_another_fails() {
    // No retries: round robin alternates, nine of the 19 requests go to web-1 (at 1 s,
    // 2 s, ..., 9 s). At its per-try timeout a hedging client has no hedge to send, and
    // waits for web-1's answer at 80 ms; a plain one gives up, and the request fails.
    let mut races = Races::default();
    let result = simulate_observed(&slow_web_1(0, true), 1, &mut races);
    assert_eq!((result.counts.completed, result.counts.failed), (19, 0));
    let latencies = |races: &Races, slow: bool| -> Vec<Option<SimDuration>> {
        races
            .calls
            .iter()
            .enumerate()
            .filter(|(i, _)| (i % 2 == 1) == slow)
            .map(|(_, c)| c.latency)
            .collect()
    };
    assert_eq!(latencies(&races, true), vec![Some(ms(80)); 9]);
    assert_eq!(latencies(&races, false), vec![Some(ms(10)); 10]);
    assert_eq!(result.figures.get(Figure::Timeouts), Some(9.0));
    assert_eq!((races.hedges, races.resets, races.timed_out), (0, 0, 9));
    let mut plain = Races::default();
    let result = simulate_observed(&slow_web_1(0, false), 1, &mut plain);
    assert_eq!((result.counts.completed, result.counts.failed), (10, 9));
    assert_eq!(result.figures.get(Figure::FailedTimeout), Some(9.0));
    assert_eq!(latencies(&plain, true), vec![None; 9]);
    assert!(
        plain
            .calls
            .iter()
            .skip(1)
            .step_by(2)
            .all(|c| c.failed == Some(FailReason::Timeout))
    );
}
