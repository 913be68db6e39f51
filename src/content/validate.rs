//! Checks that span files: references resolve, ids are unique, dates are consistent.
//!
//! The checks come in groups, each reading a few kinds of file. A [`Checks`] memo keeps
//! each group's findings with the fingerprints of what it read, so a load that changed
//! one ticket runs the ticket checks again and nothing else.

use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

use super::load::{DeclaredIds, Kind, duplicate_ids};
use super::model::*;
use super::types::FlagType;
use super::{Content, Document};
use crate::diag::{Diagnostic, Origin};
use crate::memo::{Memo, Stamper};
use crate::suggest::suggest;
use crate::trust::policy;

/// Checks that add what they find to the list.
type Check<'c> = Box<dyn Fn(&mut Vec<Diagnostic>) + Sync + 'c>;

/// Checks of one document (by index among its kind's) that add what they find.
type CheckOne<'c> = Box<dyn Fn(usize, &mut Vec<Diagnostic>) + Sync + 'c>;

/// One group of checks: a name (for its stamp), what it reads, and the checks.
struct Group<'c> {
    name: &'static str,
    /// Kinds whose files (paths and bytes) the checks read.
    files: &'static [Kind],
    /// Kinds whose ids alone the checks read.
    ids: &'static [Kind],
    check: Check<'c>,
    /// For checks made document by document: the kind, and the check of one. `files`
    /// and `ids` are then what the check reads besides the document's own file, so
    /// while they are unchanged only documents whose files changed are checked again.
    each: Option<(Kind, CheckOne<'c>)>,
}

/// Findings of one document, with the hash of its file.
type DocFindings = Vec<(blake3::Hash, Vec<Diagnostic>)>;

/// How many groups [`validate`] runs.
const GROUPS: usize = 14;

/// The findings of every check group, kept between loads in one process with the
/// fingerprints of what each group read. Findings point into files by id, so the memo is
/// valid only while file ids are stable: a load that numbers files afresh clears it.
#[derive(Debug, Default)]
pub struct Checks {
    groups: [Memo<Vec<Diagnostic>>; GROUPS],
    docs: [Memo<DocFindings>; GROUPS],
}

impl Checks {
    /// A memo that keeps findings for the next load.
    pub fn keeping() -> Self {
        Self {
            groups: std::array::from_fn(|_| Memo::keeping()),
            docs: std::array::from_fn(|_| Memo::keeping()),
        }
    }

    pub fn clear(&self) {
        for group in &self.groups {
            group.clear();
        }
        for docs in &self.docs {
            docs.clear();
        }
    }
}

/// The hash of the file of every document of `kind`, in order.
fn doc_hashes(content: &Content, kind: Kind) -> Vec<blake3::Hash> {
    fn of<T>(content: &Content, docs: &[Document<T>]) -> Vec<blake3::Hash> {
        docs.iter()
            .map(|d| {
                content
                    .files
                    .hash(d.file())
                    .unwrap_or_else(|| blake3::hash(content.files.text(d.file()).as_bytes()))
            })
            .collect()
    }
    match kind {
        Kind::Host => of(content, &content.hosts),
        Kind::Certificate => of(content, &content.certificates),
        Kind::Ticket => of(content, &content.tickets),
        Kind::Service => of(content, &content.services),
        _ => Vec::new(),
    }
}

