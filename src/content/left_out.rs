//! Leaving out files that are published only because the policy pre-approves their path
//! ("provisional" files: anyone who can push may write them) when they have errors, so
//! that such a file never stops the build: it is reported and not published, and the
//! rest builds. Errors of signed files stay errors.
//!
//! A provisional file is blamed for an error found in it, and for an error found in a
//! signed file that points at it (a signed file whose id an unsigned one duplicates).
//! Dropping a file can leave references to it dangling: every provisional file that
//! refers to a dropped one (a reply to a dropped entry) is dropped with it, following the
//! references backwards in one pass ([`dependents`]), so a chain of 20,000 replies costs
//! one walk, not 20,000 validations. Then the content is validated again. The references
//! followed are the ones validation checks, so a second round finds nothing more to blame;
//! should it ever, after [`MAX_ROUNDS`] rounds every provisional file is left out. The
//! work is bounded at six validations of the whole content (the first, one per round,
//! and the last), each linear.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Content;
use super::classify::{Classified, classify};
use super::kind::{DeclaredIds, Kind};
use super::validate::{Checks, validate_with};
use crate::diag::{Diagnostic, Diagnostics, FileId, Files, Location};

/// A file left out of the site: it is published only because the policy pre-approves its
/// path, and it has errors (or refers to a file that was left out).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    pub path: String,
    /// Why, in one line: the first error found in it.
    pub reason: String,
}

/// Rounds (a validation each) before every provisional file is left out.
const MAX_ROUNDS: usize = 4;

/// Which files are provisional, by file id.
struct Provisional(Vec<bool>);

impl Provisional {
    fn new(files: &Files, paths: &BTreeSet<String>) -> Self {
        Self(
            (0..files.len())
                .map(|i| {
                    let id = FileId::from_index(u32::try_from(i).unwrap_or(u32::MAX));
                    paths.contains(files.path(id))
                })
                .collect(),
        )
    }

    fn contains(&self, file: FileId) -> bool {
        self.0.get(file.index()).copied().unwrap_or(false)
    }
}

/// The provisional files an error is blamed on: the file it is found in, if provisional;
/// else the provisional files it points at (the first copy of a duplicated id, the entry
/// a reply answers). Both copies of a duplicated id are blamed when both are provisional,
/// so that adding a copy can never replace a published entry with another text.
fn blame(diagnostic: &Diagnostic, provisional: &Provisional) -> Vec<FileId> {
    let related = diagnostic
        .related
        .iter()
        .map(|(location, _)| location.file)
        .filter(|file| provisional.contains(*file));
    match diagnostic.location.as_ref().map(|l| l.file) {
        Some(file) if provisional.contains(file) => {
            let mut blamed = vec![file];
            if diagnostic.code == "duplicate-id" {
                blamed.extend(related);
            }
            blamed
        }
        _ => related.collect(),
    }
}

/// A reference from one document to an id of a kind, and where it is written.
struct Reference<'c> {
    from: FileId,
    kind: Kind,
    id: &'c str,
    at: Location,
}

