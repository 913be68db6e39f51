//! The rules a logbook entry must meet against the rest of the content, written once for
//! the two places that apply them: validation of the repository (`validate/work.rs`),
//! and the intake of a new entry (`crate::intake`), which must never accept an entry
//! that the next build would refuse. Each place says what is wrong in its own words
//! (a diagnostic pointing into the file; a refusal naming the request's field).
//!
//! The rules: the procedure an entry records exists; the entity it is `about`
//! (`host/web1`) exists; it is `by` a user of the policy (when there is a policy); the
//! entry it answers exists and is not later than it; it is filed under the folder of the
//! month of its `at` ([`month_folder`]).

use super::kind::{Kind, LOGBOOK_DIR};
use super::types::Moment;

/// What the rules look up in the rest of the content.
pub trait Known {
    /// Whether a procedure with `id` exists.
    fn has_procedure(&self, id: &str) -> bool;
    /// The entry with `id`, as far as it is known.
    fn parent(&self, id: &str) -> Parent;
    /// Whether an entity of `kind` with `id` exists.
    fn has(&self, kind: Kind, id: &str) -> bool;
    /// Who `name` is to the policy.
    fn principal(&self, name: &str) -> Principal;
}

/// Who an entry's `by` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    /// A person of the policy.
    Person,
    /// A robot of the policy (`robot: true`).
    Robot,
    /// Nobody the policy lists.
    Unknown,
    /// There is no policy to ask: any name is taken as written.
    NoPolicy,
}

impl Principal {
    /// Who `name` is, given the policy's users (name → robot), if there is a policy.
    pub fn of<K: std::borrow::Borrow<str> + Ord>(
        users: Option<&std::collections::BTreeMap<K, bool>>,
        name: &str,
    ) -> Principal {
        match users.map(|users| users.get(name)) {
            None => Principal::NoPolicy,
            Some(None) => Principal::Unknown,
            Some(Some(true)) => Principal::Robot,
            Some(Some(false)) => Principal::Person,
        }
    }
}

/// The kinds an entry may be `about`, written `<noun>/<id>` (`host/web1`): every kind
/// with a page of its own that work is done on.
pub const ABOUT_KINDS: [Kind; 9] = [
    Kind::Host,
    Kind::Certificate,
    Kind::Domain,
    Kind::Module,
    Kind::Release,
    Kind::Ticket,
    Kind::Site,
    Kind::Service,
    Kind::Procedure,
];

/// What is wrong with an entry's `about`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadAbout {
    /// Not `<kind>/<id>`.
    Shape,
    /// The part before `/` names no kind an entry may be about.
    UnknownKind(String),
    /// No entity of the kind has the id.
    UnknownId { kind: Kind, id: String },
}

impl BadAbout {
    /// What is wrong, in words.
    pub fn message(&self, about: &str) -> String {
        match self {
            BadAbout::Shape => format!("`about` `{about}` is not `<kind>/<id>`"),
            BadAbout::UnknownKind(kind) => {
                format!("`about` names `{kind}`, which is not a kind an entry may be about")
            }
            BadAbout::UnknownId { kind, id } => format!("unknown {} `{id}`", kind.noun()),
        }
    }
}

/// The kinds an entry may be about, as written: `host, certificate, ...`.
pub fn about_kinds() -> String {
    ABOUT_KINDS.map(Kind::noun).join(", ")
}

/// `host/web1` → (Host, `web1`): the shape and the kind, not whether it exists.
pub fn parse_about(about: &str) -> Result<(Kind, &str), BadAbout> {
    let (noun, id) = about.split_once('/').ok_or(BadAbout::Shape)?;
    if id.is_empty() || id.contains('/') {
        return Err(BadAbout::Shape);
    }
    let kind = ABOUT_KINDS
        .into_iter()
        .find(|kind| kind.noun() == noun)
        .ok_or_else(|| BadAbout::UnknownKind(noun.to_owned()))?;
    Ok((kind, id))
}

/// The rule on `about`: it names an entity that exists.
pub fn check_about<'a>(about: &'a str, known: &impl Known) -> Result<(Kind, &'a str), BadAbout> {
    let (kind, id) = parse_about(about)?;
    if known.has(kind, id) {
        Ok((kind, id))
    } else {
        Err(BadAbout::UnknownId {
            kind,
            id: id.to_owned(),
        })
    }
}

/// `until` on an entry that acknowledges nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UntilWithoutAcknowledgement;

/// The rule on `until`: it bounds an acknowledgement, so only an entry with disposition
/// `acknowledged` has one.
pub fn check_until(
    disposition: Option<super::Disposition>,
    has_until: bool,
) -> Result<(), UntilWithoutAcknowledgement> {
    if has_until && disposition != Some(super::Disposition::Acknowledged) {
        Err(UntilWithoutAcknowledgement)
    } else {
        Ok(())
    }
}

/// `by` names nobody the policy lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownPrincipal;

/// The rule on `by`: a user of the policy (person or robot), when there is a policy.
pub fn check_by(by: &str, known: &impl Known) -> Result<Principal, UnknownPrincipal> {
    match known.principal(by) {
        Principal::Unknown => Err(UnknownPrincipal),
        found => Ok(found),
    }
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
        fn has(&self, kind: Kind, id: &str) -> bool {
            (kind, id) == (Kind::Host, "web1")
        }
        fn principal(&self, name: &str) -> Principal {
            match name {
                "alice" => Principal::Person,
                "backup-bot" => Principal::Robot,
                _ => Principal::Unknown,
            }
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

    #[test]
    fn about_names_an_existing_entity_of_a_kind_work_is_done_on() {
        assert_eq!(check_about("host/web1", &Fixture), Ok((Kind::Host, "web1")));
        assert_eq!(
            check_about("host/web9", &Fixture),
            Err(BadAbout::UnknownId {
                kind: Kind::Host,
                id: "web9".into()
            })
        );
        assert_eq!(
            check_about("hots/web1", &Fixture),
            Err(BadAbout::UnknownKind("hots".into()))
        );
        assert_eq!(
            check_about("news/x", &Fixture),
            Err(BadAbout::UnknownKind("news".into()))
        );
        for bad in ["web1", "host/", "host/a/b", ""] {
            assert_eq!(check_about(bad, &Fixture), Err(BadAbout::Shape), "{bad}");
        }
        assert!(about_kinds().starts_with("host, certificate, domain"));
    }

    #[test]
    fn by_names_a_user_of_the_policy() {
        assert_eq!(check_by("alice", &Fixture), Ok(Principal::Person));
        assert_eq!(check_by("backup-bot", &Fixture), Ok(Principal::Robot));
        assert_eq!(check_by("mallory", &Fixture), Err(UnknownPrincipal));
    }
}
