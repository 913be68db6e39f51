//! What each page is made from, as a fingerprint, so a rebuild re-renders only the pages
//! whose inputs changed.
//!
//! A page's key hashes the global inputs every page shows (theme, site configuration,
//! preview and audit state) with the content fingerprints (blake3 of the file text) of
//! its own entity and of every entity its template reads, found through the derived
//! relations, and the derived data it shows that depends on "now" (its alerts, a
//! procedure's status, a thread's state). The dependencies follow the default theme's
//! templates: when a repository overrides templates or uses another theme, no page has a
//! key and every page is rendered.
//!
//! List pages (the index of each kind, logbook months, the ticket list and report) have
//! keys too: "now" and the fingerprints of every file of the kinds they show, directly or
//! through derived data, and of the alerts when they show alerts. The dashboard shows
//! nearly everything and is rendered whenever anything changed.
//!
//! Pages are keyed in groups (one kind's detail pages, one list page): a group's stamp
//! covers everything its keys read, so a group whose stamp is unchanged is not keyed
//! again at all.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::Input;
use super::data::Entity;
use crate::content::{Content, Document, Kind};
use crate::memo::{Stamp, Stamper};

/// A page's input fingerprint.
pub type Key = [u8; 32];

/// Every keyed page's key, by output path.
pub type PageKeys = HashMap<String, Key>;

/// The files a page's key read, with the hash each had: when none of them changed (and
/// nothing else the key read, see [`structure_stamp`]), neither did the key.
pub type Deps = Vec<(crate::diag::FileId, blake3::Hash)>;

/// Builds one page key from labelled parts, noting the files it reads.
struct KeyBuilder<'c> {
    hasher: blake3::Hasher,
    content: &'c Content,
    deps: Deps,
}

impl<'c> KeyBuilder<'c> {
    fn new(content: &'c Content, global: &blake3::Hash, template: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(global.as_bytes());
        hasher.update(template.as_bytes());
        Self {
            hasher,
            content,
            deps: Vec::new(),
        }
    }

    /// The key and the files it read.
    fn done(&mut self) -> (Key, Deps) {
        (self.finish(), std::mem::take(&mut self.deps))
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.hasher.update(&(text.len() as u64).to_le_bytes());
        self.hasher.update(text.as_bytes());
        self
    }

    fn doc<T>(&mut self, doc: Option<&Document<T>>) -> &mut Self {
        match doc {
            Some(doc) => {
                self.text(&doc.path);
                let hash = self.content.files.hash(doc.file()).unwrap_or_else(|| {
                    blake3::hash(self.content.files.text(doc.file()).as_bytes())
                });
                self.hasher.update(hash.as_bytes());
                self.deps.push((doc.file(), hash));
            }
            None => {
                self.text("-");
            }
        }
        self
    }

    /// Derived data the page shows that depends on "now" (alerts, a procedure's status,
    /// a thread's state), through its JSON form.
    /// Written straight into the hash (a JSON text is self-delimiting; the NUL after it,
    /// which JSON never holds, ends it anyway).
    fn json<T: serde::Serialize>(&mut self, value: &T) -> &mut Self {
        thread_local! {
            // The JSON is written to a buffer, not the hasher: blake3 is slow at the
            // many small writes a serialiser makes.
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        BUFFER.with_borrow_mut(|buffer| {
            buffer.clear();
            if serde_json::to_writer(&mut *buffer, value).is_err() {
                buffer.clear();
                buffer.extend_from_slice(b"unserialisable");
            }
            buffer.push(0);
            self.hasher.update(buffer);
        });
        self
    }

    fn finish(&self) -> Key {
        *self.hasher.finalize().as_bytes()
    }
}

fn find<'c, T>(docs: &'c [Document<T>], id: &str) -> Option<&'c Document<T>> {
    docs.binary_search_by(|d| d.id.as_str().cmp(id))
        .ok()
        .and_then(|i| docs.get(i))
}

