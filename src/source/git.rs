//! A content tree read from a git commit (works on bare repositories: no working tree).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use git2::{ObjectType, Oid, Repository, TreeWalkMode, TreeWalkResult};

use super::Tree;

/// Why a tree could not be read from git.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{} is not a git repository: {source}", path.display())]
    NotARepository {
        path: std::path::PathBuf,
        #[source]
        source: git2::Error,
    },
    #[error("cannot resolve `{rev}`: {source}")]
    Revision {
        rev: String,
        #[source]
        source: git2::Error,
    },
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// Opens the repository at exactly `path` (no search upwards: a content repository
/// inside another project must not silently read the outer one).
pub fn open(path: &Path) -> Result<Repository, GitError> {
    Repository::open(path).map_err(|source| GitError::NotARepository {
        path: path.to_path_buf(),
        source,
    })
}

/// The commit a revision names (`HEAD`, a branch, a tag, an id).
pub fn resolve(repo: &Repository, rev: &str) -> Result<Oid, GitError> {
    repo.revparse_single(rev)
        .and_then(|object| object.peel_to_commit())
        .map(|commit| commit.id())
        .map_err(|source| GitError::Revision {
            rev: rev.to_owned(),
            source,
        })
}

/// A file entry of a git tree: its path and blob id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub path: String,
    pub blob: Oid,
}

/// What a tree walk leaves out, so callers can report it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Skipped {
    /// Symbolic links (never followed: they could point anywhere).
    pub symlinks: Vec<String>,
    /// Entries whose names are not safe paths (`..`, empty, not UTF-8, `.git`).
    pub unsafe_names: Vec<String>,
}

/// Every regular file of a commit's tree, by path.
pub fn entries(repo: &Repository, commit: Oid) -> Result<(Vec<Entry>, Skipped), GitError> {
    let tree = repo.find_commit(commit)?.tree()?;
    let mut entries = Vec::new();
    let mut skipped = Skipped::default();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        let name = entry.name_bytes();
        let display = format!("{dir}{}", String::from_utf8_lossy(name));
        let safe = std::str::from_utf8(name)
            .ok()
            .filter(|n| is_safe_component(n));
        let Some(name) = safe else {
            skipped.unsafe_names.push(display);
            return TreeWalkResult::Skip;
        };
        match entry.kind() {
            Some(ObjectType::Tree) => TreeWalkResult::Ok,
            Some(ObjectType::Blob) if entry.filemode() == 0o120000 => {
                skipped.symlinks.push(display);
                TreeWalkResult::Ok
            }
            Some(ObjectType::Blob) => {
                entries.push(Entry {
                    path: format!("{dir}{name}"),
                    blob: entry.id(),
                });
                TreeWalkResult::Ok
            }
            // Submodules (commits) are not content.
            _ => TreeWalkResult::Ok,
        }
    })?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((entries, skipped))
}

/// A path component that cannot escape or confuse: not empty, `.`, `..`, `.git`, and
/// without separators or NUL.
pub fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.eq_ignore_ascii_case(".git")
        && !name.contains(['/', '\\', '\0'])
}

/// Builds a [`Tree`] from entries, reading each blob.
pub fn read_tree(repo: &Repository, entries: &[Entry]) -> Result<Tree, GitError> {
    let mut tree = Tree::new();
    for entry in entries {
        let blob = repo.find_blob(entry.blob)?;
        tree.insert(entry.path.clone(), blob.content().to_vec());
    }
    Ok(tree)
}

/// The content tree of a commit.
pub fn read_commit(repo: &Repository, commit: Oid) -> Result<(Tree, Skipped), GitError> {
    let (entries, skipped) = entries(repo, commit)?;
    Ok((read_tree(repo, &entries)?, skipped))
}

