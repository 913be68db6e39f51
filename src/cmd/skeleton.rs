//! The skeleton files `glassroom new KIND [ID]` writes, as text: pure (the repository's
//! ids, the author and the moment are arguments). Every kind with one file per entity
//! has one, chosen by a `match` over [`Kind`] that the compiler holds complete; each
//! passes `glassroom check` in a repository made by `glassroom init` (tested in
//! `tests/init.rs`).

use std::collections::BTreeSet;

use super::scaffold::quote;
use crate::content::types::Moment;
use crate::content::{Kind, Place, is_valid_id};

/// What a skeleton may refer to: the ids the repository has of the kinds it needs.
#[derive(Debug, Default)]
pub struct Known {
    pub modules: BTreeSet<String>,
    pub sites: BTreeSet<String>,
    pub hosts: BTreeSet<String>,
    pub tickets: BTreeSet<String>,
}

/// Why no skeleton could be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SkeletonError {
    #[error(
        "unknown kind `{0}`: write one of {list}",
        list = kind_names().join(", ")
    )]
    UnknownKind(String),
    #[error(
        "`{0}` is not a valid id: use letters, digits, `.`, `_` and `-`, starting with a letter or digit"
    )]
    InvalidId(String),
    #[error("a {noun} needs an id: `glassroom new {name} ID` (it becomes the file name)")]
    NeedsId { noun: &'static str, name: String },
    #[error(
        "a {noun} refers to a {needed}, and the repository has none: create one first with `glassroom new {needed} ID`"
    )]
    Needs {
        noun: &'static str,
        needed: &'static str,
    },
    #[error("`{0}` is one file, not a kind of entity: `glassroom init` writes it; edit it instead")]
    SingleFile(&'static str),
}

/// The name a kind is given on the command line: its noun with `-` for spaces (`host`,
/// `logbook-entry`, `account-set`).
fn command_name(kind: Kind) -> String {
    kind.noun().replace(' ', "-")
}

/// The names `glassroom new` accepts, one per kind of entity.
pub fn kind_names() -> Vec<String> {
    Kind::ALL
        .into_iter()
        .filter(|k| !matches!(k.place(), Place::File { .. }))
        .map(command_name)
        .collect()
}

/// The kind `text` names: its noun (`host`, `logbook-entry`, `account-set`, `person`) or
/// its directory's name (`hosts`, `logbook`, `account_sets`, `people`, `news`), with `-`
/// or `_` for spaces.
pub fn parse_kind(text: &str) -> Result<Kind, SkeletonError> {
    let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
    for kind in Kind::ALL {
        let names = [command_name(kind), kind.name().replace('_', "-")];
        if names.contains(&wanted) {
            return match kind.place() {
                Place::File { path, .. } => Err(SkeletonError::SingleFile(path)),
                _ => Ok(kind),
            };
        }
    }
    Err(SkeletonError::UnknownKind(text.to_owned()))
}

/// A new file: its path in the repository and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skeleton {
    pub id: String,
    pub path: String,
    pub text: String,
}

