//! The OpenFeature Remote Evaluation Protocol (OFREP) over the flag bundle the server
//! publishes, so any language's OpenFeature SDK reads glassroom flags with its generic
//! OFREP provider:
//!
//! - `POST /ofrep/v1/evaluate/flags/{key}`: one flag for the context's `targetingKey`;
//! - `POST /ofrep/v1/evaluate/flags`: every flag, with an `ETag` (and `304` to
//!   `If-None-Match`) for the browser and mobile providers that poll it;
//! - `GET /ofrep/v1/configuration`: what this server supports.
//!
//! Answers come from the `flags.json` of the site served now ([`answers`] has the rules).
//! When `glassroom.yaml` lists `serve.ofrep_tokens` (or `--ofrep-tokens` does, for a
//! built directory), a bearer token (or `X-API-Key`) is needed; else anyone may ask.
//! Responses allow any origin (CORS), so a web application can ask from the browser.

pub mod answers;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::header::{
    ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, ETAG, WWW_AUTHENTICATE,
    X_CONTENT_TYPE_OPTIONS,
};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};

use self::answers::{Answer, BodyError, Prepared};
use super::files::Site;
use super::tokens::{Tokens, bearer};
use super::{Body, Clock, Shown, State, View};
use crate::content::Content;
use crate::content::types::Moment;

/// Every OFREP path starts so; the server answers nothing else under it.
pub const PREFIX: &str = "/ofrep/";

/// How the server answers OFREP requests, whatever it serves.
pub struct Settings {
    /// The moment flags are evaluated at (`--now`); else the clock.
    pub now: Option<Moment>,
    pub clock: Clock,
    pub max_body: usize,
    pub timeout: Duration,
    /// Tokens from `--ofrep-tokens` (a built directory has no `glassroom.yaml`).
    pub tokens: Option<Arc<Tokens>>,
}

impl Settings {
    /// Who may ask about a new site: the tokens of its `glassroom.yaml`, or those of
    /// `--ofrep-tokens` for a built directory.
    pub fn tokens_for(&self, built: Option<Tokens>) -> Arc<Tokens> {
        match (built, &self.tokens) {
            (Some(built), _) => Arc::new(built),
            (None, Some(fixed)) => Arc::clone(fixed),
            (None, None) => Arc::new(Tokens::default()),
        }
    }

    fn now(&self) -> glassroom_flags::Timestamp {
        match self.now {
            Some(Moment(at)) => at,
            None => glassroom_flags::Timestamp::from_second((self.clock)()).unwrap_or_default(),
        }
    }
}

/// The OFREP side of one site: who may ask, and its bundle, prepared when first asked
/// for (or kept from the previous site when `flags.json` did not change).
pub struct Published {
    tokens: Arc<Tokens>,
    prepared: OnceLock<Result<Arc<Prepared>, String>>,
}

impl Published {
    pub fn new(tokens: Arc<Tokens>) -> Published {
        Published {
            tokens,
            prepared: OnceLock::new(),
        }
    }

    /// For a new site: keeps the prepared bundle of `previous` when its `flags.json` is
    /// the same file.
    pub fn after(tokens: Arc<Tokens>, previous: &Shown, view: &View) -> Published {
        let published = Published::new(tokens);
        if let (View::Site(old), View::Site(new)) = (&previous.view, view)
            && let (Some(before), Some(now)) = (old.get(BUNDLE), new.get(BUNDLE))
            && before.identity.same_bytes(&now.identity)
            && let Some(prepared) = previous.ofrep.prepared.get()
        {
            let _ = published.prepared.set(prepared.clone());
        }
        published
    }

    fn prepared(&self, site: &Site) -> Result<Arc<Prepared>, String> {
        self.prepared
            .get_or_init(|| match site.get(BUNDLE) {
                Some(asset) => Prepared::from_json(&asset.identity.to_bytes())
                    .map(Arc::new)
                    .map_err(|err| err.to_string()),
                None => Ok(Arc::new(Prepared::empty())),
            })
            .clone()
    }
}

/// The tokens `glassroom.yaml` lists for OFREP clients.
pub fn tokens_of(content: &Content) -> Tokens {
    Tokens::listed(content, |serve| &serve.ofrep_tokens)
}

const BUNDLE: &str = "flags.json";

/// What an OFREP path asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    Single(String),
    Bulk,
    Configuration,
    Unknown,
}

