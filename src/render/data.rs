//! The data every template sees (tera's global context) and the JSON API, computed once
//! per build: entity views with rendered Markdown, groupings and charts.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;

use super::Input;
use super::charts::{self, Row};
use super::markdown_cache;
use super::theme::human_duration;
use crate::content::types::{FlagType, FlagValue, Moment};
use crate::content::{self, Content, Document, LogEntry, Ticket};
use crate::derive::{self, Derived, Operation, Plan};

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
    pub body_html: std::sync::Arc<str>,
    /// The body's first paragraph as plain text.
    pub summary: std::sync::Arc<str>,
    /// The blake3 of the source file: a view is a function of its file alone.
    #[serde(skip)]
    pub hash: Option<blake3::Hash>,
}

impl<T: Serialize> View<'_, T> {
    /// The hash of the file the view was made from, as the tree has it.
    fn file_hash(&self, tree: &crate::source::Tree) -> Option<blake3::Hash> {
        self.hash.or_else(|| tree.hash(self.path))
    }
}

fn views<'a, T: Serialize + Sync>(
    docs: &'a [Document<T>],
    dir: &str,
    input: &Input<'_>,
) -> BTreeMap<&'a str, View<'a, T>> {
    let markdown = input.markdown;
    docs.par_iter()
        .map(|doc| {
            let rendered = if doc.body.trim().is_empty() {
                markdown_cache::Rendered::default()
            } else {
                markdown.render_file(input.content.files.hash(doc.file()), &doc.body)
            };
            let view = View {
                id: &doc.id,
                path: &doc.path,
                url: format!("{dir}/{}.html", doc.id),
                data: &doc.data,
                body: &doc.body,
                body_html: rendered.html,
                summary: rendered.summary,
                hash: input.content.files.hash(doc.file()),
            };
            (doc.id.as_str(), view)
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect()
}

#[derive(Serialize)]
pub struct SiteInfo<'a> {
    pub title: &'a str,
    pub description: Option<&'a str>,
    pub base_url: Option<&'a str>,
    pub preview: bool,
    pub generator: &'static str,
}

/// Tickets grouped for the ticket lists: key → ticket ids (sorted by priority, then id).
#[derive(Serialize, Default)]
pub struct TicketGroups {
    pub open: Vec<String>,
    pub closed: Vec<String>,
    pub open_by_module: BTreeMap<String, Vec<String>>,
    pub open_by_priority: Vec<(String, Vec<String>)>,
    pub open_by_assignee: BTreeMap<String, Vec<String>>,
}

/// One month of the logbook: its threads (by root entry in this month) and the replies
/// written this month to threads that started earlier.
#[derive(Serialize)]
pub struct Month {
    /// `2026-11`
    pub month: String,
    pub url: String,
    pub threads: Vec<ThreadView>,
    pub late_replies: Vec<String>,
    pub entries: usize,
}

/// A thread as displayed: entries in order with their reply depth.
#[derive(Serialize, Clone)]
pub struct ThreadView {
    pub root: String,
    pub state: derive::ThreadState,
    pub needs_attention: bool,
    pub last_at: Moment,
    pub entries: Vec<(String, usize)>,
}

/// One row of the overrides table.
#[derive(Serialize)]
pub struct OverrideRow<'a> {
    pub account: &'a str,
    pub feature: &'a str,
    pub value: &'a FlagValue,
}

/// A feature with what decides its value, for the flag overview.
#[derive(Serialize)]
pub struct FeatureSummary {
    pub value_type: FlagType,
    pub account_sets: Vec<(String, FlagValue)>,
    pub overrides: usize,
}

#[derive(Serialize)]
pub struct Charts {
    pub time_to_close_by_kind: String,
    pub time_to_close_by_priority: String,
    pub first_response_by_priority: String,
    pub time_to_close_by_module: String,
}

