//! Measurement: what a run records and what is computed from it afterwards.
//!
//! During a run only cheap, bounded-memory updates happen (histogram buckets, counters,
//! per-interval buffers reused from one interval to the next); everything else (means,
//! percentiles, confidence intervals) is derived once the run is over.

mod bucket_select;
mod cluster_event;
mod confidence;
mod counts;
mod figure;
mod interval_latencies;
mod latency;
mod log_histogram;
mod run_result;
mod series;
mod spill_vec;
mod tier_times;

pub use cluster_event::{
    CAPACITY, ClusterEvent, NORMAL, PANIC, REASON_NAMES, STATE_NAMES, UNKNOWN, known_name,
};
pub use confidence::{ConfidenceInterval, confidence_interval};
pub use counts::Counts;
pub use figure::{Declaration, FIGURES, Figure, Figures, Kind};
pub use latency::{LatencyParts, LatencyStats};
pub use run_result::{RunResult, ServerSummary};
pub use series::{
    ClusterSample, Instances, IntervalCounts, IntervalTotals, Percentiles, SeriesRecorder,
    SeriesRow, ServerSample,
};
pub use spill_vec::{SpillVec, Spillable};
pub use tier_times::TierTimes;
