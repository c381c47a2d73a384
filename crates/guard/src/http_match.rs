//! One entry of a VirtualService's `http[].match[]`: a conjunction of conditions. Used to
//! decide whether an earlier match covers (shadows) a later one, and whether a request matches.

use crate::istio::gateways_of;
use crate::string_match::StrMatch;
use serde_json::Value;
use std::collections::BTreeMap;

/// Fields of HTTPMatchRequest that do not change which requests match.
const NEUTRAL_FIELDS: [&str; 2] = ["name", "statPrefix"];

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct HttpMatch {
    pub uri: Option<StrMatch>,
    pub ignore_uri_case: bool,
    pub scheme: Option<StrMatch>,
    pub method: Option<StrMatch>,
    pub authority: Option<StrMatch>,
    /// Header names lower-cased, as Istio requires.
    pub headers: BTreeMap<String, StrMatch>,
    pub without_headers: BTreeMap<String, StrMatch>,
    pub query_params: BTreeMap<String, StrMatch>,
    pub port: Option<u64>,
    pub source_labels: BTreeMap<String, String>,
    pub source_namespace: Option<String>,
    /// Gateways this match applies to (its own list, else the VirtualService's), as `ns/name` or `mesh`.
    pub gateways: Vec<String>,
    /// Conditions that could not be read; such a match is never claimed to cover another.
    pub unreadable: Vec<String>,
}

impl HttpMatch {
    /// A route without `match`: every request through the VirtualService's gateways.
    pub fn catch_all(vs_gateways: &[String]) -> Self {
        Self {
            gateways: vs_gateways.to_vec(),
            ..Self::default()
        }
    }

    pub fn parse(value: &Value, vs_namespace: &str, vs_gateways: &[String]) -> Self {
        let mut m = Self::catch_all(vs_gateways);
        let Some(map) = value.as_object() else {
            m.unreadable.push("match".into());
            return m;
        };
        for (field, v) in map {
            let ok = match field.as_str() {
                "uri" => set(&mut m.uri, v),
                "scheme" => set(&mut m.scheme, v),
                "method" => set(&mut m.method, v),
                "authority" => set(&mut m.authority, v),
                "headers" => read_map(&mut m.headers, v, true),
                "withoutHeaders" => read_map(&mut m.without_headers, v, true),
                "queryParams" => read_map(&mut m.query_params, v, false),
                "ignoreUriCase" => v.as_bool().map(|b| m.ignore_uri_case = b).is_some(),
                "port" => v.as_u64().map(|p| m.port = Some(p)).is_some(),
                "sourceNamespace" => v
                    .as_str()
                    .map(|s| m.source_namespace = Some(s.to_string()))
                    .is_some(),
                "sourceLabels" => v.as_object().is_some_and(|labels| {
                    m.source_labels = labels
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect();
                    m.source_labels.len() == labels.len()
                }),
                "gateways" => {
                    if v.as_array().is_some_and(|a| !a.is_empty()) {
                        m.gateways = gateways_of(Some(v), vs_namespace);
                    }
                    true
                }
                other => NEUTRAL_FIELDS.contains(&other),
            };
            if !ok {
                m.unreadable.push(field.clone());
            }
        }
        m
    }

    /// The uri condition that constrains anything: every path starts with "/", so prefix "/"
    /// (or a regex spelling it) is no condition.
    fn effective_uri(&self) -> Option<&StrMatch> {
        self.uri
            .as_ref()
            .filter(|u| !u.is_universal() && u.literal_form() != StrMatch::Prefix("/".into()))
    }

    /// True when every request this `later` match accepts is accepted by `self` first.
    /// Each condition `self` has must be at least as loose as the same condition in `later`.
    pub fn covers(&self, later: &HttpMatch) -> bool {
        if !self.unreadable.is_empty() {
            return false;
        }
        let string_ok =
            |mine: Option<&StrMatch>, theirs: Option<&StrMatch>, ci: (bool, bool)| match (
                mine, theirs,
            ) {
                (None, _) => true,
                (Some(a), Some(b)) => a.covers(b, ci.0, ci.1),
                (Some(a), None) => a.is_universal(),
            };
        let maps_ok = |mine: &BTreeMap<String, StrMatch>, theirs: &BTreeMap<String, StrMatch>| {
            mine.iter()
                .all(|(name, a)| theirs.get(name).is_some_and(|b| a.covers(b, false, false)))
        };
        string_ok(self.effective_uri(), later.effective_uri(), (self.ignore_uri_case, later.ignore_uri_case))
            && string_ok(self.scheme.as_ref(), later.scheme.as_ref(), (false, false))
            && string_ok(self.method.as_ref(), later.method.as_ref(), (false, false))
            && string_ok(self.authority.as_ref(), later.authority.as_ref(), (false, false))
            && maps_ok(&self.headers, &later.headers)
            && maps_ok(&self.query_params, &later.query_params)
            // "without h matching y" covers "without h matching x" when x covers y.
            && self.without_headers.iter().all(|(name, y)| later.without_headers.get(name).is_some_and(|x| x.covers(y, false, false)))
            && (self.port.is_none() || self.port == later.port)
            && self.source_labels.iter().all(|(k, v)| later.source_labels.get(k) == Some(v))
            && (self.source_namespace.is_none() || self.source_namespace == later.source_namespace)
            && later.gateways.iter().all(|g| self.gateways.contains(g))
    }

