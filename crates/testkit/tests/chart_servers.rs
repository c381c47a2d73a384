//! The Helm repository server, the chart helpers and the OCI registry, against real clients:
//! reqwest (rustls with ring) and the real helm. Tests needing helm or the registry binary
//! fail, saying to run `hack/build-tools`, when it has not built them.

use std::path::PathBuf;
use std::sync::Arc;

use driftless_testkit::{
    HelmRepoServer, OciRegistry, built_helm, built_registry, index_repo, isolated_helm,
    package_chart, write_chart,
};
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use reqwest::blocking::Client;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn plain_client() -> Client {
    Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(client_tls(None, None))
        .build()
        .expect("client")
}

/// A rustls client config trusting `ca_pem` only (none: no roots), presenting `identity`.
fn client_tls(ca_pem: Option<&str>, identity: Option<(&str, &str)>) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        let ca = CertificateDer::from_pem_slice(pem.as_bytes()).expect("CA PEM");
        roots.add(ca).expect("add CA");
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_slice(cert.as_bytes()).expect("cert PEM")],
                PrivateKeyDer::from_pem_slice(key.as_bytes()).expect("key PEM"),
            )
            .expect("client identity"),
    }
}

fn tls_client(ca_pem: &str, identity: Option<(&str, &str)>) -> Client {
    Client::builder()
        .no_proxy()
        .tls_backend_preconfigured(client_tls(Some(ca_pem), identity))
        .build()
        .expect("client")
}

fn helm() -> PathBuf {
    built_helm().expect("helm is not built: run hack/build-tools")
}

fn require_registry() {
    built_registry().expect("the OCI registry is not built: run hack/build-tools");
}

#[test]
fn serves_files_with_etags_and_304() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("index.yaml"),
        "apiVersion: v1\nentries: {}\n",
    )
    .expect("write");
    let server = HelmRepoServer::start(dir.path()).expect("server");
    assert!(
        server.url().starts_with("http://127.0.0.1:"),
        "{}",
        server.url()
    );
    let client = plain_client();
    let index = format!("{}/index.yaml", server.url());

    let first = client.get(&index).send().expect("GET");
    assert_eq!(first.status(), StatusCode::OK);
    let etag = first
        .headers()
        .get("etag")
        .expect("an ETag")
        .to_str()
        .expect("ASCII")
        .to_string();
    assert_eq!(first.text().expect("body"), "apiVersion: v1\nentries: {}\n");

    let again = client
        .get(&index)
        .header("If-None-Match", &etag)
        .send()
        .expect("GET");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    // A new version published while the server runs is served, with a new ETag.
    std::fs::write(
        dir.path().join("index.yaml"),
        "apiVersion: v1\nentries: {a: []}\n",
    )
    .expect("write");
    let changed = client
        .get(&index)
        .header("If-None-Match", &etag)
        .send()
        .expect("GET");
    assert_eq!(changed.status(), StatusCode::OK);
    assert_ne!(changed.headers().get("etag").expect("ETag"), etag.as_str());

    let missing = client
        .get(format!("{}/nope-1.0.0.tgz", server.url()))
        .send()
        .expect("GET");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    assert_eq!(server.count("/index.yaml"), 3);
    assert_eq!(server.downloads("index.yaml"), 2);
    let statuses: Vec<u16> = server.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 304, 200, 404]);
}

#[test]
fn basic_auth_answers_401_without_credentials() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.yaml"), "apiVersion: v1\n").expect("write");
    let server = HelmRepoServer::builder(dir.path())
        .basic_auth("alice", "s3cret")
        .start()
        .expect("server");
    let client = plain_client();
    let index = format!("{}/index.yaml", server.url());

    let anonymous = client.get(&index).send().expect("GET");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let challenge = anonymous
        .headers()
        .get("www-authenticate")
        .expect("a challenge")
        .to_str()
        .expect("ASCII");
    assert!(challenge.starts_with("Basic realm="), "{challenge}");

    let wrong = client
        .get(&index)
        .basic_auth("alice", Some("guess"))
        .send()
        .expect("GET");
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let right = client
        .get(&index)
        .basic_auth("alice", Some("s3cret"))
        .send()
        .expect("GET");
    assert_eq!(right.status(), StatusCode::OK);

    let authorized: Vec<bool> = server.requests().iter().map(|r| r.authorized).collect();
    assert_eq!(authorized, vec![false, false, true]);
}

