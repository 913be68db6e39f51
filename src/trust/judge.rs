//! The judgement of one commit: which of its changes are approved, which wait, which are
//! refused. Pure: the history driver supplies the facts.

use std::collections::BTreeMap;

use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

use super::commit::Trailer;
use super::policy::{POLICY_PATH, Policy, Role};
use super::roles;
use super::signature::Verdict;

/// The site configuration; like the policy, changing it needs `admin`.
pub const CONFIG_PATH: &str = "glassroom.yaml";

/// What happened to a path in one commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// Approved as part of the trust root.
    TrustRoot,
    /// Approved by a signature of someone allowed to sign it.
    Signed,
    /// Published without a signature because the policy pre-approves the path.
    PreApproved,
    /// A signed review (no effect on publishing).
    Reviewed,
    /// Unpublished by a signed `Revoke:`.
    Revoked,
    /// Changed, but not (yet) approved.
    Pending,
    /// Refused: the change breaks a rule and will not publish as it is.
    Refused,
    /// Two versions approved on concurrent branches met in a merge, which kept this one
    /// (see docs/trust.md, "History is a graph").
    Merged,
}

impl EventKind {
    /// Whether an event of this kind decides what a path publishes (an approval, a
    /// deletion or revocation, or a merge's choice), rather than recording a review or
    /// a change that waits.
    pub fn is_fact(self) -> bool {
        matches!(
            self,
            Self::TrustRoot | Self::Signed | Self::PreApproved | Self::Revoked | Self::Merged
        )
    }
}

/// One entry of a path's audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub kind: EventKind,
    pub commit: String,
    /// Commit time, seconds since the epoch.
    pub time: i64,
    /// Who signed the commit, if anyone the policy trusts did.
    pub principal: Option<String>,
    /// The blob the event is about (absent for a deletion).
    pub blob: Option<String>,
    /// blake3 of the blob's content, filled in by the driver.
    pub fingerprint: Option<String>,
    pub reason: Option<String>,
}

/// A path a commit changes, or a trailer names: what is published there now and what the
/// commit's tree has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// The approved blob before this commit (absent: nothing is published there).
    pub old: Option<String>,
    /// The blob in the commit's tree (absent: the commit has no file there).
    pub new: Option<String>,
    /// Why the entry can never be published (a symbolic link, a case-only collision…).
    pub unpublishable: Option<String>,
}

/// The facts about a commit the judgement needs.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub id: &'a str,
    pub time: i64,
    pub verdict: &'a Verdict,
    pub trailers: &'a [Trailer],
    pub trailer_problems: &'a [String],
}

/// The policy's globs, compiled once per policy.
#[derive(Debug, Clone)]
pub struct Globs {
    pre_approved: GlobSet,
    append_only: GlobSet,
}

impl Globs {
    pub fn new(policy: &Policy) -> Self {
        let build = |globs: &[crate::yaml::Spanned<String>]| {
            let mut builder = GlobSetBuilder::new();
            for glob in globs {
                if let Ok(glob) = Glob::new(glob) {
                    builder.add(glob);
                }
            }
            builder.build().unwrap_or_else(|_| GlobSet::empty())
        };
        Self {
            pre_approved: build(&policy.pre_approved),
            append_only: build(&policy.append_only),
        }
    }

    pub fn pre_approved(&self, path: &str) -> bool {
        self.pre_approved.is_match(path)
    }

    pub fn append_only(&self, path: &str) -> bool {
        self.append_only.is_match(path)
    }
}

/// The role needed to approve a change of `path`.
pub fn required_role(path: &str) -> Role {
    if path == CONFIG_PATH || path == POLICY_PATH || path.starts_with(".glassroom/") {
        Role::Admin
    } else {
        Role::Sign
    }
}

/// The outcome: new approved blobs (None = unpublish) and the events to record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Judgement {
    pub apply: Vec<(String, Option<String>)>,
    pub events: Vec<(String, Event)>,
}

impl Judgement {
    fn event(
        &mut self,
        path: &str,
        facts: &Facts<'_>,
        kind: EventKind,
        blob: Option<&String>,
        reason: Option<String>,
    ) {
        self.events.push((
            path.to_owned(),
            Event {
                kind,
                commit: facts.id.to_owned(),
                time: facts.time,
                principal: facts.verdict.principal().map(str::to_owned),
                blob: blob.cloned(),
                fingerprint: None,
                reason,
            },
        ));
    }
}

