//! Figures: the per-run numbers the model sets by a typed key, beyond those `RunResult`
//! has fields for (a share of remapped clients, failures by reason, retries, cost, ...).
//!
//! Why a table rather than a field each: every figure is also a summary.csv and
//! variants.csv column, an `[[expect]]` metric and something a shard file carries. As
//! fields, each new figure meant touching all of those; as a [`Figure`] declared once in
//! [`FIGURES`], the column list reads the table and the shard format carries it whole, so
//! adding a figure is a variant, its declaration and the model setting it. The values sit
//! in a fixed array indexed by the key: no map, no allocation, no iteration order to keep.

/// A figure a run may report. Declared with its name and kind in [`FIGURES`], at the
/// variant's own position; the model reports it through [`RunResult::figures`]
/// with [`Figures::set`] or [`Figures::add`].
///
/// [`RunResult::figures`]: super::RunResult::figures
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Figure {
    /// The mean share of client addresses that a membership change moved to another
    /// server, for algorithms that map clients by key alone (the hashing ones).
    RemappedShare,
    /// Measured requests failed because the balancer had no server to pick.
    FailedNoServer,
    /// ... because their server was removed abruptly while they were on it.
    FailedServerRemoved,
    /// ... because a tier they called had no room.
    FailedTierRejected,
    /// ... because their server crashed while they were on it.
    FailedCrash,
    /// ... because they were sent to a server that was down or booting.
    FailedServerDown,
    /// The mean time from a crash to the health checks or outlier detection taking the
    /// server out, in seconds.
    DetectionS,
    /// Measured requests failed because their server answered with an error after doing
    /// the work (a gray failure).
    FailedErrorResponse,
    /// ... because their server had no memory left for them.
    FailedOutOfMemory,
    /// The mean time from a crashed server's recovery (booted) to its return to rotation,
    /// in seconds.
    RecoveryS,
    /// Measured requests failed because the client's timeout fired on their last attempt.
    FailedTimeout,
    /// ... because the circuit breaker of the backend picked for their last attempt was
    /// open (or its pending limit reached).
    FailedCircuitOpen,
    /// Retries the clients sent for measured requests (attempts beyond the first).
    Retries,
    /// Attempts of measured requests the client gave up on, by their own timeout or by the
    /// request's, retried or not.
    Timeouts,
    /// Measured requests failed because a query waited too long for a pool connection.
    FailedPoolTimeout,
    /// ... because a database node failed under their query, or its shard had no primary.
    FailedDatabaseDown,
    /// Queries of measured requests the data tier answered.
    DbQueries,
    /// Mean busy fraction of the database nodes' workers over the measured period.
    DbUtilization,
    /// The share of measured response time spent in the data tier (pool waits, queues,
    /// queries).
    DbTimeShare,
    /// Reads a replica answered before the key's last write had reached it.
    StaleReads,
    /// Stale reads over all answered reads.
    StaleReadShare,
    /// Reads `read_your_writes` sent to the primary: their key had a write, anyone's, not
    /// yet on the replicas.
    FreshReads,
    /// Mean wait for a pool connection per query, in milliseconds.
    PoolWaitMeanMs,
    /// 99th percentile of that wait.
    PoolWaitP99Ms,
    /// The busiest shard's share of the queries.
    HottestShardShare,
    /// The share of keys the reshard moved to another shard.
    DbMovedShare,
    /// Measured requests failed because their session's pinned server was out of rotation
    /// and affinity fails rather than re-pins.
    FailedPinnedUnavailable,
    /// Sessions started over the whole run (warmup included: a session straddles it).
    SessionsStarted,
    /// Sessions whose last request was sent with their state intact.
    SessionsCompleted,
    /// Sessions whose state was lost (a request found it gone).
    SessionsLost,
    /// Sessions neither completed nor lost when the run ended.
    SessionsLive,
    /// Requests sent to their session's pinned server by the session table.
    AffinityHits,
    /// Sessions pinned anew because their pinned server was out of rotation.
    Repins,
    /// The most entries the session table held at once.
    AffinityTablePeak,
    /// The busiest server's measured completions over the mean per server.
    LoadImbalance,
    /// The mean share of live sessions that a membership change moved to another server,
    /// for algorithms that map a request by its key.
    SessionsRemappedShare,
    /// Health-check probes the balancer sent in the measured period: what detection costs.
    ChecksSent,
    /// Changes of an autoscaled group's capacity in the measured period.
    ScaleEvents,
    /// Attempts in the measured period that a balancer sent to a server that had already
    /// deregistered or left, because service discovery had not told it yet.
    StaleRoutes,
    /// Seconds of server lifetime within the measured period, over every server: what a
    /// fleet is billed for.
    InstanceSeconds,
    /// Those seconds priced at each group's `price_per_hour`; not applicable when no group
    /// has a price.
    Cost,
    /// Seconds of the measured period in time-series intervals whose p99 was above the
    /// `[slo]` objective.
    SloViolationS,
    /// Seconds of the measured period the balancer spent in panic (every host in rotation,
    /// healthy or not); only with health checks or outlier detection.
    PanicS,
    /// Measured requests whose client's request timeout (over all attempts) ended them.
    RequestTimeouts,
    /// Measured writes lost at failovers: committed by a primary that failed before they
    /// reached the replica promoted in its place (`replication = "async"`).
    LostWrites,
    /// Retries of measured requests sent while an earlier attempt of theirs was still out
    /// (`hedge_on_per_try_timeout`); also counted in `retries`.
    Hedges,
}

