//! The one response/request body type used across the sidecar, plus helpers to build and read it.
//!
//! [`Body`] is a type-erased, streaming body: the proxy passes Grafana's bodies through it without
//! buffering, and local handlers (SCIM, SAML gate, error pages) build small ones with [`full`].
//! [`read_capped`] is the only way local handlers should collect a request body: it stops reading
//! as soon as the cap is passed, or when the body takes longer than `[server] body_read_timeout`.
//! Passthrough guards read with [`read_guarded`], which also takes one of the
//! `[server] max_buffered_bodies` permits and answers "busy" at once when none is left, so
//! unauthenticated clients cannot hold an unbounded number of slow bodies in memory. The server
//! sets these [`BodyLimits`] around each request ([`BodyLimits::scope`]). This module must not
//! buffer proxied traffic.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Empty, Full};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use tokio::sync::Semaphore;

use crate::metrics::LimitLabels;

/// Error type carried by every [`Body`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The body type of every response the sidecar produces (and of requests it sends to Grafana).
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// A body holding `data` in one frame.
pub fn full(data: impl Into<Bytes>) -> Body {
    Full::new(data.into()).map_err(|never| match never {}).boxed_unsync()
}

/// A body with no data.
pub fn empty() -> Body {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync()
}

/// Wraps any body whose error converts into [`BoxError`] (such as hyper's `Incoming`) without
/// buffering it.
pub fn stream<B>(body: B) -> Body
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// Why [`read_capped`] gave up.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The body is longer than the cap (answer 413).
    #[error("request body exceeds {limit} bytes")]
    TooLarge { limit: usize },
    /// The body stream failed (client went away, bad chunked framing, ...).
    #[error("reading request body failed")]
    Stream(#[source] BoxError),
    /// The body did not arrive within `[server] body_read_timeout` (answer 408).
    #[error("request body not received within {after:?}")]
    TimedOut { after: Duration },
    /// Every `[server] max_buffered_bodies` permit is taken (answer 503).
    #[error("too many request bodies are being read")]
    Busy,
}

impl ReadError {
    /// The HTTP status that answers this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ReadError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ReadError::Stream(_) => StatusCode::BAD_REQUEST,
            ReadError::TimedOut { .. } => StatusCode::REQUEST_TIMEOUT,
            ReadError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Used when no [`BodyLimits`] are in scope (tools, unit tests): the `[server]` default.
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The limits on reading request bodies into memory, set by the server for each request.
#[derive(Debug, Clone)]
pub struct BodyLimits {
    /// Longest a buffered body read may take (`[server] body_read_timeout`).
    pub read_timeout: Duration,
    /// Permits for bodies read by the passthrough guards (`[server] max_buffered_bodies`).
    pub guard_reads: Arc<Semaphore>,
    /// Rejections by limit (`scim_sidecar_limit_rejections_total`).
    pub rejections: Family<LimitLabels, Counter>,
}

tokio::task_local! {
    static LIMITS: BodyLimits;
}

impl BodyLimits {
    /// Limits from `[server]` values; `max_buffered` is capped at what a semaphore holds.
    pub fn new(
        read_timeout: Duration,
        max_buffered: usize,
        rejections: Family<LimitLabels, Counter>,
    ) -> Self {
        let permits = max_buffered.min(Semaphore::MAX_PERMITS);
        Self { read_timeout, guard_reads: Arc::new(Semaphore::new(permits)), rejections }
    }

    /// Runs `fut` (one request's handling) with these limits applied to its body reads.
    pub fn scope<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        LIMITS.scope(self, fut)
    }

    fn reject(&self, limit: &'static str) {
        self.rejections.get_or_create(&LimitLabels { limit }).inc();
    }
}

fn current_limits() -> Option<BodyLimits> {
    LIMITS.try_with(BodyLimits::clone).ok()
}

