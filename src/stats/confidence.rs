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

/// The 97.5% quantile of Student's t with `df` degrees of freedom.
pub fn t_quantile_975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_975[df - 1],
        // Beyond 30 the t distribution is within 1.5% of the normal; interpolate in 1/df.
        _ => 1.960 + (2.042 - 1.960) * 30.0 / df as f64,
    }
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
    fn t_quantiles_approach_the_normal() {
        assert!(t_quantile_975(1000) > 1.96 && t_quantile_975(1000) < 1.965);
        assert!(t_quantile_975(31) < t_quantile_975(30));
    }
}