#[test]
fn https_is_trusted_with_the_servers_ca_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.yaml"), "apiVersion: v1\n").expect("write");
    let server = HelmRepoServer::builder(dir.path())
        .tls()
        .start()
        .expect("server");
    assert!(
        server.url().starts_with("https://127.0.0.1:"),
        "{}",
        server.url()
    );
    let ca = server.ca_pem().expect("a CA over TLS");

    let trusting = tls_client(ca, None);
    for host in ["127.0.0.1", "localhost"] {
        let url = format!("https://{host}:{}/index.yaml", server.addr().port());
        let response = trusting.get(&url).send().expect("GET over TLS");
        assert_eq!(response.status(), StatusCode::OK, "{url}");
    }

    // A client without the CA refuses the certificate; the request never reaches the log.
    let untrusting = plain_client();
    let refused = untrusting
        .get(format!("{}/index.yaml", server.url()))
        .send();
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(server.count("/index.yaml"), 2);
}

#[test]
fn client_certificates_are_required_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.yaml"), "apiVersion: v1\n").expect("write");
    let server = HelmRepoServer::builder(dir.path())
        .require_client_cert()
        .start()
        .expect("server");
    let ca = server.ca_pem().expect("CA");
    let identity = (
        server.client_cert_pem().expect("cert"),
        server.client_key_pem().expect("key"),
    );
    let index = format!("{}/index.yaml", server.url());

    let without = tls_client(ca, None).get(&index).send();
    assert!(without.is_err(), "{without:?}");

    let with = tls_client(ca, Some(identity))
        .get(&index)
        .send()
        .expect("GET with a client certificate");
    assert_eq!(with.status(), StatusCode::OK);

    let pem = server.client_identity_pem().expect("identity");
    assert!(pem.contains("BEGIN CERTIFICATE") && pem.contains("BEGIN PRIVATE KEY"));
}

#[test]
fn packaged_charts_appear_in_the_index() {
    let helm = helm();
    let work = tempfile::tempdir().expect("tempdir");
    let repo = work.path().join("repo");
    let server = HelmRepoServer::start(&repo).expect("server");

    let chart = write_chart(
        work.path(),
        "hello",
        "0.1.0",
        &[(
            "configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
        )],
    )
    .expect("write chart");
    let tgz = package_chart(&helm, &chart, &repo).expect("package");
    assert_eq!(tgz, repo.join("hello-0.1.0.tgz"));
    index_repo(&helm, &repo, &server.url()).expect("index");

    let client = plain_client();
    let index = client
        .get(format!("{}/index.yaml", server.url()))
        .send()
        .expect("GET index")
        .text()
        .expect("body");
    let parsed: serde_norway::Value = serde_norway::from_str(&index).expect("YAML");
    let entry = &parsed["entries"]["hello"][0];
    assert_eq!(entry["version"].as_str(), Some("0.1.0"), "{index}");
    let url = entry["urls"][0].as_str().expect("a URL").to_string();
    assert_eq!(url, format!("{}/hello-0.1.0.tgz", server.url()));

    let archive = client.get(&url).send().expect("GET archive");
    assert_eq!(archive.status(), StatusCode::OK);
    let bytes = archive.bytes().expect("body");
    assert_eq!(bytes.as_ref(), std::fs::read(&tgz).expect("read tgz"));
    assert_eq!(server.downloads("/hello-0.1.0.tgz"), 1);

    // A second version published while the server runs lands in the index.
    let chart = write_chart(work.path(), "hello", "0.2.0", &[]).expect("write chart");
    package_chart(&helm, &chart, &repo).expect("package");
    index_repo(&helm, &repo, &server.url()).expect("index");
    let index = client
        .get(format!("{}/index.yaml", server.url()))
        .send()
        .expect("GET index")
        .text()
        .expect("body");
    assert!(index.contains("hello-0.2.0.tgz"), "{index}");
}

