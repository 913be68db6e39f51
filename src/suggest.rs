//! "Did you mean": the one rule for proposing the known name closest to a mistyped one,
//! used by every stage (YAML fields, references, policy names, logbook posts, the CLI).

/// The candidate closest to `word`, if one is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let known = ["verify-backup-tape", "rotate-logs"];
        assert_eq!(
            suggest("verify-backup-tapes", known),
            Some("verify-backup-tape")
        );
        assert_eq!(suggest("rotate-log", known), Some("rotate-logs"));
        assert_eq!(suggest("deploy", known), None);
        assert_eq!(suggest("x", []), None);
    }
}
