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

pub use dir::{DirCache, read_dir, read_dir_cached};

/// The files of one content tree, sorted by path so every consumer sees the same order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tree {
    files: BTreeMap<String, Vec<u8>>,
}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a file. The path must already be a clean relative path.
    pub fn insert(&mut self, path: impl Into<String>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }

    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    pub fn remove(&mut self, path: &str) -> Option<Vec<u8>> {
        self.files.remove(path)
    }

    /// Files in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
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
