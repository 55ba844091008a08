//! Text set by lbsim rather than by plotters: a backend wrapper that measures text with
//! the embedded font at the size the SVG shows it, and, on a bitmap, draws every glyph at
//! its pen position, bearing included.
//!
//! plotters' own bitmap text places each glyph's ink box at the integer pen position,
//! dropping the left-side bearing and rounding the pen at every letter, so narrow letters
//! crowd and wide ones drift apart ("r esponse"); it also draws at a size 1.24 times the
//! one its SVG backend writes, so PNG and SVG charts differed. Here both follow the SVG's
//! rules: the em is `size / 1.24` pixels, and a text is anchored as SVG anchors it (its
//! baseline `0.76em` below a top anchor, `0.5ex` below a middle one, `0.5ex` above a bottom
//! one). Everything else is passed to the wrapped backend unchanged.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

use crate::report::font;

/// plotters asks for text of `size` and its SVG backend writes `font-size: size / 1.24`.
const EM_PER_SIZE: f32 = 1.0 / 1.24;

/// A backend whose text lbsim measures (and, for bitmaps, draws).
pub struct Typeset<B> {
    inner: B,
    /// Draw glyphs as pixels (a bitmap); otherwise the backend writes text elements.
    rasterize: bool,
}

impl<B: DrawingBackend> Typeset<B> {
    /// Text measured here and written by `inner` as text (an SVG document).
    pub fn vector(inner: B) -> Self {
        Typeset {
            inner,
            rasterize: false,
        }
    }

    /// Text measured and drawn here, pixel by pixel, on `inner` (a bitmap).
    pub fn raster(inner: B) -> Self {
        Typeset {
            inner,
            rasterize: true,
        }
    }
}

/// A line of text laid out at one size: each glyph with its pen position, and the advance
/// of the whole line.
struct Line {
    glyphs: Vec<(GlyphId, f32)>,
    width: f32,
}

/// The font's pixel scale for an em of `em` pixels: ab_glyph scales by line height
/// (ascent - descent), CSS and SVG by the em.
fn scale(face: &FontRef<'_>, em: f32) -> PxScale {
    let units = face.units_per_em().unwrap_or(2048.0);
    PxScale::from(em * face.height_unscaled() / units)
}

/// `text` laid out left to right from 0: advances plus kerning, no rounding.
fn lay_out(face: &FontRef<'static>, scale: PxScale, text: &str) -> Line {
    let scaled = face.as_scaled(scale);
    let mut glyphs = Vec::with_capacity(text.len());
    let mut pen = 0.0f32;
    let mut previous: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            pen += scaled.kern(previous, id);
        }
        glyphs.push((id, pen));
        pen += scaled.h_advance(id);
        previous = Some(id);
    }
    Line { glyphs, width: pen }
}

/// The height of a lowercase `x` as a fraction of the em: CSS's `ex`.
fn ex(face: &FontRef<'_>) -> f32 {
    let units = face.units_per_em().unwrap_or(2048.0);
    face.outline(face.glyph_id('x'))
        .map_or(0.5, |outline| outline.bounds.max.y / units)
}

fn font_error<E: std::error::Error + Send + Sync>(error: std::io::Error) -> DrawingErrorKind<E> {
    DrawingErrorKind::FontError(Box::new(error))
}

