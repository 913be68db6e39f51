//! Compiling the bundle from loaded content: the part of the flags that needs glassroom's
//! content model, so it stays here while the format, evaluation and client live in the
//! `glassroom-flags` crate that applications depend on.

use std::collections::BTreeMap;

use glassroom_flags::{AccountSetSpec, Bundle, FeatureSpec, SCHEMA};

use crate::content::Content;
use crate::content::types::{FlagType, FlagValue};

/// Compiles the flags of `content` (whatever tree the caller loaded: the build passes
/// the approved tree). The content is expected to be valid; values that validation
/// would have refused (a rollout outside 0–100) are clamped rather than trusted.
pub fn compile(content: &Content) -> Bundle {
    let features = content
        .features
        .iter()
        .map(|doc| {
            let data = &doc.data;
            let default = data
                .default
                .as_ref()
                .map_or(FlagValue::Bool(false), |d| d.get().clone());
            let value_type = default.flag_type();
            let active_value = match &data.active_value {
                Some(value) => Some(value.get().clone()),
                None if value_type == FlagType::Boolean => Some(FlagValue::Bool(true)),
                None => None,
            };
            let spec = FeatureSpec {
                value_type,
                description: data.description.clone(),
                default,
                fully_active: *data.fully_active.get(),
                active_value,
                rollout: data
                    .rollout
                    .as_ref()
                    .map(|r| u8::try_from((*r.get()).clamp(0, 100)).unwrap_or(0)),
                active_from: data.active_from.as_ref().map(|m| m.get().0),
            };
            (doc.id.clone(), spec)
        })
        .collect();
    let mut accounts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let account_sets = content
        .account_sets
        .iter()
        .map(|doc| {
            for account in &doc.data.accounts {
                accounts
                    .entry(account.get().clone())
                    .or_default()
                    .push(doc.id.clone());
            }
            let spec = AccountSetSpec {
                description: doc.data.description.clone(),
                features: doc
                    .data
                    .features
                    .iter()
                    .map(|(feature, value)| (feature.get().clone(), value.get().clone()))
                    .collect(),
            };
            (doc.id.clone(), spec)
        })
        .collect();
    for sets in accounts.values_mut() {
        sets.sort();
        sets.dedup();
    }
    let overrides = content
        .overrides
        .iter()
        .flat_map(|doc| doc.data.iter())
        .filter(|(_, features)| !features.is_empty())
        .map(|(account, features)| {
            let values = features
                .iter()
                .map(|(feature, value)| (feature.get().clone(), value.get().clone()))
                .collect();
            (account.get().clone(), values)
        })
        .collect();
    Bundle {
        schema: SCHEMA,
        features,
        account_sets,
        accounts,
        overrides,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Tree;
    use glassroom_flags::{is_sha256_hex, sha256_hex};

    fn compile_files(files: &[(&str, &str)]) -> Bundle {
        let mut tree = Tree::new();
        for (path, text) in files {
            tree.insert(*path, text.as_bytes().to_vec());
        }
        let loaded = crate::content::load(&tree);
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            // Only the flags are given: the site config and policy are missing on purpose.
            .filter(|d| d.is_error() && !["missing-config", "missing-policy"].contains(&d.code))
            .map(|d| d.message.clone())
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        super::compile(&loaded.content)
    }

    const FEATURE_A: &str =
        "description: A\ndefault: false\nrollout: 25\nactive_from: 2026-12-01\n";
    const FEATURE_B: &str = "default: 20\nfully_active: true\nactive_value: 50\n";

    #[test]
    fn the_bundle_keeps_the_content_shape() {
        let bundle = compile_files(&[
            ("flags/features/a.yaml", FEATURE_A),
            ("flags/features/b.yaml", FEATURE_B),
            (
                "flags/account_sets/s.yaml",
                "accounts: [x, y]\nfeatures: { a: true }\n",
            ),
            (
                "flags/account_sets/t.yaml",
                "description: T\naccounts: [y]\nfeatures: { b: 10 }\n",
            ),
            ("flags/overrides.yaml", "z:\n  b: 7\n"),
        ]);
        let json = String::from_utf8(bundle.to_canonical_json()).unwrap_or_default();
        assert_eq!(
            json,
            concat!(
                r#"{"account_sets":{"s":{"features":{"a":true}},"t":{"description":"T","features":{"b":10}}},"#,
                r#""accounts":{"x":["s"],"y":["s","t"]},"#,
                r#""features":{"a":{"active_from":"2026-12-01T00:00:00Z","active_value":true,"default":false,"description":"A","fully_active":false,"rollout":25,"type":"boolean"},"#,
                r#""b":{"active_value":50,"default":20,"fully_active":true,"type":"integer"}},"#,
                r#""overrides":{"z":{"b":7}},"schema":1}"#
            )
        );
        let back = Bundle::from_json("flags.json", json.as_bytes());
        assert_eq!(back.as_ref().ok(), Some(&bundle));
    }

    #[test]
    fn the_bytes_do_not_depend_on_the_order_things_are_written_in() {
        let one = compile_files(&[
            ("flags/features/a.yaml", FEATURE_A),
            ("flags/features/b.yaml", FEATURE_B),
            (
                "flags/account_sets/s.yaml",
                "accounts: [x, y, w]\nfeatures: { a: true, b: 3 }\n",
            ),
            (
                "flags/account_sets/t.yaml",
                "accounts: [y]\nfeatures: { b: 10 }\n",
            ),
            (
                "flags/overrides.yaml",
                "z:\n  b: 7\n  a: false\nq:\n  a: true\n",
            ),
        ]);
        let two = compile_files(&[
            (
                "flags/overrides.yaml",
                "q:\n  a: true\nz:\n  a: false\n  b: 7\n",
            ),
            (
                "flags/account_sets/t.yaml",
                "features: { b: 10 }\naccounts: [y]\n",
            ),
            (
                "flags/account_sets/s.yaml",
                "features: { b: 3, a: true }\naccounts: [w, y, x]\n",
            ),
            (
                "flags/features/b.yaml",
                "active_value: 50\nfully_active: true\ndefault: 20\n",
            ),
            (
                "flags/features/a.yaml",
                "active_from: 2026-12-01T00:00:00Z\nrollout: 25\ndefault: false\ndescription: A\n",
            ),
        ]);
        assert_eq!(one.publish(), two.publish());
        assert_eq!(one.publish().sha256, sha256_hex(&two.to_canonical_json()));
    }

    #[test]
    fn the_published_files_are_the_bundle_its_checksum_and_a_copy() {
        let published = compile_files(&[("flags/features/a.yaml", FEATURE_A)]).publish();
        let files = published.files();
        assert_eq!(files[0].0, "flags.json");
        assert_eq!(
            files[1],
            (
                "flags.json.sha256".to_owned(),
                format!("{}\n", published.sha256).into_bytes()
            )
        );
        assert_eq!(files[2].0, format!("flags/{}.json", published.sha256));
        assert_eq!(files[0].1, files[2].1);
        assert!(is_sha256_hex(&published.sha256));
        assert_eq!(published.etag(), format!("\"{}\"", published.sha256));
    }
}
