//! `[client]`: the clients' timeout per attempt, retries, backoff, retry budget and what
//! they retry, with the defaults of [`ClientSpec::default`].

use toml::Spanned;

use super::checker::Checker;
use super::values::Bound;
use crate::engine::SimDuration;
use crate::model::{
    Backoff, ClientSpec, Fraction, PreviousHosts, RetryBudget, RetryCondition, RetryOn,
};
use crate::scenario::raw::{RawBackoff, RawClient};

/// The most retries per request: more is a typo, and would multiply the load by as much.
pub const MAX_RETRIES: i128 = 100;

/// The most reselections of a retry's host: each is a pick, and a hundred already finds
/// another host whenever one exists, but for a hash that keeps landing on the same one.
pub const MAX_RESELECTIONS: i128 = 100;

/// `client.retry_host_predicate`'s values.
const HOST_PREDICATES: [&str; 2] = ["none", "previous-hosts"];

impl Checker<'_> {
    /// The client spec (`Some(None)` when the section is absent), or `None` after an
    /// error.
    pub(super) fn client(
        &mut self,
        raw: Option<&Spanned<RawClient>>,
    ) -> Option<Option<ClientSpec>> {
        let Some(raw) = raw else {
            return Some(None);
        };
        let raw = raw.get_ref();
        let default = ClientSpec::default();
        let timeout = match &raw.timeout {
            None => Some(default.timeout),
            Some(timeout) => self.duration_or_off(timeout, "client.timeout"),
        };
        let request_timeout = match &raw.request_timeout {
            None => Some(default.request_timeout),
            Some(timeout) => self.duration_or_off(timeout, "client.request_timeout"),
        };
        let retries = match &raw.retries {
            None => Some(default.retries),
            Some(retries) => self
                .integer(retries, "client.retries", 0, MAX_RETRIES)
                .and_then(|n| u32::try_from(n).ok()),
        };
        let backoff = match &raw.backoff {
            None => Some(default.backoff),
            Some(backoff) => self.backoff(backoff.get_ref()),
        };
        let share = match &raw.retry_budget {
            None => Some(Some(RetryBudget::DEFAULT.share.as_f64())),
            Some(budget) => self.number_or_off(budget, "client.retry_budget", Bound::Fraction),
        };
        let min_concurrency = match &raw.min_retry_concurrency {
            None => Some(RetryBudget::DEFAULT.min_concurrency),
            Some(min) => self
                .integer(min, "client.min_retry_concurrency", 0, i128::from(u32::MAX))
                .and_then(|n| u32::try_from(n).ok()),
        };
        let retry_on = match &raw.retry_on {
            None => Some(default.retry_on),
            Some(list) => self.retry_on(list.get_ref()),
        };
        let previous_hosts = self.previous_hosts(raw);
        let hedge_on_per_try_timeout = match &raw.hedge_on_per_try_timeout {
            None => Some(default.hedge_on_per_try_timeout),
            // Without a per-try timeout there is nothing to hedge on.
            Some(hedge) if *hedge.get_ref() && timeout == Some(None) => {
                self.error(
                    hedge.span().start,
                    "client.hedge_on_per_try_timeout",
                    "has no effect without a client.timeout".to_string(),
                );
                None
            }
            Some(hedge) => Some(*hedge.get_ref()),
        };
        let min_concurrency = min_concurrency?;
        Some(Some(ClientSpec {
            timeout: timeout?,
            request_timeout: request_timeout?,
            retries: retries?,
            backoff: backoff?,
            retry_budget: share?.map(|share| RetryBudget {
                share: Fraction::from_f64(share),
                min_concurrency,
            }),
            retry_on: retry_on?,
            previous_hosts: previous_hosts?,
            hedge_on_per_try_timeout: hedge_on_per_try_timeout?,
        }))
    }

    /// `client.retry_host_predicate` and `client.host_selection_retry_max_attempts`: the
    /// predicate off (`Some(None)`) or on with its reselections; the count alone, with the
    /// predicate off, would do nothing and is an error.
    fn previous_hosts(&mut self, raw: &RawClient) -> Option<Option<PreviousHosts>> {
        let on = match &raw.retry_host_predicate {
            None => Some(false),
            Some(name) => self.choice(
                name,
                "client.retry_host_predicate",
                "retry host predicate",
                &HOST_PREDICATES,
                |name| {
                    HOST_PREDICATES
                        .iter()
                        .position(|&p| p == name)
                        .map(|i| i == 1)
                },
            ),
        };
        let reselections = match &raw.host_selection_retry_max_attempts {
            None => Some(None),
            Some(count) => {
                let path = "client.host_selection_retry_max_attempts";
                let parsed = self
                    .integer(count, path, 1, MAX_RESELECTIONS)
                    .and_then(|n| u32::try_from(n).ok());
                if on == Some(false) {
                    self.error(
                        count.span().start,
                        path,
                        "has no effect without retry_host_predicate = \"previous-hosts\""
                            .to_string(),
                    );
                    return None;
                }
                Some(Some(parsed?))
            }
        };
        let reselections = reselections?.unwrap_or(PreviousHosts::DEFAULT_RESELECTIONS);
        Some(on?.then_some(PreviousHosts { reselections }))
    }

    /// `client.backoff`: a positive base, and a max of at least the base (by default ten
    /// times the base, as in Envoy).
    fn backoff(&mut self, raw: &RawBackoff) -> Option<Backoff> {
        let base = match &raw.base {
            None => Some(Backoff::DEFAULT.base),
            Some(base) => self.positive_duration(base, "client.backoff.base"),
        };
        let max = match &raw.max {
            None => base.map(|base| SimDuration::from_nanos(base.as_nanos().saturating_mul(10))),
            Some(max) => {
                let path = "client.backoff.max";
                match (self.positive_duration(max, path), base) {
                    (Some(parsed), Some(base)) if parsed < base => {
                        let base_text = raw
                            .base
                            .as_ref()
                            .map_or_else(|| "25ms".to_string(), |b| b.get_ref().0.clone());
                        self.error(
                            max.span().start,
                            path,
                            format!(
                                "expected at least backoff.base ({base_text:?}), found {:?}",
                                max.get_ref().0
                            ),
                        );
                        None
                    }
                    (parsed, _) => parsed,
                }
            }
        };
        Some(Backoff {
            base: base?,
            max: max?,
        })
    }

    /// `client.retry_on`: a list of condition names, in any order, repeats allowed.
    fn retry_on(&mut self, list: &[Spanned<String>]) -> Option<RetryOn> {
        let names = RetryCondition::ALL.map(RetryCondition::name);
        let mut set = Some(RetryOn::NONE);
        for (index, name) in list.iter().enumerate() {
            let path = format!("client.retry_on[{index}]");
            let condition = self.choice(
                name,
                &path,
                "retry condition",
                &names,
                RetryCondition::from_name,
            );
            set = set.zip(condition).map(|(set, c)| set.with(c));
        }
        set
    }
}

