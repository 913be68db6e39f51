//! Appending logbook entries to the repository itself: a new file under
//! `logbook/YYYY/MM/`, committed on top of the published branch (signed when a key is
//! given), without touching anyone's working tree changes.
//!
//! Used by `glassroom log`, by robots posting to `glassroom serve`, and by sync recording
//! its own attempts. Concurrent appends never lose an entry: the branch is updated with
//! compare-and-swap under git's own lock and a lost race is retried on the new head; a
//! process killed midway leaves nothing that blocks the next one (see [`journal`]).

use std::path::Path;

use git2::{Oid, Repository, Signature, Time};
use serde::Serialize;

use crate::content::types::Moment;
use crate::content::{Disposition, is_valid_id};

mod check;
mod journal;

use journal::{Intent, Journal};

pub use check::{
    DISPOSITIONS, FUTURE_TOLERANCE_SECONDS, Invalid, Rules, check, parse_at, parse_disposition,
};

/// A logbook entry to write.
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub procedure: Option<String>,
    /// The entity the entry is about (`host/web1`).
    pub about: Option<String>,
    pub by: String,
    pub disposition: Option<Disposition>,
    /// The last day an acknowledgement holds.
    pub until: Option<crate::content::types::Date>,
    pub reply_to: Option<String>,
    pub note: String,
    pub at: Moment,
}

/// The front matter exactly as the content model reads it.
#[derive(Serialize)]
struct FrontMatter<'a> {
    at: Moment,
    by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    procedure: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    about: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    disposition: Option<Disposition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    until: Option<crate::content::types::Date>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reply_to: Option<&'a str>,
}

/// The key commits are signed with (an OpenSSH private key file, unencrypted).
pub struct Signer {
    key: ssh_key::PrivateKey,
}

impl Signer {
    pub fn from_file(path: &Path) -> Result<Self, IntakeError> {
        let key = ssh_key::PrivateKey::read_openssh_file(path).map_err(|err| IntakeError::Key {
            path: path.display().to_string(),
            reason: err.to_string(),
        })?;
        if key.is_encrypted() {
            return Err(IntakeError::Key {
                path: path.display().to_string(),
                reason: "the key is encrypted; a server needs an unencrypted key file".into(),
            });
        }
        Ok(Self { key })
    }

    /// The public half, to find who the policy says the key belongs to.
    pub fn public_key(&self) -> &ssh_key::PublicKey {
        self.key.public_key()
    }

    fn sign(&self, payload: &str) -> Result<String, IntakeError> {
        self.key
            .sign(
                crate::trust::signature::NAMESPACE,
                ssh_key::HashAlg::Sha512,
                payload.as_bytes(),
            )
            .and_then(|sig| sig.to_pem(ssh_key::LineEnding::LF))
            .map_err(|err| IntakeError::Sign(err.to_string()))
    }
}

/// Who the commit is by.
#[derive(Debug, Clone)]
pub struct Committer {
    pub name: String,
    pub email: String,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Appended {
    pub id: String,
    pub path: String,
    pub commit: String,
    /// What was repaired first, left by an append killed midway (for the log).
    #[serde(skip)]
    pub repaired: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("cannot use the signing key {path}: {reason}")]
    Key { path: String, reason: String },
    #[error("cannot sign the commit: {0}")]
    Sign(String),
    #[error("cannot write the entry: {0}")]
    Serialize(String),
    #[error("the repository has no commit to append to")]
    NoHead,
    #[error("the branch kept moving; gave up after {0} attempts")]
    Contended(usize),
    #[error(
        "{path} exists and was not let go of for {seconds} s: another git command is working in this repository, or one crashed and left it; if no git command is running, remove {path}"
    )]
    Locked { path: String, seconds: u64 },
    #[error("cannot use {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

const ATTEMPTS: usize = 20;

