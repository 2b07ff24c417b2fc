//! Media runtime: RTP legs on UDP sockets, paced by a ptime clock.
//!
//! Two layers, after quinn-proto/quinn and str0m:
//!
//! - [`LegCore`] is sans-IO: commands, datagrams and timeouts go in with a `now`; datagrams to
//!   send ([`Transmit`]), [`MediaEvent`](media::MediaEvent)s and the next deadline come out.
//!   It plays prompts, sends silence when idle, latches the peer's source, detects RFC 4733
//!   and in-band DTMF, watches for RTP and silence timeouts and keeps RTCP going. Its tests run
//!   in virtual time.
//! - [`spawn_leg`] runs a core on two UDP sockets in a tokio task; [`PortAllocator`] hands out
//!   the sockets (even RTP port, RTCP on the next) and takes the ports back when the task ends.
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::sync::Arc;
//! use std::time::Instant;
//!
//! use audio::PromptLibrary;
//! use media::{Codec, MediaCommand, RemoteMedia};
//! use hotline_media_runtime::{LegConfig, LegCore, PortAllocator, spawn_leg};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ports = PortAllocator::new(20000, 20999)?;
//! let prompts = Arc::new(PromptLibrary::from_samples(vec![("welcome".into(), vec![0; 8000])]));
//! let (events_tx, mut events) = tokio::sync::mpsc::channel(64);
//!
//! let sockets = ports.allocate(IpAddr::V4(Ipv4Addr::LOCALHOST))?;
//! let config = LegConfig::new(0x1234_5678, 4321, 99_000, "hotline@example.invalid");
//! let core = LegCore::new(Instant::now(), config, prompts);
//! let leg = spawn_leg(sockets, core, events_tx, 1);
//! // Put leg.local_rtp_addr() in the SDP answer, then:
//! let remote = RemoteMedia {
//!     addr: "127.0.0.1:30000".parse()?,
//!     codec: Codec::Pcmu,
//!     payload_type: 0,
//!     dtmf_payload_type: Some(101),
//!     ptime_ms: 20,
//! };
//! leg.command(MediaCommand::Configure { remote })?;
//! leg.command(MediaCommand::Play { play_id: 1, prompts: vec!["welcome".into()] })?;
//! while let Some((key, event)) = events.recv().await {
//!     println!("leg {key}: {event:?}");
//! }
//! # Ok(())
//! # }
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod error;
mod leg;
pub mod moh;
mod ports;
pub mod recorder;
mod shell;
pub mod wavfile;

pub use error::RuntimeError;
pub use leg::{LegConfig, LegCore, MAX_BURST, Transmit};
pub use moh::MusicOnHold;
pub use ports::{LegSockets, PortAllocator};
pub use shell::{BRIDGE_QUEUE, COMMAND_QUEUE, LegHandle, bridge, spawn_leg, unbridge};
