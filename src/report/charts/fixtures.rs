//! Test inputs for the charts and the report: tiny scenarios built directly (not parsed),
//! simulated for a few seconds, plus a well-formedness check for the markup they produce.

use std::path::PathBuf;

use crate::balancer::{Algorithm, BalancerSpec};
use crate::engine::{SimDuration, SimTime, derive_seed};
use crate::model::{
    ArrivalPattern, Change, CircuitBreakerSpec, ClientSpec, DatabaseSpec, DiscoveryMode,
    DiscoverySpec, GeneratedWorkload, HealthCheckSpec, KeyDist, NodeFailure, NodeRole,
    PrimaryFailure, QueryCount, RateSchedule, ReplicationMode, RunSpec, ServerGroupSpec,
    ServiceDist, Sharding, TimelineAction, WorkloadSpec, simulate,
};
use crate::report::ScenarioResults;
use crate::scenario::{Scenario, Variant};

/// A scenario, owned, so tests can borrow a [`ScenarioResults`] of it.
pub struct Fixture {
    pub scenario: Scenario,
}

impl Fixture {
    /// The scenario's runs, simulated afresh (they are tiny, and deterministic).
    pub fn view(&self) -> ScenarioResults<'_> {
        let runs = self
            .scenario
            .variants
            .iter()
            .map(|v| {
                (0..self.scenario.replications)
                    .map(|r| simulate(&v.run, derive_seed(self.scenario.seed, r)))
                    .collect()
            })
            .collect();
        ScenarioResults {
            scenario: &self.scenario,
            runs,
        }
    }

    /// The scenario's variant colours.
    pub fn palette(&self) -> super::palette::Palette {
        super::palette::Palette::new(&self.scenario)
    }
}

/// The charts of `results`, drawn, as the report receives them.
pub fn rendered(results: &ScenarioResults<'_>) -> Vec<super::RenderedChart> {
    super::scenario_charts(results)
        .unwrap()
        .iter()
        .map(|chart| chart.render().unwrap())
        .collect()
}

/// Two algorithms × two rates on 4 servers, two replications: every chart kind applies.
pub fn swept() -> Fixture {
    let mut variants = Vec::new();
    for algorithm in [Algorithm::RoundRobin, Algorithm::LeastConnections] {
        for rate in [150.0, 300.0] {
            variants.push(variant(
                &[algorithm.name().to_string(), format!("{rate}")],
                spec(algorithm, rate, 4, 20),
            ));
        }
    }
    fixture(
        "swept",
        &["balancer.algorithm", "workload.rate"],
        variants,
        2,
    )
}

/// Two numeric keys swept: four or eight servers, crossed with two rates. The palette
/// shades by the rate (the last numeric key), so along `servers.0.count` each line (a
/// rate) crosses the palette's groups (a count each).
pub fn two_numeric() -> Fixture {
    let mut variants = Vec::new();
    for count in [4, 8] {
        for rate in [150.0, 300.0] {
            variants.push(variant(
                &[count.to_string(), format!("{rate}")],
                spec(Algorithm::LeastConnections, rate, count, 20),
            ));
        }
    }
    fixture(
        "two-numeric",
        &["servers.0.count", "workload.rate"],
        variants,
        2,
    )
}

/// Four servers at speed 1 or one at speed 4 (`[sweep] together`), crossed with two
/// algorithms: `servers.0.count` and `servers.0.speed` are one dimension.
pub fn linked() -> Fixture {
    let mut variants = Vec::new();
    for (count, speed) in [(4, 1.0), (1, 4.0)] {
        for algorithm in [Algorithm::RoundRobin, Algorithm::LeastConnections] {
            let mut run = spec(algorithm, 300.0, count, 20);
            run.servers[0].speed = speed;
            variants.push(variant(
                &[
                    count.to_string(),
                    algorithm.name().to_string(),
                    format!("{speed}"),
                ],
                run,
            ));
        }
    }
    let mut fixture = fixture(
        "linked",
        &["servers.0.count", "balancer.algorithm", "servers.0.speed"],
        variants,
        2,
    );
    fixture.scenario.dimensions = vec![0, 1, 0];
    fixture
}

