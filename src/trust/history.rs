//! History replay: walk the first-parent chain from the trust root to a target commit,
//! judging each commit under the policy approved at its parent, and produce the approved
//! tree with every path's audit trail. Verified state is cached in the git directory so a
//! rebuild after one new commit verifies one commit.

use std::collections::BTreeMap;
use std::path::PathBuf;

use git2::{ObjectType, Oid, Repository, Tree};
use serde::{Deserialize, Serialize};

use super::commit::{self, SignatureHeader, Trailer};
use super::judge::{self, Change, Event, EventKind, Facts, Globs};
use super::policy::{POLICY_PATH, Policy, Role};
use super::roles;
use super::signature::{self, KeyRing, Verdict};
use crate::source::Tree as ContentTree;

/// Where the trust root came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RootSource {
    /// `--trust-root`.
    Argument,
    /// `git config glassroom.trustRoot` (local to the repository, never versioned).
    GitConfig,
    /// Nothing said: the first commit, which is weaker (warned about).
    FirstCommit,
}

/// A path whose content at the target differs from its approved content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pending {
    pub path: String,
    /// The blob at the target (absent: deleted there but still published).
    pub blob: Option<String>,
    pub approved_blob: Option<String>,
    /// The latest event explaining why it waits.
    pub last_event: Option<Event>,
    /// The role needed to approve it, and who has it.
    pub needs: Role,
    pub signers: Vec<String>,
}

/// The result of replaying history.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub trust_root: String,
    pub root_source: RootSource,
    /// Path → blob id of everything approved at the target.
    pub approved: BTreeMap<String, String>,
    /// Path → its audit trail, oldest first.
    pub events: BTreeMap<String, Vec<Event>>,
    pub pending: Vec<Pending>,
    /// Paths whose latest event is a refusal.
    pub refused: Vec<String>,
    /// Things worth telling the user that do not stop publishing.
    pub warnings: Vec<String>,
    /// Commits whose signatures were checked in this run (not taken from the cache).
    pub verified: usize,
    /// Each path's trail and approved blob as a fingerprint ([`trail_stamp`]): what a
    /// later stage compares to see which paths two reports differ in, without looking
    /// at 12,000 trails.
    #[serde(skip)]
    pub trails: Trails,
}

impl Report {
    /// The fingerprint of everything a site shows of the report (all but `verified`,
    /// which counts this run's work): from the trails, not the 12,000 trails themselves.
    pub fn stamp(&self) -> crate::memo::Stamp {
        let mut stamp = crate::memo::Stamper::new("trust report");
        stamp
            .text(&self.target)
            .text(&self.trust_root)
            .bytes(&serde_json::to_vec(&self.root_source).unwrap_or_default())
            .bytes(&serde_json::to_vec(&self.pending).unwrap_or_default())
            .bytes(&serde_json::to_vec(&self.refused).unwrap_or_default())
            .bytes(&serde_json::to_vec(&self.warnings).unwrap_or_default());
        for (path, trail) in self.trails.iter() {
            stamp.text(path).stamp(trail);
        }
        stamp.finish()
    }
}

/// Path → the fingerprint of its trail and approved blob, for every path with either.
pub type Trails = std::sync::Arc<BTreeMap<String, crate::memo::Stamp>>;

/// The fingerprint of one path's trail and approved blob.
fn trail_stamp(events: Option<&Vec<Event>>, approved: Option<&String>) -> crate::memo::Stamp {
    let mut stamp = crate::memo::Stamper::new("trail");
    stamp.bytes(&serde_json::to_vec(&events).unwrap_or_default());
    stamp.text(approved.map_or("", String::as_str));
    stamp.finish()
}

