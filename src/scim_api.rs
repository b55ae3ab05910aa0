//! The SCIM HTTP edge: routing, authentication, request decoding and response encoding.
//!
//! It owns no business logic. A request under a SCIM base path ([`route`]) is authenticated
//! ([`auth`]), decoded into a [`context::ScimRequest`], handed to the Users or Groups handlers in
//! `provision`, and the answer (or a `ScimError`) is encoded by [`respond`], the single place that
//! builds SCIM HTTP responses. Discovery documents are served here directly: they describe the
//! sidecar, not Grafana.

pub mod auth;
pub mod context;
pub(crate) mod decode;
mod discovery;
pub mod respond;
pub mod route;

use std::sync::Arc;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use tracing::debug;

use crate::app::App;
use crate::body::Body;
use crate::scim::error::ScimError;
use crate::server::ClientInfo;
use context::{ScimContext, Target};
use route::{Endpoint, Kind, Namespace};

/// Long-lived state of the SCIM edge.
pub struct ScimApi {
    pub auth: auth::Authenticator,
    /// Grafana's sub-path (`serve_from_sub_path`), e.g. `/grafana`, or empty. SCIM is also served
    /// under it, so IdP URLs built from Grafana's public URL keep working.
    sub_path: String,
    /// [`Self::sub_path`] percent-decoded, as Grafana trims it ([`crate::route_path`]).
    decoded_sub_path: String,
    /// State of the Users handler (cached Grafana settings).
    pub users: crate::provision::users::UsersState,
    /// Orgs known to exist (namespace `org-<N>`), so existence is not asked of Grafana per request.
    known_orgs: moka::future::Cache<i64, ()>,
}

impl ScimApi {
    pub fn new(config: &crate::config::ScimConfig, grafana_url: &str) -> Self {
        let sub_path = url::Url::parse(grafana_url)
            .map(|u| u.path().trim_end_matches('/').to_string())
            .unwrap_or_default();
        let decoded_sub_path = crate::route_path::route_path(&sub_path, "").into_owned();
        Self {
            auth: auth::Authenticator::new(config),
            sub_path,
            decoded_sub_path,
            users: crate::provision::users::UsersState::new(),
            known_orgs: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
        }
    }
}

impl ScimApi {
    /// The request path `raw` as Grafana's router resolves it: percent-decoded, without Grafana's
    /// sub-path ([`crate::route_path`]). Guards and the login gate decide on this.
    pub fn route_path<'a>(&self, raw: &'a str) -> std::borrow::Cow<'a, str> {
        crate::route_path::route_path(raw, &self.decoded_sub_path)
    }

    /// Whether the request path `raw` reaches the Grafana route `route` (a path as configured,
    /// e.g. the SAML ACS path, with or without Grafana's sub-path).
    pub fn reaches(&self, raw: &str, route: &str) -> bool {
        crate::route_path::same_route(&self.route_path(raw), &self.route_path(route))
    }

    /// The path relative to the SCIM-serving root when `path` is a SCIM path (directly, or under
    /// Grafana's sub-path), with the prefix that was stripped.
    pub fn scim_path<'a>(&self, path: &'a str) -> Option<(&'a str, &'a str)> {
        if route::is_scim_path(path) {
            return Some(("", path));
        }
        if self.sub_path.is_empty() {
            return None;
        }
        let rest = path.strip_prefix(self.sub_path.as_str())?;
        route::is_scim_path(rest).then(|| (&path[..self.sub_path.len()], rest))
    }
}

/// Handles a request under a SCIM base path.
pub async fn handle(app: &Arc<App>, req: Request<Incoming>, info: ClientInfo) -> Response<Body> {
    match serve(app, req, info).await {
        Ok(answer) => respond::success(answer),
        Err(err) => {
            debug!(status = err.status, scim_type = ?err.scim_type, detail = %err.detail, "scim error");
            respond::error(&err)
        }
    }
}