/// Everything in the global template context.
#[derive(Serialize)]
pub struct SiteData<'a> {
    pub site: SiteInfo<'a>,
    pub now: Moment,
    pub hosts: BTreeMap<&'a str, View<'a, content::Host>>,
    pub certificates: BTreeMap<&'a str, View<'a, content::Certificate>>,
    pub domains: BTreeMap<&'a str, View<'a, content::Domain>>,
    pub modules: BTreeMap<&'a str, View<'a, content::Module>>,
    pub releases: BTreeMap<&'a str, View<'a, content::Release>>,
    pub procedures: BTreeMap<&'a str, View<'a, content::Procedure>>,
    pub logbook: BTreeMap<&'a str, View<'a, LogEntry>>,
    pub tickets: BTreeMap<&'a str, View<'a, Ticket>>,
    pub services: BTreeMap<&'a str, View<'a, content::Service>>,
    pub sites: BTreeMap<&'a str, View<'a, content::Site>>,
    pub features: BTreeMap<&'a str, View<'a, content::Feature>>,
    pub account_sets: BTreeMap<&'a str, View<'a, content::AccountSet>>,
    pub news: BTreeMap<&'a str, View<'a, content::News>>,
    /// News ids, newest first.
    pub news_order: Vec<&'a str>,
    /// Logbook ids, newest first.
    pub logbook_order: Vec<&'a str>,
    pub overrides: Vec<OverrideRow<'a>>,
    /// Feature → (account, value) of its overrides.
    pub overrides_by_feature: BTreeMap<&'a str, Vec<(&'a str, &'a FlagValue)>>,
    pub feature_summaries: BTreeMap<&'a str, FeatureSummary>,
    pub alerts: &'a [derive::Alert],
    /// `"<subject_kind>/<subject>"` (e.g. `certificate/api-example-com`) → its alerts, so a
    /// page finds its own alerts without scanning them all.
    pub alerts_by_subject: BTreeMap<String, Vec<&'a derive::Alert>>,
    pub alert_counts: BTreeMap<&'static str, usize>,
    pub status: &'a BTreeMap<String, derive::ProcedureStatus>,
    pub threads: Vec<ThreadView>,
    /// Root entry id → its thread's state, for threads with replies.
    pub thread_state: BTreeMap<String, derive::ThreadState>,
    pub months: Vec<Month>,
    pub report: &'a derive::TicketReport,
    pub charts: Charts,
    pub ticket_groups: TicketGroups,
    /// Due dates from now on, earliest first.
    pub upcoming: Vec<&'a derive::DueItem>,
    pub relations: &'a derive::Relations,
    /// Site id → operation → plan.
    pub plans: BTreeMap<&'a str, BTreeMap<&'static str, Plan>>,
    /// The verified history, when the site is built from an approved tree.
    pub trust: Option<TrustView<'a>>,
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
    pub refused: &'a [String],
}

#[derive(Serialize)]
pub struct AuditFile<'a> {
    pub url: String,
    pub approved_blob: Option<&'a String>,
    pub events: &'a [crate::trust::judge::Event],
}

fn trust_view<'a>(report: &'a crate::trust::history::Report) -> TrustView<'a> {
    let files = report
        .events
        .iter()
        .filter(|(path, _)| crate::trust::judge::is_clean_path(path))
        .map(|(path, events)| {
            (
                path.as_str(),
                AuditFile {
                    url: audit_url(path),
                    approved_blob: report.approved.get(path),
                    events,
                },
            )
        })
        .collect();
    TrustView {
        target: &report.target,
        trust_root: &report.trust_root,
        root_source: report.root_source,
        files,
        pending: &report.pending,
        refused: &report.refused,
    }
}

/// `hosts/web1.yaml` → `audit/hosts/web1.yaml.html`.
pub fn audit_url(path: &str) -> String {
    format!("audit/{path}.html")
}

/// One top-level value of the global context, converted on its own so the conversions of
/// the big collections (tickets, logbook) run in parallel.
type ContextJob<'d> = (
    &'static str,
    Box<dyn Fn() -> tera::TeraResult<tera::Value> + Sync + 'd>,
);

macro_rules! context_jobs {
    ($data:ident, $tree:ident, $cache:ident: maps: $($map:ident),* ; values: $($field:ident),* $(,)?) => {{
        // Destructured so that a new field that is not listed here does not compile.
        let SiteData { $($map,)* $($field),* } = $data;
        let (tree, cache) = ($tree, $cache);
        vec![
            $((
                stringify!($map),
                Box::new(move || map_value(stringify!($map), $map, tree, cache))
                    as Box<dyn Fn() -> tera::TeraResult<tera::Value> + Sync>,
            ),)*
            $((
                stringify!($field),
                Box::new(move || tera::Value::try_from_serializable($field))
                    as Box<dyn Fn() -> tera::TeraResult<tera::Value> + Sync>,
            ),)*
        ]
    }};
}

