//! Least request, as Envoy's `LEAST_REQUEST` runs it
//! (`source/extensions/load_balancing_policies/least_request/least_request_lb.cc`).
//!
//! With all weights equal (Envoy's `N_CHOICES`): `choice_count` servers are drawn at
//! random (default 2) and the one with the fewest active requests wins; on a tie the
//! earlier draw stays, as Envoy replaces its candidate only on strictly fewer. Envoy draws
//! with replacement (`random() % hosts`), so it sometimes compares a host with itself;
//! here the draws are distinct (a partial Fisher–Yates shuffle of the pool's order, one
//! `random_range(i..len)` per draw), which changes nothing measurable for two draws among
//! many servers and makes `choice_count` ≥ the pool size an exact full scan (least
//! connections with random ties). Cost: O(choice_count) per pick.
//!
//! With unequal weights (Envoy's `EdfLoadBalancerBase`): an earliest-deadline-first
//! schedule. Each server holds a deadline; a pick takes the earliest (ties: the earlier
//! entry, Envoy's `order_offset`), moves the schedule's clock to it, and puts the server
//! back at `clock + 1 / w'` with `w' = weight / (active + 1)^active_request_bias`, its
//! active requests counted at that moment (Envoy's `pickAndAdd` with `hostWeight`). A busy
//! server is thus rescheduled further out, in proportion to its load, but never drained:
//! bias 0 is weighted round robin, bias 1 (the default) divides by `active + 1`. Envoy
//! rebuilds its schedule whenever the host set changes; here a joining server enters at
//! `clock + 1 / w'` and a leaving one is taken out, so a change does not reset everyone's
//! place. Cost: O(log n) per pick, join, leave and weight change; O(1) per dispatch and
//! finish (a server's deadline only moves when it is picked or re-weighed).
//!
//! A weight change keeps the server's active requests and its place in the entry order,
//! and scales the wait left before its deadline by old weight / new weight, so that it is
//! due from now on as its new weight says. Envoy leaves the entry where it is and uses the
//! new weight from the host's next pick on (`EdfLoadBalancerBase::refresh`: "this will only
//! be stale until this host is next picked"); the two differ only in when, within one
//! period of the old weight, the change takes hold. That period is longest for the weights
//! a slow start begins with, where Envoy's lag would hold each step of the ramp back.
//!
//! Active requests are the balancer's own count: `dispatched` adds one, `finished` takes
//! one away, for a server out of the pool too, so that one coming back is compared (and
//! scheduled) at the requests it still holds, as Envoy keeps a host's `rq_active` for the
//! host's life.

use rand::RngExt;

use super::indexed_heap::{FloatKey, IndexedHeap};
use super::pool::Pool;
use super::weights::{Census, effective};
use super::{Backend, Balancer, Explanation};
use crate::engine::{SimDuration, SimRng, prefetch};
use crate::id::{RequestKey, ServerId};

pub struct LeastRequest {
    pool: Pool,
    census: Census,
    /// Effective weight per `ServerId`.
    weights: Vec<u64>,
    /// Active requests per `ServerId`, counted in the pool and out of it.
    active: Vec<u32>,
    choice_count: usize,
    bias: f64,
    /// The EDF schedule: every member keyed by `(deadline, entry order)`.
    schedule: IndexedHeap<(FloatKey, u64)>,
    /// The schedule's clock: the deadline of the last pick.
    clock: f64,
    /// The next entry order.
    entries: u64,
    /// What the last pick compared, for `explain`: the candidates drawn, or the server the
    /// schedule gave with the deadline it was due at.
    compared: Vec<(ServerId, f64)>,
    scheduled: bool,
}

impl LeastRequest {
    /// `choice_count` of 0 counts as 1 and a negative or NaN bias as Envoy's 1.0 (Envoy
    /// warns and uses 1.0); validation rejects both.
    pub fn new(capacity: usize, choice_count: u32, active_request_bias: f64) -> Self {
        LeastRequest {
            pool: Pool::with_capacity(capacity),
            census: Census::default(),
            weights: Vec::with_capacity(capacity),
            active: Vec::with_capacity(capacity),
            choice_count: choice_count.max(1) as usize,
            bias: if active_request_bias >= 0.0 {
                active_request_bias
            } else {
                1.0
            },
            schedule: IndexedHeap::with_capacity(capacity),
            clock: 0.0,
            entries: 0,
            compared: Vec::with_capacity(choice_count.clamp(1, 64) as usize),
            scheduled: false,
        }
    }

