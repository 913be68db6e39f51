//! `glassroom plan SITE stop|start|status|update`: print a site's runbook.

use std::io::Write;

use super::{Outcome, ignore_broken_pipe, print_diagnostics};
use crate::cli::{ColorChoice, Format, OutputArgs, PlanArgs, PlanFormat, PlanOperation};
use crate::content;
use crate::derive::plans::{self, Operation, Plan, UnknownSite};
use crate::source;

pub fn run(args: &PlanArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let tree = source::read_dir(&args.repo)?;
    let loaded = content::load(&tree);
    if loaded.diagnostics.has_errors() {
        // A runbook from content that does not validate could skip or misorder services.
        let output = OutputArgs {
            format: Format::Human,
            color: ColorChoice::Auto,
        };
        print_diagnostics(&loaded.content.files, &loaded.diagnostics, &output)?;
        eprintln!("error: the repository has errors; fix them before planning");
        return Ok(Outcome::Findings);
    }
    let plan = match plans::plan(&loaded.content, &args.site, operation(args.operation)) {
        Ok(plan) => plan,
        Err(unknown) => {
            eprintln!("{}", unknown_site_message(&unknown));
            return Ok(Outcome::Findings);
        }
    };
    let text = match args.format {
        PlanFormat::Text => text(&plan),
        PlanFormat::Json => format!("{}\n", serde_json::to_string_pretty(&plan)?),
    };
    let mut stdout = std::io::stdout().lock();
    ignore_broken_pipe(stdout.write_all(text.as_bytes()))?;
    Ok(Outcome::Ok)
}

pub(super) fn operation(operation: PlanOperation) -> Operation {
    match operation {
        PlanOperation::Stop => Operation::Stop,
        PlanOperation::Start => Operation::Start,
        PlanOperation::Status => Operation::Status,
        PlanOperation::Update => Operation::Update,
    }
}

/// `error: unknown site `shpo`; did you mean `shop`?` and the sites there are.
pub(super) fn unknown_site_message(unknown: &UnknownSite) -> String {
    let sites = if unknown.known.is_empty() {
        "this repository has no sites (sites/<id>.yaml)".to_owned()
    } else {
        format!("sites: {}", unknown.known.join(", "))
    };
    format!("error: {unknown}\n  {sites}")
}

/// The runbook for people: a heading, then numbered steps in aligned columns, grouped
/// under a line per tier in a rolling update.
pub fn text(plan: &Plan) -> String {
    let mut out = format!("{}\n", heading(plan));
    if plan.steps.is_empty() {
        out.push_str("  (no services)\n");
        return out;
    }
    let widths = Widths::of(plan);
    let mut tier: Option<&str> = None;
    for step in &plan.steps {
        let indent = if step.tier.is_some() { "    " } else { "  " };
        if step.tier.is_some() && step.tier.as_deref() != tier {
            tier = step.tier.as_deref();
            out.push_str(&format!("  tier {}\n", tier.unwrap_or_default()));
        }
        let hosts = format!("on {}", step.hosts.join(", "));
        let command = step.command.as_deref().unwrap_or("(no command defined)");
        let line = format!(
            "{indent}{number:>nw$}. {action:<aw$}{service:<sw$}{hosts:<hw$}{command}",
            number = step.number,
            action = step.action.to_string(),
            service = step.service,
            nw = widths.number,
            aw = widths.action,
            sw = widths.service,
            hw = widths.hosts,
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `Update site shop (Shop), rolling by tier: db, app, web`.
fn heading(plan: &Plan) -> String {
    let operation = match plan.operation {
        Operation::Stop => "Stop",
        Operation::Start => "Start",
        Operation::Status => "Status of",
        Operation::Update => "Update",
    };
    let how = match plan.operation {
        Operation::Update if !plan.tiers.is_empty() => {
            format!(", rolling by tier: {}", plan.tiers.join(", "))
        }
        Operation::Update => ", all at once".to_owned(),
        Operation::Stop => ", by descending startup rank".to_owned(),
        Operation::Start | Operation::Status => ", by ascending startup rank".to_owned(),
    };
    format!("{operation} site {} ({}){how}", plan.site, plan.title)
}

/// Column widths, each with two spaces of separation after it.
struct Widths {
    number: usize,
    action: usize,
    service: usize,
    hosts: usize,
}

impl Widths {
    fn of(plan: &Plan) -> Widths {
        let max = |f: &dyn Fn(&plans::Step) -> usize| plan.steps.iter().map(f).max().unwrap_or(0);
        Widths {
            number: plan.steps.len().to_string().len(),
            action: "configure".len() + 2,
            service: max(&|s| s.service.len()) + 2,
            hosts: max(&|s| "on ".len() + s.hosts.join(", ").len()) + 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::content::UpdateStrategy;
    use crate::derive::plans::{Action, Step};

    fn step(
        number: usize,
        tier: Option<&str>,
        service: &str,
        action: Action,
        command: Option<&str>,
    ) -> Step {
        Step {
            number,
            tier: tier.map(str::to_owned),
            service: service.to_owned(),
            startup_rank: 1,
            action,
            hosts: vec!["db1".into(), "db2".into()],
            command: command.map(str::to_owned),
        }
    }

    #[test]
    fn rolling_text_groups_steps_by_tier() {
        let plan = Plan {
            site: "shop".into(),
            title: "Shop".into(),
            operation: Operation::Update,
            strategy: UpdateStrategy::Rolling,
            tiers: vec!["db".into(), "app".into()],
            steps: vec![
                step(
                    1,
                    Some("db"),
                    "shop-postgresql",
                    Action::Stop,
                    Some("systemctl stop postgresql"),
                ),
                step(2, Some("app"), "api", Action::Configure, None),
            ],
        };
        assert_eq!(
            text(&plan),
            "Update site shop (Shop), rolling by tier: db, app\n\
             \x20 tier db\n\
             \x20   1. stop       shop-postgresql  on db1, db2  systemctl stop postgresql\n\
             \x20 tier app\n\
             \x20   2. configure  api              on db1, db2  (no command defined)\n"
        );
    }

    #[test]
    fn plain_text_has_no_tier_lines() {
        let plan = Plan {
            site: "intranet".into(),
            title: "Intranet".into(),
            operation: Operation::Stop,
            strategy: UpdateStrategy::AllAtOnce,
            tiers: vec![],
            steps: vec![step(
                1,
                None,
                "wiki",
                Action::Stop,
                Some("systemctl stop wikijs"),
            )],
        };
        assert_eq!(
            text(&plan),
            "Stop site intranet (Intranet), by descending startup rank\n\
             \x20 1. stop       wiki  on db1, db2  systemctl stop wikijs\n"
        );
    }

    #[test]
    fn an_empty_plan_says_so() {
        let plan = Plan {
            site: "s".into(),
            title: "S".into(),
            operation: Operation::Update,
            strategy: UpdateStrategy::AllAtOnce,
            tiers: vec![],
            steps: vec![],
        };
        assert_eq!(
            text(&plan),
            "Update site s (S), all at once\n  (no services)\n"
        );
    }

    #[test]
    fn unknown_site_lists_the_sites() {
        let unknown = UnknownSite {
            site: "shpo".into(),
            suggestion: Some("shop".into()),
            known: vec!["intranet".into(), "shop".into()],
        };
        assert_eq!(
            unknown_site_message(&unknown),
            "error: unknown site `shpo`; did you mean `shop`?\n  sites: intranet, shop"
        );
    }
}
