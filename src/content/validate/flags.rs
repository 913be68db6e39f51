//! Checks of the feature flags: features, account sets and overrides.

use std::collections::{BTreeMap, BTreeSet};

use super::super::kind::Kind;
use super::super::model::*;
use super::super::types::FlagType;
use super::super::{Content, Document};
use super::refs::{KnownIds, NOTHING_PENDING, check_ref};
use crate::diag::{Diagnostic, Origin};

pub(super) fn check_flags(content: &Content, out: &mut Vec<Diagnostic>) {
    let types: BTreeMap<&str, FlagType> = content
        .features
        .iter()
        .map(|f| (f.id.as_str(), f.data.flag_type()))
        .collect();
    let feature_ids: BTreeSet<String> = types.keys().map(|id| (*id).to_owned()).collect();
    let features = KnownIds {
        ids: &feature_ids,
        pending: &NOTHING_PENDING,
    };
    let check_value = |origin: Origin,
                       feature: &Ref,
                       value: &crate::yaml::Spanned<super::super::types::FlagValue>,
                       out: &mut Vec<Diagnostic>| {
        check_ref(origin, feature, &features, Kind::Feature, out);
        if let Some(expected) = types.get(feature.as_str())
            && value.flag_type() != *expected
        {
            out.push(
                Diagnostic::error(
                    "wrong-type",
                    format!(
                        "feature `{feature}` takes {expected} values, but this is a {}",
                        value.flag_type()
                    ),
                )
                .at(origin.at_value(value))
                .with_help(format!(
                    "the type comes from `default` in flags/features/{feature}.yaml"
                )),
            );
        }
    };
    for feature in &content.features {
        check_feature(feature, out);
    }
    for set in &content.account_sets {
        let mut seen: BTreeMap<&str, &crate::yaml::Spanned<String>> = BTreeMap::new();
        for account in &set.data.accounts {
            if let Some(first) = seen.insert(account.as_str(), account) {
                out.push(
                    Diagnostic::error(
                        "duplicate-account",
                        format!("account `{account}` is listed twice"),
                    )
                    .at(set.origin.at_value(account))
                    .with_related(set.origin.at_value(first), "first listed here")
                    .with_help("remove one of them"),
                );
            }
        }
        for (feature, value) in &set.data.features {
            check_value(set.origin, feature, value, out);
        }
    }
    if let Some(overrides) = &content.overrides {
        for features in overrides.data.values() {
            for (feature, value) in features {
                check_value(overrides.origin, feature, value, out);
            }
        }
    }
    check_set_conflicts(&content.account_sets, out);
}

/// A feature's own fields: the rollout is a percentage, and the value it activates has
/// the feature's type (and exists when the type is not boolean).
fn check_feature(feature: &Document<Feature>, out: &mut Vec<Diagnostic>) {
    let data = &feature.data;
    let origin = feature.origin;
    let ty = data.flag_type();
    if let Some(rollout) = &data.rollout
        && !(0..=100).contains(rollout.get())
    {
        out.push(
            Diagnostic::error(
                "invalid-rollout",
                format!("rollout {rollout} is not a percentage: it must be between 0 and 100"),
            )
            .at(origin.at_value(rollout))
            .with_help("write the share of accounts that get the feature, e.g. `rollout: 10`"),
        );
    }
    match &data.active_value {
        Some(value) if value.flag_type() != ty => out.push(
            Diagnostic::error(
                "wrong-type",
                format!(
                    "feature `{}` takes {ty} values, but this is a {}",
                    feature.id,
                    value.flag_type()
                ),
            )
            .at(origin.at_value(value))
            .with_help("the type comes from `default`"),
        ),
        Some(_) => {}
        None if ty != FlagType::Boolean => {
            let used = if *data.fully_active.get() {
                Some(("fully_active", data.fully_active.span.clone()))
            } else {
                data.rollout
                    .as_ref()
                    .map(|rollout| ("rollout", rollout.span.clone()))
            };
            if let Some((field, span)) = used {
                out.push(
                    Diagnostic::error(
                        "missing-active-value",
                        format!(
                            "`{field}` needs `active_value`: feature `{}` takes {ty} values, \
                             so `true` cannot be the value it activates",
                            feature.id
                        ),
                    )
                    .at(origin.at(&span))
                    .with_help(format!(
                        "add `active_value:` with the {ty} value active accounts get"
                    )),
                );
            }
        }
        None => {}
    }
}

/// Warns where one account is in several account sets that give a feature different
/// values: the set whose id sorts first decides (see docs/flags.md), which may not be
/// what the editor expects. One warning per feature and pair of sets.
fn check_set_conflicts(sets: &[Document<AccountSet>], out: &mut Vec<Diagnostic>) {
    let mut sets_of: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, set) in sets.iter().enumerate() {
        for account in &set.data.accounts {
            let entry = sets_of.entry(account.as_str()).or_default();
            if entry.last() != Some(&index) {
                entry.push(index);
            }
        }
    }
    // (feature, winner, loser) → (an example account, how many accounts)
    let mut conflicts: BTreeMap<(&str, usize, usize), (&str, usize)> = BTreeMap::new();
    for (account, indexes) in &sets_of {
        if indexes.len() < 2 {
            continue;
        }
        let mut ordered = indexes.clone();
        ordered.sort_by(|a, b| sets[*a].id.cmp(&sets[*b].id));
        for (position, &winner) in ordered.iter().enumerate() {
            for (feature, value) in &sets[winner].data.features {
                for &loser in &ordered[position + 1..] {
                    let Some(other) = sets[loser].data.features.get(feature.as_str()) else {
                        continue;
                    };
                    let earlier = ordered[..position]
                        .iter()
                        .any(|&s| sets[s].data.features.contains_key(feature.as_str()));
                    if other.get() != value.get() && !earlier {
                        let entry = conflicts
                            .entry((feature.as_str(), winner, loser))
                            .or_insert((account, 0));
                        entry.1 += 1;
                    }
                }
            }
        }
    }
    for ((feature, winner, loser), (account, count)) in conflicts {
        let (winner, loser) = (&sets[winner], &sets[loser]);
        let Some(value) = loser.data.features.get(feature) else {
            continue;
        };
        let Some(winning) = winner.data.features.get(feature) else {
            continue;
        };
        let (others, them) = match count {
            1 => (String::new(), "it"),
            n => (format!(" and {} more", n - 1), "them"),
        };
        out.push(
            Diagnostic::warning(
                "conflicting-account-sets",
                format!(
                    "`{feature}` is {} here, but account `{account}`{others} is also in `{}`, \
                     where it is {}; `{}` sorts first, so this value does not apply to {them}",
                    value.get(),
                    winner.id,
                    winning.get(),
                    winner.id,
                ),
            )
            .at(loser.origin.at_value(value))
            .with_related(winner.origin.at_value(winning), "this value is used")
            .with_help(
                "when an account is in several sets, the set whose id sorts first decides; \
                 remove the account from one set or make the values agree",
            ),
        );
    }
}
