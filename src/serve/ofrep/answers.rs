//! OFREP answers from a published bundle: pure functions of the bundle, the request's
//! context and the time, so every rule and error is tested without a socket.
//!
//! glassroom's rules map to OpenFeature's reasons as follows (the `variant` names the
//! rule, and the account set):
//!
//! | rule (docs/flags.md)          | reason            | variant            |
//! |-------------------------------|-------------------|--------------------|
//! | override                      | `TARGETING_MATCH` | `override`         |
//! | account set                   | `TARGETING_MATCH` | `account-set:<id>` |
//! | rollout                       | `SPLIT`           | `rollout`          |
//! | fully active                  | `STATIC`          | `fully-active`     |
//! | feature default               | `DEFAULT`         | `default`          |
//! | default, `active_from` ahead  | `DISABLED`        | `default`          |
//!
//! OFREP carries no code default, so the server evaluates as for a caller that passed
//! none: the feature's own default is the answer where nothing more specific decides.

use std::collections::HashSet;

use glassroom_flags::{BundleError, FlagValue, Flags, Rule, Timestamp, sha256_hex};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// Longest targeting key accepted (account ids are far shorter).
pub const MAX_TARGETING_KEY: usize = 1024;

/// A bundle prepared for OFREP.
pub struct Prepared {
    flags: Option<Flags>,
    sha256: String,
    /// Features whose value can differ between accounts (an override, an account set or
    /// a rollout gives them one): asking for them needs a targeting key.
    targeted: HashSet<String>,
    /// Every `active_from` of a feature that it changes, sorted: how many have passed is
    /// part of the bulk ETag, since the answers change then.
    activations: Vec<Timestamp>,
}

impl Prepared {
    /// Prepares the bytes of `flags.json`.
    pub fn from_json(bytes: &[u8]) -> Result<Prepared, BundleError> {
        let sha256 = sha256_hex(bytes);
        let flags = glassroom_flags::read_bundle("flags.json", bytes, None)?;
        let bundle = flags.bundle();
        let mut targeted: HashSet<String> = bundle
            .overrides
            .values()
            .flat_map(|values| values.keys().cloned())
            .chain(
                bundle
                    .account_sets
                    .values()
                    .flat_map(|set| set.features.keys().cloned()),
            )
            .collect();
        let mut activations = Vec::new();
        for (id, spec) in &bundle.features {
            if spec.rollout.is_some_and(|p| p > 0) && spec.active_value.is_some() {
                targeted.insert(id.clone());
            }
            if let Some(from) = spec.active_from
                && changes_when_active(spec)
            {
                activations.push(from);
            }
        }
        activations.sort_unstable();
        Ok(Prepared {
            flags: Some(flags),
            sha256,
            targeted,
            activations,
        })
    }

    /// A site without `flags.json`: no flag exists.
    pub fn empty() -> Prepared {
        Prepared {
            flags: None,
            sha256: sha256_hex(b""),
            targeted: HashSet::new(),
            activations: Vec::new(),
        }
    }

    /// The sha256 of the bundle's bytes (its ETag as a file).
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// Every flag key, in order.
    fn keys(&self) -> impl Iterator<Item = &str> {
        self.flags
            .iter()
            .flat_map(|flags| flags.bundle().features.keys().map(String::as_str))
    }
}

/// Whether `active_from` changes anything: only `fully_active` and the rollout wait for it.
fn changes_when_active(spec: &glassroom_flags::FeatureSpec) -> bool {
    spec.active_value.is_some() && (spec.fully_active || spec.rollout.is_some_and(|p| p > 0))
}

/// OpenFeature's resolution reasons that glassroom gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    TargetingMatch,
    Split,
    Static,
    Default,
    Disabled,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::TargetingMatch => "TARGETING_MATCH",
            Reason::Split => "SPLIT",
            Reason::Static => "STATIC",
            Reason::Default => "DEFAULT",
            Reason::Disabled => "DISABLED",
        }
    }
}

/// What one flag evaluates to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Value {
        key: String,
        value: FlagValue,
        reason: Reason,
        variant: String,
    },
    /// `404 FLAG_NOT_FOUND`.
    NotFound { key: String },
    /// `400 TARGETING_KEY_MISSING`: the flag depends on the account and none was given.
    KeyMissing { key: String },
}

impl Answer {
    /// The HTTP status of this answer on its own.
    pub fn status(&self) -> u16 {
        match self {
            Answer::Value { .. } => 200,
            Answer::NotFound { .. } => 404,
            Answer::KeyMissing { .. } => 400,
        }
    }

    /// The JSON object OFREP defines for it (success or failure).
    pub fn to_json(&self, sha256: &str) -> Value {
        match self {
            Answer::Value {
                key,
                value,
                reason,
                variant,
            } => json!({
                "key": key,
                "value": value,
                "reason": reason.as_str(),
                "variant": variant,
                "metadata": { "bundleSha256": sha256 },
            }),
            Answer::NotFound { key } => json!({
                "key": key,
                "errorCode": "FLAG_NOT_FOUND",
                "errorDetails": format!("the flag bundle has no feature `{key}`"),
            }),
            Answer::KeyMissing { key } => json!({
                "key": key,
                "errorCode": "TARGETING_KEY_MISSING",
                "errorDetails": format!(
                    "`{key}` depends on the account: give the account id as the context's `targetingKey`"
                ),
            }),
        }
    }
}

