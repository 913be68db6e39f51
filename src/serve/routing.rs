//! Request routing: [`dispatch`] answers one request (`POST /logbook`, the preview's
//! live endpoint, then the site's files), with the site's own 404 page and the live
//! endpoint's state.

use std::sync::Arc;

use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use super::files::Site;
use super::logbook::{self, Logged};
use super::watch::Signal;
use super::{Body, Shown, State, View, preview, routes};

/// Answers one request. Static files need no routing beyond a map lookup, so this is
/// the whole application: `POST /logbook`, OFREP, the preview's live endpoint, then files.
pub async fn dispatch(state: Arc<State>, request: Request<Incoming>) -> Response<Body> {
    let path = request.uri().path();
    if path == "/logbook" && request.method() == Method::POST {
        let Some(intake) = &state.intake else {
            return logbook::not_accepted();
        };
        let (response, logged) = intake.post(request).await;
        if let Logged::Appended {
            principal,
            appended,
        } = logged
        {
            for line in &appended.repaired {
                state.console.info(&format!("logbook intake: {line}"));
            }
            state.console.info(&format!(
                "logbook: {principal} appended {} (commit {})",
                appended.path,
                crate::values::short_id(&appended.commit)
            ));
            let _ = state.poke.send(Signal::Poke);
        }
        return response;
    }
    if path.starts_with(super::ofrep::PREFIX) {
        return super::ofrep::answer(&state, request).await;
    }
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return routes::method_not_allowed(if path == "/logbook" && state.intake.is_some() {
            "GET, HEAD, POST"
        } else {
            "GET, HEAD"
        });
    }
    let shown = state.current.load();
    if path == preview::LIVE_PATH && state.preview {
        return live(&shown, request.uri().query());
    }
    match &shown.view {
        View::Broken(page) => {
            let mut response = routes::respond(request.headers(), page);
            if response.status() == StatusCode::OK {
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            }
            response
        }
        View::Site(site) => match routes::lookup(site, path) {
            routes::Lookup::File(asset) => routes::respond(request.headers(), asset),
            routes::Lookup::Redirect(location) => {
                routes::redirect(&location, request.uri().query())
            }
            routes::Lookup::NotFound => not_found(site, request.headers()),
        },
    }
}

/// The site's own `404.html` when it has one.
fn not_found(site: &Site, headers: &http::HeaderMap) -> Response<Body> {
    match site.not_found() {
        Some(page) => {
            let mut response = routes::respond(headers, page);
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            response
        }
        None => routes::text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// `{"generation": N, "tag": T}`: T is the tag of what `?page=<path>` shows now (a
/// page, the site's 404 page, the error page), which the page's script compares with its
/// own; `null` without a page.
fn live(shown: &Shown, query: Option<&str>) -> Response<Body> {
    let page = query.and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "page")
            .map(|(_, value)| value.into_owned())
    });
    let tag = page.map(|path| {
        let source = match &shown.view {
            View::Broken(page) => Some(page.source()),
            View::Site(site) => match routes::lookup(site, &path) {
                routes::Lookup::File(asset) => Some(asset.source()),
                routes::Lookup::Redirect(_) => None,
                routes::Lookup::NotFound => site.not_found().map(|page| page.source()),
            },
        };
        source.map_or_else(|| "none".to_owned(), |s| preview::tag(&s))
    });
    let body = serde_json::json!({ "generation": shown.generation, "tag": tag });
    let mut response = Response::new(Body::from(format!("{body}\n")));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
