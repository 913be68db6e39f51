//! The content of an ops repository: typed, parsed and validated.
//!
//! [`load`] turns a [`Tree`](crate::source::Tree) into [`Content`] plus every problem it
//! found. Content with errors is still returned (as far as it parsed) so tools can report
//! on it, but nothing may be published from it.

mod classify;
mod kind;
mod left_out;
mod limits;
mod load;
pub mod logbook;
pub mod model;
mod parse;
pub mod people;
mod shelf;
pub mod ssh;
mod stamps;
mod stored;
pub mod types;
mod validate;

use crate::diag::{Diagnostics, FileId, Origin};

pub use classify::{Classified, classify, is_valid_id};
pub use kind::{CONFIG_PATH, Content, EntityPage, EntityVisitor, Kind, Place, Stamps};
pub use left_out::LeftOut;
pub use limits::is_content_path;
pub use load::{ParseCache, load, load_cached, load_leaving_out, load_with_pending};
pub use model::*;
pub use people::{ChannelKind, EscalationLevel, Info, Person, Subscription, Target};
pub use shelf::{Head, Model, Shelf};
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
        Kind::ALL
            .into_iter()
            .filter_map(|kind| Some((kind.summary()?, self.shelf(kind).entries())))
            .collect()
    }
}