/// Why a change can never be approved as it is, whoever signs it: it cannot be published
/// (a symbolic link, an unsafe name…), or it modifies or deletes an existing file of an
/// append-only path. One rule for changes and for `Approve:` trailers.
fn blocked(change: &Change, globs: &Globs) -> Option<String> {
    if let Some(why) = &change.unpublishable {
        return Some(why.clone());
    }
    if change.old.is_some() && globs.append_only(&change.path) {
        let what = if change.new.is_some() {
            "modifies"
        } else {
            "deletes"
        };
        return Some(format!(
            "{what} an existing file of an append-only path (an admin may remove it with a signed `Revoke: {}`)",
            change.path
        ));
    }
    None
}

/// Judges one commit's changes under the policy in force for it.
///
/// A change whose new blob is the one already published needs nothing. A signed commit
/// whose signer may sign every other path it touches is approved as a whole; otherwise
/// none of it is (pre-approved paths aside), so a half-approved commit never publishes an
/// inconsistent tree. Trailers then approve, review or revoke single paths, under the same
/// rules (`target_of` gives a trailer's path as a [`Change`]: what is published and what
/// the commit's tree has there). Trailers are applied first, so a commit that revokes a
/// path and deletes its file is one clean step.
pub fn judge(
    facts: &Facts<'_>,
    changes: &[Change],
    policy: &Policy,
    globs: &Globs,
    target_of: &dyn Fn(&str) -> Change,
) -> Judgement {
    let mut out = Judgement::default();
    let signer = facts.verdict.principal();
    // What the trailers settled, path → its approved blob now: a change of such a path
    // is judged against it.
    let settled = match signer {
        Some(principal) => apply_trailers(facts, principal, policy, globs, target_of, &mut out),
        None => BTreeMap::new(),
    };
    let mut held: Vec<&Change> = Vec::new();
    let mut blockers: Vec<String> = Vec::new();
    for change in changes {
        let old = match settled.get(&change.path) {
            Some(now) => now.as_ref(),
            None => change.old.as_ref(),
        };
        if old == change.new.as_ref() {
            continue;
        }
        let change_now = Change {
            old: old.cloned(),
            ..change.clone()
        };
        if let Some(why) = blocked(&change_now, globs) {
            out.event(
                &change.path,
                facts,
                EventKind::Refused,
                change.new.as_ref(),
                Some(why.clone()),
            );
            blockers.push(format!("`{}` {why}", change.path));
            continue;
        }
        if globs.pre_approved(&change.path) && required_role(&change.path) == Role::Sign {
            out.apply.push((change.path.clone(), change.new.clone()));
            out.event(
                &change.path,
                facts,
                EventKind::PreApproved,
                change.new.as_ref(),
                None,
            );
            continue;
        }
        held.push(change);
    }
    let Some(principal) = signer else {
        let reason = match facts.verdict {
            Verdict::Unsigned { reason } => format!("unsigned commit: {reason}"),
            Verdict::Signed { .. } => String::new(),
        };
        for change in held {
            out.event(
                &change.path,
                facts,
                EventKind::Pending,
                change.new.as_ref(),
                Some(reason.clone()),
            );
        }
        return out;
    };
    let lacking: Vec<(&Change, Role, Role)> = held
        .iter()
        .map(|c| {
            (
                *c,
                roles::resolve(policy, principal, &c.path),
                required_role(&c.path),
            )
        })
        .filter(|(_, has, needs)| has < needs)
        .collect();
    if lacking.is_empty() && blockers.is_empty() {
        for change in held {
            out.apply.push((change.path.clone(), change.new.clone()));
            out.event(
                &change.path,
                facts,
                EventKind::Signed,
                change.new.as_ref(),
                None,
            );
        }
        return out;
    }
    let lacking_paths: std::collections::BTreeSet<&str> =
        lacking.iter().map(|(c, _, _)| c.path.as_str()).collect();
    for (change, has, needs) in &lacking {
        let reason = format!("`{principal}` has role `{has}` here; `{needs}` is needed");
        out.event(
            &change.path,
            facts,
            EventKind::Refused,
            change.new.as_ref(),
            Some(reason),
        );
    }
    let mut why: Vec<String> = lacking
        .iter()
        .map(|(c, _, needs)| format!("`{principal}` may not {needs} `{}`", c.path))
        .collect();
    why.extend(blockers);
    let reason = format!("held back with the rest of its commit: {}", why.join("; "));
    for change in held
        .iter()
        .filter(|c| !lacking_paths.contains(c.path.as_str()))
    {
        out.event(
            &change.path,
            facts,
            EventKind::Pending,
            change.new.as_ref(),
            Some(reason.clone()),
        );
    }
    out
}

