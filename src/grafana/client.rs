//! [`GrafanaClient`]: request building, authentication, timeouts and answer decoding shared by
//! the per-family methods in `users`, `orgs`, `teams` and `settings`.
//!
//! Every path segment and query value is percent-encoded here, so callers pass raw strings. The
//! credential lives in a header value marked sensitive and is never formatted into errors or
//! logs; only method, path and status are logged, at debug.

mod orgs;
mod settings;
mod teams;
mod users;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::GrafanaError;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::config::Secret;
use crate::metrics::GrafanaCallLabels;
use crate::upstream::UpstreamClient;

/// Largest Grafana answer read into memory (user searches of 1000 hits stay far below).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
/// The header naming the org an org-scoped call acts in.
pub const ORG_HEADER: &str = "x-grafana-org-id";

/// Everything but RFC 3986 unreserved characters is encoded in a path segment or query value.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encodes one path segment.
pub(crate) fn seg(s: &str) -> String {
    utf8_percent_encode(s, COMPONENT).to_string()
}

/// Whether a caller's header goes with an identity check made on the caller's behalf: all but
/// those about the request's framing, its body and content negotiation (the check sets its own).
fn carries_identity(name: &http::header::HeaderName) -> bool {
    use http::header;
    let framing = [
        header::HOST,
        header::CONTENT_LENGTH,
        header::CONTENT_TYPE,
        header::CONTENT_ENCODING,
        header::TRANSFER_ENCODING,
        header::CONNECTION,
        header::UPGRADE,
        header::TE,
        header::TRAILER,
        header::EXPECT,
        header::ACCEPT,
        header::ACCEPT_ENCODING,
        header::PROXY_AUTHORIZATION,
    ];
    !framing.contains(name) && !matches!(name.as_str(), "keep-alive" | "proxy-connection")
}

/// A cheap-to-clone client for one Grafana.
#[derive(Clone)]
pub struct GrafanaClient {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    /// Base URL without trailing slash; may carry a sub-path.
    base: String,
    basic: HeaderValue,
    http: UpstreamClient,
    timeout: Duration,
    /// `grafana_calls_total`, when the client is counted.
    calls: Option<Family<GrafanaCallLabels, Counter>>,
    /// Shadow mode: admin writes are planned, not sent (`grafana::shadow`).
    shadow: bool,
}

/// Words of Grafana's API routes the client calls; any other path segment is an id or a name and
/// is replaced in the `grafana_calls_total` route label, which keeps its values few and free of
/// logins, emails and team names.
const ROUTE_WORDS: &[&str] = &[
    "access-control",
    "admin",
    "api",
    "disable",
    "enable",
    "frontend",
    "groups",
    "health",
    "logout",
    "lookup",
    "members",
    "metadata",
    "name",
    "org",
    "orgs",
    "password",
    "permissions",
    "saml",
    "search",
    "settings",
    "sso-settings",
    "teams",
    "user",
    "users",
    "v1",
];

/// `GET /api/users/:id` for `GET /api/users/42`: the method and the path with every segment that
/// is not a route word replaced (`:id` for digits, `:name` otherwise).
fn route_label(method: &Method, path: &str) -> String {
    let mut label = String::with_capacity(path.len() + 8);
    label.push_str(method.as_str());
    label.push(' ');
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        label.push('/');
        if ROUTE_WORDS.contains(&segment) {
            label.push_str(segment);
        } else if is_id(segment) {
            label.push_str(":id");
        } else {
            label.push_str(":name");
        }
    }
    label
}

/// Digits, or (a shadow-mode placeholder) a minus and digits.
fn is_id(segment: &str) -> bool {
    let digits = segment.strip_prefix('-').unwrap_or(segment);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// How a call ended, as the `outcome` label.
fn call_outcome(result: &Result<Answer, GrafanaError>) -> &'static str {
    match result {
        Ok(a) if a.status.is_success() || a.status.is_redirection() || a.status.is_informational() => "ok",
        Ok(a) if a.status.is_client_error() => "client_error",
        Ok(_) => "server_error",
        Err(GrafanaError::Timeout) => "timeout",
        Err(_) => "transport",
    }
}

impl std::fmt::Debug for GrafanaClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrafanaClient").field("base", &self.inner.base).finish_non_exhaustive()
    }
}

