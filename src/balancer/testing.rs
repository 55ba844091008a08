//! What the balancers' tests share: a request key, a backend, a filled pool, a pick.

use super::{Backend, Balancer};
use crate::engine::stream;
use crate::id::{ClientAddr, RequestKey, ServerId};

/// A request from one fixed client.
pub const KEY: RequestKey = RequestKey {
    client: ClientAddr(1),
    session: None,
};

/// Server `id` with weight 1.
pub fn backend(id: u32) -> Backend<'static> {
    Backend {
        id: ServerId(id),
        name: "s",
        weight: 1,
    }
}

/// `balancer` with servers `0..servers` added.
pub fn filled<B: Balancer>(mut balancer: B, servers: u32) -> B {
    for id in 0..servers {
        balancer.add(backend(id));
    }
    balancer
}

/// The id `balancer` picks for [`KEY`].
pub fn pick_id(balancer: &mut impl Balancer) -> Option<u32> {
    balancer.pick(&KEY, &mut stream(1, 0, 0)).map(|s| s.0)
}

/// `picks` picks for [`KEY`], each dispatched (one more open connection) before the next.
pub fn picks_dispatched(balancer: &mut impl Balancer, picks: usize) -> Vec<u32> {
    (0..picks)
        .map(|_| {
            let id = pick_id(balancer).expect("a non-empty pool");
            balancer.dispatched(ServerId(id));
            id
        })
        .collect()
}
