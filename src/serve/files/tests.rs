//! Tests of the site in memory: ETags and caching, rebuilds, compressed variants,
//! types, hidden files and reading the output directory.

use super::*;
use crate::flags::sha256_hex;
use std::io::Read;

#[test]
fn etags_are_the_sha256_and_only_content_addressed_files_are_immutable() {
    let bundle = br#"{"schema":1}"#.to_vec();
    let sha = sha256_hex(&bundle);
    let flags = Asset::new("flags.json", bundle.clone());
    assert_eq!(flags.etag(), format!("\"{sha}\"").as_str());
    assert_eq!(flags.cache_control, REVALIDATE);
    let copy = Asset::new(&format!("flags/{sha}.json"), bundle.clone());
    assert_eq!(copy.cache_control, IMMUTABLE);
    // A file that merely looks content-addressed is not trusted to be.
    let liar = Asset::new(&format!("flags/{}.json", "0".repeat(64)), bundle);
    assert_eq!(liar.cache_control, REVALIDATE);
}

#[test]
fn a_rebuild_applies_changes_to_the_previous_site_or_replaces_it_whole() {
    let page = |text: &str| Payload::from(text.as_bytes().to_vec());
    let first = Site::rebuilt(
        BTreeMap::from([
            ("a.html".to_owned(), page("<p>a</p>")),
            ("b.html".to_owned(), page("<p>b</p>")),
            ("c.html".to_owned(), page("<p>c</p>")),
            ("404.html".to_owned(), page("<head></head><p>lost</p>")),
        ]),
        None,
        None,
        false,
    );
    let shared = |site: &Site, path: &str| {
        std::ptr::eq(site.get(path).map_or(std::ptr::null(), |a| a), {
            first.get(path).map_or(std::ptr::null(), |a| a)
        })
    };
    // Changes: a made again unchanged, c with new bytes; b kept as it was.
    let same = Site::rebuilt(
        BTreeMap::from([
            ("a.html".to_owned(), page("<p>a</p>")),
            ("c.html".to_owned(), page("<p>C</p>")),
        ]),
        None,
        Some((&first, &[], false)),
        false,
    );
    assert_eq!(same.len(), 4);
    assert!(shared(&same, "a.html") && shared(&same, "b.html"));
    assert!(!shared(&same, "c.html"));
    assert_eq!(
        same.get("c.html").map(|a| a.identity.to_bytes()),
        Some(bytes::Bytes::from_static(b"<p>C</p>"))
    );
    assert!(
        same.not_found()
            .is_some_and(|p| p.identity.to_bytes().starts_with(b"<head><base"))
    );
    // c is gone and d is new: nothing of c remains.
    let changed = Site::rebuilt(
        BTreeMap::from([("d.html".to_owned(), page("<p>d</p>"))]),
        None,
        Some((
            &first,
            &["c.html".to_owned(), "x.html".to_owned()][..],
            false,
        )),
        false,
    );
    assert_eq!(changed.len(), 4);
    assert!(changed.get("c.html").is_none());
    assert!(shared(&changed, "a.html") && changed.get("d.html").is_some());
    // A whole site: only what it has, unchanged assets shared with the previous one.
    let whole = Site::rebuilt(
        BTreeMap::from([("a.html".to_owned(), page("<p>a</p>"))]),
        None,
        Some((&first, &[], true)),
        false,
    );
    assert_eq!(whole.len(), 1);
    assert!(shared(&whole, "a.html") && whole.not_found().is_none());
}

#[test]
fn a_large_file_is_served_at_once_and_compressed_in_the_background() {
    let big = "{\"id\": \"t-1\", \"title\": \"disk full\"},\n"
        .repeat(BACKGROUND_COMPRESS_BYTES / 20)
        .into_bytes();
    let asset = Asset::new("api/tickets.json", big.clone());
    // Not compressed yet, but clients are told the answer varies.
    assert!(asset.gzip().is_none() && asset.brotli().is_none());
    assert!(asset.varies());
    let site = Site::rebuilt(
        BTreeMap::from([("api/tickets.json".to_owned(), Payload::from(big.clone()))]),
        None,
        None,
        true,
    );
    let served = site.get("api/tickets.json").expect("served");
    // The background thread's work, or this call's if it has not finished.
    served.compress();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&served.gzip().expect("gzip")[..])
        .read_to_end(&mut decoded)
        .expect("gzip decodes");
    assert_eq!(decoded, big);
    assert!(served.brotli().is_some_and(|br| br.len() < big.len() / 4));
    // Without compression (the preview), never.
    let preview = Asset::of_payload("api/tickets.json", Payload::from(big), false);
    assert!(!preview.varies());
}