/// Every cross-file problem in `content`, taking from `memo` the findings of every group whose inputs are
/// the ones it last ran on.
pub fn validate_with(
    content: &Content,
    declared: &DeclaredIds,
    pending: &BTreeMap<String, String>,
    memo: &Checks,
) -> Vec<Diagnostic> {
    let ids = Ids::new(declared, pending);
    let ids = &ids;
    use Kind::*;
    fn group<'c>(
        name: &'static str,
        files: &'static [Kind],
        ids: &'static [Kind],
        check: Check<'c>,
    ) -> Group<'c> {
        Group {
            name,
            files,
            ids,
            check,
            each: None,
        }
    }
    fn each<'c>(
        name: &'static str,
        kind: Kind,
        files: &'static [Kind],
        ids: &'static [Kind],
        check: CheckOne<'c>,
    ) -> Group<'c> {
        Group {
            name,
            files,
            ids,
            check: Box::new(|_| {}),
            each: Some((kind, check)),
        }
    }
    // Independent checks, run in parallel; the caller sorts what they find.
    let groups: [Group<'_>; GROUPS] = [
        group(
            "duplicates",
            &[],
            &[Host, Certificate, Domain, Module, Release, Procedure],
            Box::new(|out| {
                out.extend(duplicate_ids(&content.hosts, "host"));
                out.extend(duplicate_ids(&content.certificates, "certificate"));
                out.extend(duplicate_ids(&content.domains, "domain"));
                out.extend(duplicate_ids(&content.modules, "module"));
                out.extend(duplicate_ids(&content.releases, "release"));
                out.extend(duplicate_ids(&content.procedures, "procedure"));
            }),
        ),
        group(
            "duplicate entries",
            &[],
            &[LogEntry],
            Box::new(|out| out.extend(duplicate_ids(&content.logbook, "logbook entry"))),
        ),
        group(
            "duplicate tickets",
            &[],
            &[Ticket],
            Box::new(|out| out.extend(duplicate_ids(&content.tickets, "ticket"))),
        ),
        group(
            "more duplicates",
            &[],
            &[Service, Site, Feature, AccountSet, News],
            Box::new(|out| {
                out.extend(duplicate_ids(&content.services, "service"));
                out.extend(duplicate_ids(&content.sites, "site"));
                out.extend(duplicate_ids(&content.features, "feature"));
                out.extend(duplicate_ids(&content.account_sets, "account set"));
                out.extend(duplicate_ids(&content.news, "news item"));
            }),
        ),
        group(
            "policy and config",
            &[Policy, Config],
            &[],
            Box::new(|out| {
                if let Some(policy) = &content.policy {
                    out.extend(policy::validate(&policy.data, policy.origin));
                }
                if let Some(config) = &content.config {
                    check_config(config, content, out);
                }
            }),
        ),
        each(
            "hosts",
            Host,
            &[Service],
            &[Host],
            Box::new(|i, out| check_host(&content.hosts[i], content, ids, out)),
        ),
        each(
            "certificates",
            Certificate,
            &[],
            &[Certificate, Host, Procedure],
            Box::new(|i, out| check_certificate(&content.certificates[i], ids, out)),
        ),
        group(
            "releases",
            &[Release],
            &[Module],
            Box::new(|out| check_releases(&content.releases, ids, out)),
        ),
        group(
            "modules",
            &[Module],
            &[],
            Box::new(|out| {
                for module in &content.modules {
                    check_module(module, out);
                }
            }),
        ),
        group(
            "procedures and sites",
            &[Procedure, Site],
            &[],
            Box::new(|out| {
                for procedure in &content.procedures {
                    check_procedure(procedure, out);
                }
                for site in &content.sites {
                    check_site(site, out);
                }
            }),
        ),
        group(
            "logbook",
            &[LogEntry],
            &[Procedure],
            Box::new(|out| check_logbook(&content.logbook, ids, out)),
        ),
        each(
            "tickets",
            Ticket,
            &[Release],
            &[Ticket, Module, Host],
            Box::new(|i, out| check_ticket(&content.tickets[i], content, ids, out)),
        ),
        each(
            "services",
            Service,
            &[Site],
            &[Service, Host],
            Box::new(|i, out| check_service(&content.services[i], content, ids, out)),
        ),
        group(
            "flags",
            &[Feature, AccountSet, Overrides],
            &[],
            Box::new(|out| check_flags(content, out)),
        ),
    ];
    // What a reference to a file waiting for approval says depends on who could sign it.
    let mut pending_stamp = Stamper::new("pending");
    for (path, who) in pending {
        pending_stamp.text(path).text(who);
    }
    let pending_stamp = pending_stamp.finish();
    groups
        .par_iter()
        .zip(memo.groups.par_iter().zip(memo.docs.par_iter()))
        .flat_map_iter(|(group, (memo, docs))| {
            let mut stamp = Stamper::new(group.name);
            stamp.stamp(&pending_stamp);
            content.stamps.add(&mut stamp, group.files);
            for kind in group.ids {
                stamp.stamp(content.stamps.ids(*kind));
            }
            let stamp = stamp.finish();
            if let Some((kind, check)) = &group.each {
                return check_each(content, *kind, check, stamp, docs);
            }
            let found = memo.get(stamp, |_| {
                let mut out = Vec::new();
                (group.check)(&mut out);
                out
            });
            found.value.iter().cloned().collect::<Vec<_>>()
        })
        .collect()
}

