//! `glassroom serve` and `glassroom log` over real HTTP on 127.0.0.1: validators and
//! `304`s for every file, compression, traversal and malformed requests, slow clients,
//! atomic swaps under a request stream, the live preview, and robots' logbook entries
//! committed to a real signed repository.

mod intake_crash;
pub(crate) mod server;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use glassroom::flags::{Client, Refresh, sha256_hex};
use reqwest::StatusCode;
use reqwest::header::{
    ACCEPT_ENCODING, AUTHORIZATION, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE,
    ETAG, IF_NONE_MATCH, LOCATION, VARY,
};
use serde_json::{Value, json};
use server::{Served, client, connect_from, eventually, is_closed, raw, raw_get, timed_get};

use crate::support::{GitRepo, copy_tree, root, run};

const TOKEN: &str = "robot-token-for-tests";
const HUMAN_TOKEN: &str = "a-token-given-to-a-person";

/// A small valid repository (tests/bad/base) built into `dir/public`.
fn built_site(dir: &Path) -> std::path::PathBuf {
    let repo = dir.join("repo");
    copy_tree(&root().join("tests/bad/base"), &repo);
    let out = dir.join("public");
    let built = run(&[
        "build",
        repo.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
        "--now",
        "2026-11-22",
    ]);
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    out
}

fn quoted_sha(bytes: &[u8]) -> String {
    format!("\"{}\"", sha256_hex(bytes))
}

fn header(response: &reqwest::blocking::Response, name: reqwest::header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_file_has_a_strong_etag_revalidates_to_304_and_answers_head() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let http = client();

    let mut kinds = BTreeSet::new();
    let mut checked = 0;
    for entry in walkdir::WalkDir::new(&out) {
        let entry = entry.expect("walk");
        if !entry.file_type().is_file() || entry.file_name() == ".glassroom-site" {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(&out)
            .expect("inside")
            .to_str()
            .expect("utf-8")
            .to_owned();
        let on_disk = std::fs::read(entry.path()).expect("read");
        let url = served.url(&format!("/{relative}"));

        let response = http.get(&url).send().expect("GET");
        assert_eq!(response.status(), StatusCode::OK, "{relative}");
        let etag = header(&response, ETAG);
        let content_type = header(&response, CONTENT_TYPE);
        let cache = header(&response, CACHE_CONTROL);
        let body = response.bytes().expect("body");
        assert_eq!(&body[..], &on_disk[..], "{relative}");
        assert_eq!(
            etag,
            quoted_sha(&on_disk),
            "{relative}: the ETag is the sha256"
        );
        if relative.starts_with("flags/") && relative.ends_with(".json") {
            assert_eq!(cache, "public, max-age=31536000, immutable", "{relative}");
        } else {
            assert_eq!(cache, "no-cache", "{relative}");
        }
        let extension = relative.rsplit('.').next().unwrap_or_default().to_owned();
        let expected_type = match extension.as_str() {
            "html" => "text/html; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            "json" => "application/json",
            "sha256" => "text/plain; charset=utf-8",
            "atom" => "application/atom+xml",
            "ics" => "text/calendar; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("{relative}: a file kind this test does not know: {other}"),
        };
        assert_eq!(content_type, expected_type, "{relative}");
        kinds.insert(extension);

        let revalidated = http
            .get(&url)
            .header(IF_NONE_MATCH, &etag)
            .send()
            .expect("conditional GET");
        assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED, "{relative}");
        assert_eq!(header(&revalidated, ETAG), etag);
        assert!(revalidated.bytes().expect("body").is_empty());

        let head = http.head(&url).send().expect("HEAD");
        assert_eq!(head.status(), StatusCode::OK, "{relative}");
        assert_eq!(header(&head, ETAG), etag);
        assert_eq!(header(&head, CONTENT_LENGTH), on_disk.len().to_string());
        assert!(head.bytes().expect("body").is_empty());
        checked += 1;
    }
    assert!(checked > 50, "only {checked} files");
    for kind in ["html", "css", "js", "json", "sha256", "atom", "ics"] {
        assert!(
            kinds.contains(kind),
            "no {kind} file was checked: {kinds:?}"
        );
    }

    // The bundle's ETag is the published checksum, and the content-addressed copy has it too.
    let sha = std::fs::read_to_string(out.join("flags.json.sha256")).expect("sha256 file");
    let bundle = http.get(served.url("/flags.json")).send().expect("GET");
    assert_eq!(header(&bundle, ETAG), format!("\"{}\"", sha.trim()));
    let copy = http
        .get(served.url(&format!("/flags/{}.json", sha.trim())))
        .send()
        .expect("GET");
    assert_eq!(header(&copy, ETAG), format!("\"{}\"", sha.trim()));
}

#[test]
fn gzip_and_brotli_are_negotiated_and_decode_to_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let http = client();
    let page = std::fs::read(out.join("index.html")).expect("index");
    let etag = quoted_sha(&page);

    let br = http
        .get(served.url("/"))
        .header(ACCEPT_ENCODING, "gzip, deflate, br")
        .send()
        .expect("GET");
    assert_eq!(header(&br, CONTENT_ENCODING), "br");
    assert_eq!(header(&br, VARY), "accept-encoding");
    assert_eq!(header(&br, ETAG), etag, "the ETag names the content");
    let compressed = br.bytes().expect("body");
    assert!(compressed.len() < page.len());
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut decoded)
        .expect("valid brotli");
    assert_eq!(decoded, page);

    let gz = http
        .get(served.url("/index.html"))
        .header(ACCEPT_ENCODING, "gzip")
        .send()
        .expect("GET");
    assert_eq!(header(&gz, CONTENT_ENCODING), "gzip");
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz.bytes().expect("body")[..])
        .read_to_end(&mut decoded)
        .expect("valid gzip");
    assert_eq!(decoded, page);

    let plain = http
        .get(served.url("/"))
        .header(ACCEPT_ENCODING, "br;q=0, gzip;q=0")
        .send()
        .expect("GET");
    assert_eq!(header(&plain, CONTENT_ENCODING), "");
    assert_eq!(plain.bytes().expect("body").to_vec(), page);

    // A 304 for a compressed representation, with the same validator.
    let revalidated = http
        .get(served.url("/"))
        .header(ACCEPT_ENCODING, "br")
        .header(IF_NONE_MATCH, &etag)
        .send()
        .expect("GET");
    assert_eq!(revalidated.status(), StatusCode::NOT_MODIFIED);
}

