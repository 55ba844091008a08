//! Target tracking as the Kubernetes HorizontalPodAutoscaler computes it, step for step
//! from `pkg/controller/podautoscaler` (kubernetes/kubernetes, the `autoscaling/v2`
//! controller):
//!
//! 1. **The replica count** (`replica_calculator.go`, `calcPlainMetricReplicas` for a
//!    per-pod metric): `ratio = metric / target`; within `tolerance` of 1 the proposal is
//!    the current replica count, otherwise `ceil(ratio × readyPodCount)`. When some pods
//!    are not ready and the ratio asks for more, the unready pods are counted as using
//!    nothing: `newRatio = ratio × ready / (ready + unready)`, and if that is within
//!    tolerance or below 1 the proposal is the current count, else `ceil(newRatio × (ready
//!    + unready))` (which is `ceil(ratio × ready)`), never below the current count. This is
//!    what keeps the HPA from ordering more pods at every sync while the last ones boot.
//!    Response time is not a per-pod quantity: it is read as an object metric with a value
//!    target (`getUsageRatioReplicaCount`), with no unready correction.
//! 2. **Stabilization** (`horizontal.go`, `stabilizeRecommendationWithBehaviors`): every
//!    sync's unstabilized proposal is remembered; the result is the current count brought
//!    within `[lowest proposal of the last scale_up_stabilization, highest proposal of the
//!    last scale_down_stabilization]` (both windows include the new proposal). A
//!    scale-in therefore waits until every proposal of the last five minutes (the default)
//!    agreed to it. The first sync remembers the current count as a proposal
//!    (`recordInitialRecommendation`).
//! 3. **Rate limits** (`convertDesiredReplicasWithBehaviorRate`): with `periodStart =
//!    current − added + removed` over the policy's period (`getReplicasChangePerPeriod` on
//!    the scale-up and scale-down events), a scale-up may reach at most the larger of
//!    `periodStart + pods` and `ceil(periodStart × (1 + percent/100))`
//!    (`calculateScaleUpLimitWithScalingRules`, `selectPolicy: Max`), and never less than
//!    the current count; a scale-down at least the smaller of `periodStart − pods` and
//!    `trunc(periodStart × (1 − percent/100))` (`calculateScaleDownLimitWithBehaviors`,
//!    Go's `int32(float64)` conversion truncates), and never more than the current count.
//!    `min` and `max` bound the result in the direction of the change. A [`RateLimit`]
//!    with neither `pods` nor `percent` sets no limit (the HPA requires at least one
//!    policy).
//!
//! The HPA's "current" replica count is the scale target's `spec.replicas`
//! (`reconcileAutoscaler` reads `scale.Spec.Replicas`): the desired capacity, not the pods
//! that exist. Here too the proposal starts from the desired capacity; the instances
//! launched and not leaving ([`super::Fleet::current`]) only tell how many pods are
//! unready. The HPA's ready pods are those with metrics (`groupPods`). On CPU, a pod within
//! its CPU initialization period counts as ready only once it has been ready for a whole
//! metrics window, and the world counts those ([`super::Fleet::cpu_ready`]). On the other
//! metrics lbsim takes the ready count of the newest datapoint (at most one collection
//! period old), so an instance that became ready after the visible window counts with the
//! window's mean load rather than as the HPA's "missing" pod.

use std::collections::VecDeque;

use super::{Metric, RateLimit, TargetTrackingSpec};
use crate::engine::{SimDuration, SimTime};

/// The counts a sync reads besides the metric.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Replicas {
    /// The desired capacity: the HPA's `currentReplicas`.
    pub desired: u32,
    /// Instances in state ready, from the newest datapoint.
    pub ready: u32,
    /// Instances launched and not leaving: booting, ready, or crashed with their restart
    /// pending.
    pub current: u32,
}

/// The HPA's memory between syncs: recent proposals and recent changes.
#[derive(Clone, Debug, Default)]
pub struct TargetTracking {
    /// Whether the first sync's current count has been remembered.
    started: bool,
    /// `(time, unstabilized proposal)`, oldest first; kept for the longer stabilization
    /// window.
    recommendations: VecDeque<(SimTime, u32)>,
    /// `(time, instances added)` of each scale-up, oldest first.
    scale_ups: VecDeque<(SimTime, u32)>,
    /// `(time, instances removed)` of each scale-down, oldest first.
    scale_downs: VecDeque<(SimTime, u32)>,
}

