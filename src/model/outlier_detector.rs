//! Outlier detection: passive health checking from the answers real requests get, as
//! Envoy's outlier detector does (`source/common/upstream/outlier_detection_impl.cc`).
//!
//! A server that fails `consecutive_errors` requests in a row (Envoy's `consecutive_5xx`) is
//! ejected: the balancer stops sending it requests until the ejection ends. An ejection
//! lasts `base_ejection_time × k`, capped at `max_ejection_time`, where `k` counts the
//! server's ejections — 30 s, 60 s, 90 s, ... by default — except that `k` decays by one
//! for every `interval` the server spends back in service (Envoy's `ejectTimeBackoff`),
//! so a host that misbehaves once an hour is not punished like one that flaps.
//!
//! Ejection is refused when it would take more than `max_ejection_percent` of the servers
//! out at once (Envoy computes `100 × (ejected + 1) / hosts` and ejects only when that is
//! at most the limit, so with 10 servers at the default 10% the second concurrent ejection
//! is refused, and with fewer than 10 servers none is allowed). Envoy's
//! `always_eject_one_host` lifts the limit for the first ejection. Either way the failure
//! streak restarts, so a refused server must fail `consecutive_errors` more times before it
//! is considered again.
//!
//! Every `interval`, on each server's answers over the interval just ended, as Envoy's
//! `DetectorImpl::onIntervalTimer` and `processSuccessRateEjections` do:
//!
//! - **Success rate** (Envoy's standard-deviation detection, on by default as in Envoy,
//!   whose `enforcing_success_rate` defaults to 100): the servers not ejected that answered
//!   at least `success_rate_request_volume` requests (100) take part, provided there are at
//!   least `success_rate_minimum_hosts` of them (5). With their success rates in percent,
//!   their mean and population standard deviation, each whose rate is below
//!   `mean − success_rate_stdev_factor × stdev` (1.9) is ejected — in `f64`, as Envoy
//!   computes it in `double` (`successRateEjectionThreshold`). One server failing among
//!   `n` that do not is below it whenever `√(n − 1) > 1.9`, so from five servers on,
//!   however few its errors; servers that fail alike are never below it (stdev 0).
//! - **Failure percentage** (off by default as in Envoy, whose
//!   `enforcing_failure_percentage` defaults to 0): each server that answered at least
//!   `request_volume` requests is ejected if its share of failures reached `failure_rate` —
//!   provided at least `minimum_hosts` servers had that volume, so that one busy host is not
//!   judged alone.
//!
//! The success rate goes first; which servers each judges, and whether enough have the
//! volume, is settled before either ejects, as in Envoy; a server the success rate ejected
//! is not ejected again for its failure rate. Both count the same answers as consecutive
//! errors: a success is a completed request, a failure any error. A success-rate ejection's
//! row in events.csv has reason `outlier-success-rate` ([`EjectionCause::reason`]), as
//! Envoy's event log tells its `SUCCESS_RATE` ejections apart.
//!
//! The world arms a timer at each ejection's end and calls [`OutlierDetector::uneject`]:
//! the server is back at exactly that instant (Envoy looks at each interval tick, so a
//! real ejection can last up to one `interval` longer). It calls
//! [`OutlierDetector::on_interval`] every `interval`. Responses from an ejected server (to
//! requests sent before the ejection) are ignored: Envoy resets the streak at unejection.
//!
//! With active health checks too, a check that passes and leaves the server healthy ends
//! its ejection at once and clears its counts ([`OutlierDetector::passed_health_check`]):
//! Envoy's `successful_active_health_check_uneject_host`, on by default. Where the checks
//! probe something the failing requests do not (a gray failure behind a `/health` that
//! still answers), that brings a failing server back within a check interval of each
//! ejection; the key turns it off.

use super::fraction::Fraction;
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;

/// `[outlier_detection]`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct OutlierSpec {
    /// Failed requests in a row that eject a server.
    pub consecutive_errors: u32,
    /// How often the failure rates are evaluated and ejection multipliers decay.
    pub interval: SimDuration,
    /// The length of a first ejection.
    pub base_ejection_time: SimDuration,
    /// The longest an ejection lasts, however often the server was ejected; at least
    /// `base_ejection_time`.
    pub max_ejection_time: SimDuration,
    /// The largest share of the servers ejected at once (`max_ejection_percent / 100`).
    pub max_ejection: Fraction,
    /// Whether one server may always be ejected, whatever `max_ejection` says.
    pub always_eject_one_host: bool,
    /// Success-rate (standard deviation) detection, `None` when off.
    pub success_rate: Option<SuccessRateSpec>,
    /// Failure-rate detection, `None` when off.
    pub failure_rate: Option<FailureRateSpec>,
    /// Whether a passing active health check ends an ejection (Envoy's
    /// `successful_active_health_check_uneject_host`); nothing without health checks.
    pub successful_active_health_check_uneject_host: bool,
}

