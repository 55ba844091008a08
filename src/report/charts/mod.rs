//! Charts: the pictures of a scenario a person looks at rather than reads.
//!
//! Each chart kind lives in its own file and works in two steps: `build` extracts what it
//! shows from the results into plain numbers (testable, and the only place that knows the
//! results' shape), and `draw` paints those numbers on any plotters backend. [`Chart`]
//! renders the same drawing to SVG (always) or PNG (on request), in memory: the report's
//! writer does the file I/O. plotters emits shapes in drawing order and formats numbers the
//! same way every time, so the same results give the same bytes.

mod latency_cdf;
mod latency_over_time;
mod latency_vs_key;
mod layout;
mod server_load;
mod style;
mod utilization;
mod variants;

#[cfg(test)]
pub(super) mod fixtures;

use std::io;

use rayon::prelude::*;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ScenarioResults;
use super::font;

/// The result of drawing on backend `DB`.
type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// One chart of a scenario, ready to render.
pub struct Chart {
    /// File name without extension, `[A-Za-z0-9._-]` only: `latency-cdf`,
    /// `latency-vs-workload.rate`, ...
    stem: String,
    title: String,
    /// One line under the title saying what is shown (which replication, units, ...).
    subtitle: String,
    size: (u32, u32),
    body: Body,
}

enum Body {
    LatencyCdf(latency_cdf::LatencyCdf),
    LatencyOverTime(latency_over_time::LatencyOverTime),
    Utilization(utilization::Utilization),
    ServerLoad(server_load::ServerLoad),
    LatencyVsKey(latency_vs_key::LatencyVsKey),
    Variants(variants::Variants),
}

/// A chart kind's builder: its charts for a scenario (none without the data it needs).
type Builder = fn(&ScenarioResults<'_>) -> io::Result<Vec<Chart>>;

/// Every chart kind, in the order a report shows them.
const BUILDERS: [Builder; 6] = [
    |r| Ok(vec![latency_cdf::build(r)]),
    |r| Ok(latency_over_time::build(r)?.into_iter().collect()),
    |r| Ok(latency_vs_key::build(r)),
    |r| Ok(vec![variants::build(r)]),
    |r| Ok(utilization::build(r)?.into_iter().collect()),
    |r| Ok(vec![server_load::build(r)]),
];

/// Every chart of a scenario, in the order a report shows them, each kind built on the
/// rayon pool (the time-series charts read every run's series back). Charts without data
/// (no time series recorded) are left out.
pub fn scenario_charts(results: &ScenarioResults<'_>) -> io::Result<Vec<Chart>> {
    let kinds = BUILDERS
        .par_iter()
        .map(|build| build(results))
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
            let root = SVGBackend::with_string(&mut out, self.size).into_drawing_area();
            self.draw(&root).map_err(drawing_error)?;
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
            let root = BitMapBackend::with_buffer(&mut pixels, self.size).into_drawing_area();
            self.draw(&root).map_err(drawing_error)?;
            root.present().map_err(drawing_error)?;
        }
        let mut out = Vec::new();
        PngEncoder::new(&mut out)
            .write_image(&pixels, width, height, image::ColorType::Rgb8)
            .map_err(io::Error::other)?;
        Ok(out)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        root.fill(&WHITE)?;
        let body = layout::header(root, &self.title, &self.subtitle)?;
        match &self.body {
            Body::LatencyCdf(chart) => chart.draw(&body),
            Body::LatencyOverTime(chart) => chart.draw(&body),
            Body::Utilization(chart) => chart.draw(&body),
            Body::ServerLoad(chart) => chart.draw(&body),
            Body::LatencyVsKey(chart) => chart.draw(&body),
            Body::Variants(chart) => chart.draw(&body),
        }
    }
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
