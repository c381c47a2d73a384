//! The tables of testdata/: authenticity (auth-cases.yaml) and payloads (payload-cases.yaml).

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use driftless_webhook::{
    Delivery, Event, Headers, PayloadError, Provider, Refusal, Secrets, read_body, read_push,
    repository_urls, verify,
};
use hmac::{Hmac, Mac};
use pretty_assertions::assert_eq;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

fn testdata(name: &str) -> Vec<u8> {
    let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn provider(name: &str) -> Provider {
    Provider::ALL
        .into_iter()
        .find(|p| format!("{p:?}") == name)
        .unwrap_or_else(|| panic!("no provider {name}"))
}

#[derive(Deserialize)]
struct AuthCases {
    secrets: BTreeMap<String, String>,
    cases: Vec<AuthCase>,
}

#[derive(Deserialize)]
struct AuthCase {
    name: String,
    body: String,
    signed_body: Option<String>,
    configured: Vec<String>,
    headers: BTreeMap<String, String>,
    expect: AuthExpect,
}

#[derive(Deserialize)]
struct AuthExpect {
    provider: Option<String>,
    event: Option<String>,
    refused: Option<String>,
}

/// Fills a header value's placeholder (see auth-cases.yaml) from the signed body.
fn expand(value: &str, secrets: &BTreeMap<String, String>, signed: &[u8]) -> String {
    let Some((before, rest)) = value.split_once('{') else {
        return value.to_string();
    };
    let (placeholder, after) = rest.split_once('}').unwrap();
    let (kind, arg) = placeholder.split_once(':').unwrap();
    let key = || secrets[arg].as_bytes();
    let filled = match kind {
        "hmac-sha256" => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key()).unwrap();
            mac.update(signed);
            hex::encode(mac.finalize().into_bytes())
        }
        "hmac-sha1" => {
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key()).unwrap();
            mac.update(signed);
            hex::encode(mac.finalize().into_bytes())
        }
        "secret" => secrets[arg].clone(),
        "basic" => base64::engine::general_purpose::STANDARD.encode(arg),
        other => panic!("unknown placeholder {other}"),
    };
    format!("{before}{filled}{after}")
}

fn refusal_kind(refusal: &Refusal) -> &'static str {
    match refusal {
        Refusal::UnknownProvider => "UnknownProvider",
        Refusal::NotConfigured { .. } => "NotConfigured",
        Refusal::MissingSignature { .. } => "MissingSignature",
        Refusal::LegacySignature { .. } => "LegacySignature",
        Refusal::BadSignature { .. } => "BadSignature",
    }
}

fn event_kind(event: &Result<Event, PayloadError>) -> &'static str {
    match event {
        Ok(Event::Push(_)) => "push",
        Ok(Event::Ping) => "ping",
        Err(PayloadError::UnsupportedEvent { .. }) => "unsupported",
        Err(_) => "error",
    }
}

#[test]
fn requests_are_accepted_exactly_when_authentic() {
    let table: AuthCases = serde_norway::from_slice(&testdata("auth-cases.yaml")).unwrap();
    assert!(table.cases.len() >= 40, "the table lost cases");
    for case in &table.cases {
        let name = &case.name;
        let body = testdata(&case.body);
        let signed = case.signed_body.as_deref().map_or(body.clone(), testdata);
        let data: BTreeMap<String, Vec<u8>> = case
            .configured
            .iter()
            .map(|k| (k.clone(), table.secrets[k].clone().into_bytes()))
            .collect();
        let secrets = Secrets::from_secret_data(&data);
        let headers: Headers = case
            .headers
            .iter()
            .map(|(n, v)| (n.clone(), expand(v, &table.secrets, &signed)))
            .collect();

        let outcome = verify(&secrets, &headers, &body);
        match (&case.expect.refused, outcome) {
            (None, Ok(delivery)) => {
                let want = provider(case.expect.provider.as_deref().unwrap());
                assert_eq!(delivery.provider, want, "{name}");
                let event = read_body(&delivery, &body);
                let want = case.expect.event.as_deref().unwrap();
                assert_eq!(event_kind(&event), want, "{name}: {event:?}");
            }
            (Some(want), Err(refusal)) => {
                assert_eq!(refusal_kind(&refusal), want, "{name}: {refusal}");
                let want = case.expect.provider.as_deref().map(provider);
                assert_eq!(refusal.provider(), want, "{name}");
                let message = refusal.to_string();
                assert!(message.starts_with("failed to "), "{name}: {message}");
                let secret_values = table.secrets.values().cloned();
                let header_values = headers_values(&case.headers, &table.secrets, &signed);
                for shown in secret_values.chain(header_values) {
                    assert!(!message.contains(&shown), "{name}: {message} shows {shown}");
                }
            }
            (want, got) => panic!("{name}: expected refusal {want:?}, got {got:?}"),
        }
    }
}

