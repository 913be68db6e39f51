//! Where pages go: the one mapping from a repository path or an id to the name of the
//! output file that shows it, and from an output name to the link that reaches it.
//!
//! Anyone who can push chooses paths, and every path in the history has an audit page,
//! so the mapping must be injective whatever the names: no two paths share a file, no
//! path lands on an index or another page, no page needs a directory where another is a
//! file (`foo` → `audit/foo.html` and `foo.html/x` → `audit/foo.html/x.html` used to
//! clash), and no name outgrows the file system. Ordinary names stay as they are:
//!
//! - A name keeps its characters, except that `~`, a leading `.` (hidden files, which
//!   servers refuse) and [unsafe characters](crate::diag::printable::is_unsafe) (control
//!   characters, bidirectional controls) are written `~XX`, one per byte (`~2E`, `~0A`).
//!   A `~` in an output name is therefore always followed by two hex digits or by a
//!   second `~` (below), and the escape is reversible.
//! - A file's page is its name and `.html`; a page named `index.html` (in any case) has
//!   its first letter escaped (`~69ndex.html`), since that name is the directory's list.
//! - A directory ending in `.html` (in any case) has that dot escaped (`foo~2Ehtml/`),
//!   so no directory is ever named like a page.
//! - A name still longer than 255 bytes keeps its first bytes and ends in `~~` and 32
//!   hex digits of the blake3 of the whole name (`~~` appears in no other name); an audit
//!   page whose path would exceed [`MAX_PAGE_PATH`] bytes is `audit/~~<hash>.html`.
//!
//! Links are the output names percent-encoded ([`href`]), so a name with a space, `#`,
//! `?`, `%` or any non-ASCII character resolves in every browser and server.
//!
//! Static files of a theme or of `static/` keep their names (templates refer to them):
//! one that would replace or block a generated file is left out and reported
//! ([`static_clashes`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::diag::printable::is_unsafe;

/// The longest file name most file systems take, in bytes.
pub const MAX_NAME: usize = 255;

/// The longest audit page path kept as a tree of directories, in bytes: deeper paths
/// could exceed the system's limit for a whole path (4,096 bytes on Linux, with the
/// output directory's own path in front).
pub const MAX_PAGE_PATH: usize = 1024;

/// What marks a shortened name, followed by [`HASH_DIGITS`] hex digits.
const SHORTENED: &str = "~~";
const HASH_DIGITS: usize = 32;
const PAGE: &str = ".html";

/// The directory of the audit trail's pages.
const AUDIT_DIR: &str = "audit/";

/// `hosts/web1.yaml` → `audit/hosts/web1.yaml.html`: the page of a file's audit trail.
pub fn audit_page(path: &str) -> String {
    let mut out = String::with_capacity(AUDIT_DIR.len() + path.len() + PAGE.len());
    out.push_str(AUDIT_DIR);
    let mut parts = path.split('/').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_some() {
            out.push_str(&directory_name(part));
            out.push('/');
        } else {
            out.push_str(&page_name(part));
        }
    }
    if out.len() > MAX_PAGE_PATH {
        return format!("{AUDIT_DIR}{SHORTENED}{}{PAGE}", digest(path));
    }
    out
}

/// `hosts`, `web1` → `hosts/web1.html`: the page of an entity, in its kind's directory.
pub fn detail_page(dir: &str, id: &str) -> String {
    let name = page_name(id);
    let mut page = String::with_capacity(dir.len() + 1 + name.len());
    page.push_str(dir);
    page.push('/');
    page.push_str(&name);
    page
}

/// The link to the output file `page` ([`href`]), reusing `page` when it needs no
/// encoding (every page named from an id).
pub fn link(page: String) -> String {
    match href(&page) {
        Cow::Borrowed(_) => page,
        Cow::Owned(encoded) => encoded,
    }
}

/// The relative link to the output file `path`: percent-encoded but for letters, digits,
/// `-`, `.`, `_`, `~` and `/`, so `audit/a b#1.md.html` → `audit/a%20b%231.md.html`.
pub fn href(path: &str) -> Cow<'_, str> {
    const KEPT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/');
    utf8_percent_encode(path, KEPT).into()
}

/// `shop` → `api/plans/shop.json`: the API file of a site's runbooks, named as the site's
/// page is (`sites/shop.html`).
pub fn plans_file(site: &str) -> String {
    let page = page_name(site);
    let stem = page.strip_suffix(PAGE).unwrap_or(&page);
    format!("{PLANS_DIR}/{stem}.json")
}

