//! Configuration: a YAML file (`--config`), overridden by command-line flags. With neither, the engine runs
//! the demo flow on SQLite under `./data`, and any number dialed reaches it.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Every key of the config file. See `docs/operations.md` for units, defaults and examples.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    /// SIP listen address, UDP and TCP on the same port.
    pub(crate) sip_listen: SocketAddr,
    /// HTTP listen address (REST API, health, metrics).
    pub(crate) http_listen: SocketAddr,
    /// The address advertised in SDP and Contact. Default: the SIP listen IP, or 127.0.0.1 when that is
    /// unspecified (never a guessed interface address).
    pub(crate) public_addr: Option<IpAddr>,
    /// RTP port range `LO-HI` (even ports carry RTP, the next odd one RTCP).
    pub(crate) rtp_ports: PortRange,
    /// Data directory: the SQLite database, recordings and the generated API token.
    pub(crate) data_dir: PathBuf,
    /// Folder of IVR flow files (`*.yaml`) with a `prompts/` folder inside.
    pub(crate) flows: PathBuf,
    /// Database URL; default `sqlite://<data_dir>/hotline.db`.
    pub(crate) database: Option<String>,
    /// Bearer token for `/api/v1`; default: generated once into `<data_dir>/api-token`.
    pub(crate) api_token: Option<String>,
    /// This node's name in call records (several nodes may share a database).
    pub(crate) node_id: String,
    /// Dialed user part → flow name. `*` matches any number. Default: everything to `hotline`.
    pub(crate) routes: BTreeMap<String, String>,
    /// Ring for this long before answering (lets a caller's CANCEL arrive first). `0s` answers at once.
    #[serde(with = "duration_text")]
    pub(crate) answer_delay: Duration,
    /// Ends a call when no RTP arrives for this long (`0s` turns it off).
    #[serde(with = "duration_text")]
    pub(crate) rtp_timeout: Duration,
    /// Ends a call whose RTP carries only silence for this long (`0s` turns it off).
    #[serde(with = "duration_text")]
    pub(crate) silence_timeout: Duration,
    /// Admission control limits.
    pub(crate) limits: Limits,
    /// The SIP digest realm agents authenticate in. Changing it invalidates stored agent credentials.
    pub(crate) sip_realm: String,
    /// Digest algorithms offered to phones, in order of preference (RFC 8760). Some older phones read only
    /// the first challenge: list `MD5` first for them.
    pub(crate) sip_digest_algorithms: Vec<String>,
    /// The time zone flows use for time-of-day, day-of-week and calendar checks (IANA name).
    pub(crate) timezone: String,
    /// Static customer lists for identity verification (`lookup: { static: NAME }` in a flow).
    pub(crate) directory: BTreeMap<String, Vec<store::Customer>>,
    /// Check the flows folder for changes this often and reload (`0s`: only on SIGHUP or the API).
    #[serde(with = "duration_text")]
    pub(crate) flow_watch: Duration,
    /// The queues callers wait in (`enqueue` nodes name them). Default: `sales` and `support`.
    pub(crate) queues: Vec<crate::acd::QueueSettings>,
    /// Log format: `text` or `json`.
    pub(crate) log_format: LogFormat,
    /// Print phone numbers and addresses in clear in logs (default: redacted).
    pub(crate) log_pii: bool,
    /// Call recording.
    pub(crate) recording: RecordingConfig,
    /// The SIP trunk outbound calls go through (callbacks). Without it there are no callbacks.
    pub(crate) trunk: Option<TrunkConfig>,
    /// The admin's prefix table of regions (CSV `prefix,region[,country]`); default `<flows>/regions.csv` when
    /// that file exists.
    pub(crate) regions: Option<PathBuf>,
    /// The country calling code of numbers dialled without `+` or `00` (e.g. `"49"`), for their region.
    pub(crate) default_country_code: Option<String>,
}

