//! The flag bundle: built with the site, evaluated by `glassroom flags eval`, and kept
//! fresh by the library's polling client against a real HTTP server on 127.0.0.1.

mod server;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glassroom::content::types::{FlagValue, Moment};
use glassroom::flags::{Bundle, BundleError, Client, ClientError, Clock, Refresh, sha256_hex};
use server::{Mode, Server};

use crate::support::{copy_tree, root, run};

/// A small bundle: `new-ui` (boolean, fully active or not) and `page-size` (integer), the
/// set `beta` (acct-1) and an override for acct-2.
fn bundle(fully_active: bool) -> Vec<u8> {
    let json = serde_json::json!({
        "schema": 1,
        "features": {
            "new-ui": {"type": "boolean", "default": false, "fully_active": fully_active, "active_value": true},
            "page-size": {"type": "integer", "default": 20, "fully_active": false},
            "launch": {"type": "boolean", "default": false, "fully_active": true, "active_value": true,
                       "active_from": "2026-12-01T00:00:00Z"}
        },
        "account_sets": {"beta": {"features": {"new-ui": true, "page-size": 50}}},
        "accounts": {"acct-1": ["beta"]},
        "overrides": {"acct-2": {"page-size": 100}}
    });
    let bundle = Bundle::from_json("test", json.to_string().as_bytes()).expect("a valid bundle");
    bundle.to_canonical_json()
}

fn value(client: &Client, account: &str, feature: &str) -> FlagValue {
    client.feature_flag(account, feature, None)
}

const TRUE: FlagValue = FlagValue::Bool(true);
const FALSE: FlagValue = FlagValue::Bool(false);

/// Waits (polling every 10 ms, at most 10 s) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn the_client_fetches_revalidates_follows_changes_and_survives_an_outage() {
    let first = bundle(false);
    let server = Server::start(&first);
    let client = Client::builder(server.url())
        .poll_in_background(false)
        .start();

    // Before any data: the caller's default, else false.
    assert_eq!(
        client.feature_flag("acct-1", "page-size", Some(FlagValue::Integer(3))),
        FlagValue::Integer(3)
    );
    assert_eq!(value(&client, "acct-1", "new-ui"), FALSE);
    assert_eq!(
        client.evaluate("acct-1", "new-ui", None).decided_by,
        "no flag data"
    );

    // First fetch: 200 with the bundle.
    let sha = sha256_hex(&first);
    assert_eq!(
        client.refresh(),
        Ok(Refresh::Updated {
            sha256: sha.clone()
        })
    );
    assert_eq!(value(&client, "acct-1", "new-ui"), TRUE);
    assert_eq!(value(&client, "acct-9", "new-ui"), FALSE);
    assert_eq!(
        value(&client, "acct-2", "page-size"),
        FlagValue::Integer(100)
    );

    // Then 304, with If-None-Match and no body.
    assert_eq!(client.refresh(), Ok(Refresh::NotModified));
    let log = server.log();
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0].status, log[0].if_none_match.as_deref()),
        (200, None)
    );
    assert_eq!(log[0].body_bytes, first.len());
    assert_eq!(log[1].status, 304);
    assert_eq!(log[1].if_none_match, Some(format!("\"{sha}\"")));
    assert_eq!(log[1].body_bytes, 0, "a 304 transfers no body");

    // A change: 200 with the new ETag.
    let second = bundle(true);
    server.set_body(&second);
    let new_sha = sha256_hex(&second);
    assert_eq!(
        client.refresh(),
        Ok(Refresh::Updated {
            sha256: new_sha.clone()
        })
    );
    assert_eq!(value(&client, "acct-9", "new-ui"), TRUE);
    assert_eq!(client.refresh(), Ok(Refresh::NotModified));
    assert_eq!(
        server.log().last().and_then(|l| l.if_none_match.clone()),
        Some(format!("\"{new_sha}\""))
    );

    // The server goes away: the last data stays, and the status says why.
    server.shut_down();
    let err = client.refresh().expect_err("nothing listens any more");
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(value(&client, "acct-9", "new-ui"), TRUE);
    let status = client.status();
    assert_eq!(status.sha256.as_deref(), Some(new_sha.as_str()));
    assert_eq!(status.last_error, Some(err));
    assert_eq!(
        (status.updates, status.not_modified, status.failures),
        (2, 2, 1)
    );
}

