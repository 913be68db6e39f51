//! The JSON API: `api/<kind>.json` for every entity kind (items kept between builds as
//! the bytes they have in the file), the overrides, alerts, procedure status and an
//! index.

use std::collections::BTreeSet;

use bytes::Bytes;
use serde::Serialize;

use std::sync::Arc;

use super::{ENTITIES, Entity, Input, Values, View, entity_items};
use crate::content::types::Moment;

/// A file of the JSON API, `api/<name>.json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiFile {
    /// Every entity of a kind with pages, as the context has them.
    Entities(Entity),
    /// The flag overrides, one row per account and feature.
    Overrides,
    Alerts,
    ProcedureStatus,
    /// The list of the other files.
    Index,
}

impl ApiFile {
    /// Its name: the file's stem and the envelope's `kind`.
    pub const fn name(self) -> &'static str {
        match self {
            ApiFile::Entities(entity) => entity.name,
            ApiFile::Overrides => "overrides",
            ApiFile::Alerts => "alerts",
            ApiFile::ProcedureStatus => "procedure_status",
            ApiFile::Index => "index",
        }
    }

    /// Its path in the site.
    pub fn path(self) -> String {
        format!("api/{}.json", self.name())
    }
}

/// The files of the API that are not an entity kind's.
const NOT_ENTITIES: [ApiFile; 4] = [
    ApiFile::Overrides,
    ApiFile::Alerts,
    ApiFile::ProcedureStatus,
    ApiFile::Index,
];

/// Every file of the JSON API: every entity kind's (as the kind table names it), then
/// the overrides, alerts, procedure status and an index.
pub const API_FILES: [ApiFile; ENTITIES.len() + NOT_ENTITIES.len()] = {
    let mut out = [ApiFile::Index; ENTITIES.len() + NOT_ENTITIES.len()];
    let mut index = 0;
    while index < ENTITIES.len() {
        out[index] = ApiFile::Entities(ENTITIES[index]);
        index += 1;
    }
    while index < out.len() {
        out[index] = NOT_ENTITIES[index - ENTITIES.len()];
        index += 1;
    }
    out
};

/// `api/<kind>.json`: the envelope `{schema, kind, generated, items}`, pretty-printed.
pub(super) fn envelope<T: Serialize>(kind: &str, now: Moment, items: T) -> Vec<u8> {
    #[derive(Serialize)]
    struct Envelope<'a, T: Serialize> {
        schema: u32,
        kind: &'a str,
        generated: Moment,
        items: T,
    }
    let envelope = Envelope {
        schema: 1,
        kind,
        generated: now,
        items,
    };
    serde_json::to_vec_pretty(&envelope).unwrap_or_default()
}

/// The parts of the same bytes as [`envelope`] `{schema, kind, generated, items}`, from
/// items already serialised at the items' indentation, each after its separator (see
/// [`item_bytes`]): the items are shared, not copied.
pub(super) fn envelope_parts(kind: &str, now: Moment, items: &[Bytes]) -> Vec<Bytes> {
    let json = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let head = format!(
        "{{\n  \"schema\": 1,\n  \"kind\": {},\n  \"generated\": {},\n  \"items\": [",
        json(kind),
        json(&now.to_string())
    );
    let mut parts = Vec::with_capacity(items.len() + 2);
    parts.push(Bytes::from(head));
    if items.is_empty() {
        parts.push(Bytes::from_static(b"]\n}"));
        return parts;
    }
    for (i, item) in items.iter().enumerate() {
        // The first item has no comma before it.
        parts.push(if i == 0 {
            item.slice(1..)
        } else {
            item.clone()
        });
    }
    parts.push(Bytes::from_static(b"\n  ]\n}"));
    parts
}

/// One entity's item as it stands in `api/<kind>.json`, after the separator that goes
/// before every item but the first (`,` and a new line): pretty-printed, indented to the
/// depth of the envelope's `items`.
pub(super) fn item_bytes<T: Serialize>(view: &View<'_, T>) -> Vec<u8> {
    let pretty = serde_json::to_vec_pretty(view).unwrap_or_default();
    // JSON strings escape their newlines: every raw newline is the printer's own.
    let mut out = Vec::with_capacity(pretty.len() + pretty.len() / 8 + 8);
    out.extend_from_slice(b",");
    for line in pretty.split(|b| *b == b'\n') {
        out.extend_from_slice(b"\n    ");
        out.extend_from_slice(line);
    }
    out
}

/// The API file `file`; entity kinds from the items `values` kept, made again only for
/// files that changed, in parts.
pub fn api_file(input: &Input<'_>, values: &Values, file: ApiFile) -> crate::render::File {
    let now = input.now;
    let name = file.name();
    crate::render::File::Whole(match file {
        ApiFile::Entities(entity) => {
            let memo = ENTITIES
                .iter()
                .zip(&values.items)
                .find_map(|(e, memo)| (e.kind == entity.kind).then_some(memo));
            let items = match memo {
                Some(memo) => {
                    memo.get(*input.content.stamps.files(entity.kind), |previous| {
                        entity_items(input, &entity, previous)
                    })
                    .value
                }
                // Every entity has a memo (`Values` holds one per entity).
                None => Arc::new(entity_items(input, &entity, None)),
            };
            return crate::render::File::Parts(envelope_parts(name, now, &items.items));
        }
        ApiFile::Overrides => envelope(name, now, &input.derived.flags.overrides),
        ApiFile::Alerts => envelope(name, now, &*input.derived.alerts),
        ApiFile::ProcedureStatus => envelope(
            name,
            now,
            input.derived.procedures.values().collect::<Vec<_>>(),
        ),
        ApiFile::Index => {
            let files: BTreeSet<String> = API_FILES
                .iter()
                .filter(|file| **file != ApiFile::Index)
                .map(|file| file.path())
                .collect();
            envelope(name, now, files)
        }
    })
}
