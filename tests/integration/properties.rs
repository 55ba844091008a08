//! Properties of every run, over generated valid scenarios.
//!
//! Each case is a scenario file written as TOML text and read through
//! `Scenario::from_source`, so the parser, the validator and the model are exercised
//! together: 1–3 server groups, any algorithm, any service distribution, a constant rate or
//! a step schedule, Poisson or constant arrivals, a load of 0.1–1.5 of capacity. The mean
//! service time is raised where needed so that no run has more than [`ARRIVAL_BUDGET`]
//! expected arrivals: a case takes a few milliseconds.
//!
//! `PROPTEST_CASES=N` runs N cases per property instead of [`CASES`].

use std::path::Path;

use lbsim::balancer::Algorithm;
use lbsim::engine::derive_seed;
use lbsim::model::simulate;
use lbsim::report::{ScenarioResults, summary_rows};
use lbsim::scenario::Scenario;
use lbsim::stats::{LatencyStats, RunResult};
use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::support::records;

/// Cases per property unless `PROPTEST_CASES` says otherwise.
const CASES: u32 = 256;

/// Most expected arrivals in one generated run.
const ARRIVAL_BUDGET: f64 = 20_000.0;

/// `CASES` cases, or `PROPTEST_CASES` when set.
fn config() -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = CASES;
    }
    config
}

/// One `[[servers]]` group.
#[derive(Clone, Debug)]
struct Group {
    count: u32,
    workers: u32,
    /// `None` is `"unbounded"`.
    queue: Option<u32>,
    /// Hundredths: 50..=300 is 0.5..=3.0.
    speed_centi: u32,
    weight: u32,
}

impl Group {
    fn speed(&self) -> f64 {
        f64::from(self.speed_centi) / 100.0
    }

    /// Work completed per unit of time at full load, in servers at speed 1.
    fn capacity_units(&self) -> f64 {
        f64::from(self.count * self.workers) * self.speed()
    }
}

/// `workload.service`, with the mean chosen separately.
#[derive(Clone, Debug)]
enum Dist {
    Constant,
    Exponential,
    /// `min = mean × p / 100`, `max = mean × (200 - p) / 100`.
    Uniform {
        min_percent: u64,
    },
    /// `cv` in hundredths.
    LogNormal {
        cv_centi: u32,
    },
    /// `shape` in hundredths.
    Pareto {
        shape_centi: u32,
    },
}

/// `workload.rate`: loads as fractions of capacity.
#[derive(Clone, Debug)]
enum Rate {
    Constant(f64),
    /// `(start as a fraction of the duration, load)`; the first starts at 0 or later.
    Steps(Vec<(f64, f64)>),
}

impl Rate {
    fn peak_load(&self) -> f64 {
        match self {
            Rate::Constant(load) => *load,
            Rate::Steps(steps) => steps.iter().map(|&(_, load)| load).fold(0.0, f64::max),
        }
    }
}

/// A generated scenario.
#[derive(Clone, Debug)]
struct Case {
    groups: Vec<Group>,
    algorithm: Algorithm,
    dist: Dist,
    /// Mean service time before the arrival budget raises it.
    mean_us: u64,
    rate: Rate,
    poisson: bool,
    duration_ms: u64,
    /// Warmup as a fraction of the duration, below 1.
    warmup_fraction: f64,
    clients: u32,
    seed: u64,
    /// `None` is the default (1 s); `Some(None)` is `"off"`.
    interval_ms: Option<Option<u64>>,
}

fn group() -> impl Strategy<Value = Group> {
    (
        1u32..=6,
        1u32..=4,
        prop_oneof![Just(None), Just(Some(0)), (0u32..=20).prop_map(Some)],
        50u32..=300,
        1u32..=5,
    )
        .prop_map(|(count, workers, queue, speed_centi, weight)| Group {
            count,
            workers,
            queue,
            speed_centi,
            weight,
        })
}

