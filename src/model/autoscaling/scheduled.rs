//! AWS scheduled scaling: at a set time, an action sets the group's minimum, maximum and
//! desired capacity, whichever it gives (`PutScheduledUpdateGroupAction`'s `MinSize`,
//! `MaxSize`, `DesiredCapacity`). It prepares for load a metric would see too late: the
//! morning peak, a launch.
//!
//! The bounds move first, then the desired capacity (the action's, or the old one) is
//! clamped into them; so an action that only raises `min` above the desired capacity
//! scales out. An action whose bounds would cross (`min > max`, counting the bounds it
//! leaves unchanged) fails as a whole, as AWS refuses an update with `MinSize` above
//! `MaxSize`. A scheduled action is not held back by a cooldown (AWS's cooldowns hold back
//! simple scaling policies only), but its change starts one for the metric policies, so
//! that a policy reading the metrics of before the action does not undo it at once.

use super::ScheduledAction;
use super::capacity::Capacity;
use crate::engine::SimTime;

/// Carries out `action` at `now`: `(from, to)` when the desired capacity changed.
pub fn apply(
    action: &ScheduledAction,
    capacity: &mut Capacity,
    now: SimTime,
) -> Option<(u32, u32)> {
    let (min, max) = capacity.bounds();
    if !capacity.set_bounds(action.min.unwrap_or(min), action.max.unwrap_or(max)) {
        return None;
    }
    capacity.set(now, action.desired.unwrap_or(capacity.desired()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimDuration;

    fn at(s: u64, desired: Option<u32>, min: Option<u32>, max: Option<u32>) -> ScheduledAction {
        ScheduledAction {
            at: SimTime::from_nanos(s * 1_000_000_000),
            desired,
            min,
            max,
        }
    }

    fn group() -> Capacity {
        Capacity::new(4, 2, 10, SimDuration::from_secs(300))
    }

    #[test]
    fn an_action_sets_desired_and_bounds() {
        let mut capacity = group();
        let now = SimTime::from_nanos(1);
        assert_eq!(
            apply(&at(1, Some(12), Some(6), Some(20)), &mut capacity, now),
            Some((4, 12))
        );
        assert_eq!(capacity.bounds(), (6, 20));
        assert_eq!(capacity.desired(), 12);
        // The change starts a cooldown for the metric policies.
        assert!(capacity.cooling_down(now));
        // A desired capacity outside the bounds is clamped into them.
        assert_eq!(
            apply(&at(2, Some(30), None, None), &mut capacity, now),
            Some((12, 20))
        );
    }

    #[test]
    fn moving_bounds_clamp_the_desired_capacity() {
        let mut capacity = group();
        let now = SimTime::ZERO;
        // Raising min above desired scales out.
        assert_eq!(
            apply(&at(0, None, Some(6), None), &mut capacity, now),
            Some((4, 6))
        );
        // Lowering max below it scales in.
        assert_eq!(
            apply(&at(0, None, Some(1), Some(5)), &mut capacity, now),
            Some((6, 5))
        );
        // Bounds that leave it inside change nothing visible.
        assert_eq!(apply(&at(0, None, None, Some(9)), &mut capacity, now), None);
        assert_eq!(capacity.bounds(), (1, 9));
        assert_eq!(capacity.desired(), 5);
    }

    #[test]
    fn crossing_bounds_fail_the_whole_action() {
        let mut capacity = group();
        let now = SimTime::ZERO;
        assert_eq!(
            apply(&at(0, Some(3), Some(11), None), &mut capacity, now),
            None
        );
        assert_eq!(capacity.bounds(), (2, 10));
        assert_eq!(capacity.desired(), 4);
    }
}
