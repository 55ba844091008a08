//! `workload.trace` across the variants of a scenario: each trace file is read once and
//! shared, and what was wrong inside it becomes errors or warnings by `on_error`.
//!
//! Variants are validated one by one, and most share their trace (a sweep over
//! `workload.trace.speed` or `balancer.algorithm` replays the same file), so traces are kept
//! here by path, format and `on_error`: the file is read when the first variant needs it,
//! and every later one gets the same `Arc` — nothing is re-read or copied per variant or
//! per run.
//!
//! A malformed line under `on_error = "skip"` is a warning, listed once (the first
//! [`MAX_LISTED`] of them, then a count) for the loader to print on stderr; under `"fail"`
//! it is a scenario error at `trace-file:line:col`. Problems with the file as a whole (an
//! unreadable file, a bad CSV header, no requests at all) are errors either way.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ScenarioError;
use super::trace::{self, LineProblem, MAX_LISTED, TraceFile, TraceFormat};
use crate::model::Trace;

/// The names `workload.trace.on_error` accepts.
pub const ON_ERROR: &[&str] = &["skip", "fail"];

/// What to do with a malformed line.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Leave it out, with a warning.
    Skip,
    /// Reject the scenario.
    Fail,
}

impl OnError {
    pub fn from_name(name: &str) -> Option<OnError> {
        match name {
            "skip" => Some(OnError::Skip),
            "fail" => Some(OnError::Fail),
            _ => None,
        }
    }
}

/// A trace as the variants see it.
#[derive(Clone, Debug)]
pub enum Loaded {
    /// Ready to replay; `first_without_work` is the first line whose request carries no
    /// service time, if any does.
    Ready {
        trace: Arc<Trace>,
        first_without_work: Option<usize>,
    },
    /// The file could not be read at all: the reason, for an error at `workload.trace.path`.
    Unreadable(String),
    /// The file was read but cannot be used: its errors, located in the trace file.
    Unusable(Vec<ScenarioError>),
    /// The file holds no request: why, for an error at `workload.trace.path`, and the
    /// malformed lines that explain it.
    Empty(String, Vec<ScenarioError>),
}

/// Every trace a scenario's variants have asked for, and the warnings reading them gave.
#[derive(Default)]
pub struct TraceCache {
    entries: Vec<((PathBuf, TraceFormat, OnError), Loaded)>,
    /// One line each, ready to print.
    pub warnings: Vec<String>,
}

impl TraceCache {
    /// The trace at `path` (as the scenario's folder joined with what the file says),
    /// read the first time it is asked for.
    pub fn load(&mut self, path: &Path, format: TraceFormat, on_error: OnError) -> Loaded {
        let key = (path.to_path_buf(), format, on_error);
        if let Some((_, loaded)) = self.entries.iter().find(|(k, _)| *k == key) {
            return loaded.clone();
        }
        let shown = path.display().to_string();
        let loaded = match trace::read(path, format) {
            Err(error) => Loaded::Unreadable(format!("cannot read {shown:?}: {error}")),
            Ok(file) => self.judge(file, &shown, on_error),
        };
        self.entries.push((key, loaded.clone()));
        loaded
    }

    /// Turns what reading found into a usable trace, errors or warnings.
    fn judge(&mut self, file: TraceFile, shown: &str, on_error: OnError) -> Loaded {
        if !file.fatal.is_empty() {
            return Loaded::Unusable(file.fatal.iter().map(|p| located(shown, p)).collect());
        }
        let listed = || -> Vec<ScenarioError> {
            let mut errors: Vec<ScenarioError> =
                file.malformed.iter().map(|p| located(shown, p)).collect();
            let unlisted = file.malformed_count.saturating_sub(MAX_LISTED as u64);
            if unlisted > 0 {
                errors.push(ScenarioError {
                    file: shown.to_string(),
                    position: None,
                    key_path: String::new(),
                    message: format!(
                        "and {} not listed ({} in all)",
                        malformed_lines(unlisted),
                        file.malformed_count
                    ),
                });
            }
            errors
        };
        let Some(trace) = file.trace else {
            let why = if file.malformed_count > 0 {
                format!(
                    "{shown:?} holds no request, only {}",
                    malformed_lines(file.malformed_count)
                )
            } else {
                format!("{shown:?} holds no request")
            };
            return Loaded::Empty(why, listed());
        };
        if file.malformed_count > 0 {
            match on_error {
                OnError::Fail => return Loaded::Unusable(listed()),
                OnError::Skip => {
                    for problem in &file.malformed {
                        self.warnings.push(format!(
                            "warning: {}; line skipped",
                            located(shown, problem)
                        ));
                    }
                    self.warnings.push(format!(
                        "warning: {shown}: {} skipped{}; set workload.trace.on_error = \
                         \"fail\" to reject them instead",
                        malformed_lines(file.malformed_count),
                        if file.malformed_count > MAX_LISTED as u64 {
                            format!(" (the first {MAX_LISTED} listed)")
                        } else {
                            String::new()
                        }
                    ));
                }
            }
        }
        Loaded::Ready {
            trace: Arc::new(trace),
            first_without_work: file.first_without_work,
        }
    }
}

