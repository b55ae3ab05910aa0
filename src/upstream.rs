//! The shared HTTP client towards Grafana: connection pool, timeouts and TLS trust.
//!
//! Both the proxy and the Grafana API client send through an [`UpstreamClient`] built here, so
//! there is one pool and one trust decision. Certificates are verified against the webpki roots
//! plus an optional operator CA bundle; verification is turned off only when
//! `grafana.insecure_skip_verify` is set, and that is warned about every time a client is built.
//! This module does not know about request routing, headers or response mapping.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tracing::warn;

use crate::body::Body;
use crate::config::GrafanaConfig;

/// The pooled HTTP/1.1 + h2 client towards Grafana.
pub type UpstreamClient = Client<HttpsConnector<HttpConnector>, Body>;

/// Per-connection HTTP/1 buffer towards Grafana. hyper's default (about 400 KiB) multiplied by
/// every pooled connection dominated the sidecar's memory; Grafana's response heads are far
/// smaller, and bodies stream through in pieces of at most this size. Each piece stays allocated
/// until the client has taken it, so this bounds the memory a streaming download holds per
/// connection. Measured with 64 connections of 1 MiB downloads (`cargo bench --bench
/// proxy_overhead`, 2026-12-06): 64 KiB peaked at 30.4–32.0 MiB, 32 KiB at 28.2–29.0 MiB and
/// also moved 1 MiB bodies faster (510 against 790 µs of CPU each), 16 KiB at 26 MiB but
/// 860–990 µs each.
const UPSTREAM_H1_BUFFER: usize = 32 * 1024;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error("cannot read grafana ca_file {path}")]
    CaFile {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("grafana ca_file {path} holds no usable certificate")]
    CaFileEmpty { path: PathBuf },
    #[error("grafana ca_file {path} holds an invalid certificate")]
    CaCert {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("tls setup for grafana failed")]
    Tls(#[source] rustls::Error),
}

/// Which HTTP versions a client may negotiate with Grafana.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// HTTP/1.1, plus h2 when an `https` Grafana offers it through ALPN.
    Any,
    /// HTTP/1.1 only; needed for WebSocket upgrades, which h2 connections cannot carry.
    Http1Only,
}

/// Builds the shared client (HTTP/1.1 and, over TLS, h2 via ALPN).
///
/// # Errors
/// When `ca_file` cannot be read or parsed, or rustls refuses the configuration.
pub fn build_client(cfg: &GrafanaConfig) -> Result<UpstreamClient, UpstreamError> {
    build_client_for(cfg, Versions::Any)
}

/// Builds a client restricted to the given HTTP versions.
///
/// # Errors
/// As [`build_client`].
pub fn build_client_for(cfg: &GrafanaConfig, versions: Versions) -> Result<UpstreamClient, UpstreamError> {
    let tls = tls_config(cfg)?;
    let mut http = HttpConnector::new();
    // The URI scheme decides between plain and TLS; hyper-rustls wraps this connector.
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(cfg.connect_timeout));
    let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http();
    let connector = match versions {
        Versions::Any => builder.enable_all_versions().wrap_connector(http),
        Versions::Http1Only => builder.enable_http1().wrap_connector(http),
    };
    let client = Client::builder(TokioExecutor::new())
        .http1_max_buf_size(UPSTREAM_H1_BUFFER)
        .timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(cfg.pool_idle_timeout)
        .pool_max_idle_per_host(cfg.pool_max_idle)
        .build(connector);
    Ok(client)
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn tls_config(cfg: &GrafanaConfig) -> Result<ClientConfig, UpstreamError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(UpstreamError::Tls)?;
    if cfg.insecure_skip_verify {
        warn!(
            grafana_url = %cfg.url,
            "tls certificate verification towards grafana is DISABLED (grafana.insecure_skip_verify); \
             anyone on the network path can impersonate grafana"
        );
        let verifier = Arc::new(NoVerification { provider: provider() });
        return Ok(builder.dangerous().with_custom_certificate_verifier(verifier).with_no_client_auth());
    }
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = &cfg.ca_file {
        add_ca_file(&mut roots, path)?;
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

fn add_ca_file(roots: &mut RootCertStore, path: &Path) -> Result<(), UpstreamError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|source| UpstreamError::CaFile { path: path.to_owned(), source })?;
    if certs.is_empty() {
        return Err(UpstreamError::CaFileEmpty { path: path.to_owned() });
    }
    for cert in certs {
        roots.add(cert).map_err(|source| UpstreamError::CaCert { path: path.to_owned(), source })?;
    }
    Ok(())
}

/// Accepts any server certificate while still checking handshake signatures, so the peer must at
/// least hold the key of the certificate it presents. Only built for `[grafana]
/// insecure_skip_verify` and for the store's libpq modes that do not verify (`require`/`prefer`
/// without `sslrootcert`).
#[derive(Debug)]
pub(crate) struct NoVerification {
    pub(crate) provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_ca_file_is_an_error() {
        let cfg = GrafanaConfig { ca_file: Some("/nonexistent/ca.pem".into()), ..GrafanaConfig::default() };
        assert!(matches!(build_client(&cfg), Err(UpstreamError::CaFile { .. })));
    }

    #[test]
    fn empty_ca_file_is_an_error() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let cfg = GrafanaConfig { ca_file: Some(file.path().into()), ..GrafanaConfig::default() };
        assert!(matches!(build_client(&cfg), Err(UpstreamError::CaFileEmpty { .. })));
    }

    #[test]
    fn builds_default_and_insecure_clients() {
        assert!(build_client(&GrafanaConfig::default()).is_ok());
        let cfg = GrafanaConfig { insecure_skip_verify: true, ..GrafanaConfig::default() };
        assert!(build_client_for(&cfg, Versions::Http1Only).is_ok());
    }
}
