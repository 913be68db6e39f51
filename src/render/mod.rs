//! From content and what derives from it to the bytes of every output file: HTML pages
//! through the theme's templates, feeds, the calendar and the JSON API.
//!
//! Rendering is pure: the same input and "now" give the same bytes. Pages render in
//! parallel; the caller decides where the files go.
//!
//! Everything here is remembered between builds in one process ([`Memos`]): the compiled
//! theme, every part of the template context, each group of pages with its keys, and
//! each other output with the stamp of its inputs. A rebuild that changed one ticket
//! converts that ticket for the templates, keys the few groups of pages that read
//! tickets, renders the pages whose keys changed and the outputs whose stamps changed,
//! and hands the sink only those (unless the caller has no earlier output: `complete`).

pub mod charts;
mod data;
mod feeds;
pub mod keys;
pub mod markdown;
pub mod markdown_cache;
pub mod names;
mod pages;
mod rows;
pub mod theme;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::content::Content;
use crate::content::types::Moment;
use crate::derive::Derived;
use crate::diag::{Diagnostic, Files};
use crate::memo::{Memo, Stamp, Stamper};
use crate::source::Tree;
use crate::trust::history::Trails;

pub use data::{API_KINDS, ENTITIES, Entity};
pub use pages::Page;
pub use rows::RowCache;

/// What a build renders.
pub struct Input<'a> {
    /// The repository's files (for its theme and template overrides).
    pub tree: &'a Tree,
    pub content: &'a Content,
    pub derived: &'a Derived,
    pub now: Moment,
    /// Built from unsigned working-tree changes: every page says so.
    pub preview: bool,
    /// The verification of history, when the tree is an approved tree: audit and
    /// pending pages.
    pub trust: Option<&'a crate::trust::history::Report>,
    /// Pre-approved files left out because they have errors (on the pending page).
    pub left_out: &'a [crate::content::LeftOut],
    /// The fingerprint of `trust` and `left_out`, for the memos of what shows them.
    pub trust_stamp: Stamp,
    /// Bodies rendered by earlier builds.
    pub markdown: &'a markdown_cache::Cache,
    /// What earlier builds in this process rendered.
    pub memos: &'a Memos,
    /// Every file goes to the sink. When false, the caller holds the output of the build
    /// that last used `memos` and takes from it every file not handed over (and drops
    /// the ones [`Rendered::removed`] lists).
    pub complete: bool,
}

/// Every output file: repository-relative path → bytes.
pub type Output = BTreeMap<String, Vec<u8>>;

/// Told how far rendering has got, for a progress bar on a terminal.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self) {}
}

/// Progress that nobody watches.
pub struct Quiet;
impl Progress for Quiet {}

/// Where rendered files go as soon as they are ready (memory, or a staging directory),
/// so a large site is never held in memory whole unless the caller wants it.
pub trait Sink: Sync {
    /// Takes the file `path`, made from the inputs fingerprinted by `key` when it has one.
    fn put_keyed(
        &self,
        path: &str,
        bytes: Vec<u8>,
        key: Option<&keys::Key>,
    ) -> Result<(), SinkError>;

    /// Takes a file that has no input key.
    fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), SinkError> {
        self.put_keyed(path, bytes, None)
    }

    /// Takes the file `path` made of `parts` (in order); by default joined into one.
    fn put_parts(
        &self,
        path: &str,
        parts: Vec<bytes::Bytes>,
        key: Option<&keys::Key>,
    ) -> Result<(), SinkError> {
        self.put_keyed(path, parts.concat(), key)
    }

    /// Offers to reuse the previous build's file for `path`, made from inputs with the
    /// same `key`; true if it was reused and the page need not be rendered.
    fn reuse(&self, path: &str, key: &keys::Key) -> bool {
        let _ = (path, key);
        false
    }
}

/// Why a [`Sink`] could not take a file (the caller names the file).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A thread panicked while holding the files collected so far.
    #[error("the files collected so far were lost to a panic")]
    Poisoned,
    /// The path cannot be a file of the site.
    #[error("not a valid path for a file of the site: {reason}")]
    BadPath { reason: &'static str },
    /// Writing the file failed.
    #[error("{0}")]
    Io(std::io::Error),
}

/// Collects the site in memory.
impl Sink for Mutex<Output> {
    fn put_keyed(
        &self,
        path: &str,
        bytes: Vec<u8>,
        _: Option<&keys::Key>,
    ) -> Result<(), SinkError> {
        let mut output = self.lock().map_err(|_| SinkError::Poisoned)?;
        output.insert(path.to_owned(), bytes);
        Ok(())
    }
}

