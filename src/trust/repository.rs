//! The replay's view of a git repository ([`Graph`] over git2): commits, their changes
//! with what can never be published marked, and walks of the commit graph.
//!
//! Everything here is bounded whatever a commit holds: blobs are measured before they
//! are read, trees are walked with a stack of our own and never deeper than
//! [`MAX_TREE_DEPTH`](crate::source::git::MAX_TREE_DEPTH).

use std::collections::{BTreeMap, HashSet};

use git2::{ObjectType, Oid, Repository, Tree};

use super::commit;
use super::judge;
use super::replay::{CommitInfo, Graph, GraphError, TreeChange};
use crate::lookalike::{is_invisible, look};
use crate::source::git::{
    DIRECTORY_MODE, LINK_MODE, SUBMODULE_MODE, is_regular_file, is_safe_component,
};

/// The largest blob glassroom ever publishes or reads to fingerprint. A larger one is
/// refused when it is committed, whoever signs it (the content stage has its own, lower
/// and configurable, limit).
pub const MAX_BLOB: usize = 32 << 20;
/// The largest policy file read.
const MAX_POLICY: usize = 1 << 20;
/// The longest name of one path component (what file systems accept).
const MAX_NAME: usize = 255;

/// A repository read as the replay needs it.
pub struct GitGraph<'r> {
    repo: &'r Repository,
    odb: git2::Odb<'r>,
}

impl<'r> GitGraph<'r> {
    pub fn new(repo: &'r Repository) -> Result<Self, GraphError> {
        Ok(Self {
            repo,
            odb: repo.odb()?,
        })
    }

    fn tree(&self, id: Oid) -> Result<Tree<'r>, GraphError> {
        self.repo.find_commit(id)?.tree()
    }

    /// The size of a blob without reading it (none if it cannot be found).
    fn size(&self, blob: Oid) -> Option<usize> {
        self.odb.read_header(blob).ok().map(|(size, _)| size)
    }

    /// Why an entry at `path` with file `mode` can never be published, if it cannot.
    fn unpublishable(
        &self,
        path: &str,
        id: Oid,
        mode: i32,
        twins: &CaseTwins<'_>,
    ) -> Option<String> {
        if !judge::is_clean_path(path) {
            return Some("is not a safe repository path".into());
        }
        if path.split('/').any(|name| name.len() > MAX_NAME) {
            return Some(format!("has a name longer than {MAX_NAME} bytes"));
        }
        match mode {
            LINK_MODE => return Some("is a symbolic link, which is never published".into()),
            SUBMODULE_MODE => return Some("is a submodule, which is never published".into()),
            DIRECTORY_MODE => {
                return Some(format!(
                    "is a directory nested more than {} deep, which is never published",
                    crate::source::git::MAX_TREE_DEPTH
                ));
            }
            _ => {}
        }
        if !is_regular_file(mode) {
            return Some("is not a regular file".into());
        }
        if path.chars().any(is_invisible) {
            return Some("has an invisible or control character in its name".into());
        }
        if twins.count(path) > 1 {
            return Some(
                "differs only in case or Unicode form from another path (a look-alike)".into(),
            );
        }
        match self.size(id) {
            Some(size) if size > MAX_BLOB => Some(format!(
                "is {} MiB, more than the {} MiB glassroom ever publishes",
                size >> 20,
                MAX_BLOB >> 20
            )),
            Some(_) => None,
            None => Some("cannot be read from the repository".into()),
        }
    }
}