/// The findings of a document-by-document group: the previous findings of documents
/// whose files did not change, while the group's other inputs (`stamp`) did not either;
/// every document checked again otherwise.
fn check_each(
    content: &Content,
    kind: Kind,
    check: &CheckOne<'_>,
    stamp: crate::memo::Stamp,
    memo: &Memo<DocFindings>,
) -> Vec<Diagnostic> {
    let hashes = doc_hashes(content, kind);
    let found = memo.get(stamp, |_| Vec::new());
    let previous = if found.fresh {
        None
    } else {
        Some(&*found.value)
    };
    let previous = previous.filter(|p| p.len() == hashes.len());
    let findings: DocFindings = hashes
        .par_iter()
        .enumerate()
        .with_min_len(256)
        .map(|(i, hash)| match previous.and_then(|p| p.get(i)) {
            Some((seen, kept)) if seen == hash => (*hash, kept.clone()),
            _ => {
                let mut out = Vec::new();
                check(i, &mut out);
                (*hash, out)
            }
        })
        .collect();
    let all = findings
        .iter()
        .flat_map(|(_, f)| f.iter().cloned())
        .collect();
    memo.set(stamp, findings);
    all
}

/// The ids of every kind, for reference checks.
struct Ids<'a> {
    hosts: KnownIds<'a>,
    modules: KnownIds<'a>,
    releases: KnownIds<'a>,
    procedures: KnownIds<'a>,
    logbook: KnownIds<'a>,
    services: KnownIds<'a>,
    sites: KnownIds<'a>,
}

/// The ids a reference may name, and the files that exist but still wait for approval
/// (path → who could sign it), so a reference to one of those says so.
struct KnownIds<'a> {
    ids: &'a BTreeSet<String>,
    pending: &'a BTreeMap<String, String>,
}

static NOTHING_PENDING: BTreeMap<String, String> = BTreeMap::new();
static NO_IDS: BTreeSet<String> = BTreeSet::new();

impl<'a> KnownIds<'a> {
    fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }
}

impl<'a> Ids<'a> {
    fn new(declared: &'a DeclaredIds, pending: &'a BTreeMap<String, String>) -> Self {
        let ids = |kind| KnownIds {
            ids: declared.get(&kind).unwrap_or(&NO_IDS),
            pending,
        };
        Self {
            hosts: ids(Kind::Host),
            modules: ids(Kind::Module),
            releases: ids(Kind::Release),
            procedures: ids(Kind::Procedure),
            logbook: ids(Kind::LogEntry),
            services: ids(Kind::Service),
            sites: ids(Kind::Site),
        }
    }
}

/// The document with `id` among `docs` (sorted by id, as loaded).
fn find<'c, T>(docs: &'c [Document<T>], id: &str) -> Option<&'c Document<T>> {
    docs.binary_search_by(|d| d.id.as_str().cmp(id))
        .ok()
        .and_then(|i| docs.get(i))
}

/// Reports `reference` if it is not one of `known`. `what` is the kind ("host"),
/// `file_pattern` where such an entity would live (`hosts/{}.yaml`).
fn check_ref(
    origin: Origin,
    reference: &Ref,
    known: &KnownIds<'_>,
    what: &str,
    file_pattern: &str,
    out: &mut Vec<Diagnostic>,
) {
    if known.contains(reference.as_str()) {
        return;
    }
    let path = file_pattern.replace("{}", reference);
    if let Some(signers) = known.pending.get(&path) {
        out.push(
            Diagnostic::error(
                "pending-reference",
                format!("{what} `{reference}` is not approved yet"),
            )
            .at(origin.at_value(reference))
            .with_help(format!("`{path}` waits for a signature by {signers}")),
        );
        return;
    }
    let diagnostic =
        Diagnostic::error("unknown-reference", format!("unknown {what} `{reference}`"))
            .at(origin.at_value(reference));
    let help = match suggest(reference, known.ids.iter().map(String::as_str)) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!(
            "there is no `{}`; create it or fix the id",
            file_pattern.replace("{}", reference)
        ),
    };
    out.push(diagnostic.with_help(help));
}

