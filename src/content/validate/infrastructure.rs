//! Checks of the infrastructure: hosts, certificates, sites and their services.

use std::collections::BTreeSet;

use super::super::kind::Kind;
use super::super::model::*;
use super::super::{Content, Document};
use super::refs::{Ids, find};
use crate::diag::Diagnostic;
use crate::suggest::suggest;

pub(super) fn check_host(
    host: &Document<Host>,
    content: &Content,
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    for address in &host.data.addresses {
        if address.parse::<std::net::IpAddr>().is_err() {
            out.push(
                Diagnostic::error("invalid-address", format!("`{address}` is not an IP address"))
                    .at(host.origin.at_value(address))
                    .with_help("list IPv4 or IPv6 addresses, like `192.0.2.10` or `2001:db8::10`; put the DNS name in `name`"),
            );
        }
    }
    if let Some(ssh) = &host.data.ssh
        && let Err(invalid) = crate::content::ssh::Destination::parse(ssh.as_str())
    {
        out.push(
            Diagnostic::error("invalid-ssh-destination", format!("`ssh`: {invalid}"))
                .at(host.origin.at_value(ssh))
                .with_help("write `[user@]host[:port]`, like `deploy@db1.example.org:22` or `deploy@[2001:db8::5]:22`; an alias of your ssh_config works too"),
        );
    }
    for service in &host.data.services {
        ids.check(host.origin, service, Kind::Service, out);
        let runs_here = find(&content.services, service.as_str())
            .is_none_or(|s| s.data.hosts.iter().any(|h| h.as_str() == host.id));
        if !runs_here {
            out.push(
                Diagnostic::error(
                    "inconsistent-reference",
                    format!(
                        "host lists service `{service}`, but that service does not list host `{}`",
                        host.id
                    ),
                )
                .at(host.origin.at_value(service))
                .with_help(format!(
                    "add `{}` to `hosts` in services/{service}.yaml, or remove it here",
                    host.id
                )),
            );
        }
    }
}

pub(super) fn check_certificate(
    cert: &Document<Certificate>,
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    for host in &cert.data.hosts {
        ids.check(cert.origin, host, Kind::Host, out);
    }
    if let Some(procedure) = &cert.data.renewal_procedure {
        ids.check(cert.origin, procedure, Kind::Procedure, out);
    }
    if let Some(before) = &cert.data.not_before
        && before.value >= cert.data.not_after.value
    {
        out.push(
            Diagnostic::error(
                "impossible-date",
                format!(
                    "`not_after` ({}) is not after `not_before` ({})",
                    cert.data.not_after.value, before.value
                ),
            )
            .at(cert.origin.at_value(&cert.data.not_after)),
        );
    }
}

pub(super) fn check_site(site: &Document<Site>, out: &mut Vec<Diagnostic>) {
    let data = &site.data;
    if data.update.value == UpdateStrategy::Rolling && data.tier_order.is_empty() {
        out.push(
            Diagnostic::error("missing-tiers", "a rolling site needs `tier_order`")
                .at(site.origin.at_value(&data.update))
                .with_help("list the tiers in update order, e.g. `tier_order: [db, app, web]`"),
        );
    }
    let mut seen = BTreeSet::new();
    for tier in &data.tier_order {
        if !seen.insert(tier.as_str()) {
            out.push(
                Diagnostic::error("duplicate-id", format!("tier `{tier}` is listed twice"))
                    .at(site.origin.at_value(tier)),
            );
        }
    }
}

pub(super) fn check_service(
    service: &Document<Service>,
    content: &Content,
    ids: &Ids<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let data = &service.data;
    ids.check(service.origin, &data.site, Kind::Site, out);
    for host in &data.hosts {
        ids.check(service.origin, host, Kind::Host, out);
    }
    let Some(site) = find(&content.sites, data.site.as_str()) else {
        return;
    };
    if *site.data.runnable.get() {
        check_runnable(service, site, content, out);
    }
    if site.data.update.value != UpdateStrategy::Rolling {
        return;
    }
    match &data.tier {
        None => out.push(
            Diagnostic::error(
                "missing-tier",
                format!(
                    "site `{}` updates rolling by tier; this service has no `tier`",
                    site.id
                ),
            )
            .at(service.origin.at_value(&data.site))
            .with_help(format!(
                "add `tier:` with one of: {}",
                site.data
                    .tier_order
                    .iter()
                    .map(|t| t.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        ),
        Some(tier)
            if !site
                .data
                .tier_order
                .iter()
                .any(|t| t.as_str() == tier.as_str()) =>
        {
            let tiers = site.data.tier_order.iter().map(|t| t.as_str());
            let help = match suggest(tier, tiers.clone()) {
                Some(near) => format!("did you mean `{near}`?"),
                None => format!(
                    "site `{}` has the tiers: {}",
                    site.id,
                    tiers.collect::<Vec<_>>().join(", ")
                ),
            };
            out.push(
                Diagnostic::error(
                    "unknown-reference",
                    format!("unknown tier `{tier}` of site `{}`", site.id),
                )
                .at(service.origin.at_value(tier))
                .with_help(help),
            );
        }
        Some(_) => {}
    }
}

/// A service of a runnable site: `glassroom run` needs a command for every action (an
/// update runs all five), and a destination for every host.
fn check_runnable(
    service: &Document<Service>,
    site: &Document<Site>,
    content: &Content,
    out: &mut Vec<Diagnostic>,
) {
    let commands = &service.data.commands;
    let missing: Vec<&str> = [
        ("stop", &commands.stop),
        ("start", &commands.start),
        ("status", &commands.status),
        ("install", &commands.install),
        ("configure", &commands.configure),
    ]
    .into_iter()
    .filter(|(_, command)| command.as_deref().is_none_or(|c| c.trim().is_empty()))
    .map(|(action, _)| action)
    .collect();
    if !missing.is_empty() {
        out.push(
            Diagnostic::error(
                "missing-command",
                format!(
                    "site `{}` is runnable (`glassroom run`), but this service has no command to {}",
                    site.id,
                    missing.join(", ")
                ),
            )
            .at(service.origin.at_value(&service.data.site))
            .with_help(format!(
                "add them under `commands:` (e.g. `{}: systemctl {} <unit>`; `true` for a step with nothing to do), or remove `runnable: true` from sites/{}.yaml",
                missing[0], missing[0], site.id
            )),
        );
    }
    for host in &service.data.hosts {
        let Some(doc) = find(&content.hosts, host.as_str()) else {
            continue;
        };
        if doc.data.ssh.is_none()
            && let Err(invalid) = doc.data.destination(&doc.id)
        {
            out.push(
                Diagnostic::error(
                    "invalid-ssh-destination",
                    format!(
                        "host `{}` has no `ssh:` and its name cannot be one: {invalid}",
                        doc.id
                    ),
                )
                .at(service.origin.at_value(host))
                .with_help(format!(
                    "add `ssh: [user@]host[:port]` to hosts/{}.yaml",
                    doc.id
                )),
            );
        }
    }
}
