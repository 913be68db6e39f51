//! A content tree read from a directory on disk.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;
use walkdir::WalkDir;

use super::{Blob, SizeLimit, SourceError, Tree};
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
    /// Paths (relative to the root) that a watcher saw change since the last read, when
    /// it knows that nothing else did: the next read looks only at those.
    only: std::sync::Mutex<Option<Vec<PathBuf>>>,
    /// The tree the last read gave, which a read of a few changed paths patches.
    last: std::sync::Mutex<Option<Tree>>,
    /// Every directory that holds a file `seen` has, so a read can tell whether a path
    /// that is gone was a directory without looking at every file.
    dirs: std::sync::Mutex<std::collections::HashSet<PathBuf>>,
    /// The size limit of the last read: what it saw holds only under the same limit.
    limit: std::sync::Mutex<Option<u64>>,
}

/// Adds the directories above `path` (up to `root`) to `dirs`.
fn note_dirs(dirs: &mut std::collections::HashSet<PathBuf>, root: &Path, path: &Path) {
    let mut dir = path.parent();
    while let Some(parent) = dir.filter(|d| d.starts_with(root) && *d != root) {
        if !dirs.insert(parent.to_path_buf()) {
            break;
        }
        dir = parent.parent();
    }
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
            only: std::sync::Mutex::default(),
            last: std::sync::Mutex::default(),
            dirs: std::sync::Mutex::default(),
            limit: std::sync::Mutex::default(),
        }
    }

    /// Forgets what earlier reads saw if they were made under another size limit.
    fn use_limit(&self, limit: SizeLimit<'_>) {
        let Ok(mut last_limit) = self.limit.lock() else {
            return;
        };
        if *last_limit != Some(limit.max_bytes) {
            *last_limit = Some(limit.max_bytes);
            if let Ok(mut seen) = self.seen.lock() {
                seen.clear();
            }
            if let Ok(mut last) = self.last.lock() {
                *last = None;
            }
        }
    }

    /// Tells the next read what changed since the last one: `Some(paths)` (relative to
    /// the root; files or directories) when a watcher knows nothing else did, so the
    /// read need not walk the whole directory; `None` when it does not know. Anything a
    /// read cannot settle from the paths alone (a directory, a path that held a
    /// directory) makes it walk after all.
    pub fn note_changes(&self, changed: Option<Vec<PathBuf>>) {
        if let Ok(mut only) = self.only.lock() {
            *only = changed;
        }
    }
}

/// What a read did with a hint of changed paths.
enum Hinted {
    /// The tree, read from the previous read and the changed paths.
    Read(Tree),
    /// The hint cannot be trusted alone: walk the directory.
    Walk,
}

/// A read of `root` that looks only at `changed` (relative paths) and files whose times
/// could not vouch for them last time, taking every other file from `seen` and patching
/// `last`, the tree of the last read.
fn read_changed(
    root: &Path,
    changed: &[PathBuf],
    seen: &mut HashMap<PathBuf, Seen>,
    dirs: &mut std::collections::HashSet<PathBuf>,
    last: Option<Tree>,
    limit: SizeLimit<'_>,
) -> Result<Hinted, SourceError> {
    let Some(mut tree) = last.filter(|_| !seen.is_empty()) else {
        return Ok(Hinted::Walk);
    };
    // Consumers that saw the last tree learn what changed from the tree itself.
    tree.track_changes();
    let read_at = now_seconds();
    let mut look: Vec<PathBuf> = changed
        .iter()
        .filter(|relative| is_content_path(root, relative))
        .map(|relative| root.join(relative))
        .collect();
    look.extend(
        seen.iter()
            .filter(|(_, file)| file.stamp.is_none())
            .map(|(path, _)| path.clone()),
    );
    look.sort();
    look.dedup();
    for path in look {
        match std::fs::symlink_metadata(&path) {
            Ok(metadata) if metadata.is_file() => {
                let io = |source| SourceError::Io {
                    path: path.clone(),
                    source,
                };
                let Some(relative) = relative_path(root, &path) else {
                    return Ok(Hinted::Walk);
                };
                let file = read_file(
                    &path,
                    &relative,
                    Stamp::of(&metadata),
                    seen.get(&path),
                    read_at,
                    limit,
                )
                .map_err(io)?;
                let same = seen
                    .get(&path)
                    .is_some_and(|known| Arc::ptr_eq(&known.blob, &file.blob));
                if !same {
                    tree.insert_blob(relative, Arc::clone(&file.blob));
                }
                note_dirs(dirs, root, &path);
                seen.insert(path, file);
            }
            Ok(metadata) if metadata.is_dir() => return Ok(Hinted::Walk),
            // Gone, or no longer a regular file (the walk skips links): if it was a
            // directory, what was under it is gone too, which only a walk settles.
            _ => {
                if seen.remove(&path).is_none() && dirs.contains(&path) {
                    return Ok(Hinted::Walk);
                }
                if let Some(relative) = relative_path(root, &path) {
                    tree.remove(&relative);
                }
            }
        }
    }
    Ok(Hinted::Read(tree))
}

