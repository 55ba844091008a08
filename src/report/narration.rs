//! The trace view: a run told event by event, for teaching and for debugging a scenario.
//!
//! [`Narration`] is an [`Observer`]: it numbers requests in the order they arrive (`r1`,
//! `r2`, …; the engine's own handles reuse slots) and writes one line per event — as
//! aligned text for a person, or as CSV (`time_s,request,event,station,detail`) for a
//! spreadsheet. Server names stand in for ids; a pick says what the algorithm compared
//! (every connection count for least-connections, the two candidates drawn for power of
//! two choices, the hash and the ring point for consistent hashing).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use crate::balancer::Explanation;
use crate::engine::{SimDuration, SimTime};
use crate::id::ServerId;
use crate::model::{Observed, Observer, RequestId};

/// How the narration is written.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NarrationFormat {
    Text,
    Csv,
}

/// Writes each observed event to `out` as it happens.
pub struct Narration<W: Write> {
    out: W,
    format: NarrationFormat,
    /// Server names by id, for explanations that name servers by id.
    names: Vec<String>,
    /// The number each live request was given when it arrived.
    numbers: BTreeMap<RequestId, u64>,
    arrived: u64,
    /// The first write error; later events are not written.
    error: Option<io::Error>,
}

impl<W: Write> Narration<W> {
    /// A narration of a run whose servers are named `names`, by id (servers that join later
    /// are named from their events).
    pub fn new(out: W, format: NarrationFormat, names: Vec<String>) -> Self {
        let mut narration = Narration {
            out,
            format,
            names,
            numbers: BTreeMap::new(),
            arrived: 0,
            error: None,
        };
        if format == NarrationFormat::Csv {
            narration.write_line("time_s,request,event,station,detail");
        }
        narration
    }

    /// The writer back, or the first error writing to it.
    pub fn finish(mut self) -> io::Result<W> {
        match self.error.take() {
            Some(error) => Err(error),
            None => {
                self.out.flush()?;
                Ok(self.out)
            }
        }
    }

    fn write_line(&mut self, line: &str) {
        if self.error.is_none()
            && let Err(error) = writeln!(self.out, "{line}")
        {
            self.error = Some(error);
        }
    }

    fn number(&self, request: RequestId) -> String {
        self.numbers
            .get(&request)
            .map_or_else(|| "?".to_string(), |n| format!("r{n}"))
    }

    fn name(&self, server: ServerId) -> &str {
        self.names.get(server.index()).map_or("?", String::as_str)
    }

    /// One sentence for what a balancer compared.
    fn explain(&self, why: &Explanation) -> String {
        let mut text = String::new();
        if !why.compared.is_empty() {
            let compared: Vec<String> = why
                .compared
                .iter()
                .map(|&(server, figure)| format!("{} {}", self.name(server), number(figure)))
                .collect();
            let _ = write!(text, "{}: {}", why.measure, compared.join(", "));
        }
        if let Some((hash, point)) = why.hash {
            if !text.is_empty() {
                text.push_str("; ");
            }
            let _ = write!(text, "hash {hash:#018x} -> point {point:#018x}");
        }
        text
    }

    fn event(&mut self, now: SimTime, request: &str, event: &str, station: &str, detail: &str) {
        let line = match self.format {
            NarrationFormat::Text => {
                let mut line = format!("{:>14}  {request:>6}  {event:<9} {station}", time(now));
                if !detail.is_empty() {
                    line.push_str(if station.is_empty() { "" } else { "  " });
                    line.push_str(detail);
                }
                line
            }
            NarrationFormat::Csv => format!(
                "{},{request},{event},{},{}",
                seconds(now),
                csv_field(station),
                csv_field(detail)
            ),
        };
        self.write_line(&line);
    }
}