fn dist() -> impl Strategy<Value = Dist> {
    prop_oneof![
        Just(Dist::Constant),
        Just(Dist::Exponential),
        // The bounds of each parameter are drawn often: min = 0, min = max, cv = 0, ...
        prop_oneof![Just(0u64), Just(100), 0u64..=100]
            .prop_map(|min_percent| Dist::Uniform { min_percent }),
        prop_oneof![Just(0u32), Just(300), 0u32..=300]
            .prop_map(|cv_centi| Dist::LogNormal { cv_centi }),
        prop_oneof![Just(150u32), 150u32..=400]
            .prop_map(|shape_centi| Dist::Pareto { shape_centi }),
    ]
}

fn rate() -> impl Strategy<Value = Rate> {
    let load = 0.1f64..=1.5;
    prop_oneof![
        load.clone().prop_map(Rate::Constant),
        proptest::collection::vec((0.0f64..1.2, load), 1..=3).prop_map(|mut steps| {
            // Starts strictly increasing (some past the end of the run: they never apply).
            steps.sort_by(|a, b| a.0.total_cmp(&b.0));
            steps.dedup_by(|a, b| (a.0 * 1000.0).round() == (b.0 * 1000.0).round());
            Rate::Steps(steps)
        }),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(group(), 1..=3),
        proptest::sample::select(Algorithm::ALL.to_vec()),
        dist(),
        100u64..=100_000,
        rate(),
        any::<bool>(),
        1_000u64..=20_000,
        prop_oneof![Just(0.0), 0.0f64..0.95],
        1u32..=2000,
        any::<u64>(),
        prop_oneof![
            2 => Just(None),
            1 => Just(Some(None)),
            3 => (50u64..=7_000).prop_map(|ms| Some(Some(ms))),
        ],
    )
        .prop_map(
            |(
                groups,
                algorithm,
                dist,
                mean_us,
                rate,
                poisson,
                duration_ms,
                warmup_fraction,
                clients,
                seed,
                interval_ms,
            )| Case {
                groups,
                algorithm,
                dist,
                mean_us,
                rate,
                poisson,
                duration_ms,
                warmup_fraction,
                clients,
                seed,
                interval_ms,
            },
        )
}

impl Case {
    /// The mean service time in microseconds, raised so that the run stays within the
    /// arrival budget.
    fn mean_us(&self) -> u64 {
        let units: f64 = self.groups.iter().map(Group::capacity_units).sum();
        let seconds = self.duration_ms as f64 / 1000.0;
        let floor = self.rate.peak_load() * units * seconds / ARRIVAL_BUDGET * 1e6;
        self.mean_us.max(floor.ceil() as u64)
    }

    /// Requests per second at `load` of the fleet's capacity.
    fn rate_at(&self, load: f64) -> f64 {
        let units: f64 = self.groups.iter().map(Group::capacity_units).sum();
        load * units / (self.mean_us() as f64 / 1e6)
    }

    fn warmup_ms(&self) -> u64 {
        (self.duration_ms as f64 * self.warmup_fraction) as u64
    }

