//! latency-vs-KEY: for a numeric swept key (say `workload.rate`), mean and p99 latency
//! against its value, one line per combination of the other swept keys. This is where the
//! knee shows: the load past which latency stops growing gently. Values are means over
//! replications, with 95% confidence intervals when there are several. Keys that vary
//! together with KEY (`[sweep] together`) move along its axis, not between lines: the
//! subtitle names them (`by servers.0.count (with servers.0.speed)`).
//!
//! Each line is drawn in its group's hue and each point in its variant's colour, as in
//! every other chart. A point of an unstable variant (`report::stability`) is an open
//! circle: its latency grew with the run and is no steady-state figure. When such points
//! lie more than a decade above the stable ones the value axis is logarithmic
//! (`axis::Scale::for_peaks`), so that they do not flatten the knee.

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{self, Axis, Scale};
use super::layout::{self, Entry, Mark};
use super::palette::{Palette, shade};
use super::style::{self, MAX_VALUE_CHARS, MUTED, shorten};
use super::{Chart, Drawn, Figure, replications};
use crate::report::ScenarioResults;
use crate::report::stability::is_unstable;
use crate::stats::{ConfidenceInterval, confidence_interval};

pub struct LatencyVsKey {
    key: String,
    /// The other swept keys, heading the legend; `None` when only one key is swept.
    heading: Option<String>,
    /// One line per combination of the other swept keys, in sweep order.
    groups: Vec<Group>,
    /// Whether to draw confidence intervals (more than one replication).
    intervals: bool,
    y: Axis,
}

struct Group {
    /// The other keys' values (`round-robin`), empty when only one key is swept.
    label: String,
    /// The line's colour: its variants' hue; grey when they span several hues (the key
    /// on the axis is the one the palette groups by), shaded as its variants are when
    /// several lines are grey.
    colour: RGBColor,
    /// Sorted by the key's value.
    points: Vec<Point>,
}

struct Point {
    x: f64,
    colour: RGBColor,
    unstable: bool,
    mean: ConfidenceInterval,
    p99: ConfidenceInterval,
}