impl<B: DrawingBackend> DrawingBackend for Typeset<B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<S: BackendTextStyle>(
        &self,
        text: &str,
        style: &S,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let face = font::face().map_err(font_error)?;
        let em = style.size() as f32 * EM_PER_SIZE;
        let line = lay_out(face, scale(face, em), text);
        Ok((line.width.ceil() as u32, em.ceil() as u32))
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        if !self.rasterize {
            return self.inner.draw_text(text, style, pos);
        }
        let colour = style.color();
        if colour.alpha == 0.0 {
            return Ok(());
        }
        let face = font::face().map_err(font_error)?;
        let em = style.size() as f32 * EM_PER_SIZE;
        let scale = scale(face, em);
        let line = lay_out(face, scale, text);
        let anchor = style.anchor();
        let left = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -line.width / 2.0,
            HPos::Right => -line.width,
        };
        let half_ex = 0.5 * ex(face) * em;
        let baseline = match anchor.v_pos {
            VPos::Top => 0.76 * em,
            VPos::Center => half_ex,
            VPos::Bottom => -half_ex,
        };
        let transform = style.transform();
        let (width, height) = self.get_size();
        let mut coverage = Vec::new();
        for &(id, pen) in &line.glyphs {
            let glyph = id.with_scale_and_position(scale, point(left + pen, baseline));
            let Some(outline) = face.outline_glyph(glyph) else {
                continue;
            };
            let bounds = outline.px_bounds();
            coverage.clear();
            outline.draw(|x, y, c| coverage.push((x, y, c)));
            for &(x, y, c) in &coverage {
                if c <= 0.0 {
                    continue;
                }
                let (x, y) = transform.transform(
                    bounds.min.x as i32 + x as i32,
                    bounds.min.y as i32 + y as i32,
                );
                let (x, y) = (pos.0 + x, pos.1 + y);
                if x >= 0 && y >= 0 && x < width as i32 && y < height as i32 {
                    let ink = BackendColor {
                        alpha: colour.alpha * f64::from(c.min(1.0)),
                        rgb: colour.rgb,
                    };
                    self.inner.draw_pixel((x, y), ink)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plotters::prelude::*;

    /// The text's ink as columns: for each pixel column of a 200×40 bitmap, whether any
    /// pixel in it is darker than white.
    fn ink_columns(text: &str) -> Vec<bool> {
        font::ensure_registered().unwrap();
        let (w, h) = (200u32, 40u32);
        let mut pixels = vec![255u8; (w * h * 3) as usize];
        {
            let backend = Typeset::raster(BitMapBackend::with_buffer(&mut pixels, (w, h)));
            let root = backend.into_drawing_area();
            root.draw(&Text::new(
                text.to_string(),
                (10, 20),
                super::super::style::text(24, BLACK),
            ))
            .unwrap();
            root.present().unwrap();
        }
        (0..w as usize)
            .map(|x| (0..h as usize).any(|y| pixels[(y * w as usize + x) * 3] < 200))
            .collect()
    }

    /// Runs of blank columns between inked ones: the gaps between letters.
    fn gaps(columns: &[bool]) -> Vec<usize> {
        let first = columns.iter().position(|&c| c).unwrap();
        let last = columns.iter().rposition(|&c| c).unwrap();
        let mut gaps = Vec::new();
        let mut run = 0;
        for &inked in &columns[first..=last] {
            if inked {
                if run > 0 {
                    gaps.push(run);
                }
                run = 0;
            } else {
                run += 1;
            }
        }
        gaps
    }

    #[test]
    fn letters_keep_their_bearings_so_gaps_between_them_are_even() {
        // "lllll": identical glyphs one advance apart. Dropping each bearing or rounding
        // each pen position makes the gaps differ; laid out exactly they differ by at most
        // the one pixel that anti-aliasing at a fractional position can add or take.
        let even = gaps(&ink_columns("lllll"));
        assert_eq!(even.len(), 4, "{even:?}");
        let (min, max) = (even.iter().min().unwrap(), even.iter().max().unwrap());
        assert!(max - min <= 1, "{even:?}");
        // "ri": plotters drew the i against the r (no bearing): here a gap remains.
        assert!(!gaps(&ink_columns("ri")).is_empty());
    }

    #[test]
    fn measured_width_is_the_drawn_width() {
        font::ensure_registered().unwrap();
        let columns = ink_columns("response time");
        let first = columns.iter().position(|&c| c).unwrap();
        let last = columns.iter().rposition(|&c| c).unwrap();
        let mut svg = String::new();
        let backend = Typeset::vector(SVGBackend::with_string(&mut svg, (200, 40)));
        let style = super::super::style::text(24, BLACK);
        let (measured, height) = backend.estimate_text_size("response time", &style).unwrap();
        // The ink spans the advances less the first and last bearings (a pixel or two).
        let inked = (last - first + 1) as u32;
        assert!(
            inked <= measured && measured <= inked + 4,
            "{inked} vs {measured}"
        );
        assert_eq!(height, (24.0f32 / 1.24).ceil() as u32);
    }
}
