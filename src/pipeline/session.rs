//! One pipeline session: everything a build remembers for the next, in one place.
//!
//! Two words, two concepts:
//! - **memory** is what this process remembers between its builds: the files and blobs
//!   it read, the verified history, the parsed content, derivations, rendered pages and
//!   Markdown, the flag bundle. A one-off session ([`Session::new`]) remembers nothing;
//!   the preview server's ([`Session::keeping`]) remembers everything.
//! - **caches** are what one process leaves on disk for the next (`glassroom build`'s
//!   rendered Markdown and parsed documents, [`BuildCaches`]), sealed where no commit
//!   can put files. A session made with [`Session::open_cached`] reads them while the
//!   tree is read, and [`Session::save`] writes what changed, with the verified history
//!   (which the trust stage keeps under the git directory itself).
//!
//! Either only saves time: a session that remembers nothing builds the same bytes.

use std::path::{Path, PathBuf};

use super::memory::Memory;
use super::{Built, Failed, Opened, Source, open::OpenError};
use crate::content::types::Moment;
use crate::output::BuildCaches;
use crate::render::{self, Progress};
use crate::{content, derive, source, trust};

/// A pipeline session: open trees and build sites through it, and each open and build
/// skips what the earlier ones in the session already did (see the module comment).
#[derive(Default)]
pub struct Session {
    memory: Memory,
    caches: Option<BuildCaches>,
}

impl Session {
    /// A session for one build: it remembers nothing and leaves nothing on disk.
    pub fn new() -> Self {
        Self::default()
    }

    /// A session that remembers each open and build for the next (the preview server's):
    /// a rebuild reads only changed files and renders only what changed.
    pub fn keeping() -> Self {
        Self {
            memory: Memory {
                files: source::DirCache::keeping(),
                blobs: source::git::BlobCache::keeping(),
                trust: trust::history::Memory::keeping(),
                parsed: content::ParseCache::keeping(),
                derived: derive::Memos::keeping(),
                render: render::Memos::keeping(),
                ..Memory::default()
            },
            caches: None,
        }
    }

    /// A session whose build takes the content a load in it left ([`Session::load`])
    /// instead of loading it again, and remembers nothing else (sync: the snapshot loads
    /// the approved content, and a build of the same tree patches nothing).
    pub fn sharing_content() -> Self {
        Self {
            memory: Memory {
                parsed: content::ParseCache::keeping(),
                ..Memory::default()
            },
            caches: None,
        }
    }

    /// `glassroom build`'s session: opens `path` as `source` asks and, meanwhile, reads
    /// what earlier builds left in `caches` (each takes tens of milliseconds for a large
    /// repository, and neither needs the other). [`Session::save`] writes them back.
    pub fn open_cached(
        caches: Option<BuildCaches>,
        path: &Path,
        source: &Source,
        clock: i64,
    ) -> Result<(Self, Opened), OpenError> {
        let (opened, memory) = std::thread::scope(|scope| {
            let memory = scope.spawn(|| stored_memory(caches.as_ref()));
            // A one-off open: nothing of an earlier read in this process to reuse.
            let opened = super::open::open_through(path, source, clock, &Memory::default());
            (opened, memory.join())
        });
        let opened = opened?;
        Ok((
            Self {
                memory: memory.unwrap_or_default(),
                caches,
            },
            opened,
        ))
    }

    /// Reads `path` as `source` asks, through what earlier reads in this session saw.
    /// `clock` is the verification time (seconds).
    pub fn open(&self, path: &Path, source: &Source, clock: i64) -> Result<Opened, OpenError> {
        super::open::open_through(path, source, clock, &self.memory)
    }

    /// Tells the session which files of a directory changed since its last read (`None`:
    /// it cannot tell), so that the next [`Session::open`] of the directory reads only
    /// those.
    pub fn note_changes(&self, changed: Option<Vec<PathBuf>>) {
        self.memory.files.note_changes(changed);
    }

    /// The content of `opened`, as every command that publishes or checks it loads it
    /// ([`super::load`]), handed to `read` and then left in the session for the next load
    /// or build to patch instead of loading it again.
    pub fn load<R>(&self, opened: &Opened, read: impl FnOnce(&content::Loaded) -> R) -> R {
        let loaded = super::load(opened, &self.memory.parsed);
        let result = read(&loaded);
        self.memory.parsed.keep(loaded.content);
        result
    }

    /// Reads the content the last build (or [`Session::load`]) loaded, if the session
    /// keeps it: a build hands its content back to the session, so nothing has to load it
    /// a second time.
    pub fn with_content<R>(&self, read: impl FnOnce(&content::Content) -> R) -> Option<R> {
        self.memory.parsed.with_content(read)
    }

