//! utilization: how busy each server was over time, replication 0, one small panel per
//! variant (the variant that matters may be any of them: the skewed ip-hash of a trace
//! replay, the highest load of a sweep). A few servers in a few panels are lines, one per
//! server (coloured by server group) plus their mean; more servers or more variants
//! become a heatmap per variant (server × time, colour = busy fraction), rows named by
//! server, where lines would be a tangle.

use std::io;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{self, Axis, Scale};
use super::layout::{self, Entry, Mark};
use super::palette::{Palette, colour};
use super::style::{self, INK, MUTED, chunk_size, heat, variant_label};
use super::{Chart, Drawn, Figure, replications};
use crate::report::ScenarioResults;
use crate::stats::RunResult;

/// Most servers drawn as lines; with more, heatmaps.
const MAX_LINES: usize = 12;
/// Most variants drawn as panels of lines; with more, heatmaps.
const MAX_LINE_PANELS: usize = 4;
/// Most points per line.
const MAX_POINTS: usize = 200;
/// Most heatmap cells over all panels, to bound the SVG's size (and the page embedding it)
/// to a few hundred kilobytes.
const MAX_CELLS: usize = 6_000;

pub struct Utilization {
    panels: Vec<Panel>,
    /// Server groups for the legend (lines only): name and server count, in order.
    groups: Vec<(String, usize)>,
    heatmap: bool,
    columns: usize,
    warmup_s: f64,
}

struct Panel {
    /// The variant's label and colour; `None` when the scenario has a single variant.
    label: Option<(String, RGBColor)>,
    /// Server names, in server order.
    names: Vec<String>,
    /// Server group index of each server (colours its line).
    groups: Vec<usize>,
    /// End of each window, seconds.
    times: Vec<f64>,
    /// `[server][window]`: busy fraction of the server's workers.
    servers: Vec<Vec<f64>>,
}

/// The chart, or `None` when no time series was recorded.
pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> io::Result<Option<Chart>> {
    let scenario = results.scenario;
    let firsts: Vec<(usize, &RunResult)> = results
        .runs
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
    let heatmap = most_servers > MAX_LINES || firsts.len() > MAX_LINE_PANELS;
    let longest = firsts.iter().map(|(_, r)| intervals(r)).max().unwrap_or(0);
    let max_points = if heatmap {
        (MAX_CELLS / (most_servers * firsts.len()).max(1)).clamp(10, 120)
    } else {
        MAX_POINTS
    };
    let chunk = chunk_size(longest, max_points);
    let mut group_names: Vec<String> = Vec::new();
    let mut group_sizes: Vec<usize> = Vec::new();
    let mut panels = Vec::with_capacity(firsts.len());
    for &(variant, run) in &firsts {
        let (times, servers) = matrix(run, chunk)?;
        let groups = run
            .servers
            .iter()
            .map(|s| match group_names.iter().position(|g| *g == s.group) {
                Some(g) => g,
                None => {
                    group_names.push(s.group.clone());
                    group_sizes.push(0);
                    group_names.len() - 1
                }
            })
            .collect::<Vec<usize>>();
        if variant == firsts[0].0 {
            for &g in &groups {
                group_sizes[g] += 1;
            }
        }
        panels.push(Panel {
            label: (results.runs.len() > 1)
                .then(|| (variant_label(scenario, variant), palette.colour(variant))),
            names: run.servers.iter().map(|s| s.name.clone()).collect(),
            groups,
            times,
            servers,
        });
    }
    let which = style::panels_note(scenario, results.runs.len());
    let replication = if replications(results) > 1 {
        ", replication 0"
    } else {
        ""
    };
    let kind = if heatmap {
        "colour = busy fraction of its workers"
    } else {
        "busy fraction of its workers"
    };
    let columns = match (heatmap, panels.len()) {
        (_, 1) => 1,
        (false, _) | (true, 2..=4) => 2,
        (true, 5..=9) => 3,
        _ => 4,
    };
    let rows = panels.len().div_ceil(columns).max(1);
    let panel_height = if heatmap {
        (most_servers as u32 * 12 + 90).clamp(170, 300)
    } else {
        240
    };
    let height = if panels.len() == 1 {
        560
    } else {
        layout::grid_height(rows, panel_height)
    };
    Ok(Some(Chart::new(
        "utilization",
        format!("Server utilization over time: {}", scenario.name),
        format!("Each server{which}, {kind}{replication}"),
        (1000, height),
        Utilization {
            panels,
            groups: group_names.into_iter().zip(group_sizes).collect(),
            heatmap,
            columns,
            warmup_s: scenario.variants[0].run.warmup.as_secs_f64(),
        },
    )))
}