/// What the last tree read through it held, with each path's blob id, so the tree of the
/// next commit reads only the blobs whose ids changed and tells which paths those are
/// ([`Tree::changed_since`]): the server rebuilding for each new commit reads one blob,
/// not twelve thousand. The default cache remembers nothing.
#[derive(Default)]
pub struct BlobCache {
    keep: bool,
    last: Mutex<Option<(Tree, BTreeMap<String, String>)>>,
}

impl BlobCache {
    /// A cache that remembers each tree read through it, for the next read.
    pub fn keeping() -> Self {
        Self {
            keep: true,
            last: Mutex::new(None),
        }
    }
}

/// A tree of `files` (path to blob id, in hex). Through a keeping `cache`, the tree the
/// last read gave is patched: only blobs whose id changed at their path are read, and
/// the tree remembers the paths changed.
pub fn read_blobs(
    repo: &Repository,
    files: &BTreeMap<String, String>,
    cache: &BlobCache,
) -> Result<Tree, git2::Error> {
    let read = |id: &str| -> Result<Vec<u8>, git2::Error> {
        Ok(repo.find_blob(Oid::from_str(id)?)?.content().to_vec())
    };
    // Taken out while patching: a read that fails leaves nothing half-patched behind.
    let last = if cache.keep {
        cache.last.lock().ok().and_then(|mut last| last.take())
    } else {
        None
    };
    let tree = match last {
        Some((mut tree, ids)) => {
            tree.track_changes();
            for gone in ids.keys().filter(|path| !files.contains_key(*path)) {
                tree.remove(gone);
            }
            for (path, id) in files {
                if ids.get(path) != Some(id) {
                    tree.insert(path.clone(), read(id)?);
                }
            }
            tree
        }
        None => {
            let mut tree = Tree::new();
            for (path, id) in files {
                tree.insert(path.clone(), read(id)?);
            }
            tree
        }
    };
    if cache.keep
        && let Ok(mut last) = cache.last.lock()
    {
        *last = Some((tree.clone(), files.clone()));
    }
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_with(dir: &Path, files: &[(&str, &str)]) -> BTreeMap<String, String> {
        let repo = Repository::init(dir).expect("init");
        files
            .iter()
            .map(|(path, text)| {
                let id = repo.blob(text.as_bytes()).expect("blob");
                ((*path).to_owned(), id.to_string())
            })
            .collect()
    }

    #[test]
    fn a_kept_tree_reads_only_changed_blobs_and_names_the_changed_paths() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = repo_with(dir.path(), &[("a", "1"), ("b", "2"), ("c", "3")]);
        let repo = Repository::open(dir.path()).expect("open");
        let cache = BlobCache::keeping();
        let old = read_blobs(&repo, &first, &cache).expect("read");
        let mut second = repo_with(dir.path(), &[("b", "2 changed"), ("d", "4")]);
        second.insert("a".into(), first["a"].clone());
        let new = read_blobs(&repo, &second, &cache).expect("read");
        assert_eq!(new.get("a"), Some(&b"1"[..]));
        assert_eq!(new.get("b"), Some(&b"2 changed"[..]));
        assert_eq!(new.get("c"), None, "a path gone from the commit is gone");
        assert_eq!(new.get("d"), Some(&b"4"[..]));
        let mut changed: Vec<&str> = new
            .changed_since(old.id())
            .expect("made from the last tree")
            .iter()
            .map(|p| &**p)
            .collect();
        changed.sort_unstable();
        assert_eq!(changed, ["b", "c", "d"]);
        // The patched tree equals one read from nothing.
        assert_eq!(
            new,
            read_blobs(&repo, &second, &BlobCache::default()).expect("read")
        );
        // A blob that cannot be read fails the read, and the next one starts over.
        let mut broken = second.clone();
        broken.insert(
            "e".into(),
            "0123456789012345678901234567890123456789".into(),
        );
        assert!(read_blobs(&repo, &broken, &cache).is_err());
        let again = read_blobs(&repo, &second, &cache).expect("read");
        assert_eq!(again, new);
        assert!(again.changed_since(new.id()).is_none());
    }
}
