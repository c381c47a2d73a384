//! The one error type handlers return: an HTTP status and a message meant for the user,
//! answered as `{"error": …, "message": …}` (the shape of Argo CD's REST gateway).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Seconds, for 429 answers.
    pub retry_after: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, message)
    }

    /// A request to the Kubernetes API failed: its own status where it has one.
    pub fn kube(action: &str, error: kube::Error) -> Self {
        match &error {
            kube::Error::Api(status) => Self::new(
                StatusCode::from_u16(status.code).unwrap_or(StatusCode::BAD_GATEWAY),
                format!("failed to {action}: {}", status.message),
            ),
            _ => Self::new(
                StatusCode::BAD_GATEWAY,
                format!("failed to {action}: {error}"),
            ),
        }
    }
}

impl From<driftless_model::requests::RequestRefusal> for ApiError {
    fn from(refusal: driftless_model::requests::RequestRefusal) -> Self {
        use driftless_model::requests::RequestRefusal as R;
        let status = match &refusal {
            R::InProgress { .. } | R::NothingToTerminate { .. } => StatusCode::CONFLICT,
            R::NoHistoryEntry { .. } => StatusCode::NOT_FOUND,
            R::Automated { .. } | R::Propagation(_) => StatusCode::BAD_REQUEST,
        };
        Self::new(status, refusal.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = axum::Json(serde_json::json!({
            "error": self.message,
            "message": self.message,
            "code": self.status.as_u16(),
        }));
        let mut response = (self.status, body).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = seconds.max(1).to_string().parse()
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// An error with its causes: reqwest's own text rarely says what went wrong.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}
