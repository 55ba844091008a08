//! `workload.client_zones` and `balancer.min_cluster_size`: the clients' zones, which turn
//! on zone-aware routing. Checked after the servers, since every client zone must be a
//! zone some `[[servers]]` group is in, and after the balancer, since a pool per zone is
//! kept for one balancer instance only.

use super::checker::Checker;
use super::values::Bound;
use crate::balancer::BalancerSpec;
use crate::model::{DEFAULT_MIN_CLUSTER_SIZE, ServerGroupSpec, ZoneAwareSpec};
use crate::scenario::raw::RawScenario;
use crate::scenario::suggest;

/// Shares are kept in millionths.
const MILLION: u64 = 1_000_000;

impl Checker<'_> {
    /// The zone-aware routing of the run (`Some(None)` without `client_zones`), or `None`
    /// after an error. `groups` and `balancer` are `None` when their own checks failed.
    pub(super) fn zone_aware(
        &mut self,
        raw: &RawScenario,
        groups: Option<&[ServerGroupSpec]>,
        balancer: Option<&BalancerSpec>,
    ) -> Option<Option<ZoneAwareSpec>> {
        let min_cluster_size = match raw
            .balancer
            .as_ref()
            .and_then(|b| b.get_ref().min_cluster_size.as_ref())
        {
            None => Some(DEFAULT_MIN_CLUSTER_SIZE),
            Some(size) => self
                .integer(size, "balancer.min_cluster_size", 1, i128::from(u32::MAX))
                .and_then(|n| u64::try_from(n).ok()),
        };
        let Some(zones) = raw
            .workload
            .as_ref()
            .and_then(|w| w.get_ref().client_zones.as_ref())
        else {
            return Some(None);
        };
        let path = "workload.client_zones";
        if zones.get_ref().is_empty() {
            self.error(
                zones.span().start,
                path,
                "expected at least one zone and its share of clients, like { a = 0.5, b = 0.5 }",
            );
            return None;
        }
        if let Some(balancer) = balancer
            && balancer.instances != 1
        {
            self.error(
                zones.span().start,
                path,
                format!(
                    "zone-aware routing keeps a pool per zone for one balancer instance; \
                     found balancer.instances = {}",
                    balancer.instances
                ),
            );
            return None;
        }
        let mut server_zones: Vec<&str> = groups?.iter().map(|g| g.zone.as_str()).collect();
        server_zones.sort_unstable();
        server_zones.dedup();
        let mut shares = Some(Vec::new());
        for (zone, share) in zones.get_ref() {
            let zone_path = format!(
                "{path}.{}",
                crate::scenario::raw::display_key(zone.get_ref())
            );
            let share = self.number(share, &zone_path, Bound::Positive);
            if !server_zones.contains(&zone.get_ref().as_str()) {
                self.error(
                    zone.span().start,
                    &zone_path,
                    format!(
                        "unknown zone {:?}, {}",
                        zone.get_ref(),
                        suggest::expected_one_of(zone.get_ref(), &server_zones)
                    ),
                );
                shares = None;
                continue;
            }
            match (&mut shares, share) {
                (Some(list), Some(share)) => list.push((zone.get_ref().clone(), share)),
                _ => shares = None,
            }
        }
        let shares = shares?;
        Some(Some(ZoneAwareSpec {
            client_zones: millionths(&shares),
            min_cluster_size: min_cluster_size?,
        }))
    }
}

/// Relative shares as millionths summing to a million: each rounded down, the remainder to
/// the last zone.
fn millionths(shares: &[(String, f64)]) -> Vec<(String, u64)> {
    let total: f64 = shares.iter().map(|(_, s)| s).sum();
    let mut out: Vec<(String, u64)> = shares
        .iter()
        .map(|(zone, share)| (zone.clone(), (share / total * MILLION as f64) as u64))
        .collect();
    let given: u64 = out.iter().map(|(_, m)| m).sum();
    if let Some(last) = out.last_mut() {
        last.1 += MILLION.saturating_sub(given);
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::scenario::validate::testing::{MINIMAL, error, valid};

    fn two_zones(extra: &str) -> String {
        format!("{MINIMAL}zone = \"a\"\n[[servers]]\nname = \"b\"\nzone = \"b\"\n{extra}")
    }

    #[test]
    fn client_zones_become_millionths_in_zone_order() {
        let source = two_zones("[workload.client_zones]\nb = 1\na = 3\n");
        let zone_aware = valid(&source).variants[0]
            .run
            .zone_aware
            .clone()
            .expect("on");
        assert_eq!(
            zone_aware.client_zones,
            vec![("a".to_string(), 750_000), ("b".to_string(), 250_000)]
        );
        assert_eq!(zone_aware.min_cluster_size, 6);
    }

    #[test]
    fn client_zones_are_checked() {
        let message = error(&two_zones("[workload.client_zones]\na = 1\nc = 1\n"));
        assert!(
            message.contains(
                "workload.client_zones.c: unknown zone \"c\", expected one of \"a\", \"b\""
            ),
            "{message}"
        );
        let message = error(&two_zones("[workload.client_zones]\na = 0\n"));
        assert!(
            message.contains("workload.client_zones.a: expected a positive number"),
            "{message}"
        );
        let message = error(&two_zones(
            "[workload.client_zones]\na = 1\n[balancer]\ninstances = 2\n",
        ));
        assert!(message.contains("one balancer instance"), "{message}");
    }
}
