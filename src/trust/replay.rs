//! The replay of history as a graph: which blob each path publishes at a commit, judged
//! from every signed commit in its ancestry, not only its first-parent chain. Pure over
//! [`Graph`] (git in [`super::history`], an in-memory model in the tests), so the rules
//! can be tested on thousands of random histories.
//!
//! The rules (docs/trust.md, "History is a graph", says the same with a diagram):
//! - **Facts.** Approvals are facts about (path, blob) made by commits: the trust root's
//!   tree, signed changes, pre-approved changes, revocations, and the choice a merge makes
//!   between two versions approved on concurrent branches. What a commit publishes at a
//!   path is its newest fact there: the one every other fact for that path in its
//!   ancestry precedes. A merge adds no approval and removes none by itself; where its
//!   parents disagree the newer fact wins, and two concurrent facts are settled by the
//!   merge's tree (else its first parent), recorded as a `merged` event.
//! - **Policy in force.** A commit is judged under the policy its parents publish (the
//!   newest approved policy among its ancestors, by the rule above), minus every key
//!   removed by an approved policy change anywhere in its ancestry: a merge never makes a
//!   removed key valid again. A key removed in the history of the target also signs
//!   nothing that does not precede its removal (a branch forked before the removal and
//!   merged after it).
//! - **Changes.** A commit's changes are its tree's differences from its first parent's
//!   tree, judged against what its parents publish (so a merge re-judges nothing its
//!   parents approved). Commits that do not descend from the trust root are not judged:
//!   what they bring arrives through a merge as that merge's changes.
//! - **Dates.** Only signed commits' dates count: a signed commit dated before the newest
//!   person-signed commit in its ancestry is backdated (robots' dates do not raise that
//!   floor), and the newest signed date is the build's default "now".

use std::collections::{BTreeMap, BTreeSet, HashSet};

use git2::Oid;
use serde::{Deserialize, Serialize};

use super::commit::{self, RawCommit};
use super::judge::{self, Change, Event, EventKind, Facts, Globs};
use super::policy::{POLICY_PATH, Policy};
use super::signature::{self, KeyRing, Verdict};

/// Why the replay could not run (the repository could not be read).
pub type GraphError = git2::Error;

/// A commit as the replay needs it.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    pub parents: Vec<Oid>,
    /// Committer time, seconds.
    pub time: i64,
    /// The parsed object, or why it could not be parsed (such a commit is unsigned).
    pub raw: Result<RawCommit, commit::Malformed>,
}

/// A file a commit's tree has (or lacks) at a path, as judging needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeChange {
    pub path: String,
    /// The blob in the commit's tree (absent: deleted).
    pub new: Option<String>,
    /// Why it can never be published (a symbolic link, an unsafe name, too large…).
    pub unpublishable: Option<String>,
}

/// What the replay reads from a repository.
pub trait Graph {
    fn commit(&self, id: Oid) -> Result<CommitInfo, GraphError>;
    /// A commit's parents alone (cheaper than [`Graph::commit`]).
    fn parents(&self, id: Oid) -> Result<Vec<Oid>, GraphError>;
    /// The files of `id`'s tree that differ from `parent`'s (none: the empty tree).
    fn changes(&self, id: Oid, parent: Option<Oid>) -> Result<Vec<TreeChange>, GraphError>;
    /// The file at `path` in `id`'s tree (`new` absent if there is none).
    fn entry(&self, id: Oid, path: &str) -> Result<TreeChange, GraphError>;
    /// The publishable files of the trust root's tree, path → blob.
    fn root_files(&self, id: Oid) -> Result<BTreeMap<String, String>, GraphError>;
    /// A blob's text, if it is UTF-8 and not too large (for the policy).
    fn text(&self, blob: &str) -> Option<String>;
    /// blake3 of a blob (hex), if it is not too large to read.
    fn fingerprint(&self, blob: &str) -> Option<String>;
    /// The commits reachable from `tip` and from none of `hide`, parents first.
    fn topo(&self, tip: Oid, hide: &[Oid]) -> Result<Vec<Oid>, GraphError>;
    /// The commits reachable from `tip` (itself included) and from none of `hide`.
    fn only_in(&self, tip: Oid, hide: &[Oid]) -> Result<HashSet<Oid>, GraphError>;
}

/// The approved blob of a path and the commit whose fact put it there (a deletion or
/// revocation keeps its place with no blob, so a merge knows it is newer than an old
/// version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub blob: Option<String>,
    pub commit: String,
}

/// What a commit publishes: every path's newest fact, and the keys removed in its
/// ancestry (key fingerprint → the commit that removed it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub files: BTreeMap<String, Approval>,
    pub removed: BTreeMap<String, String>,
}

impl State {
    /// Path → blob of every published file.
    pub fn approved(&self) -> BTreeMap<String, String> {
        self.files
            .iter()
            .filter_map(|(path, a)| a.blob.clone().map(|blob| (path.clone(), blob)))
            .collect()
    }

    fn blob(&self, path: &str) -> Option<&String> {
        self.files.get(path).and_then(|a| a.blob.as_ref())
    }
}

/// What the replay keeps of each commit it judged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// The length of the longest path from the trust root: an ancestor's is smaller.
    /// Events are ordered by it, so every way of replaying gives one order.
    pub generation: u64,
    /// The newest date of a commit signed by a person in its ancestry (itself included).
    pub floor: i64,
    /// The newest date of a signed commit in its ancestry: a build's default "now".
    pub newest: i64,
    /// The key that validly signed it, if one did (SHA256 fingerprint).
    pub key: Option<String>,
    /// The keys its approved policy change removed.
    pub removes: Vec<String>,
}

