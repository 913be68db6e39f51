use std::collections::BTreeMap;

use super::*;
use crate::bundle::{AccountSetSpec, SCHEMA};

fn at(text: &str) -> Timestamp {
    crate::time::parse(text).unwrap_or(Timestamp::UNIX_EPOCH)
}

const NOW: &str = "2026-11-22T12:00:00Z";

/// An account id whose bucket for `feature` is inside (or outside) a 50% rollout.
fn account_in(feature: &str, inside: bool, prefix: &str) -> String {
    (0..)
        .map(|i| format!("{prefix}{i}"))
        .find(|a| in_rollout(bucket(feature, a), 50) == inside)
        .unwrap_or_default()
}

fn boolean(fully_active: bool, rollout: Option<u8>, active_from: Option<&str>) -> FeatureSpec {
    FeatureSpec {
        value_type: FlagType::Boolean,
        description: None,
        default: FlagValue::Bool(false),
        fully_active,
        active_value: Some(FlagValue::Bool(true)),
        rollout,
        active_from: active_from.map(at),
    }
}

fn bundle(
    feature: FeatureSpec,
    sets: &[(&str, Option<FlagValue>)],
    accounts: &[(&str, &[&str])],
    overrides: &[(&str, FlagValue)],
) -> Flags {
    let mut features = BTreeMap::new();
    features.insert("f".to_owned(), feature);
    features.insert("other".to_owned(), boolean(false, None, None));
    let account_sets = sets
        .iter()
        .map(|(id, value)| {
            let mut values = BTreeMap::new();
            if let Some(value) = value {
                values.insert("f".to_owned(), value.clone());
            }
            values.insert("other".to_owned(), FlagValue::Bool(true));
            (
                (*id).to_owned(),
                AccountSetSpec {
                    description: None,
                    features: values,
                },
            )
        })
        .collect();
    let accounts = accounts
        .iter()
        .map(|(a, sets)| {
            (
                (*a).to_owned(),
                sets.iter().map(|s| (*s).to_owned()).collect(),
            )
        })
        .collect();
    let overrides = overrides
        .iter()
        .map(|(a, v)| {
            let mut values = BTreeMap::new();
            values.insert("f".to_owned(), v.clone());
            ((*a).to_owned(), values)
        })
        .collect();
    let bundle = Bundle {
        schema: SCHEMA,
        features,
        account_sets,
        accounts,
        overrides,
    };
    match Flags::new(bundle, "test") {
        Ok(flags) => flags,
        Err(err) => panic!("{err}"),
    }
}

const T: FlagValue = FlagValue::Bool(true);
const F: FlagValue = FlagValue::Bool(false);

/// The precedence, written out row by row.
#[test]
fn precedence_table() {
    let inside = account_in("f", true, "in-");
    let outside = account_in("f", false, "out-");
    let future = Some("2027-01-01");
    let past = Some("2026-01-01");
    #[allow(clippy::type_complexity)]
    let rows: &[(
        &str,
        FeatureSpec,
        &str,
        Option<FlagValue>,
        FlagValue,
        Rule<'_>,
    )] = &[
        // feature, account, caller's default → value, rule
        (
            "override beats everything",
            boolean(true, Some(100), None),
            "over",
            Some(T),
            F,
            Rule::Override,
        ),
        (
            "set beats rollout and default",
            boolean(true, Some(100), None),
            "member",
            Some(F),
            T,
            Rule::AccountSet("a-set"),
        ),
        (
            "first set by id wins",
            boolean(false, None, None),
            "both",
            None,
            F,
            Rule::AccountSet("a-set2"),
        ),
        (
            "set without a value falls through",
            boolean(false, None, None),
            "plain",
            None,
            F,
            Rule::FeatureDefault,
        ),
        (
            "rollout inside beats caller's default",
            boolean(false, Some(50), None),
            &inside,
            Some(F),
            T,
            Rule::Rollout,
        ),
        (
            "rollout outside: caller's default",
            boolean(false, Some(50), None),
            &outside,
            Some(F),
            F,
            Rule::CallerDefault,
        ),
        (
            "rollout outside: fully active",
            boolean(true, Some(50), None),
            &outside,
            None,
            T,
            Rule::FullyActive,
        ),
        (
            "caller's default beats fully active",
            boolean(true, None, None),
            "nobody",
            Some(F),
            F,
            Rule::CallerDefault,
        ),
        (
            "fully active without a default",
            boolean(true, None, None),
            "nobody",
            None,
            T,
            Rule::FullyActive,
        ),
        (
            "nothing: the feature's default",
            boolean(false, None, None),
            "nobody",
            None,
            F,
            Rule::FeatureDefault,
        ),
        (
            "rollout 0 is nobody",
            boolean(false, Some(0), None),
            &inside,
            None,
            F,
            Rule::FeatureDefault,
        ),
        (
            "rollout 100 is everybody",
            boolean(false, Some(100), None),
            &outside,
            None,
            T,
            Rule::Rollout,
        ),
        (
            "rollout waits for active_from",
            boolean(false, Some(100), future),
            &inside,
            None,
            F,
            Rule::FeatureDefault,
        ),
        (
            "rollout after active_from",
            boolean(false, Some(100), past),
            &inside,
            None,
            T,
            Rule::Rollout,
        ),
        (
            "fully active waits for active_from",
            boolean(true, None, future),
            "nobody",
            None,
            F,
            Rule::FeatureDefault,
        ),
        (
            "sets ignore active_from",
            boolean(false, None, future),
            "member",
            None,
            T,
            Rule::AccountSet("a-set"),
        ),
    ];
    for (name, feature, account, default, value, rule) in rows {
        let flags = bundle(
            feature.clone(),
            &[
                ("a-set", Some(T)),
                ("a-set2", Some(F)),
                ("b-set", Some(T)),
                ("no-value", None),
            ],
            &[
                ("member", &["a-set"]),
                ("over", &["a-set"]),
                ("both", &["a-set2", "b-set"]),
                ("plain", &["no-value"]),
            ],
            &[("over", F)],
        );
        let got = flags.evaluate(account, "f", default.as_ref(), at(NOW));
        assert_eq!((got.value, got.rule), (value, *rule), "{name}");
    }
}

