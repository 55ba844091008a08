//! server-states: each server's state over time, a strip per server and a panel per
//! variant (replication 0), on the time axis of latency-over-time, which the report shows
//! just above it: a crash, its detection, an ejection, a drain line up with the latency
//! they cause. A server's colour says what the balancers could do with it — in rotation,
//! in rotation but slowed below its group's speed (a degraded host: a `set-speed`),
//! failing fast behind its open circuit breaker, judged unhealthy by health checks,
//! ejected by outlier detection, serving but unknown to the balancers (service discovery
//! has not told them), booting, draining, down while still in rotation (before
//! detection, or in the balancer's panic, which puts every host back in rotation and is
//! noted above the panel) or down and out of it.
//! A server removed for good has no strip from then on — once the balancers know: under
//! service discovery it is down and still in rotation until the registry tells them. A
//! data tier's nodes follow the servers, a strip each: in rotation while up, down and out
//! of rotation from their failure (the tier routes around a failed node at once: there is
//! no detection to wait for); a replica's promotion changes what it serves, not whether
//! it serves, and leaves its colour.
//! Drawn from events.csv's changes, at their exact times, only when some server's or
//! node's state changed in some run.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::axis::{Axis, category};
use super::layout::{self, Entry, Mark};
use super::palette::Palette;
use super::style::{self, MUTED, text, variant_label};
use super::{Chart, Drawn, Figure, replications};
use crate::report::ScenarioResults;
use crate::stats::{ClusterEvent, NORMAL, PANIC, RunResult, UNKNOWN};

/// Most servers drawn per panel: those whose state changed first, then the others.
const MAX_SERVERS: usize = 40;

/// What a strip shows at a moment, in the legend's order, with its colour.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    InRotation,
    Unhealthy,
    Ejected,
    Booting,
    Draining,
    /// Crashed while the balancers, not yet told, still send it requests: the black hole
    /// that health checking exists to end.
    DownInRotation,
    /// Crashed and out of rotation.
    Down,
    /// Serving, but unknown to the balancers: service discovery has not told them of it
    /// yet, or has already told them it left (it serves out its pre-stop time).
    Undiscovered,
    /// In rotation with its circuit breaker open or half-open: the balancer still picks
    /// it, and the breaker fails the request at once (but for a half-open breaker's
    /// probes).
    BreakerOpen,
    /// In rotation, serving slower than its group's speed: a degraded host (a gray
    /// failure), which the balancers keep picking unless something measures it.
    Slowed,
}

impl Shown {
    const ALL: [Shown; 10] = [
        Shown::InRotation,
        Shown::Slowed,
        Shown::BreakerOpen,
        Shown::Unhealthy,
        Shown::Ejected,
        Shown::Booting,
        Shown::Draining,
        Shown::DownInRotation,
        Shown::Down,
        Shown::Undiscovered,
    ];

    /// A database node's state: in the data tier's rotation while it is up, out of it
    /// the moment it is down.
    fn of_node(state: &str) -> Shown {
        if state == "down" {
            Shown::Down
        } else {
            Shown::InRotation
        }
    }

    /// A server's lifecycle state and the balancers' view of it, as one: what matters of
    /// a server that is down is whether the balancers still believe in it. In `panic` the
    /// health checks' and outlier detection's verdicts are set aside: every host the
    /// balancers know is in rotation, down or not.
    fn of(state: &str, health: &str, panic: bool) -> Shown {
        let state = if state == GONE { "down" } else { state };
        match (state, health) {
            ("down", "healthy") => Shown::DownInRotation,
            ("down", "unhealthy" | "ejected") if panic => Shown::DownInRotation,
            ("down", _) => Shown::Down,
            ("booting", _) => Shown::Booting,
            ("draining", _) => Shown::Draining,
            (_, UNKNOWN) => Shown::Undiscovered,
            (_, "unhealthy" | "ejected") if panic => Shown::InRotation,
            (_, "ejected") => Shown::Ejected,
            (_, "unhealthy") => Shown::Unhealthy,
            _ => Shown::InRotation,
        }
    }

