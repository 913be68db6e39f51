//! Names that could pass for another: the one rule for repository paths (the trust
//! replay refuses them) and for the names a logbook entry is written by (the intake
//! refuses them), so a file or an entry can never look like someone else's.
//!
//! Two things make a name look like another: a character that shows nothing (or moves
//! what follows), and a difference of case or Unicode form alone (`ALICE`, `ａｌｉｃｅ`,
//! a decomposed `é`).

use unicode_normalization::UnicodeNormalization;

/// A character that shows nothing, or moves or hides what follows: control characters,
/// every format character (Unicode category Cf: zero-width and joining characters,
/// bidirectional controls, the soft hyphen, the byte-order mark, invisible operators,
/// tag characters…), line and paragraph separators, variation selectors, the combining
/// grapheme joiner and the Hangul fillers. A name with one can look like another name.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            // Category Cf (Unicode 15), with the ranges that are all Cf or unassigned.
            '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
            | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{FEFF}'
            | '\u{FFF0}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}' | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E007F}'
            // Not Cf, but invisible all the same.
            | '\u{034F}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
            | '\u{180B}'..='\u{180F}' | '\u{2028}' | '\u{2029}' | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}' | '\u{FFA0}' | '\u{E0100}'..='\u{E01EF}')
}

/// What a name looks like, for finding look-alikes: lowercase, in Unicode's compatibility
/// form (so `é` composed and decomposed, or `ﬁ` and `fi`, are one).
pub fn look(name: &str) -> String {
    name.to_lowercase().nfkc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_characters_are_found() {
        for name in [
            "web\u{200b}1",
            "web\u{200c}1",
            "web\u{200d}1",
            "web\u{2060}1",
            "web1\u{202e}",
            "\u{feff}web1",
            "web\n1",
            "web\u{7f}1",
            "soft\u{ad}hyphen",
            "web\u{2062}1",
            "alice\u{e0041}",
            "line\u{2028}sep",
            "vs\u{fe0f}",
        ] {
            assert!(name.chars().any(is_invisible), "{name:?}");
        }
        for name in [
            "web1",
            "café",
            "日本",
            "web-1_2.yaml",
            "backup job on backup1",
        ] {
            assert!(!name.chars().any(is_invisible), "{name:?}");
        }
    }

    #[test]
    fn look_alikes_look_the_same() {
        for name in ["ALICE", "Alice", "ａｌｉｃｅ", "ＡＬＩＣＥ"] {
            assert_eq!(look(name), "alice", "{name:?}");
        }
        assert_eq!(look("cafe\u{301}"), look("café"));
        assert_eq!(look("ﬁle"), look("file"));
        assert_ne!(look("alice2"), look("alice"));
    }
}
