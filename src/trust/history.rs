//! Verifying a repository's history: the trust root and the last verified head
//! ([`super::anchor`]), the replay of every commit in between as a graph
//! ([`super::replay`], over git by [`super::repository`]), and the report of what is
//! approved at the target with every path's audit trail.
//!
//! The replay is cached in `<git dir>/glassroom/trust-cache` (sealed, see
//! [`crate::local`]) so a rebuild after one new commit verifies one commit; a server
//! keeps it in memory ([`Kept`]). Deleting the cache only costs time: the replay is a
//! function of the history and of the anchor state.

use std::collections::{BTreeMap, BTreeSet};

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};

pub use super::anchor::RootSource;
use super::anchor::{self, Anchor, RootError};
use super::commit::{self, SignatureHeader, Trailer};
use super::judge::{self, Event, EventKind};
use super::policy::{POLICY_PATH, Policy, Role};
use super::replay::{self, Graph, Replayed};
use super::repository::GitGraph;
use super::roles;
use super::signature::{self, KeyRing};
use crate::local::{LocalDir, LocalError};
use crate::source::Tree as ContentTree;

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
    /// Path → its audit trail, parents' events before their children's.
    pub events: std::sync::Arc<BTreeMap<String, Vec<Event>>>,
    pub pending: Vec<Pending>,
    /// Paths whose latest event is a refusal.
    pub refused: Vec<String>,
    /// Things worth telling the user that do not stop publishing.
    pub warnings: Vec<String>,
    /// Commits whose signatures were checked in this run (not taken from the cache).
    pub verified: usize,
    /// The newest date of a signed commit in the target's history (seconds): what the
    /// site is built for by default. Unsigned commits' dates never count.
    pub time: i64,
    /// Each path's trail and approved blob as a fingerprint ([`trail_stamp`]): what a
    /// later stage compares to see which paths two reports differ in, without looking
    /// at 12,000 trails.
    #[serde(skip)]
    pub trails: Trails,
    /// The approved paths published by pre-approval alone ([`is_provisional`]).
    #[serde(skip)]
    pub provisional: Provisional,
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
            .bytes(&serde_json::to_vec(&self.warnings).unwrap_or_default())
            .bytes(&self.time.to_le_bytes());
        for (path, trail) in self.trails.iter() {
            stamp.text(path).stamp(trail);
        }
        stamp.finish()
    }
}

/// Path → the fingerprint of its trail and approved blob, for every path with either.
pub type Trails = std::sync::Arc<BTreeMap<String, crate::memo::Stamp>>;

/// The approved paths published by pre-approval alone, not by a signature.
pub type Provisional = std::sync::Arc<BTreeSet<String>>;

/// Whether `blob`, published at a path with these `events`, is there by pre-approval
/// alone: the last of its events that approved that blob decides (trust root, signed,
/// pre-approved); a merge's choice between two versions approved on concurrent branches
/// is looked through to the approval of the version it kept; reviews, pending changes,
/// refusals and revocations approve no blob. The match lists every kind so that adding
/// one must say which it is.
pub fn is_provisional(events: Option<&Vec<Event>>, blob: &str) -> bool {
    fn approves(kind: EventKind) -> bool {
        match kind {
            EventKind::TrustRoot | EventKind::Signed | EventKind::PreApproved => true,
            EventKind::Merged
            | EventKind::Revoked
            | EventKind::Reviewed
            | EventKind::Pending
            | EventKind::Refused => false,
        }
    }
    events
        .and_then(|events| {
            events
                .iter()
                .rev()
                .find(|e| approves(e.kind) && e.blob.as_deref() == Some(blob))
        })
        .is_some_and(|event| event.kind == EventKind::PreApproved)
}

