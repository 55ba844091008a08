//! latency-cdf: the whole response-time distribution of each variant, one line each, on a
//! log time axis so the body and the tail are both visible. Replication 0 of each variant
//! (replications are not merged: the histogram is per run). Many variants in groups get a
//! panel per group on a shared time axis (`Palette::panels`). Where a variant is exactly
//! an M/M/1 queue, its theoretical distribution is drawn over it, dashed.

use std::ops::Range;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::{self, Axis, Scale};
use super::layout::{self, Entry, Mark};
use super::palette::Palette;
use super::style::{self, INK, MUTED, variant_label};
use super::theory::Mm1;
use super::{Chart, Drawn, Figure, replications};
use crate::report::ScenarioResults;
use crate::report::stability::is_unstable;

pub struct LatencyCdf {
    /// The swept keys, heading the legend.
    heading: Option<String>,
    lines: Vec<Line>,
    panels: Vec<Panel>,
    /// The time axis, ms.
    x: Range<f64>,
}

/// The fastest fraction of requests left off the time axis, so a few lucky requests do not
/// stretch it over empty decades.
const LEFT_OFF: f64 = 0.001;

/// Points of a theoretical curve.
const THEORY_POINTS: usize = 200;

struct Line {
    label: String,
    colour: RGBColor,
    /// `(latency ms, fraction at or below)`, increasing; empty without completions.
    points: Vec<(f64, f64)>,
    unstable: bool,
    /// The exact M/M/1 distribution over the time axis, when the variant is one.
    theory: Option<Vec<(f64, f64)>>,
}

struct Panel {
    /// The group's label and hue, when the panel is one group of several.
    title: Option<(String, RGBColor)>,
    /// Indices into `lines`.
    lines: Vec<usize>,
}

pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> Chart {
    let scenario = results.scenario;
    let floor = results
        .runs
        .iter()
        .filter_map(|runs| runs.first())
        .filter(|run| run.latency.count() > 0)
        .map(|run| run.latency.quantile_ms(LEFT_OFF))
        .fold(f64::INFINITY, f64::min);
    let mut lines: Vec<Line> = results
        .runs
        .iter()
        .enumerate()
        .map(|(variant, runs)| Line {
            label: variant_label(scenario, variant),
            colour: palette.colour(variant),
            points: runs
                .first()
                .map(|run| run.latency.cdf_points())
                .unwrap_or_default()
                .into_iter()
                .filter(|&(ms, _)| ms >= floor)
                .collect(),
            unstable: runs.iter().any(|run| is_unstable(&run.counts)),
            theory: None,
        })
        .collect();
    let x = axis::log_range(lines.iter().flat_map(|l| l.points.iter().map(|p| p.0)));
    let mut queues = Vec::new();
    for (line, variant) in lines.iter_mut().zip(&scenario.variants) {
        if let Some(queue) = Mm1::of(&variant.run).filter(|_| !line.points.is_empty()) {
            line.theory = Some(queue.curve(&x, THEORY_POINTS));
            queues.push(queue);
        }
    }
    let panels: Vec<Panel> = palette
        .panels()
        .into_iter()
        .map(|variants| Panel {
            title: palette.panel_key(&variants),
            lines: variants,
        })
        .collect();
    let which = if replications(results) > 1 {
        "replication 0 of each variant"
    } else {
        "each variant"
    };
    let theory = match queues.as_slice() {
        [] => String::new(),
        [q] => format!(
            "; dashed: exact M/M/1, 1 − e^(−(μ−λ)t) with λ = {}/s, μ = {}/s",
            style::number(q.lambda),
            style::number(q.mu)
        ),
        _ => "; dashed: exact M/M/1, 1 − e^(−(μ−λ)t)".to_string(),
    };
    let height = if panels.len() == 1 {
        560
    } else {
        layout::grid_height(panels.len(), 300)
    };
    Chart::new(
        "latency-cdf",
        format!("Response-time distribution: {}", scenario.name),
        format!(
            "Fraction of measured requests answered within a time, {which}; log time axis{theory}"
        ),
        (1000, height),
        LatencyCdf {
            heading: style::variants_heading(scenario),
            lines,
            panels,
            x,
        },
    )
}

impl Figure for LatencyCdf {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries: Vec<Entry> = self.heading.iter().map(Entry::heading).collect();
        entries.extend(self.lines.iter().map(|line| {
            let label = if line.points.is_empty() {
                format!("{} (no completions)", line.label)
            } else if line.unstable {
                format!("{} (unstable)", line.label)
            } else {
                line.label.clone()
            };
            Entry::new(label, line.colour, Mark::Line)
        }));
        if self.lines.iter().any(|l| l.theory.is_some()) {
            entries.push(Entry::new("exact M/M/1", INK, Mark::Dashed));
        }
        let plot = layout::with_legend(area, &entries)?;
        for (panel, space) in self
            .panels
            .iter()
            .zip(layout::grid(&plot, self.panels.len(), 1))
        {
            let space = match &panel.title {
                Some((title, hue)) => layout::panel_title(&space, title, None, Some(*hue))?,
                None => space,
            };
            self.draw_panel(panel, &space)?;
        }
        Ok(())
    }
}

