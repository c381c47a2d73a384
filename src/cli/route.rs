//! `driftless route`: which destination a request for HOST and PATH reaches in the rendered
//! tree, and why, the way Istio's VirtualServices decide it.
//! Exit 0 when a route takes the request, 1 when none does (Istio answers 404), 2 when the
//! tree cannot be rendered.

use super::app_source::CommandError;
use super::check::Format;
use super::tree::{self, Renders, TreeArgs};
use clap::Args;
use driftless_guard::{Request, RouteAction, RouteResult};

#[derive(Debug, Args)]
pub struct RouteArgs {
    #[command(flatten)]
    pub tree: TreeArgs,
    /// The request's host (a `:port` suffix is ignored).
    #[arg(long)]
    pub host: String,
    /// The request's path, optionally with `?query`.
    #[arg(long, default_value = "/")]
    pub path: String,
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// A request header, `Name: value`; repeat for several.
    #[arg(long = "header", value_name = "NAME: VALUE")]
    pub headers: Vec<String>,
    /// `text`: the destinations and the explanation; `json`: the whole result.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

pub fn run(args: RouteArgs) -> Result<bool, CommandError> {
    let mut request = Request::new(&args.host, &args.path);
    request.method = args.method.to_ascii_uppercase();
    for header in &args.headers {
        let (name, value) = header.split_once(':').ok_or_else(|| {
            CommandError::Usage(format!(
                "failed to read --header {header:?}: expected `Name: value`"
            ))
        })?;
        request
            .headers
            .insert(name.trim().to_string(), value.trim().to_string());
    }
    let rendered = tree::render_tree(&args.tree, Renders::Once)
        .map_err(|e| CommandError::Usage(e.to_string()))?;
    for note in &rendered.notes {
        eprintln!("warning: {note}");
    }
    let result = driftless_guard::route_request(&rendered.tree, &request);
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&result).map_err(|e| {
                CommandError::Failed(format!("failed to write the route as JSON: {e}"))
            })?;
            println!("{text}");
        }
        Format::Text => print!("{}", describe(&result)),
    }
    Ok(is_routed(&result))
}

/// A route took the request: it is forwarded somewhere, redirected, answered or delegated.
fn is_routed(result: &RouteResult) -> bool {
    match &result.action {
        RouteAction::NoRoute => false,
        RouteAction::Forward { destinations } => !destinations.is_empty(),
        RouteAction::Redirect { .. }
        | RouteAction::DirectResponse { .. }
        | RouteAction::Delegate { .. } => true,
    }
}

fn describe(result: &RouteResult) -> String {
    let mut out = String::new();
    match &result.action {
        RouteAction::NoRoute => out.push_str("no route: Istio answers 404\n"),
        RouteAction::Forward { destinations } if destinations.is_empty() => {
            out.push_str("no destination: the route forwards nowhere\n");
        }
        RouteAction::Forward { destinations } => {
            for d in destinations {
                let port = d.port.map(|p| format!(":{p}")).unwrap_or_default();
                let subset = d
                    .subset
                    .as_ref()
                    .map(|s| format!(" subset {s}"))
                    .unwrap_or_default();
                let target = d.resolves_to.as_deref().unwrap_or("nothing in the tree");
                out.push_str(&format!(
                    "destination: {}{port}{subset} ({}%) → {target}\n",
                    d.host, d.weight
                ));
            }
        }
        RouteAction::Redirect {
            uri,
            authority,
            status,
        } => {
            let to = [authority.as_deref(), uri.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("");
            out.push_str(&format!(
                "redirect: {status} to {}\n",
                if to.is_empty() { "the same URL" } else { &to }
            ));
        }
        RouteAction::DirectResponse { status } => {
            out.push_str(&format!("direct response: {status}\n"))
        }
        RouteAction::Delegate { virtual_service } => {
            out.push_str(&format!("delegated: to VirtualService {virtual_service}\n"));
        }
    }
    if let Some(vs) = &result.virtual_service {
        let app = result.app.as_deref().unwrap_or("");
        let http = result
            .http_index
            .map(|i| format!(" http[{i}]"))
            .unwrap_or_default();
        let matched = result
            .match_index
            .map(|i| format!(" match[{i}]"))
            .unwrap_or_default();
        out.push_str(&format!("route: {vs}{http}{matched} (app {app})\n"));
    }
    out.push_str("why:\n");
    for line in &result.explanation {
        out.push_str(&format!("  {line}\n"));
    }
    out
}
