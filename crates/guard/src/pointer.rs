//! Building JSON pointers (RFC 6901) for finding paths.

/// `base` extended by one object key, escaping `~` and `/` as the RFC says.
pub(crate) fn key(base: &str, key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    format!("{base}/{escaped}")
}

/// `base` extended by one array index.
pub(crate) fn index(base: &str, index: usize) -> String {
    format!("{base}/{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_slashes_and_tildes_are_escaped() {
        assert_eq!(
            key("/metadata/annotations", "checksum/config"),
            "/metadata/annotations/checksum~1config"
        );
        assert_eq!(key("", "a~b"), "/a~0b");
        assert_eq!(index("/spec/containers", 2), "/spec/containers/2");
    }
}
