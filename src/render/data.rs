//! The data every template sees (tera's global context) and the JSON API.
//!
//! Each part of the context is a template value made from a few kinds of content or
//! derived data, kept in [`Values`] with the fingerprints of what it was made from: a
//! rebuild makes again only the parts whose inputs changed, and a changed kind of
//! entity is patched entity by entity (a changed ticket converts one ticket, not four
//! thousand). The API's items are kept the same way, as the bytes they have in the file.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use rayon::prelude::*;
use serde::Serialize;

use super::Input;

mod api;
mod parts;
mod trust;

use crate::content::{self, Content, Document, EntityVisitor, Kind, LogEntry, Place};
use crate::derive;
use crate::memo::{Memo, Stamp, Stamper};
use api::item_bytes;
pub use api::{API_FILES, ApiFile, api_file, plans_files};
use parts::Parts;
pub use parts::{MonthView, listed_threads};
use trust::{TrustValue, trust_value};
pub use trust::{audit_file, audit_paths};

/// An entity as templates and the API see it: its fields, plus id, file, URL and body.
#[derive(Serialize)]
pub struct View<'a, T: Serialize> {
    pub id: &'a str,
    /// The source file, relative to the repository.
    pub path: &'a str,
    /// The page, relative to the site root.
    pub url: String,
    #[serde(flatten)]
    pub data: &'a T,
    /// The Markdown body (empty for YAML kinds).
    pub body: &'a str,
    /// The body as sanitised HTML.
    pub body_html: Arc<str>,
    /// The body's first paragraph as plain text.
    pub summary: Arc<str>,
}

/// The view of one document, its body rendered through the build's Markdown cache.
pub fn view<'a, T: Serialize>(doc: &'a Document<T>, dir: &str, input: &Input<'_>) -> View<'a, T> {
    let rendered = if doc.body.trim().is_empty() {
        super::markdown_cache::Rendered::default()
    } else {
        input
            .markdown
            .render_file(input.content.files.hash(doc.file()), &doc.body)
    };
    View {
        id: &doc.id,
        path: &doc.path,
        url: super::names::link(super::names::detail_page(dir, &doc.id)),
        data: &doc.data,
        body: &doc.body,
        body_html: rendered.html,
        summary: rendered.summary,
    }
}

/// A kind of entity as the context and the API name it: the context's map and the API's
/// `api/<name>.json`, and the directory of its pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entity {
    pub name: &'static str,
    pub kind: Kind,
    pub dir: &'static str,
}

/// Every kind of entity with pages, in the order of the context and the API: every kind
/// with one file per entity (not the single files: configuration, policy, overrides), in
/// the kind table's order, named and placed as the table says.
pub const ENTITIES: [Entity; entity_count()] = entities();

/// The entity a kind with a page per entity (one file per entity) is.
const fn entity_of(kind: Kind) -> Option<Entity> {
    if kind.page().is_none() {
        return None;
    }
    match kind.place() {
        Place::Dir { dir, .. } | Place::Months { dir } => Some(Entity {
            name: kind.name(),
            kind,
            dir,
        }),
        Place::File { .. } => None,
    }
}

const fn entity_count() -> usize {
    let mut count = 0;
    let mut index = 0;
    while index < Kind::COUNT {
        if entity_of(Kind::ALL[index]).is_some() {
            count += 1;
        }
        index += 1;
    }
    count
}

const fn entities() -> [Entity; entity_count()] {
    let mut out = [Entity {
        name: "",
        kind: Kind::Config,
        dir: "",
    }; entity_count()];
    let (mut index, mut next) = (0, 0);
    while index < Kind::COUNT {
        if let Some(entity) = entity_of(Kind::ALL[index]) {
            out[next] = entity;
            next += 1;
        }
        index += 1;
    }
    out
}

