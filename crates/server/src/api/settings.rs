//! `GET /api/v1/settings`: what a client needs before it logs in (unauthenticated, as Argo
//! CD's): the server's URL and the single sign-on provider, never a secret.

use crate::state::Shared;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

pub async fn settings(State(state): State<Shared>) -> Json<Value> {
    let Ok(snapshot) = state.settings.snapshot().await else {
        return Json(json!({"controllerNamespace": state.namespace()}));
    };
    // Argo CD's name for the control namespace: a client needs it to name an app's RBAC object.
    let mut body = json!({"controllerNamespace": state.namespace()});
    if let Some(url) = &snapshot.url {
        body["url"] = json!(url);
    }
    if let Some(Ok(config)) = &snapshot.oidc {
        body["oidcConfig"] = json!({
            "name": config.name,
            "issuer": config.issuer,
            "clientID": config.client_id,
            "cliClientID": config.cli_client_id,
            "scopes": config.scopes,
            "enablePKCEAuthentication": config.pkce,
        });
        if let Some(claims) = &config.id_token_claims {
            body["oidcConfig"]["idTokenClaims"] = claims.clone();
        }
    }
    Json(body)
}
