//! Zone-aware routing in the balancer: clients carry zones, and a request goes to a server
//! of its client's zone while that zone has the healthy capacity for it, spilling over by
//! the share of healthy hosts — Envoy's zone-aware load balancing, whose computation is
//! [`ZoneRouting`].
//!
//! As Envoy keeps a host set per locality, each zone has a pool of its own: an instance of
//! the scenario's algorithm holding the zone's servers in rotation. A request first draws
//! its zone (Envoy's `tryChooseLocalLocalityHosts`), then that zone's pool picks the
//! server; when routing is off (too few healthy hosts, a single zone, no healthy local
//! host, panic) the pool of every server picks, as Envoy then balances over all hosts.
//! Every pool is told of every dispatch and completion of its servers, so a zone's
//! least-connections sees the same connection counts as the pool of all, and a server one
//! join-idle-queue pool gives leaves the other's idle queue.
//!
//! The callers are the clients: a client address belongs to a zone by a hash of the
//! address against the zones' shares, so replayed and generated traffic alike are placed,
//! and the shares of callers per zone are those shares (Envoy counts the hosts of the
//! calling cluster per zone; only their shares enter its computation).

use crate::balancer::{Backend, Balancer, BalancerSpec, Explanation};
use crate::engine::{SimDuration, SimRng, SimTime, stream};
use crate::hash::{fmix64, hash_addr};
use crate::id::{ClientAddr, RequestKey, ServerId};

use super::spec::ServerGroupSpec;
use super::streams;
use super::zone_routing::ZoneRouting;

/// Millionths: the unit of the clients' shares.
const MILLION: u64 = 1_000_000;

/// `workload.client_zones` and `balancer.min_cluster_size`, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ZoneAwareSpec {
    /// Each zone the clients are in and its share of them, in millionths summing to a
    /// million, sorted by zone name.
    pub client_zones: Vec<(String, u64)>,
    /// Below this many healthy servers, routing ignores zones (Envoy's
    /// `min_cluster_size`, 6 by default).
    pub min_cluster_size: u64,
}

/// Zone-aware routing as a [`Balancer`]: it wraps the scenario's algorithm over every
/// server and keeps an instance of it per zone, so the frontend calls it as any algorithm
/// and a run without zones does not know it exists.
pub struct ZoneAware {
    /// The algorithm over every server in rotation: it picks when routing ignores zones.
    all: Box<dyn Balancer>,
    /// Per zone: the algorithm over the zone's servers in rotation.
    pools: Vec<Box<dyn Balancer>>,
    /// Each server group's name and its zone's index.
    group_zones: Vec<(String, usize)>,
    /// Per server: its zone's index.
    server_zone: Vec<usize>,
    /// Per zone: its callers' share, in millionths (zero for a zone with servers only).
    callers: Vec<u64>,
    /// Cumulative caller shares, ending at a million, with the zone each bound closes.
    client_bounds: Vec<(u64, usize)>,
    /// Per zone: its servers in rotation.
    healthy: Vec<u64>,
    /// Per caller zone: how its requests are routed now.
    routing: Vec<ZoneRouting>,
    rng: SimRng,
    min_cluster_size: u64,
    /// The balancer's panic: Envoy then routes over every host, not by zone.
    panic: bool,
    /// The zone of the last pick, when it was made by zone: for `explain`.
    last_zone: Option<usize>,
}

