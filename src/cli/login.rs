//! `driftless login SERVER`, `driftless logout` and `driftless context`: the contexts file
//! (servers, their tokens and flags, the current one) that the client commands read.

use super::app_source::CommandError;
use super::client::config::{self, Context};
use super::client::{HttpBackend, HttpTarget, parse_server};
use super::prompt;
use clap::Args;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The API server: host:port, https://host:port (or http://host:port, as --plaintext).
    pub server: String,
    /// The local account to log in as (asked for on a terminal when not given).
    #[arg(long)]
    pub username: Option<String>,
    /// Its password (asked for on a terminal when not given, else read from stdin).
    #[arg(long, env = "DRIFTLESS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Save this token (an API key, a project token) instead of logging in with a password.
    #[arg(long, conflicts_with_all = ["username", "password"])]
    pub token: Option<String>,
    /// Log in through the server's single sign-on provider, in the browser.
    #[arg(long, conflicts_with_all = ["username", "password", "token"])]
    pub sso: bool,
    /// The local port the browser is sent back to after an SSO login.
    #[arg(long, default_value_t = super::sso::DEFAULT_PORT, requires = "sso")]
    pub sso_port: u16,
    /// Only print the SSO login URL; do not try to open a browser.
    #[arg(long, requires = "sso")]
    pub no_browser: bool,
    /// Accept a server certificate that is not trusted (HTTPS).
    #[arg(long)]
    pub insecure_skip_tls_verify: bool,
    /// Talk HTTP, not HTTPS.
    #[arg(long)]
    pub plaintext: bool,
    /// The name of the context to save [default: the server's host:port].
    #[arg(long = "name", value_name = "CONTEXT")]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    /// The context to log out of [default: the current one].
    pub context: Option<String>,
}

#[derive(Debug, Args)]
pub struct ContextArgs {
    /// Switch to this context; without it, list them.
    pub name: Option<String>,
    /// Remove the context NAME from the file.
    #[arg(long, requires = "name")]
    pub delete: bool,
}

pub async fn login(args: LoginArgs) -> Result<bool, CommandError> {
    let server = parse_server(&args.server, args.plaintext)?;
    let http = |token: Option<String>| {
        HttpBackend::new(HttpTarget {
            address: server.address.clone(),
            plaintext: server.plaintext,
            insecure: args.insecure_skip_tls_verify,
            token,
            app_namespace: None,
        })
    };
    let token = match &args.token {
        Some(token) => token.clone(),
        None if args.sso => {
            let options = super::sso::SsoOptions {
                port: args.sso_port,
                open_browser: !args.no_browser,
            };
            super::sso::login(&http(None)?, &options).await?
        }
        None => {
            let (username, password) = credentials(&args)?;
            http(None)?.login(&username, &password).await?
        }
    };
    let backend = http(Some(token.clone()))?;
    let info = backend.userinfo().await?;
    let user = info["username"].as_str().unwrap_or_default().to_string();
    let path = config::path()?;
    let mut file = config::load(&path)?;
    let name = args.name.clone().unwrap_or_else(|| server.address.clone());
    file.upsert(Context {
        name: name.clone(),
        server: server.address.clone(),
        token: Some(token),
        user: Some(user.clone()).filter(|u| !u.is_empty()),
        plaintext: server.plaintext,
        insecure_skip_tls_verify: args.insecure_skip_tls_verify,
    });
    file.current_context = Some(name.clone());
    config::save(&path, &file)?;
    println!("'{user}' logged in to {}", backend.server());
    println!(
        "context '{name}' saved in {} and made current",
        path.display()
    );
    Ok(true)
}

