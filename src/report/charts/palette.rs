//! One colour per variant, the same in every chart of a scenario.
//!
//! Variants are grouped by their swept values other than those of one numeric key, the
//! *shade key* (the last swept key whose values are all numbers, at least two of them
//! different: `workload.rate` in `balancer.algorithm × workload.rate`), and of the keys
//! that vary together with it (`[sweep] together`). Each group gets a hue; within a group
//! the shade key's values go from light to dark, so `round-robin, 300` is a light blue,
//! `round-robin, 980` a dark one, and `least-connections, 980` a dark orange — wherever
//! they appear. A chart whose lines are groups (latency against the shade key)
//! draws each line in its group's hue and each point in its variant's shade. Without a
//! numeric key every variant is a group of its own and gets its own hue.
//!
//! With more than [`MAX_LINES`] variants and more than one group, charts of overlapping
//! lines draw one panel per group rather than a tangle of lines ([`Palette::panels`]).

use plotters::prelude::*;

use super::style::{MAX_VALUE_CHARS, shorten};
use crate::scenario::Scenario;

/// Tableau 10 (distinct hues that stay apart for colour-blind readers and on paper), then
/// fourteen colours each picked as far as possible (CIE Lab) from all before it.
const CATEGORICAL: [RGBColor; 24] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0xe1, 0x57, 0x59),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0xff, 0x9d, 0xa7),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xba, 0xb0, 0xac),
    RGBColor(0x29, 0x29, 0xe0),
    RGBColor(0xe0, 0x29, 0xc2),
    RGBColor(0x29, 0xe0, 0x29),
    RGBColor(0x12, 0x24, 0x7d),
    RGBColor(0x7d, 0x12, 0x47),
    RGBColor(0xba, 0xe8, 0x5e),
    RGBColor(0x5e, 0x75, 0xe8),
    RGBColor(0x7d, 0x6b, 0x12),
    RGBColor(0x5e, 0xe8, 0xba),
    RGBColor(0xe0, 0x29, 0x85),
    RGBColor(0x24, 0x6b, 0x53),
    RGBColor(0x7d, 0x24, 0x12),
    RGBColor(0x7d, 0x12, 0x7d),
    RGBColor(0xd1, 0x75, 0xd1),
];

/// Most lines drawn over one another in one panel; more variants in several groups get a
/// panel per group.
pub const MAX_LINES: usize = 8;

/// The `index`th categorical colour: the table above, then hues a golden angle apart.
pub fn colour(index: usize) -> RGBColor {
    if let Some(&c) = CATEGORICAL.get(index) {
        return c;
    }
    let hue = (index as f64 * 0.381_966_011_250_105).fract();
    let lightness = if index.is_multiple_of(2) { 0.42 } else { 0.58 };
    let (r, g, b) = HSLColor(hue, 0.62, lightness).rgb();
    RGBColor(r, g, b)
}

/// `base` lightened (`t` near 0) or darkened (`t` near 1); `t = 0.5` is about `base`.
pub fn shade(base: RGBColor, t: f64) -> RGBColor {
    let offset = 0.5 - t.clamp(0.0, 1.0);
    let (target, amount) = if offset > 0.0 {
        (255.0, offset * 1.1)
    } else {
        (0.0, -offset * 0.9)
    };
    let mix = |c: u8| (f64::from(c) + (target - f64::from(c)) * amount).round() as u8;
    RGBColor(mix(base.0), mix(base.1), mix(base.2))
}

/// Variants that share every swept value but the shade key's.
#[derive(Clone, Debug)]
pub struct Group {
    /// The shared values (`round-robin`), or the variant's label for a group of one.
    pub label: String,
    /// In sweep order.
    pub variants: Vec<usize>,
    /// The group's hue: each variant's colour is a shade of it.
    pub colour: RGBColor,
}

/// The colours of one scenario's variants.
#[derive(Clone, Debug)]
pub struct Palette {
    colours: Vec<RGBColor>,
    /// Per variant: where its shade key's value ranks in its group, from 0 (lightest) to
    /// 1 (darkest); 0.5 when its group has one value.
    shades: Vec<f64>,
    groups: Vec<Group>,
}

