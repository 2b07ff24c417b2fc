//! `hotline serve`: start-up, the runtime, and clean shutdown.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;

use crate::config::{Config, LogFormat};
use crate::metrics::Metrics;

pub(crate) fn run(config: Config) -> ExitCode {
    init_logging(config.log_format);
    model::set_pii_redaction(!config.log_pii);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("hotline")
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hotline: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("hotline: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal as _;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

pub(crate) fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Reads the API token from `<data_dir>/api-token`, creating it (owner-only) on first start.
fn api_token(config: &Config) -> anyhow::Result<String> {
    if let Some(t) = &config.api_token {
        return Ok(t.clone());
    }
    let path = config.data_dir.join("api-token");
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_owned();
        if t.len() >= 16 {
            return Ok(t);
        }
    }
    let token: String = {
        use rand::Rng as _;
        let mut rng = rand::rng();
        (0..32).map(|_| format!("{:02x}", rng.random::<u8>())).collect()
    };
    write_private(&path, &token).with_context(|| format!("cannot write {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated the API token");
    Ok(token)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()
}

async fn serve(config: Config) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data dir {}", config.data_dir.display()))?;
    let token = api_token(&config)?;
    let metrics = Arc::new(Metrics::default());

    let url = config.database_url();
    let store = store::Store::connect(&url)
        .await
        .with_context(|| format!("cannot open database {url}"))?;
    let recovered = store
        .recover_interrupted_for_node(&config.node_id, unix_ms(SystemTime::now()))
        .await?;
    if recovered > 0 {
        tracing::warn!(
            calls = recovered,
            "closed call records left open by a previous run as interrupted"
        );
    }

    // A restarted engine holds no agent: claims it left in a shared database are dropped.
    store.release_node_leases(&config.node_id).await?;
    let chats_closed = store
        .recover_open_chats(&config.node_id, unix_ms(SystemTime::now()))
        .await?;
    if chats_closed > 0 {
        tracing::warn!(
            chats = chats_closed,
            "closed chats left open by a previous run as interrupted"
        );
    }

    if let Some(dir) = config.recordings_dir() {
        crate::recordings::repair_open(&store, &config.node_id, &dir).await?;
    }
    // Queue waits, offers and workstation sessions a previous run left open end as interrupted.
    let at = unix_ms(SystemTime::now());
    let entries = store.close_open_entries(&config.node_id, at).await?;
    let sessions = store.close_open_sessions(&config.node_id, at).await?;
    if entries + sessions > 0 {
        tracing::warn!(
            entries,
            sessions,
            "closed queue entries and agent sessions left open by a previous run"
        );
    }
    let history = crate::queue_history::spawn_writer(store.clone());

    let time_zone = config.time_zone()?;
    let regions = Arc::new(config.region_lookup()?);
    tracing::info!(prefixes = regions.table.len(), "region table loaded");
    let lists = config.directory.keys().cloned().collect();
    let flows =
        crate::flows::FlowRegistry::load(&config.flows, lists, store.clone(), config.node_id.clone())?;
    let watcher = tokio::spawn(watch_flows(
        flows.clone(),
        config.flows.clone(),
        config.flow_watch,
    ));
    let (records, writer) = crate::store_writer::spawn(store.clone(), metrics.clone(), 65_536);

    let agents = crate::agents::AgentDirectory::load(config.sip_realm.clone(), store.clone()).await?;
    let sip = crate::sip::start(
        &config,
        flows.clone(),
        agents.clone(),
        time_zone,
        crate::sip::Writers {
            store: store.clone(),
            records,
            history: history.clone(),
        },
        metrics.clone(),
    )
    .await
    .context("cannot start the SIP stack")?;

    let http = tokio::net::TcpListener::bind(config.http_listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", config.http_listen))?;
    let hub = crate::chats::spawn(
        sip.acd.clone(),
        store.clone(),
        config.node_id.clone(),
        config.queues.iter().map(|q| q.name.clone()),
        history,
        regions.clone(),
    );
    let chats = crate::chats::ChatsApi {
        hub,
        agents: agents.clone(),
        bans: std::sync::Mutex::new(sip_auth::BanList::new(sip_auth::BanConfig::default())),
    };
    let state = api::ApiState {
        store: store.clone(),
        metrics: metrics.clone(),
        api_token: token.into(),
        flows: flows.clone(),
        agents: Arc::new(crate::agents::AgentsApi(agents, sip.acd.clone())),
        chats: Some(Arc::new(chats)),
        regions,
        recordings_dir: config.recordings_dir(),
    };
    let app = api::router(state);
    let (stop_http_tx, stop_http_rx) = tokio::sync::oneshot::channel::<()>();
    let http_task = tokio::spawn(async move {
        axum::serve(
            http,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stop_http_rx.await;
        })
        .await
    });
    tracing::info!(
        sip = %config.sip_listen,
        http = %config.http_listen,
        advertised = %config.advertised_ip(),
        database = store.backend(),
        "hotline is ready"
    );

    shutdown_signal().await;
    watcher.abort();
    tracing::info!("shutting down: ending calls in progress");
    sip.shutdown(Duration::from_secs(5)).await;
    let _ = stop_http_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), http_task).await;
    // All record sinks are gone once the SIP stack stopped: the writer drains its queue and ends.
    let _ = tokio::time::timeout(Duration::from_secs(10), writer).await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Reloads flows on SIGHUP, and when the flows folder changes (checked every `every`; zero turns the file
/// check off).
async fn watch_flows(flows: Arc<crate::flows::FlowRegistry>, dir: std::path::PathBuf, every: Duration) {
    #[cfg(unix)]
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    let mut last = crate::flows::folder_fingerprint(&dir);
    let mut tick = tokio::time::interval(if every.is_zero() {
        Duration::from_secs(3600)
    } else {
        every
    });
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(h) => {
                    h.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<()>();
        let reason = tokio::select! {
            () = hangup => "SIGHUP",
            _ = tick.tick() => {
                if every.is_zero() {
                    continue;
                }
                let now = crate::flows::folder_fingerprint(&dir);
                if now == last {
                    continue;
                }
                "file change"
            }
        };
        let f = flows.clone();
        match tokio::task::spawn_blocking(move || f.reload_now()).await {
            Ok(report) => tracing::info!(
                reason,
                activated = report.activated.len(),
                refused = report.refused.len(),
                "flows reloaded"
            ),
            Err(e) => tracing::error!(error = %e, "flow reload failed"),
        }
        last = crate::flows::folder_fingerprint(&dir);
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
