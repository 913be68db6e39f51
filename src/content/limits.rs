//! What one content file may cost (`limits:` in `glassroom.yaml`), and the cheap checks
//! that tell, before a file is parsed, whether it is within them. The limits are read
//! from the configuration before anything else, so they can bound the reading of every
//! other file; the configuration itself is read under the default limits.

use super::classify::{Classified, classify};
use super::kind::{CONFIG_PATH, Kind};
use super::model::Limits;
use crate::diag::{Diagnostic, FileId, Location};

impl Limits {
    /// The limits `glassroom.yaml`'s text sets; the defaults where it sets none or where
    /// it does not parse (loading the configuration then reports why).
    pub fn of_config(text: &str) -> Self {
        /// The configuration's `limits` alone; every other field is skipped.
        #[derive(serde::Deserialize)]
        struct LimitsOnly {
            #[serde(default)]
            limits: Limits,
        }
        crate::yaml::from_str::<LimitsOnly>(text)
            .map(|config| config.limits)
            .unwrap_or_default()
    }

    /// The limits of the configuration in `tree`, read under the default limits.
    pub fn of_tree(tree: &crate::source::Tree) -> Self {
        let fits = |bytes: &[u8]| bytes.len() as u64 <= Limits::default().max_file_size.0;
        tree.blob(CONFIG_PATH)
            .filter(|blob| blob.size_over_limit().is_none() && fits(blob.bytes()))
            .and_then(|blob| std::str::from_utf8(blob.bytes()).ok())
            .map(Limits::of_config)
            .unwrap_or_default()
    }

    /// The size limit of a tree read: content files for which `applies` holds and whose
    /// size is over `max_file_size` are not read.
    pub fn size_limit<'a>(
        &self,
        applies: &'a (dyn Fn(&str) -> bool + Sync),
    ) -> crate::source::SizeLimit<'a> {
        crate::source::SizeLimit {
            max_bytes: self.max_file_size.0,
            applies,
        }
    }
}

/// Whether glassroom reads the file at `path` as content (or reports it as misplaced
/// content): the files the size limit is for.
pub fn is_content_path(path: &str) -> bool {
    !matches!(classify(path), Classified::Ignored)
}

/// A file over a limit, found before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Over {
    /// The file has this many bytes.
    Size(u64),
    /// The Markdown body nests this deep at this byte offset of the file.
    Nesting { depth: usize, at: usize },
}

impl Over {
    /// The error that says so, in `file`.
    pub fn diagnostic(self, file: FileId, limits: &Limits) -> Diagnostic {
        match self {
            Over::Size(size) => Diagnostic::error(
                "file-too-large",
                format!(
                    "the file has {} ({size} bytes); the largest content file read is {}",
                    super::types::ByteSize(size),
                    limits.max_file_size
                ),
            )
            .at(Location::file_start(file))
            .with_help(
                "split it into smaller files, or raise `limits.max_file_size` in glassroom.yaml",
            ),
            Over::Nesting { depth, at } => Diagnostic::error(
                "nested-too-deep",
                format!(
                    "block quotes and lists nest {depth} deep here; at most {} are read",
                    limits.max_markdown_nesting
                ),
            )
            .at(Location::new(file, at..at))
            .with_help(
                "flatten the quotes or lists, or raise `limits.max_markdown_nesting` in glassroom.yaml",
            ),
        }
    }
}

/// Whether the file of `kind` at `text` (`len` bytes before decoding) is over `limits`.
pub fn check(kind: Kind, text: &str, len: u64, limits: &Limits) -> Option<Over> {
    if len > limits.max_file_size.0 {
        return Some(Over::Size(len));
    }
    if !kind.place().is_markdown() {
        return None;
    }
    // The front matter is YAML (its own parser has a depth limit); the body is Markdown.
    let body_start = crate::yaml::split_front_matter(text)
        .map(|front| text.len() - front.body.len())
        .unwrap_or(0);
    let limit = usize::try_from(limits.max_markdown_nesting).unwrap_or(usize::MAX);
    deeper_than(&text[body_start..], limit).map(|(depth, at)| Over::Nesting {
        depth,
        at: body_start + at,
    })
}

/// The first line of `markdown` whose block quotes and list items may nest deeper than
/// `limit`: its depth and byte offset. Read from each line's start alone, an upper bound
/// of what a CommonMark parser builds: every `>` and every list marker opens at most one
/// container, and every two columns of indentation continue at most one list item (an
/// item's content is indented at least two columns past its parent's). A container opens
/// only on a line that carries the markers or indentation of every container around it
/// (a lazy continuation line opens none), so no line nests deeper than counted. One pass
/// over the text, however it is written.
pub fn deeper_than(markdown: &str, limit: usize) -> Option<(usize, usize)> {
    let mut at = 0;
    for line in markdown.split_inclusive('\n') {
        let depth = line_depth(line.as_bytes());
        if depth > limit {
            return Some((depth, at));
        }
        at += line.len();
    }
    None
}

