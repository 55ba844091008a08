//! The balancer component: one or more balancer instances in front of the cluster.
//!
//! Each instance has its own view — the connection counts of the requests it dispatched,
//! its own random stream — as separate load-balancer processes do; requests are spread
//! over them at random or by client hash. With one instance (the default) nothing is drawn
//! to choose it. The component also keeps which servers are in rotation, so that an
//! algorithm is told a server joins or leaves its pool only when it enters or leaves
//! rotation. A request's dispatch and end reach the instance that picked it (the request
//! records which) whether or not its server is in rotation then, so that every instance's
//! count of a server is the requests it sent there that have not ended, across the
//! server's ejections and returns.

use rand::RngExt;

use crate::balancer::{Backend, Balancer, BalancerSpec, Explanation, Spread};
use crate::engine::{SimDuration, SimRng, SimTime, stream};
use crate::hash::hash_addr;
use crate::id::{RequestKey, ServerId};

use super::streams;

pub struct Frontend {
    instances: Vec<Box<dyn Balancer>>,
    /// Per instance: its own draws.
    rngs: Vec<SimRng>,
    spread: Spread,
    /// Chooses an instance per request (random spread) and the instance an idle server
    /// reports to; drawn only with several instances.
    spread_rng: SimRng,
    /// Whether the algorithm listens to idle reports (join-idle-queue): only then are they
    /// made, so other algorithms pay nothing for them.
    wants_idle_reports: bool,
    /// Whether the algorithm reads the time (peak EWMA); likewise asked once.
    wants_ticks: bool,
    /// Whether the one instance takes prefetch hints (the rings); likewise asked once.
    wants_prefetch: bool,
    /// Per server: in rotation (the instances have it in their pools).
    in_rotation: Vec<bool>,
    /// Picks made again by [`Self::pick_avoiding`] since [`Self::take_reselected`] last
    /// read them: what the trace view tells of a retry.
    reselected: u32,
}

/// A pick: which instance made it and the server it chose.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Pick {
    pub instance: u8,
    pub server: ServerId,
}

impl Frontend {
    pub fn new(spec: &BalancerSpec, capacity: usize, seed: u64) -> Self {
        let instances: Vec<Box<dyn Balancer>> =
            (0..spec.instances).map(|_| spec.build(capacity)).collect();
        let wants_idle_reports = instances[0].wants_idle_reports();
        let wants_ticks = instances[0].wants_ticks();
        let wants_prefetch = instances.len() == 1 && instances[0].wants_prefetch();
        Frontend {
            rngs: (0..spec.instances)
                .map(|i| stream(seed, streams::BALANCER, i))
                .collect(),
            instances,
            spread: spec.spread,
            spread_rng: stream(seed, streams::SPREAD, 0),
            reselected: 0,
            wants_idle_reports,
            wants_ticks,
            wants_prefetch,
            in_rotation: Vec::with_capacity(capacity),
        }
    }

    /// Wraps the one instance's algorithm in zone-aware routing (`wrap` builds the router
    /// around it), before any server is added; validation allows it with one instance.
    /// The router is itself a [`Balancer`], so a run without zones pays nothing for it.
    pub fn route_by_zone(&mut self, wrap: impl FnOnce(Box<dyn Balancer>) -> Box<dyn Balancer>) {
        debug_assert!(self.instances.len() == 1 && self.in_rotation.is_empty());
        let instance = self.instances.pop().expect("one instance");
        self.instances.push(wrap(instance));
        self.wants_prefetch = self.instances[0].wants_prefetch();
    }

    /// Whether the balancer is in panic: zone-aware routing then ignores zones.
    pub fn set_panic(&mut self, panic: bool) {
        for instance in &mut self.instances {
            instance.set_panic(panic);
        }
    }

    /// The clock moved to `now`: every instance that reads the time is told, before
    /// anything else happens at `now`.
    pub fn tick(&mut self, now: SimTime) {
        if self.wants_ticks {
            for instance in &mut self.instances {
                instance.tick(now);
            }
        }
    }

