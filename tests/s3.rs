//! The `s3:` sync target against a real S3-compatible server on 127.0.0.1: moto's
//! `moto_server`, whose path the environment gives in `GLASSROOM_S3_SERVER` (skipped
//! without it, unless `GLASSROOM_REQUIRE_S3=1`, as in `.ci/run`).

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{Attribute, GetOptions, ObjectStore, ObjectStoreExt};

use crate::support::{GitRepo, Run, glassroom};
use crate::sync::example;

const BUCKET: &str = "ops-site";

struct Server {
    child: Child,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh server with the bucket made, or `None` (the test is skipped) without one.
fn server() -> Option<Server> {
    server_with(None)
}

/// Like [`server`], checking credentials: moto answers the first `actions` requests
/// without (the bucket, then a user, its key and its S3 policy, made here), and every
/// later one only with that key.
fn server_with(actions: Option<u32>) -> Option<Server> {
    let Some(command) = std::env::var_os("GLASSROOM_S3_SERVER").filter(|c| !c.is_empty()) else {
        assert!(
            std::env::var("GLASSROOM_REQUIRE_S3").as_deref() != Ok("1"),
            "GLASSROOM_REQUIRE_S3=1 but GLASSROOM_S3_SERVER is not set: point it at moto_server \
             (python3 -m venv /tmp/motovenv && /tmp/motovenv/bin/pip install 'moto[server]')"
        );
        eprintln!(
            "skipped: set GLASSROOM_S3_SERVER to the path of moto_server to run the S3 tests"
        );
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = Command::new(&command);
    if let Some(actions) = actions {
        child.env("INITIAL_NO_AUTH_ACTION_COUNT", actions.to_string());
    }
    let child = child
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|err| panic!("cannot start {}: {err}", command.to_string_lossy()));
    let server = Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the S3 server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let made = crate::serve::server::client()
        .put(format!("{}/{BUCKET}", server.endpoint))
        .send()
        .expect("create the bucket");
    assert!(
        made.status().is_success(),
        "create bucket: {}",
        made.status()
    );
    Some(server)
}

/// A user of the server's IAM allowed `s3:*`: its access key and secret.
fn iam_user(server: &Server) -> (String, String) {
    let call = |params: &[(&str, &str)]| -> String {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().copied().chain([("Version", "2010-05-08")]))
            .finish();
        crate::serve::server::client()
            .post(format!("{}/", server.endpoint))
            // Unsigned (moto counts it among the first actions), naming the service.
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=x/20261206/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .and_then(|r| r.text())
            .expect("an IAM call")
    };
    call(&[("Action", "CreateUser"), ("UserName", "sync")]);
    let key = call(&[("Action", "CreateAccessKey"), ("UserName", "sync")]);
    let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    call(&[
        ("Action", "PutUserPolicy"),
        ("UserName", "sync"),
        ("PolicyName", "publish"),
        ("PolicyDocument", policy),
    ]);
    let field = |name: &str| {
        let open = format!("<{name}>");
        let start = key.find(&open).expect(name) + open.len();
        let end = start + key[start..].find('<').expect(name);
        key[start..end].to_owned()
    };
    (field("AccessKeyId"), field("SecretAccessKey"))
}

fn store(server: &Server) -> AmazonS3 {
    store_as(server, "test", "test")
}

fn store_as(server: &Server, key: &str, secret: &str) -> AmazonS3 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    AmazonS3Builder::new()
        .with_endpoint(&server.endpoint)
        .with_allow_http(true)
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_access_key_id(key)
        .with_secret_access_key(secret)
        .build()
        .expect("a client")
}

fn block<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(future)
}

/// The example publishing to the server's bucket under `ops/`.
fn repo(server: &Server) -> GitRepo {
    example(&format!(
        "sync:\n  targets:\n    - name: cdn\n      s3: {{ bucket: {BUCKET}, prefix: ops, endpoint: \"{}\", path_style: true }}\n",
        server.endpoint
    ))
}

fn sync(repo: &GitRepo, key: &str) -> Run {
    sync_as(repo, key, "test")
}

fn sync_as(repo: &GitRepo, key: &str, secret: &str) -> Run {
    glassroom()
        .args(["sync", "--now", repo.path_str()])
        .env("NO_COLOR", "1")
        .env("HOME", repo.path())
        .env("AWS_ACCESS_KEY_ID", key)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("glassroom runs")
        .into()
}

