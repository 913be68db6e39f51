//! The trust cache: the replay saved in `<git dir>/glassroom/trust-cache` for the next
//! process, and [`Memory`], the replay a server keeps in memory between verifications
//! (with the anchor, trails and policy it last saw) and writes on a thread of its own.

use std::collections::BTreeMap;

use git2::Oid;
use serde::{Deserialize, Serialize};

use super::{Provisional, Trails, TrustError};
use crate::local::LocalDir;
use crate::trust::anchor::Anchor;
use crate::trust::policy::Policy;
use crate::trust::replay::{Graph, Replayed};

/// What the cache file keeps: a replay and the root it started from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(super) struct CacheFile {
    pub(super) version: u32,
    pub(super) trust_root: String,
    pub(super) replayed: Replayed,
}

const CACHE_FILE: &str = "trust-cache";
const CACHE_PURPOSE: &str = "trust cache";
/// Raised when what a replay decides changes, so verdicts cached under the old rules are
/// made again (3: every Unicode format character makes a name unpublishable).
pub(super) const CACHE_VERSION: u32 = 3;

pub(super) fn load_cache(local: &LocalDir, root: &str) -> Option<CacheFile> {
    let bytes = local.read_cache(CACHE_FILE, CACHE_PURPOSE)?;
    let cache: CacheFile = postcard::from_bytes(&bytes).ok()?;
    (cache.version == CACHE_VERSION && cache.trust_root == root).then_some(cache)
}

fn save_cache(local: &LocalDir, cache: &CacheFile) {
    // A cache only saves time: one that cannot be written is no cache.
    match postcard::to_allocvec(cache) {
        Ok(bytes) if local.write(CACHE_FILE, CACHE_PURPOSE, &bytes).is_ok() => {}
        _ => local.remove(CACHE_FILE),
    }
}

/// The replay the last verification in this process reached, so a server verifying each
/// new commit resumes from it instead of reading and decoding the cache file again. The
/// default remembers nothing.
#[derive(Default)]
pub struct Memory {
    pub(super) keep: bool,
    last: std::sync::Mutex<Option<std::sync::Arc<CacheFile>>>,
    /// Saves asked for, and the newest one written (shared with the writing threads), so
    /// an older replay never replaces a newer one in the file.
    asked: std::sync::atomic::AtomicU64,
    written: std::sync::Arc<std::sync::Mutex<u64>>,
    /// The last target commit and its publishable files, for the next target's list to
    /// be patched from instead of walking every tree again.
    pub(super) target: std::sync::Mutex<Option<(Oid, BTreeMap<String, String>)>>,
    /// The head of the last replay, its trails and provisional paths, for the next
    /// replay that resumes from it to patch.
    pub(super) trails: std::sync::Mutex<Option<(String, Trails, Provisional)>>,
    /// The last replay not yet handed to a writing thread ([`Memory::save`]).
    unsaved: std::sync::Mutex<Option<Unsaved>>,
    /// The anchor as the last verification left it (written later, with the cache).
    pub(super) anchor: std::sync::Mutex<Option<Anchor>>,
    /// The policy last in force, by blob: parsed and validated once, not per commit.
    policy: std::sync::Mutex<Option<(String, std::sync::Arc<Policy>)>>,
}

/// A replay to write to the cache file, and which save it is.
struct Unsaved {
    local: LocalDir,
    cache: Option<std::sync::Arc<CacheFile>>,
    anchor: Option<Anchor>,
    generation: u64,
}

impl Memory {
    /// Remembers each replay for the next.
    pub fn keeping() -> Self {
        Self {
            keep: true,
            ..Self::default()
        }
    }

    /// Writes the last replay to the cache file, on a thread of its own, if it is not
    /// written yet. A server calls this once the site of that replay is served: writing
    /// (megabytes at scale) while the site is built would take one of the cores the
    /// build runs on.
    pub fn save(&self) {
        let Some(Unsaved {
            local,
            cache,
            anchor,
            generation,
        }) = self
            .unsaved
            .lock()
            .ok()
            .and_then(|mut unsaved| unsaved.take())
        else {
            return;
        };
        let written = std::sync::Arc::clone(&self.written);
        let write = move || {
            if let Ok(mut written) = written.lock()
                && *written < generation
            {
                // The anchor before the cache: a cache never describes a head the anchor
                // has not recorded. A failed write is retried by the next verification.
                if let Some(anchor) = anchor {
                    let _ = anchor.save(&local);
                }
                if let Some(cache) = cache {
                    save_cache(&local, &cache);
                }
                *written = generation;
            }
        };
        // If no thread can be started, the next process verifies from an older replay.
        let _ = std::thread::Builder::new()
            .name("glassroom-trust-cache".into())
            .spawn(write);
    }

    /// The policy of `blob` (empty if none is usable), parsed once per blob.
    pub(super) fn policy(&self, graph: &dyn Graph, blob: Option<&str>) -> std::sync::Arc<Policy> {
        let key = blob.unwrap_or_default();
        if let Ok(known) = self.policy.lock()
            && let Some((seen, policy)) = known.as_ref()
            && seen == key
        {
            return std::sync::Arc::clone(policy);
        }
        let policy = std::sync::Arc::new(
            blob.and_then(|blob| graph.text(blob))
                .and_then(|text| Policy::usable(&text).ok())
                .unwrap_or_default(),
        );
        if self.keep
            && let Ok(mut known) = self.policy.lock()
        {
            *known = Some((key.to_owned(), std::sync::Arc::clone(&policy)));
        }
        policy
    }

    pub(super) fn take(&self, root: &str) -> Option<CacheFile> {
        let kept = self.last.lock().ok()?.take()?;
        (kept.trust_root == root)
            .then(|| std::sync::Arc::try_unwrap(kept).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// Saves the anchor (when it changed) and the cache now, or, when replays are kept
    /// in memory (a server: nobody in this process waits for the files), when
    /// [`Memory::save`] is called.
    pub(super) fn save_later(
        &self,
        local: &LocalDir,
        anchor: Option<Anchor>,
        cache: Option<CacheFile>,
    ) -> Result<(), TrustError> {
        if !self.keep {
            if let Some(anchor) = anchor {
                anchor.save(local)?;
            }
            if let Some(cache) = cache {
                save_cache(local, &cache);
            }
            return Ok(());
        }
        let cache = cache.map(std::sync::Arc::new);
        if let (Some(cache), Ok(mut last)) = (&cache, self.last.lock()) {
            *last = Some(std::sync::Arc::clone(cache));
        }
        let generation = self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if let Ok(mut unsaved) = self.unsaved.lock() {
            // An anchor not yet written stays to be written with the newer one's head.
            let anchor = anchor.or_else(|| unsaved.take().and_then(|u| u.anchor));
            *unsaved = Some(Unsaved {
                local: local.clone(),
                cache,
                anchor,
                generation,
            });
        }
        Ok(())
    }
}