    /// `backend` enters rotation on every instance, and reports idle if it is (`idle`: the
    /// world's word, by the rule of [`Self::server_idle`]'s callers). A busy server coming
    /// back from an ejection or a panic reports when a worker frees, as any other; reported
    /// on entering, it would sit in an idle queue while it still serves what it held.
    pub fn add(&mut self, backend: Backend<'_>, idle: bool) {
        let index = backend.id.index();
        if self.in_rotation.len() <= index {
            self.in_rotation.resize(index + 1, false);
        }
        self.in_rotation[index] = true;
        for instance in &mut self.instances {
            instance.add(backend);
        }
        if idle {
            self.server_idle(backend.id);
        }
    }

    /// `server` leaves rotation: no instance picks it again.
    pub fn remove(&mut self, server: ServerId) {
        if let Some(in_rotation) = self.in_rotation.get_mut(server.index())
            && *in_rotation
        {
            *in_rotation = false;
            for instance in &mut self.instances {
                instance.remove(server);
            }
        }
    }

    /// `server`, in rotation, now weighs `weight` on every instance (slow start raising a
    /// newcomer's weight); a server out of rotation is left alone, so that a ramp's timer
    /// firing after the server left changes nothing.
    pub fn set_weight(&mut self, server: ServerId, weight: u32) {
        if self.is_in_rotation(server) {
            for instance in &mut self.instances {
                instance.set_weight(server, weight);
            }
        }
    }

    pub fn is_in_rotation(&self, server: ServerId) -> bool {
        self.in_rotation
            .get(server.index())
            .copied()
            .unwrap_or(false)
    }

    /// A hint that `request` is the next to be picked, for the one instance. Called only
    /// when [`Self::wants_prefetch`] says so, which its caller asks before it builds the
    /// hint.
    pub fn prefetch(&self, request: &RequestKey) {
        debug_assert!(self.wants_prefetch);
        self.instances[0].prefetch(request);
    }

    /// Whether the one instance takes [`Self::prefetch`] hints: whether one is worth
    /// building.
    pub fn wants_prefetch(&self) -> bool {
        self.wants_prefetch
    }

    /// A hint that a request on `server` is about to end: the instances' state for it
    /// starts loading. With one instance only: with several, which one is told is not
    /// known yet.
    pub fn prefetch_server(&self, server: ServerId) {
        if let [instance] = self.instances.as_slice() {
            instance.prefetch_server(server);
        }
    }

    /// Chooses an instance for `request`, then lets it pick a server.
    #[inline(always)]
    pub fn pick(&mut self, request: &RequestKey) -> Option<Pick> {
        let instance = self.instance_for(request);
        let server = self.instances[instance].pick(request, &mut self.rngs[instance])?;
        Some(Pick {
            instance: instance as u8,
            server,
        })
    }

    /// [`Self::pick`] for a retry under Envoy's `previous_hosts` predicate: while the pick
    /// is one of `avoid`, picks again through the same instance, at most `reselections`
    /// times, and keeps the last pick if none lands elsewhere (`chooseHost`'s loop).
    pub fn pick_avoiding(
        &mut self,
        request: &RequestKey,
        avoid: &[ServerId],
        reselections: u32,
    ) -> Option<Pick> {
        let instance = self.instance_for(request);
        let (balancer, rng) = (&mut self.instances[instance], &mut self.rngs[instance]);
        let mut server = balancer.pick(request, rng)?;
        for attempt in 1..=reselections {
            if !avoid.contains(&server) {
                break;
            }
            self.reselected = self.reselected.saturating_add(1);
            server = balancer.pick_again(request, rng, attempt)?;
        }
        Some(Pick {
            instance: instance as u8,
            server,
        })
    }

    /// The picks [`Self::pick_avoiding`] made again since the last call.
    pub fn take_reselected(&mut self) -> u32 {
        std::mem::take(&mut self.reselected)
    }

