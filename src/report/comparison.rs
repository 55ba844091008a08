//! The comparison of a scenario's variants that the terminal, index.html and report.md
//! all show: per variant, the mean over replications of each headline metric with its 95%
//! confidence half-width, the best variant of each column marked where that means
//! something, and the variants whose queue grew without bound flagged. Computed once here
//! so that the three can never disagree.
//!
//! **Best** marks follow one rule. A value is marked best in its column when
//! 1. the column ranks (lower latency, higher throughput, fewer rejected or failed;
//!    utilization and in-flight only describe);
//! 2. it is compared only with the variants *offered the same traffic* — the same
//!    workload (rate, arrivals, service, clients, or trace and speed): throughput at
//!    600 req/s offered does not beat throughput at 900, nor does its latency;
//! 3. it beats every other such variant by more than the column's resolution: 1% of the
//!    other's value for latency (the histogram's resolution) and throughput, 0.1% of the
//!    arrivals for rejected and failed requests;
//! 4. with several replications, its 95% confidence interval lies wholly on the better side
//!    of every other's (a difference inside the intervals is noise).
//!
//! **Unstable** variants are those of `stability`: their percentiles describe a queue
//! that was still growing, and each report says so beside them.

use super::stability::is_unstable;
use super::summary::SummaryRow;
use crate::scenario::Scenario;
use crate::stats::{ConfidenceInterval, confidence_interval};

/// Which end of a column is better.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Better {
    Lower,
    Higher,
    /// Neither: high utilization is not better or worse in itself.
    Neither,
}

/// The smallest difference a column tells apart.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Resolution {
    /// A fraction of the value beaten.
    Relative(f64),
    /// A fraction of the variant's arrivals (for counts of requests).
    OfArrivals(f64),
}

/// A column of the table: a summary.csv metric.
#[derive(Copy, Clone, Debug)]
pub struct Column {
    pub metric: &'static str,
    pub heading: &'static str,
    pub decimals: usize,
    pub better: Better,
    pub resolution: Resolution,
}

impl Column {
    /// Latency columns: a variant without completions has no latency, not a latency of 0.
    fn is_latency(&self) -> bool {
        self.metric.ends_with("_ms")
    }
}

/// Latency and throughput differences under 1% are not marked.
const RELATIVE: Resolution = Resolution::Relative(0.01);
/// Rejected or failed counts differing by under 0.1% of arrivals are not marked.
const OF_ARRIVALS: Resolution = Resolution::OfArrivals(0.001);

pub const COLUMNS: [Column; 9] = [
    column("mean_ms", "mean ms", 2, Better::Lower, RELATIVE),
    column("p50_ms", "p50 ms", 2, Better::Lower, RELATIVE),
    column("p99_ms", "p99 ms", 2, Better::Lower, RELATIVE),
    column("p999_ms", "p99.9 ms", 2, Better::Lower, RELATIVE),
    column("throughput_rps", "req/s", 1, Better::Higher, RELATIVE),
    column("utilization", "utilization", 3, Better::Neither, RELATIVE),
    column("rejected", "rejected", 0, Better::Lower, OF_ARRIVALS),
    column("failed", "failed", 0, Better::Lower, OF_ARRIVALS),
    column("in_flight", "in flight", 0, Better::Neither, OF_ARRIVALS),
];

const fn column(
    metric: &'static str,
    heading: &'static str,
    decimals: usize,
    better: Better,
    resolution: Resolution,
) -> Column {
    Column {
        metric,
        heading,
        decimals,
        better,
        resolution,
    }
}

/// The rule for best marks in a few words, for the notes under the tables.
pub const BEST_RULE: &str = "best among the variants offered the same traffic, ahead of \
    each by more than 1% (0.1% of arrivals for rejected and failed) and beyond the 95% \
    confidence intervals";

/// The table of one scenario.
pub struct Comparison {
    /// Headings of the columns naming a variant: the swept keys, or `variant`.
    pub key_headings: Vec<String>,
    pub rows: Vec<Row>,
    pub replications: usize,
}

/// One variant.
pub struct Row {
    /// The variant's swept values (its label when nothing is swept), one per key heading.
    pub keys: Vec<String>,
    /// One per [`COLUMNS`] entry.
    pub cells: Vec<Cell>,
    /// Some replication's queue grew without bound: its percentiles are no steady state.
    pub unstable: bool,
    /// Variants with the same `traffic` were offered the same workload.
    traffic: usize,
    /// Mean measured arrivals over replications.
    arrived: f64,
}

/// One metric of one variant.
#[derive(Copy, Clone, Debug)]
pub struct Cell {
    pub value: ConfidenceInterval,
    /// Not applicable: a latency of a variant that completed nothing.
    pub missing: bool,
    pub best: bool,
}