/// The trails of `state`: those of `kept` (the trails of the state this replay resumed
/// from) with the `touched` paths' made again, or else every path's.
fn trails_of(
    state: &State,
    kept: Option<Trails>,
    touched: &std::collections::BTreeSet<String>,
) -> Trails {
    let stamp_of = |path: &str| {
        let (events, approved) = (state.events.get(path), state.approved.get(path));
        (events.is_some() || approved.is_some()).then(|| trail_stamp(events, approved))
    };
    if let Some(mut trails) = kept {
        let patched = std::sync::Arc::make_mut(&mut trails);
        for path in touched {
            match stamp_of(path) {
                Some(stamp) => patched.insert(path.clone(), stamp),
                None => patched.remove(path),
            };
        }
        return trails;
    }
    use rayon::prelude::*;
    let mut paths: Vec<&String> = state.events.keys().chain(state.approved.keys()).collect();
    paths.sort_unstable();
    paths.dedup();
    let stamped: Vec<(String, crate::memo::Stamp)> = paths
        .par_iter()
        .filter_map(|path| stamp_of(path).map(|stamp| ((*path).clone(), stamp)))
        .collect();
    std::sync::Arc::new(stamped.into_iter().collect())
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("trust root `{rev}` cannot be resolved: {source}")]
    BadRoot {
        rev: String,
        #[source]
        source: git2::Error,
    },
    #[error("the trust root {root} is not on the first-parent history of {target}")]
    RootNotInHistory { root: String, target: String },
    #[error(
        "{target} does not descend from the last approved head {approved}: nothing is published until an admin signs the reset (a commit on top with the trailer `Reset: {approved}`)"
    )]
    Rewound { approved: String, target: String },
    #[error("malformed commit {commit}: {source}")]
    Malformed {
        commit: String,
        #[source]
        source: commit::Malformed,
    },
}

/// How to replay.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--trust-root`, if given.
    pub trust_root: Option<String>,
    /// When this verification happens (seconds): commits first seen after a key expired
    /// cannot be signed by it.
    pub now: i64,
    /// Read and write the cache in the git directory.
    pub cache: bool,
    /// The target is the published head: it must descend from the last verified head
    /// (and becomes the new one). Off for looking at another revision (`--rev`), which
    /// neither moves nor is refused by the recorded head.
    pub forward_only: bool,
}

/// The replay state after some commit; this is what the cache keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    head: String,
    head_time: i64,
    approved: BTreeMap<String, String>,
    events: BTreeMap<String, Vec<Event>>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    trust_root: String,
    state: State,
    /// When each commit was first verified (seconds).
    first_seen: BTreeMap<String, i64>,
}

// 2: a policy that does not validate is no longer in force (issue 19, class 7).
const CACHE_VERSION: u32 = 2;

fn cache_path(repo: &Repository) -> PathBuf {
    repo.path().join("glassroom").join("trust-cache.json")
}

fn load_cache(repo: &Repository, root: &str) -> Option<CacheFile> {
    let bytes = std::fs::read(cache_path(repo)).ok()?;
    let cache: CacheFile = serde_json::from_slice(&bytes).ok()?;
    (cache.version == CACHE_VERSION && cache.trust_root == root).then_some(cache)
}

/// The state the last replay in this process reached, so a server verifying each new
/// commit resumes from it instead of reading and parsing the cache file again (4 MB for
/// a repository of 12,000 files). The default remembers nothing.
#[derive(Default)]
pub struct Kept {
    keep: bool,
    last: std::sync::Mutex<Option<std::sync::Arc<CacheFile>>>,
    /// Saves asked for, and the newest one written (shared with the writing threads), so
    /// an older state never replaces a newer one in the file.
    asked: std::sync::atomic::AtomicU64,
    written: std::sync::Arc<std::sync::Mutex<u64>>,
    /// The last target commit and its publishable files ([`tree_files`]), for the next
    /// target's list to be patched from instead of walking every tree again.
    target: std::sync::Mutex<Option<(Oid, BTreeMap<String, String>)>>,
    /// The head of the last replay's state and its trails, for the next replay that
    /// resumes from that state to patch.
    trails: std::sync::Mutex<Option<(String, Trails)>>,
    /// The last state not yet handed to a writing thread ([`Kept::save`]).
    unsaved: std::sync::Mutex<Option<Unsaved>>,
}

/// A state to write to the cache file, and which save it is.
struct Unsaved {
    path: PathBuf,
    cache: std::sync::Arc<CacheFile>,
    generation: u64,
}

impl Kept {
    /// Remembers each replay's state for the next.
    pub fn keeping() -> Self {
        Self {
            keep: true,
            ..Self::default()
        }
    }

    /// Writes the last replay's state to the cache file, on a thread of its own, if it
    /// is not written yet. A server calls this once the site of that replay is served:
    /// writing (4 MB of JSON at scale) while the site is built would take one of the
    /// cores the build runs on.
    pub fn save(&self) {
        let Some(Unsaved {
            path,
            cache,
            generation,
        }) = self
            .unsaved
            .lock()
            .ok()
            .and_then(|mut unsaved| unsaved.take())
        else {
            return;
        };
        let written = std::sync::Arc::clone(&self.written);
        let write = move || {
            if let Ok(mut written) = written.lock()
                && *written < generation
            {
                save_cache(&path, &cache);
                *written = generation;
            }
        };
        // If no thread can be started, the next process verifies from an older state.
        let _ = std::thread::Builder::new()
            .name("glassroom-trust-cache".into())
            .spawn(write);
    }