    /// What a server shown as `self` is with its circuit breaker in `breaker`: one in
    /// rotation is failing fast while the breaker is not closed; any other state says
    /// more than the breaker does (a crash, a drain, an ejection).
    fn with_breaker(self, breaker: &str) -> Shown {
        if self == Shown::InRotation && breaker != BREAKER_CLOSED {
            Shown::BreakerOpen
        } else {
            self
        }
    }

    /// What a server shown as `self` is when `slowed` below its group's speed: one in
    /// rotation is a degraded host; a breaker failing it fast, or any other state, says
    /// more.
    fn with_speed(self, slowed: bool) -> Shown {
        if self == Shown::InRotation && slowed {
            Shown::Slowed
        } else {
            self
        }
    }

    fn label(self) -> &'static str {
        match self {
            Shown::InRotation => "ready, in rotation",
            Shown::Unhealthy => "failing health checks",
            Shown::Ejected => "ejected (outlier)",
            Shown::Booting => "booting",
            Shown::Draining => "draining",
            Shown::DownInRotation => "down, still in rotation",
            Shown::Down => "down, out of rotation",
            Shown::Undiscovered => "ready, unknown to the balancers",
            Shown::BreakerOpen => "in rotation, breaker open",
            Shown::Slowed => "in rotation, slowed down",
        }
    }

    /// Colour-blind-safe hues (Okabe–Ito), the healthy state the quietest.
    fn colour(self) -> RGBColor {
        match self {
            Shown::InRotation => RGBColor(0xd6, 0xe8, 0xd4),
            Shown::Unhealthy => RGBColor(0xe6, 0x9f, 0x00),
            Shown::Ejected => RGBColor(0xcc, 0x79, 0xa7),
            Shown::Booting => RGBColor(0x56, 0xb4, 0xe9),
            Shown::Draining => RGBColor(0xf0, 0xe4, 0x42),
            Shown::DownInRotation => RGBColor(0xd5, 0x5e, 0x00),
            Shown::Down => RGBColor(0x59, 0x59, 0x59),
            Shown::Undiscovered => RGBColor(0x00, 0x72, 0xb2),
            Shown::BreakerOpen => RGBColor(0x00, 0x9e, 0x73),
            Shown::Slowed => RGBColor(0x8f, 0xbc, 0x8b),
        }
    }
}

pub struct ServerStates {
    panels: Vec<Panel>,
    end_s: f64,
    warmup_s: f64,
}

struct Panel {
    title: String,
    colour: RGBColor,
    /// The servers drawn, top to bottom: name and spans `(from s, to s, shown)`.
    strips: Strips,
    /// When the balancer was in panic, `(from s, to s)`.
    panics: Vec<(f64, f64)>,
    /// Servers left out for room.
    hidden: usize,
}

/// The chart, or `None` when no server's state changed in any run.
pub fn build(results: &ScenarioResults<'_>, palette: &Palette) -> Option<Chart> {
    let scenario = results.scenario;
    let mut panels = Vec::new();
    let mut changed = false;
    let mut nodes = false;
    let mut end_s: f64 = 0.0;
    for (variant, runs) in results.runs.iter().enumerate() {
        let Some(run) = runs.first() else { continue };
        nodes |= !run.database.is_empty();
        let end = scenario.variants[variant].run.duration.as_secs_f64();
        end_s = end_s.max(end);
        let groups = &scenario.variants[variant].run.servers;
        let group_speed = |group: &str| {
            groups
                .iter()
                .find(|g| g.name == group)
                .map_or(1.0, |g| g.speed)
        };
        let (mut strips, panics) = strips(run, end, group_speed);
        // Servers whose state changed first, in server order; then the steady ones.
        // Steady: in rotation from start to end (not joining late, not leaving).
        let steady = |spans: &Vec<Span>| spans == &[(0.0, end, Shown::InRotation)];
        strips.sort_by_key(|(_, spans)| steady(spans));
        changed |= strips.iter().any(|(_, spans)| !steady(spans));
        let hidden = strips.len().saturating_sub(MAX_SERVERS);
        strips.truncate(MAX_SERVERS);
        panels.push(Panel {
            title: variant_label(scenario, variant),
            colour: palette.colour(variant),
            strips,
            panics,
            hidden,
        });
    }
    if !changed {
        return None;
    }
    let replication = if replications(results) > 1 {
        ", replication 0"
    } else {
        ""
    };
    let rows: usize = panels.iter().map(|p| p.strips.len().max(1)).sum();
    let height = 64 + 16 + panels.len() as u32 * PANEL_CHROME + rows as u32 * STRIP;
    Some(Chart::new(
        "server-states",
        format!("Server states over time: {}", scenario.name),
        format!(
            "each server's state as the balancers could use it{}, from events.csv{}{replication}",
            if nodes {
                ", then each database node's"
            } else {
                ""
            },
            style::panels_note(scenario, panels.len()),
        ),
        (1000, height.max(300)),
        ServerStates {
            panels,
            end_s,
            warmup_s: scenario.variants[0].run.warmup.as_secs_f64(),
        },
    ))
}

