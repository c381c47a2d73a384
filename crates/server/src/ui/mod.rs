//! The web UI: a static page of hand-written HTML, CSS and script, embedded in the binary and
//! served at `/ui/…` (and `/`, which leads there). It calls the same JSON API as the CLI, with
//! the session cookie; nothing is fetched from anywhere else (see [`SECURITY_HEADERS`]).

use axum::Router;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");
const ICON: &str = include_str!("assets/icon.svg");

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
        .route(
            "/ui/assets/app.js",
            get(|| asset(SCRIPT, "text/javascript; charset=utf-8")),
        )
        .route(
            "/ui/assets/app.css",
            get(|| asset(STYLE, "text/css; charset=utf-8")),
        )
        .route("/ui/assets/icon.svg", get(|| asset(ICON, "image/svg+xml")))
        .route(
            "/ui/assets/{*missing}",
            get(|| async { StatusCode::NOT_FOUND }),
        )
        // Every other page is the same document: the script shows the view its path names.
        .route("/ui/", get(page))
        .route("/ui/{*view}", get(page))
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
        for (name, text) in [
            ("index.html", INDEX),
            ("app.js", SCRIPT),
            ("app.css", STYLE),
        ] {
            for outside in ["http://", "https://", "//fonts.", "@import"] {
                assert!(!text.contains(outside), "{name} refers to {outside}");
            }
        }
        // The policy allows no inline script: every handler is attached by app.js.
        assert_eq!(INDEX.matches("<script").count(), 1);
        assert!(INDEX.contains("<script src=\"/ui/assets/app.js\" defer></script>"));
        assert!(!INDEX.contains("onclick") && !INDEX.contains("onload"));
        assert!(
            !SCRIPT.contains("innerHTML"),
            "views are built with DOM calls"
        );
    }
}
