//! An S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, ...), through Apache Arrow's
//! `object_store`: only what changed is uploaded, in the order of [`plan`], with the
//! headers `glassroom serve` would send.
//!
//! What the bucket holds is known from a manifest (path → sha256), kept in two places:
//! `<git dir>/glassroom/s3-<target>.json` ([`Progress`]: the last publication, and the
//! objects an unfinished one has uploaded so far, saved as it goes) and the bucket's
//! `.glassroom-manifest.json` (read when the local file is missing, e.g. on a new
//! machine). A publication killed halfway is resumed by the next: what it uploaded is
//! not uploaded again.
//!
//! Credentials come only from the environment of the syncing process (and what
//! `object_store` reads from it: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_SESSION_TOKEN`, web identity, ECS and EC2 instance roles) or, without a key
//! there, the user's AWS shared files ([`profile`]), never from the repository:
//! `glassroom.yaml` has no field for them.

pub mod plan;
pub mod profile;
mod upload;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Control, Release, TargetError};
use crate::local::{Durability, write_atomically};
use crate::sync::schedule::Millis;
use crate::sync::state::Paths;
use plan::Manifest;

/// Where a bucket target publishes, from `glassroom.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    pub bucket: String,
    /// `""` or a prefix ending in `/`.
    pub prefix: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub path_style: bool,
}

impl Bucket {
    /// The bucket `config` names (its prefix normalised to end in `/`).
    pub fn from_config(config: &crate::content::model::S3Target) -> Bucket {
        let prefix = config
            .prefix
            .as_ref()
            .map(|p| p.trim_matches('/'))
            .filter(|p| !p.is_empty())
            .map_or_else(String::new, |p| format!("{p}/"));
        Bucket {
            bucket: config.bucket.as_str().to_owned(),
            prefix,
            endpoint: config.endpoint.as_ref().map(|e| e.as_str().to_owned()),
            region: config.region.clone(),
            path_style: config.path_style,
        }
    }

    /// `s3://ops-site/ops/` (and ` at <endpoint>` for anything but AWS).
    pub fn describe(&self) -> String {
        let at = self
            .endpoint
            .as_ref()
            .map_or_else(String::new, |e| format!(" at {e}"));
        format!("s3://{}/{}{at}", self.bucket, self.prefix)
    }
}

/// What the state directory remembers of one bucket target.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Progress {
    /// [`Bucket::describe`] of the bucket this is about: another bucket starts afresh.
    pub location: String,
    /// The last complete publication.
    pub published: Option<Publication>,
    /// A publication that has not finished (killed, stopped or failed).
    pub unfinished: Option<Unfinished>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    pub commit: String,
    #[serde(with = "crate::sync::time")]
    pub at: Millis,
    pub files: Manifest,
    /// Objects uploaded, deleted and left as they were.
    pub uploaded: usize,
    pub deleted: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unfinished {
    pub commit: String,
    #[serde(with = "crate::sync::time")]
    pub started: Millis,
    /// How many objects it has to upload in all.
    pub to_upload: usize,
    /// What it uploaded (path → sha256).
    pub uploaded: Manifest,
}

/// `<git dir>/glassroom/s3-<target>.json`.
pub fn progress_file(git_dir: &Path, target: &str) -> PathBuf {
    Paths::new(git_dir)
        .dir
        .join(format!("{}.json", super::lock::named("s3", target)))
}

impl Progress {
    /// The progress file's contents; `None` when there is none (or it cannot be read:
    /// then the bucket's manifest is asked instead).
    pub fn load(path: &Path) -> Option<Progress> {
        let bytes = std::fs::read(path).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    fn save(&self, path: &Path) -> Result<(), TargetError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|err| TargetError::Io {
            action: "write",
            path: path.to_path_buf(),
            source: std::io::Error::other(err),
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(super::io("create", dir))?;
        }
        write_atomically(path, &bytes, Durability::Durable).map_err(super::io("write", path))
    }
}

/// How many uploads run at once.
const CONCURRENCY: usize = 16;
/// The progress file is saved at least every this many uploads.
const SAVE_EVERY: usize = 32;

/// Publishes `release` to `bucket`, within `timeout`; a summary of what it did.
pub fn publish(
    target: &str,
    bucket: &Bucket,
    timeout: Duration,
    release: &Release<'_>,
    control: &Control<'_>,
) -> Result<String, TargetError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(super::io("start", Path::new("the S3 client")))?;
    let progress_path = progress_file(release.git_dir, target);
    let work = upload::publish(bucket, release, &progress_path, control);
    runtime.block_on(async {
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(TargetError::S3 {
                bucket: bucket.describe(),
                action: format!(
                    "finish within the target's timeout ({}s); what was uploaded is kept, and the next attempt goes on from there",
                    timeout.as_secs()
                ),
                source: None,
            }),
        }
    })
}
