//! `POST /logbook`: robots' logbook entries over HTTP.
//!
//! A robot authenticates with a bearer token whose sha256 `glassroom.yaml` maps to its
//! principal (`serve.logbook_tokens`); the entry (JSON or form fields) is checked against
//! the approved content and appended to the repository as a commit signed with the
//! server's key ([`crate::intake::append`]). Commits are made one at a time.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::serve::Body;
use http::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE,
};
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::content::types::Moment;
use crate::content::{Content, Disposition};
use crate::intake::{self, Committer, Invalid, NewEntry, Rules, Signer};

use super::Clock;

/// Entries remembered beyond the last rebuild, so replies to them are accepted.
const RECENT: usize = 1024;

/// A robot's token, as its sha256.
struct Token {
    principal: String,
    digest: [u8; 32],
}

/// A user of the policy, as the intake needs it.
struct Person {
    robot: bool,
    email: Option<String>,
    keys: Vec<String>,
}

/// What the approved content says about the intake: tokens, people, and what an entry
/// may refer to.
pub struct Approved {
    tokens: Vec<Token>,
    people: BTreeMap<String, Person>,
    rules: Rules,
}

impl Approved {
    pub fn from_content(content: &Content) -> Approved {
        let tokens = content
            .config
            .as_ref()
            .map(|config| {
                config
                    .data
                    .serve
                    .logbook_tokens
                    .iter()
                    .filter_map(|(principal, hash)| {
                        Some(Token {
                            principal: principal.as_str().to_owned(),
                            digest: parse_digest(hash.as_str())?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let people = content
            .policy
            .as_ref()
            .map(|policy| {
                policy
                    .data
                    .users
                    .iter()
                    .map(|(name, user)| {
                        let person = Person {
                            robot: user.robot,
                            email: user.email.clone(),
                            keys: user.keys.iter().map(|k| k.key.value.clone()).collect(),
                        };
                        (name.as_str().to_owned(), person)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Approved {
            tokens,
            people,
            rules: Rules::from_content(content),
        }
    }

    /// How many robots can post.
    pub fn robots(&self) -> usize {
        self.tokens.len()
    }

    /// The principal the policy lists `key` for, if any.
    pub fn key_owner(&self, key: &ssh_key::PublicKey) -> Option<&str> {
        self.people.iter().find_map(|(name, person)| {
            person
                .keys
                .iter()
                .filter_map(|text| ssh_key::PublicKey::from_openssh(text).ok())
                .any(|listed| listed.key_data() == key.key_data())
                .then_some(name.as_str())
        })
    }

    /// The principal whose token this is. Every configured digest is compared, in
    /// constant time, whatever matched before.
    fn authenticate(&self, token: &str) -> Option<&str> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for candidate in &self.tokens {
            if bool::from(candidate.digest.ct_eq(&digest)) {
                found = Some(candidate.principal.as_str());
            }
        }
        found
    }
}

/// `sha256:<64 hex>` → bytes.
fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

struct Known {
    approved: Option<Approved>,
    /// Entries appended since (id, at), newest last.
    recent: VecDeque<(String, Moment)>,
}

/// The intake: where entries go and what they are checked against.
pub struct Intake {
    repo: PathBuf,
    signer: Arc<Signer>,
    clock: Clock,
    known: Mutex<Known>,
    /// Held while committing: one commit at a time.
    commits: Arc<Mutex<()>>,
    max_body: usize,
    timeout: Duration,
}

/// What happened, for the server's log.
pub enum Logged {
    Appended {
        principal: String,
        appended: intake::Appended,
    },
    Refused,
}

impl Intake {
    pub fn new(
        repo: PathBuf,
        signer: Signer,
        clock: Clock,
        max_body: usize,
        timeout: Duration,
    ) -> Intake {
        Intake {
            repo,
            signer: Arc::new(signer),
            clock,
            known: Mutex::new(Known {
                approved: None,
                recent: VecDeque::new(),
            }),
            commits: Arc::new(Mutex::new(())),
            max_body,
            timeout,
        }
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// Takes the approved content of a new build (keeping entries appended since).
    pub fn set_approved(&self, mut approved: Approved) {
        let Ok(mut known) = self.known.lock() else {
            return;
        };
        for (id, at) in &known.recent {
            approved.rules.add_entry(id, *at);
        }
        known.approved = Some(approved);
    }

    /// Handles `POST /logbook`.
    pub async fn post(&self, request: Request<hyper::body::Incoming>) -> (Response<Body>, Logged) {
        match self.accept(request).await {
            Ok((response, logged)) => (response, logged),
            Err(refusal) => (refusal.response(), Logged::Refused),
        }
    }

    async fn accept(
        &self,
        request: Request<hyper::body::Incoming>,
    ) -> Result<(Response<Body>, Logged), Refusal> {
        let (parts, body) = request.into_parts();
        let token = bearer(&parts.headers).ok_or_else(Refusal::unauthorized)?;
        let principal = {
            let known = self
                .known
                .lock()
                .map_err(|_| Refusal::internal("state lost"))?;
            let approved = known.approved.as_ref().ok_or_else(|| {
                Refusal::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the repository's approved content does not build, so entries cannot be checked",
                )
                .help("fix the content (see the server's log); entries are accepted again after the next good build")
            })?;
            let principal = approved
                .authenticate(token)
                .ok_or_else(Refusal::unauthorized)?
                .to_owned();
            if !approved.people.get(&principal).is_some_and(|p| p.robot) {
                return Err(Refusal::new(
                    StatusCode::FORBIDDEN,
                    format!("`{principal}` is not a robot in .glassroom/policy.yaml"),
                )
                .help("give the user `robot: true` in the policy"));
            }
            principal
        };

        let kind = media_type(&parts.headers)?;
        if let Some(length) = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            && length > self.max_body as u64
        {
            return Err(self.too_large());
        }
        let bytes =
            match tokio::time::timeout(self.timeout, Limited::new(body, self.max_body).collect())
                .await
            {
                Err(_) => {
                    return Err(Refusal::new(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "the request body did not arrive within {} s",
                            self.timeout.as_secs()
                        ),
                    ));
                }
                Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => {
                    return Err(self.too_large());
                }
                Ok(Err(err)) => {
                    return Err(Refusal::new(
                        StatusCode::BAD_REQUEST,
                        format!("cannot read the request body: {err}"),
                    ));
                }
                Ok(Ok(collected)) => collected.to_bytes(),
            };
        let fields = match kind {
            Media::Json => fields_from_json(&bytes)?,
            Media::Form => fields_from_form(&bytes)?,
        };
        let now_seconds = (self.clock)();
        let now = Moment(jiff::Timestamp::from_second(now_seconds).unwrap_or_default());
        let entry = fields.into_entry(&principal, now)?;
        {
            let known = self
                .known
                .lock()
                .map_err(|_| Refusal::internal("state lost"))?;
            let approved = known
                .approved
                .as_ref()
                .ok_or_else(|| Refusal::internal("the approved content went away"))?;
            intake::check(&entry, &approved.rules, Some(&principal), now)
                .map_err(Refusal::invalid)?;
        }

        let committer = {
            let known = self
                .known
                .lock()
                .map_err(|_| Refusal::internal("state lost"))?;
            let email = known
                .approved
                .as_ref()
                .and_then(|a| a.people.get(&principal))
                .and_then(|p| p.email.clone())
                .unwrap_or_else(|| format!("{principal}@glassroom.invalid"));
            Committer {
                name: principal.clone(),
                email,
            }
        };
        let repo = self.repo.clone();
        let signer = Arc::clone(&self.signer);
        let commits = Arc::clone(&self.commits);
        let to_write = entry.clone();
        let clock = Arc::clone(&self.clock);
        let appended = tokio::task::spawn_blocking(move || {
            let _one_at_a_time = commits
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            intake::append(&repo, &to_write, &committer, Some(&signer), clock())
        })
        .await
        .map_err(|err| Refusal::internal(format!("the commit did not finish: {err}")))?
        .map_err(|err| match err {
            // Someone else's git holds the repository: worth trying again later.
            intake::IntakeError::Locked { .. } => Refusal::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot commit the entry now: {err}"),
            ),
            err => Refusal::internal(format!("cannot commit the entry: {err}")),
        })?;

        if let Ok(mut known) = self.known.lock() {
            known.recent.push_back((appended.id.clone(), entry.at));
            if known.recent.len() > RECENT {
                known.recent.pop_front();
            }
            if let Some(approved) = known.approved.as_mut() {
                approved.rules.add_entry(&appended.id, entry.at);
            }
        }
        let url =
            crate::render::names::link(crate::render::names::detail_page("logbook", &appended.id));
        let body = json!({
            "id": appended.id,
            "path": appended.path,
            "commit": appended.commit,
            "url": url,
        });
        let mut response = json_response(StatusCode::CREATED, &body);
        if let Ok(location) = HeaderValue::from_str(&format!("/{url}")) {
            response.headers_mut().insert(LOCATION, location);
        }
        Ok((
            response,
            Logged::Appended {
                principal,
                appended,
            },
        ))
    }

    fn too_large(&self) -> Refusal {
        Refusal::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {} bytes", self.max_body),
        )
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

enum Media {
    Json,
    Form,
}

fn media_type(headers: &HeaderMap) -> Result<Media, Refusal> {
    let value = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/json" => Ok(Media::Json),
        "application/x-www-form-urlencoded" => Ok(Media::Form),
        _ => Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("cannot read a body of type `{value}`"),
        )
        .help("send `Content-Type: application/json` or `application/x-www-form-urlencoded`")),
    }
}

/// The fields of an entry as sent (all text).
#[derive(Debug, Default)]
struct Fields {
    procedure: Option<String>,
    by: Option<String>,
    disposition: Option<String>,
    note: Option<String>,
    at: Option<String>,
    reply_to: Option<String>,
    /// The fields given so far, empty or not: a field given twice is refused even when
    /// one of the two is empty (or `null`).
    given: Vec<&'static str>,
}

const FIELDS: &[&str] = &["procedure", "by", "disposition", "note", "at", "reply_to"];

impl Fields {
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "procedure" => &mut self.procedure,
            "by" => &mut self.by,
            "disposition" => &mut self.disposition,
            "note" => &mut self.note,
            "at" => &mut self.at,
            "reply_to" => &mut self.reply_to,
            _ => return None,
        })
    }

    /// The slot of a field given now: refused when the field is unknown or was given
    /// before.
    fn claim(&mut self, name: &str) -> Result<&mut Option<String>, Refusal> {
        let known = FIELDS.iter().copied().find(|field| *field == name);
        let Some(field) = known else {
            return Err(Refusal::bad_field(name, format!("unknown field `{name}`"))
                .help(format!("the fields are {}", FIELDS.join(", "))));
        };
        if self.given.contains(&field) {
            return Err(
                Refusal::bad_field(name, format!("`{name}` is given more than once"))
                    .help("give each field once"),
            );
        }
        self.given.push(field);
        self.slot(field)
            .ok_or_else(|| Refusal::internal("a field without a slot"))
    }

    fn set(&mut self, name: &str, value: String) -> Result<(), Refusal> {
        let slot = self.claim(name)?;
        // An empty form field is an absent one.
        if !value.is_empty() {
            *slot = Some(value);
        }
        Ok(())
    }

    fn into_entry(self, principal: &str, now: Moment) -> Result<NewEntry, Refusal> {
        let disposition: Option<Disposition> = self
            .disposition
            .as_deref()
            .map(intake::parse_disposition)
            .transpose()
            .map_err(Refusal::invalid)?;
        let at = match self.at.as_deref() {
            Some(text) => intake::parse_at(text).map_err(Refusal::invalid)?,
            None => now,
        };
        Ok(NewEntry {
            procedure: self.procedure,
            by: self.by.unwrap_or_else(|| principal.to_owned()),
            disposition,
            reply_to: self.reply_to,
            note: self.note.unwrap_or_default(),
            at,
        })
    }
}

/// Every member of a JSON object, in order, repeats included: serde_json's `Value` (and
/// a derived struct) keeps only one of a repeated key, so `{"by":"a","by":"b"}` could not
/// be refused.
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object of fields")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    members.push((name, value));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Visitor)
    }
}