/// A file's bytes: whole, or in parts that are kept between builds (the API's items),
/// for a sink that can keep them apart ([`Sink::put_parts`]).
pub enum File {
    Whole(Vec<u8>),
    Parts(Vec<bytes::Bytes>),
}

impl File {
    /// The bytes in one buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            File::Whole(bytes) => bytes,
            File::Parts(parts) => parts.concat(),
        }
    }

    fn put(self, sink: &dyn Sink, path: &str, key: Option<&keys::Key>) -> Result<(), SinkError> {
        match self {
            File::Whole(bytes) => sink.put_keyed(path, bytes, key),
            File::Parts(parts) => sink.put_parts(path, parts, key),
        }
    }
}

/// What rendering tells the caller beyond the files.
#[derive(Debug, Default)]
pub struct Rendered {
    /// Files of the previous output (see [`Input::complete`]) that this build no longer
    /// has (a removed entity's page, the previous flag bundle's immutable copy).
    pub removed: Vec<String>,
    /// How many pages were rendered.
    pub pages: usize,
    /// What was left out without failing the build (a static file named like a page).
    pub warnings: Vec<Diagnostic>,
}

/// The outputs other than pages: each feed, the calendar, the static files and each API
/// file, made again only when the stamp of their inputs changes.
const OUTPUTS: usize = feeds::FEEDS.len() + 2 + API_KINDS.len();

/// How many groups of pages a site has: each list page, each kind's detail pages, the
/// logbook's months and the audit trail.
const GROUPS: usize = pages::LISTS.len() + ENTITIES.len() + 2;

/// A group of pages as the last build made it: its pages and their keys (`None` for a
/// page rendered whenever its group changed).
struct Group {
    pages_stamp: Stamp,
    pages: Arc<Vec<Page>>,
    keys: Vec<Option<keys::Key>>,
    /// For detail pages: the files each page's key read, and the stamp of what decided
    /// which files those are ([`keys::structure_stamp`]): while it is unchanged, a page
    /// needs a new key only if one of its files changed.
    deps: Vec<keys::Deps>,
    structure: Stamp,
    /// For audit pages: the trails their keys were made from; while [`Group::structure`]
    /// is unchanged, a page needs a new key only if its trail changed.
    trails: Option<Trails>,
}

/// A group's keys, with what [`Group::deps`], [`Group::structure`] and [`Group::trails`]
/// record.
struct Keyed {
    keys: Vec<Option<keys::Key>>,
    deps: Vec<keys::Deps>,
    structure: Stamp,
    trails: Option<Trails>,
}

impl Keyed {
    fn plain(keys: Vec<Option<keys::Key>>) -> Self {
        Self {
            keys,
            deps: Vec::new(),
            structure: [0; 32],
            trails: None,
        }
    }
}

/// How a group's pages are keyed, given the group's previous state.
type MakeKeys<'a> = Box<dyn Fn(&[Page], Option<&Group>) -> Keyed + Sync + 'a>;

/// What earlier builds in this process rendered. The default keeps nothing (a one-off
/// build renders everything once).
#[derive(Default)]
pub struct Memos {
    keeping: bool,
    theme: Mutex<Option<(Stamp, theme::Theme)>>,
    values: data::Values,
    rows: RowCache,
    audit_rows: RowCache<blake3::Hash>,
    /// The ticket list's open tickets by group, as rendered last.
    ticket_sections: Memo<Result<String, String>>,
    groups: [Memo<Result<Group, String>>; GROUPS],
    /// The paths each output last gave.
    outputs: [Memo<Vec<String>>; OUTPUTS],
}

impl Memos {
    /// Memos that keep each build's work for the next.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            theme: Mutex::new(None),
            values: data::Values::keeping(),
            rows: RowCache::keeping(),
            audit_rows: RowCache::keeping(),
            ticket_sections: Memo::keeping(),
            groups: std::array::from_fn(|_| Memo::keeping()),
            outputs: std::array::from_fn(|_| Memo::keeping()),
        }
    }

    pub fn is_keeping(&self) -> bool {
        self.keeping
    }

    /// Forgets what was handed to a sink (the groups' keys and the outputs), keeping the
    /// values: the next build renders everything again, as after a failed one.
    pub fn forget_output(&self) {
        for group in &self.groups {
            group.clear();
        }
        for output in &self.outputs {
            output.clear();
        }
    }
}

/// Renders the whole site into memory.
pub fn render(
    input: &Input<'_>,
    files: &mut Files,
    progress: &dyn Progress,
) -> Result<Output, Vec<Diagnostic>> {
    let sink = Mutex::new(Output::new());
    render_into(input, files, progress, &sink)?;
    sink.into_inner()
        .map_err(|_| vec![Diagnostic::error("render", "the output map was poisoned")])
}