/// `uploaded N objects` and `deleted N` from a successful sync's output.
fn counts(run: &Run) -> (usize, usize) {
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    let number = |after: &str| {
        let at = run
            .stdout
            .find(after)
            .unwrap_or_else(|| panic!("no `{after}` in {}", run.stdout));
        run.stdout[at + after.len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a number")
    };
    (number("uploaded "), number("deleted "))
}

/// The bucket's manifest (path → sha256).
fn manifest(store: &AmazonS3) -> BTreeMap<String, String> {
    let bytes = block(async {
        store
            .get(&Key::from("ops/.glassroom-manifest.json"))
            .await
            .expect("the manifest")
            .bytes()
            .await
            .expect("its bytes")
    });
    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    json["files"]
        .as_object()
        .expect("files")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
        .collect()
}

/// Every key under `ops/`.
fn keys(store: &AmazonS3) -> Vec<String> {
    block(async {
        let prefix = Key::from("ops");
        let mut keys: Vec<String> = store
            .list(Some(&prefix))
            .map(|meta| meta.expect("a listing").location.to_string())
            .collect()
            .await;
        keys.sort();
        keys
    })
}

fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> usize {
    after
        .iter()
        .filter(|(p, s)| before.get(*p) != Some(*s))
        .count()
}

#[test]
fn an_s3_target_uploads_only_what_changed_with_a_cdns_headers() {
    let Some(server) = server() else { return };
    let store = store(&server);
    let repo = repo(&server);

    // First publication: everything, and the bucket holds exactly the manifest's files.
    let (uploaded, deleted) = counts(&sync(&repo, "test"));
    let first = manifest(&store);
    assert_eq!((uploaded, deleted), (first.len(), 0));
    assert!(first.len() > 100 && first.contains_key("index.html"));
    let mut expected: Vec<String> = first.keys().map(|p| format!("ops/{p}")).collect();
    expected.push("ops/.glassroom-manifest.json".into());
    expected.sort();
    assert_eq!(keys(&store), expected);

    // Headers read back: types, caching, the sha256, and a 304 on the stored ETag.
    let bundle = first
        .keys()
        .find(|p| p.starts_with("flags/") && p.ends_with(".json"))
        .expect("an immutable bundle")
        .clone();
    for (path, content_type, cache) in [
        ("index.html", "text/html; charset=utf-8", "no-cache"),
        ("flags.json", "application/json", "no-cache"),
        ("flags.json.sha256", "text/plain; charset=utf-8", "no-cache"),
        (
            bundle.as_str(),
            "application/json",
            "public, max-age=31536000, immutable",
        ),
    ] {
        let key = Key::parse(format!("ops/{path}")).expect("a key");
        let got = block(async { store.get(&key).await.expect("the object") });
        let attribute = |a: &Attribute| got.attributes.get(a).map(|v| v.as_ref().to_owned());
        assert_eq!(
            attribute(&Attribute::ContentType).as_deref(),
            Some(content_type),
            "{path}"
        );
        assert_eq!(
            attribute(&Attribute::CacheControl).as_deref(),
            Some(cache),
            "{path}"
        );
        assert_eq!(
            attribute(&Attribute::Metadata("sha256".into())).as_ref(),
            first.get(path),
            "{path}"
        );
        let etag = got.meta.e_tag.clone().expect("an ETag");
        let again = block(async {
            store
                .get_opts(
                    &key,
                    GetOptions {
                        if_none_match: Some(etag),
                        ..GetOptions::default()
                    },
                )
                .await
        });
        assert!(
            matches!(again, Err(object_store::Error::NotModified { .. })),
            "{path}: {again:?}"
        );
    }

    // Unchanged: nothing uploaded (forced syncs push anyway; the bucket target skips).
    assert_eq!(counts(&sync(&repo, "test")), (0, 0));

    // One host's owner: only the objects whose bytes changed.
    let path = repo.path().join("hosts/web1.yaml");
    let yaml = std::fs::read_to_string(&path).expect("host");
    let yaml: Vec<String> = yaml
        .lines()
        .map(|l| {
            if l.starts_with("owner:") {
                "owner: bob".to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect();
    std::fs::write(&path, yaml.join("\n") + "\n").expect("write host");
    repo.commit("web1 belongs to bob", Some("alice"));
    let (uploaded, deleted) = counts(&sync(&repo, "test"));
    let second = manifest(&store);
    assert_eq!((uploaded, deleted), (changed(&first, &second), 0));
    // (Its page, the pages and feeds that list it, the audit trail: not the site.)
    assert!(
        uploaded > 0 && uploaded < first.len() / 5,
        "{uploaded} objects for one host"
    );

    // A news item removed: its page is deleted from the bucket, after the rest.
    let page = "news/2026-10-01-ops-site-live.html";
    assert!(second.contains_key(page));
    std::fs::remove_file(repo.path().join("news/2026-10-01-ops-site-live.md")).expect("rm");
    repo.git(&["add", "-A"]);
    repo.commit("Drop old news", Some("alice"));
    let (_, deleted) = counts(&sync(&repo, "test"));
    let third = manifest(&store);
    assert!(deleted >= 1 && !third.contains_key(page));
    assert!(!keys(&store).contains(&format!("ops/{page}")));
    assert_eq!(keys(&store).len(), third.len() + 1);
}

#[test]
fn a_killed_s3_publication_resumes_without_uploading_again() {
    let Some(server) = server() else { return };
    let store = store(&server);
    let repo = repo(&server);
    let progress = repo.path().join(".git/glassroom/s3-cdn.json");
    let uploaded_so_far = || -> usize {
        std::fs::read(&progress)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
            .and_then(|v| v["unfinished"]["uploaded"].as_object().map(|m| m.len()))
            .unwrap_or(0)
    };
    let mut child = glassroom()
        .args(["sync", "--now", repo.path_str()])
        .env("HOME", repo.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sync --now");
    let started = Instant::now();
    while uploaded_so_far() == 0 && started.elapsed() < Duration::from_secs(60) {
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "the sync ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    let before = uploaded_so_far();
    assert!(before > 0);
    // Nothing readers start from is there yet: it goes last.
    assert!(!keys(&store).contains(&"ops/index.html".to_owned()));
    let status = repo.glassroom(&["sync", "--status", repo.path_str()]);
    assert!(
        status.stdout.contains("waits: the publication of"),
        "{}",
        status.stdout
    );

    let run = sync(&repo, "test");
    let (uploaded, _) = counts(&run);
    assert!(run.stdout.contains("resuming"), "{}", run.stdout);
    let all = manifest(&store);
    assert_eq!(
        uploaded + before,
        all.len(),
        "what was uploaded is not uploaded again"
    );
    assert_eq!(keys(&store).len(), all.len() + 1);
    assert_eq!(counts(&sync(&repo, "test")), (0, 0));
}

/// `--status` shows the bucket target's last publication.
#[test]
fn sync_status_shows_the_bucket_target() {
    let Some(server) = server() else { return };
    let repo = repo(&server);
    let (uploaded, _) = counts(&sync(&repo, "test"));
    let status = repo.glassroom(&["sync", "--status", repo.path_str()]);
    assert!(
        status
            .stdout
            .contains("s3://ops-site/ops/ at http://127.0.0.1:")
            && status.stdout.contains(&format!(
                "bucket: {uploaded} objects from {}",
                &repo.git(&["rev-parse", "HEAD"])[..10]
            ))
            && !status.stdout.contains("waits:"),
        "{}",
        status.stdout
    );
    let json = repo.glassroom(&["sync", "--status", repo.path_str(), "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(
        json["targets"][0]["bucket"]["published"]["objects"].as_u64(),
        Some(uploaded as u64)
    );
}

#[test]
fn wrong_credentials_are_a_clear_error_and_change_nothing() {
    let Some(server) = server_with(Some(4)) else {
        return;
    };
    let (key, secret) = iam_user(&server);
    let store = store_as(&server, &key, &secret);
    let repo = repo(&server);

    let wrong = sync_as(&repo, "AKIAWRONGWRONGWRONG0", "not-the-secret");
    assert_eq!(wrong.code, Some(2), "{}{}", wrong.stdout, wrong.stderr);
    let said = format!("{}{}", wrong.stdout, wrong.stderr);
    assert!(
        said.contains("check the credentials in the environment")
            && said.contains("AWS_ACCESS_KEY_ID"),
        "{said}"
    );
    assert!(
        keys(&store).is_empty(),
        "nothing is written with wrong credentials"
    );

    let (uploaded, _) = counts(&sync_as(&repo, &key, &secret));
    assert_eq!(keys(&store).len(), uploaded + 1);
    let before = manifest(&store);
    // A change refused for wrong credentials leaves the bucket as it was.
    std::fs::remove_file(repo.path().join("news/2026-10-01-ops-site-live.md")).expect("rm");
    repo.git(&["add", "-A"]);
    repo.commit("Drop old news", Some("alice"));
    let wrong = sync_as(&repo, &key, "not-the-secret");
    assert_eq!(wrong.code, Some(2), "{}{}", wrong.stdout, wrong.stderr);
    assert_eq!(manifest(&store), before);
    assert_eq!(keys(&store).len(), before.len() + 1);

    // Without a key in the environment, the AWS shared credentials file's profile.
    let aws = tempfile::tempdir().expect("temp dir");
    let credentials = aws.path().join("credentials");
    std::fs::write(
        &credentials,
        format!("[default]\naws_access_key_id = wrong\n\n[publish]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"),
    )
    .expect("write credentials");
    let run: Run = glassroom()
        .args(["sync", "--now", repo.path_str()])
        .env("HOME", repo.path())
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_PROFILE", "publish")
        .output()
        .expect("glassroom runs")
        .into();
    let (_, deleted) = counts(&run);
    assert!(deleted >= 1);
    assert_ne!(manifest(&store), before);
}
