//! Turning diagnostics into text for people and JSON for programs.

use std::io::{self, Write};

use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label, Severity as CsSeverity};
use codespan_reporting::term::termcolor::{ColorChoice, StandardStream, WriteColor};
use codespan_reporting::term::{self, Config, DisplayStyle};
use serde::Serialize;

use super::printable::{printable, same_length};
use super::{Diagnostic, Diagnostics, FileId, Files, Severity};

/// The files as a terminal may see them: names [escaped](printable), and sources with
/// unsafe characters replaced by ones of the same length (the byte ranges stay valid).
struct Shown<'f>(&'f Files);

impl<'a> codespan_reporting::files::Files<'a> for Shown<'_> {
    type FileId = FileId;
    type Name = String;
    type Source = std::borrow::Cow<'a, str>;

    fn name(&'a self, id: FileId) -> Result<String, codespan_reporting::files::Error> {
        Ok(printable(self.0.path(id)).into_owned())
    }

    fn source(
        &'a self,
        id: FileId,
    ) -> Result<std::borrow::Cow<'a, str>, codespan_reporting::files::Error> {
        Ok(same_length(self.0.text(id)))
    }

    fn line_index(
        &'a self,
        id: FileId,
        offset: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        codespan_reporting::files::Files::line_index(self.0, id, offset)
    }

    fn line_range(
        &'a self,
        id: FileId,
        line: usize,
    ) -> Result<std::ops::Range<usize>, codespan_reporting::files::Error> {
        codespan_reporting::files::Files::line_range(self.0, id, line)
    }
}

/// How diagnostics are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Source context with underlines and notes (for a terminal).
    Rich { color: bool },
    /// `path:line:column: error: message` and a `help:` line (for pipes, CI logs, editors).
    Short,
}

/// Writes every diagnostic to stderr in the given style.
pub fn to_stderr(files: &Files, diagnostics: &Diagnostics, style: Style) -> io::Result<()> {
    match style {
        Style::Rich { color } => {
            let choice = if color {
                ColorChoice::Auto
            } else {
                ColorChoice::Never
            };
            let stream = StandardStream::stderr(choice);
            let mut lock = stream.lock();
            write_rich(&mut lock, files, diagnostics)
        }
        Style::Short => {
            let stderr = io::stderr();
            let mut lock = stderr.lock();
            write_short(&mut lock, files, diagnostics)
        }
    }
}

/// Rich rendering with source context, via codespan-reporting.
pub fn write_rich(
    out: &mut dyn WriteColor,
    files: &Files,
    diagnostics: &Diagnostics,
) -> io::Result<()> {
    let config = Config::default();
    let files = Shown(files);
    for diagnostic in diagnostics.iter() {
        let converted = to_codespan(diagnostic);
        term::emit_to_write_style(out, &config, &files, &converted).map_err(io::Error::other)?;
    }
    Ok(())
}

/// One line per diagnostic (`path:line:column: error: message`), then `help:` if any.
pub fn write_short(
    out: &mut dyn Write,
    files: &Files,
    diagnostics: &Diagnostics,
) -> io::Result<()> {
    let config = Config {
        display_style: DisplayStyle::Short,
        ..Config::default()
    };
    let mut plain = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
    let files = Shown(files);
    for diagnostic in diagnostics.iter() {
        let mut converted = to_codespan(diagnostic);
        // The short form is one line; the help gets a line of its own below it.
        converted.notes.clear();
        term::emit_to_write_style(&mut plain, &config, &files, &converted)
            .map_err(io::Error::other)?;
        if let Some(help) = &diagnostic.help {
            writeln!(plain, "    help: {}", printable(help))?;
        }
    }
    out.write_all(&plain.into_inner())
}