/// The directory of the sites' plans in the API.
pub const PLANS_DIR: &str = "api/plans";

/// `module`, `billing-api` → `feeds/module/billing-api.atom`: the feed of an entity's
/// channel, named as the entity's page is (`modules/billing-api.html`), so any id gives
/// a safe name of its own.
pub fn channel_feed(noun: &str, id: &str) -> String {
    let page = page_name(id);
    let stem = page.strip_suffix(PAGE).unwrap_or(&page);
    format!("feeds/{noun}/{stem}.atom")
}

/// `alice` → `people/alice/inbox.atom`: a person's inbox, beside their page
/// (`people/alice.html`) and named as it is.
pub fn inbox_feed(id: &str) -> String {
    let page = page_name(id);
    let stem = page.strip_suffix(PAGE).unwrap_or(&page);
    format!("people/{stem}/inbox.atom")
}

/// The page of the file or entity named `name`.
fn page_name(name: &str) -> String {
    // Every id, and most names: nothing to escape, and short enough.
    let plain = name.len() + PAGE.len() <= MAX_NAME
        && !name.starts_with('.')
        && !name.eq_ignore_ascii_case("index")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        let mut page = String::with_capacity(name.len() + PAGE.len());
        page.push_str(name);
        page.push_str(PAGE);
        return page;
    }
    let mut escaped = escape(name);
    if escaped.eq_ignore_ascii_case("index") {
        escape_byte_at(&mut escaped, 0);
    }
    escaped.push_str(PAGE);
    shorten(name, escaped, PAGE)
}

/// The directory that holds the pages of the files under the directory `name`.
fn directory_name(name: &str) -> String {
    let mut escaped = escape(name);
    let ends_like_a_page = escaped
        .len()
        .checked_sub(PAGE.len())
        .and_then(|at| escaped.get(at..))
        .is_some_and(|end| end.eq_ignore_ascii_case(PAGE));
    if ends_like_a_page {
        let dot = escaped.len() - PAGE.len();
        escape_byte_at(&mut escaped, dot);
    }
    shorten(name, escaped, "")
}

