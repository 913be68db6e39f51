//! Evaluating a flag for an account: a pure function of the bundle, the account, the
//! feature, the caller's default and the time.
//!
//! With data, the first rule that gives a value decides:
//!
//! 1. the account's **override** for the feature;
//! 2. the **account sets** the account is in, in order of set id: the first that gives
//!    the feature a value decides (so sets that disagree are settled by their ids);
//! 3. the **rollout**: an account whose bucket falls inside the feature's percentage gets
//!    the feature's active value (once `active_from` has passed);
//! 4. the **caller's default**, when the caller gave one;
//! 5. **fully active**: the feature's active value (once `active_from` has passed);
//! 6. the feature's own **default** (`false` for a boolean feature without one).
//!
//! A feature the bundle does not know gives the caller's default, else `false`; so does
//! every feature while there is no bundle at all.

use std::collections::HashMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use jiff::Timestamp;

use crate::bundle::{Bundle, BundleError, FeatureSpec};
use crate::time::Whole;
use crate::value::{FlagType, FlagValue};

/// The value given when nothing else gives one.
pub static FALSE: FlagValue = FlagValue::Bool(false);

/// Buckets per account and feature: a rollout of `p` percent covers buckets below
/// `p * 100`, so percentages could become finer later without moving anyone.
pub const BUCKETS: u16 = 10_000;

/// The rollout bucket (0..[`BUCKETS`]) of an account for a feature: the first 8 bytes of
/// sha256(`<feature>/<account>`) as a big-endian unsigned integer, modulo 10 000.
///
/// It depends on nothing but the two ids, so an account keeps its bucket from one bundle,
/// process or language to the next, and growing a rollout only ever adds accounts. The
/// feature is part of the input so that each rollout picks its own accounts (the same
/// unlucky 10% do not get every experiment). Feature ids cannot contain `/`.
pub fn bucket(feature: &str, account: &str) -> u16 {
    let mut hasher = Sha256::new();
    hasher.update(feature.as_bytes());
    hasher.update(b"/");
    hasher.update(account.as_bytes());
    let digest = hasher.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let value = u64::from_be_bytes(first) % u64::from(BUCKETS);
    u16::try_from(value).unwrap_or(0)
}

/// Whether `bucket` is inside a rollout of `percent`.
pub fn in_rollout(bucket: u16, percent: u8) -> bool {
    u32::from(bucket) < u32::from(percent) * 100
}

/// The rule that decided a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule<'a> {
    /// The account's override for the feature.
    Override,
    /// This account set (the first, by id, of the account's sets with a value).
    AccountSet(&'a str),
    /// The account is inside the feature's percentage rollout.
    Rollout,
    /// The default the caller passed.
    CallerDefault,
    /// The feature is fully active.
    FullyActive,
    /// The feature's own default.
    FeatureDefault,
    /// The bundle has no such feature: the caller's default, else `false`.
    NoSuchFeature,
    /// There is no bundle (yet): the caller's default, else `false`.
    NoData,
}

impl std::fmt::Display for Rule<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rule::Override => f.write_str("override"),
            Rule::AccountSet(set) => write!(f, "account set {set}"),
            Rule::Rollout => f.write_str("rollout"),
            Rule::CallerDefault => f.write_str("caller's default"),
            Rule::FullyActive => f.write_str("fully active"),
            Rule::FeatureDefault => f.write_str("feature default"),
            Rule::NoSuchFeature => f.write_str("no such feature"),
            Rule::NoData => f.write_str("no flag data"),
        }
    }
}

/// A value and the rule that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Evaluation<'a> {
    pub value: &'a FlagValue,
    pub rule: Rule<'a>,
}

/// The answer without any data: the caller's default, else `false`.
pub fn without_data(default: Option<&FlagValue>) -> Evaluation<'_> {
    Evaluation {
        value: default.unwrap_or(&FALSE),
        rule: Rule::NoData,
    }
}

/// A bundle prepared for fast evaluation: hash maps from account and feature ids, and the
/// values of each account's sets and overrides as small sorted arrays.
#[derive(Debug)]
pub struct Flags {
    bundle: Bundle,
    features: HashMap<String, Feature>,
    accounts: HashMap<String, Account>,
    /// Indexed by the position of the set in the bundle (which is id order).
    sets: Vec<Set>,
}

