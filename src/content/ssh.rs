//! A host's SSH destination (`ssh: deploy@db1.example.org:22`), as `glassroom run` hands
//! it to the system `ssh` client.
//!
//! The text is content anyone can propose, and it ends up on an `ssh` command line, so it
//! is parsed strictly rather than passed on: `[user@]host[:port]`, where host is a DNS
//! name or `ssh_config` alias (letters, digits, `.`, `-`, `_`), an IPv4 address, or an
//! IPv6 address (bare, or in brackets when a port follows: `[2001:db8::5]:2222`). Nothing
//! may start with `-` (it would be read as an option), and no whitespace, control
//! character or shell metacharacter gets through.

use std::fmt;

use serde::Serialize;

/// Where `ssh` connects to: the parts of `[user@]host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Destination {
    pub user: Option<String>,
    /// A name or alias, or an IP address (IPv6 without brackets).
    pub host: String,
    pub port: Option<u16>,
}

/// Why a destination was refused: one sentence, written for the `ssh:` field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidDestination(pub String);

impl fmt::Display for InvalidDestination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for InvalidDestination {}

fn invalid(message: impl Into<String>) -> InvalidDestination {
    InvalidDestination(message.into())
}

impl Destination {
    /// Parses `[user@]host[:port]`.
    pub fn parse(text: &str) -> Result<Destination, InvalidDestination> {
        if text.is_empty() {
            return Err(invalid("the SSH destination is empty"));
        }
        if let Some(c) = text.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(format!(
                "the SSH destination contains {}",
                match c {
                    ' ' => "a space".to_owned(),
                    c if c.is_whitespace() => "white space".to_owned(),
                    c => format!("the control character U+{:04X}", u32::from(c)),
                }
            )));
        }
        if text.starts_with('-') {
            return Err(invalid(
                "the SSH destination starts with `-`, which ssh would read as an option",
            ));
        }
        let (user, rest) = match text.rsplit_once('@') {
            Some((user, rest)) => (Some(user), rest),
            None => (None, text),
        };
        if let Some(user) = user {
            check_user(user)?;
        }
        let (host, port) = split_port(rest)?;
        check_host(host)?;
        Ok(Destination {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }

    /// The destination of a host without an `ssh:` field: its name, as is.
    pub fn named(host: &str) -> Result<Destination, InvalidDestination> {
        check_host(host)?;
        Ok(Destination {
            user: None,
            host: host.to_owned(),
            port: None,
        })
    }
}

