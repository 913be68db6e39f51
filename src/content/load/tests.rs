//! Tests of loading: a cached or stored load equals a fresh one.

use super::*;

fn example() -> Tree {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
    crate::source::read_dir(&root).unwrap_or_default()
}

/// Every document as a clean load has it, whatever the ids of their files: kind by
/// kind, each document's id, path, data, body and file text, then the stamps.
fn documents(content: &Content) -> String {
    let mut out = String::new();
    macro_rules! each {
        ($($field:ident),*) => {$(
            for doc in &content.$field {
                out.push_str(&format!(
                    "{} {} {} {:?} {:?} {:?}\n",
                    stringify!($field),
                    doc.id,
                    doc.path,
                    doc.origin.offset,
                    doc.data,
                    doc.body
                ));
                out.push_str(content.files.text(doc.file()));
                assert_eq!(content.files.path(doc.file()), doc.path);
            }
        )*};
    }
    each!(
        hosts,
        certificates,
        domains,
        modules,
        releases,
        procedures,
        logbook,
        tickets,
        services,
        sites,
        features,
        account_sets,
        news
    );
    for doc in content.config.iter() {
        out.push_str(&format!("{:?}", doc.data));
    }
    for doc in content.overrides.iter() {
        out.push_str(&format!("{:?}", doc.data));
    }
    out.push_str(&format!("{:?}", content.stamps));
    out
}

#[test]
fn a_cached_load_equals_a_fresh_one_after_files_come_and_change() {
    let cache = ParseCache::keeping();
    let mut tree = example();
    let first = load_cached(&tree, &BTreeMap::new(), &cache);
    assert!(!first.diagnostics.has_errors());
    let documents_before = documents(&first.content);
    cache.keep(first.content);
    assert!(!cache.is_empty());
    // Nothing changed: the same documents, the content taken back from the cache.
    let again = load_cached(&tree, &BTreeMap::new(), &cache);
    assert_eq!(documents(&again.content), documents_before);
    assert!(cache.is_empty(), "taken, not copied");
    cache.keep(again.content);
    // A new file early in the order, a changed one and a removed one: patched in.
    let (path, bytes) = tree
        .iter()
        .find(|(p, _)| p.starts_with("certificates/"))
        .map(|(p, b)| (p.to_owned(), b.to_vec()))
        .unwrap_or_default();
    tree.insert("certificates/0-first.yaml".to_owned(), bytes.clone());
    let changed = String::from_utf8_lossy(&bytes).replace("issuer:", "issuer: Other CA #");
    tree.insert(path, changed.into_bytes());
    let news = tree
        .iter()
        .find(|(p, _)| p.starts_with("news/"))
        .map(|(p, _)| p.to_owned())
        .unwrap_or_default();
    tree.remove(&news);
    let cached = load_cached(&tree, &BTreeMap::new(), &cache);
    let fresh = load(&tree);
    assert_eq!(
        format!(
            "{:?}",
            cached
                .diagnostics
                .iter()
                .map(|d| &d.message)
                .collect::<Vec<_>>()
        ),
        format!(
            "{:?}",
            fresh
                .diagnostics
                .iter()
                .map(|d| &d.message)
                .collect::<Vec<_>>()
        ),
    );
    assert_eq!(documents(&cached.content), documents(&fresh.content));
    assert_eq!(cache.patched.load(std::sync::atomic::Ordering::Relaxed), 2);
    cache.keep(cached.content);
    // A file that does not parse: loaded the ordinary way, which reports it.
    tree.insert("hosts/broken.yaml", "os: [unclosed\n");
    let broken = load_cached(&tree, &BTreeMap::new(), &cache);
    assert!(broken.diagnostics.has_errors());
    assert_eq!(documents(&broken.content), documents(&load(&tree).content));
    cache.keep(broken.content);
    // After a load with errors, the next is an ordinary one too (and the same).
    tree.remove("hosts/broken.yaml");
    let mended = load_cached(&tree, &BTreeMap::new(), &cache);
    assert!(!mended.diagnostics.has_errors());
    assert_eq!(documents(&mended.content), documents(&load(&tree).content));
    assert_eq!(cache.patched.load(std::sync::atomic::Ordering::Relaxed), 2);
}

/// Everything the store would keep of `content`: every document's data in the
/// binary form, which carries every value's span, with its offsets and file hash.
fn stored(content: &Content) -> Vec<u8> {
    Store::default().updated(content).unwrap_or_default()
}

