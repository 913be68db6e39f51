//! Writing a built site to disk: into a fresh directory beside the target, swapped into
//! place only once every file is written, so a failed build never leaves a half-new site.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

/// Marks a directory as glassroom output, so a build never replaces anything else.
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
    created: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    /// The previous build's files (what `target` holds), when it can be reused.
    previous: BTreeMap<String, CacheEntry>,
    /// What this build wrote, for the next one.
    current: std::sync::Mutex<BTreeMap<String, CacheEntry>>,
    cache_file: Option<PathBuf>,
}

/// What the build cache knows of one output file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct CacheEntry {
    /// The page's input key (hex), for pages that have one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    /// blake3 of the bytes (hex).
    hash: String,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct CacheFile {
    version: u32,
    files: BTreeMap<String, CacheEntry>,
}

const CACHE_VERSION: u32 = 1;

/// A page key as the cache writes it. (blake3's hex form of 32 bytes: no allocation per
/// byte, for 12,000 pages a build.)
fn hex(key: &crate::render::keys::Key) -> impl std::ops::Deref<Target = str> {
    blake3::Hash::from_bytes(*key).to_hex()
}

impl Staging {
    pub fn new(target: &Path) -> Result<Self, OutputError> {
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
        check_replaceable(target)?;
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!(".{name}.new-"))
            .tempdir_in(&parent)
            .map_err(io(&parent))?;
        Ok(Self {
            target: target.to_path_buf(),
            parent,
            name,
            dir,
            created: std::sync::Mutex::new(std::collections::HashSet::new()),
            previous: BTreeMap::new(),
            current: std::sync::Mutex::new(BTreeMap::new()),
            cache_file: None,
        })
    }

    /// Keeps a build cache in `cache_file`: pages whose inputs are unchanged, and files
    /// whose bytes are unchanged, are hard-linked from the previous build instead of
    /// being rendered or written again. The cache is trusted only while `target` is the
    /// site it describes (glassroom's marker is there).
    pub fn with_cache(mut self, cache_file: PathBuf) -> Self {
        if self.target.join(MARKER).is_file()
            && let Ok(bytes) = std::fs::read(&cache_file)
            && let Ok(cache) = serde_json::from_slice::<CacheFile>(&bytes)
            && cache.version == CACHE_VERSION
        {
            self.previous = cache.files;
        }
        self.cache_file = Some(cache_file);
        self
    }

    fn record(&self, path: &str, entry: CacheEntry) {
        if let Ok(mut current) = self.current.lock() {
            current.insert(path.to_owned(), entry);
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

    /// Links the previous build's `relative` into the new site; false if impossible.
    fn link_previous(&self, relative: &str) -> bool {
        let from = self.target.join(relative);
        let to = self.dir.path().join(relative);
        self.ensure_parent(&to).is_ok() && std::fs::hard_link(&from, &to).is_ok()
    }

    /// Writes one file (path relative to the site root; it may not leave it).
    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<(), OutputError> {
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
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).map_err(io(&path))?);
        file.write_all(bytes).map_err(io(&path))?;
        file.flush().map_err(io(&path))
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
        let cache_file = self.cache_file;
        let staged = self.dir.keep();
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
        let write_caches = move || {
            if let Some(cache_file) = cache_file {
                write_cache(&cache_file, current);
            }
            meanwhile();
        };
        let Some(old) = old else {
            write_caches();
            return Ok(());
        };
        let remove = || std::fs::remove_dir_all(&old).map_err(io(&old));
        std::thread::scope(|scope| {
            let removing = std::thread::Builder::new().spawn_scoped(scope, remove);
            write_caches();
            match removing {
                Ok(removing) => removing.join().unwrap_or_else(|_| remove()),
                // No thread to be had: one after the other.
                Err(_) => remove(),
            }
        })
    }
}

/// Writes the build cache atomically; a cache that cannot be written only costs speed.
/// But the one it would have replaced describes the site that was just replaced, so it
/// is removed rather than left to be trusted by the next build.
fn write_cache(path: &Path, files: BTreeMap<String, CacheEntry>) {
    let cache = CacheFile {
        version: CACHE_VERSION,
        files,
    };
    let written = serde_json::to_vec(&cache)
        .ok()
        .and_then(|bytes| write_atomically(path, &bytes).ok());
    if written.is_none() {
        let _ = std::fs::remove_file(path);
    }
}

/// Writes `bytes` to `path` through a temporary file beside it, creating the directory:
/// a reader sees the old file or the new one, never a part.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    crate::local::write_atomically(path, bytes).map_err(io(path))
}

impl crate::render::Sink for Staging {
    fn put_keyed(
        &self,
        path: &str,
        bytes: Vec<u8>,
        key: Option<&crate::render::keys::Key>,
    ) -> Result<(), String> {
        let entry = CacheEntry {
            key: key.map(|k| hex(k).to_string()),
            hash: blake3::hash(&bytes).to_hex().to_string(),
        };
        // Same bytes as last time: link the old file instead of writing it again.
        let unchanged = self
            .previous
            .get(path)
            .is_some_and(|p| p.hash == entry.hash);
        if !(unchanged && self.link_previous(path)) {
            self.write(path, &bytes).map_err(|err| err.to_string())?;
        }
        self.record(path, entry);
        Ok(())
    }

    fn reuse(&self, path: &str, key: &crate::render::keys::Key) -> bool {
        let Some(previous) = self.previous.get(path) else {
            return false;
        };
        if previous.key.as_deref() != Some(&*hex(key)) || !self.link_previous(path) {
            return false;
        }
        self.record(path, previous.clone());
        true
    }
}

/// Only an absent or empty directory, or an earlier glassroom output, may be replaced.
fn check_replaceable(target: &Path) -> Result<(), OutputError> {
    if !target.exists() {
        return Ok(());
    }
    if !target.is_dir() {
        return Err(OutputError::NotOurs {
            path: target.to_path_buf(),
        });
    }
    let empty = std::fs::read_dir(target)
        .map_err(io(target))?
        .next()
        .is_none();
    if empty || target.join(MARKER).is_file() {
        Ok(())
    } else {
        Err(OutputError::NotOurs {
            path: target.to_path_buf(),
        })
    }
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
