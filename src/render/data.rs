//! The data every template sees (tera's global context) and the JSON API.
//!
//! Each part of the context is a template value made from a few kinds of content or
//! derived data, kept in [`Values`] with the fingerprints of what it was made from: a
//! rebuild makes again only the parts whose inputs changed, and a changed kind of
//! entity is patched entity by entity (a changed ticket converts one ticket, not four
//! thousand). The API's items are kept the same way, as the bytes they have in the file.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bytes::Bytes;
use rayon::prelude::*;
use serde::Serialize;

use super::Input;
use super::charts::{self, Row};
use super::theme::human_duration;
use crate::content::types::Moment;
use crate::content::{self, Content, Document, Kind, LogEntry};
use crate::derive;
use crate::memo::{Memo, Stamp, Stamper};

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
#[derive(Debug, Clone, Copy)]
pub struct Entity {
    pub name: &'static str,
    pub kind: Kind,
    pub dir: &'static str,
}

/// Every kind of entity with pages, in the order of the context and the API.
pub const ENTITIES: [Entity; 13] = [
    Entity {
        name: "hosts",
        kind: Kind::Host,
        dir: "hosts",
    },
    Entity {
        name: "certificates",
        kind: Kind::Certificate,
        dir: "certificates",
    },
    Entity {
        name: "domains",
        kind: Kind::Domain,
        dir: "domains",
    },
    Entity {
        name: "modules",
        kind: Kind::Module,
        dir: "modules",
    },
    Entity {
        name: "releases",
        kind: Kind::Release,
        dir: "releases",
    },
    Entity {
        name: "procedures",
        kind: Kind::Procedure,
        dir: "procedures",
    },
    Entity {
        name: "logbook",
        kind: Kind::LogEntry,
        dir: "logbook",
    },
    Entity {
        name: "tickets",
        kind: Kind::Ticket,
        dir: "tickets",
    },
    Entity {
        name: "services",
        kind: Kind::Service,
        dir: "services",
    },
    Entity {
        name: "sites",
        kind: Kind::Site,
        dir: "sites",
    },
    Entity {
        name: "features",
        kind: Kind::Feature,
        dir: "flags/features",
    },
    Entity {
        name: "account_sets",
        kind: Kind::AccountSet,
        dir: "flags/account_sets",
    },
    Entity {
        name: "news",
        kind: Kind::News,
        dir: "news",
    },
];

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

/// The documents of an entity kind.
pub fn docs(content: &Content, kind: Kind) -> &dyn Docs {
    match kind {
        Kind::Host => &content.hosts,
        Kind::Certificate => &content.certificates,
        Kind::Domain => &content.domains,
        Kind::Module => &content.modules,
        Kind::Release => &content.releases,
        Kind::Procedure => &content.procedures,
        Kind::LogEntry => &content.logbook,
        Kind::Ticket => &content.tickets,
        Kind::Service => &content.services,
        Kind::Site => &content.sites,
        Kind::Feature => &content.features,
        Kind::AccountSet => &content.account_sets,
        Kind::News => &content.news,
        // Not entities with pages: never asked for.
        Kind::Config | Kind::Policy | Kind::Overrides => &NO_DOCS,
    }
}

#[derive(Serialize)]
pub struct SiteInfo<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub base_url: Option<&'a str>,
    pub preview: bool,
    pub generator: &'static str,
}

/// The site's title, description and base URL, as templates see them.
pub fn site_info<'a>(input: &Input<'a>) -> SiteInfo<'a> {
    let config = input.content.config.as_ref().map(|c| &c.data);
    SiteInfo {
        title: config.map_or("glassroom", |c| c.title.as_str()),
        description: config.and_then(|c| c.description.as_deref()),
        base_url: config.and_then(|c| c.base_url.as_ref()).map(|u| u.as_str()),
        preview: input.preview,
        generator: concat!("glassroom ", env!("CARGO_PKG_VERSION")),
    }
}

#[derive(Serialize)]
pub struct Charts {
    pub time_to_close_by_kind: String,
    pub time_to_close_by_priority: String,
    pub first_response_by_priority: String,
    pub time_to_close_by_module: String,
}