#[test]
fn compressed_variants_decode_to_the_same_bytes() {
    let page = "<p>hello, operations</p>\n".repeat(100).into_bytes();
    let asset = Asset::new("index.html", page.clone());
    assert_eq!(asset.content_type, "text/html; charset=utf-8");
    let gz = asset.gzip().cloned().unwrap_or_default();
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut decoded)
        .unwrap_or_default();
    assert_eq!(decoded, page);
    let br = asset.brotli().cloned().unwrap_or_default();
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&br[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap_or_default();
    assert_eq!(decoded, page);
    // Images and tiny files are sent as they are.
    assert!(!Asset::new("logo.png", page).varies());
    assert!(!Asset::new("tiny.css", b"a{}".to_vec()).varies());
}

#[test]
fn the_brotli_window_fits_the_file_within_limits_and_decodes() {
    assert_eq!(brotli_window(0), BROTLI_MIN_WINDOW);
    assert_eq!(brotli_window(12_000), BROTLI_MIN_WINDOW);
    assert_eq!(brotli_window(1 << 19), 19);
    assert_eq!(brotli_window((1 << 19) + 1), 20);
    assert_eq!(brotli_window(12 << 20), BROTLI_WINDOW);
    // Larger than the smallest window, with matches farther back than it reaches.
    let mut page = Vec::new();
    for i in 0..40_000 {
        page.extend_from_slice(format!("<tr><td>t-{:06}</td></tr>\n", i % 9_000).as_bytes());
    }
    let compressed = brotli(&page).unwrap_or_default();
    let mut decoded = Vec::new();
    brotli::Decompressor::new(&compressed[..], 4096)
        .read_to_end(&mut decoded)
        .unwrap_or_default();
    assert_eq!(decoded, page);
}

#[test]
fn the_not_found_page_links_from_the_root() {
    let files: BTreeMap<String, Vec<u8>> = [(
        "404.html".to_owned(),
        b"<html><head><title>x</title>".to_vec(),
    )]
    .into();
    let site = Site::from_files(files, None);
    let page = site
        .not_found()
        .map(|a| a.identity.to_bytes())
        .unwrap_or_default();
    assert_eq!(&page[..], b"<html><head><base href=\"/\"><title>x</title>");
}

#[test]
fn types_by_extension() {
    assert_eq!(
        content_type("flags.json.sha256"),
        "text/plain; charset=utf-8"
    );
    assert_eq!(content_type("feeds/news.atom"), "application/atom+xml");
    assert_eq!(content_type("calendar.ics"), "text/calendar; charset=utf-8");
    assert_eq!(content_type("STYLE.CSS"), "text/css; charset=utf-8");
    assert_eq!(content_type("blob"), "application/octet-stream");
}

#[test]
fn hidden_files_are_not_served() {
    let files: BTreeMap<String, Vec<u8>> = [
        (".glassroom-site", "x"),
        ("a/.secret", "x"),
        ("index.html", "x"),
        (".well-known/security.txt", "x"),
    ]
    .into_iter()
    .map(|(p, b)| (p.to_owned(), b.as_bytes().to_vec()))
    .collect();
    let site = Site::from_files(files, None);
    assert!(site.get(".glassroom-site").is_none());
    assert!(site.get("a/.secret").is_none());
    assert!(site.get("index.html").is_some());
    assert!(site.get(".well-known/security.txt").is_some());
}

#[test]
fn reading_a_directory_skips_links_that_leave_it() -> Result<(), Box<dyn std::error::Error>> {
    let outside = tempfile::tempdir()?;
    std::fs::write(outside.path().join("secret.txt"), "secret")?;
    let dir = tempfile::tempdir()?;
    let root = dir.path();
    std::fs::create_dir(root.join("sub"))?;
    std::fs::write(root.join("sub/page.html"), "page")?;
    std::fs::write(root.join(".glassroom-site"), "marker")?;
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), root.join("leak.txt"))?;
    std::os::unix::fs::symlink(outside.path(), root.join("leakdir"))?;
    std::os::unix::fs::symlink(root.join("sub/page.html"), root.join("alias.html"))?;
    let files = read_dir(root)?;
    let paths: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(paths, ["alias.html", "sub/page.html"]);
    Ok(())
}