impl super::Host {
    /// Where `glassroom run` connects to for the host with id `id`: its `ssh:` field,
    /// else its `name`, else the id.
    pub fn destination(&self, id: &str) -> Result<Destination, InvalidDestination> {
        match (&self.ssh, &self.name) {
            (Some(ssh), _) => Destination::parse(ssh.as_str()),
            (None, Some(name)) => Destination::named(name),
            (None, None) => Destination::named(id),
        }
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        match self.port {
            Some(port) if self.host.contains(':') => write!(f, "[{}]:{port}", self.host),
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

fn check_user(user: &str) -> Result<(), InvalidDestination> {
    if user.is_empty() {
        return Err(invalid("the user before `@` is empty"));
    }
    if user.starts_with('-') {
        return Err(invalid("the user starts with `-`"));
    }
    match user
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(invalid(format!(
            "the user `{user}` contains `{c}`; a user name is letters, digits, `.`, `_` and `-`"
        ))),
        None => Ok(()),
    }
}

/// `host:port`, `[v6]:port`, `[v6]`, a bare IPv6 address, or a host alone.
fn split_port(text: &str) -> Result<(&str, Option<u16>), InvalidDestination> {
    if let Some(inner) = text.strip_prefix('[') {
        let Some((address, after)) = inner.split_once(']') else {
            return Err(invalid("`[` without its `]`"));
        };
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(invalid(format!(
                "`{address}` in brackets is not an IPv6 address"
            )));
        }
        return match after {
            "" => Ok((address, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((address, Some(parse_port(port)?))),
                None => Err(invalid(format!(
                    "`{after}` after `]`; write `[address]:port`"
                ))),
            },
        };
    }
    if text.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok((text, None));
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => Ok((host, Some(parse_port(port)?))),
        Some(_) => Err(invalid(format!(
            "`{text}` is neither `host:port` nor an IPv6 address; with a port, write `[address]:port`"
        ))),
        None => Ok((text, None)),
    }
}

fn parse_port(text: &str) -> Result<u16, InvalidDestination> {
    match text.parse::<u16>() {
        Ok(port) if port > 0 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(port),
        _ => Err(invalid(format!(
            "`{text}` is not a port (a number from 1 to 65535)"
        ))),
    }
}

fn check_host(host: &str) -> Result<(), InvalidDestination> {
    if host.is_empty() {
        return Err(invalid("the host name is empty"));
    }
    if host.starts_with('-') {
        return Err(invalid(format!(
            "the host `{host}` starts with `-`, which ssh would read as an option"
        )));
    }
    if host.parse::<std::net::Ipv6Addr>().is_ok() {
        return Ok(());
    }
    match host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(invalid(format!(
            "the host `{host}` contains `{c}`; a host is a DNS name, an ssh_config alias or an IP address"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (Option<String>, String, Option<u16>) {
        let d = Destination::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        (d.user, d.host, d.port)
    }

    #[test]
    fn accepts_the_usual_forms() {
        assert_eq!(ok("db1"), (None, "db1".into(), None));
        assert_eq!(
            ok("deploy@db1.example.org:22"),
            (Some("deploy".into()), "db1.example.org".into(), Some(22))
        );
        assert_eq!(
            ok("db1.example.org:2222"),
            (None, "db1.example.org".into(), Some(2222))
        );
        assert_eq!(
            ok("root@192.0.2.10"),
            (Some("root".into()), "192.0.2.10".into(), None)
        );
        assert_eq!(ok("2001:db8::5"), (None, "2001:db8::5".into(), None));
        assert_eq!(ok("::1"), (None, "::1".into(), None));
        assert_eq!(
            ok("deploy@[2001:db8::5]:2222"),
            (Some("deploy".into()), "2001:db8::5".into(), Some(2222))
        );
        assert_eq!(ok("[::1]"), (None, "::1".into(), None));
        assert_eq!(
            ok("under_score-alias"),
            (None, "under_score-alias".into(), None)
        );
    }

    #[test]
    fn displays_as_written() {
        for text in [
            "db1",
            "deploy@db1.example.org:22",
            "deploy@[2001:db8::5]:2222",
            "::1",
        ] {
            assert_eq!(Destination::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn refuses_option_injection_and_odd_characters() {
        for (text, says) in [
            ("", "empty"),
            ("-oProxyCommand=sh", "starts with `-`"),
            ("deploy@-oProxyCommand=x", "starts with `-`"),
            ("-x@db1", "starts with `-`"),
            ("db1 -p 1", "a space"),
            ("db1\t", "white space"),
            ("db1\n", "white space"),
            ("db1\u{7}", "U+0007"),
            ("db1;rm", "contains `;`"),
            ("db1$(x)", "contains `$`"),
            ("a'b@db1", "contains `'`"),
            ("@db1", "user before `@` is empty"),
            ("deploy@", "host name is empty"),
            ("db1:", "not a port"),
            ("db1:0", "not a port"),
            ("db1:65536", "not a port"),
            ("db1:+22", "not a port"),
            ("db1:ssh", "not a port"),
            ("[2001:db8::5", "without its `]`"),
            ("[db1]:22", "not an IPv6 address"),
            ("[::1]22", "after `]`"),
            ("db1:22:33", "neither `host:port`"),
            ("db1/x", "contains `/`"),
        ] {
            let err = Destination::parse(text).expect_err(text);
            assert!(err.0.contains(says), "{text:?}: {err}");
        }
    }

    #[test]
    fn a_host_name_is_checked_like_a_destination_host() {
        assert_eq!(Destination::named("web1").unwrap().host, "web1");
        assert!(Destination::named("-oX").is_err());
        assert!(Destination::named("a b").is_err());
    }
}
