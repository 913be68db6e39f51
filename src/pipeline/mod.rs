//! The whole way from a repository to the files of a site, as one library call, for every
//! consumer: `glassroom build`, the preview server, and sync.
//!
//! source → trust → content → derive → render (+ the flag bundle). Nothing is written
//! here; the caller decides where the files go.

mod memory;
mod open;
mod place;
mod session;

use crate::content::types::Moment;
use crate::diag::{Diagnostics, Files};
use crate::render::{self, Progress};
use crate::trust::history::Report;
use crate::{content, derive};

pub use open::{OpenError, Opened, Source, open};
pub use place::{OutputOverContent, OutputPlace, output_place};
pub use session::Session;

use memory::Memory;

/// A built site, ready to be written or served.
pub struct Built {
    /// Output path → bytes (empty when the files went to a sink instead): every file of
    /// the site if `complete`, else the files that changed since the build that last used
    /// the same [`Session`].
    pub files: render::Output,
    /// Files of [`Session::rebuild`] that came in parts (kept between builds, see
    /// [`render::Sink::put_parts`]): the site's files are `files` and these.
    pub parts: std::collections::BTreeMap<String, Vec<bytes::Bytes>>,
    /// Files of that earlier build the site no longer has (only when not `complete`).
    pub removed: Vec<String>,
    /// Whether the files are the whole site.
    pub complete: bool,
    /// How many files went to the sink (written or reused).
    pub count: usize,
    /// How many pages were rendered.
    pub pages: usize,
    /// The moment it was built for.
    pub now: Moment,
    pub alerts: usize,
    /// The verified history it was built from, if any.
    pub trust: Option<Report>,
    /// Diagnostics that did not stop the build (warnings), with their files.
    pub warnings: Diagnostics,
    pub sources: Files,
    /// Pre-approved files left out of the site because they have errors.
    pub left_out: Vec<content::LeftOut>,
}

/// A published flag bundle and the fingerprint of its inputs ([`flag_inputs`]).
pub(crate) type BundleMemory =
    std::sync::Mutex<Option<(crate::memo::Stamp, crate::flags::Published)>>;

/// The fingerprint of everything a flag bundle is compiled from: the feature, account
/// set and override files.
fn flag_inputs(content: &content::Content) -> crate::memo::Stamp {
    use content::Kind;
    let mut stamp = crate::memo::Stamper::new("flag bundle");
    content.stamps.add(
        &mut stamp,
        &[Kind::Feature, Kind::AccountSet, Kind::Overrides],
    );
    stamp.finish()
}

/// The published flag bundle of `content`, taken from `memory` when its inputs are the
/// ones it was compiled from, and left there for the next build; with the bundle
/// `memory` held before, if it was another.
fn flag_bundle(
    content: &content::Content,
    memory: &BundleMemory,
) -> (crate::flags::Published, Option<crate::flags::Published>) {
    let inputs = flag_inputs(content);
    let mut kept = memory.lock().ok();
    if let Some((_, published)) = kept
        .as_deref()
        .and_then(Option::as_ref)
        .filter(|(seen, _)| *seen == inputs)
    {
        return (published.clone(), Some(published.clone()));
    }
    let published = crate::flags::compile(content).publish();
    let previous = kept
        .as_deref_mut()
        .and_then(|kept| kept.replace((inputs, published.clone())))
        .map(|(_, previous)| previous);
    (published, previous)
}

/// The content of an opened tree, as every command that publishes or checks it loads it:
/// a file published only by pre-approval that has errors is left out (a warning), not
/// an error; in a directory or a preview nothing is verified and every error stays one.
pub fn load(opened: &Opened, cache: &content::ParseCache) -> content::Loaded {
    content::load_leaving_out(
        &opened.tree,
        &opened.pending_notes,
        &opened.provisional,
        cache,
    )
}

/// The fingerprint of what the site shows of the verified history: the report and the
/// files left out.
fn trust_stamp(opened: &Opened, left_out: &[content::LeftOut]) -> crate::memo::Stamp {
    let Some(report) = &opened.trust else {
        return [0; 32];
    };
    let mut stamp = crate::memo::Stamper::new("trust and left out");
    stamp
        .stamp(&report.stamp())
        .bytes(&serde_json::to_vec(left_out).unwrap_or_default());
    stamp.finish()
}

/// Why a build produced nothing.
pub struct Failed {
    /// The content or a template has errors: `diagnostics` say where, in `sources`.
    pub diagnostics: Diagnostics,
    pub sources: Files,
}

/// Builds the whole site of an opened repository into memory, once (see
/// [`Session::build`]).
pub fn build(
    opened: &Opened,
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
) -> Result<Built, Failed> {
    Session::new().build(opened, now, clock, progress)
}

/// Builds the files that changed since the last build with the same `memory`, collected
/// in memory ([`Session::rebuild`]).
fn rebuild(
    opened: &Opened,
    now: Option<Moment>,
    clock: i64,
    memory: &Memory,
    complete: bool,
) -> Result<Built, Failed> {
    let sink = Collect::default();
    let mut built = build_into(opened, now, clock, &render::Quiet, &sink, memory, complete)?;
    built.files = sink.files.into_inner().unwrap_or_default();
    built.parts = sink.parts.into_inner().unwrap_or_default();
    Ok(built)
}