async fn serve(
    app: &Arc<App>,
    req: Request<Incoming>,
    info: ClientInfo,
) -> Result<context::ScimResponse, ScimError> {
    let Some((prefix, path)) = app
        .scim
        .scim_path(req.uri().path())
        .and_then(|(prefix, rest)| route::parse(rest).map(|p| (prefix.to_string(), p)))
    else {
        return Err(ScimError::not_found("not a SCIM endpoint"));
    };
    let org_id = match &path.namespace {
        Namespace::Unknown(ns) => return Err(ScimError::not_found(format!("invalid namespace {ns:?}"))),
        ns => ns.org_id().unwrap_or(1),
    };
    let (kind, target) = match &path.endpoint {
        Endpoint::Unknown => return Err(ScimError::not_found("no such SCIM endpoint")),
        Endpoint::Me => return Err(ScimError::not_implemented("/Me is not supported")),
        Endpoint::Bulk => return Err(ScimError::not_implemented("bulk operations are not supported")),
        Endpoint::RootSearch => {
            return Err(ScimError::not_implemented(
                "search at the root is not supported; use /Users/.search or /Groups/.search",
            ))
        }
        Endpoint::Collection(k) => (Some(*k), Target::Collection),
        Endpoint::Resource(k, id) => (Some(*k), Target::Resource(id.clone())),
        Endpoint::Search(k) => (Some(*k), Target::Search),
        _ => (None, Target::Collection),
    };
    let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    let groups = kind == Some(Kind::Groups);
    let principal = app.scim.auth.authenticate(authorization, org_id, groups, &app.grafana).await?;
    ensure_org(app, org_id, &path.namespace).await?;
    let base_url = decode::base_url(&req, info, &format!("{prefix}{}", path.base));

    let Some(kind) = kind else {
        return discovery::serve(app, &req, &path.endpoint, &base_url);
    };
    // Policy before anything touches Grafana: discovery (above) is exempt, Users need SAML,
    // Groups also need Team Sync off. Each handler takes the permit it was granted.
    let scim_req = decode::request(req, target, app.config.server.max_body_bytes).await?;
    let ctx = ScimContext { app, org_id, principal, base_url };
    match kind {
        Kind::Users => {
            let permit = app.policy.permit_users().await?;
            crate::provision::users::handle(&ctx, &permit, scim_req).await
        }
        Kind::Groups => {
            let permit = app.policy.permit_groups().await?;
            crate::provision::groups::handle(&ctx, &permit, scim_req).await
        }
    }
}

/// `org-<N>` must name an existing Grafana org.
async fn ensure_org(app: &App, org_id: i64, ns: &Namespace) -> Result<(), ScimError> {
    if org_id == 1 || app.scim.known_orgs.get(&org_id).await.is_some() {
        return Ok(());
    }
    match app.grafana.get_org(org_id).await {
        Ok(Some(_)) => {
            app.scim.known_orgs.insert(org_id, ()).await;
            Ok(())
        }
        Ok(None) => {
            Err(ScimError::not_found(format!("invalid namespace {:?}: no such Grafana org", ns_label(ns))))
        }
        Err(e) => {
            debug!(error = %e, "cannot check the namespace's org");
            Err(ScimError::service_unavailable("cannot reach Grafana to resolve the namespace"))
        }
    }
}

fn ns_label(ns: &Namespace) -> String {
    match ns {
        Namespace::Default => "default".into(),
        Namespace::Org(n) => format!("org-{n}"),
        Namespace::Unknown(s) => s.clone(),
    }
}

/// Methods each endpoint kind accepts, for 405 answers.
pub(crate) fn method_allowed(target: &Target, method: &Method) -> bool {
    match target {
        Target::Collection => matches!(*method, Method::GET | Method::POST),
        Target::Resource(_) => matches!(*method, Method::GET | Method::PUT | Method::PATCH | Method::DELETE),
        Target::Search => *method == Method::POST,
    }
}

#[cfg(test)]
mod tests {
    use super::ScimApi;

    #[test]
    fn routes_are_reached_as_grafana_resolves_paths_under_its_sub_path() {
        let api = ScimApi::new(&crate::config::ScimConfig::default(), "http://grafana:3000/grafana/");
        for path in
            ["/grafana/saml/acs", "/saml/acs", "/saml/acs/", "/grafanasaml/acs", "/gr%61fana/saml/%61cs"]
        {
            assert!(api.reaches(path, "/saml/acs"), "{path}");
            assert!(api.reaches(path, "/grafana/saml/acs"), "{path}");
        }
        assert!(!api.reaches("/grafana/saml/acs/x", "/saml/acs"));
        assert!(!api.reaches("/other/saml/acs", "/saml/acs"));
    }
}
