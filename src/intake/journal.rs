//! Committing an entry so that a kill at any moment leaves the repository usable.
//!
//! The entry becomes part of history at one atomic step: the rename of the branch's lock
//! file onto the branch. Everything before it can be thrown away, everything after it
//! (the index and the working tree file, which keep a person's `git status` in step with
//! HEAD) can be redone. What is needed to redo or undo it is written first to an *intent*
//! in `<git dir>/glassroom/intake/`, a directory no commit can write.
//!
//! We take git's own lock files (`index.lock`, `refs/heads/<branch>.lock`) the way git
//! does — creating them only if absent — so a person's `git` and the intake never write
//! the same file at once. To tell later, beyond doubt, that a lock was left by us, each
//! lock is made as a hard link to an *anchor* file of ours, named in the intent before the
//! link exists: a lock file that is the same inode as our anchor (which still exists, so
//! its inode cannot have been reused) is ours; any other is a person's and is never
//! touched. Whether the process that made a lock is gone is proven by the `flock` on
//! `lock`, which the kernel releases when a process dies, SIGKILL included.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};

use super::IntakeError;
use crate::local::Durability;
use crate::source::git::index_entry;

const INTENT: &str = "intent.json";
const LOCK: &str = "lock";
const INDEX_ANCHOR: &str = "index.anchor";
const REF_ANCHOR: &str = "ref.anchor";
const INDEX_SCRATCH: &str = "index.next";
/// libgit2's own lock on the scratch index, left if we are killed while it writes.
const INDEX_SCRATCH_LOCK: &str = "index.next.lock";

/// How long a git lock held by someone else is waited for before giving up: git
/// commands hold them for milliseconds; longer means a command is stuck or crashed.
const LOCK_PATIENCE: Duration = Duration::from_secs(5);

/// What one append is about to do, written before any git lock is taken.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Intent {
    pub pid: u32,
    /// `refs/heads/main`, or `HEAD` when detached.
    pub branch: String,
    pub parent: String,
    pub commit: String,
    /// The entry's path and blob, to put in the index and working tree once committed.
    pub path: String,
    pub blob: String,
    /// Whether the index lock is taken (a repository with a working tree).
    pub index: bool,
}

