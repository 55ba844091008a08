//! Value axes: linear or logarithmic, their ranges and ticks, and the rule that picks one.
//!
//! The rule ([`Scale::for_peaks`]): a chart of several lines is drawn on a log axis when
//! the highest line's peak is more than [`DECADE`] times the lowest line's peak. On a
//! linear axis the lowest line would then use less than a tenth of the height — a runaway
//! variant flattens the others into the floor — while on a log axis each decade gets the
//! same room. One line, or lines of one order of magnitude, stay linear, where equal
//! distances read as equal differences.
//!
//! [`Axis`] is one `Ranged` type for both scales, so a chart draws the same way whichever
//! the rule picked; it also maps categories (one slot per server or variant).

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;

/// Peaks further apart than this ratio get a log axis.
pub const DECADE: f64 = 10.0;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Scale {
    Linear,
    Log,
}

impl Scale {
    /// Log when the highest of the positive `peaks` exceeds [`DECADE`] times the lowest.
    pub fn for_peaks(peaks: impl IntoIterator<Item = f64>) -> Scale {
        let (low, high) = peaks
            .into_iter()
            .filter(|p| p.is_finite() && *p > 0.0)
            .fold((f64::INFINITY, 0.0f64), |(lo, hi), p| {
                (lo.min(p), hi.max(p))
            });
        if high > DECADE * low {
            Scale::Log
        } else {
            Scale::Linear
        }
    }
}

/// A value axis with explicit ticks. (plotters' `with_key_points` on an `f64` range loses
/// the range's tick formatting, and its log axis cannot be the same type as a linear one.)
#[derive(Clone, Debug)]
pub struct Axis {
    scale: Scale,
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Axis {
    /// An axis of `scale` covering `values`: from 0 with a little headroom (linear), or
    /// the positive values padded by a third of a step each side (log).
    pub fn new(scale: Scale, values: impl IntoIterator<Item = f64>) -> Axis {
        match scale {
            Scale::Linear => {
                let range = linear_range(values);
                let ticks = linear_ticks(&range);
                Axis::fixed(Scale::Linear, range, ticks)
            }
            Scale::Log => {
                let range = log_range(values);
                let ticks = log_ticks(&range);
                Axis::fixed(Scale::Log, range, ticks)
            }
        }
    }

    /// An axis over `range` with exactly `ticks`.
    pub fn fixed(scale: Scale, range: Range<f64>, ticks: Vec<f64>) -> Axis {
        Axis {
            scale,
            range,
            ticks,
        }
    }

    /// An axis for `count` categories: category `i` is centred on `i`, the range leaves
    /// half a slot on each side, and at most about `max_ticks` of them get a tick (every
    /// category, or every second, third, ...). plotters' segmented axis adds an empty slot
    /// and collapses with a single category.
    pub fn categories(count: usize, max_ticks: usize) -> Axis {
        let count = count.max(1);
        let step = count.div_ceil(max_ticks.max(1));
        let ticks = (0..count).step_by(step).map(|i| i as f64).collect();
        Axis::fixed(Scale::Linear, -0.5..count as f64 - 0.5, ticks)
    }

    pub fn scale(&self) -> Scale {
        self.scale
    }

    pub fn ticks(&self) -> &[f64] {
        &self.ticks
    }

    /// `value` moved inside the axis, and whether it had to be: a confidence interval
    /// reaching below a log axis (or to zero and below, which a log axis cannot show) is
    /// drawn to the edge and marked as going on.
    pub fn clamp(&self, value: f64) -> (f64, bool) {
        if value < self.range.start || value.is_nan() {
            (self.range.start, true)
        } else if value > self.range.end {
            (self.range.end, true)
        } else {
            (value, false)
        }
    }
}

impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = match self.scale {
            Scale::Linear => {
                let span = self.range.end - self.range.start;
                if span > 0.0 {
                    (value - self.range.start) / span
                } else {
                    0.5
                }
            }
            Scale::Log => {
                let (start, end) = (self.range.start.ln(), self.range.end.ln());
                // Zero and below lie beyond the axis's start: put them just past it.
                let v = if *value > 0.0 {
                    value.ln()
                } else {
                    start - 1.0
                };
                if end > start {
                    (v - start) / (end - start)
                } else {
                    0.5
                }
            }
        };
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    /// The ticks, thinned to every second, third, ... when the mesh asks for fewer
    /// (`x_labels(4)` on a narrow panel).
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            return Vec::new();
        }
        let step = self
            .ticks
            .len()
            .div_ceil(hint.max_num_points().max(1))
            .max(1);
        self.ticks.iter().copied().step_by(step).collect()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// The category a tick of [`Axis::categories`] stands for.
pub fn category(tick: f64, count: usize) -> Option<usize> {
    let index = tick.round();
    (index >= 0.0 && index < count as f64).then_some(index as usize)
}

/// `0..top` covering every value with a little headroom; `0..1` when all are zero.
pub fn linear_range(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let max = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if max > 0.0 { 0.0..max * 1.08 } else { 0.0..1.0 }
}

/// A log-axis range covering every positive value, padded on both sides; `0.1..10` when
/// there is none.
pub fn log_range(values: impl IntoIterator<Item = f64>) -> Range<f64> {
    let (min, max) = values
        .into_iter()
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if max <= 0.0 {
        return 0.1..10.0;
    }
    (min / 1.3)..(max * 1.3)
}

