//! The admin listener: `/healthz` (the process is alive), `/readyz` (Grafana answers and the store
//! opens; the policy summary is reported but does not affect readiness), `/metrics` (Prometheus
//! text) and `/audit` (the audit log, [`audit`]). Kept off the public listener so it can be
//! firewalled; with `[admin] token` set, `/metrics` and `/audit` also require it as a bearer
//! token (`/healthz` and `/readyz` never do: probes carry no credentials).

pub mod audit;

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use crate::body::{full, Body};
use crate::config::{Config, SamlGateConfig};
use crate::grafana::GrafanaClient;
use crate::metrics::Metrics;
use crate::policy::PolicyEngine;
use crate::store::MappingStore;

/// What the admin listener reads: built once by the assembly (`app`).
pub struct Admin {
    pub metrics: Metrics,
    pub grafana: GrafanaClient,
    pub store: Arc<dyn MappingStore>,
    pub policy: PolicyEngine,
    /// `[saml_gate]`, and Grafana's URL its warnings are judged against.
    pub gate: SamlGateConfig,
    pub grafana_url: String,
    /// `[admin] token`, when set.
    pub token: audit::AdminToken,
    /// Flushed before `/audit` reads, so this process's records are visible.
    pub auditor: crate::audit::Auditor,
    /// `[scim] mode`, reported by `/readyz` (shadow mode is a line, not a failure).
    pub scim_mode: crate::config::ScimMode,
}

impl Admin {
    pub fn new(
        config: &Config,
        metrics: Metrics,
        grafana: GrafanaClient,
        store: Arc<dyn MappingStore>,
        policy: PolicyEngine,
    ) -> Self {
        Self {
            metrics,
            grafana,
            store,
            policy,
            gate: config.saml_gate.clone(),
            grafana_url: config.grafana.url.clone(),
            token: audit::AdminToken::new(config.admin.token.as_ref().map(|t| t.expose())),
            auditor: crate::audit::Auditor::disabled(),
            scim_mode: config.scim.mode,
        }
    }

    /// The same admin state, flushing `auditor` before `/audit` reads.
    #[must_use]
    pub fn with_auditor(mut self, auditor: crate::audit::Auditor) -> Self {
        self.auditor = auditor;
        self
    }

    /// What the login gate would warn about now (`check` shows the same).
    pub fn gate_warnings(&self, saml: &crate::policy::saml::SamlState) -> Vec<String> {
        crate::login_gate::settings::GateReport::new(&self.gate, &self.grafana_url, saml)
            .with_scim_active(self.policy.scim_active())
            .warnings
    }
}

/// Handles one admin request.
pub async fn handle(app: Arc<Admin>, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => readyz(&app).await,
        "/metrics" | "/audit" if !app.token.allows(req.headers()) => audit::unauthorized(),
        "/audit" => audit::serve(&app, req.uri()).await,
        "/metrics" => {
            let mut res = text(StatusCode::OK, &app.metrics.render());
            res.headers_mut().insert(
                CONTENT_TYPE,
                http::HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            res
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

async fn readyz(app: &Admin) -> Response<Body> {
    let (grafana, store, policy) = tokio::join!(app.grafana.health(), app.store.ping(), app.policy.report());
    let grafana_ok = grafana.is_ok();
    let store_ok = store.is_ok();
    let body = json!({
        "ready": grafana_ok && store_ok,
        "checks": {
            "grafana": match &grafana { Ok(h) => json!({"ok": true, "version": h.version}), Err(e) => json!({"ok": false, "error": e.to_string()}) },
            "store": match &store { Ok(()) => json!({"ok": true, "backend": app.store.backend_name()}), Err(e) => json!({"ok": false, "error": e.to_string()}) },
        },
        // Informational: a policy violation refuses SCIM requests but does not make the sidecar
        // unready (the proxy keeps serving Grafana).
        "policy": policy.summary(),
        // Informational: shadow mode writes nothing to Grafana (see `[scim] mode`).
        "scim_mode": app.scim_mode,
        // Informational too: a gate that is off, or cannot obtain IdP metadata, says so here.
        "saml_gate": {
            "enabled": app.gate.enabled,
            "warnings": app.gate_warnings(&policy.saml),
        },
    });
    let status = if grafana_ok && store_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut res = Response::new(full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    res
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut res = Response::new(full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    res
}