/// `trunk:` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TrunkConfig {
    /// Where INVITEs go (UDP), `IP:PORT`.
    pub(crate) address: SocketAddr,
    /// The host in the Request-URI (`sip:<number>@<domain>`); default: the address' IP.
    #[serde(default)]
    pub(crate) domain: Option<String>,
    /// Our number in From (default `hotline`).
    #[serde(default)]
    pub(crate) caller_id: Option<String>,
    /// How long a callback rings the customer before it gives up (default 30 s).
    #[serde(default, with = "duration_opt")]
    pub(crate) ring_timeout: Option<Duration>,
}

impl TrunkConfig {
    /// The session layer's view of the trunk.
    pub(crate) fn to_trunk(&self) -> b2bua::Trunk {
        b2bua::Trunk {
            address: self.address,
            domain: self.domain.clone().unwrap_or_else(|| match self.address.ip() {
                IpAddr::V4(ip) => ip.to_string(),
                IpAddr::V6(ip) => format!("[{ip}]"),
            }),
            caller_id: self.caller_id.clone().unwrap_or_else(|| "hotline".into()),
            ring_timeout: self.ring_timeout.unwrap_or(Duration::from_secs(30)),
        }
    }
}

/// When a call's recording starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RecordFrom {
    /// When an agent answers (in a queue whose `record` is on).
    Bridge,
    /// When the engine answers the caller: the IVR part too, with verification digits muted.
    Answer,
}

/// `recording:` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RecordingConfig {
    /// Record at all (default on).
    pub(crate) enabled: bool,
    /// Where the WAV files go (default `<data_dir>/recordings`).
    pub(crate) dir: Option<PathBuf>,
    /// `bridge` (default) or `answer`.
    pub(crate) from: RecordFrom,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            dir: None,
            from: RecordFrom::Bridge,
        }
    }
}

impl Config {
    /// The recordings folder, when recording is on.
    pub(crate) fn recordings_dir(&self) -> Option<PathBuf> {
        self.recording.enabled.then(|| {
            self.recording
                .dir
                .clone()
                .unwrap_or_else(|| self.data_dir.join("recordings"))
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Limits {
    /// Largest SIP message accepted, in bytes (UDP datagram or TCP message).
    pub(crate) max_message_size: usize,
    /// Most header lines in one SIP message.
    pub(crate) max_headers: usize,
    /// Most concurrent calls; new INVITEs get 503 with Retry-After above it.
    pub(crate) max_calls: usize,
    /// New INVITEs accepted per source IP per second (burst = one second's worth).
    pub(crate) invites_per_source_per_sec: u32,
    /// SIP requests of any kind accepted per source IP per second before they are dropped.
    pub(crate) requests_per_source_per_sec: u32,
    /// Most concurrent TCP connections.
    pub(crate) max_tcp_connections: usize,
    /// Depth of each shard's inbound queue; beyond it, requests get 503 (or responses are dropped).
    pub(crate) shard_queue: usize,
    /// Retry-After seconds in 503 answers.
    pub(crate) retry_after_secs: u32,
    /// Most live SIP transactions per shard.
    pub(crate) max_transactions_per_shard: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_size: 16 * 1024,
            max_headers: 64,
            max_calls: 2000,
            invites_per_source_per_sec: 500,
            requests_per_source_per_sec: 2000,
            max_tcp_connections: 1024,
            shard_queue: 4096,
            retry_after_secs: 5,
            max_transactions_per_shard: 20_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    Text,
    Json,
}

/// An inclusive UDP port range, written `LO-HI`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PortRange {
    pub(crate) lo: u16,
    pub(crate) hi: u16,
}

impl std::str::FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (lo, hi) = s
            .split_once('-')
            .ok_or_else(|| format!("expected LO-HI, got {s:?}"))?;
        let lo: u16 = lo.trim().parse().map_err(|_| format!("bad port {lo:?}"))?;
        let hi: u16 = hi.trim().parse().map_err(|_| format!("bad port {hi:?}"))?;
        if lo == 0 || lo > hi || hi - lo < 3 {
            return Err(format!(
                "range {s} must be LO-HI with 0 < LO and at least 4 ports"
            ));
        }
        Ok(Self { lo, hi })
    }
}

impl<'de> Deserialize<'de> for PortRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            sip_listen: SocketAddr::from(([0, 0, 0, 0], 5060)),
            http_listen: SocketAddr::from(([0, 0, 0, 0], 8080)),
            public_addr: None,
            rtp_ports: PortRange { lo: 10000, hi: 19999 },
            data_dir: PathBuf::from("./data"),
            flows: PathBuf::from("./ivr-flows"),
            database: None,
            api_token: None,
            node_id: "node-1".into(),
            routes: BTreeMap::from([("*".to_owned(), "hotline".to_owned())]),
            answer_delay: Duration::ZERO,
            rtp_timeout: Duration::from_secs(30),
            silence_timeout: Duration::from_secs(0),
            limits: Limits::default(),
            timezone: "UTC".into(),
            sip_realm: "hotline".into(),
            sip_digest_algorithms: vec!["SHA-256".into(), "MD5".into()],
            directory: demo_directory(),
            flow_watch: Duration::from_secs(2),
            queues: vec![
                crate::acd::QueueSettings::named("sales"),
                crate::acd::QueueSettings::named("support"),
            ],
            log_format: LogFormat::Text,
            log_pii: false,
            recording: RecordingConfig::default(),
            trunk: None,
            regions: None,
            default_country_code: None,
        }
    }
}

