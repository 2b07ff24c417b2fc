//! The HTTP API through the router, against a real SQLite store.
#![allow(clippy::unwrap_used)] // tests

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hotline_api::{
    AgentControl, ApiState, DiagnosticView, FlowControl, FlowInfo, MAX_FLOW_BODY, MetricsSource, RefusedFlow,
    RegistrationView, ReloadReport, router,
};
use model::{CallId, EndReason};
use store::{CallFinal, NewCall, Store};
use tower::ServiceExt;

struct FixedMetrics;
impl MetricsSource for FixedMetrics {
    fn render(&self) -> String {
        "# TYPE hotline_calls_total counter\nhotline_calls_total 3\n".into()
    }
}

/// A flow registry double: one active flow; validation refuses sources containing "bad".
struct FakeFlows;
impl FlowControl for FakeFlows {
    fn active(&self) -> Vec<FlowInfo> {
        vec![FlowInfo {
            name: "hotline".into(),
            version: "v1".into(),
            file: "hotline.yaml".into(),
            activated_at: "2026-11-21T00:00:00Z".into(),
            nodes: 7,
        }]
    }
    fn refused(&self) -> Vec<RefusedFlow> {
        vec![]
    }
    fn reload(&self) -> ReloadReport {
        ReloadReport {
            unchanged: vec!["hotline".into()],
            ..Default::default()
        }
    }
    fn validate(&self, file: &str, source: &str) -> Vec<DiagnosticView> {
        if source.contains("bad") {
            vec![DiagnosticView {
                file: file.into(),
                line: 1,
                col: 7,
                message: "unknown key".into(),
            }]
        } else {
            vec![]
        }
    }
}

/// Agent control double: realm `hotline`, agent 2001 registered, counts refreshes.
#[derive(Default)]
struct FakeAgents {
    changed: std::sync::atomic::AtomicUsize,
}
impl AgentControl for FakeAgents {
    fn realm(&self) -> String {
        "hotline".into()
    }
    fn registrations(&self) -> std::collections::BTreeMap<String, Vec<RegistrationView>> {
        [(
            "2001".to_owned(),
            vec![RegistrationView {
                contact: "sip:2001@10.0.0.5".into(),
                source: "10.0.0.5:5060".into(),
                expires_in_s: 300,
            }],
        )]
        .into()
    }
    fn agents_changed(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        self.changed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Box::pin(async {})
    }
    fn set_status(
        &self,
        agent: &str,
        status: &str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), hotline_api::StatusError>> + Send + 'static>> {
        let result = match (agent, status) {
            (_, s) if !["idle", "busy", "break", "meeting", "offline"].contains(&s) => {
                Err(hotline_api::StatusError::UnknownStatus)
            }
            ("2001", _) => Ok(()),
            _ => Err(hotline_api::StatusError::UnknownAgent),
        };
        Box::pin(async move { result })
    }
    fn queues(&self) -> std::pin::Pin<Box<dyn Future<Output = serde_json::Value> + Send + 'static>> {
        Box::pin(async { serde_json::json!({"support": {"waiting": 2}}) })
    }
    fn dial(
        &self,
        _agent: &str,
        _number: &str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, hotline_api::DialError>> + Send + 'static>>
    {
        Box::pin(async { Err(hotline_api::DialError::Unavailable) })
    }
    fn hold(
        &self,
        _agent: &str,
        _call: &str,
        _on: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), hotline_api::HoldError>> + Send + 'static>> {
        Box::pin(async { Err(hotline_api::HoldError::NotYours) })
    }
}

async fn app() -> (axum::Router, Store) {
    let (app, store, _) = app_with_dir().await;
    (app, store)
}

