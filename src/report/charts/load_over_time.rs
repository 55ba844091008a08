//! load-over-time: per variant (replication 0), the rate of requests offered to the
//! balancer, completed, rejected by full queues and failed, over time — so that load
//! shedding shows as what it is: a bounded queue keeps latency low by turning requests
//! away, and the gap between offered and completed is the price. One panel per variant, on
//! one shared scale, so that panels compare at a glance; long runs are drawn from windows
//! of several intervals, each the rate over its whole width.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Axis, Scale};
use super::layout::{self, Entry, Mark};
use super::palette::Palette;
use super::style::{chunk_size, panels_note, variant_label};
use super::{Chart, Drawn, Figure, longest_series, replications};
use crate::report::ScenarioResults;
use crate::stats::{IntervalTotals, RunResult};

/// Most points drawn per line.
const MAX_POINTS: usize = 300;

/// Panels side by side, at most.
const COLUMNS: usize = 2;

/// What each line of a panel counts, with its colour: one hue per kind of outcome,
/// the same in every panel (the panel's title carries the variant's colour).
const KINDS: [(&str, RGBColor); 4] = [
    ("offered", RGBColor(0x22, 0x22, 0x22)),
    ("completed", RGBColor(0x1b, 0x9e, 0x77)),
    ("rejected (queue full)", RGBColor(0xd9, 0x5f, 0x02)),
    ("failed", RGBColor(0xc0, 0x1c, 0x28)),
];

pub struct LoadOverTime {
    panels: Vec<Panel>,
    y: Axis,
    warmup_s: f64,
}

struct Panel {
    title: String,
    colour: RGBColor,
    /// Window ends (s) and the four rates of [`KINDS`] over each window, per second.
    points: Vec<(f64, [f64; 4])>,
}

/// The chart, or `None` when no variant recorded a time series.
pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> io::Result<Option<Chart>> {
    let scenario = results.scenario;
    let longest = longest_series(results);
    if longest == 0 {
        return Ok(None);
    }
    let chunk = chunk_size(longest, MAX_POINTS);
    let mut panels = Vec::with_capacity(results.runs.len());
    for (variant, runs) in results.runs.iter().enumerate() {
        if let Some(run) = runs.first() {
            panels.push(Panel {
                title: variant_label(scenario, variant),
                colour: palette.colour(variant),
                points: windows(run, chunk)?,
            });
        }
    }
    let y = Axis::new(
        Scale::Linear,
        panels
            .iter()
            .flat_map(|p| p.points.iter().flat_map(|(_, rates)| *rates))
            .chain([0.0]),
    );
    let replication = if replications(results) > 1 {
        ", replication 0"
    } else {
        ""
    };
    let rows = panels.len().div_ceil(COLUMNS);
    let height = if panels.len() == 1 {
        480
    } else {
        layout::grid_height(rows, 260)
    };
    Ok(Some(Chart::new(
        "load-over-time",
        format!("Offered load and what became of it: {}", scenario.name),
        format!(
            "requests per second reaching the balancer, completed, rejected and failed{}{replication}",
            panels_note(scenario, panels.len()),
        ),
        (1000, height),
        LoadOverTime {
            panels,
            y,
            warmup_s: scenario.variants[0].run.warmup.as_secs_f64(),
        },
    )))
}

/// `run`'s intervals merged in windows of `chunk`, each as rates per second over its width.
fn windows(run: &RunResult, chunk: usize) -> io::Result<Vec<(f64, [f64; 4])>> {
    let mut points = Vec::new();
    let mut pending: Vec<IntervalTotals> = Vec::with_capacity(chunk);
    let mut window_start = 0.0;
    let mut flush = |pending: &mut Vec<IntervalTotals>, points: &mut Vec<(f64, [f64; 4])>| {
        let end = pending.last().map_or(0.0, |i| i.time.as_secs_f64());
        let width = (end - window_start).max(1e-9);
        let mut sums = [0.0; 4];
        for interval in pending.iter() {
            let counts = interval.counts;
            let values = [
                counts.arrivals,
                interval.completions,
                counts.rejected,
                counts.failed,
            ];
            for (sum, value) in sums.iter_mut().zip(values) {
                *sum += f64::from(value);
            }
        }
        points.push((end, sums.map(|sum| sum / width)));
        window_start = end;
        pending.clear();
    };
    run.intervals.for_each(|interval| {
        pending.push(*interval);
        if pending.len() == chunk {
            flush(&mut pending, &mut points);
        }
        Ok(())
    })?;
    if !pending.is_empty() {
        flush(&mut pending, &mut points);
    }
    Ok(points)
}

