//! What a repository path holds: a content file of a kind (and its id), a file glassroom
//! does not read, or a file in a content directory that glassroom cannot read. Where the
//! files of each kind live is in the kind table ([`Kind::place`]).

use super::kind::{Kind, Place};
use crate::diag::Diagnostic;

/// What a path in the tree is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    /// A content file of this kind with this id.
    Content(Kind, String),
    /// Not content (a README, a deploy script, a template): not read.
    Ignored,
    /// Inside a content directory but not a file glassroom can read.
    Misplaced(Diagnostic),
}

/// Decides what a repository path holds. Pure: the path alone decides.
pub fn classify(path: &str) -> Classified {
    for kind in Kind::ALL {
        if let Place::File { path: at, id } = kind.place()
            && path == at
        {
            return Classified::Content(kind, id.into());
        }
    }
    let file_name = path.rsplit('/').next().unwrap_or(path);
    if file_name.eq_ignore_ascii_case("README.md") || file_name.eq_ignore_ascii_case("README") {
        return Classified::Ignored;
    }
    for kind in Kind::ALL {
        let (dir, extension) = match kind.place() {
            Place::File { .. } => continue,
            Place::Months { dir } => match under(path, dir) {
                Some(rest) => return classify_dated(kind, dir, rest),
                None => continue,
            },
            Place::Dir { dir, extension } => (dir, extension),
        };
        let Some(rest) = under(path, dir) else {
            continue;
        };
        let markdown = kind.place().is_markdown();
        if rest.contains('/') {
            return misplaced(
                format!("`{path}` is in a subdirectory of `{dir}/`"),
                format!("move it to `{dir}/{file_name}`: {dir} are not nested"),
            );
        }
        return match rest.strip_suffix(extension) {
            Some(id) => entity(kind, id),
            None if !markdown && rest.ends_with(".yml") => misplaced(
                format!("`{path}` has the extension `.yml`"),
                format!(
                    "rename it to `{dir}/{}.yaml`",
                    rest.trim_end_matches(".yml")
                ),
            ),
            None => misplaced(
                format!("`{path}` is not a `{extension}` file"),
                format!("files in `{dir}/` are named `<id>{extension}`"),
            ),
        };
    }
    if path.starts_with("flags/") {
        return misplaced(
            format!("`{path}` is not a flag file"),
            "flags live in `flags/features/<id>.yaml`, `flags/account_sets/<id>.yaml` and `flags/overrides.yaml`".into(),
        );
    }
    Classified::Ignored
}

/// The rest of `path` after `dir/`, if it is in `dir`.
fn under<'p>(path: &'p str, dir: &str) -> Option<&'p str> {
    path.strip_prefix(dir)
        .and_then(|rest| rest.strip_prefix('/'))
}

/// A path in a directory of dated files (`logbook/YYYY/MM/<id>.md`); `rest` is what
/// follows `dir/`.
fn classify_dated(kind: Kind, dir: &str, rest: &str) -> Classified {
    let parts: Vec<&str> = rest.split('/').collect();
    let help = || format!("logbook entries live in `{dir}/YYYY/MM/<id>.md`");
    match parts.as_slice() {
        [year, month, name] => {
            let year_ok = year.len() == 4 && year.chars().all(|c| c.is_ascii_digit());
            let month_ok = month.len() == 2 && matches!(month.parse::<u8>(), Ok(1..=12));
            if !year_ok || !month_ok {
                return misplaced(
                    format!("`{dir}/{rest}` is not in a `YYYY/MM` folder"),
                    help(),
                );
            }
            match name.strip_suffix(".md") {
                Some(id) => entity(kind, id),
                None => misplaced(format!("`{dir}/{rest}` is not a `.md` file"), help()),
            }
        }
        _ => misplaced(
            format!("`{dir}/{rest}` is not in a `YYYY/MM` folder"),
            help(),
        ),
    }
}

fn entity(kind: Kind, id: &str) -> Classified {
    if is_valid_id(id) {
        Classified::Content(kind, id.to_owned())
    } else {
        misplaced(
            format!("`{id}` is not a valid id"),
            "ids (file names without extension) use letters, digits, `.`, `_` and `-`, and start with a letter or digit".into(),
        )
    }
}

fn misplaced(message: String, help: String) -> Classified {
    Classified::Misplaced(Diagnostic::error("misplaced-file", message).with_help(help))
}

/// Ids appear in URLs and file names: letters, digits, `.`, `_`, `-`, starting alphanumeric.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
