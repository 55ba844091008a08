//! variants: mean and p99 response time of every variant side by side, one row each (a
//! dumbbell plot: labels of any length fit on the left, and the gap between the dots is
//! the tail), in each variant's colour. Values are means over replications; with several
//! replications each dot has its 95% confidence interval. The time axis is logarithmic,
//! so an overloaded variant does not flatten the others.
//!
//! A log axis cannot show zero or below, and an interval of a few noisy replications can
//! reach there (3545.6 ± 3782 ms): such an end is drawn to the axis's start with an
//! arrowhead, meaning "goes on", rather than from a made-up position. So is a lower end
//! more than a decade below every dot, which would otherwise stretch the axis over empty
//! decades.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{self, Axis, Scale};
use super::latency_cdf::format_ms;
use super::layout::{self, Entry, Mark};
use super::palette::Palette;
use super::style::{self, GRID, INK, MUTED, variant_label};
use super::{Chart, Drawn, Figure, replications};
use crate::report::ScenarioResults;
use crate::report::stability::is_unstable;
use crate::stats::{ConfidenceInterval, confidence_interval};

pub struct Variants {
    /// The swept keys, naming the rows.
    heading: Option<String>,
    rows: Vec<Row>,
    intervals: bool,
}

struct Row {
    label: String,
    colour: RGBColor,
    mean: ConfidenceInterval,
    p99: ConfidenceInterval,
    /// No replication completed a request: nothing to draw.
    empty: bool,
    unstable: bool,
}

pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> Chart {
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
                colour: palette.colour(variant),
                mean: of(&|r| r.latency.mean_ms()),
                p99: of(&|r| r.latency.quantile_ms(0.99)),
                empty: runs.iter().all(|r| r.latency.count() == 0),
                unstable: runs.iter().any(|r| is_unstable(&r.counts)),
            }
        })
        .collect();
    let subtitle = if replications(results) > 1 {
        format!(
            "Means of {} replications with 95% confidence intervals; log time axis",
            replications(results)
        )
    } else {
        "Measured requests of each variant; log time axis".to_string()
    };
    let height = (64 + 110 + 30 * rows.len() as u32).max(360);
    Chart::new(
        "variants",
        format!("Mean and p99 response time per variant: {}", scenario.name),
        subtitle,
        (1000, height),
        Variants {
            heading: style::variants_heading(scenario),
            intervals: replications(results) > 1,
            rows,
        },
    )
}

/// An interval's ends on `axis`, each clamped into it, and whether the lower one was cut
/// (it lies at or below zero, or past the axis's start).
fn interval_ends(ci: ConfidenceInterval, axis: &Axis) -> (f64, f64, bool) {
    let low = ci.mean - ci.half_width;
    let (start, cut) = if low > 0.0 {
        axis.clamp(low)
    } else {
        (axis.range().start, true)
    };
    (start, axis.clamp(ci.mean + ci.half_width).0, cut)
}

impl Variants {
    /// The time axis: every dot and upper end, and the lower ends not more than a decade
    /// below the lowest dot.
    fn axis(&self) -> Axis {
        let drawn = || self.rows.iter().filter(|r| !r.empty);
        let dots = || drawn().flat_map(|r| [r.mean.mean, r.p99.mean]);
        let floor = dots().filter(|&v| v > 0.0).fold(f64::INFINITY, f64::min) / 10.0;
        let ends = drawn().flat_map(|r| {
            [r.mean, r.p99].into_iter().flat_map(|ci| {
                let low = ci.mean - ci.half_width;
                [
                    ci.mean + ci.half_width,
                    if low >= floor { low } else { 0.0 },
                ]
            })
        });
        let range = axis::log_range(dots().chain(ends));
        let ticks = axis::log_ticks(&range);
        Axis::fixed(Scale::Log, range, ticks)
    }

    /// Whether some interval is drawn cut at the axis's start.
    fn any_cut(&self, x: &Axis) -> bool {
        self.intervals
            && self
                .rows
                .iter()
                .filter(|r| !r.empty)
                .flat_map(|r| [r.mean, r.p99])
                .any(|ci| ci.half_width > 0.0 && interval_ends(ci, x).2)
    }
}

