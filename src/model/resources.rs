//! The resource model: CPU and memory as the seed's HealthChecker reads them, so that an
//! overloaded server fails its health check and leaves rotation.
//!
//! The seed's `/health` answers 503 when CPU, memory or disk passes 90%. Here CPU is the
//! server's busy fraction (busy workers over workers) over the window since its previous
//! check — what `psutil.cpu_percent(interval=None)` returns, the usage since the last
//! call — read from the station's busy-time integral at each check, so a reading costs
//! O(1) and nothing is kept per request. Memory is a footprint per request held (in
//! service or queued) against the server's capacity, as a process whose heap grows with
//! its open requests. Disk is not modelled: nothing in a run fills one.
//!
//! A probe that finds either above its threshold is answered with a 503, a failed check
//! that counts toward the unhealthy threshold as any other. With `reject_when_full`, a
//! request that would need more memory than is left is refused at once (an out-of-memory
//! 503) rather than queued.

use super::fraction::Fraction;
use super::server::Server;
use super::spec::ServerGroupSpec;
use crate::engine::SimTime;
use crate::id::ServerId;

/// `[[servers]] resources`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSpec {
    /// Above this busy fraction the health check fails (the seed's 90%).
    pub cpu_threshold: Fraction,
    /// The memory model, when a footprint and a capacity are given.
    pub memory: Option<MemorySpec>,
}

/// Memory: `per_request` units per request held, against `capacity` units.
#[derive(Clone, Debug, PartialEq)]
pub struct MemorySpec {
    pub per_request: f64,
    pub capacity: f64,
    /// Above this share of the capacity in use the health check fails (the seed's 90%).
    pub threshold: Fraction,
    /// Refuse a request that would not fit (reason `out-of-memory`) instead of taking it.
    pub reject_when_full: bool,
}

impl ResourceSpec {
    /// The seed's threshold, for CPU and memory alike.
    pub const DEFAULT_THRESHOLD: Fraction = Fraction::from_millionths(900_000);
}

/// The resources of every server whose group models them.
pub struct Resources {
    /// Per group: its resource model, if any.
    groups: Vec<Option<ResourceSpec>>,
    /// Per server: the time and busy integral of its previous reading.
    last_reading: Vec<(SimTime, u128)>,
}

/// What a health probe reads on a server.
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct Reading {
    /// Busy fraction since the previous reading.
    pub cpu: f64,
    /// Share of the memory capacity in use, when memory is modelled.
    pub memory: Option<f64>,
    /// Whether `/health` answers 503.
    pub overloaded: bool,
}

impl Resources {
    /// The resource model of `groups`, or `None` when no group has one: then nothing is
    /// read and a run pays nothing for it.
    pub fn new(groups: &[ServerGroupSpec]) -> Option<Self> {
        groups
            .iter()
            .any(|g| g.resources.is_some())
            .then(|| Resources {
                groups: groups.iter().map(|g| g.resources.clone()).collect(),
                last_reading: Vec::new(),
            })
    }

    /// `server` joined at `now`: its first window starts then.
    pub fn add_server(&mut self, server: ServerId, now: SimTime) {
        if self.last_reading.len() <= server.index() {
            self.last_reading.resize(server.index() + 1, (now, 0));
        }
        self.last_reading[server.index()] = (now, 0);
    }

    /// Reads `server`'s CPU over the window since its previous reading, and its memory, at
    /// `now`; the next window starts now. `None` when its group models no resources.
    pub fn read(&mut self, server: &mut Server, now: SimTime) -> Option<Reading> {
        let spec = self.groups[server.group].as_ref()?;
        let busy = server.station.busy_integral(now);
        let (since, busy_before) = self.last_reading[server.id.index()];
        self.last_reading[server.id.index()] = (now, busy);
        let capacity = u128::from(server.station.workers) * u128::from(now.since(since).as_nanos());
        let cpu = if capacity == 0 {
            0.0
        } else {
            (busy - busy_before) as f64 / capacity as f64
        };
        let memory = spec
            .memory
            .as_ref()
            .map(|memory| memory.per_request * f64::from(held(server)) / memory.capacity);
        // "Passes 90%": strictly above the threshold.
        let overloaded = cpu > spec.cpu_threshold.as_f64()
            || spec
                .memory
                .as_ref()
                .zip(memory)
                .is_some_and(|(m, used)| used > m.threshold.as_f64());
        Some(Reading {
            cpu,
            memory,
            overloaded,
        })
    }