fn fields_from_json(bytes: &[u8]) -> Result<Fields, Refusal> {
    let members: Members = serde_json::from_slice(bytes).map_err(|err| {
        if err.classify() == serde_json::error::Category::Data {
            // Well-formed JSON, but not an object.
            Refusal::new(
                StatusCode::BAD_REQUEST,
                "the body must be a JSON object of fields",
            )
            .help(format!("the fields are {}", FIELDS.join(", ")))
        } else {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                format!("the body is not valid JSON: {err}"),
            )
        }
    })?;
    let mut fields = Fields::default();
    for (name, value) in members.0 {
        match value {
            Value::Null => fields.set(&name, String::new())?,
            Value::String(text) => fields.set(&name, text)?,
            other => {
                let what = match other {
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::Array(_) => "a list",
                    _ => "an object",
                };
                // An unknown or repeated field is reported as such, whatever its value.
                fields.claim(&name)?;
                return Err(Refusal::bad_field(
                    &name,
                    format!("`{name}` must be a string, not {what}"),
                ));
            }
        }
    }
    Ok(fields)
}

fn fields_from_form(bytes: &[u8]) -> Result<Fields, Refusal> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "the form body is not UTF-8",
        ));
    }
    let mut fields = Fields::default();
    for (name, value) in form_urlencoded::parse(bytes) {
        if value.contains('\u{FFFD}') || name.contains('\u{FFFD}') {
            return Err(Refusal::bad_field(
                &name,
                format!("`{name}` is not percent-encoded UTF-8"),
            ));
        }
        fields.set(&name, value.into_owned())?;
    }
    Ok(fields)
}

