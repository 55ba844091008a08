//! index.html: the whole run as one self-contained page, to open from disk or mail around.
//! The CSS is inline and the charts are inlined as SVG markup, so it needs no network, no
//! server and no other file. Per scenario: its description, the comparison table with the
//! best variant of each column marked and unstable variants flagged (by the rules of
//! `comparison` and `stability`, stated under the table), and every chart. Every string
//! from the user (names, descriptions, swept values) is HTML-escaped; the charts' own text
//! is escaped by the SVG backend.

use std::fmt::Write;
use std::io;

use super::charts::RenderedChart;
use super::comparison::{BEST_RULE, COLUMNS, Comparison};
use super::{ScenarioResults, stability, summary_rows};

const STYLE: &str = "
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, 'Segoe UI', Roboto, 'DejaVu Sans', sans-serif;
  margin: 0 auto; max-width: 1080px; padding: 1.5rem; color: #222; background: #fff;
  line-height: 1.45; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 3rem; padding-top: 1rem; border-top: 2px solid #e4e4e4; }
.meta, .note { color: #666; font-size: 0.9rem; }
nav li { margin: 0.2rem 0; }
.table { overflow-x: auto; }
table { border-collapse: collapse; font-size: 0.9rem; margin: 0.5rem 0; }
th, td { padding: 0.3rem 0.6rem; border-bottom: 1px solid #e4e4e4; white-space: nowrap; }
th { text-align: left; background: #f6f6f6; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fafafa; }
td.best { font-weight: bold; background: #e3f1e0; }
tr.unstable td { color: #9b1c1c; }
td.flag { font-weight: bold; }
figure { margin: 1.5rem 0; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: #666; font-size: 0.85rem; }
";

/// The page for `all` scenarios of a run.
pub fn render(all: &[ScenarioResults<'_>], charts: &[Vec<RenderedChart>]) -> io::Result<String> {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>lbsim report</title>\n",
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>\n<header>");
    out.push_str("<h1>lbsim report</h1>\n");
    let _ = writeln!(
        out,
        "<p class=\"meta\">{} scenario{}, simulated by lbsim {}.</p>",
        all.len(),
        if all.len() == 1 { "" } else { "s" },
        env!("CARGO_PKG_VERSION")
    );
    out.push_str("<nav>\n<ul>\n");
    for results in all {
        let scenario = results.scenario;
        let _ = write!(
            out,
            "<li><a href=\"#{}\">{}</a>",
            anchor(&scenario.name),
            escape(&scenario.name)
        );
        if !scenario.description.is_empty() {
            let _ = write!(out, ": {}", escape(&scenario.description));
        }
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n</nav>\n</header>\n<main>\n");
    for (results, charts) in all.iter().zip(charts) {
        scenario_section(&mut out, results, charts)?;
    }
    out.push_str("</main>\n</body>\n</html>\n");
    Ok(out)
}

fn scenario_section(
    out: &mut String,
    results: &ScenarioResults<'_>,
    charts: &[RenderedChart],
) -> io::Result<()> {
    let scenario = results.scenario;
    let name = escape(&scenario.name);
    let _ = writeln!(
        out,
        "<section id=\"{}\">\n<h2>{name}</h2>",
        anchor(&scenario.name)
    );
    if !scenario.description.is_empty() {
        let _ = writeln!(out, "<p>{}</p>", escape(&scenario.description));
    }
    let table = Comparison::new(scenario, &summary_rows(results));
    let _ = write!(
        out,
        "<p class=\"meta\">{} variant{} × {} replication{}, seed {}. Data:",
        table.rows.len(),
        if table.rows.len() == 1 { "" } else { "s" },
        table.replications,
        if table.replications == 1 { "" } else { "s" },
        scenario.seed,
    );
    let files = [
        "summary.csv",
        "variants.csv",
        "servers.csv",
        "timeseries.csv",
        "events.csv",
    ]
    .map(|file| format!("<a href=\"{name}/{file}\">{file}</a>"));
    let _ = write!(out, " {}", files.join(" · "));
    out.push_str("</p>\n");

    out.push_str("<div class=\"table\">\n<table>\n<thead>\n<tr>");
    for heading in &table.key_headings {
        let _ = write!(out, "<th>{}</th>", escape(heading));
    }
    for column in &COLUMNS {
        let _ = write!(out, "<th class=\"num\">{}</th>", column.heading);
    }
    out.push_str("<th>steady state</th></tr>\n</thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str(if row.unstable {
            "<tr class=\"unstable\">"
        } else {
            "<tr>"
        });
        for key in &row.keys {
            let _ = write!(out, "<td>{}</td>", escape(key));
        }
        for (cell, column) in row.cells.iter().zip(&COLUMNS) {
            let text = cell.text(column, table.replications);
            if cell.best {
                let _ = write!(out, "<td class=\"num best\" title=\"best\">{text}</td>");
            } else {
                let _ = write!(out, "<td class=\"num\">{text}</td>");
            }
        }
        out.push_str(if row.unstable {
            "<td class=\"flag\">no: unstable</td></tr>\n"
        } else {
            "<td>yes</td></tr>\n"
        });
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    let mut notes = Vec::new();
    if table.any_best() {
        notes.push(format!("Highlighted: {BEST_RULE}."));
    }
    if table.any_unstable() {
        notes.push(format!("Steady state no: {}.", stability::rule()));
    }
    if table.replications > 1 {
        notes.push(format!(
            "Values are means over {} replications ± the half-width of their 95% \
             confidence interval.",
            table.replications
        ));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&notes.join(" ")));
    }

    for chart in charts {
        let _ = write!(
            out,
            "<figure>\n{}<figcaption>{}: <a href=\"{name}/{}.svg\">{}.svg</a></figcaption>\n\
             </figure>\n",
            chart.svg,
            escape(&chart.title),
            chart.stem,
            chart.stem
        );
    }
    out.push_str("</section>\n");
    Ok(())
}

/// The id of a scenario's section (names are `[A-Za-z0-9._-]`, valid in an id as is).
fn anchor(name: &str) -> String {
    format!("scenario-{}", escape(name))
}

/// `text` safe in HTML content and in quoted attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::charts::{fixtures, scenario_charts};
    use super::*;

    fn page() -> String {
        let swept = fixtures::swept();
        let plain = fixtures::without_series();
        let all = [swept.view(), plain.view()];
        let charts: Vec<_> = all.iter().map(fixtures::rendered).collect();
        render(&all, &charts).unwrap()
    }

    #[test]
    fn is_one_well_formed_page_with_every_chart_inline() {
        let html = page();
        assert_eq!(fixtures::assert_balanced_tags(&html, &["meta"]), ["html"]);
        let swept = fixtures::swept();
        let plain = fixtures::without_series();
        let charts = scenario_charts(&swept.view()).unwrap().len()
            + scenario_charts(&plain.view()).unwrap().len();
        assert_eq!(html.matches("<svg ").count(), charts);
    }

    #[test]
    fn needs_nothing_from_outside() {
        let html = page();
        for external in ["src=", "<link", "<script", "@import", "url("] {
            assert!(!html.contains(external), "{external}");
        }
        assert!(!html.contains("href=\"http"));
    }

    #[test]
    fn names_every_scenario_and_variant_and_escapes_user_text() {
        let html = page();
        assert!(html.contains("<h2>swept</h2>"));
        assert!(html.contains("<h2>plain</h2>"));
        assert!(html.contains("Fixture &lt;swept&gt; &amp; friends"));
        assert!(!html.contains("<swept>"));
        for algorithm in ["round-robin", "least-connections"] {
            for rate in ["150", "300"] {
                let row = format!("<tr><td>{algorithm}</td><td>{rate}</td>");
                assert!(html.contains(&row), "{row}");
            }
        }
        assert!(html.contains("<tr><td>base</td>"));
        assert!(html.contains("class=\"num best\""));
    }

    #[test]
    fn an_unstable_variant_is_flagged_in_its_row_and_explained() {
        let runaway = fixtures::runaway();
        let all = [runaway.view()];
        let charts: Vec<_> = all.iter().map(fixtures::rendered).collect();
        let html = render(&all, &charts).unwrap();
        let row = html
            .lines()
            .find(|l| l.starts_with("<tr class=\"unstable\"><td>600</td>"))
            .expect("the overloaded variant's row is flagged");
        assert!(
            row.ends_with("<td class=\"flag\">no: unstable</td></tr>"),
            "{row}"
        );
        assert!(html.contains("<tr><td>100</td>"));
        assert!(html.contains("<th class=\"num\">in flight</th>"));
        assert!(html.contains("queue grew without bound"));
    }

    #[test]
    fn the_same_results_give_the_same_page() {
        assert!(page() == page());
    }

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
