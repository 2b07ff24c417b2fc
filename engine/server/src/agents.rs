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

    /// Replaces the registration snapshot (called by the registrar's shard after each change).
    pub(crate) fn set_registrations(&self, regs: BTreeMap<String, Vec<Registration>>) {
        *self
            .registrations
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = regs;
    }
}

/// The directory as the HTTP API sees it.
pub(crate) struct AgentsApi(pub(crate) Arc<AgentDirectory>);

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
        Box::pin(async move {
            if let Err(e) = dir.reload().await {
                tracing::error!(error = %e, "cannot reload agent credentials");
            }
        })
    }
}
