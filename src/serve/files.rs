//! The site in memory: every file with its headers computed once (strong ETag, type,
//! caching) and its gzip and brotli variants, so answering a request is a map lookup.
//!
//! A [`Site`] is immutable; a rebuild makes a new one and the server swaps it in whole.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::HeaderValue;
use rayon::prelude::*;

use super::payload::Payload;

/// `Cache-Control` of content-addressed files (`flags/<sha256>.json`): never changes.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of everything else: keep it, but ask (`If-None-Match`) before using it.
pub const REVALIDATE: &str = "no-cache";

/// Smaller files are not worth compressing.
const MIN_COMPRESS_BYTES: usize = 256;
/// gzip level (flate2: 0–9) and brotli quality (0–11) and window. Measured on the example
/// site (1.1 MB, 241 files): brotli 6 compresses 50 MB/s to within 0.1% of quality 9
/// (which runs at 2 MB/s); 11 saves 10% more at 1 MB/s, too slow for a preview that
/// rebuilds on every save. Windows below 18 bits are 25× slower in this brotli
/// implementation (its other hashers), so the window is 18 to 22 bits by the file's size.
const GZIP_LEVEL: u32 = 9;
const BROTLI_QUALITY: u32 = 6;
const BROTLI_WINDOW: u32 = 22;
const BROTLI_MIN_WINDOW: u32 = 18;
/// Files this large are compressed on a background thread once their site is served,
/// and sent as they are until then: compressing the 12 MB ticket API of a large
/// repository took 1.4 s, twice as long as rebuilding the site for a new commit; an
/// 80 KB audit page (a file with 250 commits) 7 ms, a tenth of the rebuild.
const BACKGROUND_COMPRESS_BYTES: usize = 64 << 10;

/// One file, ready to send.
#[derive(Debug, Clone)]
pub struct Asset {
    /// `"<sha256 of the bytes>"`: the same for every encoding (see docs/serve.md).
    /// Computed when first asked for: a preview rebuild makes the 12 MB ticket API
    /// again on every ticket edit, and hashing it took longer than rendering a page.
    etag: OnceLock<HeaderValue>,
    pub content_type: HeaderValue,
    pub cache_control: HeaderValue,
    pub identity: Payload,
    /// Whether the file is sent compressed to clients that accept it (see `variants`).
    compressible: bool,
    /// The gzip and brotli variants of a compressible file, when made: at once for a
    /// small file, soon after its site is served for a large one ([`Asset::compress`]).
    variants: OnceLock<Variants>,
    /// blake3 of the file as built, before the preview's script went in: equal sources
    /// give equal assets, so a rebuild reuses them instead of compressing again, and the
    /// preview's script asks whether its page's source changed. Known when the asset is
    /// made for a rewritten page; else computed from the bytes when first asked for (a
    /// preview rebuild makes the 12 MB ticket API again on every ticket edit).
    source: OnceLock<blake3::Hash>,
}

impl Asset {
    /// Computes everything about `bytes` served as `path`.
    pub fn new(path: &str, bytes: Vec<u8>) -> Asset {
        Self::of_bytes(path, bytes, true)
    }

    /// Like [`Asset::new`], for `bytes` made from a file whose blake3 is `source`;
    /// without compressed variants unless `compress`.
    pub fn with_source(path: &str, bytes: Vec<u8>, source: blake3::Hash, compress: bool) -> Asset {
        let asset = Self::of_bytes(path, bytes, compress);
        let _ = asset.source.set(source);
        asset
    }

    /// The asset of `bytes` as they are, its source hash computed when first asked for.
    fn of_bytes(path: &str, bytes: Vec<u8>, compress: bool) -> Asset {
        Self::of_payload(path, Payload::from(bytes), compress)
    }

    /// The asset of a file made of parts (see [`Payload`]), its source hash computed
    /// when first asked for.
    pub fn of_payload(path: &str, identity: Payload, compress: bool) -> Asset {
        let etag = OnceLock::new();
        // Only a file named like a sha256 can be content-addressed; only its hash is
        // needed now.
        let cache_control = if looks_content_addressed(path) {
            let sha = identity.sha256_hex();
            let _ = etag.set(header(&format!("\"{sha}\"")));
            cache_control(path, &sha)
        } else {
            REVALIDATE
        };
        let content_type = content_type(path);
        let compressible =
            compress && is_compressible(content_type) && identity.len() >= MIN_COMPRESS_BYTES;
        let asset = Asset {
            etag,
            content_type: HeaderValue::from_static(content_type),
            cache_control: HeaderValue::from_static(cache_control),
            identity,
            compressible,
            variants: OnceLock::new(),
            source: OnceLock::new(),
        };
        if compressible && asset.identity.len() < BACKGROUND_COMPRESS_BYTES {
            asset.compress();
        }
        asset
    }

