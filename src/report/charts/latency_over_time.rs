//! latency-over-time: p99 (solid) and p50 (pale) of the requests completed in each interval,
//! one colour per variant, replication 0: shows warmup transients, rate steps and
//! overload building up. Long runs are drawn from windows of several intervals, each the
//! completion-weighted mean of its intervals' percentiles, so the file stays small.
//!
//! A runaway must not flatten the others: variants whose queue grew without bound
//! (`report::stability`) are drawn in a panel of their own, on their own scale and marked
//! so, below the stable ones; each value axis is linear or log by `axis::Scale::for_peaks`.
//! Many variants in groups get a panel per group (`Palette::panels`), on a shared scale.
//!
//! With a data tier a last panel splits response time by tier: per window, the mean
//! response time of its completions (solid) and the part of it spent in the data tier
//! (dashed), from the run's `tier_times`; the gap between the two is the time in the web
//! tier (and any `[[tiers]]`). It shows which tier makes a slow stretch slow — a failover,
//! a pool running dry — where the percentiles above only show that it is slow.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Axis, Scale};
use super::layout::{self, Entry, Mark};
use super::palette::Palette;
use super::style::{self, MUTED, chunk_size, variant_label};
use super::{Chart, Drawn, Figure, longest_series, replications};
use crate::report::ScenarioResults;
use crate::report::stability::is_unstable;
use crate::stats::{IntervalTotals, RunResult, TierTimes};

/// Most points drawn per line.
const MAX_POINTS: usize = 300;

pub struct LatencyOverTime {
    /// The swept keys, heading the legend.
    heading: Option<String>,
    lines: Vec<Line>,
    panels: Vec<Panel>,
    /// The value axis of the panel splitting response time by tier, when a run has a data
    /// tier.
    tiers: Option<Axis>,
    warmup_s: f64,
}

struct Line {
    label: String,
    colour: RGBColor,
    points: Vec<Point>,
    /// The split by tier, window by window; empty without a data tier.
    tiers: Vec<TierPoint>,
    unstable: bool,
}

impl Line {
    /// The highest p99 drawn.
    fn peak(&self) -> f64 {
        self.points
            .iter()
            .filter_map(|p| p.1.map(|v| v.1))
            .fold(0.0, f64::max)
    }
}

/// A panel's title, with the group's hue when it is one group of several.
type Title = Option<(String, Option<RGBColor>)>;

struct Panel {
    title: Title,
    /// Indices into `lines`.
    lines: Vec<usize>,
    y: Axis,
}

/// A window's end (s) and its `(p50, p99)` in ms, `None` when nothing completed.
type Point = (f64, Option<(f64, f64)>);

/// A window's end (s) and the mean time of its completions in the data tier and outside
/// it, in ms, `None` when nothing completed.
type TierPoint = (f64, Option<(f64, f64)>);

/// The title of the panel splitting response time by tier.
const TIERS: &str = "mean response time (solid) and the part of it in the database \
                     (dashed); the gap is the web tier";

/// The title of the panel of unstable variants.
const UNSTABLE: &str = "unstable: the queue grew without bound (own scale)";

/// The chart, or `None` when no variant recorded a time series.
pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> io::Result<Option<Chart>> {
    let scenario = results.scenario;
    let longest = longest_series(results);
    if longest == 0 {
        return Ok(None);
    }
    let chunk = chunk_size(longest, MAX_POINTS);
    let mut lines = Vec::with_capacity(results.runs.len());
    for (variant, runs) in results.runs.iter().enumerate() {
        let (points, tiers) = match runs.first() {
            Some(run) => (windows(run, chunk)?, tier_windows(run, chunk)?),
            None => (Vec::new(), Vec::new()),
        };
        lines.push(Line {
            label: variant_label(scenario, variant),
            colour: palette.colour(variant),
            points,
            tiers,
            unstable: runs.iter().any(|run| is_unstable(&run.counts)),
        });
    }
    let panels = panels(&lines, palette);
    let tiers = lines
        .iter()
        .any(|line| !line.tiers.is_empty())
        .then(|| tier_axis(&lines));
    let first = &scenario.variants[0].run;
    let interval = first
        .sample_interval
        .map_or(0.0, |i| i.as_secs_f64() * chunk as f64);
    let replication = if replications(results) > 1 {
        ", replication 0"
    } else {
        ""
    };
    let height = match (panels.len(), &tiers) {
        (1, None) => 560,
        (count, None) => layout::grid_height(count, 280),
        (count, Some(_)) => layout::grid_height(count + 1, 280),
    };
    let below = if tiers.is_some() {
        "; below, their mean and its part in the database"
    } else {
        ""
    };
    Ok(Some(Chart::new(
        "latency-over-time",
        format!("Response time over time: {}", scenario.name),
        format!(
            "p99 (solid) and p50 (pale) of the requests completed in each {} s{below}{replication}",
            format_seconds(interval)
        ),
        (1000, height),
        LatencyOverTime {
            heading: style::variants_heading(scenario),
            lines,
            panels,
            tiers,
            warmup_s: first.warmup.as_secs_f64(),
        },
    )))
}