/// The documents of one kind, whatever their type, as the context and the API use them.
pub trait Docs: Sync {
    fn count(&self) -> usize;
    fn id(&self, index: usize) -> &str;
    /// The blake3 of the document's file: a view is a function of its file alone.
    fn hash(&self, index: usize, files: &crate::diag::Files) -> blake3::Hash;
    /// The document's view as a template value.
    fn value(&self, index: usize, dir: &str, input: &Input<'_>) -> tera::TeraResult<tera::Value>;
    /// The document's item of `api/<kind>.json`, as it stands in the file.
    fn item(&self, index: usize, dir: &str, input: &Input<'_>) -> Vec<u8>;
}

impl<T: Serialize + Sync> Docs for Vec<Document<T>> {
    fn count(&self) -> usize {
        self.len()
    }

    fn id(&self, index: usize) -> &str {
        self.get(index).map_or("", |d| d.id.as_str())
    }

    fn hash(&self, index: usize, files: &crate::diag::Files) -> blake3::Hash {
        self.get(index)
            .and_then(|d| files.hash(d.file()))
            .unwrap_or_else(|| blake3::hash(b""))
    }

    fn value(&self, index: usize, dir: &str, input: &Input<'_>) -> tera::TeraResult<tera::Value> {
        match self.get(index) {
            Some(doc) => tera::Value::try_from_serializable(&view(doc, dir, input)),
            None => Ok(tera::Value::none()),
        }
    }

    fn item(&self, index: usize, dir: &str, input: &Input<'_>) -> Vec<u8> {
        self.get(index)
            .map(|doc| item_bytes(&view(doc, dir, input)))
            .unwrap_or_default()
    }
}

/// The entity kind `kind`, if it has pages (see [`ENTITIES`]).
pub fn entity(kind: Kind) -> Option<&'static Entity> {
    ENTITIES.iter().find(|entity| entity.kind == kind)
}

static NO_DOCS: Vec<Document<content::News>> = Vec::new();

/// The documents of an entity kind (none for the kinds of one file, which have no
/// pages and are never asked for).
pub fn docs(content: &Content, kind: Kind) -> &dyn Docs {
    struct AsDocs;
    impl<'a> EntityVisitor<'a> for AsDocs {
        type Out = &'a dyn Docs;
        fn entities<T: Serialize + Sync + 'a>(self, docs: &'a Vec<Document<T>>) -> &'a dyn Docs {
            docs
        }
        fn single_file(self) -> &'a dyn Docs {
            &NO_DOCS
        }
    }
    content.visit_entities(kind, AsDocs)
}

#[derive(Serialize)]
pub struct SiteInfo<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub base_url: Option<&'a str>,
    pub preview: bool,
    pub generator: &'static str,
    /// The robots of the policy: their logbook entries are marked as robots'.
    pub robots: Vec<&'a str>,
    /// Every person, id → name: a name written anywhere links to its person's page
    /// (the `person` component).
    pub people: BTreeMap<&'a str, &'a str>,
}

/// Every person, id → name.
pub fn people(content: &Content) -> BTreeMap<&str, &str> {
    content
        .people
        .iter()
        .map(|p| (p.id.as_str(), p.data.name.as_str()))
        .collect()
}

/// The robots of the policy (`robot: true`), by name.
pub fn robots(content: &crate::content::Content) -> Vec<&str> {
    content.policy.as_ref().map_or_else(Vec::new, |policy| {
        policy
            .data
            .users
            .iter()
            .filter(|(_, user)| user.robot)
            .map(|(name, _)| name.as_str())
            .collect()
    })
}

/// The site's title, description and base URL, as templates see them.
pub fn site_info<'a>(input: &Input<'a>) -> SiteInfo<'a> {
    let config = input.content.config.as_ref().map(|c| &c.data);
    SiteInfo {
        robots: robots(input.content),
        people: people(input.content),
        title: config.map_or("glassroom", |c| c.title.as_str()),
        description: config.and_then(|c| c.description.as_deref()),
        base_url: config.and_then(|c| c.base_url.as_ref()).map(|u| u.as_str()),
        preview: input.preview,
        generator: concat!("glassroom ", env!("CARGO_PKG_VERSION")),
    }
}

/// One kind's map of views (id → view) as a template value, with the file hash behind
/// each entry (in document order) and the fingerprint of the kind's ids.
struct KindValue {
    ids: Stamp,
    hashes: Vec<blake3::Hash>,
    value: tera::Value,
}

/// One kind's API items, in document order, as the bytes they have in the file.
pub struct KindItems {
    ids: Stamp,
    hashes: Vec<blake3::Hash>,
    items: Vec<Bytes>,
}

/// A part of the context made of several values, or an error converting them.
type Made<T> = Result<T, String>;

/// The template values of earlier builds in this process, each with the stamp of what it
/// was made from. The default keeps nothing.
#[derive(Default)]
pub struct Values {
    entities: [Memo<Made<KindValue>>; ENTITIES.len()],
    items: [Memo<KindItems>; ENTITIES.len()],
    relations: [Memo<Made<tera::Value>>; derive::relations::JOINS.len()],
    parts: Parts,
    trust: Memo<Made<TrustValue>>,
}

impl Values {
    pub fn keeping() -> Self {
        Self {
            entities: std::array::from_fn(|_| Memo::keeping()),
            items: std::array::from_fn(|_| Memo::keeping()),
            relations: std::array::from_fn(|_| Memo::keeping()),
            parts: Parts::keeping(),
            trust: Memo::keeping(),
        }
    }