impl Comparison {
    pub fn new(scenario: &Scenario, rows: &[SummaryRow]) -> Self {
        let replications = rows
            .iter()
            .map(|r| r.replication as usize + 1)
            .max()
            .unwrap_or(0);
        let mut workloads = Vec::new();
        let mut table: Vec<Row> = scenario
            .variants
            .iter()
            .enumerate()
            .map(|(index, variant)| {
                let runs: Vec<&SummaryRow> = rows.iter().filter(|r| r.variant == index).collect();
                let completed = runs.iter().any(|r| r.counts.completed > 0);
                let traffic = match workloads.iter().position(|w| *w == &variant.run.workload) {
                    Some(class) => class,
                    None => {
                        workloads.push(&variant.run.workload);
                        workloads.len() - 1
                    }
                };
                Row {
                    keys: if scenario.swept_keys.is_empty() {
                        vec![variant.label.clone()]
                    } else {
                        variant.values.clone()
                    },
                    cells: COLUMNS
                        .iter()
                        .map(|column| {
                            let samples: Vec<f64> = runs
                                .iter()
                                .filter_map(|r| r.metric(column.metric))
                                .collect();
                            Cell {
                                value: confidence_interval(&samples),
                                missing: column.is_latency() && !completed,
                                best: false,
                            }
                        })
                        .collect(),
                    unstable: runs.iter().any(|r| is_unstable(&r.counts)),
                    traffic,
                    arrived: confidence_interval(
                        &runs
                            .iter()
                            .map(|r| r.counts.arrived as f64)
                            .collect::<Vec<_>>(),
                    )
                    .mean,
                }
            })
            .collect();
        mark_best(&mut table);
        Comparison {
            key_headings: if scenario.swept_keys.is_empty() {
                vec!["variant".to_string()]
            } else {
                scenario.swept_keys.clone()
            },
            rows: table,
            replications,
        }
    }

    /// Whether any cell is marked best.
    pub fn any_best(&self) -> bool {
        self.rows.iter().any(|r| r.cells.iter().any(|c| c.best))
    }

    /// Whether any variant is unstable.
    pub fn any_unstable(&self) -> bool {
        self.rows.iter().any(|r| r.unstable)
    }
}

/// Marks, per column and per class of variants offered the same traffic, the one variant
/// that beats every other by more than the resolution and the confidence intervals.
fn mark_best(rows: &mut [Row]) {
    for (c, column) in COLUMNS.iter().enumerate() {
        if column.better == Better::Neither {
            continue;
        }
        let marked: Vec<bool> = (0..rows.len())
            .map(|i| {
                let candidate = &rows[i];
                let peers: Vec<&Row> = rows
                    .iter()
                    .enumerate()
                    .filter(|&(j, r)| j != i && r.traffic == candidate.traffic)
                    .map(|(_, r)| r)
                    .filter(|r| !r.cells[c].missing)
                    .collect();
                !candidate.cells[c].missing
                    && !peers.is_empty()
                    && peers.iter().all(|peer| {
                        clearly_better(
                            column,
                            candidate.cells[c].value,
                            peer.cells[c].value,
                            candidate.arrived,
                        )
                    })
            })
            .collect();
        for (row, best) in rows.iter_mut().zip(marked) {
            row.cells[c].best = best;
        }
    }
}

/// Whether `a` beats `b` in `column` by more than its resolution and beyond both 95%
/// confidence intervals. `arrived` scales a resolution of counts.
fn clearly_better(
    column: &Column,
    a: ConfidenceInterval,
    b: ConfidenceInterval,
    arrived: f64,
) -> bool {
    // The lead of a over b, positive when a is better, and the worse of the two ends.
    let (lead, gap) = match column.better {
        Better::Lower => (
            b.mean - a.mean,
            (b.mean - b.half_width) - (a.mean + a.half_width),
        ),
        Better::Higher => (
            a.mean - b.mean,
            (a.mean - a.half_width) - (b.mean + b.half_width),
        ),
        Better::Neither => return false,
    };
    let resolution = match column.resolution {
        Resolution::Relative(share) => share * b.mean.abs(),
        Resolution::OfArrivals(share) => share * arrived,
    };
    lead > resolution && gap > 0.0
}