/// The intake's directory in a repository, held exclusively while an append runs.
pub struct Journal {
    dir: PathBuf,
    git_dir: PathBuf,
    common_dir: PathBuf,
    workdir: Option<PathBuf>,
    _held: File,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> IntakeError + '_ {
    move |source| IntakeError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl Journal {
    /// Takes the intake's lock for `repo`, waiting for another glassroom process that
    /// is appending, and repairs what a killed one left. Returns what was repaired.
    pub fn open(repo: &Repository) -> Result<(Journal, Vec<String>), IntakeError> {
        let dir = repo.path().join("glassroom").join("intake");
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let lock_path = dir.join(LOCK);
        let held = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io(&lock_path))?;
        held.lock().map_err(io(&lock_path))?;
        let journal = Journal {
            dir,
            git_dir: repo.path().to_path_buf(),
            common_dir: repo.commondir().to_path_buf(),
            workdir: repo.workdir().map(Path::to_path_buf),
            _held: held,
        };
        let repaired = journal.recover(repo)?;
        Ok((journal, repaired))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The file of reference `name` (`HEAD` is per worktree, branches are shared).
    fn ref_file(&self, name: &str) -> PathBuf {
        if name == "HEAD" {
            self.git_dir.join("HEAD")
        } else {
            self.common_dir.join(name)
        }
    }

    pub fn index_file(&self) -> PathBuf {
        self.git_dir.join("index")
    }

    /// The working tree, when it has an index to keep in step.
    pub fn checkout(&self) -> Option<&Path> {
        self.workdir
            .as_deref()
            .filter(|_| self.index_file().is_file())
    }

    /// Writes the intent durably; anchors are made fresh first so a lock made from them
    /// can only be this append's.
    pub fn begin(&self, intent: &Intent) -> Result<(), IntakeError> {
        for name in [INDEX_ANCHOR, REF_ANCHOR] {
            let anchor = self.path(name);
            let _ = std::fs::remove_file(&anchor);
            let file = File::create(&anchor).map_err(io(&anchor))?;
            // Git's own files are world-readable; the lock becomes the index or the ref.
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o644))
                .map_err(io(&anchor))?;
        }
        let text = serde_json::to_vec(intent).map_err(|err| IntakeError::Io {
            path: self.path(INTENT).display().to_string(),
            source: std::io::Error::other(err),
        })?;
        let intent = self.path(INTENT);
        crate::local::write_atomically(&intent, &text, Durability::Durable).map_err(io(&intent))
    }

    /// Forgets the intent: the append is complete (or was abandoned before committing).
    pub fn finish(&self) {
        let _ = std::fs::remove_file(self.path(INTENT));
        for name in [INDEX_ANCHOR, REF_ANCHOR, INDEX_SCRATCH, INDEX_SCRATCH_LOCK] {
            let _ = std::fs::remove_file(self.path(name));
        }
    }

    /// Takes `<target>.lock` as ours, waiting a little for a person's git to let go.
    fn take(&self, target: &Path, anchor: &str) -> Result<GitLock, IntakeError> {
        let lock = lock_path(target);
        let anchor = self.path(anchor);
        let started = Instant::now();
        loop {
            match std::fs::hard_link(&anchor, &lock) {
                Ok(()) => {
                    return Ok(GitLock {
                        lock,
                        anchor,
                        held: true,
                    });
                }
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
                    if started.elapsed() >= LOCK_PATIENCE {
                        return Err(IntakeError::Locked {
                            path: lock.display().to_string(),
                            seconds: LOCK_PATIENCE.as_secs(),
                        });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(err) => return Err(io(&lock)(err)),
            }
        }
    }

    pub fn take_index(&self) -> Result<GitLock, IntakeError> {
        self.take(&self.index_file(), INDEX_ANCHOR)
    }

    pub fn take_ref(&self, branch: &str) -> Result<GitLock, IntakeError> {
        self.take(&self.ref_file(branch), REF_ANCHOR)
    }

    /// Moves `branch` to `commit` under its lock (the commit point), logging it in the
    /// reflogs git keeps for it, as git does.
    pub fn move_branch(
        &self,
        lock: GitLock,
        intent: &Intent,
        who: &git2::Signature<'_>,
        message: &str,
    ) -> Result<(), IntakeError> {
        let line = reflog_line(&intent.parent, &intent.commit, who, message);
        for log in self.reflogs(&intent.branch) {
            append_existing(&log, &line);
        }
        let mut lock = lock;
        lock.write(format!("{}\n", intent.commit).as_bytes())?;
        lock.commit(&self.ref_file(&intent.branch))
    }

    fn reflogs(&self, branch: &str) -> Vec<PathBuf> {
        let mut logs = vec![if branch == "HEAD" {
            self.git_dir.join("logs").join("HEAD")
        } else {
            self.common_dir.join("logs").join(branch)
        }];
        if branch != "HEAD" {
            logs.push(self.git_dir.join("logs").join("HEAD"));
        }
        logs
    }

    /// Writes into the index lock the index with the entry added, ready to be renamed
    /// onto the index right after the branch moves (so a person's git finds the index
    /// lock taken for no longer than git's own commit takes it).
    pub fn stage_index(
        &self,
        lock: &mut GitLock,
        path: &str,
        blob: Oid,
        size: usize,
    ) -> Result<(), IntakeError> {
        let scratch = self.path(INDEX_SCRATCH);
        let _ = std::fs::remove_file(self.path(INDEX_SCRATCH_LOCK));
        std::fs::copy(self.index_file(), &scratch).map_err(io(&scratch))?;
        let mut index = git2::Index::open(&scratch)?;
        if index
            .get_path(Path::new(path), 0)
            .is_none_or(|entry| entry.id != blob)
        {
            // The working file's stat data when it is already there.
            let stat = self
                .workdir
                .as_deref()
                .and_then(|w| std::fs::metadata(w.join(path)).ok());
            index.add(&index_entry(
                path,
                blob,
                git2::FileMode::Blob,
                size,
                stat.as_ref(),
            ))?;
            index.write()?;
        }
        let bytes = std::fs::read(&scratch).map_err(io(&scratch))?;
        lock.write(&bytes)
    }

    /// Puts the committed entry's file in the working tree, unless something is there.
    pub fn write_worktree(
        &self,
        repo: &Repository,
        path: &str,
        blob: Oid,
    ) -> Result<(), IntakeError> {
        let Some(workdir) = self.workdir.as_deref() else {
            return Ok(());
        };
        let full = workdir.join(path);
        if full.exists() {
            return Ok(());
        }
        let text = repo.find_blob(blob)?.content().to_vec();
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        // Written under a name known from the intent, so a kill between writing and
        // renaming leaves nothing recovery cannot find (a random temporary name would
        // stay in the person's `git status` as an untracked file).
        let partial = partial_worktree_file(&full);
        std::fs::write(&partial, &text).map_err(io(&partial))?;
        std::fs::rename(&partial, &full).map_err(io(&full))
    }

    /// Brings the index and working tree in step with an entry already committed.
    fn update_checkout(&self, repo: &Repository, path: &str, blob: Oid) -> Result<(), IntakeError> {
        let size = repo.find_blob(blob)?.size();
        let mut lock = self.take_index()?;
        self.stage_index(&mut lock, path, blob, size)?;
        lock.commit(&self.index_file())?;
        self.write_worktree(repo, path, blob)
    }

    /// Undoes or completes what a killed append left, if it left anything.
    fn recover(&self, repo: &Repository) -> Result<Vec<String>, IntakeError> {
        let intent_path = self.path(INTENT);
        let Ok(text) = std::fs::read(&intent_path) else {
            return Ok(Vec::new());
        };
        let mut done = Vec::new();
        let Ok(intent) = serde_json::from_slice::<Intent>(&text) else {
            // Cut short while being written (it is written atomically, so only by a
            // crash of the machine): no lock was taken after it.
            self.finish();
            return Ok(vec![format!(
                "removed an unreadable {} left by a crash",
                intent_path.display()
            )]);
        };
        let who = format!("an intake killed mid-commit (process {})", intent.pid);
        for (target, anchor) in [
            (self.index_file(), INDEX_ANCHOR),
            (self.ref_file(&intent.branch), REF_ANCHOR),
        ] {
            let lock = lock_path(&target);
            if same_file(&lock, &self.path(anchor)) {
                std::fs::remove_file(&lock).map_err(io(&lock))?;
                done.push(format!("removed {} left by {who}", lock.display()));
            }
        }
        if let Some(workdir) = self.workdir.as_deref() {
            let partial = partial_worktree_file(&workdir.join(&intent.path));
            if partial.exists() {
                std::fs::remove_file(&partial).map_err(io(&partial))?;
                done.push(format!("removed {} left by {who}", partial.display()));
            }
        }
        let committed = Oid::from_str(&intent.blob)
            .ok()
            .filter(|blob| branch_has(repo, &intent.branch, &intent.path, *blob).unwrap_or(false));
        match committed {
            Some(blob) if intent.index && self.checkout().is_some() => {
                self.update_checkout(repo, &intent.path, blob)?;
                done.push(format!(
                    "{} was committed by {who}; brought the index and working tree in step with it",
                    intent.path
                ));
            }
            Some(_) => done.push(format!("{} was committed by {who}", intent.path)),
            None => done.push(format!(
                "{} was not committed by {who}: nothing of it remains",
                intent.path
            )),
        }
        self.finish();
        Ok(done)
    }
}