/// The inputs every page shows: theme, configuration, preview and audit state.
pub fn global_key(input: &Input<'_>, theme_text: &[(&str, &[u8])]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (name, bytes) in theme_text {
        hasher.update(name.as_bytes());
        hasher.update(&(bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    if let Some(config) = &input.content.config {
        hasher.update(input.content.files.text(config.file()).as_bytes());
    }
    // Not "now": detail pages do not show it, and their keys hold what they show that
    // depends on it; list pages and the API add it to their own keys.
    hasher.update(&[u8::from(input.preview), u8::from(input.trust.is_some())]);
    hasher.finalize()
}

/// What a list page reads (see the default theme): kinds of file (their fields), kinds
/// whose ids alone it counts, joins of the relations, and derived parts. Reading a join
/// rather than the files it comes from means that, say, the host list is not made again
/// when a ticket's title changes, only when the tickets open on a host do.
#[derive(Default)]
pub struct ListReads {
    pub files: &'static [Kind],
    pub ids: &'static [Kind],
    pub relations: &'static [&'static str],
    /// The alerts about subjects of this kind (`Some("")` for all the alerts).
    pub alerts: Option<&'static str>,
    pub statuses: bool,
    pub threads: bool,
    pub upcoming: bool,
    pub report: bool,
    pub ticket_groups: bool,
}

/// What the list page made with `template` reads, when it is known.
pub fn list_reads(template: &str) -> Option<ListReads> {
    use Kind::*;
    let reads = |files, relations| ListReads {
        files,
        relations,
        ..ListReads::default()
    };
    Some(match template {
        "hosts.html" => reads(&[Host], &["services_by_host", "open_tickets_by_host"]),
        "certificates.html" => ListReads {
            alerts: Some("certificate"),
            ..reads(&[Certificate], &[])
        },
        "domains.html" => ListReads {
            alerts: Some("domain"),
            ..reads(&[Domain], &[])
        },
        "modules.html" => reads(&[Module], &["releases_by_module", "open_tickets_by_module"]),
        "releases.html" => ListReads {
            alerts: Some("release"),
            ..reads(&[Release, Module], &["tickets_by_release"])
        },
        // A procedure's status comes from its logbook entries.
        "procedures.html" => ListReads {
            statuses: true,
            ..reads(&[Procedure], &[])
        },
        "logbook.html" | "logbook_month.html" => ListReads {
            threads: true,
            ..reads(&[LogEntry, Procedure], &[])
        },
        // Rows show the version a ticket was fixed in.
        "tickets.html" => ListReads {
            ticket_groups: true,
            ..reads(&[Ticket, Release], &[])
        },
        "ticket_report.html" => ListReads {
            report: true,
            ..reads(&[Module], &[])
        },
        "sites.html" => reads(&[Site], &["services_by_site"]),
        "services.html" => reads(&[Service, Site], &[]),
        "news.html" => reads(&[News], &[]),
        "flags.html" => reads(&[Feature, AccountSet, Overrides], &[]),
        "404.html" => reads(&[], &[]),
        // Counts, the latest entries and news, what is due, alerts, threads to answer.
        "dashboard.html" => ListReads {
            files: &[LogEntry, Procedure, News],
            ids: &[Host],
            alerts: Some(""),
            threads: true,
            upcoming: true,
            ticket_groups: true,
            ..ListReads::default()
        },
        _ => return None,
    })
}

/// The stamp of what a list page made with `template` shows: "now" and what it reads
/// ([`list_reads`]); `None` for a page whose inputs are not known. `ticket_groups` is
/// the fingerprint of the ticket list's groups.
pub fn list_stamp(
    input: &Input<'_>,
    global: &blake3::Hash,
    template: &str,
    ticket_groups: &Stamp,
) -> Option<Stamp> {
    let reads = list_reads(template)?;
    let mut stamp = Stamper::new(template);
    stamp.hash(global).text(&input.now.to_string());
    let content = &input.content.stamps;
    content.add(&mut stamp, reads.files);
    for kind in reads.ids {
        stamp.stamp(content.ids(*kind));
    }
    let derived = &input.derived.stamps;
    for name in reads.relations {
        stamp.text(name).stamp(&derived.relation(name));
    }
    match reads.alerts {
        Some("") => {
            stamp.stamp(&derived.alerts);
        }
        Some(kind) => {
            stamp.stamp(&derived.alerts_of(kind));
        }
        None => {}
    }
    for (read, part) in [
        (reads.statuses, &derived.procedures),
        (reads.threads, &derived.threads),
        (reads.upcoming, &derived.upcoming),
        (reads.report, &derived.ticket_report),
        (reads.ticket_groups, ticket_groups),
    ] {
        stamp.bytes(&[u8::from(read)]);
        if read {
            stamp.stamp(part);
        }
    }
    Some(stamp.finish())
}

/// The key of `api/<kind>.json`: "now" and the files of its kind (each item is one
/// file's fields and body), or the derived data it lists.
pub fn api_key(input: &Input<'_>, global: &blake3::Hash, kind: &str) -> Key {
    let mut stamp = Stamper::new("api");
    stamp.hash(global).text(kind).text(&input.now.to_string());
    let stamps = &input.content.stamps;
    match kind {
        "alerts" => {
            stamp.stamp(&input.derived.stamps.alerts);
        }
        "procedure_status" => {
            stamp.stamp(&input.derived.stamps.procedures);
        }
        // Override rows carry the feature's type.
        "overrides" => stamps.add(&mut stamp, &[Kind::Overrides, Kind::Feature]),
        "index" => {}
        kind => {
            if let Some(entity) = super::data::ENTITIES.iter().find(|e| e.name == kind) {
                stamps.add(&mut stamp, &[entity.kind]);
            }
        }
    }
    stamp.finish()
}

/// What one kind's detail pages read besides their own files: other kinds, and derived
/// data (the alerts about subjects of one kind, procedure states, threads).
pub struct DetailReads {
    pub kinds: &'static [Kind],
    /// The joins that decide which other documents a page reads.
    pub relations: &'static [&'static str],
    /// Kinds whose files (not only ids) decide which documents a page reads.
    pub structure: &'static [Kind],
    pub alerts: Option<&'static str>,
    pub statuses: bool,
    pub threads: bool,
}