/// Every reference that provisional documents make, as validation checks them.
fn references<'c>(content: &'c Content, provisional: &Provisional) -> Vec<Reference<'c>> {
    type Id = crate::yaml::Spanned<String>;
    let mut out = Vec::new();
    let mut add = |doc_file: FileId,
                   origin: crate::diag::Origin,
                   kind: Kind,
                   ids: &mut dyn Iterator<Item = &'c Id>| {
        out.extend(ids.map(|id| Reference {
            from: doc_file,
            kind,
            id: id.as_str(),
            at: origin.at_value(id),
        }));
    };
    macro_rules! each {
        ($docs:expr, |$doc:ident| $(($kind:expr, $ids:expr)),* $(,)?) => {
            for $doc in $docs.iter().filter(|doc| provisional.contains(doc.file())) {
                $(add($doc.file(), $doc.origin, $kind, &mut $ids.into_iter());)*
            }
        };
    }
    each!(content.hosts, |doc| (Kind::Service, &doc.data.services));
    each!(
        content.certificates,
        |doc| (Kind::Host, &doc.data.hosts),
        (Kind::Procedure, &doc.data.renewal_procedure),
    );
    each!(content.releases, |doc| (
        Kind::Module,
        Some(&doc.data.module)
    ));
    each!(
        content.logbook,
        |doc| (Kind::Procedure, &doc.data.procedure),
        (Kind::LogEntry, &doc.data.reply_to),
    );
    each!(
        content.tickets,
        |doc| (Kind::Module, &doc.data.module),
        (Kind::Release, &doc.data.fixed_in),
        (Kind::Host, &doc.data.hosts),
    );
    each!(
        content.services,
        |doc| (Kind::Site, Some(&doc.data.site)),
        (Kind::Host, &doc.data.hosts),
    );
    each!(content.account_sets, |doc| (
        Kind::Feature,
        doc.data.features.keys()
    ));
    each!(content.overrides, |doc| (
        Kind::Feature,
        doc.data.values().flat_map(BTreeMap::keys)
    ));
    // `about: host/web1` refers to the host `web1`.
    for doc in content
        .logbook
        .iter()
        .filter(|doc| provisional.contains(doc.file()))
    {
        let Some(about) = &doc.data.about else {
            continue;
        };
        if let Ok((kind, id)) = super::logbook::parse_about(about) {
            out.push(Reference {
                from: doc.file(),
                kind,
                id,
                at: doc.origin.at_value(about),
            });
        }
    }
    out
}

/// The kind and id a file declares, if it is a content file.
fn declares(files: &Files, file: FileId) -> Option<(Kind, String)> {
    match classify(files.path(file)) {
        Classified::Content(kind, id) => Some((kind, id)),
        _ => None,
    }
}

/// `blamed` and every provisional file that refers, directly or through others, to an id
/// that no file declares once they are gone: each dependent with the reference that
/// makes it one. Linear in files and references (each file is dropped once, each
/// reference looked at once).
fn dependents(
    content: &Content,
    provisional: &Provisional,
    declared_count: &mut HashMap<(Kind, String), usize>,
    dropped: &BTreeSet<FileId>,
    blamed: &[FileId],
) -> Vec<(FileId, Location, FileId)> {
    let mut referrers: HashMap<(Kind, &str), Vec<(FileId, &Location)>> = HashMap::new();
    let references = references(content, provisional);
    for reference in &references {
        referrers
            .entry((reference.kind, reference.id))
            .or_default()
            .push((reference.from, &reference.at));
    }
    let mut gone: BTreeSet<FileId> = dropped.clone();
    let mut queue: Vec<FileId> = blamed.iter().copied().filter(|f| gone.insert(*f)).collect();
    let mut found = Vec::new();
    while let Some(file) = queue.pop() {
        let Some((kind, id)) = declares(&content.files, file) else {
            continue;
        };
        let Some(count) = declared_count.get_mut(&(kind, id.clone())) else {
            continue;
        };
        *count = count.saturating_sub(1);
        if *count > 0 {
            continue;
        }
        for (from, at) in referrers.get(&(kind, id.as_str())).into_iter().flatten() {
            if gone.insert(*from) {
                found.push((*from, (*at).clone(), file));
                queue.push(*from);
            }
        }
    }
    found
}

