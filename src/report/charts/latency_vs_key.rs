//! latency-vs-KEY: for a numeric swept key (say `workload.rate`), mean and p99 latency
//! against its value, one line per combination of the other swept keys. This is where the
//! knee shows: the load past which latency stops growing gently. Values are means over
//! replications, with 95% confidence intervals when there are several.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::layout::{self, Entry, Mark};
use super::style::{self, MAX_VALUE_CHARS, MUTED, colour, shorten};
use super::{Body, Chart, Drawn};
use crate::report::ScenarioResults;
use crate::stats::{ConfidenceInterval, confidence_interval};

pub struct LatencyVsKey {
    key: String,
    /// The other swept keys, heading the legend; `None` when only one key is swept.
    heading: Option<String>,
    /// One line per combination of the other swept keys, in sweep order.
    groups: Vec<Group>,
    /// Whether to draw confidence intervals (more than one replication).
    intervals: bool,
}

struct Group {
    /// The other keys' values (`round-robin`), empty when only one key is swept.
    label: String,
    /// Sorted by the key's value.
    points: Vec<Point>,
}

struct Point {
    x: f64,
    mean: ConfidenceInterval,
    p99: ConfidenceInterval,
}

/// One chart per swept key whose values are all numbers, with at least two of them.
pub fn build(results: &ScenarioResults<'_>) -> Vec<Chart> {
    let scenario = results.scenario;
    (0..scenario.swept_keys.len())
        .filter_map(|key| numeric_values(results, key).map(|xs| chart(results, key, &xs)))
        .collect()
}

/// The values of swept key `key` per variant, when all are finite numbers, not all equal.
fn numeric_values(results: &ScenarioResults<'_>, key: usize) -> Option<Vec<f64>> {
    let values: Vec<f64> = results
        .scenario
        .variants
        .iter()
        .map(|v| {
            v.values
                .get(key)?
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
        })
        .collect::<Option<_>>()?;
    let first = *values.first()?;
    values.iter().any(|&x| x != first).then_some(values)
}

fn chart(results: &ScenarioResults<'_>, key: usize, xs: &[f64]) -> Chart {
    let scenario = results.scenario;
    let mut groups: Vec<(Vec<&str>, Group)> = Vec::new();
    for ((variant, runs), &x) in scenario.variants.iter().zip(&results.runs).zip(xs) {
        let others: Vec<&str> = variant
            .values
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != key)
            .map(|(_, v)| v.as_str())
            .collect();
        let point = Point {
            x,
            mean: confidence_interval(
                &runs.iter().map(|r| r.latency.mean_ms()).collect::<Vec<_>>(),
            ),
            p99: confidence_interval(
                &runs
                    .iter()
                    .map(|r| r.latency.quantile_ms(0.99))
                    .collect::<Vec<_>>(),
            ),
        };
        match groups.iter_mut().find(|g| g.0 == others) {
            Some(group) => group.1.points.push(point),
            None => {
                let label = others
                    .iter()
                    .map(|v| shorten(v, MAX_VALUE_CHARS))
                    .collect::<Vec<_>>()
                    .join(", ");
                groups.push((
                    others,
                    Group {
                        label,
                        points: vec![point],
                    },
                ));
            }
        }
    }
    let mut groups: Vec<Group> = groups.into_iter().map(|g| g.1).collect();
    for group in &mut groups {
        group.points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    let name = &scenario.swept_keys[key];
    let replications = if scenario.replications > 1 {
        format!(
            "; means of {} replications with 95% confidence intervals",
            scenario.replications
        )
    } else {
        String::new()
    };
    Chart {
        stem: format!("latency-vs-{}", file_safe(name)),
        title: format!("Latency vs {name}: {}", scenario.name),
        subtitle: format!("p99 (solid) and mean (dashed) response time by {name}{replications}"),
        size: (1000, 560),
        body: Body::LatencyVsKey(LatencyVsKey {
            key: name.clone(),
            heading: Some(
                scenario
                    .swept_keys
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| k != key)
                    .map(|(_, k)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
            .filter(|h| !h.is_empty()),
            groups,
            intervals: scenario.replications > 1,
        }),
    }
}

/// `text` with every character outside `[A-Za-z0-9._-]` replaced by `_`.
pub fn file_safe(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

impl LatencyVsKey {
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries: Vec<Entry> = self.heading.iter().map(Entry::heading).collect();
        entries.extend(
            self.groups
                .iter()
                .enumerate()
                .filter(|(_, g)| !g.label.is_empty())
                .map(|(i, g)| Entry::new(g.label.clone(), colour(i), Mark::Line)),
        );
        entries.push(Entry::new("p99", MUTED, Mark::Line));
        entries.push(Entry::new("mean", MUTED, Mark::Dashed));
        let plot = layout::with_legend(area, &entries)?;

        let points = || self.groups.iter().flat_map(|g| g.points.iter());
        let (lo, hi) = points().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
            (lo.min(p.x), hi.max(p.x))
        });
        let pad = ((hi - lo) * 0.05).max(1e-9);
        let y = style::linear_range(points().map(|p| p.p99.mean + p.p99.half_width));
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d((lo - pad)..(hi + pad), y)?;
        layout::mesh(&mut chart)
            .x_desc(self.key.as_str())
            .y_desc("response time (ms)")
            .x_label_formatter(&|v| style::number(*v))
            .y_label_formatter(&|v| style::number(*v))
            .draw()?;
        for (i, group) in self.groups.iter().enumerate() {
            let c = colour(i);
            let p99 = group.points.iter().map(|p| (p.x, p.p99.mean));
            let mean = group.points.iter().map(|p| (p.x, p.mean.mean));
            chart.draw_series(LineSeries::new(p99.clone(), c.stroke_width(2)))?;
            chart.draw_series(DashedLineSeries::new(mean.clone(), 7, 5, c.stroke_width(2)))?;
            chart.draw_series(p99.map(|p| Circle::new(p, 4, c.filled())))?;
            chart.draw_series(mean.map(|p| Circle::new(p, 3, c.filled())))?;
            if self.intervals {
                let bars = group
                    .points
                    .iter()
                    .flat_map(|p| [(p.x, p.p99), (p.x, p.mean)]);
                chart.draw_series(bars.map(|(x, ci)| {
                    PathElement::new(
                        [(x, ci.mean - ci.half_width), (x, ci.mean + ci.half_width)],
                        c.stroke_width(1),
                    )
                }))?;
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
    fn one_line_per_value_of_the_other_keys() {
        let results = fixtures::swept();
        let charts = build(&results.view());
        assert_eq!(charts.len(), 1, "only workload.rate is numeric");
        let svg = charts[0].svg().unwrap();
        for group in ["round-robin", "least-connections"] {
            assert!(fixtures::has_text(&svg, group), "{group}");
        }
        assert!(fixtures::has_text(&svg, "workload.rate"));
    }

    #[test]
    fn a_single_numeric_key_with_a_zero_latency_variant_still_draws() {
        let results = fixtures::degenerate();
        let charts = build(&results.view());
        assert_eq!(charts[0].stem, "latency-vs-workload.rate");
        fixtures::assert_well_formed_svg(&charts[0].svg().unwrap());
    }

    #[test]
    fn non_numeric_keys_get_no_chart() {
        assert!(build(&fixtures::wide().view()).is_empty());
        assert!(build(&fixtures::without_series().view()).is_empty());
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_safe("workload.rate"), "workload.rate");
        assert_eq!(file_safe("servers[0] count/x"), "servers_0__count_x");
    }
}
