//! Whether a run reached a steady state, or its queue grew without bound.
//!
//! The rule: a run is **unstable** when the measured requests still in flight at its end
//! are at least [`UNSTABLE_SHARE`] (0.5%) of the measured arrivals, and at least
//! [`UNSTABLE_MIN`] (20) requests. A variant is unstable when any of its replications is.
//!
//! Why this separates the two: by Little's law a stable system holds about λ·W requests
//! (arrival rate × mean response time), so it ends a measured period of T seconds with a
//! share of about W/T of that period's arrivals in flight — 0.02% for 60 ms in five
//! minutes, and under 0.5% unless the mean response time exceeds 1/200 of the period (a
//! run then too short to show a steady state anyway). A queue that grows for the whole run
//! instead keeps its growth: offered λ above a capacity μ leaves (λ − μ)·T in flight, a
//! share 1 − μ/λ, so 0.5% is an overload of half a percent. The floor of 20 keeps a short
//! run with a handful of requests in flight from being called unstable on 0.5% of little.
//!
//! An unstable variant's percentiles describe a queue that was still growing when the run
//! stopped: they grow with the run's length, and are no steady-state figures. The reports
//! say so beside them.

use crate::stats::Counts;

/// Share of the measured arrivals still in flight at the end that marks a run unstable.
pub const UNSTABLE_SHARE: f64 = 0.005;

/// Fewest requests in flight at the end for a run to be called unstable.
pub const UNSTABLE_MIN: u64 = 20;

/// Whether a run's queue grew without bound, by the rule above.
pub fn is_unstable(counts: &Counts) -> bool {
    counts.in_flight >= UNSTABLE_MIN
        && counts.in_flight as f64 >= UNSTABLE_SHARE * counts.arrived as f64
}

/// The rule in words, for the notes under the tables.
pub fn rule() -> String {
    format!(
        "unstable: the queue grew without bound — requests still in flight at the end are \
         at least {}% of arrivals (and at least {UNSTABLE_MIN}); its percentiles describe a \
         growing queue, not a steady state",
        UNSTABLE_SHARE * 100.0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(arrived: u64, in_flight: u64) -> Counts {
        Counts {
            arrived,
            completed: arrived - in_flight,
            rejected: 0,
            failed: 0,
            in_flight,
        }
    }

    #[test]
    fn a_backlog_of_half_a_percent_of_arrivals_is_unstable() {
        // Values from the bundled scenarios: slow-servers' round robin (two servers at
        // 126% load) and consistent-hash at 85% with skewed clients; then stable ones.
        assert!(is_unstable(&counts(169_837, 7_634)));
        assert!(is_unstable(&counts(367_875, 3_692)));
        assert!(!is_unstable(&counts(367_875, 183)));
        assert!(!is_unstable(&counts(156_518, 203)));
        // The boundary: exactly 0.5% is unstable, one request fewer is not.
        assert!(is_unstable(&counts(10_000, 50)));
        assert!(!is_unstable(&counts(10_000, 49)));
    }

    #[test]
    fn a_handful_in_flight_is_not_unstable_however_short_the_run() {
        assert!(!is_unstable(&counts(100, 19)));
        assert!(is_unstable(&counts(100, 20)));
        assert!(!is_unstable(&counts(0, 0)));
    }

    #[test]
    fn the_rule_in_words_states_its_numbers() {
        let rule = rule();
        assert!(rule.contains("0.5%") && rule.contains("20"), "{rule}");
    }
}
