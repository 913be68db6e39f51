//! What templates see of the verified history (`trust`): the audit trail of every file,
//! what is pending and what was refused; kept between builds and patched path by path.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::{Made, convert};

/// What templates see of the verified history.
#[derive(Serialize)]
pub struct TrustView<'a> {
    pub target: &'a str,
    pub trust_root: &'a str,
    pub root_source: crate::trust::history::RootSource,
    /// Every path with an audit trail: its page and events.
    pub files: BTreeMap<&'a str, AuditFile<'a>>,
    pub pending: &'a [crate::trust::history::Pending],
    /// The pending change of each path that has one, for a page to look up its own
    /// (looking through `pending` on every page would make the site quadratic).
    pub pending_by_path: BTreeMap<&'a str, &'a crate::trust::history::Pending>,
    pub refused: &'a [String],
    /// Pre-approved files left out because they have errors.
    pub left_out: &'a [crate::content::LeftOut],
}

#[derive(Serialize)]
pub struct AuditFile<'a> {
    pub url: String,
    pub approved_blob: Option<&'a String>,
    pub events: &'a [crate::trust::judge::Event],
}

/// The paths with an audit trail (and so a page).
pub fn audit_paths(report: &crate::trust::history::Report) -> impl Iterator<Item = &str> {
    report
        .events
        .keys()
        .filter(|path| crate::trust::judge::is_clean_path(path))
        .map(String::as_str)
}

/// What the context's `trust.files` holds of `path` (see [`TrustView::files`]).
pub fn audit_file<'c>(context: &'c tera::Context, path: &'c str) -> Option<&'c tera::Value> {
    use tera::value::Key;
    context
        .get("trust")?
        .as_map()?
        .get(&Key::Str("files"))?
        .as_map()?
        .get(&Key::Str(path))
}

pub fn trust_view<'r>(
    report: &'r crate::trust::history::Report,
    left_out: &'r [crate::content::LeftOut],
) -> TrustView<'r> {
    let mut view = trust_view_without_files(report, left_out);
    view.files = audit_paths(report)
        .filter_map(|path| Some((path, audit_file_view(report, path)?)))
        .collect();
    view
}

fn trust_view_without_files<'r>(
    report: &'r crate::trust::history::Report,
    left_out: &'r [crate::content::LeftOut],
) -> TrustView<'r> {
    TrustView {
        target: &report.target,
        trust_root: &report.trust_root,
        root_source: report.root_source,
        files: BTreeMap::new(),
        pending: &report.pending,
        pending_by_path: report
            .pending
            .iter()
            .map(|p| (p.path.as_str(), p))
            .collect(),
        refused: &report.refused,
        left_out,
    }
}

/// What `trust.files` holds of `path`: nothing unless it has an audit page.
fn audit_file_view<'r>(
    report: &'r crate::trust::history::Report,
    path: &str,
) -> Option<AuditFile<'r>> {
    if !crate::trust::judge::is_clean_path(path) {
        return None;
    }
    Some(AuditFile {
        url: audit_url(path),
        approved_blob: report.approved.get(path),
        events: report.events.get(path)?,
    })
}

/// The context's `trust` for `report`: the previous value's `files` with the entries of
/// the paths whose trails changed converted again (all of them the first time). A
/// commit changes a few trails of thousands.
pub(super) fn trust_value(
    report: Option<&crate::trust::history::Report>,
    left_out: &[crate::content::LeftOut],
    previous: Option<&TrustValue>,
) -> Made<TrustValue> {
    use tera::value::Key;
    let Some(report) = report else {
        return Ok(TrustValue {
            trails: None,
            value: convert(&None::<TrustView<'_>>)?,
        });
    };
    let kept = previous.and_then(|p| {
        let files = p.value.as_map()?.get(&Key::Str("files"))?.as_map()?;
        Some((p.trails.as_ref()?, files))
    });
    let Some((kept_trails, kept_files)) = kept else {
        return Ok(TrustValue {
            trails: Some(Arc::clone(&report.trails)),
            value: convert(&trust_view(report, left_out))?,
        });
    };
    let mut files = kept_files.clone();
    for path in crate::memo::differing_keys(kept_trails, &report.trails) {
        let key = Key::String(Arc::from(path));
        match audit_file_view(report, path) {
            Some(file) => {
                let value = convert(&file)?;
                match files.get_mut(&key) {
                    Some(slot) => *slot = value,
                    // The map is in path order, as the full conversion makes it.
                    None => {
                        let at = files.binary_search_keys(&key).unwrap_or_else(|at| at);
                        files.shift_insert(at, key, value);
                    }
                }
            }
            None => {
                files.shift_remove(&key);
            }
        }
    }
    let mut value = convert(&trust_view_without_files(report, left_out))?;
    if let Some(map) = value.as_map() {
        let mut map = map.clone();
        map.insert(Key::Str("files"), tera::Value::from(files));
        value = tera::Value::from(map);
    }
    Ok(TrustValue {
        trails: Some(Arc::clone(&report.trails)),
        value,
    })
}

/// The link to the audit page of `path`, from the site root (see [`super::names`]).
pub fn audit_url(path: &str) -> String {
    super::super::names::link(super::super::names::audit_page(path))
}

/// The context's `trust`, and the trails of the report it shows.
pub(super) struct TrustValue {
    trails: Option<crate::trust::history::Trails>,
    pub(super) value: tera::Value,
}
