//! The cluster component: every server that has ever been part of the run, by id.
//!
//! Servers join with a fresh id (ids are dense, index vectors, and are never reused, even
//! after a server leaves) and a name that continues their group's numbering; a server that
//! has left stays in the list, down, so that its figures are reported.

use super::server::{Server, ServerState};
use super::spec::ServerGroupSpec;
use crate::engine::{SimTime, prefetch};
use crate::id::ServerId;

pub struct Cluster {
    servers: Vec<Server>,
    /// Per group: the index the next server of the group gets in its name.
    next_index: Vec<u32>,
}

impl Cluster {
    /// The servers of `groups`, ready at time zero.
    pub fn new(groups: &[ServerGroupSpec]) -> Self {
        let mut cluster = Cluster {
            servers: Vec::with_capacity(groups.iter().map(|g| g.count as usize).sum()),
            next_index: vec![0; groups.len()],
        };
        for (group, spec) in groups.iter().enumerate() {
            for _ in 0..spec.count {
                cluster.join(group, spec, SimTime::ZERO, ServerState::Ready);
            }
        }
        cluster
    }

    /// A new server of group `group` joins at `now` in state `state`.
    pub fn join(
        &mut self,
        group: usize,
        spec: &ServerGroupSpec,
        now: SimTime,
        state: ServerState,
    ) -> ServerId {
        let id = ServerId(self.servers.len() as u32);
        let index = self.next_index[group];
        self.next_index[group] += 1;
        self.servers
            .push(Server::new(id, group, index, spec, now, state));
        id
    }

    pub fn server(&self, id: ServerId) -> &Server {
        &self.servers[id.index()]
    }

    /// Starts loading the lines of server `id` that a request's end reads: its state and
    /// its station, the first two of its struct (see [`Server`]).
    pub fn prefetch(&self, id: ServerId) {
        let server = self.servers.as_ptr().wrapping_add(id.index());
        prefetch(server);
        prefetch(server.cast::<u8>().wrapping_add(64));
    }

    pub fn server_mut(&mut self, id: ServerId) -> &mut Server {
        &mut self.servers[id.index()]
    }

    pub fn servers(&self) -> &[Server] {
        &self.servers
    }

    pub fn servers_mut(&mut self) -> &mut [Server] {
        &mut self.servers
    }

    /// The member named `name` (a name is unique among the members).
    pub fn find(&self, name: &str) -> Option<ServerId> {
        self.servers
            .iter()
            .find(|s| s.is_member() && s.name == name)
            .map(|s| s.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_joining_server_continues_its_groups_numbering_with_a_fresh_id() {
        let groups = [
            ServerGroupSpec::new("web", 2),
            ServerGroupSpec::new("db", 1),
        ];
        let mut cluster = Cluster::new(&groups);
        let id = cluster.join(0, &groups[0], SimTime::from_nanos(5), ServerState::Ready);
        assert_eq!(id, ServerId(3));
        assert_eq!(cluster.server(id).name, "web-2");
        assert_eq!(cluster.find("db-0"), Some(ServerId(2)));
        cluster.server_mut(ServerId(2)).left = Some(SimTime::from_nanos(9));
        assert_eq!(cluster.find("db-0"), None);
    }
}
