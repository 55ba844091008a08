//! Panic mode: when too few of the hosts are healthy, the balancer stops trusting health
//! and spreads requests over every host it knows. A fleet-wide false alarm then costs some
//! errors rather than sending everything to the last healthy host, which would fall over
//! in turn.
//!
//! Modelled on Envoy, where the threshold is the cluster's
//! (`common_lb_config.healthy_panic_threshold`, 50% by default: `balancer.panic_threshold`
//! here) and "healthy" is a host's coarse health: a host failing active health checks
//! (`FAILED_ACTIVE_HC`) and one ejected by outlier detection (`FAILED_OUTLIER_CHECK`) are
//! both unhealthy. Ejections therefore count toward a panic as failed checks do, and a
//! cluster with outlier detection alone panics too, once more hosts are ejected than the
//! threshold leaves (`max_ejection_percent` above 50). The hosts are those the balancer
//! knows, crashed ones included: a crash is seen only through the checks or the
//! ejections. As Envoy
//! recomputes panic on every host-set update, the world re-reads the share on health
//! changes and on membership changes alike: hosts joining unchecked (unhealthy until their
//! first check passes) or healthy hosts leaving can start a panic.

use super::fraction::Fraction;

/// Envoy's default `healthy_panic_threshold`: 50%.
pub const DEFAULT_PANIC_THRESHOLD: Fraction = Fraction::from_millionths(500_000);

/// Whether `healthy` of `hosts` hosts is below `threshold`'s share (Envoy's
/// `healthy_percent < panic_threshold`). Never with the threshold at zero (panic mode off),
/// nor with no host at all.
pub fn in_panic(threshold: Fraction, healthy: usize, hosts: usize) -> bool {
    hosts > 0 && threshold.ratio_cmp(healthy as u64, hosts as u64).is_lt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_starts_strictly_below_the_threshold_share_of_the_hosts() {
        let half = DEFAULT_PANIC_THRESHOLD;
        assert!(!in_panic(half, 5, 10), "half is not below half");
        assert!(in_panic(half, 4, 10));
        assert!(in_panic(half, 0, 1));
        assert!(!in_panic(half, 0, 0), "no host, no panic");
        assert!(
            !in_panic(Fraction::ZERO, 0, 10),
            "a zero threshold turns it off"
        );
        assert!(in_panic(Fraction::from_millionths(1_000_000), 9, 10));
        assert!(!in_panic(Fraction::from_millionths(1_000_000), 10, 10));
    }
}