/// Entity views made into template values by earlier builds in this process (the
/// preview server), by kind, with the hash of the file each entity came from. A view is
/// a function of its file alone (its fields, body and rendered body), so when no file of
/// a kind changed, the kind's value is taken as it is (a pointer copy); when some did,
/// the previous value is copied and only their entries converted again. The default
/// cache keeps nothing.
///
/// It keeps each entity's item of `api/<kind>.json` the same way, as the bytes it has in
/// the file: a file whose kind changed is made again from the kept items and the few
/// changed ones.
#[derive(Default)]
pub struct ValueCache {
    keep: bool,
    kinds: Mutex<HashMap<&'static str, KindValue>>,
    items: Mutex<HashMap<&'static str, KindItems>>,
}

/// One kind's API items as JSON (indented as in the file), by id, with the hash of the
/// file each came from.
type KindItems = HashMap<String, (blake3::Hash, std::sync::Arc<[u8]>)>;

/// One kind's map of views as a template value, and the file hash behind each entry.
struct KindValue {
    hashes: HashMap<String, blake3::Hash>,
    value: tera::Value,
}

impl ValueCache {
    /// A cache that keeps each build's values for the next one.
    pub fn keeping() -> Self {
        Self {
            keep: true,
            kinds: Mutex::default(),
            items: Mutex::default(),
        }
    }

    fn take_items(&self, kind: &'static str) -> KindItems {
        if !self.keep {
            return KindItems::new();
        }
        self.items
            .lock()
            .ok()
            .and_then(|mut kinds| kinds.remove(kind))
            .unwrap_or_default()
    }

    fn put_items(&self, kind: &'static str, items: KindItems) {
        if let Ok(mut kinds) = self.items.lock() {
            kinds.insert(kind, items);
        }
    }

    fn take(&self, kind: &'static str) -> Option<KindValue> {
        if !self.keep {
            return None;
        }
        self.kinds
            .lock()
            .ok()
            .and_then(|mut kinds| kinds.remove(kind))
    }

    fn put(&self, kind: &'static str, value: KindValue) {
        if let Ok(mut kinds) = self.kinds.lock() {
            kinds.insert(kind, value);
        }
    }

    /// How many entities it holds values of.
    #[cfg(test)]
    fn entities(&self) -> usize {
        self.kinds
            .lock()
            .map_or(0, |kinds| kinds.values().map(|k| k.hashes.len()).sum())
    }
}

/// A map of entity views as a tera value, its entries converted in parallel: equal to
/// `Value::try_from_serializable(map)`, which converts the thousands of tickets one by one.
/// What `cache` holds of the kind is used as far as the files are unchanged.
fn map_value<T: Serialize + Sync>(
    kind: &'static str,
    map: &BTreeMap<&str, View<'_, T>>,
    tree: &crate::source::Tree,
    cache: &ValueCache,
) -> tera::TeraResult<tera::Value> {
    if !cache.keep {
        return map_value_afresh(map);
    }
    let known = cache.take(kind);
    let hashes: HashMap<String, blake3::Hash> = map
        .par_iter()
        .filter_map(|(id, view)| view.file_hash(tree).map(|hash| ((*id).to_owned(), hash)))
        .collect();
    let same_ids = |known: &KindValue| {
        hashes.len() == map.len()
            && known.hashes.len() == map.len()
            && hashes.keys().all(|id| known.hashes.contains_key(id))
    };
    let previous = known
        .as_ref()
        .filter(|known| same_ids(known))
        .and_then(|known| Some((known, known.value.as_map()?)));
    let value = match previous {
        Some((known, previous)) => {
            let changed: Vec<&str> = map
                .keys()
                .copied()
                .filter(|id| hashes.get(*id) != known.hashes.get(*id))
                .collect();
            if changed.is_empty() {
                known.value.clone()
            } else {
                // The same entities in the same order: copy the previous map (pointers)
                // and replace the entries whose files changed.
                let mut patched: tera::Map = previous.clone();
                for id in changed {
                    let Some(view) = map.get(id) else { continue };
                    let key = tera::value::Key::String(std::sync::Arc::from(id));
                    if let Some(entry) = patched.get_mut(&key) {
                        *entry = tera::Value::try_from_serializable(view)?;
                    }
                }
                tera::Value::from(patched)
            }
        }
        None => map_value_afresh(map)?,
    };
    cache.put(
        kind,
        KindValue {
            hashes,
            value: value.clone(),
        },
    );
    Ok(value)
}