/// How many content files declare each id: a dropped file's id is gone when none is left.
fn declared_counts(files: &Files) -> HashMap<(Kind, String), usize> {
    let mut counts = HashMap::new();
    for i in 0..files.len() {
        let file = FileId::from_index(u32::try_from(i).unwrap_or(u32::MAX));
        if let Some(key) = declares(files, file) {
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// Takes the documents of `dropped` out of `content` and their ids out of `declared`
/// (an id stays declared while another file has it), and refreshes the stamps.
fn remove(
    content: &mut Content,
    declared: &mut DeclaredIds,
    declared_count: &HashMap<(Kind, String), usize>,
    dropped: &BTreeSet<FileId>,
) {
    let mut kinds = BTreeSet::new();
    for file in dropped {
        if let Some((kind, id)) = declares(&content.files, *file) {
            kinds.insert(kind);
            if declared_count
                .get(&(kind, id.clone()))
                .copied()
                .unwrap_or(0)
                == 0
                && let Some(ids) = declared.get_mut(&kind)
            {
                ids.remove(&id);
            }
        }
    }
    let keep = |file: FileId| !dropped.contains(&file);
    for kind in Kind::ALL {
        // What governs the repository stays: its errors are never left out.
        if !kind.governs() {
            content.shelf_mut(kind).retain_files(&keep);
        }
    }
    let kinds: Vec<Kind> = kinds.into_iter().collect();
    let mut stamps = content.stamps;
    stamps.refresh(content, &kinds);
    content.stamps = stamps;
}

/// `diagnostic` as the reason `file` is left out: as it is when it was found in `file`;
/// else placed at `file`, saying where it was found (a signed file whose id it copies).
fn reason_in(diagnostic: &Diagnostic, file: FileId, files: &Files) -> Diagnostic {
    let Some(found) = diagnostic.location.as_ref().filter(|l| l.file != file) else {
        return diagnostic.clone();
    };
    let at = diagnostic
        .related
        .iter()
        .find(|(location, _)| location.file == file)
        .map_or_else(
            || Location::file_start(file),
            |(location, _)| location.clone(),
        );
    let mut reason = diagnostic.clone();
    reason.message = format!("in `{}`: {}", files.path(found.file), diagnostic.message);
    reason.location = Some(at);
    reason.related = vec![(found.clone(), "found here".to_owned())];
    reason
}

/// A left-out file's first finding, as a warning that says so.
fn as_warning(diagnostic: &Diagnostic) -> Diagnostic {
    let mut warning = Diagnostic::warning("left-out", format!("left out: {}", diagnostic.message));
    warning.location = diagnostic.location.clone();
    warning.related = diagnostic.related.clone();
    let why = "published only because the policy pre-approves its path, so it is left out, not an error; fix it in a new file (the path may be append-only), or an admin removes it with a signed `Revoke:`";
    warning.help = Some(match &diagnostic.help {
        Some(help) => format!("{help}; {why}"),
        None => why.to_owned(),
    });
    warning
}

/// What leaving out gives: the diagnostics that remain (errors of signed files, and a
/// warning for each file left out) and the files left out, in path order.
pub(super) struct Outcome {
    pub diagnostics: Diagnostics,
    pub left_out: Vec<LeftOut>,
}

/// Leaves out of `content` every provisional file (by path) that an error is blamed on,
/// and every provisional file that depends on one, and validates again. `parsing` holds
/// what classifying and parsing found, `validation` what the checks found.
pub(super) fn leave_out(
    content: &mut Content,
    declared: &mut DeclaredIds,
    parsing: Diagnostics,
    mut validation: Vec<Diagnostic>,
    pending: &BTreeMap<String, String>,
    checks: &Checks,
    provisional_paths: &BTreeSet<String>,
) -> Outcome {
    let provisional = Provisional::new(&content.files, provisional_paths);
    let mut declared_count = declared_counts(&content.files);
    // Each dropped file with the finding that dropped it.
    let mut dropped: BTreeMap<FileId, Diagnostic> = BTreeMap::new();
    let parsing: Vec<Diagnostic> = parsing.into_iter().collect();
    for round in 0..=MAX_ROUNDS {
        let mut blamed: BTreeMap<FileId, Diagnostic> = BTreeMap::new();
        let findings = parsing
            .iter()
            .filter(|d| {
                d.location
                    .as_ref()
                    .is_none_or(|l| !dropped.contains_key(&l.file))
            })
            .chain(&validation)
            .filter(|d| d.is_error());
        for diagnostic in findings {
            for file in blame(diagnostic, &provisional) {
                if !dropped.contains_key(&file) {
                    blamed
                        .entry(file)
                        .or_insert_with(|| reason_in(diagnostic, file, &content.files));
                }
            }
        }
        if round == MAX_ROUNDS && !blamed.is_empty() {
            // Something the references do not explain: leave out every provisional file.
            for i in 0..content.files.len() {
                let file = FileId::from_index(u32::try_from(i).unwrap_or(u32::MAX));
                if provisional.contains(file) && !dropped.contains_key(&file) {
                    blamed.entry(file).or_insert_with(|| {
                        Diagnostic::error(
                            "left-out",
                            "the errors of pre-approved files could not be settled file by file, so every pre-approved file is left out",
                        )
                        .at(Location::file_start(file))
                    });
                }
            }
        }
        if blamed.is_empty() {
            break;
        }
        let before: BTreeSet<FileId> = dropped.keys().copied().collect();
        let blamed_files: Vec<FileId> = blamed.keys().copied().collect();
        let mut now: BTreeSet<FileId> = blamed_files.iter().copied().collect();
        dropped.extend(blamed);
        for (file, at, because) in dependents(
            content,
            &provisional,
            &mut declared_count,
            &before,
            &blamed_files,
        ) {
            let reason = Diagnostic::error(
                "left-out-reference",
                format!(
                    "refers to `{}`, which is left out",
                    content.files.path(because)
                ),
            )
            .at(at);
            dropped.insert(file, reason);
            now.insert(file);
        }
        remove(content, declared, &declared_count, &now);
        validation = validate_with(content, declared, pending, checks);
    }
    let mut diagnostics = Diagnostics::default();
    diagnostics.extend(parsing.into_iter().filter(|d| {
        d.location
            .as_ref()
            .is_none_or(|l| !dropped.contains_key(&l.file))
    }));
    diagnostics.extend(validation);
    let mut left_out: Vec<LeftOut> = Vec::with_capacity(dropped.len());
    for (file, reason) in &dropped {
        diagnostics.push(as_warning(reason));
        left_out.push(LeftOut {
            path: content.files.path(*file).to_owned(),
            reason: reason.message.clone(),
        });
    }
    left_out.sort_by(|a, b| a.path.cmp(&b.path));
    Outcome {
        diagnostics,
        left_out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Tree;

    fn example() -> Tree {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
        crate::source::read_dir(&root).unwrap_or_default()
    }

    fn entry(day: u32, extra: &str) -> String {
        format!("---\nat: 2026-11-{day:02}T10:00:00Z\nby: backup-bot\n{extra}---\nNote.\n")
    }

    /// Loads `tree` with `provisional` paths: (errors, left-out paths).
    fn load(tree: &Tree, provisional: &[&str]) -> (Vec<String>, Vec<String>) {
        let provisional = provisional.iter().map(|p| (*p).to_owned()).collect();
        let loaded = super::super::load_leaving_out(
            tree,
            &BTreeMap::new(),
            &provisional,
            &super::super::ParseCache::default(),
        );
        let errors = loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        let warned = loaded
            .diagnostics
            .iter()
            .filter(|d| d.code == "left-out")
            .count();
        assert_eq!(warned, loaded.left_out.len(), "one warning per file");
        (
            errors,
            loaded.left_out.into_iter().map(|l| l.path).collect(),
        )
    }

    #[test]
    fn a_chain_of_replies_to_a_bad_entry_is_left_out_in_one_round() {
        let mut tree = example();
        let mut provisional = Vec::new();
        let mut paths = Vec::new();
        for i in 0..5_000 {
            let extra = match i {
                0 => "disposition: bogus\n".to_owned(),
                _ => format!("reply_to: chain-{}\n", i - 1),
            };
            let path = format!("logbook/2026/11/chain-{i}.md");
            tree.insert(path.clone(), entry(3, &extra));
            paths.push(path);
        }
        tree.insert("logbook/2026/11/fine.md", entry(4, ""));
        provisional.extend(paths.iter().map(String::as_str));
        provisional.push("logbook/2026/11/fine.md");
        let started = std::time::Instant::now();
        let (errors, left_out) = load(&tree, &provisional);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(left_out.len(), 5_000);
        assert!(!left_out.iter().any(|p| p.ends_with("fine.md")));
        // One pass: a validation per dropped entry would take minutes here.
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    #[test]
    fn a_signed_file_that_refers_to_a_left_out_one_is_still_an_error() {
        let mut tree = example();
        tree.insert("hosts/junk.yaml", "name: [unclosed\n");
        tree.insert(
            "tickets/uses-junk.md",
            "---\ntitle: T\nkind: bug\npriority: low\nstatus: open\nreporter: alice\nopened: 2026-11-01T00:00:00Z\nhosts: [junk]\n---\n",
        );
        let (errors, left_out) = load(&tree, &["hosts/junk.yaml"]);
        assert_eq!(left_out, ["hosts/junk.yaml"]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0].contains("unknown host `junk`"), "{errors:?}");
        // Provisional too: left out with it.
        let (errors, left_out) = load(&tree, &["hosts/junk.yaml", "tickets/uses-junk.md"]);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(left_out, ["hosts/junk.yaml", "tickets/uses-junk.md"]);
    }

    #[test]
    fn duplicates_leave_out_every_provisional_copy_and_keep_a_signed_one() {
        let mut tree = example();
        tree.insert("logbook/2026/11/twin.md", entry(5, ""));
        tree.insert(
            "logbook/2026/10/twin.md",
            entry(5, "").replace("-11-05", "-10-05"),
        );
        let both = ["logbook/2026/10/twin.md", "logbook/2026/11/twin.md"];
        let (errors, left_out) = load(&tree, &both);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(left_out, both);
        // One copy signed: it stays, whichever sorts first.
        for signed in both {
            let provisional: Vec<&str> = both.iter().copied().filter(|p| *p != signed).collect();
            let (errors, left_out) = load(&tree, &provisional);
            assert!(errors.is_empty(), "{errors:?}");
            assert_eq!(left_out, provisional);
        }
        // Both signed: an error, as without any pre-approval.
        let (errors, left_out) = load(&tree, &[]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(left_out.is_empty());
    }

    #[test]
    fn blame_falls_on_the_file_found_in_or_the_provisional_files_pointed_at() {
        let mut files = Files::new();
        let signed = files.add("a", "");
        let provisional_file = files.add("b", "");
        let other = files.add("c", "");
        let provisional = Provisional::new(&files, &["b".into(), "c".into()].into());
        let at = |file| Location::file_start(file);
        let found_in_signed = Diagnostic::error("impossible-date", "x")
            .at(at(signed))
            .with_related(at(provisional_file), "the entry answered");
        assert_eq!(blame(&found_in_signed, &provisional), [provisional_file]);
        let found_in_provisional = Diagnostic::error("impossible-date", "x")
            .at(at(provisional_file))
            .with_related(at(other), "the entry answered");
        assert_eq!(
            blame(&found_in_provisional, &provisional),
            [provisional_file]
        );
        let duplicate = Diagnostic::error("duplicate-id", "x")
            .at(at(provisional_file))
            .with_related(at(other), "first defined here");
        assert_eq!(blame(&duplicate, &provisional), [provisional_file, other]);
        let signed_only = Diagnostic::error("unknown-reference", "x").at(at(signed));
        assert!(blame(&signed_only, &provisional).is_empty());
    }
}
