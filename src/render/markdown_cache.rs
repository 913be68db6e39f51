//! Rendered Markdown remembered between builds, keyed by the body's blake3: a rebuild
//! renders (and sanitises) only bodies that changed.
//!
//! The cache is content-addressed, so it can never serve a stale body; it only has to be
//! forgotten when glassroom's own rendering changes, which the key includes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::markdown;

/// A body rendered for templates: its HTML and its plain-text summary (shared, so the
/// cache and the pages hold one copy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rendered {
    pub html: Arc<str>,
    pub summary: Arc<str>,
}

type Key = [u8; 32];

/// How long summaries are, in characters.
pub const SUMMARY_CHARS: usize = 200;

/// What is stored on disk; `format` changes whenever rendering may.
#[derive(Serialize, Deserialize)]
struct Stored {
    format: String,
    entries: Vec<(Key, Rendered)>,
}

/// glassroom's source fingerprint (see `build.rs`): any change to how bodies are
/// rendered is a change to the source.
fn format() -> String {
    concat!("glassroom markdown ", env!("GLASSROOM_SOURCE_HASH")).to_owned()
}

/// Bodies rendered by an earlier build, and which of them (plus new ones) this build used.
#[derive(Debug, Default)]
pub struct Cache {
    known: HashMap<Key, Known>,
    /// Bodies this build rendered that were not known.
    fresh: Mutex<HashMap<Key, Rendered>>,
    /// The body key of each source file seen by earlier builds in this process, by the
    /// file's blake3: a file's bytes decide its body, so an unchanged file's body is
    /// found without hashing the body again ([`Cache::render_file`]).
    by_file: HashMap<blake3::Hash, Key>,
    /// Files this build found bodies of by hashing them.
    fresh_files: Mutex<Vec<(blake3::Hash, Key)>>,
}

/// A body an earlier build rendered, and whether this build used it: a flag rather than
/// a set under a lock, since thousands of bodies are looked up in parallel.
#[derive(Debug, Default)]
struct Known {
    rendered: Rendered,
    used: AtomicBool,
}

impl Known {
    fn new(rendered: Rendered) -> Self {
        Self {
            rendered,
            used: AtomicBool::new(false),
        }
    }

    fn is_used(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }
}

impl Cache {
    /// An empty cache: every body is rendered.
    pub fn new() -> Self {
        Self::default()
    }