/// The number of documents the store can hold: all but the policy's.
fn storable(content: &Content) -> usize {
    content.files.len() - usize::from(content.policy.is_some())
}

#[test]
fn documents_read_from_the_store_equal_parsed_ones_down_to_their_spans() {
    let mut tree = example();
    // A warning, which points at a value inside a stored document.
    tree.insert(
        "flags/account_sets/zz-late.yaml",
        "accounts: [acct-1001]\nfeatures:\n  new-checkout: false\n",
    );
    let parsed = load(&tree);
    assert!(!parsed.diagnostics.has_errors());
    assert!(
        parsed
            .diagnostics
            .iter()
            .any(|d| d.code == "conflicting-account-sets"),
        "{:?}",
        parsed.diagnostics
    );
    let bytes = stored(&parsed.content);
    assert!(!bytes.is_empty());

    let cache = ParseCache::stored(&bytes);
    let read = load_cached(&tree, &BTreeMap::new(), &cache);
    assert_eq!(
        cache.documents_from_store(),
        storable(&parsed.content),
        "every document but the policy's comes from the store"
    );
    assert_eq!(documents(&read.content), documents(&parsed.content));
    assert_eq!(stored(&read.content), bytes, "spans, offsets and values");
    let messages = |loaded: &Loaded| {
        let files = &loaded.content.files;
        let mut out = String::new();
        for d in loaded.diagnostics.iter() {
            let at = d
                .location
                .as_ref()
                .map(|l| (files.path(l.file), l.range.clone()));
            let related: Vec<_> = d.related.iter().map(|(l, _)| l.range.clone()).collect();
            out.push_str(&format!(
                "{:?} {} {at:?} {related:?}\n",
                d.severity, d.message
            ));
        }
        out
    };
    assert_eq!(messages(&read), messages(&parsed));
    // A span read back still points at its value in the file.
    let ticket = read
        .content
        .tickets
        .iter()
        .find(|t| t.data.module.is_some())
        .expect("the example has a ticket with a module");
    let module = ticket.data.module.as_ref().expect("just found");
    let text = read.content.files.text(ticket.file());
    let at = ticket.origin.offset + module.span.start..ticket.origin.offset + module.span.end;
    assert_eq!(&text[at], module.as_str());
    // Nothing changed: the store is not written again.
    cache.keep(read.content);
    assert_eq!(cache.updated_store(), None);
}

#[test]
fn a_file_that_changed_since_the_store_was_written_is_parsed() {
    let mut tree = example();
    let before = load(&tree);
    let bytes = stored(&before.content);
    let path = before.content.tickets[0].path.clone();
    let text = before.content.files.text(before.content.tickets[0].file());
    let title = &before.content.tickets[0].data.title;
    tree.insert(
        path.clone(),
        text.replacen(title.as_str(), "A title written since", 1),
    );
    let removed = before.content.hosts[0].path.clone();
    tree.remove(&removed);

    let cache = ParseCache::stored(&bytes);
    let read = load_cached(&tree, &BTreeMap::new(), &cache);
    let fresh = load(&tree);
    assert_eq!(documents(&read.content), documents(&fresh.content));
    assert_eq!(stored(&read.content), stored(&fresh.content));
    assert_eq!(read.content.tickets[0].data.title, "A title written since");
    assert_eq!(
        cache.documents_from_store(),
        storable(&before.content) - 2,
        "all but the changed and the removed file"
    );
    // The next store has the changed document and not the removed one.
    cache.keep(read.content);
    let next = cache.updated_store().expect("the store changed");
    assert_eq!(next, stored(&fresh.content));
}

#[test]
fn a_store_that_is_damaged_or_from_another_build_is_not_used() {
    let tree = example();
    let parsed = load(&tree);
    let bytes = stored(&parsed.content);
    let mut other_build = bytes.clone();
    // The format string is the first field: its first byte after the length.
    other_build[1] ^= 0x20;
    let truncated = &bytes[..bytes.len() / 2];
    for damaged in [&b""[..], b"\xff\xff\xff\xff", truncated, &other_build] {
        let cache = ParseCache::stored(damaged);
        let read = load_cached(&tree, &BTreeMap::new(), &cache);
        assert_eq!(cache.documents_from_store(), 0);
        assert_eq!(documents(&read.content), documents(&parsed.content));
        cache.keep(read.content);
        assert_eq!(cache.updated_store(), Some(bytes.clone()), "written afresh");
    }
}
