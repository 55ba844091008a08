//! The validated description of one simulation run: what the world is built from.
//!
//! Everything here is already checked and converted (durations to nanoseconds, rates to
//! positive numbers); the model trusts it. `scenario::validate` builds it (and `lbsim
//! bench` its reference model, and `lbsim trace` a copy cut short).

use super::affinity::AffinitySpec;
use super::autoscaling::{AutoscalerSpec, DiscoverySpec, SloSpec, SlowStartSpec};
use super::circuit_breaker::CircuitBreakerSpec;
use super::database::DatabaseSpec;
use super::fraction::Fraction;
use super::health_check::HealthCheckSpec;
use super::outlier_detector::OutlierSpec;
use super::panic_mode::DEFAULT_PANIC_THRESHOLD;
use super::resources::ResourceSpec;
use super::retry_policy::ClientSpec;
use super::sessions::SessionsSpec;
use super::timeline::TimelineAction;
use super::trace::TraceReplay;
use super::zone_aware::ZoneAwareSpec;
use crate::balancer::BalancerSpec;
use crate::engine::{SimDuration, SimTime};

/// One run: a variant of a scenario, before a seed is chosen.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSpec {
    /// Requests arrive during `[0, duration)`; the run stops at `duration` and whatever is
    /// still queued or in service is counted as in flight.
    pub duration: SimDuration,
    /// Requests arriving before this instant are served but not counted.
    pub warmup: SimDuration,
    /// Width of one time-series interval; `None` records no time series.
    pub sample_interval: Option<SimDuration>,
    pub workload: WorkloadSpec,
    pub servers: Vec<ServerGroupSpec>,
    pub balancer: BalancerSpec,
    /// Second tiers every request calls in order after its work on its server, holding
    /// its server's worker while it waits (a synchronous call).
    pub tiers: Vec<TierSpec>,
    /// Scheduled changes to the cluster, sorted by time (file order within an instant).
    pub timeline: Vec<TimelineAction>,
    /// Active health checking of every server; `None` checks nothing.
    pub health_check: Option<HealthCheckSpec>,
    /// Passive health checking from request outcomes; `None` ejects nothing.
    pub outlier_detection: Option<OutlierSpec>,
    /// Below this share of healthy hosts (passing their checks, not ejected) the balancer
    /// uses every host it knows (`balancer.panic_threshold`, Envoy's
    /// `healthy_panic_threshold`); zero never panics. Applies with health checks or outlier
    /// detection, the two things that make a host unhealthy.
    pub panic_threshold: Fraction,
    /// A circuit breaker per backend; `None` breaks nothing.
    pub circuit_breaker: Option<CircuitBreakerSpec>,
    /// The clients' timeout, retries and retry budget; `None` waits forever, never retries.
    pub client: Option<ClientSpec>,
    /// The clients' zones and zone-aware routing; `None` routes without regard to zones.
    pub zone_aware: Option<ZoneAwareSpec>,
    /// The data tier requests query after their work on their server; `None` has none.
    pub database: Option<DatabaseSpec>,
    /// Traffic made of sessions; `None`: independent requests.
    pub sessions: Option<SessionsSpec>,
    /// Cookie affinity through a session table; `None`: the algorithm alone decides.
    pub affinity: Option<AffinitySpec>,
    /// A shared session store every request calls first; `None`: session state is local
    /// to the server that created it.
    pub session_store: Option<TierSpec>,
    /// An autoscaler over one server group; `None`: the timeline alone changes capacity.
    pub autoscaler: Option<AutoscalerSpec>,
    /// A registry the balancer learns membership from, late; `None`: it knows at once.
    pub discovery: Option<DiscoverySpec>,
    /// Slow start for servers entering rotation (`balancer.slow_start`); `None`: full
    /// weight at once.
    pub slow_start: Option<SlowStartSpec>,
    /// A latency objective whose violation time is measured; `None` measures none.
    pub slo: Option<SloSpec>,
}

impl RunSpec {
    /// A run of `duration` with a scenario file's defaults for everything else: no warmup,
    /// a time series sampled every second. Every `RunSpec` is built from here, so a field
    /// added to the model needs its default written once.
    pub fn new(
        duration: SimDuration,
        workload: WorkloadSpec,
        servers: Vec<ServerGroupSpec>,
        balancer: BalancerSpec,
    ) -> Self {
        RunSpec {
            duration,
            warmup: SimDuration::ZERO,
            sample_interval: Some(SimDuration::from_secs(1)),
            workload,
            servers,
            balancer,
            tiers: Vec::new(),
            timeline: Vec::new(),
            health_check: None,
            outlier_detection: None,
            panic_threshold: DEFAULT_PANIC_THRESHOLD,
            circuit_breaker: None,
            client: None,
            zone_aware: None,
            database: None,
            sessions: None,
            affinity: None,
            session_store: None,
            autoscaler: None,
            discovery: None,
            slow_start: None,
            slo: None,
        }
    }

