//! The OFREP endpoints of `glassroom serve`, over real HTTP on 127.0.0.1: every rule of
//! the example's flags and its OpenFeature reason, the errors, bulk evaluation with its
//! ETag and `304`, CORS, bearer tokens; then the official OpenFeature providers against
//! the same server, where `.ci/run` installed them (`GLASSROOM_OFREP_PYTHON`,
//! `GLASSROOM_OFREP_NODE_MODULES`).

use std::path::{Path, PathBuf};

use glassroom::flags::{bucket, in_rollout};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, ETAG, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::serve::server::{Served, client};
use crate::support::{copy_tree, root, run};

/// Before gift-cards' `active_from` (2026-12-01T06:00:00Z).
const BEFORE_LAUNCH: &str = "2026-11-30T12:00:00Z";
const TOKEN: &str = "ofrep-token-of-the-shop";
const TOKEN_SHA256: &str =
    "sha256:eb6d7c43af4acbe9436e503195e0af499eed558b255162ab84c82ad6ce7edf8b";

/// The example built into `dir/public`.
fn built_example(dir: &Path) -> PathBuf {
    let out = dir.join("public");
    let built = run(&[
        "build",
        root().join("content-example").to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        BEFORE_LAUNCH,
    ]);
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    out
}

/// The example served from a built directory, flags evaluated at `now`.
fn serve_example(dir: &Path, now: &str, extra: &[&str]) -> Served {
    let out = built_example(dir);
    let mut args = vec!["--root", out.to_str().expect("utf-8"), "--now", now];
    args.extend_from_slice(extra);
    Served::start(&args, None)
}

/// The first account `acct-9000…` inside (or outside) `feature`'s rollout of `percent`.
fn account_in_rollout(feature: &str, percent: u8, inside: bool) -> String {
    (9000..20000)
        .map(|n| format!("acct-{n}"))
        .find(|account| in_rollout(bucket(feature, account), percent) == inside)
        .expect("some account")
}

fn evaluate(served: &Served, key: &str, body: &str) -> (StatusCode, Value) {
    let response = client()
        .post(served.url(&format!("/ofrep/v1/evaluate/flags/{key}")))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .expect("request");
    let status = response.status();
    let text = response.text().expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn for_account(account: &str) -> String {
    json!({ "context": { "targetingKey": account, "plan": "gold" } }).to_string()
}

#[test]
fn every_rule_answers_with_its_value_reason_and_variant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_example(dir.path(), BEFORE_LAUNCH, &[]);
    let sha = std::fs::read_to_string(dir.path().join("public/flags.json.sha256")).expect("sha");
    let in_split = account_in_rollout("one-click-reorder", 25, true);
    let outside = account_in_rollout("one-click-reorder", 25, false);
    let cases: &[(&str, &str, Value, &str, &str)] = &[
        (
            "new-checkout",
            "acct-1003",
            json!(false),
            "TARGETING_MATCH",
            "override",
        ),
        (
            "new-checkout",
            "acct-1001",
            json!(true),
            "TARGETING_MATCH",
            "account-set:beta-testers",
        ),
        (
            "search-page-size",
            "acct-2002",
            json!(100),
            "TARGETING_MATCH",
            "override",
        ),
        (
            "search-page-size",
            "acct-2001",
            json!(50),
            "TARGETING_MATCH",
            "account-set:enterprise",
        ),
        (
            "search-page-size",
            "acct-9999",
            json!(20),
            "DEFAULT",
            "default",
        ),
        (
            "checkout-variant",
            "acct-1001",
            json!("streamlined"),
            "TARGETING_MATCH",
            "account-set:beta-testers",
        ),
        (
            "checkout-variant",
            "acct-1003",
            json!("classic"),
            "TARGETING_MATCH",
            "override",
        ),
        (
            "one-click-reorder",
            &in_split,
            json!(true),
            "SPLIT",
            "rollout",
        ),
        (
            "one-click-reorder",
            &outside,
            json!(false),
            "DEFAULT",
            "default",
        ),
        (
            "express-shipping",
            "acct-9999",
            json!(true),
            "STATIC",
            "fully-active",
        ),
        (
            "express-shipping",
            "acct-4420",
            json!(false),
            "TARGETING_MATCH",
            "override",
        ),
        ("live-chat", "acct-9999", json!(false), "DEFAULT", "default"),
        (
            "gift-cards",
            "acct-9999",
            json!(false),
            "DISABLED",
            "default",
        ),
        (
            "gift-cards",
            "acct-3117",
            json!(true),
            "TARGETING_MATCH",
            "override",
        ),
    ];
    for (key, account, value, reason, variant) in cases {
        let (status, body) = evaluate(&served, key, &for_account(account));
        assert_eq!(status, StatusCode::OK, "{key} {account}: {body}");
        assert_eq!(body["key"], *key);
        assert_eq!(
            (
                &body["value"],
                body["reason"].as_str(),
                body["variant"].as_str()
            ),
            (value, Some(*reason), Some(*variant)),
            "{key} for {account}"
        );
        assert_eq!(body["metadata"]["bundleSha256"], sha.trim());
    }
    // After the launch, gift-cards is on for everyone nothing else decides for.
    drop(served);
    let later_dir = tempfile::tempdir().expect("temp dir");
    let later = serve_example(later_dir.path(), "2026-12-02T00:00:00Z", &[]);
    let (_, body) = evaluate(&later, "gift-cards", &for_account("acct-9999"));
    assert_eq!(
        (&body["value"], &body["reason"]),
        (&json!(true), &json!("STATIC"))
    );
}