/// Which credential a call carries.
pub(crate) enum Auth<'a> {
    Admin,
    Bearer(&'a str),
    /// The end user's own credentials, as their request carries them (passthrough guards): its
    /// headers but those about the request's framing, body or content negotiation, and its query
    /// string. Grafana authenticates by `Authorization`, a session cookie, a JWT header, an
    /// auth-proxy header or `?auth_token=`, so it identifies the caller as it will for the
    /// request itself.
    Caller {
        headers: &'a HeaderMap,
        query: Option<&'a str>,
    },
    Anonymous,
}

/// One request, built by the family modules.
pub(crate) struct Call<'a> {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    org: Option<i64>,
    body: Option<Vec<u8>>,
    auth: Auth<'a>,
}

impl<'a> Call<'a> {
    pub(crate) fn new(method: Method, path: String) -> Self {
        Self { method, path, query: Vec::new(), org: None, body: None, auth: Auth::Admin }
    }

    pub(crate) fn get(path: String) -> Self {
        Self::new(Method::GET, path)
    }

    pub(crate) fn org(mut self, org_id: i64) -> Self {
        self.org = Some(org_id);
        self
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub(crate) fn auth(mut self, auth: Auth<'a>) -> Self {
        self.auth = auth;
        self
    }

    pub(crate) fn json(mut self, body: &impl Serialize) -> Result<Self, GrafanaError> {
        self.body = Some(serde_json::to_vec(body).map_err(|e| GrafanaError::Request(e.to_string()))?);
        Ok(self)
    }
}

/// A complete answer of any status.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub(crate) fn into_error(self) -> GrafanaError {
        GrafanaError::from_response(self.status, &self.body)
    }

    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T, GrafanaError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| GrafanaError::Decode { status: self.status, detail: e.to_string() })
    }
}

