//! Role resolution: which role a user has on a path.
//!
//! Bottom-up, as DryDock does it: the user's own grant on the path or its nearest parent
//! directory wins; without one, each of the user's groups is resolved the same way and the
//! highest role wins; without any, `none`.

use super::policy::{Policy, Role};

/// The grant paths to look at for a repository path, nearest first:
/// `tickets/a.md` → `/tickets/a.md`, `/tickets`, `/`.
pub fn ancestors(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let clean: Vec<&str> = path
        .split('/')
        .filter(|segment| !segment.is_empty() && *segment != ".")
        .collect();
    for end in (1..=clean.len()).rev() {
        out.push(format!("/{}", clean[..end].join("/")));
    }
    out.push("/".to_owned());
    out
}

/// The nearest grant to `principal` (a user or a group) on `path`.
fn nearest(policy: &Policy, principal: &str, path: &str) -> Option<Role> {
    ancestors(path).iter().find_map(|grant_path| {
        policy
            .grants
            .get(grant_path.as_str())
            .and_then(|grants| grants.get(principal))
            .map(|role| role.value)
    })
}

/// The role of `user` on repository path `path`.
pub fn resolve(policy: &Policy, user: &str, path: &str) -> Role {
    // A path that tries to climb out of the repository gets no role at all.
    if path.split('/').any(|segment| segment == "..") {
        return Role::None;
    }
    if let Some(own) = nearest(policy, user, path) {
        return own;
    }
    policy
        .groups
        .iter()
        .filter(|(_, members)| members.iter().any(|m| m.as_str() == user))
        .filter_map(|(group, _)| nearest(policy, group, path))
        .max()
        .unwrap_or(Role::None)
}

/// Every user with at least `role` on `path`, sorted.
pub fn who_has(policy: &Policy, role: Role, path: &str) -> Vec<String> {
    policy
        .users
        .keys()
        .filter(|user| resolve(policy, user, path) >= role)
        .map(|user| user.value.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml;

    fn policy(text: &str) -> Policy {
        yaml::from_str(text).expect("test policy parses")
    }

    const EXAMPLE: &str = "
users:
  alice: {}
  bob: {}
  carol: {}
  dave: {}
  eve: {}
groups:
  ops: [alice, bob]
  dev: [carol, dave]
  leads: [dave]
grants:
  /: { alice: admin, ops: sign, dev: review }
  /tickets: { dev: sign }
  /flags: { carol: none, leads: admin }
  /flags/features: { dev: view }
  /logbook/2026: { bob: view }
";

    #[test]
    fn ancestors_run_from_the_path_to_the_root() {
        assert_eq!(
            ancestors("tickets/a.md"),
            ["/tickets/a.md", "/tickets", "/"]
        );
        assert_eq!(ancestors("glassroom.yaml"), ["/glassroom.yaml", "/"]);
        assert_eq!(ancestors(""), ["/"]);
        assert_eq!(ancestors("a//b/./c"), ["/a/b/c", "/a/b", "/a", "/"]);
    }

    #[test]
    fn the_table_of_the_example_policy() {
        let p = policy(EXAMPLE);
        let cases = [
            // The user's own grant wins, even over a more specific group grant.
            ("alice", "tickets/t.md", Role::Admin),
            ("alice", "flags/features/x.yaml", Role::Admin),
            // Without an own grant: the nearest grant of each group, highest wins.
            ("bob", "hosts/web1.yaml", Role::Sign),
            ("bob", "tickets/t.md", Role::Sign),
            // An own grant deeper down beats the group's grant higher up, even if lower.
            ("bob", "logbook/2026/11/x.md", Role::View),
            ("bob", "logbook/2025/11/x.md", Role::Sign),
            ("carol", "hosts/web1.yaml", Role::Review),
            ("carol", "tickets/t.md", Role::Sign),
            // carol's own `none` on /flags wins over dev's view on /flags/features.
            ("carol", "flags/features/x.yaml", Role::None),
            ("carol", "flags/overrides.yaml", Role::None),
            // dave: dev gives view on /flags/features, leads gives admin on /flags: highest.
            ("dave", "flags/features/x.yaml", Role::Admin),
            ("dave", "flags/overrides.yaml", Role::Admin),
            ("dave", "tickets/t.md", Role::Sign),
            ("dave", "hosts/web1.yaml", Role::Review),
            // Nobody gave eve anything.
            ("eve", "hosts/web1.yaml", Role::None),
            ("nobody", "hosts/web1.yaml", Role::None),
            // Paths that try to escape get nothing.
            ("alice", "../etc/passwd", Role::None),
            ("alice", "tickets/../../x", Role::None),
        ];
        for (user, path, want) in cases {
            assert_eq!(resolve(&p, user, path), want, "{user} on {path}");
        }
    }

    /// Every (user, path) combination of a small policy against a brute-force model of
    /// the rule written independently: for each user, walk the ancestors once for the own
    /// grant, then for every group.
    #[test]
    fn exhaustive_against_a_reference_model() {
        let p = policy(EXAMPLE);
        let paths = [
            "",
            "a.yaml",
            "tickets",
            "tickets/t.md",
            "flags",
            "flags/overrides.yaml",
            "flags/features/x.yaml",
            "flags/features/deep/y.yaml",
            "logbook/2026/11/e.md",
            "logbook/2025/01/e.md",
            "hosts/web1.yaml",
            ".glassroom/policy.yaml",
        ];
        let users = ["alice", "bob", "carol", "dave", "eve", "zed"];
        for user in users {
            for path in paths {
                let reference = {
                    let chain = ancestors(path);
                    let grant = |who: &str| {
                        chain.iter().find_map(|g| {
                            p.grants
                                .iter()
                                .find(|(k, _)| k.as_str() == g)
                                .and_then(|(_, m)| {
                                    m.iter()
                                        .find(|(k, _)| k.as_str() == who)
                                        .map(|(_, r)| r.value)
                                })
                        })
                    };
                    grant(user).unwrap_or_else(|| {
                        let mut best = Role::None;
                        for (group, members) in &p.groups {
                            if members.iter().any(|m| m.as_str() == user)
                                && let Some(r) = grant(group)
                                && r > best
                            {
                                best = r;
                            }
                        }
                        best
                    })
                };
                assert_eq!(resolve(&p, user, path), reference, "{user} on {path:?}");
            }
        }
    }

    #[test]
    fn who_has_lists_the_signers_of_a_path() {
        let p = policy(EXAMPLE);
        assert_eq!(
            who_has(&p, Role::Sign, "tickets/t.md"),
            ["alice", "bob", "carol", "dave"]
        );
        assert_eq!(
            who_has(&p, Role::Admin, ".glassroom/policy.yaml"),
            ["alice"]
        );
    }
}