/// Every entry converted, in parallel.
fn map_value_afresh<T: Serialize + Sync>(
    map: &BTreeMap<&str, View<'_, T>>,
) -> tera::TeraResult<tera::Value> {
    let entries = map
        .par_iter()
        .map(|(id, view)| tera::Value::try_from_serializable(view).map(|v| ((*id).to_owned(), v)))
        .collect::<tera::TeraResult<Vec<_>>>()?;
    Ok(tera::Value::from(
        entries
            .into_iter()
            .collect::<BTreeMap<String, tera::Value>>(),
    ))
}

impl SiteData<'_> {
    /// tera's global context: every field of the site data under its own name. The same
    /// as `Context::from_serialize(self)`, converted field by field (and entity by
    /// entity) in parallel, entities unchanged since a build that filled `cache` taken
    /// from it (`tree` tells which).
    pub fn to_context(
        &self,
        tree: &crate::source::Tree,
        cache: &ValueCache,
    ) -> tera::TeraResult<tera::Context> {
        let jobs: Vec<ContextJob<'_>> = context_jobs!(self, tree, cache:
            maps: hosts, certificates, domains, modules, releases, procedures, logbook, tickets,
                services, sites, features, account_sets, news;
            values: site, now, news_order, logbook_order, overrides, overrides_by_feature,
                feature_summaries, alerts, alerts_by_subject, alert_counts, status, threads,
                thread_state, months, report, charts, ticket_groups, upcoming, relations, plans,
                trust,
        );
        let values = jobs
            .par_iter()
            .map(|(name, job)| job().map(|value| (*name, value)))
            .collect::<tera::TeraResult<Vec<_>>>()?;
        let mut context = tera::Context::new();
        for (name, value) in values {
            context.insert_value(name, value);
        }
        Ok(context)
    }
}

impl<'a> SiteData<'a> {
    pub fn new(input: &'a Input<'a>) -> Self {
        let content = input.content;
        let derived = input.derived;
        let config = content.config.as_ref().map(|c| &c.data);
        let mut news_order: Vec<&Document<content::News>> = content.news.iter().collect();
        news_order.sort_by(|a, b| {
            b.data
                .date
                .value
                .cmp(&a.data.date.value)
                .then(a.id.cmp(&b.id))
        });
        let mut logbook_order: Vec<&Document<LogEntry>> = content.logbook.iter().collect();
        logbook_order.sort_by(|a, b| b.data.at.value.cmp(&a.data.at.value).then(a.id.cmp(&b.id)));
        let threads = thread_views(content, derived);
        SiteData {
            site: SiteInfo {
                title: config.map_or("glassroom", |c| c.title.as_str()),
                description: config.and_then(|c| c.description.as_deref()),
                base_url: config.and_then(|c| c.base_url.as_ref()).map(|u| u.as_str()),
                preview: input.preview,
                generator: concat!("glassroom ", env!("CARGO_PKG_VERSION")),
            },
            now: input.now,
            hosts: views(&content.hosts, "hosts", input),
            certificates: views(&content.certificates, "certificates", input),
            domains: views(&content.domains, "domains", input),
            modules: views(&content.modules, "modules", input),
            releases: views(&content.releases, "releases", input),
            procedures: views(&content.procedures, "procedures", input),
            logbook: views(&content.logbook, "logbook", input),
            tickets: views(&content.tickets, "tickets", input),
            services: views(&content.services, "services", input),
            sites: views(&content.sites, "sites", input),
            features: views(&content.features, "flags/features", input),
            account_sets: views(&content.account_sets, "flags/account_sets", input),
            news: views(&content.news, "news", input),
            news_order: news_order.iter().map(|d| d.id.as_str()).collect(),
            logbook_order: logbook_order.iter().map(|d| d.id.as_str()).collect(),
            overrides_by_feature: overrides_by_feature(&override_rows(content)),
            overrides: override_rows(content),
            feature_summaries: feature_summaries(content),
            alerts: &derived.alerts,
            alerts_by_subject: alerts_by_subject(&derived.alerts),
            alert_counts: alert_counts(&derived.alerts),
            status: &derived.procedures,
            months: months(content, &threads),
            thread_state: threads
                .iter()
                .filter(|t| t.entries.len() > 1)
                .map(|t| (t.root.clone(), t.state))
                .collect(),
            threads,
            report: &derived.ticket_report,
            charts: charts(&derived.ticket_report),
            ticket_groups: ticket_groups(content),
            upcoming: derived
                .upcoming
                .iter()
                .filter(|d| d.when >= input.now)
                .collect(),
            relations: &derived.relations,
            plans: plans(content),
            trust: input.trust.map(trust_view),
        }
    }
}

