//! What an S3 publication does, decided without touching the network: the difference
//! between the built site and what the bucket is known to hold (a [`Manifest`]: path →
//! sha256), as uploads in the order readers need and deletions after.
//!
//! The order, so that a reader never sees a page whose parts are not there yet:
//! 1. [`Phase::Immutable`]: content-addressed files (`flags/<sha256>.json`);
//! 2. [`Phase::Asset`]: everything else a page may use (styles, scripts, images, feeds,
//!    the JSON API);
//! 3. [`Phase::Page`]: HTML pages;
//! 4. [`Phase::Entry`]: what readers start from, in this order: `flags.json`,
//!    `flags.json.sha256`, `index.html`;
//! 5. the new manifest (`.glassroom-manifest.json`) is written;
//! 6. objects of the previous manifest that the new site no longer has are deleted
//!    (only those: an object glassroom did not write is never touched).
//!
//! `Content-Type` and `Cache-Control` come from [`crate::serve::files`], so the bucket
//! answers with the headers `glassroom serve` would.

use std::collections::BTreeMap;

use crate::flags::sha256_hex;
use crate::serve::files::{cache_control, content_type, is_html};
use serde::{Deserialize, Serialize};

/// The object, beside the site, that records what a publication wrote.
pub const MANIFEST: &str = ".glassroom-manifest.json";

/// Path (relative to the prefix) → sha256 (hex) of every object a publication wrote.
pub type Manifest = BTreeMap<String, String>;

/// What readers start from, last and in this order.
const ENTRIES: [&str; 3] = ["flags.json", "flags.json.sha256", "index.html"];

/// When a file is uploaded, earliest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Immutable,
    Asset,
    Page,
    Entry,
}

impl Phase {
    /// The phase of `path` whose bytes hash to `sha256`.
    pub fn of(path: &str, sha256: &str) -> Phase {
        if ENTRIES.contains(&path) {
            Phase::Entry
        } else if cache_control(path, sha256) == crate::serve::files::IMMUTABLE {
            Phase::Immutable
        } else if is_html(path) {
            Phase::Page
        } else {
            Phase::Asset
        }
    }
}

/// One object to upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub path: String,
    pub sha256: String,
    pub phase: Phase,
    pub content_type: &'static str,
    pub cache_control: &'static str,
}

/// A publication: uploads in order, then the manifest, then deletions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// What the bucket holds once the plan is carried out.
    pub manifest: Manifest,
    /// New and changed files, in upload order.
    pub uploads: Vec<Upload>,
    /// Paths of the previous manifest the site no longer has, deleted last.
    pub deletions: Vec<String>,
    /// Files already in the bucket with these bytes.
    pub unchanged: usize,
}

impl Plan {
    /// The uploads of one phase.
    pub fn phase(&self, phase: Phase) -> impl Iterator<Item = &Upload> {
        self.uploads.iter().filter(move |u| u.phase == phase)
    }
}

/// The manifest of a built site.
pub fn manifest_of(files: &BTreeMap<String, Vec<u8>>) -> Manifest {
    files
        .iter()
        .map(|(path, bytes)| (path.clone(), sha256_hex(bytes)))
        .collect()
}

/// What turns a bucket holding `known` (what the last publication wrote, plus what an
/// unfinished one uploaded since) into one holding `site`. `written` is every path
/// glassroom may have written there (the last manifest and anything uploaded since):
/// those the site no longer has are deleted.
pub fn plan(site: &Manifest, known: &Manifest, written: &[&Manifest]) -> Plan {
    let mut uploads: Vec<Upload> = site
        .iter()
        .filter(|(path, sha)| known.get(*path) != Some(*sha))
        .map(|(path, sha)| Upload {
            path: path.clone(),
            sha256: sha.clone(),
            phase: Phase::of(path, sha),
            content_type: content_type(path),
            cache_control: cache_control(path, sha),
        })
        .collect();
    uploads.sort_by_key(|u| {
        let entry = ENTRIES.iter().position(|e| *e == u.path).unwrap_or(0);
        (u.phase, entry)
    });
    let mut deletions: Vec<String> = written
        .iter()
        .flat_map(|m| m.keys())
        .filter(|path| !site.contains_key(*path) && path.as_str() != MANIFEST)
        .cloned()
        .collect();
    deletions.sort();
    deletions.dedup();
    Plan {
        manifest: site.clone(),
        unchanged: site.len() - uploads.len(),
        uploads,
        deletions,
    }
}

