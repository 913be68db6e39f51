//! What anchors verification on this machine: the trust root, the last verified head and
//! when commits were first seen. Kept in `<git dir>/glassroom/trust-state.json` (sealed,
//! see [`crate::local`]), apart from the replay's cache: deleting the cache costs time;
//! this file is state, and a verdict depends on it.
//!
//! - The trust root is `--trust-root`, else `git config glassroom.trustRoot` (local
//!   configuration, never a versioned file), else the first root seen, pinned here and held
//!   to: a later history without it is refused. A root given as a ref or an abbreviated id
//!   is resolved once and pinned; if the ref moves later, verification stops with an error.
//!   A hexadecimal abbreviation is only ever an object id (a tag named like one never wins).
//! - A shallow clone's cut-off commit is never trusted as a root.

use std::collections::BTreeMap;

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};

use crate::local::{LocalDir, LocalError};
use crate::values::short_id;

const STATE_FILE: &str = "trust-state.json";
const PURPOSE: &str = "trust state";
const VERSION: u32 = 1;

/// The anchor state of one repository on this machine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub version: u32,
    /// Each trust root given as text (argument or git config) → the commit it named when
    /// first used.
    #[serde(default)]
    pub pins: BTreeMap<String, String>,
    /// The first root seen, when none was given.
    #[serde(default)]
    pub first_root: Option<String>,
    /// The last head verified for publishing: the next must descend from it.
    #[serde(default)]
    pub head: Option<String>,
    /// The trust root that head was verified from.
    #[serde(default)]
    pub head_root: Option<String>,
    /// When each commit first seen after verification began was first verified (seconds).
    /// Commits of the history seen on the first run have no entry: nothing is known of
    /// when they appeared.
    #[serde(default)]
    pub first_seen: BTreeMap<String, i64>,
}

impl Anchor {
    /// The anchor of `local`, or a new one; a damaged file is an error (it decides
    /// verdicts, so it is never silently replaced).
    pub fn load(local: &LocalDir) -> Result<Self, LocalError> {
        let Some(bytes) = local.read(STATE_FILE, PURPOSE)? else {
            return Ok(Self {
                version: VERSION,
                ..Self::default()
            });
        };
        serde_json::from_slice::<Anchor>(&bytes)
            .ok()
            .filter(|anchor| anchor.version == VERSION)
            .ok_or(LocalError::Unsealed {
                path: local.path(STATE_FILE),
            })
    }

    /// Saves the anchor, merged with what another process may have saved since it was
    /// loaded (a server and a sync verify the same repository): pins and first-seen times
    /// already recorded are kept, the head is this run's.
    pub fn save(&self, local: &LocalDir) -> Result<(), LocalError> {
        let mut merged = self.clone();
        if let Ok(on_disk) = Self::load(local) {
            for (given, root) in on_disk.pins {
                merged.pins.insert(given, root);
            }
            if on_disk.first_root.is_some() {
                merged.first_root = on_disk.first_root;
            }
            for (commit, seen) in on_disk.first_seen {
                let entry = merged.first_seen.entry(commit).or_insert(seen);
                *entry = (*entry).min(seen);
            }
        }
        let bytes = serde_json::to_vec(&merged).unwrap_or_default();
        local.write(STATE_FILE, PURPOSE, &bytes)
    }
}

/// Where the trust root came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RootSource {
    /// `--trust-root`.
    Argument,
    /// `git config glassroom.trustRoot` (local to the repository, never versioned).
    GitConfig,
    /// Nothing said: the first root seen on this machine, pinned and held to.
    FirstSeen,
}

#[derive(Debug, thiserror::Error)]
pub enum RootError {
    #[error("trust root `{given}` cannot be resolved: {source}")]
    Unresolved {
        given: String,
        #[source]
        source: git2::Error,
    },
    #[error(
        "the trust root `{given}` now names {now}, but named {pinned} when it was first used here: verification stops rather than follow a moved ref; if the change is intended, give the full commit id with --trust-root or `git config glassroom.trustRoot`"
    )]
    Moved {
        given: String,
        pinned: String,
        now: String,
    },
    #[error(
        "this repository is a shallow clone: its history is cut off, and a cut-off commit is never trusted as the root; fetch the whole history (`git fetch --unshallow`) or give the trust root with --trust-root"
    )]
    Shallow,
    #[error("git: {0}")]
    Git(#[from] git2::Error),
}

/// The trust root for `target`: given (argument, then local git config) or pinned, else
/// the first commit of `target`'s first-parent chain, pinned in `anchor`. Returns a
/// warning to show when the root was not given.
pub fn trust_root(
    repo: &Repository,
    target: Oid,
    argument: Option<&str>,
    anchor: &mut Anchor,
) -> Result<(Oid, RootSource, Option<String>), RootError> {
    let configured = || {
        repo.config()
            .and_then(|c| c.open_level(git2::ConfigLevel::Local))
            .and_then(|c| c.get_string("glassroom.trustRoot"))
            .ok()
    };
    let given = match argument {
        Some(text) => Some((text.to_owned(), RootSource::Argument)),
        None => configured().map(|text| (text, RootSource::GitConfig)),
    };
    if let Some((text, source)) = given {
        let root = resolve(repo, &text)?;
        match anchor.pins.get(&text) {
            Some(pinned) if *pinned != root.to_string() => {
                return Err(RootError::Moved {
                    given: text,
                    pinned: pinned.clone(),
                    now: root.to_string(),
                });
            }
            Some(_) => {}
            None => {
                anchor.pins.insert(text, root.to_string());
            }
        }
        return Ok((root, source, None));
    }
    let root = match anchor
        .first_root
        .as_deref()
        .and_then(|r| Oid::from_str(r).ok())
    {
        Some(first) => first,
        None => {
            if repo.is_shallow() {
                return Err(RootError::Shallow);
            }
            let mut commit = repo.find_commit(target)?;
            while let Ok(parent) = commit.parent(0) {
                commit = parent;
            }
            anchor.first_root = Some(commit.id().to_string());
            commit.id()
        }
    };
    // The same words on every run, so that output does not depend on which run was first.
    let warning = format!(
        "no trust root given: trusting {}, the first root seen on this machine (pinned: a history without it is refused); pin it yourself with `git config glassroom.trustRoot {root}` or --trust-root",
        short_id(&root.to_string())
    );
    Ok((root, RootSource::FirstSeen, Some(warning)))
}

/// A root as given: a full or abbreviated hexadecimal id is an object id and nothing else
/// (a ref named like one never wins); anything else is a revision (a tag, a branch...).
fn resolve(repo: &Repository, text: &str) -> Result<Oid, RootError> {
    let unresolved = |source| RootError::Unresolved {
        given: text.to_owned(),
        source,
    };
    let hex = text.len() >= 4 && text.len() <= 40 && text.bytes().all(|b| b.is_ascii_hexdigit());
    let commit = if hex {
        repo.find_commit_by_prefix(text).map_err(unresolved)?
    } else {
        repo.revparse_single(text)
            .and_then(|object| object.peel_to_commit())
            .map_err(unresolved)?
    };
    Ok(commit.id())
}
