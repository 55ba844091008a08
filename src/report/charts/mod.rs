//! Charts: the pictures of a scenario a person looks at rather than reads.
//!
//! Each chart kind lives in its own file and works in two steps: `build` extracts what it
//! shows from the results into plain numbers (testable, and the only place that knows the
//! results' shape) and wraps them in a [`Chart`]; the numbers' [`Figure::draw`] paints
//! them on any plotters backend. A new kind is one more file with a `build` and a
//! `Figure`, and one more line in [`BUILDERS`]. [`Chart`] renders the same drawing to SVG
//! (always) or PNG (on request), in memory, with text set by [`typeset`]: the report's
//! writer does the file I/O. plotters emits shapes in drawing order and formats numbers
//! the same way every time, so the same results give the same bytes.
//!
//! Every chart of a scenario colours a variant the same way ([`palette`]), marks the
//! variants whose queue grew without bound (`report::stability`), and picks linear or log
//! value axes by one rule ([`axis`]).

mod axis;
mod capacity;
mod latency_cdf;
mod latency_over_time;
mod latency_vs_key;
mod layout;
mod load_over_time;
mod palette;
mod server_load;
mod server_states;
mod style;
mod theory;
mod typeset;
mod utilization;
mod variants;

#[cfg(test)]
pub(crate) mod fixtures;

use std::io;

use rayon::prelude::*;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ScenarioResults;
use super::font;
use palette::Palette;
use typeset::Typeset;

/// The result of drawing on backend `DB`.
type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// What a chart draws below its title, on any backend.
pub trait Figure: Send + Sync + 'static {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB>;
}

type Svg<'a> = Typeset<SVGBackend<'a>>;
type Png<'a> = Typeset<BitMapBackend<'a>>;

