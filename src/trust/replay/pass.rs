//! One pass of the replay: the working state, and how each commit is judged against
//! what its parents publish (the rules are in the parent module's comment).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use git2::Oid;

use super::*;
use crate::values::short_id;

/// A policy with its keys and globs, made once per policy blob.
struct InForce(Policy, KeyRing, Globs);

impl InForce {
    fn new(policy: Policy) -> Self {
        let ring = KeyRing::new(&policy);
        let globs = Globs::new(&policy);
        Self(policy, ring, globs)
    }
}

/// The working state of one pass.
pub(super) struct Pass<'g> {
    graph: &'g dyn Graph,
    /// Removals known to every commit, each with the commits that precede it.
    removals: Option<(&'g Removals, HashMap<String, HashSet<Oid>>)>,
    head: String,
    events: BTreeMap<String, Vec<Event>>,
    records: BTreeMap<String, Record>,
    /// States of judged commits whose children are still to come, at most `held_limit`.
    held: HashMap<Oid, State>,
    held_limit: usize,
    target: Oid,
    target_state: Option<State>,
    /// How many children each judged commit still has to come.
    children: HashMap<Oid, usize>,
    /// Parsed policies by blob.
    policies: HashMap<String, Option<Arc<InForce>>>,
    /// The policy when none is approved.
    no_policy: Arc<InForce>,
    work: Work,
}

impl<'g> Pass<'g> {
    pub(super) fn new(
        graph: &'g dyn Graph,
        target: Oid,
        removals: Option<&'g Removals>,
        held_limit: usize,
    ) -> Result<Self, GraphError> {
        let removals = match removals {
            Some(removals) => {
                let mut before = HashMap::new();
                for remover in removals.values().flatten() {
                    let id = Oid::from_str(remover)?;
                    before.insert(remover.clone(), graph.only_in(id, &[])?);
                }
                Some((removals, before))
            }
            None => None,
        };
        Ok(Self {
            graph,
            removals,
            head: String::new(),
            events: BTreeMap::new(),
            records: BTreeMap::new(),
            held: HashMap::new(),
            held_limit,
            target,
            target_state: None,
            children: HashMap::new(),
            policies: HashMap::new(),
            no_policy: Arc::new(InForce::new(Policy::default())),
            work: Work::default(),
        })
    }

    pub(super) fn resume(&mut self, from: Replayed) -> Result<(), GraphError> {
        let head = Oid::from_str(&from.head).map_err(|_| git2::Error::from_str("bad head"))?;
        self.head = from.head;
        self.events =
            std::sync::Arc::try_unwrap(from.events).unwrap_or_else(|shared| (*shared).clone());
        self.records = from.records;
        self.held.insert(head, from.state);
        Ok(())
    }

    fn judged(&self, id: Oid) -> bool {
        self.records.contains_key(&id.to_string())
    }

    /// Counts, for each commit, its children among the commits to replay that descend
    /// from the root (so a state is dropped once its last child is judged).
    pub(super) fn count_children(&mut self, root: Oid, order: &[Oid]) {
        let mut trusted: HashSet<Oid> = HashSet::new();
        for id in order {
            let Ok(parents) = self.graph.parents(*id) else {
                continue;
            };
            let parents: Vec<Oid> = parents
                .into_iter()
                .filter(|p| trusted.contains(p) || self.judged(*p))
                .collect();
            if *id == root || !parents.is_empty() {
                trusted.insert(*id);
            }
            for parent in parents {
                *self.children.entry(parent).or_default() += 1;
            }
        }
    }

    /// The state of judged commit `id` for one of its children: taken if that child is
    /// the last, copied otherwise, made again from the events if it was not held.
    fn state_for_child(&mut self, id: Oid) -> Result<State, GraphError> {
        let left = self.children.get(&id).copied().unwrap_or(0);
        if left <= 1 {
            self.children.remove(&id);
            if let Some(state) = self.held.remove(&id) {
                return Ok(state);
            }
        } else {
            self.children.insert(id, left - 1);
            if let Some(state) = self.held.get(&id) {
                return Ok(state.clone());
            }
        }
        self.state_at(id)
    }

