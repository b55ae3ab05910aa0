//! TLS to PostgreSQL over rustls (ring), the way the rest of the sidecar speaks TLS.
//!
//! [`connector`] turns the libpq-style parameters ([`super::conninfo`]) into a tokio-postgres
//! [`MakeTlsConnect`]: the server's certificate is checked for nothing, its chain, or its chain
//! and host name, and a client certificate is presented when one is configured. Files are read
//! once, when the store opens; a bad file is a startup error naming the parameter and path.
//!
//! SCRAM channel binding (`tls-server-end-point`) is not offered: its hash depends on the
//! certificate's signature algorithm, which would take an X.509 parser. tokio-postgres then
//! authenticates with plain SCRAM-SHA-256 (`channel_binding=prefer`, the default, allows it).

use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};
use tokio_postgres::Socket;

use super::conninfo::{Roots, TlsParams, Verify};
use crate::store::StoreError;

/// Builds the connector `params` ask for.
///
/// # Errors
/// `InvalidUrl` naming the parameter and file when a CA file, client certificate or key cannot
/// be read or holds nothing usable.
pub(crate) fn connector(params: &TlsParams) -> Result<RustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::InvalidUrl(format!("tls: {e}")))?;
    let verifier: Arc<dyn ServerCertVerifier> = match &params.verify {
        // Any certificate, as libpq; handshake signatures are still checked.
        Verify::Nothing => Arc::new(crate::upstream::NoVerification { provider }),
        Verify::Chain(roots) => Arc::new(ChainOnly { inner: webpki(roots, &provider)? }),
        Verify::ChainAndHost(roots) => webpki(roots, &provider)?,
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let mut config = match &params.client {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = read_certs(cert, "sslcert")?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| file_error("sslkey", key, e))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| StoreError::InvalidUrl(format!("sslcert/sslkey: {e}")))?
        }
    };
    config.enable_sni = params.sni;
    Ok(RustlsConnect {
        config: Arc::new(config),
        check_host: matches!(params.verify, Verify::ChainAndHost(_)),
    })
}

fn webpki(roots: &Roots, provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, StoreError> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::System => store.roots = webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        Roots::File(path) => {
            for cert in read_certs(path, "sslrootcert")? {
                store.add(cert).map_err(|e| file_error("sslrootcert", path, e))?;
            }
        }
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| StoreError::InvalidUrl(format!("sslrootcert: {e}")))
}

fn read_certs(path: &Path, what: &str) -> Result<Vec<CertificateDer<'static>>, StoreError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| file_error(what, path, e))?;
    if certs.is_empty() {
        return Err(file_error(what, path, "no PEM certificate in the file"));
    }
    Ok(certs)
}

fn file_error(what: &str, path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::InvalidUrl(format!("{what} {}: {e}", path.display()))
}

/// Makes one TLS handshake per connection; cloned into every pool.
#[derive(Clone)]
pub(crate) struct RustlsConnect {
    config: Arc<ClientConfig>,
    check_host: bool,
}

impl MakeTlsConnect<Socket> for RustlsConnect {
    type Stream = PgTls;
    type TlsConnect = Handshake;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> io::Result<Handshake> {
        let name = match ServerName::try_from(domain.to_owned()) {
            Ok(name) => name,
            // Only `hostaddr` given: no name to send or check. The verifiers of the modes that
            // get here ignore the name, and rustls sends no SNI for an address.
            Err(_) if !self.check_host => ServerName::IpAddress(IpAddr::V4(Ipv4Addr::UNSPECIFIED).into()),
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidInput, e)),
        };
        Ok(Handshake { connector: tokio_rustls::TlsConnector::from(self.config.clone()), name })
    }
}

/// One pending handshake.
pub(crate) struct Handshake {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl TlsConnect<Socket> for Handshake {
    type Stream = PgTls;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<PgTls>> + Send>>;

    fn connect(self, stream: Socket) -> Self::Future {
        Box::pin(async move { Ok(PgTls(self.connector.connect(self.name, stream).await?)) })
    }
}

/// An established TLS session to the server.
pub(crate) struct PgTls(tokio_rustls::client::TlsStream<Socket>);

impl TlsStream for PgTls {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for PgTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for PgTls {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// `verify-ca` (and `require`/`prefer` with `sslrootcert`): webpki's verdict, except that a
/// certificate whose chain is valid but which names another host is accepted. webpki checks the
/// chain (and validity dates) before the name, so a name error means the chain passed.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.inner.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::super::conninfo::parse;
    use super::*;

    fn build(url: &str) -> Result<RustlsConnect, StoreError> {
        connector(&parse(url)?.tls)
    }

    #[test]
    fn client_certificates_and_roots_are_read_once_with_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["scim".to_owned()]).unwrap().self_signed(&key).unwrap();
        let (c, k) = (dir.path().join("client.crt"), dir.path().join("client.key"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        let base = "postgres://u@localhost/db";
        let with_client = format!(
            "{base}?sslmode=verify-full&sslrootcert={0}&sslcert={0}&sslkey={1}",
            c.display(),
            k.display()
        );
        assert!(build(&with_client).is_ok());
        let missing_key = format!("{base}?sslmode=require&sslcert={}&sslkey=/nonexistent/k.pem", c.display());
        let e = build(&missing_key).err().unwrap().to_string();
        assert!(e.contains("sslkey /nonexistent/k.pem"), "{e}");
        let not_pem = format!("{base}?sslmode=verify-ca&sslrootcert={}", k.display());
        let e = build(&not_pem).err().unwrap().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
    }

    /// A server without TLS answers the SSLRequest with `N`: `prefer` goes on in plain (its
    /// startup message follows on the same connection), `require` gives up.
    #[tokio::test]
    async fn prefer_falls_back_to_plain_when_the_server_has_no_tls_and_require_does_not() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut plain_startup = Vec::new();
            for _ in 0..2 {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut request = [0_u8; 8];
                s.read_exact(&mut request).await.unwrap();
                assert_eq!(request, [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], "an SSLRequest");
                s.write_all(b"N").await.unwrap();
                let mut next = [0_u8; 8];
                let n = s.read(&mut next).await.unwrap_or(0);
                plain_startup.push(n == 8 && next[4..] == [0, 3, 0, 0]);
            }
            plain_startup
        });
        for mode in ["prefer", "require"] {
            let info = parse(&format!("postgres://u@127.0.0.1:{port}/db?sslmode={mode}")).unwrap();
            let outcome = info.config.connect(connector(&info.tls).unwrap()).await;
            assert!(outcome.is_err(), "the fake server never completes a session");
        }
        assert_eq!(server.await.unwrap(), [true, false]);
    }
}
