//! The SCIM HTTP edge: routing, authentication, request decoding and response encoding.
//!
//! It owns no business logic. A request under a SCIM base path ([`route`]) is authenticated
//! ([`auth`]), decoded into a [`context::ScimRequest`], turned into a typed provisioning operation
//! and run on Users or Groups by the one dispatcher (`dispatch`), whose outcome becomes the
//! answer; a provisioning failure becomes a SCIM error in [`failure`] (one exhaustive `match`),
//! and [`respond`] is the single place that builds SCIM HTTP responses. Discovery documents are served here directly: they describe the
//! sidecar, not Grafana.

mod audit;
pub mod auth;
pub mod context;
pub(crate) mod decode;
mod discovery;
mod dispatch;
pub mod failure;
mod paths;
pub mod respond;
pub mod route;

use std::sync::Arc;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{Method, Request, Response};
use hyper::body::Incoming;
use tracing::debug;

use crate::audit::Actor;
use crate::body::Body;
use crate::metrics::Metrics;
use crate::policy::PolicyEngine;
use crate::provision::{Groups, ProvisionError, Provisioner, Scope, Users};
use crate::scim::error::ScimError;
use crate::server::ClientInfo;
use audit::AuditScope;
use context::Target;
use dispatch::Dispatch;
use failure::Failure;
pub use paths::ScimPaths;
use route::{Endpoint, Kind, Namespace};

/// Long-lived state of the SCIM edge.
pub struct ScimApi {
    pub auth: auth::Authenticator,
    /// Provisioning, which the edge alone calls.
    provisioner: Arc<Provisioner>,
    /// Policy permits: Users need SAML, Groups also need Team Sync off.
    policy: PolicyEngine,
    metrics: Metrics,
    /// Where SCIM is served, and how Grafana resolves paths (its sub-path).
    paths: ScimPaths,
    /// `[server] max_body_bytes`: the cap on a SCIM request body.
    max_body_bytes: usize,
    /// Orgs known to exist (namespace `org-<N>`), so existence is not asked of Grafana per request.
    known_orgs: moka::future::Cache<i64, ()>,
    /// Records SCIM writes and policy refusals.
    auditor: crate::audit::Auditor,
}

impl ScimApi {
    pub fn new(
        config: &crate::config::Config,
        provisioner: Arc<Provisioner>,
        policy: PolicyEngine,
        metrics: Metrics,
        auditor: crate::audit::Auditor,
    ) -> Self {
        Self {
            auditor,
            auth: auth::Authenticator::new(&config.scim),
            provisioner,
            policy,
            metrics,
            paths: ScimPaths::new(&config.grafana.url),
            max_body_bytes: config.server.max_body_bytes,
            known_orgs: moka::future::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(Duration::from_secs(300))
                .build(),
        }
    }

    /// Also accepts Entra's own tokens (`[scim.entra]`, Entra token mode), as `verifier` judges them.
    pub fn with_entra(mut self, verifier: Option<crate::entra::Verifier>) -> Self {
        self.auth = self.auth.with_entra(verifier);
        self
    }

    /// The request path `raw` as Grafana's router resolves it ([`ScimPaths::route_path`]).
    pub fn route_path<'a>(&self, raw: &'a str) -> std::borrow::Cow<'a, str> {
        self.paths.route_path(raw)
    }

    /// Whether `raw` reaches the Grafana route `route` ([`ScimPaths::reaches`]).
    pub fn reaches(&self, raw: &str, route: &str) -> bool {
        self.paths.reaches(raw, route)
    }

    /// The path relative to the SCIM-serving root when `path` is a SCIM path
    /// ([`ScimPaths::scim_path`]).
    pub fn scim_path<'a>(&self, path: &'a str) -> Option<(&'a str, &'a str)> {
        self.paths.scim_path(path)
    }

    /// `[scim] max_results`, as discovery states it.
    fn max_results(&self) -> usize {
        self.provisioner.settings.scim.max_results
    }
}

/// Handles a request under a SCIM base path.
pub async fn handle(api: &ScimApi, req: Request<Incoming>, info: ClientInfo) -> Response<Body> {
    match api.serve(req, info).await {
        Ok(answer) => respond::success(answer),
        Err(failure) => {
            let err = &failure.error;
            debug!(status = err.status, scim_type = ?err.scim_type, detail = %err.detail, "scim error");
            respond::failure(&failure)
        }
    }
}