impl Palette {
    pub fn new(scenario: &Scenario) -> Self {
        let count = scenario.variants.len();
        let shade_key = shade_key(scenario);
        let mut groups: Vec<(Vec<&str>, Group)> = Vec::new();
        for (index, variant) in scenario.variants.iter().enumerate() {
            let others: Vec<&str> = variant
                .values
                .iter()
                .enumerate()
                .filter(|&(k, _)| shade_key.is_none_or(|s| !scenario.varies_with(k, s)))
                .map(|(_, v)| v.as_str())
                .collect();
            let found = match shade_key {
                Some(_) => groups.iter_mut().find(|g| g.0 == others),
                None => None,
            };
            match found {
                Some(group) => group.1.variants.push(index),
                None => {
                    let label = if shade_key.is_some() && !others.is_empty() {
                        others
                            .iter()
                            .map(|v| shorten(v, MAX_VALUE_CHARS))
                            .collect::<Vec<_>>()
                            .join(", ")
                    } else {
                        super::style::variant_label(scenario, index)
                    };
                    let colour = colour(groups.len());
                    groups.push((
                        others,
                        Group {
                            label,
                            variants: vec![index],
                            colour,
                        },
                    ));
                }
            }
        }
        let groups: Vec<Group> = groups.into_iter().map(|g| g.1).collect();
        let mut colours = vec![RGBColor(0, 0, 0); count];
        let mut shades = vec![0.5; count];
        for group in &groups {
            let value = |v: usize| -> f64 {
                shade_key
                    .and_then(|k| scenario.variants[v].values[k].trim().parse().ok())
                    .unwrap_or(0.0)
            };
            let mut levels: Vec<f64> = group.variants.iter().map(|&v| value(v)).collect();
            levels.sort_by(f64::total_cmp);
            levels.dedup();
            for &v in &group.variants {
                if levels.len() >= 2 {
                    let rank = levels.iter().position(|&l| l == value(v)).unwrap_or(0);
                    shades[v] = rank as f64 / (levels.len() - 1) as f64;
                    colours[v] = shade(group.colour, shades[v]);
                } else {
                    colours[v] = group.colour;
                }
            }
        }
        Palette {
            colours,
            shades,
            groups,
        }
    }

    /// The colour of variant `variant`.
    pub fn colour(&self, variant: usize) -> RGBColor {
        self.colours
            .get(variant)
            .copied()
            .unwrap_or_else(|| colour(variant))
    }

    /// How dark variant `variant`'s shade of its group's hue is, from 0 to 1 (see
    /// [`shade`]): where its shade key's value ranks among its group's.
    pub fn shade_of(&self, variant: usize) -> f64 {
        self.shades.get(variant).copied().unwrap_or(0.5)
    }

    /// The groups, in order of their first variant.
    pub fn groups(&self) -> &[Group] {
        &self.groups
    }

    /// How charts of overlapping lines split the variants into panels: one per group when
    /// there are too many lines for one, else a single panel of every variant.
    pub fn panels(&self) -> Vec<Vec<usize>> {
        let count = self.colours.len();
        if count > MAX_LINES && self.groups.len() > 1 {
            self.groups.iter().map(|g| g.variants.clone()).collect()
        } else {
            vec![(0..count).collect()]
        }
    }

    /// The title and swatch of the panel holding `variants`: their group's label and
    /// hue, when it is one group among several.
    pub fn panel_key(&self, variants: &[usize]) -> Option<(String, RGBColor)> {
        if self.groups.len() < 2 {
            return None;
        }
        self.groups
            .iter()
            .find(|g| g.variants == variants)
            .map(|g| (g.label.clone(), g.colour))
    }
}

