//! IdP metadata: where the gate gets the IdP's entity id and signing certificates.
//!
//! Sources: `idp_metadata_file` or `idp_metadata_xml`, read once at start, or `idp_metadata_url`,
//! fetched on first use through the sidecar's outbound HTTP client and cached for
//! [`URL_CACHE_TTL`] (a failed refresh keeps the last good copy). With none of them configured,
//! the metadata Grafana's SAML settings carry (inline, parsed once per distinct document, or a
//! URL, fetched and cached like ours). Without usable metadata the gate fails closed. This module
//! only loads and parses; it verifies no responses.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Request, StatusCode};
use samael::crypto::CertificateDer;
use samael::metadata::EntityDescriptor;
use samael::service_provider::ServiceProvider;

use crate::body;
use crate::policy::saml::IdpMetadataSetting;
use crate::upstream::UpstreamClient;

/// How long metadata fetched from a URL is trusted before it is fetched again.
pub const URL_CACHE_TTL: Duration = Duration::from_secs(3600);
/// Largest metadata document accepted.
const MAX_METADATA_BYTES: usize = 1024 * 1024;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The parts of IdP metadata the gate uses.
#[derive(Debug, Clone, PartialEq)]
pub struct IdpKeys {
    pub entity_id: Option<String>,
    pub certs: Vec<CertificateDer>,
}

/// Why metadata is unusable.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("cannot read idp metadata file: {0}")]
    Read(#[from] std::io::Error),
    #[error("idp metadata is not a SAML EntityDescriptor")]
    Parse,
    #[error("idp metadata lists no signing certificate")]
    NoCertificates,
    #[error("cannot fetch idp metadata: {0}")]
    Fetch(String),
    #[error("no idp metadata source is configured")]
    NotConfigured,
}

/// Parses an IdP `EntityDescriptor` and extracts its signing certificates.
///
/// # Errors
/// [`MetadataError::Parse`] or [`MetadataError::NoCertificates`].
pub fn parse(xml: &str) -> Result<IdpKeys, MetadataError> {
    let descriptor: EntityDescriptor = xml.parse().map_err(|_| MetadataError::Parse)?;
    let entity_id = descriptor.entity_id.clone();
    let sp = ServiceProvider { idp_metadata: descriptor, ..ServiceProvider::default() };
    let certs = sp.idp_signing_certs().map_err(|_| MetadataError::Parse)?.unwrap_or_default();
    if certs.is_empty() {
        return Err(MetadataError::NoCertificates);
    }
    Ok(IdpKeys { entity_id, certs })
}

/// Fetches metadata from a URL and caches it for [`URL_CACHE_TTL`] per URL.
#[derive(Default)]
pub struct UrlCache {
    client: Option<Box<UpstreamClient>>,
    cache: std::sync::Mutex<Option<(String, Instant, Arc<IdpKeys>)>>,
}

impl UrlCache {
    /// Sets the outbound client the metadata is fetched with.
    pub fn set_client(&mut self, client: UpstreamClient) {
        self.client = Some(Box::new(client));
    }

    /// The keys for `url`: the cached copy while fresh, else fetched. No lock is held across the
    /// fetch (a slow or hanging IdP never queues logins behind a mutex); concurrent misses may
    /// fetch in parallel, and the last good answer wins.
    async fn keys(&self, url: &str) -> Result<Arc<IdpKeys>, String> {
        let last = {
            let cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            cache.as_ref().filter(|(u, _, _)| u == url).map(|(_, at, keys)| (*at, keys.clone()))
        };
        if let Some((at, keys)) = &last {
            if at.elapsed() < URL_CACHE_TTL {
                return Ok(keys.clone());
            }
        }
        let Some(client) = &self.client else {
            return Err("no http client to fetch idp metadata".into());
        };
        match fetch(client, url).await.and_then(|xml| parse(&xml)) {
            Ok(keys) => {
                let keys = Arc::new(keys);
                let mut cache = self.cache.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                *cache = Some((url.to_string(), Instant::now(), keys.clone()));
                Ok(keys)
            }
            Err(e) => match last {
                Some((_, keys)) => {
                    tracing::warn!(error = %e, "idp metadata refresh failed, keeping the last copy");
                    Ok(keys)
                }
                None => Err(e.to_string()),
            },
        }
    }
}

/// Where the keys come from.
pub enum Source {
    /// `idp_metadata_file` / `idp_metadata_xml`, loaded at start.
    Static(Result<Arc<IdpKeys>, Arc<MetadataError>>),
    /// `idp_metadata_url`.
    Url { url: String, fetcher: UrlCache },
    /// Grafana's SAML settings, as the current policy report has them.
    Grafana { fetcher: UrlCache, parsed: std::sync::Mutex<Option<(String, Arc<IdpKeys>)>> },
}

impl Source {
    /// Metadata from Grafana's settings.
    pub fn grafana() -> Self {
        Source::Grafana { fetcher: UrlCache::default(), parsed: std::sync::Mutex::new(None) }
    }

    /// Gives URL sources the outbound client they fetch with.
    pub fn set_client(&mut self, client: UpstreamClient) {
        match self {
            Source::Url { fetcher, .. } | Source::Grafana { fetcher, .. } => fetcher.set_client(client),
            Source::Static(_) => {}
        }
    }

    /// The current keys; `grafana` is what Grafana's settings say now (used by
    /// [`Source::Grafana`] only).
    ///
    /// # Errors
    /// When no usable metadata is available (the gate then refuses every login).
    pub async fn keys(&self, grafana: Option<&IdpMetadataSetting>) -> Result<Arc<IdpKeys>, String> {
        match self {
            Source::Static(r) => r.clone().map_err(|e| e.to_string()),
            Source::Url { url, fetcher } => fetcher.keys(url).await,
            Source::Grafana { fetcher, parsed } => match grafana {
                None => Err(MetadataError::NotConfigured.to_string()
                    + " and Grafana's SAML settings carry none readable"),
                Some(IdpMetadataSetting::Url { url, .. }) => fetcher.keys(url).await,
                Some(IdpMetadataSetting::Xml { setting, xml }) => {
                    if let Ok(cached) = parsed.lock() {
                        if let Some((_, keys)) = cached.as_ref().filter(|(x, _)| x == xml) {
                            return Ok(keys.clone());
                        }
                    }
                    let keys = Arc::new(parse(xml).map_err(|e| format!("grafana {setting}: {e}"))?);
                    if let Ok(mut cached) = parsed.lock() {
                        *cached = Some((xml.clone(), keys.clone()));
                    }
                    Ok(keys)
                }
            },
        }
    }
}

async fn fetch(client: &UpstreamClient, url: &str) -> Result<String, MetadataError> {
    let fail = |e: &dyn std::fmt::Display| MetadataError::Fetch(e.to_string());
    let req = Request::get(url).body(body::empty()).map_err(|e| fail(&e))?;
    let res = tokio::time::timeout(FETCH_TIMEOUT, client.request(req))
        .await
        .map_err(|_| MetadataError::Fetch("timed out".into()))?
        .map_err(|e| fail(&e))?;
    if res.status() != StatusCode::OK {
        return Err(MetadataError::Fetch(format!("status {}", res.status())));
    }
    let bytes = tokio::time::timeout(FETCH_TIMEOUT, body::read_capped(res.into_body(), MAX_METADATA_BYTES))
        .await
        .map_err(|_| MetadataError::Fetch("timed out".into()))?
        .map_err(|e| fail(&e))?;
    String::from_utf8(bytes.to_vec()).map_err(|_| MetadataError::Parse)
}
