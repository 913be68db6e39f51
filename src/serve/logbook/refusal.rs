//! Refusals and responses: a refused request as a status with a JSON body naming the
//! field at fault (and what to do), JSON responses, and the answer of a server that
//! does not accept logbook entries.

use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Response, StatusCode};
use serde_json::{Value, json};

use crate::intake::Invalid;
use crate::serve::Body;

/// A refused request: the status and a JSON body naming the field at fault.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) status: StatusCode,
    pub(super) message: String,
    pub(super) field: Option<String>,
    pub(super) help: Option<String>,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            field: None,
            help: None,
        }
    }

    pub(super) fn bad_field(field: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            field: Some(field.to_owned()),
            ..Refusal::new(StatusCode::BAD_REQUEST, message)
        }
    }

    pub(super) fn help(mut self, help: impl Into<String>) -> Refusal {
        self.help = Some(help.into());
        self
    }

    pub(super) fn unauthorized() -> Refusal {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is needed to post logbook entries",
        )
        .help("send `Authorization: Bearer <token>`; glassroom.yaml lists the sha256 of each robot's token under serve.logbook_tokens")
    }

    pub(super) fn internal(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    pub(super) fn invalid(invalid: Invalid) -> Refusal {
        Refusal {
            status: if invalid.unknown {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::BAD_REQUEST
            },
            message: invalid.message,
            field: Some(invalid.field.to_owned()),
            help: invalid.help,
        }
    }

    pub(super) fn response(self) -> Response<Body> {
        let body = json!({
            "error": self.message,
            "field": self.field,
            "help": self.help,
        });
        let mut response = json_response(self.status, &body);
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"glassroom logbook\""),
            );
        }
        response
    }
}

pub(super) fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
    let mut text = body.to_string();
    text.push('\n');
    let mut response = Response::new(Body::from(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to `POST /logbook` on a server started without `--accept-logbook`.
pub fn not_accepted() -> Response<Body> {
    let mut response = Refusal::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this server does not accept logbook entries",
    )
    .help("start it with `glassroom serve --repo REPO --accept-logbook --signing-key KEY`")
    .response();
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}