/// The skeleton of a `kind` with `id` (or a chosen one), by `by`, at `now`.
pub fn skeleton(
    kind: Kind,
    id: Option<&str>,
    by: &str,
    now: Moment,
    known: &Known,
) -> Result<Skeleton, SkeletonError> {
    let id = match id {
        Some(id) if is_valid_id(id) => id.to_owned(),
        Some(id) => return Err(SkeletonError::InvalidId(id.to_owned())),
        None => default_id(kind, now, known)?,
    };
    let today = now.date();
    let later = |days: i64| {
        today
            .0
            .checked_add(jiff::Span::new().days(days))
            .map_or_else(|_| today.to_string(), |d| d.to_string())
    };
    let title = quote(&title_of(&id));
    let first = |ids: &BTreeSet<String>, needed: &'static str| {
        ids.iter().next().cloned().ok_or(SkeletonError::Needs {
            noun: kind.noun(),
            needed,
        })
    };
    let text = match kind {
        Kind::Config | Kind::Policy | Kind::Overrides | Kind::Info => {
            return Err(SkeletonError::SingleFile(match kind.place() {
                Place::File { path, .. } => path,
                _ => "",
            }));
        }
        Kind::Host => format!(
            "name: {id}
description: What this host is for.
addresses: []          # [192.0.2.10, \"2001:db8::10\"]
# os: Debian 12 (bookworm)
# location: Rack A1
# ssh: deploy@{id}:22  # where `glassroom run` connects (default: name)
owner: {by}
services: []           # ids of services/<id>.yaml running here
"
        ),
        Kind::Certificate => format!(
            "common_name: {id}
# alt_names: [www.example.org]
# issuer: Let's Encrypt
not_after: {}          # the expiry date: alerts come 30 and 7 days before
hosts: []              # ids of hosts/<id>.yaml serving it
# renewal_procedure: renew-certificates
",
            later(90)
        ),
        Kind::Domain => format!(
            "domain_name: {id}
# registrar: Example Registrar
expires: {}
# last_paid: {today}
# by_whom_paid: {by}
auto_renew: false
",
            later(365)
        ),
        Kind::Module => format!(
            "name: {title}
kind: custom           # custom or packaged
description: What this software does.
owners: [{by}]
current_version: \"0.1.0\"
"
        ),
        Kind::Release => {
            // The module whose id starts the release's (`website-1.2.0`), else the first.
            let module = known
                .modules
                .iter()
                .filter(|m| id.starts_with(&format!("{m}-")))
                .max_by_key(|m| m.len())
                .cloned()
                .map_or_else(|| first(&known.modules, "module"), Ok)?;
            let version = id
                .strip_prefix(&format!("{module}-"))
                .filter(|v| !v.is_empty())
                .unwrap_or("0.1.0");
            format!(
                "module: {module}
version: {}
status: planned        # planned, in_progress, released or cancelled
planned: {}
# actual: {today}
notes: What this release brings.
",
                quote(version),
                later(14)
            )
        }
        Kind::Procedure => format!(
            "---
title: {title}
every: 30d             # how often it is due (a logbook entry doing it resets the clock)
grace: 7d
owner: {by}
---
1. The first step.
2. The second step.
3. Log it: `glassroom log {id} --by {by} --disposition ok`.
"
        ),
        Kind::LogEntry => format!(
            "---
at: {now}
by: {by}
# procedure: renew-certificates
# about: host/web1
disposition: info      # ok, info, problem, acknowledged, ignored, belay or end
---
What was done, and what was seen.
"
        ),
        Kind::Ticket => format!(
            "---
title: What is wrong, in one line
kind: bug              # bug or feature
# module: website
priority: normal       # low, normal, high or critical
status: open           # open, in_progress, closed or wontfix
reporter: {by}
opened: {now}
---
What happens, what was expected, and how to see it.
"
        ),
        Kind::Site => format!(
            "title: {title}
description: What this site serves.
update: all-at-once    # or rolling, with tier_order
# runnable: true       # `glassroom run` may carry out its plans (every service needs all five commands)
"
        ),
        Kind::Service => {
            let site = first(&known.sites, "site")?;
            let host = first(&known.hosts, "host")?;
            format!(
                "name: {title}
site: {site}
hosts: [{host}]
startup_rank: 10       # started in ascending, stopped in descending order
commands:
  start: systemctl start {id}
  stop: systemctl stop {id}
  status: systemctl is-active {id}
  # install: apt-get install -y {id}
  # configure: systemctl reload {id}
"
            )
        }
        Kind::Feature => format!(
            "description: What this flag turns on.
owner: {by}
fully_active: false
default: false
"
        ),
        Kind::AccountSet => "description: Who is in this set.
accounts: []
features: {}           # feature id: value for these accounts
"
        .to_owned(),
        Kind::News => format!(
            "---
title: {title}
date: {now}
author: {by}
---
What happened, and what it means for readers.
"
        ),
        Kind::Person => format!(
            "name: {title}
# email: someone@example.org
# phone: \"+49 555 0100 200\"
# team: Operations
subscribe: []          # channels to follow: certificate:*, site:main, ...
"
        ),
    };
    let path = match kind.place() {
        Place::Months { .. } => format!("{}/{id}.md", crate::content::logbook::month_folder(now)),
        place => place.path_of(&id),
    };
    Ok(Skeleton { id, path, text })
}

