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

/// A JSON value that refuses an object with the same key twice, at any depth: a view
/// flattens an entity's fields next to its own (`id`, `path`, `url`, `body`…), and a
/// field of the same name would shadow one of them (a module's homepage once replaced
/// its page's URL).
struct NoDuplicateKeys;

impl<'de> serde::Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = NoDuplicateKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut seen = std::collections::BTreeSet::new();
                while let Some(key) = map.next_key::<String>()? {
                    if !seen.insert(key.clone()) {
                        return Err(serde::de::Error::custom(format!("the key `{key}` twice")));
                    }
                    map.next_value::<NoDuplicateKeys>()?;
                }
                Ok(NoDuplicateKeys)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
                Ok(NoDuplicateKeys)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(NoDuplicateKeys)
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[test]
fn no_field_of_any_kind_shadows_a_field_of_its_view() {
    let tree = example();
    let (_, api) = made(&tree, &Values::default());
    for (file, bytes) in API_FILES.iter().zip(&api) {
        let ApiFile::Entities(entity) = file else {
            continue;
        };
        let parsed: serde_json::Value = serde_json::from_slice(bytes).expect("JSON");
        let items = parsed["items"].as_array().map_or(0, Vec::len);
        // Every kind is checked: the example has an entity of each (all fields are
        // serialised, none skipped when empty, so one entity shows every field).
        assert!(items > 0, "the example has no {}", entity.name);
        if let Err(err) = serde_json::from_slice::<NoDuplicateKeys>(bytes) {
            panic!("api/{}.json: {err}", entity.name);
        }
    }
    // The check finds a shadowed field.
    assert!(
        serde_json::from_slice::<NoDuplicateKeys>(br#"{"items": [{"url": 1, "url": 2}]}"#).is_err()
    );
}
