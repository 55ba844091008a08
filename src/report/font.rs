//! The one font every chart uses, compiled into the binary.
//!
//! plotters is built without font-kit, so it knows no system fonts: text can only be
//! measured (SVG) or drawn (PNG) with a font registered by hand. DejaVu Sans (licence in
//! `assets/fonts/`) is embedded so that charts look the same, and have the same bytes,
//! on every machine. [`face`] hands the same font to lbsim's own text setting
//! (`charts::typeset`), which measures and rasterizes it more faithfully than plotters.

use std::io;
use std::sync::OnceLock;

use ab_glyph::FontRef;
use plotters::style::{FontStyle, register_font};

/// The family name charts ask for.
pub const FAMILY: &str = "sans-serif";

static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Registers the embedded font with plotters, once per process; later calls return the
/// outcome of the first.
pub fn ensure_registered() -> io::Result<()> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS)
                .map_err(|_| "the embedded DejaVu Sans font is not a valid font".to_string())
        })
        .clone()
        .map_err(io::Error::other)
}

/// The embedded font, parsed once, for measuring and drawing text outside plotters.
pub fn face() -> io::Result<&'static FontRef<'static>> {
    static FACE: OnceLock<Result<FontRef<'static>, String>> = OnceLock::new();
    FACE.get_or_init(|| {
        FontRef::try_from_slice(DEJAVU_SANS)
            .map_err(|_| "the embedded DejaVu Sans font is not a valid font".to_string())
    })
    .as_ref()
    .map_err(|e| io::Error::other(e.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::Font;

    #[test]
    fn the_embedded_font_registers_and_registering_again_is_harmless() {
        ensure_registered().unwrap();
        ensure_registered().unwrap();
        assert!(face().unwrap().glyph_count() > 1000);
    }
}
