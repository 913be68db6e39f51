//! References between files: the ids a reference may name, the check that it names one,
//! and ids that occur twice.

use std::collections::{BTreeMap, BTreeSet};

use super::super::Document;
use super::super::kind::{DeclaredIds, Kind};
use super::super::model::Ref;
use super::super::shelf::Shelf;
use crate::diag::{Diagnostic, Location, Origin};
use crate::suggest::suggest;

/// The ids of every kind, for reference checks.
pub(super) struct Ids<'a> {
    declared: &'a DeclaredIds,
    pending: &'a BTreeMap<String, String>,
}

/// The ids a reference may name, and the files that exist but still wait for approval
/// (path → who could sign it), so a reference to one of those says so.
pub(super) struct KnownIds<'a> {
    pub ids: &'a BTreeSet<String>,
    pub pending: &'a BTreeMap<String, String>,
}

pub(super) static NOTHING_PENDING: BTreeMap<String, String> = BTreeMap::new();
static NO_IDS: BTreeSet<String> = BTreeSet::new();

impl KnownIds<'_> {
    fn contains(&self, id: &str) -> bool {
        self.ids.contains(id)
    }
}

impl<'a> Ids<'a> {
    pub fn new(declared: &'a DeclaredIds, pending: &'a BTreeMap<String, String>) -> Self {
        Self { declared, pending }
    }

    /// The ids of `kind`: every file of the kind, whether or not it parsed.
    pub fn of(&self, kind: Kind) -> KnownIds<'a> {
        KnownIds {
            ids: self.declared.get(&kind).unwrap_or(&NO_IDS),
            pending: self.pending,
        }
    }

    /// Reports `reference` if it is not an id of `kind` ([`check_ref`]).
    pub fn check(&self, origin: Origin, reference: &Ref, kind: Kind, out: &mut Vec<Diagnostic>) {
        check_ref(origin, reference, &self.of(kind), kind, out);
    }
}

/// The document with `id` among `docs` (sorted by id, as loaded).
pub(super) fn find<'c, T>(docs: &'c [Document<T>], id: &str) -> Option<&'c Document<T>> {
    docs.binary_search_by(|d| d.id.as_str().cmp(id))
        .ok()
        .and_then(|i| docs.get(i))
}

/// Reports `reference`, written in the document at `origin`, if it is not one of the ids
/// of `kind` that are `known`.
pub(super) fn check_ref(
    origin: Origin,
    reference: &Ref,
    known: &KnownIds<'_>,
    kind: Kind,
    out: &mut Vec<Diagnostic>,
) {
    if known.contains(reference.as_str()) {
        return;
    }
    let what = kind.noun();
    let path = kind.place().path_of(reference);
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
        None => format!("there is no `{path}`; create it or fix the id"),
    };
    out.push(diagnostic.with_help(help));
}

/// Ids that occur more than once among `docs`, of `kind` (only the logbook's month
/// folders, or names differing only in case, can make that happen), reported at every
/// later copy.
pub(super) fn duplicate_ids(docs: &dyn Shelf, kind: Kind) -> Vec<Diagnostic> {
    let what = kind.noun();
    let mut first: BTreeMap<String, super::super::Head<'_>> = BTreeMap::new();
    let mut out = Vec::new();
    for doc in (0..docs.len()).filter_map(|i| docs.head(i)) {
        let key = doc.id.to_ascii_lowercase();
        match first.get(&key) {
            Some(original) => {
                out.push(
                Diagnostic::error(
                    "duplicate-id",
                    format!(
                        "duplicate {what} id `{}`: `{}` has the same id",
                        doc.id, original.path
                    ),
                )
                .at(Location::file_start(doc.file()))
                .with_related(Location::file_start(original.file()), "first defined here")
                .with_help("ids are file names without extension and must be unique (ignoring case); rename one file"),
            )
            }
            None => {
                first.insert(key, doc);
            }
        }
    }
    out
}
