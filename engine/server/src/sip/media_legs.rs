//! Opening media legs for calls: an RTP/RTCP port pair from the shared allocator and a media task.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::{MediaCommand, MediaEvent};
use media_runtime::{LegConfig, LegCore, LegHandle, PortAllocator};
use tokio::sync::mpsc;

/// A call's media leg, as the shard holds it.
pub(crate) struct Leg {
    handle: LegHandle,
}

impl Leg {
    pub(crate) fn local_port(&self) -> u16 {
        self.handle.local_rtp_addr().port()
    }

    /// Joins this leg's media with `other`'s, both directions.
    pub(crate) fn bridge(&self, other: &Self) {
        if let Err(e) = media_runtime::bridge(&self.handle, &other.handle) {
            tracing::warn!(error = %e, "cannot bridge two media legs");
        }
    }

    /// Separates this leg from `other` (hold).
    pub(crate) fn unbridge(&self, other: &Self) {
        if let Err(e) = media_runtime::unbridge(&self.handle, &other.handle) {
            tracing::warn!(error = %e, "cannot separate two media legs");
        }
    }

    pub(crate) fn command(&self, cmd: MediaCommand) {
        if let Err(e) = self.handle.command(cmd) {
            tracing::debug!(error = %e, "media leg did not take a command");
        }
    }
}

/// Opens legs for one shard; events come back on that shard's channel.
pub(crate) struct MediaLegs {
    pub(crate) ports: PortAllocator,
    pub(crate) bind_ip: IpAddr,
    pub(crate) events: mpsc::Sender<(u64, MediaEvent)>,
    pub(crate) rtp_timeout: Duration,
    pub(crate) silence_timeout: Duration,
}

impl MediaLegs {
    /// Opens a leg that plays from `prompts` and `music` (the set that was active when the call arrived).
    pub(crate) fn open(
        &self,
        key: u64,
        seed: u64,
        prompts: Arc<audio::PromptLibrary>,
        music: Option<Arc<media_runtime::MusicOnHold>>,
    ) -> Result<Leg, media_runtime::RuntimeError> {
        let sockets = self.ports.allocate(self.bind_ip)?;
        let config = LegConfig {
            ssrc: (seed >> 32) as u32,
            initial_seq: (seed >> 16) as u16,
            initial_ts: seed as u32,
            ptime: Duration::from_millis(20),
            rtp_timeout: self.rtp_timeout,
            silence_timeout: self.silence_timeout,
            rtcp_interval: Duration::from_secs(5),
            cname: format!("hotline-{key:x}"),
        };
        let core = LegCore::new(Instant::now(), config, prompts).with_music(music);
        let handle = media_runtime::spawn_leg(sockets, core, self.events.clone(), key);
        Ok(Leg { handle })
    }
}
