//! AWS step scaling: the band the metric falls in gives an adjustment of the desired
//! capacity — the bigger the breach, the bigger the step.
//!
//! Bands are `[from, to)` of the metric itself (AWS writes them as offsets from the alarm
//! threshold; an absolute band is the same thing with the threshold folded in). A metric in
//! no band, or no metric at all (no data in the window), changes nothing.
//!
//! The adjustment applies to the group's desired capacity, which is what an AWS policy
//! changes ("increment or decrement the current capacity of the group"). Instances still
//! warming up — launched and not yet ready — are part of that capacity, and while any is,
//! a breach adds only what its step asks beyond them, and no scale-in happens (Amazon EC2
//! Auto Scaling User Guide, "Step and simple scaling policies", instance warmup: "multiple
//! alarm breaches that fall in the range of the same step adjustment result in a single
//! scaling activity"; a breach of a larger step adds the difference; scale-in activities
//! are blocked until instances finish warming up). So a slow boot does not stack step upon
//! step: `desired − warming + step` when that is more than `desired`. A percentage is of
//! the same `desired − warming`. The adjustment types
//! are AWS's (Amazon EC2 Auto Scaling User Guide, "Step and simple scaling policies",
//! scaling adjustment types):
//!
//! - `ChangeInCapacity`: desired + n.
//! - `ExactCapacity`: n.
//! - `PercentChangeInCapacity`: desired + p% of desired, where a non-integer change is
//!   rounded as AWS documents it — values greater than 1 are rounded down (12.7 → 12),
//!   values between 0 and 1 to 1 (0.67 → 1), values between 0 and −1 to −1, values less
//!   than −1 up (−6.67 → −6). That is toward zero, but by at least one instance: the
//!   default of the policy's `MinAdjustmentMagnitude`, which lbsim does not let a scenario
//!   raise. An exact integer change stays as it is, so 10% of 0 instances is none.

use super::{Adjustment, MetricValues, Step, StepSpec};

/// The desired capacity the metric's band asks for, with `warming` of the `desired`
/// instances still warming up; `None` outside every band, or for a scale-in while any
/// instance warms up.
pub fn propose(spec: &StepSpec, seen: &MetricValues, desired: u32, warming: u32) -> Option<u32> {
    let value = seen.get(spec.metric)?;
    let step = band(&spec.steps, value)?;
    if warming == 0 {
        return Some(adjust(step.adjustment, desired));
    }
    let proposed = adjust(step.adjustment, desired.saturating_sub(warming));
    (proposed > desired).then_some(proposed)
}

/// The band holding `value`.
fn band(steps: &[Step], value: f64) -> Option<&Step> {
    steps.iter().find(|step| {
        step.from.is_none_or(|from| value >= from) && step.to.is_none_or(|to| value < to)
    })
}

/// `desired` after `adjustment`, never below zero.
fn adjust(adjustment: Adjustment, desired: u32) -> u32 {
    let change = match adjustment {
        Adjustment::Exact(n) => return n,
        Adjustment::Change(n) => i64::from(n),
        Adjustment::Percent(percent) => percent_change(desired, percent),
    };
    let to = i64::from(desired) + change;
    to.clamp(0, i64::from(u32::MAX)) as u32
}