/// The number of intervals in `run`'s series.
fn intervals(run: &RunResult) -> usize {
    run.intervals.len() as usize
}

/// Window ends and `[server][window]` mean utilization, windows of `chunk` intervals,
/// read in one pass: memory holds the windows, never the whole series. Rows come interval
/// by interval, one per server that was a member during the interval; a server with no row
/// in a window (it had not joined yet, or had left) gets NaN there, which is not drawn.
fn matrix(run: &RunResult, chunk: usize) -> io::Result<(Vec<f64>, Vec<Vec<f64>>)> {
    let servers = run.servers.len();
    let mut ends = Vec::new();
    let mut means: Vec<Vec<f64>> = vec![Vec::new(); servers];
    let mut sums = vec![(0.0, 0usize); servers];
    let mut in_window = 0usize;
    let mut last_time = None;
    let mut close = |ends: &mut Vec<f64>, sums: &mut Vec<(f64, usize)>, _: usize, end: f64| {
        ends.push(end);
        for (server, (sum, rows)) in means.iter_mut().zip(sums.iter_mut()) {
            server.push(if *rows == 0 {
                f64::NAN
            } else {
                *sum / *rows as f64
            });
            *sum = 0.0;
            *rows = 0;
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
        if let Some((sum, rows)) = sums.get_mut(row.server.index()) {
            *sum += row.utilization;
            *rows += 1;
        }
        Ok(())
    })?;
    if in_window > 0 {
        let end = last_time.map_or(0.0, |t| t.as_secs_f64());
        close(&mut ends, &mut sums, in_window, end);
    }
    Ok((ends, means))
}

/// The colour of server group `group`'s lines: grey when there is one group, so that
/// server lines do not read as variants.
fn group_colour(group: usize, groups: usize) -> RGBColor {
    if groups == 1 { MUTED } else { colour(group) }
}

