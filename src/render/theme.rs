//! Templates and static files: the built-in default theme, a theme from the repository's
//! `themes/<name>/`, and single templates overridden from the repository's `templates/`.

use std::collections::BTreeMap;

use tera::{ErrorKind, Kwargs, State, Tera};

use crate::diag::{Diagnostic, Files, Location};
use crate::source::Tree;

/// The default theme's templates, compiled into the binary: every file of
/// `themes/default/templates/` (listed by `build.rs`).
const DEFAULT_TEMPLATES: &[(&str, &str)] =
    include!(concat!(env!("OUT_DIR"), "/default_templates.rs"));

/// Where built-in templates say they come from, in diagnostics.
const BUILTIN_PREFIX: &str = "(built-in theme) themes/default/templates/";

/// The default theme's static files, copied to the output root.
const DEFAULT_STATIC: &[(&str, &str)] = &[
    (
        "style.css",
        include_str!("../../themes/default/static/style.css"),
    ),
    (
        "table.js",
        include_str!("../../themes/default/static/table.js"),
    ),
];

/// A loaded theme: compiled templates and the static files to publish.
pub struct Theme {
    pub tera: Tera,
    pub static_files: BTreeMap<String, Vec<u8>>,
    /// Template name → (the file it came from, its text), for error messages.
    pub sources: BTreeMap<String, (String, String)>,
}

/// Loads the theme `name` with the repository's overrides.
///
/// Any problem (unknown theme, a template that does not parse) is a diagnostic naming
/// the template file, line and column.
pub fn load(tree: &Tree, name: &str, files: &mut Files) -> Result<Theme, Vec<Diagnostic>> {
    let mut templates: BTreeMap<String, (String, String)> = DEFAULT_TEMPLATES
        .iter()
        .map(|(n, text)| {
            let origin = format!("{BUILTIN_PREFIX}{n}");
            ((*n).to_owned(), (origin, (*text).to_owned()))
        })
        .collect();
    let mut static_files: BTreeMap<String, Vec<u8>> = DEFAULT_STATIC
        .iter()
        .map(|(n, text)| ((*n).to_owned(), text.as_bytes().to_vec()))
        .collect();

    let mut diagnostics = Vec::new();
    if name != "default" {
        let prefix = format!("themes/{name}/");
        let mut found = false;
        for (path, bytes) in tree.iter().filter(|(p, _)| p.starts_with(&prefix)) {
            found = true;
            let rest = &path[prefix.len()..];
            if let Some(template) = rest.strip_prefix("templates/") {
                add_template(
                    &mut templates,
                    template,
                    path,
                    bytes,
                    files,
                    &mut diagnostics,
                );
            } else if let Some(asset) = rest.strip_prefix("static/") {
                static_files.insert(asset.to_owned(), bytes.to_vec());
            }
        }
        if !found {
            diagnostics.push(
                Diagnostic::error("unknown-theme", format!("theme `{name}` not found")).with_help(
                    format!("put its templates in `{prefix}templates/`, or use `theme: default`"),
                ),
            );
        }
    }
    for (path, bytes) in tree.iter().filter(|(p, _)| p.starts_with("templates/")) {
        let template = &path["templates/".len()..];
        add_template(
            &mut templates,
            template,
            path,
            bytes,
            files,
            &mut diagnostics,
        );
    }
    for (path, bytes) in tree.iter().filter(|(p, _)| p.starts_with("static/")) {
        static_files.insert(path["static/".len()..].to_owned(), bytes.to_vec());
    }
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }

    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html", ".xml"]);
    register_filters(&mut tera);
    let raw: Vec<(&str, &str)> = templates
        .iter()
        .map(|(n, (_, text))| (n.as_str(), text.as_str()))
        .collect();
    if let Err(err) = tera.add_raw_templates(raw) {
        return Err(vec![template_diagnostic(&err, &templates, files)]);
    }
    Ok(Theme {
        tera,
        static_files,
        sources: templates,
    })
}

fn add_template(
    templates: &mut BTreeMap<String, (String, String)>,
    name: &str,
    path: &str,
    bytes: &[u8],
    files: &mut Files,
    diagnostics: &mut Vec<Diagnostic>,
) {
    match std::str::from_utf8(bytes) {
        Ok(text) => {
            templates.insert(name.to_owned(), (path.to_owned(), text.to_owned()));
        }
        Err(err) => {
            let file = files.add(path, String::from_utf8_lossy(bytes));
            let at = err.valid_up_to();
            diagnostics.push(
                Diagnostic::error("invalid-utf8", "template is not valid UTF-8 text")
                    .at(Location::new(file, at..at)),
            );
        }
    }
}

impl Theme {
    /// Whether every template is the built-in default theme's own (no theme chosen, no
    /// template overridden): only then are the pages' inputs known.
    pub fn is_default(&self) -> bool {
        self.sources
            .values()
            .all(|(origin, _)| origin.starts_with(BUILTIN_PREFIX))
            && self.static_files.iter().all(|(name, bytes)| {
                DEFAULT_STATIC
                    .iter()
                    .any(|(n, text)| n == name && text.as_bytes() == bytes.as_slice())
            })
    }

    /// Every template and static file, for fingerprints.
    pub fn fingerprint_parts(&self) -> Vec<(&str, &[u8])> {
        self.sources
            .iter()
            .map(|(name, (_, text))| (name.as_str(), text.as_bytes()))
            .chain(
                self.static_files
                    .iter()
                    .map(|(n, b)| (n.as_str(), b.as_slice())),
            )
            .collect()
    }

