//! The look shared by every chart: inks, text styles, tick labels and short variant
//! labels, so that the same variant has the same name in every picture (its colour comes
//! from `palette`).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::report::font::FAMILY;
use crate::scenario::Scenario;

pub const INK: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const MUTED: RGBColor = RGBColor(0x66, 0x66, 0x66);
pub const GRID: RGBColor = RGBColor(0xe4, 0xe4, 0xe4);
pub const WARMUP: RGBColor = RGBColor(0xf1, 0xf1, 0xf1);

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

/// The heading of a legend or axis whose entries are variants: the swept keys, or
/// `None` without a sweep.
pub fn variants_heading(scenario: &Scenario) -> Option<String> {
    (!scenario.swept_keys.is_empty()).then(|| scenario.swept_keys.join(", "))
}

/// `", one panel per KEYS"` for a subtitle, when a chart draws `panels` panels, one per
/// variant: it says what the panels' titles, the swept values alone, are values of.
/// Empty for a single panel.
pub fn panels_note(scenario: &Scenario, panels: usize) -> String {
    if panels <= 1 {
        return String::new();
    }
    let keys = variants_heading(scenario).unwrap_or_else(|| "variant".into());
    format!(", one panel per {keys}")
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
    fn several_panels_are_said_to_be_one_per_swept_key_and_one_panel_is_not() {
        let swept = super::super::fixtures::swept().scenario;
        assert_eq!(
            panels_note(&swept, 4),
            ", one panel per balancer.algorithm, workload.rate"
        );
        assert_eq!(panels_note(&swept, 1), "");
        // Variants that no key names (none here, but a chart must not say "per " alone).
        let plain = super::super::fixtures::crash().scenario;
        assert_eq!(panels_note(&plain, 2), ", one panel per variant");
    }

    #[test]
    fn long_values_keep_their_start_and_end() {
        assert_eq!(shorten("round-robin", 22), "round-robin");
        let short = shorten("weighted-round-robin-with-extras", 12);
        assert_eq!(short, "weigh…extras");
        assert_eq!(short.chars().count(), 12);
    }

    #[test]
    fn tick_labels_are_short_and_windows_cover_the_series() {
        assert_eq!(number(200.0), "200");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(0.6000000000000001), "0.6");
        assert_eq!(number(-0.0001), "0");
        assert_eq!(chunk_size(0, 100), 1);
        assert_eq!(chunk_size(601, 300), 3);
    }

    #[test]
    fn heat_runs_from_dark_purple_to_yellow() {
        assert_eq!(heat(0.0), RGBColor(0x44, 0x01, 0x54));
        assert_eq!(heat(1.0), RGBColor(0xfd, 0xe7, 0x25));
        assert_eq!(heat(2.0), heat(1.0));
    }
}