    /// The number of servers over all groups.
    pub fn server_count(&self) -> usize {
        self.servers.iter().map(|g| g.count as usize).sum()
    }

    /// The expected number of events of one run, to refuse a typo that would run for days
    /// (`rate = 1e9`, `duration = "100d"`) before it starts: an arrival and a completion per
    /// request, plus one sample per server and time-series interval.
    pub fn estimated_events(&self) -> f64 {
        let end = SimTime::ZERO + self.duration;
        let requests = match (&self.workload, &self.sessions) {
            (WorkloadSpec::Generated(_), Some(sessions)) => {
                sessions.rate.expected_arrivals(end) * sessions.requests.mean()
            }
            (WorkloadSpec::Generated(generated), None) => generated.rate.expected_arrivals(end),
            (WorkloadSpec::Replay(replay), _) => replay.trace().requests().len() as f64,
        };
        let samples = self.sample_interval.map_or(0.0, |interval| {
            self.duration.as_nanos() as f64 / interval.as_nanos().max(1) as f64
                * self.server_count() as f64
        });
        2.0 * requests + samples
    }
}

/// Open-loop traffic: when requests arrive, from whom, and how much work each brings.
///
/// Either drawn from distributions or replayed from a recorded trace. The two are one enum
/// rather than optional fields because they share nothing but the service distribution, and
/// even that changes meaning (always used, or only for trace lines without a service time):
/// a spec with both a rate and a trace, or a trace with a client count, cannot be built.
#[derive(Clone, Debug, PartialEq)]
pub enum WorkloadSpec {
    Generated(GeneratedWorkload),
    Replay(TraceReplay),
}

impl WorkloadSpec {
    /// The mean work a request brings: the service distribution's mean, or over a trace
    /// the mean of its requests' work (a request without one counts the distribution's).
    pub fn mean_work(&self) -> SimDuration {
        match self {
            WorkloadSpec::Generated(generated) => generated.service.mean(),
            WorkloadSpec::Replay(replay) => {
                let requests = replay.trace().requests();
                let drawn = replay
                    .service()
                    .map_or(SimDuration::ZERO, ServiceDist::mean);
                let total: u128 = requests
                    .iter()
                    .map(|r| u128::from(r.work.unwrap_or(drawn).as_nanos()))
                    .sum();
                let mean = total / requests.len().max(1) as u128;
                SimDuration::from_nanos(mean as u64)
            }
        }
    }
}

/// Traffic drawn from distributions: a rate schedule, an arrival pattern, a client
/// population and a service distribution, each on its own random stream.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratedWorkload {
    pub rate: RateSchedule,
    pub arrivals: ArrivalPattern,
    pub service: ServiceDist,
    /// Number of distinct client addresses; each request comes from one drawn uniformly.
    pub clients: u32,
}

/// Arrival rate over time: a step function, constant from each step's start to the next.
#[derive(Clone, Debug, PartialEq)]
pub struct RateSchedule {
    /// `(start, requests per second)`, sorted by start, the first at time zero.
    steps: Vec<(SimTime, f64)>,
}

impl RateSchedule {
    /// A single rate for the whole run.
    pub fn constant(rate: f64) -> Self {
        RateSchedule {
            steps: vec![(SimTime::ZERO, rate)],
        }
    }

    /// Builds a schedule from steps sorted by start; a first step after zero is preceded by
    /// a rate of 0. Validation guarantees the order and non-negative rates.
    pub fn from_steps(mut steps: Vec<(SimTime, f64)>) -> Self {
        debug_assert!(steps.windows(2).all(|w| w[0].0 < w[1].0));
        if steps
            .first()
            .is_none_or(|&(start, _)| start != SimTime::ZERO)
        {
            steps.insert(0, (SimTime::ZERO, 0.0));
        }
        RateSchedule { steps }
    }

    pub fn steps(&self) -> &[(SimTime, f64)] {
        &self.steps
    }

    /// The expected number of arrivals in `[0, end)`.
    pub fn expected_arrivals(&self, end: SimTime) -> f64 {
        let mut total = 0.0;
        for (i, &(start, rate)) in self.steps.iter().enumerate() {
            if start >= end {
                break;
            }
            let stop = self
                .steps
                .get(i + 1)
                .map_or(end, |&(next, _)| next.min(end));
            total += rate * (stop - start).as_secs_f64();
        }
        total
    }
}

