//! The flags every client command takes, and the backend they choose: the API server of the
//! current context (or `--server`/`--context`), or the cluster itself with `--core`.

use super::config::{self, Context};
use super::{Backend, ClusterBackend, HttpBackend, HttpTarget};
use crate::cli::app_source::CommandError;
use clap::Args;

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectArgs {
    /// The API server, `host:port` or `https://host:port` (default: the current context's).
    #[arg(long, global = true, env = "DRIFTLESS_SERVER", value_name = "SERVER")]
    pub server: Option<String>,
    /// The bearer token (default: the context's, saved by `driftless login`).
    #[arg(
        long,
        global = true,
        env = "DRIFTLESS_AUTH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub auth_token: Option<String>,
    /// Talk HTTP, not HTTPS.
    #[arg(long, global = true)]
    pub plaintext: bool,
    /// Accept a server certificate that is not trusted (HTTPS).
    #[arg(long, global = true)]
    pub insecure_skip_tls_verify: bool,
    /// Use this context of the contexts file instead of the current one.
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// No API server: read and write Applications in the cluster with the KUBECONFIG.
    #[arg(long, global = true)]
    pub core: bool,
    /// With --core: the namespace of the Applications [default: argocd]; through the server:
    /// list only the Applications of this namespace.
    #[arg(long, global = true, value_name = "NAMESPACE")]
    pub app_namespace: Option<String>,
}

/// The namespace `--core` reads when none is given (Argo CD's).
pub const DEFAULT_APP_NAMESPACE: &str = "argocd";

/// A server as the user writes it: where it is (`host:port`, maybe a path) and whether it is
/// plain HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerAddress {
    pub address: String,
    pub plaintext: bool,
}

/// Reads `https://host:port`, `http://host:port` or `host:port` (HTTPS unless `plaintext`).
pub fn parse_server(text: &str, plaintext: bool) -> Result<ServerAddress, CommandError> {
    let text = text.trim();
    let (address, plaintext) = if let Some(rest) = text.strip_prefix("https://") {
        if plaintext {
            return Err(CommandError::Usage(format!(
                "--plaintext contradicts the https:// of {text}"
            )));
        }
        (rest, false)
    } else if let Some(rest) = text.strip_prefix("http://") {
        (rest, true)
    } else if text.contains("://") {
        return Err(CommandError::Usage(format!(
            "failed to read the server {text:?}: the scheme is http or https"
        )));
    } else {
        (text, plaintext)
    };
    let address = address.trim_end_matches('/');
    if address.is_empty() || address.starts_with('/') || address.contains(char::is_whitespace) {
        return Err(CommandError::Usage(format!(
            "failed to read the server {text:?}: expected host:port or https://host:port"
        )));
    }
    Ok(ServerAddress {
        address: address.to_string(),
        plaintext,
    })
}

/// The backend the flags choose.
pub async fn connect(args: &ConnectArgs) -> Result<Backend, CommandError> {
    if args.core {
        let namespace = args
            .app_namespace
            .clone()
            .unwrap_or_else(|| DEFAULT_APP_NAMESPACE.to_string());
        return Ok(Backend::Cluster(ClusterBackend::connect(namespace).await?));
    }
    let file = config::load(&config::path()?)?;
    let target = http_target(args, &file)?;
    Ok(Backend::Http(HttpBackend::new(target)?))
}

