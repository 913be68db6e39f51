//! A content tree read from a directory on disk.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use super::{Blob, SourceError, Tree};
use std::sync::Arc;

/// Directories that hold output, caches or version control, never content.
const SKIPPED_DIRS: &[&str] = &[".git", "public", "target", "node_modules"];

/// Reads every regular file under `root` into a [`Tree`].
///
/// Hidden entries are skipped except `.glassroom/` (the policy lives there), and so are
/// build output and VCS directories. Symbolic links are not followed: a link inside the
/// repository could otherwise pull in files from anywhere on the machine.
pub fn read_dir(root: &Path) -> Result<Tree, SourceError> {
    read_dir_cached(root, &DirCache::default())
}

/// What one read of a directory saw of each file, so the next read of the same directory
/// in this process (the preview server) reads again only files whose size, inode or
/// change times differ. A file changed in the two seconds before it was read is always
/// read again, since a second change within the file system's timestamp granularity
/// could leave its times as they were. The default cache remembers nothing.
#[derive(Default)]
pub struct DirCache {
    keep: bool,
    seen: std::sync::Mutex<HashMap<PathBuf, Seen>>,
}

#[derive(Clone)]
struct Seen {
    /// `None` when the file's times cannot vouch for its content (it changed just
    /// before or while it was read).
    stamp: Option<Stamp>,
    blob: Arc<Blob>,
}

/// The parts of a file's metadata that change whenever its content does.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    inode: u64,
    modified: (i64, i64),
    changed: (i64, i64),
}

/// How long after a change a file's times are trusted to tell a later change.
const SETTLE_SECONDS: i64 = 2;

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: metadata.len(),
            inode: metadata.ino(),
            modified: (metadata.mtime(), metadata.mtime_nsec()),
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }

    /// Whether a read at `read_at` (seconds) saw the file after it had settled.
    fn settled_before(&self, read_at: i64) -> bool {
        self.modified.0.max(self.changed.0) + SETTLE_SECONDS < read_at
    }
}

impl DirCache {
    /// A cache that remembers every read for the next one.
    pub fn keeping() -> Self {
        Self {
            keep: true,
            seen: std::sync::Mutex::default(),
        }
    }
}