fn check_config(config: &Document<SiteConfig>, content: &Content, out: &mut Vec<Diagnostic>) {
    let origin = config.origin;
    let data = &config.data;
    if let Some(url) = &data.base_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        out.push(
            Diagnostic::error(
                "invalid-url",
                format!("`base_url` `{url}` is not an http(s) URL"),
            )
            .at(origin.at_value(url))
            .with_help("write it like `https://ops.example.org/`"),
        );
    }
    for (name, window) in [
        ("certificates", &data.alerts.certificates),
        ("domains", &data.alerts.domains),
    ] {
        if window.critical >= window.warn {
            out.push(
                Diagnostic::error(
                    "invalid-window",
                    format!(
                        "`alerts.{name}.critical` ({}) must be shorter than `warn` ({})",
                        window.critical, window.warn
                    ),
                )
                .at(origin.at_value(window)),
            );
        }
    }
    let mut names = BTreeMap::new();
    for target in &data.sync.targets {
        let t = &target.value;
        let kinds = [t.dir.is_some(), t.command.is_some(), t.git.is_some()];
        if kinds.iter().filter(|set| **set).count() != 1 {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}` must have exactly one of `dir`, `command` and `git`",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if t.keep.is_some() && t.dir.is_none() {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}`: `keep` applies only to a `dir` target",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if t.timeout.is_some() && t.dir.is_some() {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}`: `timeout` applies only to `command` and `git` targets",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if t.keep == Some(0) {
            out.push(
                Diagnostic::error(
                    "invalid-target",
                    format!(
                        "sync target `{}`: `keep` counts the live release too, so it must be at least 1",
                        t.name
                    ),
                )
                .at(origin.at_value(target)),
            );
        }
        if let Some(first) = names.insert(t.name.as_str(), &t.name) {
            out.push(
                Diagnostic::error(
                    "duplicate-id",
                    format!("two sync targets are named `{}`", t.name),
                )
                .at(origin.at_value(&t.name))
                .with_related(origin.at_value(first), "first defined here"),
            );
        }
    }
    let users = content.policy.as_ref().map(|p| &p.data.users);
    for (principal, token) in &data.serve.logbook_tokens {
        if let Some(users) = users
            && !users.contains_key(principal.as_str())
        {
            let help = match suggest(principal, users.keys().map(|k| k.as_str())) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "declare the robot under `users:` in .glassroom/policy.yaml".into(),
            };
            out.push(
                Diagnostic::error("unknown-reference", format!("unknown user `{principal}`"))
                    .at(origin.at_value(principal))
                    .with_help(help),
            );
        }
        let hex = token.strip_prefix("sha256:").unwrap_or("");
        if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            out.push(
                Diagnostic::error(
                    "invalid-token-hash",
                    "a logbook token must be stored as `sha256:` and 64 hex digits",
                )
                .at(origin.at_value(token))
                .with_help("store the hash, never the token: `printf %s \"$TOKEN\" | sha256sum`"),
            );
        }
    }
}

fn check_host(host: &Document<Host>, content: &Content, ids: &Ids<'_>, out: &mut Vec<Diagnostic>) {
    for address in &host.data.addresses {
        if address.parse::<std::net::IpAddr>().is_err() {
            out.push(
                Diagnostic::error("invalid-address", format!("`{address}` is not an IP address"))
                    .at(host.origin.at_value(address))
                    .with_help("list IPv4 or IPv6 addresses, like `192.0.2.10` or `2001:db8::10`; put the DNS name in `name`"),
            );
        }
    }
    for service in &host.data.services {
        check_ref(
            host.origin,
            service,
            &ids.services,
            "service",
            "services/{}.yaml",
            out,
        );
        let runs_here = find(&content.services, service.as_str())
            .is_none_or(|s| s.data.hosts.iter().any(|h| h.as_str() == host.id));
        if !runs_here {
            out.push(
                Diagnostic::error(
                    "inconsistent-reference",
                    format!(
                        "host lists service `{service}`, but that service does not list host `{}`",
                        host.id
                    ),
                )
                .at(host.origin.at_value(service))
                .with_help(format!(
                    "add `{}` to `hosts` in services/{service}.yaml, or remove it here",
                    host.id
                )),
            );
        }
    }
}

fn check_certificate(cert: &Document<Certificate>, ids: &Ids<'_>, out: &mut Vec<Diagnostic>) {
    for host in &cert.data.hosts {
        check_ref(cert.origin, host, &ids.hosts, "host", "hosts/{}.yaml", out);
    }
    if let Some(procedure) = &cert.data.renewal_procedure {
        check_ref(
            cert.origin,
            procedure,
            &ids.procedures,
            "procedure",
            "procedures/{}.md",
            out,
        );
    }
    if let Some(before) = &cert.data.not_before
        && before.value >= cert.data.not_after.value
    {
        out.push(
            Diagnostic::error(
                "impossible-date",
                format!(
                    "`not_after` ({}) is not after `not_before` ({})",
                    cert.data.not_after.value, before.value
                ),
            )
            .at(cert.origin.at_value(&cert.data.not_after)),
        );
    }
}