fn alerts_by_subject(alerts: &[derive::Alert]) -> BTreeMap<String, Vec<&derive::Alert>> {
    let mut map: BTreeMap<String, Vec<&derive::Alert>> = BTreeMap::new();
    for alert in alerts {
        map.entry(format!("{}/{}", alert.subject_kind, alert.subject))
            .or_default()
            .push(alert);
    }
    map
}

fn alert_counts(alerts: &[derive::Alert]) -> BTreeMap<&'static str, usize> {
    let mut counts = BTreeMap::from([("critical", 0), ("warning", 0), ("info", 0)]);
    for alert in alerts {
        let key = match alert.severity {
            derive::Severity::Critical => "critical",
            derive::Severity::Warning => "warning",
            derive::Severity::Info => "info",
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn thread_views(content: &Content, derived: &Derived) -> Vec<ThreadView> {
    let parents: BTreeMap<&str, &str> = content
        .logbook
        .iter()
        .filter_map(|e| {
            e.data
                .reply_to
                .as_ref()
                .map(|p| (e.id.as_str(), p.as_str()))
        })
        .collect();
    let depth = |id: &str| {
        let mut depth = 0;
        let mut current = id;
        while let Some(parent) = parents.get(current) {
            depth += 1;
            current = parent;
            if depth > parents.len() {
                break;
            }
        }
        depth
    };
    derived
        .threads
        .iter()
        .map(|t| ThreadView {
            root: t.root.clone(),
            state: t.state,
            needs_attention: t.needs_attention,
            last_at: t.last_at,
            entries: t.entries.iter().map(|id| (id.clone(), depth(id))).collect(),
        })
        .collect()
}

/// A month as (year, month), which sorts like its `YYYY-MM` name.
type MonthKey = (i16, i8);

fn month_of(moment: Moment) -> MonthKey {
    let date = moment.date().0;
    (date.year(), date.month())
}

fn months(content: &Content, threads: &[ThreadView]) -> Vec<Month> {
    let at: HashMap<&str, Moment> = content
        .logbook
        .iter()
        .map(|e| (e.id.as_str(), e.data.at.value))
        .collect();
    let mut by_month: BTreeMap<MonthKey, (Vec<ThreadView>, Vec<String>, usize)> = BTreeMap::new();
    for entry in &content.logbook {
        by_month.entry(month_of(entry.data.at.value)).or_default().2 += 1;
    }
    for thread in threads {
        let Some(root_at) = at.get(thread.root.as_str()) else {
            continue;
        };
        let root_month = month_of(*root_at);
        for (id, _) in thread.entries.iter().skip(1) {
            if let Some(when) = at.get(id.as_str()) {
                let month = month_of(*when);
                if month != root_month {
                    by_month.entry(month).or_default().1.push(id.clone());
                }
            }
        }
        by_month
            .entry(root_month)
            .or_default()
            .0
            .push(thread.clone());
    }
    by_month
        .into_iter()
        .rev()
        .map(|((year, number), (mut threads, late_replies, entries))| {
            threads.sort_by(|a, b| {
                let when = |t: &ThreadView| at.get(t.root.as_str()).copied();
                when(a).cmp(&when(b)).then_with(|| a.root.cmp(&b.root))
            });
            let month = format!("{year:04}-{number:02}");
            Month {
                url: format!("logbook/months/{month}.html"),
                month,
                threads,
                late_replies,
                entries,
            }
        })
        .collect()
}

fn override_rows(content: &Content) -> Vec<OverrideRow<'_>> {
    let Some(overrides) = &content.overrides else {
        return Vec::new();
    };
    overrides
        .data
        .iter()
        .flat_map(|(account, features)| {
            features.iter().map(move |(feature, value)| OverrideRow {
                account: account.as_str(),
                feature: feature.as_str(),
                value: &value.value,
            })
        })
        .collect()
}

fn feature_summaries(content: &Content) -> BTreeMap<&str, FeatureSummary> {
    // One pass over the sets and overrides, not one per feature.
    let mut sets: BTreeMap<&str, Vec<(String, FlagValue)>> = BTreeMap::new();
    for set in &content.account_sets {
        for (feature, value) in &set.data.features {
            sets.entry(feature.as_str())
                .or_default()
                .push((set.id.clone(), value.value.clone()));
        }
    }
    let mut overrides: BTreeMap<&str, usize> = BTreeMap::new();
    if let Some(o) = &content.overrides {
        for features in o.data.values() {
            for feature in features.keys() {
                *overrides.entry(feature.as_str()).or_default() += 1;
            }
        }
    }
    content
        .features
        .iter()
        .map(|feature| {
            let value_type = feature
                .data
                .default
                .as_ref()
                .map_or(FlagType::Boolean, |d| d.flag_type());
            (
                feature.id.as_str(),
                FeatureSummary {
                    value_type,
                    account_sets: sets.remove(feature.id.as_str()).unwrap_or_default(),
                    overrides: overrides.get(feature.id.as_str()).copied().unwrap_or(0),
                },
            )
        })
        .collect()
}

/// Feature → its overrides, so a feature's page does not scan them all.
fn overrides_by_feature<'a>(
    rows: &[OverrideRow<'a>],
) -> BTreeMap<&'a str, Vec<(&'a str, &'a FlagValue)>> {
    let mut map: BTreeMap<&str, Vec<(&str, &FlagValue)>> = BTreeMap::new();
    for row in rows {
        map.entry(row.feature)
            .or_default()
            .push((row.account, row.value));
    }
    map
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

fn ticket_groups(content: &Content) -> TicketGroups {
    let mut tickets: Vec<&Document<Ticket>> = content.tickets.iter().collect();
    // Most urgent first, then oldest.
    tickets.sort_by(|a, b| {
        b.data
            .priority
            .cmp(&a.data.priority)
            .then(a.data.opened.value.cmp(&b.data.opened.value))
            .then(a.id.cmp(&b.id))
    });
    let mut groups = TicketGroups::default();
    let mut by_priority: BTreeMap<content::Priority, Vec<String>> = BTreeMap::new();
    for ticket in tickets {
        let id = ticket.id.clone();
        if !ticket.data.status.value.is_open() {
            groups.closed.push(id);
            continue;
        }
        groups.open.push(id.clone());
        let module = ticket.data.module.as_ref().map_or("(none)", |m| m.as_str());
        groups
            .open_by_module
            .entry(module.to_owned())
            .or_default()
            .push(id.clone());
        let assignee = ticket.data.assignee.as_deref().unwrap_or("(unassigned)");
        groups
            .open_by_assignee
            .entry(assignee.to_owned())
            .or_default()
            .push(id.clone());
        by_priority
            .entry(ticket.data.priority)
            .or_default()
            .push(id);
    }
    groups.open_by_priority = by_priority
        .into_iter()
        .rev()
        .map(|(priority, ids)| (priority_name(priority).to_owned(), ids))
        .collect();
    groups
}

fn priority_name(priority: content::Priority) -> &'static str {
    match priority {
        content::Priority::Low => "low",
        content::Priority::Normal => "normal",
        content::Priority::High => "high",
        content::Priority::Critical => "critical",
    }
}

