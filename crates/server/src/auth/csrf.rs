//! Cross-site request forgery: a browser sends the session cookie with any request to this
//! server, also one another site's page starts (a form posted from a sibling subdomain is
//! same-site, so `SameSite` alone does not stop it). A request that changes something and is
//! authenticated by the cookie alone must also carry [`HEADER`]: a form cannot set a header,
//! and a script of another origin cannot either without a CORS preflight this server never
//! grants. Bearer tokens (the CLI, API clients) are not sent by browsers on their own, so
//! they need no such header.

use axum::http::{HeaderMap, Method};

/// The header the UI's script sends with every request that changes something.
pub const HEADER: &str = "x-driftless-csrf";

/// Why a request is refused.
pub const REFUSED: &str = "a request authenticated by the session cookie that changes something needs the x-driftless-csrf header";

/// Whether a request must be refused as a possible forgery.
pub fn forged(method: &Method, headers: &HeaderMap) -> bool {
    let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    let cookie_only = !headers.contains_key(axum::http::header::AUTHORIZATION)
        && super::cookie(headers, super::COOKIE).is_some();
    changes && cookie_only && !headers.contains_key(HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::header::{AUTHORIZATION, COOKIE};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    #[test]
    fn only_a_changing_request_on_the_cookie_alone_needs_the_header() {
        let cookie = (COOKIE.as_str(), "argocd.token=abc");
        let cases = [
            (Method::POST, headers(&[cookie]), true),
            (Method::DELETE, headers(&[cookie]), true),
            (Method::POST, headers(&[cookie, (HEADER, "1")]), false),
            (Method::GET, headers(&[cookie]), false),
            (
                Method::POST,
                headers(&[cookie, (AUTHORIZATION.as_str(), "Bearer abc")]),
                false,
            ),
            (Method::POST, headers(&[]), false),
            (
                Method::POST,
                headers(&[(COOKIE.as_str(), "other=1")]),
                false,
            ),
        ];
        for (method, headers, expected) in cases {
            assert_eq!(forged(&method, &headers), expected, "{method} {headers:?}");
        }
    }
}