#[derive(Debug)]
struct Feature {
    index: u32,
    spec: FeatureSpec,
}

#[derive(Debug, Default)]
struct Account {
    /// Set positions, ascending (= set id order).
    sets: Vec<u32>,
    /// (feature index, value), sorted by feature index.
    overrides: Vec<(u32, FlagValue)>,
}

#[derive(Debug)]
struct Set {
    id: String,
    /// (feature index, value), sorted by feature index.
    values: Vec<(u32, FlagValue)>,
}

fn find(values: &[(u32, FlagValue)], feature: u32) -> Option<&FlagValue> {
    values
        .binary_search_by_key(&feature, |(f, _)| *f)
        .ok()
        .and_then(|i| values.get(i))
        .map(|(_, v)| v)
}

impl Flags {
    /// Prepares `bundle`, refusing one whose parts do not fit together (a value of the
    /// wrong type, a reference to a feature or set it does not define, a rollout above
    /// 100). `source` names where the bundle came from, for the error.
    pub fn new(bundle: Bundle, source: &str) -> Result<Flags, BundleError> {
        let bad = |message: String| BundleError::Inconsistent {
            source_name: source.to_owned(),
            message,
        };
        let mut features = HashMap::with_capacity(bundle.features.len());
        for (index, (id, spec)) in bundle.features.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| bad("too many features".into()))?;
            let typed = |value: &FlagValue, what: &str| {
                if value.flag_type() == spec.value_type {
                    Ok(())
                } else {
                    Err(bad(format!(
                        "feature `{id}` takes {} values, but its {what} is the {} value {value}",
                        spec.value_type,
                        value.flag_type()
                    )))
                }
            };
            typed(&spec.default, "default")?;
            if let Some(value) = &spec.active_value {
                typed(value, "active value")?;
            }
            if spec.rollout.is_some_and(|r| r > 100) {
                return Err(bad(format!("feature `{id}` has a rollout above 100%")));
            }
            features.insert(
                id.clone(),
                Feature {
                    index,
                    spec: spec.clone(),
                },
            );
        }
        let feature_index = |feature: &str, value: &FlagValue, place: &str| {
            let entry = features.get(feature).ok_or_else(|| {
                bad(format!(
                    "{place} gives a value to unknown feature `{feature}`"
                ))
            })?;
            if value.flag_type() != entry.spec.value_type {
                return Err(bad(format!(
                    "{place} gives feature `{feature}` the {} value {value}, but it takes {} values",
                    value.flag_type(),
                    entry.spec.value_type
                )));
            }
            Ok(entry.index)
        };
        let mut set_index = HashMap::with_capacity(bundle.account_sets.len());
        let mut sets = Vec::with_capacity(bundle.account_sets.len());
        for (position, (id, spec)) in bundle.account_sets.iter().enumerate() {
            let position =
                u32::try_from(position).map_err(|_| bad("too many account sets".into()))?;
            let mut values = spec
                .features
                .iter()
                .map(|(feature, value)| {
                    let index = feature_index(feature, value, &format!("account set `{id}`"))?;
                    Ok((index, value.clone()))
                })
                .collect::<Result<Vec<_>, BundleError>>()?;
            values.sort_by_key(|(index, _)| *index);
            set_index.insert(id.as_str(), position);
            sets.push(Set {
                id: id.clone(),
                values,
            });
        }
        let mut accounts: HashMap<String, Account> =
            HashMap::with_capacity(bundle.accounts.len() + bundle.overrides.len());
        for (account, set_ids) in &bundle.accounts {
            let mut positions = set_ids
                .iter()
                .map(|set| {
                    set_index.get(set.as_str()).copied().ok_or_else(|| {
                        bad(format!(
                            "account `{account}` is in unknown account set `{set}`"
                        ))
                    })
                })
                .collect::<Result<Vec<_>, BundleError>>()?;
            positions.sort_unstable();
            positions.dedup();
            accounts.entry(account.clone()).or_default().sets = positions;
        }
        for (account, values) in &bundle.overrides {
            let mut overrides = values
                .iter()
                .map(|(feature, value)| {
                    let index = feature_index(
                        feature,
                        value,
                        &format!("the override of account `{account}`"),
                    )?;
                    Ok((index, value.clone()))
                })
                .collect::<Result<Vec<_>, BundleError>>()?;
            overrides.sort_by_key(|(index, _)| *index);
            accounts.entry(account.clone()).or_default().overrides = overrides;
        }
        Ok(Flags {
            bundle,
            features,
            accounts,
            sets,
        })
    }

    /// The bundle this was prepared from.
    pub fn bundle(&self) -> &Bundle {
        &self.bundle
    }

    /// Whether the bundle defines `feature`.
    pub fn has_feature(&self, feature: &str) -> bool {
        self.features.contains_key(feature)
    }

    /// The value of `feature` for `account`, and the rule that decided it (see the module
    /// documentation for the order). `now` matters only to features with `active_from`.
    pub fn evaluate<'a>(
        &'a self,
        account: &str,
        feature: &str,
        default: Option<&'a FlagValue>,
        now: Timestamp,
    ) -> Evaluation<'a> {
        self.evaluate_at(account, feature, default, || now)
    }

    /// [`Flags::evaluate`] with the time asked for only when a feature has `active_from`
    /// (reading the clock is a noticeable part of an evaluation).
    pub fn evaluate_at<'a>(
        &'a self,
        account: &str,
        feature: &str,
        default: Option<&'a FlagValue>,
        now: impl FnOnce() -> Timestamp,
    ) -> Evaluation<'a> {
        let Some(entry) = self.features.get(feature) else {
            return Evaluation {
                value: default.unwrap_or(&FALSE),
                rule: Rule::NoSuchFeature,
            };
        };
        if let Some(data) = self.accounts.get(account) {
            if let Some(value) = find(&data.overrides, entry.index) {
                return Evaluation {
                    value,
                    rule: Rule::Override,
                };
            }
            for &position in &data.sets {
                let Some(set) = self.sets.get(position as usize) else {
                    continue;
                };
                if let Some(value) = find(&set.values, entry.index) {
                    return Evaluation {
                        value,
                        rule: Rule::AccountSet(&set.id),
                    };
                }
            }
        }
        let spec = &entry.spec;
        let active = spec.active_from.is_none_or(|from| now() >= from);
        if let (Some(percent), Some(value), true) = (spec.rollout, &spec.active_value, active)
            && in_rollout(bucket(feature, account), percent)
        {
            return Evaluation {
                value,
                rule: Rule::Rollout,
            };
        }
        if let Some(value) = default {
            return Evaluation {
                value,
                rule: Rule::CallerDefault,
            };
        }
        if let (true, Some(value), true) = (spec.fully_active, &spec.active_value, active) {
            return Evaluation {
                value,
                rule: Rule::FullyActive,
            };
        }
        Evaluation {
            value: &spec.default,
            rule: Rule::FeatureDefault,
        }
    }

    /// Every rule of the chain for `account` and `feature`, with what each would give and
    /// why, and the value the first applicable one gives (the same as [`Flags::evaluate`]).
    pub fn explain(
        &self,
        account: &str,
        feature: &str,
        default: Option<&FlagValue>,
        now: Timestamp,
    ) -> Explanation {
        let mut steps: Vec<Step> = Vec::new();
        let mut step = |rule: String, value: Option<&FlagValue>, detail: String| {
            steps.push(Step {
                rule,
                value: value.cloned(),
                detail,
                decided: false,
            });
        };
        let default_text = |default: Option<&FlagValue>| match default {
            Some(value) => format!("the caller gave {value}"),
            None => "the caller gave none".to_owned(),
        };
        let Some(entry) = self.features.get(feature) else {
            step(
                Rule::NoSuchFeature.to_string(),
                default.or(Some(&FALSE)),
                format!(
                    "the bundle has no feature `{feature}`: {}, so {}",
                    default_text(default),
                    if default.is_some() {
                        "that is the answer"
                    } else {
                        "the answer is false"
                    }
                ),
            );
            return Explanation::new(account, feature, None, steps);
        };
        let spec = &entry.spec;
        let data = self.accounts.get(account);
        let override_value = data.and_then(|d| find(&d.overrides, entry.index));
        step(
            Rule::Override.to_string(),
            override_value,
            match override_value {
                Some(value) => format!("`{account}` overrides `{feature}` with {value}"),
                None => format!("no override of `{feature}` for `{account}`"),
            },
        );
        let sets: Vec<&Set> = data
            .map(|d| {
                d.sets
                    .iter()
                    .filter_map(|p| self.sets.get(*p as usize))
                    .collect()
            })
            .unwrap_or_default();
        let with_value: Vec<(&Set, &FlagValue)> = sets
            .iter()
            .filter_map(|set| find(&set.values, entry.index).map(|v| (*set, v)))
            .collect();
        let set_detail = match (sets.is_empty(), with_value.first()) {
            (true, _) => format!("`{account}` is in no account set"),
            (false, None) => format!(
                "`{account}` is in {}, none of which sets `{feature}`",
                list(sets.iter().map(|s| s.id.as_str()))
            ),
            (false, Some((set, value))) => {
                let mut text = format!("`{account}` is in `{}`, which gives {value}", set.id);
                let others: Vec<String> = with_value
                    .iter()
                    .skip(1)
                    .map(|(s, v)| format!("`{}` ({v})", s.id))
                    .collect();
                if !others.is_empty() {
                    text.push_str(&format!("; also in {}, later by id", others.join(", ")));
                }
                text
            }
        };
        match with_value.first() {
            Some((set, value)) => step(
                Rule::AccountSet(&set.id).to_string(),
                Some(value),
                set_detail,
            ),
            None => step("account set".to_owned(), None, set_detail),
        }
        let active = spec.active_from.is_none_or(|from| now >= from);
        let not_yet = |what: &str| match spec.active_from {
            Some(from) if !active => format!(
                "; {what} applies from {}, and it is {}",
                Whole(from),
                Whole(now)
            ),
            _ => String::new(),
        };
        let (rollout_value, rollout_detail) = match (spec.rollout, &spec.active_value) {
            (Some(percent), Some(value)) => {
                let b = bucket(feature, account);
                let inside = in_rollout(b, percent);
                let text = format!(
                    "rollout {percent}%: `{account}` is in bucket {b} of {BUCKETS}, {} (below {}){}",
                    if inside { "inside" } else { "outside" },
                    u32::from(percent) * 100,
                    not_yet("the rollout")
                );
                ((inside && active).then_some(value), text)
            }
            _ => (None, format!("`{feature}` has no rollout")),
        };
        step(Rule::Rollout.to_string(), rollout_value, rollout_detail);
        step(
            Rule::CallerDefault.to_string(),
            default,
            default_text(default),
        );
        let (full_value, full_detail) = match (spec.fully_active, &spec.active_value) {
            (true, Some(value)) => (
                active.then_some(value),
                format!("`{feature}` is fully active with {value}{}", not_yet("it")),
            ),
            _ => (None, format!("`{feature}` is not fully active")),
        };
        step(Rule::FullyActive.to_string(), full_value, full_detail);
        step(
            Rule::FeatureDefault.to_string(),
            Some(&spec.default),
            format!("`{feature}` defaults to {}", spec.default),
        );
        Explanation::new(account, feature, Some(spec.value_type), steps)
    }
}

