//! Real charts made with the real helm: write a chart directory, `helm package` it and
//! `helm repo index` a directory of archives, for [`HelmRepoServer`](crate::HelmRepoServer)
//! and [`OciRegistry`](crate::OciRegistry) to serve.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};

/// Writes a minimal chart at `dir/<name>` (replacing one there): `Chart.yaml` (apiVersion v2,
/// type application), an empty `values.yaml` and `templates/<file>` for each `(file, text)`.
/// Returns the chart directory. helm wants the directory named like the chart, hence `dir/<name>`.
pub fn write_chart(
    dir: &Path,
    name: &str,
    version: &str,
    templates: &[(&str, &str)],
) -> anyhow::Result<PathBuf> {
    write_chart_with_values(dir, name, version, "{}\n", templates)
}

/// [`write_chart`] with `values.yaml` holding `values`.
pub fn write_chart_with_values(
    dir: &Path,
    name: &str,
    version: &str,
    values: &str,
    templates: &[(&str, &str)],
) -> anyhow::Result<PathBuf> {
    let chart = dir.join(name);
    if chart.exists() {
        std::fs::remove_dir_all(&chart)
            .with_context(|| format!("remove the old chart {}", chart.display()))?;
    }
    let templates_dir = chart.join("templates");
    std::fs::create_dir_all(&templates_dir)
        .with_context(|| format!("create {}", templates_dir.display()))?;
    let chart_yaml = format!(
        "apiVersion: v2\nname: {name}\nversion: \"{version}\"\nappVersion: \"{version}\"\n\
         description: A chart a driftless test made\ntype: application\n"
    );
    write(&chart.join("Chart.yaml"), &chart_yaml)?;
    write(&chart.join("values.yaml"), values)?;
    for (file, text) in templates {
        let path = templates_dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("create {}", parent.display()))?;
        }
        write(&path, text)?;
    }
    Ok(chart)
}

/// Runs `helm package <chart_dir> --destination <out_dir>`; returns the archive's path
/// (`<out_dir>/<name>-<version>.tgz`).
pub fn package_chart(helm: &Path, chart_dir: &Path, out_dir: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
    let home = tempfile::tempdir().context("create a temporary HELM home")?;
    let output = run(
        isolated_helm(helm, home.path())
            .arg("package")
            .arg(chart_dir)
            .arg("--destination")
            .arg(out_dir),
        "helm package",
    )?;
    // "Successfully packaged chart and saved it to: <path>"
    let stdout = String::from_utf8_lossy(&output.stdout);
    let archive = stdout
        .lines()
        .find_map(|l| {
            l.split_once("saved it to: ")
                .map(|(_, p)| PathBuf::from(p.trim()))
        })
        .with_context(|| format!("helm package printed no archive path: {stdout}"))?;
    if !archive.is_file() {
        bail!(
            "helm package said it wrote {} but there is no such file",
            archive.display()
        );
    }
    Ok(archive)
}

/// Runs `helm repo index <dir> --url <url>`: writes `dir/index.yaml` listing every archive in
/// `dir`, with download URLs under `url`.
pub fn index_repo(helm: &Path, dir: &Path, url: &str) -> anyhow::Result<()> {
    let home = tempfile::tempdir().context("create a temporary HELM home")?;
    run(
        isolated_helm(helm, home.path())
            .args(["repo", "index"])
            .arg(dir)
            .args(["--url", url]),
        "helm repo index",
    )?;
    Ok(())
}

/// helm with its config, cache, data, repositories and registry credentials under `home`,
/// never the user's.
pub fn isolated_helm(helm: &Path, home: &Path) -> Command {
    let mut command = Command::new(helm);
    command
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env(
            "HELM_REGISTRY_CONFIG",
            home.join("config/registry/config.json"),
        )
        .env(
            "HELM_REPOSITORY_CONFIG",
            home.join("config/repositories.yaml"),
        )
        .env("HELM_REPOSITORY_CACHE", home.join("cache/repository"))
        // helm falls back to docker's credentials for registries.
        .env("DOCKER_CONFIG", home.join("docker"))
        .env_remove("HELM_DEBUG")
        .env_remove("HELM_PLUGINS");
    command
}

/// Runs `command`, failing with its output unless it exits 0.
pub(crate) fn run(command: &mut Command, what: &str) -> anyhow::Result<Output> {
    let output = command.output().with_context(|| {
        format!(
            "run {what} ({}); is helm built? run hack/build-tools",
            command.get_program().to_string_lossy()
        )
    })?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}):\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(output)
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("write {}", path.display()))
}

/// `helm template <release> <chart> --namespace <namespace> --set …` (CRDs left out, as
/// `helm template` leaves them): the objects a `helm install` would apply.
pub fn helm_template(
    helm: &Path,
    chart: &Path,
    release: &str,
    namespace: &str,
    settings: &[&str],
) -> anyhow::Result<String> {
    let mut command = Command::new(helm);
    command
        .args(["template", release])
        .arg(chart)
        .args(["--namespace", namespace]);
    for setting in settings {
        command.args(["--set", setting]);
    }
    let out = command.output()?;
    anyhow::ensure!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}
