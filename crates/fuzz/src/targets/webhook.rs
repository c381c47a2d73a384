//! Webhook payloads: the body of `POST /api/webhook` as the server reads it once verified (JSON,
//! then the push of each provider, the repository URLs, then each URL's cache key, which
//! normalizes and redacts it).

use super::{Target, mutate_json};
use crate::corpus;
use crate::generators::webhook;
use crate::mutate;
use crate::rng::{Rng, one_in};
use driftless_source::{cache_key, is_ssh_url, normalize_git_url, redact_url};
use driftless_webhook::{Delivery, Provider, read_push, repository_urls};
use serde_json::Value;

pub const TARGET: Target = Target {
    name: "webhook",
    about: "driftless_webhook::read_push and repository_urls, then driftless_source URL normalization",
    seeds,
    generate,
    mutate,
    run,
};

fn seeds() -> Vec<Vec<u8>> {
    corpus::raw("crates/webhook/testdata", &[".json"])
}

fn generate(rng: &mut Rng) -> Vec<u8> {
    serde_json::to_vec(&webhook::payload(rng)).unwrap_or_default()
}

fn mutate(rng: &mut Rng, input: &[u8], others: &[&[u8]]) -> Vec<u8> {
    if one_in(rng, 4) {
        mutate::bytes(rng, input, webhook::DICT, others)
    } else {
        mutate_json(
            rng,
            input,
            others,
            None,
            &[
                "repository",
                "project",
                "links",
                "clone",
                "href",
                "html_url",
                "web_url",
                "git_ssh_url",
            ],
        )
    }
}

fn run(input: &[u8]) {
    let Ok(payload) = serde_json::from_slice::<Value>(input) else {
        return;
    };
    for provider in Provider::ALL {
        for event in [
            None,
            Some("push"),
            Some("Push Hook"),
            Some("repo:refs_changed"),
        ] {
            let delivery = Delivery {
                provider,
                event: event.map(str::to_string),
            };
            let _ = read_push(&delivery, &payload);
        }
    }
    for url in repository_urls(&payload) {
        let _ = cache_key(&url);
        let _ = redact_url(&url);
        let _ = normalize_git_url(&url);
        let _ = is_ssh_url(&url);
    }
}
