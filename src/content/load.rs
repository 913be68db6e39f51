//! From a tree of files to typed documents: classify each path, parse in parallel, then
//! check the repository as a whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde::de::DeserializeOwned;

use super::limits::Over;
use super::model::*;
use super::stored::Store;
use super::validate::Checks;
use super::{Content, Document, Loaded};
use crate::diag::{Diagnostic, Diagnostics, FileId, Files, Location, Origin};
use crate::source::{Blob, Tree};
use crate::trust::Policy;
use crate::trust::policy::POLICY_PATH;
use crate::yaml;

/// The kinds of file a repository holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Config,
    Policy,
    Host,
    Certificate,
    Domain,
    Module,
    Release,
    Procedure,
    LogEntry,
    Ticket,
    Service,
    Site,
    Feature,
    AccountSet,
    Overrides,
    News,
}

impl Kind {
    pub const COUNT: usize = 16;

    /// Every kind, in declaration order.
    pub const ALL: [Kind; Kind::COUNT] = [
        Kind::Config,
        Kind::Policy,
        Kind::Host,
        Kind::Certificate,
        Kind::Domain,
        Kind::Module,
        Kind::Release,
        Kind::Procedure,
        Kind::LogEntry,
        Kind::Ticket,
        Kind::Service,
        Kind::Site,
        Kind::Feature,
        Kind::AccountSet,
        Kind::Overrides,
        Kind::News,
    ];

    /// The position of the kind in [`Kind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// A name for labels and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Config => "config",
            Kind::Policy => "policy",
            Kind::Host => "hosts",
            Kind::Certificate => "certificates",
            Kind::Domain => "domains",
            Kind::Module => "modules",
            Kind::Release => "releases",
            Kind::Procedure => "procedures",
            Kind::LogEntry => "logbook",
            Kind::Ticket => "tickets",
            Kind::Service => "services",
            Kind::Site => "sites",
            Kind::Feature => "features",
            Kind::AccountSet => "account_sets",
            Kind::Overrides => "overrides",
            Kind::News => "news",
        }
    }
}

/// Directories of one-entity-per-file kinds: (directory, kind, is Markdown).
const ENTITY_DIRS: &[(&str, Kind, bool)] = &[
    ("hosts", Kind::Host, false),
    ("certificates", Kind::Certificate, false),
    ("domains", Kind::Domain, false),
    ("modules", Kind::Module, false),
    ("releases", Kind::Release, false),
    ("procedures", Kind::Procedure, true),
    ("tickets", Kind::Ticket, true),
    ("services", Kind::Service, false),
    ("sites", Kind::Site, false),
    ("flags/features", Kind::Feature, false),
    ("flags/account_sets", Kind::AccountSet, false),
    ("news", Kind::News, true),
];

const OVERRIDES_PATH: &str = "flags/overrides.yaml";
const CONFIG_PATH: &str = "glassroom.yaml";

/// What a path in the tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A content file of this kind with this id.
    Content(Kind, String),
    /// Not content (a README, a deploy script, a template): not read.
    Ignored,
    /// Inside a content directory but not a file glassroom can read.
    Misplaced(Diagnostic),
}

/// Decides what a repository path holds. Pure: the path alone decides.
pub fn classify(path: &str) -> Classified {
    if path == CONFIG_PATH {
        return Classified::Content(Kind::Config, "glassroom".into());
    }
    if path == POLICY_PATH {
        return Classified::Content(Kind::Policy, "policy".into());
    }
    if path == OVERRIDES_PATH {
        return Classified::Content(Kind::Overrides, "overrides".into());
    }
    let file_name = path.rsplit('/').next().unwrap_or(path);
    if file_name.eq_ignore_ascii_case("README.md") || file_name.eq_ignore_ascii_case("README") {
        return Classified::Ignored;
    }
    if let Some(rest) = path.strip_prefix("logbook/") {
        return classify_logbook(rest);
    }
    for &(dir, kind, markdown) in ENTITY_DIRS {
        let Some(rest) = path.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) else {
            continue;
        };
        let extension = if markdown { ".md" } else { ".yaml" };
        if rest.contains('/') {
            return misplaced(
                format!("`{path}` is in a subdirectory of `{dir}/`"),
                format!("move it to `{dir}/{file_name}`: {dir} are not nested"),
            );
        }
        return match rest.strip_suffix(extension) {
            Some(id) => entity(kind, id),
            None if !markdown && rest.ends_with(".yml") => misplaced(
                format!("`{path}` has the extension `.yml`"),
                format!(
                    "rename it to `{dir}/{}.yaml`",
                    rest.trim_end_matches(".yml")
                ),
            ),
            None => misplaced(
                format!("`{path}` is not a `{extension}` file"),
                format!("files in `{dir}/` are named `<id>{extension}`"),
            ),
        };
    }
    if path.starts_with("flags/") {
        return misplaced(
            format!("`{path}` is not a flag file"),
            "flags live in `flags/features/<id>.yaml`, `flags/account_sets/<id>.yaml` and `flags/overrides.yaml`".into(),
        );
    }
    Classified::Ignored
}

fn classify_logbook(rest: &str) -> Classified {
    let parts: Vec<&str> = rest.split('/').collect();
    let help = "logbook entries live in `logbook/YYYY/MM/<id>.md`";
    match parts.as_slice() {
        [year, month, name] => {
            let year_ok = year.len() == 4 && year.chars().all(|c| c.is_ascii_digit());
            let month_ok = month.len() == 2 && matches!(month.parse::<u8>(), Ok(1..=12));
            if !year_ok || !month_ok {
                return misplaced(
                    format!("`logbook/{rest}` is not in a `YYYY/MM` folder"),
                    help.into(),
                );
            }
            match name.strip_suffix(".md") {
                Some(id) => entity(Kind::LogEntry, id),
                None => misplaced(format!("`logbook/{rest}` is not a `.md` file"), help.into()),
            }
        }
        _ => misplaced(
            format!("`logbook/{rest}` is not in a `YYYY/MM` folder"),
            help.into(),
        ),
    }
}

fn entity(kind: Kind, id: &str) -> Classified {
    if is_valid_id(id) {
        Classified::Content(kind, id.to_owned())
    } else {
        misplaced(
            format!("`{id}` is not a valid id"),
            "ids (file names without extension) use letters, digits, `.`, `_` and `-`, and start with a letter or digit".into(),
        )
    }
}