fn plans(content: &Content) -> BTreeMap<&str, BTreeMap<&'static str, Plan>> {
    let operations = [
        ("stop", Operation::Stop),
        ("start", Operation::Start),
        ("status", Operation::Status),
        ("update", Operation::Update),
    ];
    content
        .sites
        .iter()
        .map(|site| {
            let by_operation = operations
                .iter()
                .filter_map(|(name, op)| {
                    derive::plan(content, &site.id, *op)
                        .ok()
                        .map(|p| (*name, p))
                })
                .collect();
            (site.id.as_str(), by_operation)
        })
        .collect()
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

/// The JSON API: `api/<kind>.json` for every kind `wanted` says yes to (a rebuild
/// skips files whose inputs did not change), made in parallel.
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

/// The same bytes as [`envelope`] `{schema, kind,
/// generated, items}`, from items already serialised at the items' indentation.
fn envelope_with_items<'i>(
    kind: &str,
    now: Moment,
    items: impl ExactSizeIterator<Item = &'i [u8]> + Clone,
) -> Vec<u8> {
    let json = |text: &str| serde_json::to_string(text).unwrap_or_default();
    // Sized once: the tickets file alone is megabytes.
    let size = items.clone().map(|item| item.len() + 6).sum::<usize>() + 256;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(b"{\n  \"schema\": 1,\n  \"kind\": ");
    out.extend_from_slice(json(kind).as_bytes());
    out.extend_from_slice(b",\n  \"generated\": ");
    out.extend_from_slice(json(&now.to_string()).as_bytes());
    out.extend_from_slice(b",\n  \"items\": [");
    if items.len() == 0 {
        out.extend_from_slice(b"]\n}");
        return out;
    }
    for (i, item) in items.enumerate() {
        out.extend_from_slice(if i == 0 { b"\n    " } else { b",\n    " });
        out.extend_from_slice(item);
    }
    out.extend_from_slice(b"\n  ]\n}");
    out
}