/// A diagnostic for codespan, its texts [escaped](printable): a message names files,
/// and each is one line.
fn to_codespan(diagnostic: &Diagnostic) -> CsDiagnostic<super::FileId> {
    let severity = match diagnostic.severity {
        Severity::Error => CsSeverity::Error,
        Severity::Warning => CsSeverity::Warning,
    };
    let mut labels = Vec::new();
    if let Some(location) = &diagnostic.location {
        labels.push(Label::primary(location.file, location.range.clone()));
    }
    for (location, message) in &diagnostic.related {
        labels.push(
            Label::secondary(location.file, location.range.clone())
                .with_message(printable(message)),
        );
    }
    let notes = diagnostic
        .help
        .iter()
        .map(|help| format!("help: {}", printable(help)))
        .collect();
    CsDiagnostic::new(severity)
        .with_message(printable(&diagnostic.message))
        .with_labels(labels)
        .with_notes(notes)
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    severity: Severity,
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related: Vec<JsonRelated<'a>>,
}

#[derive(Serialize)]
struct JsonRelated<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    message: &'a str,
}

/// Diagnostics as a JSON array of objects with path, 1-based line/column, code, message, help.
pub fn to_json(files: &Files, diagnostics: &Diagnostics) -> serde_json::Value {
    let items: Vec<JsonDiagnostic<'_>> = diagnostics
        .iter()
        .map(|d| {
            let (path, start, end) = match &d.location {
                Some(l) => (
                    Some(files.path(l.file)),
                    Some(files.line_column(l.file, l.range.start)),
                    Some(files.line_column(l.file, l.range.end)),
                ),
                None => (None, None, None),
            };
            JsonDiagnostic {
                severity: d.severity,
                code: d.code,
                message: &d.message,
                path,
                line: start.map(|p| p.line),
                column: start.map(|p| p.column),
                end_line: end.map(|p| p.line),
                end_column: end.map(|p| p.column),
                help: d.help.as_deref(),
                related: d
                    .related
                    .iter()
                    .map(|(l, message)| {
                        let at = files.line_column(l.file, l.range.start);
                        JsonRelated {
                            path: files.path(l.file),
                            line: at.line,
                            column: at.column,
                            message,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    serde_json::to_value(items).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diag::Location;

    #[test]
    fn short_form_is_path_line_column_then_help() -> io::Result<()> {
        let mut files = Files::new();
        let id = files.add("hosts/web1.yaml", "name: web1\nhots: [a]\n");
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(
            Diagnostic::error("unknown-field", "unknown field `hots`")
                .at(Location::new(id, 11..15))
                .with_help("did you mean `hosts`?"),
        );
        let mut out = Vec::new();
        write_short(&mut out, &files, &diagnostics)?;
        assert_eq!(
            String::from_utf8_lossy(&out),
            "hosts/web1.yaml:2:1: error: unknown field `hots`\n    help: did you mean `hosts`?\n"
        );
        Ok(())
    }

    /// A file name, a message or a line of source with a newline, a terminal escape or a
    /// bidirectional override is shown escaped: one diagnostic cannot forge another or
    /// clear the screen.
    #[test]
    fn names_messages_and_sources_cannot_drive_the_terminal() -> io::Result<()> {
        let mut files = Files::new();
        let name = "hosts/a\nb.yaml: error: forged\x1b[2J.yaml";
        let id = files.add(name, "name: \x1b[2Jx\u{202e}y\u{85}\nos: z\n");
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(
            Diagnostic::error("x", "`a\nb` is\r bad")
                .at(Location::new(id, 6..16))
                .with_related(Location::new(id, 20..22), "see\x1b[2J")
                .with_help("rename\u{202e} it"),
        );
        let mut rich = codespan_reporting::term::termcolor::NoColor::new(Vec::new());
        write_rich(&mut rich, &files, &diagnostics)?;
        let mut short = Vec::new();
        write_short(&mut short, &files, &diagnostics)?;
        for out in [rich.into_inner(), short] {
            let text = String::from_utf8_lossy(&out);
            for c in ['\x1b', '\r', '\u{202e}', '\u{85}'] {
                assert!(!text.contains(c), "{c:?} in {text}");
            }
            assert!(
                text.contains("hosts/a\\nb.yaml: error: forged\\u{1b}[2J.yaml"),
                "{text}"
            );
            assert!(text.contains("`a\\nb` is\\r bad"), "{text}");
            assert!(text.contains("rename\\u{202e} it"), "{text}");
        }
        Ok(())
    }
}
