//! From content and what derives from it to the bytes of every output file: HTML pages
//! through the theme's templates, feeds, the calendar and the JSON API.
//!
//! Rendering is pure: the same input and "now" give the same bytes. Pages render in
//! parallel; the caller decides where the files go.

pub mod charts;
mod data;
mod feeds;
pub mod markdown;
mod pages;
pub mod theme;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::content::Content;
use crate::content::types::Moment;
use crate::derive::Derived;
use crate::diag::{Diagnostic, Files};
use crate::source::Tree;

pub use pages::Page;

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

/// Renders the whole site.
pub fn render(
    input: &Input<'_>,
    files: &mut Files,
    progress: &dyn Progress,
) -> Result<Output, Vec<Diagnostic>> {
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
    let data = data::SiteData::new(input);
    let global = tera::Context::from_serialize(&data).map_err(|err| {
        vec![Diagnostic::error(
            "render",
            format!("cannot prepare the page data: {err}"),
        )]
    })?;
    theme.tera.global_context().extend(global);

    let pages = pages::pages(input.content, &data);
    progress.start(pages.len() as u64);
    let rendered: Vec<Result<(String, Vec<u8>), tera::Error>> = pages
        .par_iter()
        .map(|page| {
            let html = theme.tera.render(page.template, &page.context)?;
            progress.advance();
            Ok((page.path.clone(), html.into_bytes()))
        })
        .collect();

    let mut output = Output::new();
    let mut diagnostics = Vec::new();
    for result in rendered {
        match result {
            Ok((path, bytes)) => {
                output.insert(path, bytes);
            }
            Err(err) => diagnostics.push(theme.diagnose(&err, files)),
        }
    }
    if !diagnostics.is_empty() {
        diagnostics.dedup();
        return Err(diagnostics);
    }
    for feed in feeds::atom_feeds(input, &data) {
        let context = tera::Context::from_serialize(&feed.context).map_err(|err| {
            vec![Diagnostic::error(
                "render",
                format!("feed {}: {err}", feed.path),
            )]
        })?;
        match theme.tera.render("atom.xml", &context) {
            Ok(xml) => {
                output.insert(feed.path, xml.into_bytes());
            }
            Err(err) => return Err(vec![theme.diagnose(&err, files)]),
        }
    }
    output.insert("calendar.ics".into(), feeds::calendar(input).into_bytes());
    for (path, bytes) in data::api_files(input, &data) {
        output.insert(path, bytes);
    }
    for (path, bytes) in theme.static_files {
        output.insert(path, bytes);
    }
    Ok(output)
}
