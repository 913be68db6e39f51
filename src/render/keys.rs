//! What each detail page is made from, as a fingerprint, so a rebuild re-renders only the
//! pages whose inputs changed.
//!
//! A page's key hashes the global inputs every page shows (theme, site configuration,
//! "now", preview and audit state) with the content fingerprints (blake3 of the file
//! text) of its own entity and of every entity its template reads, found through the
//! derived relations. The dependencies follow the default theme's templates: when a
//! repository overrides templates or uses another theme, no page has a key and every
//! page is rendered.
//!
//! List pages (the index of each kind, logbook months) have keys too: the fingerprints of
//! every file of the kinds they show, directly or through derived data, and of the alerts
//! when they show alerts. The dashboard, the ticket lists and report, feeds and the API
//! depend on nearly everything and are always rendered (the output side still skips
//! rewriting files whose bytes are equal).

use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use super::Input;
use crate::content::{Content, Document};
use crate::derive::Derived;

/// A page's input fingerprint.
pub type Key = [u8; 32];

/// Every keyed page's key, by output path.
pub type PageKeys = HashMap<String, Key>;

/// blake3 of every file's text, by file index.
struct Fingerprints {
    files: Vec<blake3::Hash>,
}

impl Fingerprints {
    /// The tree keeps each file's hash (computed once per read of the file), so a
    /// rebuild does not hash the whole repository again.
    fn new(content: &Content, tree: &crate::source::Tree) -> Self {
        let files = (0..content.files.len())
            .into_par_iter()
            .map(|i| {
                let Some(id) = u32::try_from(i).ok().map(crate::diag::FileId::from_index) else {
                    return blake3::hash(b"");
                };
                content
                    .files
                    .hash(id)
                    .or_else(|| tree.hash(content.files.path(id)))
                    .unwrap_or_else(|| blake3::hash(content.files.text(id).as_bytes()))
            })
            .collect();
        Self { files }
    }
}

/// Builds one page key from labelled parts.
struct KeyBuilder(blake3::Hasher);

impl KeyBuilder {
    fn new(global: &blake3::Hash, template: &str) -> Self {
        let mut hasher = blake3::Hasher::new();
        hasher.update(global.as_bytes());
        hasher.update(template.as_bytes());
        Self(hasher)
    }

    fn text(&mut self, text: &str) -> &mut Self {
        self.0.update(&(text.len() as u64).to_le_bytes());
        self.0.update(text.as_bytes());
        self
    }

    fn doc<T>(&mut self, fp: &Fingerprints, doc: Option<&Document<T>>) -> &mut Self {
        match doc {
            Some(doc) => {
                self.text(&doc.path);
                if let Some(hash) = fp.files.get(doc.file().index()) {
                    self.0.update(hash.as_bytes());
                }
            }
            None => {
                self.text("-");
            }
        }
        self
    }

    /// Derived data the page shows that depends on "now" (alerts, a procedure's status,
    /// a thread's state), through its JSON form.
    fn json<T: serde::Serialize>(&mut self, value: &T) -> &mut Self {
        self.text(&serde_json::to_string(value).unwrap_or_default())
    }

    fn finish(&self) -> Key {
        *self.0.finalize().as_bytes()
    }
}

fn find<'c, T>(docs: &'c [Document<T>], id: &str) -> Option<&'c Document<T>> {
    docs.binary_search_by(|d| d.id.as_str().cmp(id))
        .ok()
        .and_then(|i| docs.get(i))
}