/// What the detail pages of `entity` read (see the keys below).
pub fn detail_reads(entity: &Entity) -> DetailReads {
    use Kind::*;
    let reads = |kinds, relations| DetailReads {
        kinds,
        relations,
        structure: &[],
        alerts: None,
        statuses: false,
        threads: false,
    };
    match entity.kind {
        Host => reads(
            &[Host, Service, Site, Certificate, Ticket],
            &[
                "services_by_host",
                "certificates_by_host",
                "tickets_by_host",
            ],
        ),
        Certificate => DetailReads {
            alerts: Some("certificate"),
            ..reads(&[Certificate, Host, Procedure], &[])
        },
        Domain => DetailReads {
            alerts: Some("domain"),
            ..reads(&[Domain], &[])
        },
        Module => reads(
            &[Module, Release, Ticket],
            &[
                "releases_by_module",
                "tickets_by_release",
                "tickets_by_module",
            ],
        ),
        Release => DetailReads {
            alerts: Some("release"),
            ..reads(&[Release, Module, Ticket], &["tickets_by_release"])
        },
        Procedure => DetailReads {
            alerts: Some("procedure"),
            statuses: true,
            ..reads(
                &[Procedure, LogEntry, Certificate],
                &["entries_by_procedure", "certificates_by_procedure"],
            )
        },
        LogEntry => DetailReads {
            threads: true,
            ..reads(&[LogEntry, Procedure], &[])
        },
        Ticket => reads(&[Ticket, Module, Release], &[]),
        // The runbook plans read services (and through them hosts).
        Site => reads(&[Site, Service, Host], &["services_by_site"]),
        Service => reads(&[Service, Site, Host], &[]),
        News => reads(&[News], &[]),
        // Which sets a feature's page lists comes from the sets' files.
        Feature => DetailReads {
            structure: &[AccountSet],
            ..reads(&[Feature, AccountSet, Overrides], &[])
        },
        AccountSet => reads(&[AccountSet], &[]),
        Config | Policy | Overrides => reads(&[], &[]),
    }
}

/// The stamp of everything the detail pages of `entity` read: a group whose stamp did
/// not change has the same pages with the same keys.
pub fn detail_stamp(input: &Input<'_>, global: &blake3::Hash, entity: &Entity) -> Stamp {
    let reads = detail_reads(entity);
    let mut stamp = Stamper::new(entity.name);
    stamp.hash(global);
    stamp.stamp(input.content.stamps.ids(entity.kind));
    input.content.stamps.add(&mut stamp, reads.kinds);
    let derived = &input.derived.stamps;
    if let Some(kind) = reads.alerts {
        stamp.stamp(&derived.alerts_of(kind));
    }
    if reads.statuses {
        stamp.stamp(&derived.procedures);
    }
    if reads.threads {
        stamp.stamp(&derived.threads);
    }
    stamp.finish()
}

