//! The files `glassroom init` writes, as text: pure (who the user is, their key and the
//! moment are arguments), so that what a new repository holds is tested without a disk.
//!
//! The examples are one small, consistent operation: a site `main` with a service `web`
//! on a host `web1`, its certificate and domain, a module `website` and its first release,
//! a procedure `renew-certificates` and a logbook entry doing it, a ticket, a feature flag
//! with an account set and an override, a news item, the user as a person, and `info.md`
//! naming them on call. Every reference resolves, so `glassroom check` reports nothing.

use crate::content::types::Moment;

/// The user a new repository is made for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The policy user id and person id (`alice`).
    pub id: String,
    /// A display name (`Alice Martin`).
    pub name: String,
    /// An email address, when one is known.
    pub email: Option<String>,
}

impl Identity {
    /// The user from git's `user.name` and `user.email`, else the login name (`$USER`).
    /// The id is the email's local part, else the name, else the login, made a valid id
    /// (lowercase letters, digits, `.`, `_`, `-`, starting with a letter or digit);
    /// `admin` when none of them gives one.
    pub fn derive(name: Option<&str>, email: Option<&str>, login: Option<&str>) -> Identity {
        fn clean(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        let (name, email, login) = (clean(name), clean(email), clean(login));
        let local = email
            .and_then(|e| e.split_once('@'))
            .map(|(local, _)| local);
        let id = [local, name, login]
            .into_iter()
            .flatten()
            .map(slug)
            .find(|id| !id.is_empty())
            .unwrap_or_else(|| "admin".to_owned());
        Identity {
            name: name.or(login).unwrap_or(&id).to_owned(),
            email: email.filter(|e| e.contains('@')).map(str::to_owned),
            id,
        }
    }
}

/// `text` as an id: ASCII letters lowercased, digits, `.`, `_` and `-` kept, anything
/// else a `-`; runs of `-` collapsed; starting with a letter or digit, ending with one.
pub fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        let c = match c {
            'a'..='z' | '0'..='9' | '.' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    out.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// `text` as a YAML scalar that reads back as exactly `text` (a JSON string is a YAML
/// double-quoted scalar).
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// One file to write: its path in the repository and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub path: String,
    pub text: String,
}

fn file(path: impl Into<String>, text: impl Into<String>) -> File {
    File {
        path: path.into(),
        text: text.into(),
    }
}

/// What `glassroom init` writes into a new repository.
pub struct Plan<'a> {
    pub identity: &'a Identity,
    /// The user's SSH public key (`ssh-ed25519 AAAA... comment`), if they have one.
    pub key: Option<&'a str>,
    /// The repository's title.
    pub title: &'a str,
    /// When the examples happen.
    pub now: Moment,
    /// Configuration and policy only.
    pub bare: bool,
}

