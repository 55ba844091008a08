//! Service demand: the work each request brings, drawn when its arrival is scheduled.
//!
//! Work is drawn per request, not per server, from its own stream: every variant of a
//! scenario then sees the very same requests (common random numbers), so differences
//! between algorithms are not drowned in sampling noise, and a trace that carries its own
//! service times fits the same model.

use rand_distr::{Distribution, LogNormal, Pareto, Uniform};

use super::spec::ServiceDist;
use crate::engine::{SimDuration, SimRng, exponential};

enum Sampler {
    Constant(SimDuration),
    /// A standard exponential draw times this mean, in nanoseconds: `rand_distr`'s
    /// `Exp::new(1 / mean)` draws exactly this (`Exp1` times its `lambda_inverse`, the
    /// mean's reciprocal's reciprocal), with `Exp1` inlined into the draw.
    Exponential(f64),
    Uniform(Uniform<f64>),
    LogNormal(LogNormal<f64>),
    Pareto(Pareto<f64>),
}

/// Draws work in nanoseconds from a validated [`ServiceDist`].
pub struct ServiceSampler {
    sampler: Sampler,
    rng: SimRng,
}

impl ServiceSampler {
    pub fn new(dist: &ServiceDist, rng: SimRng) -> Self {
        let ns = |d: SimDuration| d.as_nanos() as f64;
        // Validation guarantees positive means, cv >= 0, shape > 1 and min <= max, for which
        // these constructors cannot fail.
        let sampler = match *dist {
            ServiceDist::Constant { mean } => Sampler::Constant(mean),
            ServiceDist::Exponential { mean } => Sampler::Exponential(1.0 / (1.0 / ns(mean))),
            ServiceDist::Uniform { min, max } => Sampler::Uniform(
                Uniform::new_inclusive(ns(min), ns(max)).expect("validated min <= max"),
            ),
            ServiceDist::LogNormal { mean, cv } => Sampler::LogNormal(
                LogNormal::from_mean_cv(ns(mean), cv).expect("validated mean > 0, cv >= 0"),
            ),
            ServiceDist::Pareto { mean, shape } => Sampler::Pareto(
                // (α-1)/α first: for a huge α, mean × (α-1) alone would overflow.
                Pareto::new(ns(mean) * ((shape - 1.0) / shape), shape)
                    .expect("validated mean > 0, shape > 1"),
            ),
        };
        ServiceSampler { sampler, rng }
    }

    /// The next request's work. The exponential, the reference model's, is drawn inline;
    /// the others out of line.
    #[inline(always)]
    pub fn sample(&mut self) -> SimDuration {
        if let Sampler::Exponential(mean) = self.sampler {
            return SimDuration::from_nanos_f64(exponential(&mut self.rng, mean));
        }
        self.sample_other()
    }

    /// The draw of any distribution: out of line, so that the exponential's inlined
    /// draw brings only itself into its callers.
    #[inline(never)]
    fn sample_other(&mut self) -> SimDuration {
        let nanos = match &self.sampler {
            Sampler::Constant(work) => return *work,
            Sampler::Exponential(mean) => exponential(&mut self.rng, *mean),
            Sampler::Uniform(d) => d.sample(&mut self.rng),
            Sampler::LogNormal(d) => d.sample(&mut self.rng),
            Sampler::Pareto(d) => d.sample(&mut self.rng),
        };
        SimDuration::from_nanos_f64(nanos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    fn sample_mean_and_cv(dist: ServiceDist, n: usize) -> (f64, f64) {
        let mut sampler = ServiceSampler::new(&dist, stream(3, 3, 0));
        let xs: Vec<f64> = (0..n).map(|_| sampler.sample().as_nanos() as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        (mean, var.sqrt() / mean)
    }

    /// The inlined exponential draws the work `rand_distr`'s `Exp` draws from the same
    /// stream, to the nanosecond, for means of every magnitude (49 and 98 among those
    /// whose reciprocal's reciprocal is not themselves).
    #[test]
    fn the_exponential_draws_exactly_what_rand_distr_draws() {
        use rand_distr::Exp;
        let means = [
            1,
            3,
            49,
            98,
            1_000,
            999_999,
            10_000_000,
            123_456_789,
            1 << 40,
        ];
        for mean_ns in means {
            let mean = SimDuration::from_nanos(mean_ns);
            let mut ours = ServiceSampler::new(&ServiceDist::Exponential { mean }, stream(5, 3, 0));
            let exp = Exp::new(1.0 / mean_ns as f64).expect("a positive rate");
            let mut theirs = stream(5, 3, 0);
            for _ in 0..10_000 {
                let expected = SimDuration::from_nanos_f64(exp.sample(&mut theirs));
                assert_eq!(ours.sample(), expected, "mean {mean_ns} ns");
            }
        }
    }

    #[test]
    fn each_distribution_has_its_configured_mean() {
        let mean = SimDuration::from_millis(10);
        let n = 200_000;
        // Standard error of the mean is cv * mean / sqrt(n); allow 5 standard errors.
        for (dist, cv) in [
            (ServiceDist::Exponential { mean }, 1.0),
            (ServiceDist::LogNormal { mean, cv: 0.5 }, 0.5),
            (
                ServiceDist::Uniform {
                    min: SimDuration::from_millis(5),
                    max: SimDuration::from_millis(15),
                },
                5.0 / 10.0 / 3f64.sqrt(),
            ),
        ] {
            let (got, got_cv) = sample_mean_and_cv(dist, n);
            let se = cv * 1e7 / (n as f64).sqrt();
            assert!((got - 1e7).abs() < 5.0 * se, "{dist:?}: mean {got}");
            assert!((got_cv - cv).abs() < 0.02, "{dist:?}: cv {got_cv}");
        }
    }

    #[test]
    fn pareto_mean_matches_for_finite_variance_shapes() {
        // Shape 3: variance finite, cv = 1/sqrt(shape (shape - 2)) = 0.577.
        let (got, _) = sample_mean_and_cv(
            ServiceDist::Pareto {
                mean: SimDuration::from_millis(10),
                shape: 3.0,
            },
            400_000,
        );
        let se = 0.577 * 1e7 / 400_000f64.sqrt();
        assert!((got - 1e7).abs() < 5.0 * se, "mean {got}");
    }

    #[test]
    fn constant_work_never_varies() {
        let mut sampler = ServiceSampler::new(
            &ServiceDist::Constant {
                mean: SimDuration::from_millis(2),
            },
            stream(1, 3, 0),
        );
        assert!((0..10).all(|_| sampler.sample() == SimDuration::from_millis(2)));
    }
}
