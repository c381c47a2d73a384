//! `driftless check`: renders the whole App-of-Apps tree offline, twice per app to catch
//! volatile fields, runs every guard rule and prints the findings.
//! Exit 0 when no finding is an error, 1 when one is, 2 when the tree cannot be rendered.

use super::app_source::CommandError;
use super::tree::{self, Renders, TreeArgs};
use clap::{Args, ValueEnum};
use driftless_guard::{Finding, Options, RULES, Severity};
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// `text`: one line per finding and a summary; `json`: an array of findings.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Print every rule (id, severity, description) and exit without rendering.
    #[arg(long)]
    pub list_rules: bool,
    /// A Linux capability containers may add back after dropping ALL, besides
    /// NET_BIND_SERVICE (rule drop-all-capabilities); repeat for more.
    #[arg(long = "allow-capability", value_name = "NAME")]
    pub allow_capability: Vec<String>,
}

pub fn run(args: CheckArgs) -> Result<bool, CommandError> {
    if args.list_rules {
        print!("{}", list_rules(args.format)?);
        return Ok(true);
    }
    let rendered = tree::render_tree(&args.tree, Renders::Twice)
        .map_err(|e| CommandError::Usage(e.to_string()))?;
    for note in &rendered.notes {
        eprintln!("warning: {note}");
    }
    let options = Options::allowing_capabilities(args.allow_capability.iter().cloned());
    let mut findings = driftless_guard::check_with(&rendered.tree, &options);
    findings.extend(rendered.volatile);
    findings.sort_by(|a, b| {
        (&a.app, &a.object, &a.rule, &a.path).cmp(&(&b.app, &b.object, &b.rule, &b.path))
    });
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&findings).map_err(|e| {
                CommandError::Failed(format!("failed to write the findings as JSON: {e}"))
            })?;
            println!("{text}");
        }
        Format::Text => {
            for finding in &findings {
                println!("{}", text_line(finding));
            }
            println!(
                "{}",
                summary(&findings, rendered.apps.len(), rendered.tree.objects.len())
            );
        }
    }
    Ok(!findings.iter().any(|f| f.severity == Severity::Error))
}

/// `severity rule app object path: message`; further lines of the message are indented.
fn text_line(f: &Finding) -> String {
    let place = if f.path.is_empty() {
        f.object.clone()
    } else {
        format!("{} {}", f.object, f.path)
    };
    let message = f.message.replace('\n', "\n    ");
    format!("{} {} {} {place}: {message}", f.severity, f.rule, f.app)
}

fn summary(findings: &[Finding], apps: usize, objects: usize) -> String {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} ({}, {}) in {}, {}",
        plural(findings.len(), "finding"),
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(apps, "app"),
        plural(objects, "object")
    )
}

/// The rule table: aligned columns, or a JSON array of `{rule, severity, description}`
/// (the README's rule table is made from the latter).
fn list_rules(format: Format) -> Result<String, CommandError> {
    match format {
        Format::Json => {
            let rows: Vec<_> = RULES
                .iter()
                .map(|(id, severity, description)| json!({"rule": id, "severity": severity, "description": description}))
                .collect();
            serde_json::to_string_pretty(&rows)
                .map(|text| text + "\n")
                .map_err(|e| {
                    CommandError::Failed(format!("failed to write the rules as JSON: {e}"))
                })
        }
        Format::Text => {
            let width = RULES.iter().map(|r| r.0.len()).max().unwrap_or(0);
            let mut out = format!("{:width$}  {:8}  DESCRIPTION\n", "RULE", "SEVERITY");
            for (id, severity, description) in RULES {
                out.push_str(&format!("{id:width$}  {severity:8}  {description}\n"));
            }
            Ok(out)
        }
    }
}