/// The panels: the palette's (one, or one per group) with the stable variants on one
/// shared scale, then, when some but not all variants are unstable, those in a panel of
/// their own.
fn panels(lines: &[Line], palette: &Palette) -> Vec<Panel> {
    let split = lines.iter().any(|l| l.unstable) && !lines.iter().all(|l| l.unstable);
    let mut panels: Vec<(Title, Vec<usize>)> = palette
        .panels()
        .into_iter()
        .map(|variants| {
            let title = palette
                .panel_key(&variants)
                .map(|(label, hue)| (label, Some(hue)))
                .or_else(|| split.then(|| ("stable variants".to_string(), None)));
            let kept: Vec<usize> = variants
                .into_iter()
                .filter(|&v| !(split && lines[v].unstable))
                .collect();
            (title, kept)
        })
        .filter(|(_, kept)| !kept.is_empty())
        .collect();
    let stable_axis = axis_for(lines, panels.iter().flat_map(|p| p.1.iter().copied()));
    let mut panels: Vec<Panel> = panels
        .drain(..)
        .map(|(title, lines)| Panel {
            title,
            lines,
            y: stable_axis.clone(),
        })
        .collect();
    if split {
        let unstable: Vec<usize> = (0..lines.len()).filter(|&v| lines[v].unstable).collect();
        panels.push(Panel {
            title: Some((UNSTABLE.to_string(), None)),
            y: axis_for(lines, unstable.iter().copied()),
            lines: unstable,
        });
    }
    panels
}