    /// How many entities it holds values of.
    #[cfg(test)]
    fn entities(&self) -> usize {
        self.entities
            .iter()
            .filter_map(|memo| memo.peek())
            .filter_map(|(_, made)| made.as_ref().as_ref().ok().map(|k| k.hashes.len()))
            .sum()
    }
}

/// The global context and what the render stage reads of it besides the templates.
pub struct Globals {
    pub context: tera::Context,
}

fn convert<T: Serialize + ?Sized>(value: &T) -> Made<tera::Value> {
    tera::Value::try_from_serializable(value).map_err(|err| err.to_string())
}

/// One top-level part of the context, made on its own so the big ones (tickets, the
/// logbook) are converted in parallel with the rest.
type Job<'j> = Box<dyn Fn() -> Made<Vec<(&'static str, tera::Value)>> + Sync + 'j>;

/// The global context of `input`: every part taken from `values` where its inputs are
/// unchanged, the others made again, in parallel.
pub fn globals(input: &Input<'_>, values: &Values) -> Made<Globals> {
    let content = input.content;
    let derived = input.derived;
    let stamps = &content.stamps;
    let dstamps = &derived.stamps;
    let mut jobs: Vec<Job<'_>> = Vec::new();
    for (entity, memo) in ENTITIES.iter().zip(&values.entities) {
        jobs.push(Box::new(move || {
            let made = memo
                .get(*stamps.files(entity.kind), |previous| {
                    entity_value(input, entity, previous.and_then(|p| p.as_ref().ok()))
                })
                .value;
            match &*made {
                Ok(kind) => Ok(vec![(entity.name, kind.value.clone())]),
                Err(err) => Err(err.clone()),
            }
        }));
    }
    jobs.push(Box::new(|| {
        let made = values
            .relations
            .par_iter()
            .zip(derive::relations::JOINS.par_iter())
            .map(|(memo, join)| {
                let mut stamp = Stamper::new(join.name);
                stamp.stamp(&dstamps.relation(join.name));
                let made = memo.get(stamp.finish(), |_| {
                    convert(&relation(&derived.relations, join.name))
                });
                (*made.value).clone().map(|value| (join.name, value))
            })
            .collect::<Made<Vec<_>>>()?;
        let mut map = tera::Map::new();
        for (name, value) in made {
            map.insert(tera::value::Key::String(Arc::from(name)), value);
        }
        Ok(vec![("relations", tera::Value::from(map))])
    }));
    jobs.extend(values.parts.jobs(input));
    jobs.push(Box::new(|| {
        let made = values
            .trust
            .get(input.trust_stamp, |previous| {
                trust_value(
                    input.trust,
                    input.left_out,
                    previous.and_then(|p| p.as_ref().ok()),
                )
            })
            .value;
        match &*made {
            Ok(trust) => Ok(vec![("trust", trust.value.clone())]),
            Err(err) => Err(err.clone()),
        }
    }));
    let parts = jobs.par_iter().map(|job| job()).collect::<Made<Vec<_>>>()?;
    let mut context = tera::Context::new();
    context.insert("now", &input.now);
    for (name, value) in parts.into_iter().flatten() {
        context.insert_value(name, value);
    }
    Ok(Globals { context })
}

/// News ids, newest first.
pub fn news_order(content: &Content) -> Vec<&str> {
    let mut news: Vec<&Document<content::News>> = content.news.iter().collect();
    news.sort_by(|a, b| {
        b.data
            .date
            .value
            .cmp(&a.data.date.value)
            .then(a.id.cmp(&b.id))
    });
    news.iter().map(|d| d.id.as_str()).collect()
}

/// Logbook ids, newest first.
pub fn logbook_order(content: &Content) -> Vec<&str> {
    let mut entries: Vec<&Document<LogEntry>> = content.logbook.iter().collect();
    entries.sort_by(|a, b| b.data.at.value.cmp(&a.data.at.value).then(a.id.cmp(&b.id)));
    entries.iter().map(|d| d.id.as_str()).collect()
}

/// One join of the relations, by field name.
fn relation<'r>(relations: &'r derive::Relations, name: &str) -> &'r derive::relations::Index {
    match name {
        "services_by_host" => &relations.services_by_host,
        "certificates_by_host" => &relations.certificates_by_host,
        "tickets_by_host" => &relations.tickets_by_host,
        "releases_by_module" => &relations.releases_by_module,
        "tickets_by_module" => &relations.tickets_by_module,
        "tickets_by_release" => &relations.tickets_by_release,
        "services_by_site" => &relations.services_by_site,
        "entries_by_procedure" => &relations.entries_by_procedure,
        "certificates_by_procedure" => &relations.certificates_by_procedure,
        "open_tickets_by_host" => &relations.open_tickets_by_host,
        "open_tickets_by_module" => &relations.open_tickets_by_module,
        "open_tickets_by_assignee" => &relations.open_tickets_by_assignee,
        "open_tickets_by_reporter" => &relations.open_tickets_by_reporter,
        "entries_by_person" => &relations.entries_by_person,
        _ => &relations.replies,
    }
}

