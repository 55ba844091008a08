//! The set of servers a balancer may pick from, as a dense vector with a position index:
//! O(1) membership test, insertion, removal (swap-remove) and uniform choice.

use crate::id::ServerId;

const ABSENT: u32 = u32::MAX;

#[derive(Clone, Debug, Default)]
pub struct Pool {
    members: Vec<ServerId>,
    /// `position[id]` is the index of `id` in `members`, or `ABSENT`.
    position: Vec<u32>,
}

impl Pool {
    pub fn with_capacity(capacity: usize) -> Self {
        Pool {
            members: Vec::with_capacity(capacity),
            position: Vec::with_capacity(capacity),
        }
    }

    /// Adds `server` at the end of the member order; adding a member twice is a no-op.
    pub fn insert(&mut self, server: ServerId) {
        if self.contains(server) {
            return;
        }
        if self.position.len() <= server.index() {
            self.position.resize(server.index() + 1, ABSENT);
        }
        self.position[server.index()] = self.members.len() as u32;
        self.members.push(server);
    }

    /// Removes `server`; the last member takes its place in the order.
    pub fn remove(&mut self, server: ServerId) {
        let Some(&slot) = self.position.get(server.index()) else {
            return;
        };
        if slot == ABSENT {
            return;
        }
        self.members.swap_remove(slot as usize);
        if let Some(&moved) = self.members.get(slot as usize) {
            self.position[moved.index()] = slot;
        }
        self.position[server.index()] = ABSENT;
    }

    pub fn contains(&self, server: ServerId) -> bool {
        self.position
            .get(server.index())
            .is_some_and(|&slot| slot != ABSENT)
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The member at `index` of the current order.
    pub fn get(&self, index: usize) -> ServerId {
        self.members[index]
    }

    /// Exchanges the members at indices `a` and `b` of the order (a step of a shuffle).
    pub fn swap(&mut self, a: usize, b: usize) {
        self.members.swap(a, b);
        self.position[self.members[a].index()] = a as u32;
        self.position[self.members[b].index()] = b as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_moves_the_last_member_into_the_gap() {
        let mut pool = Pool::with_capacity(4);
        for id in 0..4 {
            pool.insert(ServerId(id));
        }
        pool.remove(ServerId(1));
        assert_eq!(pool.len(), 3);
        assert!(!pool.contains(ServerId(1)));
        assert_eq!(
            (0..3).map(|i| pool.get(i).0).collect::<Vec<_>>(),
            vec![0, 3, 2]
        );
        pool.remove(ServerId(1));
        pool.insert(ServerId(3));
        assert_eq!(pool.len(), 3);
        pool.swap(0, 2);
        assert_eq!(
            (0..3).map(|i| pool.get(i).0).collect::<Vec<_>>(),
            vec![2, 3, 0]
        );
        pool.remove(ServerId(2));
        assert_eq!(pool.get(0), ServerId(0));
        assert!(pool.contains(ServerId(3)));
    }
}
