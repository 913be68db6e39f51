//! `sync:` in `glassroom.yaml`: the debounce, the retry policy and the targets a sync
//! publishes to (see `docs/sync.md`).

use serde::{Deserialize, Serialize};

use crate::content::types::Duration;
use crate::yaml::Spanned;

/// DryDock's debounce: sync `quiet` after the last change, at most `max_delay` after the first.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncConfig {
    #[serde(default = "SyncConfig::default_quiet")]
    pub quiet: Duration,
    #[serde(default = "SyncConfig::default_max_delay")]
    pub max_delay: Duration,
    /// How a failed push is retried.
    #[serde(default)]
    pub retry: RetryConfig,
    #[serde(default)]
    pub targets: Vec<Spanned<SyncTarget>>,
}

impl SyncConfig {
    fn default_quiet() -> Duration {
        Duration::minutes(5)
    }
    fn default_max_delay() -> Duration {
        Duration::minutes(60)
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            quiet: Self::default_quiet(),
            max_delay: Self::default_max_delay(),
            retry: RetryConfig::default(),
            targets: Vec::new(),
        }
    }
}

/// Exponential backoff after a failed push: `first`, doubling, at most `max` (each delay
/// shortened by a random 0–25 %).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    #[serde(default = "RetryConfig::default_first")]
    pub first: Duration,
    #[serde(default = "RetryConfig::default_max")]
    pub max: Duration,
}

impl RetryConfig {
    fn default_first() -> Duration {
        Duration::seconds(30)
    }
    fn default_max() -> Duration {
        Duration::minutes(15)
    }
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            first: Self::default_first(),
            max: Self::default_max(),
        }
    }
}

/// Where a sync publishes the site. Exactly one of `dir`, `command`, `git` and `s3` is
/// set.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SyncTarget {
    pub name: Spanned<String>,
    /// A local directory, published by an atomic symlink swap.
    #[serde(default)]
    pub dir: Option<String>,
    /// How many previous releases a `dir` target keeps for rollback.
    #[serde(default)]
    pub keep: Option<u32>,
    /// A command run with the built directory and commits in its environment.
    #[serde(default)]
    pub command: Option<String>,
    /// A branch the built site is committed to and pushed.
    #[serde(default)]
    pub git: Option<GitTarget>,
    /// An S3-compatible bucket the site is uploaded to, only what changed.
    #[serde(default)]
    pub s3: Option<S3Target>,
    /// How long a `command`, a `git` push or an `s3` upload may run before it is stopped
    /// and counted as failed (default 10 minutes).
    #[serde(default)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitTarget {
    pub remote: String,
    pub branch: String,
}

/// An S3-compatible bucket; no credentials: they come from the syncing process's environment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct S3Target {
    pub bucket: Spanned<String>,
    /// A key prefix the site is published under (`ops/` → `ops/index.html`).
    #[serde(default)]
    pub prefix: Option<Spanned<String>>,
    /// The service's URL for anything but AWS (R2, MinIO: `http://127.0.0.1:9000`).
    #[serde(default)]
    pub endpoint: Option<Spanned<String>>,
    /// Default: `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`.
    #[serde(default)]
    pub region: Option<String>,
    /// Path-style URLs (`endpoint/bucket/key`), as MinIO and most local servers need.
    #[serde(default)]
    pub path_style: bool,
}