fn sink_error(path: &str, err: SinkError) -> Diagnostic {
    Diagnostic::error("output", format!("cannot write `{path}`: {err}"))
}

fn render_error(err: String) -> Vec<Diagnostic> {
    vec![Diagnostic::error(
        "render",
        format!("cannot prepare the page data: {err}"),
    )]
}

/// The fingerprint of what the theme is made of: its name and every template and static
/// file of the repository that could be part of it.
fn theme_stamp(tree: &Tree, name: &str) -> Stamp {
    let mut stamp = Stamper::new("theme");
    stamp.text(name);
    let prefix = format!("themes/{name}/");
    for dir in [prefix.as_str(), "templates/", "static/"] {
        for (path, blob) in tree.under(dir) {
            stamp.text(path).hash(&blob.hash());
        }
    }
    stamp.finish()
}

/// The theme, compiled again only when its files changed.
fn load_theme(
    input: &Input<'_>,
    files: &mut Files,
) -> Result<(Stamp, theme::Theme), Vec<Diagnostic>> {
    let config = input.content.config.as_ref();
    let theme_name = config
        .and_then(|c| c.data.theme.as_ref())
        .map_or("default", |t| t.as_str());
    let stamp = theme_stamp(input.tree, theme_name);
    let kept = input
        .memos
        .theme
        .lock()
        .ok()
        .and_then(|mut slot| slot.take());
    if let Some((seen, theme)) = kept
        && seen == stamp
    {
        return Ok((stamp, theme));
    }
    let theme = theme::load(input.tree, theme_name, files).map_err(|mut problems| {
        // An unknown theme is a problem of the `theme:` field in glassroom.yaml.
        if let Some((config, field)) = config.and_then(|c| c.data.theme.as_ref().map(|t| (c, t))) {
            for problem in problems.iter_mut().filter(|p| p.location.is_none()) {
                problem.location = Some(config.origin.at_value(field));
            }
        }
        problems
    })?;
    Ok((stamp, theme))
}

/// One page to render, and the key it is rendered for.
struct Task<'g> {
    page: &'g Page,
    key: Option<keys::Key>,
    /// A list page (rendered as a task of its own: they are the slow ones).
    list: bool,
}

/// What became of one group in this build.
struct Planned {
    group: Arc<Result<Group, String>>,
    /// Indices of the pages to hand to the sink; `None` for all of them.
    render: Option<Vec<usize>>,
    /// Ask the sink to reuse pages with a key before rendering them.
    offer: bool,
    removed: Vec<String>,
}

/// The stamp of the page list of group `index`, and the pages (made only on a miss).
#[allow(clippy::type_complexity)]
fn group_pages<'a>(
    input: &'a Input<'a>,
    globals: &data::Globals,
    index: usize,
) -> (
    Stamp,
    Box<dyn Fn() -> tera::TeraResult<Vec<Page>> + Sync + 'a>,
) {
    let lists = pages::LISTS.len();
    let content = input.content;
    if index < lists {
        let mut stamp = Stamper::new("list");
        stamp.text(&index.to_string());
        return (
            stamp.finish(),
            Box::new(move || Ok(pages::list_page(index).into_iter().collect())),
        );
    }
    if let Some(entity) = ENTITIES.get(index - lists) {
        let mut stamp = Stamper::new("detail pages");
        stamp.stamp(content.stamps.ids(entity.kind));
        return (
            stamp.finish(),
            Box::new(move || Ok(pages::detail_pages(content, entity))),
        );
    }
    if index == lists + ENTITIES.len() {
        let mut stamp = Stamper::new("months");
        stamp
            .stamp(content.stamps.files(crate::content::Kind::LogEntry))
            .stamp(&input.derived.stamps.threads);
        let months = Arc::clone(&globals.months);
        return (
            stamp.finish(),
            Box::new(move || pages::month_pages(&months)),
        );
    }
    // The audit pages are one per file with a trail: they change with the set of paths,
    // not with each commit.
    let mut stamp = crate::memo::Fields::new("audit");
    if let Some(report) = input.trust {
        for path in data::audit_paths(report) {
            stamp.text(path);
        }
    }
    (
        stamp.finish(),
        Box::new(move || pages::audit_pages(input.trust)),
    )
}