/// The ids an index lists for `id` (none when it has no entry).
fn listed<'i>(index: &'i BTreeMap<String, Vec<String>>, id: &str) -> &'i [String] {
    index.get(id).map_or(&[], Vec::as_slice)
}

/// The keys of one kind's detail pages (in document order, as
/// [`super::pages::detail_pages`] lists them), made in parallel.
pub fn detail_keys(input: &Input<'_>, global: &blake3::Hash, entity: &Entity) -> Vec<Key> {
    let (key, count) = detail_key_fn(input, global, entity);
    (0..count).into_par_iter().map(|i| key(i).0).collect()
}

/// The stamp of what decides which files the keys of the detail pages of `entity` read,
/// and everything else they read but files: while it is unchanged, a page's key changes
/// only if one of the files it read ([`Deps`]) did. Files are known by id, so the stamp
/// holds the content's generation.
pub fn structure_stamp(input: &Input<'_>, global: &blake3::Hash, entity: &Entity) -> Stamp {
    let reads = detail_reads(entity);
    let content = input.content;
    let mut stamp = Stamper::new("structure");
    stamp.hash(global).text(&content.generation.to_string());
    for kind in std::iter::once(&entity.kind).chain(reads.kinds) {
        stamp.stamp(content.stamps.ids(*kind));
    }
    content.stamps.add(&mut stamp, reads.structure);
    let derived = &input.derived.stamps;
    for name in reads.relations {
        stamp.text(name).stamp(&derived.relation(name));
    }
    if let Some(kind) = reads.alerts {
        stamp.stamp(&derived.alerts_of(kind));
    }
    if reads.statuses {
        stamp.stamp(&derived.procedures);
    }
    if reads.threads {
        stamp.stamp(&derived.threads);
    }
    stamp.finish()
}

