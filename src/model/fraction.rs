//! A fraction held exactly, in millionths, for the thresholds of the resilience components
//! (a breaker's failure rate, a panic threshold, a retry budget, a share of hosts ejected).
//!
//! Those thresholds are compared with ratios of counts — 10 failures in 20 requests against
//! 0.5 — and the comparison at the boundary decides whether a breaker opens. In floating
//! point it can go the wrong way (`0.1 × 30` is `3.0000000000000004`, so 3 failures in 30
//! would not "reach" 0.1), so each comparison here cross-multiplies integers instead. A
//! fraction written in a scenario is rounded once, at validation, to the nearest millionth.

use std::cmp::Ordering;

/// Parts per million of a whole, 0 to 1,000,000.
const MILLION: u64 = 1_000_000;

/// A fraction from 0 to 1, in millionths.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Fraction(u32);

impl Fraction {
    pub const ZERO: Fraction = Fraction(0);
    pub const ONE: Fraction = Fraction(MILLION as u32);

    /// `millionths` millionths; at most a million (validation's and the defaults' job).
    pub const fn from_millionths(millionths: u32) -> Self {
        assert!(millionths as u64 <= MILLION);
        Fraction(millionths)
    }

    /// `x` rounded to the nearest millionth and clamped to `[0, 1]` (NaN is 0).
    pub fn from_f64(x: f64) -> Self {
        let millionths = (x * MILLION as f64).round();
        if millionths.is_nan() {
            Fraction::ZERO
        } else {
            Fraction(millionths.clamp(0.0, MILLION as f64) as u32)
        }
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / MILLION as f64
    }

    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `⌊self × whole⌋`: how many of `whole` this fraction allows.
    pub fn of(self, whole: u64) -> u64 {
        (u128::from(whole) * u128::from(self.0) / u128::from(MILLION)) as u64
    }

    /// How `part / whole` compares with this fraction, exactly. A `whole` of zero makes
    /// every ratio equal to zero, so `0 / 0` compares as 0.
    pub fn ratio_cmp(self, part: u64, whole: u64) -> Ordering {
        if whole == 0 {
            return 0.cmp(&self.0);
        }
        let ratio = u128::from(part) * u128::from(MILLION);
        let bound = u128::from(self.0) * u128::from(whole);
        ratio.cmp(&bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_at_the_boundary_are_exact() {
        // In f64, 3.0 >= 0.1 * 30.0 is false.
        let tenth = Fraction::from_f64(0.1);
        assert_eq!(tenth.ratio_cmp(3, 30), Ordering::Equal);
        assert_eq!(tenth.ratio_cmp(2, 30), Ordering::Less);
        assert_eq!(tenth.ratio_cmp(4, 30), Ordering::Greater);
        assert_eq!(Fraction::ZERO.ratio_cmp(0, 0), Ordering::Equal);
        assert_eq!(Fraction::ONE.ratio_cmp(0, 0), Ordering::Less);
    }

    #[test]
    fn a_share_of_a_count_rounds_down() {
        // In f64, 0.2 * 10.0 is 2.0000000000000004; 0.3 * 10.0 is 3.0000000000000004.
        assert_eq!(Fraction::from_f64(0.2).of(10), 2);
        assert_eq!(Fraction::from_f64(0.3).of(10), 3);
        assert_eq!(Fraction::from_f64(0.25).of(10), 2);
        assert_eq!(Fraction::ONE.of(u64::MAX), u64::MAX);
    }

    #[test]
    fn conversion_rounds_to_the_nearest_millionth_and_clamps() {
        assert_eq!(Fraction::from_f64(0.5), Fraction::from_millionths(500_000));
        assert_eq!(
            Fraction::from_f64(1.0 / 3.0),
            Fraction::from_millionths(333_333)
        );
        assert_eq!(Fraction::from_f64(2.0), Fraction::ONE);
        assert_eq!(Fraction::from_f64(-1.0), Fraction::ZERO);
        assert_eq!(Fraction::from_f64(f64::NAN), Fraction::ZERO);
        assert_eq!(Fraction::from_millionths(250_000).as_f64(), 0.25);
    }
}
