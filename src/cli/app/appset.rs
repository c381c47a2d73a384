//! `driftless appset list|get|generate`: the ApplicationSets, through the server or the
//! cluster, and what one in a file would generate (through the server).

use super::output::{Output, print_data, print_names};
use super::table::{Cell, Fields, Table};
use super::view::{name_of, strings, text};
use crate::cli::app_source::CommandError;
use crate::cli::client::{self, AppBackend, ConnectArgs};
use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Args)]
pub struct AppsetArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: AppsetCommand,
}

#[derive(Debug, Subcommand)]
pub enum AppsetCommand {
    /// List ApplicationSets (NAME PROJECT GENERATORS CONDITIONS; -o wide adds REPO PATH TARGET).
    List(OutputArgs),
    /// Show an ApplicationSet: its generators, template, conditions and the apps it made.
    Get(NamedArgs),
    /// The Applications the ApplicationSet in FILE would generate, and what writing them would
    /// create, change or delete (nothing is written).
    Generate(GenerateArgs),
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// A YAML or JSON file holding one ApplicationSet.
    pub file: std::path::PathBuf,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Args)]
pub struct NamedArgs {
    pub name: String,
    #[arg(short = 'o', long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub async fn run(args: AppsetArgs) -> Result<bool, CommandError> {
    let backend = client::connect(&args.connect).await?;
    let colour = super::colour::enabled();
    match args.command {
        AppsetCommand::List(a) => {
            let appsets = backend.list_appsets().await?;
            if !print_data(a.output, &Value::Array(appsets.clone()))? {
                match a.output {
                    Output::Name => print_names(&appsets),
                    _ => print!("{}", appset_table(&appsets, a.output.wide()).render(colour)),
                }
            }
        }
        AppsetCommand::Get(a) => {
            let appset = backend.get_appset(&a.name).await?;
            if !print_data(a.output, &appset)? {
                match a.output {
                    Output::Name => print_names(std::slice::from_ref(&appset)),
                    _ => print!("{}", appset_details(&appset, colour)),
                }
            }
        }
        AppsetCommand::Generate(a) => {
            let appset = read_appset(&a.file)?;
            let answer = backend.generate_appset(&appset).await?;
            let apps = answer["applications"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !print_data(a.output, &Value::Array(apps.clone()))? {
                match a.output {
                    Output::Name => print_names(&apps),
                    _ => print!("{}", generated_table(&answer).render(colour)),
                }
            }
            for refused in answer["refused"].as_array().into_iter().flatten() {
                eprintln!(
                    "warning: application {} would be refused: {}",
                    text(refused, "/name"),
                    text(refused, "/message")
                );
            }
        }
    }
    Ok(true)
}

/// The one ApplicationSet of a YAML (or JSON) file.
fn read_appset(path: &std::path::Path) -> Result<Value, CommandError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CommandError::Usage(format!("failed to read {}: {e}", path.display())))?;
    let mut found = Vec::new();
    for document in serde_norway::Deserializer::from_str(&text) {
        let value = Value::deserialize(document).map_err(|e| {
            CommandError::Usage(format!("failed to read {} as YAML: {e}", path.display()))
        })?;
        if value["kind"] == "ApplicationSet" {
            found.push(value);
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        n => Err(CommandError::Usage(format!(
            "{} holds {n} ApplicationSets; give a file with exactly one",
            path.display()
        ))),
    }
}

/// NAME PROJECT DESTINATION REPO PATH CHANGE, the generated apps and then the ones deleted.
fn generated_table(answer: &Value) -> Table {
    let (create, update, delete) = (
        strings(&answer["create"]),
        strings(&answer["update"]),
        strings(&answer["delete"]),
    );
    let refused: Vec<&str> = answer["refused"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| text(r, "/name"))
        .collect();
    let mut table = Table::new(&["name", "project", "destination", "repo", "path", "change"]);
    for app in answer["applications"].as_array().into_iter().flatten() {
        let name = name_of(app);
        let change = if refused.contains(&name) {
            "refused"
        } else if create.iter().any(|n| n == name) {
            "create"
        } else if update.iter().any(|n| n == name) {
            "update"
        } else {
            "unchanged"
        };
        let destination = &app["spec"]["destination"];
        let cluster = match text(destination, "/name") {
            "" => text(destination, "/server"),
            name => name,
        };
        let source = match &app["spec"]["source"] {
            Value::Null => &app["spec"]["sources"][0],
            one => one,
        };
        table.row(vec![
            Cell::plain(name),
            Cell::plain(match text(app, "/spec/project") {
                "" => "default",
                p => p,
            }),
            Cell::plain(
                format!("{cluster} {}", text(destination, "/namespace"))
                    .trim()
                    .to_string(),
            ),
            Cell::plain(text(source, "/repoURL")),
            Cell::plain(text(source, "/path")),
            Cell::plain(change),
        ]);
    }
    for name in delete {
        table.row(vec![
            Cell::plain(name),
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain(""),
            Cell::plain("delete"),
        ]);
    }
    table
}

fn project_of(appset: &Value) -> &str {
    match text(appset, "/spec/template/spec/project") {
        "" => "default",
        project => project,
    }
}

