//! `service.email[.<name>]`: mail over SMTP (`host`, `port`, `from`, optional `username` and
//! `password`, `html`). The recipient is one address or several separated by commas; the
//! subject is the template's `email.subject`, the body its `email.body` or else the message.
//! Port 465 speaks TLS from the start; any other port upgrades with STARTTLS when the server
//! offers it.

use super::{BuildError, Lenient};
use crate::sensitive::Sensitive;
use crate::template::Notification;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, Tokio1Executor};
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
pub struct EmailOptions {
    pub host: String,
    #[serde(default)]
    pub port: Lenient<u16>,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: Sensitive,
    pub from: String,
    #[serde(default)]
    pub html: bool,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

impl EmailOptions {
    pub fn port(&self) -> u16 {
        if self.port.0 == 0 { 25 } else { self.port.0 }
    }
}

/// One mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
    pub html: bool,
}

pub fn mail(
    options: &EmailOptions,
    notification: &Notification,
    recipient: &str,
) -> Result<Mail, BuildError> {
    let to: Vec<String> = recipient
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if to.is_empty() {
        return Err(BuildError::new(
            "email",
            "the subscription names no address",
        ));
    }
    let email = notification.email.clone().unwrap_or_default();
    let body = if email.body.is_empty() {
        notification.message.clone()
    } else {
        email.body
    };
    Ok(Mail {
        from: options.from.clone(),
        to,
        subject: email.subject,
        body,
        html: options.html,
    })
}

fn mailbox(address: &str, role: &str) -> Result<Mailbox, BuildError> {
    address.parse().map_err(|e| {
        BuildError::new(
            "email",
            format!("{role} {address:?} is not an address: {e}"),
        )
    })
}

/// The message as lettre sends it.
pub fn message(mail: &Mail) -> Result<Message, BuildError> {
    let mut builder = Message::builder()
        .from(mailbox(&mail.from, "from")?)
        .subject(mail.subject.clone())
        .header(if mail.html {
            ContentType::TEXT_HTML
        } else {
            ContentType::TEXT_PLAIN
        });
    for address in &mail.to {
        builder = builder.to(mailbox(address, "recipient")?);
    }
    builder
        .body(mail.body.clone())
        .map_err(|e| BuildError::new("email", format!("failed to build the message: {e}")))
}

/// The SMTP client for `options`.
pub fn transport(options: &EmailOptions) -> Result<AsyncSmtpTransport<Tokio1Executor>, BuildError> {
    let tls = TlsParameters::builder(options.host.clone())
        .dangerous_accept_invalid_certs(options.insecure_skip_verify)
        .build_rustls()
        .map_err(|e| BuildError::new("email", format!("failed to set up TLS: {e}")))?;
    let tls = if options.port() == 465 {
        Tls::Wrapper(tls)
    } else {
        Tls::Opportunistic(tls)
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(options.host.clone())
        .port(options.port())
        .tls(tls)
        .timeout(Some(Duration::from_secs(30)));
    if !options.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            options.username.clone(),
            options.password.expose().to_string(),
        ));
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::EmailTemplate;
    use pretty_assertions::assert_eq;

    #[test]
    fn subject_from_the_template_body_from_the_message() {
        let options: EmailOptions = serde_norway::from_str(
            "host: smtp.example\nport: \"587\"\nfrom: cd@example.com\nusername: cd\npassword: hunter2\n",
        )
        .unwrap();
        assert_eq!(options.port(), 587);
        let notification = Notification {
            message: "web is synced".into(),
            email: Some(EmailTemplate {
                subject: "Synced web".into(),
                body: String::new(),
            }),
            ..Default::default()
        };
        let mail = mail(&options, &notification, "a@example.com, b@example.com").unwrap();
        assert_eq!(
            mail,
            Mail {
                from: "cd@example.com".into(),
                to: vec!["a@example.com".into(), "b@example.com".into()],
                subject: "Synced web".into(),
                body: "web is synced".into(),
                html: false,
            }
        );
        let text = String::from_utf8(message(&mail).unwrap().formatted()).unwrap();
        assert!(text.contains("Subject: Synced web"), "{text}");
        assert!(text.contains("To: a@example.com, b@example.com"), "{text}");
        assert!(text.contains("web is synced"), "{text}");
        assert!(!format!("{options:?}").contains("hunter2"));
    }

    #[test]
    fn a_subscription_without_an_address_or_a_bad_from_fails() {
        let options = EmailOptions {
            from: "not an address".into(),
            ..Default::default()
        };
        let notification = Notification::default();
        assert!(mail(&options, &notification, " , ").is_err());
        let m = mail(&options, &notification, "a@example.com").unwrap();
        assert!(
            message(&m)
                .unwrap_err()
                .to_string()
                .contains("from \"not an address\"")
        );
    }
}