/// The provisional paths of a replay: those of `kept` (the replay this one resumed from)
/// with the `touched` paths decided again, or else every path's.
fn provisional_of(
    events: &BTreeMap<String, Vec<Event>>,
    approved: &BTreeMap<String, String>,
    kept: Option<Provisional>,
    touched: &BTreeSet<String>,
) -> Provisional {
    let decide = |path: &String| {
        approved
            .get(path)
            .is_some_and(|blob| is_provisional(events.get(path), blob))
    };
    if let Some(mut provisional) = kept {
        let patched = std::sync::Arc::make_mut(&mut provisional);
        for path in touched {
            if decide(path) {
                patched.insert(path.clone());
            } else {
                patched.remove(path);
            }
        }
        return provisional;
    }
    std::sync::Arc::new(approved.keys().filter(|p| decide(p)).cloned().collect())
}

/// The fingerprint of one path's trail and approved blob.
fn trail_stamp(events: Option<&Vec<Event>>, approved: Option<&String>) -> crate::memo::Stamp {
    let mut stamp = crate::memo::Stamper::new("trail");
    stamp.bytes(&serde_json::to_vec(&events).unwrap_or_default());
    stamp.text(approved.map_or("", String::as_str));
    stamp.finish()
}

/// The trails of a replay: those of `kept` (the trails of the replay this one resumed
/// from) with the `touched` paths' made again, or else every path's.
fn trails_of(
    events: &BTreeMap<String, Vec<Event>>,
    approved: &BTreeMap<String, String>,
    kept: Option<Trails>,
    touched: &BTreeSet<String>,
) -> Trails {
    let stamp_of = |path: &str| {
        let (events, approved) = (events.get(path), approved.get(path));
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
    let mut paths: Vec<&String> = events.keys().chain(approved.keys()).collect();
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
    #[error(transparent)]
    Root(#[from] RootError),
    #[error(transparent)]
    Local(#[from] LocalError),
    #[error("the trust root {root} is not in the history of {target}{}", if *shallow {
        " (this repository is a shallow clone: fetch the whole history with `git fetch --unshallow`)"
    } else {
        ": a history without the root is refused; if the repository was replaced on purpose, give its new root with --trust-root or `git config glassroom.trustRoot`"
    })]
    RootNotInHistory {
        root: String,
        target: String,
        shallow: bool,
    },
    #[error(
        "{target} does not descend from the last approved head {approved}: nothing is published until an admin signs the reset (a commit on top with the trailer `Reset: {approved}`)"
    )]
    Rewound { approved: String, target: String },
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

/// What the cache file keeps: a replay and the root it started from.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheFile {
    version: u32,
    trust_root: String,
    replayed: Replayed,
}

const CACHE_FILE: &str = "trust-cache";
const CACHE_PURPOSE: &str = "trust cache";
/// Raised when what a replay decides changes, so verdicts cached under the old rules are
/// made again (3: every Unicode format character makes a name unpublishable).
const CACHE_VERSION: u32 = 3;

fn load_cache(local: &LocalDir, root: &str) -> Option<CacheFile> {
    let bytes = local.read_cache(CACHE_FILE, CACHE_PURPOSE)?;
    let cache: CacheFile = postcard::from_bytes(&bytes).ok()?;
    (cache.version == CACHE_VERSION && cache.trust_root == root).then_some(cache)
}

fn save_cache(local: &LocalDir, cache: &CacheFile) {
    // A cache only saves time: one that cannot be written is no cache.
    match postcard::to_allocvec(cache) {
        Ok(bytes) if local.write(CACHE_FILE, CACHE_PURPOSE, &bytes).is_ok() => {}
        _ => local.remove(CACHE_FILE),
    }
}

/// The replay the last verification in this process reached, so a server verifying each
/// new commit resumes from it instead of reading and decoding the cache file again. The
/// default remembers nothing.
#[derive(Default)]
pub struct Kept {
    keep: bool,
    last: std::sync::Mutex<Option<std::sync::Arc<CacheFile>>>,
    /// Saves asked for, and the newest one written (shared with the writing threads), so
    /// an older replay never replaces a newer one in the file.
    asked: std::sync::atomic::AtomicU64,
    written: std::sync::Arc<std::sync::Mutex<u64>>,
    /// The last target commit and its publishable files, for the next target's list to
    /// be patched from instead of walking every tree again.
    target: std::sync::Mutex<Option<(Oid, BTreeMap<String, String>)>>,
    /// The head of the last replay, its trails and provisional paths, for the next
    /// replay that resumes from it to patch.
    trails: std::sync::Mutex<Option<(String, Trails, Provisional)>>,
    /// The last replay not yet handed to a writing thread ([`Kept::save`]).
    unsaved: std::sync::Mutex<Option<Unsaved>>,
    /// The anchor as the last verification left it (written later, with the cache).
    anchor: std::sync::Mutex<Option<Anchor>>,
    /// The policy last in force, by blob: parsed and validated once, not per commit.
    policy: std::sync::Mutex<Option<(String, std::sync::Arc<Policy>)>>,
}

