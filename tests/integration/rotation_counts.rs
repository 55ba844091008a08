//! A server taken out of rotation with requests open and put back: the balancer's count
//! of it must stay the requests sent there that have not ended, whatever happened to
//! rotation in between, or the counting algorithms see a load that is not there.

use std::collections::BTreeMap;

use lbsim::balancer::{Algorithm, BalancerSpec};
use lbsim::engine::{SimDuration, SimTime};
use lbsim::id::ServerId;
use lbsim::model::{
    ArrivalPattern, Change, Fraction, GeneratedWorkload, Observed, Observer, OutlierSpec,
    RateSchedule, RequestId, RunSpec, ServerGroupSpec, ServiceDist, TimelineAction, WorkloadSpec,
    simulate_observed,
};

const SECOND: u64 = 1_000_000_000;

fn at(seconds: u64) -> SimTime {
    SimTime::from_nanos(seconds * SECOND)
}

/// Ten one-worker servers at 70% load; web-3 slows to `speed` and answers every request
/// with an error for `slow` seconds from 60 s, so outlier detection ejects it, for
/// `ejection` seconds at first, with requests queued on it, which it goes on serving while
/// out.
fn ejected_with_requests_open(algorithm: Algorithm, (speed, slow, ejection): Case) -> RunSpec {
    let mut run = RunSpec::new(
        SimDuration::from_secs(240),
        WorkloadSpec::Generated(GeneratedWorkload {
            rate: RateSchedule::constant(700.0),
            arrivals: ArrivalPattern::Poisson,
            service: ServiceDist::Exponential {
                mean: SimDuration::from_millis(10),
            },
            clients: 1000,
        }),
        vec![ServerGroupSpec::new("web", 10)],
        BalancerSpec::new(algorithm),
    );
    run.warmup = SimDuration::from_secs(10);
    run.outlier_detection = Some(OutlierSpec {
        base_ejection_time: SimDuration::from_secs(ejection),
        ..OutlierSpec::default()
    });
    let change = |seconds, change| TimelineAction {
        at: at(seconds),
        change,
    };
    let server = || "web-3".to_string();
    run.timeline = vec![
        change(
            60,
            Change::SetSpeed {
                server: server(),
                speed,
            },
        ),
        change(
            60,
            Change::SetErrors {
                server: server(),
                fraction: Fraction::from_f64(1.0),
            },
        ),
        change(
            60 + slow,
            Change::SetErrors {
                server: server(),
                fraction: Fraction::from_f64(0.0),
            },
        ),
        change(
            60 + slow,
            Change::SetSpeed {
                server: server(),
                speed: 1.0,
            },
        ),
    ];
    run
}

/// Per request picked: its server and whether it reached it. Per server: the requests it
/// holds. At every pick, the counts the balancer compared against those held (for
/// join-idle-queue, none held by a server taken from the idle queue).
#[derive(Default)]
struct Counts {
    picked: BTreeMap<RequestId, (ServerId, bool)>,
    held: BTreeMap<ServerId, u32>,
    /// Picks whose explanation gave a count other than the requests held.
    wrong: Vec<(SimTime, ServerId, f64, u32)>,
    /// Counts compared, to show the check ran.
    checked: u64,
    /// Requests each server answered from 100 s.
    answered_late: BTreeMap<String, u32>,
    /// When web-3's requests held changed, and to what.
    web3_held: Vec<(SimTime, u32)>,
}

impl Counts {
    fn hold(&mut self, now: SimTime, server: ServerId, change: i32) {
        let held = self.held.entry(server).or_default();
        *held = held.checked_add_signed(change).expect("a request held");
        if server == ServerId(3) {
            self.web3_held.push((now, *held));
        }
    }

    /// The requests web-3 held at `time`, once everything at `time` happened.
    fn web3_held_at(&self, time: SimTime) -> u32 {
        self.web3_held
            .iter()
            .rev()
            .find(|&&(when, _)| when <= time)
            .map_or(0, |&(_, held)| held)
    }
}

impl Observer for Counts {
    fn observe(&mut self, now: SimTime, event: Observed<'_>) {
        match event {
            Observed::Picked {
                request,
                server,
                why,
                ..
            } => {
                for (compared, figure) in why.compared {
                    let count = match why.measure {
                        // Power of two choices compares (open + 1) / weight, of weight 1.
                        "(open connections + 1) / weight" => figure - 1.0,
                        // Join-idle-queue: 1 for a pick from the idle queue, whose server
                        // should hold nothing; a drawn one may hold anything.
                        "from the idle queue" if figure == 1.0 => 0.0,
                        "from the idle queue" => continue,
                        _ => figure,
                    };
                    let held = self.held.get(&compared).copied().unwrap_or(0);
                    self.checked += 1;
                    if count != f64::from(held) {
                        self.wrong.push((now, compared, count, held));
                    }
                }
                self.picked.insert(request, (server, false));
            }
            Observed::Started { request, .. } | Observed::Queued { request, .. } => {
                if let Some((server, reached)) = self.picked.get_mut(&request)
                    && !*reached
                {
                    *reached = true;
                    let server = *server;
                    self.hold(now, server, 1);
                }
            }
            Observed::Completed { request, .. }
            | Observed::Failed { request, .. }
            | Observed::Rejected { request, .. } => {
                if let Observed::Completed { server, .. } = event
                    && now >= at(100)
                {
                    *self.answered_late.entry(server.to_string()).or_default() += 1;
                }
                if let Some((server, true)) = self.picked.remove(&request) {
                    self.hold(now, server, -1);
                }
            }
            _ => {}
        }
    }
}

