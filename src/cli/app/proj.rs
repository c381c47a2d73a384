//! `driftless proj list|get`: the AppProjects, through the server or the cluster.

use super::appset::{NamedArgs, OutputArgs};
use super::output::{Output, print_data, print_names};
use super::table::{Cell, Fields, Table};
use super::view::{name_of, strings, text};
use crate::cli::app_source::CommandError;
use crate::cli::client::{self, AppBackend, ConnectArgs};
use clap::{Args, Subcommand};
use serde_json::Value;

#[derive(Debug, Args)]
pub struct ProjArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[command(subcommand)]
    pub command: ProjCommand,
}

#[derive(Debug, Subcommand)]
pub enum ProjCommand {
    /// List AppProjects (NAME DESCRIPTION DESTINATIONS SOURCES).
    List(OutputArgs),
    /// Show an AppProject: where its apps may deploy from and to, its roles and windows.
    Get(NamedArgs),
}

pub async fn run(args: ProjArgs) -> Result<bool, CommandError> {
    let backend = client::connect(&args.connect).await?;
    let colour = super::colour::enabled();
    match args.command {
        ProjCommand::List(a) => {
            let projects = backend.list_projects().await?;
            if !print_data(a.output, &Value::Array(projects.clone()))? {
                match a.output {
                    Output::Name => print_names(&projects),
                    _ => print!("{}", project_table(&projects).render(colour)),
                }
            }
        }
        ProjCommand::Get(a) => {
            let project = backend.get_project(&a.name).await?;
            if !print_data(a.output, &project)? {
                match a.output {
                    Output::Name => print_names(std::slice::from_ref(&project)),
                    _ => print!("{}", project_details(&project).render(colour)),
                }
            }
        }
    }
    Ok(true)
}

fn destinations(project: &Value) -> Vec<String> {
    project["spec"]["destinations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let cluster = match text(d, "/name") {
                "" => text(d, "/server"),
                name => name,
            };
            format!("{cluster},{}", text(d, "/namespace"))
        })
        .collect()
}

fn group_kinds(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|gk| format!("{}/{}", text(gk, "/group"), text(gk, "/kind")))
        .collect()
}

/// Up to three joined, else how many.
fn few(items: &[String], noun: &str) -> String {
    if items.len() > 3 {
        format!("{} {noun}", items.len())
    } else {
        items.join(", ")
    }
}

pub fn project_table(projects: &[Value]) -> Table {
    let mut table = Table::new(&["name", "description", "destinations", "sources"]);
    for project in projects {
        table.row(vec![
            Cell::plain(name_of(project)),
            Cell::plain(text(project, "/spec/description")),
            Cell::plain(few(&destinations(project), "destinations")),
            Cell::plain(few(
                &strings(&project["spec"]["sourceRepos"]),
                "repositories",
            )),
        ]);
    }
    table
}

pub fn project_details(project: &Value) -> Fields {
    let spec = &project["spec"];
    let mut fields = Fields::default();
    fields.add("Name", name_of(project));
    fields.add("Description", text(project, "/spec/description"));
    fields.add("Destinations", destinations(project).join("; "));
    fields.add("Repositories", strings(&spec["sourceRepos"]).join(", "));
    let namespaces = strings(&spec["sourceNamespaces"]);
    if !namespaces.is_empty() {
        fields.add("Source Namespaces", namespaces.join(", "));
    }
    fields.add(
        "Cluster Resources Allowed",
        group_kinds(&spec["clusterResourceWhitelist"]).join(", "),
    );
    let denied = group_kinds(&spec["namespaceResourceBlacklist"]);
    if !denied.is_empty() {
        fields.add("Namespace Resources Denied", denied.join(", "));
    }
    let roles: Vec<&str> = spec["roles"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| text(r, "/name"))
        .collect();
    if !roles.is_empty() {
        fields.add("Roles", roles.join(", "));
    }
    let windows: Vec<String> = spec["syncWindows"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|w| {
            format!(
                "{} {} for {}",
                text(w, "/kind"),
                text(w, "/schedule"),
                text(w, "/duration")
            )
        })
        .collect();
    if !windows.is_empty() {
        fields.add("Sync Windows", windows.join("; "));
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn the_list_joins_few_destinations_and_counts_many() {
        let project = json!({
            "metadata": {"name": "shop"},
            "spec": {"description": "the shop", "sourceRepos": ["*"],
                     "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "shop"}]},
        });
        let many: Vec<Value> = (0..4)
            .map(|i| json!({"server": "s", "namespace": format!("n{i}")}))
            .collect();
        let big =
            json!({"metadata": {"name": "big"}, "spec": {"destinations": many, "sourceRepos": []}});
        assert_eq!(
            project_table(&[project, big]).render(false),
            "NAME   DESCRIPTION   DESTINATIONS                          SOURCES\n\
             shop   the shop      https://kubernetes.default.svc,shop   *\n\
             big                  4 destinations\n"
        );
    }
}
