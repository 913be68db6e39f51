//! Answering for static files: a request path to a file (or a redirect, or 404),
//! `If-None-Match` to `304`, `Accept-Encoding` to a precomputed variant. Pure functions
//! over a [`Site`], so every rule is tested without a socket.

use std::borrow::Cow;

use http::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION,
    VARY, X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::Body;

use super::files::{Asset, Site};

/// What a request path names.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup<'a> {
    File(&'a Asset),
    /// A directory asked for without its trailing slash: where to send the client.
    Redirect(String),
    NotFound,
}

impl PartialEq for Asset {
    fn eq(&self, other: &Self) -> bool {
        self.etag() == other.etag()
    }
}
impl Eq for Asset {}

/// Decodes a request path (`/a%20b/`) into a site path (`a b/`), or `None` when it is not
/// one the server could ever answer: `..` or `.` segments (also percent-encoded), empty
/// segments (`//etc/passwd`), backslashes, NUL and other control characters, hidden
/// segments, or bytes that are not UTF-8. A trailing `/` is kept.
pub fn clean_path(raw: &str) -> Option<Cow<'_, str>> {
    let rest = raw.strip_prefix('/')?;
    // Most paths have nothing encoded: check them where they are, without copying.
    let decoded = percent_encoding::percent_decode_str(rest)
        .decode_utf8()
        .ok()?;
    if decoded.chars().any(|c| c.is_control() || c == '\\') {
        return None;
    }
    let mut segments = decoded.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment.is_empty() {
            if last {
                continue; // the root, or a trailing slash
            }
            return None;
        }
        if segment == "." || segment == ".." {
            return None;
        }
        if segment.starts_with('.') && segment != ".well-known" {
            return None;
        }
    }
    Some(decoded)
}

/// Finds the file for a request path (`raw`, still percent-encoded).
pub fn lookup<'a>(site: &'a Site, raw: &str) -> Lookup<'a> {
    let Some(path) = clean_path(raw) else {
        return Lookup::NotFound;
    };
    if path.is_empty() || path.ends_with('/') {
        return match site.get(&format!("{path}index.html")) {
            Some(asset) => Lookup::File(asset),
            None => Lookup::NotFound,
        };
    }
    if let Some(asset) = site.get(&path) {
        return Lookup::File(asset);
    }
    if site.get(&format!("{path}/index.html")).is_some() {
        // `raw` passed `clean_path`, so it starts with one `/` and no `//`.
        return Lookup::Redirect(format!("{raw}/"));
    }
    Lookup::NotFound
}

/// Whether `If-None-Match` matches `etag` (weak comparison, as RFC 9110 requires for it).
pub fn none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = opaque(etag.as_bytes());
    headers.get_all(IF_NONE_MATCH).iter().any(|value| {
        value.as_bytes().split(|b| *b == b',').any(|tag| {
            let tag = tag.trim_ascii();
            tag == b"*" || opaque(tag) == ours
        })
    })
}

/// The quoted part of an entity tag, without `W/`.
fn opaque(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

/// A content coding the server has variants for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    Brotli,
}

/// The best coding the client accepts among those available: highest `q`, and brotli,
/// then gzip, then identity when equal. Identity is always possible (RFC 9110 lets a
/// server send it even when the client said `identity;q=0`, rather than a 406).
pub fn negotiate(headers: &HeaderMap, gzip: bool, brotli: bool) -> Coding {
    if !gzip && !brotli {
        return Coding::Identity;
    }
    let mut q_br = 0u16;
    let mut q_gzip = 0u16;
    let mut q_star: Option<u16> = None;
    let mut named_br = false;
    let mut named_gzip = false;
    for value in headers.get_all(ACCEPT_ENCODING) {
        let Ok(text) = value.to_str() else { continue };
        for item in text.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .next()
                .map_or(1000, parse_q);
            match name.as_str() {
                "br" => (q_br, named_br) = (q_br.max(q), true),
                "gzip" | "x-gzip" => (q_gzip, named_gzip) = (q_gzip.max(q), true),
                "*" => q_star = Some(q),
                _ => {}
            }
        }
    }
    if let Some(q) = q_star {
        if !named_br {
            q_br = q;
        }
        if !named_gzip {
            q_gzip = q;
        }
    }
    let br = if brotli { q_br } else { 0 };
    let gz = if gzip { q_gzip } else { 0 };
    if br > 0 && br >= gz {
        Coding::Brotli
    } else if gz > 0 {
        Coding::Gzip
    } else {
        Coding::Identity
    }
}

/// `q` values in thousandths; a malformed one counts as 0 (not acceptable).
fn parse_q(text: &str) -> u16 {
    let text = text.trim();
    match text.parse::<f32>() {
        Ok(q) if (0.0..=1.0).contains(&q) => (q * 1000.0).round() as u16,
        _ => 0,
    }
}

/// The response for a file: `304` when the client's copy is current, else `200` with the
/// best encoding (no body for `HEAD`).
pub fn respond(headers: &HeaderMap, asset: &Asset) -> Response<Body> {
    let mut response = Response::new(Body::default());
    // Room for every header at once: one allocation.
    *response.headers_mut() = HeaderMap::with_capacity(8);
    let out = response.headers_mut();
    out.insert(ETAG, asset.etag().clone());
    out.insert(CACHE_CONTROL, asset.cache_control.clone());
    if asset.varies() {
        out.insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    if none_match(headers, asset.etag()) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    out.insert(CONTENT_TYPE, asset.content_type.clone());
    out.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let coding = negotiate(headers, asset.gzip().is_some(), asset.brotli().is_some());
    let body = match (coding, asset.gzip(), asset.brotli()) {
        (Coding::Brotli, _, Some(br)) => {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static("br"));
            Body::from(br.clone())
        }
        (Coding::Gzip, Some(gz), _) => {
            out.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            Body::from(gz.clone())
        }
        _ => asset.identity.body(),
    };
    // For HEAD, hyper sends the headers (with the length of this body) and no body.
    *response.body_mut() = body;
    response
}

