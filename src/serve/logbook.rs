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
use http::header::{CONTENT_LENGTH, LOCATION};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;

use crate::content::Content;
use crate::content::types::Moment;
use crate::intake::{self, Committer, Rules, Signer};

use super::Clock;
use super::tokens::{Tokens, bearer};

mod refusal;
mod request;

pub use refusal::not_accepted;
use refusal::{Refusal, json_response};
use request::{Media, fields_from_form, fields_from_json, media_type};

/// Entries remembered beyond the last rebuild, so replies to them are accepted.
const RECENT: usize = 1024;

/// A user of the policy, as the intake needs it.
struct Person {
    robot: bool,
    email: Option<String>,
    keys: Vec<String>,
}

/// What the approved content says about the intake: tokens, people, and what an entry
/// may refer to.
pub struct Approved {
    tokens: Tokens,
    people: BTreeMap<String, Person>,
    rules: Rules,
}

impl Approved {
    pub fn from_content(content: &Content) -> Approved {
        let tokens = Tokens::listed(content, |serve| &serve.logbook_tokens);
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

    /// The principal whose token this is (compared in constant time).
    fn authenticate(&self, token: &str) -> Option<&str> {
        self.tokens.authenticate(token)
    }
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

#[cfg(test)]
mod tests;