/// Height of a panel's title, margins and time axis, in pixels.
const PANEL_CHROME: u32 = 84;
/// Height of one server's strip, in pixels.
const STRIP: u32 = 16;

/// A stretch of time `(from s, to s)` in one state.
type Span = (f64, f64, Shown);

/// Each server's spans of one state, in server order, then each database node's.
type Strips = Vec<(String, Vec<Span>)>;

/// The lifecycle states of events.csv; the rest are the balancers' views.
const LIFECYCLE: [&str; 5] = ["absent", "booting", "ready", "draining", "down"];

/// The balancers' views of a server in events.csv.
const VIEWS: [&str; 4] = ["healthy", "unhealthy", "ejected", UNKNOWN];

/// A circuit breaker's states in events.csv (reason `circuit-breaker`): a third thing
/// about a server, beside its lifecycle and the balancers' view, and independent of both.
const BREAKER: [&str; 3] = [BREAKER_CLOSED, "open", "half-open"];
const BREAKER_CLOSED: &str = "closed";

/// The state of a server that left for good while the balancers, not yet told by service
/// discovery, still route to it: drawn as down, and gone once they hear.
const GONE: &str = "gone";

/// The reasons of a change to `down` that take a server out of the cluster for good (a
/// crash leaves it a member, to restart).
const LEFT_FOR_GOOD: [&str; 3] = ["server-removed", "drained", "scale-in"];

/// A strip's open span: since when (s), in which lifecycle state, balancers' view and
/// breaker state, and whether the server is slowed below its group's speed.
#[derive(Copy, Clone, Debug)]
struct Open<'a> {
    since: f64,
    state: &'a str,
    view: &'a str,
    breaker: &'a str,
    slowed: bool,
}

/// A speed-change row's new speed (its detail, `speed 0.3`).
fn speed_of(event: &ClusterEvent) -> Option<f64> {
    if event.reason != "speed-change" {
        return None;
    }
    event.detail.strip_prefix("speed ")?.parse().ok()
}

