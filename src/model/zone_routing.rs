//! Zone-aware routing: keep requests in the caller's zone while that zone has the healthy
//! capacity for them, and spill the rest over to the zones with capacity to spare — Envoy's
//! computation (`ZoneAwareLoadBalancerBase::regenerateLocalityRoutingStructures` and
//! `tryChooseLocalLocalityHosts`), as a pure function of host counts.
//!
//! Envoy compares, zone by zone, the share of the *callers* (the originating cluster) with
//! the share of the *healthy upstream hosts*, both in basis points rounded down. If the
//! local zone holds at least as large a share of the upstream hosts as of the callers, every
//! request stays local ("direct"). Otherwise only `upstream% / local%` of them can stay
//! local without overloading the local hosts, and each of the others goes to another zone
//! with probability proportional to that zone's residual capacity, `upstream% − local%`
//! where positive. So every upstream host ends up with roughly the same load, as much of
//! it as possible from its own zone.
//!
//! Envoy routes by zone only when the upstream cluster spans at least two zones, has
//! healthy hosts in the local zone, has at least `min_cluster_size` healthy hosts (6 by
//! default), and neither cluster is in panic mode (the caller's job: see
//! `panic_mode.rs`); otherwise it balances over every host, which
//! [`ZoneRouting::Off`] says.

use rand::RngExt;

use crate::engine::SimRng;

/// Basis points: shares are in ten-thousandths, rounded down, as in Envoy.
const WHOLE: u64 = 10_000;

/// Envoy's `min_cluster_size` default: smaller clusters are not routed by zone.
pub const DEFAULT_MIN_CLUSTER_SIZE: u64 = 6;

/// How the requests of one zone's callers are routed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ZoneRouting {
    /// Not by zone: balance over every host.
    Off,
    /// All to the local zone.
    Direct { local: usize },
    /// `local_share` basis points of requests to the local zone; the rest to another zone
    /// drawn in proportion to `residual` (basis points of spare capacity per zone, zero for
    /// the local zone and for zones without spare capacity) — or, when rounding leaves no
    /// zone with spare capacity, to any zone with healthy hosts (`residual` then 1 for each
    /// of them, the local one included, and 0 for the others).
    Residual {
        local: usize,
        local_share: u64,
        residual: Vec<u64>,
    },
}

impl ZoneRouting {
    /// The routing of callers in zone `local`, with `callers[z]` callers and
    /// `healthy[z]` healthy upstream hosts in zone `z` (both indexed alike).
    pub fn compute(local: usize, callers: &[u64], healthy: &[u64], min_cluster_size: u64) -> Self {
        debug_assert_eq!(callers.len(), healthy.len());
        let total_healthy: u64 = healthy.iter().sum();
        let total_callers: u64 = callers.iter().sum();
        if healthy.len() < 2
            || healthy.get(local).is_none_or(|&n| n == 0)
            || total_healthy < min_cluster_size
            || total_callers == 0
        {
            return ZoneRouting::Off;
        }
        let share = |count: u64, total: u64| WHOLE * count / total;
        let upstream_local = share(healthy[local], total_healthy);
        let callers_local = share(callers[local], total_callers);
        if upstream_local >= callers_local {
            return ZoneRouting::Direct { local };
        }
        let mut residual: Vec<u64> = callers
            .iter()
            .zip(healthy)
            .enumerate()
            .map(|(zone, (&c, &h))| {
                let spare = share(h, total_healthy).saturating_sub(share(c, total_callers));
                if zone == local { 0 } else { spare }
            })
            .collect();
        if residual.iter().all(|&spare| spare == 0) {
            // Only by rounding. Envoy then picks any locality (`lb_zone_no_capacity_left`);
            // one with no healthy host has nothing to pick from, so only the others, alike.
            residual = healthy.iter().map(|&h| u64::from(h > 0)).collect();
        }
        ZoneRouting::Residual {
            local,
            local_share: upstream_local * WHOLE / callers_local,
            residual,
        }
    }

