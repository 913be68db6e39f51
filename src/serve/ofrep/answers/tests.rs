//! Every rule's reason and variant, the errors, and the bulk tag.

use std::collections::BTreeMap;

use glassroom_flags::{AccountSetSpec, Bundle, FeatureSpec, SCHEMA};

use super::*;

fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn feature(default: FlagValue) -> FeatureSpec {
    FeatureSpec {
        value_type: default.flag_type(),
        description: None,
        default,
        fully_active: false,
        active_value: None,
        rollout: None,
        active_from: None,
    }
}

fn prepared() -> Prepared {
    let mut features = BTreeMap::new();
    let mut checkout = feature(FlagValue::Bool(false));
    checkout.active_value = Some(FlagValue::Bool(true));
    features.insert("new-checkout".to_owned(), checkout);
    let mut express = feature(FlagValue::Bool(false));
    express.fully_active = true;
    express.active_value = Some(FlagValue::Bool(true));
    features.insert("express".to_owned(), express);
    let mut gifts = express_like();
    gifts.active_from = Some(at("2026-12-01T06:00:00Z"));
    features.insert("gift-cards".to_owned(), gifts);
    let mut variant = feature(FlagValue::String("classic".into()));
    variant.rollout = Some(50);
    variant.active_value = Some(FlagValue::String("streamlined".into()));
    features.insert("checkout-variant".to_owned(), variant);
    features.insert("page-size".to_owned(), feature(FlagValue::Integer(20)));
    let mut sets = BTreeMap::new();
    sets.insert(
        "beta".to_owned(),
        AccountSetSpec {
            description: None,
            features: [
                ("new-checkout".to_owned(), FlagValue::Bool(true)),
                ("page-size".to_owned(), FlagValue::Integer(50)),
            ]
            .into(),
        },
    );
    let bundle = Bundle {
        schema: SCHEMA,
        features,
        account_sets: sets,
        accounts: [("acct-1".to_owned(), vec!["beta".to_owned()])].into(),
        overrides: [(
            "acct-2".to_owned(),
            [("new-checkout".to_owned(), FlagValue::Bool(true))].into(),
        )]
        .into(),
    };
    Prepared::from_json(&bundle.to_canonical_json()).unwrap()
}

fn express_like() -> FeatureSpec {
    let mut spec = feature(FlagValue::Bool(false));
    spec.fully_active = true;
    spec.active_value = Some(FlagValue::Bool(true));
    spec
}

fn value(answer: &Answer) -> (FlagValue, Reason, &str) {
    match answer {
        Answer::Value {
            value,
            reason,
            variant,
            ..
        } => (value.clone(), *reason, variant.as_str()),
        other => panic!("not a value: {other:?}"),
    }
}

const NOW: &str = "2026-12-04T00:00:00Z";

#[test]
fn each_rule_has_its_reason_and_variant() {
    let p = prepared();
    let now = at(NOW);
    let eval = |key: &str, account: Option<&str>| evaluate(&p, key, account, now);
    assert_eq!(
        value(&eval("new-checkout", Some("acct-2"))),
        (FlagValue::Bool(true), Reason::TargetingMatch, "override")
    );
    assert_eq!(
        value(&eval("new-checkout", Some("acct-1"))),
        (
            FlagValue::Bool(true),
            Reason::TargetingMatch,
            "account-set:beta"
        )
    );
    assert_eq!(
        value(&eval("page-size", Some("acct-1"))),
        (
            FlagValue::Integer(50),
            Reason::TargetingMatch,
            "account-set:beta"
        )
    );
    assert_eq!(
        value(&eval("new-checkout", Some("acct-9"))),
        (FlagValue::Bool(false), Reason::Default, "default")
    );
    assert_eq!(
        value(&eval("express", Some("acct-9"))),
        (FlagValue::Bool(true), Reason::Static, "fully-active")
    );
    // The rollout splits accounts: some get the active value, the rest the default.
    let split: Vec<_> = (0..40)
        .map(|i| value(&eval("checkout-variant", Some(&format!("acct-x{i}")))).1)
        .collect();
    assert!(split.contains(&Reason::Split) && split.contains(&Reason::Default));
    for i in 0..40 {
        let answer = eval("checkout-variant", Some(&format!("acct-x{i}")));
        let (v, reason, variant) = value(&answer);
        match reason {
            Reason::Split => {
                assert_eq!(
                    (v, variant),
                    (FlagValue::String("streamlined".into()), "rollout")
                )
            }
            _ => assert_eq!(
                (v, variant),
                (FlagValue::String("classic".into()), "default")
            ),
        }
    }
}

