//! Integration tests: the real binary on real repositories.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod architecture;
mod build;
mod channels;
mod check;
mod defects;
mod deploy;
mod flags;
mod golden;
mod inbox;
mod incremental;
mod init;
mod layout;
mod mail;
mod notify;
mod ofrep;
mod people;
mod plan;
mod robustness;
mod run;
mod s3;
mod scale;
mod serve;
mod sync;
mod sync_signals;
mod tables;
mod triage;
mod trust;
