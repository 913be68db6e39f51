//! What a verification reports: the [`Report`] of what is approved at the target with
//! its pending and refused paths, the fingerprints of its trails and its provisional
//! paths (and how a replay patches them), the errors, and the [`Options`] it runs with.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::local::LocalError;
use crate::trust::anchor::{RootError, RootSource};
use crate::trust::judge::{Event, EventKind};
use crate::trust::policy::Role;

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
pub(super) fn provisional_of(
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
pub(super) fn trail_stamp(
    events: Option<&Vec<Event>>,
    approved: Option<&String>,
) -> crate::memo::Stamp {
    let mut stamp = crate::memo::Stamper::new("trail");
    stamp.bytes(&serde_json::to_vec(&events).unwrap_or_default());
    stamp.text(approved.map_or("", String::as_str));
    stamp.finish()
}

/// The trails of a replay: those of `kept` (the trails of the replay this one resumed
/// from) with the `touched` paths' made again, or else every path's.
pub(super) fn trails_of(
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