/// The demo customers (`lookup: { static: demo }`), so the demo flow's verification works out of the box.
fn demo_directory() -> BTreeMap<String, Vec<store::Customer>> {
    let customer = |id: &str, name: &str, phones: &[&str], tier: &str| store::Customer {
        id: id.into(),
        name: name.into(),
        phones: phones.iter().map(|p| (*p).to_owned()).collect(),
        attributes: BTreeMap::from([("tier".to_owned(), tier.to_owned())]),
    };
    BTreeMap::from([(
        "demo".to_owned(),
        vec![
            customer("1001", "Ada Lovelace", &["+15551230001", "+15550001111"], "gold"),
            customer("1002", "Alan Turing", &["+15551230002"], "silver"),
            customer("1003", "Grace Hopper", &["+15551230003"], "bronze"),
        ],
    )])
}

impl Config {
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read config {}: {e}", path.display()))?;
        serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// The digest algorithms to offer, checked.
    pub(crate) fn digest_algorithms(&self) -> anyhow::Result<Vec<sip_auth::digest::Algorithm>> {
        let algs: Vec<_> = self
            .sip_digest_algorithms
            .iter()
            .map(|a| {
                sip_auth::digest::Algorithm::parse(a)
                    .ok_or_else(|| anyhow::anyhow!("unknown digest algorithm {a:?} in sip_digest_algorithms"))
            })
            .collect::<anyhow::Result<_>>()?;
        if algs.is_empty() {
            anyhow::bail!("sip_digest_algorithms must name at least one algorithm");
        }
        Ok(algs)
    }

    /// The configured time zone, checked against the system's time zone database.
    pub(crate) fn time_zone(&self) -> anyhow::Result<jiff::tz::TimeZone> {
        jiff::tz::TimeZone::get(&self.timezone)
            .map_err(|e| anyhow::anyhow!("unknown time zone {:?} in config: {e}", self.timezone))
    }

    pub(crate) fn database_url(&self) -> String {
        self.database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/hotline.db", self.data_dir.display()))
    }

    /// The IP put in SDP and Contact.
    pub(crate) fn advertised_ip(&self) -> IpAddr {
        match self.public_addr {
            Some(ip) => ip,
            None if self.sip_listen.ip().is_unspecified() => IpAddr::from([127, 0, 0, 1]),
            None => self.sip_listen.ip(),
        }
    }