/// The edge cases: one server, a single time-series interval, and a variant that never
/// completes a request (rate 0).
pub fn degenerate() -> Fixture {
    let variants = [0.0, 50.0]
        .into_iter()
        .map(|rate| {
            variant(
                &[format!("{rate}")],
                spec(Algorithm::RoundRobin, rate, 1, 1),
            )
        })
        .collect();
    fixture("degenerate", &["workload.rate"], variants, 1)
}

/// Sixteen servers under eight algorithms: crowded charts, long labels.
pub fn wide() -> Fixture {
    // Eight algorithms, as the fixture had before there were more: eight hues, one panel
    // each, and (with the naive average) a clear best variant for the tables' marks.
    let classic = [
        Algorithm::RoundRobin,
        Algorithm::WeightedRoundRobin,
        Algorithm::LeastConnections,
        Algorithm::LeastResponseTimeNaive,
        Algorithm::IpHash,
        Algorithm::Random,
        Algorithm::PowerOfTwoChoices,
        Algorithm::ConsistentHash,
    ];
    let variants = classic
        .into_iter()
        .map(|algorithm| {
            variant(
                &[algorithm.name().to_string()],
                spec(algorithm, 800.0, 16, 10),
            )
        })
        .collect();
    fixture("wide", &["balancer.algorithm"], variants, 1)
}

/// A single M/M/1 server at load 0.8 (mm1-check in small): λ = 80/s, μ = 100/s.
pub fn mm1() -> Fixture {
    unswept("mm1", spec(Algorithm::RoundRobin, 80.0, 1, 30))
}

/// Two algorithms × five rates on 4 servers: more lines than one panel holds.
pub fn knee() -> Fixture {
    let mut variants = Vec::new();
    for algorithm in [Algorithm::RoundRobin, Algorithm::LeastConnections] {
        for rate in [100.0, 200.0, 300.0, 340.0, 370.0] {
            variants.push(variant(
                &[algorithm.name().to_string(), format!("{rate}")],
                spec(algorithm, rate, 4, 5),
            ));
        }
    }
    fixture(
        "knee",
        &["balancer.algorithm", "workload.rate"],
        variants,
        1,
    )
}

/// A runaway: 4 servers (400 req/s of capacity) offered 100 and 600 req/s, three
/// replications. At 600 the queues grow by 200 requests a second for the whole run.
pub fn runaway() -> Fixture {
    let variants = [100.0, 600.0]
        .into_iter()
        .map(|rate| {
            variant(
                &[format!("{rate}")],
                spec(Algorithm::RoundRobin, rate, 4, 10),
            )
        })
        .collect();
    fixture("runaway", &["workload.rate"], variants, 3)
}

/// One unswept variant that records no time series.
pub fn without_series() -> Fixture {
    let mut run = spec(Algorithm::RoundRobin, 100.0, 2, 5);
    run.sample_interval = None;
    unswept("plain", run)
}

/// One unswept variant of 10 s on 4 servers in which `web-1` crashes at 3 s, restarts at
/// 6 s and boots for a second, and `web-3` is removed gracefully at 8 s.
pub fn crash() -> Fixture {
    let mut run = spec(Algorithm::LeastConnections, 200.0, 4, 10);
    run.servers[0].boot = SimDuration::from_secs(1);
    run.timeline.push(at_second(
        3,
        Change::Crash {
            server: "web-1".into(),
            downtime: Some(SimDuration::from_secs(3)),
        },
    ));
    run.timeline.push(at_second(
        8,
        Change::Remove {
            server: "web-3".into(),
            abrupt: false,
        },
    ));
    unswept("crash", run)
}

/// One unswept variant of 14 s on 4 servers, checked every second (a 500 ms timeout), all
/// of which crash at 3 s and restart at 9 s: once three are found unhealthy, fewer than
/// half the hosts are healthy and the checks are in panic until two pass again.
pub fn panic() -> Fixture {
    let mut run = spec(Algorithm::LeastConnections, 200.0, 4, 14);
    run.health_check = Some(HealthCheckSpec {
        interval: SimDuration::from_secs(1),
        timeout: SimDuration::from_millis(500),
        ..HealthCheckSpec::default()
    });
    for server in 0..4 {
        run.timeline.push(at_second(
            3,
            Change::Crash {
                server: format!("web-{server}"),
                downtime: Some(SimDuration::from_secs(6)),
            },
        ));
    }
    unswept("panic", run)
}

