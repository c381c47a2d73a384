//! The web UI: a static page of hand-written HTML, CSS and script, embedded in the binary and
//! served at `/ui/…` (and `/`, which leads there). It calls the same JSON API as the CLI, with
//! the session cookie; nothing is fetched from anywhere else (see [`SECURITY_HEADERS`]).

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const INDEX: &str = include_str!("assets/index.html");

const SCRIPT: &str = "text/javascript; charset=utf-8";

/// Every file under `/ui/assets/`: its name, its content type and its text. The scripts are
/// modules; main.js imports the rest.
const ASSETS: &[(&str, &str, &str)] = &[
    ("main.js", SCRIPT, include_str!("assets/main.js")),
    ("core.js", SCRIPT, include_str!("assets/core.js")),
    ("login.js", SCRIPT, include_str!("assets/login.js")),
    ("list.js", SCRIPT, include_str!("assets/list.js")),
    ("app.js", SCRIPT, include_str!("assets/app.js")),
    ("diff.js", SCRIPT, include_str!("assets/diff.js")),
    ("tree.js", SCRIPT, include_str!("assets/tree.js")),
    ("appsets.js", SCRIPT, include_str!("assets/appsets.js")),
    ("revision.js", SCRIPT, include_str!("assets/revision.js")),
    ("audit.js", SCRIPT, include_str!("assets/audit.js")),
    ("resources.js", SCRIPT, include_str!("assets/resources.js")),
    (
        "sync_dialog.js",
        SCRIPT,
        include_str!("assets/sync_dialog.js"),
    ),
    ("history.js", SCRIPT, include_str!("assets/history.js")),
    ("events.js", SCRIPT, include_str!("assets/events.js")),
    (
        "conditions.js",
        SCRIPT,
        include_str!("assets/conditions.js"),
    ),
    ("dialog.js", SCRIPT, include_str!("assets/dialog.js")),
    ("yaml.js", SCRIPT, include_str!("assets/yaml.js")),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("assets/app.css"),
    ),
    ("icon.svg", "image/svg+xml", include_str!("assets/icon.svg")),
];

/// Only this server's own scripts, styles and API: no inline script, no CDN, no framing.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::CONTENT_SECURITY_POLICY, POLICY),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    // The assets change with the binary, which is rare; a reload after an upgrade must see them.
    (header::CACHE_CONTROL, "no-cache"),
];

pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/ui/applications") }))
        .route("/ui", get(|| async { Redirect::to("/ui/applications") }))
        .route("/ui/assets/{*file}", get(named_asset))
        // Every other page is the same document: the script shows the view its path names.
        .route("/ui/", get(page))
        .route("/ui/{*view}", get(page))
}

async fn named_asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, kind, body)) => asset(body, kind).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn page() -> Response {
    asset(INDEX, "text/html; charset=utf-8").await
}

async fn asset(body: &'static str, kind: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_nothing_from_elsewhere_and_runs_no_inline_script() {
        for (name, _, text) in ASSETS.iter().chain([&("index.html", "", INDEX)]) {
            // An SVG names its XML namespace by URL; that fetches nothing.
            let text = text.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
            for outside in ["http://", "https://", "//fonts.", "@import"] {
                assert!(!text.contains(outside), "{name} refers to {outside}");
            }
        }
        // The policy allows no inline script: every handler is attached by the modules.
        assert_eq!(INDEX.matches("<script").count(), 1);
        assert!(INDEX.contains("<script type=\"module\" src=\"/ui/assets/main.js\"></script>"));
        assert!(!INDEX.contains("onclick") && !INDEX.contains("onload"));
        for (name, kind, text) in ASSETS {
            if *kind == SCRIPT {
                assert!(
                    !text.contains("innerHTML"),
                    "{name}: views are built with DOM calls"
                );
            }
        }
    }

    #[test]
    fn every_module_a_script_imports_is_served() {
        for (name, _, text) in ASSETS.iter().filter(|(_, kind, _)| *kind == SCRIPT) {
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let Some(module) = line
                    .split("\"./")
                    .nth(1)
                    .and_then(|rest| rest.split('"').next())
                else {
                    panic!("{name}: an import that is not a sibling module: {line}");
                };
                assert!(
                    ASSETS.iter().any(|(served, _, _)| *served == module),
                    "{name} imports {module}, which is not served"
                );
            }
        }
    }
}
