//! The approved head as the sync sees it: its commit, its approved tree, the fingerprint
//! that decides whether anything changed, and the sync configuration it approves.
//!
//! **The fingerprint** is blake3 over the approved tree (every path and its bytes, in path
//! order) *except logbook entries of procedure `sync`*: those are the sync's own records
//! of its attempts. Recording an attempt commits such an entry; without the exclusion
//! that commit would change the fingerprint and schedule another sync, which would record
//! another entry, forever. With it, a commit that only adds sync records (or only
//! unsigned, pending changes, which do not change the approved tree) leaves the
//! fingerprint as it was and triggers nothing; the records are published with the next
//! real change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::content::{self, SyncConfig};
use crate::pipeline::{self, Opened, Session, Source};
use crate::source::Tree;

/// The procedure id sync records its attempts under.
pub const PROCEDURE: &str = "sync";

/// The approved head of a repository.
pub struct Snapshot {
    pub opened: Opened,
    /// The session that opened it and loaded its content: a build of the snapshot
    /// through it takes that content instead of loading it again.
    pub session: Session,
    /// The commit (HEAD) whose verified history gave the approved tree.
    pub commit: String,
    pub fingerprint: String,
    /// The approved `sync:` configuration, or why there is none.
    pub config: Result<SyncConfig, String>,
    /// Whether `procedures/sync.md` is approved (a `procedure: sync` entry needs it).
    pub has_sync_procedure: bool,
    /// The e-mail address the approved policy gives each user.
    pub emails: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{} is not a git repository: sync publishes only signed changes, so it needs one", path.display())]
    NotGit { path: PathBuf },
    /// The message carries the cause chain: sync records and shows it as one line.
    #[error("cannot read the approved tree of {}: {}", path.display(), chain(error))]
    Open {
        path: PathBuf,
        error: pipeline::OpenError,
    },
}

/// The git directory of the repository at `path` (the directory itself for a bare one).
pub fn git_dir(path: &Path) -> Result<PathBuf, SnapshotError> {
    crate::source::git::open(path)
        .map(|repo| repo.path().to_path_buf())
        .map_err(|_| SnapshotError::NotGit {
            path: path.to_path_buf(),
        })
}

/// The commit HEAD points to now (cheap: no verification), to notice movement.
pub fn head(path: &Path) -> Option<String> {
    let repo = crate::source::git::open(path).ok()?;
    let id = repo.head().ok()?.peel_to_commit().ok()?.id();
    Some(id.to_string())
}

/// Reads the approved head of `path`. `clock` is the verification time (seconds).
pub fn take(path: &Path, trust_root: Option<&str>, clock: i64) -> Result<Snapshot, SnapshotError> {
    git_dir(path)?;
    let source = Source {
        rev: None,
        worktree: false,
        trust_root: trust_root.map(str::to_owned),
    };
    let session = Session::sharing_content();
    let opened = session
        .open(path, &source, clock)
        .map_err(|err| SnapshotError::Open {
            path: path.to_path_buf(),
            error: err,
        })?;
    let commit = opened
        .trust
        .as_ref()
        .map(|t| t.target.clone())
        .unwrap_or_default();
    // Loaded as a build loads it, and left in the session for the build.
    let Read {
        fingerprint,
        config,
        has_sync_procedure,
        emails,
    } = session.load(&opened, |loaded| {
        read_content(&opened.tree, &loaded.content)
    });
    Ok(Snapshot {
        commit,
        fingerprint,
        config,
        has_sync_procedure,
        emails,
        opened,
        session,
    })
}

/// What a snapshot reads of the approved content (see [`Snapshot`]).
struct Read {
    fingerprint: String,
    config: Result<SyncConfig, String>,
    has_sync_procedure: bool,
    emails: std::collections::BTreeMap<String, String>,
}

fn read_content(tree: &Tree, content: &content::Content) -> Read {
    let own: BTreeSet<&str> = content
        .logbook
        .iter()
        .filter(|entry| {
            entry
                .data
                .procedure
                .as_ref()
                .is_some_and(|p| p.as_str() == PROCEDURE)
        })
        .map(|entry| entry.path.as_str())
        .collect();
    let fingerprint = fingerprint(tree, &own);
    let config = match (&content.config, tree.get("glassroom.yaml")) {
        (Some(config), _) => Ok(config.data.sync.clone()),
        (None, None) => Ok(SyncConfig::default()),
        (None, Some(_)) => {
            Err("the approved glassroom.yaml has errors (run `glassroom check`)".to_owned())
        }
    };
    let has_sync_procedure = content.procedures.iter().any(|p| p.id == PROCEDURE);
    let emails = content
        .policy
        .as_ref()
        .map(|policy| {
            policy
                .data
                .users
                .iter()
                .filter_map(|(name, user)| {
                    user.email
                        .as_ref()
                        .map(|email| (name.to_string(), email.clone()))
                })
                .collect()
        })
        .unwrap_or_default();
    Read {
        fingerprint,
        config,
        has_sync_procedure,
        emails,
    }
}

/// blake3 over every file of `tree` not in `excluded`: path and bytes, length-prefixed.
pub fn fingerprint(tree: &Tree, excluded: &BTreeSet<&str>) -> String {
    let mut hasher = blake3::Hasher::new();
    for (path, bytes) in tree.iter() {
        if excluded.contains(path) {
            continue;
        }
        hasher.update(&(path.len() as u64).to_le_bytes());
        hasher.update(path.as_bytes());
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher.finalize().to_hex().to_string()
}

fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> Tree {
        let mut tree = Tree::new();
        for (path, text) in files {
            tree.insert(*path, text.as_bytes().to_vec());
        }
        tree
    }

    #[test]
    fn fingerprints_see_every_byte_and_path() {
        let none = BTreeSet::new();
        let a = fingerprint(&tree(&[("hosts/a.yaml", "x")]), &none);
        assert_eq!(a, fingerprint(&tree(&[("hosts/a.yaml", "x")]), &none));
        assert_ne!(a, fingerprint(&tree(&[("hosts/a.yaml", "y")]), &none));
        assert_ne!(a, fingerprint(&tree(&[("hosts/b.yaml", "x")]), &none));
        // Length prefixes: moving bytes between path and content changes the hash.
        assert_ne!(
            fingerprint(&tree(&[("ab", "c")]), &none),
            fingerprint(&tree(&[("a", "bc")]), &none)
        );
    }

    #[test]
    fn the_syncs_own_records_do_not_change_the_fingerprint() {
        let base = [("hosts/a.yaml", "x")];
        let record = "logbook/2026/11/2026-11-23-100000-sync.md";
        let with_record = tree(&[base[0], (record, "---\nprocedure: sync\n---\n")]);
        let excluded = BTreeSet::from([record]);
        assert_eq!(
            fingerprint(&with_record, &excluded),
            fingerprint(&tree(&base), &BTreeSet::new())
        );
    }
}
