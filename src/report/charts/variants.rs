//! variants: mean and p99 response time of every variant side by side, one row each (a
//! dumbbell plot: labels of any length fit on the left, and the gap between the dots is
//! the tail). Values are means over replications; with several replications each dot has
//! its 95% confidence interval. The time axis is logarithmic, so an overloaded variant
//! does not flatten the others.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::latency_cdf::format_ms;
use super::layout::{self, Entry, Mark};
use super::style::{self, GRID, INK, MUTED, colour, variant_label};
use super::{Body, Chart, Drawn};
use crate::report::ScenarioResults;
use crate::stats::{ConfidenceInterval, confidence_interval};

pub struct Variants {
    /// The swept keys, naming the rows.
    heading: Option<String>,
    rows: Vec<Row>,
    intervals: bool,
}

struct Row {
    label: String,
    mean: ConfidenceInterval,
    p99: ConfidenceInterval,
    /// No replication completed a request: nothing to draw.
    empty: bool,
}

const MEAN: usize = 0;
const P99: usize = 1;

pub fn build(results: &ScenarioResults<'_>) -> Chart {
    let scenario = results.scenario;
    let rows: Vec<Row> = results
        .runs
        .iter()
        .enumerate()
        .map(|(variant, runs)| {
            let of = |f: &dyn Fn(&crate::stats::RunResult) -> f64| {
                confidence_interval(&runs.iter().map(f).collect::<Vec<_>>())
            };
            Row {
                label: variant_label(scenario, variant),
                mean: of(&|r| r.latency.mean_ms()),
                p99: of(&|r| r.latency.quantile_ms(0.99)),
                empty: runs.iter().all(|r| r.latency.count() == 0),
            }
        })
        .collect();
    let subtitle = if scenario.replications > 1 {
        format!(
            "Means of {} replications with 95% confidence intervals; log time axis",
            scenario.replications
        )
    } else {
        "Measured requests of each variant; log time axis".to_string()
    };
    let height = (64 + 110 + 30 * rows.len() as u32).max(360);
    Chart {
        stem: "variants".into(),
        title: format!("Mean and p99 response time per variant: {}", scenario.name),
        subtitle,
        size: (1000, height),
        body: Body::Variants(Variants {
            heading: style::variants_heading(scenario),
            intervals: scenario.replications > 1,
            rows,
        }),
    }
}

impl Variants {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries = vec![
            Entry::new("mean", colour(MEAN), Mark::Dot),
            Entry::new("p99", colour(P99), Mark::Square),
        ];
        if self.intervals {
            entries.push(Entry::new("95% CI", MUTED, Mark::Line));
        }
        let plot = layout::with_legend(area, &entries)?;
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                if row.empty {
                    format!("{} (no completions)", row.label)
                } else {
                    row.label.clone()
                }
            })
            .collect();
        // Labels take at most 40% of the width; longer ones are shortened to fit.
        let label_style = style::text(12, INK);
        let room = plot.dim_in_pixel().0 * 2 / 5;
        let mut widest = 0;
        let mut fitted = Vec::with_capacity(labels.len());
        for label in &labels {
            let label = layout::fit(&plot, label, &label_style, room)?;
            widest = widest.max(plot.estimate_text_size(&label, &label_style)?.0);
            fitted.push(label);
        }
        let labels = fitted;
        let y_desc = layout::fit(
            &plot,
            self.heading.as_deref().unwrap_or("variant"),
            &style::text(14, INK),
            plot.dim_in_pixel().1.saturating_sub(60),
        )?;
        let drawn = || self.rows.iter().filter(|r| !r.empty);
        let x = style::log_range(drawn().flat_map(|r| {
            [
                r.mean.mean - r.mean.half_width,
                r.mean.mean,
                r.mean.mean + r.mean.half_width,
                r.p99.mean - r.p99.half_width,
                r.p99.mean + r.p99.half_width,
            ]
        }));
        let n = self.rows.len();
        // Variant 0 on top: row i is centred on n-1-i.
        let y_of = |i: usize| (n - 1 - i) as f64;
        let y = style::categories(n, n);
        let ticks = style::log_ticks(&x);
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(44)
            .y_label_area_size(widest + 36)
            .build_cartesian_2d(x.clone().log_scale().with_key_points(ticks), y)?;
        layout::mesh(&mut chart)
            .x_desc("response time (ms, log scale)")
            .y_desc(y_desc)
            .x_label_formatter(&|v| format_ms(*v))
            .y_label_formatter(&|v| {
                style::category(*v, n)
                    .and_then(|row| labels.get(n - 1 - row).cloned())
                    .unwrap_or_default()
            })
            .disable_y_mesh()
            .draw()?;
        for (i, row) in self.rows.iter().enumerate().filter(|(_, r)| !r.empty) {
            chart.draw_series(std::iter::once(PathElement::new(
                [(x.start, y_of(i)), (x.end, y_of(i))],
                GRID,
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                [
                    (row.mean.mean.max(x.start), y_of(i)),
                    (row.p99.mean.max(x.start), y_of(i)),
                ],
                INK.mix(0.35).stroke_width(3),
            )))?;
            for (ci, which) in [(row.mean, MEAN), (row.p99, P99)] {
                if ci.mean <= 0.0 {
                    continue;
                }
                if self.intervals && ci.half_width > 0.0 {
                    let lo = (ci.mean - ci.half_width).max(x.start);
                    chart.draw_series(std::iter::once(PathElement::new(
                        [(lo, y_of(i)), (ci.mean + ci.half_width, y_of(i))],
                        colour(which).stroke_width(2),
                    )))?;
                }
                let c = colour(which).filled();
                if which == MEAN {
                    chart.draw_series(std::iter::once(Circle::new((ci.mean, y_of(i)), 6, c)))?;
                } else {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((ci.mean, y_of(i)))
                            + Rectangle::new([(-6, -6), (6, 6)], c),
                    ))?;
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

    #[test]
    fn every_variant_has_a_row_and_a_label() {
        for results in [fixtures::swept(), fixtures::wide()] {
            let svg = build(&results.view()).svg().unwrap();
            for variant in 0..results.scenario.variants.len() {
                let label = variant_label(&results.scenario, variant);
                assert!(fixtures::has_text(&svg, &label), "{label}");
            }
        }
    }

    #[test]
    fn a_variant_without_completions_is_labelled_not_drawn() {
        let results = fixtures::degenerate();
        let svg = build(&results.view()).svg().unwrap();
        assert!(fixtures::has_text(&svg, "0 (no completions)"));
    }
}