/// One detail page's key maker for `entity`, by document index, and how many documents
/// it has.
#[allow(clippy::type_complexity)]
pub fn detail_key_fn<'a>(
    input: &'a Input<'a>,
    global: &'a blake3::Hash,
    entity: &Entity,
) -> (Box<dyn Fn(usize) -> (Key, Deps) + Sync + 'a>, usize) {
    let content = input.content;
    let derived = input.derived;
    let rel = &derived.relations;
    #[allow(clippy::type_complexity)]
    fn each<'f>(
        key: impl Fn(usize) -> (Key, Deps) + Sync + 'f,
        count: usize,
    ) -> (Box<dyn Fn(usize) -> (Key, Deps) + Sync + 'f>, usize) {
        (Box::new(key), count)
    }
    // A page's own alerts, as templates find them: `alerts_by_subject["<kind>/<id>"]`.
    let alerts_of = |kind: &'static str| {
        let groups = &derived.alert_groups;
        move |id: &str| groups.of(kind, id)
    };
    let k = |template: &str| KeyBuilder::new(content, global, template);
    match entity.kind {
        Kind::Host => each(
            move |i| {
                let host = &content.hosts[i];
                let mut k = k("host");
                k.doc(Some(host));
                for s in listed(&rel.services_by_host, &host.id) {
                    let service = find(&content.services, s);
                    k.doc(service);
                    k.doc(service.and_then(|sv| find(&content.sites, sv.data.site.as_str())));
                }
                for c in listed(&rel.certificates_by_host, &host.id) {
                    k.doc(find(&content.certificates, c));
                }
                for t in listed(&rel.tickets_by_host, &host.id) {
                    k.doc(find(&content.tickets, t));
                }
                k.done()
            },
            content.hosts.len(),
        ),
        Kind::Certificate => {
            let alerts = alerts_of("certificate");
            each(
                move |i| {
                    let cert = &content.certificates[i];
                    let mut k = k("certificate");
                    k.doc(Some(cert));
                    for h in &cert.data.hosts {
                        k.doc(find(&content.hosts, h));
                    }
                    if let Some(p) = &cert.data.renewal_procedure {
                        k.doc(find(&content.procedures, p));
                    }
                    k.json(&alerts(&cert.id));
                    k.done()
                },
                content.certificates.len(),
            )
        }
        Kind::Domain => {
            let alerts = alerts_of("domain");
            each(
                move |i| {
                    let domain = &content.domains[i];
                    k("domain")
                        .doc(Some(domain))
                        .json(&alerts(&domain.id))
                        .done()
                },
                content.domains.len(),
            )
        }
        Kind::Module => each(
            move |i| {
                let module = &content.modules[i];
                let mut k = k("module");
                k.doc(Some(module));
                for r in listed(&rel.releases_by_module, &module.id) {
                    k.doc(find(&content.releases, r));
                    for t in listed(&rel.tickets_by_release, r) {
                        k.text(t);
                    }
                }
                for t in listed(&rel.tickets_by_module, &module.id) {
                    k.doc(find(&content.tickets, t));
                }
                k.done()
            },
            content.modules.len(),
        ),
        Kind::Release => {
            let alerts = alerts_of("release");
            each(
                move |i| {
                    let release = &content.releases[i];
                    let mut k = k("release");
                    k.doc(Some(release));
                    k.doc(find(&content.modules, release.data.module.as_str()));
                    for t in listed(&rel.tickets_by_release, &release.id) {
                        k.doc(find(&content.tickets, t));
                    }
                    k.json(&alerts(&release.id));
                    k.done()
                },
                content.releases.len(),
            )
        }
        Kind::Procedure => {
            let alerts = alerts_of("procedure");
            each(
                move |i| {
                    let procedure = &content.procedures[i];
                    let mut k = k("procedure");
                    k.doc(Some(procedure));
                    for e in listed(&rel.entries_by_procedure, &procedure.id) {
                        k.doc(find(&content.logbook, e));
                    }
                    for c in listed(&rel.certificates_by_procedure, &procedure.id) {
                        k.doc(find(&content.certificates, c));
                    }
                    k.json(&alerts(&procedure.id));
                    k.json(&derived.procedures.get(&procedure.id));
                    k.done()
                },
                content.procedures.len(),
            )
        }
        Kind::LogEntry => {
            // An entry's thread is the same for every entry in it: its JSON is made once.
            let threads: Vec<String> = derived
                .threads
                .par_iter()
                .map(|thread| serde_json::to_string(thread).unwrap_or_default())
                .collect();
            let thread_of: HashMap<&str, usize> = derived
                .threads
                .iter()
                .enumerate()
                .flat_map(|(i, t)| t.entries.iter().map(move |e| (e.as_str(), i)))
                .collect();
            each(
                move |i| {
                    let entry = &content.logbook[i];
                    let mut k = k("entry");
                    k.doc(Some(entry));
                    if let Some(p) = &entry.data.procedure {
                        k.doc(find(&content.procedures, p));
                    }
                    // The thread's state, its replies and the entry answered all come
                    // from the thread.
                    let thread_of = |id: &str| {
                        let i = *thread_of.get(id)?;
                        Some((derived.threads.get(i)?, threads.get(i)?.as_str()))
                    };
                    if let Some((thread, json)) = thread_of(entry.id.as_str()) {
                        for e in &thread.entries {
                            k.doc(find(&content.logbook, e));
                        }
                        k.text(json);
                    }
                    k.done()
                },
                content.logbook.len(),
            )
        }
        Kind::Ticket => each(
            move |i| {
                let ticket = &content.tickets[i];
                let mut k = k("ticket");
                k.doc(Some(ticket));
                if let Some(m) = &ticket.data.module {
                    k.doc(find(&content.modules, m));
                }
                if let Some(r) = &ticket.data.fixed_in {
                    let release = find(&content.releases, r);
                    k.doc(release);
                    k.doc(release.and_then(|r| find(&content.modules, r.data.module.as_str())));
                }
                k.done()
            },
            content.tickets.len(),
        ),
        Kind::Site => each(
            move |i| {
                let site = &content.sites[i];
                let mut k = k("site");
                k.doc(Some(site));
                for s in listed(&rel.services_by_site, &site.id) {
                    k.doc(find(&content.services, s));
                }
                k.json(&derived.runbooks.get(&site.id));
                k.done()
            },
            content.sites.len(),
        ),
        Kind::Service => each(
            move |i| {
                let service = &content.services[i];
                let mut k = k("service");
                k.doc(Some(service));
                k.doc(find(&content.sites, service.data.site.as_str()));
                for h in &service.data.hosts {
                    k.doc(find(&content.hosts, h));
                }
                k.done()
            },
            content.services.len(),
        ),
        Kind::News => each(
            move |i| k("news").doc(Some(&content.news[i])).done(),
            content.news.len(),
        ),
        Kind::Feature => {
            let mut sets_of: BTreeMap<&str, Vec<&Document<crate::content::AccountSet>>> =
                BTreeMap::new();
            for set in &content.account_sets {
                for feature in set.data.features.keys() {
                    sets_of.entry(feature.as_str()).or_default().push(set);
                }
            }
            each(
                move |i| {
                    let feature = &content.features[i];
                    let mut k = k("feature");
                    k.doc(Some(feature));
                    for set in sets_of.get(feature.id.as_str()).into_iter().flatten() {
                        k.doc(Some(*set));
                    }
                    k.doc(content.overrides.as_ref());
                    k.done()
                },
                content.features.len(),
            )
        }
        Kind::AccountSet => each(
            move |i| k("account_set").doc(Some(&content.account_sets[i])).done(),
            content.account_sets.len(),
        ),
        Kind::Config | Kind::Policy | Kind::Overrides => (Box::new(|_| ([0; 32], Vec::new())), 0),
    }
}