#[test]
fn directories_redirect_and_missing_files_get_the_sites_404_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let http = client();
    let redirect = http.get(served.url("/hosts?x=1")).send().expect("GET");
    assert_eq!(redirect.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&redirect, LOCATION), "/hosts/?x=1");
    let index = http.get(served.url("/hosts/")).send().expect("GET");
    assert_eq!(index.status(), StatusCode::OK);
    let missing = http
        .get(served.url("/no/such/page.html"))
        .send()
        .expect("GET");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let text = missing.text().expect("body");
    assert!(text.contains("<base href=\"/\">"), "{text}");
    let post = http.post(served.url("/index.html")).send().expect("POST");
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&post, reqwest::header::ALLOW), "GET, HEAD");
    // Without --accept-logbook, robots are told how to turn it on.
    let logbook = http
        .post(served.url("/logbook"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .json(&json!({"procedure": "rotate-logs"}))
        .send()
        .expect("POST");
    assert_eq!(logbook.status(), StatusCode::METHOD_NOT_ALLOWED);
    let error: Value = logbook.json().expect("JSON");
    assert!(
        error["help"]
            .as_str()
            .unwrap_or_default()
            .contains("--accept-logbook"),
        "{error}"
    );
}

#[test]
fn traversal_attempts_and_links_out_of_the_root_get_404() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP SECRET").expect("write");
    std::os::unix::fs::symlink(&secret, out.join("leak.txt")).expect("symlink");
    std::os::unix::fs::symlink(dir.path(), out.join("up")).expect("symlink");
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    for path in [
        "/../secret.txt",
        "/../../../../etc/passwd",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/hosts/%2e%2e/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/%252e%252e/secret.txt",
        "/..\\secret.txt",
        "/%5c..%5csecret.txt",
        "//etc/passwd",
        "/./index.html",
        "/index.html%00.txt",
        "/leak.txt",
        "/up/secret.txt",
        "/up/public/index.html",
        "/.glassroom-site",
        "/%ff%fe",
        "http://127.0.0.1/../secret.txt",
        "/etc/passwd",
    ] {
        let response = raw_get(served.addr, path);
        // hyper itself refuses a raw backslash in the request line (400).
        let refused = response.status == 404 || (path.contains('\\') && response.status == 400);
        assert!(refused, "{path}: {}", response.head);
        assert!(
            !String::from_utf8_lossy(&response.body).contains("TOP SECRET"),
            "{path}"
        );
    }
    // The server is unharmed.
    assert_eq!(raw_get(served.addr, "/index.html").status, 200);
}

#[test]
fn oversized_and_malformed_requests_are_refused_and_harm_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let addr = served.addr;

    let huge_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let response = raw(addr, huge_header.as_bytes());
    assert_eq!(response.status, 431, "{}", response.head);

    let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-H{i}: v\r\n"));
    }
    many.push_str("Connection: close\r\n\r\n");
    let response = raw(addr, many.as_bytes());
    assert_eq!(response.status, 431, "{}", response.head);

    let long_uri = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let response = raw(addr, long_uri.as_bytes());
    assert!(
        response.status == 414 || response.status == 431,
        "{}",
        response.head
    );

    for garbage in [
        &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 TLS hello\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST /logbook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let response = raw(addr, garbage);
        assert!(
            response.status == 0 || (400..500).contains(&response.status) || response.status == 505,
            "{:?} → {}",
            String::from_utf8_lossy(garbage),
            response.head
        );
    }
    // Still serving.
    let ok = raw_get(addr, "/flags.json");
    assert_eq!(ok.status, 200);
}

#[test]
fn slow_clients_are_cut_off_and_do_not_hold_the_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let served = Served::start(
        &["--root", out.to_str().expect("utf-8"), "--timeout", "1"],
        None,
    );
    // Slowloris: half a request line, then nothing.
    let mut slow = std::net::TcpStream::connect(served.addr).expect("connect");
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow:")
        .expect("write");
    slow.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let started = Instant::now();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(10),
        "a client that never finishes its headers was held for {waited:?}"
    );
    // An idle keep-alive connection is closed too.
    let mut idle = std::net::TcpStream::connect(served.addr).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let started = Instant::now();
    let mut nothing = Vec::new();
    let _ = idle.read_to_end(&mut nothing);
    assert!(started.elapsed() < Duration::from_secs(10));
    // A client that asks and never reads: once the socket buffers are full the server's
    // write stalls, and it gives up on the connection instead of waiting forever.
    let page = std::fs::read(out.join("index.html")).expect("index").len();
    let asks = 4000;
    let mut greedy = std::net::TcpStream::connect(served.addr).expect("connect");
    let request = "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n".repeat(asks);
    let _ = greedy.write_all(request.as_bytes());
    std::thread::sleep(Duration::from_secs(4));
    greedy
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut received = Vec::new();
    let _ = greedy.read_to_end(&mut received);
    assert!(
        received.len() < page * asks,
        "the server kept writing to a client that did not read"
    );
    // Meanwhile others are served at once.
    assert_eq!(raw_get(served.addr, "/").status, 200);
}

/// How many connections the attacker of the test below holds.
const ATTACK_CONNECTIONS: usize = 2500;