/// The id when none is given: the next free `t-<n>` for a ticket, the time for a
/// logbook entry (as `glassroom log` names one) and the date for news.
fn default_id(kind: Kind, now: Moment, known: &Known) -> Result<String, SkeletonError> {
    let stamp = now.0.to_zoned(jiff::tz::TimeZone::UTC);
    let date = now.date();
    match kind {
        Kind::Ticket => {
            let highest = known
                .tickets
                .iter()
                .filter_map(|id| id.strip_prefix("t-")?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            Ok(format!("t-{}", highest + 1))
        }
        Kind::LogEntry => Ok(format!(
            "{date}-{:02}{:02}{:02}-note",
            stamp.hour(),
            stamp.minute(),
            stamp.second()
        )),
        Kind::News => Ok(format!("{date}-news")),
        _ => Err(SkeletonError::NeedsId {
            noun: kind.noun(),
            name: command_name(kind),
        }),
    }
}

/// A readable title from an id: `renew-certificates` → `Renew certificates`.
fn title_of(id: &str) -> String {
    let words = id.replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Moment {
        "2026-11-22T10:05:09Z".parse().expect("moment")
    }

    #[test]
    fn kinds_are_named_by_noun_or_directory() {
        assert_eq!(parse_kind("host"), Ok(Kind::Host));
        assert_eq!(parse_kind("logbook"), Ok(Kind::LogEntry));
        assert_eq!(parse_kind("logbook-entry"), Ok(Kind::LogEntry));
        assert_eq!(parse_kind("account-set"), Ok(Kind::AccountSet));
        assert_eq!(parse_kind("account_sets"), Ok(Kind::AccountSet));
        assert_eq!(parse_kind("people"), Ok(Kind::Person));
        assert_eq!(parse_kind("news"), Ok(Kind::News));
        assert!(matches!(
            parse_kind("overrides"),
            Err(SkeletonError::SingleFile(_))
        ));
        let err = parse_kind("hots").expect_err("unknown");
        assert!(err.to_string().contains("host, certificate"), "{err}");
    }

    #[test]
    fn ids_are_chosen_where_that_makes_sense() {
        let known = Known {
            tickets: ["t-1", "t-9", "other"].map(str::to_owned).into(),
            ..Known::default()
        };
        let ticket = skeleton(Kind::Ticket, None, "alice", now(), &known).expect("ticket");
        assert_eq!(ticket.path, "tickets/t-10.md");
        let entry = skeleton(Kind::LogEntry, None, "alice", now(), &known).expect("entry");
        assert_eq!(entry.path, "logbook/2026/11/2026-11-22-100509-note.md");
        assert!(
            entry.text.contains("at: 2026-11-22T10:05:09Z"),
            "{}",
            entry.text
        );
        assert_eq!(
            skeleton(Kind::Host, None, "alice", now(), &known),
            Err(SkeletonError::NeedsId {
                noun: "host",
                name: "host".to_owned()
            })
        );
        assert!(matches!(
            skeleton(Kind::Host, Some("../x"), "alice", now(), &known),
            Err(SkeletonError::InvalidId(_))
        ));
    }

    #[test]
    fn references_go_to_what_exists_or_say_what_to_create() {
        let empty = Known::default();
        let err = skeleton(Kind::Service, Some("db"), "a", now(), &empty).expect_err("no site");
        assert!(err.to_string().contains("glassroom new site"), "{err}");
        let known = Known {
            modules: ["web", "website"].map(str::to_owned).into(),
            ..Known::default()
        };
        let release =
            skeleton(Kind::Release, Some("website-2.0.1"), "a", now(), &known).expect("release");
        assert!(
            release
                .text
                .starts_with("module: website\nversion: \"2.0.1\"")
        );
    }
}
