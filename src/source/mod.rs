//! Where the bytes of a content tree come from.
//!
//! Every later stage sees a [`Tree`]: repository-relative paths (always `/`-separated,
//! never starting with `/`, never containing `..`) mapped to file contents. A tree can be
//! read from a working directory ([`read_dir`]) or built in memory ([`Tree::insert`]); a
//! git commit is another producer of the same type.

mod dir;
pub mod git;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub use dir::{DirCache, read_dir, read_dir_cached, read_dir_limited};

/// The files of one content tree, sorted by path so every consumer sees the same order.
/// A copy shares the map until one of them changes.
///
/// A tree knows which tree it was made from when it was made by changing a few paths of
/// another ([`Tree::track_changes`]; a directory read again through a [`DirCache`] is),
/// so a consumer that saw the other tree ([`Tree::id`]) learns what changed from
/// [`Tree::changed_since`] without keeping the other tree to compare with (keeping it
/// would make every change copy the map of every path).
#[derive(Debug, Clone, Default)]
pub struct Tree {
    files: Arc<BTreeMap<Arc<str>, Arc<Blob>>>,
    /// This tree's contents among the trees of the process: a change gives a new id.
    id: u64,
    /// The tree this one was made from, and the paths changed since.
    lineage: Option<(u64, Arc<Vec<Arc<str>>>)>,
}

impl PartialEq for Tree {
    fn eq(&self, other: &Self) -> bool {
        self.files == other.files
    }
}

impl Eq for Tree {}

/// An id no other tree of the process has.
fn next_tree_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A file that differs between two trees ([`Tree::changes`]).
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub path: &'a str,
    /// The file in the newer tree; `None` if it is gone.
    pub now: Option<&'a Blob>,
    /// Whether the older tree had it.
    pub existed: bool,
}

/// One file's bytes and, once someone asked for it, their blake3. Shared (not copied)
/// between the trees of successive reads of a directory, so a file read once is hashed
/// once however many consumers (the parse cache, page keys) and rebuilds ask.
#[derive(Debug, Default)]
pub struct Blob {
    bytes: Vec<u8>,
    hash: OnceLock<blake3::Hash>,
    /// The id (hex) of the git blob it was read from, if it was: what tells a served
    /// repository's next tree which files it must read again.
    git_id: Option<Box<str>>,
    /// The file's size when it was over the [`SizeLimit`] and so not read (no bytes).
    too_large: Option<u64>,
}

/// The largest file a read takes whole. A larger file the limit applies to is kept as its
/// size alone ([`Blob::too_large`]): a file of 100 MB that anyone could commit under a
/// pre-approved path costs no memory, and the content stage reports it.
#[derive(Clone, Copy)]
pub struct SizeLimit<'a> {
    pub max_bytes: u64,
    /// The paths whose size is checked before they are read (content files nobody
    /// signed: a theme's images may be larger, and a signed file is checked once read).
    pub applies: &'a (dyn Fn(&str) -> bool + Sync),
}

impl SizeLimit<'_> {
    /// No limit: every file is read.
    pub const NONE: SizeLimit<'static> = SizeLimit {
        max_bytes: u64::MAX,
        applies: &no_path,
    };

    /// Whether a file of `size` bytes at `path` is over the limit (and is not read).
    pub fn exceeded(&self, path: &str, size: u64) -> bool {
        size > self.max_bytes && (self.applies)(path)
    }
}

fn no_path(_: &str) -> bool {
    false
}

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            hash: OnceLock::new(),
            git_id: None,
            too_large: None,
        }
    }

    /// A file of `size` bytes over the size limit, not read.
    pub fn too_large(size: u64, git_id: Option<&str>) -> Self {
        Self {
            git_id: git_id.map(Into::into),
            too_large: Some(size),
            ..Self::new(Vec::new())
        }
    }

    /// The size of the file, if it was over the size limit and so not read.
    pub fn size_over_limit(&self) -> Option<u64> {
        self.too_large
    }

    /// The bytes of the git blob with the id `git_id`.
    pub fn from_git(bytes: Vec<u8>, git_id: &str) -> Self {
        Self {
            git_id: Some(git_id.into()),
            ..Self::new(bytes)
        }
    }

    pub fn git_id(&self) -> Option<&str> {
        self.git_id.as_deref()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The blake3 of the bytes, computed on first use. A file that was not read has the
    /// hash of its size and id instead, never that of an empty file.
    pub fn hash(&self) -> blake3::Hash {
        *self.hash.get_or_init(|| match self.too_large {
            None => blake3::hash(&self.bytes),
            Some(size) => {
                let id = self.git_id.as_deref().unwrap_or("");
                blake3::hash(
                    format!("glassroom: a file of {size} bytes, not read ({id})").as_bytes(),
                )
            }
        })
    }
}

impl PartialEq for Blob {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes && self.too_large == other.too_large
    }
}

