//! The git generator on a real repository: a scratch repo made with the git CLI, read
//! through driftless' repository cache.

// A panic in a test is a failed test.
#![allow(clippy::unwrap_used)]

use driftless_appset::{GitFiles, Inputs, RepoCacheFiles, generate};
use driftless_model::ApplicationSet;
use driftless_source::RepoCache;
use driftless_source::testing::ScratchRepo;
use pretty_assertions::assert_eq;
use serde_json::Value;

fn appset(url: &str, revision: &str) -> ApplicationSet {
    let yaml = r#"
apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: platform, namespace: argocd}
spec:
  goTemplate: true
  goTemplateOptions: [missingkey=error]
  generators:
    - git:
        repoURL: __URL__
        revision: __REV__
        directories: [{path: 'tenants/*'}]
    - git:
        repoURL: __URL__
        revision: __REV__
        files: [{path: 'apps/*/config.yaml'}]
  template:
    metadata:
      name: '{{ if hasKey . "app" }}{{ .app }}{{ else }}ns-{{ .path.basename }}{{ end }}'
    spec:
      project: default
      source: {repoURL: __URL__, targetRevision: __REV__, path: '{{ .path.path }}'}
      destination: {server: https://kubernetes.default.svc, namespace: '{{ .path.basename }}'}
"#;
    serde_norway::from_str(&yaml.replace("__URL__", url).replace("__REV__", revision)).unwrap()
}

fn names(apps: &[Value]) -> Vec<String> {
    apps.iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn directories_and_files_from_a_real_repository() {
    let repo = ScratchRepo::new();
    repo.write("tenants/team-a/ns.yaml", "kind: Namespace\n")
        .write("tenants/team-b/ns.yaml", "kind: Namespace\n")
        .write("tenants/.archive/ns.yaml", "kind: Namespace\n")
        .write("apps/grafana/config.yaml", "app: grafana\n")
        .write("apps/qdrant/config.yaml", "app: qdrant\n")
        .write("apps/qdrant/values.yaml", "ignored: true\n");
    repo.commit("initial");
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(cache_dir.path()).unwrap();
    let url = repo.file_url();

    let git = RepoCacheFiles::new(&cache);
    let inputs = Inputs {
        git: &git,
        cluster_secrets: &[],
    };
    let apps = generate(&appset(&url, "main"), inputs).unwrap();
    assert_eq!(
        names(&apps),
        vec!["ns-team-a", "ns-team-b", "grafana", "qdrant"]
    );
    assert_eq!(apps[3]["spec"]["source"]["path"], "apps/qdrant");

    // Hidden directories are listed by the cache and dropped by the generator.
    assert!(
        git.dirs(&url, "main")
            .unwrap()
            .contains(&"tenants/.archive".to_string())
    );

    // A directory removed in git disappears from the next generation.
    repo.remove("tenants/team-a");
    repo.commit("drop team-a");
    let git = RepoCacheFiles::new(&cache);
    let inputs = Inputs {
        git: &git,
        cluster_secrets: &[],
    };
    let apps = generate(&appset(&url, "main"), inputs).unwrap();
    assert_eq!(names(&apps), vec!["ns-team-b", "grafana", "qdrant"]);
}

#[test]
fn an_unknown_revision_or_repository_is_an_error() {
    let repo = ScratchRepo::new();
    repo.write("tenants/a/ns.yaml", "x");
    repo.commit("initial");
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = RepoCache::new(cache_dir.path()).unwrap();
    let git = RepoCacheFiles::new(&cache);
    let inputs = Inputs {
        git: &git,
        cluster_secrets: &[],
    };
    let err = generate(&appset(&repo.file_url(), "no-such-branch"), inputs).unwrap_err();
    assert!(err.to_string().contains("no-such-branch"), "{err}");

    let missing = format!("{}-missing", repo.file_url());
    assert!(generate(&appset(&missing, "main"), inputs).is_err());
}