/// The stamp of everything the pages of group `index` show (`None` when it is not known
/// and they are rendered every time), and how their keys are made.
fn group_keys<'a>(
    input: &'a Input<'a>,
    globals: &data::Globals,
    global: Option<&'a blake3::Hash>,
    index: usize,
) -> (Option<Stamp>, MakeKeys<'a>) {
    let groups_stamp = globals.ticket_groups_stamp;
    let lists = pages::LISTS.len();
    let unkeyed = || -> MakeKeys<'a> {
        Box::new(|pages, _| Keyed::plain(pages.iter().map(|_| None).collect()))
    };
    let Some(global) = global else {
        return (None, unkeyed());
    };
    if let Some((_, template, _)) = pages::LISTS.get(index) {
        return match keys::list_stamp(input, global, template, &groups_stamp) {
            Some(stamp) => (
                Some(stamp),
                Box::new(move |pages, _| {
                    Keyed::plain(
                        pages
                            .iter()
                            .map(|p| Some(keys::list_key(&stamp, &p.path)))
                            .collect(),
                    )
                }),
            ),
            None => (None, unkeyed()),
        };
    }
    if let Some(entity) = ENTITIES.get(index - lists) {
        let stamp = keys::detail_stamp(input, global, entity);
        return (
            Some(stamp),
            Box::new(move |pages, previous| detail_keyed(input, global, entity, pages, previous)),
        );
    }
    if index == lists + ENTITIES.len() {
        let stamp = keys::list_stamp(input, global, "logbook_month.html", &groups_stamp);
        return (
            stamp,
            Box::new(move |pages, _| {
                Keyed::plain(
                    pages
                        .iter()
                        .map(|p| stamp.map(|s| keys::list_key(&s, &p.path)))
                        .collect(),
                )
            }),
        );
    }
    let mut stamp = Stamper::new("audit keys");
    stamp
        .hash(global)
        .stamp(&input.trust_stamp)
        .text(&input.now.to_string());
    (
        Some(stamp.finish()),
        Box::new(move |pages, previous| audit_keyed(input, global, pages, previous)),
    )
}

/// The keys of the audit pages: the previous group's, made again only for pages whose
/// trail changed, while the theme and the pending changes did not; else all made again.
fn audit_keyed(
    input: &Input<'_>,
    global: &blake3::Hash,
    pages: &[Page],
    previous: Option<&Group>,
) -> Keyed {
    let structure = keys::audit_structure(input, global);
    let since = previous
        .filter(|p| p.structure == structure && p.keys.len() == pages.len())
        .and_then(|p| Some((&p.keys, p.trails.as_ref()?)));
    let keys = match since {
        Some((kept, before)) => keys::audit_keys_since(input, global, pages, kept, before),
        None => keys::audit_keys(input, global, pages),
    };
    Keyed {
        keys,
        deps: Vec::new(),
        structure,
        trails: input.trust.map(|trust| Arc::clone(&trust.trails)),
    }
}

/// The keys of one kind's detail pages: the previous group's, made again only for pages
/// one of whose files changed, while what decides which files they read did not;
/// else all made again.
fn detail_keyed(
    input: &Input<'_>,
    global: &blake3::Hash,
    entity: &Entity,
    pages: &[Page],
    previous: Option<&Group>,
) -> Keyed {
    let structure = keys::structure_stamp(input, global, entity);
    let (key, count) = keys::detail_key_fn(input, global, entity);
    let files = &input.content.files;
    let unchanged = |deps: &keys::Deps| {
        deps.iter()
            .all(|(file, hash)| files.hash(*file).as_ref() == Some(hash))
    };
    let patchable = previous.filter(|p| {
        p.structure == structure
            && p.keys.len() == count
            && p.deps.len() == count
            && pages.len() == count
    });
    let made: Vec<(Option<keys::Key>, keys::Deps)> = match patchable {
        Some(previous) => (0..count)
            .into_par_iter()
            .with_min_len(256)
            .map(|i| match (previous.keys.get(i), previous.deps.get(i)) {
                (Some(Some(kept)), Some(deps)) if unchanged(deps) => (Some(*kept), deps.clone()),
                _ => {
                    let (key, deps) = key(i);
                    (Some(key), deps)
                }
            })
            .collect(),
        None => (0..count)
            .into_par_iter()
            .map(|i| {
                let (key, deps) = key(i);
                (Some(key), deps)
            })
            .collect(),
    };
    let (keys, deps) = made.into_iter().unzip();
    Keyed {
        keys,
        deps,
        structure,
        trails: None,
    }
}

