//! Pieces of page layout every chart uses: the title block, a legend panel at the right
//! (plotters' own legend sits inside the plot, where it hides data and has no room for
//! many entries), a grid of small panels, a colour-scale bar, the warmup band.

use plotters::coord::Shift;
use plotters::coord::ranged1d::ValueFormatter;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::Drawn;
use super::axis::Axis;
use super::style::{INK, MUTED, WARMUP, text};

/// A drawing area, or the error of the backend it draws on.
pub type Area<DB> =
    Result<DrawingArea<DB, Shift>, DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// A 2-D chart of values over time: seconds across, an [`Axis`] up.
pub type TimeChart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Axis>>;

const HEADER_HEIGHT: i32 = 64;

/// Draws the title and the subtitle; returns the area below them.
pub fn header<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    subtitle: &str,
) -> Area<DB> {
    let room = root.dim_in_pixel().0.saturating_sub(40);
    let title = fit(root, title, &text(22, INK), room)?;
    let subtitle = fit(root, subtitle, &text(14, MUTED), room)?;
    root.draw(&Text::new(title, (20, 20), text(22, INK)))?;
    root.draw(&Text::new(subtitle, (20, 46), text(14, MUTED)))?;
    let (_, body) = root.split_vertically(HEADER_HEIGHT);
    Ok(body.margin(4, 12, 8, 12))
}

/// How a legend entry is drawn.
#[derive(Copy, Clone, Debug)]
pub enum Mark {
    /// A thick solid line.
    Line,
    /// A thin, pale line.
    Faint,
    /// A dashed line.
    Dashed,
    /// A filled dot.
    Dot,
    /// A filled square marker.
    Square,
    /// An open circle: a point that is not a steady-state figure.
    Hollow,
    /// A line ending in an arrowhead at its left: an interval cut at the axis.
    Cut,
    /// No mark: the entry is a heading for those below it.
    Heading,
}

/// One row of a legend.
#[derive(Clone, Debug)]
pub struct Entry {
    pub label: String,
    pub colour: RGBColor,
    pub mark: Mark,
}

impl Entry {
    pub fn new(label: impl Into<String>, colour: RGBColor, mark: Mark) -> Self {
        Entry {
            label: label.into(),
            colour,
            mark,
        }
    }

    /// A heading row, in muted text without a mark.
    pub fn heading(label: impl Into<String>) -> Self {
        Entry::new(label, MUTED, Mark::Heading)
    }
}

const LEGEND_FONT: u32 = 13;
const LEGEND_ROW: i32 = 20;
const LEGEND_MARK: i32 = 26;

/// Splits a panel off the right of `area` for `entries` (in columns when they do not fit
/// in one), draws them, and returns the rest of `area`.
pub fn with_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> Area<DB> {
    if entries.is_empty() {
        return Ok(area.clone());
    }
    let (width, height) = area.dim_in_pixel();
    let style = text(LEGEND_FONT, INK);
    let mut widest = 0;
    for entry in entries {
        let mut width = area.estimate_text_size(&entry.label, &style)?.0 as i32;
        if !matches!(entry.mark, Mark::Heading) {
            width += LEGEND_MARK + 6;
        }
        widest = widest.max(width);
    }
    let rows = ((height as i32 - 16) / LEGEND_ROW).max(1) as usize;
    let columns = entries.len().div_ceil(rows) as i32;
    // At most 45% of the chart; labels too long for that are shortened to fit.
    let column_width = (12 + widest + 16).min(width as i32 * 45 / 100 / columns);
    let (rest, legend) = area.split_horizontally(width as i32 - column_width * columns);
    for (i, entry) in entries.iter().enumerate() {
        let x = (i / rows) as i32 * column_width + 12;
        let y = 16 + (i % rows) as i32 * LEGEND_ROW;
        let (indent, colour) = match entry.mark {
            Mark::Heading => (0, MUTED),
            _ => (LEGEND_MARK + 6, INK),
        };
        let room = (column_width - 12 - indent - 8).max(0) as u32;
        let label = fit(&legend, &entry.label, &style, room)?;
        if !matches!(entry.mark, Mark::Heading) {
            draw_mark(&legend, entry, x, y)?;
        }
        legend.draw(&Text::new(
            label,
            (x + indent, y),
            text(LEGEND_FONT, colour),
        ))?;
    }
    Ok(rest)
}