#[test]
fn one_client_holding_thousands_of_idle_connections_does_not_starve_another() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    // The defaults: 64 connections per client, 5 s to send a request head.
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let addr = served.addr;
    let attacker_ip: IpAddr = "127.0.0.2".parse().expect("an address");

    // The attacker opens its connections as fast as it can, sends nothing, and opens
    // again every one the server closes, until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let (opened_all, opened) = std::sync::mpsc::channel();
    let attacker = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            // A connection the server resets before `connect` returns is held as closed.
            // Each connection with when it was opened; one the server resets before
            // `connect` returns is held as closed.
            let mut held: Vec<Option<(std::net::TcpStream, Instant)>> =
                Vec::with_capacity(ATTACK_CONNECTIONS);
            let mut failed = None;
            let started = Instant::now();
            while held.len() < ATTACK_CONNECTIONS {
                match connect_from(attacker_ip, addr) {
                    Ok(stream) => held.push(Some((stream, Instant::now()))),
                    // Out of file descriptors: hold as many as we can.
                    Err(err) if matches!(err.raw_os_error(), Some(23 | 24)) => {
                        failed = Some(err.to_string());
                        break;
                    }
                    Err(_) => held.push(None),
                }
            }
            let _ = opened_all.send((held.len(), started.elapsed(), failed));
            // Then count, every 100 ms, how many the server keeps open, and open again
            // the ones it closed. Only connections opened a second ago or more are
            // counted: a newer one may still wait in the listen queue to be accepted.
            let mut most_alive = 0;
            let mut reopened = 0usize;
            while !stop.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_millis(100));
                let mut alive = 0;
                for slot in held.iter_mut() {
                    if let Some((stream, opened)) = slot.as_ref()
                        && !is_closed(stream)
                    {
                        alive += usize::from(opened.elapsed() >= Duration::from_secs(1));
                        continue;
                    }
                    *slot = connect_from(attacker_ip, addr)
                        .ok()
                        .map(|stream| (stream, Instant::now()));
                    reopened += 1;
                }
                most_alive = most_alive.max(alive);
            }
            (most_alive, reopened)
        })
    };

    // Meanwhile, and for 8 s after the attacker holds all its connections (so past an
    // idle timeout, when it reopens what was closed), a client on 127.0.0.1 asks for a
    // page every 100 ms.
    let mut latencies = Vec::new();
    let mut attacked = None;
    let mut until = Instant::now() + Duration::from_secs(120);
    while Instant::now() < until {
        let (response, took) = timed_get(addr, "/flags.json");
        assert!(
            took < Duration::from_secs(1) && response.status == 200,
            "a request from another client waited {took:?} (status {}) while one client held {} connections",
            response.status,
            if attacked.is_some() {
                "all its"
            } else {
                "some"
            }
        );
        latencies.push(took);
        if attacked.is_none()
            && let Ok(result) = opened.try_recv()
        {
            until = Instant::now() + Duration::from_secs(8);
            attacked = Some(result);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::SeqCst);
    let (most_alive, reopened) = attacker.join().expect("the attacker thread");
    let (held, took, failed) = attacked.expect("the attacker opened its connections");
    let slowest = latencies.iter().max().copied().unwrap_or_default();
    let mut sorted = latencies.clone();
    sorted.sort();
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or_default();
    eprintln!(
        "attacker: {held} connections opened in {took:?} ({failed:?}), at most {most_alive} kept open by the server, {reopened} reopened; \
         other client: {} requests, median {median:?}, slowest {slowest:?}",
        latencies.len()
    );
    assert!(
        held >= 1000,
        "could open only {held} connections ({failed:?}): raise `ulimit -n`"
    );
    assert!(
        (1..=64).contains(&most_alive),
        "the server kept {most_alive} of one client's connections open"
    );
    assert!(reopened > 0, "the server closed none of them");
    let log = served.stderr();
    assert!(
        log.contains("from clients that already hold 64 (127.0.0.2 among them"),
        "{log}"
    );
}

#[test]
fn connections_that_send_no_request_are_closed_after_the_idle_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    // The default: 5 s.
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let wait_for_close = |mut stream: std::net::TcpStream| {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let started = Instant::now();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        started.elapsed()
    };
    // A connection that never sends anything.
    let idle =
        connect_from("127.0.0.3".parse().expect("an address"), served.addr).expect("connect");
    let waited = wait_for_close(idle);
    assert!(
        waited >= Duration::from_millis(4500) && waited < Duration::from_secs(7),
        "an idle connection was closed after {waited:?}, not 5 s"
    );
    // A kept-alive connection, idle after its first response, likewise.
    let mut kept = std::net::TcpStream::connect(served.addr).expect("connect");
    kept.write_all(b"GET /flags.json HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut head = [0u8; 12];
    kept.read_exact(&mut head).expect("a response");
    assert_eq!(&head, b"HTTP/1.1 200");
    let waited = wait_for_close(kept);
    assert!(
        waited >= Duration::from_millis(4000) && waited < Duration::from_secs(7),
        "an idle kept-alive connection was closed after {waited:?}, not 5 s"
    );
}

/// A site whose every page says which version it is.
fn versioned(version: usize) -> BTreeMap<String, Vec<u8>> {
    (0..20)
        .map(|page| {
            let body = format!(
                "<!doctype html><title>v</title><p>version={version:04} page={page}</p>{}",
                "<p>padding to make compression worthwhile</p>".repeat(20)
            );
            (format!("p{page}.html"), body.into_bytes())
        })
        .collect()
}

fn version_of(body: &[u8]) -> usize {
    let text = String::from_utf8_lossy(body);
    text.split("version=")
        .nth(1)
        .and_then(|rest| rest.get(..4))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no version in {text}"))
}

#[test]
fn a_rebuild_during_a_request_stream_never_yields_a_404_or_mixed_content() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("public");
    glassroom::output::write_site(&out, &versioned(1)).expect("write");
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let url = served.url("");
    let stop = Arc::new(AtomicBool::new(false));
    let reader_stop = Arc::clone(&stop);
    let reader = std::thread::spawn(move || {
        let http = client();
        let mut latest = 0;
        let mut seen = BTreeSet::new();
        let mut requests = 0;
        while !reader_stop.load(Ordering::SeqCst) {
            for page in 0..20 {
                let response = http
                    .get(format!("{url}/p{page}.html"))
                    .header(
                        ACCEPT_ENCODING,
                        if page % 2 == 0 { "br" } else { "identity" },
                    )
                    .send()
                    .expect("GET");
                assert_eq!(response.status(), StatusCode::OK, "p{page}.html");
                let etag = header(&response, ETAG);
                let encoded = header(&response, CONTENT_ENCODING) == "br";
                let bytes = response.bytes().expect("body").to_vec();
                let body = if encoded {
                    let mut decoded = Vec::new();
                    brotli::Decompressor::new(&bytes[..], 4096)
                        .read_to_end(&mut decoded)
                        .expect("brotli");
                    decoded
                } else {
                    bytes
                };
                assert_eq!(etag, quoted_sha(&body), "the ETag belongs to the body sent");
                let version = version_of(&body);
                assert!(
                    version >= latest,
                    "p{page}.html went back from version {latest} to {version}: two sites mixed"
                );
                latest = version;
                seen.insert(version);
                requests += 1;
            }
        }
        (seen, requests)
    });
    // Each new site is swapped in while the reader keeps asking.
    let http = client();
    for version in 2..=8 {
        glassroom::output::write_site(&out, &versioned(version)).expect("write");
        eventually(&format!("version {version} is served"), || {
            http.get(served.url("/p7.html"))
                .send()
                .ok()
                .and_then(|r| r.bytes().ok())
                .is_some_and(|b| version_of(&b) == version)
        });
    }
    stop.store(true, Ordering::SeqCst);
    let (seen, requests) = reader.join().expect("the reader saw only whole sites");
    assert!(
        seen.len() >= 4,
        "the stream should span several rebuilds (saw {seen:?} in {requests} requests)"
    );
}