impl Plan<'_> {
    /// Every file, configuration first.
    pub fn files(&self) -> Vec<File> {
        let mut files = vec![
            file(crate::content::CONFIG_PATH, self.config()),
            file(crate::trust::policy::POLICY_PATH, self.policy()),
            file(".gitignore", GITIGNORE),
        ];
        if !self.bare {
            files.extend(self.examples());
        }
        files
    }

    fn config(&self) -> String {
        format!(
            "# Site configuration (docs/content.md): the title, where the site is published,
# when certificates and domains raise alerts, and where `glassroom sync` publishes.
title: {}
theme: default
# base_url: https://ops.example.org/

alerts:
  certificates: {{ warn: 30d, critical: 7d }}
  domains: {{ warn: 60d, critical: 14d }}

sync:
  quiet: 5m
  max_delay: 60m
  targets: []
  # - name: production
  #   dir: /srv/www/ops
  #   keep: 5
",
            quote(self.title)
        )
    }

    fn policy(&self) -> String {
        let user = self.identity;
        let mut text = String::from(
            "# Who may sign what (docs/trust.md). Roles are cumulative: admin > sign > review > view > none.
# The nearest grant on a path wins for a user; otherwise the best of their groups.
users:
",
        );
        text.push_str(&format!(
            "  {}:\n    name: {}\n",
            user.id,
            quote(&user.name)
        ));
        if let Some(email) = &user.email {
            text.push_str(&format!("    email: {}\n", quote(email)));
        }
        match self.key {
            Some(key) => text.push_str(&format!("    keys: [{}]\n", quote(key.trim()))),
            None => text.push_str(
                "    # No SSH signing key was found when this repository was made: add yours
    # (the line of ~/.ssh/id_ed25519.pub) and see docs/init.md.
    keys: []\n",
            ),
        }
        text.push_str(&format!(
            "
groups:
  ops: [{id}]

grants:                            # path -> principal (user or group) -> role
  /: {{ {id}: admin, ops: sign }}

# The logbook publishes unsigned entries (robots, `glassroom log`) and is never rewritten.
pre_approved: [\"logbook/**\"]
append_only: [\"logbook/**\"]
",
            id = user.id
        ));
        text
    }

    fn examples(&self) -> Vec<File> {
        let user = &self.identity.id;
        let now = self.now;
        let today = now.date();
        let later = |days: i64| {
            today
                .0
                .checked_add(jiff::Span::new().days(days))
                .map_or_else(|_| today.to_string(), |d| d.to_string())
        };
        let stamp = now.0.to_zoned(jiff::tz::TimeZone::UTC);
        let entry_id = format!(
            "{today}-{:02}{:02}{:02}-renew-certificates",
            stamp.hour(),
            stamp.minute(),
            stamp.second()
        );
        let entry = format!(
            "{}/{entry_id}.md",
            crate::content::logbook::month_folder(now)
        );
        let mut person = format!(
            "# A person: how to reach them and what they follow. The id (the file name) is the
# name owners, tickets and logbook entries write, and the policy user of that name.
name: {}\n",
            quote(&self.identity.name)
        );
        if let Some(email) = &self.identity.email {
            person.push_str(&format!("email: {}\n", quote(email)));
        }
        person.push_str("team: Operations\nsubscribe:\n  - certificate:*\n  - site:main\n");
        vec![
            file(
                "hosts/web1.yaml",
                format!(
                    "name: web1.example.org
description: The web server of the main site.
addresses: [192.0.2.10]
os: Debian 12 (bookworm)
location: Rack A1
owner: {user}
services: [web]
tags: [web]
"
                ),
            ),
            file(
                "sites/main.yaml",
                "title: Main site
description: The public website.
update: all-at-once
",
            ),
            file(
                "services/web.yaml",
                "name: Web server
site: main
hosts: [web1]
startup_rank: 10
commands:
  start: systemctl start nginx
  stop: systemctl stop nginx
  status: systemctl is-active nginx
  install: apt-get install -y nginx
  configure: systemctl reload nginx
",
            ),
            file(
                "certificates/web1-example-org.yaml",
                format!(
                    "common_name: web1.example.org
alt_names: [web1.example.org, www.example.org]
issuer: Let's Encrypt
not_after: {}
hosts: [web1]
renewal_procedure: renew-certificates
",
                    later(90)
                ),
            ),
            file(
                "domains/example-org.yaml",
                format!(
                    "domain_name: example.org
registrar: Example Registrar
expires: {}
last_paid: {today}
by_whom_paid: {user}
auto_renew: true
",
                    later(365)
                ),
            ),
            file(
                "modules/website.yaml",
                format!(
                    "name: Website
kind: custom
description: The public website served by web1.
owners: [{user}]
current_version: \"1.0.0\"
"
                ),
            ),
            file(
                "releases/website-1.0.0.yaml",
                format!(
                    "module: website
version: \"1.0.0\"
status: released
actual: {today}
notes: The first release.
"
                ),
            ),
            file(
                "procedures/renew-certificates.md",
                format!(
                    "---
title: Renew certificates
every: 30d
grace: 7d
owner: {user}
---
1. List the certificates expiring within 30 days (the dashboard shows them).
2. Renew each with certbot on its host and reload the web server.
3. Update `not_after` in `certificates/<id>.yaml`.
4. Log it: `glassroom log renew-certificates --by {user} --disposition ok`.
"
                ),
            ),
            file(
                entry,
                format!(
                    "---
at: {now}
by: {user}
procedure: renew-certificates
disposition: ok
---
Checked every certificate; none needed renewing yet.
"
                ),
            ),
            file(
                "tickets/t-1.md",
                format!(
                    "---
title: Add a status page to the website
kind: feature
module: website
priority: normal
status: open
reporter: {user}
opened: {now}
---
Customers ask where to see whether the site is up.
"
                ),
            ),
            file(
                "flags/features/status-page.yaml",
                format!(
                    "description: Show the status page link in the website's footer.
owner: {user}
fully_active: false
default: false
"
                ),
            ),
            file(
                "flags/account_sets/internal.yaml",
                "description: Our own accounts, which see new features first.
accounts: [acct-1]
features:
  status-page: true
",
            ),
            file(
                "flags/overrides.yaml",
                "# account -> feature -> value: the most specific setting, above account sets.
acct-2:
  status-page: true
",
            ),
            file(
                "news/welcome.md",
                format!(
                    "---
title: The operations site is live
date: {now}
author: {user}
---
Everything here is built from a git repository by glassroom: edit the YAML and Markdown
files, sign your commit, and the site follows.
"
                ),
            ),
            file(format!("people/{user}.yaml"), person),
            file(
                "info.md",
                format!(
                    "---
title: Who to call
escalation:
  - name: On call
    people: [{user}]
    hours: 24/7
---
This page says what the service is, who to call and in what order.
"
                ),
            ),
        ]
    }
}

const GITIGNORE: &str = "# Built output and local caches: never commit them.
/public/
/.glassroom/cache/
";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::Kind;

    #[test]
    fn ids_come_from_the_email_then_the_name_then_the_login() {
        let id = |n, e, l| Identity::derive(n, e, l).id;
        assert_eq!(
            id(Some("Alice Martin"), Some("Alice.M@example.org"), None),
            "alice.m"
        );
        assert_eq!(id(Some("Alice Martin"), None, Some("al")), "alice-martin");
        assert_eq!(id(None, None, Some("bob")), "bob");
        assert_eq!(id(Some("  "), Some("@x"), Some("__")), "admin");
        assert_eq!(id(Some("José  Núñez!"), None, None), "jos-n-ez");
        for text in ["-x-", "ÄÖ", "a..b", "_a_", "x y"] {
            let slugged = slug(text);
            assert!(
                slugged.is_empty() || crate::content::is_valid_id(&slugged),
                "{text} → {slugged}"
            );
        }
    }

    #[test]
    fn names_are_quoted_so_yaml_reads_them_back() {
        assert_eq!(quote("O'Brien: \"x\""), r#""O'Brien: \"x\"""#);
    }

    #[test]
    fn the_examples_cover_every_kind_of_file() {
        let identity = Identity::derive(Some("Alice"), Some("alice@example.org"), None);
        let now: Moment = "2026-11-22T10:00:00Z".parse().expect("moment");
        let plan = Plan {
            identity: &identity,
            key: None,
            title: "Ops",
            now,
            bare: false,
        };
        let files = plan.files();
        // Every kind but the configuration and the policy, which every repository has.
        for kind in Kind::ALL.into_iter().filter(|k| !k.governs()) {
            assert!(
                files.iter().any(|f| matches!(
                    crate::content::classify(&f.path),
                    crate::content::Classified::Content(k, _) if k == kind
                )),
                "no example of {kind:?}"
            );
        }
        let bare = Plan { bare: true, ..plan };
        assert_eq!(bare.files().len(), 3);
    }
}
