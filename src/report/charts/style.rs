//! The look shared by every chart: colours, text styles, short variant labels and value
//! ranges, so that the same variant has the same colour and name in every picture.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::font::FAMILY;
use crate::scenario::Scenario;

/// Tableau 10: distinct hues that stay apart for colour-blind readers and on paper.
const CATEGORICAL: [RGBColor; 10] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
];

pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
pub const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
pub const WARMUP: RGBColor = RGBColor(0xf1, 0xf1, 0xf1);

/// The colour of the `index`th series: Tableau 10, then hues a golden angle apart.
pub fn colour(index: usize) -> RGBColor {
    if let Some(&c) = CATEGORICAL.get(index) {
        return c;
    }
    let hue = (index as f64 * 0.381_966_011_250_105).fract();
    let lightness = if index.is_multiple_of(2) { 0.42 } else { 0.58 };
    let (r, g, b) = HSLColor(hue, 0.62, lightness).rgb();
    RGBColor(r, g, b)
}

/// Sequential colour scale for 0..=1 (viridis, interpolated between nine stops).
pub fn heat(value: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (0x44, 0x01, 0x54),
        (0x47, 0x2d, 0x7b),
        (0x3b, 0x52, 0x8b),
        (0x2c, 0x72, 0x8e),
        (0x21, 0x91, 0x8c),
        (0x28, 0xae, 0x80),
        (0x5e, 0xc9, 0x62),
        (0xad, 0xdc, 0x30),
        (0xfd, 0xe7, 0x25),
    ];
    let position = value.clamp(0.0, 1.0) * (STOPS.len() - 1) as f64;
    let low = (position.floor() as usize).min(STOPS.len() - 2);
    let t = position - low as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    let (a, b) = (STOPS[low], STOPS[low + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Text in the chart font, at `size` pixels, in `colour`, anchored at its left middle.
pub fn text(size: u32, colour: RGBColor) -> TextStyle<'static> {
    let mut style = TextStyle::from((FAMILY, size).into_font());
    style.color = colour.to_backend_color();
    style.pos(Pos::new(HPos::Left, VPos::Center))
}

/// Longest swept value shown in full; longer ones keep their start and end.
pub const MAX_VALUE_CHARS: usize = 22;

/// A variant's name for legends and axes: its swept values (`least-connections, 600`),
/// each at most [`MAX_VALUE_CHARS`] long, or its label when nothing is swept.
pub fn variant_label(scenario: &Scenario, variant: usize) -> String {
    let variant = &scenario.variants[variant];
    if variant.values.is_empty() {
        return shorten(&variant.label, 2 * MAX_VALUE_CHARS);
    }
    variant
        .values
        .iter()
        .map(|value| shorten(value, MAX_VALUE_CHARS))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `text` cut to `max` characters by replacing its middle with `…`.
pub fn shorten(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let head = (max - 1) / 2;
    let tail = max - 1 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// `0..top` covering every value with a little headroom; `0..1` when all are zero.
pub fn linear_range(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
    let max = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    if max > 0.0 { 0.0..max * 1.08 } else { 0.0..1.0 }
}

/// A log-axis range covering every positive value, padded to whole tick steps on both
/// sides; `0.1..10` when there is none.
pub fn log_range(values: impl IntoIterator<Item = f64>) -> std::ops::Range<f64> {
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

/// A tick label for a linear axis: at most three decimals, no trailing zeros.
pub fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// Tick positions for a log axis over `range`: the powers of ten, or when that gives fewer
/// than four ticks 1, 2 and 5 times them, or every multiple; at worst the range's ends.
pub fn log_ticks(range: &std::ops::Range<f64>) -> Vec<f64> {
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

/// A linear axis with the ticks given. (plotters' `with_key_points` on an `f64` range
/// loses the range's tick formatting, so the mesh would not draw.)
#[derive(Clone, Debug)]
pub struct FixedTicks {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl FixedTicks {
    pub fn new(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Self {
        FixedTicks { range, ticks }
    }
}

impl Ranged for FixedTicks {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let t = if span > 0.0 {
            (value - self.range.start) / span
        } else {
            0.5
        };
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// An axis for `count` categories: category `i` is centred on `i`, the range leaves half a
/// slot on each side, and at most about `max_ticks` of them get a tick (every category, or
/// every second, third, ...). plotters' segmented axis adds an empty slot and collapses
/// with a single category.
pub fn categories(count: usize, max_ticks: usize) -> FixedTicks {
    let count = count.max(1);
    let step = count.div_ceil(max_ticks.max(1));
    let ticks = (0..count).step_by(step).map(|i| i as f64).collect();
    FixedTicks::new(-0.5..count as f64 - 0.5, ticks)
}

/// The category a tick of [`categories`] stands for.
pub fn category(tick: f64, count: usize) -> Option<usize> {
    let index = tick.round();
    (index >= 0.0 && index < count as f64).then_some(index as usize)
}

/// The heading of a legend or axis whose entries are variants: the swept keys, or
/// `None` without a sweep.
pub fn variants_heading(scenario: &Scenario) -> Option<String> {
    (!scenario.swept_keys.is_empty()).then(|| scenario.swept_keys.join(", "))
}

/// Into how many consecutive items to merge a series of `len` so that at most `max`
/// points remain.
pub fn chunk_size(len: usize, max: usize) -> usize {
    len.div_ceil(max.max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_keep_their_start_and_end() {
        assert_eq!(shorten("round-robin", 22), "round-robin");
        let short = shorten("weighted-round-robin-with-extras", 12);
        assert_eq!(short, "weigh…extras");
        assert_eq!(short.chars().count(), 12);
    }

    #[test]
    fn colours_are_distinct_well_past_the_palette() {
        let colours: Vec<RGBColor> = (0..24).map(colour).collect();
        for (i, a) in colours.iter().enumerate() {
            for b in &colours[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn ranges_survive_empty_and_zero_data() {
        assert_eq!(linear_range([]), 0.0..1.0);
        assert_eq!(linear_range([0.0, f64::NAN]), 0.0..1.0);
        assert_eq!(log_range([0.0]), 0.1..10.0);
        let r = log_range([2.0, 0.0, 20.0]);
        assert!(r.start < 2.0 && r.end > 20.0);
        assert_eq!(chunk_size(0, 100), 1);
        assert_eq!(chunk_size(601, 300), 3);
    }

    #[test]
    fn tick_labels_are_short_and_log_ticks_step_one_two_five() {
        assert_eq!(number(200.0), "200");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(-0.0001), "0");
        assert_eq!(log_ticks(&(3.0..60.0)), [5.0, 10.0, 20.0, 50.0]);
        assert_eq!(log_ticks(&(0.05..2000.0)), [0.1, 1.0, 10.0, 100.0, 1000.0]);
        assert_eq!(log_ticks(&(12.0..18.0)), [12.0, 18.0]);
    }

    #[test]
    fn category_axes_tick_at_most_about_the_asked_number() {
        let one = categories(1, 8);
        assert_eq!((one.range(), one.ticks), (-0.5..0.5, vec![0.0]));
        let ticks = categories(16, 8).ticks;
        assert_eq!(ticks, [0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0]);
        assert_eq!(category(3.0, 4), Some(3));
        assert_eq!(category(4.0, 4), None);
        assert_eq!(category(-1.0, 4), None);
    }

    #[test]
    fn heat_runs_from_dark_purple_to_yellow() {
        assert_eq!(heat(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(heat(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(heat(2.0), heat(1.0));
    }
}