/// Every server's and database node's spans over a run ending at `end` s, from its
/// events: exact times, where the time series would round each change to its interval. A
/// server starts in the state and view its first events change from (`absent` for one
/// that joins later), at its group's speed (`group_speed` of a group's name). Also the
/// spans of time the balancer was in panic (their own rows, with no server), which change
/// every server's colour.
fn strips(
    run: &RunResult,
    end: f64,
    group_speed: impl Fn(&str) -> f64,
) -> (Strips, Vec<(f64, f64)>) {
    let all: Vec<&str> = run
        .servers
        .iter()
        .chain(&run.database)
        .map(|server| server.name.as_str())
        .collect();
    // Strips from this one on are database nodes'.
    let first_node = run.servers.len();
    let index: BTreeMap<&str, usize> = (0..).zip(&all).map(|(i, &name)| (name, i)).collect();
    let mut state: Vec<Option<&str>> = vec![None; all.len()];
    let mut health: Vec<Option<&str>> = vec![None; all.len()];
    for event in &run.events {
        let Some(&i) = index.get(event.server.as_str()) else {
            continue;
        };
        if BREAKER.contains(&event.to) {
            continue;
        }
        // A `recovered` row goes from the lifecycle's `ready` to the view's `healthy`: only
        // a `from` of the same kind as its `to` says where a server started.
        let (first, kind): (_, &[&str]) = if LIFECYCLE.contains(&event.to) {
            (&mut state[i], &LIFECYCLE)
        } else {
            (&mut health[i], &VIEWS)
        };
        if kind.contains(&event.from) {
            first.get_or_insert(event.from);
        }
    }
    // Each strip's open span: since when, its lifecycle state, the balancers' view, its
    // breaker's state (every breaker starts closed) and whether it is slowed below its
    // group's speed.
    let mut now: Vec<Open> = state
        .iter()
        .zip(&health)
        .map(|(s, h)| Open {
            since: 0.0,
            state: s.unwrap_or("ready"),
            view: h.unwrap_or("healthy"),
            breaker: BREAKER_CLOSED,
            slowed: false,
        })
        .collect();
    let base_speed: Vec<f64> = run.servers.iter().map(|s| group_speed(&s.group)).collect();
    let mut strips: Strips = all
        .iter()
        .map(|&name| (name.to_string(), Vec::new()))
        .collect();
    let close = |i: usize, strip: &mut Vec<Span>, open: Open, to: f64, panic| {
        if open.state != "absent" && to > open.since {
            let shown = if i >= first_node {
                Shown::of_node(open.state)
            } else {
                Shown::of(open.state, open.view, panic)
                    .with_breaker(open.breaker)
                    .with_speed(open.slowed)
            };
            match strip.last_mut() {
                Some(span) if span.2 == shown && span.1 == open.since => span.1 = to,
                _ => strip.push((open.since, to, shown)),
            }
        }
    };
    // Under service discovery the balancers forget a server only when the registry tells
    // them (an `unknown` row): one that leaves for good before that is down, still in
    // rotation, until then — every request sent to it a stale route.
    let mut last_forgotten: Vec<Option<f64>> = vec![None; all.len()];
    for event in run.events.iter().filter(|e| e.to == UNKNOWN) {
        if let Some(&i) = index.get(event.server.as_str()) {
            last_forgotten[i] = Some(event.time.as_secs_f64());
        }
    }
    let mut panics = Vec::new();
    let mut panic_since = None;
    for event in &run.events {
        let time = event.time.as_secs_f64();
        if event.server.is_empty() && [NORMAL, PANIC].contains(&event.to) {
            // Every server's colour may change: each span ends here.
            for (i, open) in now.iter_mut().enumerate().take(first_node) {
                close(i, &mut strips[i].1, *open, time, panic_since.is_some());
                open.since = time;
            }
            if event.to == PANIC {
                panic_since = Some(time);
            } else if let Some(since) = panic_since.take() {
                panics.push((since, time));
            }
            continue;
        }
        let Some(&i) = index.get(event.server.as_str()) else {
            continue;
        };
        let open = now[i];
        close(i, &mut strips[i].1, open, time, panic_since.is_some());
        let still_known = open.view != UNKNOWN && last_forgotten[i].is_some_and(|t| t >= time);
        let since = Open {
            since: time,
            ..open
        };
        now[i] = if event.to == "down" && LEFT_FOR_GOOD.contains(&event.reason) {
            Open {
                state: if still_known { GONE } else { "absent" },
                ..since
            }
        } else if open.state == GONE && event.to == UNKNOWN {
            Open {
                state: "absent",
                view: UNKNOWN,
                ..since
            }
        } else if let Some(speed) = speed_of(event) {
            Open {
                slowed: base_speed.get(i).is_some_and(|&base| speed < base),
                ..since
            }
        } else if LIFECYCLE.contains(&event.to) {
            Open {
                state: event.to,
                ..since
            }
        } else if BREAKER.contains(&event.to) {
            Open {
                breaker: event.to,
                ..since
            }
        } else {
            Open {
                view: event.to,
                ..since
            }
        };
    }
    for (i, (strip, state)) in strips.iter_mut().zip(now).enumerate() {
        close(i, &mut strip.1, state, end, panic_since.is_some());
    }
    panics.extend(panic_since.map(|since| (since, end)));
    strips.retain(|(_, spans)| !spans.is_empty());
    (strips, panics)
}

