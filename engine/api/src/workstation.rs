//! The agent workstation (`/workstation/`): static files embedded in the binary, no build step.

use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

const INDEX: &str = include_str!("workstation/index.html");
const APP_JS: &str = include_str!("workstation/app.js");
const APP_CSS: &str = include_str!("workstation/app.css");

fn file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Small files, revalidated on every load so an upgrade reaches the next page load.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX)
}

pub(crate) async fn app_js() -> Response {
    file("text/javascript; charset=utf-8", APP_JS)
}

pub(crate) async fn app_css() -> Response {
    file("text/css; charset=utf-8", APP_CSS)
}

pub(crate) async fn redirect() -> Redirect {
    Redirect::permanent("/workstation/")
}