    fn take(&self, root: &str) -> Option<CacheFile> {
        let kept = self.last.lock().ok()?.take()?;
        (kept.trust_root == root)
            .then(|| std::sync::Arc::try_unwrap(kept).unwrap_or_else(|shared| (*shared).clone()))
    }
}

/// Saves `cache` now, or, when the state is kept in memory (nobody in this process
/// waits for the file), when [`Kept::save`] is called.
fn save_cache_from(repo: &Repository, cache: CacheFile, kept: &Kept) {
    if !kept.keep {
        save_cache(&cache_path(repo), &cache);
        return;
    }
    let cache = std::sync::Arc::new(cache);
    if let Ok(mut last) = kept.last.lock() {
        *last = Some(std::sync::Arc::clone(&cache));
    }
    let generation = kept.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
    if let Ok(mut unsaved) = kept.unsaved.lock() {
        *unsaved = Some(Unsaved {
            path: cache_path(repo),
            cache,
            generation,
        });
    }
}

fn save_cache(path: &std::path::Path, cache: &CacheFile) {
    let Some(dir) = path.parent() else { return };
    if std::fs::create_dir_all(dir).is_err() {
        return;
    }
    // Write to a temporary file and rename, so a crash never leaves half a cache.
    let Ok(bytes) = serde_json::to_vec(cache) else {
        return;
    };
    let temporary = path.with_extension("json.tmp");
    if std::fs::write(&temporary, bytes).is_ok() {
        let _ = std::fs::rename(&temporary, path);
    }
}

/// Resolves the trust root: argument, then local git config, then the first commit.
fn trust_root(
    repo: &Repository,
    target: Oid,
    arg: Option<&str>,
) -> Result<(Oid, RootSource), TrustError> {
    let resolve = |rev: &str| {
        repo.revparse_single(rev)
            .and_then(|o| o.peel_to_commit())
            .map(|c| c.id())
            .map_err(|source| TrustError::BadRoot {
                rev: rev.to_owned(),
                source,
            })
    };
    if let Some(rev) = arg {
        return Ok((resolve(rev)?, RootSource::Argument));
    }
    let configured = repo
        .config()
        .and_then(|c| c.open_level(git2::ConfigLevel::Local))
        .and_then(|c| c.get_string("glassroom.trustRoot"))
        .ok();
    if let Some(rev) = configured {
        return Ok((resolve(&rev)?, RootSource::GitConfig));
    }
    let mut commit = repo.find_commit(target)?;
    while let Ok(parent) = commit.parent(0) {
        commit = parent;
    }
    Ok((commit.id(), RootSource::FirstCommit))
}

/// The first-parent chain from `root` (exclusive) to `target` (inclusive), oldest first;
/// `None` if `root` is not on it.
fn chain(
    repo: &Repository,
    root: Oid,
    target: Oid,
    stop_at: Option<Oid>,
) -> Result<Option<(Vec<Oid>, bool)>, TrustError> {
    let mut ids = Vec::new();
    let mut current = repo.find_commit(target)?;
    loop {
        if Some(current.id()) == stop_at {
            ids.reverse();
            return Ok(Some((ids, true)));
        }
        if current.id() == root {
            ids.reverse();
            return Ok(Some((ids, false)));
        }
        ids.push(current.id());
        match current.parent(0) {
            Ok(parent) => current = parent,
            Err(_) => return Ok(None),
        }
    }
}

fn policy_from(repo: &Repository, approved: &BTreeMap<String, String>) -> Policy {
    approved
        .get(POLICY_PATH)
        .and_then(|blob| Oid::from_str(blob).ok())
        .and_then(|oid| repo.find_blob(oid).ok())
        .and_then(|blob| std::str::from_utf8(blob.content()).ok().map(str::to_owned))
        .and_then(|text| Policy::usable(&text).ok())
        .unwrap_or_default()
}

fn fingerprint(repo: &Repository, blob: &str) -> Option<String> {
    let oid = Oid::from_str(blob).ok()?;
    let blob = repo.find_blob(oid).ok()?;
    Some(blake3::hash(blob.content()).to_hex().to_string())
}

