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
mod groups;
mod inline;
pub mod keys;
pub mod markdown;
pub mod markdown_cache;
pub mod names;
mod outputs;
mod pages;
mod paging;
mod reads;
mod rows;
pub mod theme;
mod tones;

use std::collections::BTreeMap;
use std::sync::Mutex;

use rayon::prelude::*;

use crate::content::Content;
use crate::content::types::Moment;
use crate::derive::Derived;
use crate::diag::{Diagnostic, Files};
use crate::memo::{Memo, Stamp, Stamper};
use crate::source::Tree;

pub use data::{API_FILES, ApiFile, ENTITIES, Entity};
pub use pages::{List, Page, PageFile, Spec};
pub use reads::{Alerts, Reads};
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
    groups: groups::Groups,
    /// The paths each output last gave.
    outputs: [Memo<Vec<String>>; outputs::OUTPUTS],
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
            groups: groups::Groups::keeping(),
            outputs: std::array::from_fn(|_| Memo::keeping()),
        }
    }

    pub fn is_keeping(&self) -> bool {
        self.keeping
    }

    /// Forgets what was handed to a sink (the groups' keys and the outputs), keeping the
    /// values: the next build renders everything again, as after a failed one.
    pub fn forget_output(&self) {
        self.groups.clear();
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

pub(crate) fn sink_error(path: &str, err: SinkError) -> Diagnostic {
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
    page: &'g PageFile,
    key: Option<keys::Key>,
    /// A list page (rendered as a task of its own: they are the slow ones).
    list: bool,
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
    let planned = input.memos.groups.plan(input, global);
    crate::timings::mark("page keys");
    let mut removed = Vec::new();
    let mut tasks: Vec<Task<'_>> = Vec::new();
    let mut failures = Vec::new();
    for plan in &planned {
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
        let list = plan.page.is_list();
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
    match outputs::render_outputs(input, theme, theme_stamp, global, &refused_statics, sink) {
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
fn refused_statics(theme: &theme::Theme, planned: &[groups::Planned]) -> BTreeMap<String, String> {
    let pages = planned
        .iter()
        .filter_map(|plan| plan.group.as_ref().as_ref().ok())
        .flat_map(|group| group.pages.iter().map(|page| page.path.as_str()));
    let outputs: Vec<String> = feeds::FEEDS
        .iter()
        .map(|name| feeds::feed_path(name))
        .chain(["calendar.ics".to_owned()])
        .chain(API_FILES.iter().map(|file| file.path()))
        .collect();
    names::static_clashes(
        theme.static_files.keys().map(String::as_str),
        pages.chain(outputs.iter().map(String::as_str)),
    )
    .into_iter()
    .map(|(path, why)| (path.to_owned(), why))
    .collect()
}

/// The template of the ticket list's groups of open tickets.
const SECTIONS_TEMPLATE: &str = "ticket_groups.html";

/// The ticket list's groups of open tickets (`ticket_groups.html`) for a page at depth
/// `root`: rendered again only when the groups or the open tickets' titles changed
/// (with the default theme's templates, whose inputs are known).
fn ticket_sections(
    theme: &theme::Theme,
    input: &Input<'_>,
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
        .stamp(&input.derived.stamps.ticket_groups)
        .text(root);
    for doc in &input.derived.ticket_groups.open_docs {
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
pub(crate) enum Failure {
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
    // Every row once, for all the pages of the list (they are at one depth); each page
    // joins its own.
    let all_ticket_rows = std::sync::OnceLock::new();
    let ticket_rows = |page: &PageFile| -> tera::TeraResult<rows::TicketRows> {
        let make = || {
            rows::ticket_rows(
                &theme.tera,
                input,
                &input.derived.ticket_groups,
                global,
                &input.memos.rows,
                &page.root(),
            )
        };
        match all_ticket_rows.get_or_init(make) {
            Ok(list) => Ok(list.page(page.rows("open"), page.rows("closed"))),
            // The error again, owned.
            Err(_) => make().map(|_| rows::TicketRows::default()),
        }
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
            if let Some((kind, id)) = page.channel() {
                let feed = match kind {
                    crate::content::Kind::Person => feeds::inbox_feed(input, id),
                    kind => feeds::channel_feed(input, kind, id),
                };
                let outcome = match feeds::render_feed(theme, &feed) {
                    Ok(xml) => sink
                        .put_keyed(&page.path, xml, task.key.as_ref())
                        .err()
                        .map(|err| Failure::Output(Box::new(sink_error(&page.path, err)))),
                    Err(failure) => Some(failure),
                };
                progress.advance();
                return outcome;
            }
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
            // The groups are on the list's first page only.
            let tickets_list = pages::Page::List(pages::List::Tickets)
                .spec()
                .and_then(|spec| spec.path);
            if sections_template && tickets_list == Some(page.path.as_str()) {
                match ticket_sections(theme, input, global, &page.root()) {
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
