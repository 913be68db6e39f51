//! The context and API files a rebuild keeps equal those of a fresh build.

use super::api::{envelope, envelope_parts};
use super::*;
use crate::content::types::Moment;

fn example() -> crate::source::Tree {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("content-example");
    crate::source::read_dir(&root).unwrap_or_default()
}

/// The context and API files of `tree` made with `values`.
fn made(tree: &crate::source::Tree, values: &Values) -> (tera::Context, Vec<Vec<u8>>) {
    let loaded = content::load(tree);
    assert!(!loaded.diagnostics.has_errors());
    let now: Moment = "2026-11-22T00:00:00Z".parse().expect("a moment");
    let derived = derive::derive(&loaded.content, now);
    let markdown = crate::render::markdown_cache::Cache::new();
    let memos = crate::render::Memos::default();
    let input = Input {
        tree,
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
    };
    let globals = globals(&input, values).unwrap_or_else(|err| panic!("{err}"));
    let api = API_FILES
        .iter()
        .map(|file| api_file(&input, values, *file).into_bytes())
        .collect();
    (globals.context, api)
}

#[test]
fn kept_values_and_items_equal_fresh_ones_after_an_edit() {
    let mut tree = example();
    let fresh = || Values::default();
    let kept = Values::keeping();
    let first = made(&tree, &kept);
    assert_eq!(first, made(&tree, &fresh()));
    assert!(kept.entities() > 100, "values kept: {}", kept.entities());
    assert!(first.0.get("tickets").is_some() && first.0.get("alerts").is_some());
    // Nothing changed: taken as they are.
    assert_eq!(made(&tree, &kept), first);
    // One ticket changed (a quote and a newline in its title) and one added.
    let (path, text) = tree
        .iter()
        .find(|(p, _)| p.starts_with("tickets/"))
        .map(|(p, b)| (p.to_owned(), String::from_utf8_lossy(b).into_owned()))
        .unwrap_or_default();
    tree.insert(
        path,
        text.replace("\ntitle: ", "\ntitle: Changed \\\"quoted\\\"\n  line "),
    );
    let changed = made(&tree, &kept);
    assert_eq!(changed, made(&tree, &fresh()));
    assert_ne!(changed, first);
    tree.insert("tickets/0-added.md".to_owned(), text.into_bytes());
    assert_eq!(made(&tree, &kept), made(&tree, &fresh()));
    // The parts make the bytes of the envelope serialised whole, with no items too.
    let now: Moment = "2026-11-22T00:00:00Z".parse().expect("a moment");
    let joined = |parts: Vec<Bytes>| parts.concat();
    assert_eq!(
        joined(envelope_parts("news", now, &[])),
        envelope("news", now, Vec::<u8>::new())
    );
    let items = [
        serde_json::json!({"a": 1, "b": [1, 2]}),
        serde_json::json!("x"),
    ];
    let parts: Vec<Bytes> = items
        .iter()
        .map(|item| {
            let pretty = serde_json::to_vec_pretty(item).unwrap_or_default();
            let mut out = b",".to_vec();
            for line in pretty.split(|b| *b == b'\n') {
                out.extend_from_slice(b"\n    ");
                out.extend_from_slice(line);
            }
            Bytes::from(out)
        })
        .collect();
    assert_eq!(
        joined(envelope_parts("news", now, &parts)),
        envelope("news", now, &items)
    );
}
