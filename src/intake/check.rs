//! Checking a new logbook entry against the approved content before it is committed, so
//! an entry from a robot or the command line can never break the next build: the
//! procedure and the entry it answers exist, the fields are well-formed, and the time is
//! not in the future.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::NewEntry;
use crate::content::logbook::{self, BadAbout, BadReply, Parent, Principal, UnknownProcedure};
use crate::content::types::Moment;
use crate::content::{Content, Disposition, Kind, is_valid_id};
use crate::lookalike;

/// How far ahead of the clock an entry's `at` may be (clock skew between machines).
pub const FUTURE_TOLERANCE_SECONDS: i64 = 300;

/// The longest `by` accepted.
const MAX_BY_CHARS: usize = 100;

/// What a new entry is checked against: the ids and people of the approved content.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    procedures: BTreeSet<String>,
    /// Logbook entry id → its time.
    entries: BTreeMap<String, Moment>,
    /// Policy user → whether it is a robot; `None` without a policy.
    users: Option<BTreeMap<String, bool>>,
    /// The ids of the kinds an entry may be `about`.
    ids: BTreeMap<Kind, BTreeSet<String>>,
}

impl Rules {
    pub fn from_content(content: &Content) -> Self {
        Rules {
            procedures: content.procedures.iter().map(|p| p.id.clone()).collect(),
            entries: content
                .logbook
                .iter()
                .map(|e| (e.id.clone(), e.data.at.value))
                .collect(),
            users: content.policy.as_ref().map(|p| {
                p.data
                    .users
                    .iter()
                    .map(|(name, user)| (name.as_str().to_owned(), user.robot))
                    .collect()
            }),
            ids: logbook::ABOUT_KINDS
                .into_iter()
                .map(|kind| {
                    let shelf = content.shelf(kind);
                    let ids = (0..shelf.len())
                        .filter_map(|i| shelf.head(i).map(|head| head.id.to_owned()))
                        .collect();
                    (kind, ids)
                })
                .collect(),
        }
    }

    /// Remembers an entry written since the content was read, so a reply to it is accepted.
    pub fn add_entry(&mut self, id: &str, at: Moment) {
        self.entries.insert(id.to_owned(), at);
    }

    /// Whether `name` is a user of the policy, and whether a robot.
    pub fn user(&self, name: &str) -> Option<bool> {
        self.users.as_ref()?.get(name).copied()
    }

    fn user_names(&self) -> impl Iterator<Item = &str> {
        self.users
            .iter()
            .flat_map(|users| users.keys().map(String::as_str))
    }

    pub fn has_procedure(&self, id: &str) -> bool {
        self.procedures.contains(id)
    }

    /// The user of the policy that `name` looks like: equal to it but for case and
    /// Unicode form ([`lookalike::look`]).
    fn look_alike(&self, name: &str) -> Option<&str> {
        let seen = lookalike::look(name);
        self.user_names().find(|user| lookalike::look(user) == seen)
    }
}

/// The content's logbook rules look up the approved procedures and entries here.
impl logbook::Known for Rules {
    fn has_procedure(&self, id: &str) -> bool {
        self.procedures.contains(id)
    }

    fn parent(&self, id: &str) -> Parent {
        self.entries
            .get(id)
            .map_or(Parent::Unknown, |at| Parent::At(*at))
    }

    fn has(&self, kind: Kind, id: &str) -> bool {
        if kind == Kind::Procedure {
            return self.procedures.contains(id);
        }
        self.ids.get(&kind).is_some_and(|ids| ids.contains(id))
    }

    fn principal(&self, name: &str) -> Principal {
        Principal::of(self.users.as_ref(), name)
    }
}

/// Why an entry was refused: the field at fault, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub message: String,
    pub help: Option<String>,
    /// The value is well-formed but names something the content does not have (an
    /// unknown procedure or entry), as opposed to a malformed value.
    pub unknown: bool,
}

