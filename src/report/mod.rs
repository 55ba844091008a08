//! Output files. Each builder turns results into bytes; [`writer`] does all file I/O, so a
//! file is either complete or absent.

mod charts;
mod comparison;
mod font;
mod html;
mod markdown;
mod servers_csv;
mod summary;
mod summary_csv;
mod terminal;
mod timeseries_csv;
mod variants_csv;
pub mod writer;

use std::io;
use std::path::{Path, PathBuf};

use crate::scenario::Scenario;
use crate::stats::RunResult;

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

/// Writes every output file of one scenario under `out/<name>/`, returning their paths.
pub fn write_scenario(
    out: &Path,
    results: &ScenarioResults<'_>,
    options: &ReportOptions,
) -> io::Result<Vec<PathBuf>> {
    let dir = out.join(&results.scenario.name);
    let rows = summary_rows(results);
    let files = [
        ("summary.csv", summary_csv::render(results.scenario, &rows)),
        (
            "variants.csv",
            variants_csv::render(results.scenario, &rows),
        ),
        ("servers.csv", servers_csv::render(results)),
    ];
    let mut written = Vec::with_capacity(files.len() + 1);
    for (name, bytes) in files {
        written.push(writer::write_atomically(&dir.join(name), &bytes)?);
    }
    written.push(writer::write_atomically_with(
        &dir.join("timeseries.csv"),
        |out| timeseries_csv::write(results, out),
    )?);
    for chart in charts::scenario_charts(results)? {
        let svg = chart.svg()?;
        let path = dir.join(format!("{}.svg", chart.stem()));
        written.push(writer::write_atomically(&path, svg.as_bytes())?);
        if options.png {
            let path = dir.join(format!("{}.png", chart.stem()));
            written.push(writer::write_atomically(&path, &chart.png()?)?);
        }
    }
    Ok(written)
}

/// Writes the report over every scenario of a run: `out/index.html` (one self-contained
/// page, charts inline) and `out/report.md` (charts linked from each scenario's folder, as
/// PNG when `options.png`). Returns their paths.
pub fn write_index(
    out: &Path,
    all: &[ScenarioResults<'_>],
    options: &ReportOptions,
) -> io::Result<Vec<PathBuf>> {
    let page = html::render(all)?;
    let text = markdown::render(all, options)?;
    Ok(vec![
        writer::write_atomically(&out.join("index.html"), page.as_bytes())?,
        writer::write_atomically(&out.join("report.md"), text.as_bytes())?,
    ])
}

/// Fixed formatting of a float for CSV: the same value always prints the same bytes.
fn fixed(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}")
}