/// The kinds of the generators: `list`, `git`, `matrix` …
fn generators_of(appset: &Value) -> String {
    let kinds: Vec<String> = appset["spec"]["generators"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g.as_object())
        .flat_map(|g| g.keys().filter(|k| *k != "selector").cloned())
        .collect();
    kinds.join(",")
}

/// The conditions that hold (status True).
fn conditions_of(appset: &Value) -> String {
    let held: Vec<&str> = appset["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| text(c, "/status") == "True")
        .map(|c| text(c, "/type"))
        .collect();
    held.join(",")
}

pub fn appset_table(appsets: &[Value], wide: bool) -> Table {
    let mut headers = vec!["name", "project", "generators", "conditions"];
    if wide {
        headers.extend(["repo", "path", "target"]);
    }
    let mut table = Table::new(&headers);
    for appset in appsets {
        let mut row = vec![
            Cell::plain(name_of(appset)),
            Cell::plain(project_of(appset)),
            Cell::plain(generators_of(appset)),
            Cell::plain(conditions_of(appset)),
        ];
        if wide {
            let source = &appset["spec"]["template"]["spec"]["source"];
            row.push(Cell::plain(text(source, "/repoURL")));
            row.push(Cell::plain(text(source, "/path")));
            row.push(Cell::plain(text(source, "/targetRevision")));
        }
        table.row(row);
    }
    table
}

pub fn appset_details(appset: &Value, colour: bool) -> String {
    let mut fields = Fields::default();
    fields.add("Name", name_of(appset));
    fields.add("Project", project_of(appset));
    fields.add("Generators", generators_of(appset));
    let template = &appset["spec"]["template"];
    fields.add("Application Name", text(template, "/metadata/name"));
    let source = &template["spec"]["source"];
    if source.is_object() {
        fields.add("Repo", text(source, "/repoURL"));
        fields.add("Target", text(source, "/targetRevision"));
        fields.add("Path", text(source, "/path"));
    }
    let destination = &template["spec"]["destination"];
    let cluster = match text(destination, "/name") {
        "" => text(destination, "/server"),
        name => name,
    };
    fields.add(
        "Destination",
        format!("{cluster} {}", text(destination, "/namespace"))
            .trim()
            .to_string(),
    );
    let mut out = fields.render(colour);
    let mut conditions = Table::new(&["type", "status", "message", "last transition"]);
    for condition in appset["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        conditions.row(vec![
            Cell::plain(text(condition, "/type")),
            Cell::plain(text(condition, "/status")),
            Cell::plain(text(condition, "/message").replace('\n', " ")),
            Cell::plain(text(condition, "/lastTransitionTime")),
        ]);
    }
    if !conditions.is_empty() {
        out.push('\n');
        out.push_str(&conditions.render(colour));
    }
    let mut apps = Table::new(&["application", "status", "health"]);
    for app in appset["status"]["resources"]
        .as_array()
        .into_iter()
        .flatten()
    {
        apps.row(vec![
            Cell::plain(text(app, "/name")),
            Cell::status(text(app, "/status")),
            Cell::status(text(app, "/health/status")),
        ]);
    }
    if !apps.is_empty() {
        out.push('\n');
        out.push_str(&apps.render(colour));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn the_generated_table_says_what_each_app_would_undergo() {
        let app = |name: &str| {
            json!({"metadata": {"name": name}, "spec": {"project": "shop",
                "destination": {"server": "https://kubernetes.default.svc", "namespace": name},
                "source": {"repoURL": "https://git/x", "path": format!("apps/{name}")}}})
        };
        let answer = json!({
            "applications": [app("a"), app("b"), app("c"), app("d")],
            "create": ["a"], "update": ["b"], "delete": ["old"],
            "refused": [{"name": "d", "message": "project shop does not allow it"}],
        });
        assert_eq!(
            generated_table(&answer).render(false),
            "NAME   PROJECT   DESTINATION                        REPO            PATH     CHANGE\n\
             a      shop      https://kubernetes.default.svc a   https://git/x   apps/a   create\n\
             b      shop      https://kubernetes.default.svc b   https://git/x   apps/b   update\n\
             c      shop      https://kubernetes.default.svc c   https://git/x   apps/c   unchanged\n\
             d      shop      https://kubernetes.default.svc d   https://git/x   apps/d   refused\n\
             old                                                                          delete\n"
        );
    }

    #[test]
    fn the_list_names_generators_and_the_conditions_that_hold() {
        let appset = json!({
            "metadata": {"name": "guestbook"},
            "spec": {"generators": [{"list": {"elements": []}}, {"git": {}}],
                     "template": {"spec": {"project": "shop", "source": {"repoURL": "r", "path": "p", "targetRevision": "HEAD"}}}},
            "status": {"conditions": [{"type": "ResourcesUpToDate", "status": "True"}, {"type": "ErrorOccurred", "status": "False"}]},
        });
        assert_eq!(
            appset_table(&[appset], true).render(false),
            "NAME        PROJECT   GENERATORS   CONDITIONS          REPO   PATH   TARGET\n\
             guestbook   shop      list,git     ResourcesUpToDate   r      p      HEAD\n"
        );
    }
}
