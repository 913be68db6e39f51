//! Site runbooks (ControlTier): the ordered steps that stop, start, check or update the
//! services of a site.
//!
//! Services start in ascending `startup_rank` (a database before the applications that
//! use it) and stop in exactly the reverse order, ties included: ties start by id
//! ascending and stop by id descending. An update stops, installs, configures and starts
//! everything at once, or, on a rolling site, does the same one tier at a time in the
//! site's `tier_order`, so that the rest of the site keeps serving.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

use crate::content::{Content, Document, Service, Site, UpdateStrategy};
use crate::suggest::suggest;

/// What to do with a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Operation {
    Stop,
    Start,
    Status,
    Update,
}

impl Operation {
    /// Every operation, in the order a site's page shows its runbooks.
    pub const ALL: [Operation; 4] = [
        Operation::Stop,
        Operation::Start,
        Operation::Status,
        Operation::Update,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Operation::Stop => "stop",
            Operation::Start => "start",
            Operation::Status => "status",
            Operation::Update => "update",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Site id → operation name → the site's runbook of the operation: every runbook.
pub type Runbooks = BTreeMap<String, BTreeMap<&'static str, Plan>>;

/// Every runbook of every site.
pub fn runbooks(content: &Content) -> Runbooks {
    content
        .sites
        .iter()
        .map(|site| {
            let by_operation = Operation::ALL
                .iter()
                .filter_map(|op| Some((op.name(), plan(content, &site.id, *op).ok()?)))
                .collect();
            (site.id.clone(), by_operation)
        })
        .collect()
}

/// What one step does to one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Stop,
    Start,
    Status,
    Install,
    Configure,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Stop => "stop",
            Action::Start => "start",
            Action::Status => "status",
            Action::Install => "install",
            Action::Configure => "configure",
        })
    }
}

/// One step of a runbook: an action on one service, on all of its hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// 1-based position in the plan.
    pub number: usize,
    /// The tier being updated, in a rolling update; `None` otherwise.
    pub tier: Option<String>,
    pub service: String,
    /// The service's `startup_rank`: consecutive steps of one action, rank and tier do
    /// not depend on each other (`glassroom run` may run them at once).
    pub startup_rank: i64,
    pub action: Action,
    pub hosts: Vec<String>,
    /// The service's command for the action; `None` when it defines none (the operator
    /// has to know what to do, and the runbook says so rather than skipping the step).
    pub command: Option<String>,
}

/// A site's runbook for one operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub site: String,
    pub title: String,
    pub operation: Operation,
    pub strategy: UpdateStrategy,
    /// The tiers a rolling update visits, in order (the site's `tier_order`); empty for
    /// every other plan.
    pub tiers: Vec<String>,
    pub steps: Vec<Step>,
}

/// The site asked for does not exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownSite {
    pub site: String,
    /// The closest site id, if one is close enough to be a likely typo.
    pub suggestion: Option<String>,
    /// Every site id, sorted.
    pub known: Vec<String>,
}

impl fmt::Display for UnknownSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown site `{}`", self.site)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, "; did you mean `{suggestion}`?")?;
        }
        Ok(())
    }
}

impl std::error::Error for UnknownSite {}

/// The runbook of `operation` on the site with id `site`.
pub fn plan(content: &Content, site: &str, operation: Operation) -> Result<Plan, UnknownSite> {
    let Some(site_doc) = content.sites.iter().find(|s| s.id == site) else {
        return Err(unknown_site(content, site));
    };
    let services: Vec<&Document<Service>> = content
        .services
        .iter()
        .filter(|s| s.data.site.as_str() == site)
        .collect();
    let strategy = site_doc.data.update.value;
    let rolling = operation == Operation::Update && strategy == UpdateStrategy::Rolling;
    let (tiers, steps) = match operation {
        Operation::Stop => (Vec::new(), phase(&services, Action::Stop, None)),
        Operation::Start => (Vec::new(), phase(&services, Action::Start, None)),
        Operation::Status => (Vec::new(), phase(&services, Action::Status, None)),
        Operation::Update if rolling => (
            tier_names(&site_doc.data),
            rolling_update(&site_doc.data, &services),
        ),
        Operation::Update => (Vec::new(), update(&services, None)),
    };
    Ok(Plan {
        site: site_doc.id.clone(),
        title: site_doc.data.title.clone(),
        operation,
        strategy,
        tiers,
        steps: numbered(steps),
    })
}