/// One unswept variant of 12 s on 4 servers under round robin: `web-1` hangs at 3 s
/// (speed 0.02), clients time out after 100 ms, and its circuit breaker (a 2 s window, 5
/// results) opens, probes every second, and opens again.
pub fn breaker() -> Fixture {
    let mut run = spec(Algorithm::RoundRobin, 200.0, 4, 12);
    run.client = Some(ClientSpec {
        timeout: Some(SimDuration::from_millis(100)),
        request_timeout: None,
        ..ClientSpec::default()
    });
    run.circuit_breaker = Some(CircuitBreakerSpec {
        window: SimDuration::from_secs(2),
        min_requests: 5,
        open_for: SimDuration::from_secs(1),
        probes: 1,
        ..CircuitBreakerSpec::default()
    });
    run.timeline.push(at_second(
        3,
        Change::SetSpeed {
            server: "web-1".into(),
            speed: 0.02,
        },
    ));
    unswept("breaker", run)
}

/// One unswept variant of 12 s on 4 servers whose balancer polls a service registry every
/// 5 s; `web-3` is removed abruptly at 3 s, and the balancer hears of it at its next poll.
pub fn stale_route() -> Fixture {
    let mut run = spec(Algorithm::RoundRobin, 200.0, 4, 12);
    run.discovery = Some(DiscoverySpec {
        mode: DiscoveryMode::Poll {
            interval: SimDuration::from_secs(5),
        },
        check_interval: SimDuration::from_secs(10),
    });
    run.timeline.push(at_second(
        3,
        Change::Remove {
            server: "web-3".into(),
            abrupt: true,
        },
    ));
    unswept("stale-route", run)
}

/// One unswept variant of 10 s on 4 servers in front of a data tier of one shard, a
/// primary and two replicas: two queries per request, 2 ms each; the primary fails at 3 s
/// and replica 0 is promoted 2 s later.
pub fn failover() -> Fixture {
    let mut run = spec(Algorithm::LeastConnections, 200.0, 4, 10);
    run.database = Some(DatabaseSpec {
        read_share: 0.8,
        queries: QueryCount::Constant(2),
        service: ServiceDist::Exponential {
            mean: SimDuration::from_millis(2),
        },
        keys: KeyDist::Uniform { count: 1000 },
        workers: 2,
        queue_limit: None,
        replicas: 2,
        replica_balancer: Algorithm::Random,
        replication_lag: ServiceDist::Constant {
            mean: SimDuration::ZERO,
        },
        replication: ReplicationMode::Async,
        read_your_writes: false,
        shards: 1,
        sharding: Sharding::Modulo,
        pool: None,
        failover: SimDuration::from_secs(2),
        on_primary_failure: PrimaryFailure::Fail,
        failures: vec![NodeFailure {
            at: SimTime::ZERO + SimDuration::from_secs(3),
            shard: 0,
            node: NodeRole::Primary,
        }],
        reshard: None,
    });
    unswept("failover", run)
}

fn variant(values: &[String], run: RunSpec) -> Variant {
    Variant {
        label: values.join(","),
        values: values.to_vec(),
        run,
    }
}

/// A scenario of one variant, nothing swept, one replication.
fn unswept(name: &str, run: RunSpec) -> Fixture {
    let base = Variant {
        label: "base".into(),
        values: Vec::new(),
        run,
    };
    fixture(name, &[], vec![base], 1)
}

fn fixture(name: &str, keys: &[&str], mut variants: Vec<Variant>, replications: u32) -> Fixture {
    for variant in &mut variants {
        variant.label = keys
            .iter()
            .zip(&variant.values)
            .map(|(key, value)| format!("{key}={value}"))
            .collect::<Vec<_>>()
            .join(",");
        if variant.label.is_empty() {
            variant.label = "base".into();
        }
    }
    let seed = 7;
    let scenario = Scenario {
        name: name.into(),
        description: format!("Fixture <{name}> & friends"),
        path: PathBuf::from(format!("{name}.toml")),
        seed,
        replications,
        swept_keys: keys.iter().map(|k| k.to_string()).collect(),
        dimensions: (0..keys.len()).collect(),
        variants,
        expectations: Vec::new(),
        source_hash: 0,
        warnings: Vec::new(),
    };
    Fixture { scenario }
}

