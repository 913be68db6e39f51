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
//! again at all. Group stamps are made from what each page declares it reads
//! ([`super::pages::Page::spec`], [`super::reads::Reads`]); this file makes the keys of
//! single pages.

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::{ApiFile, Input};
use crate::content::{Content, Document, Kind};
use crate::diag::FileId;
use crate::memo::{Stamp, Stamper};

/// A page's input fingerprint.
pub type Key = [u8; 32];

/// Every keyed page's key, by output path.
pub type PageKeys = HashMap<String, Key>;

/// The files a page's key read, with the hash each had: when none of them changed (and
/// nothing else the key read, see [`super::reads::Reads::structure`]), neither did the key.
pub type Deps = Vec<(FileId, blake3::Hash)>;

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
        self.file(doc.map(|doc| (doc.path.as_str(), doc.file())))
    }

    /// The document at `path`, read from `file`, or its absence.
    fn file(&mut self, file: Option<(&str, FileId)>) -> &mut Self {
        match file {
            Some((path, file)) => {
                self.text(path);
                let hash = self
                    .content
                    .files
                    .hash(file)
                    .unwrap_or_else(|| blake3::hash(self.content.files.text(file).as_bytes()));
                self.hasher.update(hash.as_bytes());
                self.deps.push((file, hash));
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
    // Every page that lists logbook entries marks the robots' (`site.robots`).
    for robot in super::data::robots(input.content) {
        hasher.update(&(robot.len() as u64).to_le_bytes());
        hasher.update(robot.as_bytes());
    }
    // Every page that names someone links to their page, by name (`site.people`).
    for (id, name) in super::data::people(input.content) {
        for text in [id, name] {
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
    }
    // Not "now": detail pages do not show it, and their keys hold what they show that
    // depends on it; list pages and the API add it to their own keys.
    hasher.update(&[u8::from(input.preview), u8::from(input.trust.is_some())]);
    hasher.finalize()
}

/// The key of an API file: "now" and the files of its kind (each item is one file's
/// fields and body), or the derived data it lists.
pub fn api_key(input: &Input<'_>, global: &blake3::Hash, file: ApiFile) -> Key {
    let mut stamp = Stamper::new("api");
    stamp
        .hash(global)
        .text(file.name())
        .text(&input.now.to_string());
    let stamps = &input.content.stamps;
    match file {
        ApiFile::Entities(entity) => stamps.add(&mut stamp, &[entity.kind]),
        ApiFile::Alerts => {
            stamp.stamp(&input.derived.stamps.alerts);
        }
        ApiFile::ProcedureStatus => {
            stamp.stamp(&input.derived.stamps.procedures);
        }
        // Override rows carry the feature's type.
        ApiFile::Overrides => stamps.add(&mut stamp, &[Kind::Overrides, Kind::Feature]),
        ApiFile::Threads => {
            stamp.stamp(&input.derived.stamps.threads);
        }
        ApiFile::TicketReport => {
            stamp.stamp(&input.derived.stamps.ticket_report);
        }
        ApiFile::Plans => {
            stamp.stamp(&input.derived.stamps.runbooks);
            stamps.add(&mut stamp, &[Kind::Site]);
        }
        // It lists a file per site.
        ApiFile::Index => {
            stamp.stamp(stamps.ids(Kind::Site));
        }
    }
    stamp.finish()
}

/// The ids an index lists for `id` (none when it has no entry).
fn listed<'i>(index: &'i BTreeMap<String, Vec<String>>, id: &str) -> &'i [String] {
    index.get(id).map_or(&[], Vec::as_slice)
}

/// One detail page's key maker for the pages of `kind`, by document index, and how many
/// documents it has. What it reads is declared in [`super::pages::Page::spec`]: the
/// group's stamps are made from that declaration; each page's key reads the documents
/// the page shows, found through the joins declared. A kind whose pages show their own
/// file alone takes the last arm; the tests hold keys and declarations together.
#[allow(clippy::type_complexity)]
pub fn detail_key_fn<'a>(
    input: &'a Input<'a>,
    global: &'a blake3::Hash,
    kind: Kind,
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
    // The threads about an entity (`<kind>/<id>`), as its page shows them: their
    // structure and states, and their entries.
    let by_subject = &derived.logbook.by_subject;
    let threads = move |k: &mut KeyBuilder<'_>, subject: String| {
        let views = by_subject.get(&subject);
        k.json(&views);
        for view in views.into_iter().flatten() {
            for (entry, _) in &view.entries {
                k.doc(find(&content.logbook, entry));
            }
        }
    };
    // For the pages that say as of when they are (a site's runbooks).
    let now = input.now.to_string();
    match kind {
        Kind::Host => {
            let alerts = alerts_of("certificate");
            each(
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
                        k.json(&alerts(c));
                    }
                    for t in listed(&rel.tickets_by_host, &host.id) {
                        k.doc(find(&content.tickets, t));
                    }
                    threads(&mut k, format!("host/{}", host.id));
                    k.done()
                },
                content.hosts.len(),
            )
        }
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
                    threads(&mut k, format!("certificate/{}", cert.id));
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
                    let mut k = k("domain");
                    k.doc(Some(domain)).json(&alerts(&domain.id));
                    threads(&mut k, format!("domain/{}", domain.id));
                    k.done()
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
                threads(&mut k, format!("module/{}", module.id));
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
                    threads(&mut k, format!("release/{}", release.id));
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
                    threads(&mut k, format!("procedure/{}", procedure.id));
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
                threads(&mut k, format!("ticket/{}", ticket.id));
                k.done()
            },
            content.tickets.len(),
        ),
        Kind::Site => each(
            move |i| {
                let site = &content.sites[i];
                let mut k = k("site");
                k.doc(Some(site)).text(&now);
                for s in listed(&rel.services_by_site, &site.id) {
                    k.doc(find(&content.services, s));
                }
                k.json(&derived.runbooks.get(&site.id));
                threads(&mut k, format!("site/{}", site.id));
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
                threads(&mut k, format!("service/{}", service.id));
                k.done()
            },
            content.services.len(),
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
        // Their open tickets (assigned, reported) and latest entries.
        Kind::Person => each(
            move |i| {
                let person = &content.people[i];
                let mut k = k("person");
                k.doc(Some(person));
                for join in [&rel.open_tickets_by_assignee, &rel.open_tickets_by_reporter] {
                    for t in listed(join, &person.id) {
                        k.doc(find(&content.tickets, t));
                    }
                }
                for e in listed(&rel.entries_by_person, &person.id) {
                    k.doc(find(&content.logbook, e));
                }
                k.done()
            },
            content.people.len(),
        ),
        // A page that shows its own file alone (see `detail_reads` in `pages.rs`).
        own => {
            let shelf = content.shelf(own);
            let count = if own.page().is_some() { shelf.len() } else { 0 };
            each(
                move |i| {
                    let head = shelf.head(i).map(|head| (head.path, head.origin.file));
                    k(own.name()).file(head).done()
                },
                count,
            )
        }
    }
}

/// The keys of the audit pages of `pages` (by path); the index and the pending page show
/// everything and have none.
pub fn audit_keys(
    input: &Input<'_>,
    global: &blake3::Hash,
    pages: &[super::PageFile],
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
    pages: &[super::PageFile],
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
    page: &super::PageFile,
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

mod channels;
pub use channels::{channel_key_fn, inbox_key_fn};

#[cfg(test)]
mod tests;