/// A refused request: the status and a JSON body naming the field at fault.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
    field: Option<String>,
    help: Option<String>,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
            field: None,
            help: None,
        }
    }

    fn bad_field(field: &str, message: impl Into<String>) -> Refusal {
        Refusal {
            field: Some(field.to_owned()),
            ..Refusal::new(StatusCode::BAD_REQUEST, message)
        }
    }

    fn help(mut self, help: impl Into<String>) -> Refusal {
        self.help = Some(help.into());
        self
    }

    fn unauthorized() -> Refusal {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "a valid bearer token is needed to post logbook entries",
        )
        .help("send `Authorization: Bearer <token>`; glassroom.yaml lists the sha256 of each robot's token under serve.logbook_tokens")
    }

    fn internal(message: impl Into<String>) -> Refusal {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }

    fn invalid(invalid: Invalid) -> Refusal {
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

    fn response(self) -> Response<Body> {
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

fn json_response(status: StatusCode, body: &Value) -> Response<Body> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_parse_only_in_the_stored_form() {
        let hex = "73834e02c0411ea0596b57366c1ba56d16d436381beabcba1b0eb2d9532b3947";
        assert!(parse_digest(&format!("sha256:{hex}")).is_some());
        assert!(parse_digest(hex).is_none());
        assert!(parse_digest("sha256:abc").is_none());
        assert!(parse_digest(&format!("sha256:{}", "g".repeat(64))).is_none());
        assert!(parse_digest(&format!("sha256:{}é", &hex[..62])).is_none());
    }

    #[test]
    fn tokens_authenticate_their_principal_only() {
        let approved = Approved {
            tokens: vec![Token {
                principal: "backup-bot".into(),
                digest: Sha256::digest(b"example-backup-bot-token").into(),
            }],
            people: BTreeMap::new(),
            rules: Rules::default(),
        };
        assert_eq!(
            approved.authenticate("example-backup-bot-token"),
            Some("backup-bot")
        );
        assert_eq!(approved.authenticate("example-backup-bot-token "), None);
        assert_eq!(approved.authenticate(""), None);
    }

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn fields_name_what_is_wrong() {
        let field = |result: Result<Fields, Refusal>| result.err().and_then(|r| r.field);
        assert_eq!(
            field(fields_from_json(br#"{"procedure": "x", "colour": "red"}"#)),
            Some("colour".into())
        );
        assert_eq!(
            field(fields_from_json(br#"{"note": 42}"#)),
            Some("note".into())
        );
        assert_eq!(field(fields_from_form(b"by=a&by=b")), Some("by".into()));
        // Repeats are refused in JSON too, and when one of the two is empty.
        for body in [
            &br#"{"note":"a","note":"b"}"#[..],
            br#"{"note":"a","note":""}"#,
            br#"{"note":null,"note":"b"}"#,
            br#"{"note":"a","no\u0074e":"b"}"#,
            br#"{"procedure":"x","note":"a","note":1}"#,
        ] {
            assert_eq!(
                field(fields_from_json(body)),
                Some("note".into()),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert_eq!(field(fields_from_form(b"by=&by=b")), Some("by".into()));
        assert_eq!(
            field(fields_from_form(b"note=a&note=")),
            Some("note".into())
        );
        // Not an object: said so, with the fields listed.
        let refusal = fields_from_json(br#""note""#).err();
        assert!(refusal.is_some_and(|r| r.message.contains("object") && r.help.is_some()));
        assert!(fields_from_json(b"[1]").is_err());
        assert!(fields_from_json(b"{").is_err());
        let form = fields_from_form(b"procedure=rotate-logs&note=all+good%21&disposition=")
            .unwrap_or_default();
        assert_eq!(form.procedure.as_deref(), Some("rotate-logs"));
        assert_eq!(form.note.as_deref(), Some("all good!"));
        assert_eq!(form.disposition, None);
    }
}