impl Figure for Utilization {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = if self.heatmap {
            layout::with_colour_scale(area, "utilization", heat)?
        } else {
            let mut entries: Vec<Entry> = self
                .groups
                .iter()
                .enumerate()
                .map(|(g, (name, count))| {
                    let label = match count {
                        1 => format!("{name} (1 server)"),
                        n => format!("{name} ({n} servers)"),
                    };
                    Entry::new(label, group_colour(g, self.groups.len()), Mark::Faint)
                })
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
                .zip(layout::grid(&plot, self.panels.len(), self.columns))
        {
            let space = match &panel.label {
                Some((label, colour)) => layout::panel_title(&space, label, None, Some(*colour))?,
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
}

impl Utilization {
    fn draw_lines<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
        x_end: f64,
    ) -> Drawn<DB> {
        // A little headroom, so that a saturated server's line is not hidden by the frame.
        let y = Axis::fixed(Scale::Linear, 0.0..1.05, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let mut chart = ChartBuilder::on(area)
            .margin(6)
            .x_label_area_size(36)
            .y_label_area_size(56)
            .build_cartesian_2d(0.0..x_end, y)?;
        layout::shade_warmup(&mut chart, self.warmup_s)?;
        layout::mesh(&mut chart)
            .x_desc("simulated time (s)")
            .y_desc("utilization")
            .x_label_formatter(&|v| style::number(*v))
            .y_label_formatter(&|v| style::number(*v))
            .draw()?;
        // A server's points over its lifetime only: NaN marks windows it was not a member.
        let points = |values: &[f64]| -> Vec<(f64, f64)> {
            panel
                .times
                .iter()
                .copied()
                .zip(values.iter().copied())
                .filter(|(_, value)| !value.is_nan())
                .collect()
        };
        let single = panel.times.len() == 1;
        for (values, &group) in panel.servers.iter().zip(&panel.groups) {
            let style = group_colour(group, self.groups.len())
                .mix(0.6)
                .stroke_width(1);
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
                let members = panel.servers.iter().map(|s| s[w]).filter(|v| !v.is_nan());
                let (sum, n) = members.fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
                if n == 0 { f64::NAN } else { sum / n as f64 }
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
    // Server 0 on top: server s is the row centred on n-1-s. At most about 16 names.
    let step = n.div_ceil(16).max(1);
    let ticks = (0..n).step_by(step).map(|s| (n - 1 - s) as f64).collect();
    let y = Axis::fixed(Scale::Linear, -0.5..n.max(1) as f64 - 0.5, ticks);
    let label_style = style::text(12, INK);
    let mut widest = 0;
    for name in &panel.names {
        widest = widest.max(area.estimate_text_size(name, &label_style)?.0);
    }
    let mut chart = ChartBuilder::on(area)
        .margin(6)
        .x_label_area_size(36)
        .y_label_area_size(widest.min(area.dim_in_pixel().0 / 3) + 12)
        .build_cartesian_2d(0.0..x_end, y)?;
    layout::mesh(&mut chart)
        .x_desc("simulated time (s)")
        .x_labels(5)
        .x_label_formatter(&|v| style::number(*v))
        .y_label_formatter(&|v| {
            axis::category(*v, n)
                .and_then(|row| panel.names.get(n - 1 - row).cloned())
                .unwrap_or_default()
        })
        .y_labels(16)
        .disable_mesh()
        .draw()?;
    for (s, values) in panel.servers.iter().enumerate() {
        let row = (n - 1 - s) as f64;
        let mut start = 0.0;
        for (&end, &value) in panel.times.iter().zip(values) {
            // Not a member in this window: left blank.
            if !value.is_nan() {
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(start, row - 0.5), (end, row + 0.5)],
                    heat(value).filled(),
                )))?;
            }
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
        let chart = build(&results.view(), &results.palette()).unwrap().unwrap();
        let u: &Utilization = chart.figure();
        assert!(!u.heatmap);
        assert_eq!(u.panels.len(), 4);
        assert_eq!(u.groups, [("web".to_string(), 4)]);
        assert_eq!(u.panels[0].names, ["web-0", "web-1", "web-2", "web-3"]);
        let svg = chart.svg().unwrap();
        for variant in 0..4 {
            let label = variant_label(&results.scenario, variant);
            assert!(fixtures::has_text(&svg, &label), "{label}");
        }
    }

    #[test]
    fn many_servers_are_a_heatmap() {
        let results = fixtures::wide();
        let chart = build(&results.view(), &results.palette()).unwrap().unwrap();
        let u: &Utilization = chart.figure();
        assert!(u.heatmap);
        assert_eq!(u.panels[0].servers.len(), 16);
        let svg = chart.svg().unwrap();
        assert!(fixtures::has_text(&svg, "utilization"));
        // Rows are named by server, not numbered.
        assert!(fixtures::has_text(&svg, "web-0"));
        assert!(fixtures::has_text(&svg, "web-14"));
    }

    #[test]
    fn every_variant_gets_a_panel_however_many_there_are() {
        // Ten variants: the one that matters may be the last (the highest load).
        let results = fixtures::knee();
        let chart = build(&results.view(), &results.palette()).unwrap().unwrap();
        let u: &Utilization = chart.figure();
        assert_eq!(u.panels.len(), 10);
        assert!(u.heatmap, "ten panels of lines would be a tangle");
        let last = u.panels[9].label.as_ref().unwrap();
        assert_eq!(last.0, "least-connections, 370");
        assert_eq!(last.1, results.palette().colour(9));
        assert!(fixtures::has_text(
            &chart.svg().unwrap(),
            "least-connections, 370"
        ));
    }

    #[test]
    fn a_server_that_joins_has_no_values_before_it_joined() {
        use crate::balancer::{Algorithm, BalancerSpec};
        use crate::engine::{SimDuration, SimTime};
        use crate::model::{
            ArrivalPattern, Change, GeneratedWorkload, RateSchedule, RunSpec, ServerGroupSpec,
            ServiceDist, TimelineAction, WorkloadSpec, simulate,
        };
        let mut spec = RunSpec::new(
            SimDuration::from_secs(20),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::constant(100.0),
                arrivals: ArrivalPattern::Poisson,
                service: ServiceDist::Exponential {
                    mean: SimDuration::from_millis(10),
                },
                clients: 100,
            }),
            vec![ServerGroupSpec::new("web", 2)],
            BalancerSpec::new(Algorithm::RoundRobin),
        );
        spec.timeline = vec![TimelineAction {
            at: SimTime::from_nanos(10_000_000_000),
            change: Change::Add { group: 0, count: 1 },
        }];
        let run = simulate(&spec, 1);
        let (times, servers) = matrix(&run, 1).unwrap();
        assert_eq!(times.len(), 20);
        // The newcomer's first row is the interval (10 s, 11 s].
        assert!(servers[2][..10].iter().all(|v| v.is_nan()));
        assert!(servers[2][10..].iter().all(|v| !v.is_nan()));
        assert!(servers[0].iter().all(|v| !v.is_nan()));
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
