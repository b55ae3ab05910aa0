//! [`Payload`]: a guarded request's body, read into memory at most once, only when a rule asks
//! for it, and forwarded afterwards either untouched (still streaming) or as the bytes read.
//!
//! Every read goes through [`crate::body::read_guarded`], so it holds one of the `[server]
//! max_buffered_bodies` permits, stops past `[server] max_body_bytes` and `body_read_timeout`,
//! and every failure maps to one refusal ([`Refusal::unreadable_body`]) in the route's dialect.

use bytes::Bytes;

use super::refusal::{Dialect, Refusal};
use crate::body::{read_guarded, Body, ReadError};

/// A guarded request's body.
pub struct Payload {
    state: State,
    limit: usize,
    dialect: Dialect,
}

enum State {
    Unread(Body),
    /// A read is under way, or one was abandoned midway (its future dropped).
    Reading,
    Read(Bytes),
    Failed(Refusal),
}

impl std::fmt::Debug for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Unread(_) => "unread",
            State::Reading => "reading",
            State::Read(_) => "read",
            State::Failed(_) => "failed",
        };
        f.debug_struct("Payload").field("state", &state).field("limit", &self.limit).finish()
    }
}

impl Payload {
    /// `body`, to be read up to `limit` bytes; a failed read is refused in `dialect`.
    pub fn new(body: Body, limit: usize, dialect: Dialect) -> Self {
        Self { state: State::Unread(body), limit, dialect }
    }

    /// The body's bytes, read on the first call; later calls return the same bytes (or the same
    /// refusal) without reading again.
    ///
    /// # Errors
    /// The refusal for a body that could not be read.
    pub async fn bytes(&mut self) -> Result<Bytes, Refusal> {
        let read = match std::mem::replace(&mut self.state, State::Reading) {
            State::Unread(body) => read_guarded(body, self.limit).await.map_err(|e| {
                tracing::debug!(error = %e, "guarded request body unreadable");
                Refusal::unreadable_body(&e, self.dialect)
            }),
            State::Reading => {
                let abandoned = ReadError::Stream("an earlier read of the body was abandoned".into());
                Err(Refusal::unreadable_body(&abandoned, self.dialect))
            }
            State::Read(bytes) => Ok(bytes),
            State::Failed(refusal) => Err(refusal),
        };
        self.state = match &read {
            Ok(bytes) => State::Read(bytes.clone()),
            Err(refusal) => State::Failed(refusal.clone()),
        };
        read
    }

    /// The body to forward: the original stream when nobody read it, else the bytes read.
    pub fn into_body(self) -> Body {
        match self.state {
            State::Unread(body) => body,
            State::Read(bytes) => crate::body::full(bytes),
            State::Reading | State::Failed(_) => crate::body::empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use http::StatusCode;
    use http_body_util::BodyExt;

    use super::*;

    fn grafana() -> Dialect {
        Dialect::Grafana { message_id: "m" }
    }

    #[tokio::test]
    async fn the_body_is_read_once_and_forwarded_as_read() {
        let mut payload = Payload::new(crate::body::full("abc"), 10, grafana());
        assert_eq!(&payload.bytes().await.unwrap()[..], b"abc");
        assert_eq!(&payload.bytes().await.unwrap()[..], b"abc");
        let forwarded = payload.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&forwarded[..], b"abc");
        let unread = Payload::new(crate::body::full("xyz"), 1, grafana()).into_body();
        assert_eq!(&unread.collect().await.unwrap().to_bytes()[..], b"xyz");
    }

    #[tokio::test]
    async fn a_failed_read_is_one_refusal() {
        let mut payload = Payload::new(crate::body::full("abcdef"), 3, Dialect::Kubernetes);
        let refusal = payload.bytes().await.unwrap_err();
        assert_eq!(refusal.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(refusal.dialect, Dialect::Kubernetes);
        assert_eq!(payload.bytes().await.unwrap_err(), refusal);
    }
}
