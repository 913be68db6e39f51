//! Notifications by email to a real SMTP server (Debian's `python3-aiosmtpd`, started
//! here on 127.0.0.1 on a free port): who receives what for each kind of event, one mail
//! per crossing of a certificate's critical window with no commit, and exactly once when
//! `glassroom notify` is killed in the middle of delivering and run again.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{GitRepo, root};
use crate::sync::example;

/// An SMTP server appending each accepted mail to a JSON-lines mailbox.
struct MailServer {
    child: Child,
    port: u16,
    mailbox: PathBuf,
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's python, where `python3-aiosmtpd` is installed (not a python of its own
/// that may come first on the PATH).
fn python() -> &'static str {
    if Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

impl MailServer {
    /// Starts the server; with `delay`, each RCPT is answered after it.
    fn start(dir: &Path, delay: Option<f64>) -> MailServer {
        let mailbox = dir.join("mailbox.jsonl");
        let mut command = Command::new(python());
        command
            .arg(root().join("tests/support/smtpd.py"))
            .arg(&mailbox)
            .stdout(Stdio::piped());
        if let Some(delay) = delay {
            command.arg(delay.to_string());
        }
        let mut child = command
            .spawn()
            .expect("python3 with aiosmtpd (Debian: python3-aiosmtpd; .ci/run installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("smtpd.py printed {line:?}, not a port (is aiosmtpd installed?)")
        });
        MailServer {
            child,
            port,
            mailbox,
        }
    }

    fn mails(&self) -> Vec<Mail> {
        std::fs::read_to_string(&self.mailbox)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            // The last line may be half written while the server writes it.
            .filter_map(|l| serde_json::from_str(l).ok())
            .map(|json| Mail::of(&json))
            .collect()
    }
}

fn quoted_printable(text: &str) -> String {
    let text = text.replace("=\n", "");
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'=', Some(hex)) => {
                let hex = std::str::from_utf8(hex).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

#[derive(Debug, Clone)]
struct Mail {
    to: Vec<String>,
    subject: String,
    message_id: String,
    body: String,
}

impl Mail {
    fn of(json: &serde_json::Value) -> Mail {
        let data = json["data"].as_str().unwrap().replace("\r\n", "\n");
        let (head, body) = data.split_once("\n\n").unwrap();
        // Unfold headers; decode the quoted-printable body (soft breaks, `=XX`).
        let head = head.replace("\n ", " ");
        let body = quoted_printable(body);
        let header = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name))
                .unwrap_or_default()
                .trim()
                .to_owned()
        };
        Mail {
            to: json["to"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_owned())
                .collect(),
            subject: header("Subject:"),
            message_id: header("Message-ID:"),
            body,
        }
    }
}

/// The example with mail going to `port` (and, with `team`, every event to the team's
/// list).
fn repo_mailing(port: u16, team: bool) -> GitRepo {
    let repo = example("");
    let config = std::fs::read_to_string(repo.path().join("glassroom.yaml")).unwrap();
    let to = if team { "[ops-log@example.org]" } else { "[]" };
    repo.write(
        "glassroom.yaml",
        &format!(
            "{config}\nnotify:\n  email:\n    host: 127.0.0.1\n    port: {port}\n    security: none\n    from: glassroom@ops.example.org\n    to: {to}\n  retry: {{ first: 1m, max: 10m, give_up: 1d }}\n"
        ),
    );
    repo.commit("Mail notifications", Some("alice"));
    repo
}

fn notify(repo: &GitRepo, now: &str) -> crate::support::Run {
    let run: crate::support::Run = crate::support::glassroom()
        .args(["notify", "--once", repo.path_str(), "--now", now])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap()
        .into();
    assert_eq!(run.code, Some(0), "{run:#?}");
    run
}

/// A high-priority bug on the web frontend, reported by carol, assigned to bob.
const TICKET: &str = "---\ntitle: \"Checkout times out\"\nkind: bug\nmodule: web-frontend\npriority: high\nstatus: open\nreporter: carol\nassignee: bob\nopened: 2026-11-19T13:00:00Z\n---\nIt times out.\n";

/// The mails whose subject contains `what`, as (sorted recipients, mail).
fn about<'m>(mails: &'m [Mail], what: &str) -> Vec<&'m Mail> {
    mails.iter().filter(|m| m.subject.contains(what)).collect()
}

fn recipients(mails: &[&Mail]) -> Vec<String> {
    let mut to: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    to.sort();
    to
}