/// Every blob of a tree, path → id (symbolic links and other non-files excluded).
fn tree_files(repo: &Repository, tree: &Tree<'_>) -> Result<BTreeMap<String, String>, TrustError> {
    let mut out = BTreeMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        let Some(name) = entry
            .name()
            .ok()
            .filter(|n| crate::source::git::is_safe_component(n))
        else {
            return git2::TreeWalkResult::Skip;
        };
        if is_regular_file(entry.filemode()) {
            out.insert(format!("{dir}{name}"), entry.id().to_string());
        }
        git2::TreeWalkResult::Ok
    })?;
    let _ = repo;
    Ok(out)
}

/// Replays history up to `target` and reports what is approved there, resuming from the
/// state `kept` (or else the cache file) holds when it is an ancestor's.
pub fn replay(
    repo: &Repository,
    target: Oid,
    options: &Options,
    kept: &Kept,
) -> Result<Report, TrustError> {
    let (root, root_source) = trust_root(repo, target, options.trust_root.as_deref())?;
    let root_hex = root.to_string();
    let mut warnings = Vec::new();
    if root_source == RootSource::FirstCommit {
        warnings.push(format!(
            "no trust root given: trusting the first commit {}; pin it with `git config glassroom.trustRoot {}` or --trust-root",
            short(&root_hex),
            root_hex
        ));
    }
    let mut cache = if options.cache {
        kept.take(&root_hex).or_else(|| load_cache(repo, &root_hex))
    } else {
        None
    };
    let cached_head = cache
        .as_ref()
        .and_then(|c| Oid::from_str(&c.state.head).ok());

    let (ids, resumed) = match chain(repo, root, target, cached_head)? {
        Some((ids, false)) if cached_head.is_some() && !options.forward_only => {
            cache = None;
            (ids, false)
        }
        Some((ids, false)) if cached_head.is_some() => {
            // The cached head is not an ancestor: the branch was rewound or rewritten.
            let approved = cache
                .as_ref()
                .map(|c| c.state.head.clone())
                .unwrap_or_default();
            if !reset_signed(repo, target, &approved, cache.as_ref())? {
                return Err(TrustError::Rewound {
                    approved,
                    target: target.to_string(),
                });
            }
            warnings.push(format!(
                "history was reset from {} by a signed `Reset:`",
                short(&approved)
            ));
            cache = None;
            (ids, false)
        }
        Some(found) => found,
        None => {
            return Err(TrustError::RootNotInHistory {
                root: root_hex,
                target: target.to_string(),
            });
        }
    };

    let mut first_seen = cache
        .as_ref()
        .map(|c| c.first_seen.clone())
        .unwrap_or_default();
    let had_cache = cache.is_some();
    let mut state = match (resumed, cache) {
        (true, Some(cache)) => cache.state,
        _ => root_state(repo, root)?,
    };
    // The trails of the state resumed from, if this process made them.
    let kept_trails = kept
        .trails
        .lock()
        .ok()
        .and_then(|mut last| last.take())
        .filter(|(head, _)| resumed && *head == state.head)
        .map(|(_, trails)| trails);
    let mut touched = std::collections::BTreeSet::new();
    // The head replayed from, and each path the replayed commits changed with what it
    // became: that head's tree with these is the target's.
    let replayed_from = state.head.clone();
    let mut replayed = BTreeMap::new();

    let odb = repo.odb()?;
    let mut verified = 0;
    for id in &ids {
        let commit = repo.find_commit(*id)?;
        let raw = odb.read(*id)?;
        let parsed = commit::parse(raw.data()).map_err(|source| TrustError::Malformed {
            commit: id.to_string(),
            source,
        })?;
        let policy = policy_from(repo, &state.approved);
        let ring = KeyRing::new(&policy);
        let seen = *first_seen.entry(id.to_string()).or_insert(options.now);
        let verdict = verdict_for(&parsed, &ring, state.head_time, had_cache.then_some(seen));
        verified += 1;
        let parent_tree = commit.parent(0).ok().map(|p| p.tree()).transpose()?;
        let tree = commit.tree()?;
        let deltas = crate::source::git::tree_diff(repo, parent_tree.as_ref(), &tree)?;
        for delta in &deltas {
            replayed.insert(delta.path.clone(), delta.new);
        }
        let changes = changes(repo, &tree, deltas)?;
        let (trailers, trailer_problems) = commit::trailers(&parsed.message);
        let id_hex = id.to_string();
        let facts = Facts {
            id: &id_hex,
            time: parsed.time,
            verdict: &verdict,
            trailers: &trailers,
            trailer_problems: &trailer_problems,
        };
        let blob_at = |path: &str| {
            tree.get_path(std::path::Path::new(path))
                .ok()
                .filter(|e| e.kind() == Some(ObjectType::Blob))
                .map(|e| e.id().to_string())
        };
        let globs = Globs::new(&policy);
        let judgement = judge::judge(&facts, &changes, &policy, &globs, &blob_at);
        let policy_before = state.approved.get(POLICY_PATH).cloned();
        judge::apply(&mut state.approved, &judgement);
        touched.extend(judgement.apply.iter().map(|(path, _)| path.clone()));
        touched.extend(judgement.events.iter().map(|(path, _)| path.clone()));
        // A policy that is not usable is put back, with an event of its own.
        touched.insert(POLICY_PATH.to_owned());
        for (path, mut event) in judgement.events {
            event.fingerprint = event.blob.as_deref().and_then(|b| fingerprint(repo, b));
            state.events.entry(path).or_default().push(event);
        }
        keep_policy_usable(repo, &mut state, policy_before, &id_hex, parsed.time);
        state.head = id_hex;
        state.head_time = state.head_time.max(parsed.time);
    }

    let target_tree = repo.find_commit(target)?.tree()?;
    let target_files = target_files(
        repo,
        target,
        &target_tree,
        kept,
        (&replayed_from, &replayed),
    )?;
    let policy = policy_from(repo, &state.approved);
    let pending = pending(&state, &target_files, &policy);
    keep_target_files(kept, target, target_files);
    let refused = state
        .events
        .iter()
        .filter(|(path, events)| {
            !path.is_empty() && events.last().is_some_and(|e| e.kind == EventKind::Refused)
        })
        .map(|(path, _)| path.clone())
        .collect();

    let trails = trails_of(&state, kept_trails, &touched);
    if kept.keep
        && let Ok(mut last) = kept.trails.lock()
    {
        *last = Some((state.head.clone(), std::sync::Arc::clone(&trails)));
    }
    if options.cache && options.forward_only {
        save_cache_from(
            repo,
            CacheFile {
                version: CACHE_VERSION,
                trust_root: root_hex.clone(),
                state: state.clone(),
                first_seen,
            },
            kept,
        );
    }
    Ok(Report {
        target: target.to_string(),
        trust_root: root_hex,
        root_source,
        approved: state.approved,
        events: state.events,
        pending,
        refused,
        warnings,
        verified,
        trails,
    })
}

fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

/// The trust root's tree is approved as a whole.
fn root_state(repo: &Repository, root: Oid) -> Result<State, TrustError> {
    let commit = repo.find_commit(root)?;
    let files = tree_files(repo, &commit.tree()?)?;
    let time = commit.time().seconds();
    let mut events = BTreeMap::new();
    for (path, blob) in &files {
        events.insert(
            path.clone(),
            vec![Event {
                kind: EventKind::TrustRoot,
                commit: root.to_string(),
                time,
                principal: None,
                blob: Some(blob.clone()),
                fingerprint: fingerprint(repo, blob),
                reason: None,
            }],
        );
    }
    Ok(State {
        head: root.to_string(),
        head_time: time,
        approved: files,
        events,
    })
}

/// The signature verdict, with glassroom's time rules on top of the key's period: a
/// commit dated before its parent is refused (backdating defeats git's own check), and,
/// once history is being tracked, a key cannot sign commits first seen after it expired.
fn verdict_for(
    parsed: &commit::RawCommit,
    ring: &KeyRing,
    parent_time: i64,
    first_seen: Option<i64>,
) -> Verdict {
    if parsed.time < parent_time {
        return Verdict::Unsigned {
            reason: "the commit is dated before its parent (backdated)".into(),
        };
    }
    let verdict = signature::verify(&parsed.signature, &parsed.payload, parsed.time, ring);
    if let (Verdict::Signed { key, principal }, Some(seen)) = (&verdict, first_seen)
        && !signature::key_valid_at(ring, key, seen)
    {
        return Verdict::Unsigned {
            reason: format!("first seen after key {key} of `{principal}` expired"),
        };
    }
    verdict
}