#[test]
fn bad_bundles_are_rejected_and_the_last_good_one_stays() {
    let good = bundle(false);
    let server = Server::start(&good);
    let client = Client::builder(server.url())
        .poll_in_background(false)
        .start();
    assert!(client.refresh().is_ok());
    let good_sha = sha256_hex(&good);
    let next = bundle(true);

    // A corrupt body under the new bundle's ETag.
    server.set_body(&next);
    server.set_mode(Mode::Corrupt);
    let err = client.refresh().expect_err("corrupt");
    assert!(
        matches!(err, ClientError::Bundle(BundleError::Checksum { .. })),
        "{err:?}"
    );
    assert!(err.to_string().contains("truncated or corrupt"), "{err}");

    // A truncated body: the connection closes before Content-Length bytes.
    server.set_mode(Mode::Truncated);
    let err = client.refresh().expect_err("truncated");
    assert!(
        matches!(
            err,
            ClientError::Transport { .. } | ClientError::Bundle(BundleError::Checksum { .. })
        ),
        "{err:?}"
    );

    // Bad JSON and an unknown schema, each under its own correct checksum.
    server.set_mode(Mode::Normal);
    server.set_body(b"{\"schema\":1,\n\"features\":");
    let err = client.refresh().expect_err("bad JSON");
    assert!(
        matches!(err, ClientError::Bundle(BundleError::Json { line: 2, .. })),
        "{err:?}"
    );
    server.set_body(br#"{"schema":2,"features":{},"everything":"different"}"#);
    let err = client.refresh().expect_err("unknown schema");
    assert!(
        matches!(err, ClientError::Bundle(BundleError::Schema { .. })),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("unknown bundle schema version 2"),
        "{err}"
    );

    // A body that does not match the ETag it came with.
    server.set_body_claiming(&next, b"another bundle");
    let err = client.refresh().expect_err("mismatch");
    assert!(
        matches!(err, ClientError::Bundle(BundleError::Checksum { .. })),
        "{err:?}"
    );

    // An error status.
    server.set_mode(Mode::Status(500));
    let err = client.refresh().expect_err("500");
    assert!(
        matches!(err, ClientError::Status { status: 500, .. }),
        "{err:?}"
    );

    // Through all of it, the first bundle answered.
    let status = client.status();
    assert_eq!(status.sha256.as_deref(), Some(good_sha.as_str()));
    assert_eq!(value(&client, "acct-9", "new-ui"), FALSE);
    assert_eq!(status.updates, 1);

    // And a good bundle is taken again.
    server.set_mode(Mode::Normal);
    server.set_body(&next);
    assert!(matches!(client.refresh(), Ok(Refresh::Updated { .. })));
    assert_eq!(value(&client, "acct-9", "new-ui"), TRUE);
    assert_eq!(client.status().last_error, None);
}

#[test]
fn without_a_checksum_etag_the_client_reads_the_published_sha256() {
    let body = bundle(false);
    let server = Server::start(&body);
    server.set_mode(Mode::NoEtag);
    let client = Client::builder(server.url())
        .poll_in_background(false)
        .start();
    assert!(matches!(client.refresh(), Ok(Refresh::Updated { .. })));
    assert_eq!(client.refresh(), Ok(Refresh::Unchanged));
    let paths: Vec<String> = server.log().into_iter().map(|l| l.path).collect();
    assert_eq!(
        paths,
        [
            "/flags.json",
            "/flags.json.sha256",
            "/flags.json",
            "/flags.json.sha256"
        ]
    );
    // A body that does not hash to the published sha256 is refused.
    server.set_body_claiming(&bundle(true), &body);
    let err = client.refresh().expect_err("mismatch");
    assert!(
        matches!(err, ClientError::Bundle(BundleError::Checksum { .. })),
        "{err:?}"
    );
}

#[test]
fn the_background_poller_revalidates_and_picks_up_changes() {
    let first = bundle(false);
    let server = Server::start(&first);
    let client = Client::builder(server.url())
        .ttl(Duration::from_millis(50))
        .jitter(0.5)
        .start();
    assert!(client.wait_ready(Duration::from_secs(10)), "first fetch");
    assert_eq!(value(&client, "acct-9", "new-ui"), FALSE);
    eventually("two 304s", || client.status().not_modified >= 2);
    server.set_body(&bundle(true));
    eventually("the new bundle is in use", || {
        value(&client, "acct-9", "new-ui") == TRUE
    });
    client.shutdown();
    let requests = server.log().len();
    std::thread::sleep(Duration::from_millis(150));
    assert_eq!(server.log().len(), requests, "no polling after shutdown");
}

/// A fixed clock, to test `active_from` through the client.
struct At(Moment);

impl Clock for At {
    fn now(&self) -> glassroom::flags::Timestamp {
        self.0.0
    }
}

#[test]
fn the_client_bootstraps_from_a_file_and_uses_its_clock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("flags.json");
    let body = bundle(false);
    std::fs::write(&file, &body).expect("write");
    std::fs::write(
        dir.path().join("flags.json.sha256"),
        format!("{}\n", sha256_hex(&body)),
    )
    .expect("write");
    // Nothing listens on this port: the client must still answer from the file.
    let down = Server::start(b"{}");
    let url = down.url();
    down.shut_down();
    let before = Arc::new(At("2026-11-30".parse().expect("moment")));
    let client = Client::builder(&url)
        .bootstrap_file(&file)
        .clock(before)
        .poll_in_background(false)
        .start();
    assert_eq!(value(&client, "acct-1", "new-ui"), TRUE);
    assert_eq!(
        value(&client, "acct-9", "launch"),
        FALSE,
        "not yet launched"
    );
    assert!(client.refresh().is_err());
    assert_eq!(
        value(&client, "acct-1", "new-ui"),
        TRUE,
        "still the file's data"
    );
    let status = client.status();
    assert_eq!(
        status.source.as_deref(),
        Some(file.display().to_string().as_str())
    );

    let after = Arc::new(At("2026-12-01T00:00:00Z".parse().expect("moment")));
    let client = Client::builder(&url)
        .bootstrap_file(&file)
        .clock(after)
        .poll_in_background(false)
        .start();
    assert_eq!(value(&client, "acct-9", "launch"), TRUE, "launched");
    assert_eq!(
        client.evaluate("acct-9", "launch", None).decided_by,
        "fully active"
    );

    // A file that does not match its checksum is not used.
    std::fs::write(&file, bundle(true)).expect("write");
    let client = Client::builder(&url)
        .bootstrap_file(&file)
        .poll_in_background(false)
        .start();
    assert_eq!(client.status().sha256, None);
    let err = client.status().last_error.expect("an error");
    assert!(err.to_string().contains("checksum mismatch"), "{err}");
    assert_eq!(value(&client, "acct-1", "new-ui"), FALSE, "defaults");
}