/// The map of views of one kind as a template value: the previous value with only the
/// entries whose files changed converted again, when the kind has the same ids as then;
/// else every entry converted, in parallel.
fn entity_value(
    input: &Input<'_>,
    entity: &Entity,
    previous: Option<&KindValue>,
) -> Made<KindValue> {
    let docs = docs(input.content, entity.kind);
    let files = &input.content.files;
    let ids = *input.content.stamps.ids(entity.kind);
    let hashes: Vec<blake3::Hash> = (0..docs.count()).map(|i| docs.hash(i, files)).collect();
    let same_docs = previous.filter(|p| p.ids == ids && p.hashes.len() == hashes.len());
    if let Some((previous, map)) = same_docs.and_then(|p| Some((p, p.value.as_map()?))) {
        let mut patched: Option<tera::Map> = None;
        for (i, hash) in hashes.iter().enumerate() {
            if previous.hashes.get(i) == Some(hash) {
                continue;
            }
            let entries = patched.get_or_insert_with(|| map.clone());
            let key = tera::value::Key::String(Arc::from(docs.id(i)));
            if let Some(entry) = entries.get_mut(&key) {
                *entry = docs
                    .value(i, entity.dir, input)
                    .map_err(|err| err.to_string())?;
            }
        }
        let value = patched.map_or_else(|| previous.value.clone(), tera::Value::from);
        return Ok(KindValue { ids, hashes, value });
    }
    let entries = (0..docs.count())
        .into_par_iter()
        .map(|i| {
            docs.value(i, entity.dir, input)
                .map(|v| (docs.id(i).to_owned(), v))
        })
        .collect::<tera::TeraResult<Vec<_>>>()
        .map_err(|err| err.to_string())?;
    let value = tera::Value::from(
        entries
            .into_iter()
            .collect::<BTreeMap<String, tera::Value>>(),
    );
    Ok(KindValue { ids, hashes, value })
}

/// The API items of one kind, in document order: the previous items where the files are
/// unchanged (when the kind has the same ids as then), the others made again.
fn entity_items(input: &Input<'_>, entity: &Entity, previous: Option<&KindItems>) -> KindItems {
    let docs = docs(input.content, entity.kind);
    let files = &input.content.files;
    let ids = *input.content.stamps.ids(entity.kind);
    let hashes: Vec<blake3::Hash> = (0..docs.count()).map(|i| docs.hash(i, files)).collect();
    let previous = previous.filter(|p| p.ids == ids && p.hashes.len() == hashes.len());
    let items = (0..docs.count())
        .into_par_iter()
        .map(|i| match previous {
            Some(previous) if previous.hashes.get(i) == hashes.get(i) => previous
                .items
                .get(i)
                .cloned()
                .unwrap_or_else(|| Bytes::from(docs.item(i, entity.dir, input))),
            _ => Bytes::from(docs.item(i, entity.dir, input)),
        })
        .collect();
    KindItems { ids, hashes, items }
}

/// The link to the page of what `alert` is about: an entity's page, a file's audit
/// trail, or a page of the site's own.
pub fn alert_url(alert: &derive::Alert) -> Option<String> {
    let page = match alert.subject_kind {
        "file" if crate::trust::judge::is_clean_path(&alert.subject) => {
            super::names::audit_page(&alert.subject)
        }
        "file" => return None,
        // One of the site's own pages (the pending page, for problems counted by kind).
        "page" => format!("{}.html", alert.subject),
        kind => super::names::detail_page(section_dir(kind), &alert.subject),
    };
    Some(super::names::link(page))
}

/// The link to the page of the entity a due date is about.
pub fn due_url(item: &derive::DueItem) -> String {
    super::names::link(super::names::detail_page(
        section_dir(item.kind.subject_kind()),
        &item.subject,
    ))
}

/// The directory of the pages of an entity kind as alerts name it (`certificate`).
pub fn section_dir(kind: &str) -> &str {
    match kind {
        "certificate" => "certificates",
        "domain" => "domains",
        "procedure" => "procedures",
        "ticket" => "tickets",
        "release" => "releases",
        "host" => "hosts",
        "module" => "modules",
        other => other,
    }
}

#[cfg(test)]
mod tests;
