//! latency-cdf: the whole response-time distribution of each variant, one line each, on a
//! log time axis so the body and the tail are both visible. Replication 0 of each variant
//! (replications are not merged: the histogram is per run).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::layout::{self, Entry, Mark};
use super::style::{self, MUTED, colour, variant_label};
use super::{Body, Chart, Drawn};
use crate::report::ScenarioResults;

pub struct LatencyCdf {
    /// The swept keys, heading the legend.
    heading: Option<String>,
    lines: Vec<Line>,
}

/// The fastest fraction of requests left off the time axis, so a few lucky requests do not
/// stretch it over empty decades.
const LEFT_OFF: f64 = 0.001;

struct Line {
    label: String,
    /// `(latency ms, fraction at or below)`, increasing; empty without completions.
    points: Vec<(f64, f64)>,
}

pub fn build(results: &ScenarioResults<'_>) -> Chart {
    let scenario = results.scenario;
    let floor = results
        .runs
        .iter()
        .filter_map(|runs| runs.first())
        .filter(|run| run.latency.count() > 0)
        .map(|run| run.latency.quantile_ms(LEFT_OFF))
        .fold(f64::INFINITY, f64::min);
    let lines = results
        .runs
        .iter()
        .enumerate()
        .map(|(variant, runs)| Line {
            label: variant_label(scenario, variant),
            points: runs
                .first()
                .map(|run| run.latency.cdf_points())
                .unwrap_or_default()
                .into_iter()
                .filter(|&(ms, _)| ms >= floor)
                .collect(),
        })
        .collect();
    let which = if scenario.replications > 1 {
        "replication 0 of each variant"
    } else {
        "each variant"
    };
    Chart {
        stem: "latency-cdf".into(),
        title: format!("Response-time distribution: {}", scenario.name),
        subtitle: format!(
            "Fraction of measured requests answered within a time, {which}; log time axis"
        ),
        size: (1000, 560),
        body: Body::LatencyCdf(LatencyCdf {
            heading: style::variants_heading(scenario),
            lines,
        }),
    }
}

impl LatencyCdf {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries: Vec<Entry> = self.heading.iter().map(Entry::heading).collect();
        entries.extend(self.lines.iter().enumerate().map(|(i, line)| {
            let label = if line.points.is_empty() {
                format!("{} (no completions)", line.label)
            } else {
                line.label.clone()
            };
            Entry::new(label, colour(i), Mark::Line)
        }));
        let plot = layout::with_legend(area, &entries)?;
        let x = style::log_range(self.lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)));
        let ticks = style::log_ticks(&x);
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x.clone().log_scale().with_key_points(ticks), 0.0..1.0)?;
        layout::mesh(&mut chart)
            .x_desc("response time (ms, log scale)")
            .y_desc("fraction of requests at or below")
            .x_label_formatter(&|v| format_ms(*v))
            .y_label_formatter(&|v| style::number(*v))
            .y_labels(11)
            .draw()?;
        let right = Pos::new(HPos::Right, VPos::Bottom);
        for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
            chart.draw_series(std::iter::once(PathElement::new(
                [(x.start, q), (x.end, q)],
                MUTED.mix(0.6),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                name,
                (x.end, q),
                style::text(11, MUTED).pos(right),
            )))?;
        }
        for (i, line) in self.lines.iter().enumerate() {
            chart.draw_series(LineSeries::new(
                line.points.iter().copied(),
                colour(i).stroke_width(2),
            ))?;
        }
        Ok(())
    }
}

/// Milliseconds for a tick label: no trailing zeros, no float noise.
pub fn format_ms(value: f64) -> String {
    let text = if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn one_legend_entry_per_variant_and_empty_variants_say_so() {
        let results = fixtures::degenerate();
        let svg = build(&results.view()).svg().unwrap();
        assert!(fixtures::has_text(&svg, "0 (no completions)"));
        assert!(fixtures::has_text(&svg, "50"));

        let results = fixtures::swept();
        let svg = build(&results.view()).svg().unwrap();
        for label in ["round-robin, 150", "least-connections, 300"] {
            assert!(fixtures::has_text(&svg, label), "{label}");
        }
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(format_ms(10.0), "10");
        assert_eq!(format_ms(2.5), "2.5");
        assert_eq!(format_ms(0.25), "0.25");
        assert_eq!(format_ms(1500.0), "1500");
    }
}