/// A replay to write to the cache file, and which save it is.
struct Unsaved {
    local: LocalDir,
    cache: Option<std::sync::Arc<CacheFile>>,
    anchor: Option<Anchor>,
    generation: u64,
}

impl Kept {
    /// Remembers each replay for the next.
    pub fn keeping() -> Self {
        Self {
            keep: true,
            ..Self::default()
        }
    }

    /// Writes the last replay to the cache file, on a thread of its own, if it is not
    /// written yet. A server calls this once the site of that replay is served: writing
    /// (megabytes at scale) while the site is built would take one of the cores the
    /// build runs on.
    pub fn save(&self) {
        let Some(Unsaved {
            local,
            cache,
            anchor,
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
                // The anchor before the cache: a cache never describes a head the anchor
                // has not recorded. A failed write is retried by the next verification.
                if let Some(anchor) = anchor {
                    let _ = anchor.save(&local);
                }
                if let Some(cache) = cache {
                    save_cache(&local, &cache);
                }
                *written = generation;
            }
        };
        // If no thread can be started, the next process verifies from an older replay.
        let _ = std::thread::Builder::new()
            .name("glassroom-trust-cache".into())
            .spawn(write);
    }

    /// The policy of `blob` (empty if none is usable), parsed once per blob.
    fn policy(&self, graph: &dyn Graph, blob: Option<&str>) -> std::sync::Arc<Policy> {
        let key = blob.unwrap_or_default();
        if let Ok(known) = self.policy.lock()
            && let Some((seen, policy)) = known.as_ref()
            && seen == key
        {
            return std::sync::Arc::clone(policy);
        }
        let policy = std::sync::Arc::new(
            blob.and_then(|blob| graph.text(blob))
                .and_then(|text| Policy::usable(&text).ok())
                .unwrap_or_default(),
        );
        if self.keep
            && let Ok(mut known) = self.policy.lock()
        {
            *known = Some((key.to_owned(), std::sync::Arc::clone(&policy)));
        }
        policy
    }

    fn take(&self, root: &str) -> Option<CacheFile> {
        let kept = self.last.lock().ok()?.take()?;
        (kept.trust_root == root)
            .then(|| std::sync::Arc::try_unwrap(kept).unwrap_or_else(|shared| (*shared).clone()))
    }

    /// Saves the anchor (when it changed) and the cache now, or, when replays are kept
    /// in memory (a server: nobody in this process waits for the files), when
    /// [`Kept::save`] is called.
    fn save_later(
        &self,
        local: &LocalDir,
        anchor: Option<Anchor>,
        cache: Option<CacheFile>,
    ) -> Result<(), TrustError> {
        if !self.keep {
            if let Some(anchor) = anchor {
                anchor.save(local)?;
            }
            if let Some(cache) = cache {
                save_cache(local, &cache);
            }
            return Ok(());
        }
        let cache = cache.map(std::sync::Arc::new);
        if let (Some(cache), Ok(mut last)) = (&cache, self.last.lock()) {
            *last = Some(std::sync::Arc::clone(cache));
        }
        let generation = self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if let Ok(mut unsaved) = self.unsaved.lock() {
            // An anchor not yet written stays to be written with the newer one's head.
            let anchor = anchor.or_else(|| unsaved.take().and_then(|u| u.anchor));
            *unsaved = Some(Unsaved {
                local: local.clone(),
                cache,
                anchor,
                generation,
            });
        }
        Ok(())
    }
}