#[cfg(test)]
pub(super) mod tests {
    use crate::engine::SimDuration;
    use crate::model::{
        Backoff, ClientSpec, Fraction, PreviousHosts, RetryBudget, RetryCondition, RetryOn,
    };
    use crate::scenario::validate::testing::{MINIMAL, assert_bad_fixtures, error, valid, with};

    /// Each fixture under tests/fixtures/bad for this section, the location and key path
    /// of its one error, and a fragment of its message.
    pub(in crate::scenario::validate) const BAD: &[(&str, &str, &str)] = &[
        (
            "client_budget_above_one",
            "13:16: client.retry_budget: ",
            "expected a fraction from 0 to 1 or \"off\", found 1.5",
        ),
        (
            "client_backoff_max_below_base",
            "13:35: client.backoff.max: ",
            "expected at least backoff.base (\"100ms\"), found \"50ms\"",
        ),
        (
            "client_zero_timeout",
            "13:11: client.timeout: ",
            "expected a positive duration or \"off\", found \"0s\"",
        ),
        (
            "client_unknown_retry_condition",
            "13:24: client.retry_on[1]: ",
            "unknown retry condition \"5xx\", expected one of \"timeout\"",
        ),
        (
            "client_unknown_host_predicate",
            "13:24: client.retry_host_predicate: ",
            "expected one of \"none\", \"previous-hosts\"; did you mean \"previous-hosts\"?",
        ),
        (
            "client_reselections_without_predicate",
            "13:37: client.host_selection_retry_max_attempts: ",
            "has no effect without retry_host_predicate = \"previous-hosts\"",
        ),
        (
            "client_hedge_without_timeout",
            "13:28: client.hedge_on_per_try_timeout: ",
            "has no effect without a client.timeout",
        ),
    ];

    #[test]
    fn every_bad_client_fixture_is_one_located_error() {
        assert_bad_fixtures(BAD);
    }

    fn spec(lines: &str) -> Option<ClientSpec> {
        let source = format!("{MINIMAL}[client]\n{lines}\n");
        valid(&source).variants[0].run.client.clone()
    }