fn misplaced(message: String, help: String) -> Classified {
    Classified::Misplaced(Diagnostic::error("misplaced-file", message).with_help(help))
}

/// Ids appear in URLs and file names: letters, digits, `.`, `_`, `-`, starting alphanumeric.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The ids of every content file by kind, whether or not it parsed.
pub(super) type DeclaredIds = BTreeMap<Kind, BTreeSet<String>>;

/// One parsed file, before it joins the rest.
pub(super) enum Parsed {
    Config(Document<SiteConfig>),
    Policy(Document<Policy>),
    Host(Document<Host>),
    Certificate(Document<Certificate>),
    Domain(Document<Domain>),
    Module(Document<Module>),
    Release(Document<Release>),
    Procedure(Document<Procedure>),
    LogEntry(Document<LogEntry>),
    Ticket(Document<Ticket>),
    Service(Document<Service>),
    Site(Document<Site>),
    Feature(Document<Feature>),
    AccountSet(Document<AccountSet>),
    Overrides(Document<Overrides>),
    News(Document<News>),
}

struct Job<'a> {
    file: FileId,
    kind: Kind,
    id: String,
    path: &'a str,
    text: Option<&'a str>,
}

/// Loads and validates every content file of `tree`, reporting every problem found.
pub fn load(tree: &Tree) -> Loaded {
    load_with_pending(tree, &BTreeMap::new())
}

/// Like [`load`], for an approved tree: `pending` maps files that exist but wait for
/// approval to who could sign them, so a reference to one says that instead of "unknown".
pub fn load_with_pending(tree: &Tree, pending: &BTreeMap<String, String>) -> Loaded {
    load_cached(tree, pending, &ParseCache::default())
}

/// Like [`load_with_pending`], reusing what `cache` kept of the previous load in this
/// process. When that load was clean and a few content files changed since, only those
/// are parsed, the previous content is patched and only the checks that read their kinds
/// run again ([`ParseCache`]); otherwise every file is classified and the unchanged ones
/// are taken from the previous load instead of being parsed again. The caller hands the
/// content back to the cache when done with it ([`ParseCache::keep`]).
pub fn load_cached(tree: &Tree, pending: &BTreeMap<String, String>, cache: &ParseCache) -> Loaded {
    load_leaving_out(tree, pending, &BTreeSet::new(), cache)
}

/// Like [`load_cached`], for an approved tree where the files at `provisional` paths are
/// published only because the policy pre-approves them: such a file that has errors,
/// and every such file that refers to one, is left out ([`Loaded::left_out`]) instead
/// of failing the load, and the rest is validated without them.
pub fn load_leaving_out(
    tree: &Tree,
    pending: &BTreeMap<String, String>,
    provisional: &BTreeSet<String>,
    cache: &ParseCache,
) -> Loaded {
    let limits = super::model::Limits::of_tree(tree);
    let (previous_content, mut state) = match cache.take() {
        (Some(state), Some(content)) if state.clean && state.pending == *pending => {
            match patch(state, content, tree, &limits) {
                Ok(loaded) => {
                    cache
                        .patched
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    crate::timings::mark("patch the content");
                    return finish(loaded, tree, pending, provisional, cache);
                }
                Err(back) => {
                    let (state, content) = *back;
                    (Some(content), Some(state))
                }
            }
        }
        (state, content) => (content, state),
    };
    // Files are numbered afresh: findings that point into them are stale.
    if let Some(state) = &mut state {
        state.checks.clear();
    }
    let known = previous_content.map(entries_of).unwrap_or_default();
    let store = cache.store.lock().ok().and_then(|mut store| store.take());
    let (content, declared, diagnostics) = load_all(tree, known, store.as_ref(), &limits);
    if let (Some(store), Ok(mut slot)) = (store, cache.store.lock()) {
        *slot = Some(store);
    }
    let checks = state.map_or_else(
        || {
            if cache.keeping {
                Checks::keeping()
            } else {
                Checks::default()
            }
        },
        |state| state.checks,
    );
    let loaded = Patched {
        content,
        declared,
        diagnostics,
        checks,
    };
    finish(loaded, tree, pending, provisional, cache)
}

/// A load before its cross-file checks.
struct Patched {
    content: Content,
    declared: DeclaredIds,
    /// What classifying and parsing found.
    diagnostics: Diagnostics,
    checks: Checks,
}

/// Runs the checks, sorts the findings and leaves the cache what the next load needs.
fn finish(
    loaded: Patched,
    tree: &Tree,
    pending: &BTreeMap<String, String>,
    provisional: &BTreeSet<String>,
    cache: &ParseCache,
) -> Loaded {
    let Patched {
        mut content,
        mut declared,
        mut diagnostics,
        checks,
    } = loaded;
    let validation = super::validate::validate_with(&content, &declared, pending, &checks);
    crate::timings::mark("validate");
    let mut left_out = Vec::new();
    if !provisional.is_empty()
        && validation
            .iter()
            .chain(diagnostics.iter())
            .any(Diagnostic::is_error)
    {
        let outcome = super::left_out::leave_out(
            &mut content,
            &mut declared,
            diagnostics,
            validation,
            pending,
            &checks,
            provisional,
        );
        diagnostics = outcome.diagnostics;
        left_out = outcome.left_out;
        crate::timings::mark("leave out pre-approved files with errors");
    } else {
        diagnostics.extend(validation);
    }
    diagnostics.sort(&content.files);
    cache.remember(State {
        tree_id: tree.id(),
        // A tree read through a directory cache tells what changed; keeping a copy
        // would make the cache copy its map on every change.
        tree: (!tree.tracks_changes()).then(|| tree.clone()),
        pending: pending.clone(),
        declared,
        // A load that left files out has content without them: the next one is made
        // whole again rather than patched.
        clean: !diagnostics.has_errors() && left_out.is_empty(),
        checks,
    });
    Loaded {
        content,
        diagnostics,
        left_out,
    }
}

