//! Sessions in whole runs, where the state's moves depend on more than one component: the
//! state is looked for where a server takes an attempt — a retry's as much as a first
//! try's — and an attempt no server takes moves nothing; a server that drains keeps its
//! sessions only with `[affinity] draining = "keep"`.

use std::path::Path;

use lbsim::engine::SimTime;
use lbsim::model::{RunSpec, simulate};
use lbsim::scenario::Scenario;
use lbsim::stats::{Figure, RunResult};

use crate::support::write;

/// The first variant of scenario `source`, read as `dir/x.toml`.
fn run(dir: &Path, source: &str) -> RunSpec {
    let path = write(dir, "x.toml", source);
    Scenario::from_path(&path)
        .unwrap_or_else(|e| panic!("{e}"))
        .variants
        .remove(0)
        .run
}

/// Started, completed, lost and live sessions.
fn sessions(result: &RunResult) -> [u64; 4] {
    [
        Figure::SessionsStarted,
        Figure::SessionsCompleted,
        Figure::SessionsLost,
        Figure::SessionsLive,
    ]
    .map(|figure| result.figures.get(figure).unwrap_or(0.0) as u64)
}

#[test]
fn a_retry_another_server_takes_logs_in_again_there_and_loses_a_finished_session() {
    let dir = tempfile::tempdir().unwrap();
    // One session of two requests, at 2 s and 3 s, over three servers in turn. The first
    // is served by web-0; the second is picked for web-1, crashed meanwhile (and still in
    // rotation: no health checks), and its retry goes to web-2, where the session's state
    // is not. The retry is the session's last request.
    let spec = run(
        dir.path(),
        "duration = \"4s\"\n\
         [workload]\nclients = 10\narrivals = \"constant\"\n\
         service = { dist = \"constant\", mean = \"10ms\" }\n\
         [workload.sessions]\nrate = 0.5\nrequests = { dist = \"constant\", mean = 2 }\n\
         think = { dist = \"constant\", mean = \"1s\" }\n\
         relogin = { dist = \"constant\", mean = \"500ms\" }\n\
         [[servers]]\nname = \"web\"\ncount = 3\n\
         [balancer]\nalgorithm = \"round-robin\"\n\
         [client]\nretries = 1\n\
         [[timeline]]\nat = \"2.5s\"\naction = \"crash\"\nserver = \"web-1\"\n",
    );
    let result = simulate(&spec, 1);
    assert_eq!(sessions(&result), [1, 0, 1, 0]);
    // The retry's backoff (under 50 ms), the re-login's 500 ms and the request's 10 ms.
    let slowest = result.latency.max_ms();
    assert!((510.0..560.0).contains(&slowest), "{slowest}");
}

/// A trace of one long request (session `x`, 10 s on web-0) and three of session `a`, a
/// second apart from 1 s: round robin sends them to web-1, web-0 and web-1.
const TRACE: &str = "timestamp,client,session,service_ms\n\
                     0.0,10.0.0.1,x,10000\n\
                     1.0,10.0.0.2,a,10\n\
                     2.0,10.0.0.2,a,10\n\
                     3.0,10.0.0.2,a,10\n";

/// Two servers in turn replaying [`TRACE`], with `more` to the scenario.
fn replay(dir: &Path, more: &str) -> RunResult {
    write(dir, "trace.csv", TRACE);
    let spec = run(
        dir,
        &format!(
            "duration = \"4s\"\n\
             [workload]\ntrace = {{ path = \"trace.csv\", format = \"csv\" }}\n\
             [balancer]\nalgorithm = \"round-robin\"\n{more}"
        ),
    );
    simulate(&spec, 1)
}

#[test]
fn an_attempt_a_full_queue_rejects_leaves_the_sessions_state_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    // web-0 has one worker, busy with `x`, and no queue: `a`'s second request is
    // rejected there, and its third finds the state on web-1.
    let result = replay(
        dir.path(),
        "[[servers]]\nname = \"web\"\ncount = 2\nworkers = 1\nqueue = 0\n",
    );
    assert_eq!(result.counts.rejected, 1);
    // A trace's sessions never end: both are live, neither lost.
    assert_eq!(sessions(&result), [2, 0, 0, 2]);
}

