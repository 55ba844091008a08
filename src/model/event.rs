//! The events of the model: small `Copy` values, never boxed.

use super::request::RequestId;
use crate::engine::Prioritized;

#[derive(Copy, Clone, Debug)]
pub enum Event {
    /// Measurement starts: busy time so far is set aside.
    WarmupEnd,
    /// A time-series interval ends.
    Sample,
    /// The run ends: the last sample is taken and the loop stops.
    End,
    /// A worker finishes a request.
    Completion(RequestId),
    /// The next request arrives.
    Arrival,
}

impl Prioritized for Event {
    /// At one instant, measurement boundaries come first (what happens at `t` belongs to
    /// the interval starting at `t`), then completions (a freed worker is visible to an
    /// arrival at the same instant), then arrivals.
    fn priority(&self) -> u8 {
        match self {
            Event::WarmupEnd | Event::Sample | Event::End => 0,
            Event::Completion(_) => 1,
            Event::Arrival => 2,
        }
    }
}
