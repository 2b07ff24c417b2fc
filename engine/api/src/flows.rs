use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};

use crate::{ApiError, ApiState};

/// The largest flow source `POST /api/v1/flows/validate` accepts (the loader's own file limit).
pub const MAX_FLOW_BODY: usize = 256 * 1024;

/// An active flow.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FlowInfo {
    pub name: String,
    pub version: String,
    pub file: String,
    pub activated_at: String,
    pub nodes: usize,
}

/// One validation error, located in its file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DiagnosticView {
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub message: String,
}

/// A flow file that failed validation; the version active before (if any) stays active.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RefusedFlow {
    pub file: String,
    pub diagnostics: Vec<DiagnosticView>,
}

/// What a reload did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct ReloadReport {
    /// Flows whose new version is now active.
    pub activated: Vec<FlowInfo>,
    /// Flows whose source did not change.
    pub unchanged: Vec<String>,
    /// Files refused; their previous version, if any, stays active.
    pub refused: Vec<RefusedFlow>,
    /// Flows whose file disappeared: they stay active until the next start (calls may still route to them).
    pub missing: Vec<String>,
}

/// What the API needs from the engine's flow registry.
pub trait FlowControl: Send + Sync + 'static {
    /// The active flows.
    fn active(&self) -> Vec<FlowInfo>;
    /// The files refused at the last load or reload.
    fn refused(&self) -> Vec<RefusedFlow>;
    /// Re-reads the flows folder and activates every valid changed flow.
    fn reload(&self) -> ReloadReport;
    /// Validates a flow source without activating it.
    fn validate(&self, file: &str, source: &str) -> Vec<DiagnosticView>;
}

#[derive(Debug, Serialize)]
pub(crate) struct FlowList {
    flows: Vec<FlowInfo>,
    refused: Vec<RefusedFlow>,
}

pub(crate) async fn list(State(state): State<ApiState>) -> Json<FlowList> {
    let flows = state.flows.clone();
    Json(FlowList {
        flows: flows.active(),
        refused: flows.refused(),
    })
}

pub(crate) async fn reload(State(state): State<ApiState>) -> Result<Json<ReloadReport>, ApiError> {
    let flows: Arc<dyn FlowControl> = state.flows.clone();
    // Loading reads files and compiles flows: keep it off the async workers.
    let report = tokio::task::spawn_blocking(move || flows.reload())
        .await
        .map_err(|_| ApiError::Internal)?;
    Ok(Json(report))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ValidateParams {
    file: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct ValidateResult {
    valid: bool,
    diagnostics: Vec<DiagnosticView>,
}

pub(crate) async fn validate(
    State(state): State<ApiState>,
    Query(params): Query<ValidateParams>,
    body: Bytes,
) -> Result<Json<ValidateResult>, ApiError> {
    if body.len() > MAX_FLOW_BODY {
        return Err(ApiError::TooLarge { limit: MAX_FLOW_BODY });
    }
    let source = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadParam {
            param: "body",
            reason: "a flow must be UTF-8 YAML".into(),
        })?
        .to_owned();
    let file = params.file.unwrap_or_else(|| "request.yaml".to_owned());
    if file.len() > 255 || file.contains(['/', '\\']) {
        return Err(ApiError::BadParam {
            param: "file",
            reason: "a plain file name of at most 255 bytes".into(),
        });
    }
    let flows = state.flows.clone();
    let diagnostics = tokio::task::spawn_blocking(move || flows.validate(&file, &source))
        .await
        .map_err(|_| ApiError::Internal)?;
    Ok(Json(ValidateResult {
        valid: diagnostics.is_empty(),
        diagnostics,
    }))
}

pub(crate) async fn versions(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<Vec<store::FlowVersion>>, ApiError> {
    if name.len() > 64 {
        return Err(ApiError::NotFound);
    }
    let versions = state.store.flow_versions(&name).await?;
    if versions.is_empty() {
        return Err(ApiError::NotFound);
    }
    Ok(Json(versions))
}
