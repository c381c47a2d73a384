//! The parts of a repository URL that credentials and certificates are chosen by.

use std::collections::BTreeMap;

/// `host[:port]` of `url` (with or without a scheme), without user info or path.
pub fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    authority.rsplit('@').next().unwrap_or(authority)
}

/// Whether two absolute URLs name the same server.
pub fn same_host(a: &str, b: &str) -> bool {
    a.contains("://") && b.contains("://") && authority(a) == authority(b)
}

/// The extra CA certificates for `url`'s server from `tls_certs` (Argo CD's
/// `argocd-tls-certs-cm` data: PEM by host name, or by `host:port`).
pub fn ca_for(url: &str, tls_certs: &BTreeMap<String, String>) -> Option<String> {
    let authority = authority(url);
    let host = authority
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(authority, |(host, _)| host);
    tls_certs
        .get(host)
        .or_else(|| tls_certs.get(authority))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_compared_without_user_info_and_certificates_found_by_host() {
        assert_eq!(
            authority("https://robot@charts.example.com:8443/a"),
            "charts.example.com:8443"
        );
        assert_eq!(
            authority("registry.example.com/charts"),
            "registry.example.com"
        );
        assert!(same_host(
            "https://charts.example.com/a",
            "https://charts.example.com/b.tgz"
        ));
        assert!(!same_host(
            "https://charts.example.com",
            "https://cdn.example.com/b.tgz"
        ));
        let certs = BTreeMap::from([("charts.example.com".to_string(), "PEM".to_string())]);
        assert_eq!(
            ca_for("https://charts.example.com:8443/x", &certs).as_deref(),
            Some("PEM")
        );
        assert_eq!(ca_for("https://other.example.com", &certs), None);
    }
}
