//! Forwarding of ordinary Grafana traffic: everything the router does not handle itself.
//!
//! [`Forwarder::forward`] streams the request to Grafana and the response back without buffering
//! either body, cleans hop-by-hop fields in both directions, adds `X-Forwarded-*`, passes WebSocket
//! upgrades through ([`upgrade`]) and turns failures into 4xx/5xx answers ([`response`]).
//!
//! URI mapping: the client's path and query are sent unchanged to the scheme and authority of
//! `grafana.url`. A sub-path in `grafana.url` is deliberately not prepended: with Grafana's
//! `serve_from_sub_path`, browsers already request `/grafana/...`, so prefixing again would break
//! every link. `Host` is passed through as the client sent it (for h2 clients, the `:authority`),
//! because Grafana builds redirects from it; when Grafana is reached over h2 its `:authority` is the
//! Grafana address and the original host travels in `X-Forwarded-Host`.
//!
//! Dropping the future returned by [`Forwarder::forward`] (the client went away) drops the
//! upstream exchange and its connection. This module does not route, authenticate or inspect bodies.

pub mod headers;
pub mod response;
mod upgrade;

use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::uri::{Authority, PathAndQuery, Scheme, Uri};
use http::{Request, Response, Version};
use tracing::debug;

use crate::body::{self, Body};
use crate::config::GrafanaConfig;
use crate::upstream::{self, UpstreamClient, UpstreamError, Versions};

pub use crate::server::ClientInfo;
pub use response::ProxyError;

/// Why a [`Forwarder`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ForwarderError {
    #[error("grafana.url {0:?} is not an absolute http(s) URL")]
    BadUrl(String),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

/// Sends client requests to Grafana. Cheap to clone (one `Arc`); share one per process.
#[derive(Clone)]
pub struct Forwarder {
    inner: Arc<Inner>,
}

struct Inner {
    client: UpstreamClient,
    /// HTTP/1.1-only pool for WebSocket handshakes: an h2 connection cannot carry an upgrade.
    upgrade_client: UpstreamClient,
    scheme: Scheme,
    authority: Authority,
    request_timeout: Duration,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("scheme", &self.inner.scheme)
            .field("authority", &self.inner.authority)
            .finish()
    }
}

impl Forwarder {
    /// A forwarder towards `cfg.url`, sending through `client` (normally [`upstream::build_client`]).
    ///
    /// # Errors
    /// When `cfg.url` is not an absolute `http`/`https` URL, or the upgrade client cannot be built.
    pub fn new(cfg: &GrafanaConfig, client: UpstreamClient) -> Result<Self, ForwarderError> {
        let bad = || ForwarderError::BadUrl(cfg.url.clone());
        let base: Uri = cfg.url.parse().map_err(|_| bad())?;
        let scheme = base.scheme().cloned().ok_or_else(bad)?;
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(bad());
        }
        let authority = base.authority().cloned().ok_or_else(bad)?;
        let upgrade_client = upstream::build_client_for(cfg, Versions::Http1Only)?;
        let inner = Inner { client, upgrade_client, scheme, authority, request_timeout: cfg.request_timeout };
        Ok(Self { inner: Arc::new(inner) })
    }

    /// Forwards one request and returns Grafana's answer, or a synthetic error response.
    ///
    /// Any request body type streams through: the client's `Incoming`, or a body the router already
    /// read (a SAML POST the login gate checked, a policy-checked settings change).
    pub async fn forward<B>(&self, req: Request<B>, peer: ClientInfo) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<body::BoxError>,
    {
        match self.try_forward(req, peer).await {
            Ok(res) => res,
            Err(err) => response::for_error(&err),
        }
    }

    async fn try_forward<B>(
        &self,
        mut req: Request<B>,
        peer: ClientInfo,
    ) -> Result<Response<Body>, ProxyError>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: Into<body::BoxError>,
    {
        headers::check_framing(req.headers())?;
        let is_upgrade = req.version() == Version::HTTP_11 && headers::is_upgrade_request(req.headers());
        let client_upgrade = is_upgrade.then(|| hyper::upgrade::on(&mut req));

        let (mut parts, incoming) = req.into_parts();
        let host = client_host(&parts);
        headers::strip_hop_by_hop(&mut parts.headers, is_upgrade);
        // hyper's server already answered `100 Continue` when the body is polled.
        parts.headers.remove(header::EXPECT);
        if let Some(host) = &host {
            parts.headers.insert(header::HOST, host.clone());
        }
        add_forwarded(&mut parts.headers, &peer, host.as_ref());

        parts.uri = self.upstream_uri(&parts.uri)?;
        // The client picks h1 or h2 per pooled connection; an h2 request on an h1 pool is refused.
        parts.version = Version::HTTP_11;
        let out = Request::from_parts(parts, body::stream(incoming));

        let inner = &*self.inner;
        let client = if is_upgrade { &inner.upgrade_client } else { &inner.client };
        let mut res = tokio::time::timeout(inner.request_timeout, client.request(out))
            .await
            .map_err(|_| ProxyError::Timeout)?
            .map_err(ProxyError::Upstream)?;

        if let Some(client_upgrade) = client_upgrade {
            if res.status() == http::StatusCode::SWITCHING_PROTOCOLS {
                let upstream_upgrade = hyper::upgrade::on(&mut res);
                tokio::spawn(upgrade::splice(client_upgrade, upstream_upgrade));
                let (mut parts, _) = res.into_parts();
                headers::strip_hop_by_hop(&mut parts.headers, true);
                return Ok(Response::from_parts(parts, body::empty()));
            }
            debug!(status = %res.status(), "grafana declined the upgrade");
        }
        let (mut parts, incoming) = res.into_parts();
        headers::strip_hop_by_hop(&mut parts.headers, false);
        Ok(Response::from_parts(parts, body::stream(incoming)))
    }

    fn upstream_uri(&self, uri: &Uri) -> Result<Uri, ProxyError> {
        let path = uri.path_and_query().cloned().unwrap_or_else(|| PathAndQuery::from_static("/"));
        Uri::builder()
            .scheme(self.inner.scheme.clone())
            .authority(self.inner.authority.clone())
            .path_and_query(path)
            .build()
            .map_err(|_| ProxyError::BadTarget)
    }
}

/// The host the client addressed: `:authority` for h2 (and absolute-form h1), else `Host`.
fn client_host(parts: &http::request::Parts) -> Option<HeaderValue> {
    let from_uri = parts.uri.authority().and_then(|a| HeaderValue::from_str(a.as_str()).ok());
    match parts.version {
        Version::HTTP_2 | Version::HTTP_3 => from_uri.or_else(|| parts.headers.get(header::HOST).cloned()),
        _ => parts.headers.get(header::HOST).cloned().or(from_uri),
    }
}

fn add_forwarded(headers: &mut http::HeaderMap, peer: &ClientInfo, host: Option<&HeaderValue>) {
    headers::append_list(headers, &headers::X_FORWARDED_FOR, &peer.addr.ip().to_string());
    headers::append_list(headers, &headers::X_FORWARDED_PROTO, if peer.tls { "https" } else { "http" });
    if let Some(host) = host.and_then(|h| h.to_str().ok()) {
        headers::append_list(headers, &headers::X_FORWARDED_HOST, host);
    }
}
