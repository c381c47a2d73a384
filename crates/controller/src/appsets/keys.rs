//! What an ApplicationSet shares with the Application controller's git polling (pure): the
//! repositories its git generators read.

use serde_json::Value;

/// One git generator: which top-level generator holds it, and what it reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSource {
    /// Index in `spec.generators` (of the matrix or merge that holds it, if nested).
    pub generator: usize,
    pub repo_url: String,
    pub revision: String,
}

/// The git generators of `spec.generators` (as JSON), matrix and merge children included.
/// A `repoURL` with a template placeholder (a matrix child's, filled from the first child's
/// parameters) is known only while generating and is left out.
pub fn git_sources(generators: &Value) -> Vec<GitSource> {
    let mut found = Vec::new();
    for (index, generator) in generators.as_array().into_iter().flatten().enumerate() {
        visit(generator, index, &mut found);
    }
    found
}

fn visit(generator: &Value, index: usize, found: &mut Vec<GitSource>) {
    if let Some(repo_url) = generator["git"]["repoURL"]
        .as_str()
        .filter(|u| !u.is_empty() && !u.contains("{{"))
    {
        let revision = generator["git"]["revision"].as_str().unwrap_or("HEAD");
        found.push(GitSource {
            generator: index,
            repo_url: repo_url.to_string(),
            revision: if revision.is_empty() {
                "HEAD"
            } else {
                revision
            }
            .to_string(),
        });
    }
    for combining in ["matrix", "merge"] {
        for child in generator[combining]["generators"]
            .as_array()
            .into_iter()
            .flatten()
        {
            visit(child, index, found);
        }
    }
}

/// The distinct repository URLs of `sources`, in first-seen order.
pub fn repo_urls(sources: &[GitSource]) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for source in sources {
        if !urls.contains(&source.repo_url) {
            urls.push(source.repo_url.clone());
        }
    }
    urls
}

/// Whether a clusters generator is used anywhere (then the cluster Secrets are read).
pub fn uses_clusters(generators: &Value) -> bool {
    generators
        .as_array()
        .into_iter()
        .flatten()
        .any(uses_clusters_in)
}

fn uses_clusters_in(generator: &Value) -> bool {
    generator.get("clusters").is_some_and(|c| !c.is_null())
        || ["matrix", "merge"].iter().any(|combining| {
            generator[*combining]["generators"]
                .as_array()
                .into_iter()
                .flatten()
                .any(uses_clusters_in)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn git_generators_are_found_at_the_top_and_inside_matrix_and_merge() {
        let generators = json!([
            {"list": {"elements": [{"git": {"repoURL": "https://not/a/generator"}}]}},
            {"git": {"repoURL": "https://example.com/ns.git", "revision": "main", "files": [{"path": "*.yaml"}]}},
            {"matrix": {"generators": [
                {"git": {"repoURL": "https://example.com/apps.git", "directories": [{"path": "*"}]}},
                {"git": {"repoURL": "{{repo}}", "revision": "HEAD", "files": [{"path": "x"}]}},
            ]}},
            {"merge": {"generators": [{"git": {"repoURL": "https://example.com/ns.git", "revision": ""}}]}},
        ]);
        let sources = git_sources(&generators);
        let described: Vec<(usize, &str, &str)> = sources
            .iter()
            .map(|s| (s.generator, s.repo_url.as_str(), s.revision.as_str()))
            .collect();
        assert_eq!(
            described,
            vec![
                (1, "https://example.com/ns.git", "main"),
                (2, "https://example.com/apps.git", "HEAD"),
                (3, "https://example.com/ns.git", "HEAD"),
            ]
        );
        assert_eq!(
            repo_urls(&sources),
            vec!["https://example.com/ns.git", "https://example.com/apps.git"]
        );
    }

    #[test]
    fn cluster_secrets_are_needed_only_for_a_clusters_generator() {
        assert!(!uses_clusters(&json!([{"list": {"elements": []}}])));
        assert!(uses_clusters(&json!([{"clusters": {}}])));
        assert!(uses_clusters(
            &json!([{"matrix": {"generators": [{"list": {}}, {"clusters": {"selector": {}}}]}}])
        ));
    }
}
