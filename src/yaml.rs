//! YAML documents with source positions.
//!
//! Parsing goes through serde-saphyr, which keeps the location of every value: parse and
//! type errors come back with a byte range, and fields declared as [`Spanned`] remember
//! where their value was written, so a later check (a dangling reference, a duplicate id)
//! can point at the field's own line and column. (serde_yaml keeps no spans and is no
//! longer maintained, which is why it is not used.)

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_saphyr::MessageFormatter as _;

mod syntax;

/// A value together with the byte range where it was written, relative to the start of
/// the YAML document it came from.
#[derive(Clone, Default)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Range<usize>,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Range<usize>) -> Self {
        Self { value, span }
    }

    pub fn get(&self) -> &T {
        &self.value
    }
}

impl Spanned<String> {
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

// Equality, order and hash look at the value only, so spanned keys work in maps.
impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}
impl<T: Eq> Eq for Spanned<T> {}
impl<T: PartialOrd> PartialOrd for Spanned<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.value.partial_cmp(&other.value)
    }
}
impl<T: Ord> Ord for Spanned<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.value.cmp(&other.value)
    }
}
impl<T: Hash> Hash for Spanned<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.value.hash(state);
    }
}
impl std::borrow::Borrow<str> for Spanned<String> {
    fn borrow(&self) -> &str {
        &self.value
    }
}

/// Serialises as the bare value for text formats (JSON, templates): positions matter to
/// diagnostics, not to output. A binary format (the parsed-document store) keeps the
/// span too, so a document read back points where the parsed one did.
impl<T: serde::Serialize> serde::Serialize for Spanned<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            self.value.serialize(serializer)
        } else {
            (&self.value, self.span.start, self.span.end).serialize(serializer)
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if !deserializer.is_human_readable() {
            let (value, start, end) = <(T, usize, usize)>::deserialize(deserializer)?;
            return Ok(Spanned::new(value, start..end));
        }
        let inner = serde_saphyr::Spanned::<T>::deserialize(deserializer)?;
        let span = location_range(&inner.referenced).unwrap_or(0..0);
        Ok(Spanned {
            value: inner.value,
            span,
        })
    }
}

fn location_range(location: &serde_saphyr::Location) -> Option<Range<usize>> {
    let span = location.span();
    let start = usize::try_from(span.byte_offset()?).ok()?;
    let len = usize::try_from(span.byte_len().unwrap_or(0)).ok()?;
    Some(start..start + len)
}

/// Why a YAML document could not be read into its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// The diagnostic code: `unknown-field`, `unknown-value`, `missing-field`, or
    /// `invalid-yaml` for the rest (syntax, a value of the wrong type).
    pub code: &'static str,
    pub message: String,
    /// Byte range within the YAML document.
    pub span: Range<usize>,
    pub help: Option<String>,
}

fn options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    // Only `true`/`false` are booleans: `no` stays a string (the "Norway problem").
    options.strict_booleans = true;
    options.with_snippet = false;
    options
}

/// Reads one YAML document into `T`. The first problem found is returned, with its place.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    // An empty document is an empty mapping, so a file with only optional fields may be empty.
    let text = if text.trim().is_empty() { "{}" } else { text };
    serde_saphyr::from_str_with_options(text, options()).map_err(|err| convert_error(&err, text))
}

fn convert_error(err: &serde_saphyr::Error, text: &str) -> YamlError {
    let err = err.without_snippet();
    // Values carry byte offsets; some parser errors carry only a line and column.
    let span = err
        .location()
        .and_then(|l| location_range(&l).or_else(|| offset_of(text, l.line(), l.column())))
        .unwrap_or(0..0);
    let span = span.start.min(text.len())..span.end.min(text.len());
    match err {
        serde_saphyr::Error::SerdeUnknownField {
            field, expected, ..
        } => YamlError {
            code: "unknown-field",
            message: format!("unknown field `{field}`"),
            span,
            help: Some(
                match crate::suggest::suggest(field, expected.iter().copied()) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!("known fields: {}", expected.join(", ")),
                },
            ),
        },
        serde_saphyr::Error::SerdeUnknownVariant {
            variant, expected, ..
        } => YamlError {
            code: "unknown-value",
            message: format!("unknown value `{variant}`"),
            span,
            help: Some(
                match crate::suggest::suggest(variant, expected.iter().copied()) {
                    Some(near) => format!(
                        "did you mean `{near}`? expected one of: {}",
                        expected.join(", ")
                    ),
                    None => format!("expected one of: {}", expected.join(", ")),
                },
            ),
        },
        serde_saphyr::Error::SerdeMissingField { field, .. } => YamlError {
            code: "missing-field",
            message: format!("missing field `{field}`"),
            span,
            help: Some(format!("add `{field}: ...`")),
        },
        other => {
            let message = serde_saphyr::UserMessageFormatter.format_message(other);
            if let Some(cause) = syntax::cause(text, &span, &message) {
                return YamlError {
                    code: "invalid-yaml",
                    message: cause.message,
                    span: cause.span,
                    help: Some(cause.help),
                };
            }
            let (message, help) = plain_message(&message);
            YamlError {
                code: "invalid-yaml",
                message,
                span,
                help,
            }
        }
    }
}

