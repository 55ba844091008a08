//! Timers and their cancellation: a kernel service for every process that waits.
//!
//! A timer is an ordinary event in the future-event list that carries a [`TimerId`]: a
//! slot in [`Timers`] and the slot's generation when the timer was armed. Cancelling bumps
//! the generation, so the event, still in the heap, is recognised as stale and dropped when
//! it pops ([`Timers::fire`] answers `None`) — lazy cancellation, O(1), with no search of
//! the heap. A periodic timer keeps its slot and generation from one firing to the next,
//! so one cancel stops all its future firings. Slots are reused through a free list: no
//! allocation once the table has grown to the peak number of armed timers.

use super::time::SimDuration;

/// A handle on an armed timer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TimerId {
    slot: u32,
    generation: u32,
}

#[derive(Copy, Clone, Debug)]
struct Slot {
    generation: u32,
    armed: bool,
    /// `Some` for a periodic timer: the time between firings.
    period: Option<SimDuration>,
}

/// What a timer event that popped means.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Firing {
    /// A one-shot timer: it is now disarmed.
    Once,
    /// A periodic timer: schedule its next firing `period` from now, under the same id.
    Periodic(SimDuration),
}

/// The table of armed timers of one run.
#[derive(Debug, Default)]
pub struct Timers {
    slots: Vec<Slot>,
    free: Vec<u32>,
}

impl Timers {
    /// Arms a timer, one-shot (`period` `None`) or periodic; the caller schedules its first
    /// event with the returned id.
    pub fn arm(&mut self, period: Option<SimDuration>) -> TimerId {
        debug_assert!(period.is_none_or(|p| p > SimDuration::ZERO));
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    armed: false,
                    period: None,
                });
                self.slots.len() as u32 - 1
            }
        };
        let entry = &mut self.slots[slot as usize];
        entry.armed = true;
        entry.period = period;
        TimerId {
            slot,
            generation: entry.generation,
        }
    }

    /// Cancels `id`: its pending event will be dropped when it pops. Returns whether the
    /// timer was still armed (cancelling a fired one-shot or a cancelled timer is a no-op).
    pub fn cancel(&mut self, id: TimerId) -> bool {
        if !self.is_armed(id) {
            return false;
        }
        self.disarm(id.slot);
        true
    }

    /// The event of timer `id` popped: `None` if it was cancelled (drop the event), else
    /// whether it fires once or again.
    pub fn fire(&mut self, id: TimerId) -> Option<Firing> {
        if !self.is_armed(id) {
            return None;
        }
        match self.slots[id.slot as usize].period {
            Some(period) => Some(Firing::Periodic(period)),
            None => {
                self.disarm(id.slot);
                Some(Firing::Once)
            }
        }
    }

    /// Whether `id` is armed: its next event will fire.
    pub fn is_armed(&self, id: TimerId) -> bool {
        self.slots
            .get(id.slot as usize)
            .is_some_and(|s| s.armed && s.generation == id.generation)
    }

    fn disarm(&mut self, slot: u32) {
        let entry = &mut self.slots[slot as usize];
        entry.armed = false;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: SimDuration = SimDuration::from_secs(1);

    #[test]
    fn a_one_shot_fires_once_then_is_stale() {
        let mut timers = Timers::default();
        let id = timers.arm(None);
        assert_eq!(timers.fire(id), Some(Firing::Once));
        assert_eq!(timers.fire(id), None);
        assert!(!timers.cancel(id));
    }

    #[test]
    fn a_cancelled_timer_never_fires() {
        let mut timers = Timers::default();
        let id = timers.arm(None);
        assert!(timers.cancel(id));
        assert_eq!(timers.fire(id), None);
    }

    #[test]
    fn a_periodic_timer_fires_until_cancelled() {
        let mut timers = Timers::default();
        let id = timers.arm(Some(SECOND));
        assert_eq!(timers.fire(id), Some(Firing::Periodic(SECOND)));
        assert_eq!(timers.fire(id), Some(Firing::Periodic(SECOND)));
        assert!(timers.cancel(id));
        assert_eq!(timers.fire(id), None);
    }

    #[test]
    fn a_reused_slot_does_not_revive_the_old_handle() {
        let mut timers = Timers::default();
        let old = timers.arm(None);
        timers.cancel(old);
        let new = timers.arm(None);
        assert_eq!(timers.fire(old), None);
        assert!(!timers.cancel(old));
        assert_eq!(timers.fire(new), Some(Firing::Once));
    }
}
