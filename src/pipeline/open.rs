//! Opening a repository the way every consumer reads it: the approved tree of a commit's
//! verified history, or, on request or for a plain directory, the files as they are.

use std::collections::BTreeMap;
use std::path::Path;

use crate::content::types::Moment;
use crate::source::{self, Tree};
use crate::trust::history::{self, Options, Report};

/// The tree to work on and how it was obtained.
pub struct Opened {
    pub tree: Tree,
    /// The verification of history, when the tree is an approved tree.
    pub trust: Option<Report>,
    /// The tree is not verified (working directory): every page must say so.
    pub preview: bool,
    /// The newest signed commit's date, for a reproducible default "now".
    pub commit_time: Option<Moment>,
    /// Pending file → who could sign it, for messages about references to it.
    pub pending_notes: BTreeMap<String, String>,
    /// Things to tell the user on stderr.
    pub warnings: Vec<String>,
}

/// Which tree to read (the library's form of `--rev`, `--worktree`, `--trust-root`).
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub rev: Option<String>,
    pub worktree: bool,
    pub trust_root: Option<String>,
}

/// How far ahead of the clock a signed commit's date is still believed (seconds).
const FUTURE_TOLERANCE: i64 = 24 * 60 * 60;

/// Reads `path` as `source` asks. `clock` is the verification time (seconds).
pub fn open(
    path: &Path,
    source: &Source,
    clock: i64,
) -> Result<Opened, Box<dyn std::error::Error>> {
    open_cached(path, source, clock, &Caches::default())
}

/// What earlier reads in this process saw, so a server reads again only what changed.
#[derive(Default)]
pub struct Caches {
    /// The files of a directory (the preview).
    pub files: source::DirCache,
    /// The blobs of the approved tree (a repository served as signed).
    pub blobs: source::git::BlobCache,
    /// The state of the last verification of history.
    pub trust: history::Kept,
}

impl Caches {
    /// Caches that remember each read for the next.
    pub fn keeping() -> Self {
        Self {
            files: source::DirCache::keeping(),
            blobs: source::git::BlobCache::keeping(),
            trust: history::Kept::keeping(),
        }
    }
}

/// Like [`open`], reading through `caches`.
pub fn open_cached(
    path: &Path,
    source: &Source,
    clock: i64,
    caches: &Caches,
) -> Result<Opened, Box<dyn std::error::Error>> {
    if source.worktree {
        return Ok(directory(path, true, Vec::new(), &caches.files)?);
    }
    let repo = match source::git::open(path) {
        Ok(repo) => repo,
        Err(_) if source.rev.is_none() && source.trust_root.is_none() => {
            let warning = format!(
                "{} is not a git repository: reading its files as they are; no signature is verified",
                path.display()
            );
            return Ok(directory(path, false, vec![warning], &caches.files)?);
        }
        Err(err) => return Err(err.into()),
    };
    let target = source::git::resolve(&repo, source.rev.as_deref().unwrap_or("HEAD"))?;
    let report = history::replay(
        &repo,
        target,
        &Options {
            trust_root: source.trust_root.clone(),
            now: clock,
            cache: true,
            forward_only: source.rev.is_none(),
        },
        &caches.trust,
    )?;
    let tree = history::approved_tree(&repo, &report, &caches.blobs)?;
    // The newest signed commit's date (an unsigned commit's date never counts). A date
    // more than a day ahead of the clock is not believed (clocks disagree by minutes,
    // not days): the site is built for the clock's time, and the user is told.
    let mut warnings = report.warnings.clone();
    let time = if report.time > clock + FUTURE_TOLERANCE {
        warnings.push(format!(
            "the newest signed commit is dated {}, in the future: building for the current time instead",
            jiff::Timestamp::from_second(report.time).map_or_else(|_| report.time.to_string(), |t| t.to_string())
        ));
        clock
    } else {
        report.time
    };
    let commit_time = jiff::Timestamp::from_second(time).ok().map(Moment);
    let pending_notes = report
        .pending
        .iter()
        .filter(|p| p.blob.is_some())
        .map(|p| {
            let who = if p.signers.is_empty() {
                "nobody (no one has the role)".to_owned()
            } else {
                p.signers.join(", ")
            };
            (p.path.clone(), who)
        })
        .collect();
    Ok(Opened {
        tree,
        warnings,
        trust: Some(report),
        preview: false,
        commit_time,
        pending_notes,
    })
}

fn directory(
    path: &Path,
    preview: bool,
    warnings: Vec<String>,
    files: &source::DirCache,
) -> Result<Opened, source::SourceError> {
    Ok(Opened {
        tree: source::read_dir_cached(path, files)?,
        trust: None,
        preview,
        commit_time: None,
        pending_notes: BTreeMap::new(),
        warnings,
    })
}