/// Envoy's success-rate detection.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SuccessRateSpec {
    /// A server whose success rate in the last interval is below the judged servers' mean
    /// less this many (population) standard deviations is ejected.
    pub stdev_factor: f64,
    /// Servers with `request_volume` requests needed in the interval before any is judged.
    pub minimum_hosts: u32,
    /// Requests a server must have answered in the interval to be judged.
    pub request_volume: u32,
}

/// Envoy's failure-percentage detection.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FailureRateSpec {
    /// A server whose failures in the last interval reach this share is ejected.
    pub threshold: Fraction,
    /// Servers with `request_volume` requests needed in the interval before any is judged.
    pub minimum_hosts: u32,
    /// Requests a server must have answered in the interval to be judged.
    pub request_volume: u32,
}

impl Default for OutlierSpec {
    /// An `[outlier_detection]` table with no keys: Envoy's defaults.
    fn default() -> Self {
        OutlierSpec {
            consecutive_errors: 5,
            interval: SimDuration::from_secs(10),
            base_ejection_time: SimDuration::from_secs(30),
            max_ejection_time: SimDuration::from_secs(300),
            max_ejection: Fraction::from_millionths(100_000),
            always_eject_one_host: false,
            success_rate: Some(SuccessRateSpec::DEFAULT),
            failure_rate: None,
            successful_active_health_check_uneject_host: true,
        }
    }
}

impl SuccessRateSpec {
    /// Envoy's defaults: 1.9 standard deviations (`success_rate_stdev_factor` 1900, in
    /// thousandths), 5 hosts, 100 requests; enforced (`enforcing_success_rate` 100).
    pub const DEFAULT: SuccessRateSpec = SuccessRateSpec {
        stdev_factor: 1.9,
        minimum_hosts: 5,
        request_volume: 100,
    };
}

impl FailureRateSpec {
    /// Envoy's defaults: 85% failures, 5 hosts, 50 requests.
    pub const DEFAULT: FailureRateSpec = FailureRateSpec {
        threshold: Fraction::from_millionths(850_000),
        minimum_hosts: 5,
        request_volume: 50,
    };
}

/// Why a server was ejected.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum EjectionCause {
    ConsecutiveErrors,
    /// Envoy's success-rate (standard deviation) detection.
    SuccessRate,
    /// Envoy's failure-percentage detection.
    FailureRate,
}

impl EjectionCause {
    /// The reason of the ejection's row in events.csv: `outlier-success-rate` for a
    /// success-rate ejection, `outlier-ejection` for the others.
    pub fn reason(self) -> &'static str {
        match self {
            EjectionCause::ConsecutiveErrors | EjectionCause::FailureRate => "outlier-ejection",
            EjectionCause::SuccessRate => "outlier-success-rate",
        }
    }
}

/// A server was ejected until `until`: the world arms a timer then to uneject it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ejection {
    pub until: SimTime,
    pub cause: EjectionCause,
}

/// One server's record.
#[derive(Copy, Clone, Debug, Default)]
struct Record {
    tracked: bool,
    ejected: bool,
    /// Failures in a row since the last success (or ejection attempt).
    streak: u32,
    /// Envoy's `ejectTimeBackoff`: the next ejection lasts `base × (backoff + 1)`.
    backoff: u32,
    /// When the current (or last) ejection ends: an ejection a health check ended early
    /// leaves its timer armed, and that stale timer must not end a later one.
    ejected_until: SimTime,
    unejected_at: Option<SimTime>,
    /// Answers and failures in the current interval.
    answered: u32,
    failed: u32,
}

/// The outlier state of every server, by id.
#[derive(Debug)]
pub struct OutlierDetector {
    spec: OutlierSpec,
    servers: Vec<Record>,
    tracked: usize,
    ejected: usize,
}

impl OutlierDetector {
    pub fn new(spec: &OutlierSpec) -> Self {
        OutlierDetector {
            spec: spec.clone(),
            servers: Vec::new(),
            tracked: 0,
            ejected: 0,
        }
    }

    pub fn spec(&self) -> &OutlierSpec {
        &self.spec
    }

    /// Server `id` joins: watched, not ejected, with a clean record.
    pub fn add_server(&mut self, id: ServerId) {
        let index = id.index();
        if self.servers.len() <= index {
            self.servers.resize(index + 1, Record::default());
        }
        self.remove_server(id);
        self.servers[index].tracked = true;
        self.tracked += 1;
    }

