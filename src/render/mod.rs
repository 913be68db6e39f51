//! From content and what derives from it to the bytes of every output file: HTML pages
//! through the theme's templates, feeds, the calendar and the JSON API.
//!
//! Rendering is pure: the same input and "now" give the same bytes. Pages render in
//! parallel; the caller decides where the files go.

pub mod charts;
mod data;
mod feeds;
pub mod keys;
pub mod markdown;
pub mod markdown_cache;
mod pages;
mod rows;
pub mod theme;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::content::Content;
use crate::content::types::Moment;
use crate::derive::Derived;
use crate::diag::{Diagnostic, Files};
use crate::source::Tree;

pub use data::ValueCache;
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
    /// Bodies rendered by earlier builds.
    pub markdown: &'a markdown_cache::Cache,
    /// Entity views converted to template values by earlier builds.
    pub values: &'a ValueCache,
    /// Rows of the ticket list rendered by earlier builds.
    pub rows: &'a RowCache,
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
    fn put_keyed(&self, path: &str, bytes: Vec<u8>, key: Option<&keys::Key>) -> Result<(), String>;

    /// Takes a file that has no input key.
    fn put(&self, path: &str, bytes: Vec<u8>) -> Result<(), String> {
        self.put_keyed(path, bytes, None)
    }

    /// Offers to reuse the previous build's file for `path`, made from inputs with the
    /// same `key`; true if it was reused and the page need not be rendered.
    fn reuse(&self, path: &str, key: &keys::Key) -> bool {
        let _ = (path, key);
        false
    }
}

/// Collects the site in memory.
impl Sink for std::sync::Mutex<Output> {
    fn put_keyed(&self, path: &str, bytes: Vec<u8>, _: Option<&keys::Key>) -> Result<(), String> {
        let mut output = self
            .lock()
            .map_err(|_| "the output map was poisoned".to_owned())?;
        output.insert(path.to_owned(), bytes);
        Ok(())
    }
}

/// Collects the site in memory like `Mutex<Output>`, but does not render pages whose key
/// equals the one they had in `previous` (the keys of a site the caller still holds):
/// those are listed in `reused` instead, for the caller to take from its previous site.
pub struct Reusing<'p> {
    previous: &'p keys::PageKeys,
    files: std::sync::Mutex<Output>,
    reused: std::sync::Mutex<Vec<String>>,
}

/// What a [`Reusing`] sink collected.
#[derive(Debug, Default)]
pub struct Collected {
    /// Files rendered this time.
    pub files: Output,
    /// Pages not rendered: the previous site's are the same (in no particular order).
    pub reused: Vec<String>,
}

impl<'p> Reusing<'p> {
    pub fn new(previous: &'p keys::PageKeys) -> Self {
        Self {
            previous,
            files: std::sync::Mutex::default(),
            reused: std::sync::Mutex::default(),
        }
    }

    pub fn into_collected(self) -> Collected {
        Collected {
            files: self.files.into_inner().unwrap_or_default(),
            reused: self.reused.into_inner().unwrap_or_default(),
        }
    }
}

impl Sink for Reusing<'_> {
    fn put_keyed(&self, path: &str, bytes: Vec<u8>, _: Option<&keys::Key>) -> Result<(), String> {
        self.files.put(path, bytes)
    }

    fn reuse(&self, path: &str, key: &keys::Key) -> bool {
        if self.previous.get(path) != Some(key) {
            return false;
        }
        match self.reused.lock() {
            Ok(mut reused) => {
                reused.push(path.to_owned());
                true
            }
            Err(_) => false,
        }
    }
}

/// Renders the whole site into memory.
pub fn render(
    input: &Input<'_>,
    files: &mut Files,
    progress: &dyn Progress,
) -> Result<Output, Vec<Diagnostic>> {
    let sink = std::sync::Mutex::new(Output::new());
    render_into(input, files, progress, &sink)?;
    sink.into_inner()
        .map_err(|_| vec![Diagnostic::error("render", "the output map was poisoned")])
}

fn sink_error(path: &str, err: String) -> Diagnostic {
    Diagnostic::error("output", format!("cannot write `{path}`: {err}"))
}

