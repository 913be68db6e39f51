//! A detail page's key and its declared reads say the same: the keys of a kind's pages
//! read the files of exactly the kinds its page declares (so the group's stamp, made
//! from the declaration, covers every file a key reads, and no declaration is stale).

use std::collections::BTreeSet;

use super::*;
use crate::content::types::Moment;
use crate::content::{Classified, classify};
use crate::render::pages::Page;

/// `test` given the render input of the example.
fn with_example(test: impl FnOnce(&Input<'_>)) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
    let tree = crate::source::read_dir(&root).unwrap_or_default();
    let loaded = crate::content::load(&tree);
    assert!(!loaded.diagnostics.has_errors());
    let now: Moment = "2026-11-22T00:00:00Z".parse().expect("a moment");
    let derived = crate::derive::derive(&loaded.content, now);
    let markdown = crate::render::markdown_cache::Cache::new();
    let memos = crate::render::Memos::default();
    test(&Input {
        tree: &tree,
        content: &loaded.content,
        derived: &derived,
        now,
        preview: false,
        trust: None,
        left_out: &[],
        trust_stamp: [0; 32],
        markdown: &markdown,
        memos: &memos,
        complete: true,
    });
}

/// Every join a page declares it reads is one derive makes (a misspelt name would stamp
/// nothing, and the page would not follow the join).
#[test]
fn every_join_a_page_declares_exists() {
    with_example(|input| {
        let known = &input.derived.stamps.relations;
        assert!(known.len() >= 12);
        let mut declared = 0;
        for page in Page::all() {
            let spec = page.spec().expect("every page has a spec");
            for name in spec.reads.relations {
                assert!(known.contains_key(name), "{page:?} reads {name}");
                declared += 1;
            }
        }
        assert!(declared > 10);
    });
}

#[test]
fn detail_keys_read_the_files_of_exactly_the_kinds_their_pages_declare() {
    with_example(detail_keys_read_what_pages_declare);
}

fn detail_keys_read_what_pages_declare(input: &Input<'_>) {
    let content = input.content;
    let global = blake3::hash(b"global");
    let mut checked = 0;
    for kind in Kind::ALL {
        let Some(spec) = Page::Detail(kind).spec() else {
            assert!(kind.page().is_none(), "{kind:?} has a page but no spec");
            continue;
        };
        let (key, count) = detail_key_fn(input, &global, kind);
        assert_eq!(count, content.shelf(kind).len(), "{kind:?}");
        assert!(count > 0, "the example has no {}", kind.name());
        let mut read = BTreeSet::new();
        for index in 0..count {
            let (_, deps) = key(index);
            for (file, _) in deps {
                match classify(content.files.path(file)) {
                    Classified::Content(of, _) => read.insert(of),
                    _ => panic!("{kind:?} key read {}", content.files.path(file)),
                };
            }
        }
        let declared: BTreeSet<Kind> = spec
            .reads
            .files
            .iter()
            .chain(spec.reads.structure)
            .copied()
            .collect();
        assert_eq!(read, declared, "the keys of {kind:?} pages");
        checked += 1;
    }
    assert_eq!(checked, super::super::data::ENTITIES.len());
}

/// A channel's feed key reads the files of the kinds its group declares, no other; over
/// the example, all of them for the kinds whose example entities have such items.
#[test]
fn channel_keys_read_the_files_of_the_kinds_their_feeds_declare() {
    with_example(|input| {
        let global = blake3::hash(b"global");
        let mut checked = 0;
        for kind in Kind::ALL {
            let Some(spec) = Page::Channel(kind).spec() else {
                assert!(!crate::derive::channels::has_channel(kind), "{kind:?}");
                continue;
            };
            let (key, count) = channel_key_fn(input, &global, kind);
            assert_eq!(count, input.content.shelf(kind).len(), "{kind:?}");
            let mut read = BTreeSet::new();
            for index in 0..count {
                let (_, deps) = key(index);
                for (file, _) in deps {
                    match classify(input.content.files.path(file)) {
                        Classified::Content(of, _) => read.insert(of),
                        _ => panic!("{kind:?} key read {}", input.content.files.path(file)),
                    };
                }
            }
            let declared: BTreeSet<Kind> = spec.reads.files.iter().copied().collect();
            assert_eq!(read, declared, "the keys of {kind:?} channels");
            checked += 1;
        }
        assert_eq!(checked, crate::derive::CHANNEL_KINDS.len());
    });
}

/// The inboxes' keys read the files of the kinds their group declares, no other: over
/// the example, whose people follow modules (with releases), hosts, procedures and
/// tickets, all of them.
#[test]
fn inbox_keys_read_the_files_of_the_kinds_their_feeds_declare() {
    with_example(|input| {
        let global = blake3::hash(b"global");
        let spec = Page::Inbox.spec().expect("inboxes have a spec");
        let (key, count) = inbox_key_fn(input, &global);
        assert_eq!(count, input.content.people.len());
        assert!(count > 0, "the example has no people");
        let mut read = BTreeSet::new();
        for index in 0..count {
            let (_, deps) = key(index);
            for (file, _) in deps {
                match classify(input.content.files.path(file)) {
                    Classified::Content(of, _) => read.insert(of),
                    _ => panic!("an inbox key read {}", input.content.files.path(file)),
                };
            }
        }
        let declared: BTreeSet<Kind> = spec
            .reads
            .files
            .iter()
            .chain(spec.reads.structure)
            .copied()
            .collect();
        assert_eq!(read, declared, "the keys of the inboxes");
    });
}