/// The value axis for `which` lines: linear or log by their p99 peaks, covering their
/// p99 (and, on a log axis, their p50 too: a linear one starts at 0 anyway).
fn axis_for(lines: &[Line], which: impl Iterator<Item = usize> + Clone) -> Axis {
    let scale = Scale::for_peaks(which.clone().map(|i| lines[i].peak()));
    let values = which.flat_map(|i| {
        lines[i]
            .points
            .iter()
            .filter_map(|p| p.1)
            .flat_map(move |(p50, p99)| match scale {
                Scale::Linear => [p99, p99],
                Scale::Log => [p50, p99],
            })
    });
    Axis::new(scale, values)
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

/// `run`'s split by tier in windows of `chunk` intervals, each the exact mean over the
/// window's completions; empty without a data tier.
fn tier_windows(run: &RunResult, chunk: usize) -> io::Result<Vec<TierPoint>> {
    let mut points = Vec::new();
    let (mut window, mut intervals) = (TierTimes::default(), 0);
    let mut close =
        |window: &TierTimes| points.push((window.time.as_secs_f64(), window.means_ms()));
    run.tier_times.for_each(|times| {
        window.add(times);
        intervals += 1;
        if intervals == chunk {
            close(&window);
            (window, intervals) = (TierTimes::default(), 0);
        }
        Ok(())
    })?;
    if intervals > 0 {
        close(&window);
    }
    Ok(points)
}

/// The value axis of the split by tier: linear or log by the lines' peak means, covering
/// the means (and, on a log axis, the database parts too).
fn tier_axis(lines: &[Line]) -> Axis {
    let splits = || {
        lines
            .iter()
            .flat_map(|l| l.tiers.iter().filter_map(|p| p.1))
    };
    let scale = Scale::for_peaks(lines.iter().map(|l| {
        l.tiers
            .iter()
            .filter_map(|p| p.1)
            .map(|(database, outside)| database + outside)
            .fold(0.0, f64::max)
    }));
    let values = splits().flat_map(|(database, outside)| match scale {
        Scale::Linear => [database + outside; 2],
        Scale::Log => [database, database + outside],
    });
    Axis::new(scale, values)
}

fn window(intervals: &[IntervalTotals]) -> Point {
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

impl Figure for LatencyOverTime {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries: Vec<Entry> = self.heading.iter().map(Entry::heading).collect();
        entries.extend(self.lines.iter().map(|line| {
            let label = if line.unstable {
                format!("{} (unstable)", line.label)
            } else {
                line.label.clone()
            };
            Entry::new(label, line.colour, Mark::Line)
        }));
        entries.push(Entry::new("p99", MUTED, Mark::Line));
        entries.push(Entry::new("p50", MUTED, Mark::Faint));
        if self.tiers.is_some() {
            entries.push(Entry::new("mean in the database", MUTED, Mark::Dashed));
        }
        let plot = layout::with_legend(area, &entries)?;
        let x_end = self
            .lines
            .iter()
            .flat_map(|l| l.points.iter().map(|p| p.0))
            .fold(0.0, f64::max)
            .max(1e-3);
        let count = self.panels.len() + usize::from(self.tiers.is_some());
        let mut spaces = layout::grid(&plot, count, 1).into_iter();
        for (panel, space) in self.panels.iter().zip(&mut spaces) {
            let space = match &panel.title {
                Some((title, hue)) => layout::panel_title(&space, title, None, *hue)?,
                None => space,
            };
            self.draw_panel(panel, &space, x_end)?;
        }
        if let (Some(axis), Some(space)) = (&self.tiers, spaces.next()) {
            let space = layout::panel_title(&space, TIERS, None, None)?;
            self.draw_tiers(axis, &space, x_end)?;
        }
        Ok(())
    }
}

/// A panel's margin and the room for its time axis's labels, in pixels.
const PANEL_SPACE: (u32, u32) = (8, 44);

impl LatencyOverTime {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
        x_end: f64,
    ) -> Drawn<DB> {
        let log = panel.y.scale() == Scale::Log;
        let y_desc = if log {
            "response time (ms, log scale)"
        } else {
            "response time (ms)"
        };
        let mut chart = layout::time_chart(
            area,
            x_end,
            panel.y.clone(),
            self.warmup_s,
            PANEL_SPACE,
            y_desc,
            Some("simulated time (s)"),
        )?;
        for &i in &panel.lines {
            let line = &self.lines[i];
            let pale = line.colour.mix(0.45).stroke_width(1);
            let strong = line.colour.stroke_width(2);
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

    /// The split by tier of every variant on `axis`: the mean (solid) over the part in
    /// the database (dashed), in the variant's colour.
    fn draw_tiers<DB: DrawingBackend>(
        &self,
        axis: &Axis,
        area: &DrawingArea<DB, Shift>,
        x_end: f64,
    ) -> Drawn<DB> {
        let log = axis.scale() == Scale::Log;
        let y_desc = if log {
            "mean response time (ms, log scale)"
        } else {
            "mean response time (ms)"
        };
        let mut chart = layout::time_chart(
            area,
            x_end,
            axis.clone(),
            self.warmup_s,
            PANEL_SPACE,
            y_desc,
            Some("simulated time (s)"),
        )?;
        // A log axis cannot show a zero: a window without queries sits on its floor.
        let y = |value: f64| axis.clamp(value).0;
        for line in &self.lines {
            let style = line.colour.stroke_width(2);
            for segment in line.tiers.split(|p| p.1.is_none()) {
                let total = segment
                    .iter()
                    .filter_map(|&(t, v)| v.map(|(database, outside)| (t, y(database + outside))));
                let database = segment
                    .iter()
                    .filter_map(|&(t, v)| v.map(|(database, _)| (t, y(database))));
                if segment.len() == 1 {
                    chart.draw_series(total.map(|p| Circle::new(p, 3, style.filled())))?;
                    chart.draw_series(database.map(|p| Circle::new(p, 3, style)))?;
                } else {
                    chart.draw_series(LineSeries::new(total, style))?;
                    chart.draw_series(DashedLineSeries::new(database, 7, 5, style))?;
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
    use crate::stats::{Instances, IntervalCounts, Percentiles};

    #[test]
    fn one_legend_entry_per_variant() {
        let results = fixtures::swept();
        let svg = build(&results.view(), &results.palette())
            .unwrap()
            .unwrap()
            .svg()
            .unwrap();
        for variant in 0..4 {
            let label = variant_label(&results.scenario, variant);
            assert!(fixtures::has_text(&svg, &label), "{label}");
        }
    }

    #[test]
    fn a_runaway_variant_gets_a_panel_and_a_scale_of_its_own() {
        let fixture = fixtures::runaway();
        let chart = build(&fixture.view(), &fixture.palette()).unwrap().unwrap();
        let figure: &LatencyOverTime = chart.figure();
        assert!(!figure.lines[0].unstable && figure.lines[1].unstable);
        let lines: Vec<&[usize]> = figure.panels.iter().map(|p| p.lines.as_slice()).collect();
        assert_eq!(lines, [&[0][..], &[1][..]]);
        assert_eq!(figure.panels[1].title, Some((UNSTABLE.to_string(), None)));
        // The stable panel's axis is scaled to the stable variant: 100 req/s on 400 of
        // capacity stays under a second, while the runaway's p99 climbs for ten seconds
        // past it (its queue grows by 200 requests, half a second of work, each second).
        let stable_top = figure.panels[0].y.range().end;
        assert!(stable_top <= 1.08 * figure.lines[0].peak(), "{stable_top}");
        assert!(figure.lines[1].peak() > 10.0 * stable_top);
        assert!(figure.panels[1].y.range().end >= figure.lines[1].peak());
        let svg = chart.svg().unwrap();
        assert!(fixtures::has_text(&svg, UNSTABLE));
        assert!(fixtures::has_text(&svg, "600 (unstable)"));
    }

    #[test]
    fn without_a_runaway_every_variant_shares_one_panel() {
        let fixture = fixtures::swept();
        let chart = build(&fixture.view(), &fixture.palette()).unwrap().unwrap();
        let figure: &LatencyOverTime = chart.figure();
        assert_eq!(figure.panels.len(), 1);
        assert_eq!(figure.panels[0].title, None);
        assert_eq!(figure.panels[0].lines, [0, 1, 2, 3]);
    }

    #[test]
    fn windows_weigh_intervals_by_completions_and_skip_empty_ones() {
        let interval = |s: u64, completions: u32, p: Option<f64>| IntervalTotals {
            time: SimTime::from_nanos(s * 1_000_000_000),
            counts: IntervalCounts::default(),
            completions,
            in_flight: 0,
            queue_length: 0,
            busy_workers: 0,
            utilization: 0.0,
            latency_ms: p.map(|v| Percentiles {
                p50: v,
                p90: v,
                p99: 2.0 * v,
            }),
            instances: Instances::default(),
            capacity: 0.0,
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
    fn a_data_tier_adds_a_panel_splitting_response_time_by_tier() {
        let fixture = fixtures::failover();
        let results = fixture.view();
        let chart = build(&results, &fixture.palette()).unwrap().unwrap();
        let figure: &LatencyOverTime = chart.figure();
        assert!(figure.tiers.is_some());
        // Ten 1 s intervals, a point each: the interval's exact means.
        let run = &results.runs[0][0];
        let tiers = &figure.lines[0].tiers;
        assert_eq!(tiers.len(), 10);
        let mut whole = TierTimes::default();
        let mut at = 0;
        run.tier_times
            .for_each(|times| {
                assert_eq!(tiers[at], (times.time.as_secs_f64(), times.means_ms()));
                whole.add(times);
                at += 1;
                Ok(())
            })
            .unwrap();
        // Two queries of 2 ms each on average, and a little queueing, of some 14 ms.
        let (database, outside) = whole.means_ms().unwrap();
        assert!(
            (4.0..6.0).contains(&database),
            "{database} ms in the database"
        );
        assert!(outside > 9.0, "{outside} ms outside it");
        let svg = chart.svg().unwrap();
        fixtures::assert_well_formed_svg(&svg);
        assert!(fixtures::has_text(&svg, "mean in the database"));
    }

    #[test]
    fn without_a_data_tier_there_is_no_split() {
        let fixture = fixtures::swept();
        let chart = build(&fixture.view(), &fixture.palette()).unwrap().unwrap();
        let figure: &LatencyOverTime = chart.figure();
        assert!(figure.tiers.is_none());
        assert!(figure.lines.iter().all(|line| line.tiers.is_empty()));
    }

    #[test]
    fn no_time_series_means_no_chart() {
        let fixture = fixtures::without_series();
        assert!(
            build(&fixture.view(), &fixture.palette())
                .unwrap()
                .is_none()
        );
    }
}