/// What templates see of the verified history.
#[derive(Serialize)]
pub struct TrustView<'a> {
    pub target: &'a str,
    pub trust_root: &'a str,
    pub root_source: crate::trust::history::RootSource,
    /// Every path with an audit trail: its page and events.
    pub files: BTreeMap<&'a str, AuditFile<'a>>,
    pub pending: &'a [crate::trust::history::Pending],
    /// The pending change of each path that has one, for a page to look up its own
    /// (looking through `pending` on every page would make the site quadratic).
    pub pending_by_path: BTreeMap<&'a str, &'a crate::trust::history::Pending>,
    pub refused: &'a [String],
    /// Pre-approved files left out because they have errors.
    pub left_out: &'a [crate::content::LeftOut],
}

#[derive(Serialize)]
pub struct AuditFile<'a> {
    pub url: String,
    pub approved_blob: Option<&'a String>,
    pub events: &'a [crate::trust::judge::Event],
}

/// The paths with an audit trail (and so a page).
pub fn audit_paths(report: &crate::trust::history::Report) -> impl Iterator<Item = &str> {
    report
        .events
        .keys()
        .filter(|path| crate::trust::judge::is_clean_path(path))
        .map(String::as_str)
}

/// What the context's `trust.files` holds of `path` (see [`TrustView::files`]).
pub fn audit_file<'c>(context: &'c tera::Context, path: &'c str) -> Option<&'c tera::Value> {
    use tera::value::Key;
    context
        .get("trust")?
        .as_map()?
        .get(&Key::Str("files"))?
        .as_map()?
        .get(&Key::Str(path))
}

pub fn trust_view<'r>(
    report: &'r crate::trust::history::Report,
    left_out: &'r [crate::content::LeftOut],
) -> TrustView<'r> {
    let mut view = trust_view_without_files(report, left_out);
    view.files = audit_paths(report)
        .filter_map(|path| Some((path, audit_file_view(report, path)?)))
        .collect();
    view
}

fn trust_view_without_files<'r>(
    report: &'r crate::trust::history::Report,
    left_out: &'r [crate::content::LeftOut],
) -> TrustView<'r> {
    TrustView {
        target: &report.target,
        trust_root: &report.trust_root,
        root_source: report.root_source,
        files: BTreeMap::new(),
        pending: &report.pending,
        pending_by_path: report
            .pending
            .iter()
            .map(|p| (p.path.as_str(), p))
            .collect(),
        refused: &report.refused,
        left_out,
    }
}

/// What `trust.files` holds of `path`: nothing unless it has an audit page.
fn audit_file_view<'r>(
    report: &'r crate::trust::history::Report,
    path: &str,
) -> Option<AuditFile<'r>> {
    if !crate::trust::judge::is_clean_path(path) {
        return None;
    }
    Some(AuditFile {
        url: audit_url(path),
        approved_blob: report.approved.get(path),
        events: report.events.get(path)?,
    })
}