impl GrafanaClient {
    /// `base_url` is Grafana's root URL including any sub-path; `user`/`password` is a server
    /// admin; `request_timeout` bounds each call from sending to the last body byte.
    ///
    /// # Errors
    /// `Request` when the base URL is not an absolute http(s) URL or carries credentials.
    pub fn new(
        base_url: &str,
        user: &str,
        password: Secret,
        http: UpstreamClient,
        request_timeout: Duration,
    ) -> Result<Self, GrafanaError> {
        let url =
            url::Url::parse(base_url).map_err(|e| GrafanaError::Request(format!("grafana url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(GrafanaError::Request("grafana url must be http:// or https://".into()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
            return Err(GrafanaError::Request("grafana url must not carry credentials or a query".into()));
        }
        let raw = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{user}:{}", password.expose()),
        );
        let mut basic = HeaderValue::try_from(format!("Basic {raw}"))
            .map_err(|_| GrafanaError::Request("credential is not a valid header value".into()))?;
        basic.set_sensitive(true);
        let base = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                basic,
                http,
                timeout: request_timeout,
                calls: None,
                shadow: false,
            }),
        })
    }

    /// The same client, counting every call in `calls` (`grafana_calls_total`).
    #[must_use]
    pub fn counting_calls(self, calls: Family<GrafanaCallLabels, Counter>) -> Self {
        let mut inner = (*self.inner).clone();
        inner.calls = Some(calls);
        Self { inner: Arc::new(inner) }
    }

    /// The same client in shadow mode: every write it would send with the admin credential is
    /// noted as planned and answered by `grafana::shadow` instead; reads still go to Grafana.
    #[must_use]
    pub fn shadowing(self) -> Self {
        let mut inner = (*self.inner).clone();
        inner.shadow = true;
        Self { inner: Arc::new(inner) }
    }

    /// Whether this client is in shadow mode (holds writes back).
    pub fn is_shadow(&self) -> bool {
        self.inner.shadow
    }

    /// Sends `call` and reads the whole answer, whatever its status. In shadow mode an admin
    /// write is not sent: it is noted as planned and answered by `grafana::shadow`.
    pub(crate) async fn exchange(&self, call: Call<'_>) -> Result<Answer, GrafanaError> {
        let method = call.method.clone();
        let path = call.path.clone();
        if self.inner.shadow && super::shadow::is_write(&method) && matches!(call.auth, Auth::Admin) {
            super::shadow::note_planned(&route_label(&method, &path));
            tracing::debug!(%method, %path, "grafana write planned (shadow mode)");
            let (status, headers, body) = super::shadow::answer(&method, &path);
            return Ok(Answer { status, headers, body });
        }
        let request = self.build(call)?;
        let inner = &self.inner;
        let work = async {
            let response = inner.http.request(request).await.map_err(transport)?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| GrafanaError::Transport(format!("reading answer: {e}")))?
                .to_bytes();
            Ok::<_, GrafanaError>(Answer { status: parts.status, headers: parts.headers, body })
        };
        let result = tokio::time::timeout(inner.timeout, work).await.unwrap_or(Err(GrafanaError::Timeout));
        if let Some(calls) = &inner.calls {
            let labels =
                GrafanaCallLabels { kind: route_label(&method, &path), outcome: call_outcome(&result) };
            crate::audit::notes::grafana_call(|| match &result {
                Ok(a) => format!("{} {}", labels.kind, a.status.as_u16()),
                Err(_) => format!("{} {}", labels.kind, labels.outcome),
            });
            calls.get_or_create(&labels).inc();
        }
        let answer = result?;
        tracing::debug!(%method, %path, status = answer.status.as_u16(), "grafana call");
        Ok(answer)
    }

    fn build(&self, call: Call<'_>) -> Result<Request<crate::body::Body>, GrafanaError> {
        let mut uri = format!("{}{}", self.inner.base, call.path);
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &call.query {
            q.append_pair(k, v);
        }
        let mut query = q.finish();
        if let Auth::Caller { query: Some(caller), .. } = &call.auth {
            if !caller.is_empty() {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str(caller);
            }
        }
        if !query.is_empty() {
            uri.push('?');
            uri.push_str(&query);
        }
        let mut builder = Request::builder().method(call.method).uri(uri).header(ACCEPT, "application/json");
        match call.auth {
            Auth::Admin => builder = builder.header(AUTHORIZATION, self.inner.basic.clone()),
            Auth::Bearer(token) => {
                let mut v = HeaderValue::try_from(format!("Bearer {token}"))
                    .map_err(|_| GrafanaError::Request("token is not a valid header value".into()))?;
                v.set_sensitive(true);
                builder = builder.header(AUTHORIZATION, v);
            }
            Auth::Caller { headers, .. } => {
                for (name, value) in headers.iter().filter(|(name, _)| carries_identity(name)) {
                    let mut value = value.clone();
                    value.set_sensitive(true);
                    builder = builder.header(name, value);
                }
            }
            Auth::Anonymous => {}
        }
        if let Some(org) = call.org {
            builder = builder.header(ORG_HEADER, org);
        }
        let body = match call.body {
            Some(bytes) => {
                builder = builder.header(CONTENT_TYPE, "application/json");
                crate::body::full(bytes)
            }
            None => crate::body::empty(),
        };
        // The URI is not echoed: it may hold a login or email.
        builder.body(body).map_err(|_| GrafanaError::Request("could not build the request".into()))
    }

    /// Sends `call`; a 2xx answer is decoded as `T`, anything else is an error.
    pub(crate) async fn send_json<T: DeserializeOwned>(&self, call: Call<'_>) -> Result<T, GrafanaError> {
        let answer = self.exchange(call).await?;
        if !answer.status.is_success() {
            return Err(answer.into_error());
        }
        answer.decode()
    }

    /// Sends `call`; any 2xx is success and the body is ignored.
    pub(crate) async fn send_unit(&self, call: Call<'_>) -> Result<(), GrafanaError> {
        let answer = self.exchange(call).await?;
        if !answer.status.is_success() {
            return Err(answer.into_error());
        }
        Ok(())
    }
}

fn transport(e: hyper_util::client::legacy::Error) -> GrafanaError {
    // The error chain names the failure (refused, reset, TLS), never the request's headers.
    let mut msg = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    GrafanaError::Transport(msg)
}

#[cfg(test)]
mod route_label_tests {
    use super::*;

    #[test]
    fn ids_and_names_never_reach_the_label() {
        let cases = [
            (Method::GET, "/api/users/42", "GET /api/users/:id"),
            (Method::GET, "/api/users/jane%40example.com", "GET /api/users/:name"),
            (Method::PUT, "/api/teams/7/members", "PUT /api/teams/:id/members"),
            (Method::DELETE, "/api/teams/7/members/9", "DELETE /api/teams/:id/members/:id"),
            (Method::PUT, "/api/teams/-42/members", "PUT /api/teams/:id/members"),
            (Method::GET, "/api/users/-", "GET /api/users/:name"),
            (Method::GET, "/grafana/api/orgs/name/Main%20Org", "GET /:name/api/orgs/name/:name"),
            (Method::PUT, "/api/v1/sso-settings/saml", "PUT /api/v1/sso-settings/saml"),
            (Method::GET, "/api/health", "GET /api/health"),
        ];
        for (method, path, want) in cases {
            assert_eq!(route_label(&method, path), want);
        }
    }
}