fn list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items
        .map(|item| format!("`{item}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The whole chain for one account and feature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub account: String,
    pub feature: String,
    /// The feature's type; absent when the bundle has no such feature.
    #[serde(rename = "type")]
    pub value_type: Option<FlagType>,
    /// The answer.
    pub value: FlagValue,
    /// The rule that decided it, as [`Rule`]'s text (`account set beta`).
    pub decided_by: String,
    /// Every rule in order.
    pub steps: Vec<Step>,
}

impl Explanation {
    /// Marks the first step with a value as the one that decided.
    fn new(
        account: &str,
        feature: &str,
        value_type: Option<FlagType>,
        mut steps: Vec<Step>,
    ) -> Self {
        let mut value = FALSE.clone();
        let mut decided_by = String::new();
        if let Some(first) = steps.iter_mut().find(|s| s.value.is_some()) {
            first.decided = true;
            value = first.value.clone().unwrap_or(FlagValue::Bool(false));
            decided_by = first.rule.clone();
        }
        Self {
            account: account.to_owned(),
            feature: feature.to_owned(),
            value_type,
            value,
            decided_by,
            steps,
        }
    }
}

/// One rule of the chain: the value it would give (if any) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// The rule, as [`Rule`]'s text.
    pub rule: String,
    pub value: Option<FlagValue>,
    pub detail: String,
    /// This is the rule that decided.
    pub decided: bool,
}

#[cfg(test)]
mod tests;
