//! Rendered Markdown remembered between builds, keyed by the body's blake3: a rebuild
//! renders (and sanitises) only bodies that changed.
//!
//! The cache is content-addressed, so it can never serve a stale body; it only has to be
//! forgotten when glassroom's own rendering changes, which the key includes.

use std::collections::{HashMap, HashSet};
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

fn format() -> String {
    concat!("glassroom ", env!("CARGO_PKG_VERSION"), " markdown 1").to_owned()
}

/// Bodies rendered by an earlier build, and which of them (plus new ones) this build used.
#[derive(Debug, Default)]
pub struct Cache {
    known: HashMap<Key, Rendered>,
    used: Mutex<Used>,
}

#[derive(Debug, Default)]
struct Used {
    hits: HashSet<Key>,
    fresh: HashMap<Key, Rendered>,
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
                known: stored.entries.into_iter().collect(),
                used: Mutex::default(),
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
        let used = self.used.into_inner().unwrap_or_default();
        let mut known = self.known;
        if used.hits.is_empty() && used.fresh.is_empty() {
            return Self {
                known,
                used: Mutex::default(),
            };
        }
        known.retain(|key, _| used.hits.contains(key));
        known.extend(used.fresh);
        Self {
            known,
            used: Mutex::default(),
        }
    }

    fn used_entries(&self) -> Vec<(Key, Rendered)> {
        match self.used.lock() {
            Ok(used) => used
                .hits
                .iter()
                .filter_map(|key| self.known.get(key).map(|r| (*key, r.clone())))
                .chain(used.fresh.iter().map(|(k, r)| (*k, r.clone())))
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    /// `markdown` rendered: from the cache when this exact body was rendered before.
    pub fn render(&self, markdown: &str) -> Rendered {
        let key = *blake3::hash(markdown.as_bytes()).as_bytes();
        if let Some(known) = self.known.get(&key) {
            if let Ok(mut used) = self.used.lock() {
                used.hits.insert(key);
            }
            return known.clone();
        }
        let rendered = Rendered {
            html: markdown::to_html(markdown).into(),
            summary: markdown::summary(markdown, SUMMARY_CHARS).into(),
        };
        if let Ok(mut used) = self.used.lock() {
            used.fresh.insert(key, rendered.clone());
        }
        rendered
    }

    /// Whether the next build would read something else than this build read.
    pub fn changed(&self) -> bool {
        self.used.lock().map_or(true, |used| {
            !used.fresh.is_empty() || used.hits.len() != self.known.len()
        })
    }

    /// How many bodies this build took from the cache and how many it rendered.
    #[cfg(test)]
    fn stats(&self) -> (usize, usize) {
        self.used
            .lock()
            .map_or((0, 0), |used| (used.hits.len(), used.fresh.len()))
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