#[test]
fn an_attempt_a_draining_server_refuses_leaves_the_sessions_state_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    // web-0 leaves gracefully at 0.5 s and drains `x`; the balancer hears of it 5 s
    // later, so `a`'s second request is still sent there and refused.
    let result = replay(
        dir.path(),
        "[[servers]]\nname = \"web\"\ncount = 2\n\
         [discovery]\nmode = \"watch\"\ndelay = \"5s\"\n\
         [[timeline]]\nat = \"0.5s\"\naction = \"remove\"\nserver = \"web-0\"\n",
    );
    let refused = result.figures.get(Figure::FailedServerDown).unwrap_or(0.0);
    assert_eq!(refused, 1.0);
    assert_eq!(sessions(&result), [2, 0, 0, 2]);
}

/// The bundled sticky-sessions scenario's cluster with cookie affinity and local state,
/// once: 20 sessions/s of ~10 requests 3 s apart over four servers; web-1 leaves at 90 s
/// of 180, removed as `mode` says, its sessions pinned `ttl` and `draining` as said.
fn sticky(dir: &Path, mode: &str, draining: &str, ttl: &str) -> RunResult {
    let spec = run(
        dir,
        &format!(
            "seed = 21\nduration = \"3m\"\nwarmup = \"10s\"\n\
             [workload]\nclients = 5000\nservice = {{ dist = \"exponential\", mean = \"10ms\" }}\n\
             [workload.sessions]\nrate = 20\nthink = {{ dist = \"exponential\", mean = \"3s\" }}\n\
             [[servers]]\nname = \"web\"\ncount = 4\n\
             [balancer]\nalgorithm = \"least-connections\"\n\
             [affinity]\nttl = \"{ttl}\"\ndraining = \"{draining}\"\n\
             [[timeline]]\nat = \"90s\"\naction = \"remove\"\nserver = \"web-1\"\n\
             mode = \"{mode}\"\n"
        ),
    );
    simulate(&spec, 21)
}

fn lost(result: &RunResult) -> u64 {
    sessions(result)[2]
}

/// When web-1 went down, and why.
fn web_1_down(result: &RunResult) -> (f64, &'static str) {
    let down = result
        .events
        .iter()
        .find(|e| e.server == "web-1" && e.to == "down")
        .expect("web-1 goes down");
    ((down.time - SimTime::ZERO).as_secs_f64(), down.reason)
}

#[test]
fn a_draining_server_keeps_its_sessions_only_with_draining_keep() {
    let dir = tempfile::tempdir().unwrap();
    // Its sessions, about a quarter of the ~540 live, are lost at once whether web-1 goes
    // down or drains: a graceful removal takes it out of rotation, and they move.
    let abrupt = sticky(dir.path(), "abrupt", "move", "30m");
    let moved = sticky(dir.path(), "graceful", "move", "30m");
    assert_eq!(lost(&abrupt), lost(&moved));
    assert!((80..200).contains(&lost(&moved)), "{}", lost(&moved));
    assert_eq!(web_1_down(&moved).1, "drained");
    // Kept, they stay with it: its deregistration delay (300 s) outlasts the run, and the
    // table's entries (30 min) the sessions. None is lost.
    let kept = sticky(dir.path(), "graceful", "keep", "30m");
    assert_eq!(lost(&kept), 0);
    assert!(
        kept.events
            .iter()
            .all(|e| e.server != "web-1" || e.to != "down")
    );
    assert_eq!(
        kept.figures.get(Figure::FailedServerDown).unwrap_or(0.0),
        0.0
    );
}

#[test]
fn a_kept_draining_server_goes_down_once_no_entry_pins_a_session_to_it() {
    let dir = tempfile::tempdir().unwrap();
    // With 5 s entries (swept every 0.5 s), a session whose think time runs past its
    // entry's life is placed anew, so web-1's sessions dwindle and it empties long before
    // its deregistration delay; a session that comes back after its entry expired was
    // kept as long as it was pinned, and is lost now as it would be without the drain.
    let kept = sticky(dir.path(), "graceful", "keep", "5s");
    let (at, reason) = web_1_down(&kept);
    assert_eq!(reason, "drained");
    assert!((95.0..180.0).contains(&at), "{at}");
}
