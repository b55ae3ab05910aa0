//! The admin listener: `/healthz` (the process is alive), `/readyz` (Grafana answers and the store
//! opens; the policy summary is reported but does not affect readiness) and `/metrics` (Prometheus
//! text). Kept off the public listener so it can be firewalled.

use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use crate::app::App;
use crate::body::{full, Body};

/// Handles one admin request.
pub async fn handle(app: Arc<App>, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" => readyz(&app).await,
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

async fn readyz(app: &App) -> Response<Body> {
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
        // Informational too: a gate that is off, or cannot obtain IdP metadata, says so here.
        "saml_gate": {
            "enabled": app.config.saml_gate.enabled,
            "warnings": gate_warnings(app, &policy.saml),
        },
    });
    let status = if grafana_ok && store_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let mut res = Response::new(full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    res
}

/// What the login gate would warn about now (`check` shows the same).
pub fn gate_warnings(app: &App, saml: &crate::policy::saml::SamlState) -> Vec<String> {
    crate::login_gate::settings::GateReport::new(&app.config.saml_gate, &app.config.grafana.url, saml)
        .with_scim_active(app.policy.scim_active())
        .warnings
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut res = Response::new(full(body.to_string()));
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    res
}
