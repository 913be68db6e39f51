//! Opening a repository the way every consumer reads it: the approved tree of a commit's
//! verified history, or, on request or for a plain directory, the files as they are.

use std::collections::BTreeMap;
use std::path::Path;

use super::memory::Memory;
use crate::content::model::Limits;
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
    /// The files of the tree published only because the policy pre-approves their path
    /// ([`provisional`]): such a file that has errors is left out, not an error.
    pub provisional: history::Provisional,
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

/// Why a repository could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The directory (a preview, or a directory that is not a repository) cannot be read.
    #[error(transparent)]
    Directory(#[from] source::SourceError),
    /// Not a git repository, or the revision does not name a commit.
    #[error(transparent)]
    Git(#[from] source::git::GitError),
    /// The history could not be verified.
    #[error(transparent)]
    Trust(#[from] history::TrustError),
    /// A plain directory with neither `glassroom.yaml` nor a policy: not a repository
    /// of glassroom's at all (a wrong path, usually).
    #[error(
        "{} has no glassroom.yaml (and is not a git repository): give the path of a glassroom repository, e.g. `content-example`",
        .0.display()
    )]
    NotARepository(std::path::PathBuf),
    /// The approved files could not be read from git's object database.
    #[error("cannot read the approved files from the repository's object database")]
    Blobs(#[source] git2::Error),
}

/// How far ahead of the clock a signed commit's date is still believed (seconds).
const FUTURE_TOLERANCE: i64 = 24 * 60 * 60;

/// Reads `path` as `source` asks, once (a [`super::Session`] reads again only what
/// changed). `clock` is the verification time (seconds).
pub fn open(path: &Path, source: &Source, clock: i64) -> Result<Opened, OpenError> {
    open_through(path, source, clock, &Memory::default())
}

/// Like [`open`], through what `memory` kept of earlier reads.
pub(super) fn open_through(
    path: &Path,
    source: &Source,
    clock: i64,
    memory: &Memory,
) -> Result<Opened, OpenError> {
    if source.worktree {
        return Ok(directory(path, true, Vec::new(), &memory.files)?);
    }
    let repo = match source::git::open(path) {
        Ok(repo) => repo,
        Err(_) if source.rev.is_none() && source.trust_root.is_none() => {
            let warning = format!(
                "{} is not a git repository: reading its files as they are; no signature is verified",
                path.display()
            );
            let opened = directory(path, false, vec![warning], &memory.files)?;
            let config = crate::content::CONFIG_PATH;
            let policy = crate::trust::policy::POLICY_PATH;
            if opened.tree.get(config).is_none() && opened.tree.get(policy).is_none() {
                return Err(OpenError::NotARepository(path.to_owned()));
            }
            return Ok(opened);
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
        &memory.trust,
    )?;
    // The size of a file nobody signed is checked before it is read (from git's object
    // header); a signed file is read, and the content stage checks it then (asking git
    // for every header first would read each loose object twice).
    let limits = approved_limits(&repo, &report);
    let provisional = std::sync::Arc::clone(&report.provisional);
    let unsigned_content =
        |path: &str| provisional.contains(path) && crate::content::is_content_path(path);
    let tree = source::git::read_blobs_limited(
        &repo,
        &report.approved,
        &memory.blobs,
        limits.size_limit(&unsigned_content),
    )
    .map_err(OpenError::Blobs)?;
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
        provisional,
        trust: Some(report),
        preview: false,
        commit_time,
        pending_notes,
    })
}

/// The limits of the approved `glassroom.yaml`, read under the default limits (its size
/// from the object's header first): they bound the reading of every other file.
fn approved_limits(repo: &git2::Repository, report: &Report) -> Limits {
    let default = Limits::default();
    let text = report
        .approved
        .get(crate::trust::judge::CONFIG_PATH)
        .and_then(|id| git2::Oid::from_str(id).ok())
        .filter(|oid| {
            repo.odb()
                .and_then(|odb| odb.read_header(*oid))
                .is_ok_and(|(size, _)| size as u64 <= default.max_file_size.0)
        })
        .and_then(|oid| repo.find_blob(oid).ok())
        .and_then(|blob| String::from_utf8(blob.content().to_vec()).ok());
    text.map_or(default, |text| Limits::of_config(&text))
}

/// The limits of the `glassroom.yaml` of a directory, read under the default limits.
fn directory_limits(path: &Path) -> Limits {
    let config = path.join(crate::trust::judge::CONFIG_PATH);
    let default = Limits::default();
    let fits = std::fs::symlink_metadata(&config)
        .is_ok_and(|m| m.is_file() && m.len() <= default.max_file_size.0);
    if !fits {
        return default;
    }
    std::fs::read_to_string(&config).map_or(default, |text| Limits::of_config(&text))
}

fn directory(
    path: &Path,
    preview: bool,
    warnings: Vec<String>,
    files: &source::DirCache,
) -> Result<Opened, source::SourceError> {
    let limits = directory_limits(path);
    Ok(Opened {
        tree: source::read_dir_limited(
            path,
            files,
            limits.size_limit(&crate::content::is_content_path),
        )?,
        trust: None,
        preview,
        commit_time: None,
        pending_notes: BTreeMap::new(),
        provisional: Default::default(),
        warnings,
    })
}
