//! Slow start: a server entering rotation carries a fraction of its weight that grows over
//! a window, so that a cold newcomer is not handed its full share at once (under
//! least-connections, with no connections, it would otherwise take every request until it
//! caught up with the others).
//!
//! The ramp is Envoy's `slow_start_config`
//! (`source/extensions/load_balancing_policies/common/load_balancer_impl.cc`,
//! `EdfLoadBalancerBase::applySlowStartFactor`): for a host in rotation for `t < window`,
//! `time_factor = max(t, 1 ms) / window` and the weight is scaled by
//! `max(time_factor^(1 / aggression), min_weight_percent)`; from `t = window` on it is the
//! full weight. Aggression 1 is the straight line of HAProxy's `slowstart`
//! (`server_recalc_eweight`), whose weight starts at its smallest step, which is
//! `min_weight` 0 here. Two details follow Envoy as written: the floor on time comes before
//! the aggression and the minimum after it, and nothing is rounded, since Envoy's EDF
//! schedules take the weight as a double. Envoy measures `t` in whole milliseconds; here it
//! is exact, which moves the factor by less than 1 ms / window.
//!
//! The balancers take integer weights, so the world scales every weight by
//! [`SlowStart::WEIGHT_SCALE`] when slow start is on and rounds the ramped weight to the
//! nearest integer: a weight-1 server ramps in steps of 1% of its weight. Neither Envoy's
//! continuous re-evaluation (its weight is computed afresh at each pick) nor a re-weighing
//! on every request would keep the pick path free of slow start; instead the world raises a
//! ramping server's weight every [`SlowStart::tick`], as HAProxy's `server_warmup` task
//! does.

use crate::engine::SimDuration;

use super::SlowStartSpec;

/// The ramp of one scenario's slow start; pure, so that the world asks it a weight for a
/// time in rotation and sets it with `Frontend::set_weight`.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct SlowStart {
    spec: SlowStartSpec,
}

/// Envoy's floor on the time a host has been in rotation: a ramp never starts from zero.
const TIME_FLOOR: SimDuration = SimDuration::from_millis(1);

/// Re-weighing steps per window: HAProxy's warm-up task wakes every `slowstart / 20`,
/// "resulting in small 5% steps".
const STEPS: u64 = 20;

impl SlowStart {
    /// The factor between a server's declared weight and its balancer weight when slow
    /// start is on: every server's balancer weight is `weight × WEIGHT_SCALE` at full
    /// weight, which leaves the ratios between servers, and so what every weighted
    /// algorithm does, unchanged, and makes a tenth of a weight-1 server representable.
    /// HAProxy scales its weights for the same reason (`BE_WEIGHT_SCALE`, 16: "allows
    /// smooth weight modulation even with small weights"); 100 makes the steps whole
    /// percents.
    pub const WEIGHT_SCALE: u32 = 100;

    /// The largest declared weight whose scaled weight fits a `u32`; validation keeps
    /// weights within it when slow start is on.
    pub const MAX_BASE_WEIGHT: u32 = u32::MAX / Self::WEIGHT_SCALE;

    pub fn new(spec: SlowStartSpec) -> Self {
        SlowStart { spec }
    }

    /// The fraction of its weight a server carries `since` it entered rotation: Envoy's
    /// `max(min_weight, (max(since, 1 ms) / window)^(1 / aggression))` before the window
    /// ends, exactly 1 from then on. A window under 1 ms is over before its first
    /// millisecond: the factor is 1 (Envoy keeps windows in whole milliseconds, and one
    /// under 1 ms turns slow start off).
    pub fn factor(&self, since: SimDuration) -> f64 {
        let window = self.spec.window;
        if since >= window {
            return 1.0;
        }
        let time = (since.max(TIME_FLOOR).as_nanos() as f64 / window.as_nanos() as f64).min(1.0);
        // Envoy's `applyAggressionFactor` skips the power for aggression 1 (and a time
        // factor of 1): the straight line is exact.
        let ramp = if self.spec.aggression == 1.0 || time == 1.0 {
            time
        } else {
            time.powf(1.0 / self.spec.aggression)
        };
        ramp.max(self.spec.min_weight)
    }