fn route(path: &str) -> Route {
    let Some(rest) = path.strip_prefix("/ofrep/v1/") else {
        return Route::Unknown;
    };
    match rest {
        "evaluate/flags" | "evaluate/flags/" => Route::Bulk,
        "configuration" => Route::Configuration,
        _ => match rest.strip_prefix("evaluate/flags/") {
            Some(key) => match percent_encoding::percent_decode_str(key).decode_utf8() {
                Ok(key) if !key.is_empty() && !key.contains('/') => Route::Single(key.into()),
                _ => Route::Unknown,
            },
            None => Route::Unknown,
        },
    }
}

/// Answers one request under [`PREFIX`].
pub async fn answer(state: &State, request: Request<hyper::body::Incoming>) -> Response<Body> {
    let route = route(request.uri().path());
    let method = request.method().clone();
    if method == Method::OPTIONS {
        return preflight();
    }
    let allowed = match route {
        Route::Single(_) | Route::Bulk => Method::POST,
        Route::Configuration => Method::GET,
        Route::Unknown => {
            return failure(
                StatusCode::NOT_FOUND,
                json!({ "errorDetails": "no such OFREP endpoint; flags are evaluated at POST /ofrep/v1/evaluate/flags/{key}" }),
            );
        }
    };
    if method != allowed && !(allowed == Method::GET && method == Method::HEAD) {
        let mut response = failure(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({ "errorDetails": format!("use {allowed} here") }),
        );
        response.headers_mut().insert(
            ALLOW,
            HeaderValue::from_static(if allowed == Method::GET {
                "GET, HEAD, OPTIONS"
            } else {
                "POST, OPTIONS"
            }),
        );
        return response;
    }
    let shown = state.shown();
    let site = match &shown.view {
        View::Site(site) => site,
        View::Broken(_) => {
            return failure(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({ "errorDetails": "the site does not build, so there is no flag bundle to evaluate; see the server's log" }),
            );
        }
    };
    if !allows(&shown.ofrep.tokens, request.headers()) {
        return unauthorized();
    }
    if route == Route::Configuration {
        return configuration();
    }
    let prepared = match shown.ofrep.prepared(site) {
        Ok(prepared) => prepared,
        Err(err) => {
            return failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({ "errorDetails": format!("the served flags.json cannot be read: {err}") }),
            );
        }
    };
    let settings = &state.ofrep;
    let (parts, body) = request.into_parts();
    let bytes = match read_body(&parts.headers, body, settings).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let account = match answers::targeting_key(&bytes) {
        Ok(account) => account,
        Err(err) => return body_error(&route, &err),
    };
    let now = settings.now();
    match route {
        Route::Single(key) => {
            let answer = answers::evaluate(&prepared, &key, account.as_deref(), now);
            let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::OK);
            let mut response = json_response(status, &answer.to_json(prepared.sha256()));
            if let Answer::Value { .. } = answer {
                response
                    .headers_mut()
                    .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            }
            response
        }
        _ => bulk(&parts.headers, &prepared, account.as_deref(), now),
    }
}

fn bulk(
    headers: &HeaderMap,
    prepared: &Prepared,
    account: Option<&str>,
    now: glassroom_flags::Timestamp,
) -> Response<Body> {
    let tag = answers::bulk_etag(prepared, account, now);
    let Ok(etag) = HeaderValue::from_str(&tag) else {
        return failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            json!({ "errorDetails": "no entity tag" }),
        );
    };
    if super::routes::none_match(headers, &etag) {
        let mut response = with_cors(Response::new(Body::default()));
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        response.headers_mut().insert(ETAG, etag);
        return response;
    }
    let mut response = json_response(StatusCode::OK, &answers::bulk(prepared, account, now));
    let out = response.headers_mut();
    out.insert(ETAG, etag);
    out.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The body, at most `max_body` bytes, within the timeout.
async fn read_body(
    headers: &HeaderMap,
    body: hyper::body::Incoming,
    settings: &Settings,
) -> Result<bytes::Bytes, Response<Body>> {
    let too_large = || {
        failure(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({ "errorCode": "GENERAL", "errorDetails": format!("the body is larger than {} bytes", settings.max_body) }),
        )
    };
    if headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > settings.max_body as u64)
    {
        return Err(too_large());
    }
    match tokio::time::timeout(
        settings.timeout,
        Limited::new(body, settings.max_body).collect(),
    )
    .await
    {
        Err(_) => Err(failure(
            StatusCode::REQUEST_TIMEOUT,
            json!({ "errorCode": "GENERAL", "errorDetails": "the request body did not arrive in time" }),
        )),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(err)) => Err(failure(
            StatusCode::BAD_REQUEST,
            json!({ "errorCode": "PARSE_ERROR", "errorDetails": format!("cannot read the request body: {err}") }),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// Whether the request may be answered: always without tokens, else with one of them.
fn allows(tokens: &Tokens, headers: &HeaderMap) -> bool {
    if tokens.is_empty() {
        return true;
    }
    let token = bearer(headers).or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    });
    token.is_some_and(|token| tokens.authenticate(token).is_some())
}