fn draw_mark<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entry: &Entry,
    x: i32,
    y: i32,
) -> Drawn<DB> {
    let colour = entry.colour;
    let end = x + LEGEND_MARK;
    let middle = x + LEGEND_MARK / 2;
    match entry.mark {
        Mark::Line => area.draw(&PathElement::new(
            [(x, y), (end, y)],
            colour.stroke_width(3),
        )),
        Mark::Faint => area.draw(&PathElement::new(
            [(x, y), (end, y)],
            colour.mix(0.5).stroke_width(1),
        )),
        Mark::Dashed => {
            for start in (x..end).step_by(9) {
                area.draw(&PathElement::new(
                    [(start, y), ((start + 5).min(end), y)],
                    colour.stroke_width(2),
                ))?;
            }
            Ok(())
        }
        Mark::Dot => area.draw(&Circle::new((middle, y), 5, colour.filled())),
        Mark::Square => area.draw(&Rectangle::new(
            [(middle - 5, y - 5), (middle + 5, y + 5)],
            colour.filled(),
        )),
        Mark::Hollow => area.draw(&Circle::new((middle, y), 5, colour.stroke_width(2))),
        Mark::Cut => {
            area.draw(&PathElement::new(
                [(x + 2, y), (end, y)],
                colour.stroke_width(2),
            ))?;
            area.draw(&arrowhead((x, y), colour))
        }
        Mark::Heading => Ok(()),
    }
}

/// A small filled triangle pointing left with its tip at `tip`: the mark of an interval
/// that goes on past the axis's start.
pub fn arrowhead(tip: (i32, i32), colour: RGBColor) -> Polygon<(i32, i32)> {
    let (x, y) = tip;
    Polygon::new(
        vec![(x, y), (x + 7, y - 4), (x + 7, y + 4)],
        colour.filled(),
    )
}

/// `label` shortened (its middle replaced by `…`) until it is at most `width` pixels wide
/// in `style`.
pub fn fit<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    style: &TextStyle<'_>,
    width: u32,
) -> Result<String, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chars = label.chars().count();
    let mut fitted = label.to_string();
    while chars > 4 && area.estimate_text_size(&fitted, style)?.0 > width {
        chars -= 1;
        fitted = super::style::shorten(label, chars);
    }
    Ok(fitted)
}

/// Draws a panel's title (fitted to its width) at its top, after a square of `swatch`
/// when the panel stands for a variant of that colour, and `note` under it in small
/// muted text; returns the area below.
pub fn panel_title<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    title: &str,
    note: Option<&str>,
    swatch: Option<RGBColor>,
) -> Area<DB> {
    let (width, _) = panel.dim_in_pixel();
    let style = text(13, INK);
    let mut x = 12;
    if let Some(colour) = swatch {
        panel.draw(&Rectangle::new([(x, 5), (x + 10, 15)], colour.filled()))?;
        x += 16;
    }
    let fitted = fit(panel, title, &style, width.saturating_sub(x as u32 + 12))?;
    panel.draw(&Text::new(fitted, (x, 10), style))?;
    let mut height = 20;
    if let Some(note) = note {
        panel.draw(&Text::new(note.to_string(), (12, 27), text(11, MUTED)))?;
        height += 16;
    }
    Ok(panel.split_vertically(height).1)
}

/// Splits `area` into `count` panels, at most `max_columns` side by side, row by row.
pub fn grid<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    count: usize,
    max_columns: usize,
) -> Vec<DrawingArea<DB, Shift>> {
    let columns = count.clamp(1, max_columns.max(1));
    let rows = count.div_ceil(columns).max(1);
    let mut panels = area.split_evenly((rows, columns));
    panels.truncate(count);
    panels
}

/// Height in pixels of a chart with `rows` rows of panels each `panel_height` high.
pub fn grid_height(rows: usize, panel_height: u32) -> u32 {
    HEADER_HEIGHT as u32 + 16 + rows as u32 * panel_height
}

const SCALE_WIDTH: i32 = 96;

