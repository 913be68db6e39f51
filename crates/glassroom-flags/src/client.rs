//! A client that keeps a verified copy of a published flag bundle in memory.
//!
//! A background thread polls the bundle URL every TTL (minus up to `jitter` of it, at
//! random, so a fleet started together does not poll in lockstep), sending
//! `If-None-Match` with the ETag of the bundle it holds. `304 Not Modified` means the
//! copy is fresh. A `200` body is accepted only when its sha256 matches the one the server
//! published — the strong ETag `"<sha256>"`, or else the `flags.json.sha256` beside the
//! bundle — and it parses as a bundle of a known schema; otherwise the last good bundle
//! stays and [`Client::status`] says why. Evaluations read memory only, so
//! [`Client::feature_flag`] never waits for the network; before the first bundle arrives it
//! answers the caller's default (else `false`).

use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use jiff::Timestamp;

use crate::bundle::{BundleError, is_sha256_hex, sha256_hex};
use crate::eval::{Flags, without_data};
use crate::read_bundle;
use crate::value::FlagValue;

/// Where "now" comes from: the wall clock in production, a fixed time in tests. It decides
/// `active_from` and the times in [`Status`].
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// Why a fetch or a bootstrap file was not accepted. The client keeps its last good
/// bundle whenever one of these happens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The server could not be reached, timed out, or the body could not be read whole.
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// The server answered with a status other than 200 or 304.
    #[error("{url}: unexpected HTTP status {status}")]
    Status { url: String, status: u16 },
    /// The server published no sha256 to check the body against.
    #[error(
        "{url}: cannot verify the bundle: the ETag is not a sha256 and {sidecar} could not be read: {message}"
    )]
    Unverifiable {
        url: String,
        sidecar: String,
        message: String,
    },
    /// A bad checksum, bad JSON, an unknown schema or an inconsistent bundle.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The bootstrap file could not be read.
    #[error("{path}: cannot read the bootstrap bundle: {message}")]
    Bootstrap { path: String, message: String },
}

/// What a successful refresh found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// A new bundle was verified and is now in use.
    Updated { sha256: String },
    /// `304 Not Modified`: the bundle in use is current.
    NotModified,
    /// `200` with the bundle already in use (a server that ignores `If-None-Match`).
    Unchanged,
}

/// What the client holds and how its fetches went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// The sha256 of the bundle in use; `None` until one is loaded.
    pub sha256: Option<String>,
    /// The URL or file the bundle in use came from.
    pub source: Option<String>,
    /// When the server last confirmed or delivered the bundle (200 or 304).
    pub last_success: Option<Timestamp>,
    /// When the last fetch was tried.
    pub last_attempt: Option<Timestamp>,
    /// Why the last fetch (or the bootstrap) failed; cleared by a success.
    pub last_error: Option<ClientError>,
    /// Bundles accepted (200 with a new, verified bundle).
    pub updates: u64,
    /// `304 Not Modified` answers (and 200s with the bundle already held).
    pub not_modified: u64,
    /// Fetches that failed.
    pub failures: u64,
}

/// A loaded, verified bundle.
#[derive(Debug)]
pub struct Loaded {
    pub flags: Flags,
    /// Lowercase hex sha256 of the bundle's bytes.
    pub sha256: String,
    /// The ETag to send in `If-None-Match`: the server's, or `"<sha256>"`.
    pub etag: String,
    /// The URL or file it came from.
    pub source: String,
}

/// A value and the rule that decided it, owned (see [`Flags::evaluate`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub value: FlagValue,
    /// The rule's text, e.g. `override`, `account set beta`, `no flag data`.
    pub decided_by: String,
}

/// Settings for a [`Client`]; [`ClientBuilder::start`] starts it.
pub struct ClientBuilder {
    url: String,
    ttl: Duration,
    timeout: Duration,
    jitter: f64,
    bootstrap: Option<PathBuf>,
    clock: Arc<dyn Clock>,
    max_bytes: u64,
    background: bool,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("url", &self.url)
            .field("ttl", &self.ttl)
            .field("timeout", &self.timeout)
            .field("jitter", &self.jitter)
            .field("bootstrap", &self.bootstrap)
            .field("max_bytes", &self.max_bytes)
            .field("background", &self.background)
            .finish()
    }
}

/// The default TTL: how long a bundle is used before the client asks again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// The default limit on one request, connection to last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default jitter: each wait is shortened by up to this share of the TTL.
pub const DEFAULT_JITTER: f64 = 0.1;
/// After a failure the client retries sooner than the TTL: 1 s, 2 s, 4 s ... up to the TTL.
pub const FIRST_RETRY: Duration = Duration::from_secs(1);

