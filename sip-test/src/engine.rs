//! Runs the real `hotline` binary for a test: own data dir, own ports, own config.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{http, ports, tools};

/// The API token every test engine uses.
pub const TOKEN: &str = "test-token-0123456789abcdef";

/// How a test wants its engine.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra YAML config lines (top-level keys).
    pub extra_config: String,
    /// The flows folder (default: `sip-test/flows/`, the fixtures; the demo flows are in `ivr-flows/`).
    pub flows: Option<PathBuf>,
    /// Database URL (default: SQLite in the data dir).
    pub database: Option<String>,
    /// Reuse this data dir (for restart tests).
    pub data_dir: Option<PathBuf>,
    /// How many RTP ports to give the engine (default 40: 20 concurrent calls).
    pub rtp_port_count: Option<u16>,
}

/// A running engine. Dropping it kills the process.
pub struct Engine {
    child: Option<Child>,
    pub sip_port: u16,
    pub http_port: u16,
    pub rtp_lo: u16,
    pub rtp_hi: u16,
    pub data_dir: PathBuf,
    lines: mpsc::Receiver<String>,
    log: Arc<Mutex<Vec<String>>>,
    opts: Options,
}

/// The engine binary: `HOTLINE_BIN`, or `target/debug/hotline` (built by `scripts/test.sh`).
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("HOTLINE_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools::workspace_root().join("target"));
    let bin = target.join("debug").join("hotline");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p hotline-server` first (scripts/test.sh does)",
        bin.display()
    );
    bin
}

impl Engine {
    /// Starts an engine and waits (at most 30 s) until it logs that it is ready.
    pub fn start(opts: Options) -> Self {
        let sip_port = ports::block(2);
        let http_port = sip_port + 1;
        let count = opts.rtp_port_count.unwrap_or(40).max(4);
        let rtp_lo = ports::block(count);
        let rtp_hi = rtp_lo + count - 1;
        let data_dir = opts.data_dir.clone().unwrap_or_else(|| tools::temp_dir("engine"));
        Self::launch(opts, sip_port, http_port, rtp_lo, rtp_hi, data_dir)
    }

    fn launch(
        opts: Options,
        sip_port: u16,
        http_port: u16,
        rtp_lo: u16,
        rtp_hi: u16,
        data_dir: PathBuf,
    ) -> Self {
        let flows = opts
            .flows
            .clone()
            .unwrap_or_else(|| tools::workspace_root().join("ivr-flows"));
        let mut config = format!(
            "sip_listen: 127.0.0.1:{sip_port}\nhttp_listen: 127.0.0.1:{http_port}\npublic_addr: 127.0.0.1\n\
             rtp_ports: {rtp_lo}-{rtp_hi}\ndata_dir: {}\nflows: {}\napi_token: {TOKEN}\nlog_pii: true\n",
            data_dir.display(),
            flows.display()
        );
        if let Some(db) = &opts.database {
            config.push_str(&format!("database: {db}\n"));
        }
        config.push_str(&opts.extra_config);
        let config_path = data_dir.join("config.yaml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(binary())
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .env(
                "RUST_LOG",
                "info,hotline::store_writer=debug,hotline::queue_history=debug",
            )
            .env_remove("HOTLINE_CONFIG")
            .env_remove("HOTLINE_DATABASE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start the hotline binary");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                log2.lock().unwrap().push(line.clone());
                if std::env::var_os("HOTLINE_TEST_LOG").is_some() {
                    eprintln!("[engine] {line}");
                }
                let _ = tx.send(line);
            }
        });
        let engine = Self {
            child: Some(child),
            sip_port,
            http_port,
            rtp_lo,
            rtp_hi,
            data_dir,
            lines: rx,
            log,
            opts,
        };
        if !engine.wait_log("hotline is ready", Duration::from_secs(30)) {
            panic!("engine did not become ready:\n{}", engine.log_text());
        }
        engine
    }

    /// Waits until a log line containing `needle` appears (lines seen earlier count too).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_log_count(needle, 1, timeout)
    }

    /// Waits until `count` log lines contain `needle`.
    pub fn wait_log_count(&self, needle: &str, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .log
                .lock()
                .unwrap()
                .iter()
                .filter(|l| l.contains(needle))
                .count()
                >= count
            {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Block on the next line (or the deadline): no polling sleep.
            match self.lines.recv_timeout(left) {
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => return false,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return self
                        .log
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|l| l.contains(needle))
                        .count()
                        >= count;
                }
            }
        }
    }

    /// The whole log so far.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    pub fn sip_addr(&self) -> String {
        format!("127.0.0.1:{}", self.sip_port)
    }

    /// `GET path` on the engine's HTTP port with the test token.
    pub fn api_get(&self, path: &str) -> (u16, String) {
        http::get(self.http_port, path, Some(TOKEN)).unwrap()
    }

    /// The call list (newest first).
    pub fn calls(&self) -> Vec<serde_json::Value> {
        let (status, body) = self.api_get("/api/v1/calls?limit=100");
        assert_eq!(status, 200, "GET /api/v1/calls: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// Waits until `n` call records have been finalized (the writer logs each commit), then returns the
    /// records of calls whose SIP Call-ID contains `call_id_part`.
    pub fn ended_calls(&self, n: usize, call_id_part: &str, timeout: Duration) -> Vec<serde_json::Value> {
        assert!(
            self.wait_log_count("call record finalized", n, timeout),
            "{n} call record(s) were not finalized in time:\n{}",
            self.log_text()
        );
        self.calls()
            .into_iter()
            .filter(|c| {
                c["sip_call_id"]
                    .as_str()
                    .is_some_and(|s| s.contains(call_id_part))
            })
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// SIGTERM, then wait (at most 15 s) for a clean exit. Returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // Let the log reader see the last lines.
                let _ = self.wait_log("stopped", Duration::from_secs(2));
                return status.success();
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            // Waiting for a process exit has no event to block on in std; a short bounded wait it is.
            let _ = self.lines.recv_timeout(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the engine dies without finalizing anything (crash test).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the same engine again (same ports, data dir and config).
    pub fn restart(&mut self) {
        self.kill9();
        let again = Self::launch(
            self.opts.clone(),
            self.sip_port,
            self.http_port,
            self.rtp_lo,
            self.rtp_hi,
            self.data_dir.clone(),
        );
        *self = again;
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.kill9();
    }
}
