//! A content tree read from a git commit (works on bare repositories: no working tree).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use git2::{ObjectType, Oid, Repository};

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
/// inside another project must not silently read the outer one). A bare repository
/// opens as well; inside a git hook that runs before a push is accepted, the pushed
/// objects are read too ([`add_quarantine`]).
pub fn open(path: &Path) -> Result<Repository, GitError> {
    let repo = Repository::open(path).map_err(|source| GitError::NotARepository {
        path: path.to_path_buf(),
        source,
    })?;
    add_quarantine(&repo)?;
    Ok(repo)
}

/// While a `pre-receive` hook runs, git keeps the pushed objects in a quarantine
/// directory inside the repository's `objects/` and names it in `GIT_QUARANTINE_PATH`
/// (and `GIT_OBJECT_DIRECTORY`); they move into the repository only once the hook
/// accepts the push. libgit2 reads neither variable unless a repository is opened
/// "from the environment", which would also let `GIT_DIR` and the others choose the
/// repository, so only the quarantine is added, as an alternate object directory, and
/// only when it lies inside this repository's `objects/`: the variable can then only add
/// objects the repository itself stores (git sets it on the server; a pusher cannot).
pub fn add_quarantine(repo: &Repository) -> Result<(), GitError> {
    let Some(given) = std::env::var_os("GIT_QUARANTINE_PATH") else {
        return Ok(());
    };
    let Some(dir) = quarantine_dir(repo.path(), Path::new(&given)) else {
        return Ok(());
    };
    if let Some(dir) = dir.to_str() {
        repo.odb()?.add_disk_alternate(dir)?;
    }
    Ok(())
}

/// `given`, resolved, when it is a directory inside `<git_dir>/objects/` (not that
/// directory itself).
fn quarantine_dir(git_dir: &Path, given: &Path) -> Option<std::path::PathBuf> {
    let objects = git_dir.join("objects").canonicalize().ok()?;
    let dir = given.canonicalize().ok()?;
    (dir != objects && dir.starts_with(&objects) && dir.is_dir()).then_some(dir)
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

/// Every regular file of a tree whose path is made of safe UTF-8 names ([`is_safe_component`]),
/// path → blob id. Symbolic links, submodules and other names are left out, and so are
/// directories nested deeper than [`MAX_TREE_DEPTH`]. The walk keeps its own stack (a
/// commit may nest trees as deep as it likes; libgit2's walk recurses).
pub fn regular_files(
    repo: &Repository,
    tree: &git2::Tree<'_>,
) -> Result<BTreeMap<String, Oid>, git2::Error> {
    let mut out = BTreeMap::new();
    let mut pending: Vec<(String, Oid, usize)> = Vec::new();
    let mut visit = |prefix: &str,
                     tree: &git2::Tree<'_>,
                     depth: usize,
                     pending: &mut Vec<(String, Oid, usize)>| {
        for entry in tree.iter() {
            let Some(name) = std::str::from_utf8(entry.name_bytes())
                .ok()
                .filter(|n| is_safe_component(n))
            else {
                continue;
            };
            let path = format!("{prefix}{name}");
            match entry.kind() {
                Some(ObjectType::Tree) if depth < MAX_TREE_DEPTH => {
                    pending.push((path + "/", entry.id(), depth + 1));
                }
                Some(ObjectType::Blob) if is_regular_file(entry.filemode()) => {
                    out.insert(path, entry.id());
                }
                _ => {}
            }
        }
    };
    visit("", tree, 0, &mut pending);
    while let Some((prefix, id, depth)) = pending.pop() {
        visit(&prefix, &repo.find_tree(id)?, depth, &mut pending);
    }
    Ok(out)
}

/// Git's file modes of a symbolic link and of a submodule (a commit in a tree).
pub const LINK_MODE: i32 = 0o120000;
pub const SUBMODULE_MODE: i32 = 0o160000;
/// The file type bits of a git file mode, and their value for a directory and for a
/// regular file (`0o100644` or `0o100755`).
const FILE_TYPE_BITS: i32 = 0o170000;
pub const DIRECTORY_MODE: i32 = 0o040000;
const REGULAR_FILE_MODE: i32 = 0o100000;

/// Whether a tree entry of file mode `mode` is a file that can be published: a regular
/// file, not a directory, a symbolic link or a submodule.
pub fn is_regular_file(mode: i32) -> bool {
    mode & FILE_TYPE_BITS == REGULAR_FILE_MODE
}

/// A path component that cannot escape or confuse: not empty, `.`, `..`, `.git`, and
/// without separators or NUL.
pub fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.eq_ignore_ascii_case(".git")
        // Bytes, not chars: all three are ASCII, and this runs for every path of a tree.
        && !name.bytes().any(|b| matches!(b, b'/' | b'\\' | 0))
}