    /// The state of a judged commit made again from the events: each path's last fact
    /// among the commits of its ancestry, and the removals they made.
    fn state_at(&self, id: Oid) -> Result<State, GraphError> {
        let ancestry: HashSet<String> = self
            .graph
            .only_in(id, &[])?
            .into_iter()
            .map(|c| c.to_string())
            .collect();
        let mut state = State::default();
        for (path, events) in &self.events {
            if let Some(fact) = events
                .iter()
                .rev()
                .find(|e| e.kind.is_fact() && ancestry.contains(&e.commit))
            {
                state.files.insert(
                    path.clone(),
                    Approval {
                        blob: fact.blob.clone(),
                        commit: fact.commit.clone(),
                    },
                );
            }
        }
        for (commit, record) in &self.records {
            if ancestry.contains(commit) {
                for key in &record.removes {
                    state
                        .removed
                        .entry(key.clone())
                        .or_insert_with(|| commit.clone());
                }
            }
        }
        Ok(state)
    }

    fn hold(&mut self, id: Oid, state: State) {
        if id == self.target {
            self.target_state = Some(state);
            return;
        }
        if self.children.get(&id).copied().unwrap_or(0) == 0 {
            return;
        }
        if self.held.len() >= self.held_limit
            && let Some(evict) = self.held.keys().next().copied()
        {
            self.held.remove(&evict);
        }
        if self.held_limit > 0 {
            self.held.insert(id, state);
        }
    }

    fn policy(&mut self, blob: Option<&String>) -> Option<Arc<InForce>> {
        let blob = blob?;
        if let Some(known) = self.policies.get(blob) {
            return known.clone();
        }
        let parsed = self
            .graph
            .text(blob)
            .and_then(|text| Policy::usable(&text).ok())
            .map(|policy| Arc::new(InForce::new(policy)));
        self.policies.insert(blob.clone(), parsed.clone());
        parsed
    }

    pub(super) fn replay_commit(
        &mut self,
        root: Oid,
        id: Oid,
        first_seen: &dyn Fn(Oid) -> Option<i64>,
    ) -> Result<(), GraphError> {
        let info = self.graph.commit(id)?;
        let id_hex = id.to_string();
        if id == root {
            return self.replay_root(id, &info);
        }
        let parents: Vec<Oid> = info
            .parents
            .iter()
            .copied()
            .filter(|p| self.judged(*p))
            .collect();
        // Not descended from the trust root: never judged; what it holds arrives through
        // a merge as that merge's changes.
        let Some(first) = parents.first().copied() else {
            return Ok(());
        };
        let mut states = Vec::with_capacity(parents.len());
        for parent in &parents {
            states.push(self.state_for_child(*parent)?);
        }
        let (mut state, merge_events) = self.join(id, info.time, &parents, states)?;
        let (floor, newest, generation) = parents
            .iter()
            .filter_map(|p| self.records.get(&p.to_string()))
            .fold((i64::MIN, i64::MIN, 0), |(f, n, g), r| {
                (f.max(r.floor), n.max(r.newest), g.max(r.generation + 1))
            });
        for (path, event) in merge_events {
            self.push_event(path, event);
        }

        // No usable policy approved: an empty one, under which nobody can sign.
        let in_force = self
            .policy(state.blob(POLICY_PATH))
            .unwrap_or_else(|| Arc::clone(&self.no_policy));
        let (policy, ring, globs) = (&in_force.0, &in_force.1, &in_force.2);
        let verdict = self.verdict(id, &info, ring, floor, &state, first_seen);
        let entries = self.graph.changes(id, Some(first))?;
        let changes = self.changes_against(&state, entries);
        let (trailers, trailer_problems) = match &info.raw {
            Ok(raw) => commit::trailers(&raw.message),
            Err(_) => (Vec::new(), Vec::new()),
        };
        let facts = Facts {
            id: &id_hex,
            time: info.time,
            verdict: &verdict,
            trailers: &trailers,
            trailer_problems: &trailer_problems,
        };
        let graph = self.graph;
        let target_of = |path: &str| {
            let entry = graph.entry(id, path).unwrap_or_else(|err| TreeChange {
                path: path.to_owned(),
                new: None,
                unpublishable: Some(format!("cannot be read: {err}")),
            });
            self.change_against(&state, entry)
        };
        let judgement = judge::judge(&facts, &changes, policy, globs, &target_of);
        let removes = self.apply(&mut state, &id_hex, judgement, policy);
        let robot = verdict
            .principal()
            .and_then(|p| policy.users.get(p))
            .is_some_and(|u| u.robot);
        let signed = verdict.principal().is_some();
        let record = Record {
            generation,
            floor: if signed && !robot {
                floor.max(info.time)
            } else {
                floor
            },
            newest: if signed {
                newest.max(info.time)
            } else {
                newest
            },
            key: match &verdict {
                Verdict::Signed { key, .. } => Some(key.clone()),
                Verdict::Unsigned { .. } => None,
            },
            removes,
        };
        self.records.insert(id_hex.clone(), record);
        self.work.judged.insert(id_hex.clone());
        self.head = id_hex;
        self.work.verified += 1;
        self.hold(id, state);
        Ok(())
    }

