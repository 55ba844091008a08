//! Hops past the app server: a request's calls to the second tiers, one after another
//! while it holds its server's worker, and its stay in the data tier.

use super::{World, report_queued};
use crate::model::database::{self, Database, Settled};
use crate::model::event::Event;
use crate::model::observer::{Observed, Observer};
use crate::model::outcome::{FailReason, Outcome};
use crate::model::request::{Request, RequestId};
use crate::model::station::Admission;

impl<O: Observer> World<'_, O> {
    /// Request `id` has done its work on its server and starts its queries.
    #[inline(never)]
    pub(super) fn enter_database(&mut self, id: RequestId, request: &Request) {
        if let Some(live) = self.requests.get_mut(id) {
            live.hop = database::HOP;
        }
        let (server, measured) = (request.server, request.measured);
        self.in_database(|database, ctx| database.begin(id, server, measured, ctx));
    }

    /// Runs `call` on the data tier, then hands on what ended there. Never inlined: the
    /// loop of a run without a data tier stays the loop it was.
    #[inline(never)]
    pub(super) fn in_database(
        &mut self,
        call: impl FnOnce(&mut Database, &mut database::Context<'_>),
    ) {
        let Some(database) = &mut self.database else {
            return;
        };
        call(
            database,
            &mut database::Context {
                now: self.now,
                events: &mut self.events,
                timers: &mut self.timers,
            },
        );
        self.settle_database();
    }

    /// Requests whose stay in the data tier ended go on to the tiers or their answer, or
    /// fail.
    #[inline(never)]
    fn settle_database(&mut self) {
        while let Some((id, settled)) = self.database.as_mut().and_then(Database::next_settled) {
            let Some(request) = self.requests.get_mut(id) else {
                continue;
            };
            request.hop = 0;
            let request = *request;
            let (server, measured) = (request.server, request.measured);
            match settled {
                Settled::Done if self.tiers.is_empty() => self.complete(id, request),
                Settled::Done => self.call(id, 0),
                Settled::Failed(reason) => {
                    self.end_on_server(id, false);
                    self.attempt_answered(id, server, false);
                    self.attempt_failed(id, measured, Outcome::Failed(reason), Some(server));
                }
            }
        }
    }

    /// Request `id` calls tier `tier`, holding its server's worker.
    pub(super) fn call(&mut self, id: RequestId, tier: usize) {
        let Some(request) = self.requests.get_mut(id) else {
            return;
        };
        request.hop = tier as u8 + 1;
        let measured = request.measured;
        match self.tiers[tier].station.admit(self.now, id) {
            Admission::Start => self.start_call(id, tier),
            Admission::Queued { ahead } => {
                if O::ACTIVE {
                    let station = &self.tiers[tier].name;
                    report_queued(&mut self.observer, self.now, id, station, ahead);
                }
            }
            Admission::Rejected => {
                if O::ACTIVE {
                    let station = &self.tiers[tier].name;
                    self.observer.observe(
                        self.now,
                        Observed::Rejected {
                            request: id,
                            station,
                        },
                    );
                }
                let server = self.requests.get(id).map(|r| r.server);
                self.end_on_server(id, false);
                if let Some(server) = server {
                    // An attempt its client gave up on is no second error.
                    self.attempt_answered(id, server, false);
                }
                let outcome = Outcome::Failed(FailReason::TierRejected);
                self.attempt_failed(id, measured, outcome, server);
            }
        }
    }

    /// A worker of tier `tier` takes the call of request `id` now.
    pub(super) fn start_call(&mut self, id: RequestId, tier: usize) {
        let tier_station = &mut self.tiers[tier];
        let service_time = tier_station.draw_service();
        self.events
            .schedule(self.now + service_time, Event::Done(id));
        if O::ACTIVE {
            let station = &self.tiers[tier].name;
            self.observer.observe(
                self.now,
                Observed::Started {
                    request: id,
                    station,
                },
            );
        }
    }
}
