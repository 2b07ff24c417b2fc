use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An API failure as the client sees it: a status, a stable code and a plain message. Internal details are
/// logged, never returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    #[error("missing or invalid bearer token")]
    Unauthorized,
    #[error("no such resource")]
    NotFound,
    #[error("invalid parameter {param}: {reason}")]
    BadParam { param: &'static str, reason: String },
    #[error("an internal database error occurred")]
    Store(#[from] store::StoreError),
    #[error("request body larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("an internal error occurred")]
    Internal,
    #[error("{what} exists already")]
    Conflict { what: &'static str },
    #[error("{0}")]
    TooMany(&'static str),
    #[error("{0}")]
    Unavailable(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// The request does not fit the resource's state now (409).
    #[error("{0}")]
    NotNow(&'static str),
    /// The engine cannot do it now, for the reason given (409).
    #[error("{0}")]
    Refused(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            Self::BadParam { .. } => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::Store(_) | Self::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            Self::Conflict { .. } => (StatusCode::CONFLICT, "conflict"),
            Self::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            Self::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::NotNow(_) | Self::Refused(_) => (StatusCode::CONFLICT, "conflict"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let Self::Store(e) = &self {
            tracing::error!(error = %e, "API request failed in the store");
        }
        let body = serde_json::json!({"error": code, "message": self.to_string()});
        let mut resp = (status, axum::Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"hotline\""),
            );
        }
        resp
    }
}