    fn replay_root(&mut self, id: Oid, info: &CommitInfo) -> Result<(), GraphError> {
        let id_hex = id.to_string();
        let mut state = State::default();
        for (path, blob) in self.graph.root_files(id)? {
            state.files.insert(
                path.clone(),
                Approval {
                    blob: Some(blob.clone()),
                    commit: id_hex.clone(),
                },
            );
            let fingerprint = self.graph.fingerprint(&blob);
            self.push_event(
                path,
                Event {
                    kind: EventKind::TrustRoot,
                    commit: id_hex.clone(),
                    time: info.time,
                    principal: None,
                    blob: Some(blob),
                    fingerprint,
                    reason: None,
                },
            );
        }
        self.records.insert(
            id_hex.clone(),
            Record {
                generation: 0,
                floor: info.time,
                newest: info.time,
                key: None,
                removes: Vec::new(),
            },
        );
        // The root is trusted, not verified: it does not count as a verified commit.
        self.work.judged.insert(id_hex.clone());
        self.head = id_hex;
        self.hold(id, state);
        Ok(())
    }

    /// The state a commit's parents publish together (see the module's rules), with the
    /// `merged` events of the concurrent facts it settled.
    fn join(
        &mut self,
        id: Oid,
        time: i64,
        parents: &[Oid],
        mut states: Vec<State>,
    ) -> Result<(State, Vec<(String, Event)>), GraphError> {
        let mut events = Vec::new();
        if states.len() < 2 {
            return Ok((states.pop().unwrap_or_default(), events));
        }
        let others = states.split_off(1);
        let mut base = states.pop().unwrap_or_default();
        // Which parent each differing path's approval came from (else the first).
        let mut origin: HashMap<String, usize> = HashMap::new();
        // Commits reachable from parent i and not from parent j, by (i, j).
        let mut sides: HashMap<(usize, usize), HashSet<String>> = HashMap::new();
        let mut side = |i: usize, j: usize| -> Result<HashSet<String>, GraphError> {
            if let Some(known) = sides.get(&(i, j)) {
                return Ok(known.clone());
            }
            let set: HashSet<String> = self
                .graph
                .only_in(parents[i], &[parents[j]])?
                .into_iter()
                .map(|c| c.to_string())
                .collect();
            sides.insert((i, j), set.clone());
            Ok(set)
        };
        let id_hex = id.to_string();
        for (offset, other) in others.into_iter().enumerate() {
            let i = offset + 1;
            let differing: Vec<String> = crate::memo::differing_keys(&base.files, &other.files)
                .into_iter()
                .map(str::to_owned)
                .collect();
            for path in differing {
                let theirs = other.files.get(&path).cloned();
                let ours = base.files.get(&path).cloned();
                let (ours, theirs) = match (ours, theirs) {
                    (_, None) => continue,
                    (None, Some(theirs)) => {
                        base.files.insert(path.clone(), theirs);
                        origin.insert(path, i);
                        continue;
                    }
                    (Some(ours), Some(theirs)) => (ours, theirs),
                };
                let j = origin.get(&path).copied().unwrap_or(0);
                if !side(j, i)?.contains(&ours.commit) {
                    // Ours is in their ancestry: theirs is newer (or the same).
                    base.files.insert(path.clone(), theirs);
                    origin.insert(path, i);
                    continue;
                }
                if !side(i, j)?.contains(&theirs.commit) {
                    continue;
                }
                let in_tree = self.graph.entry(id, &path)?.new;
                let (kept, from) = if theirs.blob == in_tree && ours.blob != in_tree {
                    (theirs, "the version in the merge's tree")
                } else if ours.blob == in_tree {
                    (ours, "the version in the merge's tree")
                } else {
                    (ours, "the first parent's version")
                };
                events.push((
                    path.clone(),
                    Event {
                        kind: EventKind::Merged,
                        commit: id_hex.clone(),
                        time,
                        principal: None,
                        blob: kept.blob.clone(),
                        fingerprint: None,
                        reason: Some(format!(
                            "approved on two branches at once; the merge keeps {from}"
                        )),
                    },
                ));
                base.files.insert(
                    path.clone(),
                    Approval {
                        blob: kept.blob,
                        commit: id_hex.clone(),
                    },
                );
                origin.insert(path, i);
            }
            for (key, remover) in other.removed {
                base.removed.entry(key).or_insert(remover);
            }
        }
        Ok((base, events))
    }