    /// Sends `request` to `server`, which a session table pinned it to, through the
    /// instance the request reaches: that instance counts the connection.
    pub fn pinned(&mut self, request: &RequestKey, server: ServerId) -> Pick {
        Pick {
            instance: self.instance_for(request) as u8,
            server,
        }
    }

    /// The instance `request` reaches.
    fn instance_for(&mut self, request: &RequestKey) -> usize {
        match self.instances.len() {
            1 => 0,
            n => match self.spread {
                Spread::Random => self.spread_rng.random_range(0..n),
                Spread::ClientHash => (hash_addr(request.client) % n as u64) as usize,
            },
        }
    }

    /// The request `pick` chose a server for was accepted there: the instance that picked
    /// it counts it.
    pub fn dispatched(&mut self, pick: Pick) {
        self.instances[usize::from(pick.instance)].dispatched(pick.server);
    }

    /// A request dispatched by `instance` to `server` ended after `elapsed`: that instance
    /// is told, in rotation or not, so that a server taken out with requests open comes
    /// back without them once they have ended (and with them while they have not).
    pub fn finished(&mut self, instance: u8, server: ServerId, elapsed: SimDuration, ok: bool) {
        self.instances[usize::from(instance)].finished(server, elapsed, ok);
    }

    /// `server` has nothing in service or queued: with join-idle-queue it reports to one
    /// instance's idle queue, drawn at random among several.
    pub fn server_idle(&mut self, server: ServerId) {
        if !self.wants_idle_reports || !self.is_in_rotation(server) {
            return;
        }
        let instance = match self.instances.len() {
            1 => 0,
            n => self.spread_rng.random_range(0..n),
        };
        self.instances[instance].server_idle(server);
    }

    /// Why `pick` went where it did, for the trace view.
    pub fn explain(&self, request: &RequestKey, pick: Pick) -> Explanation {
        self.instances[usize::from(pick.instance)].explain(request, pick.server)
    }