impl Cell {
    /// The value as shown: the mean with `decimals` (one more for counts averaged over
    /// replications), then `± half-width` when there are several replications; `n/a`
    /// for a latency without completions.
    pub fn text(&self, column: &Column, replications: usize) -> String {
        if self.missing {
            return "n/a".to_string();
        }
        let decimals = if column.decimals == 0 && replications > 1 {
            1
        } else {
            column.decimals
        };
        let mean = self.value.mean;
        if replications > 1 {
            format!("{mean:.decimals$} ± {:.decimals$}", self.value.half_width)
        } else {
            format!("{mean:.decimals$}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::charts::fixtures;
    use super::super::summary_rows;
    use super::*;

    fn column(metric: &str) -> usize {
        COLUMNS.iter().position(|c| c.metric == metric).unwrap()
    }

    #[test]
    fn one_row_per_variant_named_by_its_swept_values() {
        let results = fixtures::swept();
        let view = results.view();
        let table = Comparison::new(&results.scenario, &summary_rows(&view));
        assert_eq!(table.key_headings, ["balancer.algorithm", "workload.rate"]);
        assert_eq!(table.replications, 2);
        assert_eq!(table.rows.len(), 4);
        assert_eq!(table.rows[3].keys, ["least-connections", "300"]);
        let p99 = &table.rows[0].cells[2];
        assert!(p99.text(&COLUMNS[2], 2).contains(" ± "));
        // Two workloads (150 and 300 req/s), each offered to two algorithms.
        let traffic: Vec<usize> = table.rows.iter().map(|r| r.traffic).collect();
        assert_eq!(traffic, [0, 1, 0, 1]);
    }

    #[test]
    fn no_completions_is_not_fastest_and_different_traffic_is_not_compared() {
        let results = fixtures::degenerate();
        let view = results.view();
        let table = Comparison::new(&results.scenario, &summary_rows(&view));
        let idle = &table.rows[0];
        assert!(idle.cells[0].missing && !idle.cells[0].best);
        assert_eq!(idle.cells[0].text(&COLUMNS[0], 1), "n/a");
        // 0 and 50 req/s offered: neither throughput nor latency is compared.
        for row in &table.rows {
            assert!(row.cells.iter().all(|c| !c.best));
        }
    }

    fn ci(mean: f64, half_width: f64) -> ConfidenceInterval {
        ConfidenceInterval { mean, half_width }
    }

    #[test]
    fn a_lead_must_pass_the_resolution_and_the_intervals() {
        let p99 = &COLUMNS[column("p99_ms")];
        // 1% of 100 ms is 1 ms: 98.9 leads by 1.1 (marked), 99.1 by 0.9 (not).
        assert!(clearly_better(p99, ci(98.9, 0.0), ci(100.0, 0.0), 1e6));
        assert!(!clearly_better(p99, ci(99.1, 0.0), ci(100.0, 0.0), 1e6));
        // A lead of 10 ms inside overlapping intervals is noise; outside them it is not.
        assert!(!clearly_better(p99, ci(90.0, 6.0), ci(100.0, 5.0), 1e6));
        assert!(clearly_better(p99, ci(90.0, 4.0), ci(100.0, 5.0), 1e6));
        // Throughput: higher is better.
        let rps = &COLUMNS[column("throughput_rps")];
        assert!(clearly_better(rps, ci(900.0, 0.0), ci(880.0, 0.0), 1e6));
        assert!(!clearly_better(rps, ci(900.0, 0.0), ci(895.0, 0.0), 1e6));
        // Rejected: 0.1% of 100,000 arrivals is 100 requests.
        let rejected = &COLUMNS[column("rejected")];
        assert!(!clearly_better(
            rejected,
            ci(0.0, 0.0),
            ci(60.0, 0.0),
            100_000.0
        ));
        assert!(clearly_better(
            rejected,
            ci(0.0, 0.0),
            ci(35_741.0, 0.0),
            100_000.0
        ));
        // Columns that describe never rank.
        let util = &COLUMNS[column("utilization")];
        assert!(!clearly_better(util, ci(0.5, 0.0), ci(0.9, 0.0), 1e6));
    }

    #[test]
    fn marks_go_to_the_clear_winner_among_the_same_traffic_only() {
        let results = fixtures::knee();
        let view = results.view();
        let table = Comparison::new(&results.scenario, &summary_rows(&view));
        let p99 = column("p99_ms");
        for row in &table.rows {
            if !row.cells[p99].best {
                continue;
            }
            // Its one peer: the other algorithm at the same rate.
            let peer = table
                .rows
                .iter()
                .find(|r| r.traffic == row.traffic && !std::ptr::eq(*r, row))
                .unwrap();
            assert!(peer.cells[p99].value.mean > 1.01 * row.cells[p99].value.mean);
        }
        // No two variants of one traffic both best.
        for class in 0..5 {
            let marks = table
                .rows
                .iter()
                .filter(|r| r.traffic == class && r.cells[p99].best)
                .count();
            assert!(marks <= 1);
        }
        // Throughput at the same offered rate differs by far less than 1%: no mark.
        let rps = column("throughput_rps");
        assert!(table.rows.iter().all(|r| !r.cells[rps].best));
    }

    #[test]
    fn an_overloaded_variant_is_flagged_unstable() {
        let results = fixtures::runaway();
        let view = results.view();
        let table = Comparison::new(&results.scenario, &summary_rows(&view));
        assert!(!table.rows[0].unstable && table.rows[1].unstable);
        assert!(table.any_unstable());
        let in_flight = table.rows[1].cells[column("in_flight")].value.mean;
        // 200 req/s more than capacity for 9 measured seconds: over a thousand waiting.
        assert!(in_flight > 1000.0, "{in_flight}");
    }
}