impl TargetTracking {
    /// One sync: the desired capacity the HPA would set, and why (`target-tracking`, or
    /// `stabilized` / `rate-limited` when those moved it); `None` without a metric or a
    /// ready instance, when the HPA fails to compute a count and changes nothing.
    pub fn propose(
        &mut self,
        spec: &TargetTrackingSpec,
        now: SimTime,
        value: Option<f64>,
        replicas: Replicas,
        (min, max): (u32, u32),
    ) -> Option<(u32, &'static str)> {
        if !self.started {
            self.started = true;
            self.recommendations.push_back((now, replicas.desired));
        }
        let keep = spec
            .scale_up_stabilization
            .max(spec.scale_down_stabilization);
        while self
            .recommendations
            .front()
            .is_some_and(|&(time, _)| time + keep <= now)
        {
            self.recommendations.pop_front();
        }
        let proposal = replica_count(spec, value?, replicas)?;
        let stabilized = self.stabilize(spec, now, proposal, replicas.desired);
        let limited = self.rate_limit(spec, now, stabilized, replicas.desired, (min, max));
        let reason = if limited != stabilized {
            "rate-limited"
        } else if stabilized != proposal {
            "stabilized"
        } else {
            "target-tracking"
        };
        Some((limited, reason))
    }

    /// Remembers a change the autoscaler made (`storeScaleEvent`), for the rate limits.
    pub fn record_change(&mut self, spec: &TargetTrackingSpec, now: SimTime, from: u32, to: u32) {
        if to > from {
            self.scale_ups.push_back((now, to - from));
        } else if to < from {
            self.scale_downs.push_back((now, from - to));
        }
        let keep = spec.scale_up_limit.period.max(spec.scale_down_limit.period);
        for events in [&mut self.scale_ups, &mut self.scale_downs] {
            while events.front().is_some_and(|&(time, _)| time + keep <= now) {
                events.pop_front();
            }
        }
    }

    /// `stabilizeRecommendationWithBehaviors`: the desired capacity brought within the
    /// lowest proposal of the scale-up window and the highest of the scale-down window;
    /// then `proposal` is remembered.
    fn stabilize(
        &mut self,
        spec: &TargetTrackingSpec,
        now: SimTime,
        proposal: u32,
        desired: u32,
    ) -> u32 {
        let within = |time: SimTime, window: SimDuration| time + window > now;
        let (mut up, mut down) = (proposal, proposal);
        for &(time, recommendation) in &self.recommendations {
            if within(time, spec.scale_up_stabilization) {
                up = up.min(recommendation);
            }
            if within(time, spec.scale_down_stabilization) {
                down = down.max(recommendation);
            }
        }
        self.recommendations.push_back((now, proposal));
        desired.max(up).min(down)
    }

    /// `convertDesiredReplicasWithBehaviorRate`.
    fn rate_limit(
        &self,
        spec: &TargetTrackingSpec,
        now: SimTime,
        wanted: u32,
        desired: u32,
        (min, max): (u32, u32),
    ) -> u32 {
        let current = i64::from(desired);
        if wanted > desired {
            let allowed = self
                .up_limit(&spec.scale_up_limit, now, current)
                .map_or(i64::from(max), |limit| {
                    limit.max(current).min(i64::from(max))
                });
            i64::from(wanted).min(allowed) as u32
        } else if wanted < desired {
            let allowed = self
                .down_limit(&spec.scale_down_limit, now, current)
                .map_or(i64::from(min), |limit| {
                    limit.min(current).max(i64::from(min))
                });
            i64::from(wanted).max(allowed) as u32
        } else {
            wanted
        }
    }

    /// The capacity at the start of the period ending `now`: the current one less what
    /// was added and plus what was removed within it.
    fn period_start(&self, period: SimDuration, now: SimTime, current: i64) -> i64 {
        let within = |events: &VecDeque<(SimTime, u32)>| -> i64 {
            events
                .iter()
                .filter(|&&(time, _)| time + period > now)
                .map(|&(_, change)| i64::from(change))
                .sum()
        };
        current - within(&self.scale_ups) + within(&self.scale_downs)
    }