fn check_releases(releases: &[Document<Release>], ids: &Ids<'_>, out: &mut Vec<Diagnostic>) {
    let mut versions: BTreeMap<(&str, &str), &Document<Release>> = BTreeMap::new();
    for release in releases {
        let data = &release.data;
        check_ref(
            release.origin,
            &data.module,
            &ids.modules,
            "module",
            "modules/{}.yaml",
            out,
        );
        if let Some(first) = versions.insert((data.module.as_str(), data.version.as_str()), release)
        {
            out.push(
                Diagnostic::error(
                    "duplicate-id",
                    format!(
                        "module `{}` already has a release {} in `{}`",
                        data.module, data.version, first.path
                    ),
                )
                .at(release.origin.at_value(&data.version))
                .with_related(
                    first.origin.at_value(&first.data.version),
                    "first defined here",
                ),
            );
        }
        if data.status.value == ReleaseStatus::Released && data.actual.is_none() {
            out.push(
                Diagnostic::error(
                    "missing-date",
                    "a released release needs the date it shipped",
                )
                .at(release.origin.at_value(&data.status))
                .with_help("add `actual: YYYY-MM-DD`"),
            );
        }
    }
}

fn check_procedure(procedure: &Document<Procedure>, out: &mut Vec<Diagnostic>) {
    if let (Some(grace), None) = (&procedure.data.grace, &procedure.data.every) {
        out.push(
            Diagnostic::error("invalid-schedule", "`grace` without `every` has no effect")
                .at(procedure.origin.at_value(grace))
                .with_help("add `every: 7d` (or another interval), or remove `grace`"),
        );
    }
}

fn check_logbook(entries: &[Document<LogEntry>], ids: &Ids<'_>, out: &mut Vec<Diagnostic>) {
    let by_id: BTreeMap<&str, &Document<LogEntry>> =
        entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let on_cycles = reply_cycles(&by_id);
    for entry in entries {
        let data = &entry.data;
        if let Some(procedure) = &data.procedure {
            check_ref(
                entry.origin,
                procedure,
                &ids.procedures,
                "procedure",
                "procedures/{}.md",
                out,
            );
        }
        let date = data.at.value.date().0;
        let folder = format!("logbook/{:04}/{:02}/", date.year(), date.month());
        if !entry.path.starts_with(&folder) {
            out.push(
                Diagnostic::error(
                    "misplaced-entry",
                    format!(
                        "entry is dated {} but filed outside `{folder}`",
                        data.at.value
                    ),
                )
                .at(entry.origin.at_value(&data.at))
                .with_help(format!(
                    "move it to `{folder}{}.md`, or correct `at`",
                    entry.id
                )),
            );
        }
        let Some(parent_ref) = &data.reply_to else {
            continue;
        };
        check_ref(
            entry.origin,
            parent_ref,
            &ids.logbook,
            "logbook entry",
            "logbook/YYYY/MM/{}.md",
            out,
        );
        let Some(parent) = by_id.get(parent_ref.as_str()) else {
            continue;
        };
        if parent.data.at.value > data.at.value {
            out.push(
                Diagnostic::error(
                    "impossible-date",
                    format!(
                        "this reply ({}) is older than the entry it answers ({})",
                        data.at.value, parent.data.at.value
                    ),
                )
                .at(entry.origin.at_value(&data.at))
                .with_related(
                    parent.origin.at_value(&parent.data.at),
                    "the entry answered",
                ),
            );
        }
        if on_cycles.contains(entry.id.as_str()) {
            out.push(
                Diagnostic::error("reply-cycle", "`reply_to` leads back to this entry")
                    .at(entry.origin.at_value(parent_ref))
                    .with_help("a thread starts at an entry without `reply_to`"),
            );
        }
    }
}

/// The entries whose `reply_to` chain leads back to themselves. Each entry is walked
/// once (a chain of 20,000 replies is 20,000 steps, not 20,000 walks of the chain).
fn reply_cycles<'a>(by_id: &BTreeMap<&'a str, &'a Document<LogEntry>>) -> BTreeSet<&'a str> {
    #[derive(Clone, Copy, PartialEq)]
    enum Seen {
        OnPath,
        Done,
    }
    let mut seen: BTreeMap<&str, Seen> = BTreeMap::new();
    let mut on_cycles = BTreeSet::new();
    for &start in by_id.keys() {
        let mut path: Vec<&str> = Vec::new();
        let mut current = Some(start);
        while let Some(id) = current {
            match seen.get(id) {
                Some(Seen::Done) => break,
                Some(Seen::OnPath) => {
                    // The path from `id` on is a cycle.
                    let from = path.iter().position(|p| *p == id).unwrap_or(path.len());
                    on_cycles.extend(path[from..].iter().copied());
                    break;
                }
                None => {
                    seen.insert(id, Seen::OnPath);
                    path.push(id);
                    current = by_id
                        .get(id)
                        .and_then(|entry| entry.data.reply_to.as_ref())
                        .and_then(|parent| by_id.get_key_value(parent.as_str()))
                        .map(|(id, _)| *id);
                }
            }
        }
        for id in path {
            seen.insert(id, Seen::Done);
        }
    }
    on_cycles
}

