//! The IO flows ask for: HTTP data dips and identity lookups (HTTP endpoint, database table, static list).
//!
//! Each request runs as its own task, bounded three ways: a semaphore caps requests in flight (beyond it the
//! flow is told "busy" at once), each attempt has the flow's timeout, and a response body is read up to
//! [`MAX_RESPONSE_BYTES`]. Retries happen on connection errors, timeouts and 5xx only.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use b2bua::{IoRequest, IoResult};
use ivr::{HttpMethod, HttpOutcome, IdentityKey, LookupOutcome, LookupSource};
use store::Customer;
use tokio::sync::{Semaphore, mpsc};

/// The largest HTTP response body read (bytes).
pub(crate) const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// The most flow IO requests in flight at once.
pub(crate) const MAX_IN_FLIGHT: usize = 256;

/// Performs flow IO and hands results back to the shard that asked.
#[derive(Clone)]
pub(crate) struct IoExecutor {
    http: reqwest::Client,
    store: store::Store,
    directory: Arc<BTreeMap<String, Vec<Customer>>>,
    permits: Arc<Semaphore>,
}

impl IoExecutor {
    pub(crate) fn new(
        store: store::Store,
        directory: BTreeMap<String, Vec<Customer>>,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("Hotline/", env!("CARGO_PKG_VERSION")))
            .redirect(reqwest::redirect::Policy::limited(3))
            .pool_max_idle_per_host(8)
            .build()?;
        Ok(Self {
            http,
            store,
            directory: Arc::new(directory),
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        })
    }

    /// Starts `request` for the call `key`; the result arrives on `results` as `(key, request_id, result)`.
    pub(crate) fn start(&self, key: u64, request: IoRequest, results: mpsc::Sender<(u64, u64, IoResult)>) {
        let (request_id, busy) = match &request {
            IoRequest::Http { request_id, .. } => (
                *request_id,
                IoResult::Http(HttpOutcome::Failed {
                    reason: "busy".into(),
                }),
            ),
            IoRequest::Lookup { request_id, .. } => (
                *request_id,
                IoResult::Lookup(LookupOutcome::Failed {
                    reason: "busy".into(),
                }),
            ),
        };
        let Ok(permit) = self.permits.clone().try_acquire_owned() else {
            tracing::warn!("too many flow IO requests in flight: refusing one");
            let _ = results.try_send((key, request_id, busy));
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            let result = match request {
                IoRequest::Http {
                    method,
                    url,
                    headers,
                    body,
                    timeout,
                    retries,
                    ..
                } => IoResult::Http(
                    this.http_dip(method, &url, &headers, body.as_ref(), timeout, retries)
                        .await,
                ),
                IoRequest::Lookup { source, key, .. } => IoResult::Lookup(this.lookup(&source, &key).await),
            };
            drop(permit);
            let _ = results.send((key, request_id, result)).await;
        });
    }

    async fn http_dip(
        &self,
        method: HttpMethod,
        url: &str,
        headers: &[(String, String)],
        body: Option<&serde_json::Value>,
        timeout: Duration,
        retries: u32,
    ) -> HttpOutcome {
        let mut last = String::new();
        for attempt in 0..=retries {
            let mut req = match method {
                HttpMethod::Get => self.http.get(url),
                HttpMethod::Post => self.http.post(url),
            };
            for (k, v) in headers {
                req = req.header(k, v);
            }
            if let Some(b) = body {
                req = req.json(b);
            }
            match req.timeout(timeout).send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if resp.status().is_server_error() && attempt < retries {
                        last = format!("HTTP {status}");
                        continue;
                    }
                    return match read_limited(resp).await {
                        Ok(bytes) => {
                            let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                            HttpOutcome::Response { status, body }
                        }
                        Err(reason) => HttpOutcome::Failed { reason },
                    };
                }
                Err(e) => {
                    last = if e.is_timeout() {
                        "timeout".to_owned()
                    } else {
                        "connection failed".to_owned()
                    };
                    tracing::debug!(error = %e, attempt, "flow HTTP request failed");
                }
            }
        }
        HttpOutcome::Failed { reason: last }
    }

    async fn lookup(&self, source: &LookupSource, key: &IdentityKey) -> LookupOutcome {
        match source {
            LookupSource::Static { list } => {
                let Some(customers) = self.directory.get(list) else {
                    return LookupOutcome::Failed {
                        reason: format!("no static list {list}"),
                    };
                };
                found(customers.iter().find(|c| matches_key(c, key)).cloned())
            }
            LookupSource::Table { table } => {
                if table != "customers" {
                    return LookupOutcome::Failed {
                        reason: format!("no lookup table {table}"),
                    };
                }
                let result = match key {
                    IdentityKey::CustomerId(id) => self.store.customer_by_id(id).await,
                    IdentityKey::Phone(p) => self.store.customer_by_phone(p).await,
                };
                match result {
                    Ok(c) => found(c),
                    Err(e) => {
                        tracing::warn!(error = %e, "customer lookup failed");
                        LookupOutcome::Failed {
                            reason: "database".into(),
                        }
                    }
                }
            }
            LookupSource::Http {
                url,
                timeout,
                retries,
            } => self.http_lookup(url, key, *timeout, *retries).await,
        }
    }

    /// An HTTP lookup: `GET url` with `${key}` replaced by the keyed value (URL-encoded), or, without a
    /// `${key}`, a POST of `{"key": …, "kind": "customer_id"|"phone"}`. 200 with a customer object (`id` or
    /// `customer_id`, `phones`, `name`, `attributes`) is a match; 404 is no match; anything else a failure.
    async fn http_lookup(
        &self,
        url: &str,
        key: &IdentityKey,
        timeout: Duration,
        retries: u32,
    ) -> LookupOutcome {
        let (value, kind) = match key {
            IdentityKey::CustomerId(v) => (v.as_str(), "customer_id"),
            IdentityKey::Phone(v) => (v.as_str(), "phone"),
        };
        let outcome = if url.contains("${key}") {
            let url = url.replace("${key}", &url_encode(value));
            self.http_dip(HttpMethod::Get, &url, &[], None, timeout, retries)
                .await
        } else {
            let body = serde_json::json!({ "key": value, "kind": kind });
            self.http_dip(HttpMethod::Post, url, &[], Some(&body), timeout, retries)
                .await
        };
        match outcome {
            HttpOutcome::Response { status: 200, body } => match customer_from_json(&body) {
                Some(c) => found(Some(c)),
                None => LookupOutcome::Failed {
                    reason: "lookup answered without a customer id".into(),
                },
            },
            HttpOutcome::Response { status: 404, .. } => LookupOutcome::NotFound,
            HttpOutcome::Response { status, .. } => LookupOutcome::Failed {
                reason: format!("HTTP {status}"),
            },
            HttpOutcome::Failed { reason } => LookupOutcome::Failed { reason },
            #[allow(unreachable_patterns)] // reason: HttpOutcome may grow
            _ => LookupOutcome::Failed {
                reason: "unexpected".into(),
            },
        }
    }
}

