//! The whole way from a repository to the files of a site, as one library call, for every
//! consumer: `glassroom build`, the preview server, and sync.
//!
//! source → trust → content → derive → render (+ the flag bundle). Nothing is written
//! here; the caller decides where the files go.

mod open;

use crate::content::types::Moment;
use crate::diag::{Diagnostics, Files};
use crate::render::{self, Progress};
use crate::trust::history::Report;
use crate::{content, derive};

pub use open::{Opened, Source, open};

/// A built site, ready to be written or served.
pub struct Built {
    /// Output path → bytes.
    pub files: render::Output,
    /// The moment it was built for.
    pub now: Moment,
    pub alerts: usize,
    /// The verified history it was built from, if any.
    pub trust: Option<Report>,
    /// Diagnostics that did not stop the build (warnings), with their files.
    pub warnings: Diagnostics,
    pub sources: Files,
}

/// Why a build produced nothing.
pub struct Failed {
    /// The content or a template has errors: `diagnostics` say where, in `sources`.
    pub diagnostics: Diagnostics,
    pub sources: Files,
}

/// Builds the site of an opened repository. `now` defaults to the commit's time (so the
/// same commit always gives the same bytes), else `clock`.
pub fn build(
    opened: &Opened,
    now: Option<Moment>,
    clock: i64,
    progress: &dyn Progress,
) -> Result<Built, Failed> {
    let loaded = content::load_with_pending(&opened.tree, &opened.pending_notes);
    let mut sources = loaded.content.files.clone();
    if loaded.diagnostics.has_errors() {
        return Err(Failed {
            diagnostics: loaded.diagnostics,
            sources,
        });
    }
    let now = now
        .or(opened.commit_time)
        .unwrap_or_else(|| Moment(jiff::Timestamp::from_second(clock).unwrap_or_default()));
    let content = loaded.content;
    let mut derived = derive::derive(&content, now);
    if let Some(trust) = &opened.trust {
        derived.add_pending_alerts(trust);
    }
    let input = render::Input {
        tree: &opened.tree,
        content: &content,
        derived: &derived,
        now,
        preview: opened.preview,
        trust: opened.trust.as_ref(),
    };
    let mut files = match render::render(&input, &mut sources, progress) {
        Ok(files) => files,
        Err(problems) => {
            let mut diagnostics = Diagnostics::default();
            diagnostics.extend(problems);
            return Err(Failed {
                diagnostics,
                sources,
            });
        }
    };
    // The flag bundle, from the same (approved) content as the pages.
    files.extend(crate::flags::Bundle::compile(&content).publish().files());
    Ok(Built {
        files,
        now,
        alerts: derived.alerts.len(),
        trust: opened.trust.clone(),
        warnings: loaded.diagnostics,
        sources,
    })
}