/// `percent` of `desired` in whole instances, rounded as AWS rounds it.
fn percent_change(desired: u32, percent: f64) -> i64 {
    let exact = f64::from(desired) * percent / 100.0;
    if exact.fract() == 0.0 {
        exact as i64
    } else if exact.abs() < 1.0 {
        exact.signum() as i64
    } else {
        exact.trunc() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Metric;

    fn step(from: Option<f64>, to: Option<f64>, adjustment: Adjustment) -> Step {
        Step {
            from,
            to,
            adjustment,
        }
    }

    fn cpu(value: f64) -> MetricValues {
        MetricValues {
            cpu: Some(value),
            ..MetricValues::default()
        }
    }

    fn spec() -> StepSpec {
        StepSpec {
            metric: Metric::Cpu,
            steps: vec![
                step(None, Some(0.3), Adjustment::Change(-1)),
                step(Some(0.6), Some(0.8), Adjustment::Change(2)),
                step(Some(0.8), Some(0.95), Adjustment::Percent(50.0)),
                step(Some(0.95), None, Adjustment::Exact(20)),
            ],
        }
    }

    #[test]
    fn the_band_holding_the_metric_gives_the_adjustment() {
        let spec = spec();
        assert_eq!(propose(&spec, &cpu(0.1), 4, 0), Some(3));
        // Bands are [from, to): 0.3 is in none, 0.6 in the second.
        assert_eq!(propose(&spec, &cpu(0.3), 4, 0), None);
        assert_eq!(propose(&spec, &cpu(0.5), 4, 0), None);
        assert_eq!(propose(&spec, &cpu(0.6), 4, 0), Some(6));
        assert_eq!(propose(&spec, &cpu(0.8), 4, 0), Some(6));
        assert_eq!(propose(&spec, &cpu(0.95), 4, 0), Some(20));
        assert_eq!(propose(&spec, &cpu(7.0), 4, 0), Some(20));
        // No data in the window: nothing.
        assert_eq!(propose(&spec, &MetricValues::default(), 4, 0), None);
    }

    #[test]
    fn instances_warming_up_absorb_a_step_and_hold_back_a_scale_in() {
        let spec = spec();
        // 6 desired, 2 of them still booting from the last +2: the same band again adds
        // nothing (4 + 2 = 6), the 50% band adds its difference (4 + 2 = 6: still none),
        // an exact 20 is 20.
        assert_eq!(propose(&spec, &cpu(0.7), 6, 2), None);
        assert_eq!(propose(&spec, &cpu(0.7), 6, 1), Some(7));
        assert_eq!(propose(&spec, &cpu(0.9), 6, 2), None);
        assert_eq!(propose(&spec, &cpu(0.9), 6, 0), Some(9));
        assert_eq!(propose(&spec, &cpu(0.99), 6, 2), Some(20));
        // A scale-in waits until no instance warms up.
        assert_eq!(propose(&spec, &cpu(0.1), 6, 1), None);
        assert_eq!(propose(&spec, &cpu(0.1), 6, 0), Some(5));
    }

    #[test]
    fn changes_and_exact_capacities() {
        assert_eq!(adjust(Adjustment::Change(3), 4), 7);
        assert_eq!(adjust(Adjustment::Change(-3), 4), 1);
        assert_eq!(adjust(Adjustment::Change(-9), 4), 0);
        assert_eq!(adjust(Adjustment::Exact(2), 40), 2);
        assert_eq!(adjust(Adjustment::Exact(0), 4), 0);
    }

    #[test]
    fn percent_changes_round_as_aws_documents() {
        // AWS's own examples: 12.7 → 12, 0.67 → 1, −0.58 → −1, −6.67 → −6.
        assert_eq!(percent_change(127, 10.0), 12);
        assert_eq!(percent_change(67, 1.0), 1);
        assert_eq!(percent_change(58, -1.0), -1);
        assert_eq!(percent_change(667, -1.0), -6);
        // "Current capacity 10, adjustment 10 percent: 1 instance is added."
        assert_eq!(adjust(Adjustment::Percent(10.0), 10), 11);
        // 25% of 3 is 0.75: one instance; 50% of 5 is 2.5: two; −50% of 5: −2.
        assert_eq!(adjust(Adjustment::Percent(25.0), 3), 4);
        assert_eq!(adjust(Adjustment::Percent(50.0), 5), 7);
        assert_eq!(adjust(Adjustment::Percent(-50.0), 5), 3);
        assert_eq!(adjust(Adjustment::Percent(-10.0), 3), 2);
        assert_eq!(adjust(Adjustment::Percent(-100.0), 3), 0);
        // An integer change stays: 10% of nothing is nothing.
        assert_eq!(adjust(Adjustment::Percent(10.0), 0), 0);
        assert_eq!(adjust(Adjustment::Percent(100.0), 4), 8);
    }
}