/// Decides what group `index` renders: nothing when its stamp is the one of the output
/// the caller holds, else its pages whose keys changed (or all of them).
fn plan_group(
    input: &Input<'_>,
    globals: &data::Globals,
    global: Option<&blake3::Hash>,
    index: usize,
    memo: &Memo<Result<Group, String>>,
) -> Planned {
    let (pages_stamp, make_pages) = group_pages(input, globals, index);
    let (keys_stamp, make_keys) = group_keys(input, globals, global, index);
    let mut stamp = Stamper::new("group");
    stamp.stamp(&pages_stamp);
    // A group whose pages have no known inputs is never the same as before.
    let unknown = keys_stamp.is_none();
    if let Some(keys_stamp) = &keys_stamp {
        stamp.stamp(keys_stamp);
    } else {
        stamp.text(&input.now.to_string());
    }
    let mut changes: Option<(Vec<usize>, Vec<String>)> = None;
    let got = memo.get(stamp.finish(), |previous| {
        let previous = previous.and_then(|p| p.as_ref().ok());
        let pages = match previous.filter(|p| p.pages_stamp == pages_stamp) {
            Some(previous) => Arc::clone(&previous.pages),
            None => Arc::new(make_pages().map_err(|err| err.to_string())?),
        };
        let keyed = make_keys(&pages, previous.filter(|p| p.pages_stamp == pages_stamp));
        if let Some(previous) = previous {
            changes = Some(compare(previous, &pages, &keyed.keys));
        }
        Ok(Group {
            pages_stamp,
            pages,
            keys: keyed.keys,
            deps: keyed.deps,
            structure: keyed.structure,
            trails: keyed.trails,
        })
    });
    let incremental = input.memos.keeping && !input.complete;
    let (render, removed) = match (got.fresh, changes) {
        (false, _) if incremental && !unknown => (Some(Vec::new()), Vec::new()),
        (true, Some((render, removed))) if incremental => (Some(render), removed),
        _ => (None, Vec::new()),
    };
    Planned {
        group: got.value,
        render,
        offer: !incremental,
        removed,
    }
}

/// The pages of a group to render again, by index, and the paths it no longer has,
/// against its previous state.
fn compare(
    previous: &Group,
    pages: &Arc<Vec<Page>>,
    keys: &[Option<keys::Key>],
) -> (Vec<usize>, Vec<String>) {
    let same_pages = Arc::ptr_eq(&previous.pages, pages)
        || previous.pages.len() == pages.len()
            && previous
                .pages
                .iter()
                .zip(pages.iter())
                .all(|(a, b)| a.path == b.path);
    let render: Vec<usize> = if same_pages {
        (0..pages.len())
            .filter(|&i| keys[i].is_none() || previous.keys.get(i) != Some(&keys[i]))
            .collect()
    } else {
        let before: HashMap<&str, &Option<keys::Key>> = previous
            .pages
            .iter()
            .zip(&previous.keys)
            .map(|(page, key)| (page.path.as_str(), key))
            .collect();
        (0..pages.len())
            .filter(|&i| keys[i].is_none() || before.get(pages[i].path.as_str()) != Some(&&keys[i]))
            .collect()
    };
    let removed = if same_pages {
        Vec::new()
    } else {
        let now: std::collections::HashSet<&str> = pages.iter().map(|p| p.path.as_str()).collect();
        previous
            .pages
            .iter()
            .filter(|p| !now.contains(p.path.as_str()))
            .map(|p| p.path.clone())
            .collect()
    };
    (render, removed)
}

/// Renders the site, handing every file to `sink` as soon as it is ready (only the
/// files that changed, unless `input.complete`; see [`Input::complete`]).
pub fn render_into(
    input: &Input<'_>,
    files: &mut Files,
    progress: &dyn Progress,
    sink: &dyn Sink,
) -> Result<Rendered, Vec<Diagnostic>> {
    let (theme_stamp, mut theme) = load_theme(input, files)?;
    crate::timings::mark("load the theme");
    let globals = data::globals(input, &input.memos.values).map_err(render_error)?;
    crate::timings::mark("template context");
    *theme.tera.global_context() = globals.context.clone();
    // Pages have input keys, so a rebuild can reuse the ones whose inputs did not
    // change; only with the default theme's own templates, whose inputs are known.
    let global = theme
        .is_default()
        .then(|| keys::global_key(input, &theme.fingerprint_parts()));
    let outcome = render_with(
        input,
        &theme,
        theme_stamp,
        &globals,
        global.as_ref(),
        files,
        progress,
        sink,
    );
    if input.memos.keeping
        && let Ok(mut slot) = input.memos.theme.lock()
    {
        *slot = Some((theme_stamp, theme));
    } else {
        crate::defer::drop_later(theme);
    }
    crate::defer::drop_later(globals);
    outcome
}

