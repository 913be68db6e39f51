//! The rules a logbook entry must meet against the rest of the content, written once for
//! the two places that apply them: validation of the repository (`validate/work.rs`),
//! and the intake of a new entry (`crate::intake`), which must never accept an entry
//! that the next build would refuse. Each place says what is wrong in its own words
//! (a diagnostic pointing into the file; a refusal naming the request's field).
//!
//! The rules: the procedure an entry records exists; the entry it answers exists and is
//! not later than it; it is filed under the folder of the month of its `at`
//! ([`month_folder`]).

use super::kind::LOGBOOK_DIR;
use super::types::Moment;

/// What the rules look up in the rest of the content.
pub trait Known {
    /// Whether a procedure with `id` exists.
    fn has_procedure(&self, id: &str) -> bool;
    /// The entry with `id`, as far as it is known.
    fn parent(&self, id: &str) -> Parent;
}

/// An entry that another answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    /// No entry has the id.
    Unknown,
    /// An entry has the id, but its time is not known (its file does not parse).
    Undated,
    /// An entry has the id, with this time.
    At(Moment),
}

/// The procedure an entry records does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownProcedure;

/// What is wrong with the entry an entry answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadReply {
    /// `reply_to` names no entry.
    UnknownParent,
    /// The entry is dated before the entry it answers, dated `parent_at`.
    BeforeParent { parent_at: Moment },
}

/// The rule on `procedure`, the procedure an entry records (if it is not ad hoc).
pub fn check_procedure(procedure: &str, known: &impl Known) -> Result<(), UnknownProcedure> {
    if known.has_procedure(procedure) {
        Ok(())
    } else {
        Err(UnknownProcedure)
    }
}

/// The rules on `reply_to`, the entry `parent` that an entry dated `at` answers (if it
/// does not start a thread).
pub fn check_reply(parent: &str, at: Moment, known: &impl Known) -> Result<(), BadReply> {
    match known.parent(parent) {
        Parent::Unknown => Err(BadReply::UnknownParent),
        Parent::At(parent_at) if parent_at > at => Err(BadReply::BeforeParent { parent_at }),
        Parent::At(_) | Parent::Undated => Ok(()),
    }
}

/// The folder an entry dated `at` is filed in: `logbook/YYYY/MM` (without a final `/`).
pub fn month_folder(at: Moment) -> String {
    let date = at.date().0;
    format!("{LOGBOOK_DIR}/{:04}/{:02}", date.year(), date.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture;

    impl Known for Fixture {
        fn has_procedure(&self, id: &str) -> bool {
            id == "rotate-logs"
        }
        fn parent(&self, id: &str) -> Parent {
            match id {
                "dated" => Parent::At(moment("2026-11-20T03:00:00Z")),
                "broken" => Parent::Undated,
                _ => Parent::Unknown,
            }
        }
    }

    fn moment(text: &str) -> Moment {
        text.parse().unwrap_or(Moment(jiff::Timestamp::UNIX_EPOCH))
    }

    #[test]
    fn an_entry_names_existing_procedures_and_answers_earlier_entries() {
        assert_eq!(check_procedure("rotate-logs", &Fixture), Ok(()));
        assert_eq!(
            check_procedure("rotate-log", &Fixture),
            Err(UnknownProcedure)
        );
        let at = moment("2026-11-21T00:00:00Z");
        assert_eq!(check_reply("dated", at, &Fixture), Ok(()));
        assert_eq!(check_reply("broken", at, &Fixture), Ok(()));
        assert_eq!(
            check_reply("nope", at, &Fixture),
            Err(BadReply::UnknownParent)
        );
        let early = moment("2026-11-19T00:00:00Z");
        assert_eq!(
            check_reply("dated", early, &Fixture),
            Err(BadReply::BeforeParent {
                parent_at: moment("2026-11-20T03:00:00Z")
            })
        );
        assert_eq!(month_folder(at), "logbook/2026/11");
    }
}
