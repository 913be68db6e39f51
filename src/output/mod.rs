//! Writing a built site to disk: into a fresh directory beside the target, swapped into
//! place only once every file is written, so a failed build never leaves a half-new site.
//!
//! A rebuild links unchanged files from the previous output instead of writing them
//! again, but only files it can tell are the very ones glassroom wrote: the sealed build
//! cache ([`caches`]) records each file's identity on disk (device, inode, size and
//! change time, which every write, rename or link moves and no process can set back)
//! and the output directory's; a file that differs in any of them is made again. Nothing
//! found *in* the output decides what is reused: a commit can put files there.

pub mod caches;

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use rustix::fs::{AtFlags, FileType};

pub use caches::{BuildCaches, NoCaches, SealedFile};

/// Marks a directory as glassroom output: glassroom may replace it. That is all it
/// says (a commit can add one anywhere); it is no reason to reuse anything in it.
pub const MARKER: &str = ".glassroom-site";

#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("refusing to replace {}: it is not empty and was not written by glassroom (no {MARKER} file)", path.display())]
    NotOurs { path: PathBuf },
    #[error("output path {} is not a valid place for a site: {reason}", path.display())]
    BadPath { path: PathBuf, reason: &'static str },
}

/// A file the staging directory could not take, as the render stage sees it (it names
/// the file itself).
impl From<OutputError> for crate::render::SinkError {
    fn from(err: OutputError) -> Self {
        match err {
            OutputError::Io { source, .. } => Self::Io(source),
            OutputError::BadPath { reason, .. } => Self::BadPath { reason },
            OutputError::NotOurs { .. } => Self::BadPath {
                reason: "it is inside a directory glassroom did not write",
            },
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `files` (relative path → bytes) as the directory `target`, replacing what was
/// there. The new site is complete on disk before the old one is moved away.
pub fn write_site(target: &Path, files: &BTreeMap<String, Vec<u8>>) -> Result<(), OutputError> {
    let staging = Staging::new(target)?;
    files
        .par_iter()
        .try_for_each(|(path, bytes)| staging.write(path, bytes))?;
    staging.commit()
}

/// A site being written: files go into a fresh directory beside the target as they are
/// produced; [`Staging::commit`] swaps it into place. Dropped without committing, it
/// leaves nothing behind and the previous site untouched.
pub struct Staging {
    target: PathBuf,
    parent: PathBuf,
    name: String,
    dir: tempfile::TempDir,
    /// `dir`, open: files are linked and looked at relative to it (a path walk of a few
    /// names instead of the whole path, for 12,000 files a build).
    dir_fd: Option<OwnedFd>,
    created: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    /// The previous build's files, as the build cache describes them, and the directory
    /// they are in (the one the cache names, held open so it stays that one).
    previous: BTreeMap<String, CacheEntry>,
    previous_dir: Option<OwnedFd>,
    /// What this build wrote or linked, for the next one.
    current: std::sync::Mutex<BTreeMap<String, Recorded>>,
    cache: Option<SealedFile>,
}

/// What identifies a file on disk: another file, or this one written to, renamed,
/// linked or unlinked since, differs in at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Identity {
    device: u64,
    inode: u64,
    size: u64,
    /// The change time (seconds, nanoseconds): set by the kernel on every change to the
    /// file or its links, never by a process.
    changed: (i64, i64),
}

impl Identity {
    // The field types of `stat` differ between architectures.
    #[allow(clippy::unnecessary_cast)]
    fn of(stat: &rustix::fs::Stat) -> Self {
        Self {
            device: stat.st_dev as u64,
            inode: stat.st_ino as u64,
            size: stat.st_size as u64,
            changed: (stat.st_ctime as i64, stat.st_ctime_nsec as i64),
        }
    }

    /// The identity of the regular file `relative` to the directory `dir` (a symbolic
    /// link is not one).
    fn of_file(dir: &OwnedFd, relative: &str) -> Option<Self> {
        let stat = rustix::fs::statat(dir, relative, AtFlags::SYMLINK_NOFOLLOW).ok()?;
        (FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile).then(|| Self::of(&stat))
    }
}

/// What identifies the output directory: the one this build swaps in, not another put
/// in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct DirIdentity {
    device: u64,
    inode: u64,
}

impl DirIdentity {
    #[allow(clippy::unnecessary_cast)]
    fn of(dir: &OwnedFd) -> Option<Self> {
        let stat = rustix::fs::fstat(dir).ok()?;
        (FileType::from_raw_mode(stat.st_mode) == FileType::Directory).then_some(Self {
            device: stat.st_dev as u64,
            inode: stat.st_ino as u64,
        })
    }
}

/// `path`, a directory (not a symbolic link to one), open for looking up names in it.
fn open_dir(path: &Path) -> Option<OwnedFd> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    rustix::fs::open(path, flags, Mode::empty()).ok()
}