/// The key of one row of the ticket list ([`super::rows`]): the ticket's file and the
/// file of the release it was fixed in (the row shows its version), as a list page at
/// depth `root` shows them in its open or closed table.
pub fn ticket_row_key(
    global: &blake3::Hash,
    files: &crate::diag::Files,
    (root, open): (&str, bool),
    ticket: Option<&Document<crate::content::Ticket>>,
    release: Option<&Document<crate::content::Release>>,
) -> Key {
    let mut k = KeyBuilder::new(global, super::rows::TEMPLATE);
    k.text(root).text(if open { "open" } else { "closed" });
    for doc in [
        ticket.map(|t| (&t.path, t.file())),
        release.map(|r| (&r.path, r.file())),
    ] {
        match doc {
            Some((path, file)) => {
                k.text(path);
                let hash = files.hash(file).unwrap_or_else(|| blake3::hash(b""));
                k.0.update(hash.as_bytes());
            }
            None => {
                k.text("-");
            }
        }
    }
    k.finish()
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

/// What the list pages are made from: one fingerprint per kind of file, and the alerts.
pub struct ListKeys {
    global: blake3::Hash,
    now: String,
    kinds: BTreeMap<&'static str, blake3::Hash>,
    alerts: blake3::Hash,
    statuses: blake3::Hash,
}

fn kind_hash<T>(fp: &Fingerprints, docs: &[Document<T>]) -> blake3::Hash {
    let mut hasher = blake3::Hasher::new();
    for doc in docs {
        hasher.update(&(doc.path.len() as u64).to_le_bytes());
        hasher.update(doc.path.as_bytes());
        if let Some(hash) = fp.files.get(doc.file().index()) {
            hasher.update(hash.as_bytes());
        }
    }
    hasher.finalize()
}

impl ListKeys {
    fn new(input: &Input<'_>, global: &blake3::Hash, fp: &Fingerprints) -> Self {
        let content = input.content;
        let overrides: &[Document<crate::content::Overrides>] = content.overrides.as_slice();
        let kinds = BTreeMap::from([
            ("hosts", kind_hash(fp, &content.hosts)),
            ("certificates", kind_hash(fp, &content.certificates)),
            ("domains", kind_hash(fp, &content.domains)),
            ("modules", kind_hash(fp, &content.modules)),
            ("releases", kind_hash(fp, &content.releases)),
            ("procedures", kind_hash(fp, &content.procedures)),
            ("logbook", kind_hash(fp, &content.logbook)),
            ("tickets", kind_hash(fp, &content.tickets)),
            ("services", kind_hash(fp, &content.services)),
            ("sites", kind_hash(fp, &content.sites)),
            ("features", kind_hash(fp, &content.features)),
            ("account_sets", kind_hash(fp, &content.account_sets)),
            ("overrides", kind_hash(fp, overrides)),
            ("news", kind_hash(fp, &content.news)),
        ]);
        Self {
            global: *global,
            now: input.now.to_string(),
            kinds,
            alerts: json_hash(&input.derived.alerts),
            statuses: json_hash(&input.derived.procedures),
        }
    }

    /// The key of `api/<kind>.json`: the files of its kind (each item is one file's
    /// fields and body), or the derived data it lists.
    fn api_key(&self, kind: &str) -> Option<Key> {
        let inputs: Vec<&blake3::Hash> = match kind {
            "alerts" => vec![&self.alerts],
            "procedure_status" => vec![&self.statuses],
            // Override rows carry the feature's type.
            "overrides" => vec![self.kinds.get("overrides")?, self.kinds.get("features")?],
            "index" => Vec::new(),
            kind => vec![self.kinds.get(kind)?],
        };
        let mut k = KeyBuilder::new(&self.global, "api");
        k.text(kind).text(&self.now);
        for hash in inputs {
            k.0.update(hash.as_bytes());
        }
        Some(k.finish())
    }

    /// The key of the list page at `path` made with `template`, if it is a list page
    /// whose inputs are known. What each template shows (see the default theme):
    fn inputs(template: &str) -> Option<(&'static [&'static str], bool)> {
        Some(match template {
            // Open tickets per host, services per host.
            "hosts.html" => (&["hosts", "services", "tickets"], false),
            "certificates.html" => (&["certificates", "hosts"], true),
            "domains.html" => (&["domains"], true),
            // Releases and open tickets per module.
            "modules.html" => (&["modules", "releases", "tickets"], false),
            "releases.html" => (&["releases", "modules", "tickets"], true),
            // A procedure's status comes from its logbook entries.
            "procedures.html" => (&["procedures", "logbook"], false),
            "logbook.html" | "logbook_month.html" => (&["logbook", "procedures"], false),
            "sites.html" => (&["sites", "services"], false),
            "services.html" => (&["services", "hosts", "sites"], false),
            "news.html" => (&["news"], false),
            "flags.html" => (&["features", "account_sets", "overrides"], false),
            "404.html" => (&[], false),
            _ => return None,
        })
    }

    fn key(&self, template: &str, path: &str) -> Option<Key> {
        let (kinds, alerts) = Self::inputs(template)?;
        let mut k = KeyBuilder::new(&self.global, template);
        k.text(path).text(&self.now);
        for kind in kinds {
            k.text(kind);
            if let Some(hash) = self.kinds.get(kind) {
                k.0.update(hash.as_bytes());
            }
        }
        if alerts {
            k.0.update(self.alerts.as_bytes());
        }
        Some(k.finish())
    }
}

/// Keys of the detail pages and of the list pages among `pages`, by output path.
pub fn page_keys(input: &Input<'_>, global: &blake3::Hash, pages: &[super::Page]) -> PageKeys {
    let fp = Fingerprints::new(input.content, input.tree);
    let mut keys = detail_keys(input, global, &fp);
    let lists = ListKeys::new(input, global, &fp);
    for page in pages {
        if !keys.contains_key(&page.path)
            && let Some(key) = lists.key(page.template, &page.path)
        {
            keys.insert(page.path.clone(), key);
        }
    }
    for kind in super::data::API_KINDS {
        if let Some(key) = lists.api_key(kind) {
            keys.insert(format!("api/{kind}.json"), key);
        }
    }
    keys
}