/// Appends `entry` as a new commit on the branch HEAD points to. `now` (seconds) is the
/// commit time; it is never earlier than the parent's, so history stays monotonic.
///
/// The entry is committed whole or not at all, whatever moment the process is killed
/// at; the next append (or [`recover`]) clears what a killed one left (see [`journal`]).
pub fn append(
    repo_path: &Path,
    entry: &NewEntry,
    committer: &Committer,
    signer: Option<&Signer>,
    now: i64,
) -> Result<Appended, IntakeError> {
    let repo = Repository::open(repo_path)?;
    let (journal, repaired) = Journal::open(&repo)?;
    let text = render(entry)?;
    let blob = repo.blob(text.as_bytes())?;
    for _ in 0..ATTEMPTS {
        let head = repo.head().map_err(|_| IntakeError::NoHead)?;
        let branch = head.name().unwrap_or("HEAD").to_owned();
        let parent = head.peel_to_commit().map_err(|_| IntakeError::NoHead)?;
        let (id, path) = unique_path(&parent.tree()?, entry);
        let tree = insert(&repo, &parent.tree()?, &path, blob)?;
        let time = now.max(parent.time().seconds());
        let who = Signature::new(&committer.name, &committer.email, &Time::new(time, 0))?;
        let message = match &entry.procedure {
            Some(procedure) => format!("Log {procedure} by {}", entry.by),
            None => format!("Log note by {}", entry.by),
        };
        let commit = match signer {
            Some(signer) => {
                let buffer = repo.commit_create_buffer(&who, &who, &message, &tree, &[&parent])?;
                let payload = buffer.as_str()?;
                let signature = signer.sign(payload)?;
                repo.commit_signed(payload, &signature, Some("gpgsig"))?
            }
            None => repo.commit(None, &who, &who, &message, &tree, &[&parent])?,
        };
        let intent = Intent {
            pid: std::process::id(),
            branch: branch.clone(),
            parent: parent.id().to_string(),
            commit: commit.to_string(),
            path: path.clone(),
            blob: blob.to_string(),
            index: journal.checkout().is_some(),
        };
        journal.begin(&intent)?;
        // Git's order: the index first, then the branch.
        let index_lock = match intent.index {
            true => Some(journal.take_index()?),
            false => None,
        };
        let ref_lock = match journal.take_ref(&branch) {
            Ok(lock) => lock,
            Err(err) => {
                if let Some(lock) = index_lock {
                    lock.release()?;
                }
                return Err(err);
            }
        };
        // Compare-and-swap, under the branch's lock: only if it is still where we read it.
        let current = repo.refname_to_id(&branch).ok();
        if current != Some(parent.id()) {
            ref_lock.release()?;
            if let Some(lock) = index_lock {
                lock.release()?;
            }
            journal.finish();
            continue;
        }
        let mut index_lock = index_lock;
        if let Some(lock) = index_lock.as_mut() {
            journal.stage_index(lock, &path, blob, text.len())?;
        }
        // The commit point; the index follows at once, as in git's own commit.
        journal.move_branch(ref_lock, &intent, &who, &message)?;
        if let Some(lock) = index_lock {
            lock.commit(&journal.index_file())?;
            journal.write_worktree(&repo, &path, blob)?;
        }
        journal.finish();
        return Ok(Appended {
            id,
            path,
            commit: commit.to_string(),
            repaired,
        });
    }
    journal.finish();
    Err(IntakeError::Contended(ATTEMPTS))
}

/// Clears what an append killed midway left in `repo_path` (its own locks only, proven
/// to be its own) and brings the index in step with the entry if it was committed.
/// Returns what was done, for the log; nothing when there was nothing to do.
pub fn recover(repo_path: &Path) -> Result<Vec<String>, IntakeError> {
    let repo = Repository::open(repo_path)?;
    let (_journal, repaired) = Journal::open(&repo)?;
    Ok(repaired)
}