/// One file entry that differs between two git trees ([`tree_diff`]): its path and its
/// id and file mode on either side (absent: not there).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeDelta {
    pub path: Vec<u8>,
    pub old: Option<(Oid, i32)>,
    pub new: Option<(Oid, i32)>,
}

/// The entries other than directories (files, links, submodules) that differ between
/// `old` (none: the empty tree) and `new`, in path order (a directory nested deeper than
/// [`MAX_TREE_DEPTH`] is one entry, with its directory mode, never looked into): what libgit2's tree-to-tree
/// diff lists, without looking into a subtree whose id is the same on both sides. For a
/// change of one file among thousands this is a walk of the directories on its path,
/// where libgit2 iterates every entry of both trees (13 ms against 0.2 ms here, for a
/// directory of 4,000 tickets).
pub fn tree_diff(
    repo: &Repository,
    old: Option<&git2::Tree<'_>>,
    new: &git2::Tree<'_>,
) -> Result<Vec<TreeDelta>, git2::Error> {
    let mut out = Vec::new();
    let old_entries = match old {
        Some(tree) => tree_entries(tree),
        None => Vec::new(),
    };
    diff_entries(
        repo,
        &mut Vec::new(),
        old_entries,
        tree_entries(new),
        &mut out,
    )?;
    Ok(out)
}

/// A tree entry as the diff needs it: the name, whether it is a directory, id and mode.
struct Node {
    name: Vec<u8>,
    dir: bool,
    id: Oid,
    mode: i32,
}

impl Node {
    /// Git orders a directory as if its name ended in `/`, which makes a depth-first
    /// walk list files in the byte order of their whole paths.
    fn order(&self, other: &Node) -> std::cmp::Ordering {
        let suffix = |node: &Node| if node.dir { &b"/"[..] } else { &b""[..] };
        self.name
            .iter()
            .chain(suffix(self))
            .cmp(other.name.iter().chain(suffix(other)))
    }
}

fn tree_entries(tree: &git2::Tree<'_>) -> Vec<Node> {
    tree.iter()
        .map(|entry| Node {
            name: entry.name_bytes().to_vec(),
            dir: entry.kind() == Some(ObjectType::Tree),
            id: entry.id(),
            mode: entry.filemode(),
        })
        .collect()
}

fn subtree_entries(repo: &Repository, node: Option<&Node>) -> Result<Vec<Node>, git2::Error> {
    match node {
        Some(node) if node.dir => Ok(tree_entries(&repo.find_tree(node.id)?)),
        _ => Ok(Vec::new()),
    }
}

/// How deep [`tree_diff`] and [`regular_files`] go: a commit may hold anything, and each
/// level is a frame (or a stack entry). Nothing deeper is ever published.
pub const MAX_TREE_DEPTH: usize = 1000;

/// Merges two sorted entry lists under the directory `prefix`.
fn diff_entries(
    repo: &Repository,
    prefix: &mut Vec<u8>,
    old: Vec<Node>,
    new: Vec<Node>,
    out: &mut Vec<TreeDelta>,
) -> Result<(), git2::Error> {
    use std::cmp::Ordering;
    let (mut old, mut new) = (old.into_iter().peekable(), new.into_iter().peekable());
    loop {
        let (left, right) = match (old.peek(), new.peek()) {
            (None, None) => return Ok(()),
            (Some(_), None) => (old.next(), None),
            (None, Some(_)) => (None, new.next()),
            (Some(a), Some(b)) => match a.order(b) {
                Ordering::Less => (old.next(), None),
                Ordering::Greater => (None, new.next()),
                Ordering::Equal => (old.next(), new.next()),
            },
        };
        if let (Some(a), Some(b)) = (&left, &right)
            && a.id == b.id
            && a.mode == b.mode
        {
            continue;
        }
        let Some(name) = left.as_ref().or(right.as_ref()).map(|n| n.name.clone()) else {
            return Ok(());
        };
        let prefix_len = prefix.len();
        prefix.extend_from_slice(&name);
        let dir = left.as_ref().or(right.as_ref()).is_some_and(|n| n.dir);
        let too_deep = || prefix.iter().filter(|&&b| b == b'/').count() >= MAX_TREE_DEPTH;
        if dir && !too_deep() {
            prefix.push(b'/');
            let (a, b) = (
                subtree_entries(repo, left.as_ref())?,
                subtree_entries(repo, right.as_ref())?,
            );
            diff_entries(repo, prefix, a, b, out)?;
        } else {
            out.push(TreeDelta {
                path: prefix.clone(),
                old: left.map(|n| (n.id, n.mode)),
                new: right.map(|n| (n.id, n.mode)),
            });
        }
        prefix.truncate(prefix_len);
    }
}