/// The context's `trust` for `report`: the previous value's `files` with the entries of
/// the paths whose trails changed converted again (all of them the first time). A
/// commit changes a few trails of thousands.
fn trust_value(
    report: Option<&crate::trust::history::Report>,
    left_out: &[crate::content::LeftOut],
    previous: Option<&TrustValue>,
) -> Made<TrustValue> {
    use tera::value::Key;
    let Some(report) = report else {
        return Ok(TrustValue {
            trails: None,
            value: convert(&None::<TrustView<'_>>)?,
        });
    };
    let kept = previous.and_then(|p| {
        let files = p.value.as_map()?.get(&Key::Str("files"))?.as_map()?;
        Some((p.trails.as_ref()?, files))
    });
    let Some((kept_trails, kept_files)) = kept else {
        return Ok(TrustValue {
            trails: Some(Arc::clone(&report.trails)),
            value: convert(&trust_view(report, left_out))?,
        });
    };
    let mut files = kept_files.clone();
    for path in crate::memo::differing_keys(kept_trails, &report.trails) {
        let key = Key::String(Arc::from(path));
        match audit_file_view(report, path) {
            Some(file) => {
                let value = convert(&file)?;
                match files.get_mut(&key) {
                    Some(slot) => *slot = value,
                    // The map is in path order, as the full conversion makes it.
                    None => {
                        let at = files.binary_search_keys(&key).unwrap_or_else(|at| at);
                        files.shift_insert(at, key, value);
                    }
                }
            }
            None => {
                files.shift_remove(&key);
            }
        }
    }
    let mut value = convert(&trust_view_without_files(report, left_out))?;
    if let Some(map) = value.as_map() {
        let mut map = map.clone();
        map.insert(Key::Str("files"), tera::Value::from(files));
        value = tera::Value::from(map);
    }
    Ok(TrustValue {
        trails: Some(Arc::clone(&report.trails)),
        value,
    })
}

/// The link to the audit page of `path`, from the site root (see [`super::names`]).
pub fn audit_url(path: &str) -> String {
    super::names::link(super::names::audit_page(path))
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

/// The context's `trust`, and the trails of the report it shows.
struct TrustValue {
    trails: Option<crate::trust::history::Trails>,
    value: tera::Value,
}

/// A part of the context: `N` values made together from the same inputs.
type Part<const N: usize> = Memo<Made<[tera::Value; N]>>;

/// The parts of the context made from a few kinds of content or parts of the derived
/// data, each kept with the stamp of what it reads. The names each part gives its
/// values, what it reads and how they are made are written together, in [`Parts::jobs`].
#[derive(Default)]
struct Parts {
    site: Part<1>,
    news_order: Part<1>,
    logbook_order: Part<1>,
    overrides: Part<2>,
    feature_summaries: Part<1>,
    alerts: Part<3>,
    status: Part<1>,
    report: Part<2>,
    upcoming: Part<1>,
    plans: Part<1>,
    logbook: Part<4>,
    ticket_groups: Part<1>,
}

impl Parts {
    fn keeping() -> Self {
        Self {
            site: Memo::keeping(),
            news_order: Memo::keeping(),
            logbook_order: Memo::keeping(),
            overrides: Memo::keeping(),
            feature_summaries: Memo::keeping(),
            alerts: Memo::keeping(),
            status: Memo::keeping(),
            report: Memo::keeping(),
            upcoming: Memo::keeping(),
            plans: Memo::keeping(),
            logbook: Memo::keeping(),
            ticket_groups: Memo::keeping(),
        }
    }

    /// One job for each part: its values taken from its memo while what it reads is
    /// unchanged, else made again.
    fn jobs<'j>(&'j self, input: &'j Input<'_>) -> Vec<Job<'j>> {
        let content = input.content;
        let derived = input.derived;
        let dstamps = &derived.stamps;
        // The stamp of a part that reads the files of `kinds` and the derived `parts`.
        let reads = |name: &str, kinds: &[Kind], parts: &[&Stamp]| {
            let mut stamp = Stamper::new(name);
            content.stamps.add(&mut stamp, kinds);
            for part in parts {
                stamp.stamp(part);
            }
            stamp
        };
        let now = input.now.to_string();
        vec![
            part(
                &self.site,
                ["site"],
                reads("site", &[Kind::Config], &[])
                    .bytes(&[u8::from(input.preview)])
                    .finish(),
                move || Ok([convert(&site_info(input))?]),
            ),
            part(
                &self.news_order,
                ["news_order"],
                reads("news_order", &[Kind::News], &[]).finish(),
                move || Ok([convert(&news_order(content))?]),
            ),
            part(
                &self.logbook_order,
                ["logbook_order"],
                reads("logbook_order", &[Kind::LogEntry], &[]).finish(),
                move || Ok([convert(&logbook_order(content))?]),
            ),
            part(
                &self.overrides,
                ["overrides", "overrides_by_feature"],
                reads("overrides", &[], &[&dstamps.flags]).finish(),
                move || {
                    let flags = &derived.flags;
                    Ok([
                        convert(&flags.overrides)?,
                        convert(&flags.overrides_by_feature)?,
                    ])
                },
            ),
            part(
                &self.feature_summaries,
                ["feature_summaries"],
                reads("feature_summaries", &[], &[&dstamps.flags]).finish(),
                move || Ok([convert(&derived.flags.summaries)?]),
            ),
            part(
                &self.alerts,
                ["alerts", "alerts_by_subject", "alert_counts"],
                reads("alerts", &[], &[&dstamps.alerts]).finish(),
                move || {
                    let groups = &derived.alert_groups;
                    Ok([
                        convert(&alert_views(&derived.alerts))?,
                        convert(&alerts_by_subject(&groups.by_subject))?,
                        convert(&groups.counts)?,
                    ])
                },
            ),
            part(
                &self.status,
                ["status"],
                reads("status", &[], &[&dstamps.procedures]).finish(),
                move || Ok([convert(&*derived.procedures)?]),
            ),
            part(
                &self.report,
                ["report", "charts"],
                reads("report", &[], &[&dstamps.ticket_report]).finish(),
                move || {
                    let report = &derived.ticket_report;
                    Ok([convert(&**report)?, convert(&charts(report))?])
                },
            ),
            part(
                &self.upcoming,
                ["upcoming"],
                reads("upcoming", &[], &[&dstamps.upcoming])
                    .text(&now)
                    .finish(),
                move || {
                    let upcoming: Vec<Linked<'_, derive::DueItem>> = derived
                        .upcoming
                        .iter()
                        .filter(|d| d.when >= input.now)
                        .map(|item| Linked {
                            url: Some(due_url(item)),
                            item,
                        })
                        .collect();
                    Ok([convert(&upcoming)?])
                },
            ),
            part(
                &self.plans,
                ["plans"],
                reads("plans", &[], &[&dstamps.runbooks]).finish(),
                move || Ok([convert(&*derived.runbooks)?]),
            ),
            part(
                &self.logbook,
                ["threads", "attention", "thread_state", "months"],
                reads("logbook", &[], &[&dstamps.logbook]).finish(),
                move || {
                    let logbook = &derived.logbook;
                    // The threads someone has to act on, in the order of `threads`.
                    let attention: Vec<&derive::ThreadView> = logbook
                        .threads
                        .iter()
                        .filter(|t| t.needs_attention)
                        .collect();
                    let months: Vec<MonthView<'_>> =
                        logbook.months.iter().map(MonthView::of).collect();
                    Ok([
                        convert(&logbook.threads)?,
                        convert(&attention)?,
                        convert(&logbook.thread_state)?,
                        convert(&months)?,
                    ])
                },
            ),
            part(
                &self.ticket_groups,
                ["ticket_groups"],
                reads("ticket_groups", &[], &[&dstamps.ticket_groups]).finish(),
                move || Ok([convert(&*derived.ticket_groups)?]),
            ),
        ]
    }
}