impl ScimApi {
    async fn serve(
        &self,
        req: Request<Incoming>,
        info: ClientInfo,
    ) -> Result<context::ScimResponse, Failure> {
        let Some((prefix, path)) = self
            .scim_path(req.uri().path())
            .and_then(|(prefix, rest)| route::parse(rest).map(|p| (prefix.to_string(), p)))
        else {
            return Err(ScimError::not_found("not a SCIM endpoint").into());
        };
        let org_id = match &path.namespace {
            Namespace::Unknown(ns) => {
                return Err(ScimError::not_found(format!("invalid namespace {ns:?}")).into())
            }
            ns => ns.org_id().unwrap_or(1),
        };
        let (kind, target) = match &path.endpoint {
            Endpoint::Unknown => return Err(ScimError::not_found("no such SCIM endpoint").into()),
            Endpoint::Me => return Err(ScimError::not_implemented("/Me is not supported").into()),
            Endpoint::Bulk => {
                return Err(ScimError::not_implemented("bulk operations are not supported").into())
            }
            Endpoint::RootSearch => {
                return Err(ScimError::not_implemented(
                    "search at the root is not supported; use /Users/.search or /Groups/.search",
                )
                .into())
            }
            Endpoint::Collection(k) => (Some(*k), Target::Collection),
            Endpoint::Resource(k, id) => (Some(*k), Target::Resource(id.clone())),
            Endpoint::Search(k) => (Some(*k), Target::Search),
            _ => (None, Target::Collection),
        };
        let grafana = &self.provisioner.grafana;
        let authorization = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let groups = kind == Some(Kind::Groups);
        let (principal, actor) = self.auth.authenticate(authorization, org_id, groups, grafana).await?;
        self.ensure_org(org_id, &path.namespace).await?;
        let base_url = decode::base_url(&req, info, &format!("{prefix}{}", path.base));

        let Some(kind) = kind else {
            let scim = &self.provisioner.settings.scim;
            let roles = crate::provision::roles::entries(scim, org_id);
            let served = discovery::serve(
                self.max_results(),
                &roles,
                scim.roles.enabled,
                &req,
                &path.endpoint,
                &base_url,
            )?;
            return Ok(served);
        };
        // Policy before anything touches Grafana: discovery (above) is exempt, Users need SAML,
        // Groups also need Team Sync off. Each resource takes the permit it was granted.
        let audit = AuditScope {
            auditor: self.auditor.clone(),
            request_id: request_id(&req),
            actor: Actor { name: actor, client: info.addr.ip().to_string() },
            namespace: ns_label(&path.namespace),
            org_id,
        };
        let method = req.method().clone();
        let scim_req = decode::request(req, target, self.max_body_bytes).await?;
        let mut scope = Scope {
            prov: &self.provisioner,
            org_id,
            principal,
            base_url,
            role_writes: crate::policy::RoleWrites::Allowed,
        };
        let dispatch = Dispatch { metrics: &self.metrics, audit: &audit, max_results: self.max_results() };
        match kind {
            Kind::Users => {
                let permit =
                    self.policy.permit_users().await.inspect_err(|f| refused(&audit, "User", &method, f))?;
                // Role changes are judged by the user write itself (the `role_sync` check).
                if method != Method::GET {
                    scope.role_writes = self.policy.role_writes().await;
                }
                dispatch.run(&Users, &permit, &scope, scim_req).await
            }
            Kind::Groups => {
                let permit = self
                    .policy
                    .permit_groups()
                    .await
                    .inspect_err(|f| refused(&audit, "Group", &method, f))?;
                dispatch.run(&Groups, &permit, &scope, scim_req).await
            }
        }
    }

    /// `org-<N>` must name an existing Grafana org. Grafana failing to say is answered as every
    /// Grafana failure is ([`failure`]).
    async fn ensure_org(&self, org_id: i64, ns: &Namespace) -> Result<(), Failure> {
        if org_id == 1 || self.known_orgs.get(&org_id).await.is_some() {
            return Ok(());
        }
        match self.provisioner.grafana.get_org(org_id).await {
            Ok(Some(_)) => {
                self.known_orgs.insert(org_id, ()).await;
                Ok(())
            }
            Ok(None) => Err(ScimError::not_found(format!(
                "invalid namespace {:?}: no such Grafana org",
                ns_label(ns)
            ))
            .into()),
            Err(e) => {
                debug!(error = %e, "cannot check the namespace's org");
                Err(ProvisionError::from(e).into())
            }
        }
    }
}

/// The request's `X-Request-Id` (the router assigned one to every request).
fn request_id<B>(req: &Request<B>) -> String {
    req.headers()
        .get(&crate::request_id::X_REQUEST_ID)
        .map(|v| crate::request_id::as_str(v).to_owned())
        .unwrap_or_default()
}

/// Records a policy refusal of a SCIM request.
fn refused(audit: &AuditScope, resource: &str, method: &Method, why: &crate::policy::PolicyRefusal) {
    let mut r = audit.record("policy", method.as_str(), crate::audit::Outcome::Refused);
    r.resource_type = resource.to_owned();
    r.reason = Some(format!("{}: {}", why.check, why.detail));
    audit.auditor.record(r);
}

fn ns_label(ns: &Namespace) -> String {
    match ns {
        Namespace::Unknown(s) => s.clone(),
        known => known.org_id().map(crate::namespace::name_of).unwrap_or_default(),
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
    use super::ScimPaths;

    #[test]
    fn routes_are_reached_as_grafana_resolves_paths_under_its_sub_path() {
        let api = ScimPaths::new("http://grafana:3000/grafana/");
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