/// [`read_capped`] for a passthrough guard: takes one of the `[server] max_buffered_bodies`
/// permits for the duration of the read, or fails at once with [`ReadError::Busy`].
///
/// # Errors
/// As [`read_capped`], and [`ReadError::Busy`].
pub async fn read_guarded<B>(body: B, limit: usize) -> Result<Bytes, ReadError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let limits = current_limits();
    let _permit = match &limits {
        Some(l) => match l.guard_reads.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                l.reject("buffered_bodies");
                tracing::debug!("guard body refused: max_buffered_bodies reached");
                return Err(ReadError::Busy);
            }
        },
        None => None,
    };
    read_capped(body, limit).await
}

/// Collects a body into memory, refusing it once more than `limit` bytes arrived.
///
/// A `Content-Length`-style size hint above the limit is refused before reading anything; the
/// whole read must finish within `[server] body_read_timeout`.
///
/// # Errors
/// [`ReadError::TooLarge`] past `limit` bytes, [`ReadError::Stream`] when the body fails,
/// [`ReadError::TimedOut`] when it is too slow.
pub async fn read_capped<B>(body: B, limit: usize) -> Result<Bytes, ReadError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let limits = current_limits();
    let after = limits.as_ref().map_or(DEFAULT_READ_TIMEOUT, |l| l.read_timeout);
    match tokio::time::timeout(after, collect(body, limit)).await {
        Ok(read) => read,
        Err(_) => {
            if let Some(l) = &limits {
                l.reject("body_read_timeout");
            }
            tracing::debug!(?after, "request body read timed out");
            Err(ReadError::TimedOut { after })
        }
    }
}

async fn collect<B>(body: B, limit: usize) -> Result<Bytes, ReadError>
where
    B: HttpBody<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let too_large = ReadError::TooLarge { limit };
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large);
    }
    let mut body = std::pin::pin!(body);
    let mut buf = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ReadError::Stream(e.into()))?;
        if let Ok(data) = frame.into_data() {
            if buf.len().saturating_add(data.len()) > limit {
                return Err(too_large);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::StreamBody;

    fn chunks(parts: Vec<&'static [u8]>) -> Body {
        let frames =
            parts.into_iter().map(|p| Ok::<_, BoxError>(http_body::Frame::data(Bytes::from_static(p))));
        stream(StreamBody::new(futures_util::stream::iter(frames)))
    }

    #[tokio::test]
    async fn reads_up_to_the_limit() {
        let got = read_capped(chunks(vec![b"ab", b"cd"]), 4).await.unwrap();
        assert_eq!(&got[..], b"abcd");
    }

    #[tokio::test]
    async fn refuses_past_the_limit() {
        let err = read_capped(chunks(vec![b"ab", b"cde"]), 4).await.unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 4 }));
    }

    fn limits(permits: usize) -> BodyLimits {
        BodyLimits::new(Duration::from_secs(1), permits, Family::default())
    }

    fn rejected(l: &BodyLimits, limit: &'static str) -> u64 {
        l.rejections.get_or_create(&LimitLabels { limit }).get()
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_times_out() {
        let l = limits(1);
        let stalled = stream(StreamBody::new(futures_util::stream::pending::<
            Result<http_body::Frame<Bytes>, BoxError>,
        >()));
        let err = l.clone().scope(read_capped(stalled, 10)).await.unwrap_err();
        assert!(matches!(err, ReadError::TimedOut { .. }), "{err:?}");
        assert_eq!(err.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(rejected(&l, "body_read_timeout"), 1);
    }

    #[tokio::test]
    async fn guard_reads_past_the_permits_are_busy() {
        let l = limits(1);
        let held = l.guard_reads.clone().try_acquire_owned().unwrap();
        let err = l.clone().scope(read_guarded(full("x"), 10)).await.unwrap_err();
        assert!(matches!(err, ReadError::Busy), "{err:?}");
        assert_eq!(err.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(rejected(&l, "buffered_bodies"), 1);
        drop(held);
        assert_eq!(&l.clone().scope(read_guarded(full("x"), 10)).await.unwrap()[..], b"x");
        // Without limits in scope (tools, tests) guard reads are not limited.
        assert_eq!(&read_guarded(full("y"), 10).await.unwrap()[..], b"y");
    }

    #[tokio::test]
    async fn refuses_on_size_hint() {
        let err = read_capped(full("hello"), 3).await.unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }));
        assert!(read_capped(empty(), 0).await.unwrap().is_empty());
    }
}
