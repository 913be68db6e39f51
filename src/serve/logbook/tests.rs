//! Tests of the logbook intake: authentication, and the refusal naming what is wrong with an entry's fields.

use super::request::Fields;
use super::*;

#[test]
fn tokens_authenticate_their_principal_only() {
    let approved = Approved {
        tokens: super::Tokens::from_digests([(
            "backup-bot",
            // sha256 of "example-backup-bot-token"
            "sha256:73834e02c0411ea0596b57366c1ba56d16d436381beabcba1b0eb2d9532b3947",
        )]),
        people: BTreeMap::new(),
        rules: Rules::default(),
    };
    assert_eq!(
        approved.authenticate("example-backup-bot-token"),
        Some("backup-bot")
    );
    assert_eq!(approved.authenticate("example-backup-bot-token "), None);
    assert_eq!(approved.authenticate(""), None);
}

#[test]
fn fields_name_what_is_wrong() {
    let field = |result: Result<Fields, Refusal>| result.err().and_then(|r| r.field);
    assert_eq!(
        field(fields_from_json(br#"{"procedure": "x", "colour": "red"}"#)),
        Some("colour".into())
    );
    assert_eq!(
        field(fields_from_json(br#"{"note": 42}"#)),
        Some("note".into())
    );
    assert_eq!(field(fields_from_form(b"by=a&by=b")), Some("by".into()));
    // Repeats are refused in JSON too, and when one of the two is empty.
    for body in [
        &br#"{"note":"a","note":"b"}"#[..],
        br#"{"note":"a","note":""}"#,
        br#"{"note":null,"note":"b"}"#,
        br#"{"note":"a","no\u0074e":"b"}"#,
        br#"{"procedure":"x","note":"a","note":1}"#,
    ] {
        assert_eq!(
            field(fields_from_json(body)),
            Some("note".into()),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    assert_eq!(field(fields_from_form(b"by=&by=b")), Some("by".into()));
    assert_eq!(
        field(fields_from_form(b"note=a&note=")),
        Some("note".into())
    );
    // Not an object: said so, with the fields listed.
    let refusal = fields_from_json(br#""note""#).err();
    assert!(refusal.is_some_and(|r| r.message.contains("object") && r.help.is_some()));
    assert!(fields_from_json(b"[1]").is_err());
    assert!(fields_from_json(b"{").is_err());
    let form = fields_from_form(b"procedure=rotate-logs&note=all+good%21&disposition=")
        .unwrap_or_default();
    assert_eq!(form.procedure.as_deref(), Some("rotate-logs"));
    assert_eq!(form.note.as_deref(), Some("all good!"));
    assert_eq!(form.disposition, None);
}