fn build_example(out: &Path) {
    let result = run(&[
        "build",
        root().join("content-example").to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
    ]);
    assert_eq!(result.code, Some(0), "stderr:\n{}", result.stderr);
}

#[test]
fn build_writes_the_bundle_its_checksum_and_an_immutable_copy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    build_example(&out);
    let json = std::fs::read(out.join("flags.json")).expect("flags.json");
    let sha = std::fs::read_to_string(out.join("flags.json.sha256")).expect("checksum");
    assert_eq!(sha, format!("{}\n", sha256_hex(&json)));
    let copy = std::fs::read(out.join(format!("flags/{}.json", sha.trim()))).expect("copy");
    assert_eq!(copy, json);
    let bundle = Bundle::from_json("flags.json", &json).expect("a bundle");
    assert_eq!(bundle.schema, 1);
    assert_eq!(bundle.features.len(), 11);
    assert_eq!(bundle.account_sets.len(), 4);
    assert_eq!(bundle.accounts["acct-1001"], ["beta-testers"]);
    assert_eq!(bundle.to_canonical_json(), json, "written canonically");
    assert!(!json.contains(&b'\n') && !json.starts_with(b"{ "));

    // The same content gives the same bytes, build after build.
    let again = dir.path().join("again");
    build_example(&again);
    assert_eq!(
        std::fs::read(again.join("flags.json")).expect("again"),
        json
    );
}

/// `glassroom flags eval ARGS... --repo content-example`.
fn eval(args: &[&str]) -> crate::support::Run {
    let repo = root().join("content-example");
    let mut all = vec!["flags", "eval"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--repo", repo.to_str().expect("utf-8")]);
    run(&all)
}

#[test]
fn flags_eval_answers_with_its_reason() {
    let out = eval(&["acct-1001", "new-checkout"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, "true  (account set beta-testers)\n");

    let out = eval(&["acct-1003", "new-checkout", "--explain"]);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("acct-1003 × new-checkout (boolean)"),
        "{}",
        out.stdout
    );
    assert!(lines[1].starts_with("→ override"), "{}", out.stdout);
    assert!(
        lines[2].contains("`beta-testers`, which gives true"),
        "{}",
        out.stdout
    );
    assert_eq!(lines.last(), Some(&"false  (override)"));

    let out = eval(&["acct-9999", "search-page-size", "--default", "30"]);
    assert_eq!(out.stdout, "30  (caller's default)\n");
    assert_eq!(
        eval(&["acct-9999", "express-shipping"]).stdout,
        "true  (fully active)\n"
    );
    assert_eq!(
        eval(&["acct-9999", "checkout-variant"]).stdout,
        "\"classic\"  (feature default)\n"
    );
    // One-click reorder is rolled out to 25%: acct-9001 is in bucket 736 (inside),
    // acct-9002 in bucket 7975 (outside).
    assert_eq!(
        eval(&["acct-9001", "one-click-reorder"]).stdout,
        "true  (rollout)\n"
    );
    assert_eq!(
        eval(&["acct-9002", "one-click-reorder"]).stdout,
        "false  (feature default)\n"
    );
    // Gift cards are fully active from 2026-12-01T06:00Z.
    let at = |now: &str| eval(&["acct-9001", "gift-cards", "--now", now]).stdout;
    assert_eq!(at("2026-12-01T05:59:59Z"), "false  (feature default)\n");
    assert_eq!(at("2026-12-01T06:00:00Z"), "true  (fully active)\n");

    let out = eval(&["acct-1", "express-shiping", "--format", "json"]);
    assert_eq!(out.code, Some(1), "an unknown feature is a finding");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(json["value"], false);
    assert_eq!(json["decided_by"], "no such feature");
    assert!(
        out.stderr.contains("did you mean `express-shipping`?"),
        "{}",
        out.stderr
    );
}

#[test]
fn flags_eval_reads_a_built_bundle_or_a_served_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    build_example(&out);
    let file = out.join("flags.json");
    let file = file.to_str().expect("utf-8");
    let result = run(&[
        "flags",
        "eval",
        "acct-2002",
        "search-page-size",
        "--bundle",
        file,
    ]);
    assert_eq!(result.stdout, "100  (override)\n");

    let server = Server::start(&std::fs::read(file).expect("bundle"));
    let url = server.url();
    let result = run(&[
        "flags",
        "eval",
        "acct-2001",
        "search-page-size",
        "--bundle",
        &url,
    ]);
    assert_eq!(
        result.stdout, "50  (account set enterprise)\n",
        "{}",
        result.stderr
    );

    // A corrupt copy is refused, naming the file.
    std::fs::write(out.join("flags.json"), b"{\"schema\":1}").expect("write");
    let result = run(&[
        "flags",
        "eval",
        "acct-2002",
        "search-page-size",
        "--bundle",
        file,
    ]);
    assert_eq!(result.code, Some(2));
    assert!(
        result.stderr.contains("checksum mismatch"),
        "{}",
        result.stderr
    );
}