    /// The cache stored by [`Cache::to_bytes`]; empty if the bytes are not one (another
    /// version of glassroom, a damaged file): a cache can only cost speed, never output.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        match postcard::from_bytes::<Stored>(bytes) {
            Ok(stored) if stored.format == format() => Self {
                known: stored
                    .entries
                    .into_iter()
                    .map(|(key, rendered)| (key, Known::new(rendered)))
                    .collect(),
                ..Self::default()
            },
            _ => Self::default(),
        }
    }

    /// The bodies this build used, to be read by the next one; bodies no longer in the
    /// content are dropped, so the cache never outgrows the repository.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut entries = self.used_entries();
        entries.sort_by_key(|a| a.0);
        postcard::to_stdvec(&Stored {
            format: format(),
            entries,
        })
        .unwrap_or_default()
    }

    /// This build's bodies as the known ones of the next build in the same process (the
    /// preview server). A build that rendered nothing (it stopped at an error in the
    /// content) keeps what it knew.
    pub fn carried(self) -> Self {
        let fresh = self.fresh.into_inner().unwrap_or_default();
        let mut known = self.known;
        let any_used = known.values().any(Known::is_used);
        if any_used || !fresh.is_empty() {
            known.retain(|_, body| body.is_used());
        }
        let known: HashMap<Key, Known> = known
            .into_iter()
            .map(|(key, body)| (key, Known::new(body.rendered)))
            .chain(fresh.into_iter().map(|(key, r)| (key, Known::new(r))))
            .collect();
        let mut by_file = self.by_file;
        by_file.extend(self.fresh_files.into_inner().unwrap_or_default());
        by_file.retain(|_, key| known.contains_key(key));
        Self {
            known,
            by_file,
            ..Self::default()
        }
    }

    /// This build's bodies added to the known ones, none dropped: for a server that
    /// rebuilds after every edit and looks up only the bodies of changed files (the
    /// others' pages and values are kept whole), so "unused" does not mean "gone". It
    /// grows by the bodies edits make, which a server's life makes few.
    pub fn absorbed(mut self) -> Self {
        let fresh = self.fresh.get_mut().map(std::mem::take).unwrap_or_default();
        for (key, rendered) in fresh {
            self.known.insert(key, Known::new(rendered));
        }
        let files = self
            .fresh_files
            .get_mut()
            .map(std::mem::take)
            .unwrap_or_default();
        self.by_file.extend(files);
        self
    }

    fn used_entries(&self) -> Vec<(Key, Rendered)> {
        let fresh = match self.fresh.lock() {
            Ok(fresh) => fresh.iter().map(|(k, r)| (*k, r.clone())).collect(),
            Err(_) => Vec::new(),
        };
        self.known
            .iter()
            .filter(|(_, body)| body.is_used())
            .map(|(key, body)| (*key, body.rendered.clone()))
            .chain(fresh)
            .collect()
    }

    /// `markdown`, the body of the file whose bytes have the blake3 `file`, rendered:
    /// like [`Cache::render`], without hashing the body when an earlier build in this
    /// process saw the same file.
    pub fn render_file(&self, file: Option<blake3::Hash>, markdown: &str) -> Rendered {
        let Some(file) = file else {
            return self.render(markdown);
        };
        if let Some(known) = self.by_file.get(&file).and_then(|key| self.known.get(key)) {
            known.used.store(true, Ordering::Relaxed);
            return known.rendered.clone();
        }
        let key = *blake3::hash(markdown.as_bytes()).as_bytes();
        if let Ok(mut files) = self.fresh_files.lock() {
            files.push((file, key));
        }
        self.render_key(key, markdown)
    }

    /// `markdown` rendered: from the cache when this exact body was rendered before.
    pub fn render(&self, markdown: &str) -> Rendered {
        let key = *blake3::hash(markdown.as_bytes()).as_bytes();
        self.render_key(key, markdown)
    }

    fn render_key(&self, key: Key, markdown: &str) -> Rendered {
        if let Some(known) = self.known.get(&key) {
            known.used.store(true, Ordering::Relaxed);
            return known.rendered.clone();
        }
        // The template context and the API both show a body: rendered once per build.
        if let Some(rendered) = self.fresh.lock().ok().and_then(|f| f.get(&key).cloned()) {
            return rendered;
        }
        let rendered = Rendered {
            html: markdown::to_html(markdown).into(),
            summary: markdown::summary(markdown, SUMMARY_CHARS).into(),
        };
        if let Ok(mut fresh) = self.fresh.lock() {
            fresh.insert(key, rendered.clone());
        }
        rendered
    }

    /// Whether the next build would read something else than this build read.
    pub fn changed(&self) -> bool {
        let fresh = self.fresh.lock().map_or(true, |fresh| !fresh.is_empty());
        fresh || self.known.values().any(|body| !body.is_used())
    }

    /// How many bodies this build took from the cache and how many it rendered.
    #[cfg(test)]
    fn stats(&self) -> (usize, usize) {
        let hits = self.known.values().filter(|body| body.is_used()).count();
        (hits, self.fresh.lock().map_or(0, |fresh| fresh.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_body_renders_exactly_as_a_fresh_one() {
        let body = "# Title\n\nSome *text* and <script>alert(1)</script>.\n";
        let first = Cache::new();
        let fresh = first.render(body);
        assert_eq!(*fresh.html, markdown::to_html(body));
        assert_eq!(first.stats(), (0, 1));
        let second = Cache::from_bytes(&first.to_bytes());
        assert_eq!(second.render(body), fresh);
        assert_eq!(second.stats(), (1, 0), "served from the cache");
    }

    #[test]
    fn only_bodies_still_used_are_kept() {
        let first = Cache::new();
        first.render("old body");
        first.render("kept body");
        let second = Cache::from_bytes(&first.to_bytes());
        second.render("kept body");
        second.render("new body");
        let third = Cache::from_bytes(&second.to_bytes());
        assert_eq!(third.known.len(), 2);
        third.render("old body");
        assert_eq!(third.stats(), (0, 1), "the dropped body is rendered again");
    }

    #[test]
    fn carried_into_the_next_build_keeps_what_this_one_used() {
        let first = Cache::new();
        first.render("old body");
        first.render("kept body");
        let second = first.carried();
        second.render("kept body");
        second.render("new body");
        assert_eq!(second.stats(), (1, 1));
        let third = second.carried();
        assert_eq!(third.known.len(), 2);
        third.render("new body");
        third.render("old body");
        assert_eq!(third.stats(), (1, 1), "the body no longer used was dropped");
    }

    #[test]
    fn a_file_seen_before_finds_its_body_without_hashing_it_again() {
        let file = blake3::hash(b"---\ntitle: x\n---\nthe body");
        let first = Cache::new();
        let fresh = first.render_file(Some(file), "the body");
        let second = first.carried();
        assert_eq!(
            second.by_file.get(&file),
            Some(blake3::hash(b"the body").as_bytes())
        );
        assert_eq!(second.render_file(Some(file), "the body"), fresh);
        assert_eq!(second.stats(), (1, 0));
        // The body no longer used: dropped, with the file that led to it.
        let third = second.carried().carried();
        let fourth = {
            third.render("another body");
            third.carried()
        };
        assert!(fourth.by_file.is_empty() && fourth.known.len() == 1);
    }

    #[test]
    fn a_build_that_rendered_nothing_keeps_the_cache() {
        let first = Cache::new();
        first.render("kept body");
        let failed = first.carried().carried();
        failed.render("kept body");
        assert_eq!(failed.stats(), (1, 0));
    }

    #[test]
    fn damaged_or_foreign_bytes_give_an_empty_cache() {
        for bytes in [&b""[..], b"\xff\xff\xff", b"not postcard at all"] {
            let cache = Cache::from_bytes(bytes);
            assert!(cache.known.is_empty());
            assert_eq!(*cache.render("x").html, markdown::to_html("x"));
        }
    }
}
