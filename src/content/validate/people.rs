//! Checks of people and the info page: a person's channels name entities that exist,
//! their time zone is an IANA name, their contact data can be linked to; the info page's
//! escalation names people; and, once a repository has people, every field that names
//! someone (a ticket's reporter and assignee, owners, a logbook entry's `by`) names a
//! person or a robot of the policy.
//!
//! Severity: an unknown name is an error, except in a logbook entry's `by`, which is a
//! warning as everywhere else (entries are append-only: one written before its author had
//! a file could never be corrected). A repository without `people/` checks no names, as
//! before people existed.

use std::collections::BTreeMap;

use super::super::kind::Kind;
use super::super::model::Ref;
use super::super::people::{Info, Person};
use super::super::{Content, Document};
use super::refs::Ids;
use crate::diag::{Diagnostic, FileId, Files, Location};
use crate::suggest::suggest;
use crate::trust::policy::POLICY_PATH;

pub(super) fn check_person(
    person: &Document<Person>,
    content: &Content,
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let data = &person.data;
    let origin = person.origin;
    for channel in &data.subscribe {
        if let Some((kind, id)) = channel.entity() {
            let reference = Ref::new(id.to_owned(), channel.span.clone());
            ids.check(origin, &reference, Kind::from(kind), out);
        }
    }
    if let Some(zone) = &data.time_zone
        && jiff::tz::TimeZone::get(zone).is_err()
    {
        let names = jiff::tz::db().available();
        let names: Vec<String> = names.map(|n| n.to_string()).collect();
        let help = match suggest(zone, names.iter().map(String::as_str)) {
            Some(near) => format!("did you mean `{near}`?"),
            None => "write an IANA time zone name, like `Europe/Berlin` or `UTC`".to_owned(),
        };
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("unknown time zone `{}`", zone.value),
            )
            .at(origin.at_value(zone))
            .with_help(help),
        );
    }
    if let Some(email) = &data.email
        && !is_email(email)
    {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not an email address", email.value),
            )
            .at(origin.at_value(email))
            .with_help("write it like `alice@example.org`"),
        );
    }
    if let Some(phone) = &data.phone
        && !is_phone(phone)
    {
        out.push(
            Diagnostic::error(
                "invalid-value",
                format!("`{}` is not a telephone number", phone.value),
            )
            .at(origin.at_value(phone))
            .with_help("write it as dialled, with digits, spaces, `+`, `-`, `(` and `)`: `+49 555 0100 200`"),
        );
    }
    let robot = content
        .policy
        .as_ref()
        .and_then(|p| p.data.users.get(person.id.as_str()))
        .is_some_and(|user| user.robot);
    if robot {
        out.push(
            Diagnostic::error(
                "robot-person",
                format!("`{}` is a robot of the policy, not a person", person.id),
            )
            .at(Location::file_start(person.file()))
            .with_help(format!(
                "robots stay principals of `{POLICY_PATH}`; remove `{}`",
                person.path
            )),
        );
    }
}

/// Whether `text` looks like an email address: one `@` with text on both sides, no
/// space, no control character.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.contains('@')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Whether `text` is a telephone number as dialled (what a `tel:` link may hold).
fn is_phone(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
}

pub(super) fn check_info(info: &Document<Info>, ids: &Ids<'_>, out: &mut Vec<Diagnostic>) {
    for (index, level) in info.data.escalation.iter().enumerate() {
        if level.people.is_empty() {
            out.push(
                Diagnostic::error(
                    "missing-field",
                    format!("escalation level {} names nobody", index + 1),
                )
                .at(Location::file_start(info.file()))
                .with_help("list the ids of `people/<id>.yaml` under `people:`"),
            );
        }
        for person in &level.people {
            ids.check(info.origin, person, Kind::Person, out);
        }
    }
}

/// Who the repository's names may be: the people (by file) and the policy's users
/// (name → robot).
struct Names<'a> {
    people: &'a std::collections::BTreeSet<String>,
    users: BTreeMap<&'a str, bool>,
    files: &'a Files,
}

impl Names<'_> {
    /// Reports `name`, written under `key` in `file`, if it is neither a person nor a
    /// robot.
    fn check(&self, file: FileId, key: &str, name: &str, warning: bool, out: &mut Vec<Diagnostic>) {
        if self.people.contains(name) || self.users.get(name) == Some(&true) {
            return;
        }
        let candidates = self
            .people
            .iter()
            .map(String::as_str)
            .chain(self.users.iter().filter(|(_, r)| **r).map(|(n, _)| *n));
        let help = match suggest(name, candidates) {
            Some(near) => format!("did you mean `{near}`?"),
            None if self.users.contains_key(name) => format!(
                "`{name}` is a user of `{POLICY_PATH}` but has no `people/{name}.yaml`; create it"
            ),
            None => format!(
                "there is no `people/{name}.yaml`; create it, or name a person (or a robot of `{POLICY_PATH}`)"
            ),
        };
        let message = format!("`{key}` names `{name}`, who is not a person");
        let diagnostic = if warning {
            Diagnostic::warning("unknown-person", message)
        } else {
            Diagnostic::error("unknown-person", message)
        };
        let at = line_of(self.files, file, key, name);
        out.push(diagnostic.at(at).with_help(help));
    }
}