/// Replays history up to `target` and reports what is approved there, resuming from the
/// replay `kept` (or else the cache file) holds when its head is in `target`'s history.
pub fn replay(
    repo: &Repository,
    target: Oid,
    options: &Options,
    kept: &Kept,
) -> Result<Report, TrustError> {
    let local = LocalDir::of_repository(repo)?;
    let kept_anchor = kept.anchor.lock().ok().and_then(|a| a.clone());
    let mut anchor = match kept_anchor {
        Some(anchor) => anchor,
        None => Anchor::load(&local)?,
    };
    let anchor_before = anchor.clone();
    let (root, root_source, warning) =
        anchor::trust_root(repo, target, options.trust_root.as_deref(), &mut anchor)?;
    let mut warnings: Vec<String> = warning.into_iter().collect();
    let root_hex = root.to_string();
    // The root is in the target's history if it is in the last verified head's, and that
    // head is in the target's (a walk of one commit, not of the whole history).
    let last_head = anchor.head.as_deref().and_then(|h| Oid::from_str(h).ok());
    let through_head = match last_head {
        Some(head) if anchor.head_root.as_deref() == Some(root_hex.as_str()) => {
            is_ancestor(repo, head, target)?
        }
        _ => false,
    };
    if !through_head && !is_ancestor(repo, root, target)? {
        return Err(TrustError::RootNotInHistory {
            root: root_hex,
            target: target.to_string(),
            shallow: repo.is_shallow(),
        });
    }
    let graph = GitGraph::new(repo)?;
    let mut cached = if options.cache {
        kept.take(&root_hex)
            .or_else(|| load_cache(&local, &root_hex))
    } else {
        None
    };
    if options.forward_only
        && let Some(head) = last_head
        && !is_ancestor(repo, head, target)?
    {
        // The branch was rewound or rewritten.
        let approved = head.to_string();
        if !reset_signed(repo, &graph, root, target, head, cached.take(), &anchor)? {
            return Err(TrustError::Rewound {
                approved,
                target: target.to_string(),
            });
        }
        warnings.push(format!(
            "history was reset from {} by a signed `Reset:`",
            short(&approved)
        ));
    }
    // Commits first seen now: those the last verified head does not reach.
    if options.forward_only
        && let Some(head) = last_head
    {
        let now = options.now;
        for id in graph.only_in(target, &[head]).unwrap_or_default() {
            anchor.first_seen.entry(id.to_string()).or_insert(now);
        }
    }
    let from = match cached {
        Some(cache) => {
            let head = Oid::from_str(&cache.replayed.head).ok();
            match head {
                Some(head) if is_ancestor(repo, head, target)? => Some(cache.replayed),
                _ => None,
            }
        }
        None => None,
    };
    let resumed_from = from.as_ref().map(|r| r.head.clone());
    let first_seen = |id: Oid| anchor.first_seen.get(&id.to_string()).copied();
    let (replayed, work) = replay::replay(&graph, root, target, from, &first_seen)?;

    let approved = replayed.state.approved();
    let target_tree = repo.find_commit(target)?.tree()?;
    let target_files = target_files(repo, target, &target_tree, kept)?;
    let policy = kept.policy(&graph, policy_blob(&replayed.state));
    let pending = pending(&approved, &replayed.events, &target_files, &policy);
    keep_target_files(kept, target, target_files);
    let refused = replayed
        .events
        .iter()
        .filter(|(path, events)| {
            !path.is_empty() && events.last().is_some_and(|e| e.kind == EventKind::Refused)
        })
        .map(|(path, _)| path.clone())
        .collect();
    // The trails of the replay resumed from, if this process made them.
    let (kept_trails, kept_provisional) = kept
        .trails
        .lock()
        .ok()
        .and_then(|mut last| last.take())
        .filter(|(head, _, _)| resumed_from.as_deref() == Some(head.as_str()))
        .map(|(_, trails, provisional)| (trails, provisional))
        .unzip();
    let trails = trails_of(&replayed.events, &approved, kept_trails, &work.touched);
    let provisional = provisional_of(&replayed.events, &approved, kept_provisional, &work.touched);
    if kept.keep
        && let Ok(mut last) = kept.trails.lock()
    {
        *last = Some((
            target.to_string(),
            std::sync::Arc::clone(&trails),
            std::sync::Arc::clone(&provisional),
        ));
    }
    let time = replayed
        .records
        .get(&target.to_string())
        .map_or(i64::MIN, |r| r.newest);
    let report = Report {
        target: target.to_string(),
        trust_root: root_hex.clone(),
        root_source,
        approved,
        events: std::sync::Arc::clone(&replayed.events),
        pending,
        refused,
        warnings,
        verified: work.verified,
        time,
        trails,
        provisional,
    };
    if options.forward_only {
        anchor.head = Some(target.to_string());
        anchor.head_root = Some(report.trust_root.clone());
        if kept.keep
            && let Ok(mut kept_anchor) = kept.anchor.lock()
        {
            *kept_anchor = Some(anchor.clone());
        }
        let anchor = (anchor != anchor_before).then_some(anchor);
        let cache = options.cache.then_some(CacheFile {
            version: CACHE_VERSION,
            trust_root: root_hex,
            replayed,
        });
        kept.save_later(&local, anchor, cache)?;
    }
    Ok(report)
}

