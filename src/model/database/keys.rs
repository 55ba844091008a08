//! The key a query touches: a row, drawn for each query on its own — independently of
//! the request's client and session, so a user's queries do not keep to its own rows —
//! uniformly or from a Zipf distribution (a few hot rows take most of the queries, as in
//! the YCSB "zipfian" request distribution).

use rand::RngExt;
use rand_distr::{Distribution, Zipf};

use super::spec::KeyDist;
use crate::engine::SimRng;

pub enum KeySampler {
    Uniform {
        count: u32,
    },
    /// rand_distr's rejection-inversion sampler: O(1) per draw whatever the key count.
    Zipf(Zipf<f64>),
}

impl KeySampler {
    pub fn new(dist: KeyDist) -> Self {
        match dist {
            KeyDist::Uniform { count } => KeySampler::Uniform { count },
            KeyDist::Zipf { count, exponent } => KeySampler::Zipf(
                Zipf::new(f64::from(count), exponent).expect("validated count >= 1, exponent >= 0"),
            ),
        }
    }

    /// A key in `[0, count)`; with Zipf, key 0 is the hottest.
    pub fn sample(&self, rng: &mut SimRng) -> u32 {
        match self {
            KeySampler::Uniform { count } => rng.random_range(0..*count),
            // Zipf draws ranks 1..=count.
            KeySampler::Zipf(zipf) => zipf.sample(rng) as u32 - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    #[test]
    fn zipf_favours_low_keys_and_uniform_does_not() {
        let mut rng = stream(1, 17, 0);
        let count = 100;
        let draws = 100_000;
        let share_of_key_0 = |sampler: &KeySampler, rng: &mut SimRng| {
            (0..draws).filter(|_| sampler.sample(rng) == 0).count() as f64 / draws as f64
        };
        // Zipf with exponent 1 over 100 keys: P(key 0) = 1 / H(100) = 0.1928. The share's
        // standard error over 100,000 draws is 0.0012; 0.006 is five of them.
        let zipf = KeySampler::new(KeyDist::Zipf {
            count,
            exponent: 1.0,
        });
        let harmonic: f64 = (1..=count).map(|k| 1.0 / f64::from(k)).sum();
        assert!((share_of_key_0(&zipf, &mut rng) - 1.0 / harmonic).abs() < 0.006);
        // Uniform: 0.01, standard error 0.0003; 0.0015 is five of them.
        let uniform = KeySampler::new(KeyDist::Uniform { count });
        assert!((share_of_key_0(&uniform, &mut rng) - 0.01).abs() < 0.0015);
        assert!((0..1000).all(|_| zipf.sample(&mut rng) < count));
    }
}
