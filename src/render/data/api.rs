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
    /// Every logbook thread with its state.
    Threads,
    /// The ticket report (Glass Room).
    TicketReport,
    /// Each site's runbooks: one file per site, `api/plans/<site>.json`.
    Plans,
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
            ApiFile::Threads => "threads",
            ApiFile::TicketReport => "ticket_report",
            ApiFile::Plans => "plans",
            ApiFile::Index => "index",
        }
    }

    /// Its path in the site (the plans: their directory).
    pub fn path(self) -> String {
        match self {
            ApiFile::Plans => crate::render::names::PLANS_DIR.to_owned(),
            _ => format!("api/{}.json", self.name()),
        }
    }

    /// The paths of its files: one, or the plans' one per site.
    pub fn paths(self, content: &crate::content::Content) -> Vec<String> {
        match self {
            ApiFile::Plans => content
                .sites
                .iter()
                .map(|site| crate::render::names::plans_file(&site.id))
                .collect(),
            _ => vec![self.path()],
        }
    }
}

/// The schema number of `api/plans/<site>.json` (docs/plans.schema.json).
pub const PLANS_SCHEMA: u32 = 1;

/// The files of the API that are not an entity kind's.
const NOT_ENTITIES: [ApiFile; 7] = [
    ApiFile::Overrides,
    ApiFile::Alerts,
    ApiFile::ProcedureStatus,
    ApiFile::Threads,
    ApiFile::TicketReport,
    ApiFile::Plans,
    ApiFile::Index,
];

/// Every file of the JSON API: every entity kind's (as the kind table names it), then
/// the overrides, alerts, procedure status, threads, ticket report, each site's plans and
/// an index.
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
        ApiFile::Threads => envelope(name, now, &*input.derived.threads),
        ApiFile::TicketReport => envelope(name, now, &*input.derived.ticket_report),
        // One file per site: see `plans_files`.
        ApiFile::Plans => Vec::new(),
        ApiFile::Index => {
            let files: BTreeSet<String> = API_FILES
                .iter()
                .filter(|file| **file != ApiFile::Index)
                .flat_map(|file| file.paths(input.content))
                .collect();
            envelope(name, now, files)
        }
    })
}

/// `api/plans/<site>.json` for every site: `{schema, kind: "plans", generated, site,
/// title, items}`, the items the site's runbooks (stop, start, status, update) as
/// `glassroom plan SITE OPERATION --format json` prints each.
pub fn plans_files(input: &Input<'_>) -> Vec<(String, crate::render::File)> {
    #[derive(Serialize)]
    struct SitePlans<'a> {
        schema: u32,
        kind: &'static str,
        generated: Moment,
        site: &'a str,
        title: &'a str,
        items: Vec<&'a crate::derive::Plan>,
    }
    input
        .content
        .sites
        .iter()
        .map(|site| {
            let items = input
                .derived
                .runbooks
                .get(&site.id)
                .map(|plans| plans.values().collect::<Vec<_>>())
                .unwrap_or_default();
            let file = SitePlans {
                schema: PLANS_SCHEMA,
                kind: "plans",
                generated: input.now,
                site: &site.id,
                title: &site.data.title,
                items: ordered(items),
            };
            let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
            (
                crate::render::names::plans_file(&site.id),
                crate::render::File::Whole(bytes),
            )
        })
        .collect()
}

/// Plans in the order of [`crate::derive::Operation::ALL`] (stop, start, status,
/// update), not by name.
fn ordered(mut plans: Vec<&crate::derive::Plan>) -> Vec<&crate::derive::Plan> {
    plans.sort_by_key(|plan| plan.operation);
    plans
}