/// The username and password: from the flags, else asked (on a terminal) or read from stdin.
fn credentials(args: &LoginArgs) -> Result<(String, String), CommandError> {
    let interactive = prompt::interactive();
    let username = match &args.username {
        Some(username) => username.clone(),
        None if interactive => prompt::line("Username: ")?,
        None => {
            return Err(CommandError::Usage(
                "--username is required when stdin is not a terminal (or pass --token)".into(),
            ));
        }
    };
    let password = match &args.password {
        Some(password) => password.clone(),
        None if interactive => prompt::password(&format!("Password for {username}: "))?,
        None => prompt::read_line()?.unwrap_or_default(),
    };
    if username.trim().is_empty() || password.is_empty() {
        return Err(CommandError::Usage(
            "a username and a password are needed to log in".into(),
        ));
    }
    Ok((username.trim().to_string(), password))
}

pub async fn logout(args: LogoutArgs) -> Result<bool, CommandError> {
    let path = config::path()?;
    let mut file = config::load(&path)?;
    let name = match args
        .context
        .clone()
        .or_else(|| file.current_context.clone())
    {
        Some(name) => name,
        None => {
            return Err(CommandError::Usage(
                "no current context to log out of".into(),
            ));
        }
    };
    let Some(context) = file.contexts.iter_mut().find(|c| c.name == name) else {
        return Err(CommandError::NotFound(format!(
            "context {name} not found in {}",
            path.display()
        )));
    };
    if let Some(token) = context.token.take() {
        let backend = HttpBackend::new(HttpTarget {
            address: context.server.clone(),
            plaintext: context.plaintext,
            insecure: context.insecure_skip_tls_verify,
            token: Some(token),
            app_namespace: None,
        })?;
        // The token is forgotten here either way; the server may already refuse it.
        match backend.logout().await {
            Ok(()) | Err(CommandError::Denied(_)) => {}
            Err(error) => eprintln!("warning: the server did not end the session: {error}"),
        }
    }
    config::save(&path, &file)?;
    println!("logged out of '{name}'");
    Ok(true)
}

pub fn context(args: ContextArgs) -> Result<bool, CommandError> {
    let path = config::path()?;
    let mut file = config::load(&path)?;
    let Some(name) = args.name else {
        print!("{}", contexts_table(&file));
        return Ok(true);
    };
    if file.context(&name).is_none() {
        return Err(CommandError::NotFound(format!(
            "context {name} not found in {}",
            path.display()
        )));
    }
    if args.delete {
        file.contexts.retain(|c| c.name != name);
        if file.current_context.as_deref() == Some(name.as_str()) {
            file.current_context = None;
        }
        config::save(&path, &file)?;
        println!("context '{name}' removed");
    } else {
        file.current_context = Some(name.clone());
        config::save(&path, &file)?;
        println!("switched to context '{name}'");
    }
    Ok(true)
}

/// CURRENT NAME SERVER USER (pure).
fn contexts_table(file: &config::ConfigFile) -> String {
    use super::app::table::{Cell, Table};
    let mut table = Table::new(&["current", "name", "server", "user"]);
    for context in &file.contexts {
        let current = if file.current_context.as_deref() == Some(context.name.as_str()) {
            "*"
        } else {
            ""
        };
        let scheme = if context.plaintext { "http" } else { "https" };
        let user = match (&context.token, &context.user) {
            (None, _) => "(logged out)".to_string(),
            (Some(_), Some(user)) => user.clone(),
            (Some(_), None) => String::new(),
        };
        table.row(vec![
            Cell::plain(current),
            Cell::plain(context.name.as_str()),
            Cell::plain(format!("{scheme}://{}", context.server)),
            Cell::plain(user),
        ]);
    }
    table.render(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn contexts_list_marks_the_current_one() {
        let mut file = config::ConfigFile::default();
        file.upsert(Context {
            name: "a:1".into(),
            server: "a:1".into(),
            token: Some("t".into()),
            user: Some("admin".into()),
            ..Context::default()
        });
        file.upsert(Context {
            name: "dev".into(),
            server: "b:2".into(),
            plaintext: true,
            ..Context::default()
        });
        file.current_context = Some("dev".into());
        assert_eq!(
            contexts_table(&file),
            "CURRENT   NAME   SERVER        USER\n          a:1    https://a:1   admin\n*         dev    http://b:2    (logged out)\n"
        );
    }
}