#[test]
fn without_data_or_feature_the_caller_decides() {
    let flags = bundle(boolean(true, None, None), &[], &[], &[]);
    let seven = FlagValue::Integer(7);
    let got = flags.evaluate("a", "missing", Some(&seven), at(NOW));
    assert_eq!((got.value, got.rule), (&seven, Rule::NoSuchFeature));
    let got = flags.evaluate("a", "missing", None, at(NOW));
    assert_eq!((got.value, got.rule), (&F, Rule::NoSuchFeature));
    assert_eq!(without_data(Some(&seven)).value, &seven);
    assert_eq!(without_data(None).value, &F);
    assert_eq!(without_data(None).rule, Rule::NoData);
}

/// Every combination of the inputs, against the rules as the documentation states
/// them, and `explain` against `evaluate`.
#[test]
fn precedence_is_exhaustively_as_documented() {
    let inside = account_in("f", true, "in-");
    let outside = account_in("f", false, "out-");
    let value = |n: i64| FlagValue::Integer(n);
    let mut checked = 0;
    for override_value in [None, Some(value(1))] {
        for set_case in 0..4 {
            for rollout in [None, Some(true), Some(false)] {
                for default in [None, Some(value(4))] {
                    for fully_active in [false, true] {
                        for active_from in [None, Some("2026-01-01"), Some("2027-01-01")] {
                            let account = match rollout {
                                Some(false) => outside.clone(),
                                _ => inside.clone(),
                            };
                            let feature = FeatureSpec {
                                value_type: FlagType::Integer,
                                description: None,
                                default: value(6),
                                fully_active,
                                active_value: Some(value(5)),
                                rollout: rollout.map(|_| 50),
                                active_from: active_from.map(at),
                            };
                            // 0: in no set; 1: in a set without a value; 2: in a set
                            // with one; 3: in two sets that disagree.
                            let sets: &[&str] = match set_case {
                                0 => &[],
                                1 => &["s0-none"],
                                2 => &["s2"],
                                _ => &["s3", "s2"],
                            };
                            let mut features = BTreeMap::new();
                            features.insert("f".to_owned(), feature.clone());
                            let set = |v: Option<i64>| AccountSetSpec {
                                description: None,
                                features: v
                                    .map(|v| ("f".to_owned(), value(v)))
                                    .into_iter()
                                    .collect(),
                            };
                            let mut account_sets = BTreeMap::new();
                            account_sets.insert("s0-none".to_owned(), set(None));
                            account_sets.insert("s2".to_owned(), set(Some(2)));
                            account_sets.insert("s3".to_owned(), set(Some(3)));
                            let mut accounts = BTreeMap::new();
                            accounts.insert(
                                account.clone(),
                                sets.iter().map(|s| (*s).to_owned()).collect(),
                            );
                            let mut overrides = BTreeMap::new();
                            if let Some(v) = &override_value {
                                overrides.insert(
                                    account.clone(),
                                    [("f".to_owned(), v.clone())].into_iter().collect(),
                                );
                            }
                            let flags = Flags::new(
                                Bundle {
                                    schema: SCHEMA,
                                    features,
                                    account_sets,
                                    accounts,
                                    overrides,
                                },
                                "test",
                            );
                            let Ok(flags) = flags else {
                                panic!("bundle refused");
                            };
                            // The documentation, literally.
                            let active = active_from != Some("2027-01-01");
                            let expected = override_value
                                .clone()
                                .or(match set_case {
                                    2 | 3 => Some(value(2)), // s2 sorts before s3
                                    _ => None,
                                })
                                .or((rollout == Some(true) && active).then(|| value(5)))
                                .or(default.clone())
                                .or((fully_active && active).then(|| value(5)))
                                .unwrap_or(value(6));
                            let got = flags.evaluate(&account, "f", default.as_ref(), at(NOW));
                            assert_eq!(got.value, &expected);
                            let explained = flags.explain(&account, "f", default.as_ref(), at(NOW));
                            assert_eq!(explained.value, expected);
                            assert_eq!(explained.decided_by, got.rule.to_string());
                            assert_eq!(explained.steps.iter().filter(|s| s.decided).count(), 1);
                            checked += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(checked, 2 * 4 * 3 * 2 * 2 * 3);
}

#[test]
fn growing_a_rollout_keeps_every_account_that_was_in() {
    let accounts: Vec<String> = (0..20_000).map(|i| format!("acct-{i}")).collect();
    let buckets: Vec<(&String, u16)> = accounts
        .iter()
        .map(|a| (a, bucket("new-checkout", a)))
        .collect();
    let inside = |percent: u8| -> Vec<&String> {
        buckets
            .iter()
            .filter(|(_, b)| in_rollout(*b, percent))
            .map(|(a, _)| *a)
            .collect()
    };
    let ten = inside(10);
    let twenty = inside(20);
    let twenty_set: std::collections::BTreeSet<&String> = twenty.iter().copied().collect();
    assert!(ten.iter().all(|a| twenty_set.contains(a)), "10% ⊆ 20%");
    // About the right share (binomial: 2000 ± 3σ ≈ 130).
    assert!((1_870..2_130).contains(&ten.len()), "{} in 10%", ten.len());
    assert!(
        (3_820..4_180).contains(&twenty.len()),
        "{} in 20%",
        twenty.len()
    );
    let mut previous = 0;
    for percent in 0..=100 {
        let n = inside(percent).len();
        assert!(n >= previous);
        previous = n;
    }
    assert_eq!(previous, accounts.len(), "100% is everyone");
}

#[test]
fn buckets_are_the_documented_hash() {
    // python3: int.from_bytes(hashlib.sha256(b"new-checkout/acct-1001").digest()[:8], "big") % 10000
    assert_eq!(bucket("new-checkout", "acct-1001"), 3178);
    assert_eq!(bucket("one-click-reorder", "acct-1001"), 2949);
    assert_eq!(bucket("gift-cards", "acct-42"), 7298);
}

#[test]
fn each_feature_rolls_out_to_its_own_accounts() {
    let accounts: Vec<String> = (0..2_000).map(|i| format!("acct-{i}")).collect();
    let a: Vec<bool> = accounts
        .iter()
        .map(|x| in_rollout(bucket("a", x), 10))
        .collect();
    let b: Vec<bool> = accounts
        .iter()
        .map(|x| in_rollout(bucket("b", x), 10))
        .collect();
    let both = a.iter().zip(&b).filter(|(x, y)| **x && **y).count();
    assert!(
        both < 60,
        "{both} accounts in both 10% rollouts (≈20 expected)"
    );
}

#[test]
fn inconsistent_bundles_are_refused() {
    let mut features = BTreeMap::new();
    features.insert("f".to_owned(), boolean(false, None, None));
    let mut overrides = BTreeMap::new();
    overrides.insert(
        "a".to_owned(),
        [("f".to_owned(), FlagValue::Integer(3))]
            .into_iter()
            .collect(),
    );
    let bundle = Bundle {
        schema: SCHEMA,
        features: features.clone(),
        account_sets: BTreeMap::new(),
        accounts: BTreeMap::new(),
        overrides,
    };
    let err = Flags::new(bundle, "x.json").err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some(
            "x.json: inconsistent flag bundle: the override of account `a` gives feature `f` \
             the integer value 3, but it takes boolean values"
        )
    );
    let mut accounts = BTreeMap::new();
    accounts.insert("a".to_owned(), vec!["nope".to_owned()]);
    let bundle = Bundle {
        schema: SCHEMA,
        features,
        account_sets: BTreeMap::new(),
        accounts,
        overrides: BTreeMap::new(),
    };
    assert!(Flags::new(bundle, "x.json").is_err());
}
