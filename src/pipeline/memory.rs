//! What a process remembers between its builds, stage by stage: held by a
//! [`super::Session`], read by each open and build made through it.

use crate::{content, derive, render, source, trust};

/// What a process remembers between builds, stage by stage.
#[derive(Default)]
pub(super) struct Memory {
    /// The files of a directory (the preview).
    pub(super) files: source::DirCache,
    /// The blobs of the approved tree (a repository served as signed).
    pub(super) blobs: source::git::BlobCache,
    /// The last verification of history.
    pub(super) trust: trust::history::Memory,
    /// The previous load: its content, check findings and tree.
    pub(super) parsed: content::ParseCache,
    /// What earlier derivations computed.
    pub(super) derived: derive::Memos,
    /// What earlier builds rendered: the theme, the template context, page groups and
    /// their keys, the other outputs.
    pub(super) render: render::Memos,
    /// Markdown bodies rendered before.
    pub(super) markdown: render::markdown_cache::Cache,
    /// The last flag bundle published, by the fingerprint of the files it came from.
    pub(super) flags: super::BundleMemory,
}
