//! Drives baresip 1.0 headless: a WAV file is its microphone, and its `sndfile` module records what it
//! heard (`rec/dump-…-dec.wav`). One config directory per call (baresip names recordings by the second).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{ports, tools};

/// What a baresip call left behind.
#[derive(Debug)]
pub struct BaresipCall {
    pub exit_ok: bool,
    pub output: String,
    /// The recording of what baresip heard (decoded audio), if any.
    pub heard: Option<PathBuf>,
    pub dir: PathBuf,
}

/// Writes 8 kHz mono 16-bit samples as a WAV file.
pub fn write_wav(path: &Path, samples: &[i16]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 8000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for s in samples {
        w.write_sample(*s).unwrap();
    }
    w.finalize().unwrap();
}

/// Calls `target` (a SIP URI) with `mic` as the microphone; baresip quits after `max` at the latest.
pub fn call(target: &str, mic: &[i16], max: Duration) -> Option<BaresipCall> {
    let bin = tools::require("baresip")?;
    let dir = tools::temp_dir("baresip");
    let port = ports::block(3);
    let ctrl = ports::block(1);
    let rtp = ports::block(40);
    let mic_path = dir.join("mic.wav");
    write_wav(&mic_path, mic);
    std::fs::create_dir_all(dir.join("rec")).unwrap();
    let config = format!(
        "poll_method epoll\nnet_interface 127.0.0.1\nsip_listen 127.0.0.1:{port}\n\
         audio_player aubridge,nullplay\naudio_alert aubridge,nullalert\naudio_source aufile,{mic}\n\
         rtp_ports {rtp}-{rtp_hi}\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
         module aubridge.so\nmodule sndfile.so\nmodule_tmp uuid.so\nmodule_tmp account.so\nmodule_app menu.so\n\
         module_app ctrl_tcp.so\nctrl_tcp_listen 127.0.0.1:{ctrl}\nsnd_path {rec}\n",
        mic = mic_path.display(),
        rtp_hi = rtp + 39,
        rec = dir.join("rec").display(),
    );
    std::fs::write(dir.join("config"), config).unwrap();
    std::fs::write(
        dir.join("accounts"),
        format!("<sip:caller@127.0.0.1:{port}>;regint=0;audio_codecs=pcmu\n"),
    )
    .unwrap();
    let child = Command::new(bin)
        .arg("-f")
        .arg(&dir)
        .arg("-e")
        .arg(format!("/dial {target}"))
        .arg("-t")
        .arg(max.as_secs().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot start baresip");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(max + Duration::from_secs(10)) {
        Ok(o) => o.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            rx.recv().unwrap().unwrap()
        }
    };
    let heard = std::fs::read_dir(dir.join("rec")).ok().and_then(|d| {
        d.flatten()
            .map(|e| e.path())
            .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
    });
    Some(BaresipCall {
        exit_ok: out.status.success(),
        output: format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        heard,
        dir,
    })
}

/// In-band DTMF: `digit` as two summed sine tones, `ms` long, at a level well inside the detector's range.
pub fn dtmf_tone(digit: char, ms: u32) -> Vec<i16> {
    let (low, high) = match digit {
        '1' => (697.0, 1209.0),
        '2' => (697.0, 1336.0),
        '3' => (697.0, 1477.0),
        '4' => (770.0, 1209.0),
        '5' => (770.0, 1336.0),
        '6' => (770.0, 1477.0),
        '7' => (852.0, 1209.0),
        '8' => (852.0, 1336.0),
        '9' => (852.0, 1477.0),
        '*' => (941.0, 1209.0),
        '0' => (941.0, 1336.0),
        '#' => (941.0, 1477.0),
        _ => panic!("not a DTMF key: {digit}"),
    };
    let n = (8 * ms) as usize;
    (0..n)
        .map(|i| {
            let t = i as f64 / 8000.0;
            let v =
                (2.0 * std::f64::consts::PI * low * t).sin() + (2.0 * std::f64::consts::PI * high * t).sin();
            (v * 6000.0) as i16
        })
        .collect()
}

/// A baresip phone registered as an agent (auto-answer), running in the background until `stop`.
pub struct AgentPhone {
    child: std::process::Child,
    pub dir: PathBuf,
}

impl AgentPhone {
    /// Starts baresip registering `user`/`password` at the engine on `engine_port`, answering calls
    /// automatically with `mic` as its microphone (8 kHz WAV samples).
    pub fn start(engine_port: u16, user: &str, password: &str, mic: &[i16]) -> Option<Self> {
        let bin = tools::require("baresip")?;
        let dir = tools::temp_dir("baresip-agent");
        let port = ports::block(3);
        let rtp = ports::block(40);
        let mic_path = dir.join("mic.wav");
        write_wav(&mic_path, mic);
        std::fs::create_dir_all(dir.join("rec")).unwrap();
        let config = format!(
            "poll_method epoll\nnet_interface 127.0.0.1\nsip_listen 127.0.0.1:{port}\n\
             audio_player aubridge,nullplay\naudio_alert aubridge,nullalert\naudio_source aufile,{mic}\n\
             rtp_ports {rtp}-{rtp_hi}\nmodule_path /usr/lib/baresip/modules\nmodule g711.so\nmodule aufile.so\n\
             module aubridge.so\nmodule sndfile.so\nmodule_tmp uuid.so\nmodule_tmp account.so\nmodule_app menu.so\n\
             snd_path {rec}\n",
            mic = mic_path.display(),
            rtp_hi = rtp + 39,
            rec = dir.join("rec").display(),
        );
        std::fs::write(dir.join("config"), config).unwrap();
        std::fs::write(
            dir.join("accounts"),
            format!(
                "<sip:{user}@127.0.0.1:{engine_port}>;auth_user={user};auth_pass={password};regint=120;\
                 answermode=auto;audio_codecs=pcmu\n"
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-f")
            .arg(&dir)
            .arg("-t")
            .arg("60")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start baresip");
        Some(Self { child, dir })
    }

    /// What the phone heard (its decoded-audio recording), once it has hung up or been stopped.
    pub fn heard(&self) -> Option<PathBuf> {
        std::fs::read_dir(self.dir.join("rec")).ok().and_then(|d| {
            d.flatten()
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with("-dec.wav"))
        })
    }

    /// Stops baresip (SIGTERM, so the recording is closed properly).
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for AgentPhone {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