fn check_ticket(
    ticket: &Document<Ticket>,
    content: &Content,
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let data = &ticket.data;
    let origin = ticket.origin;
    if let Some(module) = &data.module {
        check_ref(
            origin,
            module,
            &ids.modules,
            "module",
            "modules/{}.yaml",
            out,
        );
    }
    for host in &data.hosts {
        check_ref(origin, host, &ids.hosts, "host", "hosts/{}.yaml", out);
    }
    if let Some(fixed_in) = &data.fixed_in {
        check_ref(
            origin,
            fixed_in,
            &ids.releases,
            "release",
            "releases/{}.yaml",
            out,
        );
        let release = find(&content.releases, fixed_in.as_str());
        if let (Some(release), Some(module)) = (release, &data.module)
            && release.data.module.as_str() != module.as_str()
        {
            out.push(
                Diagnostic::error(
                    "inconsistent-reference",
                    format!(
                        "release `{fixed_in}` belongs to module `{}`, not to this ticket's module `{module}`",
                        release.data.module
                    ),
                )
                .at(origin.at_value(fixed_in))
                .with_help(format!("name a release of `{module}`, or correct the ticket's `module`")),
            );
        }
    }
    let opened = &data.opened;
    for (field, moment) in [
        ("first_response", &data.first_response),
        ("closed", &data.closed),
    ] {
        if let Some(moment) = moment
            && moment.value < opened.value
        {
            out.push(
                Diagnostic::error(
                    "impossible-date",
                    format!(
                        "`{field}` ({}) is before `opened` ({})",
                        moment.value, opened.value
                    ),
                )
                .at(origin.at_value(moment)),
            );
        }
    }
    let status = &data.status;
    match (&data.closed, status.value.is_open()) {
        (Some(closed), true) => out.push(
            Diagnostic::error("inconsistent-status", "an open ticket has a `closed` time")
                .at(origin.at_value(closed))
                .with_help("set `status: closed` (or `wontfix`), or remove `closed`"),
        ),
        (None, false) => out.push(
            Diagnostic::error(
                "missing-date",
                "a closed ticket needs the time it was closed",
            )
            .at(origin.at_value(status))
            .with_help("add `closed: YYYY-MM-DDTHH:MM:SSZ`"),
        ),
        _ => {}
    }
}

/// The schemes a URL from a file may have to become a link (in a YAML field or in
/// Markdown): anything else (`javascript:`, `data:`, `file:`...) is shown as text.
pub const LINK_SCHEMES: [&str; 3] = ["http", "https", "mailto"];

/// Whether `url` may be the target of a link: it starts with `http://`, `https://` or
/// `mailto:` (in any case) and has no control character (browsers drop tabs and
/// newlines, so `java\tscript:` would be `javascript:`).
pub fn is_web_link(url: &str) -> bool {
    let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
    let scheme_ok = LINK_SCHEMES
        .iter()
        .any(|allowed| scheme.eq_ignore_ascii_case(allowed));
    let rest_ok = match url.get(scheme.len() + 1..) {
        Some(rest) if !scheme.eq_ignore_ascii_case("mailto") => rest.starts_with("//"),
        Some(rest) => !rest.is_empty(),
        None => false,
    };
    scheme_ok && rest_ok && !url.chars().any(char::is_control)
}

fn check_module(module: &Document<Module>, out: &mut Vec<Diagnostic>) {
    if let Some(url) = &module.data.url
        && !is_web_link(url)
    {
        out.push(
            Diagnostic::warning(
                "not-a-link",
                format!("`url` `{}` is not an http, https or mailto URL", url.as_str()),
            )
            .at(module.origin.at_value(url))
            .with_help(
                "it is shown as text, not as a link; write it like `https://git.example.org/shop/billing-api`",
            ),
        );
    }
}

fn check_site(site: &Document<Site>, out: &mut Vec<Diagnostic>) {
    let data = &site.data;
    if data.update.value == UpdateStrategy::Rolling && data.tier_order.is_empty() {
        out.push(
            Diagnostic::error("missing-tiers", "a rolling site needs `tier_order`")
                .at(site.origin.at_value(&data.update))
                .with_help("list the tiers in update order, e.g. `tier_order: [db, app, web]`"),
        );
    }
    let mut seen = BTreeSet::new();
    for tier in &data.tier_order {
        if !seen.insert(tier.as_str()) {
            out.push(
                Diagnostic::error("duplicate-id", format!("tier `{tier}` is listed twice"))
                    .at(site.origin.at_value(tier)),
            );
        }
    }
}