/// Collects files in memory, keeping files made of parts in their parts.
#[derive(Default)]
struct Collect {
    files: std::sync::Mutex<render::Output>,
    parts: std::sync::Mutex<std::collections::BTreeMap<String, Vec<bytes::Bytes>>>,
}

impl render::Sink for Collect {
    fn put_keyed(
        &self,
        path: &str,
        bytes: Vec<u8>,
        key: Option<&render::keys::Key>,
    ) -> Result<(), render::SinkError> {
        self.files.put_keyed(path, bytes, key)
    }

    fn put_parts(
        &self,
        path: &str,
        parts: Vec<bytes::Bytes>,
        _: Option<&render::keys::Key>,
    ) -> Result<(), render::SinkError> {
        let mut collected = self.parts.lock().map_err(|_| render::SinkError::Poisoned)?;
        collected.insert(path.to_owned(), parts);
        Ok(())
    }
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
    ) -> Result<(), render::SinkError> {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.put_keyed(path, bytes, key)
    }

    fn put_parts(
        &self,
        path: &str,
        parts: Vec<bytes::Bytes>,
        key: Option<&render::keys::Key>,
    ) -> Result<(), render::SinkError> {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.put_parts(path, parts, key)
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

/// Builds the site into `sink` ([`Session::build_into`]).
fn build_into(
    opened: &Opened,
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
    sink: &dyn render::Sink,
    memory: &Memory,
    complete: bool,
) -> Result<Built, Failed> {
    let sink = Counting {
        inner: sink,
        count: std::sync::atomic::AtomicUsize::new(0),
    };
    let loaded = load(opened, &memory.parsed);
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
    let left_out = loaded.left_out;
    let outcome = derive_and_render(
        opened, &content, &left_out, now, clock, progress, &sink, memory, sources, complete,
    );
    // The content goes back to the parse cache, for the next build to patch.
    memory.parsed.keep(content);
    let (sources, derived, rendered) = match outcome {
        Ok(done) => done,
        Err(failed) => {
            // Nothing of this build reaches the caller's output: the next build must
            // not take anything as already there.
            memory.render.forget_output();
            if let Ok(mut flags) = memory.flags.lock() {
                *flags = None;
            }
            return Err(failed);
        }
    };
    let alerts = derived.alerts.len();
    crate::defer::drop_later(derived);
    let mut warnings = loaded.diagnostics;
    warnings.extend(rendered.warnings);
    Ok(Built {
        files: render::Output::new(),
        parts: std::collections::BTreeMap::new(),
        removed: rendered.removed,
        complete,
        count: sink.count.load(std::sync::atomic::Ordering::Relaxed),
        pages: rendered.pages,
        now: derived_now(opened, now, clock),
        alerts,
        trust: opened.trust.clone(),
        warnings,
        sources,
        left_out,
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
    left_out: &[content::LeftOut],
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
    sink: &dyn render::Sink,
    memory: &Memory,
    mut sources: Files,
    complete: bool,
) -> Result<(Files, derive::Derived, render::Rendered), Failed> {
    let now = derived_now(opened, now, clock);
    let mut derived = derive::derive_with(content, now, &memory.derived);
    if let Some(trust) = &opened.trust {
        derived.add_trust_alerts(trust, left_out);
    }
    crate::timings::mark("derive");
    let input = render::Input {
        tree: &opened.tree,
        content,
        derived: &derived,
        now,
        preview: opened.preview,
        trust: opened.trust.as_ref(),
        left_out,
        trust_stamp: trust_stamp(opened, left_out),
        markdown: &memory.markdown,
        memos: &memory.render,
        complete,
    };
    let mut rendered = match render::render_into(&input, &mut sources, progress, sink) {
        Ok(rendered) => rendered,
        Err(problems) => {
            let mut diagnostics = Diagnostics::default();
            diagnostics.extend(problems);
            return Err(Failed {
                diagnostics,
                sources,
            });
        }
    };
    crate::timings::mark("render");
    // The flag bundle, from the same (approved) content as the pages.
    let (bundle, previous) = flag_bundle(content, &memory.flags);
    let incremental = memory.render.is_keeping() && !complete;
    let unchanged = previous.as_ref().is_some_and(|p| p.sha256 == bundle.sha256);
    if !(incremental && unchanged) {
        for (path, bytes) in bundle.files() {
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
        if let Some(previous) = previous.filter(|p| incremental && p.sha256 != bundle.sha256) {
            rendered
                .removed
                .push(format!("flags/{}.json", previous.sha256));
        }
    }
    crate::timings::mark("flag bundle");
    Ok((sources, derived, rendered))
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
            let (published, _) = flag_bundle(&loaded.content, &memory);
            let clean = crate::flags::compile(&loaded.content).publish();
            assert_eq!(published, clean, "{files:?}");
            published
        };
        let first = bundle(&[feature, set, host]);
        let inputs = |m: &BundleMemory| {
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
