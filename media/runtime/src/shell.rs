//! The tokio shell around [`LegCore`]: one task per leg.

use std::net::SocketAddr;
use std::time::SystemTime;

use media::{BridgedPacket, MediaCommand, MediaEvent};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::RuntimeError;
use crate::leg::{LegCore, Transmit};
use crate::ports::LegSockets;
use crate::wavfile::WavRecording;

/// Commands queued per leg before [`LegHandle::command`] reports `CommandQueueFull`.
pub const COMMAND_QUEUE: usize = 32;
/// Bridged packets waiting for a leg's task; beyond it they are dropped (counted by the sender's queue).
pub const BRIDGE_QUEUE: usize = 64;

/// What a leg's task is told through its command queue.
#[derive(Debug)]
enum LegMsg {
    Command(MediaCommand),
    /// The other leg of a bridge (where this leg's received media goes), or none.
    Peer(Option<mpsc::Sender<BridgedPacket>>),
}
/// Largest datagram read; longer ones are truncated (and then fail to parse).
const RECV_BUFFER: usize = 2048;

/// The signalling side's grip on a running leg. Dropping it closes the leg.
#[derive(Debug, Clone)]
pub struct LegHandle {
    commands: mpsc::Sender<LegMsg>,
    bridged: mpsc::Sender<BridgedPacket>,
    local_rtp_addr: SocketAddr,
    key: u64,
}

impl LegHandle {
    /// Queues a command without waiting.
    pub fn command(&self, cmd: MediaCommand) -> Result<(), RuntimeError> {
        self.send(LegMsg::Command(cmd))
    }

    fn send(&self, msg: LegMsg) -> Result<(), RuntimeError> {
        self.commands.try_send(msg).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => RuntimeError::CommandQueueFull,
            mpsc::error::TrySendError::Closed(_) => RuntimeError::LegClosed,
        })
    }

    /// The address to put in our SDP (`c=` / `m=audio` port).
    pub fn local_rtp_addr(&self) -> SocketAddr {
        self.local_rtp_addr
    }

    /// The key events of this leg are tagged with.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Whether the leg's task has ended.
    pub fn is_closed(&self) -> bool {
        self.commands.is_closed()
    }

    /// Waits until the leg's task has ended and its ports are free again.
    pub async fn closed(&self) {
        self.commands.closed().await;
    }
}

/// Runs `core` on `sockets` in a new task; its events go to `events` tagged with `key`.
///
/// The task loops over both sockets, the command queue and the core's next deadline, and
/// drains the core after every input. It anchors the core's RTCP wall clock to the system
/// clock. It ends after `Close` (having delivered `Closed`), when every [`LegHandle`] is
/// dropped (it closes the core first), or when `events` is dropped; its ports are then freed.
/// When `events` is full the leg waits for room rather than drop a digit. Must be called
/// inside a tokio runtime.
pub fn spawn_leg(
    sockets: LegSockets,
    mut core: LegCore,
    events: mpsc::Sender<(u64, MediaEvent)>,
    key: u64,
) -> LegHandle {
    let (tx, rx) = mpsc::channel(COMMAND_QUEUE);
    let (bridged_tx, bridged_rx) = mpsc::channel(BRIDGE_QUEUE);
    let local_rtp_addr = sockets
        .local_rtp_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    // The shell owns the real clocks; the core only ever sees them as inputs.
    #[allow(clippy::disallowed_methods)] // reason: the IO shell is where wall-clock time enters
    let wall = SystemTime::now();
    core.set_wall_clock(Instant::now().into_std(), wall);
    tokio::spawn(run_leg(sockets, core, rx, bridged_rx, events, key));
    LegHandle {
        commands: tx,
        bridged: bridged_tx,
        local_rtp_addr,
        key,
    }
}

/// The leg's sockets once registered with tokio.
struct Sockets {
    rtp: UdpSocket,
    rtcp: UdpSocket,
}

