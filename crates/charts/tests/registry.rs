//! The chart cache against a real OCI registry: a digest as the revision, and a tag that moves
//! to other content noticed by the poll's re-check.

use driftless_charts::{ChartRepos, HelmCredentials};
use driftless_testkit::{OciRegistry, built_helm, package_chart, write_chart};
use std::time::Duration;

fn credentials(registry: &OciRegistry) -> HelmCredentials {
    let (user, password) = registry.credentials().expect("auth is on");
    HelmCredentials {
        oci_force_http: true,
        ..HelmCredentials::basic(user, password)
    }
}

#[test]
fn a_chart_by_digest_and_a_moved_tag_are_seen() {
    let helm = built_helm().expect("helm not built: run hack/build-tools");
    let registry = OciRegistry::start().expect("registry (run hack/build-tools)");
    let work = tempfile::tempdir().expect("temp");
    let push = |text: &str| {
        let template = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {text}}}\n");
        let chart =
            write_chart(work.path(), "web", "1.0.0", &[("cm.yaml", &template)]).expect("chart");
        let tgz = package_chart(&helm, &chart, &work.path().join("out")).expect("package");
        registry.push_chart(&helm, &tgz, "charts").expect("push")
    };
    let first = push("first");
    let cache = tempfile::tempdir().expect("temp");
    let repos = ChartRepos::new(cache.path()).expect("cache");
    let url = format!("oci://{}/charts", registry.host());
    let creds = credentials(&registry);
    let hour = Duration::from_secs(3600);

    let by_digest = repos
        .resolve(&url, "web", &first, &creds, hour)
        .expect("by digest");
    let by_tag = repos
        .resolve(&url, "web", "1.0.0", &creds, hour)
        .expect("by tag");
    assert_eq!(
        by_digest.digest, by_tag.digest,
        "the digest and the tag name one chart"
    );
    let dir = repos
        .chart_dir(&url, &creds, &by_tag, false)
        .expect("unpacks");
    assert!(
        std::fs::read_to_string(dir.join("templates/cm.yaml"))
            .expect("read")
            .contains("first")
    );

    assert!(
        !repos.recheck_oci(&url, "web", &creds).expect("recheck"),
        "nothing moved yet"
    );
    push("second");
    assert!(
        repos.recheck_oci(&url, "web", &creds).expect("recheck"),
        "the tag moved"
    );
    let moved = repos
        .resolve(&url, "web", "1.0.0", &creds, hour)
        .expect("by tag");
    assert_ne!(moved.digest, by_tag.digest);
    let dir = repos
        .chart_dir(&url, &creds, &moved, false)
        .expect("unpacks");
    assert!(
        std::fs::read_to_string(dir.join("templates/cm.yaml"))
            .expect("read")
            .contains("second")
    );
}
