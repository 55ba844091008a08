//! Confidence intervals across independent replications (Student's t).

/// Mean and half-width of a 95% confidence interval.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct ConfidenceInterval {
    pub mean: f64,
    /// `mean ± half_width` covers the true mean with 95% confidence; 0 for one sample.
    pub half_width: f64,
}

/// Two-sided 97.5% quantiles of Student's t for 1..=30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The 97.5% quantile of the standard normal distribution.
const Z_975: f64 = 1.959_963_984_540_054;

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile_975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_975[df - 1],
        _ => cornish_fisher(df as f64),
    }
}

/// Student's t quantile from the normal one by the Cornish-Fisher expansion in 1/df
/// (Abramowitz & Stegun 26.7.5, five terms): within 1e-5 of the exact value from 30
/// degrees of freedom on, where a linear interpolation towards 1.96 is off by 1e-3.
fn cornish_fisher(df: f64) -> f64 {
    let z = Z_975;
    let (z3, z5, z7, z9) = (z.powi(3), z.powi(5), z.powi(7), z.powi(9));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df.powi(2))
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
        + (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / (92160.0 * df.powi(4))
}

/// The 95% confidence interval of the mean of `samples`.
pub fn confidence_interval(samples: &[f64]) -> ConfidenceInterval {
    let n = samples.len();
    if n == 0 {
        return ConfidenceInterval {
            mean: 0.0,
            half_width: 0.0,
        };
    }
    let mean = samples.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return ConfidenceInterval {
            mean,
            half_width: 0.0,
        };
    }
    let variance = samples.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    ConfidenceInterval {
        mean,
        half_width: t_quantile_975(n - 1) * (variance / n as f64).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_of_known_samples() {
        let ci = confidence_interval(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(ci.mean, 3.0);
        // s = sqrt(2.5), t(4) = 2.776: half width = 2.776 * sqrt(2.5 / 5).
        assert!((ci.half_width - 2.776 * 0.5f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn one_sample_has_no_width() {
        assert_eq!(confidence_interval(&[7.0]).half_width, 0.0);
    }

    #[test]
    fn t_quantiles_match_a_published_table() {
        // Two-sided 95% critical values of Student's t as printed in statistics tables
        // (NIST/SEMATECH e-Handbook 1.3.6.7.2), rounded to three decimals.
        let table = [
            (1, 12.706),
            (2, 4.303),
            (3, 3.182),
            (5, 2.571),
            (10, 2.228),
            (20, 2.086),
            (30, 2.042),
            (31, 2.040),
            (40, 2.021),
            (50, 2.009),
            (60, 2.000),
            (80, 1.990),
            (100, 1.984),
            (120, 1.980),
            (1000, 1.962),
        ];
        for (df, printed) in table {
            let t = t_quantile_975(df);
            // Half a unit of the printed third decimal, plus 1e-4 for the expansion.
            assert!(
                (t - printed).abs() <= 0.0005 + 1e-4,
                "df {df}: {t} vs {printed}"
            );
        }
    }

    #[test]
    fn t_quantiles_fall_towards_the_normal_without_a_step_at_30() {
        assert_eq!(t_quantile_975(0), f64::INFINITY);
        for df in 1..2000 {
            assert!(t_quantile_975(df + 1) < t_quantile_975(df), "df {df}");
        }
        // The table's last entry and the expansion's first agree to the table's rounding.
        assert!((cornish_fisher(30.0) - t_quantile_975(30)).abs() < 0.0005);
        assert!((t_quantile_975(1_000_000) - Z_975).abs() < 1e-5);
    }
}