    /// Makes the compressed variants, if the file has them and they are not made yet.
    pub fn compress(&self) {
        if self.compressible {
            self.variants
                .get_or_init(|| Variants::of(&self.identity.to_bytes()));
        }
    }

    /// Whether the compressed variants are still to be made.
    fn compresses_later(&self) -> bool {
        self.compressible && self.variants.get().is_none()
    }

    /// The gzip variant, once made (and only if smaller).
    pub fn gzip(&self) -> Option<&Bytes> {
        self.variants.get().and_then(|v| v.gzip.as_ref())
    }

    /// The brotli variant, once made (and only if smaller).
    pub fn brotli(&self) -> Option<&Bytes> {
        self.variants.get().and_then(|v| v.brotli.as_ref())
    }

    /// The blake3 of the file as built (see the field).
    pub fn source(&self) -> blake3::Hash {
        *self.source.get_or_init(|| self.identity.blake3())
    }

    /// The entity tag: the quoted sha256 of the bytes.
    pub fn etag(&self) -> &HeaderValue {
        self.etag
            .get_or_init(|| header(&format!("\"{}\"", self.identity.sha256_hex())))
    }

    /// Whether the file is sent compressed when a client accepts it (and so responses
    /// `Vary`, also while its variants are being made).
    pub fn varies(&self) -> bool {
        self.compressible
            && self
                .variants
                .get()
                .is_none_or(|v| v.gzip.is_some() || v.brotli.is_some())
    }
}

/// A file's compressed variants; one that is not smaller than the file is left out.
#[derive(Debug, Clone, Default)]
struct Variants {
    gzip: Option<Bytes>,
    brotli: Option<Bytes>,
}

impl Variants {
    fn of(bytes: &[u8]) -> Self {
        Self {
            gzip: smaller(bytes, gzip(bytes)),
            brotli: smaller(bytes, brotli(bytes)),
        }
    }
}

/// Compresses `assets` on a thread of their own (here, if none can be started), so a
/// rebuild's site is served before its large files are compressed.
fn compress_later(assets: Vec<Arc<Asset>>) {
    if assets.is_empty() {
        return;
    }
    let shared = Arc::new(assets);
    let background = Arc::clone(&shared);
    let started = std::thread::Builder::new()
        .name("glassroom-compress".into())
        .spawn(move || background.iter().for_each(|asset| asset.compress()));
    if started.is_err() {
        shared.iter().for_each(|asset| asset.compress());
    }
}

/// A rewrite of every HTML page, given the page's source hash (the preview's script).
pub type HtmlRewrite = dyn Fn(Bytes, &blake3::Hash) -> Payload + Sync;

/// A whole site: URL path (without the leading `/`) → file.
#[derive(Debug, Default)]
pub struct Site {
    /// Shared with the sites of earlier and later rebuilds: a rebuild that changed a
    /// few pages copies pointers, not twelve thousand files' headers.
    files: HashMap<Arc<str>, Arc<Asset>>,
    /// `404.html` for answers at any depth: with `<base href="/">`, since the site's
    /// links are relative to where the page was meant to be.
    not_found: Option<Asset>,
}

impl Site {
    /// Prepares every file of a built site (compressing in parallel). `html` may rewrite
    /// HTML pages first (the preview's live-reload script).
    pub fn from_files(files: BTreeMap<String, Vec<u8>>, html: Option<&HtmlRewrite>) -> Site {
        let files = files
            .into_iter()
            .map(|(path, bytes)| (path, Payload::from(bytes)))
            .collect();
        Self::rebuilt(files, html, None, true)
    }

