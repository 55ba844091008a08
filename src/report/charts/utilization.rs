//! utilization: how busy each server was over time, replication 0, for every variant in a
//! grid of small panels (up to eight variants; beyond that the first variant alone). Up to
//! twelve servers are lines, one per server plus their mean; more servers become a heatmap
//! (server × time, colour = busy fraction) where lines would be a tangle.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::layout::{self, Entry, Mark};
use super::style::{self, INK, chunk_size, colour, heat, variant_label};
use super::{Body, Chart, Drawn};
use crate::report::ScenarioResults;
use crate::stats::RunResult;

/// Most variants drawn as panels; with more, only the first is drawn.
const MAX_PANELS: usize = 8;
/// Most servers drawn as lines; with more, a heatmap.
const MAX_LINES: usize = 12;
/// Most points per line.
const MAX_POINTS: usize = 200;
/// Most heatmap cells over all panels, to bound the SVG's size (and the page embedding it)
/// to a few hundred kilobytes.
const MAX_CELLS: usize = 5_000;

pub struct Utilization {
    panels: Vec<Panel>,
    /// Server names for the legend (lines only): those of the panel with the most servers.
    legend: Vec<String>,
    heatmap: bool,
    warmup_s: f64,
}

struct Panel {
    /// `None` when the scenario has a single variant.
    label: Option<String>,
    /// End of each window, seconds.
    times: Vec<f64>,
    /// `[server][window]`: busy fraction of the server's workers.
    servers: Vec<Vec<f64>>,
}

/// The chart, or `None` when no time series was recorded.
pub fn build(results: &ScenarioResults<'_>) -> io::Result<Option<Chart>> {
    let scenario = results.scenario;
    let shown = if results.runs.len() <= MAX_PANELS {
        results.runs.len()
    } else {
        1
    };
    let firsts: Vec<(usize, &RunResult)> = results.runs[..shown]
        .iter()
        .enumerate()
        .filter_map(|(variant, runs)| runs.first().map(|run| (variant, run)))
        .collect();
    if firsts.iter().all(|(_, run)| run.series.is_empty()) {
        return Ok(None);
    }
    let most_servers = firsts
        .iter()
        .map(|(_, r)| r.servers.len())
        .max()
        .unwrap_or(0);
    let heatmap = most_servers > MAX_LINES;
    let longest = firsts.iter().map(|(_, r)| intervals(r)).max().unwrap_or(0);
    let max_points = if heatmap {
        (MAX_CELLS / (most_servers * firsts.len()).max(1)).clamp(10, 120)
    } else {
        MAX_POINTS
    };
    let chunk = chunk_size(longest, max_points);
    let mut panels = Vec::with_capacity(firsts.len());
    for &(variant, run) in &firsts {
        let (times, servers) = matrix(run, chunk)?;
        panels.push(Panel {
            label: (results.runs.len() > 1).then(|| variant_label(scenario, variant)),
            times,
            servers,
        });
    }
    let legend = if heatmap {
        Vec::new()
    } else {
        firsts
            .iter()
            .map(|(_, r)| &r.servers)
            .max_by_key(|s| s.len())
            .map(|s| s.iter().map(|s| s.name.clone()).collect())
            .unwrap_or_default()
    };
    let which = match (results.runs.len(), shown) {
        (1, _) => String::new(),
        (n, 1) => format!(" of the first of {n} variants"),
        _ => format!(
            ", one panel per {}",
            style::variants_heading(scenario).unwrap_or_else(|| "variant".into())
        ),
    };
    let replication = if scenario.replications > 1 {
        ", replication 0"
    } else {
        ""
    };
    let kind = if heatmap {
        "colour = busy fraction of its workers"
    } else {
        "busy fraction of its workers"
    };
    let rows = panels_rows(firsts.len());
    let height = if firsts.len() == 1 {
        560
    } else {
        layout::grid_height(rows, 240)
    };
    Ok(Some(Chart {
        stem: "utilization".into(),
        title: format!("Server utilization over time: {}", scenario.name),
        subtitle: format!("Each server{which}, {kind}{replication}"),
        size: (1000, height),
        body: Body::Utilization(Utilization {
            panels,
            legend,
            heatmap,
            warmup_s: scenario.variants[0].run.warmup.as_secs_f64(),
        }),
    }))
}