/// Splits a colour-scale bar for values 0..=1 off the right of `area`, labelled
/// `label`, coloured by `colour_of`; returns the rest of `area`.
pub fn with_colour_scale<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    label: &str,
    colour_of: fn(f64) -> RGBColor,
) -> Area<DB> {
    let (width, height) = area.dim_in_pixel();
    let (rest, scale) = area.split_horizontally(width as i32 - SCALE_WIDTH);
    let (top, bottom) = (34, height as i32 - 44);
    let (left, right) = (14, 34);
    scale.draw(&Text::new(label.to_string(), (8, 14), text(13, INK)))?;
    const STEPS: i32 = 50;
    let span = (bottom - top).max(STEPS);
    for step in 0..STEPS {
        let y0 = bottom - span * step / STEPS;
        let y1 = bottom - span * (step + 1) / STEPS;
        let value = (f64::from(step) + 0.5) / f64::from(STEPS);
        scale.draw(&Rectangle::new(
            [(left, y1), (right, y0)],
            colour_of(value).filled(),
        ))?;
    }
    scale.draw(&Rectangle::new(
        [(left, bottom - span), (right, bottom)],
        MUTED,
    ))?;
    for tick in 0..=4 {
        let value = f64::from(tick) / 4.0;
        let y = bottom - (f64::from(span) * value).round() as i32;
        scale.draw(&PathElement::new([(right, y), (right + 4, y)], MUTED))?;
        scale.draw(&Text::new(
            format!("{value:.2}"),
            (right + 8, y),
            text(12, INK),
        ))?;
    }
    Ok(rest)
}

/// Greys out the warmup, `0..warmup_s` on the x axis, whose requests are not measured.
pub fn shade_warmup<DB: DrawingBackend>(chart: &mut TimeChart<'_, DB>, warmup_s: f64) -> Drawn<DB> {
    if warmup_s <= 0.0 {
        return Ok(());
    }
    let y = chart.y_range();
    let x_end = warmup_s.min(chart.x_range().end);
    chart.draw_series(std::iter::once(Rectangle::new(
        [(0.0, y.start), (x_end, y.end)],
        WARMUP.filled(),
    )))?;
    chart.draw_series(std::iter::once(Text::new(
        "warmup",
        (0.0, y.end),
        text(11, MUTED).pos(Pos::new(HPos::Left, VPos::Top)),
    )))?;
    Ok(())
}

/// The space of a panel over simulated time, on `area`: 0 to `x_end` s against `y`, with
/// `margin` pixels around it and `x_labels` pixels for the x axis's labels, the warmup
/// shaded, and the mesh drawn with `y_desc` (and `x_desc` under the axis, when given),
/// numbers in the charts' style.
pub fn time_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    x_end: f64,
    y: Axis,
    warmup_s: f64,
    (margin, x_labels): (u32, u32),
    y_desc: &str,
    x_desc: Option<&str>,
) -> Result<TimeChart<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let mut chart = ChartBuilder::on(area)
        .margin(margin)
        .x_label_area_size(x_labels)
        .y_label_area_size(64)
        .build_cartesian_2d(0.0..x_end, y)?;
    shade_warmup(&mut chart, warmup_s)?;
    let mut grid = mesh(&mut chart);
    if let Some(x_desc) = x_desc {
        grid.x_desc(x_desc);
    }
    grid.y_desc(y_desc)
        .x_label_formatter(&|v| super::style::number(*v))
        .y_label_formatter(&|v| super::style::number(*v))
        .draw()?;
    Ok(chart)
}

/// Mesh styling shared by the numeric charts: a light grid, no minor lines, readable
/// labels and axis descriptions.
pub fn mesh<'a, 'b, DB, X, Y>(
    chart: &'b mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> plotters::chart::MeshStyle<'a, 'b, X, Y, DB>
where
    DB: DrawingBackend,
    X: Ranged + ValueFormatter<X::ValueType>,
    Y: Ranged + ValueFormatter<Y::ValueType>,
{
    let mut mesh = chart.configure_mesh();
    mesh.bold_line_style(super::style::GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(MUTED)
        .label_style(text(12, INK))
        .axis_desc_style(text(14, INK));
    mesh
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::font;

    #[test]
    fn long_legend_labels_are_shortened_to_stay_inside_the_chart() {
        font::ensure_registered().unwrap();
        let long = "a-very-long-variant-label-".repeat(8);
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (600, 300)).into_drawing_area();
            let rest = with_legend(&root, &[Entry::new(long.clone(), INK, Mark::Line)]).unwrap();
            assert!(rest.dim_in_pixel().0 >= 600 * 55 / 100);
            root.present().unwrap();
        }
        let label = svg
            .lines()
            .find(|l| l.starts_with("a-very"))
            .expect("the label is drawn");
        assert!(label.contains('…') && label.len() < long.len(), "{label}");
        let x: i32 = svg
            .split("<text x=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .and_then(|x| x.parse().ok())
            .unwrap();
        let mut scratch = String::new();
        let root = SVGBackend::with_string(&mut scratch, (600, 300)).into_drawing_area();
        let width = root
            .estimate_text_size(label, &text(LEGEND_FONT, INK))
            .unwrap()
            .0;
        assert!(x + width as i32 <= 600, "{x} + {width}");
    }
}