/// Classifies, decodes and parses every file of `tree` (taking the documents of unchanged
/// files from `known` or else from `store`, by path and hash), in parallel.
fn load_all(
    tree: &Tree,
    mut known: Entries,
    store: Option<&Store>,
    limits: &super::model::Limits,
) -> (Content, DeclaredIds, Diagnostics) {
    let mut files = Files::new();
    let mut diagnostics = Diagnostics::default();
    let mut jobs = Vec::new();
    // Classifying and decoding every file is independent work: in parallel, in path
    // order; only numbering the files is sequential. A file whose text is the one the
    // cache holds is shared with the previous load, not decoded again. For a file the
    // store has a document of (same path, same hash), the document is read, not parsed.
    // A file over a limit is neither decoded whole nor parsed: it is reported.
    let classified: Vec<Classifying<'_>> = tree
        .blobs()
        .collect::<Vec<_>>()
        .into_par_iter()
        .filter_map(|(path, blob)| {
            let bytes = blob.bytes();
            let classified = classify(path);
            if matches!(classified, Classified::Ignored) {
                return None;
            }
            // Content files carry their hash, for fingerprints of what pages show.
            let hash = match &classified {
                Classified::Content(..) => Some(blob.hash()),
                _ => None,
            };
            let size = blob
                .size_over_limit()
                .unwrap_or(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
            if size > limits.max_file_size.0 {
                let text = Text::Decoded(String::new(), None, hash);
                return Some((path, classified, text, None, Some(Over::Size(size))));
            }
            let unchanged = hash
                .and_then(|hash| known.get(path).filter(|kept| kept.hash == hash))
                .map(|kept| Text::Shared(kept.file.clone()));
            let text = unchanged.unwrap_or_else(|| decode(bytes, hash));
            let over = match (&classified, &text) {
                (Classified::Content(kind, _), Text::Shared(file)) => {
                    super::limits::check(*kind, file.text(), size, limits)
                }
                (Classified::Content(kind, _), Text::Decoded(text, _, _)) => {
                    super::limits::check(*kind, text, size, limits)
                }
                _ => None,
            };
            let stored = match (&classified, &text, store, over) {
                (
                    Classified::Content(kind, id),
                    Text::Decoded(text, None, Some(hash)),
                    Some(store),
                    None,
                ) => store.document(*kind, id, path, text, *hash),
                _ => None,
            };
            Some((path, classified, text, stored, over))
        })
        .collect();
    let mut parsed: Vec<Option<Parsed>> = Vec::new();
    for (path, classified, text, stored, over) in classified {
        let (file, invalid_at, shared) = match text {
            Text::Shared(shared) => (files.add_shared(shared), None, true),
            Text::Decoded(text, invalid_at, Some(hash)) => {
                (files.add_hashed(path, text, hash), invalid_at, false)
            }
            Text::Decoded(text, invalid_at, None) => (files.add(path, text), invalid_at, false),
        };
        let kind_and_id = match classified {
            Classified::Ignored => continue,
            Classified::Misplaced(diagnostic) => {
                diagnostics.push(diagnostic.at(Location::file_start(file)));
                continue;
            }
            Classified::Content(kind, id) => (kind, id),
        };
        if let Some(at) = invalid_at {
            diagnostics.push(invalid_utf8(file, at));
        }
        if let Some(over) = over {
            diagnostics.push(over.diagnostic(file, limits));
            parsed.push(None);
            jobs.push((file, kind_and_id, path, false));
            continue;
        }
        // An unchanged file's document moves over from the previous load.
        let kept = shared.then(|| known.remove(path)).flatten();
        parsed.push(
            kept.map(|kept| kept.parsed)
                .or(stored)
                .map(|parsed| parsed.in_file(file)),
        );
        jobs.push((file, kind_and_id, path, invalid_at.is_none()));
    }
    crate::defer::drop_later(known);
    // Every id that has a file, parsed or not: a reference to a file that failed to
    // parse is not also reported as dangling.
    let mut declared = DeclaredIds::new();
    for (_, (kind, id), _, _) in &jobs {
        declared.entry(*kind).or_default().insert(id.clone());
    }
    let jobs: Vec<Job<'_>> = jobs
        .into_iter()
        .map(|(file, (kind, id), path, ok)| Job {
            file,
            kind,
            id,
            path,
            text: ok.then(|| files.text(file)),
        })
        .collect();

    crate::timings::mark("classify files (load)");
    let results: Vec<Option<Result<Parsed, Box<Diagnostic>>>> = jobs
        .par_iter()
        .zip(parsed.par_iter_mut())
        .map(|(job, kept)| match kept.take() {
            Some(parsed) => Some(Ok(parsed)),
            None => job.text.map(|text| parse_job(job, text)),
        })
        .collect();

    let mut content = Content::default();
    for result in results.into_iter().flatten() {
        match result {
            Ok(parsed) => insert(&mut content, parsed),
            Err(diagnostic) => diagnostics.push(*diagnostic),
        }
    }
    sort_by_id(&mut content);
    content.files = files;
    content.stamps = super::Stamps::of(&content);
    content.generation = super::next_generation();

    if content.config.is_none() && tree.get(CONFIG_PATH).is_none() {
        diagnostics.push(
            Diagnostic::error("missing-config", "this repository has no `glassroom.yaml`")
                .with_help("create `glassroom.yaml` with at least `title: <your site's title>`"),
        );
    }
    if content.policy.is_none() && tree.get(POLICY_PATH).is_none() {
        diagnostics.push(
            Diagnostic::error(
                "missing-policy",
                format!("this repository has no `{POLICY_PATH}`"),
            )
            .with_help("declare who may sign what: users with their SSH keys, groups and grants"),
        );
    }
    match store {
        Some(store) => crate::timings::mark(&format!(
            "parse files ({} documents read from the store)",
            store.used()
        )),
        None => crate::timings::mark("parse files"),
    }
    (content, declared, diagnostics)
}

/// A file's bytes as text, with the offset of the first byte that is not UTF-8.
fn decode(bytes: &[u8], hash: Option<blake3::Hash>) -> Text {
    match std::str::from_utf8(bytes) {
        Ok(text) => Text::Decoded(text.to_owned(), None, hash),
        Err(err) => Text::Decoded(
            String::from_utf8_lossy(bytes).into_owned(),
            Some(err.valid_up_to()),
            hash,
        ),
    }
}

fn invalid_utf8(file: FileId, at: usize) -> Diagnostic {
    Diagnostic::error("invalid-utf8", "file is not valid UTF-8 text")
        .at(Location::new(file, at..at))
        .with_help("save the file as UTF-8")
}

/// More changed files than this are loaded the ordinary way (in parallel) rather than
/// patched in one by one.
const MAX_PATCHED_FILES: usize = 256;

/// One changed content file, parsed, before it goes into the content.
struct Patch {
    kind: Kind,
    id: String,
    path: String,
    /// The new document, or `None` if the file is gone.
    parsed: Option<(Parsed, std::sync::Arc<crate::diag::File>)>,
    /// The file id the document had, if the file existed.
    file: Option<FileId>,
}

/// The paths that may differ between the tree `state` saw and `tree`, with each one's
/// file in `tree` (`None` if it is gone); `None` if that cannot be told.
fn changed_paths<'t>(state: &'t State, tree: &'t Tree) -> Option<Vec<(&'t str, Option<&'t Blob>)>> {
    if let Some(paths) = tree.changed_since(state.tree_id) {
        let mut paths: Vec<&str> = paths.iter().map(|p| &**p).collect();
        paths.sort_unstable();
        paths.dedup();
        return Some(paths.into_iter().map(|p| (p, tree.blob(p))).collect());
    }
    let old = state.tree.as_ref()?;
    Some(
        old.changes(tree)
            .into_iter()
            .map(|change| (change.path, change.now))
            .collect(),
    )
}

