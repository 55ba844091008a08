//! Scenario errors: each one located at `file:line:col` with the key path it concerns.

use std::fmt;
use std::path::Path;

/// One problem in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file as given on the command line.
    pub file: String,
    /// 1-based line and column; `None` for problems with the file as a whole.
    pub position: Option<(usize, usize)>,
    /// Dotted key path (`servers[0].workers`); empty for the whole document.
    pub key_path: String,
    /// What was expected and what was found, with a suggestion where one exists.
    pub message: String,
}

impl ScenarioError {
    /// An error at byte offset `offset` of `source`.
    pub fn at(
        file: &str,
        source: &str,
        offset: usize,
        key_path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ScenarioError {
            file: file.to_string(),
            position: Some(line_col(source, offset)),
            key_path: key_path.into(),
            message: message.into(),
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `source`.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = &source[..source.floor_char_boundary(offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.position {
            write!(f, ":{line}:{col}")?;
        }
        if self.key_path.is_empty() {
            write!(f, ": {}", self.message)
        } else {
            write!(f, ": {}: {}", self.key_path, self.message)
        }
    }
}

/// Every problem found in one file (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl ScenarioErrors {
    /// The file could not be read at all.
    pub fn io(path: &Path, error: &std::io::Error) -> Self {
        ScenarioErrors(vec![ScenarioError {
            file: path.display().to_string(),
            position: None,
            key_path: String::new(),
            message: format!("cannot read: {error}"),
        }])
    }
}

impl ScenarioErrors {
    /// A problem with a file (or set of files) as a whole.
    pub fn message(file: &str, message: &str) -> Self {
        ScenarioErrors(vec![ScenarioError {
            file: file.to_string(),
            position: None,
            key_path: String::new(),
            message: message.to_string(),
        }])
    }
}

/// The most errors of one file shown, one per line. A file that is not a scenario at all
/// (a README passed by mistake) yields a syntax error on nearly every line, hundreds of
/// lines that bury the one that matters: the first. Past this many, a last line says how
/// many more there are (the list itself keeps them all, for a program to read).
pub const SHOWN_ERRORS: usize = 10;

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().take(SHOWN_ERRORS).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        let hidden = self.0.len().saturating_sub(SHOWN_ERRORS);
        if hidden > 0 {
            let file = &self.0[0].file;
            let errors = if hidden == 1 { "error" } else { "errors" };
            write!(f, "\n{file}: and {hidden} more {errors}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let source = "a = 1\nbé = 2\n";
        assert_eq!(line_col(source, 0), (1, 1));
        assert_eq!(line_col(source, 6), (2, 1));
        assert_eq!(line_col(source, source.find('=').unwrap()), (1, 3));
        assert_eq!(line_col(source, source.rfind('=').unwrap()), (2, 4));
    }

    fn errors(count: usize) -> ScenarioErrors {
        let source = "x\n".repeat(count);
        ScenarioErrors(
            (0..count)
                .map(|i| ScenarioError::at("notes.md", &source, 2 * i, "", "invalid key"))
                .collect(),
        )
    }

    #[test]
    fn a_long_error_list_shows_the_first_ones_and_counts_the_rest() {
        let shown = errors(321).to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), SHOWN_ERRORS + 1);
        assert_eq!(lines[0], "notes.md:1:1: invalid key");
        assert_eq!(lines[SHOWN_ERRORS - 1], "notes.md:10:1: invalid key");
        assert_eq!(lines[SHOWN_ERRORS], "notes.md: and 311 more errors");
        assert!(
            errors(SHOWN_ERRORS + 1)
                .to_string()
                .ends_with("and 1 more error")
        );
    }

    #[test]
    fn a_short_error_list_is_shown_whole() {
        let shown = errors(SHOWN_ERRORS).to_string();
        assert_eq!(shown.lines().count(), SHOWN_ERRORS);
        assert!(!shown.contains("more"));
    }

    #[test]
    fn display_reads_file_line_col_path_message() {
        let error = ScenarioError::at(
            "x.toml",
            "a\nbb = -3",
            7,
            "servers[0].workers",
            "expected a positive integer, found -3",
        );
        assert_eq!(
            error.to_string(),
            "x.toml:2:6: servers[0].workers: expected a positive integer, found -3"
        );
    }
}
