//! `balancer.panic_threshold`: below this share of healthy hosts the balancer uses every
//! host it knows (`model/panic_mode.rs`). A key of the balancer, as Envoy's
//! `healthy_panic_threshold` is the cluster's: failed health checks and outlier ejections
//! both count against it, so it is not a key of either.

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::model::{DEFAULT_PANIC_THRESHOLD, Fraction};
use crate::scenario::raw::RawBalancer;

impl Checker<'_> {
    /// The panic threshold, zero for `"off"`, or `None` after an error.
    pub(super) fn panic_threshold(
        &mut self,
        balancer: Option<&Spanned<RawBalancer>>,
    ) -> Option<Fraction> {
        match balancer.and_then(|b| b.get_ref().panic_threshold.as_ref()) {
            None => Some(DEFAULT_PANIC_THRESHOLD),
            Some(threshold) => self
                .number_or_off(threshold, "balancer.panic_threshold", Bound::Fraction)
                .map(|t| t.map_or(Fraction::ZERO, Fraction::from_f64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::model::{DEFAULT_PANIC_THRESHOLD, Fraction};
    use crate::scenario::validate::testing::{MINIMAL, error, valid, with};

    fn threshold(line: &str) -> Fraction {
        valid(&with("balancer", line)).variants[0]
            .run
            .panic_threshold
    }

    #[test]
    fn envoys_half_by_default_a_fraction_or_off() {
        assert_eq!(
            valid(MINIMAL).variants[0].run.panic_threshold,
            DEFAULT_PANIC_THRESHOLD
        );
        assert_eq!(
            threshold("panic_threshold = 0.25"),
            Fraction::from_millionths(250_000)
        );
        assert_eq!(threshold("panic_threshold = \"off\""), Fraction::ZERO);
    }

    #[test]
    fn bad_values_are_located_errors() {
        for (line, message) in [
            (
                "panic_threshold = 50",
                "balancer.panic_threshold: expected a fraction from 0 to 1 or \"off\", \
                 found 50",
            ),
            (
                "panic_threshold = \"of\"",
                "balancer.panic_threshold: expected a fraction from 0 to 1 or \"off\", \
                 found \"of\"; did you mean \"off\"?",
            ),
        ] {
            let error = error(&with("balancer", line));
            assert!(error.starts_with("x.toml:8:"), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }

    #[test]
    fn the_key_in_health_check_where_it_was_says_where_it_went() {
        assert_eq!(
            error(&with("health_check", "panic_threshold = 0.3")),
            "x.toml:8:1: health_check.panic_threshold: unknown key \"panic_threshold\" \
             here; `panic_threshold` is a key of [balancer]: the panic threshold is the \
             cluster's (Envoy's healthy_panic_threshold), and outlier ejections count \
             against it too"
        );
    }
}