/// Once the repository has people, every field that names someone names a person (or a
/// robot of the policy).
pub(super) fn check_names(content: &Content, ids: &Ids<'_>, out: &mut Vec<Diagnostic>) {
    let people = ids.of(Kind::Person).ids;
    if people.is_empty() {
        return;
    }
    let names = Names {
        people,
        users: content.policy.as_ref().map_or_else(BTreeMap::new, |p| {
            p.data
                .users
                .iter()
                .map(|(name, user)| (name.as_str(), user.robot))
                .collect()
        }),
        files: &content.files,
    };
    for ticket in &content.tickets {
        let file = ticket.file();
        names.check(file, "reporter", &ticket.data.reporter, false, out);
        if let Some(assignee) = &ticket.data.assignee {
            names.check(file, "assignee", assignee, false, out);
        }
    }
    for module in &content.modules {
        for owner in &module.data.owners {
            names.check(module.file(), "owners", owner, false, out);
        }
    }
    let owners = content
        .procedures
        .iter()
        .map(|d| (d.file(), &d.data.owner))
        .chain(content.hosts.iter().map(|d| (d.file(), &d.data.owner)))
        .chain(content.features.iter().map(|d| (d.file(), &d.data.owner)));
    for (file, owner) in owners {
        if let Some(owner) = owner {
            names.check(file, "owner", owner, false, out);
        }
    }
    for news in &content.news {
        if let Some(author) = &news.data.author {
            names.check(news.file(), "author", author, false, out);
        }
    }
    // A warning: entries are append-only (see `check_logbook`).
    for entry in &content.logbook {
        names.check(entry.file(), "by", &entry.data.by, true, out);
    }
}

/// Where `value` is written under the top-level `key` of `file` (the key's line, or the
/// list items below it): for fields kept without their position. The file's start if it
/// is not found.
pub(super) fn line_of(files: &Files, file: FileId, key: &str, value: &str) -> Location {
    let text = files.text(file);
    let prefix = format!("{key}:");
    let mut offset = 0;
    let mut found_key: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let at_key = !key.is_empty() && line.starts_with(&prefix);
        let in_list = found_key.is_some() && line.starts_with([' ', '-', '\t']);
        if at_key || in_list {
            found_key.get_or_insert(offset);
            if let Some(start) = find_word(line, value) {
                let start = offset + start;
                return Location::new(file, start..start + value.len());
            }
        } else if found_key.is_some() {
            break;
        }
        offset += line.len();
    }
    match found_key {
        Some(start) => Location::new(file, start..start + key.len()),
        None => Location::file_start(file),
    }
}

/// The offset of `word` in `line` where it stands alone (not part of a longer id),
/// after the key.
fn find_word(line: &str, word: &str) -> Option<usize> {
    if word.is_empty() {
        return None;
    }
    let is_id = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let start_search = line.find(':').map_or(0, |i| i + 1);
    let mut from = start_search.min(line.len());
    // A list item (`  - bob`) has no key: search it whole.
    if line.trim_start().starts_with('-') {
        from = 0;
    }
    while let Some(found) = line.get(from..)?.find(word) {
        let start = from + found;
        let end = start + word.len();
        let before = line[..start].chars().next_back();
        let after = line[end..].chars().next();
        if !before.is_some_and(is_id) && !after.is_some_and(is_id) {
            return Some(start);
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones() {
        assert!(is_email("alice@example.org"));
        assert!(!is_email("alice"));
        assert!(!is_email("alice@example"));
        assert!(!is_email("al ice@example.org"));
        assert!(is_phone("+49 555 0100 200"));
        assert!(is_phone("(0555) 100-200"));
        assert!(!is_phone("call me"));
        assert!(!is_phone("+49 555 x"));
    }

    #[test]
    fn a_name_is_found_on_its_key_s_line_or_in_the_list_below() {
        assert_eq!(find_word("assignee: bbo\n", "bbo"), Some(10));
        assert_eq!(find_word("owners: [bobby, bob]\n", "bob"), Some(16));
        assert_eq!(find_word("  - bob\n", "bob"), Some(4));
        assert_eq!(find_word("by: bob-2\n", "bob"), None);
    }
}