/// Whether the walk would take `relative` as content: no part of it is skipped.
fn is_content_path(root: &Path, relative: &Path) -> bool {
    let mut path = root.to_path_buf();
    for component in relative.components() {
        let Component::Normal(part) = component else {
            return false;
        };
        path.push(part);
        if is_skipped(&path, root) {
            return false;
        }
    }
    path != root
}

/// Reads one file (at `relative` in the tree) that `stamp` describes now, unless `known`
/// saw it with the same stamp.
fn read_file(
    path: &Path,
    relative: &str,
    stamp: Stamp,
    known: Option<&Seen>,
    read_at: i64,
    limit: SizeLimit<'_>,
) -> std::io::Result<Seen> {
    if let Some(known) = known.filter(|k| k.stamp == Some(stamp)) {
        return Ok(known.clone());
    }
    let read = read_limited(path, relative, stamp.len, limit)?;
    // Read again but unchanged (its times could not vouch for it): the same blob, so
    // the tree does not count it as changed.
    let blob = match known.filter(|k| *k.blob == read) {
        Some(known) => Arc::clone(&known.blob),
        None => Arc::new(read),
    };
    let after = Stamp::of(&std::fs::metadata(path)?);
    let stamp = (after == stamp && stamp.settled_before(read_at)).then_some(stamp);
    Ok(Seen { stamp, blob })
}