/// Derived data, hashed through its JSON form.
fn json_hash<T: serde::Serialize>(value: &T) -> blake3::Hash {
    blake3::hash(&serde_json::to_vec(value).unwrap_or_default())
}

/// The ids an index lists for `id` (none when it has no entry).
fn listed<'i>(index: &'i BTreeMap<String, Vec<String>>, id: &str) -> &'i [String] {
    index.get(id).map_or(&[], Vec::as_slice)
}

/// The keys of one kind's detail pages, `<dir>/<id>.html`, made in parallel.
fn each<T: Sync>(
    docs: &[Document<T>],
    dir: &str,
    key: impl Fn(&Document<T>) -> Key + Sync,
) -> Vec<(String, Key)> {
    docs.par_iter()
        .map(|doc| (format!("{dir}/{}.html", doc.id), key(doc)))
        .collect()
}

/// Keys of the detail pages, by output path. Each kind is keyed in parallel with the
/// others, and the kinds with many pages item by item.
fn detail_keys(input: &Input<'_>, global: &blake3::Hash, fp: &Fingerprints) -> PageKeys {
    type Keyed = Vec<(String, Key)>;
    let content = input.content;
    let derived: &Derived = input.derived;
    let rel = &derived.relations;
    // A page's own alerts, as templates find them: `alerts_by_subject["<kind>/<id>"]`.
    let mut alerts_of: BTreeMap<String, Vec<&crate::derive::Alert>> = BTreeMap::new();
    for alert in derived.alerts.iter() {
        alerts_of
            .entry(format!("{}/{}", alert.subject_kind, alert.subject))
            .or_default()
            .push(alert);
    }
    let alerts = |kind: &str, id: &str| alerts_of.get(&format!("{kind}/{id}"));
    // An entry's thread is the same for every entry in it: its JSON is made once.
    let threads: Vec<String> = derived
        .threads
        .par_iter()
        .map(|thread| serde_json::to_string(thread).unwrap_or_default())
        .collect();
    let thread_of: HashMap<&str, (&crate::derive::Thread, &str)> = derived
        .threads
        .iter()
        .zip(&threads)
        .flat_map(|(t, json)| {
            t.entries
                .iter()
                .map(move |e| (e.as_str(), (t, json.as_str())))
        })
        .collect();

    let hosts = || {
        each(&content.hosts, "hosts", |host| {
            let mut k = KeyBuilder::new(global, "host");
            k.doc(fp, Some(host));
            for s in listed(&rel.services_by_host, &host.id) {
                let service = find(&content.services, s);
                k.doc(fp, service);
                k.doc(
                    fp,
                    service.and_then(|sv| find(&content.sites, sv.data.site.as_str())),
                );
            }
            for c in listed(&rel.certificates_by_host, &host.id) {
                k.doc(fp, find(&content.certificates, c));
            }
            for t in listed(&rel.tickets_by_host, &host.id) {
                k.doc(fp, find(&content.tickets, t));
            }
            k.finish()
        })
    };
    let certificates = || {
        each(&content.certificates, "certificates", |cert| {
            let mut k = KeyBuilder::new(global, "certificate");
            k.doc(fp, Some(cert));
            for h in &cert.data.hosts {
                k.doc(fp, find(&content.hosts, h));
            }
            if let Some(p) = &cert.data.renewal_procedure {
                k.doc(fp, find(&content.procedures, p));
            }
            k.json(&alerts("certificate", &cert.id));
            k.finish()
        })
    };
    let domains = || {
        each(&content.domains, "domains", |domain| {
            KeyBuilder::new(global, "domain")
                .doc(fp, Some(domain))
                .json(&alerts("domain", &domain.id))
                .finish()
        })
    };
    let modules = || {
        each(&content.modules, "modules", |module| {
            let mut k = KeyBuilder::new(global, "module");
            k.doc(fp, Some(module));
            for r in listed(&rel.releases_by_module, &module.id) {
                k.doc(fp, find(&content.releases, r));
                for t in listed(&rel.tickets_by_release, r) {
                    k.text(t);
                }
            }
            for t in listed(&rel.tickets_by_module, &module.id) {
                k.doc(fp, find(&content.tickets, t));
            }
            k.finish()
        })
    };
    let releases = || {
        each(&content.releases, "releases", |release| {
            let mut k = KeyBuilder::new(global, "release");
            k.doc(fp, Some(release));
            k.doc(fp, find(&content.modules, release.data.module.as_str()));
            for t in listed(&rel.tickets_by_release, &release.id) {
                k.doc(fp, find(&content.tickets, t));
            }
            k.json(&alerts("release", &release.id));
            k.finish()
        })
    };
    let procedures = || {
        each(&content.procedures, "procedures", |procedure| {
            let mut k = KeyBuilder::new(global, "procedure");
            k.doc(fp, Some(procedure));
            for e in listed(&rel.entries_by_procedure, &procedure.id) {
                k.doc(fp, find(&content.logbook, e));
            }
            for c in listed(&rel.certificates_by_procedure, &procedure.id) {
                k.doc(fp, find(&content.certificates, c));
            }
            k.json(&alerts("procedure", &procedure.id));
            k.json(&derived.procedures.get(&procedure.id));
            k.finish()
        })
    };
    let entries = || {
        each(&content.logbook, "logbook", |entry| {
            let mut k = KeyBuilder::new(global, "entry");
            k.doc(fp, Some(entry));
            if let Some(p) = &entry.data.procedure {
                k.doc(fp, find(&content.procedures, p));
            }
            // The thread's state, its replies and the entry answered all come from
            // the thread.
            if let Some((thread, json)) = thread_of.get(entry.id.as_str()) {
                for e in &thread.entries {
                    k.doc(fp, find(&content.logbook, e));
                }
                k.text(json);
            }
            k.finish()
        })
    };
    let tickets = || {
        each(&content.tickets, "tickets", |ticket| {
            let mut k = KeyBuilder::new(global, "ticket");
            k.doc(fp, Some(ticket));
            if let Some(m) = &ticket.data.module {
                k.doc(fp, find(&content.modules, m));
            }
            if let Some(r) = &ticket.data.fixed_in {
                let release = find(&content.releases, r);
                k.doc(fp, release);
                k.doc(
                    fp,
                    release.and_then(|r| find(&content.modules, r.data.module.as_str())),
                );
            }
            k.finish()
        })
    };
    let sites = || {
        each(&content.sites, "sites", |site| {
            let mut k = KeyBuilder::new(global, "site");
            k.doc(fp, Some(site));
            for s in listed(&rel.services_by_site, &site.id) {
                k.doc(fp, find(&content.services, s));
            }
            // The runbook plans read services, hosts and procedures.
            for op in [
                crate::derive::Operation::Stop,
                crate::derive::Operation::Start,
                crate::derive::Operation::Status,
                crate::derive::Operation::Update,
            ] {
                k.json(&crate::derive::plan(content, &site.id, op).ok());
            }
            k.finish()
        })
    };
    let services = || {
        each(&content.services, "services", |service| {
            let mut k = KeyBuilder::new(global, "service");
            k.doc(fp, Some(service));
            k.doc(fp, find(&content.sites, service.data.site.as_str()));
            for h in &service.data.hosts {
                k.doc(fp, find(&content.hosts, h));
            }
            k.finish()
        })
    };
    let news = || {
        each(&content.news, "news", |news| {
            KeyBuilder::new(global, "news").doc(fp, Some(news)).finish()
        })
    };
    let features = || {
        let mut sets_of: BTreeMap<&str, Vec<&Document<crate::content::AccountSet>>> =
            BTreeMap::new();
        for set in &content.account_sets {
            for feature in set.data.features.keys() {
                sets_of.entry(feature.as_str()).or_default().push(set);
            }
        }
        each(&content.features, "flags/features", |feature| {
            let mut k = KeyBuilder::new(global, "feature");
            k.doc(fp, Some(feature));
            for set in sets_of.get(feature.id.as_str()).into_iter().flatten() {
                k.doc(fp, Some(*set));
            }
            k.doc(fp, content.overrides.as_ref());
            k.finish()
        })
    };
    let account_sets = || {
        each(&content.account_sets, "flags/account_sets", |set| {
            KeyBuilder::new(global, "account_set")
                .doc(fp, Some(set))
                .finish()
        })
    };
    let audit = || -> Keyed {
        let Some(trust) = input.trust else {
            return Vec::new();
        };
        trust
            .events
            .par_iter()
            .filter(|(path, _)| crate::trust::judge::is_clean_path(path))
            .map(|(path, events)| {
                let mut k = KeyBuilder::new(global, "audit_file");
                k.text(path);
                k.text(&serde_json::to_string(events).unwrap_or_default());
                k.text(trust.approved.get(path).map_or("", String::as_str));
                let pending = trust.pending.iter().find(|p| &p.path == path);
                k.text(&serde_json::to_string(&pending).unwrap_or_default());
                (super::data::audit_url(path), k.finish())
            })
            .collect()
    };
    let kinds: [&(dyn Fn() -> Keyed + Sync); 14] = [
        &hosts,
        &certificates,
        &domains,
        &modules,
        &releases,
        &procedures,
        &entries,
        &tickets,
        &sites,
        &services,
        &news,
        &features,
        &account_sets,
        &audit,
    ];
    kinds
        .par_iter()
        .map(|keyed| keyed())
        .collect::<Vec<Keyed>>()
        .into_iter()
        .flatten()
        .collect()
}
