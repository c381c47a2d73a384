//! `ConfigManagementPlugin` definitions, the `plugin.yaml` an Argo CD plugin sidecar reads,
//! parsed into typed values. Parsing is pure; [`Plugins::load`] reads a plugin directory and
//! skips (and logs) files that are not valid definitions, so one bad file costs one plugin.
//!
//! Layout of a plugin directory: every `*.yaml`/`*.yml` file directly in it, and
//! `<subdir>/plugin.yaml` (the sidecar's file name) in each subdirectory, one definition a file.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const KIND: &str = "ConfigManagementPlugin";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DefinitionError {
    #[error("failed to read plugin definition {file}: {message}")]
    Io { file: String, message: String },
    #[error("failed to parse plugin definition {file}: {message}")]
    Yaml { file: String, message: String },
    #[error("failed to load plugin definition {file}: {reason}")]
    Invalid { file: String, reason: String },
}

/// A command line: `command` followed by `args`, run without a shell of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Command {
    pub command: Vec<String>,
    pub args: Vec<String>,
}

impl Command {
    /// The full argv; empty when no command is set.
    pub fn argv(&self) -> Vec<String> {
        if self.command.is_empty() {
            return Vec::new();
        }
        self.command.iter().chain(&self.args).cloned().collect()
    }

    pub fn is_set(&self) -> bool {
        !self.command.is_empty()
    }
}

/// `spec.discover`: only the first of `fileName`, `find.glob`, `find.command` that is set is used.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Discover {
    pub file_name: String,
    pub find: Find,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Find {
    pub command: Vec<String>,
    pub args: Vec<String>,
    pub glob: String,
}

/// Which discovery rule a plugin uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// `fileName`: a glob (`*` within one path segment) relative to the app path.
    FileName(String),
    /// `find.glob`: like `fileName`, and `**` matches any number of directories.
    Glob(String),
    /// `find.command`: matches when it exits 0 and prints something.
    Command(Command),
}

impl Discover {
    /// The rule in effect, in Argo CD's order; `None` when discovery is not configured.
    pub fn rule(&self) -> Option<Rule> {
        if !self.file_name.is_empty() {
            Some(Rule::FileName(self.file_name.clone()))
        } else if !self.find.glob.is_empty() {
            Some(Rule::Glob(self.find.glob.clone()))
        } else if !self.find.command.is_empty() {
            Some(Rule::Command(Command {
                command: self.find.command.clone(),
                args: self.find.args.clone(),
            }))
        } else {
            None
        }
    }
}

