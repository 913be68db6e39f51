//! The whole way from a repository to the files of a site, as one library call, for every
//! consumer: `glassroom build`, the preview server, and sync.
//!
//! source → trust → content → derive → render (+ the flag bundle). Nothing is written
//! here; the caller decides where the files go.

mod open;

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
    /// Pages not rendered because the previous build's are the same ([`build_reusing`]),
    /// in no particular order.
    pub reused: Vec<String>,
    /// The key of every keyed page, to reuse pages in the next build ([`build_reusing`]).
    pub keys: render::keys::PageKeys,
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
    /// What earlier derivations computed.
    pub derived: derive::Memos,
    /// Markdown bodies rendered before.
    pub markdown: render::markdown_cache::Cache,
    /// Entity views made into template values before.
    pub values: render::ValueCache,
    /// The keys of the pages of an earlier build whose files the caller still has
    /// ([`build_reusing`]).
    pub keys: render::keys::PageKeys,
    /// The last flag bundle published, by the fingerprint of the files it came from.
    pub flags: KeptBundle,
    /// Rows of the ticket list rendered before.
    pub rows: render::RowCache,
}

impl Memory {
    /// Memory that keeps what each build did for the next (the preview server's).
    pub fn keeping() -> Self {
        Self {
            parsed: content::ParseCache::keeping(),
            derived: derive::Memos::keeping(),
            values: render::ValueCache::keeping(),
            rows: render::RowCache::keeping(),
            ..Self::default()
        }
    }
}

/// A published flag bundle and the fingerprint of its inputs ([`flag_inputs`]).
pub type KeptBundle = std::sync::Mutex<Option<(blake3::Hash, crate::flags::Published)>>;

/// The fingerprint of everything a flag bundle is compiled from: the feature, account
/// set and override files (their paths and the hashes of their bytes).
fn flag_inputs(content: &content::Content, tree: &crate::source::Tree) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    let paths = content
        .features
        .iter()
        .map(|d| ("feature", &d.path))
        .chain(
            content
                .account_sets
                .iter()
                .map(|d| ("account_set", &d.path)),
        )
        .chain(content.overrides.iter().map(|d| ("overrides", &d.path)));
    for (kind, path) in paths {
        for part in [kind, path.as_str()] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let hash = tree.hash(path).unwrap_or_else(|| blake3::hash(b""));
        hasher.update(hash.as_bytes());
    }
    hasher.finalize()
}

/// The published flag bundle of `content`, taken from `memory` when its inputs are the
/// ones it was compiled from, and left there for the next build.
fn flag_bundle(
    content: &content::Content,
    tree: &crate::source::Tree,
    memory: &KeptBundle,
) -> crate::flags::Published {
    let inputs = flag_inputs(content, tree);
    let mut kept = memory.lock().ok();
    if let Some((_, published)) = kept
        .as_deref()
        .and_then(Option::as_ref)
        .filter(|(seen, _)| *seen == inputs)
    {
        return published.clone();
    }
    let published = crate::flags::Bundle::compile(content).publish();
    if let Some(kept) = kept.as_deref_mut() {
        *kept = Some((inputs, published.clone()));
    }
    published
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
    let sources = loaded.content.files.clone();
    if loaded.diagnostics.has_errors() {
        memory.parsed.keep(loaded.content);
        return Err(Failed {
            diagnostics: loaded.diagnostics,
            sources,
        });
    }
    let content = loaded.content;
    let outcome = derive_and_render(
        opened, &content, now, clock, progress, &sink, memory, sources,
    );
    // The documents go back to the parse cache, for the next build to take unchanged.
    memory.parsed.keep(content);
    let (sources, derived, keys) = outcome?;
    let alerts = derived.alerts.len();
    crate::defer::drop_later(derived);
    Ok(Built {
        files: render::Output::new(),
        reused: Vec::new(),
        keys,
        count: sink.count.load(std::sync::atomic::Ordering::Relaxed),
        now: derived_now(opened, now, clock),
        alerts,
        trust: opened.trust.clone(),
        warnings: loaded.diagnostics,
        sources,
    })
}

/// The moment a build is for: `now`, else the commit's time, else the clock.
fn derived_now(opened: &Opened, now: Option<Moment>, clock: i64) -> Moment {
    now.or(opened.commit_time)
        .unwrap_or_else(|| Moment(jiff::Timestamp::from_second(clock).unwrap_or_default()))
}

/// Derives from valid content and renders the site and the flag bundle into `sink`.
#[allow(clippy::too_many_arguments)]
fn derive_and_render(
    opened: &Opened,
    content: &content::Content,
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
    sink: &dyn render::Sink,
    memory: &Memory,
    mut sources: Files,
) -> Result<(Files, derive::Derived, render::keys::PageKeys), Failed> {
    let now = derived_now(opened, now, clock);
    let mut derived = derive::derive_with(content, now, &memory.derived);
    if let Some(trust) = &opened.trust {
        derived.add_pending_alerts(trust);
    }
    crate::timings::mark("derive");
    let input = render::Input {
        tree: &opened.tree,
        content,
        derived: &derived,
        now,
        preview: opened.preview,
        trust: opened.trust.as_ref(),
        markdown: &memory.markdown,
        values: &memory.values,
        rows: &memory.rows,
    };
    let keys = match render::render_into(&input, &mut sources, progress, sink) {
        Ok(keys) => keys,
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
    for (path, bytes) in flag_bundle(content, &opened.tree, &memory.flags).files() {
        if let Err(err) = sink.put(&path, bytes) {
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
    Ok((sources, derived, keys))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Tree;

    fn tree(files: &[(&str, &str)]) -> Tree {
        let mut tree = Tree::new();
        for (path, text) in files {
            tree.insert(*path, *text);
        }
        tree
    }

    #[test]
    fn the_flag_bundle_is_compiled_again_exactly_when_its_files_change() {
        let feature = ("flags/features/a.yaml", "default: false\nrollout: 25\n");
        let set = (
            "flags/account_sets/s.yaml",
            "accounts: [x]\nfeatures: { a: true }\n",
        );
        let host = ("hosts/web1.yaml", "os: linux\n");
        let memory = std::sync::Mutex::new(None);
        let bundle = |files: &[(&str, &str)]| {
            let tree = tree(files);
            let loaded = content::load(&tree);
            let published = flag_bundle(&loaded.content, &tree, &memory);
            let clean = crate::flags::Bundle::compile(&loaded.content).publish();
            assert_eq!(published, clean, "{files:?}");
            published
        };
        let first = bundle(&[feature, set, host]);
        let inputs = |m: &KeptBundle| {
            m.lock()
                .ok()
                .and_then(|kept| kept.as_ref().map(|(h, _)| *h))
        };
        let kept = inputs(&memory);
        // Another kind of file changed: the same inputs, the same bundle.
        assert_eq!(
            bundle(&[feature, set, ("hosts/web1.yaml", "os: bsd\n")]),
            first
        );
        assert_eq!(inputs(&memory), kept);
        // An account set changed: a new bundle.
        let changed = (
            "flags/account_sets/s.yaml",
            "accounts: [x, y]\nfeatures: { a: true }\n",
        );
        assert_ne!(bundle(&[feature, changed, host]), first);
        assert_ne!(inputs(&memory), kept);
        // Back as it was: the first bundle again.
        assert_eq!(bundle(&[feature, set, host]), first);
    }
}
