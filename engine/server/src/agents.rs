//! Agents as the SIP side sees them: digest credentials for the registrar (loaded from the store, refreshed
//! when the API changes agents) and a snapshot of current registrations for the API.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use api::RegistrationView;

/// One registration, as the registrar last reported it.
#[derive(Debug, Clone)]
pub(crate) struct Registration {
    pub(crate) contact: String,
    pub(crate) source: String,
    pub(crate) expires_at: Instant,
}

pub(crate) struct AgentDirectory {
    realm: String,
    store: store::Store,
    credentials: RwLock<BTreeMap<String, sip_auth::Credentials>>,
    registrations: RwLock<BTreeMap<String, Vec<Registration>>>,
}

impl AgentDirectory {
    pub(crate) async fn load(realm: String, store: store::Store) -> anyhow::Result<Arc<Self>> {
        let dir = Arc::new(Self {
            realm,
            store,
            credentials: RwLock::new(BTreeMap::new()),
            registrations: RwLock::new(BTreeMap::new()),
        });
        dir.reload().await?;
        Ok(dir)
    }

    /// Reads every agent's digest secrets for our realm.
    async fn reload(&self) -> anyhow::Result<()> {
        let secrets = self.store.agent_secrets().await?;
        let mut map = BTreeMap::new();
        for s in secrets {
            if s.realm != self.realm {
                tracing::warn!(agent = %s.id, realm = %s.realm, "agent credentials are for another realm: reset the password");
                continue;
            }
            map.insert(
                s.id,
                sip_auth::Credentials::Ha1 {
                    md5: Some(s.ha1_md5),
                    sha256: Some(s.ha1_sha256),
                },
            );
        }
        let n = map.len();
        *self
            .credentials
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = map;
        tracing::debug!(agents = n, "agent credentials loaded");
        Ok(())
    }

    /// The digest credentials of a SIP user, for the registrar.
    pub(crate) fn credentials(&self, user: &str) -> Option<sip_auth::Credentials> {
        self.credentials.read().ok().and_then(|m| m.get(user).cloned())
    }

    /// Checks an agent's password for a workstation login (against the stored SHA-256 digest secret, in
    /// constant time; an unknown agent costs the same work).
    pub(crate) fn check_password(&self, user: &str, password: &str) -> bool {
        let given = sip_auth::digest::ha1(sip_auth::digest::Algorithm::Sha256, user, &self.realm, password);
        let stored = match self.credentials(user) {
            Some(sip_auth::Credentials::Ha1 { sha256: Some(h), .. }) => h,
            _ => String::new(),
        };
        let same_len = stored.len() == given.len();
        let diff = stored
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        same_len && diff == 0
    }

    /// Where to ring an agent: the Contact and source address of their freshest registration.
    pub(crate) fn binding(&self, agent: &str) -> Option<(sip_msg::Uri, std::net::SocketAddr)> {
        let now = Instant::now();
        let regs = self.registrations.read().ok()?;
        let best = regs
            .get(agent)?
            .iter()
            .filter(|r| r.expires_at > now)
            .max_by_key(|r| r.expires_at)?;
        Some((best.contact.parse().ok()?, best.source.parse().ok()?))
    }

    /// Replaces the registration snapshot (called by the registrar's shard after each change).
    pub(crate) fn set_registrations(&self, regs: BTreeMap<String, Vec<Registration>>) {
        *self
            .registrations
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = regs;
    }
}

/// The directory (and the queue service, for statuses) as the HTTP API sees it.
pub(crate) struct AgentsApi(pub(crate) Arc<AgentDirectory>, pub(crate) crate::acd::AcdHandle);

impl api::AgentControl for AgentsApi {
    fn realm(&self) -> String {
        self.0.realm.clone()
    }

    fn registrations(&self) -> BTreeMap<String, Vec<RegistrationView>> {
        let now = Instant::now();
        let regs = self.0.registrations.read().map(|r| r.clone()).unwrap_or_default();
        regs.into_iter()
            .map(|(aor, list)| {
                let views = list
                    .into_iter()
                    .filter(|r| r.expires_at > now)
                    .map(|r| RegistrationView {
                        contact: r.contact,
                        source: r.source,
                        expires_in_s: r.expires_at.saturating_duration_since(now).as_secs(),
                    })
                    .collect();
                (aor, views)
            })
            .collect()
    }

    fn agents_changed(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let dir = self.0.clone();
        let acd = self.1.clone();
        Box::pin(async move {
            if let Err(e) = dir.reload().await {
                tracing::error!(error = %e, "cannot reload agent credentials");
            }
            match dir.store.list_agents().await {
                Ok(list) => {
                    let _ = acd.send(crate::acd::AcdCmd::Agents(list));
                }
                Err(e) => tracing::error!(error = %e, "cannot list agents for the queues"),
            }
        })
    }

    fn set_status(
        &self,
        agent: &str,
        status: &str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), api::StatusError>> + Send + 'static>> {
        let acd = self.1.clone();
        let agent = agent.to_owned();
        let status = match status {
            "idle" => Some(queue::AgentStatus::Idle),
            "busy" => Some(queue::AgentStatus::Busy),
            "break" => Some(queue::AgentStatus::Break),
            "meeting" => Some(queue::AgentStatus::Meeting),
            "offline" => Some(queue::AgentStatus::Offline),
            _ => None,
        };
        Box::pin(async move {
            let Some(status) = status else {
                return Err(api::StatusError::UnknownStatus);
            };
            acd.set_status(&agent, status).await.map_err(|e| {
                if e.starts_with("no agent") {
                    api::StatusError::UnknownAgent
                } else {
                    api::StatusError::Unavailable(e)
                }
            })
        })
    }

    fn queues(&self) -> std::pin::Pin<Box<dyn Future<Output = serde_json::Value> + Send + 'static>> {
        let acd = self.1.clone();
        Box::pin(async move { acd.stats().await })
    }

    fn dial(
        &self,
        agent: &str,
        number: &str,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, api::DialError>> + Send + 'static>> {
        let acd = self.1.clone();
        let (agent, number) = (agent.to_owned(), number.to_owned());
        Box::pin(async move {
            let (reply, rx) = tokio::sync::oneshot::channel();
            if !acd
                .send_wait(crate::acd::AcdCmd::Dial { agent, number, reply })
                .await
            {
                return Err(api::DialError::Unavailable);
            }
            match rx.await {
                Ok(Ok(call)) => Ok(call),
                Ok(Err(why)) => Err(api::DialError::Refused(why)),
                Err(_) => Err(api::DialError::Unavailable),
            }
        })
    }

    fn hold(
        &self,
        agent: &str,
        call: &str,
        on: bool,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<(), api::HoldError>> + Send + 'static>> {
        let acd = self.1.clone();
        let (agent, call) = (agent.to_owned(), call.to_owned());
        Box::pin(async move {
            let (reply, rx) = tokio::sync::oneshot::channel();
            let cmd = crate::acd::AcdCmd::Hold {
                agent,
                call,
                on,
                reply,
            };
            if !acd.send_wait(cmd).await {
                return Err(api::HoldError::Unavailable);
            }
            match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(crate::acd::HoldRefused::NotYours)) => Err(api::HoldError::NotYours),
                Ok(Err(crate::acd::HoldRefused::NotInCall)) => Err(api::HoldError::NotInCall),
                Err(_) => Err(api::HoldError::Unavailable),
            }
        })
    }
}