    /// The conditions in words, e.g. `uri prefix "/api", header x-canary present`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(uri) = &self.uri {
            parts.push(format!(
                "uri {}{}",
                uri.describe(),
                if self.ignore_uri_case {
                    " (any case)"
                } else {
                    ""
                }
            ));
        }
        for (name, cond) in [
            ("scheme", &self.scheme),
            ("method", &self.method),
            ("authority", &self.authority),
        ] {
            if let Some(c) = cond {
                parts.push(format!("{name} {}", c.describe()));
            }
        }
        parts.extend(
            self.headers
                .iter()
                .map(|(h, c)| format!("header {h} {}", c.describe())),
        );
        parts.extend(
            self.without_headers
                .iter()
                .map(|(h, c)| format!("without header {h} {}", c.describe())),
        );
        parts.extend(
            self.query_params
                .iter()
                .map(|(q, c)| format!("query {q} {}", c.describe())),
        );
        if let Some(port) = self.port {
            parts.push(format!("port {port}"));
        }
        if !self.source_labels.is_empty() {
            parts.push("source labels".into());
        }
        if let Some(ns) = &self.source_namespace {
            parts.push(format!("source namespace {ns}"));
        }
        parts.extend(
            self.unreadable
                .iter()
                .map(|f| format!("{f} (not understood)")),
        );
        if parts.is_empty() {
            "any request".to_string()
        } else {
            parts.join(", ")
        }
    }
}

fn set(slot: &mut Option<StrMatch>, value: &Value) -> bool {
    *slot = StrMatch::parse(value);
    slot.is_some()
}

fn read_map(map: &mut BTreeMap<String, StrMatch>, value: &Value, lower_names: bool) -> bool {
    let Some(entries) = value.as_object() else {
        return false;
    };
    for (name, cond) in entries {
        let Some(cond) = StrMatch::parse(cond) else {
            return false;
        };
        let name = if lower_names {
            name.to_ascii_lowercase()
        } else {
            name.clone()
        };
        map.insert(name, cond);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: Value) -> HttpMatch {
        HttpMatch::parse(&v, "shop", &["mesh".to_string()])
    }

    #[test]
    fn prefix_slash_covers_everything_including_catch_all() {
        let root = m(json!({"uri": {"prefix": "/"}}));
        assert!(root.covers(&m(json!({"uri": {"prefix": "/api"}}))));
        assert!(root.covers(&HttpMatch::catch_all(&["mesh".to_string()])));
        assert!(root.covers(&m(json!({"headers": {"x-canary": {"exact": "1"}}}))));
    }

    #[test]
    fn extra_conditions_make_the_earlier_match_narrower() {
        let canary_api = m(json!({"uri": {"prefix": "/api"}, "headers": {"X-Canary": {}}}));
        let api = m(json!({"uri": {"prefix": "/api"}}));
        assert!(!canary_api.covers(&api));
        assert!(api.covers(&canary_api));
        let canary_v1 =
            m(json!({"uri": {"prefix": "/api/v1"}, "headers": {"x-canary": {"exact": "yes"}}}));
        assert!(canary_api.covers(&canary_v1));
        let get = m(json!({"uri": {"prefix": "/api"}, "method": {"exact": "GET"}}));
        assert!(!get.covers(&api));
    }

    #[test]
    fn gateways_and_unreadable_fields_limit_coverage() {
        let gws = ["istio-system/public".to_string()];
        let public_only = HttpMatch::parse(
            &json!({"gateways": ["istio-system/public"]}),
            "shop",
            &["mesh".to_string()],
        );
        let mesh_and_public =
            HttpMatch::parse(&json!({}), "shop", &["mesh".to_string(), gws[0].clone()]);
        assert!(!public_only.covers(&mesh_and_public));
        assert!(mesh_and_public.covers(&public_only));
        let odd = m(json!({"uri": {"prefix": "/"}, "futureField": 1}));
        assert!(!odd.covers(&m(json!({"uri": {"prefix": "/api"}}))));
        assert!(!m(json!({"port": 443})).covers(&m(json!({}))));
    }
}
