//! A request's way through the world: it arrives, the balancer picks, its server admits,
//! queues or refuses it, a worker serves it, and it is answered or fails. This is the hot
//! path of every run; the rarer ways a request may go (client calls, the second tiers and
//! the data tier, health probes) are out of line, in files of their own.

use super::{NO_SERVER, World, report_queued};
use crate::engine::SimDuration;
use crate::id::{RequestKey, ServerId};
use crate::model::affinity::Draining;
use crate::model::arrivals::Arrival;
use crate::model::client_calls::CallEnd;
use crate::model::database;
use crate::model::event::Event;
use crate::model::frontend::Pick;
use crate::model::observer::{Observed, Observer};
use crate::model::outcome::{FailReason, Outcome};
use crate::model::request::{Request, RequestId};
use crate::model::server::ServerState;
use crate::model::station::Admission;
use crate::stats::Figure;

impl<O: Observer> World<'_, O> {
    /// Schedules the next arrival and draws its client and work now (see
    /// [`Traffic`](crate::model::traffic::Traffic)).
    pub(super) fn schedule_next_arrival(&mut self) {
        self.next_arrival = self.traffic.draw_next();
        // Only a balancer that takes hints reads the request back: the read, right after
        // the draw's writes, would wait for them (a load spanning two stores is not
        // forwarded from them).
        if self.next_arrival.is_some() && self.frontend.wants_prefetch() {
            let arrival = self.traffic.arriving();
            self.frontend.prefetch(&RequestKey {
                client: arrival.client,
                session: arrival.session,
            });
        }
    }

    pub(super) fn on_arrival(&mut self) {
        // Every draw happens whatever the request's fate, so all variants of a scenario
        // see the same requests. Its fields are read one by one: the request whole, its
        // address lent out, would be copied with wide loads that wait for the draw's
        // narrower stores to reach the cache.
        let Arrival {
            client,
            session,
            work,
            ..
        } = self.traffic.arriving();
        let now = self.now;
        let measured = self.measurement.is_measured(now);
        self.measurement.arrived(measured);
        let key = RequestKey { client, session };
        let (id, pick) = self.new_attempt(&key, work, measured);
        if self.sessions.is_some() {
            self.session_sent();
        }
        if O::ACTIVE {
            self.observe(Observed::Arrived {
                request: id,
                client,
                work,
            });
        }
        if self.resilience.is_some() {
            self.call_started(id, key, work, measured, pick);
        }
        self.dispatch(id, &key, pick, measured);
        self.schedule_next_arrival();
    }

    /// A new attempt of a request from `key` with `work`, and the balancer's pick for it.
    #[inline(always)]
    pub(super) fn new_attempt(
        &mut self,
        key: &RequestKey,
        work: SimDuration,
        measured: bool,
    ) -> (RequestId, Result<Pick, FailReason>) {
        let pick = match self.affinity {
            None => self.frontend.pick(key).ok_or(FailReason::NoServer),
            Some(_) => self.route_by_affinity(key),
        };
        self.attempt_picked(work, measured, pick)
    }

    /// Attempt `pick` (with `work`) enters the request table.
    #[inline(always)]
    pub(super) fn attempt_picked(
        &mut self,
        work: SimDuration,
        measured: bool,
        pick: Result<Pick, FailReason>,
    ) -> (RequestId, Result<Pick, FailReason>) {
        let id = self.requests.insert(Request {
            arrived: self.now,
            work,
            server: pick.map_or(NO_SERVER, |p| p.server),
            started: self.now,
            hop: 0,
            balancer: pick.map_or(0, |p| p.instance),
            measured,
            probe: false,
        });
        (id, pick)
    }

    /// Sends attempt `id` where the balancer picked, or fails it if it found no server.
    #[inline(always)]
    pub(super) fn dispatch(
        &mut self,
        id: RequestId,
        key: &RequestKey,
        pick: Result<Pick, FailReason>,
        measured: bool,
    ) {
        match pick {
            Err(reason) => {
                self.requests.remove(id);
                self.attempt_failed(id, measured, Outcome::Failed(reason), None);
            }
            Ok(pick) => self.admit(id, key, pick, measured),
        }
    }

    /// Where cookie affinity sends `key`. Out of line, so that runs without affinity do
    /// not carry its code in their arrival path.
    #[inline(never)]
    fn route_by_affinity(&mut self, key: &RequestKey) -> Result<Pick, FailReason> {
        let cluster = &self.cluster;
        // Out of rotation yet serving: its pre-stop time or its drain.
        let leaving = |id| {
            let server = cluster.server(id);
            server.is_leaving() && server.is_serving()
        };
        match &mut self.affinity {
            Some(affinity) => affinity.route(self.now, key, &mut self.frontend, leaving),
            None => self.frontend.pick(key).ok_or(FailReason::NoServer),
        }
    }

    /// The request arriving now, of a session, is sent: its session starts with its first
    /// request and ends after its last. Out of line, as [`Self::route_by_affinity`].
    #[inline(never)]
    fn session_sent(&mut self) {
        let arrival = self.traffic.arriving();
        if let (Some(sessions), Some(session)) = (&mut self.sessions, arrival.session) {
            sessions.sent(session, arrival.client, arrival.ends_session);
        }
    }

    /// Offers request `id`, picked for `pick.server`, to that server.
    // Inlined into its two callers (arrivals and retries), as it was into its one before
    // retries existed: out of line it costs every run about 2% more instructions.
    #[inline(always)]
    pub(super) fn admit(&mut self, id: RequestId, key: &RequestKey, pick: Pick, measured: bool) {
        if O::ACTIVE {
            let why = self.frontend.explain(key, pick);
            let server = self.cluster.server(pick.server);
            self.observer.observe(
                self.now,
                Observed::Picked {
                    request: id,
                    instance: pick.instance,
                    server: pick.server,
                    name: &server.name,
                    why,
                },
            );
        }
        // An attempt the breaker refuses fails at the client's side and never reaches the
        // server (Envoy's overflow): it is no arrival there.
        if self.resilience.is_some() && !self.breaker_allows(id, pick.server, measured) {
            return;
        }
        self.measurement.routed(pick.server);
        if !self.cluster.server(pick.server).accepts_connections() {
            self.not_accepted(id, pick, measured);
            return;
        }
        self.take(id, pick, measured);
    }

    /// Attempt `id` reached `pick.server`, which takes connections: it is taken there,
    /// unless the server has no memory left or its queue is full.
    #[inline(always)]
    fn take(&mut self, id: RequestId, pick: Pick, measured: bool) {
        let server = self.cluster.server_mut(pick.server);
        if let Some(resources) = &self.resources
            && resources.refuses(server)
        {
            self.refuse_for_memory(id, pick.server, measured);
            return;
        }
        match server.station.admit(self.now, id) {
            Admission::Start => {
                self.frontend.dispatched(pick);
                self.attempt_sent(id, pick.server);
                self.start_service(id, pick.server);
            }
            Admission::Queued { ahead } => {
                self.frontend.dispatched(pick);
                self.attempt_sent(id, pick.server);
                if O::ACTIVE {
                    let station = &self.cluster.server(pick.server).name;
                    report_queued(&mut self.observer, self.now, id, station, ahead);
                }
            }
            Admission::Rejected => {
                self.requests.remove(id);
                self.attempt_failed(id, measured, Outcome::Rejected, Some(pick.server));
                self.answered(pick.server, false);
            }
        }
    }

    /// Attempt `id` reached `pick.server`, which takes no new connection (down, booting or
    /// draining): the connection is refused — but for a draining server whose sessions
    /// cookie affinity keeps (`draining = "keep"`), which keeps its listener open, as a
    /// server in HAProxy's `drain` state is still up and accepts persistent connections;
    /// the balancers send it only those sessions' requests (or any, while they have not
    /// heard that it left). Out of line: a refusal is the rare path.
    #[inline(never)]
    fn not_accepted(&mut self, id: RequestId, pick: Pick, measured: bool) {
        let server = self.cluster.server(pick.server);
        let keeps_listening = server.state == ServerState::Draining
            && self
                .affinity
                .as_ref()
                .is_some_and(|a| a.draining() == Draining::Keep);
        if keeps_listening {
            self.take(id, pick, measured);
            return;
        }
        if measured && (server.is_leaving() || !server.is_member()) {
            // The balancer had not yet heard that it left.
            self.measurement.report(Figure::StaleRoutes, 1);
        }
        self.requests.remove(id);
        let outcome = Outcome::Failed(FailReason::ServerDown);
        self.attempt_failed(id, measured, outcome, Some(pick.server));
        self.answered(pick.server, false);
    }

    /// Attempt `id` reached `server`, which took it: the components that learn of it do,
    /// before a worker starts on it.
    #[inline(always)]
    fn attempt_sent(&mut self, id: RequestId, server: ServerId) {
        if self.attempt_hooks {
            self.attempt_taken(id, server);
        }
    }

    /// Attempt `id` was taken by `server`: its session's state, if a session's, is looked
    /// for there (a re-login adds to its work), and the client's timeout on it starts.
    /// Out of line, behind one flag, as [`Self::before_answer`]: a run with neither pays
    /// one branch per attempt.
    #[inline(never)]
    fn attempt_taken(&mut self, id: RequestId, server: ServerId) {
        if let Some(sessions) = &mut self.sessions {
            let relogin = sessions.taken(server);
            if let Some(request) = self.requests.get_mut(id) {
                request.work = request.work + relogin;
            }
        }
        if self.resilience.is_some() {
            self.start_timeout(id);
        }
    }

    /// A worker of `server` takes request `id` now.
    #[inline(always)]
    pub(super) fn start_service(&mut self, id: RequestId, server: ServerId) {
        let Some(request) = self.requests.get_mut(id) else {
            return;
        };
        request.started = self.now;
        let server = self.cluster.server(server);
        let service_time = server.station.service_time(request.work);
        self.events
            .schedule(self.now + service_time, Event::Done(id));
        if O::ACTIVE {
            self.observer.observe(
                self.now,
                Observed::Started {
                    request: id,
                    station: &server.name,
                },
            );
        }
    }

    /// A station finished its part of request `id`: the next hop, or the response.
    pub(super) fn on_done(&mut self, id: RequestId) {
        // A request that already ended (its server was taken out) left a stale event.
        let Some(&request) = self.requests.get(id) else {
            return;
        };
        if request.probe {
            self.probe_answered(id, request.server);
            return;
        }
        if request.hop == database::HOP {
            self.in_database(|database, ctx| database.query_done(id, ctx));
            return;
        }
        if request.hop == 0 && self.database.is_some() {
            self.enter_database(id, &request);
            return;
        }
        let hop = usize::from(request.hop);
        if hop > 0 {
            let tier = &mut self.tiers[hop - 1];
            if let Some(next) = tier.station.finish(self.now, id) {
                self.start_call(next, hop - 1);
            }
        }
        if hop < self.tiers.len() {
            self.call(id, hop);
        } else {
            self.complete(id, request);
        }
    }

    /// Request `id`, live as `request` (the caller has just read it from the table), is
    /// answered — with an error if its server is in a gray failure.
    pub(super) fn complete(&mut self, id: RequestId, mut request: Request) {
        let elapsed = self.now - request.arrived;
        let mut response_time = elapsed;
        if self.answer_hooks {
            match self.before_answer(id, &mut request) {
                Some(measured) => response_time = measured,
                None => return,
            }
        }
        self.frontend
            .finished(request.balancer, request.server, elapsed, true);
        self.measurement.completed(&request, response_time);
        if self.answer_hooks {
            self.after_answer(id, request.server, response_time);
        }
        if O::ACTIVE {
            let server = &self.cluster.server(request.server).name;
            self.observer.observe(
                self.now,
                Observed::Completed {
                    request: id,
                    server,
                    latency: response_time,
                    waited: request.started - request.arrived,
                },
            );
        }
        self.end_on_server(id, true);
    }

    /// What may change an answer before it is counted: a gray failure turns it into an
    /// error, and with client retries it may answer a call that began earlier (its
    /// response time is then the call's, and whether it counts too: an attempt hedged
    /// over may answer its call) or one the client gave up on. `None` when it is not
    /// counted as an answer. Out of line, with [`Self::after_answer`], behind one flag:
    /// a run with none of these capabilities pays one branch for them per answer.
    #[inline(never)]
    pub(super) fn before_answer(
        &mut self,
        id: RequestId,
        request: &mut Request,
    ) -> Option<SimDuration> {
        if let Some(gray) = &mut self.gray
            && gray.answers_with_error(request.server)
        {
            self.answer_with_error(id, request);
            return None;
        }
        if self.resilience.is_some() {
            let (origin, measured) = self.call_answered(id, request)?;
            if let Some(measured) = measured {
                request.measured = measured;
            }
            return Some(self.now - origin);
        }
        Some(self.now - request.arrived)
    }

    /// The components that learn of every answer: outlier detection, the autoscaler's
    /// metrics, the data tier's time split.
    #[inline(never)]
    fn after_answer(&mut self, id: RequestId, server: ServerId, response_time: SimDuration) {
        // Not an attempt hedged over that answers its call: its per-try timeout was its
        // one result for outlier detection.
        self.attempt_answered(id, server, true);
        if let Some(scaling) = &mut self.scaling {
            scaling.completed(self.now, response_time);
        }
        if let Some(database) = &mut self.database {
            database.completed(id, response_time);
        }
    }

    /// `request` (`id`), its work done, is answered with an error by its server in a gray
    /// failure. Out of line, so that the hot path of a run without gray failures stays as
    /// small as it was.
    #[inline(never)]
    fn answer_with_error(&mut self, id: RequestId, request: &Request) {
        self.end_on_server(id, false);
        self.attempt_answered(id, request.server, false);
        let outcome = Outcome::Failed(FailReason::ErrorResponse);
        self.attempt_failed(id, request.measured, outcome, Some(request.server));
    }

    /// Request `id`, picked for `server`, finds no memory left there and is refused.
    #[inline(never)]
    fn refuse_for_memory(&mut self, id: RequestId, server: ServerId, measured: bool) {
        self.requests.remove(id);
        let outcome = Outcome::Failed(FailReason::OutOfMemory);
        self.attempt_failed(id, measured, outcome, Some(server));
        self.answered(server, false);
    }

    /// Request `id` leaves its server, answered or not: the table forgets it and its
    /// worker takes the next queued request, or the server may go idle.
    #[inline(always)]
    pub(super) fn end_on_server(&mut self, id: RequestId, answered: bool) {
        let Some(request) = self.requests.remove(id) else {
            return;
        };
        if !answered {
            self.frontend.finished(
                request.balancer,
                request.server,
                self.now - request.arrived,
                false,
            );
        }
        let server = self.cluster.server_mut(request.server);
        match server.station.finish(self.now, id) {
            Some(next) => self.start_service(next, request.server),
            None => self.server_went_idle(request.server),
        }
    }

    /// A worker of `server` has nothing left to do: a draining server goes down once its
    /// last worker is free (unless affinity keeps it: [`Self::drained`]), another reports
    /// idle.
    pub(super) fn server_went_idle(&mut self, server: ServerId) {
        let idle = self.cluster.server(server);
        if idle.state == ServerState::Draining {
            if idle.station.is_idle() {
                self.drained(server);
            }
        } else {
            self.frontend.server_idle(server);
        }
    }

    /// Draining `server` holds nothing: it goes down, unless cookie affinity keeps it for
    /// the sessions pinned to it. Out of line: inlined, its check would cost every idle
    /// report of every run (its caller's registers).
    #[inline(never)]
    fn drained(&mut self, server: ServerId) {
        if !self.kept_for_sessions(server) {
            self.go_down(server, "drained");
        }
    }

    /// Whether draining `server` stays up for the sessions pinned to it, though it holds
    /// nothing: cookie affinity with `draining = "keep"`, while an entry pins one there.
    pub(super) fn kept_for_sessions(&self, server: ServerId) -> bool {
        self.affinity
            .as_ref()
            .is_some_and(|a| a.keeps_server(server))
    }

    /// The session table was swept: a draining server kept for its sessions whose last
    /// entry went, and that holds nothing, goes down. Without `draining = keep` a draining
    /// server went down when it emptied, and there is nothing to do. Out of line: it runs
    /// once a sweep, and inlined it would grow the event loop every run turns.
    #[inline(never)]
    pub(super) fn affinity_swept(&mut self) {
        if self
            .affinity
            .as_ref()
            .is_none_or(|a| a.draining() != Draining::Keep)
        {
            return;
        }
        let drained: Vec<ServerId> = self
            .cluster
            .servers()
            .iter()
            .filter(|s| s.state == ServerState::Draining && s.station.is_idle())
            .map(|s| s.id)
            .filter(|&id| !self.kept_for_sessions(id))
            .collect();
        for server in drained {
            self.go_down(server, "drained");
        }
    }

    /// Attempt `id` (sent to `server`, if it got that far) ended without an answer, for
    /// `outcome`; it is out of the table, or left to its server if it timed out. Its
    /// request fails — counted once — unless its client retries it or had given up on it.
    /// Out of line: failures are the rare path, and inlined they would bloat the hot one.
    #[inline(never)]
    pub(super) fn attempt_failed(
        &mut self,
        id: RequestId,
        mut measured: bool,
        outcome: Outcome,
        server: Option<ServerId>,
    ) {
        if let Some(sessions) = &mut self.sessions {
            // The attempt being dispatched, if a session's, failed before a server took
            // it: it moved nothing. (A failure after that finds none being dispatched.)
            sessions.refused();
        }
        if let Some(end) = self.call_ended(id, server, outcome) {
            match end {
                // Its end at its server was counted when the client gave up on it.
                CallEnd::Abandoned => return,
                CallEnd::Retrying { after } => {
                    if let Some(server) = server {
                        self.measurement.attempt_ended(outcome, server);
                    }
                    if O::ACTIVE {
                        self.observe(Observed::Retrying {
                            request: id,
                            reason: outcome.name(),
                            after,
                        });
                    }
                    return;
                }
                CallEnd::Hedging { after } => {
                    // Its per-try timeout counts at its server, once, as without hedging.
                    if let Some(server) = server {
                        self.measurement.attempt_ended(outcome, server);
                    }
                    if O::ACTIVE {
                        self.observe(Observed::Hedging { request: id, after });
                    }
                    return;
                }
                CallEnd::Waiting { counted } => {
                    if let (true, Some(server)) = (counted, server) {
                        self.measurement.attempt_ended(outcome, server);
                    }
                    if O::ACTIVE {
                        self.observe(Observed::AttemptFailed {
                            request: id,
                            reason: outcome.name(),
                        });
                    }
                    return;
                }
                // An attempt hedged over no longer counts as its call's: the call does.
                CallEnd::Final {
                    measured: Some(call_measured),
                    ..
                } => measured = call_measured,
                CallEnd::Final { measured: None, .. } => {}
            }
        }
        self.measurement.ended(measured, outcome, server);
        if O::ACTIVE {
            match (outcome, server) {
                (Outcome::Failed(reason), _) => self.observe(Observed::Failed {
                    request: id,
                    reason,
                }),
                (Outcome::Rejected, Some(server)) => {
                    let station = &self.cluster.server(server).name;
                    self.observer.observe(
                        self.now,
                        Observed::Rejected {
                            request: id,
                            station,
                        },
                    );
                }
                (Outcome::Rejected, None) | (Outcome::Completed, _) => {}
            }
        }
    }
}