/// `name` with `~`, a leading `.` and unsafe characters written `~XX` per byte.
fn escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (at, c) in name.char_indices() {
        if c == '~' || (at == 0 && c == '.') || is_unsafe(c) {
            let mut buffer = [0; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                push_escaped(&mut out, byte);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn push_escaped(out: &mut String, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push('~');
    out.push(char::from(HEX[usize::from(byte >> 4)]));
    out.push(char::from(HEX[usize::from(byte & 0xf)]));
}

/// Escapes the ASCII character at byte `at` of `name`.
fn escape_byte_at(name: &mut String, at: usize) {
    if let Some(&byte) = name.as_bytes().get(at)
        && byte.is_ascii()
    {
        let mut escaped = String::with_capacity(3);
        push_escaped(&mut escaped, byte);
        name.replace_range(at..=at, &escaped);
    }
}

/// `escaped` (the name `name` made safe, ending in `suffix`), cut to fit [`MAX_NAME`]
/// when it is longer: its start, then `~~` and the digest of the whole name.
fn shorten(name: &str, escaped: String, suffix: &str) -> String {
    if escaped.len() <= MAX_NAME {
        return escaped;
    }
    let room = MAX_NAME - SHORTENED.len() - HASH_DIGITS - suffix.len();
    let mut cut = room;
    while !escaped.is_char_boundary(cut) {
        cut -= 1;
    }
    // Never end inside an escape: `~4` and `~` would read as the start of one.
    if let Some(tilde) = escaped[..cut].rfind('~')
        && cut - tilde < 3
    {
        cut = tilde;
    }
    format!("{}{SHORTENED}{}{suffix}", &escaped[..cut], digest(name))
}

/// The first [`HASH_DIGITS`] hex digits of the blake3 of `text`: 128 bits, beyond the
/// reach of anyone looking for two names with one digest.
fn digest(text: &str) -> String {
    let hex = blake3::hash(text.as_bytes()).to_hex();
    hex[..HASH_DIGITS].to_owned()
}

/// Files the build adds to every site beside what rendering makes: the flag bundle, its
/// checksum and the mark of glassroom's output. `flags/<sha256>.json` is reserved too.
const ADDED_FILES: [&str; 3] = ["flags.json", "flags.json.sha256", ".glassroom-site"];

fn is_added_file(path: &str) -> bool {
    ADDED_FILES.contains(&path)
        || path
            .strip_prefix("flags/")
            .and_then(|name| name.strip_suffix(".json"))
            .is_some_and(|name| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The static files that cannot be published as they are named, each with the reason:
/// a name the file system cannot take (a part longer than [`MAX_NAME`] bytes, or with an
/// unsafe character), or one that would replace a generated file (`static/index.html`
/// over the dashboard, `static/flags.json` over the flag bundle), be a directory that
/// holds one, or be a file where one needs a directory (`static/hosts`).
pub fn static_clashes<'s, 'g>(
    statics: impl IntoIterator<Item = &'s str>,
    generated: impl IntoIterator<Item = &'g str>,
) -> BTreeMap<&'s str, String> {
    let mut refused = BTreeMap::new();
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for path in statics {
        let unfit = path
            .split('/')
            .find(|part| part.len() > MAX_NAME || part.chars().any(is_unsafe));
        match unfit {
            Some(part) if part.len() > MAX_NAME => {
                refused.insert(
                    path,
                    format!(
                        "a part of its name is {} bytes long (at most {MAX_NAME})",
                        part.len()
                    ),
                );
            }
            Some(_) => {
                refused.insert(
                    path,
                    "its name has a control or bidirectional character".to_owned(),
                );
            }
            None if is_added_file(path) => {
                refused.insert(path, format!("`{path}` is a file glassroom writes"));
            }
            None => {
                wanted.insert(path);
            }
        }
    }
    if wanted.is_empty() {
        return refused;
    }
    // The directories the static files need, by the file that needs each.
    let mut static_dirs: BTreeMap<&str, &str> = BTreeMap::new();
    for &path in &wanted {
        for (at, _) in path.match_indices('/') {
            static_dirs.entry(&path[..at]).or_insert(path);
        }
    }
    for page in generated {
        if let Some(&same) = wanted.get(page) {
            refused.insert(same, format!("`{page}` is a file glassroom makes"));
        }
        if let Some(&needs) = static_dirs.get(page) {
            refused.insert(
                needs,
                format!("`{page}` is a file glassroom makes, not a directory"),
            );
        }
        for (at, _) in page.match_indices('/') {
            if let Some(&dir) = wanted.get(&page[..at]) {
                refused.insert(dir, format!("`{dir}/` holds files glassroom makes"));
            }
        }
    }
    refused
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ordinary_names_stay_readable() {
        assert_eq!(audit_page("hosts/web1.yaml"), "audit/hosts/web1.yaml.html");
        assert_eq!(
            audit_page("logbook/2026/11/backup-ok.md"),
            "audit/logbook/2026/11/backup-ok.md.html"
        );
        assert_eq!(audit_page("a b#1?%.md"), "audit/a b#1?%.md.html");
        assert_eq!(audit_page("café/ü.md"), "audit/café/ü.md.html");
        assert_eq!(detail_page("hosts", "web1"), "hosts/web1.html");
        assert_eq!(
            detail_page("flags/features", "dark-mode"),
            "flags/features/dark-mode.html"
        );
    }

    #[test]
    fn names_that_would_collide_are_escaped() {
        assert_eq!(audit_page("index"), "audit/~69ndex.html");
        assert_eq!(audit_page("docs/INDEX"), "audit/docs/~49NDEX.html");
        assert_eq!(detail_page("hosts", "index"), "hosts/~69ndex.html");
        assert_eq!(audit_page("foo"), "audit/foo.html");
        assert_eq!(audit_page("foo.html/x"), "audit/foo~2Ehtml/x.html");
        assert_eq!(audit_page("foo.HTML/x"), "audit/foo~2EHTML/x.html");
        assert_eq!(audit_page(".html/x"), "audit/~2Ehtml/x.html");
        assert_eq!(
            audit_page(".glassroom/policy.yaml"),
            "audit/~2Eglassroom/policy.yaml.html"
        );
        assert_eq!(audit_page("a~b"), "audit/a~7Eb.html");
        assert_eq!(audit_page("a\nb\u{1b}[2J"), "audit/a~0Ab~1B[2J.html");
        assert_eq!(audit_page("x\u{202e}y"), "audit/x~E2~80~AEy.html");
    }

    #[test]
    fn long_names_are_cut_to_fit_and_stay_apart() {
        let long = "a".repeat(300);
        let page = audit_page(&format!("{long}/{long}"));
        for part in page.split('/') {
            assert!(part.len() <= MAX_NAME, "{part}");
        }
        assert!(
            page.ends_with(".html") && page.contains(SHORTENED),
            "{page}"
        );
        let other = audit_page(&format!("{long}/{long}b"));
        assert_ne!(page, other);
        // Escapes are never cut in half.
        let tildes = "~".repeat(200);
        let name = page_name(&tildes);
        assert!(name.len() <= MAX_NAME);
        let kept = name.split(SHORTENED).next().unwrap_or_default();
        assert!(
            kept.len().is_multiple_of(3) && kept.ends_with("7E"),
            "{name}"
        );
        // A path too long for the file system as a tree is one flat page.
        let deep = vec!["d".repeat(200); 10].join("/");
        let flat = audit_page(&deep);
        assert!(
            flat.starts_with("audit/~~") && flat.matches('/').count() == 1,
            "{flat}"
        );
        assert_eq!(detail_page("hosts", &long).len(), "hosts/".len() + MAX_NAME);
    }

    /// Names chosen to collide: every path made of them maps to its own page, no page is
    /// a directory of another, and every part fits.
    #[test]
    fn the_mapping_is_injective_and_pages_never_hold_pages() {
        let parts = [
            "foo",
            "foo.html",
            "FOO.HTML",
            "index",
            "Index",
            "index.html",
            "~69ndex",
            "~",
            "~7E",
            ".x",
            "~2Ex",
            "a~2Ehtml",
            "a.html",
            "a",
            "x\n",
            "x~0A",
            "x ",
            "%41",
            "A",
        ];
        let long_a = "é".repeat(140);
        let long_b = format!("{long_a}x");
        let mut names: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
        names.push(long_a);
        names.push(long_b);
        let mut paths = Vec::new();
        for a in &names {
            paths.push(a.clone());
            for b in &names {
                paths.push(format!("{a}/{b}"));
                paths.push(format!("{a}/{b}/{a}"));
            }
        }
        let mut seen: HashSet<String> = HashSet::new();
        let mut dirs: HashSet<String> = HashSet::new();
        for path in &paths {
            let page = audit_page(path);
            assert!(seen.insert(page.clone()), "two paths share {page}");
            assert_ne!(page, "audit/index.html");
            for part in page.split('/') {
                assert!(part.len() <= MAX_NAME, "{part}");
                assert!(
                    !part.starts_with('.') && !part.chars().any(is_unsafe),
                    "{part:?}"
                );
            }
            for (at, _) in page.match_indices('/') {
                dirs.insert(page[..at].to_owned());
            }
        }
        for page in &seen {
            assert!(!dirs.contains(page), "{page} is a page and a directory");
        }
    }

    #[test]
    fn links_are_percent_encoded_and_decode_to_the_file() {
        for page in [
            audit_page("a b#1?%.md"),
            audit_page("café/ü\u{202e}.md"),
            audit_page("index"),
            detail_page("hosts", "web1"),
        ] {
            let link = href(&page);
            assert!(
                link.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~/%".contains(&b)),
                "{link}"
            );
            let back = percent_encoding::percent_decode_str(&link).decode_utf8();
            assert_eq!(back.ok().as_deref(), Some(page.as_str()));
        }
        assert_eq!(
            href("audit/a b#1?%.md.html"),
            "audit/a%20b%231%3F%25.md.html"
        );
        assert_eq!(href("hosts/web1.html"), "hosts/web1.html");
    }

    #[test]
    fn static_files_never_replace_or_block_pages() {
        let statics = [
            "style.css",
            "img/logo.png",
            "index.html",
            "hosts",
            "audit/index.html",
            "hosts/web1.html/x",
            "flags.json",
            "flags/0123456789012345678901234567890123456789012345678901234567890123.json",
            "bad\nname.css",
        ];
        let long = "x".repeat(300);
        let generated = [
            "index.html",
            "hosts/index.html",
            "hosts/web1.html",
            "audit/index.html",
        ];
        let refused = static_clashes(
            statics.iter().copied().chain([long.as_str()]),
            generated.iter().copied(),
        );
        let names: Vec<&str> = refused.keys().copied().collect();
        assert_eq!(
            names,
            [
                "audit/index.html",
                "bad\nname.css",
                "flags.json",
                "flags/0123456789012345678901234567890123456789012345678901234567890123.json",
                "hosts",
                "hosts/web1.html/x",
                "index.html",
                long.as_str(),
            ]
        );
    }
}
