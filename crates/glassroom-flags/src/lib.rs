//! glassroom's feature flags (Glowworm) for the applications that read them: the bundle
//! format, its canonical JSON, evaluation, and a client that keeps a fresh, verified copy
//! of a published bundle in memory.
//!
//! - [`Bundle`] is what `flags.json` holds; [`Bundle::from_json`] reads one and
//!   [`Bundle::publish`] gives its canonical JSON and sha256.
//! - [`Flags`] is a bundle prepared for evaluation; [`Flags::evaluate`] is the pure
//!   function that decides a value, [`Flags::explain`] shows the whole chain.
//! - [`Client`] polls a bundle URL with `If-None-Match`, verifies every new bundle's
//!   sha256, and answers [`Client::feature_flag`] from memory without ever waiting for
//!   the network.
//!
//! This crate depends on no git, template or async-runtime crates; `glassroom` itself
//! compiles bundles from a content repository and re-exports all of this as
//! `glassroom::flags`. The format and the rules are documented in glassroom's
//! `docs/flags.md`.
//!
//! ```no_run
//! use std::time::Duration;
//! use glassroom_flags::{Client, FlagValue};
//!
//! let flags = Client::builder("https://ops.example.org/flags.json").start();
//! flags.wait_ready(Duration::from_secs(2)); // optional: defaults are answered until then
//! let on = flags.is_active("acct-1001", "new-checkout");
//! let size = flags.feature_flag("acct-1001", "search-page-size", Some(FlagValue::Integer(20)));
//! # let _ = (on, size);
//! ```

mod bundle;
mod canonical;
mod client;
mod eval;
mod time;
mod value;

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
/// The instant type of [`Flags::evaluate`], [`Clock`] and [`Status`].
pub use jiff::Timestamp;
pub use value::{FlagType, FlagValue};
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