/// The file at `path` (`relative` in the tree, `len` bytes long by its metadata), unless
/// it is over `limit`: then its size alone. Reads at most one byte over the limit, so a
/// file that grows while it is read costs no more.
fn read_limited(
    path: &Path,
    relative: &str,
    len: u64,
    limit: SizeLimit<'_>,
) -> std::io::Result<Blob> {
    use std::io::Read;
    if limit.exceeded(relative, len) {
        return Ok(Blob::too_large(len, None));
    }
    if !(limit.applies)(relative) {
        return std::fs::read(path).map(Blob::new);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    std::fs::File::open(path)?
        .take(limit.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    let read = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if limit.exceeded(relative, read) {
        return Ok(Blob::too_large(read.max(len), None));
    }
    Ok(Blob::new(bytes))
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Like [`read_dir`], reading only the files `cache` cannot vouch for.
pub fn read_dir_cached(root: &Path, cache: &DirCache) -> Result<Tree, SourceError> {
    read_dir_limited(root, cache, SizeLimit::NONE)
}

/// Like [`read_dir_cached`], except that a file over `limit` is not read: its size comes
/// from its metadata, and the tree holds the size alone ([`Blob::too_large`]).
pub fn read_dir_limited(
    root: &Path,
    cache: &DirCache,
    limit: SizeLimit<'_>,
) -> Result<Tree, SourceError> {
    if !root.is_dir() {
        return Err(SourceError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    cache.use_limit(limit);
    let hint = if cache.keep {
        cache.only.lock().ok().and_then(|mut only| only.take())
    } else {
        None
    };
    let last = cache.last.lock().ok().and_then(|mut last| last.take());
    if let Some(changed) = hint
        && let Ok(mut seen) = cache.seen.lock()
        && let Ok(mut dirs) = cache.dirs.lock()
        && let Hinted::Read(tree) = read_changed(root, &changed, &mut seen, &mut dirs, last, limit)?
    {
        cache.remember(&tree);
        return Ok(tree);
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
    let read_at = now_seconds();
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
                let file = read_file(&path, &relative, stamp, seen.get(&path), read_at, limit)
                    .map_err(io)?;
                return Ok((relative, path, file));
            }
            let len = std::fs::metadata(&path).map_err(io)?.len();
            let blob = Arc::new(read_limited(&path, &relative, len, limit).map_err(io)?);
            Ok((relative, path, Seen { stamp: None, blob }))
        })
        .collect::<Result<_, SourceError>>()?;
    let mut tree = Tree::new();
    seen.clear();
    let mut dirs = std::collections::HashSet::new();
    for (relative, path, file) in read {
        tree.insert_blob(relative, file.blob.clone());
        if cache.keep {
            note_dirs(&mut dirs, root, &path);
            seen.insert(path, file);
        }
    }
    if cache.keep
        && let (Ok(mut kept), Ok(mut kept_dirs)) = (cache.seen.lock(), cache.dirs.lock())
    {
        *kept = seen;
        *kept_dirs = dirs;
    }
    cache.remember(&tree);
    Ok(tree)
}

impl DirCache {
    /// Keeps a copy of the tree a read gave (sharing its map), for the next read to patch.
    fn remember(&self, tree: &Tree) {
        if self.keep
            && let Ok(mut last) = self.last.lock()
        {
            *last = Some(tree.clone());
        }
    }
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

    fn logbook_only(path: &str) -> bool {
        path.starts_with("logbook/")
    }

    #[test]
    fn a_file_over_the_size_limit_is_kept_as_its_size_alone()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        std::fs::create_dir_all(root.join("logbook"))?;
        std::fs::create_dir_all(root.join("static"))?;
        std::fs::write(root.join("logbook/big.md"), vec![b'x'; 5000])?;
        std::fs::write(root.join("logbook/small.md"), "fits")?;
        std::fs::write(root.join("static/logo.png"), vec![b'x'; 5000])?;
        let limit = SizeLimit {
            max_bytes: 4096,
            applies: &logbook_only,
        };
        let cache = DirCache::keeping();
        for _ in 0..2 {
            let tree = read_dir_limited(root, &cache, limit)?;
            let big = tree.blob("logbook/big.md").ok_or("big")?;
            assert_eq!(big.size_over_limit(), Some(5000));
            assert!(big.bytes().is_empty(), "not read");
            assert_eq!(tree.get("logbook/small.md"), Some(&b"fits"[..]));
            assert_eq!(
                tree.get("static/logo.png").map(<[u8]>::len),
                Some(5000),
                "not content"
            );
        }
        // Under a larger limit, the same cache reads it.
        let raised = SizeLimit {
            max_bytes: 8192,
            ..limit
        };
        let tree = read_dir_limited(root, &cache, raised)?;
        assert_eq!(tree.get("logbook/big.md").map(<[u8]>::len), Some(5000));
        let tree = read_dir_limited(root, &DirCache::default(), limit)?;
        assert_eq!(
            tree.blob("logbook/big.md").and_then(Blob::size_over_limit),
            Some(5000)
        );
        Ok(())
    }

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

    /// Writes `hosts/a.yaml` and `hosts/b.yaml` modified a minute ago (so their times
    /// vouch for them); returns that time.
    fn settled_hosts(root: &Path) -> std::io::Result<std::time::SystemTime> {
        std::fs::create_dir_all(root.join("hosts"))?;
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        for (path, text) in [("hosts/a.yaml", "os: one\n"), ("hosts/b.yaml", "os: two\n")] {
            std::fs::write(root.join(path), text)?;
            std::fs::File::options()
                .write(true)
                .open(root.join(path))?
                .set_modified(old)?;
        }
        Ok(old)
    }

    #[test]
    fn a_cached_read_sees_every_change() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        let old = settled_hosts(root)?;
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

    #[test]
    fn a_read_told_what_changed_equals_a_walk() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        settled_hosts(root)?;
        let cache = DirCache::keeping();
        read_dir_cached(root, &cache)?;
        let told = |paths: &[&str]| -> Result<Tree, SourceError> {
            cache.note_changes(Some(paths.iter().map(PathBuf::from).collect()));
            read_dir_cached(root, &cache)
        };
        // A file changed, one added, one removed, a hidden one written: as a walk sees it.
        std::fs::write(root.join("hosts/a.yaml"), "os: 111\n")?;
        std::fs::write(root.join("hosts/c.yaml"), "os: three\n")?;
        std::fs::remove_file(root.join("hosts/b.yaml"))?;
        std::fs::write(root.join("hosts/.d.yaml"), "os: hidden\n")?;
        let tree = told(&[
            "hosts/a.yaml",
            "hosts/c.yaml",
            "hosts/b.yaml",
            "hosts/.d.yaml",
        ])?;
        assert_eq!(tree, read_dir(root)?);
        assert_eq!(tree.get("hosts/c.yaml"), Some(&b"os: three\n"[..]));
        // A file the hint leaves out is still seen while its times cannot vouch for it.
        std::fs::write(root.join("hosts/c.yaml"), "os: 3333\n")?;
        assert_eq!(told(&[])?.get("hosts/c.yaml"), Some(&b"os: 3333\n"[..]));
        // A new directory, and a removed one: the read walks.
        std::fs::create_dir_all(root.join("sites"))?;
        std::fs::write(root.join("sites/x.yaml"), "name: x\n")?;
        assert_eq!(told(&["sites"])?, read_dir(root)?);
        std::fs::remove_dir_all(root.join("hosts"))?;
        let tree = told(&["hosts"])?;
        assert_eq!(tree, read_dir(root)?);
        assert!(tree.get("hosts/a.yaml").is_none());
        Ok(())
    }
}