/// Like [`read_dir`], reading only the files `cache` cannot vouch for.
pub fn read_dir_cached(root: &Path, cache: &DirCache) -> Result<Tree, SourceError> {
    if !root.is_dir() {
        return Err(SourceError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    let mut files = Vec::new();
    let walker = WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !is_skipped(entry.path(), root));
    for entry in walker {
        let entry = entry.map_err(|err| {
            let path = err.path().unwrap_or(root).to_path_buf();
            SourceError::Io {
                path,
                source: err.into(),
            }
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let Some(relative) = relative_path(root, entry.path()) else {
            continue;
        };
        files.push((relative, entry.into_path()));
    }
    let read_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let mut seen = if cache.keep {
        cache
            .seen
            .lock()
            .map(|mut seen| std::mem::take(&mut *seen))
            .unwrap_or_default()
    } else {
        HashMap::new()
    };
    // Reading is the slow part of a large repository: do it in parallel.
    let read: Vec<(String, PathBuf, Seen)> = files
        .into_par_iter()
        .map(|(relative, path)| {
            let io = |source| SourceError::Io {
                path: path.clone(),
                source,
            };
            if cache.keep {
                let stamp = Stamp::of(&std::fs::metadata(&path).map_err(io)?);
                if let Some(known) = seen.get(&path).filter(|k| k.stamp == Some(stamp)) {
                    return Ok((relative, path, known.clone()));
                }
                let blob = Arc::new(Blob::new(std::fs::read(&path).map_err(io)?));
                let after = Stamp::of(&std::fs::metadata(&path).map_err(io)?);
                let stamp = (after == stamp && stamp.settled_before(read_at)).then_some(stamp);
                return Ok((relative, path, Seen { stamp, blob }));
            }
            let blob = Arc::new(Blob::new(std::fs::read(&path).map_err(io)?));
            Ok((relative, path, Seen { stamp: None, blob }))
        })
        .collect::<Result<_, SourceError>>()?;
    let mut tree = Tree::new();
    seen.clear();
    for (relative, path, file) in read {
        tree.insert_blob(relative, file.blob.clone());
        if cache.keep {
            seen.insert(path, file);
        }
    }
    if cache.keep
        && let Ok(mut kept) = cache.seen.lock()
    {
        *kept = seen;
    }
    Ok(tree)
}

fn is_skipped(path: &Path, root: &Path) -> bool {
    let Ok(relative) = path.strip_prefix(root) else {
        return true;
    };
    let mut components = relative.components();
    let Some(Component::Normal(first)) = components.next() else {
        return true;
    };
    let first = first.to_string_lossy();
    let is_top = components.next().is_none();
    if first == ".glassroom" {
        // The policy lives here; the build cache does not belong to the content.
        return relative.starts_with(".glassroom/cache");
    }
    if is_top && SKIPPED_DIRS.contains(&first.as_ref()) {
        return true;
    }
    path.file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'))
}

/// `root/a/b.yaml` → `a/b.yaml`, or `None` for a name that is not valid UTF-8.
fn relative_path(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let mut parts = Vec::new();
    for component in relative.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_str()?),
            _ => return None,
        }
    }
    Some(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_content_and_skips_output_and_hidden_files() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        for (path, text) in [
            ("glassroom.yaml", "title: x\n"),
            ("hosts/a.yaml", "os: linux\n"),
            (".glassroom/policy.yaml", "users: {}\n"),
            (".glassroom/cache/blob", "x"),
            ("public/index.html", "<html>"),
            (".git/HEAD", "ref"),
            ("hosts/.swp", "x"),
        ] {
            let full = root.join(path);
            std::fs::create_dir_all(full.parent().ok_or("no parent")?)?;
            std::fs::write(full, text)?;
        }
        let tree = read_dir(root)?;
        let paths: Vec<&str> = tree.iter().map(|(p, _)| p).collect();
        assert_eq!(
            paths,
            [".glassroom/policy.yaml", "glassroom.yaml", "hosts/a.yaml"]
        );
        Ok(())
    }

    #[test]
    fn a_cached_read_sees_every_change() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("hosts"))?;
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for (path, text) in [("hosts/a.yaml", "os: one\n"), ("hosts/b.yaml", "os: two\n")] {
            std::fs::write(root.join(path), text)?;
            std::fs::File::options()
                .write(true)
                .open(root.join(path))?
                .set_modified(old)?;
        }
        let cache = DirCache::keeping();
        let first = read_dir_cached(root, &cache)?;
        assert_eq!(first.get("hosts/a.yaml"), Some(&b"os: one\n"[..]));
        // Same length, same modification time set back: the change time still differs.
        std::fs::write(root.join("hosts/a.yaml"), "os: 111\n")?;
        std::fs::File::options()
            .write(true)
            .open(root.join("hosts/a.yaml"))?
            .set_modified(old)?;
        std::fs::remove_file(root.join("hosts/b.yaml"))?;
        std::fs::write(root.join("hosts/c.yaml"), "os: three\n")?;
        let second = read_dir_cached(root, &cache)?;
        assert_eq!(second.get("hosts/a.yaml"), Some(&b"os: 111\n"[..]));
        assert_eq!(second.get("hosts/b.yaml"), None);
        assert_eq!(second.get("hosts/c.yaml"), Some(&b"os: three\n"[..]));
        // A file written just now is read again every time, whatever its times say.
        std::fs::write(root.join("hosts/c.yaml"), "os: 33333\n")?;
        let third = read_dir_cached(root, &cache)?;
        assert_eq!(third.get("hosts/c.yaml"), Some(&b"os: 33333\n"[..]));
        assert_eq!(third, read_dir(root)?);
        Ok(())
    }
}
