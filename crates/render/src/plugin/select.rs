//! Which plugin renders a source, as Argo CD's repo server picks one:
//! - `plugin.name` set: the plugin of that full name (`<name>` or `<name>-<version>`); when it
//!   has discovery rules they must match too, otherwise it is not used.
//! - no name: the first plugin (in socket-name order) whose discovery rules match; plugins
//!   without discovery rules are never picked this way.

use super::PluginError;
use super::definition::{Plugin, Plugins};

/// Picks the plugin; `probe` tells whether a plugin's discovery rules match the app.
pub fn select<'a>(
    plugins: &'a Plugins,
    name: Option<&str>,
    app_path: &str,
    mut probe: impl FnMut(&Plugin) -> Result<bool, PluginError>,
) -> Result<&'a Plugin, PluginError> {
    let path = if app_path.is_empty() { "." } else { app_path }.to_string();
    if plugins.plugins.is_empty() {
        return Err(PluginError::NoPlugins {
            wanted: name.map(str::to_string),
            dir: plugins.dir.as_ref().map(|d| d.display().to_string()),
            skipped: plugins.skipped_note(),
        });
    }
    if let Some(name) = name {
        let plugin = plugins
            .get(name)
            .ok_or_else(|| PluginError::UnknownPlugin {
                name: name.to_string(),
                available: plugins.names().join(", "),
                skipped: plugins.skipped_note(),
            })?;
        if plugin.discover.rule().is_none() || probe(plugin)? {
            return Ok(plugin);
        }
        return Err(PluginError::NamedNotMatching {
            name: name.to_string(),
            path,
        });
    }
    let mut last_error = None;
    for plugin in plugins
        .plugins
        .iter()
        .filter(|p| p.discover.rule().is_some())
    {
        match probe(plugin) {
            Ok(true) => return Ok(plugin),
            Ok(false) => {}
            // Argo CD goes on with the next plugin and reports the last failure if none matches.
            Err(error) => last_error = Some(error.to_string()),
        }
    }
    Err(PluginError::NoneMatched {
        path,
        last_error: last_error
            .map(|e| format!(" (last discovery error: {e})"))
            .unwrap_or_default(),
        skipped: plugins.skipped_note(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::definition::{Command, Discover, Find};
    use super::*;

    fn plugin(name: &str, version: Option<&str>, glob: &str) -> Plugin {
        Plugin {
            name: name.into(),
            version: version.map(str::to_string),
            init: Command::default(),
            generate: Command {
                command: vec!["true".into()],
                args: vec![],
            },
            discover: Discover {
                file_name: String::new(),
                find: Find {
                    glob: glob.into(),
                    ..Find::default()
                },
            },
            parameters: Default::default(),
            preserve_file_mode: false,
            file: "test.yaml".into(),
        }
    }

    fn plugins() -> Plugins {
        Plugins {
            dir: Some("/plugins".into()),
            plugins: vec![
                plugin("cue", None, "**/*.cue"),
                plugin("helmfile", Some("v1"), "helmfile.yaml"),
                plugin("sops", None, "**/*.enc.yaml"),
                plugin("manual", None, ""),
            ],
            skipped: vec![],
        }
    }

    /// Matches plugins whose glob is in `files` (a stand-in for the app's files).
    fn probe(files: &'static [&'static str]) -> impl FnMut(&Plugin) -> Result<bool, PluginError> {
        move |p| Ok(files.contains(&p.discover.find.glob.as_str()))
    }

    #[test]
    fn a_name_picks_that_plugin_with_its_version() {
        let plugins = plugins();
        let got = select(
            &plugins,
            Some("helmfile-v1"),
            "app",
            probe(&["helmfile.yaml"]),
        );
        assert_eq!(got.expect("found").full_name(), "helmfile-v1");
        // Without discovery rules, a named plugin is used whatever the files.
        let got = select(&plugins, Some("manual"), "app", probe(&[]));
        assert_eq!(got.expect("found").name, "manual");
    }

    #[test]
    fn a_wrong_name_lists_the_plugins() {
        let plugins = plugins();
        let error = select(&plugins, Some("helmfile"), "app", probe(&[])).expect_err("no such");
        assert_eq!(
            error.to_string(),
            "failed to find plugin \"helmfile\": the plugins are cue, helmfile-v1, sops, manual \
             (a plugin with spec.version is named <name>-<version>)"
        );
    }

    #[test]
    fn a_named_plugin_whose_rules_do_not_match_is_not_used() {
        let plugins = plugins();
        let error = select(&plugins, Some("cue"), "apps/web", probe(&[])).expect_err("no match");
        assert!(error.to_string().contains("\"cue\""), "{error}");
        assert!(error.to_string().contains("apps/web"), "{error}");
    }

    #[test]
    fn discovery_takes_the_first_matching_plugin() {
        let plugins = plugins();
        let got = select(
            &plugins,
            None,
            "app",
            probe(&["**/*.enc.yaml", "helmfile.yaml"]),
        );
        assert_eq!(got.expect("found").full_name(), "helmfile-v1");
        let error = select(&plugins, None, "", probe(&[])).expect_err("none");
        assert_eq!(
            error.to_string(),
            "failed to find a plugin for path .: no plugin's discover rules match"
        );
    }

    #[test]
    fn a_failing_probe_does_not_stop_discovery_but_is_reported() {
        let plugins = plugins();
        let failing = |p: &Plugin| {
            if p.name == "cue" {
                Err(PluginError::Discover {
                    plugin: "cue".into(),
                    message: "boom".into(),
                })
            } else {
                Ok(p.name == "sops")
            }
        };
        let got = select(&plugins, None, "app", failing);
        assert_eq!(got.expect("sops").name, "sops");
        let error = select(&plugins, None, "app", |p: &Plugin| {
            Err(PluginError::Discover {
                plugin: p.name.clone(),
                message: "boom".into(),
            })
        })
        .expect_err("none");
        assert!(
            error.to_string().contains("last discovery error"),
            "{error}"
        );
        assert!(error.to_string().contains("boom"), "{error}");
    }

    #[test]
    fn errors_name_the_definitions_that_were_skipped() {
        let mut plugins = plugins();
        plugins.skipped = vec!["failed to parse plugin definition /plugins/bad.yaml: oops".into()];
        let error = select(&plugins, Some("bad"), "app", probe(&[])).expect_err("skipped");
        assert!(
            error
                .to_string()
                .ends_with("; skipped: failed to parse plugin definition /plugins/bad.yaml: oops"),
            "{error}"
        );
    }

    #[test]
    fn no_plugins_says_how_to_configure_them() {
        let none = Plugins::default();
        let error = select(&none, Some("cue"), "app", probe(&[])).expect_err("none");
        assert!(
            error.to_string().contains("DRIFTLESS_PLUGIN_DIR"),
            "{error}"
        );
        assert!(error.to_string().contains("\"cue\""), "{error}");
    }
}