    /// The region table: `regions`, or `<flows>/regions.csv` when it exists, or none. A file that does not
    /// load stops the engine with its line and problem.
    pub(crate) fn region_lookup(&self) -> anyhow::Result<api::Regions> {
        let path = match &self.regions {
            Some(p) => Some(p.clone()),
            None => Some(self.flows.join("regions.csv")).filter(|p| p.is_file()),
        };
        let table = match path {
            Some(p) => model::RegionTable::load_file(&p).map_err(|e| anyhow::anyhow!("{e}"))?,
            None => model::RegionTable::empty(),
        };
        if let Some(cc) = &self.default_country_code {
            anyhow::ensure!(
                (1..=3).contains(&cc.len()) && cc.bytes().all(|b| b.is_ascii_digit()),
                "default_country_code must be 1 to 3 digits (e.g. \"49\"), got {cc:?}"
            );
        }
        Ok(api::Regions {
            table,
            default_country_code: self.default_country_code.clone(),
        })
    }

    /// Each queue's callback key, checked: one of `0-9`, `*`, `#`, `A-D`, and only with a trunk to call back
    /// through.
    pub(crate) fn callback_keys(&self) -> anyhow::Result<BTreeMap<String, char>> {
        let mut keys = BTreeMap::new();
        for q in &self.queues {
            let Some(key) = &q.callback_key else { continue };
            let mut chars = key.chars();
            let (Some(c), None) = (chars.next(), chars.next()) else {
                anyhow::bail!("queue {}: callback_key must be one key, got {key:?}", q.name);
            };
            anyhow::ensure!(
                c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'),
                "queue {}: callback_key {key:?} is not a phone key (0-9, *, #, A-D)",
                q.name
            );
            anyhow::ensure!(
                self.trunk.is_some(),
                "queue {}: callback_key needs a `trunk:` to call customers back through",
                q.name
            );
            keys.insert(q.name.clone(), c);
        }
        Ok(keys)
    }

    /// The flow for a dialed user part.
    #[cfg(test)]
    fn flow_for(&self, dialed: &str) -> Option<&str> {
        route(&self.routes, dialed)
    }
}

/// The flow for a dialed user part: an exact route first, then `*`.
pub(crate) fn route<'a>(routes: &'a BTreeMap<String, String>, dialed: &str) -> Option<&'a str> {
    routes.get(dialed).or_else(|| routes.get("*")).map(String::as_str)
}

/// Optional durations (`500ms`, `5s`…); absent means the default.
pub(crate) mod duration_opt {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| super::duration_text::parse(&s).map_err(serde::de::Error::custom))
            .transpose()
    }
}

