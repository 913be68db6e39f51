//! Where a YAML syntax error really is. The parser reports the place where it gave up,
//! which is often not the cause: a tab is reported at the start of the value before it,
//! an unclosed `[` at the first `:` of a later line. These rules find the cause from
//! the text alone.

use std::ops::Range;

/// A better place and wording for a syntax error the parser reported at `span` with
/// `message`, if the text shows its cause.
pub(super) fn cause(text: &str, span: &Range<usize>, message: &str) -> Option<Cause> {
    if message.contains("tab") {
        return tab_after(text, span.start.min(text.len()));
    }
    let bracket = unclosed_bracket(text)?;
    (bracket.0 < span.start || span.start == span.end).then(|| {
        let (open, close) = if bracket.1 == '[' {
            ("[", "]")
        } else {
            ("{", "}")
        };
        let what = if open == "[" { "list" } else { "mapping" };
        Cause {
            span: bracket.0..bracket.0 + 1,
            message: format!("unclosed `{open}`: this {what} is never closed"),
            help: format!(
                "close it with `{close}` (on the same line, or on a later line indented \
                 under it){}",
                if open == "[" {
                    ", or write one `- item` per line"
                } else {
                    ""
                }
            ),
        }
    })
}

/// A syntax error's cause: where it is, what it is, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cause {
    pub span: Range<usize>,
    pub message: String,
    pub help: String,
}

/// The first tab at or after `from` (on the line of `from` or a later one).
fn tab_after(text: &str, from: usize) -> Option<Cause> {
    let line_start = text.get(..from)?.rfind('\n').map_or(0, |i| i + 1);
    let at = line_start + text.get(line_start..)?.find('\t')?;
    Some(Cause {
        span: at..at + 1,
        message: "a tab character where YAML needs spaces".into(),
        help: "YAML indents and separates with spaces only: replace the tab with spaces".into(),
    })
}

/// The first `[` or `{` that opens a flow collection and is never closed, with its byte
/// offset. Brackets inside quoted strings, comments and plain words (`a[1]`) are not
/// flow indicators and are skipped.
fn unclosed_bracket(text: &str) -> Option<(usize, char)> {
    let mut open: Vec<(usize, char)> = Vec::new();
    for (line_start, line) in lines(text) {
        // The last character that was not a space, and whether a space followed it: a
        // token starts at the line's start, after `,` `[` `{`, or after `:` `-` and a
        // space (`a-[x` is one word).
        let mut previous: Option<char> = None;
        let mut spaced = false;
        let mut chars = line.char_indices();
        while let Some((i, c)) = chars.next() {
            let at_token_start = match previous {
                None => true,
                Some(',' | '[' | '{') => true,
                Some(':' | '-') => spaced,
                Some(_) => false,
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => {
                    spaced = true;
                    continue;
                }
                '#' if previous.is_none() || line[..i].ends_with([' ', '\t']) => break,
                '"' | '\'' if at_token_start => {
                    // Skip the quoted string (on this line; a doubled '' escapes ').
                    let mut escaped = false;
                    for (_, q) in chars.by_ref() {
                        if c == '"' && q == '\\' && !escaped {
                            escaped = true;
                            continue;
                        }
                        if q == c && !escaped {
                            break;
                        }
                        escaped = false;
                    }
                    previous = Some('"');
                    spaced = false;
                    continue;
                }
                '[' | '{' if at_token_start => open.push((line_start + i, c)),
                ']' | '}' if !open.is_empty() => {
                    let wanted = if c == ']' { '[' } else { '{' };
                    if open.last().is_some_and(|(_, o)| *o == wanted) {
                        open.pop();
                    }
                }
                _ => {}
            }
            previous = Some(c);
            spaced = false;
        }
    }
    open.first().copied()
}

/// Each line of `text` with the byte offset where it starts.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split_inclusive('\n').scan(0, |at, line| {
        let start = *at;
        *at += line.len();
        Some((start, line))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bracket(text: &str) -> Option<usize> {
        unclosed_bracket(text).map(|(at, _)| at)
    }

    #[test]
    fn finds_the_unclosed_bracket_not_later_balanced_ones() {
        assert_eq!(bracket("a: [x, y\nb: 1\n"), Some(3));
        assert_eq!(bracket("a: [x, y\nb: [1]\n"), Some(3));
        assert_eq!(bracket("a: {k: v\n"), Some(3));
        assert_eq!(bracket("- [a\n"), Some(2));
        assert_eq!(bracket("a: [x,\n   y]\nb: {k: [1, 2]}\n"), None);
    }

    #[test]
    fn brackets_in_words_quotes_and_comments_are_not_flow_indicators() {
        assert_eq!(bracket("a: item[0\n"), None);
        assert_eq!(bracket("a: x-[0\n"), None);
        assert_eq!(bracket("a: \"[x\"\nb: '{y'\n"), None);
        assert_eq!(bracket("a: 1 # [not a list\n"), None);
        assert_eq!(bracket("a: 'it''s [x'\n"), None);
        assert_eq!(bracket("a: \"say \\\"[\\\"\"\n"), None);
    }

    #[test]
    fn a_tab_is_found_on_the_reported_line_or_later() {
        let text = "name: db1\n\trole: x\n";
        let cause = cause(text, &(6..7), "while scanning a plain scalar, found a tab");
        assert_eq!(cause.map(|c| c.span), Some(10..11));
    }

    #[test]
    fn an_error_before_the_bracket_is_left_where_the_parser_put_it() {
        let text = "a: b: c\nd: [x\n";
        assert_eq!(cause(text, &(4..5), "mapping values are not allowed"), None);
        let unclosed = cause(text, &(13..14), "illegal placement of ':' indicator");
        assert_eq!(unclosed.map(|c| c.span), Some(11..12));
    }
}
