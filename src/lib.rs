//! glassroom turns a git repository of operations knowledge into a static ops website and
//! a checksummed feature-flag bundle.
//!
//! Data flows one way: [`source`] → [`trust`] → [`content`] → derive → render → output.

pub mod cli;
pub mod cmd;
pub mod content;
mod defer;
pub mod derive;
pub mod diag;
pub mod dispatch;
pub mod flags;
pub mod intake;
pub mod local;
pub mod lookalike;
pub mod memo;
pub mod notify;
pub mod output;
pub mod pipeline;
pub mod render;
pub mod serve;
pub mod source;
pub mod suggest;
pub mod sync;
pub mod timings;
pub mod trust;
pub mod values;
pub mod yaml;
