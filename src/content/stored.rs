//! Parsed documents kept on disk between runs of `glassroom build`, so that a build
//! parses only the files that changed since the last one.
//!
//! Each content file's document is stored under its path, with the blake3 of the bytes
//! it was parsed from. It is encoded with postcard, spans included (see
//! [`Spanned`](crate::yaml::Spanned)). A file whose bytes hash the same is decoded
//! instead of parsed, and its document is the one a parse would give, down to where
//! each value was written. The whole store is trusted only by the build of glassroom
//! that wrote it, because a change to the model or the parser may change what a file
//! parses to. So the store carries glassroom's source fingerprint (see `build.rs`). A
//! store that is not one (damaged, from another build) is empty, and an entry that does
//! not decode is parsed. The store can only cost time, never change a result.
//!
//! The policy is always parsed: it is one file, and its keys have no binary form.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};

use super::Content;
use super::Document;
use super::kind::{Kind, Parsed, Reader};
use super::shelf::{Model, Shelf};
use crate::diag::{FileId, Files, Origin};

/// One content file's document, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Entry {
    /// The blake3 of the file's bytes.
    hash: [u8; 32],
    /// Where the YAML starts in the file (after the opening fence of front matter).
    yaml_offset: usize,
    /// Where the Markdown body starts in the file: its length, for a YAML file.
    body_offset: usize,
    /// The postcard encoding of the document's data (as one byte string: a list of
    /// bytes would be encoded and decoded byte by byte).
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

/// What is written to disk; `format` must be this build's.
#[derive(Serialize, Deserialize)]
struct OnDisk {
    format: String,
    entries: Vec<(String, Entry)>,
}

fn format() -> String {
    concat!("glassroom parsed ", env!("GLASSROOM_SOURCE_HASH")).to_owned()
}

/// The documents an earlier build stored, by path.
#[derive(Debug, Default)]
pub struct Store {
    entries: HashMap<String, Entry>,
    /// How many documents loads took from it (for tests and timings).
    used: AtomicUsize,
}

impl Store {
    /// The store written by [`Store::updated`]; empty if the bytes are not one.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match postcard::from_bytes::<OnDisk>(bytes) {
            Ok(stored) if stored.format == format() => Self {
                entries: stored.entries.into_iter().collect(),
                used: AtomicUsize::new(0),
            },
            _ => Self::default(),
        }
    }

    /// How many documents loads took from it.
    pub(super) fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The document of `path` (of `kind`, with `id`) if the store has one for exactly
    /// these bytes (`hash`, `text`) and it decodes. Its file is numbered later
    /// (`Parsed::in_file`).
    pub(super) fn document(
        &self,
        kind: Kind,
        id: &str,
        path: &str,
        text: &str,
        hash: blake3::Hash,
    ) -> Option<Parsed> {
        let entry = self.entries.get(path)?;
        if entry.hash != *hash.as_bytes() {
            return None;
        }
        let document = decode(kind, id, path, text, entry)?;
        self.used.fetch_add(1, Ordering::Relaxed);
        Some(document)
    }

    /// The store for the next build: the documents of `content`, reusing the entries
    /// of unchanged files and encoding the others; `None` if that is this store.
    pub(super) fn updated(&self, content: &Content) -> Option<Vec<u8>> {
        let mut entries = Vec::with_capacity(content.files.len());
        let mut encoded = 0;
        for (path, entry, fresh) in self.entries_of(content) {
            encoded += usize::from(fresh);
            entries.push((path, entry));
        }
        if encoded == 0 && entries.len() == self.entries.len() {
            return None;
        }
        entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        postcard::to_stdvec(&OnDisk {
            format: format(),
            entries,
        })
        .ok()
    }

    /// Every storable document of `content`: its path, its entry and whether the entry
    /// was encoded now (not taken from this store).
    fn entries_of(&self, content: &Content) -> Vec<(String, Entry, bool)> {
        let files = &content.files;
        let mut all = Vec::with_capacity(files.len());
        for kind in Kind::ALL {
            all.extend(self.entries_of_kind(content.shelf(kind), files));
        }
        all
    }

    fn entries_of_kind(&self, docs: &dyn Shelf, files: &Files) -> Vec<(String, Entry, bool)> {
        (0..docs.len())
            .filter_map(|index| {
                let doc = docs.head(index)?;
                let hash = files.hash(doc.file())?;
                if let Some(kept) = self.entries.get(doc.path)
                    && kept.hash == *hash.as_bytes()
                {
                    return Some((doc.path.to_owned(), kept.clone(), false));
                }
                let text = files.text(doc.file());
                // The body is the end of the file; a document whose body is not cannot
                // be stored.
                let body_offset = text.len().checked_sub(doc.body.len())?;
                if text.get(body_offset..) != Some(doc.body) {
                    return None;
                }
                let entry = Entry {
                    hash: *hash.as_bytes(),
                    yaml_offset: doc.origin.offset,
                    body_offset,
                    data: docs.encode(index)?,
                };
                Some((doc.path.to_owned(), entry, true))
            })
            .collect()
    }
}

fn decode(kind: Kind, id: &str, path: &str, text: &str, entry: &Entry) -> Option<Parsed> {
    let body = text.get(entry.body_offset..)?;
    text.get(entry.yaml_offset..)?;
    let shell = Shell {
        id,
        path,
        body,
        yaml_offset: entry.yaml_offset,
        data: &entry.data,
    };
    Parsed::read(kind, shell).ok()
}

/// A stored document before its data is decoded into its kind's type.
struct Shell<'a> {
    id: &'a str,
    path: &'a str,
    body: &'a str,
    yaml_offset: usize,
    data: &'a [u8],
}

impl Reader for Shell<'_> {
    type Error = ();

    fn read<T: Model>(self, _: Kind) -> Result<Document<T>, ()> {
        Ok(Document {
            id: self.id.to_owned(),
            path: self.path.to_owned(),
            origin: Origin {
                file: FileId::from_index(0),
                offset: self.yaml_offset,
            },
            body: self.body.to_owned(),
            data: T::decode(self.data).ok_or(())?,
        })
    }
}