fn found(c: Option<Customer>) -> LookupOutcome {
    match c {
        Some(c) => LookupOutcome::Found {
            customer_id: c.id,
            phones: c.phones,
            attributes: c.attributes,
        },
        None => LookupOutcome::NotFound,
    }
}

fn matches_key(c: &Customer, key: &IdentityKey) -> bool {
    match key {
        IdentityKey::CustomerId(id) => c.id == *id,
        IdentityKey::Phone(p) => {
            // Compared by digits: a number keyed on a phone keypad has no `+`.
            let digits = |n: &str| store::normalize_phone(n).trim_start_matches('+').to_owned();
            let p = digits(p);
            c.phones.iter().any(|q| digits(q) == p)
        }
    }
}

fn customer_from_json(v: &serde_json::Value) -> Option<Customer> {
    let id = v.get("customer_id").or_else(|| v.get("id"))?;
    let id = match id {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let phones = v
        .get("phones")
        .and_then(|p| p.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_owned))
                .take(store::MAX_PHONES)
                .collect()
        })
        .unwrap_or_default();
    let attributes = v
        .get("attributes")
        .and_then(|a| a.as_object())
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                .take(32)
                .collect()
        })
        .unwrap_or_default();
    let name = v.get("name").and_then(|n| n.as_str()).unwrap_or("").to_owned();
    Some(Customer {
        id,
        name,
        phones,
        attributes,
    })
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(format!("response larger than {MAX_RESPONSE_BYTES} bytes"));
                }
                out.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(out),
            Err(_) => return Err("response body failed".into()),
        }
    }
}

fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_answers_are_read_leniently_but_need_an_id() {
        let c = customer_from_json(
            &serde_json::json!({"id": 1001, "phones": ["+1555"], "attributes": {"tier": "gold", "n": 3}}),
        )
        .unwrap();
        assert_eq!(c.id, "1001");
        assert_eq!(c.phones, vec!["+1555".to_owned()]);
        assert_eq!(c.attributes.len(), 1, "non-string attributes are dropped");
        assert!(customer_from_json(&serde_json::json!({"name": "x"})).is_none());
    }

    #[test]
    fn keys_match_by_id_or_normalized_phone() {
        let c = Customer {
            id: "7".into(),
            name: String::new(),
            phones: vec!["+1 555 0100".into()],
            attributes: BTreeMap::new(),
        };
        assert!(matches_key(&c, &IdentityKey::CustomerId("7".into())));
        assert!(matches_key(&c, &IdentityKey::Phone("+15550100".into())));
        assert!(
            matches_key(&c, &IdentityKey::Phone("15550100".into())),
            "keyed without +"
        );
        assert!(!matches_key(&c, &IdentityKey::Phone("+15550101".into())));
        assert_eq!(url_encode("+1 55/5"), "%2B1%2055%2F5");
    }
}