/// One entity's item as it stands in `api/<kind>.json`: pretty-printed, indented to the
/// depth of the envelope's `items`.
fn item_bytes<T: Serialize>(view: &View<'_, T>) -> Vec<u8> {
    let pretty = serde_json::to_vec_pretty(view).unwrap_or_default();
    // JSON strings escape their newlines: every raw newline is the printer's own.
    let mut out = Vec::with_capacity(pretty.len() + pretty.len() / 8);
    for line in pretty.split(|b| *b == b'\n') {
        if !out.is_empty() {
            out.extend_from_slice(b"\n    ");
        }
        out.extend_from_slice(line);
    }
    out
}

/// A kind's map of views, as `api/<kind>.json`.
trait EntityItems: Sync {
    /// The file made afresh.
    fn afresh(&self, kind: &str, now: Moment) -> Vec<u8>;
    /// The file made from the items `cache` kept (by file hash) and the changed ones.
    fn file(
        &self,
        kind: &'static str,
        now: Moment,
        tree: &crate::source::Tree,
        cache: &ValueCache,
    ) -> Vec<u8>;
}

impl<T: Serialize + Sync> EntityItems for BTreeMap<&str, View<'_, T>> {
    fn afresh(&self, kind: &str, now: Moment) -> Vec<u8> {
        envelope(kind, now, self.values().collect::<Vec<_>>())
    }

    fn file(
        &self,
        kind: &'static str,
        now: Moment,
        tree: &crate::source::Tree,
        cache: &ValueCache,
    ) -> Vec<u8> {
        let known = cache.take_items(kind);
        let items: Vec<(&str, blake3::Hash, std::sync::Arc<[u8]>)> = self
            .par_iter()
            .map(|(id, view)| {
                let hash = view.file_hash(tree).unwrap_or_else(|| blake3::hash(b""));
                let bytes = match known.get(*id).filter(|(seen, _)| *seen == hash) {
                    Some((_, bytes)) => std::sync::Arc::clone(bytes),
                    None => std::sync::Arc::from(item_bytes(view)),
                };
                (*id, hash, bytes)
            })
            .collect();
        crate::defer::drop_later(known);
        let file = envelope_with_items(kind, now, items.iter().map(|(_, _, b)| &**b));
        let kept = items
            .into_iter()
            .map(|(id, hash, bytes)| (id.to_owned(), (hash, bytes)))
            .collect();
        cache.put_items(kind, kept);
        file
    }
}

