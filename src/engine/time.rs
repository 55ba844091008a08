//! Simulated time as integer nanoseconds.
//!
//! Durations are converted once, at validation; after that no float ever measures time, so
//! there are no epsilon comparisons and two events at "the same" instant really are.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// An instant of simulated time, in nanoseconds since the run began.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

/// A span of simulated time, in nanoseconds.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(u64);

impl SimTime {
    /// The start of every run.
    pub const ZERO: SimTime = SimTime(0);

    pub const fn from_nanos(nanos: u64) -> Self {
        SimTime(nanos)
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// The time elapsed since `earlier`; zero if `earlier` is in the future.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);

    pub const fn from_nanos(nanos: u64) -> Self {
        SimDuration(nanos)
    }

    pub const fn from_millis(millis: u64) -> Self {
        SimDuration(millis * 1_000_000)
    }

    pub const fn from_secs(secs: u64) -> Self {
        SimDuration(secs * 1_000_000_000)
    }

    /// Rounds a non-negative number of seconds to the nearest nanosecond (saturating).
    /// Used for sampled quantities (service times, inter-arrival gaps), never for
    /// durations a user wrote, which are parsed exactly.
    pub fn from_secs_f64(secs: f64) -> Self {
        Self::from_nanos_f64(secs * 1e9)
    }

    /// Rounds a number of nanoseconds to the nearest (halves away from zero), clamped to
    /// `[0, u64::MAX]`, NaN to 0: exactly `x.round().clamp(0.0, u64::MAX as f64) as u64`.
    /// Written out because `f64::round` is a library call on the baseline x86-64 target
    /// (no SSE4.1), and every request draws two such durations.
    ///
    /// Below 2^52 ns (52 days: every sampled duration, in practice) adding one half and
    /// truncating gives the same for every value but one. There a double's ulp is at
    /// most 1/2, so the sum is exact while it stays in the double's binade; it rounds only
    /// on entering the next, and then reaches an integer it is below only from the
    /// largest double below one half, whose sum rounds up to 1. That value goes the long
    /// way. The sum and the truncation are two dependent instructions, where the long
    /// way's truncation, conversion back, subtraction and comparison are five; each
    /// request's arrival time waits on one such rounding.
    ///
    /// The long way: the conversion truncates (saturating, NaN to 0), `x - trunc(x)` is
    /// exact in floating point, and comparing the fraction with one half decides the
    /// rounding exactly. Durations below 2^63 ns convert through `i64`, a single
    /// instruction each way; `u64` conversions take a dozen.
    #[inline]
    pub fn from_nanos_f64(nanos: f64) -> Self {
        const EXACT_LIMIT: f64 = 4_503_599_627_370_496.0; // 2^52
        const BELOW_HALF: f64 = 0.499_999_999_999_999_94; // 1/2 - 2^-54
        if (0.0..EXACT_LIMIT).contains(&nanos) && nanos != BELOW_HALF {
            return SimDuration((nanos + 0.5) as i64 as u64);
        }
        const SIGNED_LIMIT: f64 = 9_223_372_036_854_775_808.0; // 2^63
        if (0.0..SIGNED_LIMIT).contains(&nanos) {
            let truncated = nanos as i64;
            let fraction = nanos - truncated as f64;
            return SimDuration(truncated as u64 + u64::from(fraction >= 0.5));
        }
        let truncated = nanos as u64;
        let fraction = nanos - truncated as f64;
        SimDuration(truncated.saturating_add(u64::from(fraction >= 0.5)))
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    pub fn as_millis_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, rhs: SimDuration) {
        *self = *self + rhs;
    }
}

impl Sub<SimTime> for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.since(rhs)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, rhs: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(rhs.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.9}s", self.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arithmetic_is_exact_in_nanoseconds() {
        let t = SimTime::from_nanos(1_500_000_000) + SimDuration::from_millis(250);
        assert_eq!(t.as_nanos(), 1_750_000_000);
        assert_eq!(
            t - SimTime::from_nanos(750_000_000),
            SimDuration::from_secs(1)
        );
    }

    #[test]
    fn elapsed_time_never_goes_negative() {
        assert_eq!(
            SimTime::ZERO.since(SimTime::from_nanos(5)),
            SimDuration::ZERO
        );
    }

    #[test]
    fn fast_rounding_equals_the_library_round_everywhere() {
        let library = |x: f64| x.round().clamp(0.0, u64::MAX as f64) as u64;
        let mut special = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.499_999_999_999_999_94,
            -0.5,
            -0.7,
            -3.2,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            u64::MAX as f64,
            9_223_372_036_854_775_808.0,
            9_223_372_036_854_774_784.0,
            1.0e30,
        ];
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Any bit pattern: every sign, exponent and fraction, NaNs included.
            special.push(f64::from_bits(x));
            // And the range durations live in, with fractions.
            special.push((x >> 11) as f64 / (1u64 << (x % 40)) as f64);
        }
        // Every binade's edges, where adding one half could carry into the next: the
        // doubles next to each power of two and to each power of two less one half.
        for exponent in 0..64 {
            let power = 2f64.powi(exponent);
            for edge in [power, power - 0.5] {
                let mut below = edge;
                let mut above = edge;
                for _ in 0..4 {
                    special.extend([below, above]);
                    below = f64::from_bits(below.to_bits() - 1);
                    above = f64::from_bits(above.to_bits() + 1);
                }
            }
        }
        for value in special {
            assert_eq!(
                SimDuration::from_nanos_f64(value).as_nanos(),
                library(value),
                "{value:e}"
            );
        }
    }

    #[test]
    fn sampled_seconds_round_to_the_nearest_nanosecond() {
        assert_eq!(
            SimDuration::from_secs_f64(1.0000000004).as_nanos(),
            1_000_000_000
        );
        assert_eq!(SimDuration::from_secs_f64(-1.0), SimDuration::ZERO);
    }
}
