//! Runs SIPp 3.6 with a scenario, bounded in calls and time, and reads its final statistics.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{ports, tools};

/// The outcome of one SIPp run.
#[derive(Debug)]
pub struct SippRun {
    /// 0: every call succeeded; 1: some failed; 255 (or other): global timeout or error; -1: killed by us.
    pub exit: i32,
    /// The last row of the `-stf` statistics CSV, by column name.
    pub stats: BTreeMap<String, String>,
    pub stdout: String,
    pub stderr: String,
    pub dir: PathBuf,
    /// The local SIP port SIPp used.
    pub local_port: u16,
    /// The local media port SIPp used (`-mp`).
    pub media_port: u16,
}

impl SippRun {
    /// A cumulative counter from the statistics, e.g. `SuccessfulCall(C)`.
    pub fn stat(&self, name: &str) -> u64 {
        self.stats
            .get(name)
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Everything SIPp wrote to its error/message trace files, for failure messages.
    pub fn traces(&self) -> String {
        let mut out = format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}\n",
            self.exit, self.stdout, self.stderr
        );
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.ends_with("_errors.log") || name.ends_with("_messages.log") {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    let tail: String = text
                        .chars()
                        .rev()
                        .take(6000)
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    out.push_str(&format!("--- {name}\n{tail}\n"));
                }
            }
        }
        out
    }
}

/// Options for one run.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub scenario: &'a str,
    pub target: String,
    pub calls: u32,
    pub rate: u32,
    pub extra: Vec<String>,
    pub timeout: Duration,
    /// Write SIP message traces (`-trace_msg`), useful when debugging.
    pub trace_msg: bool,
    /// SIPp's media port (`-mp`); default: a free one.
    pub media_port: Option<u16>,
    /// Files written next to the scenario (e.g. audio for `rtp_stream`), by name.
    pub files: Vec<(String, Vec<u8>)>,
    /// A prefix for SIPp's Call-IDs (`-cid_str PREFIX-%u-%p@%s`), so tests can find their records.
    pub call_id_prefix: Option<&'a str>,
}

impl<'a> Run<'a> {
    pub fn new(scenario: &'a str, target: String) -> Self {
        Self {
            scenario,
            target,
            calls: 1,
            rate: 10,
            extra: vec![],
            timeout: Duration::from_secs(60),
            trace_msg: true,
            media_port: None,
            files: vec![],
            call_id_prefix: None,
        }
    }
}

/// Runs SIPp; `None` when SIPp is missing outside CI (the test is skipped).
pub fn run(r: &Run<'_>) -> Option<SippRun> {
    let sipp = tools::require("sipp")?;
    let dir = tools::temp_dir("sipp");
    let scenario = dir.join("scenario.xml");
    std::fs::write(&scenario, r.scenario).unwrap();
    for (name, data) in &r.files {
        std::fs::write(dir.join(name), data).unwrap();
    }
    let local_port = ports::block(1);
    let media_port = r.media_port.unwrap_or_else(|| ports::block(4));
    let mut cmd = Command::new(sipp);
    cmd.current_dir(&dir)
        .arg(&r.target)
        .args(["-sf", "scenario.xml", "-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &local_port.to_string(), "-mp", &media_port.to_string()])
        .args(["-m", &r.calls.to_string(), "-r", &r.rate.to_string()])
        .args([
            "-timeout",
            &format!("{}s", r.timeout.as_secs()),
            "-timeout_error",
            "-nostdin",
        ])
        .args(["-trace_stat", "-stf", "stats.csv", "-fd", "1", "-trace_err"])
        .args(&r.extra)
        .args(
            r.call_id_prefix
                .map(|p| ["-cid_str".to_owned(), format!("{p}-%u-%p@%s")])
                .into_iter()
                .flatten(),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if r.trace_msg {
        cmd.arg("-trace_msg");
    }
    let child = cmd.spawn().expect("cannot start sipp");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(r.timeout + Duration::from_secs(15)) {
        Ok(out) => out.expect("sipp wait failed"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            let out = rx.recv().unwrap().expect("sipp wait failed");
            let mut run = finish(out, dir, local_port, media_port);
            run.exit = -1;
            return Some(run);
        }
    };
    Some(finish(output, dir, local_port, media_port))
}

fn finish(out: std::process::Output, dir: PathBuf, local_port: u16, media_port: u16) -> SippRun {
    let stats = std::fs::read_to_string(dir.join("stats.csv"))
        .map(|t| last_row(&t))
        .unwrap_or_default();
    SippRun {
        exit: out.status.code().unwrap_or(-1),
        stats,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        dir,
        local_port,
        media_port,
    }
}

fn last_row(csv: &str) -> BTreeMap<String, String> {
    let mut lines = csv.lines().filter(|l| !l.trim().is_empty());
    let Some(header) = lines.next() else {
        return BTreeMap::new();
    };
    let Some(last) = lines.next_back() else {
        return BTreeMap::new();
    };
    header
        .split(';')
        .map(str::to_owned)
        .zip(last.split(';').map(str::to_owned))
        .collect()
}

/// The RFC 4733 pcap SIPp ships for a digit (`0`–`9`, `*` → star, `#` → pound).
pub fn dtmf_pcap(digit: char) -> String {
    let name = match digit {
        '*' => "star".to_owned(),
        '#' => "pound".to_owned(),
        d => d.to_string(),
    };
    format!("/usr/share/sip-tester/dtmf_2833_{name}.pcap")
}

/// A caller scenario built for a test: INVITE `dialed` from `caller`, ACK, key `digits` one SIP INFO
/// (`application/dtmf-relay`) each after `first_pause_ms`, then wait for the engine's BYE and answer it.
pub fn info_digits_then_bye(caller: &str, dialed: &str, digits: &str, first_pause_ms: u32) -> String {
    let mut xml = format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="info digits then bye">
  <send retrans="500"><![CDATA[
      INVITE sip:{dialed}@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: <sip:{dialed}@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:sipp@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 1 1 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
  ]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
      ACK [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: <sip:{dialed}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Max-Forwards: 70
      Content-Length: 0
  ]]></send>
  <pause milliseconds="{first_pause_ms}"/>
"#
    );
    for (i, d) in digits.chars().enumerate() {
        xml.push_str(&format!(
            r#"  <send retrans="500"><![CDATA[
      INFO [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:{caller}@[local_ip]:[local_port]>;tag=[pid]SIPpTag09[call_number]
      To: <sip:{dialed}@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} INFO
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal={d}
      Duration=120
  ]]></send>
  <recv response="200"/>
"#,
            cseq = i + 2
        ));
    }
    xml.push_str(
        r#"  <recv request="BYE" timeout="30000"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
  ]]></send>
</scenario>
"#,
    );
    xml
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_statistics_row_is_read_by_column() {
        let csv = "StartTime;SuccessfulCall(C);FailedCall(C);\n1;0;0;\n2;5;1;\n";
        let row = last_row(csv);
        assert_eq!(row["SuccessfulCall(C)"], "5");
        assert_eq!(row["FailedCall(C)"], "1");
    }
}