async fn run_leg(
    sockets: LegSockets,
    mut core: LegCore,
    mut commands: mpsc::Receiver<LegMsg>,
    mut bridged: mpsc::Receiver<BridgedPacket>,
    events: mpsc::Sender<(u64, MediaEvent)>,
    key: u64,
) {
    let mut peer: Option<mpsc::Sender<BridgedPacket>> = None;
    let LegSockets {
        rtp,
        rtcp,
        _lease: lease,
    } = sockets;
    let sockets = match (UdpSocket::from_std(rtp), UdpSocket::from_std(rtcp)) {
        (Ok(rtp), Ok(rtcp)) => Sockets { rtp, rtcp },
        (Err(e), _) | (_, Err(e)) => {
            // The handle sees the leg as closed from now on.
            tracing::error!(error = %e, key, "cannot register the leg's sockets with tokio");
            return;
        }
    };
    let mut rtp_buf = vec![0u8; RECV_BUFFER];
    let mut rtcp_buf = vec![0u8; RECV_BUFFER];
    let mut recording: Option<Recording> = None;
    loop {
        let alive = drain(&mut core, &sockets, &events, key, peer.as_ref()).await;
        write_recording(&mut core, &mut recording, &events, key).await;
        if !alive || core.is_closed() {
            break;
        }
        let deadline = core.poll_timeout().map(Instant::from_std);
        tokio::select! {
            r = sockets.rtp.recv_from(&mut rtp_buf) => match r {
                Ok((n, from)) => {
                    let data = rtp_buf.get(..n).unwrap_or(&[]);
                    core.handle_datagram(Instant::now().into_std(), from, data, false);
                }
                Err(e) => tracing::debug!(error = %e, "RTP socket receive error"),
            },
            r = sockets.rtcp.recv_from(&mut rtcp_buf) => match r {
                Ok((n, from)) => {
                    let data = rtcp_buf.get(..n).unwrap_or(&[]);
                    core.handle_datagram(Instant::now().into_std(), from, data, true);
                }
                Err(e) => tracing::debug!(error = %e, "RTCP socket receive error"),
            },
            msg = commands.recv() => match msg.unwrap_or(LegMsg::Command(MediaCommand::Close)) {
                LegMsg::Command(MediaCommand::StartRecording { id, path }) => {
                    if recording.is_none() && !core.is_recording() {
                        match Recording::open(id.clone(), &path) {
                            Ok(r) => {
                                recording = Some(r);
                                core.handle_command(Instant::now().into_std(), MediaCommand::StartRecording { id, path });
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, %path, "cannot start a recording");
                                let ended = MediaEvent::RecordingEnded { id, duration_ms: 0, bytes: 0, error: Some(e.to_string()) };
                                let _ = events.send((key, ended)).await;
                            }
                        }
                    }
                }
                LegMsg::Command(cmd) => core.handle_command(Instant::now().into_std(), cmd),
                LegMsg::Peer(p) => peer = p,
            },
            Some(packet) = bridged.recv() => core.handle_bridged(Instant::now().into_std(), packet),
            () = sleep_until_deadline(deadline) => core.handle_timeout(Instant::now().into_std()),
        }
    }
    // A leg that stops without `Close` (its signalling is gone) still closes its recording.
    if recording.is_some() {
        core.handle_command(Instant::now().into_std(), MediaCommand::StopRecording);
        write_recording(&mut core, &mut recording, &events, key).await;
    }
    // Free the ports before the command receiver goes, so `LegHandle::closed` implies free ports.
    drop(sockets);
    drop(lease);
    drop(commands);
}

/// Joins two legs: each sends what the other receives (see [`MediaCommand::Bridge`]).
pub fn bridge(a: &LegHandle, b: &LegHandle) -> Result<(), RuntimeError> {
    a.send(LegMsg::Peer(Some(b.bridged.clone())))?;
    b.send(LegMsg::Peer(Some(a.bridged.clone())))?;
    a.command(MediaCommand::Bridge)?;
    b.command(MediaCommand::Bridge)
}