/// The previous content with the files that changed since `state.tree` parsed and put
/// in place; `Err` gives everything back when that is not the way to load `tree`: a
/// changed file fails to parse or decode (the ordinary load reports it), is not where
/// content belongs, or is the configuration or the policy (which everything reads).
fn patch(
    state: State,
    mut content: Content,
    tree: &Tree,
    limits: &super::model::Limits,
) -> Result<Patched, Box<(State, Content)>> {
    let Some(changes) = changed_paths(&state, tree) else {
        return Err(Box::new((state, content)));
    };
    if changes.len() > MAX_PATCHED_FILES {
        return Err(Box::new((state, content)));
    }
    let mut patches = Vec::new();
    let mut next_file = content.files.len();
    for &(path, now) in &changes {
        let (kind, id) = match classify(path) {
            Classified::Ignored => continue,
            Classified::Content(Kind::Config | Kind::Policy, _) | Classified::Misplaced(_) => {
                return Err(Box::new((state, content)));
            }
            Classified::Content(kind, id) => (kind, id),
        };
        // The previous load was clean: every content file it saw has its document.
        let file = file_of(&content, kind, &id, path);
        if now.is_none() && file.is_none() {
            continue;
        }
        let parsed = match now {
            None => None,
            Some(blob) => {
                let Ok(text) = std::str::from_utf8(blob.bytes()) else {
                    return Err(Box::new((state, content)));
                };
                // Over a limit: the ordinary load reports it.
                let size = blob.size_over_limit().unwrap_or(text.len() as u64);
                if super::limits::check(kind, text, size, limits).is_some() {
                    return Err(Box::new((state, content)));
                }
                let file_id = file.unwrap_or_else(|| {
                    next_file += 1;
                    FileId::from_index(u32::try_from(next_file - 1).unwrap_or(u32::MAX))
                });
                let shared = crate::diag::File::shared(path, text, blob.hash());
                let job = Job {
                    file: file_id,
                    kind,
                    id: id.clone(),
                    path,
                    text: Some(text),
                };
                match parse_job(&job, text) {
                    Ok(parsed) => Some((parsed, shared)),
                    Err(_) => return Err(Box::new((state, content))),
                }
            }
        };
        patches.push(Patch {
            kind,
            id,
            path: path.to_owned(),
            parsed,
            file,
        });
    }
    drop(changes);
    let State {
        mut declared,
        checks,
        tree: old_tree,
        ..
    } = state;
    let mut dirty = Vec::new();
    for patch in patches {
        if !dirty.contains(&patch.kind) {
            dirty.push(patch.kind);
        }
        match patch.parsed {
            Some((parsed, shared)) => {
                match patch.file {
                    Some(file) => content.files.replace(file, shared),
                    None => {
                        content.files.add_shared(shared);
                    }
                }
                declared.entry(patch.kind).or_default().insert(patch.id);
                put(&mut content, parsed);
            }
            None => {
                remove(&mut content, patch.kind, &patch.id, &patch.path);
                if file_of_id(&content, patch.kind, &patch.id).is_none()
                    && let Some(ids) = declared.get_mut(&patch.kind)
                {
                    ids.remove(&patch.id);
                }
            }
        }
    }
    // A map of every path, freed off the rebuild's way.
    crate::defer::drop_later(old_tree);
    let mut stamps = content.stamps;
    stamps.refresh(&content, &dirty);
    content.stamps = stamps;
    Ok(Patched {
        content,
        declared,
        diagnostics: Diagnostics::default(),
        checks,
    })
}

/// One file of a load after classifying and decoding: its path, what it is, its text,
/// its document if the store had it, and the limit it is over, if any.
type Classifying<'t> = (&'t str, Classified, Text, Option<Parsed>, Option<Over>);

/// A file's text for a load: shared with the previous load, or decoded now (with the
/// offset of its first invalid UTF-8 byte, if any, and the hash of its bytes).
enum Text {
    Shared(std::sync::Arc<crate::diag::File>),
    Decoded(String, Option<usize>, Option<blake3::Hash>),
}

fn parse_job(job: &Job<'_>, text: &str) -> Result<Parsed, Box<Diagnostic>> {
    Ok(match job.kind {
        Kind::Config => Parsed::Config(parse_yaml(job, text)?),
        Kind::Policy => Parsed::Policy(parse_yaml(job, text)?),
        Kind::Host => Parsed::Host(parse_yaml(job, text)?),
        Kind::Certificate => Parsed::Certificate(parse_yaml(job, text)?),
        Kind::Domain => Parsed::Domain(parse_yaml(job, text)?),
        Kind::Module => Parsed::Module(parse_yaml(job, text)?),
        Kind::Release => Parsed::Release(parse_yaml(job, text)?),
        Kind::Procedure => Parsed::Procedure(parse_markdown(job, text)?),
        Kind::LogEntry => Parsed::LogEntry(parse_markdown(job, text)?),
        Kind::Ticket => Parsed::Ticket(parse_markdown(job, text)?),
        Kind::Service => Parsed::Service(parse_yaml(job, text)?),
        Kind::Site => Parsed::Site(parse_yaml(job, text)?),
        Kind::Feature => Parsed::Feature(parse_yaml(job, text)?),
        Kind::AccountSet => Parsed::AccountSet(parse_yaml(job, text)?),
        Kind::Overrides => Parsed::Overrides(parse_yaml(job, text)?),
        Kind::News => Parsed::News(parse_markdown(job, text)?),
    })
}