    #[test]
    fn an_empty_table_gives_the_defaults() {
        assert_eq!(spec(""), Some(ClientSpec::default()));
        assert_eq!(valid(MINIMAL).variants[0].run.client, None);
    }

    #[test]
    fn every_key_is_read() {
        let read = spec(
            "timeout = \"1s\"\nretries = 2\nbackoff = { base = \"10ms\", max = \"80ms\" }\n\
             retry_budget = 0.5\nmin_retry_concurrency = 0\n\
             retry_on = [\"circuit-open\", \"timeout\", \"timeout\"]\n\
             retry_host_predicate = \"previous-hosts\"\n\
             host_selection_retry_max_attempts = 3\n\
             hedge_on_per_try_timeout = true",
        );
        assert_eq!(
            read,
            Some(ClientSpec {
                timeout: Some(SimDuration::from_secs(1)),
                request_timeout: None,
                retries: 2,
                backoff: Backoff {
                    base: SimDuration::from_millis(10),
                    max: SimDuration::from_millis(80),
                },
                retry_budget: Some(RetryBudget {
                    share: Fraction::from_millionths(500_000),
                    min_concurrency: 0,
                }),
                retry_on: RetryOn::NONE
                    .with(RetryCondition::CircuitOpen)
                    .with(RetryCondition::Timeout),
                previous_hosts: Some(PreviousHosts { reselections: 3 }),
                hedge_on_per_try_timeout: true,
            })
        );
    }

    #[test]
    fn the_retry_host_predicate_defaults_to_envoys_one_reselection() {
        let on = spec("retry_host_predicate = \"previous-hosts\"");
        assert_eq!(
            on.and_then(|c| c.previous_hosts),
            Some(PreviousHosts { reselections: 1 })
        );
        let off = spec("retry_host_predicate = \"none\"");
        assert_eq!(off.map(|c| c.previous_hosts), Some(None));
    }

    #[test]
    fn off_values_and_a_default_max_of_ten_bases() {
        let read = spec(
            "timeout = \"off\"\nretry_budget = \"off\"\nbackoff = { base = \"40ms\" }\n\
             retry_on = []",
        )
        .expect("a client");
        assert_eq!(read.timeout, None);
        assert_eq!(read.retry_budget, None);
        assert_eq!(read.backoff.max, SimDuration::from_millis(400));
        assert_eq!(read.retry_on, RetryOn::NONE);
    }

    #[test]
    fn bad_values_are_located_errors() {
        let cases = [
            (
                "timeout = \"0s\"",
                "client.timeout: expected a positive duration or \"off\", found \"0s\"",
            ),
            ("timeout = \"of\"", "(or \"off\"); did you mean \"off\"?"),
            (
                "request_timeout = \"0s\"",
                "client.request_timeout: expected a positive duration or \"off\", found \"0s\"",
            ),
            (
                "request_timout = \"1s\"",
                "did you mean \"request_timeout\"?",
            ),
            (
                "retries = -1",
                "client.retries: expected a non-negative integer, found -1",
            ),
            (
                "retries = 101",
                "client.retries: expected a non-negative integer of at most 100, found 101",
            ),
            (
                "backoff = { base = \"0ms\" }",
                "client.backoff.base: expected a positive duration, found \"0ms\"",
            ),
            (
                "backoff = { base = \"100ms\", max = \"50ms\" }",
                "client.backoff.max: expected at least backoff.base (\"100ms\"), found \"50ms\"",
            ),
            (
                "backoff = { max = \"10ms\" }",
                "client.backoff.max: expected at least backoff.base (\"25ms\"), found \"10ms\"",
            ),
            (
                "retry_budget = 1.2",
                "client.retry_budget: expected a fraction from 0 to 1 or \"off\", found 1.2",
            ),
            (
                "min_retry_concurrency = -3",
                "client.min_retry_concurrency: expected a non-negative integer, found -3",
            ),
            (
                "retry_on = [\"timeout\", \"crsh\"]",
                "client.retry_on[1]: unknown retry condition \"crsh\", expected one of \
                 \"timeout\", \"crash\", \"server-down\", \"rejected\", \
                 \"no-healthy-server\", \"circuit-open\"; did you mean \"crash\"?",
            ),
            (
                "backoff = { base = \"1ms\", mx = \"2ms\" }",
                "client.backoff.mx: unknown key \"mx\", expected one of \"base\", \"max\"; \
                 did you mean \"max\"?",
            ),
        ];
        for (line, message) in cases {
            let error = error(&with("client", line));
            assert!(error.starts_with("x.toml:8:"), "{error}");
            assert!(error.ends_with(message), "{error}\nexpected {message}");
        }
    }
}
