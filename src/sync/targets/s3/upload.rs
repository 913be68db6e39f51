//! The network side of a bucket publication: the plan carried out with `object_store`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{
    Attribute, AttributeValue, Attributes, BackoffConfig, ObjectStore, ObjectStoreExt, PutOptions,
    PutPayload, RetryConfig,
};

use super::plan::{self, MANIFEST, Phase, Published};
use super::{Bucket, CONCURRENCY, Progress, Publication, SAVE_EVERY, Unfinished};
use crate::sync::targets::{Control, Release, TargetError};

/// The client for `bucket`: credentials and anything else `AWS_*` from the environment
/// (else a key and region from the AWS shared files, see [`super::profile`]),
/// the bucket, prefix, endpoint, region and URL style from `glassroom.yaml`; retries
/// with exponential backoff (10 tries within 3 minutes per request).
fn client(bucket: &Bucket) -> Result<AmazonS3, TargetError> {
    // One TLS provider for the process (ring, which rustls already uses here); a second
    // install is refused harmlessly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut builder = AmazonS3Builder::from_env()
        .with_bucket_name(&bucket.bucket)
        .with_virtual_hosted_style_request(!bucket.path_style)
        .with_retry(RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(15),
                base: 2.0,
            },
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
        });
    // The shared files only fill what the environment leaves out.
    let profile = super::profile::load();
    let env = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    if !env("AWS_ACCESS_KEY_ID")
        && let (Some(id), Some(secret)) = (&profile.access_key_id, &profile.secret_access_key)
    {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
        if let Some(token) = &profile.session_token {
            builder = builder.with_token(token);
        }
    }
    let region = bucket
        .region
        .as_ref()
        .or(if env("AWS_REGION") || env("AWS_DEFAULT_REGION") {
            None
        } else {
            profile.region.as_ref()
        });
    if let Some(region) = region {
        builder = builder.with_region(region);
    }
    if let Some(endpoint) = &bucket.endpoint {
        // Validation allows plain http only to this machine.
        builder = builder
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"));
    }
    builder.build().map_err(|source| TargetError::S3 {
        bucket: bucket.describe(),
        action: "configure the client (see `sync` in docs/sync.md for the environment it reads)"
            .into(),
        source: Some(source),
    })
}

/// The object key of the site's `path`: the prefix and the path as they are (no
/// escaping, so that a CDN in front finds `audit/~2Eglassroom/...` under that name).
fn object_key(bucket: &Bucket, path: &str) -> Result<Key, TargetError> {
    let full = format!("{}{path}", bucket.prefix);
    Key::parse(&full).map_err(|err| TargetError::S3 {
        bucket: bucket.describe(),
        action: format!("name an object `{full}` ({err})"),
        source: None,
    })
}

fn failed(bucket: &Bucket, action: String) -> impl FnOnce(object_store::Error) -> TargetError + '_ {
    move |source| {
        let action = match source {
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => format!(
                "{action} (refused: check the credentials in the environment of the process that syncs, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, and that they may write to the bucket; nothing else was changed)"
            ),
            _ => action,
        };
        TargetError::S3 {
            bucket: bucket.describe(),
            action,
            source: Some(source),
        }
    }
}

/// What the bucket is known to hold: the progress file if it is about this bucket, else
/// the bucket's own manifest, else nothing.
async fn known(
    store: &AmazonS3,
    bucket: &Bucket,
    progress_path: &Path,
) -> Result<Progress, TargetError> {
    let location = bucket.describe();
    if let Some(progress) = Progress::load(progress_path)
        && progress.location == location
    {
        return Ok(progress);
    }
    let key = object_key(bucket, MANIFEST)?;
    let published = match store.get(&key).await {
        Ok(got) => {
            let bytes = got
                .bytes()
                .await
                .map_err(failed(bucket, format!("read {key}")))?;
            serde_json::from_slice::<Published>(&bytes).ok()
        }
        Err(object_store::Error::NotFound { .. }) => None,
        Err(err) => return Err(failed(bucket, format!("read {key}"))(err)),
    };
    Ok(Progress {
        location,
        published: published.map(|p| Publication {
            commit: p.commit,
            at: 0,
            files: p.files,
            uploaded: 0,
            deleted: 0,
            unchanged: 0,
        }),
        unfinished: None,
    })
}

fn attributes(content_type: &'static str, cache_control: &'static str, sha: &str) -> PutOptions {
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, AttributeValue::from(content_type));
    attributes.insert(Attribute::CacheControl, AttributeValue::from(cache_control));
    attributes.insert(
        Attribute::Metadata("sha256".into()),
        AttributeValue::from(sha.to_owned()),
    );
    PutOptions {
        attributes,
        ..PutOptions::default()
    }
}

