//! The email channel: one plain-text mail per event and address over SMTP (`lettre`),
//! STARTTLS, TLS or (for a relay on the same machine) none, with credentials read from
//! the environment variables the configuration names.
//!
//! The `Message-ID` is made from the event's stable id and the address, so a mail sent
//! again after a crash in the moment between the server's acceptance and the outbox's
//! record of it is recognisably the same message (and threads with it).

use std::time::Duration;

use lettre::Transport;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::SmtpTransport;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};

use super::link;
use crate::content::{EmailConfig, EmailSecurity};
use crate::notify::events::Event;

pub const TIMEOUT: Duration = Duration::from_secs(30);

/// The mail telling `to` of `event`.
pub fn message(
    event: &Event,
    from: &str,
    to: &str,
    base_url: Option<&str>,
) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|err| format!("notify.email.from `{from}` is not a mail address: {err}"))?;
    let to: Mailbox = to
        .parse()
        .map_err(|err| format!("`{to}` is not a mail address: {err}"))?;
    let domain = from.email.domain().to_owned();
    let recipient = blake3::hash(to.email.to_string().as_bytes()).to_hex();
    let body = format!(
        "{}\n\n{}\n\n{}\n\n-- \nglassroom, event {} ({})\n",
        event.title,
        event.text,
        link(base_url, &event.page),
        event.id,
        event.kind.name(),
    );
    Message::builder()
        .from(from)
        .to(to)
        .subject(format!("[glassroom] {}", event.title))
        .message_id(Some(format!(
            "<{}.{}@{domain}>",
            event.id,
            &recipient.as_str()[..16]
        )))
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|err| format!("cannot make the mail: {err}"))
}

/// The port used when the configuration names none.
pub fn default_port(security: EmailSecurity) -> u16 {
    match security {
        EmailSecurity::Starttls => 587,
        EmailSecurity::Tls => 465,
        EmailSecurity::None => 25,
    }
}

/// Sends `event` to `to` through the server of `config`.
pub fn send(
    config: &EmailConfig,
    event: &Event,
    to: &str,
    base_url: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let mail = message(event, config.from.as_str(), to, base_url)?;
    let host = config.host.as_str();
    let port = config.port.unwrap_or_else(|| default_port(config.security));
    let tls = || {
        TlsParameters::new(host.to_owned())
            .map_err(|err| format!("cannot set up TLS for {host}: {err}"))
    };
    let tls = match config.security {
        EmailSecurity::Starttls => Tls::Required(tls()?),
        EmailSecurity::Tls => Tls::Wrapper(tls()?),
        EmailSecurity::None => Tls::None,
    };
    let mut transport = SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(TIMEOUT));
    if let Some(credentials) = credentials(config, env)? {
        transport = transport.credentials(credentials);
    }
    transport
        .build()
        .send(&mail)
        .map(|_| ())
        .map_err(|err| format!("SMTP {host}:{port}: {err}"))
}

/// The user name and password from the environment, when the configuration names them.
fn credentials(
    config: &EmailConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Credentials>, String> {
    let read = |var: &str, field: &str| {
        env(var).ok_or_else(|| {
            format!("the environment variable {var} (notify.email.{field}) is not set")
        })
    };
    match (&config.username_env, &config.password_env) {
        (None, None) => Ok(None),
        (Some(user), Some(password)) => Ok(Some(Credentials::new(
            read(user, "username_env")?,
            read(password, "password_env")?,
        ))),
        _ => Err("notify.email needs both username_env and password_env, or neither".to_owned()),
    }
}