/// Ticks of a linear axis: multiples of 1, 2 or 5 times a power of ten, the largest such
/// step that still gives at least five ticks.
pub fn linear_ticks(range: &Range<f64>) -> Vec<f64> {
    let span = range.end - range.start;
    if span <= 0.0 || !span.is_finite() {
        return vec![range.start];
    }
    let mut step = 10f64.powf((span / 5.0).log10().floor());
    for multiple in [5.0, 2.0, 1.0] {
        if span / (step * multiple) >= 5.0 {
            step *= multiple;
            break;
        }
    }
    let first = (range.start / step).ceil() as i64;
    let last = (range.end / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// Tick positions for a log axis over `range`: the powers of ten, or when that gives fewer
/// than four ticks 1, 2 and 5 times them, or every multiple; at worst the range's ends.
pub fn log_ticks(range: &Range<f64>) -> Vec<f64> {
    let first = range.start.log10().floor() as i32;
    let last = range.end.log10().ceil() as i32;
    let candidates: [&[f64]; 3] = [
        &[1.0],
        &[1.0, 2.0, 5.0],
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
    ];
    let mut ticks = Vec::new();
    for steps in candidates {
        ticks = (first..=last)
            .flat_map(|exponent| steps.iter().map(move |m| m * 10f64.powi(exponent)))
            .filter(|v| range.contains(v))
            .collect();
        if ticks.len() >= 4 {
            break;
        }
    }
    if ticks.len() < 2 {
        ticks = vec![range.start, range.end];
    }
    ticks
}

#[cfg(test)]
mod tests {
    use super::super::style::number;
    use super::*;
    use plotters::coord::ranged1d::{BoldPoints, LightPoints};

    #[test]
    fn peaks_a_decade_apart_get_a_log_axis() {
        // A runaway variant at 30 s beside others at 100-250 ms.
        assert_eq!(Scale::for_peaks([120.0, 250.0, 30_000.0]), Scale::Log);
        // The knee of a stable sweep: a factor 4, linear.
        assert_eq!(Scale::for_peaks([197.0, 717.0]), Scale::Linear);
        // Exactly ten times is not more than ten.
        assert_eq!(Scale::for_peaks([10.0, 100.0]), Scale::Linear);
        // Lines without data, or one line, are linear.
        assert_eq!(Scale::for_peaks([0.0, f64::NAN, 50.0]), Scale::Linear);
        assert_eq!(Scale::for_peaks([]), Scale::Linear);
    }

    #[test]
    fn ranges_survive_empty_and_zero_data() {
        assert_eq!(linear_range([]), 0.0..1.0);
        assert_eq!(linear_range([0.0, f64::NAN]), 0.0..1.0);
        assert_eq!(log_range([0.0]), 0.1..10.0);
        let r = log_range([2.0, 0.0, 20.0]);
        assert!(r.start < 2.0 && r.end > 20.0);
    }

    #[test]
    fn ticks_step_one_two_five() {
        assert_eq!(
            linear_ticks(&(0.0..108.0)),
            [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        let fifths: Vec<String> = linear_ticks(&(0.0..1.0)).into_iter().map(number).collect();
        assert_eq!(fifths, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        assert_eq!(log_ticks(&(3.0..60.0)), [5.0, 10.0, 20.0, 50.0]);
        assert_eq!(log_ticks(&(0.05..2000.0)), [0.1, 1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(log_ticks(&(12.0..18.0)), [12.0, 18.0]);
    }

    #[test]
    fn a_log_axis_maps_decades_evenly_and_zero_beyond_its_start() {
        let axis = Axis::fixed(Scale::Log, 1.0..1000.0, vec![]);
        assert_eq!(axis.map(&10.0, (0, 300)), 100);
        assert_eq!(axis.map(&100.0, (0, 300)), 200);
        assert!(axis.map(&0.0, (0, 300)) < 0);
        assert_eq!(axis.clamp(-5.0), (1.0, true));
        assert_eq!(axis.clamp(50.0), (50.0, false));
        assert_eq!(axis.clamp(5000.0), (1000.0, true));
    }

    #[test]
    fn a_mesh_asking_for_fewer_ticks_gets_every_nth() {
        let axis = Axis::new(Scale::Linear, [40_000.0]);
        assert_eq!(axis.ticks().len(), 9);
        assert_eq!(axis.key_points(BoldPoints(4)), [0.0, 15_000.0, 30_000.0]);
        assert_eq!(axis.key_points(BoldPoints(10)).len(), 9);
        assert!(axis.key_points(LightPoints::new(4, 40)).is_empty());
    }

    #[test]
    fn category_axes_tick_at_most_about_the_asked_number() {
        let one = Axis::categories(1, 8);
        assert_eq!((one.range(), one.ticks), (-0.5..0.5, vec![0.0]));
        let ticks = Axis::categories(16, 8).ticks;
        assert_eq!(ticks, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
        assert_eq!(category(3.0, 4), Some(3));
        assert_eq!(category(4.0, 4), None);
        assert_eq!(category(-1.0, 4), None);
    }
}