/// The job of one part: `names` for its values, `stamp` of what it reads, `make` to make
/// them.
fn part<'j, const N: usize>(
    memo: &'j Part<N>,
    names: [&'static str; N],
    stamp: Stamp,
    make: impl Fn() -> Made<[tera::Value; N]> + Sync + 'j,
) -> Job<'j> {
    Box::new(move || {
        let made = memo.get(stamp, |_| make()).value;
        let values = made.as_ref().as_ref().map_err(Clone::clone)?;
        Ok(names.into_iter().zip(values.iter().cloned()).collect())
    })
}

/// A month of the logbook as templates see it: with the link to its page.
#[derive(Serialize)]
pub struct MonthView<'a> {
    pub month: &'a str,
    pub url: String,
    pub threads: &'a [derive::ThreadView],
    pub late_replies: &'a [String],
    pub entries: usize,
}

impl<'a> MonthView<'a> {
    pub fn of(month: &'a derive::Month) -> Self {
        Self {
            month: &month.month,
            url: month_url(&month.month),
            threads: &month.threads,
            late_replies: &month.late_replies,
            entries: month.entries,
        }
    }
}

/// The page of the month `month` (`2026-11`), from the site root.
pub fn month_url(month: &str) -> String {
    format!("logbook/months/{month}.html")
}

/// The alerts by subject as templates find them: `alerts_by_subject["<kind>/<id>"]`.
fn alerts_by_subject(
    by_subject: &derive::alerts::BySubject,
) -> BTreeMap<String, &Vec<derive::Alert>> {
    by_subject
        .iter()
        .flat_map(|(kind, subjects)| {
            subjects
                .iter()
                .map(move |(id, alerts)| (format!("{kind}/{id}"), alerts))
        })
        .collect()
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

/// An alert or a due date as templates see it: its fields and the link to the page of
/// what it is about, from the site root (none for a file without an audit page).
#[derive(Serialize)]
struct Linked<'a, T: Serialize> {
    #[serde(flatten)]
    item: &'a T,
    url: Option<String>,
}