/// The app, its store and its recordings folder.
async fn app_with_dir() -> (axum::Router, Store, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("hotline-api-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = Store::connect(&format!("sqlite://{}/t.db", dir.display()))
        .await
        .unwrap();
    let state = ApiState {
        store: store.clone(),
        metrics: Arc::new(FixedMetrics),
        api_token: "s3cret".into(),
        flows: Arc::new(FakeFlows),
        agents: Arc::new(FakeAgents::default()),
        recordings_dir: Some(dir.join("recordings")),
        chats: None,
        regions: Arc::new(hotline_api::Regions {
            table: model::RegionTable::parse_csv("prefix,region\n+4930,Berlin\n", "t.csv").unwrap(),
            default_country_code: Some("49".into()),
        }),
    };
    (router(state), store, dir.join("recordings"))
}

async fn get(
    app: &axum::Router,
    uri: &str,
    token: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let mut req = Request::get(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    (status, headers, body)
}

async fn seed(store: &Store, n: u64, ended: bool) -> CallId {
    let id = CallId::from_parts(1_700_000_000_000 + n * 1000, u128::from(n));
    store
        .insert_call(&NewCall {
            id,
            sip_call_id: format!("c{n}"),
            from_uri: format!("sip:100{n}@10.0.0.1"),
            from_user: format!("100{n}"),
            to_uri: "sip:hotline@127.0.0.1".into(),
            to_user: "hotline".into(),
            source_addr: "127.0.0.1:5000".into(),
            node_id: "n1".into(),
            flow: Some("hotline".into()),
            flow_version: Some("v1".into()),
            started_at_ms: 1_700_000_000_000 + i64::try_from(n).unwrap() * 1000,
        })
        .await
        .unwrap();
    store
        .mark_answered(id, 1_700_000_000_100 + i64::try_from(n).unwrap() * 1000)
        .await
        .unwrap();
    if ended {
        store
            .finalize_call(&CallFinal {
                id,
                ended_at_ms: 1_700_000_009_000 + i64::try_from(n).unwrap() * 1000,
                end_reason: EndReason::FlowHangup,
                hangup_by: EndReason::FlowHangup.hangup_by(),
                keypresses: "12#".into(),
                trail: vec![],
                media_stats: None,
                fields: Default::default(),
            })
            .await
            .unwrap();
    }
    id
}

#[tokio::test]
async fn calls_need_the_bearer_token() {
    let (app, _store) = app().await;
    let (status, headers, body) = get(&app, "/api/v1/calls", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.contains_key(header::WWW_AUTHENTICATE));
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"], "unauthorized");
    let (status, _, _) = get(&app, "/api/v1/calls", Some("wrong")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The OpenAPI document is public.
    let (status, _, body) = get(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
}

#[tokio::test]
async fn calls_list_shows_the_record_fields() {
    let (app, store) = app().await;
    let first = seed(&store, 1, true).await;
    let second = seed(&store, 2, false).await;
    let (status, _, body) = get(&app, "/api/v1/calls?limit=10", Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let calls: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], second.to_string(), "newest first");
    assert_eq!(calls[0]["status"], "active");
    assert_eq!(calls[0]["ended_at"], serde_json::Value::Null);
    let c = &calls[1];
    assert_eq!(c["id"], first.to_string());
    assert_eq!(c["from"], "1001");
    assert_eq!(c["to"], "hotline");
    assert_eq!(c["started_at"], "2023-11-14T22:13:21Z");
    assert_eq!(c["answered_at"], "2023-11-14T22:13:21.1Z");
    assert_eq!(c["ended_at"], "2023-11-14T22:13:30Z");
    assert_eq!(c["end_reason"], "flow_hangup");
    assert_eq!(c["hangup_by"], "engine");
    assert_eq!(c["keypresses"], "12#");
    assert_eq!(c["status"], "ended");

    let (status, _, body) = get(&app, &format!("/api/v1/calls/{first}"), Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let one: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(one["keypresses"], "12#");
    let (status, _, _) = get(&app, "/api/v1/calls/01ARZ3NDEKTSV4RRFFQ69G5FAV", Some("s3cret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get(&app, "/api/v1/calls/not-an-id", Some("s3cret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn calls_limit_is_checked_at_its_bounds_and_pages_link_onward() {
    let (app, store) = app().await;
    for n in 1..=3 {
        seed(&store, n, true).await;
    }
    for (q, want) in [
        ("limit=1000", StatusCode::OK),
        ("limit=1001", StatusCode::BAD_REQUEST),
        ("limit=0", StatusCode::BAD_REQUEST),
        ("limit=abc", StatusCode::BAD_REQUEST),
        ("before=nonsense", StatusCode::BAD_REQUEST),
    ] {
        let (status, _, _) = get(&app, &format!("/api/v1/calls?{q}"), Some("s3cret")).await;
        assert_eq!(status, want, "{q}");
    }
    let (_, headers, body) = get(&app, "/api/v1/calls?limit=2", Some("s3cret")).await;
    let page: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(page.len(), 2);
    let link = headers.get(header::LINK).unwrap().to_str().unwrap().to_owned();
    let next = link.trim_start_matches('<').split('>').next().unwrap().to_owned();
    let (_, headers, body) = get(&app, &next, Some("s3cret")).await;
    let rest: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0]["from"], "1001");
    assert!(headers.get(header::LINK).is_none(), "a short page is the last");
}

#[tokio::test]
async fn health_and_metrics_answer() {
    let (app, _store) = app().await;
    let (status, _, body) = get(&app, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], "ok");
    let (status, headers, body) = get(&app, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(String::from_utf8(body).unwrap().contains("hotline_calls_total 3"));
    let (status, _, _) = get(&app, "/nope", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn post(app: &axum::Router, uri: &str, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let req = Request::post(uri)
        .header(header::AUTHORIZATION, "Bearer s3cret")
        .body(Body::from(body))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn flows_are_listed_reloaded_and_validated() {
    let (app, store) = app().await;
    let (status, _, body) = get(&app, "/api/v1/flows", Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["flows"][0]["name"], "hotline");
    assert_eq!(v["flows"][0]["nodes"], 7);
    let (status, v) = post(&app, "/api/v1/flows/reload", vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["unchanged"][0], "hotline");
    let (status, v) = post(&app, "/api/v1/flows/validate?file=x.yaml", b"flow: bad".to_vec()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["valid"], false);
    assert_eq!(v["diagnostics"][0]["file"], "x.yaml");
    assert_eq!(v["diagnostics"][0]["col"], 7);
    let (status, v) = post(&app, "/api/v1/flows/validate", b"flow: ok".to_vec()).await;
    assert_eq!(
        (status, v["valid"].clone()),
        (StatusCode::OK, serde_json::Value::Bool(true))
    );
    // The body limit, at the limit and one byte over.
    let (status, _) = post(&app, "/api/v1/flows/validate", vec![b' '; MAX_FLOW_BODY]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, v) = post(&app, "/api/v1/flows/validate", vec![b' '; MAX_FLOW_BODY + 1]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(v["error"], "too_large");
    let (status, _) = post(&app, "/api/v1/flows/validate?file=../etc/passwd", b"x".to_vec()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Versions come from the store.
    let (status, _, _) = get(&app, "/api/v1/flows/hotline/versions", Some("s3cret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    store
        .record_flow_version(
            &store::FlowVersion {
                name: "hotline".into(),
                version: "v1".into(),
                file: "hotline.yaml".into(),
                node_id: "n".into(),
                activated_at_ms: 5,
            },
            "flow: hotline",
        )
        .await
        .unwrap();
    let (status, _, body) = get(&app, "/api/v1/flows/hotline/versions", Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v[0]["version"], "v1");
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    body: serde_json::Value,
) -> (StatusCode, serde_json::Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, "Bearer s3cret")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn agents_are_created_listed_and_deleted_with_checked_fields() {
    let (app, store) = app().await;
    let ada = serde_json::json!({"id": "2001", "name": "Ada", "password": "12345678", "skills": {"english": 7}, "queues": ["support"]});
    let (status, v) = send(&app, "POST", "/api/v1/agents", ada.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    assert_eq!(v["id"], "2001");
    assert!(v.get("password").is_none(), "the password is never echoed");
    let (status, v) = send(&app, "POST", "/api/v1/agents", ada).await;
    assert_eq!(
        (status, v["error"].clone()),
        (StatusCode::CONFLICT, serde_json::json!("conflict"))
    );
    // Stored as digest HA1 for the realm, not as the password.
    let secrets = store.agent_secrets().await.unwrap();
    assert_eq!(secrets[0].realm, "hotline");
    assert_eq!(secrets[0].ha1_md5.len(), 32);
    assert_eq!(secrets[0].ha1_sha256.len(), 64);
    // Limits: a 7-character password is refused, 8 is accepted; ids are checked.
    for (body, want) in [
        (
            serde_json::json!({"id": "2002", "name": "B", "password": "1234567"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            serde_json::json!({"id": "2002", "name": "B", "password": "12345678"}),
            StatusCode::CREATED,
        ),
        (
            serde_json::json!({"id": "bad id", "name": "B", "password": "12345678"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            serde_json::json!({"id": "x".repeat(33), "name": "B", "password": "12345678"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            serde_json::json!({"id": "x".repeat(32), "name": "B", "password": "12345678"}),
            StatusCode::CREATED,
        ),
        (
            serde_json::json!({"id": "2003", "name": "B", "password": "12345678", "skills": {"x": 11}}),
            StatusCode::BAD_REQUEST,
        ),
        (
            serde_json::json!({"id": "2003", "name": "B", "password": "12345678", "colour": "red"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (status, v) = send(&app, "POST", "/api/v1/agents", body.clone()).await;
        assert_eq!(status, want, "{body} → {v}");
    }
    let (status, _, body) = get(&app, "/api/v1/agents", Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.len(), 3);
    assert_eq!(list[0]["id"], "2001");
    assert_eq!(list[0]["registered"], true);
    assert_eq!(list[0]["registrations"][0]["contact"], "sip:2001@10.0.0.5");
    assert_eq!(list[1]["registered"], false);
    let (status, _) = send(&app, "DELETE", "/api/v1/agents/2002", serde_json::Value::Null).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = send(&app, "DELETE", "/api/v1/agents/2002", serde_json::Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn agent_status_is_set_and_queues_are_listed() {
    let (app, _store) = app().await;
    let (status, v) = send(
        &app,
        "PUT",
        "/api/v1/agents/2001/status",
        serde_json::json!({"status": "idle"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "idle");
    let (status, _) = send(
        &app,
        "PUT",
        "/api/v1/agents/2001/status",
        serde_json::json!({"status": "sleeping"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = send(
        &app,
        "PUT",
        "/api/v1/agents/9999/status",
        serde_json::json!({"status": "idle"}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = get(&app, "/api/v1/queues", Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["support"]["waiting"], 2);
}

#[tokio::test]
async fn recordings_are_listed_described_and_downloaded_behind_the_token() {
    let (app, store, dir) = app_with_dir().await;
    let call = seed(&store, 1, true).await.to_string();
    let rel = format!("2026-11-21/{call}.wav");
    std::fs::create_dir_all(dir.join("2026-11-21")).unwrap();
    let wav: Vec<u8> = b"RIFF....WAVEfmt fake bytes of a recording".to_vec();
    std::fs::write(dir.join(&rel), &wav).unwrap();
    assert!(
        store
            .insert_recording(&call, &rel, 1_700_000_000_000)
            .await
            .unwrap()
    );

    let (status, _, _) = get(&app, &format!("/api/v1/recordings/{call}/audio"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, headers, body) =
        get(&app, &format!("/api/v1/recordings/{call}/audio"), Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(body, wav, "the file, byte for byte");

    let (status, _, body) = get(
        &app,
        &format!("/api/v1/recordings?call_id={call}"),
        Some("s3cret"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let list: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["status"], "recording");
    assert_eq!(list[0]["audio"], format!("/api/v1/recordings/{call}/audio"));
    let (status, _, body) = get(&app, &format!("/api/v1/calls/{call}"), Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let c: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        c["recording"],
        call.as_str(),
        "the call record names its recording"
    );

    for (q, want) in [
        ("limit=1000", StatusCode::OK),
        ("limit=1001", StatusCode::BAD_REQUEST),
        ("limit=0", StatusCode::BAD_REQUEST),
        ("call_id=nonsense", StatusCode::BAD_REQUEST),
    ] {
        let (status, _, _) = get(&app, &format!("/api/v1/recordings?{q}"), Some("s3cret")).await;
        assert_eq!(status, want, "{q}");
    }
    for path in [
        "/api/v1/recordings/nonsense",
        "/api/v1/recordings/01M7Z6FHQ6FYEJGNMM6RYN65V7/audio",
    ] {
        let (status, _, _) = get(&app, path, Some("s3cret")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // A row whose file is gone, and one whose path would leave the folder: 404, never a stray file.
    let other = seed(&store, 2, true).await.to_string();
    assert!(store.insert_recording(&other, "../t.db", 1).await.unwrap());
    let (status, _, _) = get(&app, &format!("/api/v1/recordings/{other}/audio"), Some("s3cret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    std::fs::remove_file(dir.join(&rel)).unwrap();
    let (status, _, _) = get(&app, &format!("/api/v1/recordings/{call}/audio"), Some("s3cret")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_workstation_is_served_without_a_token() {
    let (app, _) = app().await;
    let (status, headers, body) = get(&app, "/workstation/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("<title>Hotline workstation</title>"));
    for (path, kind) in [
        ("/workstation/app.js", "text/javascript; charset=utf-8"),
        ("/workstation/app.css", "text/css; charset=utf-8"),
    ] {
        let (status, headers, body) = get(&app, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(headers[header::CONTENT_TYPE], kind, "{path}");
        assert!(!body.is_empty());
    }
    let (status, headers, _) = get(&app, "/workstation", None).await;
    assert_eq!(status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(headers[header::LOCATION], "/workstation/");
}

#[tokio::test]
async fn queue_entries_need_an_interaction_of_at_most_64_bytes() {
    let (app, _store) = app().await;
    let (status, _, body) = get(&app, "/api/v1/queue-entries", Some("s3cret")).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "{}",
        String::from_utf8_lossy(&body)
    );
    let at_limit = format!("/api/v1/queue-entries?interaction={}", "a".repeat(64));
    let (status, _, body) = get(&app, &at_limit, Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
        serde_json::json!([])
    );
    let past = format!("/api/v1/queue-entries?interaction={}", "a".repeat(65));
    let (status, _, _) = get(&app, &past, Some("s3cret")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