/// The last tree read through it (its blobs know their git ids), so the tree of the next
/// commit reads only the blobs whose ids changed and tells which paths those are
/// ([`Tree::changed_since`]): the server rebuilding for each new commit reads one blob,
/// not twelve thousand. The default cache remembers nothing.
#[derive(Default)]
pub struct BlobCache {
    keep: bool,
    /// The last tree, and the size limit it was read under.
    last: Mutex<Option<(Tree, u64)>>,
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

/// A tree of `files` (path to blob id, in hex), every blob read whole. Through a keeping
/// `cache`, the tree the last read gave is patched: only blobs whose id changed at their
/// path are read, and the tree remembers the paths changed.
pub fn read_blobs(
    repo: &Repository,
    files: &BTreeMap<String, String>,
    cache: &BlobCache,
) -> Result<Tree, git2::Error> {
    read_blobs_limited(repo, files, cache, super::SizeLimit::NONE)
}

/// Like [`read_blobs`], except that a blob over `limit` is not read: its size comes from
/// the object's header, and the tree holds the size alone ([`super::Blob::too_large`]).
pub fn read_blobs_limited(
    repo: &Repository,
    files: &BTreeMap<String, String>,
    cache: &BlobCache,
    limit: super::SizeLimit<'_>,
) -> Result<Tree, git2::Error> {
    let odb = repo.odb()?;
    let read = |path: &str, id: &str| -> Result<Arc<super::Blob>, git2::Error> {
        let oid = Oid::from_str(id)?;
        if limit.max_bytes < u64::MAX && (limit.applies)(path) {
            let (size, _) = odb.read_header(oid)?;
            let size = u64::try_from(size).unwrap_or(u64::MAX);
            if limit.exceeded(path, size) {
                return Ok(Arc::new(super::Blob::too_large(size, Some(id))));
            }
        }
        let bytes = repo.find_blob(oid)?.content().to_vec();
        Ok(Arc::new(super::Blob::from_git(bytes, id)))
    };
    // Taken out while patching: a read that fails leaves nothing half-patched behind. A
    // tree read under another limit is read again.
    let last = if cache.keep {
        cache
            .last
            .lock()
            .ok()
            .and_then(|mut last| last.take())
            .filter(|(_, max)| *max == limit.max_bytes)
            .map(|(tree, _)| tree)
    } else {
        None
    };
    let tree = match last {
        Some(mut tree) => {
            tree.track_changes();
            // One walk of the tree and the list side by side, both in path order.
            let changed: Vec<String> = crate::memo::differing(
                tree.blobs(),
                files.iter().map(|(path, id)| (path.as_str(), id)),
                |blob, id| blob.git_id() == Some(id.as_str()),
            )
            .into_iter()
            .map(str::to_owned)
            .collect();
            for path in changed {
                match files.get(&path) {
                    Some(id) => {
                        let blob = read(&path, id)?;
                        tree.insert_blob(path, blob);
                    }
                    None => {
                        tree.remove(&path);
                    }
                }
            }
            tree
        }
        None => {
            let mut tree = Tree::new();
            for (path, id) in files {
                tree.insert_blob(path.clone(), read(path, id)?);
            }
            tree
        }
    };
    if cache.keep
        && let Ok(mut last) = cache.last.lock()
    {
        *last = Some((tree.clone(), limit.max_bytes));
    }
    Ok(tree)
}

/// The index line of `id` at `path` (`mode`: a file, a link, a submodule), for the
/// three places that build an index by hand (a tree to publish, an entry appended to the
/// checkout's index, trees in tests). `stat` is the working file's metadata when there
/// is one, so git trusts it instead of hashing the file again; without it the stat fields
/// are zeros, which make git compare the content once.
pub fn index_entry(
    path: &str,
    id: Oid,
    mode: git2::FileMode,
    file_size: usize,
    stat: Option<&std::fs::Metadata>,
) -> git2::IndexEntry {
    use std::os::unix::fs::MetadataExt;
    let time = |seconds: i64, nanos: i64| {
        git2::IndexTime::new(
            i32::try_from(seconds).unwrap_or(0),
            u32::try_from(nanos).unwrap_or(0),
        )
    };
    git2::IndexEntry {
        ctime: stat.map_or(time(0, 0), |m| time(m.ctime(), m.ctime_nsec())),
        mtime: stat.map_or(time(0, 0), |m| time(m.mtime(), m.mtime_nsec())),
        // Truncated to 32 bits, as git itself stores them.
        dev: stat.map_or(0, |m| m.dev() as u32),
        ino: stat.map_or(0, |m| m.ino() as u32),
        mode: mode.into(),
        uid: stat.map_or(0, MetadataExt::uid),
        gid: stat.map_or(0, MetadataExt::gid),
        file_size: u32::try_from(file_size).unwrap_or(u32::MAX),
        id,
        // git2 sets the path-length bits again from `path` when the entry is added.
        flags: u16::try_from(path.len().min(0xfff)).unwrap_or(0xfff),
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    }
}

/// A tree of `files` (path → text; a text `->target` is a symbolic link, `@` a
/// submodule), for tests.
#[cfg(test)]
pub(crate) fn tree_of<'r>(repo: &'r Repository, files: &[(&str, &str)]) -> git2::Tree<'r> {
    let mut index = git2::Index::new().expect("index");
    for (path, text) in files {
        let (mode, id) = match (text.strip_prefix("->"), *text == "@") {
            (Some(target), _) => (
                git2::FileMode::Link,
                repo.blob(target.as_bytes()).expect("blob"),
            ),
            (None, true) => (
                git2::FileMode::Commit,
                Oid::hash_object(ObjectType::Commit, path.as_bytes()).expect("id"),
            ),
            (None, false) => (
                git2::FileMode::Blob,
                repo.blob(text.as_bytes()).expect("blob"),
            ),
        };
        index
            .add(&index_entry(path, id, mode, 0, None))
            .expect("add");
    }
    let id = index.write_tree_to(repo).expect("write tree");
    repo.find_tree(id).expect("tree")
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
    fn only_a_directory_inside_the_repositorys_objects_is_a_quarantine()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let repo = Repository::init_bare(dir.path().join("r.git"))?;
        let objects = repo.path().join("objects");
        let incoming = objects.join("tmp_objdir-incoming-abc");
        std::fs::create_dir(&incoming)?;
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere)?;
        assert!(quarantine_dir(repo.path(), &incoming).is_some());
        assert_eq!(quarantine_dir(repo.path(), &objects), None);
        assert_eq!(quarantine_dir(repo.path(), &elsewhere), None);
        assert_eq!(
            quarantine_dir(repo.path(), &incoming.join("..").join("..")),
            None
        );
        assert_eq!(quarantine_dir(repo.path(), &objects.join("missing")), None);
        Ok(())
    }

    #[test]
    fn index_entries_carry_stat_data_only_when_given_it() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("a.md");
        std::fs::write(&file, "text")?;
        let id = Oid::hash_object(ObjectType::Blob, b"text")?;
        let bare = index_entry("a.md", id, git2::FileMode::Blob, 4, None);
        assert_eq!((bare.mode, bare.file_size, bare.ino), (0o100644, 4, 0));
        assert_eq!((bare.mtime.seconds(), bare.flags), (0, 4));
        let stat = std::fs::metadata(&file)?;
        let staged = index_entry("a.md", id, git2::FileMode::Blob, 4, Some(&stat));
        assert_ne!(staged.ino, 0);
        assert_ne!(staged.mtime.seconds(), 0);
        let link = index_entry("l", id, git2::FileMode::Link, 0, None);
        assert_eq!(link.mode, 0o120000);
        Ok(())
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

    fn logbook_only(path: &str) -> bool {
        path.starts_with("logbook/")
    }

    #[test]
    fn a_blob_over_the_size_limit_is_not_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = "x".repeat(5000);
        let files = repo_with(
            dir.path(),
            &[
                ("logbook/big.md", &big),
                ("logbook/small.md", "fits"),
                ("static/logo.png", &big),
            ],
        );
        let repo = Repository::open(dir.path()).expect("open");
        let limit = super::super::SizeLimit {
            max_bytes: 4096,
            applies: &logbook_only,
        };
        let cache = BlobCache::keeping();
        let tree = read_blobs_limited(&repo, &files, &cache, limit).expect("read");
        let blob = tree.blob("logbook/big.md").expect("listed");
        assert_eq!(blob.size_over_limit(), Some(5000));
        assert!(blob.bytes().is_empty());
        assert_eq!(blob.git_id(), Some(files["logbook/big.md"].as_str()));
        assert_eq!(tree.get("logbook/small.md"), Some(&b"fits"[..]));
        assert_eq!(tree.get("static/logo.png").map(<[u8]>::len), Some(5000));
        // The kept tree is read again under another limit.
        let raised = super::super::SizeLimit {
            max_bytes: 8192,
            ..limit
        };
        let tree = read_blobs_limited(&repo, &files, &cache, raised).expect("read");
        assert_eq!(tree.get("logbook/big.md"), Some(big.as_bytes()));
        let tree = read_blobs_limited(&repo, &files, &cache, limit).expect("read");
        assert_eq!(
            tree.blob("logbook/big.md")
                .and_then(|b| b.size_over_limit()),
            Some(5000)
        );
    }

    /// What libgit2's tree-to-tree diff says, in [`TreeDelta`]s.
    fn libgit2_diff(
        repo: &Repository,
        old: Option<&git2::Tree<'_>>,
        new: &git2::Tree<'_>,
    ) -> Vec<TreeDelta> {
        let mut options = git2::DiffOptions::new();
        options.include_typechange(true);
        let diff = repo
            .diff_tree_to_tree(old, Some(new), Some(&mut options))
            .expect("diff");
        diff.deltas()
            .map(|delta| {
                let side = |file: git2::DiffFile<'_>, there: bool| {
                    there.then(|| (file.id(), i32::from(file.mode())))
                };
                TreeDelta {
                    path: delta
                        .new_file()
                        .path_bytes()
                        .or(delta.old_file().path_bytes())
                        .unwrap_or_default()
                        .to_vec(),
                    old: side(delta.old_file(), delta.status() != git2::Delta::Added),
                    new: side(delta.new_file(), delta.status() != git2::Delta::Deleted),
                }
            })
            .collect()
    }

    #[test]
    fn tree_diff_lists_what_libgit2_lists() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let trees: Vec<Vec<(&str, &str)>> = vec![
            vec![
                ("a.yaml", "a"),
                ("docs/x.md", "x"),
                ("docs/y/z.md", "z"),
                ("hosts/web1.yaml", "1"),
                ("hosts/web2.yaml", "2"),
                ("vendor/lib", "@"),
            ],
            // One file edited deep down, one added, one removed, a file become a link.
            vec![
                ("a.yaml", "->elsewhere"),
                ("docs/x.md", "x"),
                ("docs/y/z.md", "z2"),
                ("hosts/web1.yaml", "1"),
                ("hosts/web3.yaml", "3"),
                ("vendor/lib", "@"),
            ],
            // A directory become a file, a file become a directory, names that sort
            // around a directory's implied `/`.
            vec![
                ("a.yaml/inner", "i"),
                ("docs", "a file now"),
                ("docs-1", "d"),
                ("docs.md", "d"),
                ("docs0", "d"),
                ("hosts/web1.yaml", "1"),
                ("vendor/lib", "@"),
            ],
            vec![("only.yaml", "o")],
            vec![],
        ];
        let trees: Vec<git2::Tree<'_>> = trees.iter().map(|files| tree_of(&repo, files)).collect();
        let mut compared = 0;
        for old in std::iter::once(None).chain(trees.iter().map(Some)) {
            for new in &trees {
                let ours = tree_diff(&repo, old, new).expect("tree diff");
                assert_eq!(ours, libgit2_diff(&repo, old, new));
                compared += usize::from(!ours.is_empty());
            }
        }
        assert!(compared > 20, "most pairs differ: {compared}");
    }
}