#[test]
fn a_feature_before_its_active_from_is_disabled() {
    let p = prepared();
    let before = evaluate(&p, "gift-cards", Some("acct-9"), at("2026-11-30T00:00:00Z"));
    assert_eq!(
        value(&before),
        (FlagValue::Bool(false), Reason::Disabled, "default")
    );
    let after = evaluate(&p, "gift-cards", Some("acct-9"), at("2026-12-01T06:00:00Z"));
    assert_eq!(
        value(&after),
        (FlagValue::Bool(true), Reason::Static, "fully-active")
    );
}

#[test]
fn unknown_flags_and_missing_keys_are_errors_only_where_they_matter() {
    let p = prepared();
    let now = at(NOW);
    assert_eq!(
        evaluate(&p, "nope", Some("acct-1"), now),
        Answer::NotFound { key: "nope".into() }
    );
    assert_eq!(evaluate(&p, "nope", None, now).status(), 404);
    for targeted in ["new-checkout", "page-size", "checkout-variant"] {
        let answer = evaluate(&p, targeted, None, now);
        assert_eq!(answer.status(), 400, "{targeted}");
        assert_eq!(
            answer.to_json(p.sha256())["errorCode"],
            "TARGETING_KEY_MISSING"
        );
    }
    // Nothing about `express` looks at the account.
    assert_eq!(value(&evaluate(&p, "express", None, now)).1, Reason::Static);
    assert_eq!(
        evaluate(&Prepared::empty(), "express", Some("a"), now).status(),
        404
    );
}

#[test]
fn answers_carry_the_bundle_checksum() {
    let p = prepared();
    let json = evaluate(&p, "page-size", Some("acct-1"), at(NOW)).to_json(p.sha256());
    assert_eq!(json["key"], "page-size");
    assert_eq!(json["value"], 50);
    assert_eq!(json["reason"], "TARGETING_MATCH");
    assert_eq!(json["metadata"]["bundleSha256"], p.sha256());
    assert_eq!(p.sha256().len(), 64);
}

#[test]
fn bulk_lists_every_flag_and_its_tag_follows_what_decides() {
    let p = prepared();
    let now = at(NOW);
    let all = bulk(&p, Some("acct-1"), now);
    let keys: Vec<&str> = all["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "checkout-variant",
            "express",
            "gift-cards",
            "new-checkout",
            "page-size"
        ]
    );
    let anonymous = bulk(&p, None, now);
    let codes: Vec<_> = anonymous["flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.get("errorCode").and_then(|c| c.as_str()).unwrap_or("ok"))
        .collect();
    assert_eq!(
        codes,
        [
            "TARGETING_KEY_MISSING",
            "ok",
            "ok",
            "TARGETING_KEY_MISSING",
            "TARGETING_KEY_MISSING"
        ]
    );
    let tag = bulk_etag(&p, Some("acct-1"), now);
    assert_eq!(
        tag,
        bulk_etag(&p, Some("acct-1"), at("2026-12-04T10:00:00Z"))
    );
    assert_ne!(tag, bulk_etag(&p, Some("acct-2"), now));
    assert_ne!(tag, bulk_etag(&p, None, now));
    assert_ne!(
        bulk_etag(&p, None, at("2026-11-30T00:00:00Z")),
        bulk_etag(&p, None, now),
        "gift-cards became active in between"
    );
    assert!(tag.starts_with('"') && tag.ends_with('"') && tag.len() == 34);
}

#[test]
fn bodies_give_the_targeting_key_or_say_what_is_wrong() {
    assert_eq!(targeting_key(b""), Ok(None));
    assert_eq!(targeting_key(b"{}"), Ok(None));
    assert_eq!(targeting_key(br#"{"context": {}}"#), Ok(None));
    assert_eq!(
        targeting_key(br#"{"context": {"targetingKey": ""}}"#),
        Ok(None)
    );
    assert_eq!(
        targeting_key(br#"{"context": {"targetingKey": "acct-1", "plan": "gold"}}"#),
        Ok(Some("acct-1".into()))
    );
    for body in [&b"{"[..], b"not json", b"{\"context\": }"] {
        assert_eq!(targeting_key(body).unwrap_err().code(), "PARSE_ERROR");
    }
    for body in [
        &br#"[]"#[..],
        br#""acct-1""#,
        br#"{"context": "acct-1"}"#,
        br#"{"context": {"targetingKey": 42}}"#,
    ] {
        assert_eq!(
            targeting_key(body).unwrap_err().code(),
            "INVALID_CONTEXT",
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    let long = format!(
        r#"{{"context": {{"targetingKey": "{}"}}}}"#,
        "a".repeat(MAX_TARGETING_KEY + 1)
    );
    assert_eq!(
        targeting_key(long.as_bytes()).unwrap_err().code(),
        "INVALID_CONTEXT"
    );
}