/// The changes of a commit against its first parent, with entries that can never publish
/// (symbolic links, submodules, unsafe or case-colliding names) marked.
fn changes(
    repo: &Repository,
    tree: &Tree<'_>,
    deltas: Vec<crate::source::git::TreeDelta>,
) -> Result<Vec<Change>, TrustError> {
    let case_twins = CaseTwins::new(repo, tree, deltas.len())?;
    // A link's target is never published, so a link side has no blob.
    let blob = |side: Option<(Oid, i32)>| {
        side.filter(|(_, mode)| *mode != LINK_MODE)
            .map(|(id, _)| id.to_string())
    };
    Ok(deltas
        .into_iter()
        .map(|delta| {
            let path = String::from_utf8_lossy(&delta.path).into_owned();
            let new_mode = delta.new.map(|(_, mode)| mode);
            let unpublishable = if !judge::is_clean_path(&path) {
                Some("is not a safe repository path")
            } else if new_mode == Some(LINK_MODE) {
                Some("is a symbolic link, which is never published")
            } else if new_mode == Some(SUBMODULE_MODE) {
                Some("is a submodule, which is never published")
            } else if case_twins.count(&path) > 1 {
                Some("differs only in case from another path")
            } else {
                None
            };
            Change {
                path,
                old: blob(delta.old),
                new: blob(delta.new),
                unpublishable: unpublishable.map(str::to_owned),
            }
        })
        .collect())
}

/// Git's file modes of a symbolic link and of a submodule (a commit in a tree).
const LINK_MODE: i32 = 0o120000;
const SUBMODULE_MODE: i32 = 0o160000;
/// The file type bits of a git file mode, and their value for a regular file
/// (`0o100644` or `0o100755`).
const FILE_TYPE_BITS: i32 = 0o170000;
const REGULAR_FILE_MODE: i32 = 0o100000;

/// Whether a tree entry of file mode `mode` is a file that can be published: a regular
/// file, not a directory, a symbolic link or a submodule.
fn is_regular_file(mode: i32) -> bool {
    mode & FILE_TYPE_BITS == REGULAR_FILE_MODE
}

/// How many publishable files of a tree have a path equal to a given one but for case
/// (two such files would be one file on a case-insensitive checkout).
enum CaseTwins<'r> {
    /// Every publishable path, lowercased: for a commit that changes many files.
    Listed(BTreeMap<String, usize>),
    /// Looked up in the tree path by path: a commit that changes a few files need not
    /// list all 12,000 of a large repository.
    Lookup(&'r Repository, Tree<'r>),
}

/// Above this many changed paths a commit's tree is listed once instead.
const CASE_LOOKUPS: usize = 64;

impl<'r> CaseTwins<'r> {
    fn new(repo: &'r Repository, tree: &Tree<'r>, changed: usize) -> Result<Self, TrustError> {
        if changed <= CASE_LOOKUPS {
            return Ok(Self::Lookup(repo, tree.clone()));
        }
        let mut lower = BTreeMap::new();
        for path in tree_files(repo, tree)?.keys() {
            *lower.entry(path.to_lowercase()).or_default() += 1;
        }
        Ok(Self::Listed(lower))
    }

    fn count(&self, path: &str) -> usize {
        match self {
            Self::Listed(lower) => lower.get(&path.to_lowercase()).copied().unwrap_or(0),
            Self::Lookup(repo, tree) => {
                let wanted: Vec<String> = path.split('/').map(str::to_lowercase).collect();
                count_case_twins(repo, tree, &wanted)
            }
        }
    }
}

/// The publishable files under `tree` whose path, lowercased, is `wanted` (components):
/// the entries [`tree_files`] would list, found by following every case-insensitive
/// match of each component.
fn count_case_twins(repo: &Repository, tree: &Tree<'_>, wanted: &[String]) -> usize {
    let Some((first, rest)) = wanted.split_first() else {
        return 0;
    };
    tree.iter()
        .filter(|entry| {
            entry
                .name()
                .ok()
                .filter(|n| crate::source::git::is_safe_component(n))
                .is_some_and(|n| n.to_lowercase() == *first)
        })
        .map(|entry| match entry.kind() {
            Some(ObjectType::Blob) if rest.is_empty() && is_regular_file(entry.filemode()) => 1,
            Some(ObjectType::Tree) if !rest.is_empty() => repo
                .find_tree(entry.id())
                .map_or(0, |subtree| count_case_twins(repo, &subtree, rest)),
            _ => 0,
        })
        .sum()
}

/// What the replayed commits changed: the head they start from, and each path they
/// changed with its entry at the end (absent: removed).
type Replayed<'a> = (&'a str, &'a BTreeMap<Vec<u8>, Option<(Oid, i32)>>);

