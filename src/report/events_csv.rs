//! events.csv: every change in the cluster during each run — a server joining, leaving or
//! changing state, the balancer entering or leaving panic (a row with no server, `normal`
//! to `panic` and back) — one row each, in variant, replication and time order. Columns:
//! `variant,replication,time_s,server,from,to,reason,detail`; `from` is `absent` when the
//! server joins and `to` is `absent` when it leaves for good. An autoscaler's decision is a
//! row of its own: `server` is the group, `from` and `to` are `capacity`, and `detail`
//! gives the capacity before and after and the metric values the policy saw; `detail`
//! also gives a speed change's new speed (`speed 0.3`) and what decided a panic, and is
//! empty on the other rows. Only a header when nothing changed,
//! so that the file exists for every scenario and a reader needs no special case.

use super::ScenarioResults;
use crate::engine::SimTime;

const COLUMNS: [&str; 8] = [
    "variant",
    "replication",
    "time_s",
    "server",
    "from",
    "to",
    "reason",
    "detail",
];

pub fn render(results: &ScenarioResults<'_>) -> Vec<u8> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS).expect("writing to memory");
    for (variant, runs) in results.scenario.variants.iter().zip(&results.runs) {
        for (replication, run) in runs.iter().enumerate() {
            for event in &run.events {
                out.write_record([
                    variant.label.as_str(),
                    &replication.to_string(),
                    &seconds(event.time),
                    &event.server,
                    event.from,
                    event.to,
                    event.reason,
                    &event.detail,
                ])
                .expect("writing to memory");
            }
        }
    }
    out.into_inner().expect("writing to memory")
}

/// Seconds with nine decimals, from the integer nanoseconds: the exact instant, with no
/// float in between.
fn seconds(time: SimTime) -> String {
    let nanos = time.as_nanos();
    format!("{}.{:09}", nanos / 1_000_000_000, nanos % 1_000_000_000)
}

#[cfg(test)]
mod tests {
    use super::super::charts::fixtures;
    use super::*;
    use crate::stats::ClusterEvent;

    fn event(nanos: u64, server: &str, from: &'static str, to: &'static str) -> ClusterEvent {
        ClusterEvent {
            time: SimTime::from_nanos(nanos),
            server: server.into(),
            from,
            to,
            reason: "timeline",
            detail: String::new(),
        }
    }

    #[test]
    fn one_row_per_event_in_variant_replication_and_time_order() {
        let fixture = fixtures::swept();
        let mut results = fixture.view();
        results.runs[0][1].events = vec![
            event(2_500_000_000, "web-4", "absent", "booting"),
            event(4_000_000_001, "web-4", "booting", "ready"),
        ];
        results.runs[3][0].events = vec![ClusterEvent {
            reason: "drained",
            ..event(61_000_000_000, "web-0", "draining", "absent")
        }];
        let expected = "\
variant,replication,time_s,server,from,to,reason,detail
\"balancer.algorithm=round-robin,workload.rate=150\",1,2.500000000,web-4,absent,booting,timeline,
\"balancer.algorithm=round-robin,workload.rate=150\",1,4.000000001,web-4,booting,ready,timeline,
\"balancer.algorithm=least-connections,workload.rate=300\",0,61.000000000,web-0,draining,absent,drained,
";
        assert_eq!(String::from_utf8(render(&results)).unwrap(), expected);
    }

    #[test]
    fn a_scenario_where_nothing_changed_has_only_the_header() {
        let fixture = fixtures::swept();
        let results = fixture.view();
        assert_eq!(
            String::from_utf8(render(&results)).unwrap(),
            "variant,replication,time_s,server,from,to,reason,detail\n"
        );
    }

    #[test]
    fn times_are_exact_to_the_nanosecond() {
        assert_eq!(seconds(SimTime::ZERO), "0.000000000");
        assert_eq!(seconds(SimTime::from_nanos(999_999_999)), "0.999999999");
        assert_eq!(
            seconds(SimTime::from_nanos(u64::MAX)),
            "18446744073.709551615"
        );
    }
}