    fn active(&self, server: ServerId) -> u32 {
        self.active.get(server.index()).copied().unwrap_or(0)
    }

    /// Envoy's `hostWeight`: `weight / (active + 1)^bias`.
    fn schedule_weight(&self, server: ServerId) -> f64 {
        let weight = self.weights[server.index()] as f64;
        let load = f64::from(self.active(server)) + 1.0;
        if self.bias == 1.0 {
            weight / load
        } else if self.bias == 0.0 {
            weight
        } else {
            weight / load.powf(self.bias)
        }
    }

    /// Puts `server` in the schedule at `clock + 1 / w'`, after every entry already due
    /// then.
    fn schedule(&mut self, server: ServerId) {
        let deadline = self.clock + 1.0 / self.schedule_weight(server);
        self.entries += 1;
        self.schedule
            .insert(server, (FloatKey(deadline), self.entries));
    }

    fn pick_drawn(&mut self, rng: &mut SimRng) -> ServerId {
        let len = self.pool.len();
        let draws = self.choice_count.min(len);
        self.compared.clear();
        let mut best = None;
        for i in 0..draws {
            let j = rng.random_range(i..len);
            self.pool.swap(i, j);
            let server = self.pool.get(i);
            let active = self.active(server);
            self.compared.push((server, f64::from(active)));
            if best.is_none_or(|(_, least)| active < least) {
                best = Some((server, active));
            }
        }
        best.map(|(server, _)| server).expect("at least one draw")
    }

    fn pick_scheduled(&mut self) -> Option<ServerId> {
        let (server, (FloatKey(deadline), _)) = self.schedule.peek()?;
        self.clock = deadline;
        self.schedule(server);
        self.compared.clear();
        self.compared.push((server, deadline));
        Some(server)
    }
}

impl Balancer for LeastRequest {
    fn add(&mut self, backend: Backend<'_>) {
        let id = backend.id;
        if self.pool.contains(id) {
            return;
        }
        if self.weights.len() <= id.index() {
            self.weights.resize(id.index() + 1, 0);
            self.active.resize(id.index() + 1, 0);
        }
        let weight = effective(backend.weight);
        self.weights[id.index()] = weight;
        self.pool.insert(id);
        self.census.add(weight);
        self.schedule(id);
    }

    fn remove(&mut self, server: ServerId) {
        if !self.pool.contains(server) {
            return;
        }
        self.pool.remove(server);
        self.census.remove(self.weights[server.index()]);
        self.schedule.remove(server);
    }

    fn set_weight(&mut self, server: ServerId, weight: u32) {
        let weight = effective(weight);
        if !self.pool.contains(server) || self.weights[server.index()] == weight {
            return;
        }
        let old = self.weights[server.index()];
        self.census.remove(old);
        self.census.add(weight);
        self.weights[server.index()] = weight;
        let (FloatKey(deadline), order) = self
            .schedule
            .key(server)
            .expect("every member is in the schedule");
        // Every deadline is at or after the clock, the earliest deadline picked last.
        let left = (deadline - self.clock) * (old as f64 / weight as f64);
        self.schedule
            .update(server, (FloatKey(self.clock + left), order));
    }

    fn pick(&mut self, _request: &RequestKey, rng: &mut SimRng) -> Option<ServerId> {
        if self.pool.is_empty() {
            return None;
        }
        self.scheduled = !self.census.uniform();
        if self.scheduled {
            self.pick_scheduled()
        } else {
            Some(self.pick_drawn(rng))
        }
    }

    fn dispatched(&mut self, server: ServerId) {
        if let Some(count) = self.active.get_mut(server.index()) {
            *count += 1;
        }
    }

    fn prefetch_server(&self, server: ServerId) {
        prefetch(self.active.as_ptr().wrapping_add(server.index()));
    }