fn spec(algorithm: Algorithm, rate: f64, servers: u32, seconds: u64) -> RunSpec {
    RunSpec {
        warmup: SimDuration::from_secs(seconds / 10),
        ..RunSpec::new(
            SimDuration::from_secs(seconds),
            WorkloadSpec::Generated(GeneratedWorkload {
                rate: RateSchedule::constant(rate),
                arrivals: ArrivalPattern::Poisson,
                service: ServiceDist::Exponential {
                    mean: SimDuration::from_millis(10),
                },
                clients: 100,
            }),
            vec![ServerGroupSpec::new("web", servers)],
            BalancerSpec::new(algorithm),
        )
    }
}

/// A timeline action at `seconds` into the run.
fn at_second(seconds: u64, change: Change) -> TimelineAction {
    TimelineAction {
        at: SimTime::ZERO + SimDuration::from_secs(seconds),
        change,
    }
}

/// `text` as it appears in XML character data.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// Whether `svg` has a text element reading exactly `text`.
pub fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{}\n</text>", escape(text)))
}

/// Every text of `svg` with the colour of the element drawn just before it, when that
/// element has one: a legend's mark or a panel's swatch keys the label after it.
pub fn keyed_texts(svg: &str) -> Vec<(String, Option<String>)> {
    let lines: Vec<&str> = svg.lines().collect();
    let mut keyed = Vec::new();
    let mut previous: Option<&str> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("<text") {
            let text = lines.get(i + 1).copied().unwrap_or_default();
            let colour = previous.and_then(|element| {
                ["stroke=\"#", "fill=\"#"].iter().find_map(|attribute| {
                    let start = element.find(attribute)? + attribute.len();
                    Some(element.get(start..start + 6)?.to_string())
                })
            });
            keyed.push((text.to_string(), colour));
            i += 3;
            continue;
        }
        if line.starts_with('<') && !line.starts_with("</") {
            previous = Some(line);
        }
        i += 1;
    }
    keyed
}

/// Asserts that `svg` is one `<svg>` element whose tags nest properly, with no numbers
/// that went wrong on the way (NaN, infinity).
pub fn assert_well_formed_svg(svg: &str) {
    let roots = assert_balanced_tags(svg, &[]);
    assert_eq!(roots, ["svg"], "one root element");
    assert!(svg.len() > 500, "suspiciously small: {svg}");
    for bad in ["NaN", "inf\"", "-inf"] {
        assert!(!svg.contains(bad), "contains {bad}");
    }
}

/// Tokenizes markup into tags and asserts that every opened element is closed in order;
/// returns the names of the top-level elements. `void` elements never close (HTML).
/// Comments, `<!DOCTYPE>` and `<?xml?>` are skipped; quoted attribute values may hold `>`.
pub fn assert_balanced_tags(markup: &str, void: &[&str]) -> Vec<String> {
    let mut open: Vec<String> = Vec::new();
    let mut roots = Vec::new();
    let mut rest = markup;
    while let Some(start) = rest.find('<') {
        rest = &rest[start..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            let end = comment.find("-->").expect("unterminated comment");
            rest = &comment[end + 3..];
            continue;
        }
        let end = tag_end(rest).unwrap_or_else(|| panic!("unterminated tag: {rest:.80}"));
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') || tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            let name = name.trim();
            let top = open
                .pop()
                .unwrap_or_else(|| panic!("</{name}> closes nothing"));
            assert_eq!(top, name, "</{name}> closes <{top}>");
            continue;
        }
        let name: String = tag
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == ':')
            .collect();
        assert!(!name.is_empty(), "bad tag <{tag:.40}>");
        if open.is_empty() {
            roots.push(name.clone());
        }
        if !tag.ends_with('/') && !void.contains(&name.as_str()) {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    roots
}

/// The index of the `>` ending the tag that starts `text`, skipping quoted values.
fn tag_end(text: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in text.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_checker_accepts_nesting_and_rejects_crossing() {
        assert_eq!(
            assert_balanced_tags(
                "<?xml?><svg a=\"1>2\"><g><rect/></g><!-- <x> --></svg>",
                &[]
            ),
            ["svg"]
        );
        let crossing = std::panic::catch_unwind(|| assert_balanced_tags("<a><b></a></b>", &[]));
        assert!(crossing.is_err());
        let unclosed = std::panic::catch_unwind(|| assert_balanced_tags("<a><b></b>", &[]));
        assert!(unclosed.is_err());
    }
}
