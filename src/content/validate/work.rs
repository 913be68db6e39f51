//! Checks of the work done on the systems: modules and their releases, procedures and
//! the logbook, tickets.

use std::collections::{BTreeMap, BTreeSet};

use super::super::kind::Kind;
use super::super::logbook::{self, BadAbout, BadReply, Parent, Principal, UnknownProcedure};
use super::super::model::*;
use super::super::{Content, Document};
use super::refs::{Ids, KnownIds, check_ref, find};
use crate::diag::{Diagnostic, Location};

pub(super) fn check_releases(
    releases: &[Document<Release>],
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let mut versions: BTreeMap<(&str, &str), &Document<Release>> = BTreeMap::new();
    for release in releases {
        let data = &release.data;
        ids.check(release.origin, &data.module, Kind::Module, out);
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

pub(super) fn check_procedure(procedure: &Document<Procedure>, out: &mut Vec<Diagnostic>) {
    if let (Some(grace), None) = (&procedure.data.grace, &procedure.data.every) {
        out.push(
            Diagnostic::error("invalid-schedule", "`grace` without `every` has no effect")
                .at(procedure.origin.at_value(grace))
                .with_help("add `every: 7d` (or another interval), or remove `grace`"),
        );
    }
}

/// What the logbook rules look up, as validation knows it: the ids of every file (a
/// reference to a file that does not parse is not dangling), and the entries that parsed.
struct Logbook<'a> {
    procedures: KnownIds<'a>,
    entries: KnownIds<'a>,
    by_id: BTreeMap<&'a str, &'a Document<LogEntry>>,
    ids: &'a Ids<'a>,
    /// The users of the policy (name → robot), if there is a policy.
    users: Option<BTreeMap<&'a str, bool>>,
}

impl logbook::Known for Logbook<'_> {
    fn has_procedure(&self, id: &str) -> bool {
        self.procedures.ids.contains(id)
    }

    fn parent(&self, id: &str) -> Parent {
        match self.by_id.get(id) {
            Some(parent) => Parent::At(parent.data.at.value),
            None if self.entries.ids.contains(id) => Parent::Undated,
            None => Parent::Unknown,
        }
    }

    fn has(&self, kind: Kind, id: &str) -> bool {
        self.ids.of(kind).ids.contains(id)
    }

    fn principal(&self, name: &str) -> Principal {
        Principal::of(self.users.as_ref(), name)
    }
}

