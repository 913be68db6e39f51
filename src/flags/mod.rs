//! Feature flags (Glowworm): the bundle compiled from `flags/`, its evaluation, and a
//! client that keeps a fresh copy of a published bundle.
//!
//! The format, canonical JSON, evaluation and the polling client are the
//! `glassroom-flags` crate (`crates/glassroom-flags`), re-exported here, so that an
//! application reading flags compiles only that crate. What needs glassroom's content
//! model stays here:
//!
//! - [`compile`] turns loaded [`Content`](crate::content::Content) into a [`Bundle`];
//!   [`Bundle::publish`] gives its canonical JSON and sha256 (the files a build writes:
//!   `flags.json`, `flags.json.sha256`, `flags/<sha256>.json`).
//!
//! The format and the rules are documented in `docs/flags.md`.

mod compile;

pub use compile::compile;
pub use glassroom_flags::*;