/// The last swept key whose values are all finite numbers, not all equal.
fn shade_key(scenario: &Scenario) -> Option<usize> {
    (0..scenario.swept_keys.len()).rev().find(|&key| {
        let values: Option<Vec<f64>> = scenario
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
            .collect();
        values.is_some_and(|values| values.iter().any(|&x| x != values[0]))
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    /// CIE 1976 L*a*b* of an sRGB colour (D65 white).
    fn lab(c: RGBColor) -> [f64; 3] {
        let linear = |u: u8| {
            let u = f64::from(u) / 255.0;
            if u <= 0.04045 {
                u / 12.92
            } else {
                ((u + 0.055) / 1.055).powf(2.4)
            }
        };
        let (r, g, b) = (linear(c.0), linear(c.1), linear(c.2));
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let f = |t: f64| {
            if t > 0.008856 {
                t.cbrt()
            } else {
                7.787 * t + 16.0 / 116.0
            }
        };
        let (fx, fy, fz) = (f(x), f(y), f(z));
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
    }

    fn delta_e(a: RGBColor, b: RGBColor) -> f64 {
        let (a, b) = (lab(a), lab(b));
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
    }

    #[test]
    fn the_first_24_hues_are_clearly_apart() {
        // ΔE*76 above about 20 reads as a different colour at a glance, not a variation;
        // Tableau 10's closest pair (teal and grey) is 25.9 apart.
        for i in 0..24 {
            for j in i + 1..24 {
                let d = delta_e(colour(i), colour(j));
                assert!(d > 25.0, "colours {i} and {j}: ΔE {d:.1}");
            }
        }
        let beyond: Vec<RGBColor> = (24..48).map(colour).collect();
        for (i, a) in beyond.iter().enumerate() {
            assert!(beyond[i + 1..].iter().all(|b| b != a));
        }
    }

    #[test]
    fn shades_run_from_light_to_dark_through_the_hue() {
        let base = colour(0);
        let lightness = |c: RGBColor| lab(c)[0];
        let ramp: Vec<f64> = (0..=8)
            .map(|i| lightness(shade(base, i as f64 / 8.0)))
            .collect();
        assert!(ramp.windows(2).all(|w| w[0] > w[1] + 2.0), "{ramp:?}");
        assert!(delta_e(shade(base, 0.5), base) < 3.0);
    }

    #[test]
    fn a_numeric_key_shades_the_groups_of_the_others() {
        let results = fixtures::swept();
        let palette = Palette::new(&results.scenario);
        // Variants: round-robin 150, 300; least-connections 150, 300.
        let labels: Vec<&str> = palette.groups().iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["round-robin", "least-connections"]);
        assert_eq!(palette.groups()[1].variants, [2, 3]);
        assert_eq!(palette.colour(0), shade(colour(0), 0.0));
        assert_eq!(palette.colour(1), shade(colour(0), 1.0));
        assert_eq!(palette.colour(3), shade(colour(1), 1.0));
        assert_eq!(
            palette.panels(),
            [vec![0, 1, 2, 3]],
            "four lines fit in one panel"
        );
    }

    #[test]
    fn keys_that_vary_with_the_shade_key_do_not_split_its_groups() {
        let results = fixtures::linked();
        let palette = Palette::new(&results.scenario);
        // Variants: (4, speed 1) round-robin, least-connections; (1, speed 4) the same.
        // The shade key is servers.0.speed; servers.0.count moves with it.
        let labels: Vec<&str> = palette.groups().iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels, ["round-robin", "least-connections"]);
        assert_eq!(palette.groups()[0].variants, [0, 2]);
        assert_eq!(palette.colour(0), shade(colour(0), 0.0));
        assert_eq!(palette.colour(2), shade(colour(0), 1.0));
    }

    #[test]
    fn without_a_numeric_key_every_variant_is_a_hue() {
        let results = fixtures::wide();
        let palette = Palette::new(&results.scenario);
        assert_eq!(palette.groups().len(), 8);
        for v in 0..8 {
            assert_eq!(palette.colour(v), colour(v));
        }
        assert_eq!(
            palette.panels().len(),
            1,
            "one group per variant: no small multiples"
        );
    }

    #[test]
    fn many_variants_in_groups_get_a_panel_per_group() {
        let results = fixtures::knee();
        let palette = Palette::new(&results.scenario);
        let panels = palette.panels();
        assert_eq!(panels.len(), 2);
        assert!(panels.iter().all(|p| p.len() == 5));
        let key = palette.panel_key(&panels[1]).unwrap();
        assert_eq!(key, ("least-connections".to_string(), colour(1)));
    }
}
