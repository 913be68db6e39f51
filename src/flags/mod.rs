//! Feature flags (Glowworm): the bundle compiled from `flags/`, its evaluation, and a
//! client that keeps a fresh copy of a published bundle.
//!
//! - [`Bundle::compile`] turns loaded [`Content`](crate::content::Content) into a
//!   [`Bundle`]; [`Bundle::publish`] gives its canonical JSON and sha256 (the files a
//!   build writes: `flags.json`, `flags.json.sha256`, `flags/<sha256>.json`).
//! - [`Flags`] is a bundle prepared for evaluation; [`Flags::evaluate`] is the pure
//!   function that decides a value, [`Flags::explain`] shows the whole chain.
//! - [`Client`] polls a bundle URL with `If-None-Match`, verifies every new bundle's
//!   sha256, and answers [`Client::feature_flag`] from memory without ever waiting for
//!   the network.
//!
//! The format and the rules are documented in `docs/flags.md`.

mod bundle;
mod canonical;
mod client;
mod eval;

pub use bundle::{
    AccountSetSpec, Bundle, BundleError, FeatureSpec, Published, SCHEMA, is_sha256_hex, sha256_hex,
};
pub use client::{
    Client, ClientBuilder, ClientError, Clock, DEFAULT_JITTER, DEFAULT_TIMEOUT, DEFAULT_TTL,
    Decision, FIRST_RETRY, Loaded, Refresh, Status, SystemClock, etag_sha256, next_delay,
};
pub use eval::{
    BUCKETS, Evaluation, Explanation, FALSE, Flags, Rule, Step, bucket, in_rollout, without_data,
};

/// Reads and prepares a bundle from its bytes, verifying them against `sha256` when given.
pub fn read_bundle(source: &str, bytes: &[u8], sha256: Option<&str>) -> Result<Flags, BundleError> {
    if let Some(expected) = sha256 {
        let actual = sha256_hex(bytes);
        if actual != expected {
            return Err(BundleError::Checksum {
                source_name: source.to_owned(),
                expected: expected.to_owned(),
                actual,
            });
        }
    }
    let bundle = Bundle::from_json(source, bytes)?;
    Flags::new(bundle, source)
}