impl Figure for ServerStates {
    fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Drawn<DB> {
        let entries: Vec<Entry> = Shown::ALL
            .iter()
            .map(|s| Entry::new(s.label(), s.colour(), Mark::Square))
            .collect();
        let plot = layout::with_legend(area, &entries)?;
        let heights: Vec<u32> = self
            .panels
            .iter()
            .map(|p| 84 + 16 * p.strips.len().max(1) as u32)
            .collect();
        let mut rest = plot;
        for (panel, height) in self.panels.iter().zip(heights) {
            let (space, below) = rest.split_vertically(height);
            rest = below;
            let mut notes = Vec::new();
            if !panel.panics.is_empty() {
                let spans: Vec<String> = panel
                    .panics
                    .iter()
                    .map(|&(from, to)| format!("{}–{} s", style::number(from), style::number(to)))
                    .collect();
                notes.push(format!(
                    "balancer in panic {}: every host in rotation, healthy or not",
                    spans.join(", ")
                ));
            }
            if panel.hidden > 0 {
                notes.push(format!(
                    "{} more servers, always in rotation, not drawn",
                    panel.hidden
                ));
            }
            let note = (!notes.is_empty()).then(|| notes.join("; "));
            let space =
                layout::panel_title(&space, &panel.title, note.as_deref(), Some(panel.colour))?;
            self.draw_panel(panel, &space)?;
        }
        Ok(())
    }
}

