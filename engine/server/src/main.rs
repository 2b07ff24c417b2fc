//! `hotline`: the call-center engine binary.
//!
//! ```text
//! hotline serve [--config FILE] [--sip-listen ADDR] [--http-listen ADDR] [--public-addr IP]
//!               [--rtp-ports LO-HI] [--data-dir DIR] [--flows DIR] [--database URL]
//! hotline flow check FILE…
//! hotline flow test FILE…
//! hotline flow schema
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod acd;
mod agents;
mod chats;
mod config;
mod desk;
mod flows;
mod io;
mod metrics;
mod queue_history;
mod recordings;
mod serve;
mod sip;
mod store_writer;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, LogFormat, PortRange};

#[derive(Debug, Parser)]
#[command(name = "hotline", version, about = "Hotline call-center engine")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the engine: SIP, media, IVR flows, call records and the HTTP API.
    Serve(Box<ServeArgs>),
    /// Work with IVR flow files.
    Flow {
        #[command(subcommand)]
        cmd: FlowCmd,
    },
}

#[derive(Debug, Subcommand)]
enum FlowCmd {
    /// Validate flow files; prints `FILE:LINE:COL: message` per error and exits non-zero on any error.
    Check {
        /// Flow files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The prompts folder (default: `prompts/` beside each file).
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
    /// Run the `tests:` each flow file carries; prints `N passed, M failed` and exits non-zero on a failure.
    Test {
        /// Flow files to test.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The prompts folder (default: `prompts/` beside each file).
        #[arg(long)]
        prompts: Option<PathBuf>,
    },
    /// Print the JSON Schema of flow files (for editors: yaml-language-server).
    Schema,
}

/// Flags override the config file; the config file overrides the defaults.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// YAML config file (see docs/operations.md).
    #[arg(long, env = "HOTLINE_CONFIG")]
    config: Option<PathBuf>,
    /// SIP listen address, UDP and TCP (default 0.0.0.0:5060).
    #[arg(long)]
    sip_listen: Option<SocketAddr>,
    /// HTTP listen address (default 0.0.0.0:8080).
    #[arg(long)]
    http_listen: Option<SocketAddr>,
    /// IP advertised in SDP and Contact (default: the SIP listen IP, or 127.0.0.1 for 0.0.0.0).
    #[arg(long)]
    public_addr: Option<IpAddr>,
    /// RTP port range, e.g. 10000-19999.
    #[arg(long)]
    rtp_ports: Option<PortRange>,
    /// Data directory (SQLite database, API token).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Folder of flow files, with prompts/ inside.
    #[arg(long)]
    flows: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://...
    #[arg(long, env = "HOTLINE_DATABASE")]
    database: Option<String>,
    /// This node's name in call records.
    #[arg(long)]
    node_id: Option<String>,
    /// Log format.
    #[arg(long, value_enum)]
    log_format: Option<LogFormat>,
    /// Print phone numbers and addresses in clear in logs.
    #[arg(long)]
    log_pii: bool,
}

impl ServeArgs {
    fn into_config(self) -> anyhow::Result<Config> {
        let mut c = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(v) = self.sip_listen {
            c.sip_listen = v;
        }
        if let Some(v) = self.http_listen {
            c.http_listen = v;
        }
        if let Some(v) = self.public_addr {
            c.public_addr = Some(v);
        }
        if let Some(v) = self.rtp_ports {
            c.rtp_ports = v;
        }
        if let Some(v) = self.data_dir {
            c.data_dir = v;
        }
        if let Some(v) = self.flows {
            c.flows = v;
        }
        if let Some(v) = self.database {
            c.database = Some(v);
        }
        if let Some(v) = self.node_id {
            c.node_id = v;
        }
        if let Some(v) = self.log_format {
            c.log_format = v;
        }
        if self.log_pii {
            c.log_pii = true;
        }
        Ok(c)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve(args) => {
            let config = match args.into_config() {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("hotline: {e:#}");
                    return ExitCode::from(2);
                }
            };
            serve::run(config)
        }
        Cmd::Flow {
            cmd: FlowCmd::Check { files, prompts },
        } => flows::check_command(&files, prompts.as_deref()),
        Cmd::Flow {
            cmd: FlowCmd::Test { files, prompts },
        } => flows::test_command(&files, prompts.as_deref()),
        Cmd::Flow { cmd: FlowCmd::Schema } => flows::schema_command(),
    }
}