/// How arrivals are spaced at a given rate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ArrivalPattern {
    /// Exponential gaps: a Poisson process (piecewise homogeneous under a schedule).
    Poisson,
    /// Evenly spaced, `1 / rate` apart.
    Constant,
}

/// The distribution of work a request brings, in time at speed 1.0.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum ServiceDist {
    Constant {
        mean: SimDuration,
    },
    Exponential {
        mean: SimDuration,
    },
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    /// Parameterized by mean and coefficient of variation (σ/mean).
    LogNormal {
        mean: SimDuration,
        cv: f64,
    },
    /// Parameterized by mean and shape α > 1 (the scale is `mean (α-1)/α`).
    Pareto {
        mean: SimDuration,
        shape: f64,
    },
}

impl ServiceDist {
    /// The distribution's mean.
    pub fn mean(&self) -> SimDuration {
        match *self {
            ServiceDist::Constant { mean }
            | ServiceDist::Exponential { mean }
            | ServiceDist::LogNormal { mean, .. }
            | ServiceDist::Pareto { mean, .. } => mean,
            ServiceDist::Uniform { min, max } => {
                SimDuration::from_nanos(min.as_nanos() / 2 + max.as_nanos() / 2)
            }
        }
    }
}

/// A second tier: a station of `workers` with a queue, serving a call from every request.
#[derive(Clone, Debug, PartialEq)]
pub struct TierSpec {
    pub name: String,
    pub workers: u32,
    /// Calls that may wait; beyond it a call is refused and its request fails. `None` is
    /// unbounded.
    pub queue_limit: Option<u32>,
    /// Work per call, drawn when a worker takes it.
    pub service: ServiceDist,
}

/// A group of identical servers, named `name-0`, `name-1`, ...
#[derive(Clone, Debug, PartialEq)]
pub struct ServerGroupSpec {
    pub name: String,
    pub count: u32,
    /// Requests served at once.
    pub workers: u32,
    /// Requests that may wait; arrivals beyond it are rejected. `None` is unbounded.
    pub queue_limit: Option<u32>,
    /// Service time is work divided by speed.
    pub speed: f64,
    pub weight: u32,
    pub zone: String,
    /// Time from a restart, or from an autoscaled launch's provisioning, to ready.
    pub boot: SimDuration,
    /// Crashes as a process: exponential times to failure with this mean (MTBF) and
    /// exponential repair times (MTTR), drawn per server. `None`: no random crashes.
    pub failures: Option<FailureProcess>,
    /// The share of requests each server answers with an error after doing their work (a
    /// gray failure); zero for a healthy server. The timeline's `set-errors` changes it.
    pub error_fraction: Fraction,
    /// How long a server removed gracefully may finish what it holds before the rest fails
    /// with `server-removed`: AWS ALB's `deregistration_delay.timeout_seconds` (300 s by
    /// default), Kubernetes' `terminationGracePeriodSeconds`.
    pub deregistration_delay: SimDuration,
    /// CPU and memory as the seed's `/health` reads them; `None` reports no resources, so
    /// a probe passes whenever it is answered.
    pub resources: Option<ResourceSpec>,
    /// How long a server told to leave gracefully keeps serving after it deregisters,
    /// before it starts draining: Kubernetes' `preStop` sleep, which gives service
    /// discovery time to tell the balancers. Zero by default.
    pub pre_stop: SimDuration,
    /// What one server of the group costs per hour running; zero by default.
    pub price_per_hour: f64,
}

/// A server group's random crashes.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct FailureProcess {
    /// Mean time between failures: from ready to the next crash.
    pub mtbf: SimDuration,
    /// Mean time to repair: from the crash to the restart (then it boots).
    pub mttr: SimDuration,
}

impl ServerGroupSpec {
    /// `count` servers named `name-0`, `name-1`, ... with a `[[servers]]` table's defaults:
    /// one worker, an unbounded queue, speed 1, weight 1, zone "a", no boot time, no
    /// random crashes, no errors, a 300 s deregistration delay, no resource model, no
    /// pre-stop time and no price.
    pub fn new(name: &str, count: u32) -> Self {
        ServerGroupSpec {
            name: name.to_string(),
            count,
            workers: 1,
            queue_limit: None,
            speed: 1.0,
            weight: 1,
            zone: "a".to_string(),
            boot: SimDuration::ZERO,
            failures: None,
            error_fraction: Fraction::ZERO,
            deregistration_delay: Self::DEFAULT_DEREGISTRATION_DELAY,
            resources: None,
            pre_stop: SimDuration::ZERO,
            price_per_hour: 0.0,
        }
    }

    /// AWS ALB's default `deregistration_delay.timeout_seconds`.
    pub const DEFAULT_DEREGISTRATION_DELAY: SimDuration = SimDuration::from_secs(300);
}
