//! The flag overview: what decides each feature's value (its account sets and how many
//! overrides it has) and the overrides as rows.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::content::Content;
use crate::content::types::{FlagType, FlagValue};

/// One override: an account's value of a feature.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverrideRow {
    pub account: String,
    pub feature: String,
    pub value: FlagValue,
}

/// A feature with what decides its value, for the flag overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeatureSummary {
    pub value_type: FlagType,
    /// Each account set that gives the feature a value, with the value.
    pub account_sets: Vec<(String, FlagValue)>,
    pub overrides: usize,
}

/// The flags' joins.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Flags {
    /// Every override, by account then feature.
    pub overrides: Vec<OverrideRow>,
    /// Feature → its overrides (account, value), so a feature's page does not scan them
    /// all.
    pub overrides_by_feature: BTreeMap<String, Vec<(String, FlagValue)>>,
    /// Feature id → its summary.
    pub summaries: BTreeMap<String, FeatureSummary>,
}

/// The flags' joins, in one pass over the sets and one over the overrides.
pub fn flags(content: &Content) -> Flags {
    let overrides: Vec<OverrideRow> = content
        .overrides
        .iter()
        .flat_map(|o| o.data.iter())
        .flat_map(|(account, features)| {
            features.iter().map(move |(feature, value)| OverrideRow {
                account: account.as_str().to_owned(),
                feature: feature.as_str().to_owned(),
                value: value.value.clone(),
            })
        })
        .collect();
    let mut overrides_by_feature: BTreeMap<String, Vec<(String, FlagValue)>> = BTreeMap::new();
    for row in &overrides {
        overrides_by_feature
            .entry(row.feature.clone())
            .or_default()
            .push((row.account.clone(), row.value.clone()));
    }
    let mut sets: BTreeMap<&str, Vec<(String, FlagValue)>> = BTreeMap::new();
    for set in &content.account_sets {
        for (feature, value) in &set.data.features {
            sets.entry(feature.as_str())
                .or_default()
                .push((set.id.clone(), value.value.clone()));
        }
    }
    let summaries = content
        .features
        .iter()
        .map(|feature| {
            let value_type = feature.data.flag_type();
            let id = feature.id.as_str();
            let summary = FeatureSummary {
                value_type,
                account_sets: sets.remove(id).unwrap_or_default(),
                overrides: overrides_by_feature.get(id).map_or(0, Vec::len),
            };
            (feature.id.clone(), summary)
        })
        .collect();
    Flags {
        overrides,
        overrides_by_feature,
        summaries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::content;

    #[test]
    fn each_feature_has_its_sets_and_override_count() {
        let content = content(&[
            (
                "flags/features/a.yaml",
                "description: A\nowner: carol\nfully_active: false\ndefault: true\n",
            ),
            (
                "flags/features/b.yaml",
                "description: B\nowner: carol\nfully_active: false\ndefault: classic\n",
            ),
            (
                "flags/account_sets/early.yaml",
                "description: E\naccounts: [x, y]\nfeatures:\n  a: false\n",
            ),
            (
                "flags/overrides.yaml",
                "x:\n  a: true\n  b: streamlined\ny:\n  a: false\n",
            ),
        ]);
        let flags = flags(&content);
        let rows: Vec<(&str, &str)> = flags
            .overrides
            .iter()
            .map(|r| (r.account.as_str(), r.feature.as_str()))
            .collect();
        assert_eq!(rows, [("x", "a"), ("x", "b"), ("y", "a")]);
        assert_eq!(flags.overrides_by_feature["a"].len(), 2);
        let a = &flags.summaries["a"];
        assert_eq!(a.value_type, FlagType::Boolean);
        assert_eq!(a.account_sets.len(), 1);
        assert_eq!(a.account_sets[0].0, "early");
        assert_eq!(a.overrides, 2);
        let b = &flags.summaries["b"];
        assert_eq!((b.account_sets.len(), b.overrides), (0, 1));
        assert_ne!(b.value_type, FlagType::Boolean);
    }
}
