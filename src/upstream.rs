//! The pooled HTTP(S) client towards Grafana, shared by the proxy and the typed Grafana client.
//!
//! Minimal version from the store/client branch (plain http, https with the webpki roots); the
//! proxy helper's version (CA file, insecure mode) replaces it at merge. It must not log URLs
//! with credentials.

use std::sync::Arc;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::body::Body;
use crate::config::GrafanaConfig;

pub type UpstreamClient =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector>, crate::body::Body>;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("tls configuration: {0}")]
    Tls(String),
}

/// Builds the client from `[grafana]` (connect timeout, idle pool settings).
///
/// # Errors
/// `Tls` when rustls refuses the protocol configuration.
pub fn build_client(cfg: &GrafanaConfig) -> Result<UpstreamClient, UpstreamError> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(cfg.connect_timeout));
    http.set_nodelay(true);
    let roots = rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| UpstreamError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(cfg.pool_idle_timeout)
        .pool_max_idle_per_host(cfg.pool_max_idle)
        .build::<_, Body>(https))
}