/// The publishable files of `target`'s tree: the last target's list that `kept` holds,
/// patched with the `replayed` changes when that list is of the head they start from;
/// else listed.
fn target_files(
    repo: &Repository,
    target: Oid,
    tree: &Tree<'_>,
    kept: &Kept,
    (replayed_from, replayed): Replayed<'_>,
) -> Result<BTreeMap<String, String>, TrustError> {
    let last = if kept.keep {
        kept.target.lock().ok().and_then(|mut last| last.take())
    } else {
        None
    };
    let Some((last_target, mut files)) = last else {
        return tree_files(repo, tree);
    };
    if last_target == target {
        return Ok(files);
    }
    if last_target.to_string() == replayed_from {
        for (path, entry) in replayed {
            // A name that is not UTF-8 is never listed (see `tree_files`).
            let Ok(path) = std::str::from_utf8(path) else {
                continue;
            };
            // What `tree_files` lists: safe names, and regular files.
            let publishable =
                judge::is_clean_path(path) && entry.is_some_and(|(_, mode)| is_regular_file(mode));
            match entry.filter(|_| publishable) {
                Some((id, _)) => files.insert(path.to_owned(), id.to_string()),
                None => files.remove(path),
            };
        }
        return Ok(files);
    }
    tree_files(repo, tree)
}

/// Leaves `files`, the publishable files of `target`, for the next [`target_files`].
fn keep_target_files(kept: &Kept, target: Oid, files: BTreeMap<String, String>) {
    if kept.keep
        && let Ok(mut last) = kept.target.lock()
    {
        *last = Some((target, files));
    }
}

/// A policy change that is not usable ([`Policy::usable`]) never takes effect: the
/// previous policy stays.
fn keep_policy_usable(
    repo: &Repository,
    state: &mut State,
    before: Option<String>,
    commit: &str,
    time: i64,
) {
    let now = state.approved.get(POLICY_PATH).cloned();
    if now == before {
        return;
    }
    let blob = now
        .as_deref()
        .map(|b| Oid::from_str(b).and_then(|oid| repo.find_blob(oid)));
    let problem = match blob {
        None => "the policy file was removed".to_owned(),
        Some(Err(err)) => format!("its blob cannot be read: {}", err.message()),
        Some(Ok(blob)) => match std::str::from_utf8(blob.content()) {
            Err(_) => "it is not UTF-8 text".to_owned(),
            Ok(text) => match Policy::usable(text) {
                Ok(_) => return,
                Err(problem) => problem,
            },
        },
    };
    match &before {
        Some(blob) => state.approved.insert(POLICY_PATH.to_owned(), blob.clone()),
        None => state.approved.remove(POLICY_PATH),
    };
    state
        .events
        .entry(POLICY_PATH.to_owned())
        .or_default()
        .push(Event {
            kind: EventKind::Refused,
            commit: commit.to_owned(),
            time,
            principal: None,
            blob: now,
            fingerprint: None,
            reason: Some(format!(
                "the new policy is not usable ({problem}); the previous policy stays in effect"
            )),
        });
}

/// Whether `target` is signed by an admin and carries `Reset: <approved>`.
fn reset_signed(
    repo: &Repository,
    target: Oid,
    approved: &str,
    cache: Option<&CacheFile>,
) -> Result<bool, TrustError> {
    let odb = repo.odb()?;
    let raw = odb.read(target)?;
    let Ok(parsed) = commit::parse(raw.data()) else {
        return Ok(false);
    };
    let (trailers, _) = commit::trailers(&parsed.message);
    let names_reset = trailers
        .iter()
        .any(|t| matches!(t, Trailer::Reset { from } if from == approved));
    if !names_reset {
        return Ok(false);
    }
    let approved_tree = cache.map(|c| c.state.approved.clone()).unwrap_or_default();
    let policy = policy_from(repo, &approved_tree);
    let ring = KeyRing::new(&policy);
    let verdict = signature::verify(&parsed.signature, &parsed.payload, parsed.time, &ring);
    Ok(verdict
        .principal()
        .is_some_and(|p| roles::resolve(&policy, p, "") >= Role::Admin))
}

fn pending(state: &State, target: &BTreeMap<String, String>, policy: &Policy) -> Vec<Pending> {
    crate::memo::differing_keys(target, &state.approved)
        .into_iter()
        .map(|path| {
            let needs = judge::required_role(path);
            Pending {
                path: path.to_owned(),
                blob: target.get(path).cloned(),
                approved_blob: state.approved.get(path).cloned(),
                last_event: state.events.get(path).and_then(|e| e.last().cloned()),
                needs,
                signers: roles::who_has(policy, needs, path),
            }
        })
        .collect()
}