/// Renders the whole site, handing every file to `sink` as soon as it is ready. Returns
/// the key of every keyed page (rendered or reused), for the next build.
pub fn render_into(
    input: &Input<'_>,
    files: &mut Files,
    progress: &dyn Progress,
    sink: &dyn Sink,
) -> Result<keys::PageKeys, Vec<Diagnostic>> {
    let config = input.content.config.as_ref();
    let theme_name = config
        .and_then(|c| c.data.theme.as_ref())
        .map_or("default", |t| t.as_str());
    let mut theme = theme::load(input.tree, theme_name, files).map_err(|mut problems| {
        // An unknown theme is a problem of the `theme:` field in glassroom.yaml.
        if let Some((config, field)) = config.and_then(|c| c.data.theme.as_ref().map(|t| (c, t))) {
            for problem in problems.iter_mut().filter(|p| p.location.is_none()) {
                problem.location = Some(config.origin.at_value(field));
            }
        }
        problems
    })?;
    crate::timings::mark("load the theme");
    let data = data::SiteData::new(input);
    crate::timings::mark("site data (incl. markdown)");
    let global = data.to_context(input.tree, input.values).map_err(|err| {
        vec![Diagnostic::error(
            "render",
            format!("cannot prepare the page data: {err}"),
        )]
    })?;
    theme.tera.global_context().extend(global);
    crate::timings::mark("serialize the global context");

    let pages = pages::pages(input.content, &data).map_err(|err| {
        vec![Diagnostic::error(
            "render",
            format!("cannot prepare the page data: {err}"),
        )]
    })?;
    crate::timings::mark("page list");
    // Detail pages have input keys, so a rebuild can reuse the ones whose inputs did not
    // change; only with the default theme's own templates, whose inputs are known.
    let global = theme
        .is_default()
        .then(|| keys::global_key(input, &theme.fingerprint_parts()));
    let page_keys = match &global {
        Some(global) => keys::page_keys(input, global, &pages),
        None => keys::PageKeys::new(),
    };
    crate::timings::mark("page keys");
    // The ticket list's rows are rendered one by one (and kept by the preview server),
    // by the list's own task, in parallel with the other pages.
    let row_template = theme.sources.contains_key(rows::TEMPLATE);
    let ticket_rows = |page: &Page| -> tera::TeraResult<rows::TicketRows> {
        rows::ticket_rows(
            &theme.tera,
            input,
            &data,
            global.as_ref(),
            input.rows,
            &page.root(),
        )
    };
    progress.start(pages.len() as u64);
    // Pages are handed to the sink as they are rendered; only failures are kept.
    enum Failure {
        Template(tera::Error),
        Output(Box<Diagnostic>),
    }
    // The few list pages at the front take most of the time (the ticket list alone
    // ~20 ms at scale): each is a task of its own, or they would render one after the
    // other in one chunk on one thread.
    let (lists, details) = pages.split_at(pages.iter().take_while(|p| p.is_list()).count());
    let failures: Vec<Failure> = lists
        .par_iter()
        .with_max_len(1)
        .chain(details.par_iter())
        .filter_map(|page| {
            let key = page_keys.get(&page.path);
            if key.is_some_and(|key| sink.reuse(&page.path, key)) {
                progress.advance();
                return None;
            }
            let mut context = page.context();
            if row_template && page.template == "tickets.html" {
                match ticket_rows(page) {
                    Ok(rows) => context.insert("ticket_rows", &rows),
                    Err(err) => return Some(Failure::Template(err)),
                }
            }
            let outcome = match theme.tera.render(page.template, &context) {
                Ok(html) => sink
                    .put_keyed(&page.path, html.into_bytes(), key)
                    .err()
                    .map(|err| Failure::Output(Box::new(sink_error(&page.path, err)))),
                Err(err) => Some(Failure::Template(err)),
            };
            progress.advance();
            outcome
        })
        .collect();
    let mut diagnostics = Vec::new();
    for failure in failures {
        match failure {
            Failure::Template(err) => diagnostics.push(theme.diagnose(&err, files)),
            Failure::Output(diagnostic) => diagnostics.push(*diagnostic),
        }
    }
    if !diagnostics.is_empty() {
        diagnostics.dedup();
        return Err(diagnostics);
    }
    crate::timings::mark("pages");
    for feed in feeds::atom_feeds(input, &data) {
        let context = tera::Context::from_serialize(&feed.context).map_err(|err| {
            vec![Diagnostic::error(
                "render",
                format!("feed {}: {err}", feed.path),
            )]
        })?;
        match theme.tera.render("atom.xml", &context) {
            Ok(xml) => sink
                .put(&feed.path, xml.into_bytes())
                .map_err(|err| vec![sink_error(&feed.path, err)])?,
            Err(err) => return Err(vec![theme.diagnose(&err, files)]),
        }
    }
    crate::timings::mark("atom feeds");
    // API files whose inputs did not change are taken from the previous build.
    let wanted = |kind: &str| {
        let path = format!("api/{kind}.json");
        !page_keys
            .get(&path)
            .is_some_and(|key| sink.reuse(&path, key))
    };
    let (calendar, api) = rayon::join(
        || feeds::calendar(input).into_bytes(),
        || data::api_files(input, &data, &wanted),
    );
    for (path, bytes) in api {
        sink.put_keyed(&path, bytes, page_keys.get(&path))
            .map_err(|err| vec![sink_error(&path, err)])?;
    }
    let mut rest = vec![("calendar.ics".to_owned(), calendar)];
    rest.extend(std::mem::take(&mut theme.static_files));
    crate::defer::drop_later((theme, pages));
    for (path, bytes) in rest {
        sink.put(&path, bytes)
            .map_err(|err| vec![sink_error(&path, err)])?;
    }
    Ok(page_keys)
}