    /// Server `id` leaves: it no longer counts among the servers, nor among the ejected.
    pub fn remove_server(&mut self, id: ServerId) {
        if let Some(record) = self.servers.get_mut(id.index())
            && record.tracked
        {
            self.tracked -= 1;
            if record.ejected {
                self.ejected -= 1;
            }
            *record = Record::default();
        }
    }

    /// A request to server `id` was answered at `now`, successfully or not: the ejection
    /// it caused, if any.
    pub fn on_response(&mut self, id: ServerId, now: SimTime, ok: bool) -> Option<Ejection> {
        let record = self
            .servers
            .get_mut(id.index())
            .filter(|r| r.tracked && !r.ejected)?;
        record.answered = record.answered.saturating_add(1);
        if ok {
            record.streak = 0;
            return None;
        }
        record.failed = record.failed.saturating_add(1);
        record.streak += 1;
        if record.streak < self.spec.consecutive_errors {
            return None;
        }
        record.streak = 0;
        self.eject(id, now, EjectionCause::ConsecutiveErrors)
    }

    /// Ejects server `id` at `now` unless the ejection limit forbids it.
    fn eject(&mut self, id: ServerId, now: SimTime, cause: EjectionCause) -> Option<Ejection> {
        let within_limit = self
            .spec
            .max_ejection
            .ratio_cmp(self.ejected as u64 + 1, self.tracked as u64)
            .is_le();
        if !(within_limit || (self.spec.always_eject_one_host && self.ejected == 0)) {
            return None;
        }
        let base = self.spec.base_ejection_time.as_nanos();
        let max = self.spec.max_ejection_time.as_nanos();
        let record = &mut self.servers[id.index()];
        // Envoy grows the multiplier only while base × multiplier < max + base, so that
        // it stops one step past the cap instead of growing without bound.
        if u128::from(base) * u128::from(record.backoff) < u128::from(max) + u128::from(base) {
            record.backoff += 1;
        }
        let length = (u128::from(base) * u128::from(record.backoff)).min(u128::from(max));
        let until = now + SimDuration::from_nanos(length as u64);
        record.ejected = true;
        record.streak = 0;
        record.ejected_until = until;
        self.ejected += 1;
        Some(Ejection { until, cause })
    }

    /// Server `id`'s ejection time is over at `now`; false if it is not ejected until then
    /// (it left, or a health check ended that ejection early: the timer is stale).
    pub fn uneject(&mut self, id: ServerId, now: SimTime) -> bool {
        let due = self
            .servers
            .get(id.index())
            .is_some_and(|r| r.tracked && r.ejected && r.ejected_until <= now);
        if due {
            self.end_ejection(id, now);
        }
        due
    }

    /// An active health check of server `id` passed at `now`, leaving it healthy: with
    /// `successful_active_health_check_uneject_host` on (Envoy's default), an ejection ends
    /// at once and the server's counters start over, as Envoy's detector does from the
    /// health checker's callback (`DetectorImpl::initialize`). True if it was ejected.
    pub fn passed_health_check(&mut self, id: ServerId, now: SimTime) -> bool {
        let ejected = self.spec.successful_active_health_check_uneject_host && self.is_ejected(id);
        if ejected {
            self.end_ejection(id, now);
            let record = &mut self.servers[id.index()];
            record.answered = 0;
            record.failed = 0;
        }
        ejected
    }

    /// Server `id`, ejected, is back at `now`, its failure streak restarted.
    fn end_ejection(&mut self, id: ServerId, now: SimTime) {
        let record = &mut self.servers[id.index()];
        record.ejected = false;
        record.streak = 0;
        record.unejected_at = Some(now);
        self.ejected -= 1;
    }

    pub fn is_ejected(&self, id: ServerId) -> bool {
        self.servers
            .get(id.index())
            .is_some_and(|r| r.tracked && r.ejected)
    }

    /// How many servers are ejected now.
    pub fn ejected_count(&self) -> usize {
        self.ejected
    }

