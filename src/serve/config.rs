//! The server's configuration and errors: what to serve ([`Serving`]), the bounds on
//! clients ([`Limits`]), the checked [`Config`], where the server reports, and why it
//! could not start.

use std::path::PathBuf;
use std::time::Duration;

use super::{Clock, files};
use crate::content::types::Moment;
use crate::diag::{Diagnostics, Files};
use crate::intake::Signer;
use crate::pipeline::Source;

/// What to serve.
#[derive(Debug, Clone)]
pub enum Serving {
    /// A built site directory, reloaded when it changes.
    Root(PathBuf),
    /// A repository, built in memory from its approved tree (or, with
    /// `source.worktree`, from its working directory: the preview).
    Repo { path: PathBuf, source: Source },
}

/// Bounds on what a client may send or hold.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Longest a read or write may stall; time to send a logbook body; and, if shorter
    /// than `idle_timeout`, time to send the request headers.
    pub timeout: Duration,
    /// Time to send a complete request head, from the connection's start and again after
    /// each response: a connection that sends nothing (or not enough) is closed then. It
    /// is short because such a connection holds a place in the cap for nothing.
    pub idle_timeout: Duration,
    /// The request line and headers together (hyper's minimum is 8 KiB). At most 100
    /// headers are read (hyper's fixed, allocation-free default).
    pub max_header_bytes: usize,
    /// A logbook entry's body.
    pub max_body_bytes: usize,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
    /// Connections one client (an IPv4 address or an IPv6 /64) may hold at once; more
    /// are closed as soon as they are accepted. Below `max_connections`, so that no one
    /// client can fill the cap.
    pub max_connections_per_client: usize,
    /// How long shutdown waits for requests in progress.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            max_body_bytes: 64 * 1024,
            max_connections: 1024,
            max_connections_per_client: 64,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A checked configuration.
pub struct Config {
    pub serving: Serving,
    /// The moment to build for (default: the commit time, or the clock for a preview).
    pub now: Option<Moment>,
    /// Accept `POST /logbook`, committing with this key (needs [`Serving::Repo`]).
    pub logbook: Option<Signer>,
    pub limits: Limits,
    pub clock: Clock,
    /// Tokens for the OFREP endpoints of a built directory ([`Serving::Root`]); a
    /// repository's come from its `glassroom.yaml`.
    pub ofrep_tokens: Option<super::Tokens>,
}

/// Where the server tells what it does (the command prints to stderr).
pub trait Console: Send + Sync {
    fn info(&self, message: &str);
    fn warning(&self, message: &str);
    fn diagnostics(&self, files: &Files, diagnostics: &Diagnostics);
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "{} does not exist; build a site there first (`glassroom build REPO --out {}`) or serve a repository with --repo",
        path.display(), path.display()
    )]
    NoRoot { path: PathBuf },
    #[error("cannot read the site in {}", path.display())]
    Root {
        path: PathBuf,
        #[source]
        source: files::LoadError,
    },
    #[error("cannot open the repository {}", path.display())]
    Repo {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot watch {} for changes", path.display())]
    Watch {
        path: PathBuf,
        #[source]
        source: notify::Error,
    },
    #[error("--accept-logbook needs a repository to commit to: serve it with --repo")]
    LogbookWithoutRepo,
    #[error(
        "--accept-logbook cannot be combined with --preview: entries are checked against the approved tree"
    )]
    LogbookInPreview,
}