/// The approved tree's files with their content; through a keeping `cache` only the
/// files whose blobs changed since the last tree are read (see
/// [`crate::source::git::BlobCache`]).
pub fn approved_tree(
    repo: &Repository,
    report: &Report,
    cache: &crate::source::git::BlobCache,
) -> Result<ContentTree, TrustError> {
    Ok(crate::source::git::read_blobs(
        repo,
        &report.approved,
        cache,
    )?)
}

/// Whether the commit has any signature header at all (for messages).
pub fn has_signature(header: &SignatureHeader) -> bool {
    !matches!(header, SignatureHeader::None)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::source::git::tree_of;

    #[test]
    fn case_twins_looked_up_path_by_path_agree_with_the_listing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let tree = tree_of(
            &repo,
            &[
                ("hosts/web1.yaml", "a"),
                ("hosts/WEB1.yaml", "b"),
                ("Hosts/web1.yaml", "c"),
                ("hosts/Web2.yaml", "->/etc/passwd"),
                ("hosts/web2.yaml", "d"),
                ("hosts/web3.yaml", "e"),
                (".git2/web3.yaml", "f"),
            ],
        );
        let listed = CaseTwins::new(&repo, &tree, CASE_LOOKUPS + 1).expect("listed");
        let looked_up = CaseTwins::new(&repo, &tree, 1).expect("lookup");
        for (path, twins) in [
            ("hosts/web1.yaml", 3),
            ("HOSTS/Web1.yaml", 3),
            ("hosts/web2.yaml", 1),
            ("hosts/web3.yaml", 1),
            ("hosts/gone.yaml", 0),
        ] {
            assert_eq!(listed.count(path), twins, "listed: {path}");
            assert_eq!(looked_up.count(path), twins, "looked up: {path}");
        }
    }

    #[test]
    fn a_target_list_patched_from_the_last_one_equals_a_fresh_listing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let signature = git2::Signature::now("t", "t@example.org").expect("signature");
        let commit = |files: &[(&str, &str)], parents: &[&git2::Commit<'_>]| {
            let tree = tree_of(&repo, files);
            repo.commit(None, &signature, &signature, "c", &tree, parents)
                .expect("commit")
        };
        let first = commit(
            &[
                ("hosts/a.yaml", "a"),
                ("hosts/b.yaml", "b"),
                ("docs/x.md", "x"),
            ],
            &[],
        );
        let parent = repo.find_commit(first).expect("first");
        // An edit, a removal, an addition, a file become a link, a directory become a
        // file, and a file under an unsafe name.
        let second = commit(
            &[
                ("hosts/a.yaml", "a2"),
                ("hosts/b.yaml", "->/etc/passwd"),
                ("hosts/c.yaml", "c"),
                ("docs", "now a file"),
                ("hosts/back\\slash.yaml", "x"),
            ],
            &[&parent],
        );
        let kept = Kept::keeping();
        let first_tree = parent.tree().expect("tree");
        let nothing = BTreeMap::new();
        let listed = target_files(&repo, first, &first_tree, &kept, ("", &nothing)).expect("list");
        assert_eq!(listed, tree_files(&repo, &first_tree).expect("fresh"));
        let second_tree = repo
            .find_commit(second)
            .and_then(|c| c.tree())
            .expect("tree");
        let fresh = tree_files(&repo, &second_tree).expect("fresh");
        // Listed again when the kept list is not of the head the changes start from.
        keep_target_files(&kept, first, listed.clone());
        let listed_again =
            target_files(&repo, second, &second_tree, &kept, ("", &nothing)).expect("list");
        assert_eq!(listed_again, fresh);
        keep_target_files(&kept, first, listed);
        let replayed: BTreeMap<Vec<u8>, Option<(Oid, i32)>> =
            crate::source::git::tree_diff(&repo, Some(&first_tree), &second_tree)
                .expect("diff")
                .into_iter()
                .map(|delta| (delta.path, delta.new))
                .collect();
        let from = first.to_string();
        let patched =
            target_files(&repo, second, &second_tree, &kept, (&from, &replayed)).expect("patch");
        assert_eq!(patched, fresh);
        assert!(patched.contains_key("docs") && !patched.contains_key("hosts/b.yaml"));
        assert!(!patched.contains_key("hosts/back\\slash.yaml"));
    }
}