/// A redirect to the directory's trailing-slash URL (keeping the query).
pub fn redirect(location: &str, query: Option<&str>) -> Response<Body> {
    let target = match query {
        Some(q) => format!("{location}?{q}"),
        None => location.to_owned(),
    };
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::PERMANENT_REDIRECT;
    if let Ok(value) = HeaderValue::from_str(&target) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// A short plain-text answer (errors).
pub fn text(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(format!("{message}\n")));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// `405` with the methods a static file allows.
pub fn method_not_allowed(allow: &'static str) -> Response<Body> {
    let mut response = text(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed here; use {allow}"),
    );
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    response
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn site() -> Site {
        let files: BTreeMap<String, Vec<u8>> = [
            ("index.html", "<p>home</p>".repeat(40)),
            ("hosts/index.html", "hosts".into()),
            ("hosts/web 1.html", "web1".into()),
            ("flags.json", "{}".into()),
        ]
        .into_iter()
        .map(|(p, b)| (p.to_owned(), b.into_bytes()))
        .collect();
        Site::from_files(files, None)
    }

    fn found(site: &Site, raw: &str) -> bool {
        matches!(lookup(site, raw), Lookup::File(_))
    }

    #[test]
    fn paths_resolve_to_files_indexes_and_redirects() {
        let site = site();
        assert!(found(&site, "/"));
        assert!(found(&site, "/index.html"));
        assert!(found(&site, "/hosts/"));
        assert!(found(&site, "/hosts/web%201.html"));
        assert!(found(&site, "/flags.json"));
        assert_eq!(lookup(&site, "/hosts"), Lookup::Redirect("/hosts/".into()));
        assert_eq!(lookup(&site, "/nope"), Lookup::NotFound);
    }

    #[test]
    fn traversal_and_odd_paths_never_resolve() {
        for raw in [
            "/../etc/passwd",
            "/hosts/../index.html",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/hosts/%2e%2e/index.html",
            "/..%2findex.html",
            "/./index.html",
            "//index.html",
            "/hosts//index.html",
            "/hosts\\..\\index.html",
            "/%5c..%5cindex.html",
            "/index.html%00.png",
            "/%ff.html",
            "/.glassroom-site",
            "/.git/config",
            "index.html",
            "",
            "/%252e%252e/index.html",
        ] {
            assert!(clean_path(raw).is_none() || !found(&site(), raw), "{raw}");
            assert!(
                !matches!(lookup(&site(), raw), Lookup::Redirect(_)),
                "{raw} must not redirect"
            );
        }
        assert_eq!(clean_path("/a/b/"), Some("a/b/".into()));
        assert_eq!(clean_path("/%2e%2e"), None);
        assert_eq!(clean_path("/a%2f..%2fb"), None);
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn if_none_match_uses_weak_comparison_and_lists() {
        let etag = HeaderValue::from_static("\"abc\"");
        assert!(none_match(&headers(&[("if-none-match", "\"abc\"")]), &etag));
        assert!(none_match(
            &headers(&[("if-none-match", "W/\"abc\"")]),
            &etag
        ));
        assert!(none_match(
            &headers(&[("if-none-match", "\"x\", \"abc\"")]),
            &etag
        ));
        assert!(none_match(&headers(&[("if-none-match", "*")]), &etag));
        assert!(!none_match(
            &headers(&[("if-none-match", "\"abcd\"")]),
            &etag
        ));
        assert!(!none_match(&headers(&[("if-none-match", "abc")]), &etag));
        assert!(!none_match(&headers(&[]), &etag));
    }

    #[test]
    fn encodings_are_negotiated_by_q_then_brotli_first() {
        let pick =
            |value: &'static str| negotiate(&headers(&[("accept-encoding", value)]), true, true);
        assert_eq!(negotiate(&headers(&[]), true, true), Coding::Identity);
        assert_eq!(pick("gzip"), Coding::Gzip);
        assert_eq!(pick("gzip, deflate, br"), Coding::Brotli);
        assert_eq!(pick("br;q=0.5, gzip"), Coding::Gzip);
        assert_eq!(pick("br;q=0, gzip;q=0"), Coding::Identity);
        assert_eq!(pick("*"), Coding::Brotli);
        assert_eq!(pick("*;q=0.1, gzip;q=0.9"), Coding::Gzip);
        assert_eq!(pick("identity"), Coding::Identity);
        assert_eq!(pick("br;q=bogus, gzip"), Coding::Gzip);
        assert_eq!(
            negotiate(&headers(&[("accept-encoding", "br")]), true, false),
            Coding::Identity
        );
    }

    #[test]
    fn responses_carry_validators_and_304_has_no_body() {
        let site = site();
        let Lookup::File(asset) = lookup(&site, "/") else {
            panic!("no index");
        };
        let ok = respond(&headers(&[("accept-encoding", "gzip")]), asset);
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[CONTENT_ENCODING], "gzip");
        assert_eq!(ok.headers()[VARY], "accept-encoding");
        assert_eq!(ok.headers()[CACHE_CONTROL], "no-cache");
        let mut conditional = HeaderMap::new();
        conditional.insert(IF_NONE_MATCH, asset.etag().clone());
        let not_modified = respond(&conditional, asset);
        assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(not_modified.headers()[ETAG], asset.etag());
        assert!(not_modified.headers().get(CONTENT_TYPE).is_none());
    }
}