fn alert_views(alerts: &[derive::Alert]) -> Vec<Linked<'_, derive::Alert>> {
    alerts
        .iter()
        .map(|alert| Linked {
            url: alert_url(alert),
            item: alert,
        })
        .collect()
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

fn charts(report: &derive::TicketReport) -> Charts {
    let chart = |title: &str,
                 rows: &[derive::Breakdown],
                 pick: fn(&derive::Breakdown) -> &derive::Stats| {
        let rows: Vec<Row<'_>> = rows
            .iter()
            .map(|b| Row {
                label: &b.key,
                values: [pick(b).mean_seconds, pick(b).median_seconds],
            })
            .collect();
        charts::bar_chart(title, ["mean", "median"], &rows, human_duration)
    };
    Charts {
        time_to_close_by_kind: chart("Time to close by kind", &report.by_kind, |b| {
            &b.time_to_close
        }),
        time_to_close_by_priority: chart("Time to close by priority", &report.by_priority, |b| {
            &b.time_to_close
        }),
        first_response_by_priority: chart(
            "Time to first response by priority",
            &report.by_priority,
            |b| &b.first_response,
        ),
        time_to_close_by_module: chart("Time to close by module", &report.by_module, |b| {
            &b.time_to_close
        }),
    }
}

/// The kinds of the JSON API, each a file `api/<kind>.json`: every entity kind, plus
/// alerts, procedure status and an index.
pub const API_KINDS: [&str; 17] = [
    "hosts",
    "certificates",
    "domains",
    "modules",
    "releases",
    "procedures",
    "logbook",
    "tickets",
    "services",
    "sites",
    "features",
    "account_sets",
    "news",
    "overrides",
    "alerts",
    "procedure_status",
    "index",
];

/// `api/<kind>.json`: the envelope `{schema, kind, generated, items}`, pretty-printed.
fn envelope<T: Serialize>(kind: &str, now: Moment, items: T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<'a, T: Serialize> {
        schema: u32,
        kind: &'a str,
        generated: Moment,
        items: T,
    }
    let envelope = Envelope {
        schema: 1,
        kind,
        generated: now,
        items,
    };
    serde_json::to_vec_pretty(&envelope).unwrap_or_default()
}

/// The parts of the same bytes as [`envelope`] `{schema, kind, generated, items}`, from
/// items already serialised at the items' indentation, each after its separator (see
/// [`item_bytes`]): the items are shared, not copied.
fn envelope_parts(kind: &str, now: Moment, items: &[Bytes]) -> Vec<Bytes> {
    let json = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let head = format!(
        "{{\n  \"schema\": 1,\n  \"kind\": {},\n  \"generated\": {},\n  \"items\": [",
        json(kind),
        json(&now.to_string())
    );
    let mut parts = Vec::with_capacity(items.len() + 2);
    parts.push(Bytes::from(head));
    if items.is_empty() {
        parts.push(Bytes::from_static(b"]\n}"));
        return parts;
    }
    for (i, item) in items.iter().enumerate() {
        // The first item has no comma before it.
        parts.push(if i == 0 {
            item.slice(1..)
        } else {
            item.clone()
        });
    }
    parts.push(Bytes::from_static(b"\n  ]\n}"));
    parts
}

/// One entity's item as it stands in `api/<kind>.json`, after the separator that goes
/// before every item but the first (`,` and a new line): pretty-printed, indented to the
/// depth of the envelope's `items`.
fn item_bytes<T: Serialize>(view: &View<'_, T>) -> Vec<u8> {
    let pretty = serde_json::to_vec_pretty(view).unwrap_or_default();
    // JSON strings escape their newlines: every raw newline is the printer's own.
    let mut out = Vec::with_capacity(pretty.len() + pretty.len() / 8 + 8);
    out.extend_from_slice(b",");
    for line in pretty.split(|b| *b == b'\n') {
        out.extend_from_slice(b"\n    ");
        out.extend_from_slice(line);
    }
    out
}

