//! The public listener: accept loop, optional TLS, HTTP/1.1 + h2 serving, timeouts, shutdown.
//!
//! [`serve`] hands every request to a caller-supplied handler together with a [`ClientInfo`]. It
//! enforces the connection-level limits of `[server]`:
//! - `header_read_timeout`: hyper's HTTP/1 head timer (slowloris guard); it also bounds the TLS
//!   handshake and the wait for a connection's first request (hyper's timer only starts once the
//!   protocol is known). hyper starts its timer whenever it waits for a request head, so an idle
//!   HTTP/1 keep-alive connection is closed after `min(header_read_timeout, idle_timeout)`.
//! - `max_header_bytes`: hyper's HTTP/1 read buffer (oversized heads get 431) and the h2
//!   header-list limit. hyper refuses buffers under 8 KiB, so smaller values are raised to that.
//! - `idle_timeout`: a connection with no bytes in either direction for this long is shut down
//!   gracefully (in-flight responses still finish).
//! - `max_connections`: connections served at once; one accepted past it is closed at once (never
//!   queued) and counted in `scim_sidecar_limit_rejections_total{limit="connections"}`. An
//!   upgraded (WebSocket) connection leaves the count when hyper hands it over.
//! - `body_read_timeout`, `max_buffered_bodies`: set around every request as
//!   [`crate::body::BodyLimits`], which bound the bodies handlers read into memory.
//! - shutdown: stop accepting, let connections finish up to `shutdown_grace`, then drop them.
//!   Upgraded (WebSocket) connections run detached and are not drained.
//!
//! HTTP/1 requests pass through [`h1_guard`] first, which refuses framing hyper would otherwise
//! normalise (`Transfer-Encoding` together with `Content-Length`); heads hyper parses but whose
//! framing we refuse (a `Transfer-Encoding` other than exactly `chunked`) get a 400 from
//! [`crate::proxy::response`] before any handler runs. This module does not route.

mod activity;
pub mod h1_guard;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::header::{self, HeaderValue};
use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::body::{Body, BodyLimits};
use crate::config::ServerConfig;
use crate::metrics::{LimitLabels, Metrics};
use crate::proxy::{headers, response, ProxyError};
use activity::{Activity, ActivityIo};

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientInfo {
    /// The TCP peer address.
    pub addr: SocketAddr,
    /// Whether the connection is TLS (it arrived on a TLS listener).
    pub tls: bool,
}

/// hyper's smallest accepted HTTP/1 read buffer.
const MIN_H1_BUFFER: usize = 8 * 1024;

type Builder = auto::Builder<TokioExecutor>;

fn builder(cfg: &ServerConfig) -> Builder {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_read_timeout)
        .max_buf_size(cfg.max_header_bytes.max(MIN_H1_BUFFER));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(cfg.max_header_bytes).unwrap_or(u32::MAX));
    builder
}

/// Serves `listener` until `shutdown` completes, then drains connections for `shutdown_grace`.
///
/// `handler` is called once per request; the future it returns is dropped when the client goes
/// away, which cancels whatever it was doing. `metrics` counts limit rejections.
pub async fn serve<F, Fut>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    cfg: &ServerConfig,
    metrics: &Metrics,
    handler: F,
    shutdown: impl Future<Output = ()>,
) where
    F: Fn(Request<Incoming>, ClientInfo) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    let builder = Arc::new(builder(cfg));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let limits = Limits {
        handshake: cfg.header_read_timeout,
        idle: cfg.idle_timeout,
        max_head: cfg.max_header_bytes.max(MIN_H1_BUFFER).saturating_add(1),
    };
    let slots = Arc::new(Semaphore::new(cfg.max_connections.min(Semaphore::MAX_PERMITS)));
    let body_limits =
        BodyLimits::new(cfg.body_read_timeout, cfg.max_buffered_bodies, metrics.limit_rejections.clone());
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => {
                    let Ok(slot) = slots.clone().try_acquire_owned() else {
                        // Full: close at once rather than queue; the client sees the connection end.
                        metrics.limit_rejections.get_or_create(&LimitLabels { limit: "connections" }).inc();
                        debug!(peer = %addr, "max_connections reached, closing new connection");
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    let info = ClientInfo { addr, tls: tls.is_some() };
                    let conn = Connection {
                        builder: builder.clone(),
                        handler: handler.clone(),
                        stop: stop_rx.clone(),
                        limits,
                        info,
                        body_limits: body_limits.clone(),
                        _slot: slot,
                    };
                    connections.spawn(conn.run(stream, tls.clone()));
                }
                Err(e) => {
                    // Usually fd exhaustion; back off instead of spinning.
                    warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
        }
    }
    drop(listener);
    let open = connections.len();
    info!(open, grace = ?cfg.shutdown_grace, "listener closed, draining connections");
    let _ = stop_tx.send(true);
    let drained =
        tokio::time::timeout(cfg.shutdown_grace, async { while connections.join_next().await.is_some() {} })
            .await;
    if drained.is_err() {
        warn!(remaining = connections.len(), "shutdown grace elapsed, dropping connections");
        connections.shutdown().await;
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    handshake: Duration,
    idle: Duration,
    /// One byte past hyper's buffer, so an oversized head reaches hyper and gets its 431.
    max_head: usize,
}