/// A [`Figure`] on the two backends charts are rendered with: the one form of it a
/// [`Chart`] can hold whatever the figure's type.
trait Paint: Send + Sync {
    fn on_svg(&self, area: &DrawingArea<Svg<'_>, Shift>) -> Drawn<Svg<'_>>;
    fn on_png(&self, area: &DrawingArea<Png<'_>, Shift>) -> Drawn<Png<'_>>;
    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<F: Figure> Paint for F {
    fn on_svg(&self, area: &DrawingArea<Svg<'_>, Shift>) -> Drawn<Svg<'_>> {
        self.draw(area)
    }

    fn on_png(&self, area: &DrawingArea<Png<'_>, Shift>) -> Drawn<Png<'_>> {
        self.draw(area)
    }

    #[cfg(test)]
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// One chart of a scenario, ready to render.
pub struct Chart {
    /// File name without extension, `[A-Za-z0-9._-]` only: `latency-cdf`,
    /// `latency-vs-workload.rate`, ...
    stem: String,
    title: String,
    /// One line under the title saying what is shown (which replication, units, ...).
    subtitle: String,
    size: (u32, u32),
    body: Box<dyn Paint>,
}

/// A chart kind's builder: its charts for a scenario (none without the data it needs).
type Builder = fn(&ScenarioResults<'_>, &Palette) -> io::Result<Vec<Chart>>;

/// Every chart kind, in the order a report shows them.
const BUILDERS: [Builder; 9] = [
    |r, p| Ok(vec![latency_cdf::build(r, p)]),
    |r, p| Ok(latency_over_time::build(r, p)?.into_iter().collect()),
    |r, p| Ok(server_states::build(r, p).into_iter().collect()),
    |r, p| Ok(load_over_time::build(r, p)?.into_iter().collect()),
    |r, p| Ok(capacity::build(r, p)?.into_iter().collect()),
    |r, p| Ok(latency_vs_key::build(r, p)),
    |r, p| Ok(vec![variants::build(r, p)]),
    |r, p| Ok(utilization::build(r, p)?.into_iter().collect()),
    |r, p| Ok(server_load::build(r, p).into_iter().collect()),
];

/// Every chart of a scenario, in the order a report shows them, each kind built on the
/// rayon pool (the time-series charts read every run's series back). Charts without data
/// (no time series recorded, a single server) are left out.
pub fn scenario_charts(results: &ScenarioResults<'_>) -> io::Result<Vec<Chart>> {
    let palette = Palette::new(results.scenario);
    let kinds = BUILDERS
        .par_iter()
        .map(|build| build(results, &palette))
        .collect::<io::Result<Vec<Vec<Chart>>>>()?;
    Ok(kinds.into_iter().flatten().collect())
}

/// A chart drawn as SVG: what the scenario folder holds and the report embeds or links.
pub struct RenderedChart {
    pub stem: String,
    pub title: String,
    pub svg: String,
}

impl Chart {
    pub fn new(
        stem: impl Into<String>,
        title: String,
        subtitle: String,
        size: (u32, u32),
        figure: impl Figure,
    ) -> Chart {
        Chart {
            stem: stem.into(),
            title,
            subtitle,
            size,
            body: Box::new(figure),
        }
    }

    /// Draws the chart as SVG, keeping what the report needs beside it.
    pub fn render(&self) -> io::Result<RenderedChart> {
        Ok(RenderedChart {
            stem: self.stem.clone(),
            title: self.title.clone(),
            svg: self.svg()?,
        })
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> io::Result<String> {
        font::ensure_registered()?;
        let mut out = String::new();
        {
            let backend = Typeset::vector(SVGBackend::with_string(&mut out, self.size));
            let root = backend.into_drawing_area();
            let body = self.frame(&root).map_err(drawing_error)?;
            self.body.on_svg(&body).map_err(drawing_error)?;
            root.present().map_err(drawing_error)?;
        }
        Ok(out)
    }

    /// The chart as a PNG image of the same size in pixels.
    pub fn png(&self) -> io::Result<Vec<u8>> {
        use image::ImageEncoder;
        use image::codecs::png::PngEncoder;

        font::ensure_registered()?;
        let (width, height) = self.size;
        let mut pixels = vec![0u8; width as usize * height as usize * 3];
        {
            let backend = Typeset::raster(BitMapBackend::with_buffer(&mut pixels, self.size));
            let root = backend.into_drawing_area();
            let body = self.frame(&root).map_err(drawing_error)?;
            self.body.on_png(&body).map_err(drawing_error)?;
            root.present().map_err(drawing_error)?;
        }
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(&pixels, width, height, image::ColorType::Rgb8)
            .map_err(io::Error::other)?;
        Ok(out)
    }

    /// A white page with the title and subtitle; returns the area below them.
    fn frame<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> layout::Area<DB> {
        root.fill(&WHITE)?;
        layout::header(root, &self.title, &self.subtitle)
    }

    /// The figure, when it is an `F`: for tests that look at the numbers behind a chart.
    #[cfg(test)]
    fn figure<F: Figure>(&self) -> &F {
        self.body
            .as_any()
            .downcast_ref()
            .unwrap_or_else(|| panic!("{} is not a {}", self.stem, std::any::type_name::<F>()))
    }
}

/// How many replications each variant ran: the scenario's, or `--replications`' which
/// replaces it (the scenario keeps the number its file gave).
fn replications(results: &ScenarioResults<'_>) -> usize {
    results.runs.iter().map(Vec::len).max().unwrap_or(0)
}

/// Intervals in the longest time series of a variant's first replication (0 without a
/// time series): what the time charts window their points by.
fn longest_series(results: &ScenarioResults<'_>) -> usize {
    results
        .runs
        .iter()
        .filter_map(|runs| runs.first())
        .map(|run| run.intervals.len() as usize)
        .max()
        .unwrap_or(0)
}

fn drawing_error(error: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot draw chart: {error}"))
}

#[cfg(test)]
mod tests {
    use super::fixtures::{self, assert_well_formed_svg};
    use super::*;

    #[test]
    fn a_swept_scenario_gets_every_chart_kind() {
        let results = fixtures::swept();
        let stems: Vec<String> = scenario_charts(&results.view())
            .unwrap()
            .iter()
            .map(|c| c.stem.clone())
            .collect();
        assert_eq!(
            stems,
            [
                "latency-cdf",
                "latency-over-time",
                "load-over-time",
                "latency-vs-workload.rate",
                "variants",
                "utilization",
                "server-load"
            ]
        );
    }

    #[test]
    fn every_chart_is_well_formed_svg_with_its_title() {
        for results in [fixtures::swept(), fixtures::degenerate(), fixtures::wide()] {
            for chart in scenario_charts(&results.view()).unwrap() {
                let svg = chart.svg().unwrap();
                assert_well_formed_svg(&svg);
                assert!(
                    svg.contains(&fixtures::escape(&chart.title)),
                    "{}: no title",
                    chart.stem
                );
            }
        }
    }

    #[test]
    fn a_variant_has_the_same_colour_in_every_chart_of_its_scenario() {
        for fixture in [fixtures::swept(), fixtures::knee(), fixtures::runaway()] {
            let palette = fixture.palette();
            let results = fixture.view();
            let labels: Vec<String> = (0..fixture.scenario.variants.len())
                .map(|v| style::variant_label(&fixture.scenario, v))
                .collect();
            let neutral = [style::INK, style::MUTED, style::GRID, WHITE, BLACK].map(hex);
            let group_of = |v: usize| {
                palette
                    .groups()
                    .iter()
                    .position(|g| g.variants.contains(&v))
                    .unwrap()
            };
            let mut keyed_in = vec![Vec::new(); labels.len()];
            // Each colour keys one group of variants only: a group's line and its
            // variants' shades, never another group (orange for "round-robin, 900" in
            // one chart and "least-connections" in the next).
            let mut meaning: Vec<(String, usize)> = Vec::new();
            for chart in scenario_charts(&results).unwrap() {
                for (text, colour) in fixtures::keyed_texts(&chart.svg().unwrap()) {
                    let text = text.trim_end_matches(" (unstable)");
                    let group = labels
                        .iter()
                        .position(|l| l == text)
                        .map(group_of)
                        .or_else(|| palette.groups().iter().position(|g| g.label == text));
                    if let (Some(group), Some(colour)) = (group, colour.clone())
                        && !neutral.contains(&colour)
                    {
                        match meaning.iter().find(|m| m.0 == colour) {
                            Some(m) => {
                                assert_eq!(m.1, group, "#{colour} keys {text} in {}", chart.stem)
                            }
                            None => meaning.push((colour, group)),
                        }
                    }
                    let Some(variant) = labels.iter().position(|l| l == text) else {
                        continue;
                    };
                    // A label after a neutral mark (an axis tick) is not keyed by colour.
                    let Some(colour) = colour.filter(|c| !neutral.contains(c)) else {
                        continue;
                    };
                    assert_eq!(
                        colour,
                        hex(palette.colour(variant)),
                        "{}: {text} in {}",
                        fixture.scenario.name,
                        chart.stem
                    );
                    keyed_in[variant].push(chart.stem.clone());
                }
            }
            for (label, charts) in labels.iter().zip(&keyed_in) {
                // Legends of the CDF and the time series, panels of utilization and load.
                assert!(charts.len() >= 3, "{label} keyed only in {charts:?}");
            }
        }
    }

    /// A colour as the SVG backend writes it.
    fn hex(colour: RGBColor) -> String {
        format!("{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2)
    }

    #[test]
    fn the_same_results_give_the_same_bytes() {
        let first = fixtures::swept();
        let second = fixtures::swept();
        let a = scenario_charts(&first.view()).unwrap();
        let b = scenario_charts(&second.view()).unwrap();
        for (a, b) in a.iter().zip(&b) {
            assert!(a.svg().unwrap() == b.svg().unwrap(), "{} differs", a.stem);
        }
    }

    #[test]
    fn png_output_is_a_png_image() {
        let results = fixtures::degenerate();
        let charts = scenario_charts(&results.view()).unwrap();
        let png = charts[0].png().unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(png.len() > 1000);
        assert!(png == charts[0].png().unwrap(), "PNG bytes differ");
    }
}