/// Carries out the publication of `release` to `bucket` (see [`super::plan`]).
pub(super) async fn publish(
    bucket: &Bucket,
    release: &Release<'_>,
    progress_path: &Path,
    control: &Control<'_>,
) -> Result<String, TargetError> {
    let store = Arc::new(client(bucket)?);
    let mut progress = known(&store, bucket, progress_path).await?;
    let site = plan::manifest_of(release.files);
    let published = progress
        .published
        .as_ref()
        .map(|p| p.files.clone())
        .unwrap_or_default();
    let uploaded_before = progress
        .unfinished
        .as_ref()
        .map(|u| u.uploaded.clone())
        .unwrap_or_default();
    let mut known = published.clone();
    known.extend(uploaded_before.clone());
    let plan = plan::plan(&site, &known, &[&published, &uploaded_before]);
    let resumed = uploaded_before.len();
    progress.unfinished = Some(Unfinished {
        commit: release.commit.to_owned(),
        started: release.at,
        to_upload: plan.uploads.len() + resumed,
        uploaded: uploaded_before,
    });
    progress.save(progress_path)?;
    let mut bytes_sent = 0usize;
    let mut since_save = 0;
    for phase in [Phase::Immutable, Phase::Asset, Phase::Page, Phase::Entry] {
        let uploads = plan
            .phase(phase)
            .map(|upload| Ok((upload.clone(), object_key(bucket, &upload.path)?)))
            .collect::<Result<Vec<_>, TargetError>>()?;
        if uploads.is_empty() {
            continue;
        }
        // Entries go one by one, in order; the rest side by side.
        let width = if phase == Phase::Entry {
            1
        } else {
            CONCURRENCY
        };
        let mut done = futures_util::stream::iter(uploads.into_iter().map(|(upload, key)| {
            let store = Arc::clone(&store);
            let bytes = release
                .files
                .get(&upload.path)
                .map(|b| bytes::Bytes::copy_from_slice(b))
                .unwrap_or_default();
            async move {
                let size = bytes.len();
                let options = attributes(upload.content_type, upload.cache_control, &upload.sha256);
                let result = store
                    .put_opts(&key, PutPayload::from(bytes), options)
                    .await
                    .map_err(failed(bucket, format!("upload {key}")));
                (upload, size, result)
            }
        }))
        .buffered(width);
        while let Some((upload, size, result)) = done.next().await {
            if let Err(err) = result {
                progress.save(progress_path)?;
                return Err(err);
            }
            bytes_sent += size;
            if let Some(unfinished) = progress.unfinished.as_mut() {
                unfinished.uploaded.insert(upload.path, upload.sha256);
            }
            since_save += 1;
            if since_save >= SAVE_EVERY {
                since_save = 0;
                progress.save(progress_path)?;
            }
            if let Some(by) = control.stop.requested() {
                progress.save(progress_path)?;
                return Err(TargetError::Stopped {
                    what: format!("uploading to {}", bucket.describe()),
                    by,
                    output: String::new(),
                });
            }
        }
        progress.save(progress_path)?;
        since_save = 0;
    }
    // The new manifest, then what the site no longer has. A bucket that already holds
    // exactly this site (as its manifest says) is left alone: nothing at all is written.
    let same = plan.uploads.is_empty() && plan.deletions.is_empty() && resumed == 0;
    if !same || published != plan.manifest {
        let manifest = Published {
            version: 1,
            commit: release.commit.to_owned(),
            files: plan.manifest.clone(),
        };
        let key = object_key(bucket, MANIFEST)?;
        let json = serde_json::to_vec_pretty(&manifest).map_err(|err| TargetError::S3 {
            bucket: bucket.describe(),
            action: format!("write {key} ({err})"),
            source: None,
        })?;
        store
            .put_opts(
                &key,
                PutPayload::from(json),
                attributes("application/json", crate::serve::files::REVALIDATE, ""),
            )
            .await
            .map_err(failed(bucket, format!("upload {key}")))?;
    }
    let mut deleted = 0;
    let mut files = plan.manifest.clone();
    for path in &plan.deletions {
        let key = object_key(bucket, path)?;
        match store.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => deleted += 1,
            Err(err) => {
                // The new site is complete and its manifest written: the stale object
                // stays in the manifest remembered here, so the next publication
                // deletes it.
                (control.say)(&format!(
                    "sync: {}: could not delete {key} (left for the next publication): {err}",
                    bucket.describe()
                ));
                files.insert(path.clone(), String::new());
            }
        }
    }
    let uploaded = plan.uploads.len();
    progress.published = Some(Publication {
        commit: release.commit.to_owned(),
        at: release.at,
        files,
        uploaded,
        deleted,
        unchanged: plan.unchanged,
    });
    progress.unfinished = None;
    progress.save(progress_path)?;
    let resumed = if resumed > 0 {
        format!(" (resuming: {resumed} already there)")
    } else {
        String::new()
    };
    Ok(format!(
        "uploaded {uploaded} objects ({bytes_sent} bytes), deleted {deleted}, {} unchanged{resumed}",
        plan.unchanged,
    ))
}