/// What the build cache knows of one output file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct CacheEntry {
    /// The page's input key, for pages that have one.
    key: Option<crate::render::keys::Key>,
    /// blake3 of the bytes.
    hash: [u8; 32],
    /// The file glassroom left in the output.
    identity: Identity,
}

/// One file of this build, and whether it was linked from the previous output: such a
/// file's change time moves again when the previous output is removed, so its identity
/// is read again then.
struct Recorded {
    entry: CacheEntry,
    linked: bool,
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct CacheFile {
    version: u32,
    dir: DirIdentity,
    files: BTreeMap<String, CacheEntry>,
}

const CACHE_VERSION: u32 = 2;

impl Staging {
    /// A new site for `target`, which must be absent, empty or marked as glassroom's.
    pub fn new(target: &Path) -> Result<Self, OutputError> {
        Self::over(target, &|_| false)
    }

    /// Like [`Staging::new`], also replacing a directory none of whose files is lost by
    /// it: each is `kept` (a file of the repository's commit, which git keeps).
    pub fn over(target: &Path, kept: &dyn Fn(&str) -> bool) -> Result<Self, OutputError> {
        let name = target
            .file_name()
            .ok_or(OutputError::BadPath {
                path: target.to_path_buf(),
                reason: "it has no final component",
            })?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        check_replaceable(target, kept)?;
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.new-"))
            .tempdir_in(&parent)
            .map_err(io(&parent))?;
        Ok(Self {
            target: target.to_path_buf(),
            parent,
            name,
            dir_fd: open_dir(dir.path()),
            dir,
            created: std::sync::Mutex::new(std::collections::HashSet::new()),
            previous: BTreeMap::new(),
            previous_dir: None,
            current: std::sync::Mutex::new(BTreeMap::new()),
            cache: None,
        })
    }

    /// Keeps a build cache in `cache`: pages whose inputs are unchanged, and files whose
    /// bytes are unchanged, are hard-linked from the previous output instead of being
    /// rendered or written again, each only if it is still the file the cache
    /// describes. A cache that does not unseal, or that describes another directory
    /// than the one at `target` now, is none.
    pub fn with_cache(mut self, cache: SealedFile) -> Self {
        if let Some(bytes) = cache.read()
            && let Ok(record) = postcard::from_bytes::<CacheFile>(&bytes)
            && record.version == CACHE_VERSION
            && let Some(previous_dir) = open_dir(&self.target)
            && DirIdentity::of(&previous_dir) == Some(record.dir)
        {
            self.previous = record.files;
            self.previous_dir = Some(previous_dir);
        }
        self.cache = Some(cache);
        self
    }

    /// Reuses nothing of the previous output (the cache is still written for the next
    /// build).
    pub fn reusing_nothing(mut self) -> Self {
        self.previous.clear();
        self.previous_dir = None;
        self
    }

    fn record(&self, path: &str, entry: CacheEntry, linked: bool) {
        if let Ok(mut current) = self.current.lock() {
            current.insert(path.to_owned(), Recorded { entry, linked });
        }
    }

    fn ensure_parent(&self, path: &Path) -> Result<(), OutputError> {
        if let Some(parent) = path.parent() {
            let known = self
                .created
                .lock()
                .map(|set| set.contains(parent))
                .unwrap_or(false);
            if !known {
                std::fs::create_dir_all(parent).map_err(io(parent))?;
                if let Ok(mut set) = self.created.lock() {
                    set.insert(parent.to_path_buf());
                }
            }
        }
        Ok(())
    }

    /// Links the previous output's `relative` into the new site if it is the file
    /// `expected` identifies (the one an earlier build left there); false otherwise.
    fn link_previous(&self, relative: &str, expected: &Identity) -> bool {
        let (Some(from), Some(to)) = (&self.previous_dir, &self.dir_fd) else {
            return false;
        };
        Identity::of_file(from, relative).as_ref() == Some(expected)
            && self.ensure_parent(&self.dir.path().join(relative)).is_ok()
            && rustix::fs::linkat(from, relative, to, relative, AtFlags::empty()).is_ok()
    }