pub fn api_files(
    input: &Input<'_>,
    data: &SiteData<'_>,
    wanted: &(dyn Fn(&str) -> bool + Sync),
) -> Vec<(String, Vec<u8>)> {
    let now = input.now;
    // Entity kinds: kept items are reused when the preview server keeps them.
    let entities = |kind: &'static str, map: &dyn EntityItems| -> Vec<u8> {
        if input.values.keep {
            map.file(kind, now, input.tree, input.values)
        } else {
            map.afresh(kind, now)
        }
    };
    let bytes = |kind: &str| -> Vec<u8> {
        match kind {
            "hosts" => entities("hosts", &data.hosts),
            "certificates" => entities("certificates", &data.certificates),
            "domains" => entities("domains", &data.domains),
            "modules" => entities("modules", &data.modules),
            "releases" => entities("releases", &data.releases),
            "procedures" => entities("procedures", &data.procedures),
            "logbook" => entities("logbook", &data.logbook),
            "tickets" => entities("tickets", &data.tickets),
            "services" => entities("services", &data.services),
            "sites" => entities("sites", &data.sites),
            "features" => entities("features", &data.features),
            "account_sets" => entities("account_sets", &data.account_sets),
            "news" => entities("news", &data.news),
            "overrides" => envelope(kind, now, &data.overrides),
            "alerts" => envelope(kind, now, data.alerts),
            "procedure_status" => envelope(kind, now, data.status.values().collect::<Vec<_>>()),
            _ => {
                let kinds: BTreeSet<String> = API_KINDS
                    .iter()
                    .filter(|k| **k != "index")
                    .map(|k| format!("api/{k}.json"))
                    .collect();
                envelope("index", now, kinds)
            }
        }
    };
    API_KINDS
        .par_iter()
        .filter(|kind| wanted(kind))
        .map(|kind| (format!("api/{kind}.json"), bytes(kind)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parallel_context_equals_serializing_the_whole_site_data()
    -> Result<(), Box<dyn std::error::Error>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
        let tree = crate::source::read_dir(&root)?;
        let loaded = content::load(&tree);
        assert!(!loaded.diagnostics.has_errors());
        let now: Moment = "2026-11-22T00:00:00Z".parse()?;
        let derived = derive::derive(&loaded.content, now);
        let input = Input {
            tree: &tree,
            content: &loaded.content,
            derived: &derived,
            now,
            preview: false,
            trust: None,
            markdown: &crate::render::markdown_cache::Cache::new(),
            values: &ValueCache::default(),
            rows: &crate::render::RowCache::default(),
        };
        let data = SiteData::new(&input);
        let parallel = data.to_context(&tree, &ValueCache::default())?;
        assert_eq!(parallel, tera::Context::from_serialize(&data)?);
        // Converted again with values kept from a first conversion: still the same.
        let cache = ValueCache::keeping();
        assert_eq!(data.to_context(&tree, &cache)?, parallel);
        assert!(cache.entities() > 100, "values kept: {}", cache.entities());
        assert_eq!(data.to_context(&tree, &cache)?, parallel);
        assert!(parallel.get("tickets").is_some() && parallel.get("alerts").is_some());
        Ok(())
    }

    #[test]
    fn api_files_from_kept_items_equal_files_made_afresh() -> Result<(), Box<dyn std::error::Error>>
    {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
        let mut tree = crate::source::read_dir(&root)?;
        let now: Moment = "2026-11-22T00:00:00Z".parse()?;
        let cache = ValueCache::keeping();
        let files = |tree: &crate::source::Tree, values: &ValueCache| {
            let loaded = content::load(tree);
            let derived = derive::derive(&loaded.content, now);
            let input = Input {
                tree,
                content: &loaded.content,
                derived: &derived,
                now,
                preview: false,
                trust: None,
                markdown: &crate::render::markdown_cache::Cache::new(),
                values,
                rows: &crate::render::RowCache::default(),
            };
            let data = SiteData::new(&input);
            api_files(&input, &data, &|_| true)
        };
        let afresh = files(&tree, &ValueCache::default());
        assert_eq!(afresh.len(), API_KINDS.len());
        // Made from nothing kept, then from everything kept: the same bytes.
        assert_eq!(files(&tree, &cache), afresh);
        assert_eq!(files(&tree, &cache), afresh);
        // One ticket changed, one added: the changed items are made again.
        let (path, text) = tree
            .iter()
            .find(|(p, _)| p.starts_with("tickets/"))
            .map(|(p, b)| (p.to_owned(), String::from_utf8_lossy(b).into_owned()))
            .ok_or("no ticket")?;
        tree.insert(
            path,
            text.replace("\ntitle: ", "\ntitle: Changed \\\"quoted\\\"\n  line "),
        );
        tree.insert("tickets/0-added.md".to_owned(), text.into_bytes());
        let changed = files(&tree, &cache);
        assert_eq!(changed, files(&tree, &ValueCache::default()));
        assert_ne!(changed, afresh);
        // A kind with no entities: the same envelope with empty items.
        let none: [&[u8]; 0] = [];
        assert_eq!(
            envelope_with_items("news", now, none.into_iter()),
            envelope("news", now, Vec::<u8>::new())
        );
        Ok(())
    }
}