/// The bucket's copy of a manifest, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    pub version: u32,
    /// The approved head published.
    pub commit: String,
    pub files: Manifest,
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &str = "{\"schema\":1}";

    fn site(files: &[(&str, &str)]) -> Manifest {
        let mut map = BTreeMap::new();
        for (path, bytes) in files {
            let path = if *path == "flags/SHA.json" {
                format!("flags/{}.json", sha256_hex(bytes.as_bytes()))
            } else {
                (*path).to_owned()
            };
            map.insert(path, bytes.as_bytes().to_vec());
        }
        manifest_of(&map)
    }

    fn example() -> Manifest {
        site(&[
            ("index.html", "home"),
            ("hosts/web1.html", "web1"),
            ("hosts/web2.html", "web2"),
            ("style.css", "css"),
            ("api/hosts.json", "[]"),
            ("flags.json", FLAGS),
            ("flags.json.sha256", "abc"),
            ("flags/SHA.json", FLAGS),
            ("feeds/news.atom", "<feed/>"),
        ])
    }

    fn paths(plan: &Plan) -> Vec<&str> {
        plan.uploads.iter().map(|u| u.path.as_str()).collect()
    }

    #[test]
    fn a_first_publication_uploads_everything_immutable_first_and_entries_last() {
        let site = example();
        let plan = plan(&site, &Manifest::new(), &[]);
        let flags = format!("flags/{}.json", sha256_hex(FLAGS.as_bytes()));
        assert_eq!(
            paths(&plan),
            vec![
                flags.as_str(),
                "api/hosts.json",
                "feeds/news.atom",
                "style.css",
                "hosts/web1.html",
                "hosts/web2.html",
                "flags.json",
                "flags.json.sha256",
                "index.html",
            ]
        );
        assert_eq!(plan.unchanged, 0);
        assert!(plan.deletions.is_empty());
        assert_eq!(plan.manifest, site);
        let phases: Vec<Phase> = plan.uploads.iter().map(|u| u.phase).collect();
        assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{phases:?}");
    }

    #[test]
    fn headers_are_the_servers() {
        let plan = plan(&example(), &Manifest::new(), &[]);
        let get = |path: &str| {
            plan.uploads
                .iter()
                .find(|u| u.path == path || (path == "flags/SHA" && u.path.starts_with("flags/")))
                .map(|u| (u.content_type, u.cache_control))
        };
        let immutable = "public, max-age=31536000, immutable";
        assert_eq!(get("flags/SHA"), Some(("application/json", immutable)));
        assert_eq!(get("flags.json"), Some(("application/json", "no-cache")));
        assert_eq!(
            get("flags.json.sha256"),
            Some(("text/plain; charset=utf-8", "no-cache"))
        );
        assert_eq!(
            get("index.html"),
            Some(("text/html; charset=utf-8", "no-cache"))
        );
        assert_eq!(
            get("style.css"),
            Some(("text/css; charset=utf-8", "no-cache"))
        );
        assert_eq!(
            get("feeds/news.atom"),
            Some(("application/atom+xml", "no-cache"))
        );
    }

    #[test]
    fn a_file_named_like_a_hash_it_is_not_is_not_immutable() {
        let wrong = format!("flags/{}.json", "0".repeat(64));
        let plan = plan(&site(&[(&wrong, "not that")]), &Manifest::new(), &[]);
        assert_eq!(plan.uploads[0].phase, Phase::Asset);
        assert_eq!(plan.uploads[0].cache_control, "no-cache");
    }

    #[test]
    fn an_unchanged_site_uploads_and_deletes_nothing() {
        let site = example();
        let plan = plan(&site, &site, &[&site]);
        assert!(plan.uploads.is_empty());
        assert!(plan.deletions.is_empty());
        assert_eq!(plan.unchanged, site.len());
    }

    #[test]
    fn a_change_uploads_only_the_changed_files() {
        let before = example();
        let mut after = before.clone();
        after.insert("hosts/web1.html".into(), sha256_hex(b"web1 v2"));
        after.insert("index.html".into(), sha256_hex(b"home v2"));
        let plan = plan(&after, &before, &[&before]);
        assert_eq!(paths(&plan), vec!["hosts/web1.html", "index.html"]);
        assert_eq!(plan.unchanged, before.len() - 2);
        assert!(plan.deletions.is_empty());
    }

    #[test]
    fn removed_files_are_deleted_after_and_only_glassrooms() {
        let before = example();
        let mut after = before.clone();
        after.remove("hosts/web2.html");
        let plan = plan(&after, &before, &[&before]);
        assert!(plan.uploads.is_empty());
        assert_eq!(plan.deletions, vec!["hosts/web2.html".to_owned()]);
        // Nothing glassroom did not write (not in a manifest) is deleted, nor the manifest.
        let mut written = before.clone();
        written.insert(MANIFEST.into(), "x".into());
        let plan = super::plan(&after, &before, &[&written]);
        assert_eq!(plan.deletions, vec!["hosts/web2.html".to_owned()]);
    }

    #[test]
    fn a_resumed_publication_skips_what_it_uploaded_and_deletes_its_leftovers() {
        let published = example();
        let mut target = published.clone();
        target.insert("hosts/web3.html".into(), sha256_hex(b"web3"));
        target.insert("hosts/web1.html".into(), sha256_hex(b"web1 v2"));
        // The interrupted run uploaded web3 and a page the new target no longer has.
        let mut uploaded = Manifest::new();
        uploaded.insert("hosts/web3.html".into(), sha256_hex(b"web3"));
        uploaded.insert("hosts/gone.html".into(), sha256_hex(b"gone"));
        let mut known = published.clone();
        known.extend(uploaded.clone());
        let plan = plan(&target, &known, &[&published, &uploaded]);
        assert_eq!(paths(&plan), vec!["hosts/web1.html"]);
        assert_eq!(plan.deletions, vec!["hosts/gone.html".to_owned()]);
    }
}