/// One chart per swept key whose values are all numbers, with at least two of them.
pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> Vec<Chart> {
    let scenario = results.scenario;
    (0..scenario.swept_keys.len())
        .filter_map(|key| numeric_values(results, key).map(|xs| chart(results, palette, key, &xs)))
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

fn chart(results: &ScenarioResults<'_>, palette: &Palette, key: usize, xs: &[f64]) -> Chart {
    let scenario = results.scenario;
    let mut groups: Vec<(Vec<&str>, Vec<usize>, Group)> = Vec::new();
    for (variant, ((spec, runs), &x)) in scenario
        .variants
        .iter()
        .zip(&results.runs)
        .zip(xs)
        .enumerate()
    {
        let others: Vec<&str> = spec
            .values
            .iter()
            .enumerate()
            .filter(|&(k, _)| !scenario.varies_with(k, key))
            .map(|(_, v)| v.as_str())
            .collect();
        let of = |f: &dyn Fn(&crate::stats::RunResult) -> f64| {
            confidence_interval(&runs.iter().map(f).collect::<Vec<_>>())
        };
        let point = Point {
            x,
            colour: palette.colour(variant),
            unstable: runs.iter().any(|r| is_unstable(&r.counts)),
            mean: of(&|r| r.latency.mean_ms()),
            p99: of(&|r| r.latency.quantile_ms(0.99)),
        };
        match groups.iter_mut().find(|g| g.0 == others) {
            Some(group) => {
                group.1.push(variant);
                group.2.points.push(point);
            }
            None => {
                let label = others
                    .iter()
                    .map(|v| shorten(v, MAX_VALUE_CHARS))
                    .collect::<Vec<_>>()
                    .join(", ");
                groups.push((
                    others,
                    vec![variant],
                    Group {
                        label,
                        colour: MUTED,
                        points: vec![point],
                    },
                ));
            }
        }
    }
    let hue_of = |variants: &[usize]| {
        palette
            .groups()
            .iter()
            .find(|g| variants.iter().all(|v| g.variants.contains(v)))
            .map(|g| g.colour)
    };
    // Lines that span several of the palette's groups are told apart as their points
    // are: the palette's shade key is then constant along each line, and its value sets
    // how dark the line's grey is, as it sets how dark each point's hue is.
    let grey_lines = groups.iter().filter(|g| hue_of(&g.1).is_none()).count();
    let groups: Vec<Group> = groups
        .into_iter()
        .map(|(_, variants, mut group)| {
            group.points.sort_by(|a, b| a.x.total_cmp(&b.x));
            group.colour = match hue_of(&variants) {
                Some(hue) => hue,
                None if grey_lines > 1 => shade(MUTED, palette.shade_of(variants[0])),
                None => MUTED,
            };
            group
        })
        .collect();
    let name = &scenario.swept_keys[key];
    let runs = replications(results);
    let replicated = if runs > 1 {
        format!("; means of {runs} replications with 95% confidence intervals")
    } else {
        String::new()
    };
    let partners: Vec<&str> = (0..scenario.swept_keys.len())
        .filter(|&k| k != key && scenario.varies_with(k, key))
        .map(|k| scenario.swept_keys[k].as_str())
        .collect();
    let along = if partners.is_empty() {
        String::new()
    } else {
        format!(" (with {})", partners.join(", "))
    };
    let intervals = runs > 1;
    let y = value_axis(&groups, intervals);
    let log = if y.scale() == Scale::Log {
        "; log scale: unstable variants run away"
    } else {
        ""
    };
    Chart::new(
        format!("latency-vs-{}", file_safe(name)),
        format!("Latency vs {name}: {}", scenario.name),
        format!("p99 (solid) and mean (dashed) response time by {name}{along}{replicated}{log}"),
        (1000, 560),
        LatencyVsKey {
            key: name.clone(),
            heading: Some(
                scenario
                    .swept_keys
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| !scenario.varies_with(k, key))
                    .map(|(_, k)| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
            .filter(|h| !h.is_empty()),
            groups,
            intervals,
            y,
        },
    )
}

/// The value axis: log when the p99 of unstable points (or of one line) peaks more than
/// a decade above another's stable p99, so that a runaway does not flatten the knee.
fn value_axis(groups: &[Group], intervals: bool) -> Axis {
    let peak =
        |points: &mut dyn Iterator<Item = &Point>| points.map(|p| p.p99.mean).fold(0.0, f64::max);
    let peaks = groups.iter().flat_map(|g| {
        [
            peak(&mut g.points.iter().filter(|p| !p.unstable)),
            peak(&mut g.points.iter().filter(|p| p.unstable)),
        ]
    });
    let scale = Scale::for_peaks(peaks);
    let values = groups.iter().flat_map(|g| g.points.iter()).flat_map(|p| {
        let spread = |ci: ConfidenceInterval| if intervals { ci.half_width } else { 0.0 };
        match scale {
            Scale::Linear => [p.p99.mean + spread(p.p99), p.p99.mean + spread(p.p99)],
            // The mean too: on a log axis the lowest value sets the start.
            Scale::Log => [p.mean.mean, p.p99.mean + spread(p.p99)],
        }
    });
    Axis::new(scale, values)
}

/// The key's axis over `xs`, a twentieth of their span beyond each end; ticks at whole
/// numbers only when every value is one (a count of servers or replicas has no tick at
/// 0.5), else at the usual 1-2-5 steps.
fn key_axis(xs: &[f64]) -> Axis {
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        });
    let pad = ((hi - lo) * 0.05).max(1e-9);
    let range = (lo - pad)..(hi + pad);
    let mut ticks = axis::linear_ticks(&range);
    if xs.iter().all(|x| x.fract() == 0.0) {
        // A tick is a multiple of the step, computed in floating point: 3 × 0.2 is
        // 0.6000000000000001, 5 × 0.2 exactly 1.
        ticks.retain(|t| (t - t.round()).abs() < 1e-9);
        ticks.iter_mut().for_each(|t| *t = t.round());
    }
    Axis::fixed(Scale::Linear, range, ticks)
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

impl Figure for LatencyVsKey {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let mut entries: Vec<Entry> = self.heading.iter().map(Entry::heading).collect();
        entries.extend(
            self.groups
                .iter()
                .filter(|g| !g.label.is_empty())
                .map(|g| Entry::new(g.label.clone(), g.colour, Mark::Line)),
        );
        entries.push(Entry::new("p99", MUTED, Mark::Line));
        entries.push(Entry::new("mean", MUTED, Mark::Dashed));
        let points = || self.groups.iter().flat_map(|g| g.points.iter());
        if points().any(|p| p.unstable) {
            entries.push(Entry::new("unstable", MUTED, Mark::Hollow));
        }
        let cut = self.intervals
            && points().any(|p| {
                [p.mean, p.p99]
                    .iter()
                    .any(|ci| self.y.clamp(ci.mean - ci.half_width).1)
            });
        if cut {
            entries.push(Entry::new("interval cut at axis", MUTED, Mark::Cut));
        }
        let plot = layout::with_legend(area, &entries)?;

        let x = key_axis(&points().map(|p| p.x).collect::<Vec<_>>());
        let log = self.y.scale() == Scale::Log;
        let mut chart = ChartBuilder::on(&plot)
            .margin(8)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(x, self.y.clone())?;
        layout::mesh(&mut chart)
            .x_desc(self.key.as_str())
            .y_desc(if log {
                "response time (ms, log scale)"
            } else {
                "response time (ms)"
            })
            .x_label_formatter(&|v| style::number(*v))
            .y_label_formatter(&|v| style::number(*v))
            .draw()?;
        for group in &self.groups {
            let c = group.colour;
            let p99 = group.points.iter().map(|p| (p.x, p.p99.mean));
            let mean = group.points.iter().map(|p| (p.x, p.mean.mean));
            chart.draw_series(LineSeries::new(p99, c.stroke_width(2)))?;
            chart.draw_series(DashedLineSeries::new(mean, 7, 5, c.stroke_width(2)))?;
            for point in &group.points {
                if self.intervals {
                    for ci in [point.p99, point.mean] {
                        let (low, cut) = self.y.clamp(ci.mean - ci.half_width);
                        let (high, _) = self.y.clamp(ci.mean + ci.half_width);
                        chart.draw_series(std::iter::once(PathElement::new(
                            [(point.x, low), (point.x, high)],
                            point.colour.stroke_width(1),
                        )))?;
                        if cut {
                            chart.draw_series(std::iter::once(
                                EmptyElement::at((point.x, low))
                                    + Polygon::new(
                                        vec![(0, 0), (-4, -7), (4, -7)],
                                        point.colour.filled(),
                                    ),
                            ))?;
                        }
                    }
                }
                for (value, radius) in [(point.p99.mean, 4), (point.mean.mean, 3)] {
                    let at = (point.x, value);
                    if point.unstable {
                        chart.draw_series(std::iter::once(Circle::new(
                            at,
                            radius + 1,
                            WHITE.filled(),
                        )))?;
                        chart.draw_series(std::iter::once(Circle::new(
                            at,
                            radius + 1,
                            point.colour.stroke_width(2),
                        )))?;
                    } else {
                        chart.draw_series(std::iter::once(Circle::new(
                            at,
                            radius,
                            point.colour.filled(),
                        )))?;
                    }
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
    fn one_line_per_value_of_the_other_keys() {
        let results = fixtures::swept();
        let charts = build(&results.view(), &results.palette());
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
        let charts = build(&results.view(), &results.palette());
        assert_eq!(charts[0].stem, "latency-vs-workload.rate");
        fixtures::assert_well_formed_svg(&charts[0].svg().unwrap());
    }

    #[test]
    fn non_numeric_keys_get_no_chart() {
        for fixture in [fixtures::wide(), fixtures::without_series()] {
            assert!(build(&fixture.view(), &fixture.palette()).is_empty());
        }
    }

    #[test]
    fn a_runaway_point_is_open_and_puts_the_axis_on_a_log_scale() {
        let fixture = fixtures::runaway();
        let charts = build(&fixture.view(), &fixture.palette());
        let figure: &LatencyVsKey = charts[0].figure();
        let points = &figure.groups[0].points;
        assert!(!points[0].unstable && points[1].unstable);
        // 100 req/s has a p99 of tens of ms; 600 on 400 of capacity, seconds.
        assert!(points[1].p99.mean > 10.0 * points[0].p99.mean);
        assert_eq!(figure.y.scale(), Scale::Log);
        assert!(charts[0].subtitle.contains("log scale"));
        let svg = charts[0].svg().unwrap();
        assert!(fixtures::has_text(&svg, "unstable"));
        // A stable sweep keeps its linear axis, where the knee reads as a knee.
        let swept = fixtures::swept();
        let charts = build(&swept.view(), &swept.palette());
        let figure: &LatencyVsKey = charts[0].figure();
        assert_eq!(figure.y.scale(), Scale::Linear);
    }

    #[test]
    fn lines_take_their_group_hue_and_points_their_variant_colour() {
        let fixture = fixtures::swept();
        let palette = fixture.palette();
        let charts = build(&fixture.view(), &palette);
        let figure: &LatencyVsKey = charts[0].figure();
        for (group, hue) in figure.groups.iter().zip(palette.groups()) {
            assert_eq!(group.colour, hue.colour);
            for (point, &variant) in group.points.iter().zip(&hue.variants) {
                assert_eq!(point.colour, palette.colour(variant));
            }
        }
    }

    #[test]
    fn lines_across_the_palettes_hues_are_greys_as_dark_as_their_points() {
        let fixture = fixtures::two_numeric();
        let palette = fixture.palette();
        let charts = build(&fixture.view(), &palette);
        let by_count: &LatencyVsKey = charts[0].figure();
        assert_eq!(by_count.key, "servers.0.count");
        // Lines by rate, 150 then 300: each spans both counts' hues, so each is grey, the
        // lower rate light and the higher dark, as their points' shades are.
        let [light, dark] = by_count.groups.as_slice() else {
            panic!("two lines");
        };
        assert_eq!((light.label.as_str(), dark.label.as_str()), ("150", "300"));
        assert_eq!(light.colour, shade(MUTED, 0.0));
        assert_eq!(dark.colour, shade(MUTED, 1.0));
        assert_ne!(light.colour, dark.colour);
        // Along the palette's own key, lines keep their group's hue.
        let by_rate: &LatencyVsKey = charts[1].figure();
        for (group, hue) in by_rate.groups.iter().zip(palette.groups()) {
            assert_eq!(group.colour, hue.colour);
        }
    }

    #[test]
    fn a_key_of_whole_numbers_has_ticks_at_whole_numbers_only() {
        // 0 to 4 replicas: the 1-2-5 steps would put a tick every 0.5.
        let replicas = key_axis(&[0.0, 1.0, 2.0, 4.0]);
        assert_eq!(replicas.ticks(), [0.0, 1.0, 2.0, 3.0, 4.0]);
        let servers = key_axis(&[2.0, 3.0]);
        assert_eq!(servers.ticks(), [2.0, 3.0]);
        // Fractional values keep every step of 0.2.
        let speeds = key_axis(&[0.5, 1.0, 1.5]);
        assert_eq!(speeds.ticks().len(), 5);
        assert!(speeds.ticks().iter().any(|t| t.fract() != 0.0));
    }

    #[test]
    fn keys_that_vary_together_share_the_axis_and_not_the_lines() {
        let fixture = fixtures::linked();
        let charts = build(&fixture.view(), &fixture.palette());
        let stems: Vec<&str> = charts.iter().map(|c| c.stem.as_str()).collect();
        assert_eq!(
            stems,
            ["latency-vs-servers.0.count", "latency-vs-servers.0.speed"]
        );
        for (chart, partner) in charts.iter().zip(["servers.0.speed", "servers.0.count"]) {
            let figure: &LatencyVsKey = chart.figure();
            let labels: Vec<&str> = figure.groups.iter().map(|g| g.label.as_str()).collect();
            assert_eq!(
                labels,
                ["round-robin", "least-connections"],
                "{}",
                chart.stem
            );
            assert!(figure.groups.iter().all(|g| g.points.len() == 2));
            assert_eq!(figure.heading.as_deref(), Some("balancer.algorithm"));
            assert!(
                chart.subtitle.contains(&format!("(with {partner})")),
                "{}",
                chart.subtitle
            );
        }
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        assert_eq!(file_safe("workload.rate"), "workload.rate");
        assert_eq!(file_safe("servers[0] count/x"), "servers_0__count_x");
    }
}