impl ClientBuilder {
    /// A client for the bundle at `url` (normally `https://.../flags.json`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ttl: DEFAULT_TTL,
            timeout: DEFAULT_TIMEOUT,
            jitter: DEFAULT_JITTER,
            bootstrap: None,
            clock: Arc::new(SystemClock),
            max_bytes: 256 * 1024 * 1024,
            background: true,
        }
    }

    /// How long a bundle is used before asking the server again (default 300 s).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The limit on one request, from connecting to the last byte (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Each wait is the TTL shortened by a random share of up to `fraction` of it
    /// (default 0.1; 0 turns jitter off). Clamped to 0–1.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_finite() {
            fraction.clamp(0.0, 1.0)
        } else {
            0.0
        };
        self
    }

    /// Starts from the bundle in this file (e.g. one shipped with the application, or
    /// saved earlier) until the server answers. A `<file>.sha256` beside it is checked
    /// when present. A missing or bad file is reported in [`Status::last_error`].
    pub fn bootstrap_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.bootstrap = Some(path.into());
        self
    }

    /// Where "now" comes from (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The largest bundle accepted (default 256 MiB).
    pub fn max_bundle_bytes(mut self, bytes: u64) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Whether a background thread polls (default `true`). Without it, the application
    /// calls [`Client::refresh`] itself.
    pub fn poll_in_background(mut self, poll: bool) -> Self {
        self.background = poll;
        self
    }

    /// Loads the bootstrap file (if any) and starts polling (unless turned off). The
    /// first fetch starts at once, in the background.
    pub fn start(self) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.timeout))
            .http_status_as_error(false)
            .user_agent(concat!("glassroom-flags/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let inner = Arc::new(Inner {
            sidecar_url: sidecar_url(&self.url),
            url: self.url,
            agent,
            ttl: self.ttl,
            jitter: self.jitter,
            clock: self.clock,
            max_bytes: self.max_bytes,
            current: RwLock::new(None),
            status: Mutex::new(Status::default()),
            ready: Condvar::new(),
            fetching: Mutex::new(()),
            stopped: Mutex::new(false),
            wake: Condvar::new(),
        });
        if let Some(path) = &self.bootstrap {
            inner.bootstrap(path);
        }
        let worker = if self.background {
            let inner = Arc::clone(&inner);
            std::thread::Builder::new()
                .name("glassroom-flags".into())
                .spawn(move || inner.poll())
                .ok()
        } else {
            None
        };
        Client {
            inner,
            worker: Mutex::new(worker),
        }
    }
}

