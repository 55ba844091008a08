//! server-load: measured completions per server, replication 0, one small panel per
//! variant on a shared scale (grouped bars would put 128 bars side by side for 16 servers
//! and 8 variants). Bars lie horizontally so that every server's name (`old-0`, `new-3`)
//! reads on its row. The dashed line is the even split (completions ÷ servers); each
//! panel's title gives max/mean, the imbalance in one number. A scenario whose variants
//! all have a single server gets no such chart: one bar says nothing about spreading.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{self, Axis, Scale};
use super::layout::{self, Entry, Mark};
use super::palette::Palette;
use super::style::{self, INK, variant_label};
use super::{Chart, Drawn, Figure, replications};
use crate::report::ScenarioResults;

/// Panels side by side.
const COLUMNS: usize = 4;

/// What the dashed line is called, in the legend and the subtitle alike.
const EVEN_SPLIT: &str = "even split";

pub struct ServerLoad {
    panels: Vec<Panel>,
    /// The completions axis, shared by every panel.
    x: Axis,
}

struct Panel {
    label: String,
    colour: RGBColor,
    /// Server names, in server order.
    names: Vec<String>,
    /// Completions of each server, in server order.
    completions: Vec<u64>,
}

impl Panel {
    fn mean(&self) -> f64 {
        if self.completions.is_empty() {
            return 0.0;
        }
        self.completions.iter().sum::<u64>() as f64 / self.completions.len() as f64
    }

    /// `max/mean 1.04`, the imbalance, under the panel's title.
    fn note(&self) -> String {
        let mean = self.mean();
        let max = self.completions.iter().copied().max().unwrap_or(0);
        if mean > 0.0 {
            format!("max/mean {:.2}", max as f64 / mean)
        } else {
            "no completions".to_string()
        }
    }
}

/// The chart, or `None` when no variant has more than one server.
pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> Option<Chart> {
    let scenario = results.scenario;
    let panels: Vec<Panel> = results
        .runs
        .iter()
        .enumerate()
        .map(|(variant, runs)| {
            let servers = runs
                .first()
                .map(|run| run.servers.as_slice())
                .unwrap_or(&[]);
            Panel {
                label: variant_label(scenario, variant),
                colour: palette.colour(variant),
                names: servers.iter().map(|s| s.name.clone()).collect(),
                completions: servers.iter().map(|s| s.completions).collect(),
            }
        })
        .collect();
    if panels.iter().all(|p| p.completions.len() < 2) {
        return None;
    }
    let most_servers = panels.iter().map(|p| p.names.len()).max().unwrap_or(1);
    let panel_height = (most_servers as u32 * 14 + 110).clamp(200, 420);
    let height = if panels.len() == 1 {
        panel_height.max(420) + 80
    } else {
        layout::grid_height(panels.len().div_ceil(COLUMNS), panel_height)
    };
    let replication = if replications(results) > 1 {
        ", replication 0"
    } else {
        ""
    };
    let x = Axis::new(
        Scale::Linear,
        panels
            .iter()
            .flat_map(|p| p.completions.iter().map(|&c| c as f64)),
    );
    Some(Chart::new(
        "server-load",
        format!("Requests completed per server: {}", scenario.name),
        format!(
            // The title says "per server": the subtitle leaves it out, so that a replication
            // and two long swept keys still fit its width whole.
            "Measured completions{replication}{}; dashed: an {EVEN_SPLIT} (completions ÷ \
             servers)",
            style::panels_note(scenario, panels.len())
        ),
        (1000, height),
        ServerLoad { panels, x },
    ))
}

impl Figure for ServerLoad {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = layout::with_legend(area, &[Entry::new(EVEN_SPLIT, INK, Mark::Dashed)])?;
        let columns = self.panels.len().clamp(1, COLUMNS);
        let label_style = style::text(12, INK);
        for (panel, space) in
            self.panels
                .iter()
                .zip(layout::grid(&plot, self.panels.len(), columns))
        {
            let space = layout::panel_title(
                &space,
                &panel.label,
                Some(&panel.note()),
                Some(panel.colour),
            )?;
            let n = panel.completions.len();
            let mut widest = 0;
            for name in &panel.names {
                widest = widest.max(space.estimate_text_size(name, &label_style)?.0);
            }
            // Server 0 on top: server s is the row centred on n-1-s.
            let y = Axis::categories(n, 24);
            let tick_rows: Vec<f64> = y.ticks().to_vec();
            let y = Axis::fixed(
                Scale::Linear,
                y.range(),
                tick_rows.iter().map(|&r| (n as f64 - 1.0) - r).collect(),
            );
            let mut chart = ChartBuilder::on(&space)
                .margin(6)
                .x_label_area_size(34)
                .y_label_area_size(widest.min(space.dim_in_pixel().0 / 3) + 12)
                .build_cartesian_2d(self.x.clone(), y)?;
            layout::mesh(&mut chart)
                .x_desc("completions")
                .x_labels(4)
                .x_label_formatter(&|v| style::number(*v))
                .y_label_formatter(&|v| {
                    axis::category(*v, n)
                        .and_then(|row| panel.names.get(n - 1 - row).cloned())
                        .unwrap_or_default()
                })
                .y_labels(24)
                .disable_y_mesh()
                .draw()?;
            for (s, &c) in panel.completions.iter().enumerate() {
                let row = (n - 1 - s) as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(0.0, row - 0.4), (c as f64, row + 0.4)],
                    panel.colour.filled(),
                )))?;
            }
            if n > 0 {
                let mean = panel.mean();
                let rows = chart.y_range();
                chart.draw_series(DashedLineSeries::new(
                    [(mean, rows.start), (mean, rows.end)],
                    6,
                    4,
                    INK.stroke_width(2),
                ))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn a_panel_per_variant_noting_its_imbalance_with_servers_named() {
        let results = fixtures::wide();
        let chart = build(&results.view(), &results.palette()).unwrap();
        let svg = chart.svg().unwrap();
        let load: &ServerLoad = chart.figure();
        assert_eq!(load.panels.len(), 8);
        for panel in &load.panels {
            assert_eq!(panel.completions.len(), 16);
            assert!(fixtures::has_text(&svg, &panel.label), "{}", panel.label);
            assert!(fixtures::has_text(&svg, &panel.note()), "{}", panel.note());
        }
        for name in ["web-0", "web-7", "web-15"] {
            assert!(fixtures::has_text(&svg, name), "{name}");
        }
        assert!(fixtures::has_text(&svg, EVEN_SPLIT));
        assert!(chart.subtitle.contains(EVEN_SPLIT));
    }

    #[test]
    fn a_single_server_gets_no_chart() {
        let results = fixtures::mm1();
        assert!(build(&results.view(), &results.palette()).is_none());
    }

    #[test]
    fn notes_give_max_over_mean() {
        let panel = |completions: Vec<u64>| Panel {
            label: "random".into(),
            colour: INK,
            names: vec![String::new(); completions.len()],
            completions,
        };
        assert_eq!(panel(vec![10, 30]).note(), "max/mean 1.50");
        assert_eq!(panel(vec![0]).note(), "no completions");
    }
}
