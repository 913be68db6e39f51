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

/// A path changed by a commit, relative to its first parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub old: Option<String>,
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

/// Judges one commit's changes under the policy approved at its parent.
///
/// A signed commit whose signer may sign every path it touches is approved as a whole;
/// otherwise none of it is (pre-approved paths aside), so a half-approved commit never
/// publishes an inconsistent tree. Trailers then approve, review or revoke single paths.
pub fn judge(
    facts: &Facts<'_>,
    changes: &[Change],
    policy: &Policy,
    globs: &Globs,
    blob_at_commit: &dyn Fn(&str) -> Option<String>,
) -> Judgement {
    let mut out = Judgement::default();
    let signer = facts.verdict.principal();
    let mut held: Vec<&Change> = Vec::new();
    let mut blockers: Vec<String> = Vec::new();
    for change in changes {
        if let Some(why) = &change.unpublishable {
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
        if change.old.is_some() && globs.append_only(&change.path) {
            let what = if change.new.is_some() {
                "modifies"
            } else {
                "deletes"
            };
            let reason = format!("{what} an existing file of an append-only path");
            out.event(
                &change.path,
                facts,
                EventKind::Refused,
                change.new.as_ref(),
                Some(reason.clone()),
            );
            blockers.push(format!("`{}` {reason}", change.path));
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
    match signer {
        None => {
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
        }
        Some(principal) => {
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
            } else {
                for (change, has, needs) in &lacking {
                    let reason =
                        format!("`{principal}` has role `{has}` here; `{needs}` is needed");
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
                why.extend(blockers.iter().cloned());
                let reason = format!("held back with the rest of its commit: {}", why.join("; "));
                for change in held
                    .iter()
                    .filter(|c| !lacking.iter().any(|(l, _, _)| l.path == c.path))
                {
                    out.event(
                        &change.path,
                        facts,
                        EventKind::Pending,
                        change.new.as_ref(),
                        Some(reason.clone()),
                    );
                }
            }
            apply_trailers(facts, principal, policy, blob_at_commit, &mut out);
        }
    }
    out
}

fn apply_trailers(
    facts: &Facts<'_>,
    principal: &str,
    policy: &Policy,
    blob_at_commit: &dyn Fn(&str) -> Option<String>,
    out: &mut Judgement,
) {
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
        let current = blob_at_commit(path);
        match (trailer, blob) {
            (Trailer::Revoke { .. }, _) => {
                out.apply.push((path.clone(), None));
                out.event(path, facts, EventKind::Revoked, None, None);
            }
            (_, Some(blob)) if current.as_deref() != Some(blob.as_str()) => {
                let reason = match &current {
                    Some(actual) => format!(
                        "names blob {blob}, but the commit's tree has {actual} at this path"
                    ),
                    None => format!("names blob {blob}, but the commit's tree has no such path"),
                };
                out.event(path, facts, EventKind::Refused, Some(blob), Some(reason));
            }
            (Trailer::Approve { .. }, Some(blob)) => {
                out.apply.push((path.clone(), Some(blob.clone())));
                out.event(
                    path,
                    facts,
                    EventKind::Signed,
                    Some(blob),
                    Some("approved by trailer".into()),
                );
            }
            (_, blob) => out.event(path, facts, EventKind::Reviewed, blob, None),
        }
    }
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
