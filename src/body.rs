//! The one response/request body type used across the sidecar, plus helpers to build and read it.
//!
//! [`Body`] is a type-erased, streaming body: the proxy passes Grafana's bodies through it without
//! buffering, and local handlers (SCIM, SAML gate, error pages) build small ones with [`full`].
//! [`read_capped`] is the only way local handlers should collect a request body: it stops reading
//! as soon as the cap is passed. This module must not buffer proxied traffic.

use bytes::{Bytes, BytesMut};
use http_body::Body as HttpBody;
use http_body_util::{BodyExt, Empty, Full};

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
}

/// Collects a body into memory, refusing it once more than `limit` bytes arrived.
///
/// A `Content-Length`-style size hint above the limit is refused before reading anything.
///
/// # Errors
/// [`ReadError::TooLarge`] past `limit` bytes, [`ReadError::Stream`] when the body fails.
pub async fn read_capped<B>(body: B, limit: usize) -> Result<Bytes, ReadError>
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

    #[tokio::test]
    async fn refuses_on_size_hint() {
        let err = read_capped(full("hello"), 3).await.unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { .. }));
        assert!(read_capped(empty(), 0).await.unwrap().is_empty());
    }
}