/// The signature-bearing header values of a case (event names are not secret).
fn headers_values(
    headers: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, String>,
    signed: &[u8],
) -> Vec<String> {
    headers
        .values()
        .filter(|v| v.contains('{'))
        .map(|v| expand(v, secrets, signed))
        .flat_map(|v| {
            let bare = v.split_once('=').map(|(_, hex)| hex.to_string());
            [Some(v), bare].into_iter().flatten()
        })
        .filter(|v| v.len() >= 6)
        .collect()
}

#[derive(Deserialize)]
struct PayloadCase {
    body: Option<String>,
    json: Option<serde_json::Value>,
    provider: String,
    event: Option<String>,
    expect: PayloadExpect,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PayloadExpect {
    Ping(String),
    Error { error: String },
    Push(PushExpect),
}

#[derive(Deserialize)]
struct PushExpect {
    repositories: Vec<String>,
    reference: Option<String>,
    revision: Option<String>,
    changed_paths: Option<BTreeSet<String>>,
    names: Vec<String>,
    not_names: Vec<String>,
}

#[test]
fn payloads_name_their_repository_ref_and_paths() {
    let table: Vec<PayloadCase> =
        serde_norway::from_slice(&testdata("payload-cases.yaml")).unwrap();
    for case in &table {
        let payload = match (&case.body, &case.json) {
            (Some(file), None) => serde_json::from_slice(&testdata(file)).unwrap(),
            (None, Some(json)) => json.clone(),
            _ => panic!("a case has a body file or inline json"),
        };
        let name = case.body.clone().unwrap_or_else(|| payload.to_string());
        let delivery = Delivery {
            provider: provider(&case.provider),
            event: case.event.clone(),
        };
        let event = read_push(&delivery, &payload);
        match &case.expect {
            PayloadExpect::Ping(ping) => {
                assert_eq!(ping, "ping");
                assert_eq!(event, Ok(Event::Ping), "{name}");
            }
            PayloadExpect::Error { error } => {
                let got = match &event {
                    Err(PayloadError::UnsupportedEvent { .. }) => "UnsupportedEvent",
                    Err(PayloadError::NoRepository { .. }) => "NoRepository",
                    Err(PayloadError::NotJson) => "NotJson",
                    Ok(_) => "none",
                };
                assert_eq!(got, error, "{name}: {event:?}");
            }
            PayloadExpect::Push(want) => {
                let Ok(Event::Push(push)) = event else {
                    panic!("{name}: not a push: {event:?}");
                };
                assert_eq!(push.repositories, want.repositories, "{name}");
                assert_eq!(push.reference, want.reference, "{name}");
                assert_eq!(push.revision(), want.revision.as_deref(), "{name}");
                assert_eq!(push.changed_paths, want.changed_paths, "{name}");
                for url in &want.names {
                    assert!(push.names(url), "{name} should name {url}");
                }
                for url in &want.not_names {
                    assert!(!push.names(url), "{name} should not name {url}");
                }
            }
        }
    }
}

/// The controller's webhook fixtures (copied here) keep the URLs it read from them.
#[test]
fn repository_urls_keep_the_controller_behaviour() {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&testdata(&format!("{name}.json"))).unwrap()
    };
    assert_eq!(
        repository_urls(&read("github")),
        [
            "git@github.com:team/apps.git",
            "https://github.com/team/apps",
            "https://github.com/team/apps.git",
        ]
    );
    assert_eq!(
        repository_urls(&read("gitlab")),
        [
            "git@gitlab.com:team/apps.git",
            "https://gitlab.com/team/apps",
            "https://gitlab.com/team/apps.git",
        ]
    );
    assert_eq!(
        repository_urls(&read("bitbucket")),
        ["https://bitbucket.org/team/apps"]
    );
    assert!(repository_urls(&serde_json::json!({"zen": "ping"})).is_empty());
}

#[test]
fn a_body_that_is_not_json_is_a_payload_error() {
    let delivery = Delivery {
        provider: Provider::GitHub,
        event: Some("push".into()),
    };
    assert_eq!(
        read_body(&delivery, b"payload=%7B"),
        Err(PayloadError::NotJson)
    );
}