#[test]
fn a_root_that_is_a_symlink_follows_a_deploy_that_swaps_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let releases = dir.path().join("releases");
    glassroom::output::write_site(&releases.join("1"), &versioned(1)).expect("write");
    glassroom::output::write_site(&releases.join("2"), &versioned(2)).expect("write");
    let current = dir.path().join("current");
    std::os::unix::fs::symlink(releases.join("1"), &current).expect("symlink");
    let served = Served::start(&["--root", current.to_str().expect("utf-8")], None);
    let http = client();
    let version = || {
        http.get(served.url("/p3.html"))
            .send()
            .ok()
            .and_then(|r| r.bytes().ok())
            .map(|b| version_of(&b))
    };
    assert_eq!(version(), Some(1));
    // An atomic deploy: a new link renamed over the old one.
    let next = dir.path().join("current.new");
    std::os::unix::fs::symlink(releases.join("2"), &next).expect("symlink");
    std::fs::rename(&next, &current).expect("rename");
    eventually("the new release is served", || version() == Some(2));
}

#[test]
fn the_flag_client_revalidates_against_glassroom_serve_and_follows_a_rebuild() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    let client = Client::builder(served.url("/flags.json"))
        .poll_in_background(false)
        .start();
    let sha = std::fs::read_to_string(out.join("flags.json.sha256")).expect("sha");
    assert_eq!(
        client.refresh(),
        Ok(Refresh::Updated {
            sha256: sha.trim().to_owned()
        })
    );
    assert_eq!(client.refresh(), Ok(Refresh::NotModified));

    // A new build with other flags: the client gets the new bundle.
    let repo = dir.path().join("repo");
    std::fs::write(
        repo.join("flags/features/new-ui.yaml"),
        "description: The new interface\ndefault: false\nfully_active: true\n",
    )
    .expect("write");
    let built = run(&[
        "build",
        repo.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(built.code, Some(0), "{}", built.stderr);
    let new_sha = std::fs::read_to_string(out.join("flags.json.sha256")).expect("sha");
    assert_ne!(new_sha, sha);
    eventually("the client has the new bundle", || {
        client.refresh()
            == Ok(Refresh::Updated {
                sha256: new_sha.trim().to_owned(),
            })
    });
    assert_eq!(client.refresh(), Ok(Refresh::NotModified));
}

#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = built_site(dir.path());
    let mut served = Served::start(&["--root", out.to_str().expect("utf-8")], None);
    assert_eq!(raw_get(served.addr, "/").status, 200);
    assert_eq!(served.terminate(), Some(0), "{}", served.stderr());
    assert!(served.stderr().contains("stopped"), "{}", served.stderr());
    assert!(std::net::TcpStream::connect(served.addr).is_err());
}

#[test]
fn serve_arguments_are_checked_with_a_way_out() {
    let missing = run(&[
        "serve",
        "--root",
        "/nonexistent/public",
        "--addr",
        "127.0.0.1:0",
    ]);
    assert_eq!(missing.code, Some(2));
    assert!(
        missing.stderr.contains("glassroom build"),
        "{}",
        missing.stderr
    );
    let no_key = run(&["serve", "--accept-logbook", "--addr", "127.0.0.1:0"]);
    assert_eq!(no_key.code, Some(2));
    assert!(no_key.stderr.contains("--signing-key"), "{}", no_key.stderr);
    let bad_addr = run(&["serve", "--root", ".", "--addr", "nowhere"]);
    assert_eq!(bad_addr.code, Some(2));
    assert!(bad_addr.stderr.contains("--addr"), "{}", bad_addr.stderr);
}

// ---------------------------------------------------------------------------------------
// Repositories: the approved tree, the preview, and robots' logbook entries.

