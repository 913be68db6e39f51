//! From a tree of files to typed documents: classify each path, parse in parallel, then
//! check the repository as a whole.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rayon::prelude::*;
use serde::de::DeserializeOwned;

use super::model::*;
use super::{Content, Document, Loaded};
use crate::diag::{Diagnostic, Diagnostics, FileId, Files, Location, Origin};
use crate::source::Tree;
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
enum Parsed {
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

/// Like [`load_with_pending`], taking unchanged files from `cache` instead of decoding
/// and parsing them again. The caller hands the content back to the cache when done
/// with it ([`ParseCache::keep`]), for the next load.
pub fn load_cached(tree: &Tree, pending: &BTreeMap<String, String>, cache: &ParseCache) -> Loaded {
    let mut files = Files::new();
    let mut diagnostics = Diagnostics::default();
    let mut jobs = Vec::new();
    // What the previous load left: read without locking while files are classified.
    let mut known = cache.take();
    // Classifying and decoding every file is independent work: in parallel, in path
    // order; only numbering the files is sequential. A file whose text is the one the
    // cache holds is shared with the previous load, not decoded again.
    let classified: Vec<(&str, Classified, Text)> = tree
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
            let unchanged = hash
                .and_then(|hash| known.get(path).filter(|kept| kept.hash == hash))
                .map(|kept| Text::Shared(kept.file.clone()));
            let text = unchanged.unwrap_or_else(|| match std::str::from_utf8(bytes) {
                Ok(text) => Text::Decoded(text.to_owned(), None, hash),
                Err(err) => Text::Decoded(
                    String::from_utf8_lossy(bytes).into_owned(),
                    Some(err.valid_up_to()),
                    hash,
                ),
            });
            Some((path, classified, text))
        })
        .collect();
    let mut parsed: Vec<Option<Parsed>> = Vec::new();
    for (path, classified, text) in classified {
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
            diagnostics.push(
                Diagnostic::error("invalid-utf8", "file is not valid UTF-8 text")
                    .at(Location::new(file, at..at))
                    .with_help("save the file as UTF-8"),
            );
        }
        // An unchanged file's document moves over from the previous load.
        parsed.push(
            shared
                .then(|| known.remove(path))
                .flatten()
                .map(|kept| kept.parsed.in_file(file)),
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
    crate::timings::mark("parse files");
    diagnostics.extend(super::validate::validate(&content, &declared, pending));
    crate::timings::mark("validate");
    diagnostics.sort(&content.files);
    Loaded {
        content,
        diagnostics,
    }
}

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

/// The documents of the previous load in this process (the preview server), by path,
/// with the blake3 of their text: a load decodes and parses only files that changed, and
/// moves the others' documents over instead of copying them. Files that failed to parse
/// are not kept, so their diagnostics are always fresh. The default cache keeps nothing
/// (a one-off build has no use for the documents after it).
#[derive(Default)]
pub struct ParseCache {
    keeping: bool,
    entries: std::sync::Mutex<Entries>,
    /// Documents handed back and still being sorted into entries on another thread.
    pending: std::sync::Mutex<Option<std::thread::JoinHandle<Entries>>>,
}

type Entries = HashMap<String, Kept>;

/// One document the cache holds, with the file it came from.
struct Kept {
    hash: blake3::Hash,
    file: std::sync::Arc<crate::diag::File>,
    parsed: Parsed,
}

impl ParseCache {
    /// A cache that keeps each load's documents for the next one.
    pub fn keeping() -> Self {
        Self {
            keeping: true,
            ..Self::default()
        }
    }

    /// Everything it holds, leaving it empty until [`ParseCache::keep`].
    fn take(&self) -> Entries {
        if !self.keeping {
            return HashMap::new();
        }
        self.settle();
        self.entries
            .lock()
            .map(|mut entries| std::mem::take(&mut *entries))
            .unwrap_or_default()
    }

    /// Waits for documents handed back to be in the entries.
    fn settle(&self) {
        let pending = self.pending.lock().ok().and_then(|mut p| p.take());
        let Some(entries) = pending.and_then(|handle| handle.join().ok()) else {
            return;
        };
        if let Ok(mut kept) = self.entries.lock() {
            crate::defer::drop_later(std::mem::replace(&mut *kept, entries));
        }
    }

    /// Takes back the documents of a load once the caller is done with them, for the
    /// next load. They are sorted by path on another thread, off the caller's way; a
    /// cache that does not keep drops them (on another thread too).
    pub fn keep(&self, content: Content) {
        if !self.keeping {
            crate::defer::drop_later(content);
            return;
        }
        self.settle();
        let spawned = std::thread::Builder::new()
            .name("glassroom-parses".into())
            .spawn(move || entries_of(content));
        if let (Ok(handle), Ok(mut pending)) = (spawned, self.pending.lock()) {
            *pending = Some(handle);
        }
    }

    /// How many files it holds.
    pub fn len(&self) -> usize {
        self.settle();
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

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

    #[test]
    fn a_cached_load_equals_a_fresh_one_after_files_come_and_change() {
        let cache = ParseCache::keeping();
        let mut tree = example();
        let first = load_cached(&tree, &BTreeMap::new(), &cache);
        assert!(!first.diagnostics.has_errors());
        let documents = format!("{:?}", first.content);
        cache.keep(first.content);
        assert!(!cache.is_empty());
        // Nothing changed: the same documents, every one moved over from the cache.
        let again = load_cached(&tree, &BTreeMap::new(), &cache);
        assert_eq!(format!("{:?}", again.content), documents);
        assert!(cache.is_empty(), "taken, not copied");
        cache.keep(again.content);
        // A new file early in the order moves every later file's id; one file changes.
        let (path, bytes) = tree
            .iter()
            .find(|(p, _)| p.starts_with("certificates/"))
            .map(|(p, b)| (p.to_owned(), b.to_vec()))
            .unwrap_or_default();
        tree.insert("certificates/0-first.yaml".to_owned(), bytes.clone());
        let changed = String::from_utf8_lossy(&bytes).replace("issuer:", "issuer: Other CA #");
        tree.insert(path, changed.into_bytes());
        let cached = load_cached(&tree, &BTreeMap::new(), &cache);
        let fresh = load(&tree);
        assert_eq!(
            format!("{:?}", cached.content),
            format!("{:?}", fresh.content),
            "same documents, with file ids of this load"
        );
        for ticket in &cached.content.tickets {
            assert_eq!(cached.content.files.path(ticket.file()), ticket.path);
        }
    }
}