/// Where the entry's working file is written before it is renamed into place.
fn partial_worktree_file(full: &Path) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(full.file_name().unwrap_or_default());
    name.push(".glassroom-partial");
    full.with_file_name(name)
}

/// Whether the tip of `branch` has `blob` at `path`.
fn branch_has(repo: &Repository, branch: &str, path: &str, blob: Oid) -> Result<bool, git2::Error> {
    let tip = repo.find_reference(branch)?.peel_to_commit()?;
    Ok(tip
        .tree()?
        .get_path(Path::new(path))
        .is_ok_and(|entry| entry.id() == blob))
}

fn lock_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// Both exist and are one file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::symlink_metadata(a), std::fs::symlink_metadata(b)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// One of git's lock files, taken by us; given back unchanged if dropped uncommitted (on
/// an error), so a failure never leaves a lock behind while the process lives.
pub struct GitLock {
    lock: PathBuf,
    anchor: PathBuf,
    held: bool,
}

impl Drop for GitLock {
    fn drop(&mut self) {
        if self.held && same_file(&self.lock, &self.anchor) {
            let _ = std::fs::remove_file(&self.lock);
        }
    }
}

impl GitLock {
    /// Writes `bytes` into the lock, durably.
    fn write(&mut self, bytes: &[u8]) -> Result<(), IntakeError> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .truncate(true)
            .open(&self.anchor)
            .map_err(io(&self.anchor))?;
        file.write_all(bytes).map_err(io(&self.lock))?;
        file.sync_all().map_err(io(&self.lock))
    }

    /// Renames the lock, as written, onto `target`: atomically.
    pub fn commit(mut self, target: &Path) -> Result<(), IntakeError> {
        std::fs::rename(&self.lock, target).map_err(io(target))?;
        self.held = false;
        Ok(())
    }

    /// Gives the lock back unchanged.
    pub fn release(mut self) -> Result<(), IntakeError> {
        self.held = false;
        if same_file(&self.lock, &self.anchor) {
            std::fs::remove_file(&self.lock).map_err(io(&self.lock))?;
        }
        Ok(())
    }
}