    /// An interval ended at `now`: success-rate ejections, then failure-rate ones (each
    /// pushed onto `ejections`, in id order), then every server in service for at least an
    /// interval since its last ejection has its ejection multiplier decay by one, and the
    /// interval's counts start over. O(servers), once per interval.
    ///
    /// As in Envoy's `processSuccessRateEjections`, both detectors judge the servers not
    /// ejected when the interval ended, with their counts over it: which servers have the
    /// volume, and whether enough do, is settled before either ejects, and a server the
    /// success rate ejected is not ejected again for its failure rate.
    pub fn on_interval(&mut self, now: SimTime, ejections: &mut Vec<(ServerId, Ejection)>) {
        let with_volume = |volume: u32| {
            self.servers
                .iter()
                .filter(|r| r.tracked && !r.ejected && r.answered >= volume)
                .count()
        };
        let success_hosts = self
            .spec
            .success_rate
            .map_or(0, |rate| with_volume(rate.request_volume));
        let failure_hosts = self
            .spec
            .failure_rate
            .map_or(0, |rate| with_volume(rate.request_volume));
        if let Some(rate) = self.spec.success_rate
            && success_hosts >= rate.minimum_hosts as usize
        {
            self.success_rate_ejections(rate, success_hosts, now, ejections);
        }
        if let Some(rate) = self.spec.failure_rate
            && failure_hosts >= rate.minimum_hosts as usize
        {
            let threshold = rate.threshold;
            for index in 0..self.servers.len() {
                let record = &self.servers[index];
                if record.tracked
                    && !record.ejected
                    && record.answered >= rate.request_volume
                    && threshold
                        .ratio_cmp(u64::from(record.failed), u64::from(record.answered))
                        .is_ge()
                {
                    let id = ServerId(index as u32);
                    if let Some(ejection) = self.eject(id, now, EjectionCause::FailureRate) {
                        ejections.push((id, ejection));
                    }
                }
            }
        }
        let interval = self.spec.interval;
        for record in &mut self.servers {
            if record.tracked
                && !record.ejected
                && record
                    .unejected_at
                    .is_some_and(|at| now.since(at) >= interval)
            {
                record.backoff = record.backoff.saturating_sub(1);
            }
            record.answered = 0;
            record.failed = 0;
        }
    }

    /// Envoy's success-rate detection over the `hosts` servers not ejected with
    /// `rate.request_volume` answers in the interval (at least `rate.minimum_hosts`): the
    /// mean and population standard deviation of their success rates, in percent, and the
    /// ejection of each, in id order, whose rate is below `mean − stdev_factor × stdev`.
    /// In `f64`, as Envoy computes it in `double` (`successRateEjectionThreshold`), and
    /// in id order, so the same on every run.
    fn success_rate_ejections(
        &mut self,
        rate: SuccessRateSpec,
        hosts: usize,
        now: SimTime,
        ejections: &mut Vec<(ServerId, Ejection)>,
    ) {
        let judged = |r: &Record| r.tracked && !r.ejected && r.answered >= rate.request_volume;
        let rates = || self.servers.iter().filter(|r| judged(r)).map(success_rate);
        let threshold = success_rate_threshold(rates(), hosts, rate.stdev_factor);
        for index in 0..self.servers.len() {
            let record = &self.servers[index];
            if judged(record) && success_rate(record) < threshold {
                let id = ServerId(index as u32);
                if let Some(ejection) = self.eject(id, now, EjectionCause::SuccessRate) {
                    ejections.push((id, ejection));
                }
            }
        }
    }
}

/// A server's success rate over the interval, in percent, as Envoy's
/// `SuccessRateAccumulator::getSuccessRateAndVolume` computes it: successes × 100 / answers.
fn success_rate(record: &Record) -> f64 {
    f64::from(record.answered - record.failed) * 100.0 / f64::from(record.answered)
}

