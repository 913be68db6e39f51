//! The command-line side of opening a repository: flags to [`Source`], warnings to stderr.

use std::path::Path;

use crate::cli::SourceArgs;
use crate::pipeline::{OpenError, Opened, Source, open as open_source};

impl From<&SourceArgs> for Source {
    fn from(args: &SourceArgs) -> Self {
        Source {
            rev: args.rev.clone(),
            worktree: args.worktree,
            trust_root: args.trust_root.clone(),
        }
    }
}

/// Reads `path` as the flags ask. `clock` is the verification time (seconds).
pub fn open(path: &Path, source: &SourceArgs, clock: i64) -> Result<Opened, OpenError> {
    open_source(path, &source.into(), clock)
}

/// Prints warnings on stderr, one per line.
pub fn print_warnings(warnings: &[String]) {
    for warning in warnings {
        eprintln!("warning: {}", crate::diag::printable(warning));
    }
}

/// The clock, read once at the edge of the program.
pub fn clock() -> i64 {
    jiff::Timestamp::now().as_second()
}