/// The keys of the audit pages of `pages` (by path); the index and the pending page show
/// everything and have none.
pub fn audit_keys(
    input: &Input<'_>,
    global: &blake3::Hash,
    pages: &[super::Page],
) -> Vec<Option<Key>> {
    let Some(trust) = input.trust else {
        return pages.iter().map(|_| None).collect();
    };
    let pending = pending_by_path(trust);
    pages
        .par_iter()
        .with_min_len(256)
        .map(|page| audit_key(input, global, trust, &pending, page))
        .collect()
}

/// The keys of the audit pages of `pages`, from `previous` (their keys when the trails
/// were `before`, with the same pages, theme and pending changes): only pages whose trail
/// differs get a new key.
pub fn audit_keys_since(
    input: &Input<'_>,
    global: &blake3::Hash,
    pages: &[super::Page],
    previous: &[Option<Key>],
    before: &crate::trust::history::Trails,
) -> Vec<Option<Key>> {
    let Some(trust) = input.trust else {
        return pages.iter().map(|_| None).collect();
    };
    if std::sync::Arc::ptr_eq(before, &trust.trails) {
        return previous.to_vec();
    }
    // In path order, and usually a few: a binary search beats hashing every page's path.
    let changed = crate::memo::differing_keys(before, &trust.trails);
    let pending = pending_by_path(trust);
    pages
        .iter()
        .zip(previous)
        .map(|(page, kept)| match page.audit_file() {
            Some(path) if changed.binary_search(&path).is_ok() => {
                audit_key(input, global, trust, &pending, page)
            }
            _ => *kept,
        })
        .collect()
}

/// The stamp of what every audit page's key has besides its own trail: the theme and
/// the changes waiting for approval.
pub fn audit_structure(input: &Input<'_>, global: &blake3::Hash) -> Stamp {
    let mut stamp = Stamper::new("audit structure");
    stamp.hash(global);
    if let Some(trust) = input.trust {
        stamp.bytes(&serde_json::to_vec(&trust.pending).unwrap_or_default());
    }
    stamp.finish()
}

type PendingByPath<'r> = HashMap<&'r str, &'r crate::trust::history::Pending>;

fn pending_by_path(trust: &crate::trust::history::Report) -> PendingByPath<'_> {
    trust.pending.iter().map(|p| (p.path.as_str(), p)).collect()
}

fn audit_key(
    input: &Input<'_>,
    global: &blake3::Hash,
    trust: &crate::trust::history::Report,
    pending: &PendingByPath<'_>,
    page: &super::Page,
) -> Option<Key> {
    let path = page.audit_file()?;
    // The trail's fingerprint stands for its events and approved blob.
    let trail = trust.trails.get(path)?;
    let mut k = KeyBuilder::new(input.content, global, "audit_file");
    k.text(path);
    k.hasher.update(trail);
    if let Some(pending) = pending.get(path) {
        k.json(pending);
    }
    Some(k.finish())
}

/// The key of a list page from its stamp (and path: every list page is its own).
pub fn list_key(stamp: &Stamp, path: &str) -> Key {
    let mut k = Stamper::new("list page");
    k.stamp(stamp).text(path);
    k.finish()
}
