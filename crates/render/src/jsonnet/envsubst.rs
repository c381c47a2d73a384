//! Argo CD's build environment in Jsonnet variables: `$NAME` and `${NAME}` are replaced
//! the way Go's `os.Expand` does it (Argo CD's `Env.Envsubst`): an unknown name becomes
//! the empty string and `$$` is a `$`.

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
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut literal_from = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'$' && at + 1 < bytes.len() {
            out.push_str(&value[literal_from..at]);
            let (name, width) = shell_name(&value[at + 1..]);
            if name.is_empty() && width == 0 {
                // `$` before something that is no name stays as it is.
                out.push('$');
            } else if !name.is_empty() {
                out.push_str(&lookup(name, env)?);
            }
            // Otherwise bad syntax (`${`, `${}`): Go drops it.
            at += width;
            literal_from = at + 1;
        }
        at += 1;
    }
    out.push_str(&value[literal_from.min(value.len())..]);
    Ok(out)
}

fn lookup(name: &str, env: &BTreeMap<String, String>) -> Result<String, String> {
    if name == "$" {
        return Ok("$".into());
    }
    if let Some(value) = env.get(name) {
        return Ok(value.clone());
    }
    if UNKNOWN_AT_RENDER.contains(&name) {
        return Err(name.to_string());
    }
    Ok(String::new())
}

/// The name after a `$` and how many bytes it takes, as Go's `getShellName`.
fn shell_name(rest: &str) -> (&str, usize) {
    let bytes = rest.as_bytes();
    if bytes[0] == b'{' {
        if bytes.len() > 2 && is_special(bytes[1]) && bytes[2] == b'}' {
            return (&rest[1..2], 3);
        }
        return match bytes.iter().skip(1).position(|b| *b == b'}') {
            Some(0) => ("", 2),
            Some(i) => (&rest[1..=i], i + 2),
            None => ("", 1),
        };
    }
    if is_special(bytes[0]) {
        return (&rest[0..1], 1);
    }
    let len = bytes
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    (&rest[..len], len)
}

fn is_special(b: u8) -> bool {
    matches!(
        b,
        b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-' | b'0'..=b'9'
    )
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
