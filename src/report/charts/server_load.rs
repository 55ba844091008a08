//! server-load: measured completions per server, replication 0, one small panel per
//! variant on a shared scale (grouped bars would put 128 bars side by side for 16 servers
//! and 8 variants). The dashed line is the mean, the even split; each panel's title gives
//! max/mean, the imbalance in one number.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::layout::{self, Entry, Mark};
use super::style::{self, INK, colour, variant_label};
use super::{Body, Chart, Drawn};
use crate::report::ScenarioResults;

/// Panels side by side.
const COLUMNS: usize = 4;

pub struct ServerLoad {
    panels: Vec<Panel>,
}

struct Panel {
    label: String,
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

pub fn build(results: &ScenarioResults<'_>) -> Chart {
    let scenario = results.scenario;
    let panels: Vec<Panel> = results
        .runs
        .iter()
        .enumerate()
        .map(|(variant, runs)| Panel {
            label: variant_label(scenario, variant),
            completions: runs
                .first()
                .map(|run| run.servers.iter().map(|s| s.completions).collect())
                .unwrap_or_default(),
        })
        .collect();
    let height = if panels.len() == 1 {
        520
    } else {
        layout::grid_height(panels.len().div_ceil(COLUMNS), 230)
    };
    let replication = if scenario.replications > 1 {
        ", replication 0"
    } else {
        ""
    };
    Chart {
        stem: "server-load".into(),
        title: format!("Requests completed per server: {}", scenario.name),
        subtitle: format!(
            "Measured completions of each server{replication}{}; dashed: an even split",
            style::variants_heading(scenario)
                .map(|keys| format!(", one panel per {keys}"))
                .unwrap_or_default()
        ),
        size: (1000, height),
        body: Body::ServerLoad(ServerLoad { panels }),
    }
}

impl ServerLoad {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let plot = layout::with_legend(area, &[Entry::new("mean", INK, Mark::Dashed)])?;
        let y = style::linear_range(
            self.panels
                .iter()
                .flat_map(|p| p.completions.iter().map(|&c| c as f64)),
        );
        for (i, (panel, space)) in self
            .panels
            .iter()
            .zip(layout::grid(&plot, self.panels.len(), COLUMNS))
            .enumerate()
        {
            let space = layout::panel_title(&space, &panel.label, Some(&panel.note()))?;
            let n = panel.completions.len();
            let x = style::categories(n, 8);
            let x_range = x.range();
            let mut chart = ChartBuilder::on(&space)
                .margin(6)
                .x_label_area_size(34)
                .y_label_area_size(52)
                .build_cartesian_2d(x, y.clone())?;
            layout::mesh(&mut chart)
                .x_desc("server")
                .y_desc("completions")
                .x_label_formatter(&|v| {
                    style::category(*v, n)
                        .map(|s| s.to_string())
                        .unwrap_or_default()
                })
                .y_labels(5)
                .y_label_formatter(&|v| style::number(*v))
                .disable_x_mesh()
                .draw()?;
            for (s, &c) in panel.completions.iter().enumerate() {
                let s = s as f64;
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(s - 0.42, 0.0), (s + 0.42, c as f64)],
                    colour(i).filled(),
                )))?;
            }
            if n > 0 {
                let mean = panel.mean();
                chart.draw_series(DashedLineSeries::new(
                    [(x_range.start, mean), (x_range.end, mean)],
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
    fn a_panel_per_variant_noting_its_imbalance() {
        let results = fixtures::wide();
        let chart = build(&results.view());
        let svg = chart.svg().unwrap();
        let Body::ServerLoad(load) = &chart.body else {
            panic!("not a server-load chart")
        };
        assert_eq!(load.panels.len(), crate::balancer::Algorithm::ALL.len());
        for panel in &load.panels {
            assert_eq!(panel.completions.len(), 16);
            assert!(fixtures::has_text(&svg, &panel.label), "{}", panel.label);
            assert!(fixtures::has_text(&svg, &panel.note()), "{}", panel.note());
        }
    }

    #[test]
    fn notes_give_max_over_mean() {
        let panel = Panel {
            label: "random".into(),
            completions: vec![10, 30],
        };
        assert_eq!(panel.note(), "max/mean 1.50");
        let idle = Panel {
            label: "0".into(),
            completions: vec![0],
        };
        assert_eq!(idle.note(), "no completions");
    }
}