    /// The site of `files` (HTML rewritten by `html`, given the page's source hash).
    /// With `previous` = `(site, removed, complete)`: when `complete`, `files` is the
    /// whole site and only assets whose source did not change are taken from `site`
    /// (not compressed again); otherwise `files` are the changes to `site`, which keeps
    /// every other file but those `removed`. Compressed variants are made only if
    /// `compress` (a preview on the same machine has no use for them, and compressing a
    /// large API file takes longer than building it).
    pub fn rebuilt(
        files: BTreeMap<String, Payload>,
        html: Option<&HtmlRewrite>,
        previous: Option<(&Site, &[String], bool)>,
        compress: bool,
    ) -> Site {
        let old = |path: &str| previous.and_then(|(site, _, _)| site.files.get(path));
        let fresh: Vec<(Arc<str>, Arc<Asset>)> = files
            .into_par_iter()
            .filter(|(path, _)| is_servable(path))
            .map(|(path, bytes)| {
                let Some(rewrite) = html.filter(|_| is_html(&path)) else {
                    // Served as built: equal bytes are the same asset.
                    if let Some(asset) = old(&path).filter(|a| a.identity.same_bytes(&bytes)) {
                        return (Arc::from(path), Arc::clone(asset));
                    }
                    let asset = Asset::of_payload(&path, bytes, compress);
                    return (Arc::from(path), Arc::new(asset));
                };
                let source = bytes.blake3();
                if let Some(asset) = old(&path).filter(|a| a.source() == source) {
                    return (Arc::from(path), Arc::clone(asset));
                }
                let rewritten = rewrite(bytes.to_bytes(), &source);
                let asset = Asset::of_payload(&path, rewritten, compress);
                let _ = asset.source.set(source);
                (Arc::from(path), Arc::new(asset))
            })
            .collect();
        let late: Vec<Arc<Asset>> = fresh
            .iter()
            .filter(|(_, asset)| asset.compresses_later())
            .map(|(_, asset)| Arc::clone(asset))
            .collect();
        let files = match previous {
            // Changes to the site served now: copy its map (pointers) and apply them.
            Some((site, removed, false)) => {
                let mut files = site.files.clone();
                for path in removed {
                    files.remove(path.as_str());
                }
                files.extend(fresh);
                files
            }
            _ => fresh.into_iter().collect(),
        };
        compress_later(late);
        let not_found = match (files.get("404.html"), previous) {
            (Some(page), Some((site, _, _)))
                if site
                    .files
                    .get("404.html")
                    .is_some_and(|old| Arc::ptr_eq(old, page)) =>
            {
                site.not_found.clone()
            }
            (Some(page), _) => Some(Asset::with_source(
                "404.html",
                with_base(&page.identity.to_bytes()),
                page.source(),
                compress,
            )),
            (None, _) => None,
        };
        Site { files, not_found }
    }

    /// The page for a path that has none (the site's `404.html`), if the site has one.
    pub fn not_found(&self) -> Option<&Asset> {
        self.not_found.as_ref()
    }

    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.files.get(path).map(|asset| &**asset)
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

/// `html` with `<base href="/">` at the start of its head.
fn with_base(html: &[u8]) -> Vec<u8> {
    let base = b"<base href=\"/\">";
    let at = html
        .windows(6)
        .position(|w| w.eq_ignore_ascii_case(b"<head>"))
        .map_or(0, |i| i + 6);
    let mut out = Vec::with_capacity(html.len() + base.len());
    out.extend_from_slice(&html[..at]);
    out.extend_from_slice(base);
    out.extend_from_slice(&html[at..]);
    out
}

/// Why a directory could not be read as a site.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} was replaced while it was being read (a new build was swapped in)", path.display())]
    Moved { path: PathBuf },
}

/// Reads every file under `root` into memory.
///
/// Hidden files (`.glassroom-site`, editor droppings) are not served. A symbolic link is
/// served only when it points to a file inside `root`; anything leading out is skipped.
/// `glassroom build` swaps a new site in by renaming directories; if that happens while
/// the directory is read, the result would mix two builds, so the identity of `root` is
/// compared before and after and a changed one is an error (the caller retries).
pub fn read_dir(root: &Path) -> Result<BTreeMap<String, Vec<u8>>, LoadError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    let before = identity(root).map_err(io(root))?;
    let canonical_root = root.canonicalize().map_err(io(root))?;
    let mut files = BTreeMap::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !is_hidden(entry.file_name()));
    for entry in walker {
        let entry = entry.map_err(|err| {
            let path = err.path().unwrap_or(root).to_path_buf();
            LoadError::Io {
                path,
                source: err.into(),
            }
        })?;
        let Some(relative) = relative(root, entry.path()) else {
            continue;
        };
        let file_type = entry.file_type();
        let source = if file_type.is_file() {
            entry.path().to_path_buf()
        } else if file_type.is_symlink() {
            match entry.path().canonicalize() {
                Ok(target) if target.starts_with(&canonical_root) && target.is_file() => target,
                _ => continue,
            }
        } else {
            continue;
        };
        let bytes = std::fs::read(&source).map_err(io(&source))?;
        files.insert(relative, bytes);
    }
    if identity(root).map_err(io(root))? != before {
        return Err(LoadError::Moved {
            path: root.to_path_buf(),
        });
    }
    Ok(files)
}

