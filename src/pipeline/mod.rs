//! The whole way from a repository to the files of a site, as one library call, for every
//! consumer: `glassroom build`, the preview server, and sync.
//!
//! source → trust → content → derive → render (+ the flag bundle). Nothing is written
//! here; the caller decides where the files go.

mod open;

use std::collections::BTreeMap;

use crate::content::types::Moment;
use crate::diag::{Diagnostics, Files};
use crate::render::{self, Progress};
use crate::trust::history::Report;
use crate::{content, derive};

pub use open::{Opened, Source, open, open_cached};

/// A built site, ready to be written or served.
pub struct Built {
    /// Output path → bytes (empty when the files went to a sink instead).
    pub files: render::Output,
    /// Pages not rendered because the previous build's are the same ([`build_reusing`]).
    pub reused: std::collections::BTreeSet<String>,
    /// The key of every keyed page, to reuse pages in the next build ([`build_reusing`]).
    pub keys: BTreeMap<String, render::keys::Key>,
    /// How many files were produced.
    pub count: usize,
    /// The moment it was built for.
    pub now: Moment,
    pub alerts: usize,
    /// The verified history it was built from, if any.
    pub trust: Option<Report>,
    /// Diagnostics that did not stop the build (warnings), with their files.
    pub warnings: Diagnostics,
    pub sources: Files,
}

/// Work earlier builds already did, for a build to skip: all empty for a one-off build.
/// The preview server keeps one between rebuilds; `glassroom build` fills `markdown`
/// from its cache on disk.
#[derive(Default)]
pub struct Memory {
    /// Files parsed before, by path and content hash.
    pub parsed: content::ParseCache,
    /// Markdown bodies rendered before.
    pub markdown: render::markdown_cache::Cache,
    /// The keys of the pages of an earlier build whose files the caller still has
    /// ([`build_reusing`]).
    pub keys: BTreeMap<String, render::keys::Key>,
}

/// Why a build produced nothing.
pub struct Failed {
    /// The content or a template has errors: `diagnostics` say where, in `sources`.
    pub diagnostics: Diagnostics,
    pub sources: Files,
}

/// Builds the site of an opened repository into memory. `now` defaults to the commit's
/// time (so the same commit always gives the same bytes), else `clock`.
pub fn build(
    opened: &Opened,
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
) -> Result<Built, Failed> {
    build_reusing(opened, now, clock, progress, &Memory::default())
}

/// Like [`build`], skipping what `memory` holds: unchanged files are not parsed again,
/// unchanged bodies not rendered again, and pages whose inputs have the keys they had in
/// `memory.keys` are not rendered but listed in `reused`, for the caller to take from
/// the earlier build.
pub fn build_reusing(
    opened: &Opened,
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
    memory: &Memory,
) -> Result<Built, Failed> {
    let sink = render::Reusing::new(&memory.keys);
    let mut built = build_into(opened, now, clock, progress, &sink, memory)?;
    let collected = sink.into_collected();
    built.count = collected.files.len() + collected.reused.len();
    built.files = collected.files;
    built.reused = collected.reused;
    built.keys = collected.keys;
    Ok(built)
}

/// Counts what goes through to the real sink.
struct Counting<'a> {
    inner: &'a dyn render::Sink,
    count: std::sync::atomic::AtomicUsize,
}

impl render::Sink for Counting<'_> {
    fn put_keyed(
        &self,
        path: &str,
        bytes: Vec<u8>,
        key: Option<&render::keys::Key>,
    ) -> Result<(), String> {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.put_keyed(path, bytes, key)
    }

    fn reuse(&self, path: &str, key: &render::keys::Key) -> bool {
        let reused = self.inner.reuse(path, key);
        if reused {
            self.count
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        reused
    }
}

/// Builds the site, handing every file to `sink` as soon as it is ready (a staging
/// directory, for `glassroom build`), so the whole site is never held in memory.
/// `memory` holds work earlier builds did (its page keys are the sink's business).
pub fn build_into(
    opened: &Opened,
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
    sink: &dyn render::Sink,
    memory: &Memory,
) -> Result<Built, Failed> {
    let sink = Counting {
        inner: sink,
        count: std::sync::atomic::AtomicUsize::new(0),
    };
    let loaded = content::load_cached(&opened.tree, &opened.pending_notes, &memory.parsed);
    crate::timings::mark("load and validate content");
    let mut sources = loaded.content.files.clone();
    if loaded.diagnostics.has_errors() {
        return Err(Failed {
            diagnostics: loaded.diagnostics,
            sources,
        });
    }
    let now = now
        .or(opened.commit_time)
        .unwrap_or_else(|| Moment(jiff::Timestamp::from_second(clock).unwrap_or_default()));
    let content = loaded.content;
    let mut derived = derive::derive(&content, now);
    if let Some(trust) = &opened.trust {
        derived.add_pending_alerts(trust);
    }
    crate::timings::mark("derive");
    let input = render::Input {
        tree: &opened.tree,
        content: &content,
        derived: &derived,
        now,
        preview: opened.preview,
        trust: opened.trust.as_ref(),
        markdown: &memory.markdown,
    };
    match render::render_into(&input, &mut sources, progress, &sink) {
        Ok(()) => {}
        Err(problems) => {
            let mut diagnostics = Diagnostics::default();
            diagnostics.extend(problems);
            return Err(Failed {
                diagnostics,
                sources,
            });
        }
    };
    // The flag bundle, from the same (approved) content as the pages.
    crate::timings::mark("render");
    for (path, bytes) in crate::flags::Bundle::compile(&content).publish().files() {
        if let Err(err) = render::Sink::put(&sink, &path, bytes) {
            let mut diagnostics = Diagnostics::default();
            diagnostics.push(crate::diag::Diagnostic::error(
                "output",
                format!("cannot write `{path}`: {err}"),
            ));
            return Err(Failed {
                diagnostics,
                sources,
            });
        }
    }
    crate::timings::mark("flag bundle");
    let alerts = derived.alerts.len();
    crate::defer::drop_later((content, derived));
    Ok(Built {
        files: render::Output::new(),
        reused: Default::default(),
        keys: BTreeMap::new(),
        count: sink.count.load(std::sync::atomic::Ordering::Relaxed),
        now,
        alerts,
        trust: opened.trust.clone(),
        warnings: loaded.diagnostics,
        sources,
    })
}