    /// Where `request` maps by its key alone, for hashing algorithms.
    pub fn route(&mut self, request: &RequestKey) -> Option<ServerId> {
        self.instances[0].route(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::Algorithm;
    use crate::id::ClientAddr;
    use proptest::prelude::*;

    /// Servers `0..count`, of weight 1, enter rotation idle.
    fn add_idle(frontend: &mut Frontend, count: u32) {
        for id in 0..count {
            let backend = Backend {
                id: ServerId(id),
                name: "s",
                weight: 1,
            };
            frontend.add(backend, true);
        }
    }

    #[test]
    fn a_pick_avoiding_tried_hosts_reselects_at_most_as_often_as_allowed() {
        // Round robin over three servers: 0, 1, 2, 0, ... Each reselection is the next.
        let mut frontend = Frontend::new(&BalancerSpec::new(Algorithm::RoundRobin), 3, 1);
        add_idle(&mut frontend, 3);
        let request = RequestKey {
            client: ClientAddr(1),
            session: None,
        };
        let mut pick = |avoid: &[u32], reselections| {
            let avoid: Vec<ServerId> = avoid.iter().map(|&id| ServerId(id)).collect();
            let pick = frontend.pick_avoiding(&request, &avoid, reselections);
            pick.map(|p| p.server.0)
        };
        // 0 is tried: its pick is made again, and 1 goes.
        assert_eq!(pick(&[0], 1), Some(1));
        // 2 comes up and was not tried: no reselection, 0 comes next.
        assert_eq!(pick(&[0, 1], 1), Some(2));
        // 0 then 1 come up, both tried, one reselection allowed: the last pick, 1, goes.
        assert_eq!(pick(&[0, 1], 1), Some(1));
        // With two allowed, 2 (tried), 0 (tried), then 1: found on the second.
        assert_eq!(pick(&[2, 0], 2), Some(1));
        // No reselection allowed: the first pick goes, tried or not.
        assert_eq!(pick(&[2], 0), Some(2));
    }

    #[test]
    fn a_weight_change_reaches_every_instance_of_a_server_in_rotation() {
        let spec = BalancerSpec {
            instances: 2,
            ..BalancerSpec::new(Algorithm::WeightedRoundRobin)
        };
        let mut frontend = Frontend::new(&spec, 2, 1);
        add_idle(&mut frontend, 2);
        frontend.set_weight(ServerId(0), 3);
        // Not in rotation (never added): ignored.
        frontend.set_weight(ServerId(7), 3);
        let mut counts = [[0u32; 2]; 2];
        for client in 0..4_000 {
            let request = RequestKey {
                client: ClientAddr(client),
                session: None,
            };
            let pick = frontend.pick(&request).unwrap();
            counts[usize::from(pick.instance)][pick.server.index()] += 1;
        }
        // Each instance runs its own smooth WRR of weights 3 : 1, exact per cycle of 4:
        // within 3 picks of three quarters of what it picked.
        for [zero, one] in counts {
            assert!(zero > 0 && one > 0, "{counts:?}");
            assert!((4 * zero).abs_diff(3 * (zero + one)) <= 12, "{counts:?}");
        }
        frontend.remove(ServerId(1));
        frontend.set_weight(ServerId(1), 5);
        let request = RequestKey {
            client: ClientAddr(1),
            session: None,
        };
        for _ in 0..10 {
            assert_eq!(frontend.pick(&request).unwrap().server, ServerId(0));
        }
    }

    #[test]
    fn a_busy_server_coming_back_to_rotation_does_not_report_idle() {
        let mut frontend = Frontend::new(&BalancerSpec::new(Algorithm::JoinIdleQueue), 3, 1);
        add_idle(&mut frontend, 3);
        let request = RequestKey {
            client: ClientAddr(1),
            session: None,
        };
        let pick = |frontend: &mut Frontend| {
            let pick = frontend.pick(&request).expect("a pool");
            frontend.dispatched(pick);
            let queued = frontend.explain(&request, pick).compared == [(pick.server, 1.0)];
            (pick.server.0, queued)
        };
        // Server 0 takes a request from the idle queue, is ejected, and comes back busy;
        // server 1 comes back idle, at the tail of the queue.
        assert_eq!(pick(&mut frontend), (0, true));
        frontend.remove(ServerId(0));
        frontend.remove(ServerId(1));
        let back = |id| Backend {
            id: ServerId(id),
            name: "s",
            weight: 1,
        };
        frontend.add(back(0), false);
        frontend.add(back(1), true);
        assert_eq!(pick(&mut frontend), (2, true));
        assert_eq!(pick(&mut frontend), (1, true));
        // The queue is empty: server 0 was never in it. The next pick is drawn.
        assert!(!pick(&mut frontend).1);
        // When its worker frees, it reports.
        frontend.server_idle(ServerId(0));
        assert_eq!(pick(&mut frontend), (0, true));
    }

    /// Six servers, three in zone a (`wa-0`..) and three in zone b (`wb-0`..).
    const NAMES: [&str; 6] = ["wa-0", "wa-1", "wa-2", "wb-0", "wb-1", "wb-2"];

    /// `algorithm` over `instances` instances spread `spread`, or, `zoned`, one instance
    /// wrapped in zone-aware routing over zones a and b.
    fn frontend(algorithm: Algorithm, instances: u32, spread: Spread, zoned: bool) -> Frontend {
        use crate::model::spec::ServerGroupSpec;
        use crate::model::zone_aware::{ZoneAware, ZoneAwareSpec};
        let spec = BalancerSpec {
            max_connections: Some(2),
            instances: if zoned { 1 } else { instances },
            spread,
            ..BalancerSpec::new(algorithm)
        };
        let mut frontend = Frontend::new(&spec, 6, 7);
        if zoned {
            let groups = ["a", "b"].map(|zone| ServerGroupSpec {
                zone: zone.into(),
                ..ServerGroupSpec::new(&format!("w{zone}"), 3)
            });
            let zones = ZoneAwareSpec {
                client_zones: vec![("a".into(), 500_000), ("b".into(), 500_000)],
                // Low enough that routing goes by zone with a few servers in rotation.
                min_cluster_size: 2,
            };
            frontend.route_by_zone(|all| Box::new(ZoneAware::new(&zones, &groups, &spec, all, 7)));
        }
        frontend
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// A request from this client is picked for and dispatched.
        Arrive(u32),
        /// The `n`-th open request (modulo) ends, answered or not.
        End(usize, bool),
        /// Server `n` leaves rotation (failed checks, an ejection, the end of a panic).
        Out(usize),
        /// Server `n` enters rotation, for the first time or again, idle or busy.
        In(usize, bool),
        /// Server `n` reports idle.
        Idle(usize),
        /// Server `n`'s weight changes (slow start).
        Weigh(usize, u32),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..50u32).prop_map(Op::Arrive),
            4 => (any::<usize>(), prop::bool::weighted(0.8)).prop_map(|(n, ok)| Op::End(n, ok)),
            1 => (0..6usize).prop_map(Op::Out),
            2 => (0..6usize, any::<bool>()).prop_map(|(n, idle)| Op::In(n, idle)),
            1 => (0..6usize).prop_map(Op::Idle),
            1 => (0..6usize, 1..4u32).prop_map(|(n, weight)| Op::Weigh(n, weight)),
        ]
    }

