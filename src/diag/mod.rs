//! Diagnostics as data: what is wrong, where (file + byte range), and how to fix it.
//!
//! Rendering is separate ([`render`]): a human form with source context, a one-line form
//! (`path:line:column: error: message`) for pipes and editors, and JSON.

mod files;
pub mod printable;
pub mod render;

use std::ops::Range;

pub use files::{File, FileId, Files, LineColumn};
pub use printable::printable;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a source file: the file and a byte range within it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: FileId,
    pub range: Range<usize>,
}

impl Location {
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        Self { file, range }
    }

    /// The start of a file, for problems about the file as a whole.
    pub fn file_start(file: FileId) -> Self {
        Self { file, range: 0..0 }
    }
}

/// One problem found in the content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// A stable, kebab-case identifier of the kind of problem (`unknown-field`, ...).
    pub code: &'static str,
    pub message: String,
    /// Where the problem is; `None` only for problems about the repository as a whole.
    pub location: Option<Location>,
    /// Other places that explain the problem (for instance where a duplicate was first defined).
    pub related: Vec<(Location, String)>,
    /// How to fix it, when that is obvious.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: None,
            related: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, location: Location, message: impl Into<String>) -> Self {
        self.related.push((location, message.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Diagnostics collected over a whole run, in a stable order.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.items.push(diagnostic);
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(diagnostics);
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    /// Orders by file, then position, then message, so output never depends on the order
    /// in which parallel work finished.
    pub fn sort(&mut self, files: &Files) {
        self.items.sort_by(|a, b| {
            let key = |d: &Diagnostic| {
                d.location
                    .as_ref()
                    .map(|l| (files.path(l.file).to_owned(), l.range.start))
            };
            key(a).cmp(&key(b)).then_with(|| a.message.cmp(&b.message))
        });
        self.items.dedup();
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Where a YAML document starts inside its file, so spans relative to the document (as
/// [`crate::yaml::Spanned`] records them) become locations in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Origin {
    pub file: FileId,
    pub offset: usize,
}

impl Origin {
    pub fn at(&self, span: &Range<usize>) -> Location {
        Location::new(self.file, self.offset + span.start..self.offset + span.end)
    }

    pub fn at_value<T>(&self, value: &crate::yaml::Spanned<T>) -> Location {
        self.at(&value.span)
    }

    pub fn file_start(&self) -> Location {
        Location::file_start(self.file)
    }
}