    /// `calculateScaleUpLimitWithScalingRules` with `selectPolicy: Max`.
    fn up_limit(&self, rule: &RateLimit, now: SimTime, current: i64) -> Option<i64> {
        let start = self.period_start(rule.period, now, current);
        let pods = rule.pods.map(|pods| start + i64::from(pods));
        let percent = rule
            .percent
            .map(|percent| (start as f64 * (1.0 + percent / 100.0)).ceil() as i64);
        pods.max(percent)
    }

    /// `calculateScaleDownLimitWithBehaviors` with `selectPolicy: Max` (the most removed).
    fn down_limit(&self, rule: &RateLimit, now: SimTime, current: i64) -> Option<i64> {
        let start = self.period_start(rule.period, now, current);
        let pods = rule.pods.map(|pods| start - i64::from(pods));
        let percent = rule
            .percent
            .map(|percent| (start as f64 * (1.0 - percent / 100.0)) as i64);
        match (pods, percent) {
            (Some(pods), Some(percent)) => Some(pods.min(percent)),
            (one, other) => one.or(other),
        }
    }
}

/// The replica calculator's proposal for the metric's `value`; `None` with no ready
/// instance (no pod has metrics: the HPA reports an error and changes nothing).
///
/// Metric and target are read in thousandths, as Kubernetes reads quantities
/// (`MilliValue`), and the count is computed in integers: `ceil(4 × 0.9 / 0.6)` is exactly
/// 6, where floating point would make it 6.000000000000001 and then 7. A target under one
/// thousandth reads as one thousandth.
fn replica_count(spec: &TargetTrackingSpec, value: f64, replicas: Replicas) -> Option<u32> {
    if replicas.ready == 0 {
        return None;
    }
    let usage = milli(value);
    let target = milli(spec.target).max(1);
    let within_tolerance = |ratio: f64| (ratio - 1.0).abs() <= spec.tolerance;
    let ratio = usage as f64 / target as f64;
    // ceil(ratio × ready), saturating: an absurd ratio asks for u32::MAX, which the bounds
    // then cut.
    let scaled = (usage * u128::from(replicas.ready))
        .div_ceil(target)
        .min(u128::from(u32::MAX)) as u32;
    let unready = replicas.current.saturating_sub(replicas.ready);
    let per_pod = !matches!(spec.metric, Metric::ResponseTime(_));
    if !per_pod || unready == 0 || ratio <= 1.0 {
        return Some(if within_tolerance(ratio) {
            replicas.desired
        } else {
            scaled
        });
    }
    // Scale-up with unready pods: they count as using nothing.
    let counted = u128::from(replicas.ready) + u128::from(unready);
    let new_ratio = (usage * u128::from(replicas.ready)) as f64 / (target * counted) as f64;
    if within_tolerance(new_ratio) || new_ratio < 1.0 {
        return Some(replicas.desired);
    }
    Some(scaled.max(replicas.desired))
}

