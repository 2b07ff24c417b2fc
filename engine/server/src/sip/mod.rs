//! The SIP side of the engine: transports, admission control and call shards.

mod admission;
mod media_legs;
mod shard;
mod transport;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::Rng as _;
use tokio::sync::{mpsc, oneshot};

use crate::config::Config;
use crate::flows::FlowRegistry;
use crate::metrics::Metrics;
use crate::store_writer::RecordSink;

/// Media events queued per shard before media tasks wait.
const MEDIA_EVENT_QUEUE: usize = 8192;

/// The running SIP stack.
pub(crate) struct SipHandle {
    /// The queue service the shards talk to (also used by the agents API).
    pub(crate) acd: crate::acd::AcdHandle,
    controls: Vec<mpsc::Sender<shard::Control>>,
    shards: Vec<tokio::task::JoinHandle<()>>,
    transports: Vec<tokio::task::JoinHandle<()>>,
}

/// Where the SIP side writes: the database and its two writers (call records, queue history).
pub(crate) struct Writers {
    pub(crate) store: store::Store,
    pub(crate) records: RecordSink,
    pub(crate) history: mpsc::Sender<store::QueueWrite>,
}

pub(crate) async fn start(
    config: &Config,
    flows: Arc<FlowRegistry>,
    agents: Arc<crate::agents::AgentDirectory>,
    time_zone: jiff::tz::TimeZone,
    writers: Writers,
    metrics: Arc<Metrics>,
) -> anyhow::Result<SipHandle> {
    let Writers {
        store,
        records,
        history,
    } = writers;
    let (wire, udp, tcp) = transport::bind(config.sip_listen, metrics.clone()).await?;
    let sip_addr = std::net::SocketAddr::new(config.advertised_ip(), udp.local_addr()?.port());
    let session = Arc::new(b2bua::SessionConfig {
        media_ip: config.advertised_ip(),
        sip_addr,
        caps: sdp::LocalCaps {
            codecs: vec![media::Codec::Pcmu, media::Codec::Pcma],
            telephone_event: true,
        },
        answer_delay: config.answer_delay,
        media_close_grace: Duration::from_secs(1),
        server_name: format!("Hotline/{}", env!("CARGO_PKG_VERSION")),
        time_zone,
        trunk: config.trunk.as_ref().map(crate::config::TrunkConfig::to_trunk),
        callback_keys: config.callback_keys()?,
    });
    let io = crate::io::IoExecutor::new(store.clone(), config.directory.clone())?;
    let ports = media_runtime::PortAllocator::new(config.rtp_ports.lo, config.rtp_ports.hi)?;
    let bind_ip = if config.sip_listen.ip().is_unspecified() {
        config.sip_listen.ip()
    } else {
        config.advertised_ip()
    };
    let n = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .clamp(1, 64);
    // The queue service talks to every shard; the shards talk to it.
    let mut acd_senders = Vec::with_capacity(n);
    let mut acd_receivers = Vec::with_capacity(n);
    for _ in 0..n {
        let (tx, rx) = mpsc::channel(crate::acd::ACD_QUEUE);
        acd_senders.push(tx);
        acd_receivers.push(rx);
    }
    let agent_list = store.list_agents().await?;
    let mut rng = rand::rng();
    // Engines sharing a PostgreSQL database claim agents there before offering them contacts.
    let leases =
        (store.backend() == "postgres").then(|| crate::acd::Leases::new(store.clone(), &config.node_id));
    let history = crate::queue_history::History::new(history, &config.node_id);
    let acd = crate::acd::spawn(
        &config.queues,
        agent_list,
        acd_senders,
        rng.random(),
        leases,
        Some(history),
    )?;
    let shared = Arc::new(shard::ShardShared {
        session,
        flows,
        io,
        routes: config.routes.clone(),
        wire: wire.clone(),
        records,
        metrics: metrics.clone(),
        max_calls: config.limits.max_calls,
        retry_after_secs: config.limits.retry_after_secs,
        node_id: config.node_id.clone(),
        acd: acd.clone(),
        agents: agents.clone(),
        shard_count: n,
        recording: config
            .recordings_dir()
            .map(|dir| crate::recordings::RecordingSettings {
                dir,
                from: config.recording.from,
                unrecorded_queues: config
                    .queues
                    .iter()
                    .filter(|q| !q.record)
                    .map(|q| q.name.clone())
                    .collect(),
            }),
    });

    let mut inbound = Vec::with_capacity(n);
    let mut controls = Vec::with_capacity(n);
    let mut shards = Vec::with_capacity(n);
    let algorithms = config.digest_algorithms()?;
    let mut acd_receivers = acd_receivers.into_iter();
    for index in 0..n {
        let (in_tx, in_rx) = mpsc::channel(config.limits.shard_queue);
        let (media_tx, media_rx) = mpsc::channel(MEDIA_EVENT_QUEUE);
        let (ctl_tx, ctl_rx) = mpsc::channel(4);
        let (io_tx, io_rx) = mpsc::channel(crate::io::MAX_IN_FLIGHT);
        let txn = sip_txn::TxnLayer::new(sip_txn::TxnConfig {
            max_transactions: config.limits.max_transactions_per_shard,
            ..Default::default()
        });
        let legs = media_legs::MediaLegs {
            ports: ports.clone(),
            bind_ip,
            events: media_tx,
            rtp_timeout: config.rtp_timeout,
            silence_timeout: config.silence_timeout,
        };
        // Every REGISTER goes to shard 0, which owns the registrar (bindings are global, not per Call-ID).
        let registrar = (index == 0).then(|| {
            shard::RegistrarState::new(&config.sip_realm, algorithms.clone(), agents.clone(), &mut rng)
        });
        let shard = shard::Shard::new(
            shared.clone(),
            txn,
            index as u64,
            rng.random(),
            legs,
            io_tx,
            registrar,
        );
        let Some(acd_rx) = acd_receivers.next() else { break };
        shards.push(tokio::spawn(shard.run(in_rx, media_rx, io_rx, acd_rx, ctl_rx)));
        inbound.push(in_tx);
        controls.push(ctl_tx);
    }
    let limits = sip_msg::Limits {
        max_message_size: config.limits.max_message_size,
        max_headers: config.limits.max_headers,
        ..Default::default()
    };
    let dispatcher = Arc::new(transport::Dispatcher {
        shards: inbound,
        limits,
        limiter: Mutex::new(admission::RateLimiter::new(
            config.limits.requests_per_source_per_sec,
            config.limits.invites_per_source_per_sec,
            100_000,
        )),
        wire,
        metrics,
        retry_after_secs: config.limits.retry_after_secs,
    });
    let transports = vec![
        tokio::spawn(transport::run_udp(udp, dispatcher.clone())),
        tokio::spawn(transport::run_tcp(
            tcp,
            dispatcher,
            config.limits.max_tcp_connections,
        )),
    ];
    tracing::info!(shards = n, sip = %config.sip_listen, "SIP stack started (UDP and TCP)");
    Ok(SipHandle {
        acd,
        controls,
        shards,
        transports,
    })
}

impl SipHandle {
    /// Ends every call with BYE and waits (at most `grace`) for their records to be finalized.
    pub(crate) async fn shutdown(self, grace: Duration) {
        let deadline = Instant::now() + grace;
        let mut waits = Vec::new();
        for ctl in &self.controls {
            let (tx, rx) = oneshot::channel();
            if ctl
                .send(shard::Control::Shutdown { deadline, done: tx })
                .await
                .is_ok()
            {
                waits.push(rx);
            }
        }
        for w in waits {
            let _ = tokio::time::timeout(grace + Duration::from_secs(1), w).await;
        }
        // Give the transports a moment to flush the last BYEs' retransmissions, then stop them.
        for t in &self.transports {
            t.abort();
        }
        for s in self.shards {
            let _ = tokio::time::timeout(Duration::from_secs(1), s).await;
        }
    }
}
