//! The tenant's signing keys: fetched over HTTPS, cached, refreshed when stale or when a token
//! names a key id the cached set lacks.
//!
//! - **Cache.** The last good set is used for `[scim.entra] jwks_cache_ttl` (default 1 h), then
//!   fetched again. While a refresh fails or runs, the old set keeps verifying the keys it holds,
//!   for at most [`MAX_STALE`] after it was fetched; past that a token cannot be verified (503).
//! - **Unknown key id.** A fresh set lacking the `kid` is fetched again (Entra published a new
//!   key), at most once per `jwks_min_refresh_interval` (default 5 min): a flood of tokens naming
//!   random key ids costs the tenant's key endpoint one fetch per interval, and each is refused
//!   as an unknown key in between.
//! - **Single flight.** One fetch at a time: concurrent callers that need one wait for it and
//!   use its result; a caller that holds a stale set with its key does not wait.
//! - **Bounds.** A fetch has [`FETCH_TIMEOUT`] for the whole exchange and reads at most
//!   [`MAX_JWKS_BYTES`]; only a 200 answer is read. A failed fetch is retried no sooner than
//!   [`RETRY_AFTER_FAILURE`] (or the unknown-key interval, when shorter).
//!
//! Transport: `https://` only, certificates checked against the webpki roots plus `[scim.entra]
//! ca_file`, no redirects followed.

use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use http::{Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::RootCertStore;
use tracing::{info, warn};

use super::jwks::{Key, KeySet};
use crate::body::{self, Body};
use crate::config::EntraConfig;

/// Longest a fetch may take, connection and body included.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest key set read (Entra's is about 10 KB).
pub const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Longest a set is used after it was fetched while no refresh succeeds.
pub const MAX_STALE: Duration = Duration::from_secs(24 * 3600);
/// Least time between a failed fetch and the next attempt.
pub const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Why the key for a token cannot be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The current set lacks the key id (and fetching again now is not allowed or did not help).
    #[error("unknown signing key")]
    Unknown,
    /// No usable set: the key endpoint could not be read (the reason, for logs only).
    #[error("the tenant's signing keys cannot be fetched: {0}")]
    Unavailable(String),
}

