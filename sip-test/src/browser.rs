//! Headless Chromium for tests, steered through `sip-test/browser/drive.mjs` (playwright-core): one JSON
//! command per line, one JSON answer per line. Needs node, `/usr/bin/chromium` and `npm ci` in
//! `sip-test/browser` (`.ci/run` does all three); outside CI a missing piece skips the test with a message.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use crate::tools;

pub struct Browser {
    child: Child,
    stdin: ChildStdin,
    /// Taken on drop, to wait for the driver's exit (its stdout closing).
    stdout: Option<BufReader<ChildStdout>>,
}

impl Browser {
    /// Starts Chromium, or returns None (outside CI only) when a piece is missing.
    pub fn launch() -> Option<Self> {
        let node = tools::require("node")?;
        tools::require("chromium")?;
        let dir = tools::workspace_root().join("sip-test/browser");
        if !dir.join("node_modules/playwright-core").is_dir() {
            let why = "sip-test/browser/node_modules is missing: run `npm ci --prefix sip-test/browser`";
            assert!(!tools::in_ci(), "{why} (.ci/run does)");
            eprintln!("SKIPPED: {why}");
            return None;
        }
        let mut child = Command::new(node)
            .arg(dir.join("drive.mjs"))
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("cannot start node");
        let stdin = child.stdin.take().unwrap();
        let stdout = Some(BufReader::new(child.stdout.take().unwrap()));
        let mut b = Self { child, stdin, stdout };
        let hello = b.read();
        assert_eq!(
            hello["value"], "ready",
            "the browser driver did not start: {hello}"
        );
        Some(b)
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        let out = self
            .stdout
            .as_mut()
            .expect("the driver's output is open until drop");
        let n = out.read_line(&mut line).expect("reading the browser driver");
        assert!(n > 0, "the browser driver exited");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad answer from the driver ({e}): {line}"))
    }

    /// Runs one command; panics with the driver's error (and the page's console) if it fails.
    pub fn run(&mut self, cmd: Value) -> Value {
        writeln!(self.stdin, "{cmd}").expect("writing to the browser driver");
        self.stdin.flush().unwrap();
        let answer = self.read();
        assert_eq!(answer["ok"], true, "browser command {cmd} failed: {answer:#}");
        answer["value"].clone()
    }

    pub fn goto(&mut self, url: &str) {
        self.run(json!({"do": "goto", "url": url}));
    }

    pub fn fill(&mut self, selector: &str, text: &str) {
        self.run(json!({"do": "fill", "selector": selector, "text": text}));
    }

    pub fn click(&mut self, selector: &str) {
        self.run(json!({"do": "click", "selector": selector}));
    }

    /// Waits (at most 10 s) until `selector` is visible.
    pub fn wait(&mut self, selector: &str) {
        self.run(json!({"do": "wait", "selector": selector}));
    }

    /// Waits (at most 10 s) until an element matching `selector` contains `text`.
    pub fn wait_text(&mut self, selector: &str, text: &str) {
        self.run(json!({"do": "wait_text", "selector": selector, "text": text}));
    }

    pub fn text(&mut self, selector: &str) -> String {
        self.run(json!({"do": "text", "selector": selector}))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub fn count(&mut self, selector: &str) -> u64 {
        self.run(json!({"do": "count", "selector": selector}))
            .as_u64()
            .unwrap_or(0)
    }

    pub fn attr(&mut self, selector: &str, name: &str) -> Option<String> {
        self.run(json!({"do": "attr", "selector": selector, "name": name}))
            .as_str()
            .map(str::to_owned)
    }

    pub fn screenshot(&mut self, path: &std::path::Path) {
        self.run(json!({"do": "screenshot", "path": path}));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "{}", json!({"do": "quit"}));
        let _ = self.stdin.flush();
        // The driver closes Chromium and exits, which closes its stdout: wait for that event (at most
        // 5 s), then reap it; a driver that does not exit by then is killed.
        let exited = self.stdout.take().is_some_and(|mut out| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let mut rest = Vec::new();
                let _ = std::io::Read::read_to_end(&mut out, &mut rest);
                let _ = tx.send(());
            });
            rx.recv_timeout(std::time::Duration::from_secs(5)).is_ok()
        });
        if !exited {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
