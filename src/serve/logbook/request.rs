//! Reading an entry from a request: the media type, then its fields from a JSON object
//! (every member, repeats included) or a form, each field given at most once.

use http::header::CONTENT_TYPE;
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use crate::content::Disposition;
use crate::content::types::Moment;
use crate::intake::{self, NewEntry};

use super::Refusal;

pub(super) enum Media {
    Json,
    Form,
}

pub(super) fn media_type(headers: &HeaderMap) -> Result<Media, Refusal> {
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
pub(super) struct Fields {
    pub(super) procedure: Option<String>,
    pub(super) about: Option<String>,
    pub(super) until: Option<String>,
    pub(super) by: Option<String>,
    pub(super) disposition: Option<String>,
    pub(super) note: Option<String>,
    pub(super) at: Option<String>,
    pub(super) reply_to: Option<String>,
    /// The fields given so far, empty or not: a field given twice is refused even when
    /// one of the two is empty (or `null`).
    given: Vec<&'static str>,
}

const FIELDS: &[&str] = &[
    "procedure",
    "about",
    "until",
    "by",
    "disposition",
    "note",
    "at",
    "reply_to",
];

impl Fields {
    pub(super) fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "procedure" => &mut self.procedure,
            "about" => &mut self.about,
            "until" => &mut self.until,
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
    pub(super) fn claim(&mut self, name: &str) -> Result<&mut Option<String>, Refusal> {
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

    pub(super) fn set(&mut self, name: &str, value: String) -> Result<(), Refusal> {
        let slot = self.claim(name)?;
        // An empty form field is an absent one.
        if !value.is_empty() {
            *slot = Some(value);
        }
        Ok(())
    }

    pub(super) fn into_entry(self, principal: &str, now: Moment) -> Result<NewEntry, Refusal> {
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
        let until = match self.until.as_deref() {
            Some(text) => Some(text.parse().map_err(|_| {
                Refusal::invalid(
                    intake::Invalid::bad("until", format!("`{text}` is not a date"))
                        .with_help("write it like 2026-12-01"),
                )
            })?),
            None => None,
        };
        Ok(NewEntry {
            procedure: self.procedure,
            about: self.about,
            until,
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

pub(super) fn fields_from_json(bytes: &[u8]) -> Result<Fields, Refusal> {
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

pub(super) fn fields_from_form(bytes: &[u8]) -> Result<Fields, Refusal> {
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
