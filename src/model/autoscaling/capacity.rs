//! The group's desired capacity, as an AWS Auto Scaling group keeps it: a number of
//! instances within `[min, max]` that every policy moves and the world makes real, and the
//! cooldown after each change.
//!
//! Whatever a policy asks is clamped to the bounds (AWS: "a scaling adjustment can't change
//! the capacity of the scalable target above the maximum capacity or below the minimum
//! capacity"). When a scheduled action moves the bounds, the desired capacity is clamped
//! into the new ones, as an Auto Scaling group does when `MinSize` rises above or `MaxSize`
//! falls below it.
//!
//! The cooldown is AWS simple scaling's: after the group launches or terminates instances,
//! scaling activities started by simple scaling policies wait for the cooldown period to
//! end. Every change starts one, a scheduled action's included; a scheduled action itself
//! is never held back by it.

use crate::engine::{SimDuration, SimTime};

/// Desired capacity, bounds and the time of the last change.
#[derive(Clone, Debug)]
pub struct Capacity {
    desired: u32,
    min: u32,
    max: u32,
    cooldown: SimDuration,
    last_change: Option<SimTime>,
}

impl Capacity {
    /// Starts at `initial`, clamped into `[min, max]` (validation keeps a group's count
    /// within its autoscaler's bounds; the clamp makes the invariant hold regardless).
    pub fn new(initial: u32, min: u32, max: u32, cooldown: SimDuration) -> Self {
        Capacity {
            desired: clamp(initial, min, max),
            min,
            max,
            cooldown,
            last_change: None,
        }
    }

    pub fn desired(&self) -> u32 {
        self.desired
    }

    /// `(min, max)`.
    pub fn bounds(&self) -> (u32, u32) {
        (self.min, self.max)
    }

    /// Whether a change happened less than `cooldown` before `now`. Nothing has changed
    /// at the start of a run, so there is no cooldown then.
    pub fn cooling_down(&self, now: SimTime) -> bool {
        self.last_change
            .is_some_and(|last| now < last + self.cooldown)
    }

    /// Sets the desired capacity to `target` clamped into the bounds; `(from, to)` when it
    /// changed, which starts a cooldown.
    pub fn set(&mut self, now: SimTime, target: u32) -> Option<(u32, u32)> {
        let to = clamp(target, self.min, self.max);
        if to == self.desired {
            return None;
        }
        let from = std::mem::replace(&mut self.desired, to);
        self.last_change = Some(now);
        Some((from, to))
    }

    /// Moves the bounds, refusing bounds that cross (AWS rejects `MinSize > MaxSize`):
    /// whether they were taken. The desired capacity is left to [`Capacity::set`], which
    /// clamps it into them.
    pub fn set_bounds(&mut self, min: u32, max: u32) -> bool {
        if min > max {
            return false;
        }
        self.min = min;
        self.max = max;
        true
    }
}

/// `value` within `[min, max]`; `max` wins if they cross, where `u32::clamp` would panic.
fn clamp(value: u32, min: u32, max: u32) -> u32 {
    value.max(min).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn targets_are_clamped_and_only_changes_count() {
        let mut capacity = Capacity::new(3, 2, 5, SimDuration::from_secs(60));
        assert_eq!(capacity.set(secs(1), 9), Some((3, 5)));
        assert_eq!(capacity.set(secs(2), 7), None);
        assert_eq!(capacity.set(secs(3), 0), Some((5, 2)));
        assert_eq!(capacity.desired(), 2);
        assert_eq!(Capacity::new(9, 2, 5, SimDuration::ZERO).desired(), 5);
        assert_eq!(Capacity::new(0, 2, 5, SimDuration::ZERO).desired(), 2);
    }

    #[test]
    fn a_change_starts_a_cooldown_of_exactly_its_length() {
        let mut capacity = Capacity::new(3, 1, 10, SimDuration::from_secs(60));
        assert!(!capacity.cooling_down(secs(0)));
        capacity.set(secs(100), 4);
        assert!(capacity.cooling_down(secs(100)));
        assert!(capacity.cooling_down(secs(159)));
        assert!(!capacity.cooling_down(secs(160)));
        // No change, no new cooldown.
        capacity.set(secs(170), 4);
        assert!(!capacity.cooling_down(secs(170)));
        let mut no_cooldown = Capacity::new(3, 1, 10, SimDuration::ZERO);
        no_cooldown.set(secs(5), 4);
        assert!(!no_cooldown.cooling_down(secs(5)));
    }

    #[test]
    fn crossing_bounds_are_refused() {
        let mut capacity = Capacity::new(3, 1, 10, SimDuration::ZERO);
        assert!(!capacity.set_bounds(6, 5));
        assert_eq!(capacity.bounds(), (1, 10));
        assert!(capacity.set_bounds(4, 4));
        assert_eq!(capacity.set(secs(1), capacity.desired()), Some((3, 4)));
    }
}