/// Whether `ancestor` is `descendant` or in its history.
fn is_ancestor(repo: &Repository, ancestor: Oid, descendant: Oid) -> Result<bool, git2::Error> {
    Ok(ancestor == descendant || repo.graph_descendant_of(descendant, ancestor)?)
}

fn short(id: &str) -> &str {
    id.get(..10).unwrap_or(id)
}

/// The blob of the policy a replay's state publishes.
fn policy_blob(state: &replay::State) -> Option<&str> {
    state.files.get(POLICY_PATH).and_then(|a| a.blob.as_deref())
}

/// The publishable files of `target`'s tree: the last target's list that `kept` holds,
/// patched with the difference between the two trees; else listed.
fn target_files(
    repo: &Repository,
    target: Oid,
    tree: &git2::Tree<'_>,
    kept: &Kept,
) -> Result<BTreeMap<String, String>, TrustError> {
    let list = || -> Result<BTreeMap<String, String>, TrustError> {
        Ok(crate::source::git::regular_files(repo, tree)?
            .into_iter()
            .map(|(path, blob)| (path, blob.to_string()))
            .collect())
    };
    let last = if kept.keep {
        kept.target.lock().ok().and_then(|mut last| last.take())
    } else {
        None
    };
    let Some((last_target, mut files)) = last else {
        return list();
    };
    if last_target == target {
        return Ok(files);
    }
    let Ok(last_tree) = repo.find_commit(last_target).and_then(|c| c.tree()) else {
        return list();
    };
    for delta in crate::source::git::tree_diff(repo, Some(&last_tree), tree)? {
        // A name that is not UTF-8 is never listed (see `regular_files`).
        let Ok(path) = std::str::from_utf8(&delta.path) else {
            continue;
        };
        // What `regular_files` lists: safe names, and regular files.
        let publishable = judge::is_clean_path(path)
            && delta
                .new
                .is_some_and(|(_, mode)| crate::source::git::is_regular_file(mode));
        match delta.new.filter(|_| publishable) {
            Some((id, _)) => files.insert(path.to_owned(), id.to_string()),
            None => files.remove(path),
        };
    }
    Ok(files)
}

/// Leaves `files`, the publishable files of `target`, for the next [`target_files`].
fn keep_target_files(kept: &Kept, target: Oid, files: BTreeMap<String, String>) {
    if kept.keep
        && let Ok(mut last) = kept.target.lock()
    {
        *last = Some((target, files));
    }
}