#[allow(clippy::too_many_arguments)]
fn render_with(
    input: &Input<'_>,
    theme: &theme::Theme,
    theme_stamp: Stamp,
    globals: &data::Globals,
    global: Option<&blake3::Hash>,
    files: &mut Files,
    progress: &dyn Progress,
    sink: &dyn Sink,
) -> Result<Rendered, Vec<Diagnostic>> {
    let planned: Vec<Planned> = input
        .memos
        .groups
        .par_iter()
        .enumerate()
        .map(|(index, memo)| plan_group(input, globals, global, index, memo))
        .collect();
    crate::timings::mark("page keys");
    let mut removed = Vec::new();
    let mut tasks: Vec<Task<'_>> = Vec::new();
    let mut failures = Vec::new();
    for (index, plan) in planned.iter().enumerate() {
        removed.extend(plan.removed.iter().cloned());
        let group = match &*plan.group {
            Ok(group) => group,
            Err(err) => {
                failures.push(Diagnostic::error(
                    "render",
                    format!("cannot prepare the page data: {err}"),
                ));
                continue;
            }
        };
        let list = index < pages::LISTS.len();
        let wanted: Box<dyn Iterator<Item = usize>> = match &plan.render {
            Some(indices) => Box::new(indices.iter().copied()),
            None => Box::new(0..group.pages.len()),
        };
        for i in wanted {
            let (Some(page), Some(key)) = (group.pages.get(i), group.keys.get(i)) else {
                continue;
            };
            if plan.offer
                && let Some(key) = key
                && sink.reuse(&page.path, key)
            {
                continue;
            }
            tasks.push(Task {
                page,
                key: *key,
                list,
            });
        }
    }
    if !failures.is_empty() {
        input.memos.forget_output();
        return Err(failures);
    }
    let refused_statics = refused_statics(theme, &planned);
    progress.start(tasks.len() as u64);
    let rendered = render_pages(input, theme, globals, global, &tasks, progress, sink);
    if let Err(problems) = rendered {
        input.memos.forget_output();
        let mut diagnostics = Vec::new();
        for problem in problems {
            diagnostics.push(match problem {
                Failure::Template(err) => theme.diagnose(&err, files),
                Failure::Output(diagnostic) => *diagnostic,
            });
        }
        diagnostics.dedup();
        return Err(diagnostics);
    }
    crate::timings::mark("pages");
    match render_outputs(input, theme, theme_stamp, global, &refused_statics, sink) {
        Ok(gone) => removed.extend(gone),
        Err(problem) => {
            input.memos.forget_output();
            return Err(vec![match problem {
                Failure::Template(err) => theme.diagnose(&err, files),
                Failure::Output(diagnostic) => *diagnostic,
            }]);
        }
    }
    crate::timings::mark("feeds, calendar and API");
    let warnings = refused_statics
        .iter()
        .map(|(path, why)| {
            Diagnostic::warning(
                "static-file-refused",
                format!("the static file `{path}` is not published: {why}"),
            )
            .with_help("rename it in `static/` (or the theme's `static/`)")
        })
        .collect();
    Ok(Rendered {
        removed,
        pages: tasks.len(),
        warnings,
    })
}

/// The theme's static files that cannot be published under their names, with the
/// reason: against every page of every group and every other output
/// ([`names::static_clashes`]).
fn refused_statics(theme: &theme::Theme, planned: &[Planned]) -> BTreeMap<String, String> {
    let pages = planned
        .iter()
        .filter_map(|plan| plan.group.as_ref().as_ref().ok())
        .flat_map(|group| group.pages.iter().map(|page| page.path.as_str()));
    let outputs: Vec<String> = feeds::FEEDS
        .iter()
        .map(|name| feeds::feed_path(name))
        .chain(["calendar.ics".to_owned()])
        .chain(API_KINDS.iter().map(|kind| api_path(kind)))
        .collect();
    names::static_clashes(
        theme.static_files.keys().map(String::as_str),
        pages.chain(outputs.iter().map(String::as_str)),
    )
    .into_iter()
    .map(|(path, why)| (path.to_owned(), why))
    .collect()
}

/// `api/<kind>.json`.
fn api_path(kind: &str) -> String {
    format!("api/{kind}.json")
}

/// The template of the ticket list's groups of open tickets.
const SECTIONS_TEMPLATE: &str = "ticket_groups.html";