    fn finished(&mut self, server: ServerId, _elapsed: SimDuration, _succeeded: bool) {
        if let Some(count) = self.active.get_mut(server.index()) {
            *count = count.saturating_sub(1);
        }
    }

    /// With equal weights, the servers drawn, in draw order, with their active requests;
    /// with unequal ones, the server the schedule gave and the deadline it was due at.
    fn explain(&self, _request: &RequestKey, _picked: ServerId) -> Explanation {
        Explanation {
            measure: if self.scheduled {
                "EDF deadline"
            } else {
                "active requests"
            },
            compared: self.compared.clone(),
            hash: None,
        }
    }

    #[cfg(test)]
    fn open_requests(&self, server: ServerId) -> Option<u32> {
        Some(self.active(server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::balancer::LeastConnections;
    use crate::balancer::testing::KEY;
    use crate::engine::stream;

    fn balancer(weights: &[u32], choices: u32, bias: f64) -> LeastRequest {
        crate::balancer::testing::weighted(LeastRequest::new(weights.len(), choices, bias), weights)
    }

    #[test]
    fn choosing_among_every_server_is_least_connections() {
        let mut balancer = balancer(&[1; 6], 6, 1.0);
        let mut reference = crate::balancer::testing::filled(LeastConnections::with_capacity(6), 6);
        let mut rng = stream(21, 0, 0);
        let mut open: Vec<ServerId> = Vec::new();
        for step in 0..3_000u32 {
            // Finish a pseudo-random open request two times in five.
            if step % 5 < 2 && !open.is_empty() {
                let server = open.swap_remove((step as usize * 7) % open.len());
                balancer.finished(server, SimDuration::ZERO, true);
                reference.finished(server, SimDuration::ZERO, true);
            }
            let picked = balancer.pick(&KEY, &mut rng).unwrap();
            let least = reference.pick(&KEY, &mut rng).unwrap();
            // Ties are broken differently (draw order, not FIFO): the loads must agree.
            assert_eq!(
                balancer.active(picked),
                balancer.active(least),
                "step {step}"
            );
            balancer.dispatched(picked);
            reference.dispatched(picked);
            open.push(picked);
        }
    }

    #[test]
    fn two_choices_never_take_the_busier_and_ties_keep_the_first_draw() {
        let loads = [4, 0, 2, 2, 7];
        let mut balancer = balancer(&[1; 5], 2, 1.0);
        for (id, &load) in loads.iter().enumerate() {
            for _ in 0..load {
                balancer.dispatched(ServerId(id as u32));
            }
        }
        let mut rng = stream(22, 0, 0);
        for _ in 0..2_000 {
            let picked = balancer.pick(&KEY, &mut rng).unwrap();
            let drawn = balancer.explain(&KEY, picked).compared;
            assert_eq!(drawn.len(), 2);
            assert_ne!(drawn[0].0, drawn[1].0, "draws are distinct");
            let expected = if drawn[1].1 < drawn[0].1 {
                drawn[1].0
            } else {
                drawn[0].0
            };
            assert_eq!(picked, expected);
            assert_eq!(drawn[0].1, f64::from(loads[drawn[0].0.index()]));
        }
    }

    #[test]
    fn unequal_weights_follow_an_edf_schedule_scaled_by_active_requests() {
        // No request ever stays open: the schedule is weighted round robin, 1 : 3.
        let mut balancer = balancer(&[1, 3], 2, 1.0);
        let mut rng = stream(23, 0, 0);
        let mut counts = [0u32; 2];
        for _ in 0..400 {
            counts[balancer.pick(&KEY, &mut rng).unwrap().index()] += 1;
        }
        // Deadlines are sums of floats: allow one pick either way at the boundary.
        assert!(counts[0].abs_diff(100) <= 1, "{counts:?}");
        // Server 1 holds 5 requests: at pick time its weight is 3 / 6 = 0.5, so once the
        // schedule has settled it is due every 2 units against server 0's every 1.
        for _ in 0..5 {
            balancer.dispatched(ServerId(1));
        }
        let mut counts = [0u32; 2];
        for _ in 0..300 {
            counts[balancer.pick(&KEY, &mut rng).unwrap().index()] += 1;
        }
        assert!(counts[0].abs_diff(200) <= 2, "{counts:?}");
        assert_eq!(balancer.explain(&KEY, ServerId(0)).measure, "EDF deadline");
    }

    #[test]
    fn a_bias_of_zero_ignores_load_and_a_larger_bias_sheds_more() {
        let share_of_busy = |bias: f64| {
            let mut balancer = balancer(&[2, 3], 2, bias);
            for _ in 0..3 {
                balancer.dispatched(ServerId(1));
            }
            let mut rng = stream(24, 0, 0);
            (0..1_000)
                .filter(|_| balancer.pick(&KEY, &mut rng) == Some(ServerId(1)))
                .count()
        };
        // Bias 0: weights 2 : 3, 600 of 1000. Bias 1: 2 : 3/4, ~273. Bias 2: 2 : 3/16, ~86.
        assert!(share_of_busy(0.0).abs_diff(600) <= 2);
        assert!(share_of_busy(1.0).abs_diff(273) <= 3);
        assert!(share_of_busy(2.0).abs_diff(86) <= 3);
    }

    #[test]
    fn after_a_weight_change_the_schedule_follows_the_new_weights() {
        fn count(balancer: &mut LeastRequest, rng: &mut SimRng, picks: usize) -> [u32; 4] {
            let mut counts = [0u32; 4];
            for _ in 0..picks {
                counts[balancer.pick(&KEY, rng).unwrap().index()] += 1;
            }
            counts
        }
        let mut balancer = balancer(&[100, 100, 100, 100], 2, 1.0);
        let mut rng = stream(26, 0, 0);
        // Unequal weights turn the schedule on; no request stays open, so it is weighted
        // round robin, exact but for a pick either way at the ends (float deadlines).
        balancer.set_weight(ServerId(3), 1);
        let counts = count(&mut balancer, &mut rng, 3_010);
        assert!(counts[3].abs_diff(10) <= 1, "{counts:?}");
        // Just after server 3 is picked it waits a whole period of weight 1, a hundred of
        // the others' periods. Raised to 300, what is left of that wait shrinks 300-fold:
        // it is due within the next round of the four, not ~300 picks later as the stale
        // deadline would be.
        while balancer.pick(&KEY, &mut rng) != Some(ServerId(3)) {}
        balancer.set_weight(ServerId(3), 100);
        assert!(balancer.census.uniform());
        balancer.set_weight(ServerId(3), 300);
        let first = (0..5).position(|_| balancer.pick(&KEY, &mut rng) == Some(ServerId(3)));
        assert!(first.is_some(), "server 3 is not picked within 5 picks");
        let counts = count(&mut balancer, &mut rng, 6_000);
        for (count, expected) in counts.iter().zip([1_000, 1_000, 1_000, 3_000]) {
            assert!(count.abs_diff(expected) <= 2, "{counts:?}");
        }
    }

    #[test]
    fn a_weight_change_keeps_the_active_requests() {
        let mut balancer = balancer(&[100, 100, 100], 3, 1.0);
        for _ in 0..4 {
            balancer.dispatched(ServerId(0));
        }
        balancer.dispatched(ServerId(1));
        balancer.set_weight(ServerId(0), 200);
        balancer.set_weight(ServerId(0), 100);
        assert_eq!(balancer.active(ServerId(0)), 4);
        // Equal weights again: three choices among three compare active requests, and
        // server 0 is still the busiest.
        let mut rng = stream(27, 0, 0);
        for _ in 0..100 {
            assert_eq!(balancer.pick(&KEY, &mut rng), Some(ServerId(2)));
        }
    }

    #[test]
    fn removed_servers_leave_the_draws_and_the_schedule() {
        for weights in [[1, 1, 1], [1, 2, 3]] {
            let mut balancer = balancer(&weights, 2, 1.0);
            balancer.remove(ServerId(1));
            let mut rng = stream(25, 0, 0);
            for _ in 0..500 {
                assert_ne!(balancer.pick(&KEY, &mut rng), Some(ServerId(1)));
            }
            balancer.remove(ServerId(0));
            balancer.remove(ServerId(2));
            assert_eq!(balancer.pick(&KEY, &mut rng), None);
        }
    }
}
