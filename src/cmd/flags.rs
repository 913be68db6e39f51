//! `glassroom flags eval`: the value of a flag for an account, and why.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use super::{Outcome, ignore_broken_pipe, print_diagnostics, repository};
use crate::cli::{FlagsEvalArgs, Format, OutputArgs, PlanFormat};
use crate::content::types::{FlagValue, Moment};
use crate::flags::{self, Client, Flags, Loaded};
use crate::suggest::suggest;

/// The flags, where they came from, and their sha256.
type Source = Arc<Loaded>;

fn to_source(flags: Flags, sha256: String, name: String) -> Source {
    Arc::new(Loaded {
        flags,
        etag: format!("\"{sha256}\""),
        sha256,
        source: name,
    })
}

pub fn eval(args: &FlagsEvalArgs) -> Result<Outcome, Box<dyn std::error::Error>> {
    let source = match &args.bundle {
        Some(location) if is_url(location) => from_url(location)?,
        Some(file) => from_file(Path::new(file))?,
        None => match from_repo(args)? {
            Some(source) => source,
            None => return Ok(Outcome::Findings),
        },
    };
    let now = args.now.unwrap_or_else(|| {
        Moment(jiff::Timestamp::from_second(repository::clock()).unwrap_or_default())
    });
    let default = args.default.as_ref();
    let explanation = source
        .flags
        .explain(&args.account, &args.feature, default, now.0);
    let evaluation = source
        .flags
        .evaluate(&args.account, &args.feature, default, now.0);
    let mut out = std::io::stdout().lock();
    let text = match args.format {
        PlanFormat::Json => {
            let mut json = if args.explain {
                serde_json::to_value(&explanation)?
            } else {
                serde_json::json!({
                    "account": args.account,
                    "feature": args.feature,
                    "value": evaluation.value,
                    "decided_by": evaluation.rule.to_string(),
                })
            };
            json["bundle"] =
                serde_json::json!({ "source": source.source, "sha256": source.sha256 });
            format!("{}\n", serde_json::to_string_pretty(&json)?)
        }
        PlanFormat::Text => {
            let mut text = String::new();
            if args.explain {
                text.push_str(&format!(
                    "{} × {}{} — {}, sha256 {}\n",
                    args.account,
                    args.feature,
                    explanation
                        .value_type
                        .map(|t| format!(" ({t})"))
                        .unwrap_or_default(),
                    source.source,
                    source.sha256
                ));
                let label = |rule: &str| {
                    if rule.starts_with("account set") {
                        "account set".to_owned()
                    } else {
                        rule.to_owned()
                    }
                };
                let width = explanation
                    .steps
                    .iter()
                    .map(|s| label(&s.rule).chars().count())
                    .max()
                    .unwrap_or(0);
                let values: Vec<String> = explanation
                    .steps
                    .iter()
                    .map(|s| s.value.as_ref().map_or("—".to_owned(), json_text))
                    .collect();
                let value_width = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
                for (step, value) in explanation.steps.iter().zip(&values) {
                    let rule = label(&step.rule);
                    text.push_str(&format!(
                        "{} {rule:width$}  {value:value_width$}  {}\n",
                        if step.decided { "→" } else { " " },
                        step.detail,
                    ));
                }
            }
            text.push_str(&format!(
                "{}  ({})\n",
                json_text(evaluation.value),
                evaluation.rule
            ));
            text
        }
    };
    ignore_broken_pipe(out.write_all(text.as_bytes()))?;
    if source.flags.has_feature(&args.feature) {
        return Ok(Outcome::Ok);
    }
    let features = &source.flags.bundle().features;
    let hint = match suggest(&args.feature, features.keys().map(String::as_str)) {
        Some(near) => format!("; did you mean `{near}`?"),
        None => String::new(),
    };
    eprintln!(
        "warning: no feature `{}` in {}{hint}",
        args.feature, source.source
    );
    Ok(Outcome::Findings)
}

fn json_text(value: &FlagValue) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

fn is_url(location: &str) -> bool {
    location.starts_with("http://") || location.starts_with("https://")
}

/// One fetch with the library client: the same checks an application gets.
fn from_url(url: &str) -> Result<Source, Box<dyn std::error::Error>> {
    let client = Client::builder(url).poll_in_background(false).start();
    client.refresh()?;
    Ok(client.current().ok_or("the server sent no bundle")?)
}

/// A bundle file, checked against `<file>.sha256` when there is one.
fn from_file(path: &Path) -> Result<Source, Box<dyn std::error::Error>> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {name}: {e}"))?;
    let mut sidecar = path.as_os_str().to_owned();
    sidecar.push(".sha256");
    let expected = std::fs::read_to_string(std::path::PathBuf::from(sidecar))
        .ok()
        .and_then(|text| text.split_whitespace().next().map(str::to_owned));
    let flags = flags::read_bundle(&name, &bytes, expected.as_deref())?;
    Ok(to_source(flags, flags::sha256_hex(&bytes), name))
}

/// Compiles the bundle of a repository, from the same tree `build` would use. `None`
/// when the content has errors (they are printed).
fn from_repo(args: &FlagsEvalArgs) -> Result<Option<Source>, Box<dyn std::error::Error>> {
    let opened = repository::open(&args.repo, &args.source, repository::clock())?;
    repository::print_warnings(&opened.warnings);
    let loaded = crate::pipeline::load(&opened, &crate::content::ParseCache::default());
    let output = OutputArgs {
        format: Format::Short,
        color: crate::cli::ColorChoice::Never,
    };
    if loaded.diagnostics.has_errors() {
        print_diagnostics(&loaded.content.files, &loaded.diagnostics, &output)?;
        eprintln!("the content has errors: no bundle to evaluate");
        return Ok(None);
    }
    let published = flags::compile(&loaded.content).publish();
    let name = format!("{} (compiled)", args.repo.display());
    let flags = flags::read_bundle(&name, &published.json, Some(&published.sha256))?;
    Ok(Some(to_source(flags, published.sha256, name)))
}
