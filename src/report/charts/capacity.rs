//! capacity-over-time: for scenarios with an autoscaler, per variant (replication 0), the
//! load offered against the capacity of the ready servers, and the p99 it buys, on one
//! time axis — so that a policy's lag, its overshoot and its flapping show as what they
//! cost: the stretch where offered load runs above capacity is the stretch where the p99
//! climbs. One panel per variant: load and capacity above, p99 (with the `[slo]` line)
//! below.

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

const OFFERED: RGBColor = RGBColor(0x22, 0x22, 0x22);
const CAPACITY: RGBColor = RGBColor(0x1b, 0x9e, 0x77);
const SLO: RGBColor = RGBColor(0xc0, 0x1c, 0x28);

pub struct CapacityOverTime {
    panels: Vec<Panel>,
    rate: Axis,
    p99: Axis,
    warmup_s: f64,
}

struct Panel {
    title: String,
    colour: RGBColor,
    /// The objective on the p99, in ms, when the variant has one.
    slo_ms: Option<f64>,
    points: Vec<Point>,
}

/// One window of intervals.
#[derive(Copy, Clone, Debug, PartialEq)]
struct Point {
    /// The window's end, s.
    end: f64,
    /// Requests offered per second over the window.
    offered: f64,
    /// The ready servers' capacity, req/s, averaged over the window's intervals.
    capacity: f64,
    /// The highest interval p99 of the window, ms (a window hides no bad interval);
    /// `None` when nothing completed in it.
    p99: Option<f64>,
}

/// The chart, or `None` when no variant has an autoscaler or a time series.
pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> io::Result<Option<Chart>> {
    let scenario = results.scenario;
    let longest = longest_series(results);
    let scaled = scenario.variants.iter().any(|v| v.run.autoscaler.is_some());
    if longest == 0 || !scaled {
        return Ok(None);
    }
    let chunk = chunk_size(longest, MAX_POINTS);
    let mut panels = Vec::with_capacity(results.runs.len());
    for (variant, runs) in results.runs.iter().enumerate() {
        if let Some(run) = runs.first() {
            panels.push(Panel {
                title: variant_label(scenario, variant),
                colour: palette.colour(variant),
                slo_ms: scenario.variants[variant]
                    .run
                    .slo
                    .map(|slo| slo.p99.as_secs_f64() * 1e3),
                points: windows(run, chunk)?,
            });
        }
    }
    let rate = Axis::new(
        Scale::Linear,
        panels
            .iter()
            .flat_map(|p| p.points.iter().flat_map(|q| [q.offered, q.capacity]))
            .chain([0.0]),
    );
    let latencies: Vec<f64> = panels
        .iter()
        .flat_map(|p| p.points.iter().filter_map(|q| q.p99).chain(p.slo_ms))
        .collect();
    let p99 = Axis::new(Scale::for_peaks(latencies.iter().copied()), latencies);
    let replication = if replications(results) > 1 {
        ", replication 0"
    } else {
        ""
    };
    let height = layout::grid_height(panels.len(), 420);
    Ok(Some(Chart::new(
        "capacity-over-time",
        format!("Load, capacity and p99 over time: {}", scenario.name),
        format!(
            "offered requests per second against what the ready servers can answer, and the p99 of each window{}{replication}",
            panels_note(scenario, panels.len()),
        ),
        (1000, height),
        CapacityOverTime {
            panels,
            rate,
            p99,
            warmup_s: scenario.variants[0].run.warmup.as_secs_f64(),
        },
    )))
}

/// `run`'s intervals merged in windows of `chunk`.
fn windows(run: &RunResult, chunk: usize) -> io::Result<Vec<Point>> {
    let mut points = Vec::new();
    let mut pending: Vec<IntervalTotals> = Vec::with_capacity(chunk);
    let mut window_start = 0.0;
    let mut flush = |pending: &mut Vec<IntervalTotals>, points: &mut Vec<Point>| {
        let end = pending.last().map_or(0.0, |i| i.time.as_secs_f64());
        let width = (end - window_start).max(1e-9);
        let arrivals: f64 = pending.iter().map(|i| f64::from(i.counts.arrivals)).sum();
        let capacity = pending.iter().map(|i| i.capacity).sum::<f64>() / pending.len() as f64;
        let p99 = pending
            .iter()
            .filter_map(|i| i.latency_ms.map(|l| l.p99))
            .reduce(f64::max);
        points.push(Point {
            end,
            offered: arrivals / width,
            capacity,
            p99,
        });
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

impl Figure for CapacityOverTime {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries = vec![
            Entry::new("offered load", OFFERED, Mark::Line),
            Entry::new("capacity of the ready servers", CAPACITY, Mark::Line),
            Entry::new(
                "p99 (variant colour)",
                RGBColor(0x55, 0x55, 0x55),
                Mark::Line,
            ),
        ];
        if self.panels.iter().any(|p| p.slo_ms.is_some()) {
            entries.push(Entry::new("SLO on the p99", SLO, Mark::Line));
        }
        let plot = layout::with_legend(area, &entries)?;
        let x_end = self
            .panels
            .iter()
            .filter_map(|p| p.points.last().map(|point| point.end))
            .fold(0.0, f64::max)
            .max(1e-3);
        for (panel, space) in self
            .panels
            .iter()
            .zip(layout::grid(&plot, self.panels.len(), 1))
        {
            let space = layout::panel_title(&space, &panel.title, None, Some(panel.colour))?;
            let (_, height) = space.dim_in_pixel();
            let (upper, lower) = space.split_vertically(height * 3 / 5);
            self.draw_rates(panel, &upper, x_end)?;
            self.draw_p99(panel, &lower, x_end)?;
        }
        Ok(())
    }
}

impl CapacityOverTime {
    fn draw_rates<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
        x_end: f64,
    ) -> Drawn<DB> {
        let mut chart = layout::time_chart(
            area,
            x_end,
            self.rate.clone(),
            self.warmup_s,
            (6, 24),
            "requests per second",
            None,
        )?;
        let offered = panel.points.iter().map(|p| (p.end, p.offered));
        chart.draw_series(LineSeries::new(offered, OFFERED.stroke_width(1)))?;
        let capacity = panel.points.iter().map(|p| (p.end, p.capacity));
        chart.draw_series(LineSeries::new(capacity, CAPACITY.stroke_width(2)))?;
        Ok(())
    }

    fn draw_p99<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
        x_end: f64,
    ) -> Drawn<DB> {
        let mut chart = layout::time_chart(
            area,
            x_end,
            self.p99.clone(),
            self.warmup_s,
            (6, 36),
            "p99 (ms)",
            Some("simulated time (s)"),
        )?;
        if let Some(slo) = panel.slo_ms {
            let line = [(0.0, slo), (x_end, slo)];
            chart.draw_series(LineSeries::new(line, SLO.stroke_width(1)))?;
        }
        // A window without completions breaks the line rather than joining across it.
        for run in panel.points.split(|p| p.p99.is_none()) {
            let points = run
                .iter()
                .filter_map(|p| p.p99.map(|value| (p.end, self.p99.clamp(value).0)));
            chart.draw_series(LineSeries::new(points, panel.colour.stroke_width(2)))?;
        }
        Ok(())
    }
}
