//! The outbox: one delivery record per (event, channel, address), kept in the state
//! directory beside sync's (`<git dir>/glassroom/`, never versioned).
//!
//! - `notify-snapshot.json`: the state last notified ([`Published`]).
//! - `notify-outbox.json`: every [`Delivery`], rewritten whole and durably (temporary
//!   file, fsync, rename, fsync of the directory) after every change.
//!
//! **Order of operations.** A run (1) computes the events between the stored snapshot
//! and the published state, (2) adds their deliveries to the outbox and stores it
//! durably, and only then (3) stores the new snapshot; then (4) it delivers every due
//! record and stores the outbox durably right after each one succeeds or fails. A crash
//! before (2) is stored loses nothing (the snapshot is still the old one, so the next run
//! computes the same events, with the same ids); a crash between (2) and (3) recomputes
//! the same events, and the outbox, which knows their ids, adds none twice. A crash
//! between a message leaving and (4) being stored is the one window in which a message
//! can go twice: at-least-once, at most one duplicate per crash, each with the same
//! stable id (an email's `Message-ID`, a webhook's `X-Glassroom-Event` header, the
//! command's `id` field) so a receiver can drop it.
//!
//! Everything that depends on time takes it as an argument; nothing here reads a clock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::SignedDuration;
use serde::{Deserialize, Serialize};

use super::events::{Event, Published};
use crate::content::types::{Duration, Moment};
use crate::local::{Durability, write_atomically};

/// The version of the outbox's and the snapshot's format.
pub const VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a file glassroom notify can read ({reason}); move it away to start afresh (a missing snapshot starts from the current state and tells no one)", path.display())]
    Corrupt { path: PathBuf, reason: String },
}

/// Where a repository's notification state lives.
#[derive(Debug, Clone)]
pub struct Paths {
    pub dir: PathBuf,
    pub snapshot: PathBuf,
    pub outbox: PathBuf,
}

impl Paths {
    /// The files for the repository whose git directory is `git_dir` (the directory
    /// sync keeps its state in).
    pub fn new(git_dir: &Path) -> Self {
        let dir = git_dir.join("glassroom");
        Paths {
            snapshot: dir.join("notify-snapshot.json"),
            outbox: dir.join("notify-outbox.json"),
            dir,
        }
    }
}

/// Where a delivery is going: its channel and, for email, the address.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Route {
    /// `email`, `webhook:<name>` or `command`.
    pub channel: String,
    /// The mail address for email; empty for the channels that need none.
    pub address: String,
    /// The people (ids) this delivery tells, for `--dry-run` and the command's JSON;
    /// empty when it is everyone's (a fallback list, a webhook).
    pub people: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Sent,
    /// Failed at least once; tried again at `next_try`.
    Failed,
    /// Failed for longer than the configured time: not tried again.
    GivenUp,
}

/// One message to one address over one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub event: Event,
    pub route: Route,
    pub state: DeliveryState,
    /// When it was added.
    pub created: Moment,
    pub attempts: u32,
    pub next_try: Option<Moment>,
    pub last_error: Option<String>,
    /// When it was sent, or given up.
    pub done: Option<Moment>,
}

impl Delivery {
    pub fn new(event: Event, route: Route, now: Moment) -> Self {
        Delivery {
            event,
            route,
            state: DeliveryState::Pending,
            created: now,
            attempts: 0,
            next_try: None,
            last_error: None,
            done: None,
        }
    }

    /// What identifies it: no two records have the same.
    fn key(&self) -> (String, String, String) {
        (
            self.event.id.clone(),
            self.route.channel.clone(),
            self.route.address.clone(),
        )
    }

    /// Whether it should be tried at `now`.
    pub fn is_due(&self, now: Moment) -> bool {
        match self.state {
            DeliveryState::Pending => true,
            DeliveryState::Failed => self.next_try.is_none_or(|at| at <= now),
            DeliveryState::Sent | DeliveryState::GivenUp => false,
        }
    }
}

/// How failed deliveries are retried: after `first`, doubling up to `max`, and given up
/// once `give_up` has passed since the delivery was added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub first: Duration,
    pub max: Duration,
    pub give_up: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            first: Duration::minutes(1),
            max: Duration::minutes(60),
            give_up: Duration::days(2),
        }
    }
}

/// The wait before the next try after `attempts` failures (1 or more): `first`,
/// doubling each time, at most `max`. No jitter: one process delivers a repository's
/// outbox, so there is no crowd to spread out, and a fixed schedule is easier to read in
/// `--status`.
pub fn backoff(retry: &Retry, attempts: u32) -> Duration {
    let first = retry.first.as_seconds().max(1);
    let max = retry.max.as_seconds().max(first);
    let doublings = attempts.saturating_sub(1).min(62);
    let wait = first.saturating_mul(1_i64 << doublings).min(max);
    Duration::seconds(wait)
}

fn plus(at: Moment, by: Duration) -> Moment {
    at.0.checked_add(SignedDuration::from_secs(by.as_seconds()))
        .map_or(at, Moment)
}

