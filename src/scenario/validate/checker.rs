//! The context every section is checked through, and the one place its errors are made.
//!
//! An error is located at `file:line:col` of the offending value and named by its key
//! path; one under an entry serde already rejected is dropped, since that entry's own
//! error says what is wrong. Sections share the context rather than returning errors so
//! that each check records its problem and carries on.

use std::path::Path;

use crate::scenario::error::line_col;
use crate::scenario::replay::TraceCache;
use crate::scenario::{Declared, ScenarioError};

/// Checks one variant's raw scenario, recording errors as it goes.
pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) source: &'a str,
    /// Entries serde rejected: their errors are already reported.
    pub(super) removed: &'a [String],
    /// The scenario file's folder, where trace paths start.
    pub(super) folder: &'a Path,
    /// The traces read so far, shared by every variant.
    pub(super) traces: &'a mut TraceCache,
    pub(super) errors: Vec<ScenarioError>,
}

impl Checker<'_> {
    /// Whether `path` is, or is under, an entry serde rejected.
    pub(super) fn is_removed(&self, path: &str) -> bool {
        self.removed.iter().any(|removed| {
            path.strip_prefix(removed.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
        })
    }

    /// Records an error at byte `offset` of the scenario, for key `path`, unless `path`
    /// is under an entry serde rejected (whose own error says what is wrong).
    pub(super) fn error(&mut self, offset: usize, path: &str, message: impl Into<String>) {
        if !self.is_removed(path) {
            self.errors.push(ScenarioError::at(
                self.file,
                self.source,
                offset,
                path,
                message,
            ));
        }
    }

    /// Where byte `offset` is, for what is reported after validation (where an
    /// expectation was written).
    pub(super) fn declared(&self, offset: usize) -> Declared {
        let (line, _) = line_col(self.source, offset);
        Declared {
            file: self.file.to_string(),
            line,
        }
    }
}