/// Why a key source cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read [scim.entra] ca_file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("tls setup for the entra key endpoint failed: {0}")]
    Tls(#[from] rustls::Error),
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Body>;

#[derive(Clone)]
struct Snapshot {
    keys: Arc<KeySet>,
    fetched: Instant,
}

/// When fetches happened.
#[derive(Default)]
struct Attempts {
    last: Option<Instant>,
    last_failed: bool,
}

/// The cached key set of one tenant.
pub struct KeySource {
    url: String,
    client: HttpsClient,
    ttl: Duration,
    min_refresh: Duration,
    current: RwLock<Option<Snapshot>>,
    /// Held across a fetch: the single flight.
    attempts: tokio::sync::Mutex<Attempts>,
}

impl KeySource {
    /// A source fetching `cfg.keys_url()`; nothing is fetched until a key is needed.
    ///
    /// # Errors
    /// When `ca_file` cannot be read or rustls refuses the configuration.
    pub fn new(cfg: &EntraConfig) -> Result<Self, SourceError> {
        Ok(Self {
            url: cfg.keys_url(),
            client: client(cfg.ca_file.as_deref())?,
            ttl: cfg.jwks_cache_ttl,
            min_refresh: cfg.jwks_min_refresh_interval,
            current: RwLock::new(None),
            attempts: tokio::sync::Mutex::new(Attempts::default()),
        })
    }

    /// The key named `kid`, fetching the set when it is missing, stale, or lacks the key.
    ///
    /// # Errors
    /// [`KeyError::Unknown`] or [`KeyError::Unavailable`].
    pub async fn key(&self, kid: &str) -> Result<Key, KeyError> {
        let snapshot = self.snapshot();
        if let Some(s) = &snapshot {
            let fresh = s.fetched.elapsed() < self.ttl;
            match s.keys.get(kid) {
                Some(key) if fresh => return Ok(key.clone()),
                // Stale but holding the key: refresh unless another caller is already at it.
                Some(key) => match self.attempts.try_lock() {
                    Ok(attempts) => return self.refresh(kid, attempts).await,
                    Err(_) if s.fetched.elapsed() < MAX_STALE => return Ok(key.clone()),
                    Err(_) => {}
                },
                None => {}
            }
        }
        let attempts = self.attempts.lock().await;
        self.refresh(kid, attempts).await
    }

    /// Fetches the set now, whatever the cache holds (for `scim-sidecar check`); the number of
    /// usable keys.
    ///
    /// # Errors
    /// Why the set cannot be fetched or used.
    pub async fn fetch_now(&self) -> Result<usize, String> {
        let mut attempts = self.attempts.lock().await;
        self.fetch_and_store(&mut attempts).await.map(|set| set.usable())
    }

    fn snapshot(&self) -> Option<Snapshot> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Under the single-flight lock: use what another caller fetched meanwhile, else fetch when
    /// the rate limit allows, else answer from the current set.
    async fn refresh(
        &self,
        kid: &str,
        mut attempts: tokio::sync::MutexGuard<'_, Attempts>,
    ) -> Result<Key, KeyError> {
        let snapshot = self.snapshot().filter(|s| s.fetched.elapsed() < MAX_STALE);
        let fresh = snapshot.as_ref().filter(|s| s.fetched.elapsed() < self.ttl);
        if let Some(key) = fresh.and_then(|s| s.keys.get(kid)) {
            return Ok(key.clone());
        }
        // A fresh set lacking the key may be fetched again once per `min_refresh`; a stale or
        // missing set as soon as the last failure has cooled down.
        let wait = if attempts.last_failed {
            RETRY_AFTER_FAILURE.min(self.min_refresh)
        } else if fresh.is_some() {
            self.min_refresh
        } else {
            Duration::ZERO
        };
        let due = attempts.last.is_none_or(|at| at.elapsed() >= wait);
        if due {
            match self.fetch_and_store(&mut attempts).await {
                Ok(set) => return set.get(kid).cloned().ok_or(KeyError::Unknown),
                Err(reason) => {
                    // The old set still verifies the keys it holds, until it is too old.
                    return match snapshot.as_ref().and_then(|s| s.keys.get(kid)) {
                        Some(key) => Ok(key.clone()),
                        None => Err(KeyError::Unavailable(reason)),
                    };
                }
            }
        }
        match &snapshot {
            Some(s) => s.keys.get(kid).cloned().ok_or(KeyError::Unknown),
            None => Err(KeyError::Unavailable("the last fetch failed; retrying shortly".into())),
        }
    }

    async fn fetch_and_store(&self, attempts: &mut Attempts) -> Result<Arc<KeySet>, String> {
        attempts.last = Some(Instant::now());
        match fetch(&self.client, &self.url).await {
            Ok(set) => {
                let set = Arc::new(set);
                attempts.last_failed = false;
                info!(url = %self.url, keys = set.usable(), "fetched the entra signing keys");
                let snapshot = Snapshot { keys: set.clone(), fetched: Instant::now() };
                *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(snapshot);
                Ok(set)
            }
            Err(reason) => {
                attempts.last_failed = true;
                warn!(url = %self.url, error = %reason, "cannot fetch the entra signing keys");
                Err(reason)
            }
        }
    }
}

async fn fetch(client: &HttpsClient, url: &str) -> Result<KeySet, String> {
    let exchange = async {
        let req = Request::get(url)
            .header(http::header::ACCEPT, "application/json")
            .body(body::empty())
            .map_err(|e| format!("bad request: {e}"))?;
        let res = client.request(req).await.map_err(|e| format!("request failed: {}", chain(&e)))?;
        if res.status() != StatusCode::OK {
            return Err(format!("status {}", res.status().as_u16()));
        }
        let bytes = Limited::new(res.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|e| format!("reading the body failed: {e}"))?
            .to_bytes();
        KeySet::parse(&bytes).map_err(|e| e.to_string())
    };
    tokio::time::timeout(FETCH_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {}s", FETCH_TIMEOUT.as_secs()))?
}

/// An error and its sources, for the log line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn client(ca_file: Option<&Path>) -> Result<HttpsClient, SourceError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = ca_file {
        let fail = |reason: String| SourceError::CaFile { path: path.display().to_string(), reason };
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(|e| fail(e.to_string()))?;
        if certs.is_empty() {
            return Err(fail("no certificate in it".into()));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| fail(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(FETCH_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}