/// `x` in thousandths, rounded (never negative).
fn milli(x: f64) -> u128 {
    (x * 1000.0).round().max(0.0) as u128
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Statistic;

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    /// The HPA's defaults: tolerance 0.1, scale-down stabilization 300 s, scale-up 0 s;
    /// up 4 pods or 100% per 15 s, down 100% per 15 s.
    fn hpa(target: f64) -> TargetTrackingSpec {
        TargetTrackingSpec::hpa(Metric::Cpu, target)
    }

    fn ready(desired: u32) -> Replicas {
        Replicas {
            desired,
            ready: desired,
            current: desired,
        }
    }

    /// One sync that, like the autoscaler, applies its proposal.
    fn sync(
        hpa_state: &mut TargetTracking,
        spec: &TargetTrackingSpec,
        now: SimTime,
        value: f64,
        replicas: Replicas,
    ) -> (u32, &'static str) {
        let (to, reason) = hpa_state
            .propose(spec, now, Some(value), replicas, (1, 100))
            .unwrap();
        hpa_state.record_change(spec, now, replicas.desired, to);
        (to, reason)
    }

    #[test]
    fn desired_is_the_ceiling_of_current_times_the_ratio() {
        let spec = hpa(0.6);
        // 4 pods at 90% for a 60% target: ratio 1.5, ceil(4 × 1.5) = 6.
        assert_eq!(
            replica_count(&spec, 0.9, ready(4)),
            Some(6),
            "4 × 0.9 / 0.6"
        );
        // 0.61 / 0.6 = 1.017 and 0.65 / 0.6 = 1.083: within 10% of 1, keep 4.
        assert_eq!(replica_count(&spec, 0.61, ready(4)), Some(4));
        assert_eq!(replica_count(&spec, 0.65, ready(4)), Some(4));
        // 0.67 / 0.6 = 1.117: out of tolerance, ceil(4.47) = 5.
        assert_eq!(replica_count(&spec, 0.67, ready(4)), Some(5));
        // 0.5 / 0.6 = 0.833: ceil(3.33) = 4 again, no change.
        assert_eq!(replica_count(&spec, 0.5, ready(4)), Some(4));
        // 0.2 / 0.6 on 6: ceil(2.0) = 2.
        assert_eq!(replica_count(&spec, 0.2, ready(6)), Some(2));
        // ceil(3 × 0.7/0.6 = 3.5) = 4.
        assert_eq!(replica_count(&spec, 0.7, ready(3)), Some(4));
        assert_eq!(
            replica_count(
                &spec,
                0.9,
                Replicas {
                    desired: 4,
                    ready: 0,
                    current: 4
                }
            ),
            None
        );
    }

    #[test]
    fn unready_pods_damp_a_scale_up() {
        let spec = hpa(0.6);
        // 2 ready at 90%, 2 booting: 1.5 × 2/4 = 0.75 < 1, keep 4.
        let booting = Replicas {
            desired: 4,
            ready: 2,
            current: 4,
        };
        assert_eq!(replica_count(&spec, 0.9, booting), Some(4));
        // 3 ready at 100%, 1 booting: 1.667 × 3/4 = 1.25 → ceil(1.667 × 3) = 5.
        let one_booting = Replicas {
            desired: 4,
            ready: 3,
            current: 4,
        };
        assert_eq!(replica_count(&spec, 1.0, one_booting), Some(5));
        // A scale-in ignores unready pods: ceil(0.5 × 2) = 1.
        assert_eq!(replica_count(&spec, 0.3, booting), Some(1));
        // Response time is an object metric: no unready correction.
        let latency = TargetTrackingSpec {
            metric: Metric::ResponseTime(Statistic::Mean),
            target: 0.2,
            ..hpa(0.6)
        };
        assert_eq!(replica_count(&latency, 0.3, booting), Some(3));
    }

    #[test]
    fn a_jump_is_capped_by_the_default_rate_limit() {
        // 2 pods at 10× the target want 20. Up limit: max(2 + 4, ceil(2 × 2)) = 6.
        let spec = hpa(0.1);
        let mut state = TargetTracking::default();
        assert_eq!(
            sync(&mut state, &spec, secs(15), 1.0, ready(2)),
            (6, "rate-limited")
        );
        // 5 s later the period still holds the +4: periodStart 2, limit 6, no change.
        assert_eq!(
            sync(&mut state, &spec, secs(20), 1.0, ready(6)),
            (6, "rate-limited")
        );
        // 15 s later the +4 is out of the period (its time + 15 s is not after now):
        // periodStart 6, limit max(10, 12) = 12.
        assert_eq!(
            sync(&mut state, &spec, secs(30), 1.0, ready(6)),
            (12, "rate-limited")
        );
        // 12 pods at 10× want 120; periodStart 12, limit max(16, 24) = 24.
        assert_eq!(
            sync(&mut state, &spec, secs(45), 1.0, ready(12)),
            (24, "rate-limited")
        );
    }

    #[test]
    fn a_pods_only_rate_limit_and_a_truncated_percent() {
        let mut spec = hpa(0.6);
        spec.scale_down_stabilization = SimDuration::ZERO;
        spec.scale_down_limit = RateLimit {
            pods: Some(1),
            percent: None,
            period: SimDuration::from_secs(60),
        };
        let mut state = TargetTracking::default();
        // 10 pods at 6% for a 60% target want 1; one pod per minute: 9.
        assert_eq!(
            sync(&mut state, &spec, secs(15), 0.06, ready(10)),
            (9, "rate-limited")
        );
        // 30 s later periodStart = 9 + 1 = 10: limit 9, no change.
        assert_eq!(
            sync(&mut state, &spec, secs(45), 0.06, ready(9)),
            (9, "rate-limited")
        );
        assert_eq!(
            sync(&mut state, &spec, secs(75), 0.06, ready(9)),
            (8, "rate-limited")
        );
        // Down by 50% of 5 = trunc(2.5) = 2 at most: 5 → 2 allowed, 5 → 1 capped to 2.
        spec.scale_down_limit = RateLimit {
            pods: None,
            percent: Some(50.0),
            period: SimDuration::from_secs(60),
        };
        let mut state = TargetTracking::default();
        assert_eq!(
            sync(&mut state, &spec, secs(15), 0.06, ready(5)),
            (2, "rate-limited")
        );
        // No policy at all: no limit.
        spec.scale_down_limit = RateLimit {
            pods: None,
            percent: None,
            period: SimDuration::from_secs(60),
        };
        let mut state = TargetTracking::default();
        assert_eq!(
            sync(&mut state, &spec, secs(15), 0.06, ready(10)),
            (1, "target-tracking")
        );
    }

    #[test]
    fn scale_in_waits_for_the_highest_proposal_of_the_window() {
        let spec = hpa(0.6);
        let mut state = TargetTracking::default();
        // t = 15: 4 pods at 90% → 6 (the initial proposal 4 is remembered too).
        assert_eq!(
            sync(&mut state, &spec, secs(15), 0.9, ready(4)),
            (6, "target-tracking")
        );
        // Load falls: 6 pods at 20% → 2, but 6 was proposed within 300 s: hold 6.
        for t in (30..315).step_by(15) {
            assert_eq!(
                sync(&mut state, &spec, secs(t), 0.2, ready(6)),
                (6, "stabilized"),
                "t = {t}"
            );
        }
        // At 315 s the proposals of 15 s are out of the window (15 + 300 is not after 315):
        // every remembered proposal is 2, and 100% per 15 s allows it.
        assert_eq!(
            sync(&mut state, &spec, secs(315), 0.2, ready(6)),
            (2, "target-tracking")
        );
    }

    #[test]
    fn a_higher_recent_proposal_stabilizes_a_scale_in_part_way() {
        let spec = hpa(0.6);
        let mut state = TargetTracking::default();
        // 8 pods at the target: no change, 8 remembered (twice).
        assert_eq!(
            sync(&mut state, &spec, secs(15), 0.6, ready(8)),
            (8, "target-tracking")
        );
        // Proposal ceil(8 × 0.3/0.6) = 4, the window's highest is 8: hold.
        assert_eq!(
            sync(&mut state, &spec, secs(30), 0.3, ready(8)),
            (8, "stabilized")
        );
        // After 300 s only the proposals from t = 30 on are in the window: 4 and then the
        // new ceil(8 × 0.15/0.6) = 2. Max 4: scale to 4.
        assert_eq!(
            sync(&mut state, &spec, secs(316), 0.15, ready(8)),
            (4, "stabilized")
        );
    }

    #[test]
    fn a_scale_up_stabilization_window_takes_the_lowest_proposal() {
        let mut spec = hpa(0.5);
        spec.scale_up_stabilization = SimDuration::from_secs(60);
        let mut state = TargetTracking::default();
        // The initial 4 is in the window: min(4, 8) = 4, hold.
        assert_eq!(
            sync(&mut state, &spec, secs(15), 1.0, ready(4)),
            (4, "stabilized")
        );
        // 60 s after the first sync, the lowest proposal of the window is 8.
        assert_eq!(
            sync(&mut state, &spec, secs(75), 1.0, ready(4)),
            (8, "target-tracking")
        );
    }

    #[test]
    fn memory_is_bounded_by_the_windows_and_periods() {
        let spec = hpa(0.6);
        let mut state = TargetTracking::default();
        let mut desired = 4;
        for t in 1..=10_000u64 {
            let value = if t % 40 < 20 { 0.9 } else { 0.2 };
            desired = sync(&mut state, &spec, secs(15 * t), value, ready(desired)).0;
        }
        // 300 s of syncs every 15 s; 15 s of changes.
        assert!(
            state.recommendations.len() <= 21,
            "{}",
            state.recommendations.len()
        );
        assert!(state.scale_ups.len() + state.scale_downs.len() <= 2);
    }
}