struct Connection<F> {
    builder: Arc<Builder>,
    handler: F,
    stop: watch::Receiver<bool>,
    limits: Limits,
    info: ClientInfo,
    body_limits: BodyLimits,
    /// This connection's `max_connections` slot, released when the connection ends.
    _slot: OwnedSemaphorePermit,
}

impl<F, Fut> Connection<F>
where
    F: Fn(Request<Incoming>, ClientInfo) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Body>> + Send + 'static,
{
    async fn run(self, stream: tokio::net::TcpStream, tls: Option<TlsAcceptor>) {
        let activity = Activity::new();
        let stream = ActivityIo::new(stream, activity.clone());
        match tls {
            None => self.serve_io(stream, activity).await,
            Some(acceptor) => {
                match tokio::time::timeout(self.limits.handshake, acceptor.accept(stream)).await {
                    Ok(Ok(tls_stream)) => self.serve_io(tls_stream, activity).await,
                    Ok(Err(e)) => debug!(peer = %self.info.addr, error = %e, "tls handshake failed"),
                    Err(_) => debug!(peer = %self.info.addr, "tls handshake timed out"),
                }
            }
        }
    }

    async fn serve_io<I>(mut self, io: I, activity: Activity)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let info = self.info;
        let handler = self.handler.clone();
        let body_limits = self.body_limits.clone();
        let first_request = Arc::new(AtomicBool::new(false));
        let seen = first_request.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            seen.store(true, Ordering::Relaxed);
            let http1 = req.version() <= Version::HTTP_11;
            let upgrade = http1 && req.headers().contains_key(header::UPGRADE);
            // Framing hyper accepts but we refuse (e.g. `gzip, chunked`) never reaches a handler.
            let outcome = match headers::check_framing(req.headers()) {
                Ok(()) => Ok(body_limits.clone().scope(handler(req, info))),
                Err(e) => Err(response::for_error(&ProxyError::Framing(e))),
            };
            async move {
                let (mut response, close) = match outcome {
                    Ok(pending) => {
                        let response = pending.await;
                        // The guard stopped following this connection's framing at the upgrade
                        // request, so a declined upgrade must end the connection.
                        let close = upgrade && response.status() != StatusCode::SWITCHING_PROTOCOLS;
                        (response, close)
                    }
                    // The body was not read; the connection cannot be reused safely.
                    Err(refusal) => (refusal, http1),
                };
                if close {
                    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
                }
                Ok::<_, Infallible>(response)
            }
        });
        let io = h1_guard::GuardedIo::new(io, self.limits.max_head);
        let conn = self.builder.serve_connection_with_upgrades(TokioIo::new(io), service);
        let mut conn = std::pin::pin!(conn);
        let mut closing = false;
        // hyper's head timer only starts once it knows the protocol, i.e. after the first bytes;
        // a connection that never sends a request is dropped after the same budget.
        let first_deadline = tokio::time::Instant::now() + self.limits.handshake;
        let mut awaiting_first = true;
        loop {
            let idle_deadline = activity.deadline(self.limits.idle);
            tokio::select! {
                res = conn.as_mut() => {
                    if let Err(e) = res {
                        debug!(peer = %info.addr, error = %e, "connection ended with an error");
                    }
                    return;
                }
                changed = self.stop.changed(), if !closing => {
                    if changed.is_err() || *self.stop.borrow() {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
                () = tokio::time::sleep_until(first_deadline), if awaiting_first => {
                    if !first_request.load(Ordering::Relaxed) {
                        debug!(peer = %info.addr, "no request within header_read_timeout, closing");
                        return;
                    }
                    awaiting_first = false;
                }
                () = tokio::time::sleep_until(idle_deadline), if !closing => {
                    if activity.deadline(self.limits.idle) <= tokio::time::Instant::now() {
                        debug!(peer = %info.addr, "closing idle connection");
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}
