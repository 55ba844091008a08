//! latency-over-time: p99 (solid) and p50 (pale) of the requests completed in each interval,
//! one colour per variant, replication 0: shows warmup transients, rate steps and
//! overload building up. Long runs are drawn from windows of several intervals, each the
//! completion-weighted mean of its intervals' percentiles, so the file stays small.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::layout::{self, Entry, Mark};
use super::style::{self, MUTED, chunk_size, colour, variant_label};
use super::{Body, Chart, Drawn};
use crate::report::ScenarioResults;
use crate::stats::{IntervalLatency, RunResult};

/// Most points drawn per line.
const MAX_POINTS: usize = 300;

pub struct LatencyOverTime {
    /// The swept keys, heading the legend.
    heading: Option<String>,
    lines: Vec<Line>,
    warmup_s: f64,
}

struct Line {
    label: String,
    points: Vec<Point>,
}

/// A window's end (s) and its `(p50, p99)` in ms, `None` when nothing completed.
type Point = (f64, Option<(f64, f64)>);

/// The chart, or `None` when no variant recorded a time series.
pub fn build(results: &ScenarioResults<'_>) -> io::Result<Option<Chart>> {
    let scenario = results.scenario;
    let longest = results
        .runs
        .iter()
        .filter_map(|runs| runs.first())
        .map(|run| run.intervals.len() as usize)
        .max()
        .unwrap_or(0);
    if longest == 0 {
        return Ok(None);
    }
    let chunk = chunk_size(longest, MAX_POINTS);
    let mut lines = Vec::with_capacity(results.runs.len());
    for (variant, runs) in results.runs.iter().enumerate() {
        let points = match runs.first() {
            Some(run) => windows(run, chunk)?,
            None => Vec::new(),
        };
        lines.push(Line {
            label: variant_label(scenario, variant),
            points,
        });
    }
    let first = &scenario.variants[0].run;
    let interval = first
        .sample_interval
        .map_or(0.0, |i| i.as_secs_f64() * chunk as f64);
    let replication = if scenario.replications > 1 {
        ", replication 0"
    } else {
        ""
    };
    Ok(Some(Chart {
        stem: "latency-over-time".into(),
        title: format!("Response time over time: {}", scenario.name),
        subtitle: format!(
            "p99 (solid) and p50 (pale) of the requests completed in each {} s{replication}",
            format_seconds(interval)
        ),
        size: (1000, 560),
        body: Body::LatencyOverTime(LatencyOverTime {
            heading: style::variants_heading(scenario),
            lines,
            warmup_s: first.warmup.as_secs_f64(),
        }),
    }))
}

/// One point from consecutive intervals: the last one's end, and the percentiles averaged
/// with the intervals' completions as weights.
/// `run`'s intervals averaged in windows of `chunk`, read in one pass without holding the
/// whole series.
fn windows(run: &RunResult, chunk: usize) -> io::Result<Vec<Point>> {
    let mut points = Vec::new();
    let mut pending = Vec::with_capacity(chunk);
    run.intervals.for_each(|interval| {
        pending.push(*interval);
        if pending.len() == chunk {
            points.push(window(&pending));
            pending.clear();
        }
        Ok(())
    })?;
    if !pending.is_empty() {
        points.push(window(&pending));
    }
    Ok(points)
}

fn window(intervals: &[IntervalLatency]) -> Point {
    let end = intervals.last().map_or(0.0, |i| i.time.as_secs_f64());
    let (mut weight, mut p50, mut p99) = (0.0, 0.0, 0.0);
    for interval in intervals {
        if let Some(p) = interval.latency_ms {
            let w = f64::from(interval.completions.max(1));
            weight += w;
            p50 += p.p50 * w;
            p99 += p.p99 * w;
        }
    }
    let value = (weight > 0.0).then(|| (p50 / weight, p99 / weight));
    (end, value)
}

fn format_seconds(seconds: f64) -> String {
    let text = format!("{seconds:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl LatencyOverTime {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries: Vec<Entry> = self.heading.iter().map(Entry::heading).collect();
        entries.extend(
            self.lines
                .iter()
                .enumerate()
                .map(|(i, line)| Entry::new(line.label.clone(), colour(i), Mark::Line)),
        );
        entries.push(Entry::new("p99", MUTED, Mark::Line));
        entries.push(Entry::new("p50", MUTED, Mark::Faint));
        let plot = layout::with_legend(area, &entries)?;

        let all_points = || self.lines.iter().flat_map(|l| l.points.iter());
        let x_end = all_points().map(|p| p.0).fold(0.0, f64::max).max(1e-3);
        let y = style::linear_range(all_points().filter_map(|p| p.1.map(|v| v.1)));
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_end, y)?;
        layout::shade_warmup(&mut chart, self.warmup_s)?;
        layout::mesh(&mut chart)
            .x_desc("simulated time (s)")
            .y_desc("response time (ms)")
            .x_label_formatter(&|v| style::number(*v))
            .y_label_formatter(&|v| style::number(*v))
            .draw()?;
        for (i, line) in self.lines.iter().enumerate() {
            let pale = colour(i).mix(0.45).stroke_width(1);
            let strong = colour(i).stroke_width(2);
            for segment in line.points.split(|p| p.1.is_none()) {
                let p50 = segment.iter().filter_map(|&(t, v)| v.map(|v| (t, v.0)));
                let p99 = segment.iter().filter_map(|&(t, v)| v.map(|v| (t, v.1)));
                if segment.len() == 1 {
                    chart.draw_series(p50.map(|p| Circle::new(p, 2, pale.filled())))?;
                    chart.draw_series(p99.map(|p| Circle::new(p, 3, strong.filled())))?;
                } else {
                    chart.draw_series(LineSeries::new(p50, pale))?;
                    chart.draw_series(LineSeries::new(p99, strong))?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::engine::SimTime;
    use crate::stats::Percentiles;

    #[test]
    fn one_legend_entry_per_variant() {
        let results = fixtures::swept();
        let svg = build(&results.view()).unwrap().unwrap().svg().unwrap();
        for variant in 0..4 {
            let label = variant_label(&results.scenario, variant);
            assert!(fixtures::has_text(&svg, &label), "{label}");
        }
    }

    #[test]
    fn windows_weigh_intervals_by_completions_and_skip_empty_ones() {
        let interval = |s: u64, completions: u32, p: Option<f64>| IntervalLatency {
            time: SimTime::from_nanos(s * 1_000_000_000),
            completions,
            latency_ms: p.map(|v| Percentiles {
                p50: v,
                p90: v,
                p99: 2.0 * v,
            }),
        };
        let (end, value) = window(&[
            interval(1, 3, Some(10.0)),
            interval(2, 0, None),
            interval(3, 1, Some(2.0)),
        ]);
        assert_eq!(end, 3.0);
        assert_eq!(value, Some((8.0, 16.0)));
        assert_eq!(window(&[interval(1, 0, None)]), (1.0, None));
    }

    #[test]
    fn no_time_series_means_no_chart() {
        assert!(build(&fixtures::without_series().view()).unwrap().is_none());
    }
}