impl Graph for GitGraph<'_> {
    fn commit(&self, id: Oid) -> Result<CommitInfo, GraphError> {
        let found = self.repo.find_commit(id)?;
        let raw = self.odb.read(id)?;
        let raw = commit::parse(raw.data());
        Ok(CommitInfo {
            parents: found.parent_ids().collect(),
            time: raw
                .as_ref()
                .map_or_else(|_| found.time().seconds(), |raw| raw.time),
            raw,
        })
    }

    fn parents(&self, id: Oid) -> Result<Vec<Oid>, GraphError> {
        Ok(self.repo.find_commit(id)?.parent_ids().collect())
    }

    fn changes(&self, id: Oid, parent: Option<Oid>) -> Result<Vec<TreeChange>, GraphError> {
        let tree = self.tree(id)?;
        let parent_tree = parent.map(|p| self.tree(p)).transpose()?;
        let deltas = crate::source::git::tree_diff(self.repo, parent_tree.as_ref(), &tree)?;
        let twins = CaseTwins::new(self.repo, &tree, deltas.len())?;
        Ok(deltas
            .into_iter()
            .map(|delta| {
                let (path, utf8) = path_text(&delta.path);
                let unpublishable = if utf8 {
                    delta
                        .new
                        .and_then(|(id, mode)| self.unpublishable(&path, id, mode, &twins))
                } else {
                    delta.new.map(|_| "has a name that is not UTF-8".to_owned())
                };
                TreeChange {
                    new: delta.new.map(|(id, _)| id.to_string()),
                    path,
                    unpublishable,
                }
            })
            .collect())
    }

    fn entry(&self, id: Oid, path: &str) -> Result<TreeChange, GraphError> {
        let tree = self.tree(id)?;
        let none = TreeChange {
            path: path.to_owned(),
            new: None,
            unpublishable: None,
        };
        if !judge::is_clean_path(path) {
            return Ok(none);
        }
        let Ok(entry) = tree.get_path(std::path::Path::new(path)) else {
            return Ok(none);
        };
        if entry.kind() == Some(ObjectType::Tree) {
            return Ok(none);
        }
        let twins = CaseTwins::Lookup(self.repo, tree.clone());
        Ok(TreeChange {
            unpublishable: self.unpublishable(path, entry.id(), entry.filemode(), &twins),
            new: Some(entry.id().to_string()),
            path: path.to_owned(),
        })
    }

    fn root_files(&self, id: Oid) -> Result<BTreeMap<String, String>, GraphError> {
        Ok(
            crate::source::git::regular_files(self.repo, &self.tree(id)?)?
                .into_iter()
                .map(|(path, blob)| (path, blob.to_string()))
                .collect(),
        )
    }

    fn text(&self, blob: &str) -> Option<String> {
        let id = Oid::from_str(blob).ok()?;
        if self.size(id)? > MAX_POLICY {
            return None;
        }
        let blob = self.repo.find_blob(id).ok()?;
        std::str::from_utf8(blob.content()).ok().map(str::to_owned)
    }

    fn fingerprint(&self, blob: &str) -> Option<String> {
        let id = Oid::from_str(blob).ok()?;
        if self.size(id)? > MAX_BLOB {
            return None;
        }
        let blob = self.repo.find_blob(id).ok()?;
        Some(blake3::hash(blob.content()).to_hex().to_string())
    }

    fn topo(&self, tip: Oid, hide: &[Oid]) -> Result<Vec<Oid>, GraphError> {
        let mut walk = self.repo.revwalk()?;
        walk.set_sorting(git2::Sort::TOPOLOGICAL | git2::Sort::REVERSE)?;
        walk.push(tip)?;
        for id in hide {
            walk.hide(*id)?;
        }
        walk.collect()
    }

    fn only_in(&self, tip: Oid, hide: &[Oid]) -> Result<HashSet<Oid>, GraphError> {
        let mut walk = self.repo.revwalk()?;
        walk.push(tip)?;
        for id in hide {
            walk.hide(*id)?;
        }
        walk.collect()
    }
}

/// A path's bytes as text, and whether they were UTF-8. Bytes that are not are written
/// `\xNN`: two different names never become one (a backslash is never in a publishable
/// path, so this text is never another file's).
fn path_text(bytes: &[u8]) -> (String, bool) {
    let mut text = String::with_capacity(bytes.len());
    let mut utf8 = true;
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            utf8 = false;
            text.push_str(&format!("\\x{byte:02x}"));
        }
    }
    (text, utf8)
}

/// How many publishable files of a tree have a path that looks like a given one: equal
/// but for case and Unicode form (two such files would be one file on a case-insensitive
/// or normalising checkout, and look alike on every page).
pub enum CaseTwins<'r> {
    /// Every publishable path, lowercased: for a commit that changes many files.
    Listed(BTreeMap<String, usize>),
    /// Looked up in the tree path by path: a commit that changes a few files need not
    /// list all 12,000 of a large repository.
    Lookup(&'r Repository, Tree<'r>),
}

