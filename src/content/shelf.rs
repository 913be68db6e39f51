//! The documents of one kind, whatever their type: what `content` does with them without
//! knowing it ([`Shelf`]), and what it needs of every model type ([`Model`]).

use serde::de::DeserializeOwned;

use super::Document;
use crate::diag::{FileId, Origin};

/// What `content` needs of a kind's model type: to be read from YAML, and to be stored in
/// the binary form of the parsed-document store (`stored.rs`), where the kind has one.
pub trait Model: DeserializeOwned + std::fmt::Debug + Send + Sync + 'static {
    /// The document's data in the store's binary form; `None` if the kind is not stored.
    fn encode(&self) -> Option<Vec<u8>>;
    /// The data [`Model::encode`] wrote; `None` if it is not that.
    fn decode(bytes: &[u8]) -> Option<Self>;
    /// How many entries the document counts for in the summary line.
    fn entries(&self) -> usize {
        1
    }
}

/// The documents of one kind in [`Content`]: a list sorted by id then path, or a single
/// optional document. What `content` does with documents without knowing their type.
pub trait Shelf: Sync {
    /// How many documents there are.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The id, path and origin of the `index`th document.
    fn head(&self, index: usize) -> Option<Head<'_>>;
    /// The position of the document of `path` (with `id`): `Ok` where it is, `Err` where
    /// it would go.
    fn position(&self, id: &str, path: &str) -> Result<usize, usize>;
    /// The file of some document with `id` (any path).
    fn file_of_id(&self, id: &str) -> Option<FileId>;
    /// Takes the document of `path` (with `id`) out.
    fn remove(&mut self, id: &str, path: &str);
    /// Keeps only the documents whose file `keep` holds for.
    fn retain_files(&mut self, keep: &dyn Fn(FileId) -> bool);
    /// Sorts the documents by id, then path.
    fn sort(&mut self);
    /// The `index`th document's data in the store's binary form.
    fn encode(&self, index: usize) -> Option<Vec<u8>>;
    /// How many entries the documents count for in the summary line.
    fn entries(&self) -> usize;
}

/// What every document has, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub struct Head<'a> {
    pub id: &'a str,
    pub path: &'a str,
    pub origin: Origin,
    pub body: &'a str,
}

impl Head<'_> {
    pub fn file(&self) -> FileId {
        self.origin.file
    }
}

pub(super) fn head<T>(doc: &Document<T>) -> Head<'_> {
    Head {
        id: &doc.id,
        path: &doc.path,
        origin: doc.origin,
        body: &doc.body,
    }
}

/// The position of the document of `path` (with `id`) among `docs`, sorted by id then
/// path: `Ok` where it is, `Err` where it would go.
fn position<T>(docs: &[Document<T>], id: &str, path: &str) -> Result<usize, usize> {
    docs.binary_search_by(|d| {
        d.id.as_str()
            .cmp(id)
            .then_with(|| d.path.as_str().cmp(path))
    })
}

fn file_of_id<T>(docs: &[Document<T>], id: &str) -> Option<FileId> {
    let at = docs.partition_point(|d| d.id.as_str() < id);
    docs.get(at).filter(|d| d.id == id).map(Document::file)
}

impl<T: Model> Shelf for Vec<Document<T>> {
    fn len(&self) -> usize {
        self.as_slice().len()
    }
    fn head(&self, index: usize) -> Option<Head<'_>> {
        self.get(index).map(head)
    }
    fn position(&self, id: &str, path: &str) -> Result<usize, usize> {
        position(self, id, path)
    }
    fn file_of_id(&self, id: &str) -> Option<FileId> {
        file_of_id(self, id)
    }
    fn remove(&mut self, id: &str, path: &str) {
        if let Ok(i) = position(self, id, path) {
            Vec::remove(self, i);
        }
    }
    fn retain_files(&mut self, keep: &dyn Fn(FileId) -> bool) {
        self.retain(|doc| keep(doc.file()));
    }
    fn sort(&mut self) {
        self.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    }
    fn encode(&self, index: usize) -> Option<Vec<u8>> {
        self.get(index)?.data.encode()
    }
    fn entries(&self) -> usize {
        self.iter().map(|doc| doc.data.entries()).sum()
    }
}

impl<T: Model> Shelf for Option<Document<T>> {
    fn len(&self) -> usize {
        usize::from(self.is_some())
    }
    fn head(&self, index: usize) -> Option<Head<'_>> {
        self.as_slice().get(index).map(head)
    }
    fn position(&self, id: &str, path: &str) -> Result<usize, usize> {
        position(self.as_slice(), id, path)
    }
    fn file_of_id(&self, id: &str) -> Option<FileId> {
        file_of_id(self.as_slice(), id)
    }
    fn remove(&mut self, _id: &str, _path: &str) {
        // The one file of the kind is at one path with one id.
        *self = None;
    }
    fn retain_files(&mut self, keep: &dyn Fn(FileId) -> bool) {
        if self.as_ref().is_some_and(|doc| !keep(doc.file())) {
            *self = None;
        }
    }
    fn sort(&mut self) {}
    fn encode(&self, index: usize) -> Option<Vec<u8>> {
        self.as_slice().get(index)?.data.encode()
    }
    fn entries(&self) -> usize {
        self.as_ref().map_or(0, |doc| doc.data.entries())
    }
}

/// Where a kind's documents go in [`Content`]: `Vec` for many, `Option` for one.
pub(super) trait Slot<T> {
    /// Adds a document while loading (sorted afterwards).
    fn push_loaded(&mut self, doc: Document<T>);
    /// Puts a document in its place: instead of the one of the same path, or where it
    /// sorts.
    fn put(&mut self, doc: Document<T>);
    /// Every document, by value.
    fn drain_into(self, each: &mut dyn FnMut(Document<T>));
}

impl<T> Slot<T> for Vec<Document<T>> {
    fn push_loaded(&mut self, doc: Document<T>) {
        self.push(doc);
    }
    fn put(&mut self, doc: Document<T>) {
        match position(self, &doc.id, &doc.path) {
            Ok(i) => self[i] = doc,
            Err(i) => self.insert(i, doc),
        }
    }
    fn drain_into(self, each: &mut dyn FnMut(Document<T>)) {
        for doc in self {
            each(doc);
        }
    }
}

impl<T> Slot<T> for Option<Document<T>> {
    fn push_loaded(&mut self, doc: Document<T>) {
        *self = Some(doc);
    }
    fn put(&mut self, doc: Document<T>) {
        *self = Some(doc);
    }
    fn drain_into(self, each: &mut dyn FnMut(Document<T>)) {
        if let Some(doc) = self {
            each(doc);
        }
    }
}
