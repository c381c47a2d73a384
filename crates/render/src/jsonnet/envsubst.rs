//! Argo CD's build environment in Jsonnet variables ([`crate::envsubst`]): an unknown name
//! becomes the empty string, one driftless cannot know yet is an error.

use std::collections::BTreeMap;

/// Variables Argo CD sets that driftless may not know when it picks the render parameters
/// (the project; the commit of files not read from git); expanding one that `env` lacks is
/// an error, not a guess.
pub const UNKNOWN_AT_RENDER: [&str; 4] = [
    "ARGOCD_APP_REVISION",
    "ARGOCD_APP_REVISION_SHORT",
    "ARGOCD_APP_REVISION_SHORT_8",
    "ARGOCD_APP_PROJECT_NAME",
];

/// Expands `value` with `env`; `Err(name)` when it names a variable of [`UNKNOWN_AT_RENDER`]
/// that `env` does not have.
pub fn expand(value: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    crate::envsubst::expand_with(value, |name| match env.get(name) {
        Some(value) => Ok(value.clone()),
        None if UNKNOWN_AT_RENDER.contains(&name) => Err(name.to_string()),
        None => Ok(String::new()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> BTreeMap<String, String> {
        [("ARGOCD_APP_NAME", "web"), ("ARGOCD_APP_NAMESPACE", "shop")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expands_like_go_os_expand() {
        let cases = [
            ("$ARGOCD_APP_NAME", "web"),
            ("${ARGOCD_APP_NAMESPACE}-x", "shop-x"),
            ("pre-$ARGOCD_APP_NAME.svc", "pre-web.svc"),
            ("cost $$5", "cost $5"),
            ("$UNSET!", "!"),
            ("a$", "a$"),
            ("a$ b", "a$ b"),
            ("x${}y", "xy"),
            ("x${y", "xy"),
            ("$1st", "st"),
            ("plain", "plain"),
            ("ünï$ARGOCD_APP_NAME⚙", "ünïweb⚙"),
        ];
        for (input, want) in cases {
            assert_eq!(expand(input, &env()).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn variables_unknown_at_render_time_are_errors() {
        assert_eq!(
            expand("v-${ARGOCD_APP_REVISION_SHORT}", &env()),
            Err("ARGOCD_APP_REVISION_SHORT".to_string())
        );
    }
}