/// A polling flag client. Cheap to share (`Arc<Client>`); every method takes `&self`.
///
/// Dropping it stops the background thread (after its current request, if any);
/// [`Client::shutdown`] also waits for it.
///
/// ```no_run
/// use std::time::Duration;
/// use glassroom_flags::{Client, FlagValue};
///
/// let flags = Client::builder("https://ops.example.org/flags.json")
///     .ttl(Duration::from_secs(300))
///     .timeout(Duration::from_secs(10))
///     .start();
/// flags.wait_ready(Duration::from_secs(2)); // optional: defaults are answered until then
/// if flags.is_active("acct-1001", "new-checkout") {
///     // ...
/// }
/// let page_size = flags.feature_flag("acct-1001", "search-page-size", Some(FlagValue::Integer(20)));
/// if let Some(error) = flags.status().last_error {
///     eprintln!("flags: still using the last good bundle: {error}");
/// }
/// # let _ = page_size;
/// ```
#[derive(Debug)]
pub struct Client {
    inner: Arc<Inner>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Client {
    /// A client with the default settings for `url`; see [`ClientBuilder`] for the others.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    /// The value of `feature` for `account`, from memory: never waits for the network.
    /// `default` is the caller's default (see the precedence in `docs/flags.md`); while
    /// no bundle has been loaded the answer is `default`, else `false`.
    pub fn feature_flag(
        &self,
        account: &str,
        feature: &str,
        default: Option<FlagValue>,
    ) -> FlagValue {
        let current = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        match current.as_deref() {
            Some(loaded) => loaded
                .flags
                .evaluate_at(account, feature, default.as_ref(), || {
                    self.inner.clock.now()
                })
                .value
                .clone(),
            None => default.unwrap_or(FlagValue::Bool(false)),
        }
    }

    /// Whether a boolean feature is on for `account` (no caller's default).
    pub fn is_active(&self, account: &str, feature: &str) -> bool {
        self.feature_flag(account, feature, None) == FlagValue::Bool(true)
    }

    /// The value and the rule that decided it.
    pub fn evaluate(&self, account: &str, feature: &str, default: Option<&FlagValue>) -> Decision {
        let current = self
            .inner
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let evaluation = match current.as_deref() {
            Some(loaded) => loaded
                .flags
                .evaluate_at(account, feature, default, || self.inner.clock.now()),
            None => without_data(default),
        };
        Decision {
            value: evaluation.value.clone(),
            decided_by: evaluation.rule.to_string(),
        }
    }

    /// The bundle in use, if any.
    pub fn current(&self) -> Option<Arc<Loaded>> {
        read(&self.inner.current).clone()
    }

    /// Fetches now, blocking until done (at most the timeout). A background fetch in
    /// progress is waited for first.
    pub fn refresh(&self) -> Result<Refresh, ClientError> {
        self.inner.refresh()
    }

    /// Waits up to `timeout` for a bundle to be loaded; `true` when there is one.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut status = lock(&self.inner.status);
        while status.sha256.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            status = self
                .inner
                .ready
                .wait_timeout(status, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        true
    }

    /// What the client holds and how its fetches went.
    pub fn status(&self) -> Status {
        lock(&self.inner.status).clone()
    }

    /// Stops polling and waits for the background thread to finish.
    pub fn shutdown(self) {
        self.inner.stop();
        if let Some(worker) = lock(&self.worker).take() {
            let _ = worker.join();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.inner.stop();
    }
}

struct Inner {
    url: String,
    sidecar_url: String,
    agent: ureq::Agent,
    ttl: Duration,
    jitter: f64,
    clock: Arc<dyn Clock>,
    max_bytes: u64,
    current: RwLock<Option<Arc<Loaded>>>,
    status: Mutex<Status>,
    /// Signalled when a bundle is loaded.
    ready: Condvar,
    /// Held during a fetch, so there is one at a time.
    fetching: Mutex<()>,
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner")
            .field("url", &self.url)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(PoisonError::into_inner).clone()
}

impl Inner {
    fn poll(&self) {
        let mut random = Random::new(&self.url);
        let mut failures = 0u32;
        loop {
            if *lock(&self.stopped) {
                return;
            }
            match self.refresh() {
                Ok(_) => failures = 0,
                Err(_) => failures = failures.saturating_add(1),
            }
            let delay = next_delay(self.ttl, self.jitter, failures, random.unit());
            if self.sleep(delay) {
                return;
            }
        }
    }

    /// Sleeps up to `delay`; `true` when stopped meanwhile.
    fn sleep(&self, delay: Duration) -> bool {
        let deadline = Instant::now() + delay;
        let mut stopped = lock(&self.stopped);
        while !*stopped {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            stopped = self
                .wake
                .wait_timeout(stopped, left)
                .map(|(guard, _)| guard)
                .unwrap_or_else(|e| e.into_inner().0);
        }
        true
    }

    fn stop(&self) {
        *lock(&self.stopped) = true;
        self.wake.notify_all();
    }

    fn bootstrap(&self, path: &Path) {
        let name = path.display().to_string();
        let result = std::fs::read(path)
            .map_err(|e| ClientError::Bootstrap {
                path: name.clone(),
                message: e.to_string(),
            })
            .and_then(|bytes| {
                let mut sidecar = path.as_os_str().to_owned();
                sidecar.push(".sha256");
                let expected = std::fs::read_to_string(PathBuf::from(sidecar))
                    .ok()
                    .and_then(|text| text.split_whitespace().next().map(str::to_owned));
                let sha256 = sha256_hex(&bytes);
                let flags = read_bundle(&name, &bytes, expected.as_deref())?;
                Ok(Loaded {
                    flags,
                    etag: format!("\"{sha256}\""),
                    sha256,
                    source: name,
                })
            });
        match result {
            Ok(loaded) => self.install(loaded),
            Err(err) => lock(&self.status).last_error = Some(err),
        }
    }

    fn install(&self, loaded: Loaded) {
        let sha256 = loaded.sha256.clone();
        let source = loaded.source.clone();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(loaded));
        let mut status = lock(&self.status);
        status.sha256 = Some(sha256);
        status.source = Some(source);
        drop(status);
        self.ready.notify_all();
    }

    fn refresh(&self) -> Result<Refresh, ClientError> {
        let _one_at_a_time = lock(&self.fetching);
        let now = self.clock.now();
        lock(&self.status).last_attempt = Some(now);
        let result = self.fetch();
        let mut status = lock(&self.status);
        match &result {
            Ok(refresh) => {
                status.last_success = Some(now);
                status.last_error = None;
                match refresh {
                    Refresh::Updated { .. } => status.updates += 1,
                    Refresh::NotModified | Refresh::Unchanged => status.not_modified += 1,
                }
            }
            Err(err) => {
                status.failures += 1;
                status.last_error = Some(err.clone());
            }
        }
        result
    }

    fn fetch(&self) -> Result<Refresh, ClientError> {
        let current = read(&self.current);
        let mut request = self.agent.get(&self.url);
        if let Some(loaded) = &current {
            request = request.header("If-None-Match", &loaded.etag);
        }
        let transport = |err: ureq::Error| ClientError::Transport {
            url: self.url.clone(),
            message: err.to_string(),
        };
        let mut response = request.call().map_err(transport)?;
        match response.status().as_u16() {
            304 if current.is_some() => return Ok(Refresh::NotModified),
            200 => {}
            status => {
                return Err(ClientError::Status {
                    url: self.url.clone(),
                    status,
                });
            }
        }
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(self.max_bytes)
            .read_to_vec()
            .map_err(transport)?;
        let expected = match etag.as_deref().and_then(etag_sha256) {
            Some(sha) => sha.to_owned(),
            None => self.published_sha256()?,
        };
        let sha256 = sha256_hex(&body);
        if current.as_ref().is_some_and(|c| c.sha256 == sha256) && sha256 == expected {
            return Ok(Refresh::Unchanged);
        }
        let flags = read_bundle(&self.url, &body, Some(&expected))?;
        self.install(Loaded {
            flags,
            etag: etag.unwrap_or_else(|| format!("\"{sha256}\"")),
            sha256: sha256.clone(),
            source: self.url.clone(),
        });
        Ok(Refresh::Updated { sha256 })
    }

    /// The sha256 the server publishes beside the bundle (`flags.json.sha256`).
    fn published_sha256(&self) -> Result<String, ClientError> {
        let unverifiable = |message: String| ClientError::Unverifiable {
            url: self.url.clone(),
            sidecar: self.sidecar_url.clone(),
            message,
        };
        let mut response = self
            .agent
            .get(&self.sidecar_url)
            .call()
            .map_err(|e| unverifiable(e.to_string()))?;
        if response.status().as_u16() != 200 {
            return Err(unverifiable(format!("HTTP status {}", response.status())));
        }
        let text = response
            .body_mut()
            .with_config()
            .limit(1024)
            .read_to_string()
            .map_err(|e| unverifiable(e.to_string()))?;
        match text.split_whitespace().next() {
            Some(sha) if is_sha256_hex(sha) => Ok(sha.to_owned()),
            _ => Err(unverifiable("it does not hold a sha256".into())),
        }
    }
}

/// The sha256 in a strong ETag `"<64 lowercase hex>"`; `None` for anything else.
pub fn etag_sha256(etag: &str) -> Option<&str> {
    let inner = etag.trim().strip_prefix('"')?.strip_suffix('"')?;
    is_sha256_hex(inner).then_some(inner)
}

/// `…/flags.json?x` → `…/flags.json.sha256?x`: where a build publishes the checksum.
fn sidecar_url(url: &str) -> String {
    match url.split_once('?') {
        Some((path, query)) => format!("{path}.sha256?{query}"),
        None => format!("{url}.sha256"),
    }
}

/// How long to wait before the next fetch. After a success: the TTL; after `failures`
/// failures in a row: 1 s, 2 s, 4 s ... but never more than the TTL. Either is shortened
/// by `jitter × unit` of itself, `unit` being a random number in [0, 1), so waits are
/// spread over [(1 − jitter) × base, base].
pub fn next_delay(ttl: Duration, jitter: f64, failures: u32, unit: f64) -> Duration {
    let base = if failures == 0 {
        ttl
    } else {
        let factor = 1u32.checked_shl(failures - 1).unwrap_or(u32::MAX);
        FIRST_RETRY.saturating_mul(factor).min(ttl)
    };
    let shorten = (jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0)).min(1.0);
    base.mul_f64(1.0 - shorten)
}

/// A small random source for jitter (splitmix64), seeded differently in every process.
struct Random(u64);

impl Random {
    fn new(salt: &str) -> Self {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write(salt.as_bytes());
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        Random(hasher.finish())
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits as a fraction.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests;
