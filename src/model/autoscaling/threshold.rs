//! The seed's AutoScaler, a pair of AWS simple scaling policies on three alarms: out by
//! `step` when any of CPU, memory or response time is above its high mark, in by `step`
//! when all three are below their low marks.
//!
//! The step is added to the group's desired capacity, as an AWS simple scaling policy's
//! `ChangeInCapacity` adjusts it, not to the instances running. What keeps a long boot
//! from making every evaluation add more is the cooldown, as for AWS simple scaling (see
//! `capacity`): with none, every evaluation that still sees the metric high adds another
//! step on top of the instances booting.
//!
//! Missing data decides the rest. No CPU means no datapoint in the window — no instance was
//! ready to report (CloudWatch's `INSUFFICIENT_DATA`) — and nothing is done. No response
//! time means no traffic was answered in the window; that is as low as response time gets,
//! so it never scales out and does not forbid a scale-in.

use super::{MetricValues, ThresholdSpec};

/// The desired capacity the marks ask for, and why; `None` when they ask for nothing.
pub fn propose(
    spec: &ThresholdSpec,
    seen: &MetricValues,
    desired: u32,
) -> Option<(u32, &'static str)> {
    let cpu = seen.cpu?;
    let memory = seen.memory.unwrap_or(0.0);
    let response_time = seen.response_time;
    if cpu > spec.cpu_high {
        return Some((desired.saturating_add(spec.step), "cpu-above-high"));
    }
    if memory > spec.memory_high {
        return Some((desired.saturating_add(spec.step), "memory-above-high"));
    }
    if response_time.is_some_and(|rt| rt > spec.response_time_high.as_secs_f64()) {
        return Some((
            desired.saturating_add(spec.step),
            "response-time-above-high",
        ));
    }
    let response_time_low =
        response_time.is_none_or(|rt| rt < spec.response_time_low.as_secs_f64());
    if cpu < spec.cpu_low && memory < spec.memory_low && response_time_low {
        return Some((desired.saturating_sub(spec.step), "below-low"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(cpu: f64, memory: f64, response_time: Option<f64>) -> MetricValues {
        MetricValues {
            cpu: Some(cpu),
            memory: Some(memory),
            request_rate: Some(10.0),
            response_time,
            queue_length: Some(0.0),
        }
    }

    const SEED: ThresholdSpec = ThresholdSpec::SEED;

    #[test]
    fn any_metric_above_its_high_mark_scales_out_by_the_step() {
        assert_eq!(
            propose(&SEED, &seen(0.71, 0.1, Some(0.1)), 4),
            Some((5, "cpu-above-high"))
        );
        assert_eq!(
            propose(&SEED, &seen(0.5, 0.81, Some(0.1)), 4),
            Some((5, "memory-above-high"))
        );
        assert_eq!(
            propose(&SEED, &seen(0.5, 0.1, Some(2.5)), 4),
            Some((5, "response-time-above-high"))
        );
        let step3 = ThresholdSpec { step: 3, ..SEED };
        assert_eq!(
            propose(&step3, &seen(0.9, 0.9, Some(9.0)), 4),
            Some((7, "cpu-above-high"))
        );
    }

    #[test]
    fn only_all_metrics_below_their_low_marks_scale_in() {
        assert_eq!(
            propose(&SEED, &seen(0.29, 0.49, Some(0.49)), 4),
            Some((3, "below-low"))
        );
        // One metric not low enough holds.
        assert_eq!(propose(&SEED, &seen(0.29, 0.49, Some(0.5)), 4), None);
        assert_eq!(propose(&SEED, &seen(0.29, 0.5, Some(0.1)), 4), None);
        assert_eq!(propose(&SEED, &seen(0.3, 0.1, Some(0.1)), 4), None);
        // Between the marks: hold.
        assert_eq!(propose(&SEED, &seen(0.5, 0.6, Some(1.0)), 4), None);
        // At a high mark exactly: not above it.
        assert_eq!(propose(&SEED, &seen(0.7, 0.8, Some(2.0)), 4), None);
    }

    #[test]
    fn no_traffic_counts_as_low_response_time_but_no_cpu_does_nothing() {
        assert_eq!(
            propose(&SEED, &seen(0.1, 0.1, None), 4),
            Some((3, "below-low"))
        );
        assert_eq!(
            propose(&SEED, &seen(0.9, 0.1, None), 4),
            Some((5, "cpu-above-high"))
        );
        assert_eq!(propose(&SEED, &MetricValues::default(), 4), None);
        // Scale-in stops at zero; the bounds are the capacity's business.
        assert_eq!(
            propose(&SEED, &seen(0.1, 0.1, None), 0),
            Some((0, "below-low"))
        );
    }
}