    /// How many loads patched the content of the load before them instead of loading
    /// everything (for tests and diagnostics).
    pub fn patched_loads(&self) -> usize {
        self.memory.parsed.patched_loads()
    }

    /// Builds the whole site of `opened` into memory. `now` defaults to the commit's
    /// time (so the same commit always gives the same bytes), else `clock`.
    pub fn build(
        &self,
        opened: &Opened,
        now: Option<Moment>,
        clock: i64,
        progress: &dyn Progress,
    ) -> Result<Built, Failed> {
        let sink = std::sync::Mutex::new(render::Output::new());
        let mut built = super::build_into(opened, now, clock, progress, &sink, &self.memory, true)?;
        built.files = sink.into_inner().unwrap_or_default();
        Ok(built)
    }

    /// Builds the site, handing every file to `sink` as soon as it is ready (a staging
    /// directory, for `glassroom build`), so the whole site is never held in memory; only
    /// the changed files unless `complete` (see [`Session::rebuild`]).
    pub fn build_into(
        &self,
        opened: &Opened,
        now: Option<Moment>,
        clock: i64,
        progress: &dyn Progress,
        sink: &dyn render::Sink,
        complete: bool,
    ) -> Result<Built, Failed> {
        super::build_into(opened, now, clock, progress, sink, &self.memory, complete)
    }

    /// Like [`Session::build`], skipping what the session remembers (the preview
    /// server's way): unless `complete`, only the files that changed since the last build
    /// of the session are made and returned, with the paths that are gone. The caller
    /// holds that build's output; `complete` asks for every file (when it does not, as
    /// after a failed build).
    pub fn rebuild(
        &mut self,
        opened: &Opened,
        now: Option<Moment>,
        clock: i64,
        complete: bool,
    ) -> Result<Built, Failed> {
        // The bodies the last build rendered become the ones this build knows.
        self.memory.markdown = std::mem::take(&mut self.memory.markdown).absorbed();
        super::rebuild(opened, now, clock, &self.memory, complete)
    }

    /// Leaves what the session learnt for the next process: the verified history (on a
    /// thread of its own) and, for `glassroom build`, the caches whose content changed.
    /// A cache that cannot be written only costs the next build time.
    pub fn save(&self) {
        self.memory.trust.save();
        let Some(caches) = &self.caches else {
            return;
        };
        // Both are keyed by what they hold, so an old one is never wrong, only slower.
        if self.memory.markdown.changed() {
            let _ = caches.markdown.write(&self.memory.markdown.to_bytes());
        }
        if let Some(parsed) = self.memory.parsed.updated_store() {
            let _ = caches.parsed.write(&parsed);
        }
    }

    /// The caches the session reads and writes, if any (the output cache among them).
    pub fn caches(&self) -> Option<&BuildCaches> {
        self.caches.as_ref()
    }
}

/// What earlier builds stored in their caches: the rendered Markdown and the parsed
/// documents. A missing file, or one that does not unseal, is empty: it only saves time.
fn stored_memory(caches: Option<&BuildCaches>) -> Memory {
    let Some(caches) = caches else {
        return Memory::default();
    };
    Memory {
        markdown: caches
            .markdown
            .read()
            .map(|bytes| render::markdown_cache::Cache::from_bytes(&bytes))
            .unwrap_or_default(),
        parsed: content::ParseCache::stored(caches.parsed.read().as_deref().unwrap_or_default()),
        ..Memory::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sync loads the approved content for its snapshot, then builds it: the build takes
    /// the content the snapshot's load left in the session instead of loading it again,
    /// and makes the same site as a one-off build.
    #[test]
    fn a_build_takes_the_content_a_load_in_its_session_left() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
        let source = Source {
            worktree: true,
            ..Source::default()
        };
        let now = "2026-11-22T00:00:00Z".parse().ok();
        let session = Session::sharing_content();
        let opened = session.open(&repo, &source, 0).expect("open");
        let hosts = session.load(&opened, |loaded| loaded.content.hosts.len());
        assert!(hosts > 0);
        assert_eq!(session.patched_loads(), 0);
        let built = session
            .build(&opened, now, 0, &render::Quiet)
            .unwrap_or_else(|_| panic!("a build"));
        assert_eq!(session.patched_loads(), 1, "the build patched the content");
        assert_eq!(session.with_content(|c| c.hosts.len()), Some(hosts));
        let once = super::super::build(&opened, now, 0, &render::Quiet)
            .unwrap_or_else(|_| panic!("a one-off build"));
        assert_eq!(built.files, once.files);
    }
}