/// web-3's speed while it fails, for how many seconds, and its first ejection's seconds.
type Case = (f64, u64, u64);

/// `phantom2.toml`'s situation: web-3, at 0.3 for 4 s, is out for 30 s, and what it held
/// ends while it is out (a count kept but not counted down then reads too high for good).
const ENDED_WHILE_OUT: Case = (0.3, 4, 30);

/// web-3, at 0.01 for 20 s (1 s a request), is ejected for 1 s, then 2, ... and comes back
/// holding requests sent before it left (a count reset on its return reads too low).
const HELD_ON_RETURN: Case = (0.01, 20, 1);

#[test]
fn a_server_ejected_with_requests_open_comes_back_at_its_true_count() {
    for (algorithm, case) in [
        Algorithm::LeastConnections,
        Algorithm::LeastRequest,
        Algorithm::PowerOfTwoChoices,
    ]
    .into_iter()
    .flat_map(|algorithm| [(algorithm, ENDED_WHILE_OUT), (algorithm, HELD_ON_RETURN)])
    {
        let speed = case.0;
        let mut counts = Counts::default();
        let run = ejected_with_requests_open(algorithm, case);
        // Seed 2: each algorithm ejects web-3 holding requests in both cases (at
        // phantom2.toml's seed 1, power of two choices happens not to).
        let result = simulate_observed(&run, 2, &mut counts);
        assert!(result.counts.is_conserved(), "{algorithm}");
        // The situation arose: web-3 left holding requests, and came back still holding
        // some only when ejected for 1 s.
        let rotation = |to: &str| -> Vec<SimTime> {
            let rows = result.events.iter();
            rows.filter(|e| e.server == "web-3" && e.to == to)
                .map(|e| e.time)
                .collect()
        };
        let (ejections, returns) = (rotation("ejected"), rotation("healthy"));
        assert!(
            ejections.iter().any(|&t| counts.web3_held_at(t) > 0),
            "{algorithm} at {speed}: web-3 left holding nothing"
        );
        assert_eq!(
            returns.iter().any(|&t| counts.web3_held_at(t) > 0),
            case == HELD_ON_RETURN,
            "{algorithm} at {speed}: web-3's returns {returns:?}"
        );
        assert!(counts.checked > 100_000, "{}", counts.checked);
        assert!(
            counts.wrong.is_empty(),
            "{algorithm} at {speed}: {} picks saw a wrong count, the first {:?}",
            counts.wrong.len(),
            counts.wrong.first()
        );
        // Back and healthy, web-3 takes its share again: within a tenth of the others'
        // mean over the last 140 s (about 9,800 each; the old phantom count left it a
        // fraction of that).
        let web3 = f64::from(counts.answered_late["web-3"]);
        let others: Vec<f64> = (0..10)
            .filter(|&i| i != 3)
            .map(|i| f64::from(counts.answered_late[&format!("web-{i}")]))
            .collect();
        let mean = others.iter().sum::<f64>() / others.len() as f64;
        assert!(
            web3 > 0.9 * mean,
            "{algorithm} at {speed}: {web3} against {mean}"
        );
    }
}

/// Join-idle-queue's queue holds servers with their worker free: a pick from it finds the
/// server holding nothing (one worker, no session pinned, no zones), even when web-3,
/// ejected for a second at a time, comes back still busy with requests sent before. It
/// then reports idle when its worker frees, not on its return.
#[test]
fn join_idle_queue_takes_back_a_busy_server_only_once_it_idles() {
    let run = ejected_with_requests_open(Algorithm::JoinIdleQueue, HELD_ON_RETURN);
    let mut counts = Counts::default();
    let result = simulate_observed(&run, 2, &mut counts);
    assert!(result.counts.is_conserved());
    let returns: Vec<SimTime> = result
        .events
        .iter()
        .filter(|e| e.server == "web-3" && e.to == "healthy")
        .map(|e| e.time)
        .collect();
    assert!(
        returns.iter().any(|&t| counts.web3_held_at(t) > 0),
        "web-3 never came back busy: {returns:?}"
    );
    assert!(counts.checked > 100_000, "{}", counts.checked);
    assert!(
        counts.wrong.is_empty(),
        "{} picks from the queue found their server busy, the first {:?}",
        counts.wrong.len(),
        counts.wrong.first()
    );
}