/// Whether `target` is signed by an admin of the policy approved at the last verified
/// `head` and carries `Reset: <head>`.
fn reset_signed(
    repo: &Repository,
    graph: &dyn Graph,
    root: Oid,
    target: Oid,
    head: Oid,
    cached: Option<CacheFile>,
    anchor: &Anchor,
) -> Result<bool, TrustError> {
    let odb = repo.odb()?;
    let raw = odb.read(target)?;
    let Ok(parsed) = commit::parse(raw.data()) else {
        return Ok(false);
    };
    let (trailers, _) = commit::trailers(&parsed.message);
    let head_hex = head.to_string();
    let names_reset = trailers
        .iter()
        .any(|t| matches!(t, Trailer::Reset { from } if *from == head_hex));
    if !names_reset {
        return Ok(false);
    }
    let at_head = match cached.filter(|c| c.replayed.head == head_hex) {
        Some(cache) => cache.replayed,
        None => {
            let first_seen = |id: Oid| anchor.first_seen.get(&id.to_string()).copied();
            replay::replay(graph, root, head, None, &first_seen)?.0
        }
    };
    let policy = Kept::default().policy(graph, policy_blob(&at_head.state));
    let ring = KeyRing::new(&policy);
    let verdict = signature::verify(&parsed.signature, &parsed.payload, parsed.time, &ring);
    Ok(verdict
        .principal()
        .is_some_and(|p| roles::resolve(&policy, p, "") >= Role::Admin))
}

fn pending(
    approved: &BTreeMap<String, String>,
    events: &BTreeMap<String, Vec<Event>>,
    target: &BTreeMap<String, String>,
    policy: &Policy,
) -> Vec<Pending> {
    crate::memo::differing_keys(target, approved)
        .into_iter()
        .map(|path| {
            let needs = judge::required_role(path);
            Pending {
                path: path.to_owned(),
                blob: target.get(path).cloned(),
                approved_blob: approved.get(path).cloned(),
                last_event: events.get(path).and_then(|e| e.last().cloned()),
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
        let listed = target_files(&repo, first, &first_tree, &kept).expect("list");
        let fresh_first: BTreeMap<String, String> =
            crate::source::git::regular_files(&repo, &first_tree)
                .expect("fresh")
                .into_iter()
                .map(|(p, b)| (p, b.to_string()))
                .collect();
        assert_eq!(listed, fresh_first);
        let second_tree = repo
            .find_commit(second)
            .and_then(|c| c.tree())
            .expect("tree");
        let fresh: BTreeMap<String, String> =
            crate::source::git::regular_files(&repo, &second_tree)
                .expect("fresh")
                .into_iter()
                .map(|(p, b)| (p, b.to_string()))
                .collect();
        keep_target_files(&kept, first, listed);
        let patched = target_files(&repo, second, &second_tree, &kept).expect("patch");
        assert_eq!(patched, fresh);
        assert!(patched.contains_key("docs") && !patched.contains_key("hosts/b.yaml"));
        assert!(!patched.contains_key("hosts/back\\slash.yaml"));
    }

    fn event(kind: EventKind) -> Event {
        Event {
            kind,
            commit: "c".into(),
            time: 0,
            principal: None,
            blob: Some("b".into()),
            fingerprint: None,
            reason: None,
        }
    }

    #[test]
    fn the_last_approving_event_decides_whether_a_file_is_provisional() {
        use EventKind::*;
        let trails: &[(&str, &[EventKind])] = &[
            ("root.md", &[TrustRoot]),
            ("pre.md", &[PreApproved]),
            ("pre-then-signed.md", &[PreApproved, Signed]),
            ("signed-then-pre.md", &[Signed, PreApproved]),
            (
                "pre-then-reviewed.md",
                &[PreApproved, Reviewed, Pending, Refused],
            ),
            ("signed-then-pending.md", &[Signed, Pending]),
            ("revoked-then-pre.md", &[Revoked, PreApproved]),
            // A merge's choice is looked through to the approval of what it kept.
            ("pre-then-merged.md", &[PreApproved, Merged]),
            ("signed-then-merged.md", &[Signed, Merged]),
        ];
        let provisional: Vec<&str> = trails
            .iter()
            .filter(|(_, kinds)| {
                let events: Vec<Event> = kinds.iter().map(|kind| event(*kind)).collect();
                is_provisional(Some(&events), "b")
            })
            .map(|(path, _)| *path)
            .collect();
        assert_eq!(
            provisional,
            [
                "pre.md",
                "signed-then-pre.md",
                "pre-then-reviewed.md",
                "revoked-then-pre.md",
                "pre-then-merged.md",
            ]
        );
    }
}