/// `api/<kind>.json` for the API kind `kind` (see [`API_KINDS`]); entity kinds from the
/// items `values` kept, made again only for files that changed, in parts.
pub fn api_file(input: &Input<'_>, values: &Values, kind: &str) -> super::File {
    let now = input.now;
    let content = input.content;
    if let Some((entity, memo)) = ENTITIES
        .iter()
        .zip(&values.items)
        .find(|(entity, _)| entity.name == kind)
    {
        let items = memo
            .get(*content.stamps.files(entity.kind), |previous| {
                entity_items(input, entity, previous)
            })
            .value;
        return super::File::Parts(envelope_parts(kind, now, &items.items));
    }
    super::File::Whole(match kind {
        "overrides" => envelope(kind, now, &input.derived.flags.overrides),
        "alerts" => envelope(kind, now, &*input.derived.alerts),
        "procedure_status" => envelope(
            kind,
            now,
            input.derived.procedures.values().collect::<Vec<_>>(),
        ),
        _ => {
            let kinds: BTreeSet<String> = API_KINDS
                .iter()
                .filter(|k| **k != "index")
                .map(|k| format!("api/{k}.json"))
                .collect();
            envelope("index", now, kinds)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> crate::source::Tree {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
        crate::source::read_dir(&root).unwrap_or_default()
    }

    /// The context and API files of `tree` made with `values`.
    fn made(tree: &crate::source::Tree, values: &Values) -> (tera::Context, Vec<Vec<u8>>) {
        let loaded = content::load(tree);
        assert!(!loaded.diagnostics.has_errors());
        let now: Moment = "2026-11-22T00:00:00Z".parse().expect("a moment");
        let derived = derive::derive(&loaded.content, now);
        let markdown = crate::render::markdown_cache::Cache::new();
        let memos = crate::render::Memos::default();
        let input = Input {
            tree,
            content: &loaded.content,
            derived: &derived,
            now,
            preview: false,
            trust: None,
            left_out: &[],
            trust_stamp: [0; 32],
            markdown: &markdown,
            memos: &memos,
            complete: true,
        };
        let globals = globals(&input, values).unwrap_or_else(|err| panic!("{err}"));
        let api = API_KINDS
            .iter()
            .map(|kind| api_file(&input, values, kind).into_bytes())
            .collect();
        (globals.context, api)
    }

    #[test]
    fn kept_values_and_items_equal_fresh_ones_after_an_edit() {
        let mut tree = example();
        let fresh = || Values::default();
        let kept = Values::keeping();
        let first = made(&tree, &kept);
        assert_eq!(first, made(&tree, &fresh()));
        assert!(kept.entities() > 100, "values kept: {}", kept.entities());
        assert!(first.0.get("tickets").is_some() && first.0.get("alerts").is_some());
        // Nothing changed: taken as they are.
        assert_eq!(made(&tree, &kept), first);
        // One ticket changed (a quote and a newline in its title) and one added.
        let (path, text) = tree
            .iter()
            .find(|(p, _)| p.starts_with("tickets/"))
            .map(|(p, b)| (p.to_owned(), String::from_utf8_lossy(b).into_owned()))
            .unwrap_or_default();
        tree.insert(
            path,
            text.replace("\ntitle: ", "\ntitle: Changed \\\"quoted\\\"\n  line "),
        );
        let changed = made(&tree, &kept);
        assert_eq!(changed, made(&tree, &fresh()));
        assert_ne!(changed, first);
        tree.insert("tickets/0-added.md".to_owned(), text.into_bytes());
        assert_eq!(made(&tree, &kept), made(&tree, &fresh()));
        // The parts make the bytes of the envelope serialised whole, with no items too.
        let now: Moment = "2026-11-22T00:00:00Z".parse().expect("a moment");
        let joined = |parts: Vec<Bytes>| parts.concat();
        assert_eq!(
            joined(envelope_parts("news", now, &[])),
            envelope("news", now, Vec::<u8>::new())
        );
        let items = [
            serde_json::json!({"a": 1, "b": [1, 2]}),
            serde_json::json!("x"),
        ];
        let parts: Vec<Bytes> = items
            .iter()
            .map(|item| {
                let pretty = serde_json::to_vec_pretty(item).unwrap_or_default();
                let mut out = b",".to_vec();
                for line in pretty.split(|b| *b == b'\n') {
                    out.extend_from_slice(b"\n    ");
                    out.extend_from_slice(line);
                }
                Bytes::from(out)
            })
            .collect();
        assert_eq!(
            joined(envelope_parts("news", now, &parts)),
            envelope("news", now, &items)
        );
    }
}