/// Above this many changed paths a commit's tree is listed once instead.
pub const CASE_LOOKUPS: usize = 64;

impl<'r> CaseTwins<'r> {
    pub fn new(repo: &'r Repository, tree: &Tree<'r>, changed: usize) -> Result<Self, GraphError> {
        if changed <= CASE_LOOKUPS {
            return Ok(Self::Lookup(repo, tree.clone()));
        }
        let mut lower = BTreeMap::new();
        for path in crate::source::git::regular_files(repo, tree)?.keys() {
            *lower.entry(look(path)).or_default() += 1;
        }
        Ok(Self::Listed(lower))
    }

    pub fn count(&self, path: &str) -> usize {
        match self {
            Self::Listed(lower) => lower.get(&look(path)).copied().unwrap_or(0),
            Self::Lookup(repo, tree) => {
                let wanted: Vec<String> = path.split('/').map(look).collect();
                count_case_twins(repo, tree, &wanted)
            }
        }
    }
}

/// The publishable files under `tree` whose path looks like `wanted` (components, as
/// [`look`] gives them): the entries [`crate::source::git::regular_files`] would list,
/// found by following every look-alike of each component.
fn count_case_twins(repo: &Repository, tree: &Tree<'_>, wanted: &[String]) -> usize {
    let Some((first, rest)) = wanted.split_first() else {
        return 0;
    };
    tree.iter()
        .filter(|entry| {
            entry
                .name()
                .ok()
                .filter(|n| is_safe_component(n))
                .is_some_and(|n| look(n) == *first)
        })
        .map(|entry| match entry.kind() {
            Some(ObjectType::Blob) if rest.is_empty() && is_regular_file(entry.filemode()) => 1,
            Some(ObjectType::Tree) if !rest.is_empty() => repo
                .find_tree(entry.id())
                .map_or(0, |subtree| count_case_twins(repo, &subtree, rest)),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::source::git::tree_of;

    #[test]
    fn names_that_are_not_utf8_stay_apart_and_are_marked() {
        assert_eq!(
            path_text(b"hosts/a.yaml"),
            ("hosts/a.yaml".to_owned(), true)
        );
        let (one, utf8) = path_text(b"hosts/\xff.yaml");
        assert!(!utf8);
        assert_eq!(one, "hosts/\\xff.yaml");
        assert_ne!(one, path_text(b"hosts/\xfe.yaml").0);
        assert!(!judge::is_clean_path(&one), "never a publishable path");
    }

    #[test]
    fn case_twins_looked_up_path_by_path_agree_with_the_listing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let tree = tree_of(
            &repo,
            &[
                ("hosts/web1.yaml", "a"),
                ("hosts/WEB1.yaml", "b"),
                ("Hosts/web1.yaml", "c"),
                ("hosts/Web2.yaml", "->/etc/passwd"),
                ("hosts/web2.yaml", "d"),
                ("hosts/web3.yaml", "e"),
                (".git2/web3.yaml", "f"),
                ("hosts/caf\u{e9}.yaml", "g"),
                ("hosts/cafe\u{301}.yaml", "h"),
                ("hosts/\u{fb01}le.yaml", "i"),
                ("hosts/file.yaml", "j"),
            ],
        );
        let listed = CaseTwins::new(&repo, &tree, CASE_LOOKUPS + 1).expect("listed");
        let looked_up = CaseTwins::new(&repo, &tree, 1).expect("lookup");
        for (path, twins) in [
            ("hosts/web1.yaml", 3),
            ("HOSTS/Web1.yaml", 3),
            ("hosts/web2.yaml", 1),
            ("hosts/web3.yaml", 1),
            ("hosts/gone.yaml", 0),
            ("hosts/CAF\u{c9}.yaml", 2),
            ("hosts/file.yaml", 2),
        ] {
            assert_eq!(listed.count(path), twins, "listed: {path}");
            assert_eq!(looked_up.count(path), twins, "looked up: {path}");
        }
    }
}
