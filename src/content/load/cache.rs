//! What one load leaves the next in the same process ([`ParseCache`]), and the store of
//! parsed documents a build leaves the next build.

use std::collections::{BTreeMap, HashMap};

use super::super::Content;
use super::super::kind::{DeclaredIds, Parsed};
use super::super::stored::Store;
use super::super::validate::Checks;
use crate::source::Tree;

/// What the previous load in this process (the preview server) leaves the next: the tree
/// it read, its ids and check findings, and (handed back by the caller) its content. A
/// load after a clean one parses only the files that differ between the two trees and
/// patches the content; any other load takes the documents of unchanged files from it
/// (by path and hash) instead of parsing them again. The default cache keeps nothing (a
/// one-off build has no use for the documents after it).
#[derive(Default)]
pub struct ParseCache {
    pub(super) keeping: bool,
    /// How many loads patched the previous content.
    pub(super) patched: std::sync::atomic::AtomicUsize,
    state: std::sync::Mutex<Option<State>>,
    content: std::sync::Mutex<Option<Content>>,
    /// Documents an earlier process stored ([`ParseCache::stored`]).
    pub(super) store: std::sync::Mutex<Option<Store>>,
    /// The store for the next process (being made from the content handed back), when
    /// it differs from the one read.
    updated_store: std::sync::Mutex<Option<UpdatedStore>>,
}

/// What a load knew besides its content.
pub(super) struct State {
    /// The id of the tree it read, for a tree that knows what changed since
    /// ([`Tree::changed_since`]); and the tree itself when it does not (then the next
    /// tree is compared with it).
    pub tree_id: u64,
    pub tree: Option<Tree>,
    pub pending: BTreeMap<String, String>,
    pub declared: DeclaredIds,
    /// The load had no errors: every content file of the tree is in its content.
    pub clean: bool,
    pub checks: Checks,
}

impl ParseCache {
    /// A cache that keeps each load's documents for the next one.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            ..Self::default()
        }
    }

    /// A cache for one load that reads the documents of unchanged files from `bytes`, a
    /// store an earlier process wrote ([`ParseCache::updated_store`]); any bytes will do
    /// (a store that is not one holds nothing).
    pub fn stored(bytes: &[u8]) -> Self {
        Self {
            store: std::sync::Mutex::new(Some(Store::from_bytes(bytes))),
            ..Self::default()
        }
    }

    /// How many documents loads took from the store ([`ParseCache::stored`]) instead of
    /// parsing their files, until the content is handed back.
    pub fn documents_from_store(&self) -> usize {
        self.store
            .lock()
            .map_or(0, |store| store.as_ref().map_or(0, Store::used))
    }

    /// The store for the next process, from the content handed back
    /// ([`ParseCache::keep`]) to a cache made by [`ParseCache::stored`]; `None` if it
    /// would be the store that was read.
    pub fn updated_store(&self) -> Option<Vec<u8>> {
        match self.updated_store.lock().ok()?.take()? {
            UpdatedStore::Making(making) => making.join().ok().flatten(),
            UpdatedStore::Made(made) => made,
        }
    }

    /// The last load's state and content, leaving the cache empty.
    pub(super) fn take(&self) -> (Option<State>, Option<Content>) {
        if !self.keeping {
            return (None, None);
        }
        let state = self.state.lock().ok().and_then(|mut s| s.take());
        let content = self.content.lock().ok().and_then(|mut c| c.take());
        (state, content)
    }

    pub(super) fn remember(&self, state: State) {
        if !self.keeping {
            return;
        }
        if let Ok(mut slot) = self.state.lock()
            && let Some(old) = slot.replace(state)
        {
            // Its tree is a map of every path: freed off the rebuild's way.
            crate::defer::drop_later(old);
        }
    }

    /// Takes back the content of a load once the caller is done with it, for the next
    /// load; a cache that does not keep drops it (on another thread).
    pub fn keep(&self, content: Content) {
        if !self.keeping {
            let store = self.store.lock().ok().and_then(|mut store| store.take());
            match (store, self.updated_store.lock()) {
                (Some(store), Ok(mut slot)) => *slot = Some(update_later(store, content)),
                _ => crate::defer::drop_later(content),
            }
            return;
        }
        if let Ok(mut slot) = self.content.lock()
            && let Some(old) = slot.replace(content)
        {
            crate::defer::drop_later(old);
        }
    }

    /// Reads the content the last load handed back ([`ParseCache::keep`]), if any.
    pub fn with_content<R>(&self, read: impl FnOnce(&Content) -> R) -> Option<R> {
        let slot = self.content.lock().ok()?;
        slot.as_ref().map(read)
    }

    /// How many loads patched the content of the load before them instead of loading
    /// everything (for tests and diagnostics).
    pub fn patched_loads(&self) -> usize {
        self.patched.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.content
            .lock()
            .map_or(0, |c| c.as_ref().map_or(0, |c| c.files.len()))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes the store for the next process from `content` on a thread of its own (the
/// caller has the output to move into place meanwhile), or here if none can be started.
fn update_later(store: Store, content: Content) -> UpdatedStore {
    fn update(job: &std::sync::Mutex<Option<(Store, Content)>>) -> Option<Vec<u8>> {
        let (store, content) = job.lock().ok()?.take()?;
        let updated = store.updated(&content);
        crate::defer::drop_later((store, content));
        updated
    }
    let job = std::sync::Arc::new(std::sync::Mutex::new(Some((store, content))));
    let background = std::sync::Arc::clone(&job);
    match std::thread::Builder::new()
        .name("glassroom-store".into())
        .spawn(move || update(&background))
    {
        Ok(making) => UpdatedStore::Making(making),
        Err(_) => UpdatedStore::Made(update(&job)),
    }
}

/// The store for the next process: being made, or made.
enum UpdatedStore {
    Making(std::thread::JoinHandle<Option<Vec<u8>>>),
    Made(Option<Vec<u8>>),
}

/// One document of a previous load, with the file it came from.
pub(super) struct Kept {
    pub hash: blake3::Hash,
    pub file: std::sync::Arc<crate::diag::File>,
    pub parsed: Parsed,
}

pub(super) type Entries = HashMap<String, Kept>;

/// Every document of `content`, by path, with its file and that file's hash.
pub(super) fn entries_of(mut content: Content) -> Entries {
    let files = std::mem::take(&mut content.files);
    let mut entries = HashMap::with_capacity(files.len());
    content.drain_documents(&mut |parsed| {
        let doc = parsed.head();
        let file = doc.file();
        if let (Some(hash), Some(shared)) = (files.hash(file), files.shared(file)) {
            let path = doc.path.to_owned();
            let kept = Kept {
                hash,
                file: shared,
                parsed,
            };
            entries.insert(path, kept);
        }
    });
    entries
}