    /// A rendering error as a diagnostic at the template's file, line and column.
    pub fn diagnose(&self, err: &tera::Error, files: &mut Files) -> Diagnostic {
        template_diagnostic(err, &self.sources, files)
    }
}

/// Turns a tera error into a diagnostic at the template's file, line and column; the
/// message names the variable or construct at fault.
fn template_diagnostic(
    err: &tera::Error,
    sources: &BTreeMap<String, (String, String)>,
    files: &mut Files,
) -> Diagnostic {
    let report = match err.kind() {
        ErrorKind::SyntaxError(report) | ErrorKind::RenderingError(report) => report,
        other => return Diagnostic::error("template", format!("template error: {other}")),
    };
    let name = report.filename();
    let (path, text) = sources
        .get(name)
        .cloned()
        .unwrap_or_else(|| (name.to_owned(), String::new()));
    let file = files.find(&path).unwrap_or_else(|| files.add(&path, text));
    Diagnostic::error(
        "template",
        format!("in template `{name}`: {}", report.message()),
    )
    .at(Location::new(file, report.span().range.clone()))
    .with_help("fix the template, or delete the override to use the theme's own")
}

/// Filters for dates and durations, so templates never format times themselves.
fn register_filters(tera: &mut Tera) {
    // Dates and times are `<time>` elements, which never wrap (style.css): one format
    // on every page.
    // `2026-11-20T03:00:00Z` (or `2026-11-20`) → `2026-11-20`
    tera.register_filter("day", |s: &str, _: Kwargs, _: &State| {
        let day = s.get(..10).unwrap_or(s);
        time_element(day, day)
    });
    // `2026-11-20T03:00:00Z` → `2026-11-20 03:00 UTC`
    tera.register_filter("datetime", |s: &str, _: Kwargs, _: &State| match s
        .parse::<crate::values::Moment>()
    {
        Ok(moment) => time_element(&moment.to_string(), &moment.human()),
        Err(_) => time_element(s, s),
    });
    // seconds since the epoch → `2026-11-20 03:00 UTC`
    tera.register_filter("timestamp", |seconds: i64, _: Kwargs, _: &State| {
        match jiff::Timestamp::from_second(seconds) {
            Ok(t) => {
                let moment = crate::values::Moment(t);
                time_element(&moment.to_string(), &moment.human())
            }
            Err(_) => tera::Value::safe_string(""),
        }
    });
    // A state, severity or priority → the tone of its badge (`tone-critical`…).
    tera.register_filter("tone", |s: &str, _: Kwargs, _: &State| {
        super::tones::tone(s).name()
    });
    // `2026-11` → `November 2026`
    tera.register_filter("month_name", |s: &str, _: Kwargs, _: &State| month_name(s));
    // any value → its JSON text (flag values: `true`, `20`, `"classic"`)
    tera.register_filter("json", |value: tera::Value, _: Kwargs, _: &State| {
        serde_json::to_string(&value).unwrap_or_default()
    });
    // seconds → `3d 4h`
    tera.register_filter("duration", |seconds: i64, _: Kwargs, _: &State| {
        crate::values::human_span(seconds)
    });
    // A short text field (title, note, description, reason) as sanitised inline HTML;
    // `inline(links=false)` inside a link, where links cannot nest.
    tera.register_filter("inline", |value: tera::Value, kwargs: Kwargs, _: &State| {
        let links = kwargs.get::<bool>("links")?.unwrap_or(true);
        let html = match value.as_str() {
            Some(text) => super::inline::to_html(text, links),
            None if value.is_none() || value.is_undefined() => String::new(),
            None => super::inline::to_html(&value.to_string(), links),
        };
        Ok::<_, tera::Error>(tera::Value::safe_string(&html))
    });
    // `{% if m.homepage is web_link %}`: a URL from a file may be a link only when it is
    // http, https or mailto (`javascript:` would run in the reader's browser).
    tera.register_test("web_link", |value: tera::Value, _: Kwargs, _: &State| {
        value.as_str().is_some_and(crate::content::is_web_link)
    });
}

/// `<time datetime="machine">human</time>`, escaped, as a safe value.
fn time_element(machine: &str, human: &str) -> tera::Value {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    tera::Value::safe_string(&format!(
        "<time datetime=\"{}\">{}</time>",
        escape(machine),
        escape(human)
    ))
}

fn month_name(year_month: &str) -> String {
    const NAMES: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let (year, month) = year_month.split_once('-').unwrap_or((year_month, ""));
    match month.parse::<usize>() {
        Ok(m @ 1..=12) => format!("{} {year}", NAMES[m - 1]),
        _ => year_month.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_names() {
        assert_eq!(month_name("2026-11"), "November 2026");
        assert_eq!(month_name("garbage"), "garbage");
    }
}

#[cfg(test)]
mod default_theme_tests {
    use super::*;

    #[test]
    fn the_built_in_theme_is_recognised_and_an_override_is_not() {
        let mut files = Files::new();
        let theme = load(&Tree::new(), "default", &mut files).unwrap_or_else(|_| panic!("loads"));
        assert!(theme.is_default());
        let mut tree = Tree::new();
        tree.insert("templates/host.html", "{% extends \"base.html\" %}");
        let theme = load(&tree, "default", &mut files).unwrap_or_else(|_| panic!("loads"));
        assert!(!theme.is_default());
    }
}