/// Counts by state, for `--status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub pending: usize,
    pub sent: usize,
    pub failed: usize,
    pub given_up: usize,
}

/// How long finished records stay in the outbox (for `--status`).
pub const KEEP_FINISHED: Duration = Duration::days(30);

/// Every delivery record of a repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    pub version: u32,
    pub deliveries: Vec<Delivery>,
}

impl Outbox {
    /// Adds the deliveries not recorded yet (by event id, channel and address);
    /// returns how many were new.
    pub fn add(&mut self, deliveries: Vec<Delivery>) -> usize {
        let known: std::collections::BTreeSet<_> =
            self.deliveries.iter().map(Delivery::key).collect();
        let before = self.deliveries.len();
        for delivery in deliveries {
            if !known.contains(&delivery.key())
                && !self.deliveries[before..]
                    .iter()
                    .any(|d| d.key() == delivery.key())
            {
                self.deliveries.push(delivery);
            }
        }
        self.deliveries.len() - before
    }

    /// The positions of the records to try at `now`, oldest first.
    pub fn due(&self, now: Moment) -> Vec<usize> {
        (0..self.deliveries.len())
            .filter(|&i| self.deliveries[i].is_due(now))
            .collect()
    }

    pub fn mark_sent(&mut self, index: usize, now: Moment) {
        if let Some(d) = self.deliveries.get_mut(index) {
            d.state = DeliveryState::Sent;
            d.attempts += 1;
            d.next_try = None;
            d.done = Some(now);
        }
    }

    /// Records a failed try at `now`: tried again after [`backoff`], or given up once
    /// `retry.give_up` has passed since the record was added.
    pub fn mark_failed(&mut self, index: usize, now: Moment, error: &str, retry: &Retry) {
        let Some(d) = self.deliveries.get_mut(index) else {
            return;
        };
        d.attempts += 1;
        d.last_error = Some(error.chars().take(2000).collect());
        let next = plus(now, backoff(retry, d.attempts));
        if plus(d.created, retry.give_up) <= now {
            d.state = DeliveryState::GivenUp;
            d.next_try = None;
            d.done = Some(now);
        } else {
            d.state = DeliveryState::Failed;
            d.next_try = Some(next);
        }
    }

    /// Drops the records finished (sent or given up) more than `keep` before `now`, so
    /// the outbox stays as small as the recent past. Safe for de-duplication: an event
    /// that old is in the stored snapshot and is not computed again.
    pub fn prune(&mut self, now: Moment, keep: Duration) -> usize {
        let before = self.deliveries.len();
        self.deliveries
            .retain(|d| d.done.is_none_or(|done| plus(done, keep) > now));
        before - self.deliveries.len()
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for d in &self.deliveries {
            match d.state {
                DeliveryState::Pending => counts.pending += 1,
                DeliveryState::Sent => counts.sent += 1,
                DeliveryState::Failed => counts.failed += 1,
                DeliveryState::GivenUp => counts.given_up += 1,
            }
        }
        counts
    }

    /// Reads the outbox at `path` (an empty one if there is none).
    pub fn load(path: &Path) -> Result<Outbox, OutboxError> {
        Ok(read_json(path)?.unwrap_or(Outbox {
            version: VERSION,
            deliveries: Vec::new(),
        }))
    }

    /// Stores the outbox durably.
    pub fn save(&self, path: &Path) -> Result<(), OutboxError> {
        write_json(path, self)
    }
}

/// The stored snapshot: the state last notified and the moment it was for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub now: Moment,
    /// The approved commit it was taken from, if any.
    pub commit: Option<String>,
    pub published: Published,
}

impl Snapshot {
    /// The snapshot at `path`; `None` before the first run.
    pub fn load(path: &Path) -> Result<Option<Snapshot>, OutboxError> {
        read_json(path)
    }

    pub fn save(&self, path: &Path) -> Result<(), OutboxError> {
        write_json(path, self)
    }
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Option<T>, OutboxError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(OutboxError::Io {
                action: "read",
                path: path.to_owned(),
                source,
            });
        }
    };
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|err| OutboxError::Corrupt {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(VERSION)) {
        return Err(OutboxError::Corrupt {
            path: path.to_owned(),
            reason: format!("version {version:?}, expected {VERSION}"),
        });
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|err| OutboxError::Corrupt {
            path: path.to_owned(),
            reason: err.to_string(),
        })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), OutboxError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(|err| OutboxError::Corrupt {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    write_atomically(path, &bytes, Durability::Durable).map_err(|source| OutboxError::Io {
        action: "write",
        path: path.to_owned(),
        source,
    })
}

/// The outbox grouped for `--status`: records by state, with their last errors.
pub fn by_state(outbox: &Outbox) -> BTreeMap<&'static str, Vec<&Delivery>> {
    let mut map: BTreeMap<&'static str, Vec<&Delivery>> = BTreeMap::new();
    for d in &outbox.deliveries {
        let name = match d.state {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::GivenUp => "given_up",
        };
        map.entry(name).or_default().push(d);
    }
    map
}

#[cfg(test)]
mod tests;