/// The entry's file text: YAML front matter and the note as Markdown body.
pub fn render(entry: &NewEntry) -> Result<String, IntakeError> {
    let front = FrontMatter {
        at: entry.at,
        by: &entry.by,
        procedure: entry.procedure.as_deref(),
        about: entry.about.as_deref(),
        until: entry.until,
        disposition: entry.disposition,
        reply_to: entry.reply_to.as_deref(),
    };
    let yaml =
        serde_saphyr::to_string(&front).map_err(|e| IntakeError::Serialize(e.to_string()))?;
    let note = entry.note.trim();
    Ok(format!(
        "---\n{}---\n{}{}",
        ensure_newline(&yaml),
        note,
        if note.is_empty() { "" } else { "\n" }
    ))
}

fn ensure_newline(text: &str) -> String {
    if text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

/// `logbook/2026/11/2026-11-23-031500-verify-backup-tape.md`, made unique in `tree`.
fn unique_path(tree: &git2::Tree<'_>, entry: &NewEntry) -> (String, String) {
    let date = entry.at.date().0;
    let time = entry.at.0.to_zoned(jiff::tz::TimeZone::UTC);
    // The procedure done, else what the entry is about (`host/web1` → `web1`).
    let about = entry
        .about
        .as_deref()
        .and_then(|about| about.split_once('/'))
        .map(|(_, id)| id);
    let topic = entry
        .procedure
        .as_deref()
        .or(about)
        .filter(|p| is_valid_id(p))
        .unwrap_or("note");
    let base = format!(
        "{:04}-{:02}-{:02}-{:02}{:02}{:02}-{topic}",
        date.year(),
        date.month(),
        date.day(),
        time.hour(),
        time.minute(),
        time.second()
    );
    let dir = crate::content::logbook::month_folder(entry.at);
    let mut n = 1;
    loop {
        let id = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let path = format!("{dir}/{id}.md");
        if tree.get_path(Path::new(&path)).is_err() {
            return (id, path);
        }
        n += 1;
    }
}

/// `tree` with a blob at `path`, creating directories as needed.
fn insert<'r>(
    repo: &'r Repository,
    tree: &git2::Tree<'_>,
    path: &str,
    blob: Oid,
) -> Result<git2::Tree<'r>, git2::Error> {
    fn go(
        repo: &Repository,
        tree: Option<&git2::Tree<'_>>,
        parts: &[&str],
        blob: Oid,
    ) -> Result<Oid, git2::Error> {
        let mut builder = repo.treebuilder(tree)?;
        match parts {
            [name] => {
                builder.insert(name, blob, 0o100644)?;
            }
            [dir, rest @ ..] => {
                let existing = tree
                    .and_then(|t| t.get_name(dir))
                    .and_then(|e| e.to_object(repo).ok())
                    .and_then(|o| o.into_tree().ok());
                let sub = go(repo, existing.as_ref(), rest, blob)?;
                builder.insert(dir, sub, 0o040000)?;
            }
            [] => {}
        }
        builder.write()
    }
    let parts: Vec<&str> = path.split('/').collect();
    let id = go(repo, Some(tree), &parts, blob)?;
    repo.find_tree(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> NewEntry {
        NewEntry {
            procedure: Some("verify-backup-tape".into()),
            about: None,
            until: None,
            by: "backup-bot".into(),
            disposition: Some(Disposition::Ok),
            reply_to: None,
            note: "Tape EC0001 verified: 0 errors.\n\n- \"quoted\": yes".into(),
            at: "2026-11-23T03:15:00Z"
                .parse()
                .unwrap_or(Moment(jiff::Timestamp::UNIX_EPOCH)),
        }
    }

    #[test]
    fn entries_render_as_valid_logbook_files() -> Result<(), IntakeError> {
        let text = render(&entry())?;
        assert!(text.starts_with("---\n"));
        let mut tree = crate::source::Tree::new();
        tree.insert("logbook/2026/11/x.md", text.clone());
        let loaded = crate::content::load(&tree);
        let parsed = &loaded.content.logbook;
        assert_eq!(parsed.len(), 1, "{text}\n{:?}", loaded.diagnostics);
        assert_eq!(parsed[0].data.by, "backup-bot");
        assert_eq!(parsed[0].data.disposition, Some(Disposition::Ok));
        assert!(parsed[0].body.contains("\"quoted\": yes"));
        Ok(())
    }
}
