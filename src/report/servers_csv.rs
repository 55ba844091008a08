//! servers.csv: per run and server, measured completions and utilization: how evenly the
//! balancer spread the load. The data tier's nodes follow the servers, a row each (their
//! completions are queries, their group their shard).

use super::{ScenarioResults, fixed};

pub fn render(results: &ScenarioResults<'_>) -> Vec<u8> {
    let scenario = results.scenario;
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record([
        "scenario",
        "variant",
        "replication",
        "server",
        "group",
        "zone",
        "completions",
        "utilization",
    ])
    .expect("writing to memory");
    for (variant, runs) in scenario.variants.iter().zip(&results.runs) {
        for (replication, run) in runs.iter().enumerate() {
            for server in run.servers.iter().chain(&run.database) {
                out.write_record([
                    scenario.name.as_str(),
                    variant.label.as_str(),
                    &replication.to_string(),
                    &server.name,
                    &server.group,
                    &server.zone,
                    &server.completions.to_string(),
                    &fixed(server.utilization, 6),
                ])
                .expect("writing to memory");
            }
        }
    }
    out.into_inner().expect("writing to memory")
}