fn unknown_site(content: &Content, site: &str) -> UnknownSite {
    let known: Vec<String> = content.sites.iter().map(|s| s.id.clone()).collect();
    UnknownSite {
        site: site.to_owned(),
        suggestion: suggest(site, known.iter().map(String::as_str)).map(str::to_owned),
        known,
    }
}

fn tier_names(site: &Site) -> Vec<String> {
    site.tier_order.iter().map(|t| t.value.clone()).collect()
}

/// One action on every service, in the order the action needs: stopping goes from the
/// highest rank down (id descending among equals), everything else from the lowest up.
fn phase(services: &[&Document<Service>], action: Action, tier: Option<&str>) -> Vec<Step> {
    let mut ordered = services.to_vec();
    ordered.sort_by_key(|s| (s.data.startup_rank, s.id.as_str()));
    if action == Action::Stop {
        ordered.reverse();
    }
    ordered
        .into_iter()
        .map(|service| step(service, action, tier))
        .collect()
}

/// Stop all, install all, configure all, start all.
fn update(services: &[&Document<Service>], tier: Option<&str>) -> Vec<Step> {
    [
        Action::Stop,
        Action::Install,
        Action::Configure,
        Action::Start,
    ]
    .into_iter()
    .flat_map(|action| phase(services, action, tier))
    .collect()
}

/// An update per tier, in `tier_order`. Services whose tier is missing or not in
/// `tier_order` (validation rejects both) are still updated, after the listed tiers:
/// unknown tiers by name, then services without a tier, so that a runbook never
/// silently leaves a service out.
fn rolling_update(site: &Site, services: &[&Document<Service>]) -> Vec<Step> {
    let mut tiers: Vec<Option<&str>> = site.tier_order.iter().map(|t| Some(t.as_str())).collect();
    let mut extra: Vec<Option<&str>> = services
        .iter()
        .map(|s| s.data.tier.as_ref().map(|t| t.as_str()))
        .filter(|tier| !tiers.contains(tier))
        .collect();
    extra.sort_by_key(|tier| (tier.is_none(), *tier));
    extra.dedup();
    tiers.extend(extra);
    tiers
        .into_iter()
        .flat_map(|tier| {
            let members: Vec<&Document<Service>> = services
                .iter()
                .copied()
                .filter(|s| s.data.tier.as_ref().map(|t| t.as_str()) == tier)
                .collect();
            update(&members, tier)
        })
        .collect()
}

fn step(service: &Document<Service>, action: Action, tier: Option<&str>) -> Step {
    let commands = &service.data.commands;
    let command = match action {
        Action::Stop => &commands.stop,
        Action::Start => &commands.start,
        Action::Status => &commands.status,
        Action::Install => &commands.install,
        Action::Configure => &commands.configure,
    };
    Step {
        number: 0,
        tier: tier.map(str::to_owned),
        service: service.id.clone(),
        startup_rank: service.data.startup_rank,
        action,
        hosts: service.data.hosts.iter().map(|h| h.value.clone()).collect(),
        command: command.clone(),
    }
}