/// Key fingerprint → the commits whose approved policy change removed it, for judging
/// every commit of a history against the removals of the whole history.
pub type Removals = BTreeMap<String, Vec<String>>;

/// Everything replayed so far: the state of the last head, and the facts of every commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    pub head: String,
    pub state: State,
    /// Path → every event, in the order the commits were replayed (parents first).
    /// Shared with the reports made from it, so a served repository copies no trail.
    pub events: std::sync::Arc<BTreeMap<String, Vec<Event>>>,
    pub records: BTreeMap<String, Record>,
    /// The removals every commit was judged against, when they were not only those of
    /// its own ancestry (see [`replay`]); such a replay is not resumed.
    pub removals: Option<Removals>,
}

/// What one run of the replay did besides the new [`Replayed`].
#[derive(Debug, Default)]
pub struct Work {
    /// Commits judged.
    pub verified: usize,
    /// Paths whose events or approval changed.
    pub touched: BTreeSet<String>,
    /// The commits judged.
    pub judged: HashSet<String>,
}

/// A merge keeps this many states of commits whose children come later; the others are
/// made again from the events when needed, so memory stays bounded whatever the graph.
const HELD_STATES: usize = 16;

/// Replays the commits of `target`'s history that `from` (the trust root's replay, or a
/// resumed one) has not, and returns the replay of `target`. `first_seen` gives when a
/// commit was first verified on this machine, when that was recorded.
///
/// Keys removed anywhere in the history are then checked against every commit: if a
/// commit was validly signed by a key that a concurrent branch removed, the whole history
/// is replayed again with those removals known to every commit.
pub fn replay(
    graph: &dyn Graph,
    root: Oid,
    target: Oid,
    from: Option<Replayed>,
    first_seen: &dyn Fn(Oid) -> Option<i64>,
) -> Result<(Replayed, Work), GraphError> {
    replay_holding(graph, root, target, from, first_seen, HELD_STATES)
}

/// [`replay`], holding at most `held` states in memory.
fn replay_holding(
    graph: &dyn Graph,
    root: Oid,
    target: Oid,
    from: Option<Replayed>,
    first_seen: &dyn Fn(Oid) -> Option<i64>,
    held: usize,
) -> Result<(Replayed, Work), GraphError> {
    let resumable = from.filter(|r| r.removals.is_none());
    let resumed = resumable.is_some();
    let (replayed, mut work) = run(graph, root, target, resumable, first_seen, None, held)?;
    let removals = concurrent_removals(graph, &replayed, resumed.then_some(&work.judged))?;
    if removals.is_empty() {
        return Ok((replayed, work));
    }
    let (mut again, more) = run(graph, root, target, None, first_seen, Some(&removals), held)?;
    again.removals = Some(removals);
    work.verified += more.verified;
    work.touched.extend(more.touched);
    work.judged.extend(more.judged);
    Ok((again, work))
}

/// The removals of `replayed`'s history (key → every commit that removed it) if some
/// commit was validly signed by a removed key without preceding its removal; else none.
///
/// After a resumed pass only the commits judged in it (`judged_now`) can be concurrent
/// with an older removal, and any of them signed by the removed key is (the removal is in
/// the history they were not part of): the history is walked only for new removals.
fn concurrent_removals(
    graph: &dyn Graph,
    replayed: &Replayed,
    judged_now: Option<&HashSet<String>>,
) -> Result<Removals, GraphError> {
    let mut removals = Removals::new();
    for (id, record) in &replayed.records {
        for key in &record.removes {
            removals.entry(key.clone()).or_default().push(id.clone());
        }
    }
    let signed_by = |id: &String, key: &str| {
        replayed
            .records
            .get(id)
            .is_some_and(|r| r.key.as_deref() == Some(key))
    };
    let mut concurrent = false;
    for (key, removers) in &removals {
        for remover in removers {
            concurrent |= match judged_now {
                Some(now) if !now.contains(remover) => now.iter().any(|id| signed_by(id, key)),
                _ => {
                    let before: HashSet<String> = graph
                        .only_in(Oid::from_str(remover)?, &[])?
                        .into_iter()
                        .map(|id| id.to_string())
                        .collect();
                    replayed
                        .records
                        .keys()
                        .any(|id| signed_by(id, key) && !before.contains(id))
                }
            };
        }
    }
    Ok(if concurrent {
        removals
    } else {
        Removals::new()
    })
}

/// One pass over the commits `target` has and `from` has not, parents first.
fn run(
    graph: &dyn Graph,
    root: Oid,
    target: Oid,
    from: Option<Replayed>,
    first_seen: &dyn Fn(Oid) -> Option<i64>,
    removals: Option<&Removals>,
    held: usize,
) -> Result<(Replayed, Work), GraphError> {
    let mut pass = Pass::new(graph, target, removals, held)?;
    let order = match &from {
        Some(from) => {
            let head = Oid::from_str(&from.head).map_err(|_| git2::Error::from_str("bad head"))?;
            graph.topo(target, &[head])?
        }
        None => {
            let hide = graph.parents(root)?;
            graph.topo(target, &hide)?
        }
    };
    if let Some(from) = from {
        pass.resume(from)?;
    }
    pass.count_children(root, &order);
    for id in order {
        pass.replay_commit(root, id, first_seen)?;
    }
    pass.finish(target)
}

mod pass;
use pass::Pass;

#[cfg(test)]
mod tests;