/// `spec.parameters`: announcements for a UI. Parsed so that definitions carrying them load;
/// driftless has no UI, so they are not used when rendering.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Parameters {
    #[serde(rename = "static")]
    pub static_announcements: Vec<Announcement>,
    pub dynamic: Command,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Announcement {
    pub name: String,
    pub title: String,
    pub tooltip: String,
    pub required: bool,
    pub item_type: String,
    pub collection_type: String,
    pub string: Option<String>,
    pub array: Option<Vec<String>>,
    pub map: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Spec {
    version: String,
    init: Command,
    generate: Command,
    discover: Discover,
    parameters: Parameters,
    preserve_file_mode: bool,
    provide_git_creds: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Metadata {
    name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Document {
    kind: String,
    metadata: Metadata,
    spec: Spec,
}

/// One plugin, as its definition file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plugin {
    /// `metadata.name`.
    pub name: String,
    /// `spec.version`; when set the plugin is named `<name>-<version>` in Applications.
    pub version: Option<String>,
    pub init: Command,
    pub generate: Command,
    pub discover: Discover,
    pub parameters: Parameters,
    pub preserve_file_mode: bool,
    /// The file the definition was read from.
    pub file: PathBuf,
}

impl Plugin {
    /// The name an Application's `plugin.name` must use.
    pub fn full_name(&self) -> String {
        match &self.version {
            Some(version) => format!("{}-{version}", self.name),
            None => self.name.clone(),
        }
    }
}

/// Parses one definition; `file` names it in errors.
pub fn parse(file: &Path, text: &str) -> Result<Plugin, DefinitionError> {
    let name = file.display().to_string();
    let invalid = |reason: &str| DefinitionError::Invalid {
        file: name.clone(),
        reason: reason.to_string(),
    };
    let doc: Document = serde_norway::from_str(text).map_err(|e| DefinitionError::Yaml {
        file: name.clone(),
        message: e.to_string(),
    })?;
    // The checks Argo CD's cmp-server makes at start-up; apiVersion is not checked there either.
    if doc.kind != KIND {
        return Err(invalid(&format!(
            "kind must be {KIND}, found {:?}",
            doc.kind
        )));
    }
    if doc.metadata.name.is_empty() {
        return Err(invalid("metadata.name must be set"));
    }
    // Argo CD names a plugin's socket after it; a `/` would point elsewhere.
    if doc.metadata.name.contains('/') || doc.spec.version.contains('/') {
        return Err(invalid(
            "metadata.name and spec.version must not contain '/'",
        ));
    }
    if !doc.spec.generate.is_set() {
        return Err(invalid("spec.generate.command must be set"));
    }
    if doc.spec.provide_git_creds {
        tracing::warn!(
            file = %name,
            "plugin sets provideGitCreds: driftless does not pass git credentials to plugins"
        );
    }
    Ok(Plugin {
        name: doc.metadata.name,
        version: Some(doc.spec.version).filter(|v| !v.is_empty()),
        init: doc.spec.init,
        generate: doc.spec.generate,
        discover: doc.spec.discover,
        parameters: doc.spec.parameters,
        preserve_file_mode: doc.spec.preserve_file_mode,
        file: file.to_path_buf(),
    })
}

/// The plugins of a plugin directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plugins {
    /// Where they were read from (`None`: no plugin directory configured).
    pub dir: Option<PathBuf>,
    /// In the order Argo CD tries them for discovery (by socket file name).
    pub plugins: Vec<Plugin>,
    /// Why each file that is not a valid definition was skipped (also logged).
    pub skipped: Vec<String>,
}

impl Plugins {
    /// Reads every definition of `dir`; bad files are logged and skipped.
    pub fn load(dir: &Path) -> Self {
        let (plugins, errors) = load_dir(dir);
        for error in &errors {
            tracing::error!(error = %error, "skipping plugin definition");
        }
        for plugin in &plugins {
            tracing::info!(plugin = %plugin.full_name(), file = %plugin.file.display(), "loaded plugin");
        }
        Self {
            dir: Some(dir.to_path_buf()),
            plugins,
            skipped: errors.iter().map(ToString::to_string).collect(),
        }
    }

    /// Names the skipped definitions for an error message (`""` when none were).
    pub fn skipped_note(&self) -> String {
        if self.skipped.is_empty() {
            return String::new();
        }
        format!("; skipped: {}", self.skipped.join("; "))
    }

    pub fn get(&self, full_name: &str) -> Option<&Plugin> {
        self.plugins.iter().find(|p| p.full_name() == full_name)
    }

    /// True when some plugin can be picked by its discovery rules.
    pub fn any_discovery(&self) -> bool {
        self.plugins.iter().any(|p| p.discover.rule().is_some())
    }

    pub fn names(&self) -> Vec<String> {
        self.plugins.iter().map(Plugin::full_name).collect()
    }
}

/// The definitions of `dir` and the errors of the files that are not valid ones.
pub fn load_dir(dir: &Path) -> (Vec<Plugin>, Vec<DefinitionError>) {
    let mut errors = Vec::new();
    let mut plugins: Vec<Plugin> = Vec::new();
    for file in definition_files(dir, &mut errors) {
        let parsed = std::fs::read_to_string(&file)
            .map_err(|e| DefinitionError::Io {
                file: file.display().to_string(),
                message: e.to_string(),
            })
            .and_then(|text| parse(&file, &text));
        match parsed {
            Ok(plugin) => {
                if let Some(first) = plugins.iter().find(|p| p.full_name() == plugin.full_name()) {
                    errors.push(DefinitionError::Invalid {
                        file: file.display().to_string(),
                        reason: format!(
                            "plugin {} is already defined by {}",
                            plugin.full_name(),
                            first.file.display()
                        ),
                    });
                } else {
                    plugins.push(plugin);
                }
            }
            Err(error) => errors.push(error),
        }
    }
    // Argo CD lists the plugins' sockets (`<full name>.sock`) in file-name order.
    plugins.sort_by_key(|p| format!("{}.sock", p.full_name()));
    (plugins, errors)
}

fn definition_files(dir: &Path, errors: &mut Vec<DefinitionError>) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            errors.push(DefinitionError::Io {
                file: dir.display().to_string(),
                message: format!("failed to list the plugin directory: {e}"),
            });
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            let file = path.join("plugin.yaml");
            if file.is_file() {
                files.push(file);
            }
        } else if path
            .extension()
            .is_some_and(|ext| ext == "yaml" || ext == "yml")
        {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn testdata() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/plugins")
    }

    #[test]
    fn parses_every_field_of_a_definition() {
        let file = testdata().join("definitions/full/plugin.yaml");
        let text = std::fs::read_to_string(&file).expect("fixture");
        let plugin = parse(&file, &text).expect("valid");
        assert_eq!(plugin.name, "my-plugin");
        assert_eq!(plugin.full_name(), "my-plugin-v1.0");
        assert_eq!(plugin.init.argv(), ["sh", "-c", "echo init >&2"]);
        assert_eq!(
            plugin.generate.argv(),
            ["sh", "-c", "echo '{\"kind\": \"ConfigMap\"}'"]
        );
        assert_eq!(plugin.discover.file_name, "./subdir/s*.yaml");
        assert_eq!(plugin.discover.find.glob, "**/Chart.yaml");
        assert_eq!(
            plugin.discover.find.command,
            ["sh", "-c", "find . -name env.yaml"]
        );
        // fileName comes first when several rules are set.
        assert_eq!(
            plugin.discover.rule(),
            Some(Rule::FileName("./subdir/s*.yaml".into()))
        );
        assert_eq!(plugin.parameters.static_announcements.len(), 3);
        let array = &plugin.parameters.static_announcements[1];
        assert_eq!(array.name, "array-param");
        assert_eq!(array.collection_type, "array");
        assert_eq!(
            array.array.as_deref(),
            Some(&["default".to_string(), "items".to_string()][..])
        );
        assert_eq!(
            plugin.parameters.dynamic.argv(),
            ["echo", "[{\"name\": \"example-param\"}]"]
        );
        assert!(plugin.preserve_file_mode);
    }

    #[test]
    fn rejects_what_argo_cd_rejects() {
        let cases = [
            (
                "kind: ConfigMap\nmetadata: {name: a}\nspec: {generate: {command: [sh]}}",
                "kind must be ConfigManagementPlugin",
            ),
            (
                "kind: ConfigManagementPlugin\nspec: {generate: {command: [sh]}}",
                "metadata.name must be set",
            ),
            (
                "kind: ConfigManagementPlugin\nmetadata: {name: a}\nspec: {init: {command: [sh]}}",
                "spec.generate.command must be set",
            ),
            (
                "kind: ConfigManagementPlugin\nmetadata: {name: ../a}\nspec: {generate: {command: [sh]}}",
                "must not contain '/'",
            ),
            (
                "kind: [unclosed",
                "failed to parse plugin definition x.yaml",
            ),
        ];
        for (text, expected) in cases {
            let error = parse(Path::new("x.yaml"), text)
                .expect_err(text)
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
            assert!(error.contains("x.yaml"), "{error}");
        }
    }

    #[test]
    fn a_directory_loads_its_good_definitions_and_names_its_bad_files() {
        let (plugins, errors) = load_dir(&testdata().join("definitions"));
        // Sorted as Argo CD lists sockets: "b-plugin.sock" < "my-plugin-v1.0.sock" < "z.sock".
        assert_eq!(
            plugins.iter().map(Plugin::full_name).collect::<Vec<_>>(),
            ["b-plugin", "my-plugin-v1.0", "z"]
        );
        let mut messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        messages.sort();
        assert_eq!(messages.len(), 2, "{messages:?}");
        assert!(messages[0].contains("broken.yaml"), "{messages:?}");
        assert!(messages[1].contains("duplicate.yml"), "{messages:?}");
        assert!(messages[1].contains("already defined"), "{messages:?}");
        // A file in a subdirectory other than plugin.yaml is not a definition.
        assert!(messages.iter().all(|m| !m.contains("notes.yaml")));
    }

    #[test]
    fn a_missing_directory_loads_nothing() {
        let plugins = Plugins::load(&testdata().join("no-such-dir"));
        assert!(plugins.plugins.is_empty());
        assert!(!plugins.any_discovery());
    }
}