pub(super) fn check_logbook(content: &Content, ids: &Ids<'_>, out: &mut Vec<Diagnostic>) {
    let entries = &content.logbook;
    let files = &content.files;
    let policy = content.policy.as_ref().map(|p| &p.data);
    let known = Logbook {
        procedures: ids.of(Kind::Procedure),
        entries: ids.of(Kind::LogEntry),
        by_id: entries.iter().map(|e| (e.id.as_str(), e)).collect(),
        ids,
        users: policy.map(|policy| {
            policy
                .users
                .iter()
                .map(|(name, user)| (name.as_str(), user.robot))
                .collect()
        }),
    };
    let on_cycles = reply_cycles(&known.by_id);
    for entry in entries {
        let data = &entry.data;
        if let Some(procedure) = &data.procedure
            && let Err(UnknownProcedure) = logbook::check_procedure(procedure, &known)
        {
            check_ref(
                entry.origin,
                procedure,
                &known.procedures,
                Kind::Procedure,
                out,
            );
        }
        if let Some(about) = &data.about {
            check_about(entry, about, &known, out);
        }
        if let Some(until) = &data.until
            && logbook::check_until(data.disposition, true).is_err()
        {
            out.push(
                Diagnostic::error(
                    "invalid-field",
                    "`until` bounds an acknowledgement, and this entry acknowledges nothing",
                )
                .at(entry.origin.at_value(until))
                .with_help("add `disposition: acknowledged`, or remove `until`"),
            );
        }
        if logbook::check_by(&data.by, &known).is_err() {
            let users = known.users.iter().flat_map(|u| u.keys().copied());
            let help = match crate::suggest::suggest(&data.by, users) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "`by` is a user of `{}` (a person or a robot); add them there, or correct the name",
                    crate::trust::policy::POLICY_PATH
                ),
            };
            // A warning: entries are append-only, so one written before the rule (or
            // by a name since removed from the policy) could never be corrected.
            out.push(
                Diagnostic::warning(
                    "unknown-principal",
                    format!("`{}` is not a user of the policy", data.by),
                )
                .at(line_of_key(files, entry, "by"))
                .with_help(help),
            );
        }
        let folder = logbook::month_folder(data.at.value);
        let filed = entry
            .path
            .strip_prefix(&folder)
            .is_some_and(|rest| rest.starts_with('/'));
        if !filed {
            out.push(
                Diagnostic::error(
                    "misplaced-entry",
                    format!(
                        "entry is dated {} but filed outside `{folder}/`",
                        data.at.value
                    ),
                )
                .at(entry.origin.at_value(&data.at))
                .with_help(format!(
                    "move it to `{folder}/{}.md`, or correct `at`",
                    entry.id
                )),
            );
        }
        let Some(parent_ref) = &data.reply_to else {
            continue;
        };
        match logbook::check_reply(parent_ref, data.at.value, &known) {
            Ok(()) => {}
            Err(BadReply::UnknownParent) => check_ref(
                entry.origin,
                parent_ref,
                &known.entries,
                Kind::LogEntry,
                out,
            ),
            Err(BadReply::BeforeParent { parent_at }) => {
                if let Some(parent) = known.by_id.get(parent_ref.as_str()) {
                    out.push(
                        Diagnostic::error(
                            "impossible-date",
                            format!(
                                "this reply ({}) is older than the entry it answers ({parent_at})",
                                data.at.value
                            ),
                        )
                        .at(entry.origin.at_value(&data.at))
                        .with_related(
                            parent.origin.at_value(&parent.data.at),
                            "the entry answered",
                        ),
                    );
                }
            }
        }
        if !known.by_id.contains_key(parent_ref.as_str()) {
            continue;
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

/// Where the value of the top-level `key` of an entry's front matter is (the file's
/// start if the line is not found): for fields kept without their position.
fn line_of_key(files: &crate::diag::Files, entry: &Document<LogEntry>, key: &str) -> Location {
    let text = files.text(entry.file());
    let prefix = format!("{key}:");
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix(&prefix) {
            let value = rest.trim();
            let start = offset + prefix.len() + (rest.len() - rest.trim_start().len());
            return Location::new(entry.file(), start..start + value.len());
        }
        offset += line.len();
    }
    Location::file_start(entry.file())
}

/// Reports an `about` that is not `<kind>/<id>` of an existing entity.
fn check_about(
    entry: &Document<LogEntry>,
    about: &Ref,
    known: &Logbook<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let Err(bad) = logbook::check_about(about, known) else {
        return;
    };
    let at = entry.origin.at_value(about);
    let help = match &bad {
        BadAbout::Shape | BadAbout::UnknownKind(_) => {
            let noun = about
                .split_once('/')
                .map_or(about.as_str(), |(noun, _)| noun);
            let kinds = logbook::ABOUT_KINDS.map(Kind::noun);
            match crate::suggest::suggest(noun, kinds) {
                Some(near) if noun != near => format!("did you mean `{near}/…`?"),
                _ => format!(
                    "write `<kind>/<id>`, like `host/web1`; the kinds are {}",
                    logbook::about_kinds()
                ),
            }
        }
        BadAbout::UnknownId { kind, id } => {
            let ids = known.ids.of(*kind);
            match crate::suggest::suggest(id, ids.ids.iter().map(String::as_str)) {
                Some(near) => format!("did you mean `{}/{near}`?", kind.noun()),
                None => format!(
                    "there is no `{}`; create it or fix the id",
                    kind.place().path_of(id)
                ),
            }
        }
    };
    out.push(
        Diagnostic::error("unknown-reference", bad.message(about))
            .at(at)
            .with_help(help),
    );
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

pub(super) fn check_ticket(
    ticket: &Document<Ticket>,
    content: &Content,
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let data = &ticket.data;
    let origin = ticket.origin;
    if let Some(module) = &data.module {
        ids.check(origin, module, Kind::Module, out);
    }
    for host in &data.hosts {
        ids.check(origin, host, Kind::Host, out);
    }
    if let Some(fixed_in) = &data.fixed_in {
        ids.check(origin, fixed_in, Kind::Release, out);
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

pub(super) fn check_module(module: &Document<Module>, out: &mut Vec<Diagnostic>) {
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