    /// Writes one file (path relative to the site root; it may not leave it).
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), OutputError> {
        self.write_file(relative, bytes).map(drop)
    }

    /// Writes one file; its identity once written.
    fn write_file(&self, relative: &str, bytes: &[u8]) -> Result<Identity, OutputError> {
        if relative
            .split('/')
            .any(|part| part.is_empty() || part == "..")
        {
            return Err(OutputError::BadPath {
                path: PathBuf::from(relative),
                reason: "it leaves the output directory",
            });
        }
        let path = self.dir.path().join(relative);
        self.ensure_parent(&path)?;
        let mut file = std::fs::File::create(&path).map_err(io(&path))?;
        file.write_all(bytes).map_err(io(&path))?;
        let stat = rustix::fs::fstat(&file).map_err(|err| io(&path)(err.into()))?;
        Ok(Identity::of(&stat))
    }

    /// Puts the new site in place of the old one.
    pub fn commit(self) -> Result<(), OutputError> {
        self.commit_while(|| ())
    }

    /// Puts the new site in place of the old one, running `meanwhile` (writing other
    /// caches) while the old one is removed, which for 12,000 files takes ~90 ms.
    pub fn commit_while(self, meanwhile: impl FnOnce() + Send) -> Result<(), OutputError> {
        let staging = self.dir.path().to_path_buf();
        std::fs::write(staging.join(MARKER), b"written by glassroom build\n")
            .map_err(io(&staging))?;
        let current = self.current.into_inner().unwrap_or_default();
        let cache = self.cache;
        let (new_dir, previous_dir) = (self.dir_fd, self.previous_dir);
        let staged = self.dir.keep();
        // The directory keeps its identity when renamed into place.
        let dir = new_dir.as_ref().and_then(DirIdentity::of);
        let (target, parent, name) = (self.target, self.parent, self.name);
        let old = if target.exists() {
            let old = tempfile::Builder::new()
                .prefix(&format!(".{name}.old-"))
                .tempdir_in(&parent)
                .map_err(io(&parent))?
                .keep();
            // `old` is an empty directory; rename replaces it with the previous site.
            std::fs::rename(&target, &old).map_err(io(&target))?;
            std::fs::rename(&staged, &target).map_err(io(&target))?;
            Some(old)
        } else {
            std::fs::rename(&staged, &target).map_err(io(&target))?;
            None
        };
        // Removing the old site moves the change time of every file linked from it,
        // which the cache records: so each such file loses its old name first, and its
        // identity is read right after (in parallel), before the rest is removed.
        // (Only if the site moved aside is the one files were linked from.)
        let linked_from = previous_dir.filter(|previous| {
            let moved = old.as_deref().and_then(open_dir);
            moved.as_ref().and_then(DirIdentity::of) == DirIdentity::of(previous)
        });
        let current = std::sync::Mutex::new(Some(current));
        let finish = || {
            let current = current.lock().ok().and_then(|mut c| c.take());
            let files = match (&cache, current) {
                (Some(_), Some(current)) => {
                    Some(settle(current, new_dir.as_ref(), linked_from.as_ref()))
                }
                _ => None,
            };
            // What is left of the old site goes while the cache is written.
            let remove = || match &old {
                Some(old) => std::fs::remove_dir_all(old).map_err(io(old)),
                None => Ok(()),
            };
            std::thread::scope(|scope| {
                let removing = std::thread::Builder::new().spawn_scoped(scope, remove);
                if let (Some(cache), Some(files)) = (&cache, files) {
                    write_cache(cache, dir, files);
                }
                match removing {
                    Ok(removing) => removing.join().unwrap_or_else(|_| remove()),
                    Err(_) => remove(),
                }
            })
        };
        std::thread::scope(
            |scope| match std::thread::Builder::new().spawn_scoped(scope, finish) {
                Ok(finishing) => {
                    meanwhile();
                    finishing.join().unwrap_or_else(|_| finish())
                }
                // No thread to be had: one after the other.
                Err(_) => {
                    meanwhile();
                    finish()
                }
            },
        )
    }
}

