//! A content tree read from a git commit (works on bare repositories: no working tree).

use std::path::Path;

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