    /// The scenario file.
    fn toml(&self) -> String {
        let mean = self.mean_us();
        let mut text = format!(
            "name = \"generated\"\nseed = {}\nduration = \"{}ms\"\nwarmup = \"{}ms\"\n",
            self.seed,
            self.duration_ms,
            self.warmup_ms()
        );
        match self.interval_ms {
            None => {}
            Some(None) => text.push_str("timeseries_interval = \"off\"\n"),
            Some(Some(ms)) => text.push_str(&format!("timeseries_interval = \"{ms}ms\"\n")),
        }
        text.push_str("\n[workload]\n");
        match &self.rate {
            Rate::Constant(load) => text.push_str(&format!("rate = {:?}\n", self.rate_at(*load))),
            Rate::Steps(steps) => {
                let steps: Vec<String> = steps
                    .iter()
                    .map(|&(start, load)| {
                        let start_ms = (start * 1000.0).round() as u64 * self.duration_ms / 1000;
                        format!("[\"{start_ms}ms\", {:?}]", self.rate_at(load))
                    })
                    .collect();
                text.push_str(&format!("rate = [{}]\n", steps.join(", ")));
            }
        }
        let arrivals = if self.poisson { "poisson" } else { "constant" };
        text.push_str(&format!("arrivals = \"{arrivals}\"\n"));
        let service = match &self.dist {
            Dist::Constant => format!("{{ dist = \"constant\", mean = \"{mean}us\" }}"),
            Dist::Exponential => format!("{{ dist = \"exponential\", mean = \"{mean}us\" }}"),
            Dist::Uniform { min_percent } => format!(
                "{{ dist = \"uniform\", min = \"{}ns\", max = \"{}ns\" }}",
                mean * 1000 * min_percent / 100,
                mean * 1000 * (200 - min_percent) / 100
            ),
            Dist::LogNormal { cv_centi } => format!(
                "{{ dist = \"lognormal\", mean = \"{mean}us\", cv = {:?} }}",
                f64::from(*cv_centi) / 100.0
            ),
            Dist::Pareto { shape_centi } => format!(
                "{{ dist = \"pareto\", mean = \"{mean}us\", shape = {:?} }}",
                f64::from(*shape_centi) / 100.0
            ),
        };
        text.push_str(&format!(
            "service = {service}\nclients = {}\n",
            self.clients
        ));
        for (index, group) in self.groups.iter().enumerate() {
            let queue = group
                .queue
                .map_or_else(|| "\"unbounded\"".to_string(), |q| q.to_string());
            text.push_str(&format!(
                "\n[[servers]]\nname = \"g{index}\"\ncount = {}\nworkers = {}\nqueue = {queue}\n\
                 speed = {:?}\nweight = {}\nzone = \"z{}\"\n",
                group.count,
                group.workers,
                group.speed(),
                group.weight,
                index % 2
            ));
        }
        text.push_str(&format!(
            // `first` needs a connection limit; the other algorithms ignore it.
            "\n[balancer]\nalgorithm = \"{}\"\nmax_connections = 3\n",
            self.algorithm.name()
        ));
        text
    }

    /// The validated scenario; a generated file must be valid.
    fn scenario(&self) -> (String, Scenario) {
        let text = self.toml();
        let scenario = Scenario::from_source(&text, Path::new("generated.toml"))
            .unwrap_or_else(|e| panic!("a generated scenario is invalid:\n{e}\n\n{text}"));
        assert_eq!(scenario.variants.len(), 1, "{text}");
        let run = &scenario.variants[0].run;
        let servers: u32 = self.groups.iter().map(|g| g.count).sum();
        assert_eq!(run.server_count(), servers as usize, "{text}");
        assert_eq!(run.balancer.algorithm, self.algorithm, "{text}");
        (text, scenario)
    }

    /// The scenario and one simulation of its only variant, as `lbsim run` would seed it.
    fn run(&self) -> (String, Scenario, RunResult) {
        let (text, scenario) = self.scenario();
        let result = simulate(&scenario.variants[0].run, derive_seed(scenario.seed, 0));
        (text, scenario, result)
    }

    fn all_unbounded(&self) -> bool {
        self.groups.iter().all(|g| g.queue.is_none())
    }
}

