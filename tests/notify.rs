//! `glassroom notify`: events from signed changes and from time alone, delivered to a
//! command and a webhook (checked with its HMAC), each once.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::support::GitRepo;
use crate::sync::example;

/// The JSON lines the command channel appended to `log`.
fn received(log: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A webhook receiver on 127.0.0.1: each request's signature header and body.
/// Each request's signature header and body.
type Requests = Arc<Mutex<Vec<(String, String)>>>;

fn receiver() -> (u16, Requests) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let keep = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut data = Vec::new();
            let mut buf = [0u8; 8192];
            // Read the head, then as many body bytes as Content-Length says.
            loop {
                let n = stream.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                data.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&data).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length: usize = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if data.len() >= end + 4 + length {
                        let signature = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .starts_with("x-glassroom-signature:")
                                    .then(|| l[22..].trim().to_owned())
                            })
                            .unwrap_or_default();
                        let body = String::from_utf8_lossy(&data[end + 4..end + 4 + length]);
                        keep.lock().unwrap().push((signature, body.into_owned()));
                        let _ = stream.write_all(
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                        );
                        break;
                    }
                }
            }
        }
    });
    (port, got)
}

fn repo_with(port: u16, log: &Path) -> GitRepo {
    example(&format!(
        "notify:\n  command: [sh, -c, 'cat >> {}; echo >> {}']\n  webhooks:\n    - name: chat\n      url: http://127.0.0.1:{port}/hook\n      secret_env: GLASSROOM_TEST_HOOK_SECRET\n",
        log.display(),
        log.display()
    ))
}

fn notify(repo: &GitRepo, now: &str) -> crate::support::Run {
    let run: crate::support::Run = crate::support::glassroom()
        .args(["notify", "--once", repo.path_str(), "--now", now])
        .env("HOME", repo.key("alice").parent().unwrap())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GLASSROOM_TEST_HOOK_SECRET", "s3cret")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(0), "{run:#?}");
    run
}

const TICKET: &str = "---\ntitle: \"Checkout times out\"\nkind: bug\nmodule: web-frontend\npriority: high\nstatus: open\nreporter: carol\nassignee: bob\nopened: 2026-11-19T13:00:00Z\n---\nIt times out.\n";

#[test]
fn a_signed_ticket_is_told_once_to_the_command_and_the_webhook_and_an_unsigned_one_never() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let (port, hooks) = receiver();
    let repo = repo_with(port, &log);
    let now = "2026-11-20T12:00:00Z";
    let first = notify(&repo, now);
    assert!(first.stdout.contains("first run"), "{first:#?}");
    assert!(received(&log).is_empty(), "the first run tells no one");

    repo.write("tickets/checkout-timeout.md", TICKET);
    repo.commit("Unsigned ticket", None);
    notify(&repo, now);
    assert!(
        received(&log).is_empty(),
        "an unsigned change notifies no one"
    );

    // Signing a later commit does not approve an earlier unsigned change: the signed
    // commit writes the file itself.
    repo.write(
        "tickets/checkout-timeout.md",
        &TICKET.replace("It times out.", "It times out at 30s."),
    );
    repo.commit("Sign the ticket", Some("alice"));
    let signed = notify(&repo, now);
    notify(&repo, now);
    let got = received(&log);
    assert!(signed.stderr.contains("notify: sent"), "{signed:#?}");
    let kinds: Vec<&str> = got.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    // A high-priority open ticket is also an alert.
    assert_eq!(
        kinds,
        ["ticket_opened", "ticket_assigned", "alert_raised"],
        "{got:#?}"
    );
    assert_eq!(
        got[0]["url"],
        "https://ops.example.org/tickets/checkout-timeout.html"
    );
    assert_eq!(got[1]["recipients"][0], "bob");
    let hooks = hooks.lock().unwrap().clone();
    assert_eq!(hooks.len(), 3, "{hooks:#?}");
    for (signature, body) in &hooks {
        let expected = format!(
            "sha256={}",
            glassroom::notify::deliver::webhook::hmac_sha256_hex(b"s3cret", body.as_bytes())
        );
        assert_eq!(signature, &expected);
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(
            json["text"]
                .as_str()
                .unwrap()
                .contains("Checkout times out")
        );
    }
}

#[test]
fn a_certificate_entering_its_critical_window_is_told_once_without_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("events.jsonl");
    let (port, _hooks) = receiver();
    let repo = repo_with(port, &log);
    // intranet-example-org expires on 2026-12-10: critical from 2026-12-03.
    notify(&repo, "2026-12-02T12:00:00Z");
    notify(&repo, "2026-12-03T12:00:00Z");
    notify(&repo, "2026-12-03T13:00:00Z");
    let about: Vec<serde_json::Value> = received(&log)
        .into_iter()
        .filter(|e| e["subject"] == "certificate/intranet-example-org")
        .collect();
    assert_eq!(about.len(), 1, "{about:#?}");
    assert_eq!(about[0]["kind"], "alert_escalated");
}