fn policy() -> String {
    let key = |name: &str| {
        std::fs::read_to_string(root().join(format!("tests/fixtures/keys/{name}.pub")))
            .expect("fixture key")
            .trim()
            .to_owned()
    };
    format!(
        "users:
  alice: {{ email: alice@example.org, keys: [\"{alice}\"] }}
  backup-bot: {{ robot: true, email: backup-bot@example.org, keys: [\"{bot}\"] }}
grants:
  /: {{ alice: admin }}
  /logbook: {{ backup-bot: sign }}
pre_approved: [\"logbook/**\"]
append_only: [\"logbook/**\"]
",
        alice = key("alice"),
        bot = key("backup-bot"),
    )
}

/// A signed repository whose glassroom.yaml gives backup-bot (a robot) and alice (a
/// person) logbook tokens.
fn logbook_repo() -> GitRepo {
    let repo = GitRepo::new(&root().join("tests/bad/base"));
    repo.write(".glassroom/policy.yaml", &policy());
    repo.write(
        "glassroom.yaml",
        &format!(
            "title: Serve tests\nserve:\n  logbook_tokens:\n    backup-bot: \"sha256:{}\"\n    alice: \"sha256:{}\"\n",
            sha256_hex(TOKEN.as_bytes()),
            sha256_hex(HUMAN_TOKEN.as_bytes())
        ),
    );
    let first = repo.commit("Initial content", Some("alice"));
    repo.git(&["config", "glassroom.trustRoot", &first]);
    repo
}

fn serve_logbook(repo: &GitRepo) -> Served {
    let key = repo.key("backup-bot");
    Served::start(
        &[
            "--repo",
            repo.path_str(),
            "--accept-logbook",
            "--signing-key",
            key.to_str().expect("utf-8"),
        ],
        None,
    )
}

fn post(
    http: &reqwest::blocking::Client,
    served: &Served,
    token: Option<&str>,
    body: &Value,
) -> (StatusCode, Value) {
    let mut request = http.post(served.url("/logbook")).json(body);
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = request.send().expect("POST");
    let status = response.status();
    let text = response.text().expect("body");
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    (status, value)
}

fn commit_count(repo: &GitRepo) -> usize {
    repo.git(&["rev-list", "--count", "HEAD"])
        .parse()
        .expect("a count")
}

#[test]
fn a_robot_posts_an_entry_that_is_committed_signed_and_published() {
    let repo = logbook_repo();
    let served = serve_logbook(&repo);
    let http = client();
    let before = commit_count(&repo);

    let (status, reply) = post(
        &http,
        &served,
        Some(TOKEN),
        &json!({
            "procedure": "rotate-logs",
            "disposition": "ok",
            "note": "Rotated 12 files.\n\n- 3.1 GiB freed",
            "at": "2026-11-23T03:15:00Z"
        }),
    );
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let id = reply["id"].as_str().expect("an id").to_owned();
    let path = reply["path"].as_str().expect("a path").to_owned();
    assert_eq!(id, "2026-11-23-031500-rotate-logs");
    assert_eq!(path, format!("logbook/2026/11/{id}.md"));
    assert_eq!(commit_count(&repo), before + 1);
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        reply["commit"].as_str().unwrap_or("")
    );

    // The file as committed, by the robot, signed.
    let text = repo.git(&["show", &format!("HEAD:{path}")]);
    assert!(text.contains("by: backup-bot"), "{text}");
    assert!(text.contains("procedure: rotate-logs"), "{text}");
    assert!(text.contains("3.1 GiB freed"), "{text}");
    let raw_commit = repo.git(&["cat-file", "commit", "HEAD"]);
    assert!(
        raw_commit.contains("gpgsig -----BEGIN SSH SIGNATURE-----"),
        "{raw_commit}"
    );
    assert!(
        raw_commit.contains("committer backup-bot <backup-bot@example.org>"),
        "{raw_commit}"
    );
    let audit = repo.glassroom(&[
        "audit",
        &path,
        "--repo",
        repo.path_str(),
        "--format",
        "json",
    ]);
    let audit: Value =
        serde_json::from_str(&audit.stdout).unwrap_or_else(|e| panic!("{e}: {}", audit.stdout));
    let events = audit["events"].as_array().cloned().unwrap_or_default();
    assert!(
        events.iter().any(|e| e["principal"] == "backup-bot"),
        "the entry is attributed to the robot: {audit:#}"
    );
    assert_eq!(
        repo.git(&["status", "--porcelain"]),
        "",
        "the checkout stays clean"
    );

    // The server rebuilds and publishes it.
    eventually("the entry's page is served", || {
        http.get(served.url(&format!("/logbook/{id}.html")))
            .send()
            .is_ok_and(|r| r.status() == StatusCode::OK)
    });

    // A form post works the same; `by` defaults to the robot, `at` to now.
    let before = Instant::now();
    let response = http
        .post(served.url("/logbook"))
        .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body("procedure=rotate-logs&disposition=problem&note=disk+full%21")
        .send()
        .expect("POST");
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = header(&response, LOCATION);
    let reply: Value = response.json().expect("JSON");
    let id = reply["id"].as_str().unwrap_or_default();
    assert_eq!(location, format!("/logbook/{id}.html"));
    let text = repo.git(&[
        "show",
        &format!("HEAD:{}", reply["path"].as_str().unwrap_or("")),
    ]);
    assert!(
        text.contains("disposition: problem") && text.contains("disk full!"),
        "{text}"
    );
    let at = text
        .lines()
        .find_map(|l| l.strip_prefix("at: "))
        .and_then(|t| {
            t.trim()
                .trim_matches(['\'', '"'])
                .parse::<jiff::Timestamp>()
                .ok()
        })
        .expect("an at");
    let elapsed = jiff::Timestamp::now().as_second() - at.as_second();
    assert!(
        (-2..=before.elapsed().as_secs() as i64 + 2).contains(&elapsed),
        "`at` defaults to the time of the post ({at})"
    );
    // A reply to the entry just written is accepted even before the rebuild.
    let (status, reply) = post(
        &http,
        &served,
        Some(TOKEN),
        &json!({"procedure": "rotate-logs", "disposition": "acknowledged", "reply_to": id}),
    );
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    // An ad hoc entry, without a procedure, about a host.
    let (status, reply) = post(
        &http,
        &served,
        Some(TOKEN),
        &json!({"about": "host/web1", "disposition": "problem", "note": "web1 missed its backup window."}),
    );
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    let text = repo.git(&[
        "show",
        &format!("HEAD:{}", reply["path"].as_str().unwrap_or("")),
    ]);
    assert!(
        text.contains("about: host/web1") && !text.contains("procedure:"),
        "{text}"
    );
}

#[test]
fn bad_logbook_posts_are_refused_with_the_field_named_and_nothing_committed() {
    let repo = logbook_repo();
    let served = serve_logbook(&repo);
    let http = client();
    let before = commit_count(&repo);
    let good = json!({"procedure": "rotate-logs", "disposition": "ok"});

    let (status, error) = post(&http, &served, None, &good);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{error}");
    let (status, _) = post(&http, &served, Some("wrong-token"), &good);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let unauthorized = http
        .post(served.url("/logbook"))
        .json(&good)
        .send()
        .expect("POST");
    assert!(header(&unauthorized, reqwest::header::WWW_AUTHENTICATE).starts_with("Bearer"));
    let (status, error) = post(&http, &served, Some(HUMAN_TOKEN), &good);
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "alice is not a robot: {error}"
    );

    let field_of = |body: Value, expected: StatusCode, field: &str| {
        let (status, error) = post(&http, &served, Some(TOKEN), &body);
        assert_eq!(status, expected, "{body} → {error}");
        assert_eq!(error["field"], field, "{body} → {error}");
        assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()));
    };
    field_of(
        json!({"procedure": "rotate-log", "disposition": "ok"}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "procedure",
    );
    field_of(
        json!({"procedure": "rotate-logs", "reply_to": "no-such-entry"}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "reply_to",
    );
    // An ad hoc entry may be about an entity, which must exist; `by` names a user.
    field_of(
        json!({"about": "host/web9", "note": "Fan noise."}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "about",
    );
    field_of(
        json!({"about": "host/web1", "note": "Fan noise.", "by": "mallory"}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "by",
    );
    field_of(
        json!({"about": "host/web1", "note": "Seen.", "until": "2026-12-01"}),
        StatusCode::BAD_REQUEST,
        "until",
    );
    field_of(
        json!({"procedure": "../../etc/passwd"}),
        StatusCode::BAD_REQUEST,
        "procedure",
    );
    field_of(
        json!({"procedure": "rotate-logs", "disposition": "fine"}),
        StatusCode::BAD_REQUEST,
        "disposition",
    );
    field_of(
        json!({"procedure": "rotate-logs", "at": "yesterday"}),
        StatusCode::BAD_REQUEST,
        "at",
    );
    field_of(
        json!({"procedure": "rotate-logs", "at": "2999-01-01T00:00:00Z"}),
        StatusCode::BAD_REQUEST,
        "at",
    );
    field_of(
        json!({"procedure": "rotate-logs", "by": "alice"}),
        StatusCode::BAD_REQUEST,
        "by",
    );
    field_of(
        json!({"procedure": "rotate-logs", "by": "two\nlines"}),
        StatusCode::BAD_REQUEST,
        "by",
    );
    field_of(
        json!({"procedure": "rotate-logs", "colour": "red"}),
        StatusCode::BAD_REQUEST,
        "colour",
    );
    field_of(
        json!({"procedure": "rotate-logs", "note": 42}),
        StatusCode::BAD_REQUEST,
        "note",
    );
    field_of(json!({"note": ""}), StatusCode::BAD_REQUEST, "note");

    let send = |content_type: &str, body: Vec<u8>| {
        let response = http
            .post(served.url("/logbook"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .expect("POST");
        let status = response.status();
        let error: Value = response.json().expect("a JSON error");
        (status, error)
    };
    let (status, error) = send("application/json", b"{\"procedure\": ".to_vec());
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert!(error["error"].as_str().unwrap_or_default().contains("JSON"));
    let (status, _) = send("application/json", b"[\"rotate-logs\"]".to_vec());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send("text/plain", b"procedure=rotate-logs".to_vec());
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, error) = send(
        "application/x-www-form-urlencoded",
        b"procedure=rotate-logs&procedure=rotate-logs".to_vec(),
    );
    assert_eq!(
        (status, error["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("procedure"))
    );
    // A field given twice is refused in JSON as in a form, whichever value is empty.
    for body in [
        &br#"{"procedure":"rotate-logs","note":"a","note":"b"}"#[..],
        br#"{"procedure":"rotate-logs","note":null,"note":"b"}"#,
        br#"{"procedure":"rotate-logs","by":"backup-bot","b\u0079":"alice"}"#,
    ] {
        let (status, error) = send("application/json", body.to_vec());
        assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
        assert!(
            error["error"]
                .as_str()
                .is_some_and(|e| e.contains("more than once")),
            "{error}"
        );
        assert!(
            error["field"] == "note" || error["field"] == "by",
            "{error}"
        );
    }
    let (status, error) = send(
        "application/x-www-form-urlencoded",
        b"procedure=rotate-logs&by=&by=alice".to_vec(),
    );
    assert_eq!(
        (status, error["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("by")),
        "{error}"
    );
    // A `by` that would show as another principal: invisible characters, another case
    // or Unicode form. Refused with the principal named.
    for (by, user) in [
        ("alice\u{200b}", "alice"),
        ("ALICE", "alice"),
        ("ａｌｉｃｅ", "alice"),
        ("al\u{202e}ice", "alice"),
        ("\u{feff}Backup-Bot", "backup-bot"),
        ("BACKUP-BOT", "backup-bot"),
    ] {
        let (status, error) = post(
            &http,
            &served,
            Some(TOKEN),
            &json!({"procedure": "rotate-logs", "by": by}),
        );
        assert_eq!(status, StatusCode::BAD_REQUEST, "{by:?} → {error}");
        assert_eq!(error["field"], "by", "{by:?} → {error}");
        let help = error["help"].as_str().unwrap_or_default();
        assert!(
            help.starts_with(&format!("did you mean `{user}`?")),
            "{by:?} → {error}"
        );
    }
    let (status, error) = send(
        "application/x-www-form-urlencoded",
        b"procedure=rotate-logs&by=alice%E2%80%8B".to_vec(),
    );
    assert_eq!(
        (status, error["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("by")),
        "{error}"
    );
    let mut huge = b"{\"procedure\":\"rotate-logs\",\"note\":\"".to_vec();
    huge.extend(std::iter::repeat_n(b'x', 200 * 1024));
    huge.extend_from_slice(b"\"}");
    let (status, _) = send("application/json", huge);
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    assert_eq!(commit_count(&repo), before, "nothing was committed");
    // GET /logbook is still the logbook's pages.
    let pages = http.get(served.url("/logbook")).send().expect("GET");
    assert_eq!(pages.status(), StatusCode::PERMANENT_REDIRECT);
    let put = http.put(served.url("/logbook")).send().expect("PUT");
    assert_eq!(header(&put, reqwest::header::ALLOW), "GET, HEAD, POST");
}

#[test]
fn a_hundred_concurrent_posts_make_a_hundred_entries_and_a_hundred_commits() {
    let repo = logbook_repo();
    let served = Arc::new(serve_logbook(&repo));
    let before = commit_count(&repo);
    let http = client();
    let threads: Vec<_> = (0..20)
        .map(|thread| {
            let served = Arc::clone(&served);
            let http = http.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|i| {
                        let (status, reply) = post(
                            &http,
                            &served,
                            Some(TOKEN),
                            &json!({
                                "procedure": "rotate-logs",
                                "disposition": "ok",
                                "note": format!("post {thread}-{i}"),
                                "at": "2026-11-23T03:00:00Z",
                            }),
                        );
                        assert_eq!(status, StatusCode::CREATED, "{reply}");
                        reply["id"].as_str().expect("id").to_owned()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let ids: BTreeSet<String> = threads
        .into_iter()
        .flat_map(|t| t.join().expect("posts succeed"))
        .collect();
    assert_eq!(ids.len(), 100, "every post got its own entry");
    assert_eq!(commit_count(&repo), before + 100, "one commit per entry");
    // A straight line of commits, each adding one file, and a sound repository.
    let merges = repo.git(&["rev-list", "--merges", "--count", "HEAD"]);
    assert_eq!(merges, "0");
    let files = repo.git(&["ls-tree", "-r", "--name-only", "HEAD", "logbook/2026/11/"]);
    let notes: BTreeSet<String> = files
        .lines()
        .filter(|f| f.contains("2026-11-23-030000-rotate-logs"))
        .map(|f| repo.git(&["show", &format!("HEAD:{f}")]))
        .filter_map(|text| text.lines().last().map(str::to_owned))
        .collect();
    assert_eq!(notes.len(), 100, "every note is in the tree");
    repo.git(&["fsck", "--strict", "--no-progress"]);
    // And the server publishes all of them.
    let http = client();
    eventually("every entry is published", || {
        http.get(served.url("/api/logbook.json"))
            .send()
            .ok()
            .and_then(|r| r.json::<Value>().ok())
            .and_then(|v| {
                v["items"].as_array().map(|items| {
                    items
                        .iter()
                        .filter(|item| item["id"].as_str().is_some_and(|id| ids.contains(id)))
                        .count()
                })
            })
            == Some(100)
    });
}

#[test]
fn a_repository_server_publishes_new_signed_commits_without_a_restart() {
    let repo = logbook_repo();
    let served = Served::start(&["--repo", repo.path_str()], None);
    let http = client();
    repo.write(
        "news/draft.md",
        "---\ntitle: Unsigned draft\ndate: 2026-11-20\n---\nNot yet.\n",
    );
    repo.commit("Unsigned draft", None);
    repo.write(
        "news/fresh.md",
        "---\ntitle: Brand new announcement\ndate: 2026-11-20\n---\nHello.\n",
    );
    repo.commit("Signed news", Some("alice"));
    eventually("the signed news is published", || {
        http.get(served.url("/news/fresh.html"))
            .send()
            .is_ok_and(|r| r.status() == StatusCode::OK)
    });
    let draft = http
        .get(served.url("/news/draft.html"))
        .send()
        .expect("GET");
    assert_eq!(
        draft.status(),
        StatusCode::NOT_FOUND,
        "unsigned changes wait"
    );
}

#[test]
fn the_preview_rebuilds_reloads_and_shows_build_errors_in_the_browser() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_tree(&root().join("tests/bad/base"), dir.path());
    let repo = dir.path();
    let served = Served::start(
        &[
            "--repo",
            repo.to_str().expect("utf-8"),
            "--preview",
            "--now",
            "2026-11-22T00:00:00Z",
        ],
        None,
    );
    let http = client();
    let live = |page: &str| -> Value {
        http.get(served.url(&format!("/_glassroom/live?page={page}")))
            .send()
            .expect("GET")
            .json()
            .expect("JSON")
    };
    let generation = || live("%2F")["generation"].as_u64().expect("a generation");
    let tag_of = |page: &str| live(page)["tag"].as_str().expect("a tag").to_owned();
    let embedded_tag = |path: &str| -> String {
        let page = http
            .get(served.url(path))
            .send()
            .expect("GET")
            .text()
            .expect("page");
        assert!(
            page.contains("/_glassroom/live"),
            "the page carries the live-reload script"
        );
        let start = page.find("var t=\"").expect("the page's tag") + 7;
        page[start..start + 64].to_owned()
    };
    let first = generation();
    // Each page knows its tag, and the server answers the tag of what it shows now.
    let host_tag = embedded_tag("/hosts/web1.html");
    assert_eq!(tag_of("%2Fhosts%2Fweb1.html"), host_tag);
    let news_tag = embedded_tag("/news/");
    assert_eq!(tag_of("%2Fnews%2F"), news_tag);

    // An edit: a new build that renders only what changed; the edited page's tag
    // changes (it reloads), an unrelated page's does not.
    let host = std::fs::read_to_string(repo.join("hosts/web1.yaml")).expect("host");
    std::fs::write(
        repo.join("hosts/web1.yaml"),
        host.replace("web1", "web1-renamed-in-preview"),
    )
    .expect("write");
    eventually("the preview rebuilt", || generation() > first);
    let page = http
        .get(served.url("/hosts/web1.html"))
        .send()
        .expect("GET")
        .text()
        .expect("page");
    assert!(page.contains("web1-renamed-in-preview"), "{page}");
    assert_ne!(
        tag_of("%2Fhosts%2Fweb1.html"),
        host_tag,
        "the host page reloads"
    );
    assert_eq!(
        embedded_tag("/hosts/web1.html"),
        tag_of("%2Fhosts%2Fweb1.html")
    );
    assert_eq!(tag_of("%2Fnews%2F"), news_tag, "the news page stays");
    let log = served.stderr();
    let rebuilt = log
        .lines()
        .find(|l| l.contains("rebuilt:"))
        .unwrap_or_else(|| panic!("{log}"));
    let unchanged: usize = rebuilt
        .split(" rendered, ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{rebuilt}"));
    assert!(unchanged > 0, "unchanged pages are reused: {rebuilt}");

    // A broken file: the browser shows the diagnostics instead of a stale site.
    std::fs::write(repo.join("hosts/web1.yaml"), "name: [unclosed\n").expect("write");
    eventually("the error page is shown", || {
        http.get(served.url("/hosts/web1.html"))
            .send()
            .is_ok_and(|r| r.status() == StatusCode::INTERNAL_SERVER_ERROR)
    });
    let broken = http.get(served.url("/")).send().expect("GET");
    assert_eq!(broken.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(header(&broken, CACHE_CONTROL), "no-store");
    let text = broken.text().expect("page");
    assert!(text.contains("hosts/web1.yaml"), "{text}");
    assert!(
        text.contains("/_glassroom/live"),
        "the error page reloads too"
    );
    let start = text.find("var t=\"").expect("the error page's tag") + 7;
    assert_eq!(
        tag_of("%2Fhosts%2Fweb1.html"),
        &text[start..start + 64],
        "an open error page stays until the files change"
    );

    // Fixed: the site is back.
    std::fs::write(repo.join("hosts/web1.yaml"), host).expect("write");
    eventually("the site is back", || {
        http.get(served.url("/hosts/web1.html"))
            .send()
            .is_ok_and(|r| r.status() == StatusCode::OK)
    });
    // Output directories and editor files do not trigger rebuilds.
    let settled = generation();
    std::fs::create_dir_all(repo.join("public")).expect("mkdir");
    std::fs::write(repo.join("public/x.html"), "x").expect("write");
    std::fs::write(repo.join("hosts/.web1.yaml.swp"), "x").expect("write");
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(generation(), settled);
}

#[test]
fn glassroom_log_takes_ad_hoc_entries_and_refuses_people_the_policy_does_not_know() {
    let repo = logbook_repo();
    let head = || repo.git(&["rev-parse", "HEAD"]);
    let logged = repo.glassroom(&[
        "log",
        "--about",
        "host/web1",
        "--by",
        "alice",
        "--disposition",
        "acknowledged",
        "--until",
        "2026-11-30",
        "--note",
        "Fan noise on web1; replacing it on Monday.",
        "--at",
        "2026-11-23T10:00:00Z",
        "--repo",
        repo.path_str(),
    ]);
    assert_eq!(logged.code, Some(0), "{}", logged.stderr);
    let text = repo.git(&["show", "HEAD:logbook/2026/11/2026-11-23-100000-web1.md"]);
    assert!(
        text.contains("about: host/web1")
            && text.contains("until: \"2026-11-30\"")
            && text.contains("disposition: acknowledged")
            && !text.contains("procedure:"),
        "{text}"
    );
    // Without a procedure and without `about`: a plain note.
    let note = repo.glassroom(&[
        "log",
        "--by",
        "alice",
        "--note",
        "Power blip in rack C4, nothing went down.",
        "--at",
        "2026-11-23T11:00:00Z",
        "--repo",
        repo.path_str(),
    ]);
    assert_eq!(note.code, Some(0), "{}", note.stderr);
    assert!(
        note.stdout.contains("2026-11-23-110000-note"),
        "{}",
        note.stdout
    );
    let check = repo.glassroom(&["check", repo.path_str()]);
    assert_eq!(check.code, Some(0), "{}", check.stderr);

    let before = head();
    let mallory = repo.glassroom(&[
        "log",
        "rotate-logs",
        "--by",
        "mallory",
        "--repo",
        repo.path_str(),
    ]);
    assert_eq!(mallory.code, Some(2), "{}", mallory.stdout);
    assert!(
        mallory.stderr.contains("--by") && mallory.stderr.contains("not a user of the policy"),
        "{}",
        mallory.stderr
    );
    let typo = repo.glassroom(&[
        "log",
        "rotate-logs",
        "--by",
        "alcie",
        "--repo",
        repo.path_str(),
    ]);
    assert!(
        typo.stderr.contains("did you mean `alice`?"),
        "{}",
        typo.stderr
    );
    let unknown = repo.glassroom(&[
        "log",
        "--about",
        "host/web9",
        "--by",
        "alice",
        "--note",
        "x",
        "--repo",
        repo.path_str(),
    ]);
    assert_eq!(unknown.code, Some(2));
    assert!(
        unknown.stderr.contains("--about") && unknown.stderr.contains("did you mean `host/web1`?"),
        "{}",
        unknown.stderr
    );
    assert_eq!(head(), before, "nothing was committed");
}

#[test]
fn glassroom_log_commits_a_checked_entry_from_the_shell() {
    let repo = logbook_repo();
    let key = repo.key("alice");
    let logged = repo.glassroom(&[
        "log",
        "rotate-logs",
        "--by",
        "alice",
        "--disposition",
        "ok",
        "--note",
        "Rotated by hand.",
        "--at",
        "2026-11-23T10:00:00Z",
        "--repo",
        repo.path_str(),
        "--signing-key",
        key.to_str().expect("utf-8"),
    ]);
    assert_eq!(logged.code, Some(0), "{}", logged.stderr);
    assert!(
        logged.stdout.contains("2026-11-23-100000-rotate-logs"),
        "{}",
        logged.stdout
    );
    let text = repo.git(&[
        "show",
        "HEAD:logbook/2026/11/2026-11-23-100000-rotate-logs.md",
    ]);
    assert!(
        text.contains("by: alice") && text.contains("Rotated by hand."),
        "{text}"
    );
    assert!(repo.git(&["cat-file", "commit", "HEAD"]).contains("gpgsig"));
    let check = repo.glassroom(&["check", repo.path_str()]);
    assert_eq!(check.code, Some(0), "{}", check.stderr);

    let typo = repo.glassroom(&[
        "log",
        "rotate-log",
        "--by",
        "alice",
        "--repo",
        repo.path_str(),
    ]);
    assert_eq!(typo.code, Some(2));
    assert!(
        typo.stderr.contains("did you mean `rotate-logs`"),
        "{}",
        typo.stderr
    );
    let bad = repo.glassroom(&[
        "log",
        "rotate-logs",
        "--by",
        "alice",
        "--disposition",
        "fine",
        "--repo",
        repo.path_str(),
    ]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.contains("--disposition"), "{}", bad.stderr);
    assert!(bad.stderr.contains("acknowledged"), "{}", bad.stderr);
    // Nobody logs under a name that would show as a user of the policy.
    let before = repo.git(&["rev-parse", "HEAD"]);
    for by in ["ALICE", "alice\u{200b}", "ａｌｉｃｅ"] {
        let posing = repo.glassroom(&["log", "rotate-logs", "--by", by, "--repo", repo.path_str()]);
        assert_eq!(posing.code, Some(2), "{by:?}: {}", posing.stdout);
        assert!(
            posing.stderr.contains("--by") && posing.stderr.contains("did you mean `alice`?"),
            "{by:?}: {}",
            posing.stderr
        );
    }
    assert_eq!(
        repo.git(&["rev-parse", "HEAD"]),
        before,
        "nothing was committed"
    );
}