/// Percentiles in order, each at most the maximum, the mean at most the maximum, and
/// nothing negative or NaN.
fn check_latency(name: &str, stats: &LatencyStats, text: &str) -> Result<(), TestCaseError> {
    let quantiles = [0.5, 0.9, 0.99, 0.999].map(|q| stats.quantile_ms(q));
    let max = stats.max_ms();
    let mean = stats.mean_ms();
    let chain = [quantiles[0], quantiles[1], quantiles[2], quantiles[3], max];
    prop_assert!(
        chain.iter().all(|v| v.is_finite() && *v >= 0.0),
        "{name}: p50, p90, p99, p999, max = {chain:?}\n{text}"
    );
    prop_assert!(
        chain.windows(2).all(|w| w[0] <= w[1]),
        "{name}: p50 ≤ p90 ≤ p99 ≤ p999 ≤ max fails: {chain:?}\n{text}"
    );
    prop_assert!(
        mean.is_finite() && mean >= 0.0 && mean <= max,
        "{name}: mean {mean} is not within [0, max {max}]\n{text}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_measured_request_has_exactly_one_outcome(case in case()) {
        let (text, _, result) = case.run();
        let c = result.counts;
        prop_assert!(c.is_conserved(), "{c:?}\n{text}");
        prop_assert_eq!(result.latency.count(), c.completed, "latencies recorded\n{}", text);
        prop_assert_eq!(result.wait.count(), c.completed, "waits recorded\n{}", text);
        let per_server: u64 = result.servers.iter().map(|s| s.completions).sum();
        prop_assert_eq!(per_server, c.completed, "servers' completions\n{}", text);
        prop_assert_eq!(c.failed, 0, "no server is ever missing here\n{}", text);
    }

    #[test]
    fn the_same_spec_and_seed_give_the_same_run(case in case()) {
        let (text, scenario) = case.scenario();
        let (_, again) = case.scenario();
        prop_assert_eq!(&scenario.variants[0].run, &again.variants[0].run, "{}", text);
        let run = |s: &Scenario| simulate(&s.variants[0].run, derive_seed(s.seed, 0));
        let (first, second) = (run(&scenario), run(&again));
        let rows = |result: RunResult| {
            let series = records(&result.series);
            let results = ScenarioResults { scenario: &scenario, runs: vec![vec![result]] };
            (summary_rows(&results), series)
        };
        let (first_rows, first_series) = rows(first);
        let (second_rows, second_series) = rows(second);
        prop_assert_eq!(first_rows, second_rows, "summary rows differ\n{}", text);
        prop_assert!(first_series == second_series, "series rows differ\n{}", text);
    }

    #[test]
    fn utilization_is_a_fraction_overall_per_server_and_per_interval(case in case()) {
        let (text, _, result) = case.run();
        prop_assert!(
            (0.0..=1.0).contains(&result.utilization),
            "utilization {}\n{}", result.utilization, text
        );
        for server in &result.servers {
            prop_assert!(
                (0.0..=1.0).contains(&server.utilization),
                "{}: utilization {}\n{}", server.name, server.utilization, text
            );
        }
        for row in records(&result.series) {
            prop_assert!(
                (0.0..=1.0).contains(&row.utilization),
                "series row {row:?}: utilization out of [0, 1]\n{text}"
            );
        }
    }

    #[test]
    fn latency_percentiles_are_ordered_and_bounded_by_the_maximum(case in case()) {
        let (text, _, result) = case.run();
        check_latency("latency", &result.latency, &text)?;
        check_latency("wait", &result.wait, &text)?;
        // A request's wait is part of its response time.
        prop_assert!(result.wait.max_ms() <= result.latency.max_ms(), "{}", text);
        prop_assert!(result.wait.mean_ms() <= result.latency.mean_ms(), "{}", text);
        for row in records(&result.series) {
            if let Some(p) = row.latency_ms {
                prop_assert!(
                    row.completions > 0 && p.p50 <= p.p90 && p.p90 <= p.p99,
                    "series row {row:?}\n{text}"
                );
            } else {
                prop_assert_eq!(row.completions, 0, "series row {:?}\n{}", row, text);
            }
        }
    }

    #[test]
    fn the_series_counts_every_measured_completion(case in case()) {
        let (text, _, result) = case.run();
        let rows = records(&result.series);
        if case.interval_ms == Some(None) {
            prop_assert!(rows.is_empty(), "a series although it is off\n{}", text);
        } else {
            let in_series: u64 = rows.iter().map(|r| u64::from(r.completions)).sum();
            prop_assert!(
                in_series >= result.counts.completed,
                "the series has {in_series} completions, the run {}\n{text}",
                result.counts.completed
            );
            let mut per_interval = 0u64;
            result.intervals.for_each(|i| { per_interval += u64::from(i.completions); Ok(()) })
                .expect("the intervals read back");
            prop_assert_eq!(per_interval, in_series, "{}", text);
        }
    }

    #[test]
    fn nothing_is_rejected_when_every_queue_is_unbounded(
        case in case().prop_map(|mut case| {
            for group in &mut case.groups {
                group.queue = None;
            }
            case
        })
    ) {
        prop_assert!(case.all_unbounded());
        let (text, _, result) = case.run();
        prop_assert_eq!(result.counts.rejected, 0, "{}", text);
    }

    #[test]
    fn throughput_is_at_most_the_arrival_rate(case in case()) {
        let (text, _, result) = case.run();
        let seconds = result.measured.as_secs_f64();
        prop_assert!(seconds > 0.0, "{}", text);
        let arrival_rate = result.counts.arrived as f64 / seconds;
        let throughput = result.throughput_rps();
        prop_assert!(
            throughput <= arrival_rate,
            "throughput {throughput} > arrivals {arrival_rate}/s\n{text}"
        );
        let duration_ms = case.duration_ms - case.warmup_ms();
        prop_assert_eq!(result.measured.as_nanos(), duration_ms * 1_000_000, "{}", text);
    }
}