impl Figure for LoadOverTime {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let entries: Vec<Entry> = KINDS
            .iter()
            .map(|&(label, colour)| Entry::new(label, colour, Mark::Line))
            .collect();
        let plot = layout::with_legend(area, &entries)?;
        let x_end = self
            .panels
            .iter()
            .filter_map(|p| p.points.last().map(|point| point.0))
            .fold(0.0, f64::max)
            .max(1e-3);
        let single = self.panels.len() == 1;
        for (panel, space) in
            self.panels
                .iter()
                .zip(layout::grid(&plot, self.panels.len(), COLUMNS))
        {
            let space = if single {
                space
            } else {
                layout::panel_title(&space, &panel.title, None, Some(panel.colour))?
            };
            self.draw_panel(panel, &space, x_end)?;
        }
        Ok(())
    }
}

impl LoadOverTime {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
        x_end: f64,
    ) -> Drawn<DB> {
        let mut chart = layout::time_chart(
            area,
            x_end,
            self.y.clone(),
            self.warmup_s,
            (8, 40),
            "requests per second",
            Some("simulated time (s)"),
        )?;
        for (kind, &(_, colour)) in KINDS.iter().enumerate() {
            // Offered load is drawn thin under the rest: completions overlay it exactly
            // while nothing is shed.
            let width = if kind == 0 { 1 } else { 2 };
            let points = panel.points.iter().map(|&(t, rates)| (t, rates[kind]));
            chart.draw_series(LineSeries::new(points, colour.stroke_width(width)))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn the_subtitle_says_what_the_panels_titles_are_values_of() {
        let fixture = fixtures::swept();
        let chart = build(&fixture.view(), &fixture.palette()).unwrap().unwrap();
        assert!(
            chart
                .subtitle
                .contains("one panel per balancer.algorithm, workload.rate"),
            "{}",
            chart.subtitle
        );
    }

    #[test]
    fn rates_are_counts_over_each_windows_width() {
        let fixture = fixtures::swept();
        let results = fixture.view();
        let chart = build(&results, &fixture.palette()).unwrap().unwrap();
        let figure: &LoadOverTime = chart.figure();
        assert_eq!(figure.panels.len(), results.runs.len());
        // Against the run's cluster rows, summed independently: every window's rates times
        // its width give back the counts of its intervals.
        for (panel, runs) in figure.panels.iter().zip(&results.runs) {
            let totals = runs[0].intervals.to_vec();
            let arrivals: f64 = totals.iter().map(|t| f64::from(t.counts.arrivals)).sum();
            let completions: f64 = totals.iter().map(|t| f64::from(t.completions)).sum();
            let mut start = 0.0;
            let (mut drawn_arrivals, mut drawn_completions) = (0.0, 0.0);
            for &(end, rates) in &panel.points {
                drawn_arrivals += rates[0] * (end - start);
                drawn_completions += rates[1] * (end - start);
                start = end;
            }
            assert!((drawn_arrivals - arrivals).abs() < 1e-6 * arrivals.max(1.0));
            assert!((drawn_completions - completions).abs() < 1e-6 * completions.max(1.0));
            assert!(arrivals > 0.0);
        }
    }

    #[test]
    fn no_series_no_chart() {
        let fixture = fixtures::without_series();
        assert!(
            build(&fixture.view(), &fixture.palette())
                .unwrap()
                .is_none()
        );
    }
}
