//! The timeline's scheduled actions carried out (servers added, removed, crashed, slowed,
//! set to answer some requests with errors) and the share of clients and sessions a
//! membership change maps to another server.

use super::{World, key};
use crate::id::ServerId;
use crate::model::observer::{Observed, Observer};
use crate::model::server::ServerState;
use crate::model::timeline::{Change, TimelineAction};

impl<O: Observer> World<'_, O> {
    /// The member named `name`. Validation replays the timeline against the servers it adds
    /// and removes, so every server an action names is one the run had; but an autoscaler
    /// may have removed it since (a scale-in), and then the action has nothing to act on.
    pub(super) fn named(&self, name: &str) -> Option<ServerId> {
        self.cluster.find(name)
    }

    /// Server `id` runs at `speed` from now on (a degraded host, or its repair).
    fn set_speed(&mut self, id: ServerId, speed: f64) {
        self.cluster.server_mut(id).station.speed = speed;
        self.measurement
            .speed_changed(self.now, self.cluster.server(id), speed);
        if O::ACTIVE {
            let server = &self.cluster.server(id).name;
            self.observer
                .observe(self.now, Observed::SpeedChanged { server, speed });
        }
    }

    pub(super) fn apply(&mut self, action: &TimelineAction) {
        let before = self.routes();
        let session_keys = match (&self.sessions, &action.change) {
            (Some(sessions), Change::Add { .. } | Change::Remove { .. }) => sessions.live_keys(),
            _ => Vec::new(),
        };
        let sessions_before: Vec<Option<ServerId>> = session_keys
            .iter()
            .map(|key| self.frontend.route(key))
            .collect();
        match &action.change {
            Change::Add { group, count } => {
                for _ in 0..*count {
                    let id = self.launch(*group, ServerState::Ready, "timeline");
                    self.serve(id);
                }
                self.hosts_changed("timeline");
            }
            Change::Remove { server, abrupt } => {
                if let Some(id) = self.named(server) {
                    if *abrupt && self.cluster.server(id).is_serving() {
                        self.remove_abruptly(id);
                        self.hosts_changed("server-removed");
                    } else if !self.cluster.server(id).is_leaving() {
                        // One that serves nothing leaves at once, gracefully or not:
                        // left to a pre-stop time, its restart would go on and bring it
                        // up ready outside every rotation.
                        let reason = if *abrupt {
                            "server-removed"
                        } else {
                            "timeline"
                        };
                        self.depart(id, reason);
                        self.hosts_changed(reason);
                    }
                }
            }
            Change::Crash { server, downtime } => {
                if let Some(id) = self.named(server) {
                    self.crash(id, *downtime);
                }
            }
            Change::ZoneOutage { zone, downtime } => {
                let in_zone: Vec<ServerId> = self
                    .cluster
                    .servers()
                    .iter()
                    .filter(|s| s.is_member() && self.spec.servers[s.group].zone == *zone)
                    .map(|s| s.id)
                    .collect();
                for id in in_zone {
                    self.crash(id, *downtime);
                }
            }
            Change::SetErrors { server, fraction } => {
                if let Some(id) = self.named(server) {
                    self.gray
                        .as_mut()
                        .expect("a timeline that sets errors has gray failures")
                        .set(id, *fraction);
                }
            }
            Change::SetSpeed { server, speed } => {
                if let Some(id) = self.named(server) {
                    self.set_speed(id, *speed);
                }
            }
        }
        if let Some(before) = before {
            let after = self.routes().expect("the algorithm still routes by key");
            let moved = before.iter().zip(&after).filter(|(b, a)| b != a).count();
            self.measurement
                .remapped(moved as f64 / before.len().max(1) as f64);
        }
        if let Some(sessions) = &mut self.sessions
            && sessions_before.iter().any(Option::is_some)
        {
            let moved = session_keys
                .iter()
                .zip(&sessions_before)
                .filter(|&(key, before)| self.frontend.route(key) != *before)
                .count();
            sessions.remapped(moved as f64 / session_keys.len() as f64);
        }
    }

    /// Where every client of the remap population maps now, if there is one.
    fn routes(&mut self) -> Option<Vec<Option<ServerId>>> {
        if self.remap_clients.is_empty() {
            return None;
        }
        Some(
            self.remap_clients
                .iter()
                .map(|&client| self.frontend.route(&key(client)))
                .collect(),
        )
    }
}