/// The ticket list's groups of open tickets (`ticket_groups.html`) for a page at depth
/// `root`: rendered again only when the groups or the open tickets' titles changed
/// (with the default theme's templates, whose inputs are known).
fn ticket_sections(
    theme: &theme::Theme,
    input: &Input<'_>,
    globals: &data::Globals,
    global: Option<&blake3::Hash>,
    root: &str,
) -> tera::TeraResult<String> {
    let render = || -> tera::TeraResult<String> {
        let mut context = tera::Context::new();
        context.insert("root", root);
        theme.tera.render(SECTIONS_TEMPLATE, &context)
    };
    let Some(global) = global else {
        return render();
    };
    let mut fields = crate::memo::Fields::new("ticket sections");
    fields
        .stamp(global.as_bytes())
        .stamp(&globals.ticket_groups_stamp)
        .text(root);
    for doc in &globals.ticket_groups.open_docs {
        if let Some(ticket) = input.content.tickets.get(*doc) {
            fields.text(&ticket.data.title);
        }
    }
    let made = input
        .memos
        .ticket_sections
        .get(fields.finish(), |_| render().map_err(|err| err.to_string()));
    match &*made.value {
        Ok(html) => Ok(html.clone()),
        Err(_) => {
            input.memos.ticket_sections.clear();
            render()
        }
    }
}

/// Why a file could not be made.
enum Failure {
    Template(tera::Error),
    Output(Box<Diagnostic>),
}

fn render_pages(
    input: &Input<'_>,
    theme: &theme::Theme,
    globals: &data::Globals,
    global: Option<&blake3::Hash>,
    tasks: &[Task<'_>],
    progress: &dyn Progress,
    sink: &dyn Sink,
) -> Result<(), Vec<Failure>> {
    // The ticket list's rows are rendered one by one (and kept by the preview server),
    // by the list's own task, in parallel with the other pages.
    let row_template = theme.sources.contains_key(rows::TEMPLATE);
    let audit_row_template = theme.sources.contains_key(rows::AUDIT_TEMPLATE);
    let sections_template = theme.sources.contains_key(SECTIONS_TEMPLATE);
    let ticket_rows = |page: &Page| -> tera::TeraResult<rows::TicketRows> {
        rows::ticket_rows(
            &theme.tera,
            input,
            &globals.ticket_groups,
            global,
            &input.memos.rows,
            &page.root(),
        )
    };
    // The few list pages take most of the time (the ticket list alone ~20 ms at
    // scale): each is a task of its own, or they would render one after the other in
    // one chunk on one thread.
    let (lists, details): (Vec<&Task<'_>>, Vec<&Task<'_>>) = tasks.iter().partition(|t| t.list);
    let failures: Vec<Failure> = lists
        .par_iter()
        .with_max_len(1)
        .chain(details.par_iter())
        .filter_map(|task| {
            let page = task.page;
            let mut context = page.context();
            if let Some(path) = page.audit_file() {
                match data::audit_file(&globals.context, path) {
                    Some(file) => context.insert_value("file", file.clone()),
                    None => {
                        return Some(Failure::Output(Box::new(Diagnostic::error(
                            "render",
                            format!("no audit trail for {path} in the template context"),
                        ))));
                    }
                }
            }
            if audit_row_template
                && page.template == "audit.html"
                && let Some(report) = input.trust
            {
                match rows::audit_rows(
                    &theme.tera,
                    report,
                    global,
                    &input.memos.audit_rows,
                    &page.root(),
                ) {
                    Ok(rows) => context.insert("audit_rows", &rows),
                    Err(err) => return Some(Failure::Template(err)),
                }
            }
            if row_template && page.template == "tickets.html" {
                match ticket_rows(page) {
                    Ok(rows) => context.insert("ticket_rows", &rows),
                    Err(err) => return Some(Failure::Template(err)),
                }
            }
            if sections_template && page.template == "tickets.html" {
                match ticket_sections(theme, input, globals, global, &page.root()) {
                    Ok(sections) => context.insert("ticket_sections", &*sections),
                    Err(err) => return Some(Failure::Template(err)),
                }
            }
            let started = std::time::Instant::now();
            let rendered = theme.tera.render(page.template, &context);
            crate::timings::page(&page.path, started.elapsed());
            let outcome = match rendered {
                Ok(html) => sink
                    .put_keyed(&page.path, html.into_bytes(), task.key.as_ref())
                    .err()
                    .map(|err| Failure::Output(Box::new(sink_error(&page.path, err)))),
                Err(err) => Some(Failure::Template(err)),
            };
            progress.advance();
            outcome
        })
        .collect();
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures)
    }
}

/// One output other than a page: the stamp of its inputs, its key and path when it is one
/// keyed file (an API file, which a sink may reuse), and how it is made.
struct Out<'m> {
    stamp: Stamp,
    keyed: Option<(keys::Key, String)>,
    make: MakeFiles<'m>,
}