/// The nesting a line's start can carry (see [`deeper_than`]). The one space after a
/// marker belongs to the marker, so it adds no indentation.
fn line_depth(line: &[u8]) -> usize {
    let ends_marker = |i: usize| matches!(line.get(i), None | Some(b' ' | b'\t' | b'\r' | b'\n'));
    let (mut depth, mut columns, mut i) = (0usize, 0usize, 0usize);
    while let Some(&byte) = line.get(i) {
        let marker_width = match byte {
            b' ' => {
                columns += 1;
                i += 1;
                continue;
            }
            b'\t' => {
                columns += 4;
                i += 1;
                continue;
            }
            b'>' => 1,
            b'-' | b'+' | b'*' if ends_marker(i + 1) => 1,
            b'0'..=b'9' => {
                let digits = line[i..].iter().take_while(|b| b.is_ascii_digit()).count();
                let delimiter = line.get(i + digits);
                if digits > 9
                    || !matches!(delimiter, Some(b'.' | b')'))
                    || !ends_marker(i + digits + 1)
                {
                    break;
                }
                digits + 1
            }
            _ => break,
        };
        depth += 1;
        i += marker_width;
        if line.get(i) == Some(&b' ') {
            i += 1;
        }
    }
    depth + columns / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(markdown: &str) -> usize {
        markdown
            .split_inclusive('\n')
            .map(|line| line_depth(line.as_bytes()))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn nesting_counts_quotes_list_markers_and_indentation() {
        assert_eq!(depth("plain text\n\nmore\n"), 0);
        assert_eq!(depth("> quoted\n"), 1);
        assert_eq!(depth("> > > three\n"), 3);
        assert_eq!(depth(">>>>>\n"), 5);
        assert_eq!(depth("- a\n  - b\n    - c\n"), 3);
        assert_eq!(depth("1. a\n   2) b\n"), 2);
        assert_eq!(
            depth("> - > 1. x\n"),
            4,
            "a marker's own space is no indentation"
        );
        assert_eq!(depth("> -   - x\n"), 3 + 1, "more spaces are");
        // Not markers: emphasis, a number in text, a negative number.
        assert_eq!(depth("*emphasis*\n"), 0);
        assert_eq!(depth("2026 was a year\n"), 0);
        assert_eq!(depth("-1 degrees\n"), 0);
        assert_eq!(depth("1234567890. too many digits\n"), 0);
    }

    /// How deep block quotes and list items nest in what pulldown-cmark (the renderer's
    /// parser) builds of `markdown`.
    fn parsed_depth(markdown: &str) -> usize {
        use pulldown_cmark::{Event, Parser, Tag, TagEnd};
        let (mut open, mut deepest) = (0usize, 0usize);
        for event in Parser::new(markdown) {
            match event {
                Event::Start(Tag::BlockQuote(_) | Tag::Item) => {
                    open += 1;
                    deepest = deepest.max(open);
                }
                Event::End(TagEnd::BlockQuote(_) | TagEnd::Item) => open -= 1,
                _ => {}
            }
        }
        deepest
    }

    #[test]
    fn nesting_is_never_under_what_the_renderer_builds() {
        let samples = [
            "> a\n> > b\n> > > c\n",
            "- a\n  - b\n    - c\n      - d\n",
            "1. a\n   - b\n     > c\n     > - d\n",
            "> - a\n>   - b\n>     > c\n",
            "- a\nlazy\n  - b\n\n    - c\n",
            "\t- a\n\t\t- b\n",
            "* a\n    * b\n        * c\n",
            "-\n  - b\n",
        ];
        for sample in samples {
            assert!(depth(sample) >= parsed_depth(sample), "{sample:?}");
        }
        // Random documents of markers, indentation, fences and text (xorshift, fixed
        // seed): the count is never under what the parser builds.
        let pieces = [
            ">", "> ", "- ", "* ", "+ ", "1. ", "2) ", " ", "  ", "   ", "\t", "x", "```", "-", "",
        ];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let mut doc = String::new();
            for _ in 0..(next() % 8) {
                for _ in 0..(next() % 6) {
                    doc.push_str(pieces[(next() % pieces.len() as u64) as usize]);
                }
                doc.push_str(if next() % 3 == 0 { "\n\n" } else { "x\n" });
            }
            assert!(
                depth(&doc) >= parsed_depth(&doc),
                "{doc:?}: counted {}, parsed {}",
                depth(&doc),
                parsed_depth(&doc)
            );
        }
    }

    #[test]
    fn a_hostile_body_is_found_in_one_pass_with_its_line() {
        let body = format!("intro\n\n{}x\n", ">".repeat(80_000));
        assert_eq!(deeper_than(&body, 32), Some((80_000, 7)));
        assert_eq!(deeper_than("fine\n> > ok\n", 2), None);
        let limits = Limits::default();
        let text = format!("---\nat: 2026-11-01T09:00:00Z\nby: x\n---\n{body}");
        let over = check(Kind::LogEntry, &text, text.len() as u64, &limits);
        assert_eq!(
            over,
            Some(Over::Nesting {
                depth: 80_000,
                at: text.find('>').unwrap_or(0)
            })
        );
        // YAML files are not Markdown; the size limit is for every kind.
        assert_eq!(check(Kind::Host, &body, body.len() as u64, &limits), None);
        assert_eq!(
            check(Kind::Host, "", 2 << 20, &limits),
            Some(Over::Size(2 << 20))
        );
    }

    #[test]
    fn limits_are_read_from_the_configuration_alone() {
        assert_eq!(Limits::of_config("title: T\n"), Limits::default());
        let set = Limits::of_config(
            "title: T\nsync: { quiet: 5m }\nlimits:\n  max_file_size: 64 KiB\n  max_markdown_nesting: 8\n",
        );
        assert_eq!(set.max_file_size, crate::content::types::ByteSize::kib(64));
        assert_eq!(set.max_markdown_nesting, 8);
        // Limits that do not parse are the defaults (the configuration's load says why).
        assert_eq!(
            Limits::of_config("limits: { max_file_size: huge }\n"),
            Limits::default()
        );
        let mut tree = crate::source::Tree::new();
        tree.insert("glassroom.yaml", "limits: { max_markdown_nesting: 4 }\n");
        assert_eq!(Limits::of_tree(&tree).max_markdown_nesting, 4);
        assert!(is_content_path("logbook/2026/11/a.md"));
        assert!(is_content_path("logbook/notes.txt"), "misplaced content");
        assert!(!is_content_path("static/logo.png"));
    }
}