/// How a value is kept and written; shared by figures and the summary's other columns.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// How many times something happened in the measured period: 0 until counted, so
    /// every run has it; written as an integer. Exact below 2^53.
    Count,
    /// A measured quantity written with `decimals`; a figure of this kind is not
    /// applicable (an empty cell) in a run that never sets it.
    Real { decimals: usize },
}

impl Kind {
    /// Decimals of one run's value (summary.csv).
    pub fn decimals(self) -> usize {
        match self {
            Kind::Count => 0,
            Kind::Real { decimals } => decimals,
        }
    }

    /// Decimals of a mean over replications (variants.csv): a mean count need not be
    /// whole.
    pub fn mean_decimals(self) -> usize {
        match self {
            Kind::Count => 3,
            Kind::Real { decimals } => decimals,
        }
    }
}

/// A figure's column name (snake_case, as in summary.csv) and kind.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Declaration {
    pub figure: Figure,
    pub name: &'static str,
    pub kind: Kind,
}

/// Every figure, in column order: entry `i` declares the variant whose index is `i`.
pub const FIGURES: [Declaration; 46] = [
    Declaration {
        figure: Figure::RemappedShare,
        name: "remapped_share",
        kind: Kind::Real { decimals: 6 },
    },
    count(Figure::FailedNoServer, "failed_no_server"),
    count(Figure::FailedServerRemoved, "failed_server_removed"),
    count(Figure::FailedTierRejected, "failed_tier_rejected"),
    count(Figure::FailedCrash, "failed_crash"),
    count(Figure::FailedServerDown, "failed_server_down"),
    Declaration {
        figure: Figure::DetectionS,
        name: "detection_s",
        kind: Kind::Real { decimals: 3 },
    },
    count(Figure::FailedErrorResponse, "failed_error_response"),
    count(Figure::FailedOutOfMemory, "failed_out_of_memory"),
    Declaration {
        figure: Figure::RecoveryS,
        name: "recovery_s",
        kind: Kind::Real { decimals: 3 },
    },
    count(Figure::FailedTimeout, "failed_timeout"),
    count(Figure::FailedCircuitOpen, "failed_circuit_open"),
    count(Figure::Retries, "retries"),
    count(Figure::Timeouts, "timeouts"),
    count(Figure::FailedPoolTimeout, "failed_pool_timeout"),
    count(Figure::FailedDatabaseDown, "failed_database_down"),
    count(Figure::DbQueries, "db_queries"),
    real(Figure::DbUtilization, "db_utilization", 6),
    real(Figure::DbTimeShare, "db_time_share", 6),
    count(Figure::StaleReads, "stale_reads"),
    real(Figure::StaleReadShare, "stale_read_share", 6),
    count(Figure::FreshReads, "fresh_reads"),
    real(Figure::PoolWaitMeanMs, "pool_wait_mean_ms", 6),
    real(Figure::PoolWaitP99Ms, "pool_wait_p99_ms", 6),
    real(Figure::HottestShardShare, "hottest_shard_share", 6),
    real(Figure::DbMovedShare, "db_moved_share", 6),
    count(Figure::FailedPinnedUnavailable, "failed_pinned_unavailable"),
    count(Figure::SessionsStarted, "sessions_started"),
    count(Figure::SessionsCompleted, "sessions_completed"),
    count(Figure::SessionsLost, "sessions_lost"),
    count(Figure::SessionsLive, "sessions_live"),
    count(Figure::AffinityHits, "affinity_hits"),
    count(Figure::Repins, "repins"),
    count(Figure::AffinityTablePeak, "affinity_table_peak"),
    Declaration {
        figure: Figure::LoadImbalance,
        name: "load_imbalance",
        kind: Kind::Real { decimals: 6 },
    },
    Declaration {
        figure: Figure::SessionsRemappedShare,
        name: "sessions_remapped_share",
        kind: Kind::Real { decimals: 6 },
    },
    count(Figure::ChecksSent, "checks_sent"),
    count(Figure::ScaleEvents, "scale_events"),
    count(Figure::StaleRoutes, "stale_routes"),
    real(Figure::InstanceSeconds, "instance_seconds", 3),
    real(Figure::Cost, "cost", 4),
    real(Figure::SloViolationS, "slo_violation_s", 3),
    real(Figure::PanicS, "panic_s", 3),
    count(Figure::RequestTimeouts, "request_timeouts"),
    count(Figure::LostWrites, "lost_writes"),
    count(Figure::Hedges, "hedges"),
];

