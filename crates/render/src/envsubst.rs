//! `$NAME` and `${NAME}` replaced the way Go's `os.Expand` does it, as Argo CD's
//! `Env.Envsubst` uses it for plugin `env` entries and Jsonnet variables: `$$` is a `$`, a `$`
//! before something that is no name stays, bad syntax (`${`, `${}`) is dropped.

/// Expands `value`, asking `lookup` for each name; the first error of `lookup` stops it.
pub fn expand_with<E>(
    value: &str,
    mut lookup: impl FnMut(&str) -> Result<String, E>,
) -> Result<String, E> {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let mut literal_from = 0;
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'$' && at + 1 < bytes.len() {
            out.push_str(&value[literal_from..at]);
            let (name, width) = shell_name(&value[at + 1..]);
            match name {
                "" if width == 0 => out.push('$'),
                "" => {}
                "$" => out.push('$'),
                name => out.push_str(&lookup(name)?),
            }
            at += width;
            literal_from = at + 1;
        }
        at += 1;
    }
    out.push_str(&value[literal_from.min(value.len())..]);
    Ok(out)
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