    /// The balancer weight of a server of declared weight `base`, `since` it entered
    /// rotation: `max(1, round(base × WEIGHT_SCALE × factor))`, at least 1 so that a
    /// server in rotation can always be picked. From the window's end on it is exactly
    /// [`SlowStart::full_weight`]. A `base` above [`SlowStart::MAX_BASE_WEIGHT`] saturates
    /// at `u32::MAX`.
    pub fn weight(&self, base: u32, since: SimDuration) -> u32 {
        let scaled = f64::from(base) * f64::from(Self::WEIGHT_SCALE) * self.factor(since);
        // `as` saturates: a weight beyond u32 (a base validation should have refused)
        // becomes u32::MAX rather than wrapping.
        (scaled.round() as u32).max(1)
    }

    /// The balancer weight of a server of declared weight `base` outside any ramp (every
    /// server in rotation when slow start is on, once its window is over).
    pub fn full_weight(base: u32) -> u32 {
        base.saturating_mul(Self::WEIGHT_SCALE)
    }

    /// Whether a server `since` it entered rotation is still ramping: the world re-weighs
    /// it while this holds, and once more when it stops (to the full weight).
    pub fn is_ramping(&self, since: SimDuration) -> bool {
        since < self.spec.window
    }

    /// How often the world re-weighs a ramping server: a twentieth of the window, as
    /// HAProxy's `server_warmup` (which waits at least 1 s; here at least 1 ms, Envoy's
    /// clock resolution, which also keeps a tiny window from firing a timer every
    /// nanosecond).
    ///
    /// Why that is enough: each step holds the weight the ramp had at its start, so the
    /// held weight is never ahead of the ramp and lags it by at most one step. The ramp
    /// only rises, so the weight-time a newcomer misses over the whole window, summed over
    /// the steps, is at most `(1 − factor(0)) × window / 20` at full weight: under 5% of
    /// what the ramp gives, whatever the aggression. A steep start (aggression above 1)
    /// makes the first step's lag the largest, never the total larger.
    pub fn tick(&self) -> SimDuration {
        SimDuration::from_nanos(self.spec.window.as_nanos() / STEPS).max(TIME_FLOOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::{Backend, Balancer, LeastConnections};
    use crate::engine::stream;
    use crate::id::{ClientAddr, RequestKey, ServerId};
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn ramp(window: SimDuration, aggression: f64, min_weight: f64) -> SlowStart {
        SlowStart::new(SlowStartSpec {
            window,
            aggression,
            min_weight,
        })
    }

    const fn ms(millis: u64) -> SimDuration {
        SimDuration::from_millis(millis)
    }

    #[test]
    fn aggression_one_is_a_straight_line_from_the_minimum() {
        let ramp = ramp(ms(10_000), 1.0, 0.1);
        // 1 ms / 10 s = 0.0001, below the minimum 10%.
        assert_eq!(ramp.factor(SimDuration::ZERO), 0.1);
        assert_eq!(ramp.weight(1, SimDuration::ZERO), 10);
        assert_eq!(ramp.weight(3, SimDuration::ZERO), 30);
        // 0.5 s is 5%, still below 10%; 1 s is 10% itself; 2.5 s is a quarter.
        assert_eq!(ramp.weight(1, ms(500)), 10);
        assert_eq!(ramp.factor(ms(2_500)), 0.25);
        assert_eq!(ramp.weight(1, ms(2_500)), 25);
        assert_eq!(ramp.weight(7, ms(2_500)), 175);
        assert_eq!(ramp.weight(4, ms(6_000)), 240);
    }

    #[test]
    fn aggression_is_a_root_of_the_time_factor_as_in_envoy() {
        // Aggression 2: the square root (Envoy's pow(time_factor, 1 / aggression)).
        let steep = ramp(ms(10_000), 2.0, 0.1);
        assert!((steep.factor(ms(400)) - 0.2).abs() < 1e-12);
        assert_eq!(steep.weight(1, ms(400)), 20);
        assert_eq!(steep.weight(1, ms(2_500)), 50);
        // sqrt(0.005) = 0.0707: the minimum applies after the aggression.
        assert_eq!(steep.factor(ms(50)), 0.1);
        // Aggression 0.5: the square, slow at first.
        let gentle = ramp(ms(10_000), 0.5, 0.1);
        assert!((gentle.factor(ms(5_000)) - 0.25).abs() < 1e-12);
        assert_eq!(gentle.weight(2, ms(5_000)), 50);
        assert_eq!(gentle.factor(ms(1_000)), 0.1);
    }

    #[test]
    fn time_has_envoys_one_millisecond_floor_and_the_weight_a_floor_of_one() {
        // HAProxy's linear ramp: no minimum fraction.
        let ramp = ramp(ms(1_000), 1.0, 0.0);
        assert_eq!(ramp.factor(SimDuration::ZERO), 0.001);
        assert_eq!(ramp.factor(SimDuration::from_nanos(500_000)), 0.001);
        assert_eq!(ramp.factor(ms(2)), 0.002);
        // 1 × 100 × 0.001 = 0.1 rounds to 0: the weight stays 1, pickable.
        assert_eq!(ramp.weight(1, SimDuration::ZERO), 1);
        assert_eq!(ramp.weight(1_000, SimDuration::ZERO), 100);
        // Half-way: 1 × 100 × 0.5.
        assert_eq!(ramp.weight(1, ms(500)), 50);
    }

    #[test]
    fn the_weight_reaches_full_exactly_at_the_window() {
        let window = ms(30_000);
        for aggression in [0.5, 1.0, 2.0, 3.7] {
            let ramp = ramp(window, aggression, 0.1);
            let just_before = SimDuration::from_nanos(window.as_nanos() - 1);
            assert!(ramp.factor(just_before) < 1.0);
            assert!(ramp.is_ramping(just_before));
            assert_eq!(ramp.factor(window), 1.0);
            assert!(!ramp.is_ramping(window));
            assert_eq!(ramp.weight(7, window), 700);
            assert_eq!(ramp.weight(7, ms(3_600_000)), SlowStart::full_weight(7));
        }
    }

    #[test]
    fn a_window_under_a_millisecond_is_full_at_once() {
        let ramp = ramp(SimDuration::from_nanos(400_000), 1.0, 0.1);
        assert_eq!(ramp.factor(SimDuration::ZERO), 1.0);
        assert_eq!(ramp.weight(2, SimDuration::ZERO), 200);
        assert_eq!(ramp.tick(), ms(1));
    }

    #[test]
    fn ticks_are_a_twentieth_of_the_window_and_at_least_a_millisecond() {
        assert_eq!(ramp(ms(10_000), 1.0, 0.1).tick(), ms(500));
        assert_eq!(ramp(ms(20_000), 1.0, 0.1).tick(), ms(1_000));
        assert_eq!(ramp(ms(10), 1.0, 0.1).tick(), ms(1));
    }

    #[test]
    fn weights_beyond_the_maximum_base_saturate() {
        let ramp = ramp(ms(1_000), 1.0, 0.1);
        assert_eq!(
            SlowStart::full_weight(SlowStart::MAX_BASE_WEIGHT),
            SlowStart::MAX_BASE_WEIGHT * 100
        );
        assert_eq!(SlowStart::full_weight(u32::MAX), u32::MAX);
        assert_eq!(ramp.weight(u32::MAX, ms(1_000)), u32::MAX);
    }

    proptest! {
        #[test]
        fn the_ramp_only_rises_and_stays_between_the_minimum_and_one(
            window_ms in 1..100_000u64,
            aggression in 0.1..10.0f64,
            min_weight in 0.0..1.0f64,
            base in 1..1_000u32,
            a in 0..200_000_000_000u64,
            b in 0..200_000_000_000u64,
        ) {
            let ramp = ramp(ms(window_ms), aggression, min_weight);
            let (early, late) = (SimDuration::from_nanos(a.min(b)), SimDuration::from_nanos(a.max(b)));
            prop_assert!(ramp.factor(early) <= ramp.factor(late));
            prop_assert!(ramp.weight(base, early) <= ramp.weight(base, late));
            prop_assert!(ramp.factor(early) >= min_weight && ramp.factor(late) <= 1.0);
            prop_assert!(ramp.weight(base, late) <= SlowStart::full_weight(base));
        }
    }

    /// A least-connections pool of four busy servers of weight 1 and a newcomer ramping
    /// over 20 s, driven as a closed loop: 200 requests always open, the oldest finishing
    /// as the next is placed, 2,000 picks per simulated second, the newcomer re-weighed
    /// every tick. Returns the newcomer's share of the picks in the second half of each
    /// second, and how many of the first 50 picks after it joined went to it.
    fn newcomer_shares(slow_start: Option<SlowStart>) -> (Vec<f64>, usize) {
        const OPEN: usize = 200;
        let key = RequestKey {
            client: ClientAddr(1),
            session: None,
        };
        let mut rng = stream(1, 0, 0);
        let mut balancer = LeastConnections::with_capacity(5);
        let weight = |since| slow_start.map_or(SlowStart::full_weight(1), |s| s.weight(1, since));
        let backend = |id, weight| Backend {
            id: ServerId(id),
            name: "s",
            weight,
        };
        for id in 0..4 {
            balancer.add(backend(id, SlowStart::full_weight(1)));
        }
        let mut open = VecDeque::with_capacity(OPEN);
        for _ in 0..OPEN {
            let server = balancer.pick(&key, &mut rng).unwrap();
            balancer.dispatched(server);
            open.push_back(server);
        }
        balancer.add(backend(4, weight(SimDuration::ZERO)));
        let mut first_picks = 0;
        let mut shares = Vec::new();
        for second in 0..25u64 {
            balancer.set_weight(ServerId(4), weight(SimDuration::from_secs(second)));
            let mut newcomer = 0;
            for step in 0..2_000 {
                let oldest = open.pop_front().unwrap();
                balancer.finished(oldest, SimDuration::ZERO, true);
                let server = balancer.pick(&key, &mut rng).unwrap();
                balancer.dispatched(server);
                open.push_back(server);
                let to_newcomer = usize::from(server == ServerId(4));
                if second == 0 && step < 50 {
                    first_picks += to_newcomer;
                }
                if step >= 1_000 {
                    newcomer += to_newcomer;
                }
            }
            shares.push(newcomer as f64 / 1_000.0);
        }
        (shares, first_picks)
    }

    #[test]
    fn a_newcomer_under_least_connections_gets_a_share_that_ramps() {
        let slow_start = ramp(SimDuration::from_secs(20), 1.0, 0.1);
        let (shares, first_picks) = newcomer_shares(Some(slow_start));
        for (second, &share) in shares.iter().enumerate() {
            // Least connections levels (c + 1) / w: with the four others at c and weight
            // 100 and the newcomer at weight w, c₅ + 1 = (w / 100)(c + 1) and
            // 4c + c₅ = 200 open. In the FIFO loop every request stays open for 200 picks,
            // so over the measured 1,000 picks (five turnovers) the newcomer's share is its
            // mean c₅ / 200. The rule keeps the keys level within one connection of the
            // server that moves, which puts c₅ within 2 of the level: 0.01 of share.
            let f = f64::from(slow_start.weight(1, SimDuration::from_secs(second as u64))) / 100.0;
            let c = (200.0 + 1.0 - f) / (4.0 + f);
            let expected = (200.0 - 4.0 * c) / 200.0;
            assert!(
                (share - expected).abs() <= 0.01,
                "second {second}: share {share}, expected {expected}; {shares:?}"
            );
        }
        // It ramps: from well under its full fifth to it, and never falls back.
        assert!(shares[0] < 0.03, "{shares:?}");
        assert!(shares.windows(2).all(|w| w[1] >= w[0] - 0.01), "{shares:?}");
        assert!((shares[24] - 0.2).abs() <= 0.01, "{shares:?}");
        // Without slow start the idle newcomer takes every request until it has as many
        // open as the others (40, less the ones the others shed meanwhile); with it, a few.
        let (full, rush) = newcomer_shares(None);
        assert!(rush >= 30, "{rush}");
        assert!(first_picks <= 5, "{first_picks}");
        assert!((full[0] - 0.2).abs() <= 0.01, "{full:?}");
    }
}