const fn real(figure: Figure, name: &'static str, decimals: usize) -> Declaration {
    Declaration {
        figure,
        name,
        kind: Kind::Real { decimals },
    }
}

const fn count(figure: Figure, name: &'static str) -> Declaration {
    Declaration {
        figure,
        name,
        kind: Kind::Count,
    }
}

impl Figure {
    /// Its position in [`FIGURES`] and in a [`Figures`] table.
    pub const fn index(self) -> usize {
        self as usize
    }

    pub const fn declaration(self) -> &'static Declaration {
        &FIGURES[self.index()]
    }
}

/// The figures of one run: one slot per [`Figure`], `None` where not applicable.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    values: [Option<f64>; FIGURES.len()],
}

impl Default for Figures {
    /// Counts at 0, real figures not applicable until set.
    fn default() -> Self {
        Figures {
            values: FIGURES.map(|declaration| match declaration.kind {
                Kind::Count => Some(0.0),
                Kind::Real { .. } => None,
            }),
        }
    }
}

impl Figures {
    pub fn get(&self, figure: Figure) -> Option<f64> {
        self.values[figure.index()]
    }

    /// Sets a figure, making it applicable to the run.
    pub fn set(&mut self, figure: Figure, value: f64) {
        self.values[figure.index()] = Some(value);
    }

    /// Adds `amount` to a count.
    pub fn add(&mut self, figure: Figure, amount: u64) {
        let slot = &mut self.values[figure.index()];
        *slot = Some(slot.unwrap_or(0.0) + amount as f64);
    }

    /// Every value, in [`FIGURES`] order: how a shard file carries them.
    pub fn values(&self) -> &[Option<f64>; FIGURES.len()] {
        &self.values
    }

    /// The table holding `values`, in [`FIGURES`] order.
    pub fn from_values(values: [Option<f64>; FIGURES.len()]) -> Self {
        Figures { values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_declaration_sits_at_its_figures_index() {
        for (i, declaration) in FIGURES.iter().enumerate() {
            assert_eq!(declaration.figure.index(), i, "{}", declaration.name);
        }
    }

    #[test]
    fn figure_names_are_unique_snake_case() {
        for (i, a) in FIGURES.iter().enumerate() {
            assert!(
                a.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{}",
                a.name
            );
            assert!(
                FIGURES[i + 1..].iter().all(|b| b.name != a.name),
                "{}",
                a.name
            );
        }
    }

    #[test]
    fn counts_start_at_zero_and_real_figures_unset() {
        let figures = Figures::default();
        for declaration in &FIGURES {
            let expected = (declaration.kind == Kind::Count).then_some(0.0);
            assert_eq!(figures.get(declaration.figure), expected);
        }
    }

    #[test]
    fn set_and_added_values_read_back_and_rebuild_the_table() {
        let mut figures = Figures::default();
        for (i, declaration) in FIGURES.iter().enumerate() {
            match declaration.kind {
                Kind::Count => {
                    figures.add(declaration.figure, 2);
                    figures.add(declaration.figure, i as u64);
                }
                Kind::Real { .. } => figures.set(declaration.figure, 0.25 + i as f64),
            }
        }
        for (i, declaration) in FIGURES.iter().enumerate() {
            let expected = match declaration.kind {
                Kind::Count => 2.0 + i as f64,
                Kind::Real { .. } => 0.25 + i as f64,
            };
            assert_eq!(figures.get(declaration.figure), Some(expected));
        }
        assert_eq!(Figures::from_values(*figures.values()), figures);
    }

    #[test]
    fn kinds_print_counts_whole_and_their_means_with_three_decimals() {
        assert_eq!(
            (Kind::Count.decimals(), Kind::Count.mean_decimals()),
            (0, 3)
        );
        let real = Kind::Real { decimals: 6 };
        assert_eq!((real.decimals(), real.mean_decimals()), (6, 6));
    }
}
