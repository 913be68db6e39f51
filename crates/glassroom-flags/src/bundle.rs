//! The flag bundle: what `flags/` compiles to, as canonical JSON with a sha256.
//!
//! The bundle keeps the content's shape — features, account sets with their values, the
//! sets each account is in, and overrides — so its size grows with accounts + sets +
//! overrides, never with accounts × features. The format is described in `docs/flags.md`
//! and `docs/flags.schema.json`.

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::value::{FlagType, FlagValue};

/// The version of the bundle format this library writes and reads.
pub const SCHEMA: u64 = 1;

/// The compiled flags: everything a client needs to evaluate any flag for any account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// The format version ([`SCHEMA`]).
    pub schema: u64,
    /// Feature id → its definition.
    pub features: BTreeMap<String, FeatureSpec>,
    /// Account-set id → the values it gives its accounts.
    pub account_sets: BTreeMap<String, AccountSetSpec>,
    /// Account id → the ids of the sets it is in, sorted (the first with a value decides).
    pub accounts: BTreeMap<String, Vec<String>>,
    /// Account id → feature id → value: the most specific setting.
    pub overrides: BTreeMap<String, BTreeMap<String, FlagValue>>,
}

/// One feature as the bundle carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureSpec {
    /// The type of every value of this feature.
    #[serde(rename = "type")]
    pub value_type: FlagType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The value when nothing else decides (`false` for a boolean feature without one).
    pub default: FlagValue,
    /// Active for every account that nothing more specific decides for.
    pub fully_active: bool,
    /// The value where the feature is active: `true` for boolean features unless the
    /// content says otherwise; absent for other features that are never activated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_value: Option<FlagValue>,
    /// Percentage (0–100) of accounts inside the rollout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollout: Option<u8>,
    /// `fully_active` and `rollout` apply from this moment on (written in whole seconds).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::optional"
    )]
    pub active_from: Option<Timestamp>,
}

/// One account set as the bundle carries it: its values, not its accounts (those are in
/// [`Bundle::accounts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSetSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Feature id → the value for every account in the set.
    pub features: BTreeMap<String, FlagValue>,
}

impl Bundle {
    /// The canonical JSON text: object keys sorted by their UTF-8 bytes, no whitespace
    /// outside strings, integers in plain decimal, strings with only `"`, `\` and control
    /// characters escaped. The same bundle always gives the same bytes.
    pub fn to_canonical_json(&self) -> Vec<u8> {
        match serde_json::to_value(self) {
            Ok(value) => crate::canonical::to_vec(&value),
            // Unreachable: every field serialises to JSON (string keys, integer numbers).
            Err(_) => Vec::new(),
        }
    }

    /// Reads a bundle, checking its schema version first so a newer format is reported as
    /// such rather than as a confusing field error. `source` names the file or URL.
    pub fn from_json(source: &str, bytes: &[u8]) -> Result<Bundle, BundleError> {
        let json_error = |err: serde_json::Error| BundleError::Json {
            source_name: source.to_owned(),
            line: err.line(),
            column: err.column(),
            message: {
                let text = err.to_string();
                let suffix = format!(" at line {} column {}", err.line(), err.column());
                text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
            },
        };
        let value: serde_json::Value = serde_json::from_slice(bytes).map_err(json_error)?;
        match value.get("schema") {
            Some(serde_json::Value::Number(n)) if n.as_u64() == Some(SCHEMA) => {}
            found => {
                return Err(BundleError::Schema {
                    source_name: source.to_owned(),
                    found: found.map_or_else(|| "none".to_owned(), ToString::to_string),
                });
            }
        }
        // Parse the bytes again (not the value) so type errors keep their line and column.
        serde_json::from_slice(bytes).map_err(json_error)
    }

    /// The bundle as published: its canonical bytes and their sha256.
    pub fn publish(&self) -> Published {
        Published::new(self.to_canonical_json())
    }
}

/// Canonical bundle bytes with their checksum, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub json: Vec<u8>,
    /// Lowercase hex sha256 of `json`: also the bundle's strong ETag (in quotes).
    pub sha256: String,
}

impl Published {
    pub fn new(json: Vec<u8>) -> Self {
        let sha256 = sha256_hex(&json);
        Self { json, sha256 }
    }

    /// The strong ETag: the sha256 in double quotes.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }

    /// The files a build writes, relative to the site root: `flags.json`,
    /// `flags.json.sha256` (the hex digest and a newline) and the immutable copy
    /// `flags/<sha256>.json`.
    pub fn files(&self) -> [(String, Vec<u8>); 3] {
        [
            ("flags.json".to_owned(), self.json.clone()),
            (
                "flags.json.sha256".to_owned(),
                format!("{}\n", self.sha256).into_bytes(),
            ),
            (format!("flags/{}.json", self.sha256), self.json.clone()),
        ]
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest.iter() {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Whether `text` is a lowercase hex sha256 (64 digits).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| HEX.contains(&b))
}

/// A bundle that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not JSON, or JSON that is not a bundle.
    #[error("{source_name}:{line}:{column}: not a valid flag bundle: {message}")]
    Json {
        source_name: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A schema version this library does not know.
    #[error(
        "{source_name}: unknown bundle schema version {found} (this glassroom reads version {SCHEMA})"
    )]
    Schema { source_name: String, found: String },
    /// The bytes do not hash to the published sha256: truncated or corrupt.
    #[error(
        "{source_name}: checksum mismatch: expected sha256 {expected}, the bytes hash to {actual} (truncated or corrupt)"
    )]
    Checksum {
        source_name: String,
        expected: String,
        actual: String,
    },
    /// Well-formed, but its parts do not fit together.
    #[error("{source_name}: inconsistent flag bundle: {message}")]
    Inconsistent {
        source_name: String,
        message: String,
    },
}

impl fmt::Display for Published {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "flags.json ({} bytes, sha256 {})",
            self.json.len(),
            self.sha256
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newer_schema_is_named_as_such() {
        let err = Bundle::from_json("b.json", br#"{"schema":2,"features":{}}"#).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("b.json: unknown bundle schema version 2 (this glassroom reads version 1)")
        );
        let err = Bundle::from_json("b.json", br#"{"features":{}}"#).err();
        assert!(matches!(err, Some(BundleError::Schema { .. })));
    }

    #[test]
    fn bad_json_is_reported_with_line_and_column() {
        let err = Bundle::from_json("b.json", b"{\"schema\":1,\n\"features\": {\"a\": tru}}").err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.starts_with("b.json:2:"), "{text}");
        let err = Bundle::from_json(
            "b.json",
            b"{\"schema\":1,\"features\":{},\"account_sets\":{},\"accounts\":{},\"overrides\":{},\n\"extra\":1}",
        )
        .err();
        let text = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("unknown field `extra`"), "{text}");
    }
}