impl ServerStates {
    fn draw_panel<DB: DrawingBackend>(
        &self,
        panel: &Panel,
        area: &DrawingArea<DB, Shift>,
    ) -> Drawn<DB> {
        let count = panel.strips.len().max(1);
        let names: Vec<String> = panel.strips.iter().map(|s| s.0.clone()).collect();
        // Category i is centred on i, bottom up: the first strip is the top one.
        let mut chart = ChartBuilder::on(area)
            .margin(8)
            .x_label_area_size(40)
            .y_label_area_size(72)
            .build_cartesian_2d(0.0..self.end_s.max(1e-3), Axis::categories(count, count))?;
        layout::mesh(&mut chart)
            .disable_y_mesh()
            .x_desc("simulated time (s)")
            .x_label_formatter(&|v| style::number(*v))
            .y_label_formatter(&|v| {
                category(*v, count)
                    .and_then(|i| names.get(count - 1 - i))
                    .cloned()
                    .unwrap_or_default()
            })
            .draw()?;
        for (row, (_, spans)) in panel.strips.iter().enumerate() {
            let centre = (count - 1 - row) as f64;
            chart.draw_series(spans.iter().map(|&(from, to, shown)| {
                Rectangle::new(
                    [(from, centre - 0.4), (to, centre + 0.4)],
                    shown.colour().filled(),
                )
            }))?;
        }
        if self.warmup_s > 0.0 {
            chart.draw_series(std::iter::once(Text::new(
                "warmup",
                (0.0, count as f64 - 0.5),
                text(11, MUTED),
            )))?;
            chart.draw_series(std::iter::once(PathElement::new(
                [(self.warmup_s, -0.5), (self.warmup_s, count as f64 - 0.5)],
                MUTED,
            )))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn a_server_down_and_its_ejection_are_told_apart_from_rotation() {
        assert_eq!(Shown::of("ready", "healthy", false), Shown::InRotation);
        assert_eq!(Shown::of("ready", "unhealthy", false), Shown::Unhealthy);
        assert_eq!(Shown::of("ready", "ejected", false), Shown::Ejected);
        assert_eq!(Shown::of("down", "healthy", false), Shown::DownInRotation);
        assert_eq!(Shown::of("down", "unhealthy", false), Shown::Down);
        assert_eq!(Shown::of("draining", "ejected", false), Shown::Draining);
        assert_eq!(Shown::of("booting", "unhealthy", false), Shown::Booting);
        assert_eq!(Shown::of("ready", UNKNOWN, false), Shown::Undiscovered);
        assert_eq!(Shown::of("down", UNKNOWN, false), Shown::Down);
    }

    #[test]
    fn a_breaker_not_closed_shows_only_on_a_server_otherwise_in_rotation() {
        for breaker in ["open", "half-open"] {
            for (state, view, shown) in [
                ("ready", "healthy", Shown::BreakerOpen),
                ("ready", "ejected", Shown::Ejected),
                ("down", "healthy", Shown::DownInRotation),
                ("draining", "healthy", Shown::Draining),
            ] {
                let with = Shown::of(state, view, false).with_breaker(breaker);
                assert_eq!(with, shown, "{state}, {view}, breaker {breaker}");
            }
        }
        assert_eq!(
            Shown::of("ready", "healthy", false).with_breaker("closed"),
            Shown::InRotation
        );
    }

    #[test]
    fn a_breakers_open_spans_are_drawn_at_its_rows_times() {
        let fixture = fixtures::breaker();
        let view = fixture.view();
        let run = &view.runs[0][0];
        let chart = build(&view, &fixture.palette()).expect("a breaker changed");
        let figure: &ServerStates = chart.figure();
        let (name, spans) = &figure.panels[0].strips[0];
        assert_eq!(name, "web-1");
        // Every breaker row of web-1 starts a span: open and half-open show as open, a
        // closed breaker as in rotation.
        let rows: Vec<(f64, &str)> = run
            .events
            .iter()
            .filter(|e| e.server == "web-1" && e.reason == "circuit-breaker")
            .map(|e| (e.time.as_secs_f64(), e.to))
            .collect();
        let (first_open, _) = *rows.first().expect("web-1's breaker opened");
        assert!(first_open > 3.0, "{rows:?}");
        // In rotation, then slowed (speed 0.02 at 3 s) until its breaker opens.
        assert_eq!(spans[0], (0.0, 3.0, Shown::InRotation));
        assert_eq!(spans[1], (3.0, first_open, Shown::Slowed));
        for &(time, to) in &rows {
            let shown = spans
                .iter()
                .find(|&&(from, end, _)| from <= time && time < end)
                .map(|span| span.2);
            let expected = if to == "closed" {
                Shown::Slowed
            } else {
                Shown::BreakerOpen
            };
            assert_eq!(shown, Some(expected), "at {time} s ({to}): {spans:?}");
        }
        // The other servers never left rotation.
        for (_, spans) in &figure.panels[0].strips[1..] {
            assert_eq!(spans, &[(0.0, 12.0, Shown::InRotation)]);
        }
    }

    #[test]
    fn a_slowed_server_shows_only_when_nothing_says_more() {
        for (state, view, breaker, shown) in [
            ("ready", "healthy", "closed", Shown::Slowed),
            ("ready", "healthy", "open", Shown::BreakerOpen),
            ("ready", "unhealthy", "closed", Shown::Unhealthy),
            ("down", "healthy", "closed", Shown::DownInRotation),
            ("draining", "healthy", "closed", Shown::Draining),
        ] {
            let with = Shown::of(state, view, false)
                .with_breaker(breaker)
                .with_speed(true);
            assert_eq!(with, shown, "{state}, {view}, breaker {breaker}");
        }
    }

    #[test]
    fn a_speed_change_slows_a_server_below_its_groups_speed_and_a_restore_ends_it() {
        // The breaker fixture without its breaker rows: web-1 slows to 0.02 at 3 s; a
        // row setting it back to its group's speed 1 at 11.5 s ends the span, and one
        // setting it to 2 (faster than its group) is not slowed either.
        let fixture = fixtures::breaker();
        let mut view = fixture.view();
        let mut run = view.runs[0].remove(0);
        run.events.retain(|e| e.reason != "circuit-breaker");
        let slowed = run.events.iter().find(|e| e.reason == "speed-change");
        assert_eq!(slowed.map(|e| e.detail.as_str()), Some("speed 0.02"));
        let row = |seconds: f64, speed: &str| ClusterEvent {
            time: crate::engine::SimTime::from_nanos((seconds * 1e9) as u64),
            server: "web-1".into(),
            from: "ready",
            to: "ready",
            reason: "speed-change",
            detail: format!("speed {speed}"),
        };
        run.events.push(row(11.5, "1"));
        let (drawn, _) = strips(&run, 12.0, |_| 1.0);
        let spans = &drawn.iter().find(|(name, _)| name == "web-1").unwrap().1;
        assert_eq!(
            spans,
            &[
                (0.0, 3.0, Shown::InRotation),
                (3.0, 11.5, Shown::Slowed),
                (11.5, 12.0, Shown::InRotation)
            ]
        );
        run.events.pop();
        run.events.push(row(11.5, "2"));
        let (drawn, _) = strips(&run, 12.0, |_| 1.0);
        let spans = &drawn.iter().find(|(name, _)| name == "web-1").unwrap().1;
        assert_eq!(spans.last(), Some(&(11.5, 12.0, Shown::InRotation)));
        // A group of speed 0.01 is not slowed by 0.02: it was sped up.
        let (drawn, _) = strips(&run, 12.0, |_| 0.01);
        let spans = &drawn.iter().find(|(name, _)| name == "web-1").unwrap().1;
        assert_eq!(spans, &[(0.0, 12.0, Shown::InRotation)]);
    }

    #[test]
    fn in_panic_only_what_the_balancers_do_not_know_or_cannot_use_is_out() {
        assert_eq!(Shown::of("ready", "unhealthy", true), Shown::InRotation);
        assert_eq!(Shown::of("ready", "ejected", true), Shown::InRotation);
        assert_eq!(Shown::of("down", "unhealthy", true), Shown::DownInRotation);
        assert_eq!(Shown::of("down", "ejected", true), Shown::DownInRotation);
        assert_eq!(Shown::of("draining", "unhealthy", true), Shown::Draining);
        assert_eq!(Shown::of("booting", "unhealthy", true), Shown::Booting);
        assert_eq!(Shown::of("ready", UNKNOWN, true), Shown::Undiscovered);
        assert_eq!(Shown::of("down", UNKNOWN, true), Shown::Down);
    }

    #[test]
    fn a_steady_cluster_draws_no_states() {
        let fixture = fixtures::swept();
        assert!(build(&fixture.view(), &fixture.palette()).is_none());
    }

    #[test]
    fn a_crash_is_drawn_as_a_down_span_between_its_samples() {
        let fixture = fixtures::crash();
        let chart = build(&fixture.view(), &fixture.palette()).unwrap();
        let figure: &ServerStates = chart.figure();
        let panel = &figure.panels[0];
        // The crashed server comes first: its state changed.
        let (name, spans) = &panel.strips[0];
        assert_eq!(name, "web-1");
        // Down from the crash at 3 s to the restart at 6 s, booting for a second, then
        // back in rotation; nothing checks its health, so the balancer never took it out.
        assert_eq!(
            spans,
            &[
                (0.0, 3.0, Shown::InRotation),
                (3.0, 6.0, Shown::DownInRotation),
                (6.0, 7.0, Shown::Booting),
                (7.0, 10.0, Shown::InRotation),
            ]
        );
        // web-3, removed gracefully at 8 s, drains what it holds (nothing, or tens of
        // milliseconds of work at this load) and then has no strip.
        let (name, spans) = &panel.strips[1];
        assert_eq!(name, "web-3");
        assert_eq!(spans[0], (0.0, 8.0, Shown::InRotation));
        assert!(spans.len() <= 2, "{spans:?}");
        for &(from, to, shown) in &spans[1..] {
            assert_eq!((from, shown), (8.0, Shown::Draining));
            assert!(to < 9.0, "drained at {to} s");
        }
        for (_, spans) in &panel.strips[2..] {
            assert_eq!(spans, &[(0.0, 10.0, Shown::InRotation)]);
        }
    }

    #[test]
    fn in_panic_every_crashed_server_is_back_in_rotation() {
        // Four servers crash at 3 s and restart at 9 s; the checks (every second, fall 3)
        // find them out one by one, and with the third fewer than half are healthy.
        let fixture = fixtures::panic();
        let chart = build(&fixture.view(), &fixture.palette()).unwrap();
        let figure: &ServerStates = chart.figure();
        let panel = &figure.panels[0];
        let &[(from, to)] = panel.panics.as_slice() else {
            panic!("one panic: {:?}", panel.panics)
        };
        assert!(3.0 < from && from < 9.0 && 9.0 < to, "{from}–{to}");
        let overlaps = |&(start, end, _): &Span| start < to && end > from;
        for (name, spans) in &panel.strips {
            // Down while in panic is down in rotation: the balancers send it requests.
            assert!(
                !spans
                    .iter()
                    .any(|span| span.2 == Shown::Down && overlaps(span)),
                "{name}: {spans:?}"
            );
        }
        // Before the panic the first servers found unhealthy were out of rotation.
        assert!(panel.strips.iter().any(|(_, spans)| {
            spans
                .iter()
                .any(|&(start, _, shown)| shown == Shown::Down && start < from)
        }));
    }

    #[test]
    fn a_server_gone_before_the_balancers_hear_is_down_in_rotation_until_they_do() {
        // web-3 is removed abruptly at 3 s; the balancer polls its registry every 5 s, so
        // it keeps sending web-3 requests (stale routes) until the poll that forgets it.
        let fixture = fixtures::stale_route();
        let results = fixture.view();
        let forgotten = results.runs[0][0]
            .events
            .iter()
            .find(|e| e.server == "web-3" && e.to == UNKNOWN)
            .map(|e| e.time.as_secs_f64())
            .expect("the balancer forgets web-3");
        assert!(forgotten > 3.0, "{forgotten}");
        let chart = build(&results, &fixture.palette()).unwrap();
        let figure: &ServerStates = chart.figure();
        let (name, spans) = &figure.panels[0].strips[0];
        assert_eq!(name, "web-3");
        assert_eq!(
            spans,
            &[
                (0.0, 3.0, Shown::InRotation),
                (3.0, forgotten, Shown::DownInRotation)
            ]
        );
    }

    #[test]
    fn a_failed_database_node_is_down_and_out_of_rotation_at_once() {
        // The primary fails at 3 s; replica 0 is promoted at 5 s. The servers never change.
        let fixture = fixtures::failover();
        let chart = build(&fixture.view(), &fixture.palette()).unwrap();
        assert!(
            chart.subtitle.contains("database node"),
            "{}",
            chart.subtitle
        );
        let figure: &ServerStates = chart.figure();
        let strips = &figure.panels[0].strips;
        // The changed strip first: the failed primary, never "down, still in rotation".
        assert_eq!(strips[0].0, "db-s0-primary");
        assert_eq!(
            strips[0].1,
            [(0.0, 3.0, Shown::InRotation), (3.0, 10.0, Shown::Down)]
        );
        // Then the servers and the replicas in order, steady: the promotion changes what
        // replica 0 serves, not whether it serves.
        let rest: Vec<&str> = strips[1..].iter().map(|s| s.0.as_str()).collect();
        assert_eq!(
            rest,
            [
                "web-0",
                "web-1",
                "web-2",
                "web-3",
                "db-s0-replica-0",
                "db-s0-replica-1"
            ]
        );
        for (_, spans) in &strips[1..] {
            assert_eq!(spans, &[(0.0, 10.0, Shown::InRotation)]);
        }
    }
}