    /// Whether `server` refuses one more request for want of memory.
    pub fn refuses(&self, server: &Server) -> bool {
        self.groups[server.group]
            .as_ref()
            .and_then(|spec| spec.memory.as_ref())
            .is_some_and(|m| {
                m.reject_when_full && m.per_request * f64::from(held(server) + 1) > m.capacity
            })
    }
}

/// The requests `server` holds: in service and queued.
fn held(server: &Server) -> u32 {
    server.station.busy_workers() + server.station.queue_length()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::request::testing::ids;
    use crate::model::server::ServerState;

    fn group(memory: Option<MemorySpec>) -> ServerGroupSpec {
        ServerGroupSpec {
            workers: 2,
            resources: Some(ResourceSpec {
                cpu_threshold: ResourceSpec::DEFAULT_THRESHOLD,
                memory,
            }),
            ..ServerGroupSpec::new("web", 1)
        }
    }

    fn server(spec: &ServerGroupSpec) -> Server {
        Server::new(ServerId(0), 0, 0, spec, SimTime::ZERO, ServerState::Ready)
    }

    fn secs(s: u64) -> SimTime {
        SimTime::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn cpu_above_ninety_percent_over_the_window_answers_503() {
        // Two workers over 10 s: one busy all along, the other from 1 s on. Busy time is
        // 10 + 9 = 19 worker-seconds of 20: 95% > 90%, a 503.
        let spec = group(None);
        let mut server = server(&spec);
        let mut resources = Resources::new(std::slice::from_ref(&spec)).expect("modelled");
        resources.add_server(server.id, SimTime::ZERO);
        let ids = ids(2);
        server.station.admit(SimTime::ZERO, ids[0]);
        server.station.admit(secs(1), ids[1]);
        let reading = resources.read(&mut server, secs(10)).expect("a reading");
        assert_eq!(reading.cpu, 0.95);
        assert!(reading.overloaded);
        // The next window is 10 s to 15 s; one worker freed at 10 s: 5 + 0 of 10 is 50%.
        server.station.finish(secs(10), ids[1]);
        let reading = resources.read(&mut server, secs(15)).expect("a reading");
        assert_eq!(reading.cpu, 0.5);
        assert!(!reading.overloaded);
    }

    #[test]
    fn memory_counts_requests_held_and_can_refuse_the_one_that_does_not_fit() {
        // 30 units a request, 100 units: three held use 90%, not above the threshold;
        // a fourth would not fit.
        let spec = group(Some(MemorySpec {
            per_request: 30.0,
            capacity: 100.0,
            threshold: ResourceSpec::DEFAULT_THRESHOLD,
            reject_when_full: true,
        }));
        let mut server = server(&spec);
        let mut resources = Resources::new(std::slice::from_ref(&spec)).expect("modelled");
        resources.add_server(server.id, SimTime::ZERO);
        for id in ids(3) {
            assert!(!resources.refuses(&server));
            server.station.admit(SimTime::ZERO, id);
        }
        assert!(resources.refuses(&server));
        let reading = resources.read(&mut server, secs(1)).expect("a reading");
        assert_eq!(reading.memory, Some(0.9));
        // Both workers busy for the whole second: CPU is 100%, so the check fails anyway.
        assert!(reading.overloaded);
    }

    #[test]
    fn a_fleet_without_resources_models_none() {
        assert!(Resources::new(&[ServerGroupSpec::new("web", 1)]).is_none());
    }
}
