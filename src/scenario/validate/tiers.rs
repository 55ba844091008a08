//! `[[tiers]]`: second tiers that every request calls after its work on its server.

use toml::Spanned;

use super::checker::Checker;
use crate::model::TierSpec;
use crate::scenario::raw::RawTier;

/// The most tiers a request may call in turn (a request records its hop in a byte).
pub const MAX_TIERS: usize = 16;

impl Checker<'_> {
    /// The tiers in call order (none when the section is absent), or `None` after an error.
    pub(super) fn tiers(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<RawTier>>>>,
    ) -> Option<Vec<TierSpec>> {
        let Some(raw) = raw else {
            return Some(Vec::new());
        };
        if raw.get_ref().len() > MAX_TIERS {
            self.error(
                raw.span().start,
                "tiers",
                format!(
                    "expected at most {MAX_TIERS} tiers, found {}",
                    raw.get_ref().len()
                ),
            );
            return None;
        }
        let mut tiers = Some(Vec::new());
        for (index, entry) in raw.get_ref().iter().enumerate() {
            let tier = self.tier(entry, index);
            match (&mut tiers, tier) {
                (Some(list), Some(tier)) => list.push(tier),
                _ => tiers = None,
            }
        }
        tiers
    }

    fn tier(&mut self, entry: &Spanned<RawTier>, index: usize) -> Option<TierSpec> {
        let raw = entry.get_ref();
        let path = format!("tiers[{index}]");
        let name = match &raw.name {
            None => Some(format!("tier-{index}")),
            Some(name) => self.name(name, &format!("{path}.name")),
        };
        let workers = self.count(raw.workers.as_ref(), &format!("{path}.workers"), 1);
        let queue_limit = match &raw.queue {
            None => Some(None),
            Some(queue) => self.queue(queue, &format!("{path}.queue")),
        };
        let service = match &raw.service {
            None => {
                self.error(
                    entry.span().start,
                    &format!("{path}.service"),
                    "missing: expected a service time distribution, like \
                     { dist = \"exponential\", mean = \"2ms\" }",
                );
                None
            }
            Some(service) => self.service_at(service, &format!("{path}.service")),
        };
        Some(TierSpec {
            name: name?,
            workers: workers?,
            queue_limit: queue_limit?,
            service: service?,
        })
    }
}