fn check_service(
    service: &Document<Service>,
    content: &Content,
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let data = &service.data;
    check_ref(
        service.origin,
        &data.site,
        &ids.sites,
        "site",
        "sites/{}.yaml",
        out,
    );
    for host in &data.hosts {
        check_ref(
            service.origin,
            host,
            &ids.hosts,
            "host",
            "hosts/{}.yaml",
            out,
        );
    }
    let Some(site) = find(&content.sites, data.site.as_str()) else {
        return;
    };
    if site.data.update.value != UpdateStrategy::Rolling {
        return;
    }
    match &data.tier {
        None => out.push(
            Diagnostic::error(
                "missing-tier",
                format!(
                    "site `{}` updates rolling by tier; this service has no `tier`",
                    site.id
                ),
            )
            .at(service.origin.at_value(&data.site))
            .with_help(format!(
                "add `tier:` with one of: {}",
                site.data
                    .tier_order
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ),
        Some(tier)
            if !site
                .data
                .tier_order
                .iter()
                .any(|t| t.as_str() == tier.as_str()) =>
        {
            let tiers = site.data.tier_order.iter().map(|t| t.as_str());
            let help = match suggest(tier, tiers.clone()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "site `{}` has the tiers: {}",
                    site.id,
                    tiers.collect::<Vec<_>>().join(", ")
                ),
            };
            out.push(
                Diagnostic::error(
                    "unknown-reference",
                    format!("unknown tier `{tier}` of site `{}`", site.id),
                )
                .at(service.origin.at_value(tier))
                .with_help(help),
            );
        }
        Some(_) => {}
    }
}

fn check_flags(content: &Content, out: &mut Vec<Diagnostic>) {
    let types: BTreeMap<&str, FlagType> = content
        .features
        .iter()
        .map(|f| {
            let ty = f
                .data
                .default
                .as_ref()
                .map_or(FlagType::Boolean, |d| d.flag_type());
            (f.id.as_str(), ty)
        })
        .collect();
    let feature_ids: BTreeSet<String> = types.keys().map(|id| (*id).to_owned()).collect();
    let features = KnownIds {
        ids: &feature_ids,
        pending: &NOTHING_PENDING,
    };
    let check_value = |origin: Origin,
                       feature: &Ref,
                       value: &crate::yaml::Spanned<super::types::FlagValue>,
                       out: &mut Vec<Diagnostic>| {
        check_ref(
            origin,
            feature,
            &features,
            "feature",
            "flags/features/{}.yaml",
            out,
        );
        if let Some(expected) = types.get(feature.as_str())
            && value.flag_type() != *expected
        {
            out.push(
                Diagnostic::error(
                    "wrong-type",
                    format!(
                        "feature `{feature}` takes {expected} values, but this is a {}",
                        value.flag_type()
                    ),
                )
                .at(origin.at_value(value))
                .with_help(format!(
                    "the type comes from `default` in flags/features/{feature}.yaml"
                )),
            );
        }
    };
    for feature in &content.features {
        check_feature(feature, out);
    }
    for set in &content.account_sets {
        let mut seen: BTreeMap<&str, &crate::yaml::Spanned<String>> = BTreeMap::new();
        for account in &set.data.accounts {
            if let Some(first) = seen.insert(account.as_str(), account) {
                out.push(
                    Diagnostic::error(
                        "duplicate-account",
                        format!("account `{account}` is listed twice"),
                    )
                    .at(set.origin.at_value(account))
                    .with_related(set.origin.at_value(first), "first listed here")
                    .with_help("remove one of them"),
                );
            }
        }
        for (feature, value) in &set.data.features {
            check_value(set.origin, feature, value, out);
        }
    }
    if let Some(overrides) = &content.overrides {
        for features in overrides.data.values() {
            for (feature, value) in features {
                check_value(overrides.origin, feature, value, out);
            }
        }
    }
    check_set_conflicts(&content.account_sets, out);
}

/// A feature's own fields: the rollout is a percentage, and the value it activates has
/// the feature's type (and exists when the type is not boolean).
fn check_feature(feature: &Document<Feature>, out: &mut Vec<Diagnostic>) {
    let data = &feature.data;
    let origin = feature.origin;
    let ty = data
        .default
        .as_ref()
        .map_or(FlagType::Boolean, |d| d.flag_type());
    if let Some(rollout) = &data.rollout
        && !(0..=100).contains(rollout.get())
    {
        out.push(
            Diagnostic::error(
                "invalid-rollout",
                format!("rollout {rollout} is not a percentage: it must be between 0 and 100"),
            )
            .at(origin.at_value(rollout))
            .with_help("write the share of accounts that get the feature, e.g. `rollout: 10`"),
        );
    }
    match &data.active_value {
        Some(value) if value.flag_type() != ty => out.push(
            Diagnostic::error(
                "wrong-type",
                format!(
                    "feature `{}` takes {ty} values, but this is a {}",
                    feature.id,
                    value.flag_type()
                ),
            )
            .at(origin.at_value(value))
            .with_help("the type comes from `default`"),
        ),
        Some(_) => {}
        None if ty != FlagType::Boolean => {
            let used = if *data.fully_active.get() {
                Some(("fully_active", data.fully_active.span.clone()))
            } else {
                data.rollout
                    .as_ref()
                    .map(|rollout| ("rollout", rollout.span.clone()))
            };
            if let Some((field, span)) = used {
                out.push(
                    Diagnostic::error(
                        "missing-active-value",
                        format!(
                            "`{field}` needs `active_value`: feature `{}` takes {ty} values, \
                             so `true` cannot be the value it activates",
                            feature.id
                        ),
                    )
                    .at(origin.at(&span))
                    .with_help(format!(
                        "add `active_value:` with the {ty} value active accounts get"
                    )),
                );
            }
        }
        None => {}
    }
}

/// Warns where one account is in several account sets that give a feature different
/// values: the set whose id sorts first decides (see docs/flags.md), which may not be
/// what the editor expects. One warning per feature and pair of sets.
fn check_set_conflicts(sets: &[Document<AccountSet>], out: &mut Vec<Diagnostic>) {
    let mut sets_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, set) in sets.iter().enumerate() {
        for account in &set.data.accounts {
            let entry = sets_of.entry(account.as_str()).or_default();
            if entry.last() != Some(&index) {
                entry.push(index);
            }
        }
    }
    // (feature, winner, loser) → (an example account, how many accounts)
    let mut conflicts: BTreeMap<(&str, usize, usize), (&str, usize)> = BTreeMap::new();
    for (account, indexes) in &sets_of {
        if indexes.len() < 2 {
            continue;
        }
        let mut ordered = indexes.clone();
        ordered.sort_by(|a, b| sets[*a].id.cmp(&sets[*b].id));
        for (position, &winner) in ordered.iter().enumerate() {
            for (feature, value) in &sets[winner].data.features {
                for &loser in &ordered[position + 1..] {
                    let Some(other) = sets[loser].data.features.get(feature.as_str()) else {
                        continue;
                    };
                    let earlier = ordered[..position]
                        .iter()
                        .any(|&s| sets[s].data.features.contains_key(feature.as_str()));
                    if other.get() != value.get() && !earlier {
                        let entry = conflicts
                            .entry((feature.as_str(), winner, loser))
                            .or_insert((account, 0));
                        entry.1 += 1;
                    }
                }
            }
        }
    }
    for ((feature, winner, loser), (account, count)) in conflicts {
        let (winner, loser) = (&sets[winner], &sets[loser]);
        let Some(value) = loser.data.features.get(feature) else {
            continue;
        };
        let Some(winning) = winner.data.features.get(feature) else {
            continue;
        };
        let (others, them) = match count {
            1 => (String::new(), "it"),
            n => (format!(" and {} more", n - 1), "them"),
        };
        out.push(
            Diagnostic::warning(
                "conflicting-account-sets",
                format!(
                    "`{feature}` is {} here, but account `{account}`{others} is also in `{}`, \
                     where it is {}; `{}` sorts first, so this value does not apply to {them}",
                    value.get(),
                    winner.id,
                    winning.get(),
                    winner.id,
                ),
            )
            .at(loser.origin.at_value(value))
            .with_related(winner.origin.at_value(winning), "this value is used")
            .with_help(
                "when an account is in several sets, the set whose id sorts first decides; \
                 remove the account from one set or make the values agree",
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::is_web_link;

    #[test]
    fn only_web_and_mail_urls_are_links() {
        for url in [
            "https://git.example.org/shop",
            "HTTP://example.org",
            "mailto:ops@example.org",
        ] {
            assert!(is_web_link(url), "{url}");
        }
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "java\tscript:alert(1)",
            "https://example.org/\nx",
            " https://example.org",
            "data:text/html,x",
            "//evil.example",
            "https:evil",
            "mailto:",
            "file:///etc/passwd",
            "relative/page.html",
            "",
        ] {
            assert!(!is_web_link(url), "{url:?}");
        }
    }
}