impl<W: Write> Observer for Narration<W> {
    fn observe(&mut self, now: SimTime, event: Observed<'_>) {
        match event {
            Observed::Arrived {
                request,
                client,
                work,
            } => {
                self.arrived += 1;
                self.numbers.insert(request, self.arrived);
                let detail = format!("from {client}, work {}", millis(work));
                self.event(now, &self.number(request), "arrived", "", &detail);
            }
            Observed::Picked {
                request,
                instance,
                server,
                name,
                why,
            } => {
                if self.names.len() <= server.index() {
                    self.names.resize(server.index() + 1, String::new());
                }
                self.names[server.index()] = name.to_string();
                let mut detail = self.explain(&why);
                if instance > 0 {
                    detail = format!("balancer {instance}; {detail}");
                }
                self.event(now, &self.number(request), "picked", name, &detail);
            }
            Observed::Queued {
                request,
                station,
                ahead,
            } => {
                let detail = format!("behind {ahead}");
                self.event(now, &self.number(request), "queued", station, &detail);
            }
            Observed::Started { request, station } => {
                self.event(now, &self.number(request), "started", station, "");
            }
            Observed::Completed {
                request,
                server,
                latency,
                waited,
            } => {
                let detail = format!("after {}, waited {}", millis(latency), millis(waited));
                self.event(now, &self.number(request), "completed", server, &detail);
                self.numbers.remove(&request);
            }
            Observed::Rejected { request, station } => {
                self.event(
                    now,
                    &self.number(request),
                    "rejected",
                    station,
                    "queue full",
                );
                self.numbers.remove(&request);
            }
            Observed::TimedOut { request } => {
                let detail = "the client gives up; the server goes on";
                self.event(now, &self.number(request), "timed-out", "", detail);
            }
            Observed::Retrying {
                request,
                reason,
                after,
            } => {
                let detail = format!("{reason}; retry in {}", millis(after));
                self.event(now, &self.number(request), "retrying", "", &detail);
            }
            Observed::Hedging { request, after } => {
                let detail = match after {
                    Some(after) => format!(
                        "per-try timeout; the client still waits for it, and hedges in {}",
                        millis(after)
                    ),
                    None => {
                        "per-try timeout; the client still waits for it, no retry left".to_string()
                    }
                };
                self.event(now, &self.number(request), "timed-out", "", &detail);
            }
            Observed::Retried {
                request,
                previous,
                retry,
                reselected,
                hedge,
            } => {
                // A retry goes by its request's number.
                if let Some(&n) = self.numbers.get(&previous) {
                    self.numbers.insert(request, n);
                }
                let what = if hedge {
                    format!("hedge (retry {retry}): an earlier attempt is still out")
                } else {
                    format!("retry {retry}")
                };
                let detail = match reselected {
                    0 => what,
                    1 => format!("{what}; its first pick was a server already tried"),
                    n => format!("{what}; {n} picks were servers already tried"),
                };
                let kind = if hedge { "hedge" } else { "retry" };
                self.event(now, &self.number(request), kind, "", &detail);
            }
            Observed::AttemptFailed { request, reason } => {
                let detail = format!("{reason}; another attempt of the request goes on");
                self.event(now, &self.number(request), "attempt-failed", "", &detail);
            }
            Observed::Reset { request } => {
                let detail = "its request ended; the client resets it, the server goes on";
                self.event(now, &self.number(request), "reset", "", detail);
                self.numbers.remove(&request);
            }
            Observed::Failed { request, reason } => {
                self.event(now, &self.number(request), "failed", "", reason.name());
                self.numbers.remove(&request);
            }
            Observed::StateChanged {
                server,
                from,
                to,
                reason,
            } => {
                let state = |s: Option<crate::model::ServerState>| s.map_or("absent", |s| s.name());
                let detail = format!("{} -> {} ({reason})", state(from), state(to));
                self.event(now, "", "server", server, &detail);
            }
            Observed::SpeedChanged { server, speed } => {
                let detail = format!("speed {}", number(speed));
                self.event(now, "", "server", server, &detail);
            }
            Observed::HealthChanged { server, healthy } => {
                let detail = if healthy {
                    "healthy: back in rotation"
                } else {
                    "unhealthy: out of rotation"
                };
                self.event(now, "", "health", server, detail);
            }
            Observed::DiscoveryChanged { server, known } => {
                let detail = if known {
                    "the balancers hear of it"
                } else {
                    "the balancers hear it left"
                };
                self.event(now, "", "discovery", server, detail);
            }
            Observed::PanicChanged {
                panic,
                healthy,
                hosts,
            } => {
                let detail = if panic {
                    format!("panic, {healthy} of {hosts} hosts healthy: every host in rotation")
                } else {
                    format!("panic over, {healthy} of {hosts} hosts healthy")
                };
                self.event(now, "", "health", "", &detail);
            }
        }
    }
}

/// `t` as seconds with nanosecond precision, from integers: `12.000345678`.
fn seconds(t: SimTime) -> String {
    let ns = t.as_nanos();
    format!("{}.{:09}", ns / 1_000_000_000, ns % 1_000_000_000)
}

/// `t` for a person: `12.000346 s`.
fn time(t: SimTime) -> String {
    let us = t.as_nanos() / 1_000;
    format!("{}.{:06} s", us / 1_000_000, us % 1_000_000)
}

fn millis(d: SimDuration) -> String {
    format!("{:.3} ms", d.as_millis_f64())
}

/// A figure without trailing zeros: `3`, `0.25`, `12.5`.
fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}