fn body_error(route: &Route, err: &BodyError) -> Response<Body> {
    let mut body = json!({ "errorCode": err.code(), "errorDetails": err.details() });
    if let (Route::Single(key), Value::Object(map)) = (route, &mut body) {
        map.insert("key".into(), Value::String(key.clone()));
    }
    failure(StatusCode::BAD_REQUEST, body)
}

fn unauthorized() -> Response<Body> {
    let mut response = failure(
        StatusCode::UNAUTHORIZED,
        json!({ "errorCode": "GENERAL", "errorDetails": "a valid token is needed: send `Authorization: Bearer <token>`; glassroom.yaml lists the sha256 of each under serve.ofrep_tokens" }),
    );
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"ofrep\""),
    );
    response
}

fn configuration() -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({
            "name": "glassroom",
            "capabilities": {
                "cacheInvalidation": { "polling": { "enabled": true, "minPollingIntervalMs": 1000 } },
                "flagEvaluation": { "supportedTypes": ["boolean", "int", "string"] },
            },
        }),
    )
}

fn failure(status: StatusCode, body: Value) -> Response<Body> {
    let mut response = json_response(status, &body);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut response = with_cors(Response::new(Body::from(format!("{body}\n"))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// A web application on another origin may ask (with a token, if one is needed: a
/// browser sends none of its own credentials, so any origin is safe to allow).
fn with_cors(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert(
        "access-control-expose-headers",
        HeaderValue::from_static("ETag"),
    );
    response
}

fn preflight() -> Response<Body> {
    let mut response = with_cors(Response::new(Body::default()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    let headers = response.headers_mut();
    headers.insert(
        "access-control-allow-methods",
        HeaderValue::from_static("GET, POST, OPTIONS"),
    );
    headers.insert(
        "access-control-allow-headers",
        HeaderValue::from_static("Authorization, Content-Type, If-None-Match, X-API-Key"),
    );
    headers.insert("access-control-max-age", HeaderValue::from_static("86400"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_route_to_their_endpoint() {
        assert_eq!(route("/ofrep/v1/evaluate/flags"), Route::Bulk);
        assert_eq!(route("/ofrep/v1/evaluate/flags/"), Route::Bulk);
        assert_eq!(
            route("/ofrep/v1/evaluate/flags/new-checkout"),
            Route::Single("new-checkout".into())
        );
        assert_eq!(
            route("/ofrep/v1/evaluate/flags/a%20b"),
            Route::Single("a b".into())
        );
        assert_eq!(route("/ofrep/v1/configuration"), Route::Configuration);
        for unknown in [
            "/ofrep/",
            "/ofrep/v2/evaluate/flags",
            "/ofrep/v1/evaluate/flags/a/b",
            "/ofrep/v1/evaluate/flags/a%2fb",
            "/ofrep/v1/evaluate/flags/%ff",
        ] {
            assert_eq!(route(unknown), Route::Unknown, "{unknown}");
        }
    }

    #[test]
    fn tokens_guard_only_when_configured() {
        let open = Tokens::default();
        assert!(allows(&open, &HeaderMap::new()));
        let guarded = Tokens::from_digests([(
            "shop",
            "sha256:73834e02c0411ea0596b57366c1ba56d16d436381beabcba1b0eb2d9532b3947",
        )]);
        let mut headers = HeaderMap::new();
        assert!(!allows(&guarded, &headers));
        headers.insert("authorization", HeaderValue::from_static("Bearer nope"));
        assert!(!allows(&guarded, &headers));
        headers.insert(
            "authorization",
            HeaderValue::from_static("Bearer example-backup-bot-token"),
        );
        assert!(allows(&guarded, &headers));
        let mut api_key = HeaderMap::new();
        api_key.insert(
            "x-api-key",
            HeaderValue::from_static("example-backup-bot-token"),
        );
        assert!(allows(&guarded, &api_key));
    }
}
