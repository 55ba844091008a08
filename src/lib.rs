//! lbsim: a deterministic discrete-event simulator of load balancing.
//!
//! A scenario file describes traffic, servers and a balancer; lbsim simulates it with
//! integer-nanosecond time and seeded random streams, so the same scenario and seed always
//! give byte-identical results, whatever the number of threads.
//!
//! The modules follow the flow of data, and imports run downhill:
//! `cli`/`app` → `runner` → `scenario` → `model` → {`balancer`, `stats`} → `engine`,
//! with `report` turning results into files. A distributed run goes `runner` → `shard`
//! (one shard file per scenario) on each machine, then `merge` → `report` on one.
//!
//! Embedding it takes a scenario and a seed:
//!
//! ```
//! use std::path::Path;
//! use lbsim::model::simulate;
//! use lbsim::scenario::Scenario;
//!
//! let text = r#"
//!     duration = "20s"
//!     [workload]
//!     rate = 150
//!     service = { dist = "exponential", mean = "10ms" }
//!     [[servers]]
//!     count = 2
//!     [balancer]
//!     algorithm = "least-connections"
//! "#;
//! let scenario = Scenario::from_source(text, Path::new("example.toml")).unwrap();
//! let result = simulate(&scenario.variants[0].run, scenario.seed);
//! assert!(result.counts.is_conserved());
//! assert!(result.utilization > 0.6 && result.utilization < 0.9);
//! println!("p99 {:.1} ms", result.latency.quantile_ms(0.99));
//! ```

pub mod app;
pub mod balancer;
pub mod bench;
pub mod check;
pub mod cli;
pub mod engine;
pub mod hash;
pub mod id;
pub mod interrupt;
pub mod merge;
pub mod model;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod shard;
pub mod stats;
pub mod trace_command;