// ---- Valid extremes -----------------------------------------------------------------------

/// Parameter values at the edges of what validation accepts.
fn extreme_service() -> impl Strategy<Value = String> {
    let mean = proptest::sample::select(vec!["1ns", "1us", "10ms", "1h", "18446744073709551615ns"]);
    // Validation accepts a cv from 0 to 100.
    let cv = proptest::sample::select(vec![0.0, 5e-324, 1e-300, 0.5, 3.0, 42.0, 100.0]);
    let shape = proptest::sample::select(vec![
        1.0000000000000002,
        1.000001,
        1.5,
        1e10,
        1e100,
        1e300,
        f64::MAX,
    ]);
    // Sorted: `min` and `max` are the smaller and the larger pick, `max` never 0.
    const BOUNDS: [&str; 4] = ["0ns", "1ns", "1ms", "18446744073709551615ns"];
    prop_oneof![
        mean.clone()
            .prop_map(|m| format!("{{ dist = \"constant\", mean = \"{m}\" }}")),
        mean.clone()
            .prop_map(|m| format!("{{ dist = \"exponential\", mean = \"{m}\" }}")),
        (0..BOUNDS.len(), 0..BOUNDS.len()).prop_map(|(a, b)| {
            let (min, max) = (BOUNDS[a.min(b)], BOUNDS[a.max(b).max(1)]);
            format!("{{ dist = \"uniform\", min = \"{min}\", max = \"{max}\" }}")
        }),
        (mean.clone(), cv)
            .prop_map(|(m, cv)| format!("{{ dist = \"lognormal\", mean = \"{m}\", cv = {cv:?} }}")),
        (mean, shape).prop_map(|(m, shape)| {
            format!("{{ dist = \"pareto\", mean = \"{m}\", shape = {shape:?} }}")
        }),
    ]
}