    /// The signature verdict with glassroom's rules on top of the key's own period.
    fn verdict(
        &self,
        id: Oid,
        info: &CommitInfo,
        ring: &KeyRing,
        floor: i64,
        state: &State,
        first_seen: &dyn Fn(Oid) -> Option<i64>,
    ) -> Verdict {
        let raw = match &info.raw {
            Ok(raw) => raw,
            Err(malformed) => {
                return Verdict::Unsigned {
                    reason: malformed.to_string(),
                };
            }
        };
        if raw.time < floor {
            return Verdict::Unsigned {
                reason: format!(
                    "the commit is dated before a signed commit it descends from (backdated: {} < {})",
                    raw.time, floor
                ),
            };
        }
        let verdict = signature::verify(&raw.signature, &raw.payload, raw.time, ring);
        let Verdict::Signed { key, principal } = &verdict else {
            return verdict;
        };
        if let Some(remover) = state.removed.get(key) {
            return Verdict::Unsigned {
                reason: format!(
                    "key {key} of `{principal}` was removed from the policy by commit {}",
                    short_id(remover)
                ),
            };
        }
        if let Some((removals, before)) = &self.removals
            && let Some(remover) = removals.get(key).and_then(|removers| {
                removers
                    .iter()
                    .find(|r| before.get(r.as_str()).is_none_or(|b| !b.contains(&id)))
            })
        {
            return Verdict::Unsigned {
                reason: format!(
                    "key {key} of `{principal}` was removed from the policy by commit {}, which this commit does not precede",
                    short_id(remover)
                ),
            };
        }
        if let Some(seen) = first_seen(id)
            && !signature::key_valid_at(ring, key, seen)
        {
            return Verdict::Unsigned {
                reason: format!("first seen after key {key} of `{principal}` expired"),
            };
        }
        verdict
    }

    fn changes_against(&mut self, state: &State, entries: Vec<TreeChange>) -> Vec<Change> {
        entries
            .into_iter()
            .map(|entry| self.change_against(state, entry))
            .collect()
    }