impl LatencyCdf {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
    ) -> Drawn<DB> {
        let x = Axis::fixed(Scale::Log, self.x.clone(), axis::log_ticks(&self.x));
        let y = Axis::fixed(
            Scale::Linear,
            0.0..1.0,
            (0..=10).map(|i| f64::from(i) / 10.0).collect(),
        );
        let (start, end) = (self.x.start, self.x.end);
        let mut chart = ChartBuilder::on(area)
            .margin(8)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x, y)?;
        let few_rows = self.panels.len() > 1;
        layout::mesh(&mut chart)
            .x_desc("response time (ms, log scale)")
            .y_desc(if few_rows {
                "fraction at or below"
            } else {
                "fraction of requests at or below"
            })
            .x_label_formatter(&|v| format_ms(*v))
            .y_label_formatter(&|v| style::number(*v))
            // Every tenth in one tall panel; every fifth when panels share the height.
            .y_labels(if few_rows { 6 } else { 11 })
            .draw()?;
        let right = Pos::new(HPos::Right, VPos::Bottom);
        for (q, name) in [(0.5, "p50"), (0.99, "p99")] {
            chart.draw_series(std::iter::once(PathElement::new(
                [(start, q), (end, q)],
                MUTED.mix(0.6),
            )))?;
            chart.draw_series(std::iter::once(Text::new(
                name,
                (end, q),
                style::text(11, MUTED).pos(right),
            )))?;
        }
        for &i in &panel.lines {
            let line = &self.lines[i];
            chart.draw_series(LineSeries::new(
                line.points.iter().copied(),
                line.colour.stroke_width(2),
            ))?;
        }
        for &i in &panel.lines {
            if let Some(theory) = &self.lines[i].theory {
                chart.draw_series(DashedLineSeries::new(
                    theory.iter().copied(),
                    6,
                    4,
                    INK.stroke_width(2),
                ))?;
            }
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

    fn chart(fixture: &fixtures::Fixture) -> Chart {
        let results = fixture.view();
        build(&results, &Palette::new(results.scenario))
    }

    #[test]
    fn one_legend_entry_per_variant_and_empty_variants_say_so() {
        let svg = chart(&fixtures::degenerate()).svg().unwrap();
        assert!(fixtures::has_text(&svg, "0 (no completions)"));
        assert!(fixtures::has_text(&svg, "50"));

        let svg = chart(&fixtures::swept()).svg().unwrap();
        for label in ["round-robin, 150", "least-connections, 300"] {
            assert!(fixtures::has_text(&svg, label), "{label}");
        }
    }

    #[test]
    fn an_mm1_run_gets_its_exact_distribution_drawn_over_it() {
        let fixture = fixtures::mm1();
        let chart = chart(&fixture);
        assert!(
            chart.subtitle.contains("λ = 80/s, μ = 100/s"),
            "{}",
            chart.subtitle
        );
        let cdf: &LatencyCdf = chart.figure();
        let line = &cdf.lines[0];
        let theory = line.theory.as_ref().expect("an M/M/1 run");
        assert_eq!(theory.len(), THEORY_POINTS);
        // The curve spans the chart's time axis, and is 1 - e^{-(μ-λ)t} at each point.
        assert!((theory[0].0 / cdf.x.start - 1.0).abs() < 1e-12);
        assert!((theory[THEORY_POINTS - 1].0 / cdf.x.end - 1.0).abs() < 1e-12);
        for &(ms, p) in theory {
            assert!((p - (1.0 - (-20.0 * ms / 1000.0).exp())).abs() < 1e-12);
        }
        let svg = chart.svg().unwrap();
        assert!(fixtures::has_text(&svg, "exact M/M/1"));
        // Several servers: not M/M/1, no curve.
        let swept = fixtures::swept();
        let other = super::build(&swept.view(), &Palette::new(&swept.scenario));
        let cdf: &LatencyCdf = other.figure();
        assert!(cdf.lines.iter().all(|l| l.theory.is_none()));
    }

    #[test]
    fn many_grouped_variants_get_a_panel_per_group() {
        let fixture = fixtures::knee();
        let chart = chart(&fixture);
        let cdf: &LatencyCdf = chart.figure();
        let titles: Vec<&str> = cdf
            .panels
            .iter()
            .map(|p| p.title.as_ref().unwrap().0.as_str())
            .collect();
        assert_eq!(titles, ["round-robin", "least-connections"]);
        let svg = chart.svg().unwrap();
        assert!(fixtures::has_text(&svg, "least-connections"));
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(format_ms(10.0), "10");
        assert_eq!(format_ms(2.5), "2.5");
        assert_eq!(format_ms(0.25), "0.25");
        assert_eq!(format_ms(1500.0), "1500");
    }
}