fn parse_yaml<T: DeserializeOwned>(
    job: &Job<'_>,
    text: &str,
) -> Result<Document<T>, Box<Diagnostic>> {
    let origin = Origin {
        file: job.file,
        offset: 0,
    };
    let data = parse_with_origin(text, origin)?;
    Ok(Document {
        id: job.id.clone(),
        path: job.path.to_owned(),
        origin,
        body: String::new(),
        data,
    })
}

fn parse_markdown<T: DeserializeOwned>(
    job: &Job<'_>,
    text: &str,
) -> Result<Document<T>, Box<Diagnostic>> {
    let front = yaml::split_front_matter(text).map_err(|err| {
        Box::new(
            Diagnostic::error("front-matter", err.message)
                .at(Location::new(job.file, err.span))
                .with_help(err.help),
        )
    })?;
    let origin = Origin {
        file: job.file,
        offset: front.yaml_offset,
    };
    let data = parse_with_origin(front.yaml, origin)?;
    Ok(Document {
        id: job.id.clone(),
        path: job.path.to_owned(),
        origin,
        body: front.body.to_owned(),
        data,
    })
}

fn parse_with_origin<T: DeserializeOwned>(
    text: &str,
    origin: Origin,
) -> Result<T, Box<Diagnostic>> {
    yaml::from_str(text).map_err(|err| {
        let mut diagnostic =
            Diagnostic::error("invalid-yaml", err.message).at(origin.at(&err.span));
        diagnostic.help = err.help;
        Box::new(diagnostic)
    })
}

impl Parsed {
    /// The same document, as read from the file `file` (ids change when files come and go).
    fn in_file(mut self, file: FileId) -> Self {
        macro_rules! set {
            ($($variant:ident),*) => {
                match &mut self {
                    $(Parsed::$variant(d) => d.origin.file = file,)*
                }
            };
        }
        set!(
            Config,
            Policy,
            Host,
            Certificate,
            Domain,
            Module,
            Release,
            Procedure,
            LogEntry,
            Ticket,
            Service,
            Site,
            Feature,
            AccountSet,
            Overrides,
            News
        );
        self
    }
}

/// What the previous load in this process (the preview server) leaves the next: the tree
/// it read, its ids and check findings, and (handed back by the caller) its content. A
/// load after a clean one parses only the files that differ between the two trees and
/// patches the content; any other load takes the documents of unchanged files from it
/// (by path and hash) instead of parsing them again. The default cache keeps nothing (a
/// one-off build has no use for the documents after it).
#[derive(Default)]
pub struct ParseCache {
    keeping: bool,
    /// How many loads patched the previous content.
    patched: std::sync::atomic::AtomicUsize,
    state: std::sync::Mutex<Option<State>>,
    content: std::sync::Mutex<Option<Content>>,
    /// Documents an earlier process stored ([`ParseCache::stored`]).
    store: std::sync::Mutex<Option<Store>>,
    /// The store for the next process (being made from the content handed back), when
    /// it differs from the one read.
    updated_store: std::sync::Mutex<Option<UpdatedStore>>,
}

/// What a load knew besides its content.
struct State {
    /// The id of the tree it read, for a tree that knows what changed since
    /// ([`Tree::changed_since`]); and the tree itself when it does not (then the next
    /// tree is compared with it).
    tree_id: u64,
    tree: Option<Tree>,
    pending: BTreeMap<String, String>,
    declared: DeclaredIds,
    /// The load had no errors: every content file of the tree is in its content.
    clean: bool,
    checks: Checks,
}