#[test]
fn each_kind_of_event_mails_the_people_it_concerns() {
    let dir = tempfile::tempdir().unwrap();
    let server = MailServer::start(dir.path(), None);
    let repo = repo_mailing(server.port, true);
    let now = "2026-11-20T12:00:00Z";
    notify(&repo, now);
    assert!(server.mails().is_empty(), "the first run mails no one");

    // An unsigned ticket mails no one.
    repo.write("tickets/checkout-timeout.md", TICKET);
    repo.commit("Unsigned ticket", None);
    notify(&repo, now);
    assert!(server.mails().is_empty(), "{:#?}", server.mails());

    // Signed: opened (followers of high tickets and of the module, and the team list),
    // assigned (bob, the assignee, and the same followers).
    repo.write(
        "tickets/checkout-timeout.md",
        &TICKET.replace("It times", "It still times"),
    );
    repo.commit("Sign the ticket", Some("alice"));
    notify(&repo, now);
    let mails = server.mails();
    let opened = about(&mails, "opened");
    assert_eq!(
        recipients(&opened),
        [
            "bob@example.org",
            "carol@example.org",
            "dave@example.org",
            "ops-log@example.org"
        ],
        "{mails:#?}"
    );
    for mail in &mails {
        assert_eq!(mail.to.len(), 1, "one mail per address: {mail:#?}");
        assert!(mail.subject.starts_with("[glassroom] "), "{mail:#?}");
        assert!(mail.subject.contains("Checkout times out"), "{mail:#?}");
        assert!(
            mail.body
                .contains("https://ops.example.org/tickets/checkout-timeout.html"),
            "{mail:#?}"
        );
    }
    let assigned = about(&mails, "assigned to bob");
    assert!(
        recipients(&assigned).contains(&"bob@example.org".to_owned()),
        "{mails:#?}"
    );
    // A high-priority open bug is an alert too: raised, to the same followers.
    let raised = about(&mails, "[warning]");
    assert!(
        recipients(&raised).contains(&"carol@example.org".to_owned()),
        "{mails:#?}"
    );
    let ids: std::collections::BTreeSet<&str> =
        mails.iter().map(|m| m.message_id.as_str()).collect();
    assert_eq!(ids.len(), mails.len(), "every mail has its own Message-ID");
    let sent = mails.len();

    // Fixed in a release: the reporter is told, with the release.
    repo.write(
        "tickets/checkout-timeout.md",
        &TICKET
            .replace(
                "status: open",
                "status: closed\nclosed: 2026-11-20T11:00:00Z\nfixed_in: web-frontend-3.0",
            )
            .replace("It times", "It still times"),
    );
    repo.commit("Fixed", Some("alice"));
    notify(&repo, now);
    let mails = server.mails();
    let fixed = about(&mails[sent..], "fixed");
    assert!(
        recipients(&fixed).contains(&"carol@example.org".to_owned()),
        "{mails:#?}"
    );
    assert!(
        fixed.iter().all(|m| m.body.contains("web-frontend-3.0")),
        "{fixed:#?}"
    );
    let sent = mails.len();

    // A problem on a procedure: its subscriber (bob follows verify-backup-tape).
    repo.write(
        "logbook/2026/11/2026-11-20-verify-backup-tape-problem.md",
        "---\nat: 2026-11-20T02:40:00Z\nby: alice\nprocedure: verify-backup-tape\ndisposition: problem\n---\nTape EC1120L8 unreadable.\n",
    );
    // News: the team list.
    repo.write(
        "news/2026-11-20-new-racks.md",
        "---\ntitle: New racks in hall B\ndate: 2026-11-20T10:00:00Z\nauthor: alice\n---\nTwo racks.\n",
    );
    repo.commit("Problem and news", Some("alice"));
    notify(&repo, now);
    let mails = server.mails();
    let new = &mails[sent..];
    let problem: Vec<&Mail> = new
        .iter()
        .filter(|m| m.body.contains("Tape EC1120L8 unreadable"))
        .collect();
    assert_eq!(
        recipients(&problem),
        ["bob@example.org", "ops-log@example.org"],
        "{new:#?}"
    );
    let news = about(new, "New racks in hall B");
    assert_eq!(recipients(&news), ["ops-log@example.org"], "{new:#?}");

    // Nothing changed: nothing more.
    let before = server.mails().len();
    notify(&repo, now);
    assert_eq!(server.mails().len(), before);
}