/// A reflog line as git writes it.
fn reflog_line(old: &str, new: &str, who: &git2::Signature<'_>, message: &str) -> String {
    let when = who.when();
    let offset = when.offset_minutes();
    let sign = if offset < 0 { '-' } else { '+' };
    let offset = offset.unsigned_abs();
    let subject = message.lines().next().unwrap_or("");
    format!(
        "{old} {new} {} <{}> {} {sign}{:02}{:02}\tcommit: {subject}\n",
        who.name().unwrap_or(""),
        who.email().unwrap_or(""),
        when.seconds(),
        offset / 60,
        offset % 60
    )
}

/// Appends to a log git keeps, if it keeps one (in one write, so whole lines only).
fn append_existing(path: &Path, line: &str) {
    if let Ok(mut file) = std::fs::OpenOptions::new().append(true).open(path) {
        let _ = file.write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflog_lines_read_as_git_writes_them() -> Result<(), git2::Error> {
        let who = git2::Signature::new("backup-bot", "bot@x", &git2::Time::new(100, -90))?;
        assert_eq!(
            reflog_line("a", "b", &who, "Log x by y\n\nmore"),
            "a b backup-bot <bot@x> 100 -0130\tcommit: Log x by y\n"
        );
        Ok(())
    }

    #[test]
    fn a_lock_is_ours_only_when_it_is_our_anchor() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let anchor = dir.path().join("anchor");
        let lock = dir.path().join("x.lock");
        std::fs::write(&anchor, "")?;
        std::fs::write(&lock, "")?;
        assert!(!same_file(&lock, &anchor), "a person's lock");
        std::fs::remove_file(&lock)?;
        std::fs::hard_link(&anchor, &lock)?;
        assert!(same_file(&lock, &anchor));
        std::fs::remove_file(&anchor)?;
        assert!(!same_file(&lock, &anchor), "no anchor, no proof");
        Ok(())
    }
}