impl ZoneAware {
    /// Zone-aware routing for `spec` over the server groups `groups`, around `all` (the
    /// scenario's algorithm over every server), balancing within a zone with
    /// `balancer`'s algorithm.
    pub fn new(
        spec: &ZoneAwareSpec,
        groups: &[ServerGroupSpec],
        balancer: &BalancerSpec,
        all: Box<dyn Balancer>,
        seed: u64,
    ) -> Self {
        let mut zones: Vec<&str> = groups
            .iter()
            .map(|g| g.zone.as_str())
            .chain(spec.client_zones.iter().map(|(zone, _)| zone.as_str()))
            .collect();
        zones.sort_unstable();
        zones.dedup();
        let index = |zone: &str| zones.binary_search(&zone).expect("a listed zone");
        let mut callers = vec![0; zones.len()];
        let mut client_bounds = Vec::with_capacity(spec.client_zones.len());
        let mut bound = 0;
        for (zone, share) in &spec.client_zones {
            callers[index(zone)] = *share;
            bound += share;
            client_bounds.push((bound, index(zone)));
        }
        let servers = groups.iter().map(|g| g.count as usize).sum();
        ZoneAware {
            all,
            pools: zones.iter().map(|_| balancer.build(servers)).collect(),
            group_zones: groups
                .iter()
                .map(|g| (g.name.clone(), index(&g.zone)))
                .collect(),
            server_zone: Vec::with_capacity(servers),
            healthy: vec![0; zones.len()],
            routing: vec![ZoneRouting::Off; zones.len()],
            callers,
            client_bounds,
            rng: stream(seed, streams::ZONE_ROUTING, 0),
            min_cluster_size: spec.min_cluster_size,
            panic: false,
            last_zone: None,
        }
    }

    /// The zone a client is in.
    pub fn client_zone(&self, client: ClientAddr) -> usize {
        // Mixed once more, so that the zone is independent of the hash that client-hash
        // spreading and ip-hash use.
        let point = fmix64(hash_addr(client) ^ 0x5a6f_6e65) % MILLION;
        // The last bound is a million, so some bound is above the point.
        self.client_bounds
            .iter()
            .find(|&&(bound, _)| point < bound)
            .map_or(0, |&(_, zone)| zone)
    }

    /// The zone of a server joining the pool, from its group, which its instance name
    /// (`<group>-<index>`) gives.
    fn zone_of_backend(&self, backend: &Backend<'_>) -> usize {
        let group = backend
            .name
            .rsplit_once('-')
            .map_or(backend.name, |(group, _)| group);
        self.group_zones
            .iter()
            .find(|(name, _)| name == group)
            .map(|&(_, zone)| zone)
            .expect("a server is named after its group")
    }

    fn zone_of(&self, server: ServerId) -> usize {
        self.server_zone[server.index()]
    }

    /// How the callers of zone `zone` are routed now.
    #[cfg(test)]
    pub fn routing(&self, zone: usize) -> &ZoneRouting {
        &self.routing[zone]
    }

    /// Envoy regenerates its routing structures whenever a host set changes; so here.
    fn recompute(&mut self) {
        for zone in 0..self.routing.len() {
            self.routing[zone] = if self.panic || self.callers[zone] == 0 {
                ZoneRouting::Off
            } else {
                ZoneRouting::compute(zone, &self.callers, &self.healthy, self.min_cluster_size)
            };
        }
    }
}

impl Balancer for ZoneAware {
    fn add(&mut self, backend: Backend<'_>) {
        let zone = self.zone_of_backend(&backend);
        let index = backend.id.index();
        if self.server_zone.len() <= index {
            self.server_zone.resize(index + 1, 0);
        }
        self.server_zone[index] = zone;
        self.all.add(backend);
        self.pools[zone].add(backend);
        self.healthy[zone] += 1;
        self.recompute();
    }

    fn remove(&mut self, server: ServerId) {
        let zone = self.zone_of(server);
        self.all.remove(server);
        self.pools[zone].remove(server);
        self.healthy[zone] -= 1;
        self.recompute();
    }

    /// Both pools holding the server re-weigh it; the zones' healthy counts, which are
    /// counts of hosts as Envoy's are, do not change.
    fn set_weight(&mut self, server: ServerId, weight: u32) {
        let zone = self.zone_of(server);
        self.all.set_weight(server, weight);
        self.pools[zone].set_weight(server, weight);
    }

    fn set_panic(&mut self, panic: bool) {
        if self.panic != panic {
            self.panic = panic;
            self.recompute();
        }
    }

    fn tick(&mut self, now: SimTime) {
        self.all.tick(now);
        for pool in &mut self.pools {
            pool.tick(now);
        }
    }

    fn wants_ticks(&self) -> bool {
        self.all.wants_ticks()
    }

