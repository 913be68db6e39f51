//! Checks that span files: references resolve, ids are unique, dates are consistent.
//!
//! The checks come in groups, each reading a few kinds of file. A [`Checks`] memo keeps
//! each group's findings with the fingerprints of what it read, so a load that changed
//! one ticket runs the ticket checks again and nothing else.

mod config;
mod flags;
mod infrastructure;
mod people;
mod refs;
#[cfg(test)]
mod tests;
mod work;

use rayon::prelude::*;
use std::collections::BTreeMap;

use super::Content;
use super::kind::{DeclaredIds, Kind};
use super::logbook::ABOUT_KINDS;
use crate::diag::Diagnostic;
use crate::memo::{Memo, Stamper};
use crate::trust::policy;
use config::check_config;
use flags::check_flags;
use infrastructure::{check_certificate, check_host, check_service, check_site};
use people::{check_info, check_names, check_person};
use refs::{Ids, duplicate_ids};
use work::{check_logbook, check_module, check_procedure, check_releases, check_ticket};

pub use work::{LINK_SCHEMES, is_web_link};

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
const GROUPS: usize = 16;

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

/// What subscriptions and the info page may name: people, and whatever a logbook entry
/// may be about.
const PERSON_IDS: [Kind; ABOUT_KINDS.len() + 1] = {
    let mut ids = [Kind::Person; ABOUT_KINDS.len() + 1];
    let mut i = 0;
    while i < ABOUT_KINDS.len() {
        ids[i + 1] = ABOUT_KINDS[i];
        i += 1;
    }
    ids
};

/// The groups that look for ids that occur twice: every kind of one file per entity is
/// in one of them (a test makes sure), the kinds often changed alone in their own.
const DUPLICATES: [(&str, &[Kind]); 4] = {
    use Kind::*;
    [
        (
            "duplicates",
            &[Host, Certificate, Domain, Module, Release, Procedure],
        ),
        ("duplicate entries", &[LogEntry]),
        ("duplicate tickets", &[Ticket]),
        (
            "more duplicates",
            &[Service, Site, Feature, AccountSet, News, Person],
        ),
    ]
};

/// The hash of the file of every document of `kind`, in order.
fn doc_hashes(content: &Content, kind: Kind) -> Vec<blake3::Hash> {
    let docs = content.shelf(kind);
    (0..docs.len())
        .filter_map(|i| docs.head(i))
        .map(|d| {
            content
                .files
                .hash(d.file())
                .unwrap_or_else(|| blake3::hash(content.files.text(d.file()).as_bytes()))
        })
        .collect()
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
    // Ids that occur twice, in every kind of one file per entity.
    let duplicates = |(name, kinds): (&'static str, &'static [Kind])| {
        let check: Check<'_> = Box::new(move |out: &mut Vec<Diagnostic>| {
            for &kind in kinds {
                out.extend(duplicate_ids(content.shelf(kind), kind));
            }
        });
        group(name, &[], kinds, check)
    };
    // Independent checks, run in parallel; the caller sorts what they find.
    let groups: [Group<'_>; GROUPS] = [
        duplicates(DUPLICATES[0]),
        duplicates(DUPLICATES[1]),
        duplicates(DUPLICATES[2]),
        duplicates(DUPLICATES[3]),
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
            &[LogEntry, Policy],
            &ABOUT_KINDS,
            Box::new(|out| check_logbook(content, ids, out)),
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
            "people and the info page",
            &[Person, Info, Policy],
            &PERSON_IDS,
            Box::new(|out| {
                for person in &content.people {
                    check_person(person, content, ids, out);
                }
                if let Some(info) = &content.info {
                    check_info(info, ids, out);
                }
            }),
        ),
        // Once there are people, every name is one of them (or a robot).
        group(
            "names",
            &[
                Ticket, LogEntry, Module, Procedure, Host, Feature, News, Policy,
            ],
            &[Person],
            Box::new(|out| check_names(content, ids, out)),
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