#[test]
fn registry_requires_credentials_and_takes_a_pushed_chart() {
    require_registry();
    let helm = helm();
    let registry = OciRegistry::start().expect("registry");
    let (user, password) = registry.credentials().expect("credentials");
    let client = plain_client();

    let anonymous = client
        .get(format!("{}/v2/", registry.url()))
        .send()
        .expect("GET /v2/");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let work = tempfile::tempdir().expect("tempdir");
    let chart = write_chart(
        work.path(),
        "hello",
        "1.2.3",
        &[(
            "configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hello\n",
        )],
    )
    .expect("write chart");
    let tgz = package_chart(&helm, &chart, &work.path().join("out")).expect("package");
    let digest = registry
        .push_chart(&helm, &tgz, "charts")
        .expect("helm push");
    assert!(digest.starts_with("sha256:"), "{digest}");

    let manifest_url = format!("{}/v2/charts/hello/manifests/1.2.3", registry.url());
    let accept = "application/vnd.oci.image.manifest.v1+json";
    let refused = client
        .get(&manifest_url)
        .header("Accept", accept)
        .send()
        .expect("GET manifest");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);

    let manifest = client
        .get(&manifest_url)
        .header("Accept", accept)
        .basic_auth(user, Some(password))
        .send()
        .expect("GET manifest");
    assert_eq!(manifest.status(), StatusCode::OK);
    assert_eq!(
        manifest
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok()),
        Some(digest.as_str())
    );
    let body: serde_json::Value = manifest.json().expect("JSON manifest");
    assert_eq!(
        body["config"]["mediaType"],
        "application/vnd.cncf.helm.config.v1+json"
    );
}

#[test]
fn anonymous_registry_takes_a_push_without_login() {
    require_registry();
    let helm = helm();
    let registry = OciRegistry::start_anonymous().expect("registry");
    assert_eq!(registry.credentials(), None);
    let status = plain_client()
        .get(format!("{}/v2/", registry.url()))
        .send()
        .expect("GET /v2/")
        .status();
    assert_eq!(status, StatusCode::OK);

    let work = tempfile::tempdir().expect("tempdir");
    let chart = write_chart(work.path(), "open", "0.0.1", &[]).expect("write chart");
    let tgz = package_chart(&helm, &chart, work.path()).expect("package");
    let digest = registry
        .push_chart(&helm, &tgz, "/team/charts/")
        .expect("helm push");
    let tags: serde_json::Value = plain_client()
        .get(format!("{}/v2/team/charts/open/tags/list", registry.url()))
        .send()
        .expect("GET tags")
        .json()
        .expect("JSON");
    assert_eq!(tags["tags"], serde_json::json!(["0.0.1"]));
    assert!(digest.starts_with("sha256:"));
}

#[test]
fn real_helm_pulls_over_https_with_basic_auth() {
    let helm = helm();
    let work = tempfile::tempdir().expect("tempdir");
    let repo = work.path().join("repo");
    let server = HelmRepoServer::builder(&repo)
        .tls()
        .basic_auth("bob", "hunter2")
        .start()
        .expect("server");
    let chart = write_chart(work.path(), "hello", "0.3.0", &[]).expect("write chart");
    package_chart(&helm, &chart, &repo).expect("package");
    index_repo(&helm, &repo, &server.url()).expect("index");
    let ca_file = work.path().join("ca.pem");
    std::fs::write(&ca_file, server.ca_pem().expect("CA")).expect("write CA");

    let home = work.path().join("helm-home");
    std::fs::create_dir_all(work.path().join("pulled")).expect("mkdir");
    let output = isolated_helm(&helm, &home)
        .args([
            "pull",
            "hello",
            "--version",
            "0.3.0",
            "--repo",
            &server.url(),
        ])
        .args(["--username", "bob", "--password", "hunter2"])
        .arg("--ca-file")
        .arg(&ca_file)
        .arg("--destination")
        .arg(work.path().join("pulled"))
        .output()
        .expect("run helm pull");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(work.path().join("pulled/hello-0.3.0.tgz").is_file());
    assert_eq!(server.downloads("/index.yaml"), 1);
    assert_eq!(server.downloads("/hello-0.3.0.tgz"), 1);
    assert!(server.requests().iter().all(|r| r.authorized));
}

#[test]
fn registry_errors_say_what_failed() {
    let missing = OciRegistry::builder()
        .binary("/nonexistent/registry")
        .start()
        .err()
        .expect("no such binary");
    assert!(
        format!("{missing:#}").contains("run hack/build-tools"),
        "{missing:#}"
    );

    // A binary that exits at once: the error names the exit and the log.
    let exited = OciRegistry::builder()
        .binary("/bin/false")
        .start()
        .err()
        .expect("exits");
    let message = format!("{exited:#}");
    assert!(
        message.contains("exited") && message.contains("registry.log"),
        "{message}"
    );
}
