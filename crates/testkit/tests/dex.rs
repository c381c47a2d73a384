//! Dex, the real OpenID Connect provider, as the login tests meet it: the browser part of the
//! authorization-code flow done programmatically, the code exchanged at the token endpoint, the
//! ID token's claims read. Fails, saying to run `hack/build-tools`, when Dex is not built.

use driftless_testkit::{Dex, DexClient, DexConfig, DexUser, Pkce, built_dex};
use pretty_assertions::assert_eq;

/// A relying party's callback; nothing listens there, and nothing must: the login stops at the
/// redirect.
const CALLBACK: &str = "http://127.0.0.1:1/callback";

fn start() -> Dex {
    built_dex().expect("Dex is not built: run hack/build-tools");
    let config = DexConfig::new()
        .user(
            DexUser::new("alice@driftless.test", "correct horse", "Alice Liddell")
                .user_id("alice-1")
                .groups(["driftless-admins", "team-a"]),
        )
        .user(DexUser::new("bob@driftless.test", "battery staple", "Bob"))
        .client(DexClient::confidential("driftless", [CALLBACK]).name("driftless server"))
        .client(DexClient::public("driftless-cli"));
    Dex::start(config).expect("start Dex")
}

fn param(url: &reqwest::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[tokio::test]
async fn authorization_code_login_yields_an_id_token_with_the_users_claims() {
    let dex = start();
    assert!(
        dex.issuer().starts_with("http://127.0.0.1:") && dex.issuer().ends_with("/dex"),
        "{}",
        dex.issuer()
    );
    assert_eq!(dex.discovery()["issuer"], dex.issuer());
    assert_eq!(dex.token_endpoint(), format!("{}/token", dex.issuer()));

    let url = dex
        .authorization_url(
            "driftless",
            CALLBACK,
            &["openid", "email", "profile", "groups"],
            "state-123",
            None,
        )
        .expect("authorization URL");
    let redirect = dex
        .login(&url, "alice@driftless.test", "correct horse")
        .await
        .expect("log in");
    assert_eq!(
        format!(
            "{}{}",
            redirect.origin().ascii_serialization(),
            redirect.path()
        ),
        CALLBACK
    );
    assert_eq!(param(&redirect, "state").as_deref(), Some("state-123"));
    let code = param(&redirect, "code").expect("a code in the redirect");

    let tokens = dex
        .exchange_code("driftless", &code, CALLBACK, None)
        .await
        .expect("exchange the code");
    let claims = tokens.id_claims().expect("ID token claims");
    assert_eq!(claims["iss"], dex.issuer());
    assert_eq!(claims["aud"], "driftless");
    assert_eq!(claims["email"], "alice@driftless.test");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["name"], "Alice Liddell");
    // Dex v2.45 carries the groups of a static password (scope `groups`).
    assert_eq!(
        claims["groups"],
        serde_json::json!(["driftless-admins", "team-a"])
    );

    // A code is good once.
    let again = dex.exchange_code("driftless", &code, CALLBACK, None).await;
    assert!(again.is_err(), "{again:?}");
}

#[tokio::test]
async fn wrong_password_and_unknown_redirect_fail_clearly() {
    let dex = start();
    let url = dex
        .authorization_url("driftless", CALLBACK, &["openid", "email"], "s", None)
        .expect("authorization URL");
    let err = dex
        .login(&url, "alice@driftless.test", "wrong")
        .await
        .expect_err("a wrong password is refused");
    assert!(
        format!("{err:#}").contains("rejected the credentials"),
        "{err:#}"
    );

    // A confidential client's redirect URIs match exactly.
    let elsewhere = dex
        .authorization_url(
            "driftless",
            "http://127.0.0.1:2/callback",
            &["openid"],
            "s",
            None,
        )
        .expect("authorization URL");
    let err = dex
        .login(&elsewhere, "alice@driftless.test", "correct horse")
        .await
        .expect_err("an unregistered redirect URI is refused");
    assert!(
        format!("{err:#}").contains("Unregistered redirect_uri"),
        "{err:#}"
    );
}

#[tokio::test]
async fn public_cli_client_logs_in_with_pkce_on_any_loopback_port() {
    let dex = start();
    let redirect_uri = "http://127.0.0.1:38123/auth/callback";
    let pkce = Pkce::new();
    let url = dex
        .authorization_url(
            "driftless-cli",
            redirect_uri,
            &["openid", "email", "profile", "offline_access"],
            "cli-state",
            Some(&pkce),
        )
        .expect("authorization URL");
    let redirect = dex
        .login(&url, "bob@driftless.test", "battery staple")
        .await
        .expect("log in");
    assert!(redirect.as_str().starts_with(redirect_uri), "{redirect}");
    let code = param(&redirect, "code").expect("a code");

    let without_verifier = dex
        .exchange_code("driftless-cli", &code, redirect_uri, None)
        .await;
    assert!(without_verifier.is_err(), "{without_verifier:?}");
    // Dex v2.45 keeps a code whose exchange lacked the verifier; a fresh one keeps this test
    // independent of that.
    let redirect = dex
        .login(&url, "bob@driftless.test", "battery staple")
        .await
        .expect("log in again");
    let code = param(&redirect, "code").expect("a code");
    let tokens = dex
        .exchange_code("driftless-cli", &code, redirect_uri, Some(&pkce.verifier))
        .await
        .expect("exchange with the verifier");
    let claims = tokens.id_claims().expect("claims");
    assert_eq!(claims["email"], "bob@driftless.test");
    assert_eq!(claims["name"], "Bob");
    assert_eq!(claims["aud"], "driftless-cli");
    assert!(tokens.refresh_token.is_some(), "{:?}", tokens.raw);
}

#[tokio::test]
async fn password_grant_and_mock_callback_connector() {
    built_dex().expect("Dex is not built: run hack/build-tools");
    let dex = Dex::start(
        DexConfig::new()
            .user(DexUser::new("carol@driftless.test", "pw-carol", "Carol").groups(["ops"]))
            .client(DexClient::confidential("driftless", [CALLBACK]))
            .mock_callback_connector(),
    )
    .expect("start Dex");

    let tokens = dex
        .password_grant(
            "driftless",
            "carol@driftless.test",
            "pw-carol",
            &["openid", "email", "profile", "groups"],
        )
        .await
        .expect("password grant");
    let claims = tokens.id_claims().expect("claims");
    assert_eq!(claims["email"], "carol@driftless.test");
    assert_eq!(claims["groups"], serde_json::json!(["ops"]));

    // Two connectors: Dex shows its choice page first, the password form behind `local`.
    let url = dex
        .authorization_url(
            "driftless",
            CALLBACK,
            &["openid", "email", "groups"],
            "m",
            None,
        )
        .expect("authorization URL");
    let redirect = dex
        .login(&url, "carol@driftless.test", "pw-carol")
        .await
        .expect("log in through the choice page");
    assert!(param(&redirect, "code").is_some(), "{redirect}");

    let redirect = dex.login_mock_callback(&url).await.expect("mock login");
    let code = param(&redirect, "code").expect("a code");
    let claims = dex
        .exchange_code("driftless", &code, CALLBACK, None)
        .await
        .expect("exchange")
        .id_claims()
        .expect("claims");
    assert_eq!(claims["email"], "kilgore@kilgore.trout");
    assert_eq!(claims["groups"], serde_json::json!(["authors"]));
}
