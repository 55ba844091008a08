//! `[slo]`: a latency objective, its violation measured per time-series interval, so it
//! needs a time series.

use toml::Spanned;

use super::checker::Checker;
use crate::engine::SimDuration;
use crate::model::SloSpec;
use crate::scenario::raw::RawSlo;

impl Checker<'_> {
    /// The SLO (`Some(None)` when the section is absent), or `None` after an error.
    /// `sample_interval` is the run's time-series interval (`Some(None)` when "off",
    /// `None` when in error).
    pub(super) fn slo(
        &mut self,
        raw: Option<&Spanned<RawSlo>>,
        sample_interval: Option<Option<SimDuration>>,
    ) -> Option<Option<SloSpec>> {
        let Some(table) = raw else {
            return Some(None);
        };
        let p99 = match &table.get_ref().p99 {
            None => {
                self.error(
                    table.span().start,
                    "slo.p99",
                    "missing: expected the p99 latency objective, like \"250ms\"",
                );
                None
            }
            Some(p99) => self.positive_duration(p99, "slo.p99"),
        };
        if sample_interval == Some(None) {
            self.error(
                table.span().start,
                "slo",
                "the objective is judged per time-series interval, and \
                 timeseries_interval is \"off\": set it, or remove [slo]",
            );
            return None;
        }
        Some(Some(SloSpec { p99: p99? }))
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::SimDuration;
    use crate::model::SloSpec;
    use crate::scenario::validate::testing::{MINIMAL, error, errors, valid, with};

    #[test]
    fn the_objective_is_read() {
        let source = format!("{MINIMAL}[slo]\np99 = \"250ms\"\n");
        assert_eq!(
            valid(&source).variants[0].run.slo,
            Some(SloSpec {
                p99: SimDuration::from_millis(250)
            })
        );
        assert_eq!(valid(MINIMAL).variants[0].run.slo, None);
    }

    #[test]
    fn bad_values_are_located_errors() {
        assert_eq!(
            error(&format!("{MINIMAL}[slo]\n")),
            "x.toml:7:1: slo.p99: missing: expected the p99 latency objective, like \"250ms\""
        );
        assert_eq!(
            error(&format!("{MINIMAL}[slo]\np99 = \"0ms\"\n")),
            "x.toml:8:7: slo.p99: expected a positive duration, found \"0ms\""
        );
        assert_eq!(
            errors(&format!("{MINIMAL}[slo]\np999 = \"1s\"\n")),
            [
                "x.toml:7:1: slo.p99: missing: expected the p99 latency objective, like \
                 \"250ms\"",
                "x.toml:8:1: slo.p999: unknown key \"p999\", expected \"p99\"; did you mean \
                 \"p99\"?"
            ]
        );
        let off = with("", "timeseries_interval = \"off\"");
        assert_eq!(
            error(&format!("{off}[slo]\np99 = \"1s\"\n")),
            "x.toml:8:1: slo: the objective is judged per time-series interval, and \
             timeseries_interval is \"off\": set it, or remove [slo]"
        );
    }
}