/// Rewords the parser's type names in terms of what a YAML author writes.
fn plain_message(message: &str) -> (String, Option<String>) {
    let integer = [
        "invalid i8",
        "invalid i16",
        "invalid i32",
        "invalid i64",
        "invalid u8",
        "invalid u16",
        "invalid u32",
        "invalid u64",
    ];
    if integer.contains(&message) {
        return (
            "expected a whole number".into(),
            Some("write digits only, like `10`".into()),
        );
    }
    match message {
        "invalid bool" => (
            "expected `true` or `false`".into(),
            Some("only `true` and `false` are booleans (not yes/no/on/off)".into()),
        ),
        "expected sequence start" => (
            "expected a list".into(),
            Some("write `[a, b]`, or one `- item` per line".into()),
        ),
        "expected mapping start" | "expected mapping" => (
            "expected a mapping".into(),
            Some("write `key: value` lines, indented under the field".into()),
        ),
        "expected string scalar" => ("expected a text value".into(), None),
        other => (other.to_owned(), None),
    }
}

/// Byte range of the character at a 1-based line and (character) column.
fn offset_of(text: &str, line: u64, column: u64) -> Option<Range<usize>> {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(usize::try_from(line.checked_sub(1)?).ok()?)
        .map(str::len)
        .sum();
    let rest = text.get(line_start..)?;
    let column = usize::try_from(column.checked_sub(1)?).ok()?;
    let start = line_start
        + rest
            .char_indices()
            .nth(column)
            .map_or(rest.len(), |(i, _)| i);
    let end = text
        .get(start..)?
        .chars()
        .next()
        .map_or(start, |c| start + c.len_utf8());
    Some(start..end)
}

/// A Markdown file split at its front matter fences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontMatter<'a> {
    pub yaml: &'a str,
    /// Byte offset of `yaml` in the file.
    pub yaml_offset: usize,
    pub body: &'a str,
    pub body_offset: usize,
}

/// Why a Markdown file has no usable front matter. `span` is a byte range in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrontMatterError {
    pub message: String,
    pub span: Range<usize>,
    pub help: String,
}

/// Splits `---\n<yaml>\n---\n<body>`. The closing fence may also be `...`.
pub fn split_front_matter(text: &str) -> Result<FrontMatter<'_>, FrontMatterError> {
    let start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut lines = LineSpans::new(text, start);
    let opening = lines.next();
    if opening
        .as_ref()
        .is_none_or(|(line, _)| line.trim_end() != "---")
    {
        return Err(FrontMatterError {
            message: "missing front matter".into(),
            span: start..start,
            help: "start the file with a line `---`, the YAML metadata, and another `---`".into(),
        });
    }
    let yaml_offset = opening.map_or(start, |(_, range)| range.end);
    for (line, range) in lines {
        let fence = line.trim_end();
        if fence == "---" || fence == "..." {
            return Ok(FrontMatter {
                yaml: &text[yaml_offset..range.start],
                yaml_offset,
                body: &text[range.end..],
                body_offset: range.end,
            });
        }
    }
    Err(FrontMatterError {
        message: "front matter is not closed".into(),
        span: start..start + 3,
        help: "add a line `---` after the metadata, before the Markdown body".into(),
    })
}

/// Lines of `text` from `start` with their byte ranges (including the newline).
struct LineSpans<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> LineSpans<'a> {
    fn new(text: &'a str, at: usize) -> Self {
        Self { text, at }
    }
}

impl<'a> Iterator for LineSpans<'a> {
    type Item = (&'a str, Range<usize>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.text.len() {
            return None;
        }
        let rest = self.text.get(self.at..)?;
        let len = rest.find('\n').map_or(rest.len(), |i| i + 1);
        let range = self.at..self.at + len;
        self.at += len;
        let line = rest.get(..len)?.trim_end_matches(['\n', '\r']);
        Some((line, range))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Doc {
        name: Spanned<String>,
        #[serde(default)]
        hosts: Vec<Spanned<String>>,
    }

    #[test]
    fn spans_point_at_values() -> Result<(), YamlError> {
        let text = "name: web1\nhosts: [db1, db2]\n";
        let doc: Doc = from_str(text)?;
        assert_eq!(&text[doc.name.span.clone()], "web1");
        assert_eq!(&text[doc.hosts[1].span.clone()], "db2");
        Ok(())
    }

    #[test]
    fn unknown_field_suggests_the_near_one() {
        let text = "name: web1\nhots: [a]\n";
        let Err(err) = from_str::<Doc>(text) else {
            panic!("must fail")
        };
        assert_eq!(err.message, "unknown field `hots`");
        assert_eq!(err.help.as_deref(), Some("did you mean `hosts`?"));
        assert_eq!(&text[err.span], "hots");
    }

    #[test]
    fn front_matter_is_split_with_offsets() -> Result<(), FrontMatterError> {
        let text = "---\ntitle: x\n---\n# Body\n";
        let fm = split_front_matter(text)?;
        assert_eq!(fm.yaml, "title: x\n");
        assert_eq!(fm.yaml_offset, 4);
        assert_eq!(fm.body, "# Body\n");
        assert!(split_front_matter("# no fences\n").is_err());
        assert!(split_front_matter("---\ntitle: x\n").is_err());
        Ok(())
    }
}
