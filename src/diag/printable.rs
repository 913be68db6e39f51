//! Text that came from a repository, a commit or a request, made safe to print: a file
//! name may hold a newline, a carriage return, a terminal escape (`\x1b[2J`) or a
//! bidirectional override (U+202E), and printed as it is it would forge a line of
//! `glassroom audit`, a diagnostic or a log, or drive the reader's terminal.
//!
//! [`printable`] is the one way such text reaches a terminal or a log; the output names
//! of the site escape the same characters ([`is_unsafe`]).

use std::borrow::Cow;
use std::fmt::Write;

/// A character that must not reach a terminal or a log as it is: a control character
/// (C0 with tab and newline, DEL, C1), an invisible bidirectional control that reorders
/// what follows it, or a Unicode line or paragraph separator.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
                | '\u{2028}' | '\u{2029}'
        )
}

/// `text` with every [unsafe](is_unsafe) character written as an escape: `\n`, `\r`,
/// `\t`, else `\u{1b}` (Rust's notation). Borrowed when there is none, as for almost
/// every name.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `source` with every unsafe character but newline, tab and the `\r` of a `\r\n`
/// replaced by a harmless one of the same length in bytes (`?`, `¿` or `�`), so the byte
/// ranges of diagnostics still fall where they did: for showing a file's lines under a
/// diagnostic.
pub fn same_length(source: &str) -> Cow<'_, str> {
    let kept = |c: char, next: Option<char>| {
        !is_unsafe(c) || c == '\n' || c == '\t' || (c == '\r' && next == Some('\n'))
    };
    let mut chars = source.chars().peekable();
    let mut clean = true;
    while let Some(c) = chars.next() {
        clean &= kept(c, chars.peek().copied());
    }
    if clean {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(match (kept(c, chars.peek().copied()), c.len_utf8()) {
            (true, _) => c,
            (false, 1) => '?',
            (false, 2) => '¿',
            (false, _) => '\u{fffd}',
        });
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cannot_forge_lines_or_drive_a_terminal() {
        assert_eq!(printable("hosts/web1.yaml"), "hosts/web1.yaml");
        assert!(matches!(printable("café ü.md"), Cow::Borrowed(_)));
        assert_eq!(
            printable("a\nrefused b\r\x1b[2J\u{202e}gpj.exe\u{85}\t"),
            "a\\nrefused b\\r\\u{1b}[2J\\u{202e}gpj.exe\\u{85}\\t"
        );
        for c in ['\u{7f}', '\u{2028}', '\u{2066}', '\u{61c}', '\u{200f}'] {
            assert!(!printable(&format!("x{c}y")).contains(c), "{c:?}");
        }
    }

    #[test]
    fn sources_keep_their_byte_offsets() {
        let source = "name: a\x1b[2Jb\u{85}c\u{202e}d\r\n\tnext\rover\n";
        let shown = same_length(source);
        assert_eq!(shown.len(), source.len());
        assert_eq!(shown, "name: a?[2Jb¿c\u{fffd}d\r\n\tnext?over\n");
        for (i, _) in source.char_indices() {
            assert!(shown.is_char_boundary(i));
        }
    }
}