impl Invalid {
    pub fn bad(field: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            field,
            message: message.into(),
            help: None,
            unknown: false,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    fn unknown(field: &'static str, message: impl Into<String>) -> Self {
        Invalid {
            unknown: true,
            ..Invalid::bad(field, message)
        }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Invalid {}

/// Every disposition, as written.
pub const DISPOSITIONS: &[&str] = &[
    "ok",
    "info",
    "problem",
    "acknowledged",
    "ignored",
    "belay",
    "end",
];

/// `ok`, `problem`, ... as the content model reads them.
pub fn parse_disposition(text: &str) -> Result<Disposition, Invalid> {
    let deserializer = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(text);
    Disposition::deserialize(deserializer).map_err(|_| {
        Invalid::bad("disposition", format!("`{text}` is not a disposition"))
            .with_help(format!("use one of {}", DISPOSITIONS.join(", ")))
    })
}

/// An instant as the content model reads it (`2026-11-23T03:15:00Z`, ...).
pub fn parse_at(text: &str) -> Result<Moment, Invalid> {
    text.parse::<Moment>()
        .map_err(|message| Invalid::bad("at", message))
}

/// Checks `entry` against `rules` at `now`. `acting` is the authenticated principal when
/// the entry comes from a robot: it may not write in another user's name.
pub fn check(
    entry: &NewEntry,
    rules: &Rules,
    acting: Option<&str>,
    now: Moment,
) -> Result<(), Invalid> {
    check_by(&entry.by, rules, acting)?;
    if let Some(procedure) = &entry.procedure {
        if !is_valid_id(procedure) {
            return Err(
                Invalid::bad("procedure", format!("`{procedure}` is not a procedure id"))
                    .with_help("a procedure id is its file name in procedures/ without `.md`"),
            );
        }
        if let Err(UnknownProcedure) = logbook::check_procedure(procedure, rules) {
            let mut invalid =
                Invalid::unknown("procedure", format!("unknown procedure `{procedure}`"));
            invalid.help = Some(
                match crate::suggest::suggest(
                    procedure,
                    rules.procedures.iter().map(String::as_str),
                ) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!(
                        "procedures are the files in procedures/ ({} approved)",
                        rules.procedures.len()
                    ),
                },
            );
            return Err(invalid);
        }
    } else if entry.note.trim().is_empty() {
        return Err(
            Invalid::bad("note", "an entry without a procedure needs a note")
                .with_help("name the procedure done, or say what happened in `note`"),
        );
    }
    if let Some(about) = &entry.about {
        check_about(about, rules)?;
    }
    if logbook::check_until(entry.disposition, entry.until.is_some()).is_err() {
        return Err(Invalid::bad(
            "until",
            "`until` bounds an acknowledgement, and this entry acknowledges nothing",
        )
        .with_help("add `disposition: acknowledged`, or leave `until` out"));
    }
    if let Some(bad) = entry
        .note
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(Invalid::bad(
            "note",
            format!(
                "the note contains the control character U+{:04X}",
                bad as u32
            ),
        ));
    }
    let latest = now.0.as_second() + FUTURE_TOLERANCE_SECONDS;
    if entry.at.0.as_second() > latest {
        return Err(Invalid::bad(
            "at",
            format!("{} is in the future (it is now {now})", entry.at),
        )
        .with_help("leave `at` out to log the current time"));
    }
    if let Some(parent) = &entry.reply_to {
        match logbook::check_reply(parent, entry.at, rules) {
            Ok(()) => {}
            Err(BadReply::UnknownParent) => {
                return Err(Invalid::unknown(
                    "reply_to",
                    format!("unknown logbook entry `{parent}`"),
                )
                .with_help("`reply_to` is the id (file name without `.md`) of an existing entry"));
            }
            Err(BadReply::BeforeParent { parent_at }) => {
                return Err(Invalid::bad(
                    "at",
                    format!("{} is before the entry it answers ({parent_at})", entry.at),
                ));
            }
        }
    }
    Ok(())
}

fn check_by(by: &str, rules: &Rules, acting: Option<&str>) -> Result<(), Invalid> {
    if by.trim().is_empty() {
        return Err(Invalid::bad("by", "`by` is empty").with_help("say who did it"));
    }
    if by.chars().count() > MAX_BY_CHARS {
        return Err(Invalid::bad(
            "by",
            format!("`by` must be at most {MAX_BY_CHARS} characters"),
        ));
    }
    // An invisible character would make the name show as another (`alice\u{200b}` shows
    // as `alice`); the message names it by its code point, never as it is.
    if let Some(hidden) = by.chars().find(|c| lookalike::is_invisible(*c)) {
        let what = if hidden.is_control() {
            "a control character (`by` is one line)"
        } else {
            "an invisible character: the name would show as another"
        };
        let shown: String = by
            .chars()
            .filter(|c| !lookalike::is_invisible(*c))
            .collect();
        let help = match rules.look_alike(&shown) {
            Some(user) => did_you_mean(user, acting),
            None => "write the name without it, on one line".to_owned(),
        };
        return Err(Invalid::bad(
            "by",
            format!("`by` contains U+{:04X}, {what}", u32::from(hidden)),
        )
        .with_help(help));
    }
    if by != by.trim() {
        return Err(Invalid::bad("by", "`by` has leading or trailing spaces"));
    }
    let known = rules.user(by).is_some();
    if !known && let Some(user) = rules.look_alike(by) {
        return Err(Invalid::bad(
            "by",
            format!(
                "`{by}` looks like the user `{user}` of the policy (it differs only in case or Unicode form)"
            ),
        )
        .with_help(did_you_mean(user, acting)));
    }
    if let Some(acting) = acting
        && by != acting
        && known
    {
        return Err(Invalid::bad(
            "by",
            format!("`{by}` is another user of the policy; `{acting}` may only log as itself"),
        )
        .with_help(format!("leave `by` out to log as `{acting}`")));
    }
    if logbook::check_by(by, rules).is_err() {
        let help = match (acting, crate::suggest::suggest(by, rules.user_names())) {
            (Some(acting), _) => format!("leave `by` out to log as `{acting}`"),
            (None, Some(near)) => format!("did you mean `{near}`?"),
            (None, None) => format!(
                "`by` is a user of `{}` (a person or a robot)",
                crate::trust::policy::POLICY_PATH
            ),
        };
        return Err(
            Invalid::unknown("by", format!("`{by}` is not a user of the policy")).with_help(help),
        );
    }
    Ok(())
}

/// The rule on `about` ([`logbook::check_about`]), with a "did you mean".
fn check_about(about: &str, rules: &Rules) -> Result<(), Invalid> {
    let bad = match logbook::check_about(about, rules) {
        Ok(_) => return Ok(()),
        Err(bad) => bad,
    };
    let help = match &bad {
        BadAbout::Shape | BadAbout::UnknownKind(_) => format!(
            "write `<kind>/<id>`, like `host/web1`; the kinds are {}",
            logbook::about_kinds()
        ),
        BadAbout::UnknownId { kind, id } => {
            let ids: Vec<&str> = match kind {
                Kind::Procedure => rules.procedures.iter().map(String::as_str).collect(),
                _ => rules
                    .ids
                    .get(kind)
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect(),
            };
            match crate::suggest::suggest(id, ids) {
                Some(near) => format!("did you mean `{}/{near}`?", kind.noun()),
                None => format!("there is no `{}`", kind.place().path_of(id)),
            }
        }
    };
    let message = bad.message(about);
    Err(match bad {
        BadAbout::UnknownId { .. } => Invalid::unknown("about", message),
        _ => Invalid::bad("about", message),
    }
    .with_help(help))
}

/// "did you mean `user`?", and what a robot may do instead when `user` is not itself.
fn did_you_mean(user: &str, acting: Option<&str>) -> String {
    match acting {
        Some(acting) if acting != user => {
            format!("did you mean `{user}`? `{acting}` may only log as itself: leave `by` out")
        }
        _ => format!("did you mean `{user}`?"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moment(text: &str) -> Moment {
        text.parse().unwrap_or(Moment(jiff::Timestamp::UNIX_EPOCH))
    }

    fn rules() -> Rules {
        let mut rules = Rules::default();
        rules.procedures.insert("verify-backup-tape".into());
        rules.procedures.insert("rotate-logs".into());
        let users = rules.users.get_or_insert_default();
        users.insert("alice".into(), false);
        users.insert("backup-bot".into(), true);
        rules
            .ids
            .insert(Kind::Host, BTreeSet::from(["web1".to_owned()]));
        rules.add_entry("2026-11-20-tape", moment("2026-11-20T03:00:00Z"));
        rules
    }

    fn entry() -> NewEntry {
        NewEntry {
            procedure: Some("verify-backup-tape".into()),
            about: None,
            until: None,
            by: "backup-bot".into(),
            disposition: Some(Disposition::Ok),
            reply_to: None,
            note: "fine".into(),
            at: moment("2026-11-23T03:00:00Z"),
        }
    }

    fn now() -> Moment {
        moment("2026-11-23T03:00:10Z")
    }

    fn refused(entry: &NewEntry) -> Invalid {
        match check(entry, &rules(), Some("backup-bot"), now()) {
            Err(invalid) => invalid,
            Ok(()) => panic!("{entry:?} was accepted"),
        }
    }

    #[test]
    fn a_good_entry_passes() {
        assert_eq!(check(&entry(), &rules(), Some("backup-bot"), now()), Ok(()));
    }

    #[test]
    fn an_unknown_procedure_is_unknown_with_a_suggestion() {
        let invalid = refused(&NewEntry {
            procedure: Some("verify-backup-tapes".into()),
            ..entry()
        });
        assert_eq!(invalid.field, "procedure");
        assert!(invalid.unknown);
        assert_eq!(
            invalid.help.as_deref(),
            Some("did you mean `verify-backup-tape`?")
        );
    }

    #[test]
    fn a_malformed_procedure_is_bad_input() {
        let invalid = refused(&NewEntry {
            procedure: Some("../etc/passwd".into()),
            ..entry()
        });
        assert_eq!((invalid.field, invalid.unknown), ("procedure", false));
    }

    #[test]
    fn robots_log_only_as_themselves() {
        let invalid = refused(&NewEntry {
            by: "alice".into(),
            ..entry()
        });
        assert_eq!(invalid.field, "by");
        // A name that is no user (the job, the host) is refused too: `by` says who.
        let invalid = refused(&NewEntry {
            by: "nightly job on backup1".into(),
            ..entry()
        });
        assert_eq!((invalid.field, invalid.unknown), ("by", true));
        // On the command line nobody is "acting": people log in their own name.
        let entry = NewEntry {
            by: "alice".into(),
            ..entry()
        };
        assert_eq!(check(&entry, &rules(), None, now()), Ok(()));
    }

    #[test]
    fn by_must_be_a_user_of_the_policy_with_a_suggestion() {
        let mallory = NewEntry {
            by: "mallory".into(),
            ..entry()
        };
        let invalid = check(&mallory, &rules(), None, now()).err();
        let invalid = invalid.expect("mallory is refused");
        assert_eq!((invalid.field, invalid.unknown), ("by", true));
        assert!(invalid.message.contains("not a user of the policy"));
        let alcie = NewEntry {
            by: "alcie".into(),
            ..entry()
        };
        let help = check(&alcie, &rules(), None, now())
            .err()
            .and_then(|i| i.help);
        assert_eq!(help.as_deref(), Some("did you mean `alice`?"));
        // Without a policy there is nobody to check against.
        let open = Rules {
            users: None,
            ..rules()
        };
        assert_eq!(check(&mallory, &open, None, now()), Ok(()));
    }

    #[test]
    fn an_ad_hoc_entry_may_be_about_an_existing_entity() {
        let about = |text: &str| NewEntry {
            procedure: None,
            about: Some(text.into()),
            by: "alice".into(),
            ..entry()
        };
        assert_eq!(check(&about("host/web1"), &rules(), None, now()), Ok(()));
        assert_eq!(
            check(&about("procedure/rotate-logs"), &rules(), None, now()),
            Ok(())
        );
        let invalid = check(&about("host/web2"), &rules(), None, now()).err();
        let invalid = invalid.expect("an unknown host is refused");
        assert_eq!((invalid.field, invalid.unknown), ("about", true));
        assert_eq!(invalid.help.as_deref(), Some("did you mean `host/web1`?"));
        let invalid = check(&about("web1"), &rules(), None, now()).err();
        assert_eq!(
            invalid.map(|i| (i.field, i.unknown)),
            Some(("about", false))
        );
        // Without a procedure and without `about` it is still an entry.
        let plain = NewEntry {
            procedure: None,
            by: "alice".into(),
            ..entry()
        };
        assert_eq!(check(&plain, &rules(), None, now()), Ok(()));
    }

    #[test]
    fn bad_by_values_are_refused() {
        for by in ["", "  ", "two\nlines", " padded", &"x".repeat(101)] {
            let invalid = refused(&NewEntry {
                by: by.into(),
                ..entry()
            });
            assert_eq!(invalid.field, "by", "{by:?}");
        }
    }

    #[test]
    fn names_that_look_like_a_user_are_refused_with_the_user_named() {
        let cases = [
            ("alice\u{200b}", "alice"),
            ("al\u{200c}ice", "alice"),
            ("alice\u{200d}", "alice"),
            ("\u{2060}alice", "alice"),
            ("\u{feff}alice", "alice"),
            ("alice\u{202e}", "alice"),
            ("alice\u{e0020}", "alice"),
            ("ALICE", "alice"),
            ("Alice", "alice"),
            ("ａｌｉｃｅ", "alice"),
            ("Backup-Bot", "backup-bot"),
            ("backup\u{ad}-bot", "backup-bot"),
        ];
        for (by, user) in cases {
            for acting in [Some("backup-bot"), None] {
                let entry = NewEntry {
                    by: by.into(),
                    ..entry()
                };
                let invalid = match check(&entry, &rules(), acting, now()) {
                    Err(invalid) => invalid,
                    Ok(()) => panic!("{by:?} was accepted (acting {acting:?})"),
                };
                assert_eq!(invalid.field, "by", "{by:?}");
                let help = invalid.help.unwrap_or_default();
                assert!(
                    help.starts_with(&format!("did you mean `{user}`?")),
                    "{by:?}: {help}"
                );
                // The message never carries the invisible character itself.
                assert!(
                    !invalid.message.chars().any(lookalike::is_invisible),
                    "{by:?}: {}",
                    invalid.message
                );
            }
        }
        // A robot is told that it cannot log as someone else anyway.
        let invalid = refused(&NewEntry {
            by: "ALICE".into(),
            ..entry()
        });
        assert!(
            invalid
                .help
                .is_some_and(|help| help.contains("leave `by` out")),
        );
        // An invisible character is refused even in a name that is nobody's.
        let invalid = refused(&NewEntry {
            by: "nightly\u{200b} job".into(),
            ..entry()
        });
        assert_eq!(invalid.field, "by");
        assert!(invalid.message.contains("U+200B"), "{}", invalid.message);
        // The exact names stay usable, and so do names that resemble nobody.
        for (by, acting) in [("backup-bot", Some("backup-bot")), ("alice", None)] {
            let entry = NewEntry {
                by: by.into(),
                ..entry()
            };
            assert_eq!(check(&entry, &rules(), acting, now()), Ok(()), "{by:?}");
        }
    }

    #[test]
    fn times_in_the_future_are_refused_but_skew_is_tolerated() {
        let skewed = NewEntry {
            at: moment("2026-11-23T03:04:00Z"),
            ..entry()
        };
        assert_eq!(check(&skewed, &rules(), None, now()), Ok(()));
        let invalid = refused(&NewEntry {
            at: moment("2026-11-23T04:00:00Z"),
            ..entry()
        });
        assert_eq!(invalid.field, "at");
    }

    #[test]
    fn replies_need_an_earlier_existing_entry() {
        let reply = NewEntry {
            reply_to: Some("2026-11-20-tape".into()),
            ..entry()
        };
        assert_eq!(check(&reply, &rules(), None, now()), Ok(()));
        let invalid = refused(&NewEntry {
            reply_to: Some("nope".into()),
            ..entry()
        });
        assert_eq!((invalid.field, invalid.unknown), ("reply_to", true));
        let invalid = refused(&NewEntry {
            reply_to: Some("2026-11-20-tape".into()),
            at: moment("2026-11-19T00:00:00Z"),
            ..entry()
        });
        assert_eq!(invalid.field, "at");
    }

    #[test]
    fn an_ad_hoc_entry_needs_a_note() {
        let invalid = refused(&NewEntry {
            procedure: None,
            note: " ".into(),
            ..entry()
        });
        assert_eq!(invalid.field, "note");
        let invalid = refused(&NewEntry {
            note: "bell\u{7}".into(),
            ..entry()
        });
        assert_eq!(invalid.field, "note");
    }

    #[test]
    fn dispositions_parse_as_the_content_model_reads_them() {
        for text in DISPOSITIONS {
            assert!(parse_disposition(text).is_ok(), "{text}");
        }
        let invalid = parse_disposition("fine").err();
        assert_eq!(invalid.map(|i| i.field), Some("disposition"));
        assert!(parse_at("yesterday").is_err());
    }
}