/// Applies a signed commit's trailers; returns what they settled (path → approved blob).
fn apply_trailers(
    facts: &Facts<'_>,
    principal: &str,
    policy: &Policy,
    globs: &Globs,
    target_of: &dyn Fn(&str) -> Change,
    out: &mut Judgement,
) -> BTreeMap<String, Option<String>> {
    let mut settled = BTreeMap::new();
    for problem in facts.trailer_problems {
        out.event("", facts, EventKind::Refused, None, Some(problem.clone()));
    }
    for trailer in facts.trailers {
        let (path, needs, blob) = match trailer {
            Trailer::Approve { path, blob } => (path, required_role(path), Some(blob)),
            Trailer::Review { path, blob } => (path, Role::Review, Some(blob)),
            Trailer::Revoke { path } => (path, required_role(path), None),
            Trailer::Reset { .. } => continue,
        };
        if !is_clean_path(path) {
            // Recorded on the commit, not under a path that could escape anything.
            out.event(
                "",
                facts,
                EventKind::Refused,
                None,
                Some(format!("trailer path `{path}` is not a repository path")),
            );
            continue;
        }
        let has = roles::resolve(policy, principal, path);
        if has < needs {
            out.event(
                path,
                facts,
                EventKind::Refused,
                blob,
                Some(format!(
                    "`{principal}` has role `{has}` here; `{needs}` is needed"
                )),
            );
            continue;
        }
        let target = target_of(path);
        if let Trailer::Revoke { .. } = trailer {
            let refusal = if path == super::policy::POLICY_PATH {
                Some("the policy cannot be revoked (nobody could sign after it); sign a new policy instead".to_owned())
            } else if target.old.is_some() && globs.append_only(path) && has < Role::Admin {
                Some(format!(
                    "only an admin may revoke an existing file of an append-only path; `{principal}` has role `{has}`"
                ))
            } else {
                None
            };
            if let Some(reason) = refusal {
                out.event(path, facts, EventKind::Refused, None, Some(reason));
                continue;
            }
            let reason = (target.old.is_some() && globs.append_only(path))
                .then(|| "revoked by an admin from an append-only path".to_owned());
            out.apply.push((path.clone(), None));
            out.event(path, facts, EventKind::Revoked, None, reason);
            settled.insert(path.clone(), None);
            continue;
        }
        let Some(blob) = blob else { continue };
        if target.new.as_deref() != Some(blob.as_str()) {
            let reason = match &target.new {
                Some(actual) => {
                    format!("names blob {blob}, but the commit's tree has {actual} at this path")
                }
                None => format!("names blob {blob}, but the commit's tree has no such path"),
            };
            out.event(path, facts, EventKind::Refused, Some(blob), Some(reason));
            continue;
        }
        if let Trailer::Review { .. } = trailer {
            out.event(path, facts, EventKind::Reviewed, Some(blob), None);
            continue;
        }
        if let Some(why) = blocked(&target, globs).filter(|_| target.old != target.new) {
            out.event(path, facts, EventKind::Refused, Some(blob), Some(why));
            continue;
        }
        out.apply.push((path.clone(), Some(blob.clone())));
        out.event(
            path,
            facts,
            EventKind::Signed,
            Some(blob),
            Some("approved by trailer".into()),
        );
        settled.insert(path.clone(), Some(blob.clone()));
    }
    settled
}

/// A relative path without `.`/`..`/empty segments.
pub fn is_clean_path(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && path.split('/').all(crate::source::git::is_safe_component)
}

/// Applies a judgement to the approved tree.
pub fn apply(approved: &mut BTreeMap<String, String>, judgement: &Judgement) {
    for (path, blob) in &judgement.apply {
        match blob {
            Some(blob) => approved.insert(path.clone(), blob.clone()),
            None => approved.remove(path),
        };
    }
}