#[test]
fn errors_have_their_status_and_openfeature_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_example(dir.path(), BEFORE_LAUNCH, &[]);
    let code = |key: &str, body: &str| {
        let (status, body) = evaluate(&served, key, body);
        (
            status.as_u16(),
            body["errorCode"].as_str().map(str::to_owned),
            body,
        )
    };
    let (status, error, body) = code("no-such-flag", &for_account("acct-1"));
    assert_eq!((status, error.as_deref()), (404, Some("FLAG_NOT_FOUND")));
    assert_eq!(body["key"], "no-such-flag");
    assert!(
        body["errorDetails"]
            .as_str()
            .unwrap()
            .contains("no-such-flag")
    );
    let (status, error, _) = code("new-checkout", "{}");
    assert_eq!(
        (status, error.as_deref()),
        (400, Some("TARGETING_KEY_MISSING"))
    );
    // A flag no rule of which looks at the account needs no key.
    let (status, _, body) = code("invoice-pdf-v2", r#"{"context": {}}"#);
    assert_eq!((status, &body["reason"]), (200, &json!("STATIC")));
    let (status, error, _) = code("new-checkout", "{\"context\": ");
    assert_eq!((status, error.as_deref()), (400, Some("PARSE_ERROR")));
    for bad in [
        r#"{"context": "acct-1"}"#,
        r#"{"context": {"targetingKey": 7}}"#,
        "[1, 2]",
    ] {
        let (status, error, _) = code("new-checkout", bad);
        assert_eq!(
            (status, error.as_deref()),
            (400, Some("INVALID_CONTEXT")),
            "{bad}"
        );
    }
    // Bodies are bounded: a huge context is refused before it is read whole.
    let huge = format!(
        r#"{{"context": {{"targetingKey": "a", "x": "{}"}}}}"#,
        "y".repeat(200_000)
    );
    let response = client()
        .post(served.url("/ofrep/v1/evaluate/flags/new-checkout"))
        .body(huge)
        .send()
        .expect("request");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let wrong_method = client()
        .get(served.url("/ofrep/v1/evaluate/flags/new-checkout"))
        .send()
        .expect("request");
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    let unknown = client()
        .post(served.url("/ofrep/v2/evaluate"))
        .send()
        .expect("request");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // The site's files are still served beside it.
    let page = client()
        .get(served.url("/flags.json"))
        .send()
        .expect("request");
    assert_eq!(page.status(), StatusCode::OK);
}