impl Figure for Variants {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let x = self.axis();
        let mut entries = vec![
            Entry::new("mean", INK, Mark::Dot),
            Entry::new("p99", INK, Mark::Square),
        ];
        if self.intervals {
            entries.push(Entry::new("95% CI", MUTED, Mark::Line));
        }
        if self.any_cut(&x) {
            entries.push(Entry::new("CI reaches 0 or below", MUTED, Mark::Cut));
        }
        let plot = layout::with_legend(area, &entries)?;
        let labels: Vec<String> = self
            .rows
            .iter()
            .map(|row| {
                if row.empty {
                    format!("{} (no completions)", row.label)
                } else if row.unstable {
                    format!("{} (unstable)", row.label)
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
        let n = self.rows.len();
        // Variant 0 on top: row i is centred on n-1-i.
        let y_of = |i: usize| (n - 1 - i) as f64;
        let range = x.range();
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(44)
            .y_label_area_size(widest + 36)
            .build_cartesian_2d(x.clone(), Axis::categories(n, n))?;
        layout::mesh(&mut chart)
            .x_desc("response time (ms, log scale)")
            .y_desc(y_desc)
            .x_label_formatter(&|v| format_ms(*v))
            .y_label_formatter(&|v| {
                axis::category(*v, n)
                    .and_then(|row| labels.get(n - 1 - row).cloned())
                    .unwrap_or_default()
            })
            .y_labels(n)
            .disable_y_mesh()
            .draw()?;
        for (i, row) in self.rows.iter().enumerate().filter(|(_, r)| !r.empty) {
            let y = y_of(i);
            chart.draw_series(std::iter::once(PathElement::new(
                [(range.start, y), (range.end, y)],
                GRID,
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                [(x.clamp(row.mean.mean).0, y), (x.clamp(row.p99.mean).0, y)],
                row.colour.mix(0.35).stroke_width(3),
            )))?;
            for (ci, square) in [(row.mean, false), (row.p99, true)] {
                if ci.mean <= 0.0 {
                    continue;
                }
                if self.intervals && ci.half_width > 0.0 {
                    let (low, high, cut) = interval_ends(ci, &x);
                    chart.draw_series(std::iter::once(PathElement::new(
                        [(low, y), (high, y)],
                        row.colour.stroke_width(2),
                    )))?;
                    if cut {
                        chart.draw_series(std::iter::once(
                            EmptyElement::at((low, y)) + layout::arrowhead((0, 0), row.colour),
                        ))?;
                    }
                }
                let c = row.colour.filled();
                if square {
                    chart.draw_series(std::iter::once(
                        EmptyElement::at((ci.mean, y)) + Rectangle::new([(-6, -6), (6, 6)], c),
                    ))?;
                } else {
                    chart.draw_series(std::iter::once(Circle::new((ci.mean, y), 6, c)))?;
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
            let svg = build(&results.view(), &results.palette()).svg().unwrap();
            for variant in 0..results.scenario.variants.len() {
                let label = variant_label(&results.scenario, variant);
                assert!(fixtures::has_text(&svg, &label), "{label}");
            }
        }
    }

    #[test]
    fn a_variant_without_completions_is_labelled_not_drawn() {
        let results = fixtures::degenerate();
        let svg = build(&results.view(), &results.palette()).svg().unwrap();
        assert!(fixtures::has_text(&svg, "0 (no completions)"));
    }

    fn ci(mean: f64, half_width: f64) -> ConfidenceInterval {
        ConfidenceInterval { mean, half_width }
    }

    #[test]
    fn an_interval_reaching_below_zero_is_cut_at_the_axis_and_marked() {
        // Three replications of an overloaded variant next to a steady one.
        let figure = Variants {
            heading: None,
            intervals: true,
            rows: vec![
                Row {
                    label: "steady".into(),
                    colour: RED,
                    mean: ci(12.0, 0.4),
                    p99: ci(80.0, 3.0),
                    empty: false,
                    unstable: false,
                },
                Row {
                    label: "overloaded".into(),
                    colour: BLUE,
                    mean: ci(3545.6, 3782.0),
                    p99: ci(9000.0, 2000.0),
                    empty: false,
                    unstable: true,
                },
            ],
        };
        let x = figure.axis();
        // The axis is set by the dots (12 ms ... 9 s), not stretched towards zero.
        assert!(
            x.range().start > 1.0 && x.range().start < 12.0,
            "{:?}",
            x.range()
        );
        let (low, high, cut) = interval_ends(ci(3545.6, 3782.0), &x);
        assert_eq!((low, cut), (x.range().start, true));
        assert_eq!(high, 3545.6 + 3782.0);
        // A lower end above the axis start is drawn where it is, uncut.
        assert_eq!(interval_ends(ci(80.0, 3.0), &x), (77.0, 83.0, false));
        // A positive lower end far below every dot is cut too.
        assert!(interval_ends(ci(12.0, 11.99), &x).2);
        assert!(figure.any_cut(&x));
        let chart = Chart::new("variants", "t".into(), "s".into(), (1000, 400), figure);
        let svg = chart.svg().unwrap();
        assert!(fixtures::has_text(&svg, "CI reaches 0 or below"));
        assert!(fixtures::has_text(&svg, "overloaded (unstable)"));
        fixtures::assert_well_formed_svg(&svg);
    }
}
