//! The events of the model: small `Copy` values, never boxed.

use super::request::RequestId;
use crate::engine::{Prioritized, TimerId};
use crate::id::ServerId;

#[derive(Copy, Clone, Debug)]
pub enum Event {
    /// The next request arrives. The world holds the one pending arrival beside the queue
    /// and hands it out in this order.
    Arrival,
    /// A station (its server, a tier it called, a database node) finished its part of a
    /// request, or a server answered a health check's probe.
    Done(RequestId),
    /// A timer fires, unless it was cancelled.
    Timer(TimerId, Timer),
}

/// What a timer is for.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Measurement starts: busy time so far is set aside.
    WarmupEnd,
    /// A time-series interval ends.
    Sample,
    /// The run ends: the last sample is taken and the loop stops.
    End,
    /// The timeline's action with this index happens.
    Action(u32),
    /// A server's failure process makes it crash.
    Crash(ServerId),
    /// A crashed server restarts and starts booting.
    Restart(ServerId),
    /// A server has booted and is ready.
    Booted(ServerId),
    /// A health check of a server is due.
    Check(ServerId),
    /// The health check out on a server has had no answer in time.
    CheckTimeout(ServerId),
    /// Outlier detection's periodic evaluation.
    OutlierInterval,
    /// A server's ejection by outlier detection ends.
    Uneject(ServerId),
    /// A draining server's deregistration delay ends: what it still holds fails.
    DrainDeadline(ServerId),
    /// The client's timeout on the current attempt of a call (its index in
    /// [`ClientCalls`](super::client_calls::ClientCalls)) fires.
    AttemptTimeout(u32),
    /// A call's backoff is over: its next attempt is sent.
    RetryDue(u32),
    /// The client's timeout on a call as a whole (its index in
    /// [`ClientCalls`](super::client_calls::ClientCalls)) fires.
    RequestTimeout(u32),
    /// A backend's circuit breaker has been open for its `open_for`: it half-opens.
    HalfOpen(ServerId),
    /// The first connection wait of a server's pool may have timed out.
    PoolTimeout(ServerId),
    /// The data tier's scheduled change with this index (a node failure, the reshard).
    DatabaseChange(u32),
    /// A shard's failover delay has passed: a new primary takes over.
    Promotion(u32),
    /// The session table's periodic sweep of expired entries.
    AffinitySweep,
    /// The autoscaler's metrics pipeline collects a datapoint.
    MetricsCollect,
    /// The autoscaler's policy is evaluated.
    ScaleEvaluate,
    /// The autoscaler's scheduled action with this index is due.
    ScheduledScale(u32),
    /// A launched server is provisioned and booted: it is ready.
    Launched(ServerId),
    /// A deregistered server's pre-stop time is over: it drains.
    PreStopOver(ServerId),
    /// Servers in slow start have their weights raised.
    SlowStartTick,
    /// The balancers poll the service registry.
    DiscoveryPoll,
    /// The registry's own health check of every registered server.
    RegistryCheck,
    /// A server's registration reaches the balancers (a watch).
    Discovered(ServerId),
    /// A server's deregistration reaches the balancers (a watch).
    Forgotten(ServerId),
}

impl Prioritized for Event {
    /// At one instant, measurement boundaries come first (what happens at `t` belongs to
    /// the interval starting at `t`), then changes to the cluster (a server removed at `t`
    /// takes no request arriving at `t`), then completions (a freed worker is visible to
    /// an arrival at the same instant), then arrivals.
    fn priority(&self) -> u8 {
        match self {
            Event::Timer(
                _,
                Timer::WarmupEnd | Timer::Sample | Timer::End | Timer::MetricsCollect,
            ) => 0,
            Event::Timer(
                _,
                Timer::Action(_)
                | Timer::Crash(_)
                | Timer::Restart(_)
                | Timer::Booted(_)
                | Timer::Check(_)
                | Timer::CheckTimeout(_)
                | Timer::OutlierInterval
                | Timer::Uneject(_)
                | Timer::DrainDeadline(_)
                | Timer::HalfOpen(_)
                | Timer::PoolTimeout(_)
                | Timer::DatabaseChange(_)
                | Timer::Promotion(_)
                | Timer::AffinitySweep
                | Timer::ScaleEvaluate
                | Timer::ScheduledScale(_)
                | Timer::Launched(_)
                | Timer::PreStopOver(_)
                | Timer::SlowStartTick
                | Timer::DiscoveryPoll
                | Timer::RegistryCheck
                | Timer::Discovered(_)
                | Timer::Forgotten(_),
            ) => 1,
            // A timeout at the instant of its answer loses to it (the answer was in time);
            // a retry due at `t` is sent like an arrival at `t`, after completions.
            Event::Timer(
                _,
                Timer::AttemptTimeout(_) | Timer::RequestTimeout(_) | Timer::RetryDue(_),
            ) => 3,
            Event::Done(_) => 2,
            Event::Arrival => 3,
        }
    }
}

#[cfg(test)]
mod tests {
    /// An event is 16 bytes, so a queue entry (a 16-byte key and the event) is 32: two to
    /// a cache line. A variant that grows it slows every run.
    #[test]
    fn an_event_stays_sixteen_bytes() {
        assert_eq!(std::mem::size_of::<super::Event>(), 16);
    }
}