    /// A tree entry as a [`Change`] against what `state` publishes; a new policy that is
    /// not usable, or the policy's deletion, can never be published.
    fn change_against(&self, state: &State, entry: TreeChange) -> Change {
        let mut unpublishable = entry.unpublishable;
        if entry.path == POLICY_PATH && unpublishable.is_none() {
            unpublishable = match &entry.new {
                None => Some(
                    "deletes the policy (nobody could sign after it); sign a new policy instead"
                        .to_owned(),
                ),
                Some(blob) => match self.graph.text(blob) {
                    None => Some("the new policy is not UTF-8 text or is too large".to_owned()),
                    Some(text) => Policy::usable(&text).err().map(|reason| {
                        format!("the new policy is not usable ({reason}); the previous policy stays in effect")
                    }),
                },
            };
        }
        Change {
            old: state.blob(&entry.path).cloned(),
            path: entry.path,
            new: entry.new,
            unpublishable,
        }
    }

    /// Applies a judgement to `state` and records its events; returns the keys an
    /// approved policy change removed.
    fn apply(
        &mut self,
        state: &mut State,
        id: &str,
        judgement: judge::Judgement,
        old_policy: &Policy,
    ) -> Vec<String> {
        let before = state.blob(POLICY_PATH).cloned();
        for (path, blob) in judgement.apply {
            self.work.touched.insert(path.clone());
            state.files.insert(
                path,
                Approval {
                    blob,
                    commit: id.to_owned(),
                },
            );
        }
        for (path, mut event) in judgement.events {
            event.fingerprint = event
                .blob
                .as_deref()
                .and_then(|b| self.graph.fingerprint(b));
            self.push_event(path, event);
        }
        let after = state.blob(POLICY_PATH).cloned();
        if after == before {
            return Vec::new();
        }
        let new_policy = self.policy(after.as_ref());
        let kept: BTreeSet<String> = new_policy
            .as_ref()
            .map(|p| key_fingerprints(&p.0))
            .unwrap_or_default();
        let removes: Vec<String> = key_fingerprints(old_policy)
            .into_iter()
            .filter(|key| !kept.contains(key))
            .collect();
        for key in &removes {
            state
                .removed
                .entry(key.clone())
                .or_insert_with(|| id.to_owned());
        }
        removes
    }

    fn push_event(&mut self, path: String, event: Event) {
        self.work.touched.insert(path.clone());
        self.events.entry(path).or_default().push(event);
    }

    pub(super) fn finish(mut self, target: Oid) -> Result<(Replayed, Work), GraphError> {
        // One order whatever order the commits were replayed in: ancestors first (by
        // generation), then by commit id, a commit's own events as it made them.
        let generation = |commit: &str| self.records.get(commit).map_or(0, |r| r.generation);
        for path in &self.work.touched {
            if let Some(events) = self.events.get_mut(path) {
                events.sort_by(|a, b| {
                    (generation(&a.commit), &a.commit).cmp(&(generation(&b.commit), &b.commit))
                });
            }
        }
        let state = match self
            .target_state
            .take()
            .or_else(|| self.held.remove(&target))
        {
            Some(state) => state,
            None => self.state_at(target)?,
        };
        Ok((
            Replayed {
                head: target.to_string(),
                state,
                events: std::sync::Arc::new(self.events),
                records: self.records,
                removals: None,
            },
            self.work,
        ))
    }
}

/// The SHA256 fingerprints of every key a policy lists.
fn key_fingerprints(policy: &Policy) -> BTreeSet<String> {
    policy
        .users
        .values()
        .flat_map(|user| &user.keys)
        .filter_map(|key| ssh_key::PublicKey::from_openssh(key.key.trim()).ok())
        .map(|key| {
            ssh_key::PublicKey::from(key.key_data().clone())
                .fingerprint(ssh_key::HashAlg::Sha256)
                .to_string()
        })
        .collect()
}