/// Evaluates one flag for `account` (the targeting key, if any) at `now`.
pub fn evaluate(prepared: &Prepared, key: &str, account: Option<&str>, now: Timestamp) -> Answer {
    let Some(flags) = prepared.flags.as_ref().filter(|f| f.has_feature(key)) else {
        return Answer::NotFound {
            key: key.to_owned(),
        };
    };
    let account = match account {
        Some(account) => account,
        None if prepared.targeted.contains(key) => {
            return Answer::KeyMissing {
                key: key.to_owned(),
            };
        }
        // No rule of this feature looks at the account.
        None => "",
    };
    let evaluation = flags.evaluate(account, key, None, now);
    let (reason, variant) = match evaluation.rule {
        Rule::Override => (Reason::TargetingMatch, "override".to_owned()),
        Rule::AccountSet(set) => (Reason::TargetingMatch, format!("account-set:{set}")),
        Rule::Rollout => (Reason::Split, "rollout".to_owned()),
        Rule::FullyActive => (Reason::Static, "fully-active".to_owned()),
        // Without a caller's default these two cannot decide; the feature exists.
        Rule::FeatureDefault | Rule::CallerDefault | Rule::NoSuchFeature | Rule::NoData => {
            let waiting = flags.bundle().features.get(key).is_some_and(|spec| {
                changes_when_active(spec) && spec.active_from.is_some_and(|from| now < from)
            });
            let reason = if waiting {
                Reason::Disabled
            } else {
                Reason::Default
            };
            (reason, "default".to_owned())
        }
    };
    Answer::Value {
        key: key.to_owned(),
        value: evaluation.value.clone(),
        reason,
        variant,
    }
}

/// Every flag for `account`: `{"flags": [...]}`, each a success or a failure.
pub fn bulk(prepared: &Prepared, account: Option<&str>, now: Timestamp) -> Value {
    let flags: Vec<Value> = prepared
        .keys()
        .map(|key| evaluate(prepared, key, account, now).to_json(prepared.sha256()))
        .collect();
    json!({ "flags": flags })
}

/// The bulk answer's entity tag: the bundle, the targeting key and the activations that
/// have passed decide every answer, so they decide the tag (a `304` needs no evaluation).
pub fn bulk_etag(prepared: &Prepared, account: Option<&str>, now: Timestamp) -> String {
    let passed = prepared.activations.partition_point(|from| *from <= now);
    let mut hasher = Sha256::new();
    hasher.update(prepared.sha256.as_bytes());
    match account {
        Some(account) => {
            hasher.update(b"\x01");
            hasher.update(account.as_bytes());
        }
        None => hasher.update(b"\x00"),
    }
    hasher.update(b"\x00");
    hasher.update(passed.to_be_bytes());
    let digest = hasher.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Why a request body is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// `400 PARSE_ERROR`: not JSON.
    Parse(String),
    /// `400 INVALID_CONTEXT`: JSON, but not `{"context": {...}}` with a string key.
    InvalidContext(String),
}

impl BodyError {
    pub fn code(&self) -> &'static str {
        match self {
            BodyError::Parse(_) => "PARSE_ERROR",
            BodyError::InvalidContext(_) => "INVALID_CONTEXT",
        }
    }

    pub fn details(&self) -> &str {
        match self {
            BodyError::Parse(details) | BodyError::InvalidContext(details) => details,
        }
    }
}

/// The targeting key of a request body (`{"context": {"targetingKey": ...}}`). An empty
/// body, no context or an empty key mean none; other attributes are allowed and unused.
pub fn targeting_key(body: &[u8]) -> Result<Option<String>, BodyError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|err| BodyError::Parse(format!("the body is not JSON: {err}")))?;
    let Value::Object(request) = value else {
        return Err(BodyError::InvalidContext(
            "the body must be a JSON object like {\"context\": {\"targetingKey\": \"acct-1\"}}"
                .into(),
        ));
    };
    let context = match request.get("context") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Object(context)) => context,
        Some(_) => {
            return Err(BodyError::InvalidContext(
                "`context` must be a JSON object".into(),
            ));
        }
    };
    key_of(context)
}

fn key_of(context: &Map<String, Value>) -> Result<Option<String>, BodyError> {
    match context.get("targetingKey") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(key)) if key.is_empty() => Ok(None),
        Some(Value::String(key)) if key.len() > MAX_TARGETING_KEY => {
            Err(BodyError::InvalidContext(format!(
                "`targetingKey` is longer than {MAX_TARGETING_KEY} bytes"
            )))
        }
        Some(Value::String(key)) => Ok(Some(key.clone())),
        Some(_) => Err(BodyError::InvalidContext(
            "`targetingKey` must be a string (the account id)".into(),
        )),
    }
}

#[cfg(test)]
mod tests;