/// The server and token from the flags over the context (pure, but for the contexts file).
pub fn http_target(
    args: &ConnectArgs,
    file: &config::ConfigFile,
) -> Result<HttpTarget, CommandError> {
    // An empty DRIFTLESS_SERVER is no server.
    let server = args.server.clone().filter(|s| !s.trim().is_empty());
    let args = &ConnectArgs {
        server,
        ..args.clone()
    };
    let context: Option<&Context> = match (&args.context, &args.server) {
        (Some(name), _) => Some(file.context(name).ok_or_else(|| {
            CommandError::NotFound(format!("context {name} not found in {}", shown_path()))
        })?),
        (None, Some(server)) => {
            let wanted = parse_server(server, args.plaintext)?;
            file.contexts
                .iter()
                .find(|c| c.server == wanted.address && c.plaintext == wanted.plaintext)
        }
        (None, None) => file.current(),
    };
    let server = match (&args.server, context) {
        (Some(server), _) => parse_server(server, args.plaintext)?,
        (None, Some(context)) => ServerAddress {
            address: context.server.clone(),
            plaintext: context.plaintext || args.plaintext,
        },
        (None, None) => {
            return Err(CommandError::Usage(
                "no server: log in with `driftless login SERVER`, pass --server, or use --core"
                    .into(),
            ));
        }
    };
    Ok(HttpTarget {
        address: server.address,
        plaintext: server.plaintext,
        insecure: args.insecure_skip_tls_verify
            || context.is_some_and(|c| c.insecure_skip_tls_verify),
        token: args
            .auth_token
            .clone()
            .or_else(|| context.and_then(|c| c.token.clone()))
            .filter(|t| !t.is_empty()),
        app_namespace: args.app_namespace.clone(),
    })
}

fn shown_path() -> String {
    config::path()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "the contexts file".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::ConfigFile;
    use pretty_assertions::assert_eq;

    #[test]
    fn servers_are_read_with_or_without_a_scheme() {
        let https = ServerAddress {
            address: "h:8080".into(),
            plaintext: false,
        };
        assert_eq!(parse_server("h:8080", false).ok(), Some(https.clone()));
        assert_eq!(parse_server("https://h:8080/", false).ok(), Some(https));
        assert_eq!(
            parse_server("http://h:1", false).ok().map(|s| s.plaintext),
            Some(true)
        );
        assert_eq!(
            parse_server("h:1", true).ok().map(|s| s.plaintext),
            Some(true)
        );
        assert!(matches!(
            parse_server("https://h:1", true),
            Err(CommandError::Usage(_))
        ));
        assert!(matches!(
            parse_server("ftp://h", false),
            Err(CommandError::Usage(_))
        ));
        assert!(matches!(
            parse_server("", false),
            Err(CommandError::Usage(_))
        ));
    }

    #[test]
    fn flags_override_the_context() -> Result<(), CommandError> {
        let mut file = ConfigFile::default();
        file.upsert(Context {
            name: "a".into(),
            server: "a:1".into(),
            token: Some("ta".into()),
            plaintext: true,
            ..Context::default()
        });
        file.upsert(Context {
            name: "b".into(),
            server: "b:1".into(),
            token: Some("tb".into()),
            insecure_skip_tls_verify: true,
            ..Context::default()
        });
        file.current_context = Some("a".into());
        let current = http_target(&ConnectArgs::default(), &file)?;
        assert_eq!(
            (
                current.address.as_str(),
                current.plaintext,
                current.token.as_deref()
            ),
            ("a:1", true, Some("ta"))
        );
        let by_server = http_target(
            &ConnectArgs {
                server: Some("https://b:1".into()),
                ..ConnectArgs::default()
            },
            &file,
        )?;
        assert_eq!(
            (by_server.token.as_deref(), by_server.insecure),
            (Some("tb"), true)
        );
        let token = http_target(
            &ConnectArgs {
                auth_token: Some("x".into()),
                ..ConnectArgs::default()
            },
            &file,
        )?;
        assert_eq!(token.token.as_deref(), Some("x"));
        let unknown = http_target(
            &ConnectArgs {
                server: Some("c:1".into()),
                ..ConnectArgs::default()
            },
            &file,
        )?;
        assert_eq!((unknown.address.as_str(), unknown.token), ("c:1", None));
        assert!(matches!(
            http_target(
                &ConnectArgs {
                    context: Some("z".into()),
                    ..ConnectArgs::default()
                },
                &file
            ),
            Err(CommandError::NotFound(_))
        ));
        assert!(matches!(
            http_target(&ConnectArgs::default(), &ConfigFile::default()),
            Err(CommandError::Usage(_))
        ));
        Ok(())
    }
}