/// Separates two bridged legs: each goes back to its own silence and prompts.
pub fn unbridge(a: &LegHandle, b: &LegHandle) -> Result<(), RuntimeError> {
    a.send(LegMsg::Peer(None))?;
    b.send(LegMsg::Peer(None))?;
    a.command(MediaCommand::Unbridge)?;
    b.command(MediaCommand::Unbridge)
}

async fn sleep_until_deadline(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A recording file being written by a leg.
struct Recording {
    id: String,
    file: WavRecording,
}

impl Recording {
    fn open(id: String, path: &str) -> std::io::Result<Self> {
        let path = std::path::Path::new(path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        Ok(Self {
            id,
            file: WavRecording::create(path, 2, 8000)?,
        })
    }
}

/// Writes what the core's recorder produced. When the recording has stopped (or a write failed), closes
/// the file and reports [`MediaEvent::RecordingEnded`]. Writes go to the page cache (640 bytes per 20 ms,
/// header synced every second), so they do not hold the leg's task up.
async fn write_recording(
    core: &mut LegCore,
    recording: &mut Option<Recording>,
    events: &mpsc::Sender<(u64, MediaEvent)>,
    key: u64,
) {
    let Some(rec) = recording.as_mut() else { return };
    let mut error = None;
    while let Some(samples) = core.poll_recorded() {
        if let Err(e) = rec.file.write_samples(&samples) {
            error = Some(e.to_string());
            break;
        }
    }
    let stopped = !core.is_recording() || core.recording_finished();
    if error.is_none() && !stopped {
        return;
    }
    let Some(rec) = recording.take() else { return };
    core.handle_command(Instant::now().into_std(), MediaCommand::StopRecording);
    while core.poll_recorded().is_some() {}
    core.finish_recording();
    let duration_ms = u64::try_from(rec.file.duration().as_millis()).unwrap_or(u64::MAX);
    let bytes = rec.file.data_bytes();
    if let Err(e) = rec.file.finish() {
        error.get_or_insert_with(|| e.to_string());
    }
    if let Some(e) = &error {
        tracing::warn!(error = %e, recording = %rec.id, "recording ended with an error");
    }
    let ended = MediaEvent::RecordingEnded {
        id: rec.id,
        duration_ms,
        bytes,
        error,
    };
    let _ = events.send((key, ended)).await;
}

/// Sends what the core queued and forwards its events. `false` when the event receiver is gone.
async fn drain(
    core: &mut LegCore,
    sockets: &Sockets,
    events: &mpsc::Sender<(u64, MediaEvent)>,
    key: u64,
    peer: Option<&mpsc::Sender<BridgedPacket>>,
) -> bool {
    while let Some(packet) = core.poll_bridged() {
        // A full or gone peer drops the packet: media is never waited for.
        if let Some(p) = peer {
            let _ = p.try_send(packet);
        }
    }
    while let Some(Transmit {
        destination,
        rtcp,
        contents,
    }) = core.poll_transmit()
    {
        let socket = if rtcp { &sockets.rtcp } else { &sockets.rtp };
        // UDP send on a non-blocking socket: never waits long; a full buffer drops the packet.
        if let Err(e) = socket.try_send_to(&contents, destination) {
            tracing::debug!(error = %e, %destination, "media send failed");
        }
    }
    while let Some(event) = core.poll_event() {
        if events.send((key, event)).await.is_err() {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use std::time::Duration;

    use audio::PromptLibrary;
    use media::{Codec, Digit, DigitSource, RemoteMedia};
    use rtp::{Pt, RtpPacket, Seq16, Ssrc, TelephoneEvent, Ts32};
    use tokio::time::timeout;

    use super::*;
    use crate::leg::LegConfig;
    use crate::ports::PortAllocator;

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    /// Every wait is bounded; nothing here sleeps.
    const WAIT: Duration = Duration::from_secs(5);

    fn core() -> LegCore {
        let prompts = Arc::new(PromptLibrary::from_samples(vec![]));
        LegCore::new(
            Instant::now().into_std(),
            LegConfig::new(0x5151_5151, 1, 1, "shell@test"),
            prompts,
        )
    }

    fn remote(addr: SocketAddr) -> RemoteMedia {
        RemoteMedia {
            addr,
            codec: Codec::Pcmu,
            payload_type: 0,
            dtmf_payload_type: Some(101),
            ptime_ms: 20,
        }
    }

    #[tokio::test]
    async fn a_leg_sends_rtp_to_the_peer_and_reports_the_peers_digit() {
        let ports = PortAllocator::new(20000, 20999).unwrap();
        let sockets = ports.allocate(LOCALHOST).unwrap();
        let leg_addr = sockets.local_rtp_addr().unwrap();
        assert_eq!(leg_addr.port() % 2, 0);
        assert!((20000..=20998).contains(&leg_addr.port()));
        assert_eq!(sockets.local_rtcp_addr().unwrap().port(), leg_addr.port() + 1);

        let peer = UdpSocket::bind((LOCALHOST, 0)).await.unwrap();
        let (events_tx, mut events) = mpsc::channel(16);
        let leg = spawn_leg(sockets, core(), events_tx, 7);
        assert_eq!(leg.local_rtp_addr(), leg_addr);
        leg.command(MediaCommand::Configure {
            remote: remote(peer.local_addr().unwrap()),
        })
        .unwrap();

        let mut buf = [0u8; 2048];
        let (n, from) = timeout(WAIT, peer.recv_from(&mut buf)).await.unwrap().unwrap();
        assert_eq!(from, leg_addr);
        let packet = RtpPacket::parse(&buf[..n]).unwrap();
        assert_eq!(
            (packet.ssrc, packet.payload_type, packet.marker),
            (Ssrc(0x5151_5151), Pt(0), true)
        );
        assert!(packet.payload.len() == 160 && packet.payload.iter().all(|&b| b == 0xFF));

        let event = TelephoneEvent {
            event: 9,
            end: false,
            volume: 10,
            duration: 160,
        }
        .to_bytes();
        let dtmf = RtpPacket::new(Pt(101), Seq16(1), Ts32(1), Ssrc(42), &event)
            .to_vec()
            .unwrap();
        peer.send_to(&dtmf, leg_addr).await.unwrap();
        let got = timeout(WAIT, events.recv()).await.unwrap().unwrap();
        assert_eq!(
            got,
            (
                7,
                MediaEvent::Digit {
                    digit: Digit::D9,
                    source: DigitSource::Rfc4733
                }
            )
        );

        leg.command(MediaCommand::Close).unwrap();
        let (key, closed) = timeout(WAIT, events.recv()).await.unwrap().unwrap();
        let MediaEvent::Closed { stats } = closed else {
            panic!("{closed:?}")
        };
        assert_eq!(key, 7);
        assert_eq!(stats.packets_received, 1);
        assert!(stats.packets_sent >= 1);
        timeout(WAIT, leg.closed()).await.unwrap();
        assert_eq!(ports.in_use(), 0, "the ports went back to the allocator");
        assert!(matches!(
            leg.command(MediaCommand::StopPlay),
            Err(RuntimeError::LegClosed)
        ));
    }

    #[tokio::test]
    async fn dropping_the_handle_closes_the_leg_and_frees_its_ports() {
        let ports = PortAllocator::new(20000, 20999).unwrap();
        let sockets = ports.allocate(LOCALHOST).unwrap();
        let (events_tx, mut events) = mpsc::channel(16);
        let leg = spawn_leg(sockets, core(), events_tx, 3);
        let watcher = leg.clone();
        drop(leg);
        // A clone still holds the queue open: the leg runs until every handle is gone.
        assert!(!watcher.is_closed());
        drop(watcher);
        let (key, event) = timeout(WAIT, events.recv()).await.unwrap().unwrap();
        assert_eq!(key, 3);
        assert!(matches!(event, MediaEvent::Closed { .. }));
        assert!(
            timeout(WAIT, events.recv()).await.unwrap().is_none(),
            "the task ended"
        );
        assert_eq!(ports.in_use(), 0);
    }

    #[test]
    fn the_allocator_reports_exhaustion_and_reuses_freed_ports() {
        // Other processes may hold some ports of the shared range: look for a free 4-port window.
        for base in (20100..20900).step_by(4) {
            let ports = PortAllocator::new(base, base + 3).unwrap();
            assert_eq!(ports.capacity(), 2);
            let (Ok(a), Ok(b)) = (ports.allocate(LOCALHOST), ports.allocate(LOCALHOST)) else {
                continue;
            };
            let (pa, pb) = (
                a.local_rtp_addr().unwrap().port(),
                b.local_rtp_addr().unwrap().port(),
            );
            assert_eq!([pa.min(pb), pa.max(pb)], [base, base + 2]);
            assert!(matches!(
                ports.allocate(LOCALHOST),
                Err(RuntimeError::PortsExhausted { .. })
            ));
            assert_eq!(ports.in_use(), 2);
            drop(a);
            let again = ports.allocate(LOCALHOST).unwrap();
            assert_eq!(
                again.local_rtp_addr().unwrap().port(),
                pa,
                "the freed pair is handed out again"
            );
            return;
        }
        panic!("no free 4-port window in 20100-20899");
    }

    #[test]
    fn a_range_without_an_even_pair_is_rejected() {
        for (lo, hi) in [(20001, 20002), (20000, 20000), (0, 1), (65535, 65535)] {
            assert!(matches!(
                PortAllocator::new(lo, hi),
                Err(RuntimeError::InvalidPortRange { .. })
            ));
        }
        assert_eq!(PortAllocator::new(20001, 20006).unwrap().capacity(), 2);
    }

    #[tokio::test]
    async fn two_bridged_legs_carry_a_callers_audio_to_the_other_side() {
        let ports = PortAllocator::new(21000, 21999).unwrap();
        let (sa, sb) = (
            ports.allocate(LOCALHOST).unwrap(),
            ports.allocate(LOCALHOST).unwrap(),
        );
        let (caller, agent) = (
            UdpSocket::bind((LOCALHOST, 0)).await.unwrap(),
            UdpSocket::bind((LOCALHOST, 0)).await.unwrap(),
        );
        let (events_tx, _events) = mpsc::channel(16);
        let a = spawn_leg(sa, core(), events_tx.clone(), 1);
        let b = spawn_leg(sb, core(), events_tx, 2);
        a.command(MediaCommand::Configure {
            remote: remote(caller.local_addr().unwrap()),
        })
        .unwrap();
        b.command(MediaCommand::Configure {
            remote: remote(agent.local_addr().unwrap()),
        })
        .unwrap();
        bridge(&a, &b).unwrap();

        // The caller sends a recognisable payload to leg A; it must come out of leg B towards the agent.
        let payload = [0x55u8; 160];
        let packet = RtpPacket::new(Pt(0), Seq16(9), Ts32(900), Ssrc(0xCA11), &payload)
            .to_vec()
            .unwrap();
        let mut buf = [0u8; 2048];
        let found = timeout(WAIT, async {
            loop {
                caller.send_to(&packet, a.local_rtp_addr()).await.unwrap();
                let (n, from) = agent.recv_from(&mut buf).await.unwrap();
                let p = RtpPacket::parse(&buf[..n]).unwrap();
                // Silence from before the bridge took effect may come first; wait for the caller's audio.
                if p.payload == payload {
                    return (from, p.ssrc);
                }
            }
        })
        .await
        .unwrap();
        assert_eq!(found, (b.local_rtp_addr(), Ssrc(0x5151_5151)));
        unbridge(&a, &b).unwrap();
    }
}