#[test]
fn bulk_evaluation_answers_304_to_its_own_etag_until_the_answers_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_example(dir.path(), BEFORE_LAUNCH, &[]);
    let bulk = |account: &str, tag: Option<&str>| {
        let mut request = client()
            .post(served.url("/ofrep/v1/evaluate/flags"))
            .header("content-type", "application/json")
            .body(for_account(account));
        if let Some(tag) = tag {
            request = request.header(IF_NONE_MATCH, tag);
        }
        request.send().expect("request")
    };
    let first = bulk("acct-1001", None);
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["access-control-allow-origin"], "*");
    let tag = first.headers()[ETAG].to_str().expect("tag").to_owned();
    let body: Value = first.json().expect("json");
    let flags = body["flags"].as_array().expect("flags");
    assert_eq!(flags.len(), 11, "every feature of the example");
    let new_checkout = flags
        .iter()
        .find(|f| f["key"] == "new-checkout")
        .expect("new-checkout");
    assert_eq!(new_checkout["value"], true);
    assert_eq!(new_checkout["variant"], "account-set:beta-testers");

    let again = bulk("acct-1001", Some(&tag));
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(again.headers()[ETAG], tag.as_str());
    assert!(again.text().expect("body").is_empty());
    let other = bulk("acct-1003", Some(&tag));
    assert_eq!(
        other.status(),
        StatusCode::OK,
        "another account, other answers"
    );
    assert_ne!(other.headers()[ETAG], tag.as_str());

    // Without a targeting key, the flags that depend on the account say so one by one.
    let anonymous: Value = client()
        .post(served.url("/ofrep/v1/evaluate/flags"))
        .send()
        .expect("request")
        .json()
        .expect("json");
    let express = anonymous["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .find(|f| f["key"] == "express-shipping")
        .expect("express");
    assert_eq!(
        express["errorCode"], "TARGETING_KEY_MISSING",
        "acct-4420 overrides it"
    );
    let maintenance_free = anonymous["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter(|f| f.get("value").is_some())
        .count();
    assert!(maintenance_free >= 1, "{anonymous}");

    // A browser on another origin may ask.
    let preflight = client()
        .request(
            reqwest::Method::OPTIONS,
            served.url("/ofrep/v1/evaluate/flags"),
        )
        .header("origin", "https://shop.example.org")
        .header("access-control-request-method", "POST")
        .send()
        .expect("request");
    assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
    assert!(
        preflight.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("If-None-Match")
    );
}

/// The example as a directory with OFREP tokens in its glassroom.yaml.
fn example_with_token(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    copy_tree(&root().join("content-example"), &repo);
    let config = repo.join("glassroom.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    let text = text.replacen(
        "serve:\n",
        &format!("serve:\n  ofrep_tokens:\n    shop: \"{TOKEN_SHA256}\"\n"),
        1,
    );
    assert!(
        text.contains("ofrep_tokens"),
        "the example has a serve: section"
    );
    std::fs::write(&config, text).expect("write");
    repo
}

#[test]
fn tokens_make_the_endpoints_private() {
    assert_eq!(
        TOKEN_SHA256,
        format!("sha256:{}", glassroom::flags::sha256_hex(TOKEN.as_bytes()))
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = example_with_token(dir.path());
    let preview = Served::start(
        &[
            "--preview",
            "--repo",
            repo.to_str().expect("utf-8"),
            "--now",
            BEFORE_LAUNCH,
        ],
        None,
    );
    let ask = |served: &Served, auth: Option<&str>| {
        let mut request = client()
            .post(served.url("/ofrep/v1/evaluate/flags/new-checkout"))
            .body(for_account("acct-1001"));
        if let Some(auth) = auth {
            request = request.header(AUTHORIZATION, auth);
        }
        request.send().expect("request").status()
    };
    assert_eq!(ask(&preview, None), StatusCode::UNAUTHORIZED);
    assert_eq!(
        ask(&preview, Some("Bearer wrong")),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        ask(&preview, Some(&format!("Bearer {TOKEN}"))),
        StatusCode::OK
    );

    // A built directory takes them from --ofrep-tokens.
    let tokens = dir.path().join("ofrep-tokens.yaml");
    std::fs::write(&tokens, format!("shop: \"{TOKEN_SHA256}\"\n")).expect("write");
    let root_dir = tempfile::tempdir().expect("temp dir");
    let served = serve_example(
        root_dir.path(),
        BEFORE_LAUNCH,
        &["--ofrep-tokens", tokens.to_str().expect("utf-8")],
    );
    assert_eq!(ask(&served, None), StatusCode::UNAUTHORIZED);
    assert_eq!(
        ask(&served, Some(&format!("Bearer {TOKEN}"))),
        StatusCode::OK
    );

    // A token file that holds a token instead of its hash is refused at start.
    std::fs::write(&tokens, format!("shop: {TOKEN}\n")).expect("write");
    let refused = run(&[
        "serve",
        "--root",
        root_dir.path().join("public").to_str().expect("utf-8"),
        "--ofrep-tokens",
        tokens.to_str().expect("utf-8"),
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(refused.code, Some(2), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("ofrep-tokens.yaml"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("sha256sum"), "{}", refused.stderr);

    // A malformed hash in glassroom.yaml is a check error naming the place.
    let config = repo.join("glassroom.yaml");
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, text.replace(TOKEN_SHA256, TOKEN)).expect("write");
    let check = run(&["check", "--worktree", repo.to_str().expect("utf-8")]);
    assert_eq!(check.code, Some(1), "{}", check.stderr);
    assert!(
        check
            .stderr
            .contains("an OFREP token must be stored as `sha256:`")
            && check.stderr.contains("glassroom.yaml:"),
        "{}",
        check.stderr
    );
}

/// The official Python provider (`openfeature-provider-ofrep` with `openfeature-sdk`)
/// evaluates the example's flags through the server: `tests/support/ofrep_python.py`.
#[test]
fn the_official_python_provider_reads_glassroom_flags() {
    let Some(python) = std::env::var_os("GLASSROOM_OFREP_PYTHON") else {
        eprintln!(
            "skipped: set GLASSROOM_OFREP_PYTHON to a Python with openfeature-provider-ofrep (.ci/run does)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_example(dir.path(), BEFORE_LAUNCH, &[]);
    let output = std::process::Command::new(python)
        .arg(root().join("tests/support/ofrep_python.py"))
        .arg(served.url("/"))
        .arg(account_in_rollout("one-click-reorder", 25, true))
        .arg(account_in_rollout("one-click-reorder", 25, false))
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("ofrep python: all checks passed"),
        "{stdout}"
    );
}

/// The official web provider (`@openfeature/ofrep-web-provider`, in Node) polls bulk
/// evaluation with `If-None-Match` and gets `304`s: `tests/support/ofrep_web.mjs`.
#[test]
fn the_official_web_provider_polls_bulk_evaluation_with_its_etag() {
    let Some(modules) = std::env::var_os("GLASSROOM_OFREP_NODE_MODULES") else {
        eprintln!(
            "skipped: set GLASSROOM_OFREP_NODE_MODULES to a node_modules with @openfeature/ofrep-web-provider (.ci/run does where Node is)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let served = serve_example(dir.path(), BEFORE_LAUNCH, &[]);
    let base = served.url("");
    let output = std::process::Command::new("node")
        .arg(root().join("tests/support/ofrep_web.mjs"))
        .arg(modules)
        .arg(base.trim_end_matches('/'))
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("ofrep web: all checks passed"), "{stdout}");
}
