//! An application server: a [`Station`] with an identity and a lifecycle.
//!
//! A server is `Booting` until it can serve, `Ready` while it serves, `Draining` while it
//! finishes what it holds after being taken out of rotation, and `Down` when it has crashed
//! (it may restart and boot again) or left. Whether the balancer sends it traffic is the
//! balancer's view, not the server's state: a crashed server stays in rotation until a
//! health check, outlier detection, service discovery or the timeline takes it out. A
//! server that has left is gone for good (an id is never reused within a run); it keeps its
//! join and leave times, so its utilization covers only its lifetime.

use std::fmt;

use super::request::RequestId;
use super::spec::ServerGroupSpec;
use super::station::Station;
use crate::engine::{SimTime, TimerId};
use crate::id::ServerId;

/// Where a server is in its life.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ServerState {
    Booting,
    Ready,
    Draining,
    Down,
}

impl ServerState {
    /// The name events.csv and the trace view use.
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Booting => "booting",
            ServerState::Ready => "ready",
            ServerState::Draining => "draining",
            ServerState::Down => "down",
        }
    }
}

impl fmt::Display for ServerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The fields a request's arrival and end read come first, in declaration order and from
/// the start of a cache line (`repr(C)`, aligned to 64 bytes): the state and the station
/// fill the first two lines, the rest (its name, its lifecycle) comes after. With 10,000
/// servers their structs no longer fit in the caches, and each line a request touches at
/// its server is a likely miss: left to the compiler's layout, the state sat at the end of
/// the struct, the station across three lines in its middle.
#[repr(C, align(64))]
pub struct Server {
    pub state: ServerState,
    pub station: Station,
    pub id: ServerId,
    /// Instance name: `<group>-<index in group>`.
    pub name: String,
    /// Index of its group in the scenario's `[[servers]]` list.
    pub group: usize,
    pub weight: u32,
    pub joined: SimTime,
    /// When it left the cluster; `None` while it is a member.
    pub left: Option<SimTime>,
    /// When it last crashed, while it is down or booting after the crash.
    pub crashed: Option<SimTime>,
    /// Its next crash (failure process) or its restart after a crash: cancelled if it
    /// leaves first.
    pub lifecycle_timer: Option<TimerId>,
    /// The health check out on this server: its probe (none when the server could not
    /// take it) and its timeout.
    pub check: Option<OutstandingCheck>,
    /// While it leaves gracefully, the next step of its departure: the end of its pre-stop
    /// time, then, while it drains, when what it still holds fails (its deregistration
    /// delay ends), cancelled if it empties first. Apart from `lifecycle_timer`, so that
    /// a leaving server can still crash.
    pub departure_timer: Option<TimerId>,
    /// When it booted after a crash, until it is back in rotation: its recovery time runs.
    pub recovered: Option<SimTime>,
    /// Why it was told to leave, once it has been (it has deregistered): it may still
    /// serve (its pre-stop time, then its drain), but it never enters rotation again.
    pub leaving: Option<&'static str>,
    /// Whether it has served: ready from the start, or announced when it first became
    /// ready. The balancers are told of a server only then (it registers), so until then
    /// it is no host of theirs, even if it crashes and boots again before that; one
    /// that has served stays a host through its crashes and restarts.
    pub served: bool,
}

/// A health check sent and not yet answered.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct OutstandingCheck {
    pub probe: Option<RequestId>,
    pub timeout: TimerId,
}

impl Server {
    /// Server `index` of group `group`, joining at `now` in state `state`.
    pub fn new(
        id: ServerId,
        group: usize,
        index: u32,
        spec: &ServerGroupSpec,
        now: SimTime,
        state: ServerState,
    ) -> Self {
        Server {
            id,
            name: format!("{}-{index}", spec.name),
            group,
            weight: spec.weight,
            state,
            joined: now,
            left: None,
            crashed: None,
            lifecycle_timer: None,
            check: None,
            departure_timer: None,
            recovered: None,
            leaving: None,
            served: state == ServerState::Ready,
            station: Station::new(spec.workers, spec.queue_limit, spec.speed, now),
        }
    }

    /// Whether it is still part of the cluster (it has not left), whatever its state.
    pub fn is_member(&self) -> bool {
        self.left.is_none()
    }

    /// Whether it answers requests: a down or booting server refuses connections.
    pub fn is_serving(&self) -> bool {
        matches!(self.state, ServerState::Ready | ServerState::Draining)
    }

    /// Whether it has been told to leave and has deregistered.
    pub fn is_leaving(&self) -> bool {
        self.leaving.is_some()
    }

    /// Whether it takes a new connection: only when ready. A draining server finishes what
    /// it holds but has closed its listener (NGINX's and Envoy's graceful shutdown), so a
    /// balancer that still routes to it — not yet told by service discovery — is refused;
    /// with cookie affinity's `draining = "keep"` it keeps its listener open for its
    /// sessions' requests (the world's admission).
    pub fn accepts_connections(&self) -> bool {
        self.state == ServerState::Ready
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_is_named_after_its_group_and_index_and_is_up_until_it_leaves() {
        let mut server = Server::new(
            ServerId(7),
            0,
            3,
            &ServerGroupSpec::new("web", 4),
            SimTime::ZERO,
            ServerState::Ready,
        );
        assert_eq!(server.name, "web-3");
        assert!(server.is_member() && server.is_serving());
        server.state = ServerState::Down;
        assert!(server.is_member() && !server.is_serving());
        server.left = Some(SimTime::from_nanos(5));
        assert!(!server.is_member());
        assert_eq!(ServerState::Draining.to_string(), "draining");
    }
}