/// Side-by-side panels.
const COLUMNS: usize = 2;

fn panels_rows(panels: usize) -> usize {
    panels.div_ceil(COLUMNS).max(1)
}

/// The number of intervals in `run`'s series: one row per server and interval.
fn intervals(run: &RunResult) -> usize {
    (run.series.len() / run.servers.len().max(1) as u64) as usize
}

/// Window ends and `[server][window]` mean utilization, windows of `chunk` intervals,
/// read in one pass: memory holds the windows, never the whole series. Rows come interval
/// by interval, every server once per interval.
fn matrix(run: &RunResult, chunk: usize) -> io::Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let servers = run.servers.len();
    let mut ends = Vec::new();
    let mut means: Vec<Vec<f64>> = vec![Vec::new(); servers];
    let mut sums = vec![0.0; servers];
    let mut in_window = 0usize;
    let mut last_time = None;
    let mut close = |ends: &mut Vec<f64>, sums: &mut Vec<f64>, count: usize, end: f64| {
        ends.push(end);
        for (server, sum) in means.iter_mut().zip(sums.iter_mut()) {
            server.push(*sum / count as f64);
            *sum = 0.0;
        }
    };
    run.series.for_each(|row| {
        if last_time != Some(row.time) {
            if in_window == chunk {
                let end = last_time.map_or(0.0, |t: crate::engine::SimTime| t.as_secs_f64());
                close(&mut ends, &mut sums, in_window, end);
                in_window = 0;
            }
            in_window += 1;
            last_time = Some(row.time);
        }
        if let Some(sum) = sums.get_mut(row.server.index()) {
            *sum += row.utilization;
        }
        Ok(())
    })?;
    if in_window > 0 {
        let end = last_time.map_or(0.0, |t| t.as_secs_f64());
        close(&mut ends, &mut sums, in_window, end);
    }
    Ok((ends, means))
}

impl Utilization {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = if self.heatmap {
            layout::with_colour_scale(area, "utilization", heat)?
        } else {
            let mut entries: Vec<Entry> = self
                .legend
                .iter()
                .enumerate()
                .map(|(i, name)| Entry::new(name.clone(), colour(i), Mark::Line))
                .collect();
            entries.push(Entry::new("mean of all servers", INK, Mark::Line));
            layout::with_legend(area, &entries)?
        };
        let x_end = self
            .panels
            .iter()
            .filter_map(|p| p.times.last().copied())
            .fold(0.0, f64::max)
            .max(1e-3);
        for (panel, space) in
            self.panels
                .iter()
                .zip(layout::grid(&plot, self.panels.len(), COLUMNS))
        {
            let space = match &panel.label {
                Some(label) => layout::panel_title(&space, label, None)?,
                None => space,
            };
            if self.heatmap {
                draw_heatmap(panel, &space, x_end)?;
            } else {
                self.draw_lines(panel, &space, x_end)?;
            }
        }
        Ok(())
    }

    fn draw_lines<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
        x_end: f64,
    ) -> Drawn<DB> {
        let mut chart = ChartBuilder::on(area)
            .margin(6)
            .x_label_area_size(36)
            .y_label_area_size(56)
            // A little headroom, so that a saturated server's line is not hidden by the frame.
            .build_cartesian_2d(0.0..x_end, 0.0..1.05)?;
        layout::shade_warmup(&mut chart, self.warmup_s)?;
        layout::mesh(&mut chart)
            .x_desc("simulated time (s)")
            .y_desc("utilization")
            .x_label_formatter(&|v| style::number(*v))
            .y_label_formatter(&|v| style::number(*v))
            .y_labels(6)
            .draw()?;
        let points = |values: &[f64]| -> Vec<(f64, f64)> {
            panel
                .times
                .iter()
                .copied()
                .zip(values.iter().copied())
                .collect()
        };
        let single = panel.times.len() == 1;
        for (i, values) in panel.servers.iter().enumerate() {
            let style = colour(i).stroke_width(1);
            if single {
                chart.draw_series(
                    points(values)
                        .into_iter()
                        .map(|p| Circle::new(p, 3, style.filled())),
                )?;
            } else {
                chart.draw_series(LineSeries::new(points(values), style))?;
            }
        }
        let mean: Vec<f64> = (0..panel.times.len())
            .map(|w| {
                let n = panel.servers.len().max(1) as f64;
                panel.servers.iter().map(|s| s[w]).sum::<f64>() / n
            })
            .collect();
        if !single && !panel.servers.is_empty() {
            chart.draw_series(LineSeries::new(points(&mean), INK.stroke_width(2)))?;
        }
        Ok(())
    }
}