    /// The zone one request goes to, drawn from `rng` as Envoy does (one draw for the
    /// local share, one for the zone); `None` when routing is off.
    pub fn pick(&self, rng: &mut SimRng) -> Option<usize> {
        match self {
            ZoneRouting::Off => None,
            &ZoneRouting::Direct { local } => Some(local),
            ZoneRouting::Residual {
                local,
                local_share,
                residual,
            } => {
                if rng.random_range(0..WHOLE) < *local_share {
                    return Some(*local);
                }
                // Never 0 as computed, which leaves the local zone, with healthy hosts, at
                // least 1; a hand-made one of zeros finds no zone and balances over all.
                let total: u64 = residual.iter().sum();
                let mut point = rng.random_range(0..total.max(1));
                residual.iter().position(|&spare| {
                    let here = point < spare;
                    point = point.saturating_sub(spare);
                    here
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stream;

    #[test]
    fn a_local_zone_with_its_share_of_hosts_takes_everything() {
        // Callers 50/50, upstream 60/40: the local zone has more than its share.
        assert_eq!(
            ZoneRouting::compute(0, &[5, 5], &[6, 4], DEFAULT_MIN_CLUSTER_SIZE),
            ZoneRouting::Direct { local: 0 }
        );
        // Exactly its share is enough.
        assert_eq!(
            ZoneRouting::compute(1, &[5, 5], &[5, 5], DEFAULT_MIN_CLUSTER_SIZE),
            ZoneRouting::Direct { local: 1 }
        );
    }

    #[test]
    fn envoys_example_keeps_62_5_percent_local_and_spills_by_residual_capacity() {
        // Envoy's comment: callers 40/40/20%, upstream 25/50/25%. Local 2500 of 4000
        // basis points stay: 6250. Residual capacity 0, 5000 − 4000, 2500 − 2000.
        assert_eq!(
            ZoneRouting::compute(0, &[4, 4, 2], &[2, 4, 2], DEFAULT_MIN_CLUSTER_SIZE),
            ZoneRouting::Residual {
                local: 0,
                local_share: 6250,
                residual: vec![0, 1000, 500],
            }
        );
    }

    #[test]
    fn when_rounding_leaves_no_spare_capacity_spill_goes_only_to_zones_with_healthy_hosts() {
        // Callers 28.58/28.57/42.85/0%, upstream 2/2/3/0 hosts (2857/2857/4285/0 bp, one
        // lost to rounding): zone 0 keeps 2857 × 10000 / 2858 = 9996 bp, and no zone has
        // spare capacity. Zone 3 has no healthy host: it is never drawn.
        let routing = ZoneRouting::compute(0, &[2858, 2857, 4285, 0], &[2, 2, 3, 0], 6);
        assert_eq!(
            routing,
            ZoneRouting::Residual {
                local: 0,
                local_share: 9996,
                residual: vec![1, 1, 1, 0],
            }
        );
        let mut rng = stream(10, 0, 0);
        let mut counts = [0u32; 4];
        for _ in 0..1_000_000 {
            counts[routing.pick(&mut rng).expect("a zone")] += 1;
        }
        // 4 in 10,000 spill, about 400 of the million, a third to each zone with hosts.
        assert_eq!(counts[3], 0, "{counts:?}");
        assert!(counts[1] > 50 && counts[2] > 50, "{counts:?}");
        // A hand-made residual of zeros spills to no zone: routing ignores zones.
        let none = ZoneRouting::Residual {
            local: 0,
            local_share: 0,
            residual: vec![0, 0],
        };
        assert_eq!(none.pick(&mut rng), None);
    }

    #[test]
    fn shares_are_rounded_down_in_basis_points() {
        // Upstream 1/3 = 3333 bp, callers 1/2 = 5000 bp: 3333 × 10000 / 5000 = 6666.
        let ZoneRouting::Residual { local_share, .. } =
            ZoneRouting::compute(0, &[1, 1], &[3, 6], DEFAULT_MIN_CLUSTER_SIZE)
        else {
            panic!("residual routing")
        };
        assert_eq!(local_share, 6666);
    }

    #[test]
    fn small_single_zone_or_locally_empty_clusters_are_not_routed_by_zone() {
        let min = DEFAULT_MIN_CLUSTER_SIZE;
        assert_eq!(
            ZoneRouting::compute(0, &[1, 1], &[3, 2], min),
            ZoneRouting::Off
        );
        assert_eq!(ZoneRouting::compute(0, &[1], &[10], min), ZoneRouting::Off);
        assert_eq!(
            ZoneRouting::compute(0, &[1, 1], &[0, 10], min),
            ZoneRouting::Off
        );
        assert_eq!(
            ZoneRouting::compute(0, &[0, 0], &[5, 5], min),
            ZoneRouting::Off
        );
        assert_eq!(ZoneRouting::Off.pick(&mut stream(1, 0, 0)), None);
    }

    #[test]
    fn picks_follow_the_local_share_and_the_residual_capacity() {
        let routing = ZoneRouting::compute(0, &[4, 4, 2], &[2, 4, 2], DEFAULT_MIN_CLUSTER_SIZE);
        let mut rng = stream(9, 0, 0);
        let n = 100_000;
        let mut counts = [0u32; 3];
        for _ in 0..n {
            counts[routing.pick(&mut rng).expect("a zone")] += 1;
        }
        // Expected shares: local 0.625; the other 0.375 split 2:1, so 0.25 and 0.125.
        // The binomial standard error is at most sqrt(0.25 / 100000) = 0.0016; five of
        // them is 0.008.
        let expected = [0.625, 0.25, 0.125];
        for (count, expected) in counts.iter().zip(expected) {
            let share = f64::from(*count) / f64::from(n);
            assert!((share - expected).abs() < 0.008, "{counts:?}");
        }
        let direct = ZoneRouting::Direct { local: 2 };
        assert_eq!(direct.pick(&mut rng), Some(2));
    }
}
