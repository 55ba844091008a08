//! Output files. Each builder turns results into bytes; [`writer`] does all file I/O, so a
//! file is either complete or absent.

mod charts;
mod comparison;
mod events_csv;
mod font;
mod html;
mod markdown;
mod narration;
mod servers_csv;
mod stability;
mod summary;
mod summary_csv;
mod terminal;
mod timeseries_csv;
mod variants_csv;
pub mod writer;

use std::io;
use std::path::Path;

use rayon::prelude::*;

use crate::scenario::Scenario;
use crate::stats::RunResult;

pub use charts::RenderedChart;
#[cfg(test)]
pub(crate) use charts::fixtures as charts_fixtures;
pub use narration::{Narration, NarrationFormat};
pub use summary::{SummaryRow, summary_rows};
pub use terminal::terminal_table;

/// The results of one scenario: `runs[variant][replication]`.
pub struct ScenarioResults<'a> {
    pub scenario: &'a Scenario,
    pub runs: Vec<Vec<RunResult>>,
}

/// Choices about what the report writes.
#[derive(Copy, Clone, Debug, Default)]
pub struct ReportOptions {
    /// Also write every chart as a PNG image beside its SVG.
    pub png: bool,
}

/// Writes every output file of one scenario under `out/<name>/` — its CSV files and its
/// charts, drawn in parallel on the current rayon pool — and returns the charts, drawn,
/// for [`write_index`].
pub fn write_scenario(
    out: &Path,
    results: &ScenarioResults<'_>,
    options: &ReportOptions,
) -> io::Result<Vec<RenderedChart>> {
    let dir = out.join(&results.scenario.name);
    let charts = charts::scenario_charts(results)?;
    let (tables, drawn) = rayon::join(
        || write_tables(&dir, results),
        || {
            charts
                .par_iter()
                .map(|chart| {
                    let drawn = chart.render()?;
                    let svg = dir.join(format!("{}.svg", drawn.stem));
                    writer::write_atomically(&svg, drawn.svg.as_bytes())?;
                    if options.png {
                        let png = dir.join(format!("{}.png", drawn.stem));
                        writer::write_atomically(&png, &chart.png()?)?;
                    }
                    Ok(drawn)
                })
                .collect::<io::Result<Vec<RenderedChart>>>()
        },
    );
    tables?;
    drawn
}

/// The CSV files of one scenario.
fn write_tables(dir: &Path, results: &ScenarioResults<'_>) -> io::Result<()> {
    let rows = summary_rows(results);
    let files = [
        ("summary.csv", summary_csv::render(results.scenario, &rows)),
        (
            "variants.csv",
            variants_csv::render(results.scenario, &rows),
        ),
        ("servers.csv", servers_csv::render(results)),
        ("events.csv", events_csv::render(results)),
    ];
    for (name, bytes) in files {
        writer::write_atomically(&dir.join(name), &bytes)?;
    }
    writer::write_atomically_with(&dir.join("timeseries.csv"), |out| {
        timeseries_csv::write(results, out)
    })?;
    Ok(())
}

/// Writes the report over every scenario of a run: `out/index.html` (one self-contained
/// page, charts inline) and `out/report.md` (charts linked from each scenario's folder, as
/// PNG when `options.png`). `charts[i]` are scenario `i`'s charts from [`write_scenario`].
pub fn write_index(
    out: &Path,
    all: &[ScenarioResults<'_>],
    charts: &[Vec<RenderedChart>],
    options: &ReportOptions,
) -> io::Result<()> {
    let page = html::render(all, charts)?;
    let text = markdown::render(all, charts, options);
    writer::write_atomically(&out.join("index.html"), page.as_bytes())?;
    writer::write_atomically(&out.join("report.md"), text.as_bytes())?;
    Ok(())
}

/// Fixed formatting of a float for CSV: the same value always prints the same bytes.
fn fixed(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}
