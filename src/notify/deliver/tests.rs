use super::*;
use crate::notify::events::Subject;

fn config(yaml: &str) -> NotifyConfig {
    serde_saphyr::from_str(yaml).unwrap()
}

fn event(kind: EventKind) -> Event {
    Event {
        id: "e1".into(),
        kind,
        subject: Subject::new("ticket", "t1"),
        title: "Ticket t1 assigned to bob: Broken".into(),
        text: "Broken.".into(),
        page: "tickets/t1.html".into(),
        to: vec!["bob".into()],
        priority: None,
        severity: None,
        related: Vec::new(),
    }
}

#[test]
fn routes_go_to_addresses_webhooks_and_the_command() {
    let config = config(
        "email: {host: 127.0.0.1, from: ops@example.org, to: [oncall@example.org]}\nwebhooks:\n  - {name: chat, url: 'http://127.0.0.1:9/'}\n  - {name: tickets-only, url: 'http://127.0.0.1:9/', kinds: [ticket_opened]}\ncommand: [cat]\n",
    );
    let mut directory = Directory::default();
    directory.person("bob").email = Some("bob@example.org".into());
    let found = routes(&event(EventKind::TicketAssigned), &directory, &config);
    let names: Vec<(&str, &str)> = found
        .iter()
        .map(|r| (r.channel.as_str(), r.address.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("email", "bob@example.org"),
            ("email", "oncall@example.org"),
            ("webhook:chat", ""),
            ("command", "")
        ]
    );
    assert_eq!(found[0].people, ["bob"]);
    assert_eq!(found[2].people, ["bob"]);
    let opened = routes_of(EventKind::TicketOpened, &config);
    assert!(opened.contains(&"webhook:tickets-only".to_owned()));
    // Nothing configured: no route.
    assert!(
        routes(
            &event(EventKind::TicketOpened),
            &directory,
            &NotifyConfig::default()
        )
        .is_empty()
    );
}

fn routes_of(kind: EventKind, config: &NotifyConfig) -> Vec<String> {
    routes(&event(kind), &Directory::default(), config)
        .into_iter()
        .map(|r| r.channel)
        .collect()
}

#[test]
fn the_payload_has_a_text_with_the_link() {
    let delivery = Delivery::new(
        event(EventKind::TicketAssigned),
        Route {
            channel: "command".into(),
            address: String::new(),
            people: vec!["bob".into()],
        },
        crate::derive::fixture::at("2026-12-01"),
    );
    let json: serde_json::Value =
        serde_json::from_slice(&Payload::of(&delivery, Some("https://ops.example.org/")).to_json())
            .unwrap();
    assert_eq!(json["url"], "https://ops.example.org/tickets/t1.html");
    assert!(
        json["text"]
            .as_str()
            .unwrap()
            .ends_with("https://ops.example.org/tickets/t1.html")
    );
    assert_eq!(json["kind"], "ticket_assigned");
    assert_eq!(json["recipients"][0], "bob");
}

#[test]
fn a_command_gets_the_json_and_its_failure_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("got.json");
    let argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        format!("cat > '{}'", out.display()),
    ];
    command::run(&argv, b"{\"id\":\"e1\"}", command::TIMEOUT).unwrap();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "{\"id\":\"e1\"}");
    let failing = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        "echo oops >&2; exit 3".to_owned(),
    ];
    let err = command::run(&failing, b"", command::TIMEOUT).unwrap_err();
    assert!(err.contains("oops"), "{err}");
    let slow = vec!["sleep".to_owned(), "5".to_owned()];
    let err = command::run(&slow, b"", std::time::Duration::from_millis(100)).unwrap_err();
    assert!(err.contains("killed"), "{err}");
}

#[test]
fn a_title_with_line_breaks_cannot_add_mail_headers() {
    let mut injected = event(EventKind::TicketOpened);
    injected.title = "Disk full\r\nBcc: attacker@example.net\nX-Evil: 1".into();
    let mail = email::message(
        &injected,
        "glassroom@example.org",
        "alice@example.org",
        Some("https://ops.example.org"),
    )
    .unwrap();
    let text = String::from_utf8(mail.formatted()).unwrap();
    let head = text.split("\r\n\r\n").next().unwrap();
    let names: Vec<&str> = head
        .split("\r\n")
        .filter(|line| !line.starts_with([' ', '\t']))
        .filter_map(|line| line.split_once(':').map(|(name, _)| name))
        .collect();
    assert!(
        !names.iter().any(|n| n.eq_ignore_ascii_case("bcc")),
        "{head}"
    );
    assert!(
        !names.iter().any(|n| n.eq_ignore_ascii_case("x-evil")),
        "{head}"
    );
    assert_eq!(
        names.iter().filter(|n| **n == "Subject").count(),
        1,
        "{head}"
    );
    assert_eq!(mail.envelope().to().len(), 1, "only alice gets it");
}