#[test]
fn check_warns_when_an_accounts_sets_disagree() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("tests/bad/base"), dir.path());
    std::fs::write(
        dir.path().join("flags/account_sets/alpha.yaml"),
        "accounts: [acct-2, acct-5]\nfeatures:\n  page-size: 10\n  new-ui: true\n",
    )
    .expect("write");
    let out = run(&[
        "check",
        "--format",
        "short",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(
        out.code,
        Some(0),
        "a warning, not an error:\n{}",
        out.stderr
    );
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains(": warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].starts_with("flags/account_sets/beta.yaml:4:14: warning: `page-size` is 50 here, but account `acct-2` is also in `alpha`, where it is 10"),
        "{}",
        warnings[0]
    );
}

/// docs/flags.schema.json describes what a build writes: the same required top-level
/// keys, and every key a feature or account set carries is one the schema declares.
#[test]
fn the_documented_schema_matches_the_bundle() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("docs/flags.schema.json")).expect("schema"),
    )
    .expect("JSON");
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("site");
    build_example(&out);
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("flags.json")).expect("bundle"))
            .expect("JSON");
    let keys = |value: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = value
            .as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default();
        keys.sort();
        keys
    };
    let mut required: Vec<String> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .map(|v| v.as_str().expect("text").to_owned())
        .collect();
    required.sort();
    assert_eq!(required, keys(&bundle));
    assert_eq!(keys(&schema["properties"]), keys(&bundle));
    assert_eq!(schema["properties"]["schema"]["const"], bundle["schema"]);
    let feature_keys = keys(&schema["$defs"]["feature"]["properties"]);
    let mut seen = std::collections::BTreeSet::new();
    for feature in bundle["features"].as_object().expect("features").values() {
        seen.extend(keys(feature));
    }
    let seen: Vec<String> = seen.into_iter().collect();
    assert_eq!(seen, feature_keys, "the example uses every feature field");
    let set_keys =
        keys(&schema["properties"]["account_sets"]["additionalProperties"]["properties"]);
    for set in bundle["account_sets"].as_object().expect("sets").values() {
        assert!(keys(set).iter().all(|k| set_keys.contains(k)), "{set}");
    }
}

#[test]
fn a_server_that_does_not_answer_times_out_and_the_data_stays() {
    // Accepts a connection and does not answer for a second.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/flags.json", listener.local_addr().expect("addr"));
    let silent = std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            std::thread::sleep(Duration::from_secs(1));
            drop(stream);
        }
    });
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("flags.json");
    std::fs::write(&file, bundle(false)).expect("write");
    let client = Client::builder(&url)
        .timeout(Duration::from_millis(200))
        .bootstrap_file(&file)
        .poll_in_background(false)
        .start();
    let started = Instant::now();
    let err = client.refresh().expect_err("no answer");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().to_lowercase().contains("timeout") || err.to_string().contains("timed out"),
        "{err}"
    );
    assert_eq!(value(&client, "acct-1", "new-ui"), TRUE);
    let _ = silent.join();
}