    /// Whether `algorithm` counts each server's open requests.
    fn counts(algorithm: Algorithm) -> bool {
        matches!(
            algorithm,
            Algorithm::LeastConnections
                | Algorithm::LeastResponseTime
                | Algorithm::LeastResponseTimeNaive
                | Algorithm::PowerOfTwoChoices
                | Algorithm::LeastRequest
                | Algorithm::First
                | Algorithm::ConsistentHashBounded
        )
    }

    proptest! {
        /// Whatever servers leave rotation and come back, with requests open or not, each
        /// instance of every algorithm that counts holds, for every server, exactly the
        /// requests it dispatched there that have not ended; picks are in rotation.
        #[test]
        fn every_instance_counts_exactly_its_open_requests_across_rotation_changes(
            algorithm in prop::sample::select(Algorithm::ALL.to_vec()),
            instances in 1..4u32,
            spread in prop::sample::select(Spread::ALL.to_vec()),
            zoned in any::<bool>(),
            ops in prop::collection::vec(op(), 0..200),
        ) {
            let mut frontend = frontend(algorithm, instances, spread, zoned);
            let mut open: Vec<Pick> = Vec::new();
            let mut joined = [false; 6];
            for op in ops {
                match op {
                    Op::Arrive(client) => {
                        let request = RequestKey { client: ClientAddr(client), session: None };
                        if let Some(pick) = frontend.pick(&request) {
                            prop_assert!(frontend.is_in_rotation(pick.server));
                            frontend.dispatched(pick);
                            open.push(pick);
                        }
                    }
                    Op::End(n, ok) if !open.is_empty() => {
                        let pick = open.swap_remove(n % open.len());
                        let elapsed = SimDuration::from_millis(n as u64 % 50);
                        frontend.finished(pick.instance, pick.server, elapsed, ok);
                    }
                    Op::End(..) => {}
                    Op::Out(n) => frontend.remove(ServerId(n as u32)),
                    Op::In(n, idle) => {
                        joined[n] = true;
                        let backend = Backend { id: ServerId(n as u32), name: NAMES[n], weight: 1 };
                        frontend.add(backend, idle);
                    }
                    Op::Idle(n) => frontend.server_idle(ServerId(n as u32)),
                    Op::Weigh(n, weight) => frontend.set_weight(ServerId(n as u32), weight),
                }
                for (instance, balancer) in frontend.instances.iter().enumerate() {
                    for server in (0..6u32).map(ServerId).filter(|s| joined[s.index()]) {
                        let expected = open
                            .iter()
                            .filter(|p| usize::from(p.instance) == instance && p.server == server)
                            .count() as u32;
                        let counted = balancer.open_requests(server);
                        prop_assert_eq!(
                            counted,
                            counts(algorithm).then_some(expected),
                            "instance {}, {:?}", instance, server
                        );
                    }
                }
            }
        }
    }
}