/// Device and inode: a directory renamed into place is a different directory.
fn identity(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

fn relative(root: &Path, path: &Path) -> Option<String> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Option<Vec<&str>> = relative
        .components()
        .map(|c| match c {
            std::path::Component::Normal(part) => part.to_str(),
            _ => None,
        })
        .collect();
    let parts = parts?;
    (!parts.is_empty()).then(|| parts.join("/"))
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.') && name != ".well-known"
}

/// A path the server may answer for: no hidden or empty segments, no `..`.
fn is_servable(path: &str) -> bool {
    path.split('/').all(|part| {
        !part.is_empty() && (!part.starts_with('.') || part == ".well-known") && part != ".."
    })
}

/// `flags/<64 hex digits>.json`: a name that may be the sha256 of the bytes.
fn looks_content_addressed(path: &str) -> bool {
    path.strip_prefix("flags/")
        .and_then(|name| name.strip_suffix(".json"))
        .is_some_and(|name| name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `flags/<sha256>.json` whose name is the sha256 of its bytes.
fn is_content_addressed(path: &str, sha: &str) -> bool {
    path.strip_prefix("flags/")
        .and_then(|name| name.strip_suffix(".json"))
        .is_some_and(|name| name == sha)
}

/// `Cache-Control` of the file `path` whose bytes have the sha256 `sha256_hex`:
/// [`IMMUTABLE`] for a content-addressed file, [`REVALIDATE`] for everything else. The
/// server and the S3 sync target both ask here.
pub fn cache_control(path: &str, sha256_hex: &str) -> &'static str {
    if is_content_addressed(path, sha256_hex) {
        IMMUTABLE
    } else {
        REVALIDATE
    }
}

pub fn is_html(path: &str) -> bool {
    path.ends_with(".html") || path.ends_with(".htm")
}

/// The media type of a path, by extension.
pub fn content_type(path: &str) -> &'static str {
    let extension = path
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "atom" => "application/atom+xml",
        "rss" => "application/rss+xml",
        "xml" => "application/xml",
        "ics" => "text/calendar; charset=utf-8",
        "txt" | "sha256" | "md" => "text/plain; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/vnd.microsoft.icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

fn is_compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || matches!(
            content_type,
            "application/json"
                | "application/atom+xml"
                | "application/rss+xml"
                | "application/xml"
                | "application/manifest+json"
                | "application/wasm"
                | "image/svg+xml"
                | "image/vnd.microsoft.icon"
                | "font/ttf"
                | "font/otf"
        )
}

/// A variant is kept only when it saves at least 5%.
fn smaller(original: &[u8], compressed: Option<Vec<u8>>) -> Option<Bytes> {
    compressed
        .filter(|c| c.len() * 20 < original.len() * 19)
        .map(Bytes::from)
}

fn gzip(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 3),
        flate2::Compression::new(GZIP_LEVEL),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

fn brotli(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len() / 3);
    {
        let mut writer = brotli::CompressorWriter::new(
            &mut out,
            4096,
            BROTLI_QUALITY,
            brotli_window(bytes.len()),
        );
        writer.write_all(bytes).ok()?;
        writer.flush().ok()?;
    }
    Some(out)
}

/// The window (log2 of its size) for `len` bytes: the smallest that holds them, but not
/// below [`BROTLI_MIN_WINDOW`]. A window larger than the file compresses no better and
/// costs the encoder tables for all of it: an 80 KB page took 4.2 ms with 22 bits,
/// 3.3 ms with 18, to the same size.
fn brotli_window(len: usize) -> u32 {
    let bits = usize::BITS - len.saturating_sub(1).leading_zeros();
    bits.clamp(BROTLI_MIN_WINDOW, BROTLI_WINDOW)
}

/// A header value from text we made (hex, quotes): always valid.
fn header(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
}

#[cfg(test)]
mod tests;
