//! The channels a delivery goes over: email (SMTP), webhooks (a JSON POST) and a command
//! (the event's JSON on its standard input). Which deliveries an event makes is
//! [`routes`] (pure).

pub mod command;
pub mod email;
pub mod webhook;

use serde::Serialize;

use super::events::{Event, EventKind};
use super::outbox::{Delivery, Route};
use super::recipients::Directory;
use crate::content::NotifyConfig;

/// The routes of `event`: one email per address (the people it concerns who have one,
/// then `email.to`), one per webhook whose `kinds` take it, one for the command.
pub fn routes(event: &Event, directory: &Directory, config: &NotifyConfig) -> Vec<Route> {
    let people = directory.recipients(event);
    let mut routes: Vec<Route> = Vec::new();
    if let Some(email) = &config.email {
        for id in &people {
            if let Some(address) = directory.email(id) {
                add_email(&mut routes, address, Some(id));
            }
        }
        for address in &email.to {
            add_email(&mut routes, address.as_str(), None);
        }
    }
    for hook in &config.webhooks {
        let takes = hook.kinds.is_empty()
            || hook
                .kinds
                .iter()
                .any(|k| EventKind::from_name(k.as_str()) == Some(event.kind));
        if takes {
            routes.push(Route {
                channel: format!("webhook:{}", hook.name.as_str()),
                address: String::new(),
                people: people.clone(),
            });
        }
    }
    if config.command.is_some() {
        routes.push(Route {
            channel: "command".into(),
            address: String::new(),
            people: people.clone(),
        });
    }
    routes
}

fn add_email(routes: &mut Vec<Route>, address: &str, person: Option<&String>) {
    match routes
        .iter_mut()
        .find(|r| r.channel == "email" && r.address == address)
    {
        Some(route) => route.people.extend(person.cloned()),
        None => routes.push(Route {
            channel: "email".into(),
            address: address.to_owned(),
            people: person.cloned().into_iter().collect(),
        }),
    }
}

/// The absolute link to `page` on the site at `base_url` (relative without one).
pub fn link(base_url: Option<&str>, page: &str) -> String {
    match base_url {
        Some(base) => format!("{}/{page}", base.trim_end_matches('/')),
        None => page.to_owned(),
    }
}

/// What webhooks and commands receive.
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    /// Title, text and link: what Slack and Mattermost incoming webhooks show.
    pub text: String,
    pub id: &'a str,
    pub kind: &'static str,
    pub subject: String,
    pub title: &'a str,
    pub url: String,
    /// The ids of the people the event concerns.
    pub recipients: &'a [String],
    pub event: &'a Event,
}

impl<'a> Payload<'a> {
    pub fn of(delivery: &'a Delivery, base_url: Option<&str>) -> Self {
        let event = &delivery.event;
        let url = link(base_url, &event.page);
        Payload {
            text: format!("{}\n{}\n{url}", event.title, event.text),
            id: &event.id,
            kind: event.kind.name(),
            subject: event.subject.key(),
            title: &event.title,
            url,
            recipients: &delivery.route.people,
            event,
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Sends one delivery: `Ok` once the channel took it.
pub fn send(
    delivery: &Delivery,
    config: &NotifyConfig,
    base_url: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let body = Payload::of(delivery, base_url).to_json();
    let channel = delivery.route.channel.as_str();
    if channel == "command" {
        let argv = config
            .command
            .as_ref()
            .ok_or("the command is no longer configured")?;
        return command::run(argv, &body, command::TIMEOUT);
    }
    if let Some(name) = channel.strip_prefix("webhook:") {
        let hook = config
            .webhooks
            .iter()
            .find(|h| h.name.as_str() == name)
            .ok_or_else(|| format!("webhook {name} is no longer configured"))?;
        let secret = match &hook.secret_env {
            Some(var) => Some(env(var).ok_or_else(|| {
                format!("the environment variable {var} (secret_env of webhook {name}) is not set")
            })?),
            None => None,
        };
        return webhook::post(
            hook.url.as_str(),
            &body,
            &delivery.event.id,
            secret.as_deref(),
            webhook::TIMEOUT,
        );
    }
    if channel == "email" {
        let email = config
            .email
            .as_ref()
            .ok_or("notify.email is no longer configured")?;
        return email::send(
            email,
            &delivery.event,
            &delivery.route.address,
            base_url,
            env,
        );
    }
    Err(format!("unknown channel {channel}"))
}

#[cfg(test)]
mod tests;
