//! Who sends a guarded write, as Grafana authenticates them: asked of Grafana (`GET /api/user`
//! with the caller's own credentials) before any guard decides, so a caller Grafana would not
//! authenticate learns nothing from the sidecar (its write is forwarded and Grafana answers 401)
//! and costs no lookup made with the sidecar's admin credential.
//!
//! Verdicts are cached briefly, keyed by a SHA-256 digest of the request's credential material
//! (every header but those about framing, content, tracing and forwarding, and the query
//! string), never by the material itself. A stale verdict is harmless: the write still meets
//! Grafana's own authentication.

use std::time::Duration;

use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::grafana::{GrafanaClient, GrafanaError};

/// How long a verdict is reused.
const TTL: Duration = Duration::from_secs(10);
/// Most verdicts kept.
const CAPACITY: u64 = 10_000;

/// Headers that never identify a caller to Grafana; everything else counts as credential
/// material, so an unknown header can only split the cache, never merge two callers.
const NOT_CREDENTIALS: [&str; 24] = [
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "trailer",
    "expect",
    "accept",
    "accept-encoding",
    "accept-language",
    "user-agent",
    "traceparent",
    "tracestate",
    "baggage",
    "x-request-id",
    "referer",
    "origin",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-real-ip",
];

/// Grafana's answer about a caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in user (or service account) with this id.
    User(i64),
    /// Grafana answered 401: it will refuse the write itself.
    Unauthenticated,
    /// Grafana let the caller in but shows no user profile (an anonymous or render session, a
    /// caller outside the org it names): the guards still decide, failing closed.
    Other,
}

/// The cache of caller verdicts; one per process.
#[derive(Clone)]
pub struct Callers {
    cache: moka::future::Cache<[u8; 32], Caller>,
}

impl std::fmt::Debug for Callers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callers").field("entries", &self.cache.entry_count()).finish()
    }
}

impl Default for Callers {
    fn default() -> Self {
        Self { cache: moka::future::Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build() }
    }
}

/// The cache key: a digest of `headers` (those that may carry credentials) and `query`.
fn key(headers: &HeaderMap, query: Option<&str>) -> [u8; 32] {
    let mut fields: Vec<(&str, &[u8])> = headers
        .iter()
        .filter(|(name, _)| !NOT_CREDENTIALS.contains(&name.as_str()))
        .map(|(name, value)| (name.as_str(), value.as_bytes()))
        .collect();
    // Order of different names does not matter to Grafana; order of one name's values might.
    fields.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    for (name, value) in fields {
        h.update((name.len() as u64).to_be_bytes());
        h.update(name.as_bytes());
        h.update((value.len() as u64).to_be_bytes());
        h.update(value);
    }
    h.update([u8::from(query.is_some())]);
    h.update(query.unwrap_or("").as_bytes());
    h.finalize().into()
}

impl Callers {
    /// Who the caller whose request carried `headers` and `query` is, to Grafana.
    ///
    /// # Errors
    /// When Grafana cannot say (unreachable, 5xx): the guards then fail closed. Not cached.
    pub async fn identify(
        &self,
        grafana: &GrafanaClient,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> Result<Caller, GrafanaError> {
        // Concurrent first asks for one credential share a single call to Grafana.
        let ask = async {
            match grafana.current_user_as(headers, query).await {
                Ok(profile) => Ok(Caller::User(profile.id)),
                Err(e) if e.is_unauthorized() => Ok(Caller::Unauthenticated),
                Err(e) if e.status().is_some_and(|s| s.is_client_error()) => Ok(Caller::Other),
                Err(e) => Err(e),
            }
        };
        self.cache.try_get_with(key(headers, query), ask).await.map_err(|e| (*e).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(http::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    #[test]
    fn keys_follow_credentials_only() {
        let a = map(&[("authorization", "Basic a"), ("user-agent", "x"), ("traceparent", "1")]);
        let b = map(&[("user-agent", "y"), ("authorization", "Basic a")]);
        assert_eq!(key(&a, None), key(&b, None));
        assert_ne!(key(&a, None), key(&map(&[("authorization", "Basic b")]), None));
        assert_ne!(key(&a, None), key(&a, Some("auth_token=x")));
        assert_ne!(key(&a, None), key(&a, Some("")));
        let org = map(&[("authorization", "Basic a"), ("x-grafana-org-id", "2")]);
        assert_ne!(key(&a, None), key(&org, None));
        let cookie = map(&[("cookie", "grafana_session=1")]);
        assert_ne!(key(&cookie, None), key(&map(&[("cookie", "grafana_session=2")]), None));
        // A name and value cannot run into the next field.
        assert_ne!(key(&map(&[("x-a", "bc")]), None), key(&map(&[("x-ab", "c")]), None));
    }
}