/// Durations written as `500ms`, `5s`, `2m` or `1h`.
pub(crate) mod duration_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("bad duration {s:?}: expected e.g. 500ms, 5s, 2m"))?;
        match unit {
            "ms" => Ok(Duration::from_millis(n)),
            "s" => Ok(Duration::from_secs(n)),
            "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
            "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
            _ => Err(format!("bad duration unit in {s:?}: use ms, s, m or h")),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    #[allow(dead_code)] // reason: serde's `with` needs both halves; configs are only read today
    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}ms", d.as_millis()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_route_everything_to_the_demo_flow() {
        let c = Config::default();
        assert_eq!(c.flow_for("hotline"), Some("hotline"));
        assert_eq!(c.flow_for("+4930123"), Some("hotline"));
        assert_eq!(c.database_url(), "sqlite://./data/hotline.db");
        assert_eq!(c.advertised_ip(), IpAddr::from([127, 0, 0, 1]));
    }

    #[test]
    fn config_file_keys_are_checked() {
        let c: Config = serde_saphyr::from_str(
            "sip_listen: 127.0.0.1:15060\nrtp_ports: 20000-20100\nanswer_delay: 2s\nroutes: {\"100\": survey}\n\
             limits: {max_calls: 5}\n",
        )
        .unwrap();
        assert_eq!(c.rtp_ports, PortRange { lo: 20000, hi: 20100 });
        assert_eq!(c.answer_delay, Duration::from_secs(2));
        assert_eq!(c.limits.max_calls, 5);
        assert_eq!(c.limits.max_headers, 64, "unset keys keep their defaults");
        assert_eq!(c.flow_for("100"), Some("survey"));
        assert_eq!(c.flow_for("200"), None, "routes replace the default table");
        assert!(
            serde_saphyr::from_str::<Config>("sip_listn: 1.2.3.4:5\n").is_err(),
            "unknown keys fail"
        );
        assert!("5-4".parse::<PortRange>().is_err());
        assert!("0-100".parse::<PortRange>().is_err());
    }

    #[test]
    fn digest_algorithms_are_checked_and_keep_their_order() {
        let c: Config = serde_saphyr::from_str("sip_digest_algorithms: [MD5, SHA-256]\n").unwrap();
        let algs = c.digest_algorithms().unwrap();
        assert_eq!(
            algs,
            vec![
                sip_auth::digest::Algorithm::Md5,
                sip_auth::digest::Algorithm::Sha256
            ]
        );
        let c: Config = serde_saphyr::from_str("sip_digest_algorithms: [SHA-512]\n").unwrap();
        assert!(c.digest_algorithms().is_err());
        let c: Config = serde_saphyr::from_str("sip_digest_algorithms: []\n").unwrap();
        assert!(c.digest_algorithms().is_err());
        assert_eq!(
            Config::default().digest_algorithms().unwrap()[0],
            sip_auth::digest::Algorithm::Sha256
        );
    }

    #[test]
    fn callback_keys_need_a_phone_key_and_a_trunk() {
        let c: Config = serde_saphyr::from_str("queues: [{name: support, callback_key: \"*\"}]\n").unwrap();
        let err = c.callback_keys().unwrap_err().to_string();
        assert!(err.contains("needs a `trunk:`"), "{err}");
        let c: Config = serde_saphyr::from_str(
            "trunk: {address: 127.0.0.1:5080, ring_timeout: 20s}\nqueues: [{name: support, callback_key: \"*\"}, {name: sales}]\n",
        )
        .unwrap();
        assert_eq!(
            c.callback_keys().unwrap(),
            BTreeMap::from([("support".to_owned(), '*')])
        );
        let t = c.trunk.as_ref().unwrap().to_trunk();
        assert_eq!(
            (t.domain.as_str(), t.caller_id.as_str()),
            ("127.0.0.1", "hotline")
        );
        assert_eq!(t.ring_timeout, Duration::from_secs(20));
        for bad in ["\"**\"", "\"x\"", "\"\""] {
            let c: Config = serde_saphyr::from_str(&format!(
                "trunk: {{address: 127.0.0.1:5080}}\nqueues: [{{name: support, callback_key: {bad}}}]\n"
            ))
            .unwrap();
            assert!(c.callback_keys().is_err(), "{bad} is refused");
        }
    }

    #[test]
    fn a_region_table_that_does_not_load_is_refused_with_its_line() {
        let dir = std::env::temp_dir().join(format!("hotline-regions-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("regions.csv");
        std::fs::write(&path, "prefix,region\n+4930,Berlin\n4989,Munich\n").unwrap();
        let c: Config = serde_saphyr::from_str(&format!("regions: {}\n", path.display())).unwrap();
        let err = c.region_lookup().unwrap_err().to_string();
        assert!(err.contains("regions.csv:3"), "{err}");
        std::fs::write(&path, "prefix,region\n+4930,Berlin\n").unwrap();
        let c: Config = serde_saphyr::from_str(&format!(
            "regions: {}\ndefault_country_code: \"49\"\n",
            path.display()
        ))
        .unwrap();
        let r = c.region_lookup().unwrap();
        assert_eq!(r.lookup("030 1234567").region.as_deref(), Some("Berlin"));
        let c: Config = serde_saphyr::from_str("default_country_code: \"4x\"\n").unwrap();
        assert!(c.region_lookup().is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(duration_text::parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration_text::parse("2m"), Ok(Duration::from_secs(120)));
        assert!(duration_text::parse("5 parsecs").is_err());
        assert!(duration_text::parse("").is_err());
    }
}
