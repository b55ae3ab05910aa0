//! `GET /audit` on the admin listener: the audit log as JSON lines, newest first, filtered by
//! the same query parameters as `scim-sidecar audit` (`since`, `until`, `namespace`, `user`,
//! `group`, `kind`, `limit`); and the admin bearer token that guards it and `/metrics`.

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode, Uri};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{text, Admin};
use crate::audit::AuditQuery;
use crate::body::{full, Body};

/// The admin token, kept as its SHA-256 digest so the comparison takes the same time whatever
/// the presented token's length.
#[derive(Clone, Default)]
pub struct AdminToken(Option<[u8; 32]>);

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "AdminToken(set)" } else { "AdminToken(none)" })
    }
}

impl AdminToken {
    pub fn new(token: Option<&str>) -> Self {
        Self(token.map(|t| Sha256::digest(t.as_bytes()).into()))
    }

    /// Whether `headers` carry the token (always, when none is configured). Constant time.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.0 else { return true };
        let presented = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(crate::scim_api::auth::bearer)
            .unwrap_or("");
        let got: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        want.ct_eq(&got).into()
    }
}

/// 401 with the challenge.
pub(super) fn unauthorized() -> Response<Body> {
    let mut res = text(StatusCode::UNAUTHORIZED, "a bearer token is required\n");
    res.headers_mut().insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Bearer"));
    res
}

/// Serves `GET /audit?…`.
pub(super) async fn serve(app: &Admin, uri: &Uri) -> Response<Body> {
    let pairs: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes()).into_owned().collect();
    let query =
        match AuditQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())), chrono::Utc::now())
        {
            Ok(q) => q,
            Err(e) => return text(StatusCode::BAD_REQUEST, &format!("{e}\n")),
        };
    // This process's own records are visible at once.
    app.auditor.flush().await;
    match app.store.query_audit(&query).await {
        Ok(records) => {
            let mut body = String::new();
            for r in &records {
                body.push_str(&serde_json::to_string(r).unwrap_or_default());
                body.push('\n');
            }
            let mut res = Response::new(full(body));
            res.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("application/x-ndjson"));
            res
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the audit log");
            text(StatusCode::SERVICE_UNAVAILABLE, "cannot read the audit log\n")
        }
    }
}