    /// The zone first (Envoy's `tryChooseLocalLocalityHosts`), then the zone's pool; the
    /// pool of every server when routing ignores zones for the client's zone.
    fn pick(&mut self, request: &RequestKey, rng: &mut SimRng) -> Option<ServerId> {
        let zone = self.client_zone(request.client);
        self.last_zone = self.routing[zone].pick(&mut self.rng);
        match self.last_zone {
            Some(target) => self.pools[target].pick(request, rng),
            None => self.all.pick(request, rng),
        }
    }

    /// A reselection chooses the zone afresh, as Envoy's `chooseHostOnce` does each time.
    fn pick_again(
        &mut self,
        request: &RequestKey,
        rng: &mut SimRng,
        attempt: u32,
    ) -> Option<ServerId> {
        let zone = self.client_zone(request.client);
        self.last_zone = self.routing[zone].pick(&mut self.rng);
        match self.last_zone {
            Some(target) => self.pools[target].pick_again(request, rng, attempt),
            None => self.all.pick_again(request, rng, attempt),
        }
    }

    fn wants_prefetch(&self) -> bool {
        self.all.wants_prefetch()
    }

    fn prefetch(&self, request: &RequestKey) {
        self.all.prefetch(request);
    }

    fn prefetch_server(&self, server: ServerId) {
        self.all.prefetch_server(server);
        if let Some(&zone) = self.server_zone.get(server.index()) {
            self.pools[zone].prefetch_server(server);
        }
    }

    fn dispatched(&mut self, server: ServerId) {
        let zone = self.zone_of(server);
        self.all.dispatched(server);
        self.pools[zone].dispatched(server);
    }

    fn finished(&mut self, server: ServerId, elapsed: SimDuration, succeeded: bool) {
        let zone = self.zone_of(server);
        self.all.finished(server, elapsed, succeeded);
        self.pools[zone].finished(server, elapsed, succeeded);
    }

    fn route(&mut self, request: &RequestKey) -> Option<ServerId> {
        self.all.route(request)
    }

    fn wants_idle_reports(&self) -> bool {
        self.all.wants_idle_reports()
    }

    /// Both pools queue it; the dispatch of the request either gives it takes it out of
    /// both.
    fn server_idle(&mut self, server: ServerId) {
        let zone = self.zone_of(server);
        self.all.server_idle(server);
        self.pools[zone].server_idle(server);
    }

    fn explain(&self, request: &RequestKey, picked: ServerId) -> Explanation {
        match self.last_zone {
            Some(zone) => self.pools[zone].explain(request, picked),
            None => self.all.explain(request, picked),
        }
    }

