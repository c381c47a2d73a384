//! Hostile repositories, in one table: what a repository (or the Application pointing at
//! it) may try against the renderer, each case rendered as the controller renders (a git
//! repository fetched into the repo cache, then `render_application` with the real helm and
//! kustomize) and refused with the error given. Escapes also check that the secret planted
//! outside the checkout appears nowhere; planted scripts, that they never ran.
//!
//! `cargo test -p driftless-render --test hostile -- --nocapture` prints the table as
//! `case | error` lines.

mod common;

use common::*;
use driftless_model::Application;
use driftless_render::{
    CachedRepos, Engine, ProcessRunner, Toolbox, Tools, manifest::MAX_FILE_BYTES,
    render_application,
};
use driftless_source::{RepoCache, RepoCredentials};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Text of the file planted outside every checkout; no render may ever show it.
const SECRET: &str = "hostile-table-secret-value-7d1c";

/// One case's world: the app repository, a second repository (a `ref` source), a
/// directory outside both holding the secret, and where a planted script would leave a mark.
struct Scene {
    repo: GitRepo,
    values: GitRepo,
    outside: tempfile::TempDir,
}

impl Scene {
    fn new() -> Self {
        let scene = Self {
            repo: GitRepo::new(),
            values: GitRepo::new(),
            outside: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::write(
            scene.secret(),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stolen\ndata:\n  secret: {SECRET}\n"),
        )
        .expect("plant the secret");
        scene
    }

    /// The secret, as an absolute path outside every checkout.
    fn secret(&self) -> PathBuf {
        self.outside.path().join("secret.yaml")
    }

    /// A file a planted script creates when it runs.
    fn marker(&self) -> PathBuf {
        self.outside.path().join("a-script-ran")
    }

    fn write(&self, path: &str, text: &str) {
        write_in(self.repo.path(), path, text);
    }

    fn script(&self, path: &str) {
        self.write(
            path,
            &format!("#!/bin/sh\ntouch '{}'\ncat\n", self.marker().display()),
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            self.repo.path().join(path),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
    }

    fn link(&self, path: &str, target: &str) {
        let at = self.repo.path().join(path);
        std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
        std::os::unix::fs::symlink(target, at).expect("symlink");
    }

    fn url(repo: &GitRepo) -> String {
        format!("file://{}", repo.path().display())
    }

    /// A single-source Application of `path` in the app repository; `extra` is YAML for
    /// the source (indented under it), e.g. `helm:` options.
    fn app(&self, path: &str, extra: &str) -> Application {
        self.application(&format!(
            "  source:\n    repoURL: {}\n    targetRevision: main\n    path: {path}\n{extra}",
            Self::url(&self.repo)
        ))
    }

    fn application(&self, sources: &str) -> Application {
        let text = format!(
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: hostile\n  namespace: argocd\nspec:\n  project: default\n  destination:\n    server: https://kubernetes.default.svc\n    namespace: shop\n{sources}"
        );
        serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// A minimal chart at `path` whose templates are `templates`.
    fn chart(&self, path: &str, templates: &[(&str, &str)]) {
        self.write(
            &format!("{path}/Chart.yaml"),
            "apiVersion: v2\nname: hostile\nversion: 0.1.0\n",
        );
        for (name, text) in templates {
            self.write(&format!("{path}/templates/{name}"), text);
        }
    }

    /// Makes every path the error may show stable, for the printed table.
    fn redact(&self, text: &str) -> String {
        let mut text = text
            .replace(&self.repo.path().display().to_string(), "<repo>")
            .replace(&self.values.path().display().to_string(), "<values-repo>")
            .replace(&self.outside.path().display().to_string(), "<outside>");
        // Commit ids and temp directories differ on every run.
        let hex = regex_lite(&text);
        for id in hex {
            text = text.replace(&id, "<commit>");
        }
        text
    }
}

fn write_in(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    std::fs::write(file, text).expect("write");
}

/// The 40-digit hex words of `text` (commit ids).
fn regex_lite(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_hexdigit())
        .filter(|w| w.len() == 40)
        .map(str::to_string)
        .collect()
}

/// At most 400 characters of a message (a tool's stderr may be long), on one line.
fn short(text: &str) -> String {
    let line = text.replace('\n', " ");
    match line.char_indices().nth(400) {
        Some((cut, _)) => format!("{} …", &line[..cut]),
        None => line,
    }
}

/// How the tools run for a case.
#[derive(Clone, Copy)]
enum Limits {
    /// `ProcessRunner::default()`: 90 s, 2 GiB.
    Default,
    Timeout(Duration),
    Memory(u64),
    Output(u64),
}

struct Case {
    name: &'static str,
    /// Fills the repositories and returns the Application.
    setup: fn(&Scene) -> Application,
    limits: Limits,
    /// A fragment of the error the render must fail with.
    error: &'static str,
}

/// Helm template text that runs for minutes: 10^10 loop iterations.
const SLOW_TEMPLATE: &str = "{{- range until 100000 }}{{- range until 100000 }}{{- end }}{{- end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\n";

/// Helm template text writing about 12 MiB of ConfigMaps.
const VERBOSE_TEMPLATE: &str = "{{- range until 200000 }}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{{ . }}\n{{- end }}\n";

/// Helm template text whose string doubles until it is 2^40 bytes.
const HUNGRY_TEMPLATE: &str = "{{- $s := \"0123456789abcdef\" }}{{- range until 36 }}{{- $s = print $s $s }}{{- end }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hungry\ndata:\n  size: \"{{ len $s }}\"\n";

/// A chain of symlinks, each inside the tree on its own (a lexical check passes them),
/// together leaving it: `up`, twelve directories down, links to the directory `w` at the top
/// (lexically deep, really shallow), and `leak` climbs thirteen levels from `up`, which
/// lexically ends at the top but really far above it, then goes down to `target`.
fn plant_symlink_chain(scene: &Scene, base: &str, leak: &str, target: &Path) {
    let dirs = "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/d12";
    scene.write(&format!("{base}/w/keep.txt"), "kept\n");
    scene.link(
        &format!("{base}/{dirs}/up"),
        &format!("{}w", "../".repeat(12)),
    );
    let climb = format!(
        "{dirs}/up/{}{}",
        "../".repeat(13),
        target.display().to_string().trim_start_matches('/')
    );
    scene.link(&format!("{base}/{leak}"), &climb);
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "symlink out of the tree in a directory app",
            setup: |s| {
                s.write(
                    "app/ok.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
                );
                s.link("app/stolen.yaml", &s.secret().display().to_string());
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "is outside the exported tree",
        },
        Case {
            name: "symlink out of the tree in a Kustomize app",
            setup: |s| {
                s.write("app/kustomization.yaml", "resources:\n- stolen.yaml\n");
                s.link("app/stolen.yaml", &s.secret().display().to_string());
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "is outside the exported tree",
        },
        Case {
            name: "symlink out of the tree in a Helm chart",
            setup: |s| {
                s.chart(
                    "chart",
                    &[(
                        "cm.yaml",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: files\ndata:\n  stolen: {{ .Files.Get \"stolen.yaml\" | quote }}\n",
                    )],
                );
                s.link("chart/stolen.yaml", &s.secret().display().to_string());
                s.app("chart", "")
            },
            limits: Limits::Default,
            error: "is outside the exported tree",
        },
        Case {
            name: "symlink chain out of the tree in a Helm chart",
            setup: |s| {
                s.chart(
                    "chart",
                    &[(
                        "cm.yaml",
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: files\ndata:\n  stolen: {{ .Files.Get \"stolen.yaml\" | quote }}\n",
                    )],
                );
                plant_symlink_chain(s, "chart", "stolen.yaml", &s.secret());
                s.app("chart", "")
            },
            limits: Limits::Default,
            error: "is outside the exported tree",
        },
        Case {
            name: "symlink chain out of the tree in a Kustomize app",
            setup: |s| {
                s.write("app/kustomization.yaml", "resources:\n- stolen.yaml\n");
                plant_symlink_chain(s, "app", "stolen.yaml", &s.secret());
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "is outside the exported tree",
        },
        Case {
            name: "symlink chain out of the tree in a directory app",
            setup: |s| {
                plant_symlink_chain(s, "app", "stolen.yaml", &s.secret());
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "is outside the exported tree",
        },
        Case {
            name: "valueFiles climbing out of the source",
            setup: |s| {
                s.chart("chart", &[]);
                s.app(
                    "chart",
                    "    helm:\n      valueFiles:\n      - ../../../../../../../../../etc/passwd\n",
                )
            },
            limits: Limits::Default,
            error: "it leaves the repository",
        },
        Case {
            name: "fileParameters climbing out of the source",
            setup: |s| {
                s.chart("chart", &[]);
                s.app(
                    "chart",
                    "    helm:\n      fileParameters:\n      - name: stolen\n        path: ../../../../../../../etc/passwd\n",
                )
            },
            limits: Limits::Default,
            error: "it leaves the repository",
        },
        Case {
            name: "multi-source $ref values escaping the referenced repo",
            setup: |s| {
                s.chart("chart", &[]);
                write_in(s.values.path(), "env/prod.yaml", "replicas: 2\n");
                s.application(&format!(
                    "  sources:\n  - repoURL: {}\n    targetRevision: main\n    path: chart\n    helm:\n      valueFiles:\n      - $values/../../../../../../../../etc/passwd\n  - repoURL: {}\n    targetRevision: main\n    ref: values\n",
                    Scene::url(&s.repo),
                    Scene::url(&s.values)
                ))
            },
            limits: Limits::Default,
            error: "it leaves the repository",
        },
        Case {
            name: "valueFiles with a helm plugin scheme (secrets://)",
            setup: |s| {
                s.chart("chart", &[]);
                s.write("chart/secrets.yaml", "password: x\n");
                s.app(
                    "chart",
                    "    helm:\n      valueFiles:\n      - secrets://secrets.yaml\n",
                )
            },
            limits: Limits::Default,
            error: "the scheme secrets:// is not allowed",
        },
        Case {
            name: "chart dependency from a helm plugin scheme (s3://)",
            setup: |s| {
                s.write(
                    "chart/Chart.yaml",
                    "apiVersion: v2\nname: hostile\nversion: 0.1.0\ndependencies:\n- name: common\n  version: 1.0.0\n  repository: s3://bucket/charts\n",
                );
                s.app("chart", "")
            },
            limits: Limits::Default,
            error: "which only a helm plugin reads",
        },
        Case {
            name: "Kustomize resource climbing out of the repository",
            setup: |s| {
                s.write(
                    "app/kustomization.yaml",
                    "resources:\n- ../../../../../../../../../etc\n",
                );
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "it leaves the repository",
        },
        Case {
            name: "Kustomize remote base (remote bases off)",
            setup: |s| {
                s.write(
                    "app/kustomization.yaml",
                    "resources:\n- https://github.com/example/platform//base?ref=v1.2.0\n",
                );
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "remote bases are off",
        },
        Case {
            name: "Kustomize scp-style remote base (remote bases off)",
            setup: |s| {
                s.write(
                    "app/kustomization.yaml",
                    "resources:\n- deploy@git.example.com:platform/base.git//prod\n",
                );
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "remote bases are off",
        },
        Case {
            name: "Kustomize transformer config loading a remote patch (remote bases off)",
            setup: |s| {
                s.write(
                    "app/kustomization.yaml",
                    "resources:\n- cm.yaml\ntransformers:\n- patch.yaml\n",
                );
                s.write(
                    "app/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
                );
                s.write(
                    "app/patch.yaml",
                    "apiVersion: builtin\nkind: PatchTransformer\nmetadata:\n  name: p\npath: https://example.com/patch.yaml\ntarget:\n  kind: ConfigMap\n",
                );
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "remote bases are off",
        },
        Case {
            name: "Kustomize KRM exec function plugin",
            setup: |s| {
                s.write(
                    "app/kustomization.yaml",
                    "resources:\n- cm.yaml\ntransformers:\n- fn.yaml\n",
                );
                s.write(
                    "app/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
                );
                s.write(
                    "app/fn.yaml",
                    "apiVersion: example.com/v1\nkind: Pwn\nmetadata:\n  name: pwn\n  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: ./script.sh\n",
                );
                s.script("app/script.sh");
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "external plugins disabled",
        },
        Case {
            name: "Kustomize legacy exec plugin",
            setup: |s| {
                s.write(
                    "app/kustomization.yaml",
                    "resources:\n- cm.yaml\ntransformers:\n- plugin.yaml\n",
                );
                s.write(
                    "app/cm.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
                );
                s.write(
                    "app/plugin.yaml",
                    "apiVersion: someteam.example.com/v1\nkind: Pwn\nmetadata:\n  name: pwn\n",
                );
                // Where a plugin home pointed at the checkout would find it.
                s.script("app/plugin/someteam.example.com/v1/pwn/Pwn");
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "external plugins disabled",
        },
        Case {
            name: "Kustomize helmCharts",
            setup: |s| {
                s.write(
                    "app/kustomization.yaml",
                    "helmCharts:\n- name: hostile\n  version: 0.1.0\nhelmGlobals:\n  chartHome: charts\n",
                );
                s.chart("app/charts/hostile", &[]);
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "must specify --enable-helm",
        },
        Case {
            name: "manifest file over 32 MiB",
            setup: |s| {
                let size = usize::try_from(MAX_FILE_BYTES).expect("fits") + 1024;
                let mut text = String::from(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: ",
                );
                text.push_str(&"x".repeat(size));
                text.push('\n');
                s.write("app/big.yaml", &text);
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "a manifest file may have",
        },
        Case {
            name: "flow nesting deeper than 256",
            setup: |s| {
                let depth = 300;
                s.write(
                    "app/deep.yaml",
                    &format!(
                        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  a: {}{}\n",
                        "[".repeat(depth),
                        "]".repeat(depth)
                    ),
                );
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "nesting deeper than 256 levels",
        },
        Case {
            name: "YAML anchor bomb",
            setup: |s| {
                let mut bomb = String::from(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\nl0: &l0 [x,x,x,x,x,x,x,x,x,x]\n",
                );
                for i in 1..10 {
                    let p = format!("*l{}", i - 1);
                    bomb.push_str(&format!("l{i}: &l{i} [{}]\n", [p.as_str(); 10].join(",")));
                }
                s.write("app/bomb.yaml", &bomb);
                s.app("app", "")
            },
            limits: Limits::Default,
            error: "bomb.yaml",
        },
        Case {
            name: "Helm chart running for minutes (timeout 2 s)",
            setup: |s| {
                s.chart("chart", &[("slow.yaml", SLOW_TEMPLATE)]);
                s.app("chart", "")
            },
            limits: Limits::Timeout(Duration::from_secs(2)),
            error: "within 2s: killed",
        },
        Case {
            name: "Helm chart using gigabytes (memory limit 256 MiB)",
            setup: |s| {
                s.chart("chart", &[("hungry.yaml", HUNGRY_TEMPLATE)]);
                s.app("chart", "")
            },
            limits: Limits::Memory(256 << 20),
            error: "it used more than 256 MiB of memory and was killed",
        },
        Case {
            name: "Helm chart writing without end (output limit 4 MiB)",
            setup: |s| {
                s.chart("chart", &[("verbose.yaml", VERBOSE_TEMPLATE)]);
                s.app("chart", "")
            },
            limits: Limits::Output(4 << 20),
            error: "it wrote more than 4 MiB of manifests and was killed",
        },
    ]
}

/// The largest peak resident memory (`VmHWM`) seen in children of this process named
/// `program`, watched until `stop` is set.
fn watch_children(program: &'static str, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    let peak = Arc::new(AtomicU64::new(0));
    std::thread::spawn(move || {
        let me = std::process::id().to_string();
        while !stop.load(Ordering::Relaxed) {
            for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
                let dir = entry.path();
                let Ok(status) = std::fs::read_to_string(dir.join("status")) else {
                    continue;
                };
                let field = |name: &str| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(str::trim)
                        .map(str::to_string)
                };
                if field("Name:").as_deref() != Some(program) || field("PPid:") != Some(me.clone())
                {
                    continue;
                }
                let kib: u64 = field("VmHWM:")
                    .and_then(|v| v.trim_end_matches("kB").trim().parse().ok())
                    .unwrap_or(0);
                peak.fetch_max(kib << 10, Ordering::Relaxed);
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        peak.load(Ordering::Relaxed)
    })
}

#[test]
fn a_hostile_repository_gets_an_error_and_nothing_else() {
    let tools = Tools {
        // The switch is off unless asked for: the table shows what happens by default.
        kustomize_remote_bases: false,
        ..tools()
    };
    let mut failures = Vec::new();
    let mut table = Vec::new();
    for case in cases() {
        let scene = Scene::new();
        let app = (case.setup)(&scene);
        scene.repo.commit("hostile");
        scene.values.commit("values");
        let git_dir = tempfile::tempdir().expect("temp dir");
        let git = RepoCache::new(git_dir.path()).expect("repo cache");
        for repo in [&scene.repo, &scene.values] {
            git.sync(&Scene::url(repo), &RepoCredentials::anonymous(), "main")
                .expect("sync");
        }
        let runner = match case.limits {
            Limits::Default => ProcessRunner::default(),
            Limits::Timeout(timeout) => ProcessRunner {
                timeout,
                ..ProcessRunner::default()
            },
            Limits::Memory(bytes) => ProcessRunner {
                memory_limit: Some(bytes),
                ..ProcessRunner::default()
            },
            Limits::Output(bytes) => ProcessRunner {
                output_limit: Some(bytes),
                ..ProcessRunner::default()
            },
        };
        let engine = Engine::offline(Toolbox {
            tools: &tools,
            runner: &runner,
            charts: None,
        });
        let stop = Arc::new(AtomicBool::new(false));
        let watcher =
            matches!(case.limits, Limits::Memory(_)).then(|| watch_children("helm", stop.clone()));
        let started = Instant::now();
        let result = render_application(&app, &CachedRepos::git(&git), engine);
        let took = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let peak = watcher.map(|w| w.join().unwrap_or(0));

        let shown = match &result {
            Ok(out) => format!("rendered {} objects: {:?}", out.objects.len(), out.objects),
            Err(e) => e.to_string(),
        };
        let mut problems = Vec::new();
        if result.is_ok() || !shown.contains(case.error) {
            problems.push(format!("expected an error with {:?}", case.error));
        }
        if shown.contains(SECRET) {
            problems.push("the secret planted outside the checkout was read".into());
        }
        if scene.marker().exists() {
            problems.push("a script planted in the repository ran".into());
        }
        let mut shown = scene.redact(&shown);
        for program in [
            tools.helm.as_deref(),
            tools.kustomize.as_ref().map(|k| k.program()),
        ] {
            if let Some(dir) = program.and_then(Path::parent) {
                shown = shown.replace(&dir.display().to_string(), "<bin>");
            }
        }
        let shown = short(&shown);
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}; got: {shown}",
                case.name,
                problems.join("; ")
            ));
        }
        let mut line = format!("{} | {shown}", case.name);
        if !matches!(case.limits, Limits::Default) {
            line.push_str(&format!(" [stopped after {:.1} s", took.as_secs_f64()));
            if let Some(peak) = peak {
                line.push_str(&format!(", helm peaked at {} MiB", peak >> 20));
            }
            line.push(']');
        }
        table.push(line);
    }
    println!("case | error");
    for line in &table {
        println!("{line}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