impl ParseCache {
    /// A cache that keeps each load's documents for the next one.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            ..Self::default()
        }
    }

    /// A cache for one load that reads the documents of unchanged files from `bytes`, a
    /// store an earlier process wrote ([`ParseCache::updated_store`]); any bytes will do
    /// (a store that is not one holds nothing).
    pub fn stored(bytes: &[u8]) -> Self {
        Self {
            store: std::sync::Mutex::new(Some(Store::from_bytes(bytes))),
            ..Self::default()
        }
    }

    /// How many documents loads took from the store ([`ParseCache::stored`]) instead of
    /// parsing their files, until the content is handed back.
    pub fn documents_from_store(&self) -> usize {
        self.store
            .lock()
            .map_or(0, |store| store.as_ref().map_or(0, Store::used))
    }

    /// The store for the next process, from the content handed back
    /// ([`ParseCache::keep`]) to a cache made by [`ParseCache::stored`]; `None` if it
    /// would be the store that was read.
    pub fn updated_store(&self) -> Option<Vec<u8>> {
        match self.updated_store.lock().ok()?.take()? {
            UpdatedStore::Making(making) => making.join().ok().flatten(),
            UpdatedStore::Made(made) => made,
        }
    }

    /// The last load's state and content, leaving the cache empty.
    fn take(&self) -> (Option<State>, Option<Content>) {
        if !self.keeping {
            return (None, None);
        }
        let state = self.state.lock().ok().and_then(|mut s| s.take());
        let content = self.content.lock().ok().and_then(|mut c| c.take());
        (state, content)
    }

    fn remember(&self, state: State) {
        if !self.keeping {
            return;
        }
        if let Ok(mut slot) = self.state.lock()
            && let Some(old) = slot.replace(state)
        {
            // Its tree is a map of every path: freed off the rebuild's way.
            crate::defer::drop_later(old);
        }
    }

    /// Takes back the content of a load once the caller is done with it, for the next
    /// load; a cache that does not keep drops it (on another thread).
    pub fn keep(&self, content: Content) {
        if !self.keeping {
            let store = self.store.lock().ok().and_then(|mut store| store.take());
            match (store, self.updated_store.lock()) {
                (Some(store), Ok(mut slot)) => *slot = Some(update_later(store, content)),
                _ => crate::defer::drop_later(content),
            }
            return;
        }
        if let Ok(mut slot) = self.content.lock()
            && let Some(old) = slot.replace(content)
        {
            crate::defer::drop_later(old);
        }
    }

    /// Reads the content the last load handed back ([`ParseCache::keep`]), if any.
    pub fn with_content<R>(&self, read: impl FnOnce(&Content) -> R) -> Option<R> {
        let slot = self.content.lock().ok()?;
        slot.as_ref().map(read)
    }

    /// How many loads patched the content of the load before them instead of loading
    /// everything (for tests and diagnostics).
    pub fn patched_loads(&self) -> usize {
        self.patched.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many documents it holds.
    pub fn len(&self) -> usize {
        self.content
            .lock()
            .map_or(0, |c| c.as_ref().map_or(0, |c| c.files.len()))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Makes the store for the next process from `content` on a thread of its own (the
/// caller has the output to move into place meanwhile), or here if none can be started.
fn update_later(store: Store, content: Content) -> UpdatedStore {
    fn update(job: &std::sync::Mutex<Option<(Store, Content)>>) -> Option<Vec<u8>> {
        let (store, content) = job.lock().ok()?.take()?;
        let updated = store.updated(&content);
        crate::defer::drop_later((store, content));
        updated
    }
    let job = std::sync::Arc::new(std::sync::Mutex::new(Some((store, content))));
    let background = std::sync::Arc::clone(&job);
    match std::thread::Builder::new()
        .name("glassroom-store".into())
        .spawn(move || update(&background))
    {
        Ok(making) => UpdatedStore::Making(making),
        Err(_) => UpdatedStore::Made(update(&job)),
    }
}

/// The store for the next process: being made, or made.
enum UpdatedStore {
    Making(std::thread::JoinHandle<Option<Vec<u8>>>),
    Made(Option<Vec<u8>>),
}

/// One document of a previous load, with the file it came from.
struct Kept {
    hash: blake3::Hash,
    file: std::sync::Arc<crate::diag::File>,
    parsed: Parsed,
}

type Entries = HashMap<String, Kept>;

/// Every document of `content`, by path, with its file and that file's hash.
fn entries_of(content: Content) -> Entries {
    let files = content.files;
    let mut entries = HashMap::with_capacity(files.len());
    let mut keep = |path: &str, file: FileId, parsed: Parsed| {
        if let (Some(hash), Some(shared)) = (files.hash(file), files.shared(file)) {
            let kept = Kept {
                hash,
                file: shared,
                parsed,
            };
            entries.insert(path.to_owned(), kept);
        }
    };
    macro_rules! keep_all {
        ($($field:ident => $variant:ident),* $(,)?) => {$(
            for doc in content.$field {
                let (path, file) = (doc.path.clone(), doc.file());
                keep(&path, file, Parsed::$variant(doc));
            }
        )*};
    }
    macro_rules! keep_one {
        ($($field:ident => $variant:ident),* $(,)?) => {$(
            if let Some(doc) = content.$field {
                let (path, file) = (doc.path.clone(), doc.file());
                keep(&path, file, Parsed::$variant(doc));
            }
        )*};
    }
    keep_one!(config => Config, policy => Policy, overrides => Overrides);
    keep_all!(
        hosts => Host,
        certificates => Certificate,
        domains => Domain,
        modules => Module,
        releases => Release,
        procedures => Procedure,
        logbook => LogEntry,
        tickets => Ticket,
        services => Service,
        sites => Site,
        features => Feature,
        account_sets => AccountSet,
        news => News,
    );
    entries
}

fn insert(content: &mut Content, parsed: Parsed) {
    match parsed {
        Parsed::Config(d) => content.config = Some(d),
        Parsed::Policy(d) => content.policy = Some(d),
        Parsed::Host(d) => content.hosts.push(d),
        Parsed::Certificate(d) => content.certificates.push(d),
        Parsed::Domain(d) => content.domains.push(d),
        Parsed::Module(d) => content.modules.push(d),
        Parsed::Release(d) => content.releases.push(d),
        Parsed::Procedure(d) => content.procedures.push(d),
        Parsed::LogEntry(d) => content.logbook.push(d),
        Parsed::Ticket(d) => content.tickets.push(d),
        Parsed::Service(d) => content.services.push(d),
        Parsed::Site(d) => content.sites.push(d),
        Parsed::Feature(d) => content.features.push(d),
        Parsed::AccountSet(d) => content.account_sets.push(d),
        Parsed::Overrides(d) => content.overrides = Some(d),
        Parsed::News(d) => content.news.push(d),
    }
}

/// Runs `$body` with `$docs` bound to the documents of `$kind` in `$content` (the single
/// documents as a one-element slice). The configuration and the policy are never patched
/// in, so they have no arm.
macro_rules! with_docs {
    ($content:expr, $kind:expr, |$docs:ident| $body:expr, $single:expr) => {
        match $kind {
            Kind::Host => {
                let $docs = &$content.hosts;
                $body
            }
            Kind::Certificate => {
                let $docs = &$content.certificates;
                $body
            }
            Kind::Domain => {
                let $docs = &$content.domains;
                $body
            }
            Kind::Module => {
                let $docs = &$content.modules;
                $body
            }
            Kind::Release => {
                let $docs = &$content.releases;
                $body
            }
            Kind::Procedure => {
                let $docs = &$content.procedures;
                $body
            }
            Kind::LogEntry => {
                let $docs = &$content.logbook;
                $body
            }
            Kind::Ticket => {
                let $docs = &$content.tickets;
                $body
            }
            Kind::Service => {
                let $docs = &$content.services;
                $body
            }
            Kind::Site => {
                let $docs = &$content.sites;
                $body
            }
            Kind::Feature => {
                let $docs = &$content.features;
                $body
            }
            Kind::AccountSet => {
                let $docs = &$content.account_sets;
                $body
            }
            Kind::News => {
                let $docs = &$content.news;
                $body
            }
            Kind::Overrides => {
                let $docs = $content.overrides.as_slice();
                $body
            }
            Kind::Config | Kind::Policy => $single,
        }
    };
}
pub(super) use with_docs;

/// The position of the document of `path` (with `id`) among `docs`, sorted by id then
/// path: `Ok` where it is, `Err` where it would go.
fn position<T>(docs: &[Document<T>], id: &str, path: &str) -> Result<usize, usize> {
    docs.binary_search_by(|d| {
        d.id.as_str()
            .cmp(id)
            .then_with(|| d.path.as_str().cmp(path))
    })
}

/// The file of the document of `path`.
fn file_of(content: &Content, kind: Kind, id: &str, path: &str) -> Option<FileId> {
    with_docs!(
        content,
        kind,
        |docs| position(docs, id, path).ok().map(|i| docs[i].file()),
        None
    )
}

/// The file of some document with `id` (any path).
fn file_of_id(content: &Content, kind: Kind, id: &str) -> Option<FileId> {
    with_docs!(
        content,
        kind,
        |docs| {
            let at = docs.partition_point(|d| d.id.as_str() < id);
            docs.get(at).filter(|d| d.id == id).map(Document::file)
        },
        None
    )
}

/// Puts a document in its place: instead of the one of the same path, or where it sorts.
fn put(content: &mut Content, parsed: Parsed) {
    fn into<T>(docs: &mut Vec<Document<T>>, doc: Document<T>) {
        match position(docs, &doc.id, &doc.path) {
            Ok(i) => docs[i] = doc,
            Err(i) => docs.insert(i, doc),
        }
    }
    match parsed {
        Parsed::Config(d) => content.config = Some(d),
        Parsed::Policy(d) => content.policy = Some(d),
        Parsed::Overrides(d) => content.overrides = Some(d),
        Parsed::Host(d) => into(&mut content.hosts, d),
        Parsed::Certificate(d) => into(&mut content.certificates, d),
        Parsed::Domain(d) => into(&mut content.domains, d),
        Parsed::Module(d) => into(&mut content.modules, d),
        Parsed::Release(d) => into(&mut content.releases, d),
        Parsed::Procedure(d) => into(&mut content.procedures, d),
        Parsed::LogEntry(d) => into(&mut content.logbook, d),
        Parsed::Ticket(d) => into(&mut content.tickets, d),
        Parsed::Service(d) => into(&mut content.services, d),
        Parsed::Site(d) => into(&mut content.sites, d),
        Parsed::Feature(d) => into(&mut content.features, d),
        Parsed::AccountSet(d) => into(&mut content.account_sets, d),
        Parsed::News(d) => into(&mut content.news, d),
    }
}

/// Takes the document of `path` out of the content.
fn remove(content: &mut Content, kind: Kind, id: &str, path: &str) {
    fn from<T>(docs: &mut Vec<Document<T>>, id: &str, path: &str) {
        if let Ok(i) = position(docs, id, path) {
            docs.remove(i);
        }
    }
    match kind {
        Kind::Config => content.config = None,
        Kind::Policy => content.policy = None,
        Kind::Overrides => content.overrides = None,
        Kind::Host => from(&mut content.hosts, id, path),
        Kind::Certificate => from(&mut content.certificates, id, path),
        Kind::Domain => from(&mut content.domains, id, path),
        Kind::Module => from(&mut content.modules, id, path),
        Kind::Release => from(&mut content.releases, id, path),
        Kind::Procedure => from(&mut content.procedures, id, path),
        Kind::LogEntry => from(&mut content.logbook, id, path),
        Kind::Ticket => from(&mut content.tickets, id, path),
        Kind::Service => from(&mut content.services, id, path),
        Kind::Site => from(&mut content.sites, id, path),
        Kind::Feature => from(&mut content.features, id, path),
        Kind::AccountSet => from(&mut content.account_sets, id, path),
        Kind::News => from(&mut content.news, id, path),
    }
}

fn sort_by_id(content: &mut Content) {
    fn sort<T>(docs: &mut [Document<T>]) {
        docs.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.path.cmp(&b.path)));
    }
    sort(&mut content.hosts);
    sort(&mut content.certificates);
    sort(&mut content.domains);
    sort(&mut content.modules);
    sort(&mut content.releases);
    sort(&mut content.procedures);
    sort(&mut content.logbook);
    sort(&mut content.tickets);
    sort(&mut content.services);
    sort(&mut content.sites);
    sort(&mut content.features);
    sort(&mut content.account_sets);
    sort(&mut content.news);
}

/// Ids that occur more than once within a kind (only the logbook's month folders, or
/// names differing only in case, can make that happen), reported at every later copy.
pub(super) fn duplicate_ids<T>(docs: &[Document<T>], what: &str) -> Vec<Diagnostic> {
    let mut first: BTreeMap<String, &Document<T>> = BTreeMap::new();
    let mut out = Vec::new();
    for doc in docs {
        let key = doc.id.to_ascii_lowercase();
        match first.get(&key) {
            Some(original) => out.push(
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
            ),
            None => {
                first.insert(key, doc);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Tree {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
        crate::source::read_dir(&root).unwrap_or_default()
    }

    /// Every document as a clean load has it, whatever the ids of their files: kind by
    /// kind, each document's id, path, data, body and file text, then the stamps.
    fn documents(content: &Content) -> String {
        let mut out = String::new();
        macro_rules! each {
            ($($field:ident),*) => {$(
                for doc in &content.$field {
                    out.push_str(&format!(
                        "{} {} {} {:?} {:?} {:?}\n",
                        stringify!($field),
                        doc.id,
                        doc.path,
                        doc.origin.offset,
                        doc.data,
                        doc.body
                    ));
                    out.push_str(content.files.text(doc.file()));
                    assert_eq!(content.files.path(doc.file()), doc.path);
                }
            )*};
        }
        each!(
            hosts,
            certificates,
            domains,
            modules,
            releases,
            procedures,
            logbook,
            tickets,
            services,
            sites,
            features,
            account_sets,
            news
        );
        for doc in content.config.iter() {
            out.push_str(&format!("{:?}", doc.data));
        }
        for doc in content.overrides.iter() {
            out.push_str(&format!("{:?}", doc.data));
        }
        out.push_str(&format!("{:?}", content.stamps));
        out
    }

    #[test]
    fn a_cached_load_equals_a_fresh_one_after_files_come_and_change() {
        let cache = ParseCache::keeping();
        let mut tree = example();
        let first = load_cached(&tree, &BTreeMap::new(), &cache);
        assert!(!first.diagnostics.has_errors());
        let documents_before = documents(&first.content);
        cache.keep(first.content);
        assert!(!cache.is_empty());
        // Nothing changed: the same documents, the content taken back from the cache.
        let again = load_cached(&tree, &BTreeMap::new(), &cache);
        assert_eq!(documents(&again.content), documents_before);
        assert!(cache.is_empty(), "taken, not copied");
        cache.keep(again.content);
        // A new file early in the order, a changed one and a removed one: patched in.
        let (path, bytes) = tree
            .iter()
            .find(|(p, _)| p.starts_with("certificates/"))
            .map(|(p, b)| (p.to_owned(), b.to_vec()))
            .unwrap_or_default();
        tree.insert("certificates/0-first.yaml".to_owned(), bytes.clone());
        let changed = String::from_utf8_lossy(&bytes).replace("issuer:", "issuer: Other CA #");
        tree.insert(path, changed.into_bytes());
        let news = tree
            .iter()
            .find(|(p, _)| p.starts_with("news/"))
            .map(|(p, _)| p.to_owned())
            .unwrap_or_default();
        tree.remove(&news);
        let cached = load_cached(&tree, &BTreeMap::new(), &cache);
        let fresh = load(&tree);
        assert_eq!(
            format!(
                "{:?}",
                cached
                    .diagnostics
                    .iter()
                    .map(|d| &d.message)
                    .collect::<Vec<_>>()
            ),
            format!(
                "{:?}",
                fresh
                    .diagnostics
                    .iter()
                    .map(|d| &d.message)
                    .collect::<Vec<_>>()
            ),
        );
        assert_eq!(documents(&cached.content), documents(&fresh.content));
        assert_eq!(cache.patched.load(std::sync::atomic::Ordering::Relaxed), 2);
        cache.keep(cached.content);
        // A file that does not parse: loaded the ordinary way, which reports it.
        tree.insert("hosts/broken.yaml", "os: [unclosed\n");
        let broken = load_cached(&tree, &BTreeMap::new(), &cache);
        assert!(broken.diagnostics.has_errors());
        assert_eq!(documents(&broken.content), documents(&load(&tree).content));
        cache.keep(broken.content);
        // After a load with errors, the next is an ordinary one too (and the same).
        tree.remove("hosts/broken.yaml");
        let mended = load_cached(&tree, &BTreeMap::new(), &cache);
        assert!(!mended.diagnostics.has_errors());
        assert_eq!(documents(&mended.content), documents(&load(&tree).content));
        assert_eq!(cache.patched.load(std::sync::atomic::Ordering::Relaxed), 2);
    }

    /// Everything the store would keep of `content`: every document's data in the
    /// binary form, which carries every value's span, with its offsets and file hash.
    fn stored(content: &Content) -> Vec<u8> {
        Store::default().updated(content).unwrap_or_default()
    }

    /// The number of documents the store can hold: all but the policy's.
    fn storable(content: &Content) -> usize {
        content.files.len() - usize::from(content.policy.is_some())
    }

    #[test]
    fn documents_read_from_the_store_equal_parsed_ones_down_to_their_spans() {
        let mut tree = example();
        // A warning, which points at a value inside a stored document.
        tree.insert(
            "flags/account_sets/zz-late.yaml",
            "accounts: [acct-1001]\nfeatures:\n  new-checkout: false\n",
        );
        let parsed = load(&tree);
        assert!(!parsed.diagnostics.has_errors());
        assert!(
            parsed
                .diagnostics
                .iter()
                .any(|d| d.code == "conflicting-account-sets"),
            "{:?}",
            parsed.diagnostics
        );
        let bytes = stored(&parsed.content);
        assert!(!bytes.is_empty());

        let cache = ParseCache::stored(&bytes);
        let read = load_cached(&tree, &BTreeMap::new(), &cache);
        assert_eq!(
            cache.documents_from_store(),
            storable(&parsed.content),
            "every document but the policy's comes from the store"
        );
        assert_eq!(documents(&read.content), documents(&parsed.content));
        assert_eq!(stored(&read.content), bytes, "spans, offsets and values");
        let messages = |loaded: &Loaded| {
            let files = &loaded.content.files;
            let mut out = String::new();
            for d in loaded.diagnostics.iter() {
                let at = d
                    .location
                    .as_ref()
                    .map(|l| (files.path(l.file), l.range.clone()));
                let related: Vec<_> = d.related.iter().map(|(l, _)| l.range.clone()).collect();
                out.push_str(&format!(
                    "{:?} {} {at:?} {related:?}\n",
                    d.severity, d.message
                ));
            }
            out
        };
        assert_eq!(messages(&read), messages(&parsed));
        // A span read back still points at its value in the file.
        let ticket = read
            .content
            .tickets
            .iter()
            .find(|t| t.data.module.is_some())
            .expect("the example has a ticket with a module");
        let module = ticket.data.module.as_ref().expect("just found");
        let text = read.content.files.text(ticket.file());
        let at = ticket.origin.offset + module.span.start..ticket.origin.offset + module.span.end;
        assert_eq!(&text[at], module.as_str());
        // Nothing changed: the store is not written again.
        cache.keep(read.content);
        assert_eq!(cache.updated_store(), None);
    }

    #[test]
    fn a_file_that_changed_since_the_store_was_written_is_parsed() {
        let mut tree = example();
        let before = load(&tree);
        let bytes = stored(&before.content);
        let path = before.content.tickets[0].path.clone();
        let text = before.content.files.text(before.content.tickets[0].file());
        let title = &before.content.tickets[0].data.title;
        tree.insert(
            path.clone(),
            text.replacen(title.as_str(), "A title written since", 1),
        );
        let removed = before.content.hosts[0].path.clone();
        tree.remove(&removed);

        let cache = ParseCache::stored(&bytes);
        let read = load_cached(&tree, &BTreeMap::new(), &cache);
        let fresh = load(&tree);
        assert_eq!(documents(&read.content), documents(&fresh.content));
        assert_eq!(stored(&read.content), stored(&fresh.content));
        assert_eq!(read.content.tickets[0].data.title, "A title written since");
        assert_eq!(
            cache.documents_from_store(),
            storable(&before.content) - 2,
            "all but the changed and the removed file"
        );
        // The next store has the changed document and not the removed one.
        cache.keep(read.content);
        let next = cache.updated_store().expect("the store changed");
        assert_eq!(next, stored(&fresh.content));
    }

    #[test]
    fn a_store_that_is_damaged_or_from_another_build_is_not_used() {
        let tree = example();
        let parsed = load(&tree);
        let bytes = stored(&parsed.content);
        let mut other_build = bytes.clone();
        // The format string is the first field: its first byte after the length.
        other_build[1] ^= 0x20;
        let truncated = &bytes[..bytes.len() / 2];
        for damaged in [&b""[..], b"\xff\xff\xff\xff", truncated, &other_build] {
            let cache = ParseCache::stored(damaged);
            let read = load_cached(&tree, &BTreeMap::new(), &cache);
            assert_eq!(cache.documents_from_store(), 0);
            assert_eq!(documents(&read.content), documents(&parsed.content));
            cache.keep(read.content);
            assert_eq!(cache.updated_store(), Some(bytes.clone()), "written afresh");
        }
    }
}