fn draw_heatmap<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, Shift>,
    x_end: f64,
) -> Drawn<DB> {
    let n = panel.servers.len();
    // Server 0 on top: server s is the row centred on n-1-s.
    let step = n.div_ceil(16).max(1);
    let ticks = (0..n).step_by(step).map(|s| (n - 1 - s) as f64).collect();
    let y = style::FixedTicks::new(-0.5..n.max(1) as f64 - 0.5, ticks);
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d(0.0..x_end, y)?;
    layout::mesh(&mut chart)
        .x_desc("simulated time (s)")
        .x_label_formatter(&|v| style::number(*v))
        .y_desc("server")
        .y_label_formatter(&|v| {
            style::category(*v, n)
                .map(|row| (n - 1 - row).to_string())
                .unwrap_or_default()
        })
        .disable_mesh()
        .draw()?;
    for (s, values) in panel.servers.iter().enumerate() {
        let row = (n - 1 - s) as f64;
        let mut start = 0.0;
        for (&end, &value) in panel.times.iter().zip(values) {
            chart.draw_series(std::iter::once(Rectangle::new(
                [(start, row - 0.5), (end, row + 0.5)],
                heat(value).filled(),
            )))?;
            start = end;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn few_servers_are_lines_with_a_panel_per_variant() {
        let results = fixtures::swept();
        let chart = build(&results.view()).unwrap().unwrap();
        let Body::Utilization(u) = &chart.body else {
            panic!("not a utilization chart")
        };
        assert!(!u.heatmap);
        assert_eq!(u.panels.len(), 4);
        assert_eq!(u.legend, ["web-0", "web-1", "web-2", "web-3"]);
        let svg = chart.svg().unwrap();
        for variant in 0..4 {
            let label = variant_label(&results.scenario, variant);
            assert!(fixtures::has_text(&svg, &label), "{label}");
        }
    }

    #[test]
    fn many_servers_are_a_heatmap() {
        let results = fixtures::wide();
        let chart = build(&results.view()).unwrap().unwrap();
        let Body::Utilization(u) = &chart.body else {
            panic!("not a utilization chart")
        };
        assert!(u.heatmap);
        assert_eq!(u.panels[0].servers.len(), 16);
        assert!(fixtures::has_text(&chart.svg().unwrap(), "utilization"));
    }

    #[test]
    fn the_matrix_averages_whole_windows() {
        let fixture = fixtures::swept();
        let results = fixture.view();
        let run = &results.runs[0][0];
        let (times, servers) = matrix(run, 3).unwrap();
        assert_eq!(intervals(run), 20);
        assert_eq!(times.len(), 7);
        assert_eq!(times[0], 3.0);
        assert_eq!(times[6], 20.0);
        let mut sum = 0.0;
        run.series
            .for_each(|r| {
                if r.server.index() == 1 && r.time.as_secs_f64() <= 3.0 {
                    sum += r.utilization;
                }
                Ok(())
            })
            .unwrap();
        let expected = sum / 3.0;
        assert!((servers[1][0] - expected).abs() < 1e-12);
    }
}