#[test]
fn a_certificate_crossing_its_critical_window_mails_once_without_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let server = MailServer::start(dir.path(), None);
    let repo = repo_mailing(server.port, false);
    // intranet-example-org expires on 2026-12-10: critical from 2026-12-03. alice
    // follows every certificate.
    notify(&repo, "2026-12-02T12:00:00Z");
    notify(&repo, "2026-12-03T12:00:00Z");
    notify(&repo, "2026-12-03T13:00:00Z");
    notify(&repo, "2026-12-04T13:00:00Z");
    let mails = server.mails();
    let about: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.body.contains("certificates/intranet-example-org.html"))
        .collect();
    // alice follows certificates; critical alerts also go to the first escalation
    // level (alice, bob): one mail each, once.
    assert_eq!(
        recipients(&about),
        ["alice@example.org", "bob@example.org"],
        "{mails:#?}"
    );
    assert!(
        about.iter().all(|m| m.subject.contains("[critical]")),
        "{about:#?}"
    );
    let sent = mails.len();

    // Acknowledged: the certificate's followers are told who took it.
    repo.write(
        "logbook/2026/12/2026-12-04-intranet-cert-ack.md",
        "---\nat: 2026-12-04T14:00:00Z\nby: alice\nabout: certificate/intranet-example-org\ndisposition: acknowledged\n---\nRenewing today.\n",
    );
    repo.commit("Ack", Some("alice"));
    notify(&repo, "2026-12-04T15:00:00Z");
    let mails = server.mails();
    let acknowledged = about_subject(&mails[sent..], "Acknowledged by alice");
    assert_eq!(
        recipients(&acknowledged),
        ["alice@example.org"],
        "{mails:#?}"
    );
    let sent = mails.len();

    // Renewed: the alert clears, and its followers are told.
    let path = "certificates/intranet-example-org.yaml";
    let renewed = std::fs::read_to_string(repo.path().join(path))
        .unwrap()
        .replace("not_after: 2026-12-10", "not_after: 2027-12-10");
    repo.write(path, &renewed);
    repo.commit("Renewed", Some("alice"));
    notify(&repo, "2026-12-04T16:00:00Z");
    let mails = server.mails();
    let cleared = about_subject(&mails[sent..], "Cleared:");
    assert_eq!(recipients(&cleared), ["alice@example.org"], "{mails:#?}");
    assert!(
        cleared[0]
            .body
            .contains("https://ops.example.org/certificates/intranet-example-org.html"),
        "{cleared:#?}"
    );
}

fn about_subject<'m>(mails: &'m [Mail], what: &str) -> Vec<&'m Mail> {
    about(mails, what)
}

#[test]
fn killed_while_mailing_and_run_again_every_mail_arrives_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // Each RCPT takes 0.4 s, so a kill lands in the middle of a session, before the
    // server has accepted that mail.
    let server = MailServer::start(dir.path(), Some(0.4));
    let repo = repo_mailing(server.port, true);
    let now = "2026-11-20T12:00:00Z";
    notify(&repo, now);
    repo.write("tickets/checkout-timeout.md", TICKET);
    repo.commit("Ticket", Some("alice"));

    let mut killed = 0;
    for round in 0..20 {
        let mut child = crate::support::glassroom()
            .args(["notify", "--once", repo.path_str(), "--now", now])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Let one or two more mails through, then kill it in the middle of the next
        // session: 150 ms into the next mail's first 400 ms RCPT, after the previous
        // one's record is stored. (Killed in the few milliseconds between the server's
        // acceptance of a mail and the outbox's record of it, the mail is sent again on
        // the next run with the same Message-ID: docs/notify.md says so.)
        let before = server.mails().len();
        let started = Instant::now();
        while server.mails().len() < before + 1 + round % 2
            && started.elapsed() < Duration::from_secs(20)
        {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(150));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        killed += 1;
    }
    assert!(
        killed >= 2,
        "the run was killed in the middle at least twice"
    );
    notify(&repo, now);
    let mails = server.mails();
    let mut seen = std::collections::BTreeMap::new();
    for mail in &mails {
        *seen
            .entry((mail.message_id.clone(), mail.to.clone()))
            .or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:#?}");
    // Every delivery the outbox planned was sent.
    let status = crate::support::glassroom()
        .args(["notify", "--status", repo.path_str(), "--format", "json"])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["counts"]["pending"], 0, "{status:#?}");
    assert_eq!(
        status["counts"]["sent"].as_u64().unwrap() as usize,
        mails.len(),
        "{status:#?}"
    );
}

#[test]
fn sync_watch_notifies_beside_its_syncs() {
    use crate::sync::{Watcher, wait_until};
    let dir = tempfile::tempdir().unwrap();
    let server = MailServer::start(dir.path(), None);
    let repo = repo_mailing(server.port, false);
    let mut watcher = Watcher::start(
        &repo,
        &["--notify-every", "1"],
        dir.path().join("watch.out"),
    );
    let context = || format!("{}\n{:#?}", watcher.output(), server.mails());
    wait_until(
        "the first notification run",
        Duration::from_secs(30),
        || watcher.output().contains("notify: first run"),
        context,
    );
    repo.write("tickets/checkout-timeout.md", TICKET);
    repo.commit("Ticket", Some("alice"));
    wait_until(
        "the ticket's mails",
        Duration::from_secs(30),
        || !about(&server.mails(), "assigned to bob").is_empty(),
        context,
    );
    watcher.kill();
    let mails = server.mails();
    let assigned = about(&mails, "assigned to bob");
    assert!(
        recipients(&assigned).contains(&"bob@example.org".to_owned()),
        "{mails:#?}"
    );
}
