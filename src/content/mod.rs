//! The content of an ops repository: typed, parsed and validated.
//!
//! [`load`] turns a [`Tree`](crate::source::Tree) into [`Content`] plus every problem it
//! found. Content with errors is still returned (as far as it parsed) so tools can report
//! on it, but nothing may be published from it.

mod left_out;
mod limits;
mod load;
pub mod model;
mod stamps;
mod stored;
pub mod types;
mod validate;

use crate::diag::{Diagnostics, FileId, Files, Origin};
use crate::trust::Policy;

pub use left_out::LeftOut;
pub use limits::is_content_path;
pub use load::{
    Kind, ParseCache, classify, is_valid_id, load, load_cached, load_leaving_out, load_with_pending,
};
pub use model::*;
pub use stamps::Stamps;
pub use validate::{LINK_SCHEMES, is_web_link};

/// One entity read from one file.
#[derive(Debug, Clone)]
pub struct Document<T> {
    /// The file name without extension; unique within its kind.
    pub id: String,
    /// Repository-relative path.
    pub path: String,
    /// Where the YAML (the whole file, or the front matter) starts.
    pub origin: Origin,
    /// The Markdown body after the front matter; empty for YAML files.
    pub body: String,
    pub data: T,
}

impl<T> Document<T> {
    pub fn file(&self) -> FileId {
        self.origin.file
    }
}

/// Everything in a repository, each kind sorted by id.
#[derive(Debug, Default)]
pub struct Content {
    /// The text of every file read, for diagnostics and fingerprints.
    pub files: Files,
    pub config: Option<Document<SiteConfig>>,
    pub policy: Option<Document<Policy>>,
    pub hosts: Vec<Document<Host>>,
    pub certificates: Vec<Document<Certificate>>,
    pub domains: Vec<Document<Domain>>,
    pub modules: Vec<Document<Module>>,
    pub releases: Vec<Document<Release>>,
    pub procedures: Vec<Document<Procedure>>,
    pub logbook: Vec<Document<LogEntry>>,
    pub tickets: Vec<Document<Ticket>>,
    pub services: Vec<Document<Service>>,
    pub sites: Vec<Document<Site>>,
    pub features: Vec<Document<Feature>>,
    pub account_sets: Vec<Document<AccountSet>>,
    pub overrides: Option<Document<Overrides>>,
    pub news: Vec<Document<News>>,
    /// Fingerprints of every kind's files, for the memos of later stages.
    pub stamps: Stamps,
    /// Which numbering of files this content has: a load that numbers the files afresh
    /// takes a new generation, a load that patches the previous content keeps it (file
    /// ids of unchanged files stay what they were), so a memo that remembers file ids
    /// can tell whether they still mean the same files.
    pub generation: u64,
}

/// A generation no other load in this process had.
pub(crate) fn next_generation() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// The result of loading: the content and what is wrong with it.
#[derive(Debug)]
pub struct Loaded {
    pub content: Content,
    pub diagnostics: Diagnostics,
    /// Files left out because they are published only by pre-approval and have errors
    /// ([`load_leaving_out`]); each has a warning among the diagnostics.
    pub left_out: Vec<LeftOut>,
}

impl Content {
    /// Entity counts by kind, in the order the summary line prints them.
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("hosts", self.hosts.len()),
            ("certificates", self.certificates.len()),
            ("domains", self.domains.len()),
            ("modules", self.modules.len()),
            ("releases", self.releases.len()),
            ("procedures", self.procedures.len()),
            ("logbook entries", self.logbook.len()),
            ("tickets", self.tickets.len()),
            ("sites", self.sites.len()),
            ("services", self.services.len()),
            ("flag features", self.features.len()),
            ("account sets", self.account_sets.len()),
            (
                "overrides",
                self.overrides
                    .as_ref()
                    .map_or(0, |o| o.data.values().map(|m| m.len()).sum()),
            ),
            ("news items", self.news.len()),
        ]
    }
}