fn numbered(steps: Vec<Step>) -> Vec<Step> {
    steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| Step {
            number: i + 1,
            ..step
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::derive::fixture::content;

    #[test]
    fn every_site_has_a_runbook_of_every_operation() {
        let content = site("update: all-at-once\n", &[("db", 1, None)]);
        let runbooks = runbooks(&content);
        assert_eq!(runbooks.keys().collect::<Vec<_>>(), ["other", "s"]);
        let names: Vec<&str> = runbooks["s"].keys().copied().collect();
        assert_eq!(names, ["start", "status", "stop", "update"]);
        assert_eq!(
            runbooks["s"]["stop"],
            plan(&content, "s", Operation::Stop).unwrap()
        );
    }

    /// A site with the given strategy line(s) and services (id, rank, tier).
    fn site(strategy: &str, services: &[(&str, i64, Option<&str>)]) -> Content {
        let mut files: Vec<(String, String)> = vec![
            ("sites/s.yaml".into(), format!("title: S\n{strategy}")),
            (
                "sites/other.yaml".into(),
                "title: Other\nupdate: all-at-once\n".into(),
            ),
            (
                "services/elsewhere.yaml".into(),
                "site: other\nhosts: [h1]\nstartup_rank: 1\n".into(),
            ),
            ("hosts/h1.yaml".into(), "{}\n".into()),
            ("hosts/h2.yaml".into(), "{}\n".into()),
        ];
        for (id, rank, tier) in services {
            let tier = tier.map_or_else(String::new, |t| format!("tier: {t}\n"));
            files.push((
                format!("services/{id}.yaml"),
                format!(
                    "site: s\nhosts: [h1, h2]\nstartup_rank: {rank}\n{tier}commands:\n  start: start {id}\n  stop: stop {id}\n"
                ),
            ));
        }
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        content(&refs)
    }

    fn all_at_once() -> Content {
        site(
            "update: all-at-once\n",
            &[
                ("db", 10, None),
                ("b-app", 20, None),
                ("a-app", 20, None),
                ("web", 30, None),
            ],
        )
    }

    fn rolling() -> Content {
        site(
            "update: rolling\ntier_order: [data, app, edge]\n",
            &[
                ("web", 50, Some("edge")),
                ("db", 10, Some("data")),
                ("worker", 30, Some("app")),
                ("api", 20, Some("app")),
                ("cache", 5, Some("edge")),
            ],
        )
    }

    fn steps(plan: &Plan) -> Vec<(usize, Option<&str>, Action, &str)> {
        plan.steps
            .iter()
            .map(|s| (s.number, s.tier.as_deref(), s.action, s.service.as_str()))
            .collect()
    }

    fn order(content: &Content, operation: Operation) -> Vec<(Action, String)> {
        plan(content, "s", operation)
            .unwrap()
            .steps
            .into_iter()
            .map(|s| (s.action, s.service))
            .collect()
    }

    fn expect(action: Action, services: &[&str]) -> Vec<(Action, String)> {
        services.iter().map(|s| (action, (*s).to_owned())).collect()
    }

    #[test]
    fn start_is_ascending_with_ties_by_id() {
        assert_eq!(
            order(&all_at_once(), Operation::Start),
            expect(Action::Start, &["db", "a-app", "b-app", "web"])
        );
    }

    #[test]
    fn stop_is_the_exact_reverse_of_start_ties_included() {
        assert_eq!(
            order(&all_at_once(), Operation::Stop),
            expect(Action::Stop, &["web", "b-app", "a-app", "db"])
        );
    }

    #[test]
    fn status_is_in_start_order() {
        assert_eq!(
            order(&all_at_once(), Operation::Status),
            expect(Action::Status, &["db", "a-app", "b-app", "web"])
        );
    }

    #[test]
    fn plans_only_cover_the_sites_services() {
        let plan = plan(&all_at_once(), "other", Operation::Start).unwrap();
        assert_eq!(steps(&plan), vec![(1, None, Action::Start, "elsewhere")]);
    }

    #[test]
    fn all_at_once_update_stops_installs_configures_and_starts_everything() {
        let plan = plan(&all_at_once(), "s", Operation::Update).unwrap();
        assert!(plan.tiers.is_empty());
        let mut expected = expect(Action::Stop, &["web", "b-app", "a-app", "db"]);
        expected.extend(expect(Action::Install, &["db", "a-app", "b-app", "web"]));
        expected.extend(expect(Action::Configure, &["db", "a-app", "b-app", "web"]));
        expected.extend(expect(Action::Start, &["db", "a-app", "b-app", "web"]));
        assert_eq!(order(&all_at_once(), Operation::Update), expected);
        assert!(plan.steps.iter().all(|s| s.tier.is_none()));
        let numbers: Vec<usize> = plan.steps.iter().map(|s| s.number).collect();
        assert_eq!(numbers, (1..=16).collect::<Vec<_>>());
    }

    #[test]
    fn rolling_update_goes_tier_by_tier_in_tier_order() {
        use Action::*;
        let plan = plan(&rolling(), "s", Operation::Update).unwrap();
        assert_eq!(plan.strategy, UpdateStrategy::Rolling);
        assert_eq!(plan.tiers, vec!["data", "app", "edge"]);
        assert_eq!(
            steps(&plan),
            vec![
                (1, Some("data"), Stop, "db"),
                (2, Some("data"), Install, "db"),
                (3, Some("data"), Configure, "db"),
                (4, Some("data"), Start, "db"),
                (5, Some("app"), Stop, "worker"),
                (6, Some("app"), Stop, "api"),
                (7, Some("app"), Install, "api"),
                (8, Some("app"), Install, "worker"),
                (9, Some("app"), Configure, "api"),
                (10, Some("app"), Configure, "worker"),
                (11, Some("app"), Start, "api"),
                (12, Some("app"), Start, "worker"),
                (13, Some("edge"), Stop, "web"),
                (14, Some("edge"), Stop, "cache"),
                (15, Some("edge"), Install, "cache"),
                (16, Some("edge"), Install, "web"),
                (17, Some("edge"), Configure, "cache"),
                (18, Some("edge"), Configure, "web"),
                (19, Some("edge"), Start, "cache"),
                (20, Some("edge"), Start, "web"),
            ]
        );
    }

    #[test]
    fn rolling_site_stops_and_starts_across_tiers_by_rank() {
        // Only update is per tier; stop/start follow startup_rank over the whole site.
        assert_eq!(
            order(&rolling(), Operation::Start),
            expect(Action::Start, &["cache", "db", "api", "worker", "web"])
        );
        let plan = plan(&rolling(), "s", Operation::Stop).unwrap();
        assert!(plan.tiers.is_empty());
        assert!(plan.steps.iter().all(|s| s.tier.is_none()));
    }

    #[test]
    fn rolling_update_keeps_services_outside_the_tier_order() {
        let mut content = rolling();
        // Invalid content (validation rejects it), built in memory: one unknown tier, one none.
        for service in &mut content.services {
            match service.id.as_str() {
                "api" => service.data.tier = Some(crate::yaml::Spanned::new("zeta".into(), 0..0)),
                "worker" => service.data.tier = None,
                _ => {}
            }
        }
        let plan = plan(&content, "s", Operation::Update).unwrap();
        let tail: Vec<(Option<&str>, Action, &str)> = steps(&plan)[12..]
            .iter()
            .map(|&(_, tier, action, service)| (tier, action, service))
            .collect();
        assert_eq!(
            tail,
            vec![
                (Some("zeta"), Action::Stop, "api"),
                (Some("zeta"), Action::Install, "api"),
                (Some("zeta"), Action::Configure, "api"),
                (Some("zeta"), Action::Start, "api"),
                (None, Action::Stop, "worker"),
                (None, Action::Install, "worker"),
                (None, Action::Configure, "worker"),
                (None, Action::Start, "worker"),
            ]
        );
    }

    #[test]
    fn steps_carry_hosts_and_commands() {
        let plan = plan(&all_at_once(), "s", Operation::Update).unwrap();
        let first = &plan.steps[0];
        assert_eq!(first.hosts, vec!["h1", "h2"]);
        assert_eq!(first.command.as_deref(), Some("stop web"));
        let install = plan
            .steps
            .iter()
            .find(|s| s.action == Action::Install)
            .unwrap();
        assert_eq!(install.command, None);
        assert_eq!(plan.title, "S");
    }

    #[test]
    fn unknown_sites_suggest_the_closest_id() {
        let content = all_at_once();
        let err = plan(&content, "ohter", Operation::Start).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("other"));
        assert_eq!(err.known, vec!["other", "s"]);
        assert_eq!(
            err.to_string(),
            "unknown site `ohter`; did you mean `other`?"
        );
        let err = plan(&content, "warehouse", Operation::Start).unwrap_err();
        assert_eq!(err.suggestion, None);
        assert_eq!(err.to_string(), "unknown site `warehouse`");
    }

    #[test]
    fn a_site_without_services_has_an_empty_plan() {
        let content = site("update: all-at-once\n", &[]);
        assert!(
            plan(&content, "s", Operation::Update)
                .unwrap()
                .steps
                .is_empty()
        );
    }

    #[test]
    fn serialises_operations_and_actions_in_lowercase() {
        let plan = plan(&rolling(), "s", Operation::Update).unwrap();
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["operation"], "update");
        assert_eq!(json["strategy"], "rolling");
        assert_eq!(json["steps"][0]["action"], "stop");
        assert_eq!(json["steps"][0]["tier"], "data");
        assert_eq!(json["steps"][0]["number"], 1);
        assert_eq!(json["steps"][1]["command"], serde_json::Value::Null);
    }
}