/// `1 malformed line`, `2 malformed lines`.
fn malformed_lines(count: u64) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} malformed line{plural}")
}

/// A line's problem as an error in the trace file, named by its field.
fn located(shown: &str, problem: &LineProblem) -> ScenarioError {
    ScenarioError {
        file: shown.to_string(),
        position: Some((problem.line, problem.col)),
        key_path: problem.field.to_string(),
        message: problem.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_with(text: &str, on_error: OnError) -> (TraceCache, Loaded, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).expect("write");
        let mut cache = TraceCache::default();
        let loaded = cache.load(&path, TraceFormat::Csv, on_error);
        (cache, loaded, dir)
    }

    #[test]
    fn a_trace_is_read_once_and_shared() {
        let (mut cache, first, dir) = cache_with("timestamp,client\n1,a\n", OnError::Skip);
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "timestamp,client\n1,a\n2,b\n").expect("rewrite");
        let second = cache.load(&path, TraceFormat::Csv, OnError::Skip);
        let (Loaded::Ready { trace: a, .. }, Loaded::Ready { trace: b, .. }) = (first, second)
        else {
            panic!("both ready")
        };
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(b.requests().len(), 1);
    }

    #[test]
    fn skipped_lines_are_warnings_listed_once_with_a_count() {
        let mut text = String::from("timestamp,client\n0,a\n");
        for _ in 0..25 {
            text.push_str("x,a\n");
        }
        let (cache, loaded, _dir) = cache_with(&text, OnError::Skip);
        let Loaded::Ready { trace, .. } = loaded else {
            panic!("ready")
        };
        assert_eq!(trace.skipped(), 25);
        assert_eq!(cache.warnings.len(), MAX_LISTED + 1);
        assert!(cache.warnings[0].starts_with("warning: "));
        assert!(cache.warnings[0].contains("t.csv:3:1: timestamp: expected seconds"));
        assert!(cache.warnings[0].ends_with("; line skipped"));
        assert!(
            cache.warnings[MAX_LISTED].contains("25 malformed lines skipped (the first 20 listed)")
        );
    }

    #[test]
    fn failing_lines_are_errors_at_their_line_with_a_count_of_the_rest() {
        let mut text = String::from("timestamp,client\n0,a\n");
        for _ in 0..22 {
            text.push_str("0,a,extra\n");
        }
        let (cache, loaded, _dir) = cache_with(&text, OnError::Fail);
        let Loaded::Unusable(errors) = loaded else {
            panic!("unusable")
        };
        assert!(cache.warnings.is_empty());
        assert_eq!(errors.len(), MAX_LISTED + 1);
        assert_eq!(errors[0].position, Some((3, 1)));
        assert!(errors[0].message.contains("expected 2 fields"));
        assert_eq!(
            errors[MAX_LISTED].message,
            "and 2 malformed lines not listed (22 in all)"
        );
    }

    #[test]
    fn a_trace_of_only_bad_lines_is_empty_and_says_why() {
        let (_, loaded, _dir) = cache_with("timestamp,client\nx,a\n", OnError::Skip);
        let Loaded::Empty(why, errors) = loaded else {
            panic!("empty")
        };
        assert!(why.ends_with("holds no request, only 1 malformed line"));
        assert_eq!(errors.len(), 1);
    }

    #[test]
    fn a_missing_file_is_unreadable() {
        let mut cache = TraceCache::default();
        let loaded = cache.load(Path::new("/nowhere/t.csv"), TraceFormat::Csv, OnError::Skip);
        assert!(
            matches!(loaded, Loaded::Unreadable(m) if m.starts_with("cannot read \"/nowhere/t.csv\""))
        );
    }
}