impl Eq for Blob {}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a file. The path must already be a clean relative path.
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.insert_blob(path, Arc::new(Blob::new(bytes.into())));
    }

    /// Adds or replaces a file with a blob another tree may share.
    pub fn insert_blob(&mut self, path: impl Into<String>, blob: Arc<Blob>) {
        let path: Arc<str> = Arc::from(path.into());
        self.changed(&path);
        Arc::make_mut(&mut self.files).insert(path, blob);
    }

    /// This tree's id (see [`Tree::changed_since`]).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// From now on, the tree remembers that it is this tree with the paths it changes
    /// changed.
    pub fn track_changes(&mut self) {
        if self.id == 0 {
            self.id = next_tree_id();
        }
        self.lineage = Some((self.id, Arc::new(Vec::new())));
    }

    /// Whether the tree was made from another by changing paths it remembers.
    pub fn tracks_changes(&self) -> bool {
        self.lineage.is_some()
    }

    /// The paths that may differ from the tree with id `base`, if this tree was made
    /// from that one by changing them (added, changed or removed; in no order).
    pub fn changed_since(&self, base: u64) -> Option<&[Arc<str>]> {
        match &self.lineage {
            Some((from, changed)) if *from == base && base != 0 => Some(changed),
            _ => None,
        }
    }

    /// Notes a change of `path`: a new id, and the path among the changed ones.
    fn changed(&mut self, path: &Arc<str>) {
        self.id = next_tree_id();
        if let Some((_, changed)) = &mut self.lineage {
            Arc::make_mut(changed).push(Arc::clone(path));
        }
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(|blob| blob.bytes())
    }

    /// The blake3 of a file's bytes.
    pub fn hash(&self, path: &str) -> Option<blake3::Hash> {
        self.files.get(path).map(|blob| blob.hash())
    }

    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        // A shared map is copied before it changes: not for a path it does not have.
        if !self.files.contains_key(path) {
            return None;
        }
        self.changed(&Arc::from(path));
        Arc::make_mut(&mut self.files).remove(path).map(|blob| {
            Arc::try_unwrap(blob).map_or_else(|shared| shared.bytes.clone(), |own| own.bytes)
        })
    }

    /// Files in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (&**p, b.bytes()))
    }

    /// The file at `path`, as a blob.
    pub fn blob(&self, path: &str) -> Option<&Blob> {
        self.files.get(path).map(|blob| &**blob)
    }

    /// Files in path order, as blobs (bytes and hash).
    pub fn blobs(&self) -> impl Iterator<Item = (&str, &Blob)> {
        self.files.iter().map(|(p, b)| (&**p, &**b))
    }

    /// Files whose path starts with `prefix`, in path order.
    pub fn under<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a Blob)> {
        self.files
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .take_while(move |(path, _)| path.starts_with(prefix))
            .map(|(p, b)| (&**p, &**b))
    }

    /// The files that differ from `self` in `newer` (added, changed or removed), in path
    /// order. Blobs shared between the trees (a directory read again through a
    /// [`DirCache`]) are not compared byte by byte.
    pub fn changes<'a>(&'a self, newer: &'a Tree) -> Vec<Change<'a>> {
        if Arc::ptr_eq(&self.files, &newer.files) {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut old = self.files.iter().peekable();
        let mut new = newer.files.iter().peekable();
        loop {
            let order = match (old.peek(), new.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some((a, _)), Some((b, _))) => a.cmp(b),
            };
            match order {
                std::cmp::Ordering::Less => {
                    if let Some((path, _)) = old.next() {
                        out.push(Change {
                            path,
                            now: None,
                            existed: true,
                        });
                    }
                }
                std::cmp::Ordering::Greater => {
                    if let Some((path, blob)) = new.next() {
                        out.push(Change {
                            path,
                            now: Some(&**blob),
                            existed: false,
                        });
                    }
                }
                std::cmp::Ordering::Equal => {
                    if let (Some((_, before)), Some((path, after))) = (old.next(), new.next())
                        && !Arc::ptr_eq(before, after)
                        && **before != **after
                    {
                        out.push(Change {
                            path,
                            now: Some(&**after),
                            existed: true,
                        });
                    }
                }
            }
        }
        out
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// Reading a tree failed for a reason outside the content itself.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a directory", path.display())]
    NotADirectory { path: PathBuf },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_hash_is_the_blake3_of_its_bytes_and_survives_a_copy_of_the_tree() {
        let mut tree = Tree::new();
        tree.insert("hosts/a.yaml", "os: linux\n");
        let expected = blake3::hash(b"os: linux\n");
        let copy = tree.clone();
        assert_eq!(tree.hash("hosts/a.yaml"), Some(expected));
        // The copy shares the blob, and with it the hash computed above.
        assert!(
            copy.files
                .get("hosts/a.yaml")
                .is_some_and(|b| b.hash.get() == Some(&expected))
        );
        assert_eq!(copy.hash("missing"), None);
        tree.insert("hosts/a.yaml", "os: bsd\n");
        assert_eq!(
            copy.get("hosts/a.yaml"),
            Some(&b"os: linux\n"[..]),
            "copies are independent"
        );
        assert_eq!(tree.hash("hosts/a.yaml"), Some(blake3::hash(b"os: bsd\n")));
        assert_eq!(copy.hash("hosts/a.yaml"), Some(expected));
        assert_eq!(tree.remove("hosts/a.yaml"), Some(b"os: bsd\n".to_vec()));
    }

    #[test]
    fn changes_between_trees_are_the_added_changed_and_removed_files() {
        let mut old = Tree::new();
        for (path, text) in [("a", "1"), ("b", "2"), ("c", "3"), ("e", "5")] {
            old.insert(path, text);
        }
        assert!(old.changes(&old.clone()).is_empty());
        let mut new = old.clone();
        new.insert("b", "2 changed");
        new.insert("d", "4");
        new.remove("e");
        // Equal bytes in a blob of its own are not a change.
        new.insert("c", "3");
        let changes: Vec<(&str, Option<&[u8]>, bool)> = old
            .changes(&new)
            .into_iter()
            .map(|c| (c.path, c.now.map(Blob::bytes), c.existed))
            .collect();
        assert_eq!(
            changes,
            [
                ("b", Some(&b"2 changed"[..]), true),
                ("d", Some(&b"4"[..]), false),
                ("e", None, true),
            ]
        );
        let under: Vec<&str> = new.under("b").map(|(p, _)| p).collect();
        assert_eq!(under, ["b"]);
        assert_eq!(new.under("x").count(), 0);
    }
}