/// Envoy's `successRateEjectionThreshold`: the mean of the `n` success `rates` less
/// `factor` population standard deviations (the square root of the mean squared
/// difference from the mean).
fn success_rate_threshold(rates: impl Iterator<Item = f64> + Clone, n: usize, factor: f64) -> f64 {
    let n = n as f64;
    let mean = rates.clone().sum::<f64>() / n;
    let variance = rates.map(|r| (r - mean) * (r - mean)).sum::<f64>() / n;
    mean - factor * variance.sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000_000;

    fn at(secs: u64) -> SimTime {
        SimTime::from_nanos(secs * SECOND)
    }

    fn detector(servers: u32, spec: OutlierSpec) -> OutlierDetector {
        let mut detector = OutlierDetector::new(&spec);
        for i in 0..servers {
            detector.add_server(ServerId(i));
        }
        detector
    }

    /// Fails `id` `n` times at `now`; the last answer's ejection.
    fn fail(d: &mut OutlierDetector, id: u32, now: SimTime, n: u32) -> Option<Ejection> {
        (0..n)
            .map(|_| d.on_response(ServerId(id), now, false))
            .last()
            .flatten()
    }

    #[test]
    fn exactly_consecutive_errors_failures_eject_for_the_base_time() {
        let mut d = detector(10, OutlierSpec::default());
        assert_eq!(fail(&mut d, 0, at(1), 4), None);
        assert!(!d.is_ejected(ServerId(0)));
        assert_eq!(
            d.on_response(ServerId(0), at(1), false),
            Some(Ejection {
                until: at(31),
                cause: EjectionCause::ConsecutiveErrors
            })
        );
        assert!(d.is_ejected(ServerId(0)));
        assert_eq!(d.ejected_count(), 1);
    }

    #[test]
    fn a_success_restarts_the_streak() {
        let mut d = detector(10, OutlierSpec::default());
        fail(&mut d, 0, at(1), 4);
        assert_eq!(d.on_response(ServerId(0), at(1), true), None);
        assert_eq!(fail(&mut d, 0, at(1), 4), None);
        assert!(fail(&mut d, 0, at(1), 1).is_some());
    }

    #[test]
    fn repeated_ejections_last_30_60_then_90_seconds() {
        let mut d = detector(10, OutlierSpec::default());
        let mut now = at(0);
        let mut lengths = Vec::new();
        for _ in 0..3 {
            let ejection = fail(&mut d, 0, now, 5).expect("ejected");
            lengths.push((ejection.until - now).as_nanos() / SECOND);
            assert!(d.uneject(ServerId(0), ejection.until));
            now = ejection.until;
        }
        assert_eq!(lengths, [30, 60, 90]);
        assert!(!d.uneject(ServerId(0), now), "not ejected any more");
    }

    #[test]
    fn ejections_stop_growing_at_the_max_ejection_time() {
        let spec = OutlierSpec {
            max_ejection_time: SimDuration::from_secs(70),
            ..OutlierSpec::default()
        };
        let mut d = detector(10, spec);
        let mut lengths = Vec::new();
        for _ in 0..4 {
            let ejection = fail(&mut d, 0, at(0), 5).expect("ejected");
            lengths.push((ejection.until - at(0)).as_nanos() / SECOND);
            d.uneject(ServerId(0), ejection.until);
        }
        assert_eq!(lengths, [30, 60, 70, 70]);
    }

    #[test]
    fn the_multiplier_decays_one_step_per_interval_back_in_service() {
        let mut d = detector(10, OutlierSpec::default());
        let mut out = Vec::new();
        for _ in 0..3 {
            fail(&mut d, 0, at(0), 5);
            d.uneject(ServerId(0), at(100));
        }
        // Unejected at 100 s: the tick at 105 s is less than an interval later.
        d.on_interval(at(105), &mut out);
        d.on_interval(at(110), &mut out);
        d.on_interval(at(120), &mut out);
        assert!(out.is_empty());
        // The multiplier went 3 → 1, so the next ejection is base × 2.
        let ejection = fail(&mut d, 0, at(120), 5).expect("ejected");
        assert_eq!(ejection.until, at(180));
    }

    #[test]
    fn max_ejection_percent_refuses_the_second_ejection_of_ten_hosts_at_ten_percent() {
        let mut d = detector(10, OutlierSpec::default());
        assert!(fail(&mut d, 0, at(0), 5).is_some());
        // 2 of 10 is 20% > 10%: refused, and the streak starts over.
        assert_eq!(fail(&mut d, 1, at(0), 5), None);
        assert!(!d.is_ejected(ServerId(1)));
        d.uneject(ServerId(0), at(30));
        assert_eq!(fail(&mut d, 1, at(30), 4), None);
        assert!(fail(&mut d, 1, at(30), 1).is_some());
    }

    #[test]
    fn too_few_hosts_allow_no_ejection_unless_one_is_always_allowed() {
        // 1 of 9 is 11.1% > 10%.
        let mut d = detector(9, OutlierSpec::default());
        assert_eq!(fail(&mut d, 0, at(0), 5), None);
        let mut d = detector(
            9,
            OutlierSpec {
                always_eject_one_host: true,
                ..OutlierSpec::default()
            },
        );
        assert!(fail(&mut d, 0, at(0), 5).is_some());
        assert_eq!(fail(&mut d, 1, at(0), 5), None);
    }

    #[test]
    fn a_removed_server_frees_its_ejection_slot_and_stale_timers_do_nothing() {
        let mut d = detector(10, OutlierSpec::default());
        fail(&mut d, 0, at(0), 5);
        d.remove_server(ServerId(0));
        assert_eq!(d.ejected_count(), 0);
        assert!(!d.uneject(ServerId(0), at(30)));
        assert_eq!(d.on_response(ServerId(0), at(1), false), None);
        // 1 of the 9 left is 11.1% > 10%; a tenth server makes room again.
        assert_eq!(fail(&mut d, 1, at(1), 5), None);
        d.add_server(ServerId(10));
        assert!(fail(&mut d, 1, at(1), 5).is_some());
    }

    #[test]
    fn a_passed_health_check_ends_an_ejection_and_its_stale_timer_ends_no_later_one() {
        let mut d = detector(10, OutlierSpec::default());
        fail(&mut d, 0, at(0), 5).expect("ejected until 30 s");
        // A check passes at 2 s: the host is back, with a clean streak, and the timer at
        // 30 s is stale.
        assert!(d.passed_health_check(ServerId(0), at(2)));
        assert!(!d.is_ejected(ServerId(0)));
        assert_eq!(d.ejected_count(), 0);
        assert!(!d.passed_health_check(ServerId(0), at(4)), "not ejected");
        // Ejected again at 10 s, for 60 s (the second ejection): the first ejection's timer
        // at 30 s leaves it out.
        assert_eq!(fail(&mut d, 0, at(10), 4), None);
        let again = fail(&mut d, 0, at(10), 1).expect("ejected again");
        assert_eq!(again.until, at(70));
        assert!(!d.uneject(ServerId(0), at(30)));
        assert!(d.is_ejected(ServerId(0)));
        assert!(d.uneject(ServerId(0), at(70)));
        // Turned off, a passed check changes nothing.
        let mut d = detector(
            10,
            OutlierSpec {
                successful_active_health_check_uneject_host: false,
                ..OutlierSpec::default()
            },
        );
        fail(&mut d, 0, at(0), 5).expect("ejected");
        assert!(!d.passed_health_check(ServerId(0), at(2)));
        assert!(d.is_ejected(ServerId(0)));
    }

    #[test]
    fn answers_from_an_ejected_server_are_ignored() {
        let mut d = detector(10, OutlierSpec::default());
        fail(&mut d, 0, at(0), 5);
        assert_eq!(fail(&mut d, 0, at(1), 20), None);
        assert_eq!(d.ejected_count(), 1);
    }

    fn rate_spec() -> OutlierSpec {
        OutlierSpec {
            // Consecutive errors out of the way; room for every ejection.
            consecutive_errors: u32::MAX,
            max_ejection: Fraction::ONE,
            success_rate: None,
            failure_rate: Some(FailureRateSpec {
                threshold: Fraction::from_millionths(500_000),
                minimum_hosts: 3,
                request_volume: 10,
            }),
            ..OutlierSpec::default()
        }
    }

    /// `ok` successes then `failed` failures from server `id` at time zero.
    fn answer(d: &mut OutlierDetector, id: u32, ok: u32, failed: u32) {
        for _ in 0..ok {
            d.on_response(ServerId(id), at(0), true);
        }
        fail(d, id, at(0), failed);
    }

    #[test]
    fn failure_rate_ejects_servers_at_the_threshold_with_enough_volume() {
        let mut d = detector(4, rate_spec());
        answer(&mut d, 0, 5, 5); // 50% of 10: ejected
        answer(&mut d, 1, 6, 4); // 40% of 10: kept
        answer(&mut d, 2, 10, 0);
        answer(&mut d, 3, 0, 9); // 100% of 9: too few requests to judge
        let mut out = Vec::new();
        d.on_interval(at(10), &mut out);
        assert_eq!(
            out,
            [(
                ServerId(0),
                Ejection {
                    until: at(40),
                    cause: EjectionCause::FailureRate
                }
            )]
        );
        // The counts start over with the interval.
        out.clear();
        answer(&mut d, 1, 0, 1);
        d.on_interval(at(20), &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn failure_rate_needs_minimum_hosts_with_volume() {
        let mut d = detector(4, rate_spec());
        answer(&mut d, 0, 0, 10);
        answer(&mut d, 1, 10, 0);
        answer(&mut d, 2, 0, 9);
        let mut out = Vec::new();
        d.on_interval(at(10), &mut out);
        assert!(out.is_empty(), "only 2 servers had 10 requests");
    }

    /// Success-rate detection at Envoy's defaults (1.9 sd, 5 hosts, 100 requests), the
    /// other detectors out of the way and room for every ejection.
    fn success_spec() -> OutlierSpec {
        OutlierSpec {
            consecutive_errors: u32::MAX,
            max_ejection: Fraction::ONE,
            ..OutlierSpec::default()
        }
    }

    /// The success-rate ejections at the end of an interval in which server `i` answered
    /// `counts[i] = (ok, failed)`.
    fn success_rate_ejections(spec: OutlierSpec, counts: &[(u32, u32)]) -> Vec<ServerId> {
        let mut d = detector(counts.len() as u32, spec);
        for (id, &(ok, failed)) in counts.iter().enumerate() {
            answer(&mut d, id as u32, ok, failed);
        }
        let mut out = Vec::new();
        d.on_interval(at(10), &mut out);
        assert!(
            out.iter()
                .all(|(_, e)| e.cause == EjectionCause::SuccessRate)
        );
        out.into_iter().map(|(id, _)| id).collect()
    }

    /// Mean and population standard deviation of success rates in percent, as a test
    /// recomputes them from the formula.
    fn mean_and_sd(rates: &[f64]) -> (f64, f64) {
        let n = rates.len() as f64;
        let mean = rates.iter().sum::<f64>() / n;
        let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    /// Eight servers at 100% and two at `a` and `b` successes of 1,000.
    fn eight_perfect_and(a: u32, b: u32) -> [(u32, u32); 10] {
        let mut counts = [(1000, 0); 10];
        counts[8] = (a, 1000 - a);
        counts[9] = (b, 1000 - b);
        counts
    }

    #[test]
    fn success_rate_ejects_a_server_below_mean_less_1_9_sd_and_keeps_one_just_above() {
        // Rates 8 × 100%, 87.0%, 88.0%: mean 97.5, population sd √((8 × 2.5² + 10.5² +
        // 9.5²) / 10) = √25.05 = 5.005, threshold 97.5 − 1.9 × 5.005 = 87.9905: 87.0%
        // below, 88.0% above by less than 0.01 point.
        let (mean, sd) = mean_and_sd(&[
            100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 87.0, 88.0,
        ]);
        let threshold = mean - 1.9 * sd;
        assert!(
            87.0 < threshold && 88.0 > threshold && 88.0 - threshold < 0.01,
            "{threshold}"
        );
        let ejected = success_rate_ejections(success_spec(), &eight_perfect_and(870, 880));
        assert_eq!(ejected, [ServerId(8)]);
        // One more failure at the second (87.9%): mean 97.49, sd 5.024, threshold 97.49 −
        // 1.9 × 5.024 = 87.944, and 87.9% is below it. (With the sample standard deviation,
        // ÷ 9, the threshold would be 87.428 and it would stay.)
        let (mean, sd) = mean_and_sd(&[
            100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0, 87.0, 87.9,
        ]);
        let threshold = mean - 1.9 * sd;
        assert!(87.9 < threshold, "{threshold}");
        let ejected = success_rate_ejections(success_spec(), &eight_perfect_and(870, 879));
        assert_eq!(ejected, [ServerId(8), ServerId(9)]);
        // A wider factor keeps both: 97.49 − 2.5 × 5.024 = 84.93.
        let wide = OutlierSpec {
            success_rate: Some(SuccessRateSpec {
                stdev_factor: 2.5,
                ..SuccessRateSpec::DEFAULT
            }),
            ..success_spec()
        };
        assert!(success_rate_ejections(wide, &eight_perfect_and(870, 879)).is_empty());
    }

    #[test]
    fn success_rate_ejects_nobody_when_every_server_fails_alike() {
        // sd 0: the threshold is the mean, and no rate is below it.
        assert!(success_rate_ejections(success_spec(), &[(900, 100); 10]).is_empty());
    }

    #[test]
    fn success_rate_needs_minimum_hosts_with_request_volume() {
        // Rates 4 × 100% and 50%, 100 requests each: mean 90, sd √((4 × 10² + 40²) / 5) =
        // 20, threshold 90 − 1.9 × 20 = 52: the 50% server is below it — with five hosts.
        let (mean, sd) = mean_and_sd(&[100.0, 100.0, 100.0, 100.0, 50.0]);
        assert!(50.0 < mean - 1.9 * sd);
        let five = [(100, 0), (100, 0), (100, 0), (100, 0), (50, 50)];
        assert_eq!(success_rate_ejections(success_spec(), &five), [ServerId(4)]);
        // One of them with 99 requests: four hosts of 100 are fewer than five, no judgement.
        let mut four = five;
        four[0] = (99, 0);
        assert!(success_rate_ejections(success_spec(), &four).is_empty());
        // With a minimum of four those four are judged: rates 3 × 100% and 50%, mean 87.5,
        // sd √((3 × 12.5² + 37.5²) / 4) = 21.65. At 1.9 sd (threshold 46.4) a lone outlier
        // among four is never below (one among n is below only when √(n − 1) > 1.9, so
        // from five hosts on), but at 1.5 sd the threshold is 87.5 − 32.5 = 55.
        let (mean, sd) = mean_and_sd(&[100.0, 100.0, 100.0, 50.0]);
        assert!(50.0 > mean - 1.9 * sd && 50.0 < mean - 1.5 * sd);
        let four_hosts = OutlierSpec {
            success_rate: Some(SuccessRateSpec {
                stdev_factor: 1.5,
                minimum_hosts: 4,
                ..SuccessRateSpec::DEFAULT
            }),
            ..success_spec()
        };
        assert_eq!(
            success_rate_ejections(four_hosts.clone(), &four),
            [ServerId(4)]
        );
        let five_hosts = OutlierSpec {
            success_rate: Some(SuccessRateSpec {
                stdev_factor: 1.5,
                ..SuccessRateSpec::DEFAULT
            }),
            ..four_hosts
        };
        assert!(success_rate_ejections(five_hosts, &four).is_empty());
    }

    #[test]
    fn a_server_under_the_request_volume_takes_no_part_in_the_success_rate() {
        // Four servers at 100% and one at 60% of 100 requests, and one at 0% of 99: the
        // last is not judged, nor counted in the mean — with it, the mean would be 76.7,
        // sd 37.3, and the 60% server above the threshold 76.7 − 1.9 × 37.3 = 5.9; without
        // it the five of 100 requests have mean 92, sd 16, threshold 92 − 1.9 × 16 = 61.6,
        // and the 60% server is below it.
        let (mean, sd) = mean_and_sd(&[100.0, 100.0, 100.0, 100.0, 60.0]);
        assert!(60.0 < mean - 1.9 * sd);
        let (mean, sd) = mean_and_sd(&[100.0, 100.0, 100.0, 100.0, 60.0, 0.0]);
        assert!(60.0 > mean - 1.9 * sd);
        let counts = [(100, 0), (100, 0), (100, 0), (100, 0), (60, 40), (0, 99)];
        assert_eq!(
            success_rate_ejections(success_spec(), &counts),
            [ServerId(4)]
        );
    }

    #[test]
    fn success_rate_respects_max_ejection_percent_and_skips_the_ejected() {
        // Two outliers among ten: at the default 10% only the first (in id order) goes.
        let spec = OutlierSpec {
            max_ejection: Fraction::from_millionths(100_000),
            ..success_spec()
        };
        let mut d = detector(10, spec);
        for id in 0..8 {
            answer(&mut d, id, 1000, 0);
        }
        answer(&mut d, 8, 500, 500);
        answer(&mut d, 9, 500, 500);
        let mut out = Vec::new();
        d.on_interval(at(10), &mut out);
        assert_eq!(
            out,
            [(
                ServerId(8),
                Ejection {
                    until: at(40),
                    cause: EjectionCause::SuccessRate
                }
            )]
        );
        assert_eq!(d.ejected_count(), 1);
        // Next interval, the same rates: web 8 is ejected and not judged; web 9 alone
        // among nine is below (mean 94.4, sd 15.7, threshold 64.6), but a second ejection
        // is 20% of the servers: refused.
        for id in 0..8 {
            answer(&mut d, id, 1000, 0);
        }
        answer(&mut d, 9, 500, 500);
        out.clear();
        d.on_interval(at(20), &mut out);
        assert!(out.is_empty());
        assert!(!d.is_ejected(ServerId(9)));
    }

    #[test]
    fn success_rate_ejects_before_failure_rate_on_the_same_counts() {
        // A server at 0% of 100 among nine at 100%: both detectors would eject it; Envoy
        // runs the success rate first, and the failure rate does not eject it again. The
        // failure rate's count of hosts with volume is taken before either ejects: with
        // minimum_hosts 10 it is 10, so the ninth server, at 10% failures — not a
        // success-rate outlier at 2 sd — is still judged, and ejected.
        let spec = OutlierSpec {
            success_rate: Some(SuccessRateSpec {
                stdev_factor: 2.0,
                ..SuccessRateSpec::DEFAULT
            }),
            failure_rate: Some(FailureRateSpec {
                threshold: Fraction::from_millionths(100_000),
                minimum_hosts: 10,
                request_volume: 100,
            }),
            ..success_spec()
        };
        let mut counts = [(100, 0); 10];
        counts[3] = (0, 100);
        counts[9] = (90, 10);
        let rates: Vec<f64> = counts.iter().map(|&(ok, _)| f64::from(ok)).collect();
        let (mean, sd) = mean_and_sd(&rates);
        // mean 89, sd 29.8, threshold 89 − 2 × 29.8 = 29.3: 0% below, 90% above.
        assert!(0.0 < mean - 2.0 * sd && 90.0 > mean - 2.0 * sd);
        let mut d = detector(10, spec);
        for (id, &(ok, failed)) in counts.iter().enumerate() {
            answer(&mut d, id as u32, ok, failed);
        }
        let mut out = Vec::new();
        d.on_interval(at(10), &mut out);
        let causes: Vec<(ServerId, EjectionCause)> =
            out.iter().map(|&(id, e)| (id, e.cause)).collect();
        assert_eq!(
            causes,
            [
                (ServerId(3), EjectionCause::SuccessRate),
                (ServerId(9), EjectionCause::FailureRate)
            ]
        );
        assert_eq!(d.ejected_count(), 2);
    }

    #[test]
    fn success_rate_off_ejects_nothing() {
        let spec = OutlierSpec {
            success_rate: None,
            ..success_spec()
        };
        assert!(success_rate_ejections(spec, &eight_perfect_and(500, 1000)).is_empty());
    }
}
