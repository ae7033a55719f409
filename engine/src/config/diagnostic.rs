//! Configuration errors: `file:line:column: what is wrong; what was expected`.

use super::located::Position;
use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    pub at: Position,
    pub message: String,
}

impl Diagnostic {
    pub fn new(file: impl Into<PathBuf>, at: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.into(),
            at,
            message: message.into(),
        }
    }

    /// An error about a whole file (unreadable, or a reference into it).
    pub fn in_file(file: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Diagnostic::new(file, Position { line: 1, column: 1 }, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.at.line,
            self.at.column,
            self.message
        )
    }
}

/// Collects every error of a check instead of stopping at the first.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    /// Records an error at `at` in `file`.
    pub fn error(&mut self, file: &Path, at: Position, message: impl Into<String>) {
        self.items.push(Diagnostic::new(file, at, message));
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn sorted(mut self) -> Vec<Diagnostic> {
        self.items
            .sort_by(|a, b| (&a.file, a.at.line, a.at.column).cmp(&(&b.file, b.at.line, b.at.column)));
        self.items.dedup();
        self.items
    }
}
