//! Webhook payloads: the body of `POST /api/webhook` as the controller reads it (JSON, then the
//! repository URLs, then each URL's cache key, which normalizes and redacts it).

use super::{Target, mutate_json};
use crate::corpus;
use crate::generators::webhook;
use crate::mutate;
use crate::rng::{Rng, one_in};
use driftless_controller::webhook::repository_urls;
use driftless_source::{cache_key, is_ssh_url, normalize_git_url, redact_url};
use serde_json::Value;

pub const TARGET: Target = Target {
    name: "webhook",
    about: "driftless_controller::webhook::repository_urls, then driftless_source URL normalization",
    seeds,
    generate,
    mutate,
    run,
};

fn seeds() -> Vec<Vec<u8>> {
    corpus::raw("crates/controller/testdata/webhook", &[".json"])
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
    for url in repository_urls(&payload) {
        let _ = cache_key(&url);
        let _ = redact_url(&url);
        let _ = normalize_git_url(&url);
        let _ = is_ssh_url(&url);
    }
}