    /// The pool of all's count, which the server's zone pool must share.
    #[cfg(test)]
    fn open_requests(&self, server: ServerId) -> Option<u32> {
        let all = self.all.open_requests(server);
        if let Some(&zone) = self.server_zone.get(server.index()) {
            assert_eq!(self.pools[zone].open_requests(server), all, "{server:?}");
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::Algorithm;
    use crate::engine::SimDuration;
    use crate::model::clients::ClientPopulation;

    fn zone_aware(a: u32, b: u32) -> ZoneAware {
        zone_aware_with(Algorithm::RoundRobin, a, b)
    }

    /// `a` servers in zone a and `b` in zone b (ids 0.. then a..), each of weight 1,
    /// balanced within a zone by `algorithm`; clients half in each zone.
    fn zone_aware_with(algorithm: Algorithm, a: u32, b: u32) -> ZoneAware {
        let groups = [
            ServerGroupSpec {
                zone: "a".into(),
                ..ServerGroupSpec::new("wa", a)
            },
            ServerGroupSpec {
                zone: "b".into(),
                ..ServerGroupSpec::new("wb", b)
            },
        ];
        let spec = ZoneAwareSpec {
            client_zones: vec![("a".into(), 500_000), ("b".into(), 500_000)],
            min_cluster_size: 6,
        };
        let balancer = BalancerSpec::new(algorithm);
        let mut zones = ZoneAware::new(&spec, &groups, &balancer, balancer.build(8), 1);
        for id in 0..a + b {
            let name = if id < a {
                format!("wa-{id}")
            } else {
                format!("wb-{}", id - a)
            };
            zones.add(Backend {
                id: ServerId(id),
                name: &name,
                weight: 1,
            });
        }
        zones
    }

    #[test]
    fn clients_are_spread_over_zones_by_their_shares() {
        let zones = zone_aware(3, 3);
        let n = 100_000;
        let in_a = (0..n)
            .filter(|&i| zones.client_zone(ClientPopulation::address(i)) == 0)
            .count();
        // Hashing behaves as a fair coin: standard error sqrt(0.25 / 100000) = 0.0016;
        // five of them 0.008.
        let share = in_a as f64 / f64::from(n);
        assert!((share - 0.5).abs() < 0.008, "{share}");
    }

    /// Records, per request, its client and the server picked.
    #[derive(Default)]
    struct Picks {
        clients: std::collections::BTreeMap<crate::model::RequestId, ClientAddr>,
        picks: Vec<(ClientAddr, ServerId)>,
    }

    impl crate::model::Observer for Picks {
        fn observe(&mut self, _now: SimTime, event: crate::model::Observed<'_>) {
            match event {
                crate::model::Observed::Arrived {
                    request, client, ..
                } => {
                    self.clients.insert(request, client);
                }
                crate::model::Observed::Picked {
                    request, server, ..
                } => self.picks.push((self.clients[&request], server)),
                _ => {}
            }
        }
    }

    /// A run of `a` servers in zone a and `b` in zone b (ids 0.. then a..), clients half
    /// in each zone: for each client zone, the share of its requests kept in that zone.
    fn local_shares(a: u32, b: u32) -> [f64; 2] {
        use crate::model::{
            ArrivalPattern, GeneratedWorkload, RateSchedule, RunSpec, ServiceDist, WorkloadSpec,
        };
        let groups = vec![
            ServerGroupSpec {
                zone: "a".into(),
                ..ServerGroupSpec::new("wa", a)
            },
            ServerGroupSpec {
                zone: "b".into(),
                ..ServerGroupSpec::new("wb", b)
            },
        ];
        let spec = ZoneAwareSpec {
            client_zones: vec![("a".into(), 500_000), ("b".into(), 500_000)],
            min_cluster_size: 6,
        };
        let balancer = BalancerSpec::new(Algorithm::LeastConnections);
        let zones = ZoneAware::new(&spec, &groups, &balancer, balancer.build(1), 1);
        let run = RunSpec {
            zone_aware: Some(spec),
            sample_interval: None,
            ..RunSpec::new(
                SimDuration::from_secs(100),
                WorkloadSpec::Generated(GeneratedWorkload {
                    rate: RateSchedule::constant(400.0),
                    arrivals: ArrivalPattern::Poisson,
                    service: ServiceDist::Exponential {
                        mean: SimDuration::from_millis(5),
                    },
                    clients: 1000,
                }),
                groups,
                balancer,
            )
        };
        let mut picks = Picks::default();
        let result = crate::model::simulate_observed(&run, 3, &mut picks);
        assert!(result.counts.is_conserved());
        let mut local = [0u32; 2];
        let mut total = [0u32; 2];
        for &(client, server) in &picks.picks {
            let client_zone = zones.client_zone(client);
            let server_zone = usize::from(server.0 >= a);
            total[client_zone] += 1;
            local[client_zone] += u32::from(client_zone == server_zone);
        }
        [0, 1].map(|z| f64::from(local[z]) / f64::from(total[z]))
    }

    #[test]
    fn balanced_healthy_zones_keep_every_request_local() {
        assert_eq!(local_shares(3, 3), [1.0, 1.0]);
    }

    #[test]
    fn a_zone_short_of_hosts_keeps_envoys_share_local_and_spills_the_rest() {
        // Zone a has 2 of 6 hosts (3333 bp) for half the callers (5000 bp): Envoy keeps
        // 3333 × 10000 / 5000 = 6666 bp of them local. Zone b has more than its share and
        // keeps all. About 20,000 requests come from zone a: the binomial standard error
        // is sqrt(0.667 × 0.333 / 20000) = 0.0033; five of them 0.017.
        let [a, b] = local_shares(2, 4);
        assert!((a - 0.6666).abs() < 0.017, "{a}");
        assert_eq!(b, 1.0);
    }

    #[test]
    fn a_weight_change_reaches_the_zone_pool_and_the_pool_of_all() {
        let mut zones = zone_aware_with(Algorithm::WeightedRoundRobin, 3, 3);
        zones.set_weight(ServerId(0), 4);
        let client = (0..)
            .map(ClientPopulation::address)
            .find(|&c| zones.client_zone(c) == 0)
            .expect("some client in zone a");
        let request = RequestKey {
            client,
            session: None,
        };
        let mut rng = stream(1, 0, 0);
        let mut shares = |zones: &mut ZoneAware, picks: usize| {
            let mut counts = [0usize; 6];
            for _ in 0..picks {
                counts[zones.pick(&request, &mut rng).unwrap().index()] += 1;
            }
            counts
        };
        // Routed within zone a (weights 4, 1, 1): smooth WRR is exact per cycle of 6.
        assert_eq!(zones.routing(0), &ZoneRouting::Direct { local: 0 });
        assert_eq!(shares(&mut zones, 60), [40, 10, 10, 0, 0, 0]);
        // In panic the pool of all picks (weights 4, 1, 1, 1, 1, 1): cycles of 9.
        zones.set_panic(true);
        assert_eq!(shares(&mut zones, 90), [40, 10, 10, 10, 10, 10]);
    }

    #[test]
    fn a_server_picked_from_one_pools_idle_queue_leaves_the_others() {
        let mut zones = zone_aware_with(Algorithm::JoinIdleQueue, 3, 3);
        for id in 0..6 {
            zones.server_idle(ServerId(id));
        }
        let client_in = |zone| {
            let client = (0..)
                .map(ClientPopulation::address)
                .find(|&c| zones.client_zone(c) == zone)
                .expect("a client in the zone");
            RequestKey {
                client,
                session: None,
            }
        };
        let (a, b) = (client_in(0), client_in(1));
        let mut rng = stream(1, 0, 0);
        let mut send = |zones: &mut ZoneAware, request: &RequestKey| {
            let server = zones.pick(request, &mut rng).expect("a pool");
            zones.dispatched(server);
            let queued = zones.explain(request, server).compared == [(server, 1.0)];
            (server.0, queued)
        };
        // Zone a's queue gives server 0, which leaves the queue of all too: in panic, the
        // pool of all gives the other five, not server 0 again.
        assert_eq!(send(&mut zones, &a), (0, true));
        zones.set_panic(true);
        let picks: Vec<(u32, bool)> = (0..5).map(|_| send(&mut zones, &a)).collect();
        assert_eq!(picks, [1, 2, 3, 4, 5].map(|id| (id, true)));
        // Server 3 idles again and is taken from the queue of all: zone b's queue, which
        // it had joined too, no longer holds it, and a pick there is drawn.
        zones.server_idle(ServerId(3));
        assert_eq!(send(&mut zones, &b), (3, true));
        zones.set_panic(false);
        assert!(!send(&mut zones, &b).1);
    }

    #[test]
    fn routing_follows_the_healthy_hosts_per_zone() {
        let mut zones = zone_aware(4, 4);
        assert_eq!(zones.routing(0), &ZoneRouting::Direct { local: 0 });
        zones.remove(ServerId(0));
        // Zone a has 3 of 7 healthy hosts (4285 bp) for half the callers (5000 bp):
        // 4285 × 10000 / 5000 = 8570 bp stay local; zone b has 5714 − 5000 to spare.
        assert_eq!(
            zones.routing(0),
            &ZoneRouting::Residual {
                local: 0,
                local_share: 8570,
                residual: vec![0, 714],
            }
        );
        assert_eq!(zones.routing(1), &ZoneRouting::Direct { local: 1 });
        zones.set_panic(true);
        assert_eq!(zones.routing(0), &ZoneRouting::Off);
    }
}