/// This build's files for the cache, each with its identity as it will stay: a file
/// linked from the old site (`linked_from`, moved aside) loses its name there first,
/// since that moves its change time, and is looked at in the new site (`new_dir`) then.
/// One that is no longer the file linked is left out.
fn settle(
    current: BTreeMap<String, Recorded>,
    new_dir: Option<&OwnedFd>,
    linked_from: Option<&OwnedFd>,
) -> BTreeMap<String, CacheEntry> {
    current
        .into_par_iter()
        .filter_map(|(path, Recorded { entry, linked })| {
            if !linked {
                return Some((path, entry));
            }
            if let Some(old) = linked_from {
                let _ = rustix::fs::unlinkat(old, path.as_str(), AtFlags::empty());
            }
            let now = Identity::of_file(new_dir?, &path)?;
            let was = &entry.identity;
            let same = (now.device, now.inode, now.size) == (was.device, was.inode, was.size);
            same.then(|| {
                let entry = CacheEntry {
                    identity: now,
                    ..entry
                };
                (path, entry)
            })
        })
        .collect()
}

/// Writes the build cache: this build's files and the output directory's identity. A
/// cache that cannot be written only costs speed; the one it would have replaced
/// describes the replaced site, so it is removed.
fn write_cache(cache: &SealedFile, dir: Option<DirIdentity>, files: BTreeMap<String, CacheEntry>) {
    let Some(dir) = dir else {
        cache.remove();
        return;
    };
    let record = CacheFile {
        version: CACHE_VERSION,
        dir,
        files,
    };
    let written = postcard::to_stdvec(&record)
        .ok()
        .and_then(|bytes| cache.write(&bytes).ok());
    if written.is_none() {
        cache.remove();
    }
}

impl crate::render::Sink for Staging {
    fn put_keyed(
        &self,
        path: &str,
        bytes: Vec<u8>,
        key: Option<&crate::render::keys::Key>,
    ) -> Result<(), crate::render::SinkError> {
        let hash = *blake3::hash(&bytes).as_bytes();
        let key = key.copied();
        // Same bytes as last time, in the very file written then: link it instead of
        // writing it again.
        if let Some(previous) = self.previous.get(path)
            && previous.hash == hash
            && self.link_previous(path, &previous.identity)
        {
            let entry = CacheEntry {
                key,
                hash,
                identity: previous.identity,
            };
            self.record(path, entry, true);
            return Ok(());
        }
        let identity = self.write_file(path, &bytes)?;
        self.record(
            path,
            CacheEntry {
                key,
                hash,
                identity,
            },
            false,
        );
        Ok(())
    }

    fn reuse(&self, path: &str, key: &crate::render::keys::Key) -> bool {
        let Some(previous) = self.previous.get(path) else {
            return false;
        };
        if previous.key.as_ref() != Some(key) || !self.link_previous(path, &previous.identity) {
            return false;
        }
        self.record(path, previous.clone(), true);
        true
    }
}

/// Only an absent or empty directory, an earlier glassroom output, or a directory whose
/// every file is `kept` elsewhere may be replaced.
fn check_replaceable(target: &Path, kept: &dyn Fn(&str) -> bool) -> Result<(), OutputError> {
    if !target.exists() {
        return Ok(());
    }
    let not_ours = || OutputError::NotOurs {
        path: target.to_path_buf(),
    };
    if !target.is_dir() {
        return Err(not_ours());
    }
    let empty = std::fs::read_dir(target)
        .map_err(io(target))?
        .next()
        .is_none();
    if empty || target.join(MARKER).is_file() {
        return Ok(());
    }
    for entry in walkdir::WalkDir::new(target).min_depth(1) {
        let entry = entry.map_err(|err| OutputError::Io {
            path: err.path().unwrap_or(target).to_path_buf(),
            source: err.into(),
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(target)
            .ok()
            .and_then(|p| p.to_str())
            .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"));
        if !relative.is_some_and(|p| kept(&p)) {
            return Err(not_ours());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn replaces_a_previous_site_completely() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let target = dir.path().join("public");
        write_site(
            &target,
            &site(&[("index.html", "one"), ("old/page.html", "x")]),
        )?;
        write_site(&target, &site(&[("index.html", "two")]))?;
        assert_eq!(std::fs::read_to_string(target.join("index.html"))?, "two");
        assert!(
            !target.join("old").exists(),
            "files of the previous build are gone"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())?.collect();
        assert_eq!(
            leftovers.len(),
            1,
            "no staging or old directories left behind"
        );
        Ok(())
    }

    #[test]
    fn never_replaces_a_directory_it_did_not_write() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::write(dir.path().join("precious.txt"), "keep me")?;
        let err = write_site(dir.path(), &site(&[("index.html", "x")]));
        assert!(matches!(err, Err(OutputError::NotOurs { .. })));
        assert_eq!(
            std::fs::read_to_string(dir.path().join("precious.txt"))?,
            "keep me"
        );
        Ok(())
    }
}