fn extreme_scenario() -> impl Strategy<Value = String> {
    let speed = proptest::sample::select(vec![5e-324, 1e-300, 1e-9, 1.0, 1e9, 1e300, f64::MAX]);
    let rate = proptest::sample::select(vec![5e-324, 1e-300, 1e-3, 1.0, 100.0, 1000.0]);
    (
        extreme_service(),
        speed,
        rate,
        any::<bool>(),
        proptest::sample::select(Algorithm::ALL.to_vec()),
        prop_oneof![
            Just("\"unbounded\"".to_string()),
            (0u32..=2).prop_map(|q| q.to_string())
        ],
        proptest::sample::select(vec!["1ns", "1ms", "1s", "18446744073709551615ns", "off"]),
        proptest::sample::select(vec!["0s", "1ns", "1s", "1999999999ns"]),
        // The fewest and the most client addresses a scenario may have.
        proptest::sample::select(vec![1u32, 100_000_000]),
    )
        .prop_map(
            |(service, speed, rate, poisson, algorithm, queue, interval, warmup, clients)| {
                let arrivals = if poisson { "poisson" } else { "constant" };
                // A 1 ns interval over 2 s would be 2e9 rows: keep it to a short run.
                let duration = if interval == "1ns" { "20us" } else { "2s" };
                let warmup = if interval == "1ns" { "0s" } else { warmup };
                format!(
                    "duration = \"{duration}\"\nwarmup = \"{warmup}\"\n\
                     timeseries_interval = \"{interval}\"\n\
                     [workload]\nrate = {rate:?}\narrivals = \"{arrivals}\"\n\
                     service = {service}\nclients = {clients}\n\
                     [[servers]]\ncount = 2\nworkers = 2\nqueue = {queue}\nspeed = {speed:?}\n\
                     [[servers]]\nname = \"other\"\n\
                     [balancer]\nalgorithm = \"{}\"\nmax_connections = 3\n",
                    algorithm.name()
                )
            },
        )
}

proptest! {
    #![proptest_config(config())]

    /// Whatever validation accepts, the model runs without a panic, and the basic
    /// properties hold.
    #[test]
    fn valid_extremes_simulate_and_keep_the_invariants(text in extreme_scenario()) {
        let scenario = Scenario::from_source(&text, Path::new("extreme.toml"))
            .unwrap_or_else(|e| panic!("an extreme scenario is invalid:\n{e}\n\n{text}"));
        let result = simulate(&scenario.variants[0].run, derive_seed(scenario.seed, 0));
        prop_assert!(result.counts.is_conserved(), "{:?}\n{}", result.counts, text);
        prop_assert!((0.0..=1.0).contains(&result.utilization), "{}", text);
        check_latency("latency", &result.latency, &text)?;
        check_latency("wait", &result.wait, &text)?;
        for row in records(&result.series) {
            prop_assert!((0.0..=1.0).contains(&row.utilization), "{row:?}\n{text}");
        }
    }
}

/// Two servers at 50% load for 10 s, with `service` as the service distribution.
fn extreme(service: &str) -> Result<Scenario, String> {
    let text = format!(
        "duration = \"10s\"\n[workload]\nrate = 100\nservice = {service}\n\
         [[servers]]\ncount = 2\n"
    );
    Scenario::from_source(&text, Path::new("extreme.toml")).map_err(|e| e.to_string())
}

/// The lognormal's variance is computed from `cv²`, which overflows to infinity from
/// cv ≈ 1.35e154 on (once a crash in `ServiceSampler::new` on a file validation accepted):
/// either validation rejects such a cv or the model copes with it.
#[test]
fn a_huge_lognormal_cv_is_rejected_or_simulated() {
    if let Ok(scenario) = extreme("{ dist = \"lognormal\", mean = \"10ms\", cv = 1e200 }") {
        let result = simulate(&scenario.variants[0].run, 1);
        assert!(result.counts.is_conserved());
    }
}

/// The Pareto scale `mean (shape - 1) / shape` once overflowed for a huge shape (from about
/// 1.8e301 with a 10 ms mean), making every request's work infinite: either validation
/// rejects such a shape or the mean holds.
#[test]
fn a_huge_pareto_shape_keeps_the_mean() {
    if let Ok(scenario) = extreme("{ dist = \"pareto\", mean = \"10ms\", shape = 1e302 }") {
        let result = simulate(&scenario.variants[0].run, 1);
        let c = result.counts;
        assert!(
            c.completed * 10 >= c.arrived * 9,
            "{c:?}: mean {} ms",
            result.latency.mean_ms()
        );
    }
}
