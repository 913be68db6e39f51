//! Checks of the work done on the systems: modules and their releases, procedures and
//! the logbook, tickets.

use std::collections::{BTreeMap, BTreeSet};

use super::super::kind::Kind;
use super::super::logbook::{self, BadReply, Parent, UnknownProcedure};
use super::super::model::*;
use super::super::{Content, Document};
use super::refs::{Ids, KnownIds, check_ref, find};
use crate::diag::Diagnostic;

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
}

pub(super) fn check_logbook(
    entries: &[Document<LogEntry>],
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let known = Logbook {
        procedures: ids.of(Kind::Procedure),
        entries: ids.of(Kind::LogEntry),
        by_id: entries.iter().map(|e| (e.id.as_str(), e)).collect(),
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
