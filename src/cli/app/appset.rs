//! `driftless appset list|get`: the ApplicationSets, through the server or the cluster.

use super::output::{Output, print_data, print_names};
use super::table::{Cell, Fields, Table};
use super::view::{name_of, text};
use crate::cli::app_source::CommandError;
use crate::cli::client::{self, AppBackend, ConnectArgs};
use clap::{Args, Subcommand};
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
    }
    Ok(true)
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