/// How an output's files are made.
type MakeFiles<'m> = Box<dyn Fn() -> Result<Vec<(String, File)>, Failure> + Sync + 'm>;

/// The feeds, the calendar, the static files and the API: each made when the stamp of
/// its inputs changed (or whenever the sink needs every file). Returns the paths of the
/// previous output that are gone.
fn render_outputs(
    input: &Input<'_>,
    theme: &theme::Theme,
    theme_stamp: Stamp,
    global: Option<&blake3::Hash>,
    refused_statics: &BTreeMap<String, String>,
    sink: &dyn Sink,
) -> Result<Vec<String>, Failure> {
    let incremental = input.memos.keeping && !input.complete;
    let now = input.now.to_string();
    let global_hash = global
        .copied()
        .unwrap_or_else(|| blake3::hash(&theme_stamp));
    let mut outputs: Vec<Out<'_>> = Vec::new();
    for name in feeds::FEEDS {
        let (kinds, alerts) = feeds::feed_reads(name);
        let mut stamp = Stamper::new("feed");
        stamp.text(name).stamp(&theme_stamp).text(&now);
        input.content.stamps.add(&mut stamp, kinds);
        if alerts {
            stamp.stamp(&input.derived.stamps.alerts);
        }
        outputs.push(Out {
            stamp: stamp.finish(),
            keyed: None,
            make: Box::new(move || {
                let feed = feeds::atom_feed(input, name);
                let context = tera::Context::from_serialize(&feed.context).map_err(|err| {
                    Failure::Output(Box::new(Diagnostic::error(
                        "render",
                        format!("feed {}: {err}", feed.path),
                    )))
                })?;
                let xml = theme
                    .tera
                    .render("atom.xml", &context)
                    .map_err(Failure::Template)?;
                let xml = feeds::xml_chars(&xml).into_owned();
                Ok(vec![(feed.path, File::Whole(xml.into_bytes()))])
            }),
        });
    }
    let mut calendar = Stamper::new("calendar");
    calendar.stamp(&input.derived.stamps.upcoming).text(&now);
    input
        .content
        .stamps
        .add(&mut calendar, &[crate::content::Kind::Config]);
    outputs.push(Out {
        stamp: calendar.finish(),
        keyed: None,
        make: Box::new(|| {
            Ok(vec![(
                "calendar.ics".to_owned(),
                File::Whole(feeds::calendar(input).into_bytes()),
            )])
        }),
    });
    let mut statics = Stamper::new("static files");
    statics.stamp(&theme_stamp);
    for path in refused_statics.keys() {
        statics.text(path);
    }
    outputs.push(Out {
        stamp: statics.finish(),
        keyed: None,
        make: Box::new(|| {
            Ok(theme
                .static_files
                .iter()
                .filter(|(path, _)| !refused_statics.contains_key(*path))
                .map(|(path, bytes)| (path.clone(), File::Whole(bytes.clone())))
                .collect())
        }),
    });
    for kind in API_KINDS {
        let key = keys::api_key(input, &global_hash, kind);
        outputs.push(Out {
            stamp: key,
            keyed: Some((key, api_path(kind))),
            make: Box::new(move || {
                Ok(vec![(
                    api_path(kind),
                    data::api_file(input, &input.memos.values, kind),
                )])
            }),
        });
    }
    let removed: Vec<Vec<String>> = outputs
        .par_iter()
        .zip(input.memos.outputs.par_iter())
        .map(|(out, memo)| {
            let previous = memo.peek();
            if incremental
                && previous
                    .as_ref()
                    .is_some_and(|(seen, _)| *seen == out.stamp)
            {
                return Ok(Vec::new());
            }
            if !incremental
                && let Some((key, path)) = &out.keyed
                && sink.reuse(path, key)
            {
                memo.set(out.stamp, vec![path.clone()]);
                return Ok(Vec::new());
            }
            let files = (out.make)()?;
            let paths: Vec<String> = files.iter().map(|(path, _)| path.clone()).collect();
            for (path, file) in files {
                let key = out.keyed.as_ref().map(|(key, _)| key);
                file.put(sink, &path, key)
                    .map_err(|err| Failure::Output(Box::new(sink_error(&path, err))))?;
            }
            let gone = match previous {
                Some((_, before)) if incremental => before
                    .iter()
                    .filter(|path| !paths.contains(path))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            };
            memo.set(out.stamp, paths);
            Ok(gone)
        })
        .collect::<Result<_, Failure>>()?;
    Ok(removed.into_iter().flatten().collect())
}
