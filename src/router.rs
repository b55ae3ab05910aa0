//! The public listener's dispatch: SCIM, the SAML gate, passthrough guards, or the proxy.
//!
//! Each request is first normalised ([`crate::edge`]: hop-by-hop and identity headers, the
//! forwarding chain), so every component and the request forwarded read the same headers; it is
//! then classified once into a route class (a small closed set used as the metrics label and in
//! the completion log event) and handled by exactly one component. The path as Grafana resolves
//! it ([`RoutePath`]) is computed once here and handed to the login gate's routing and the
//! guards, whose one pipeline ([`crate::guard::screen`]) decides every write.

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response};
use hyper::body::Incoming;
use tracing::{info, Instrument};

use crate::body::Body;
use crate::edge::Edge;
use crate::guard::{Decision, Guards};
use crate::login_gate::LoginGate;
use crate::metrics::{KindLabels, Metrics};
use crate::policy::PolicyEngine;
use crate::proxy::headers::is_upgrade_request;
use crate::proxy::response::Synthetic;
use crate::proxy::Forwarder;
use crate::route_path::RoutePath;
use crate::scim_api::ScimApi;
use crate::server::ClientInfo;

/// The public listener's parts, built once by the assembly (`app`), each owning its own state.
pub struct Router {
    /// How every request is normalised before routing (`[server] trusted_proxies`, `strip_headers`).
    pub edge: Edge,
    /// The last policy report names Grafana's identity headers, which the edge strips.
    pub policy: PolicyEngine,
    /// The SCIM edge (and, behind it, provisioning).
    pub scim: ScimApi,
    /// The SAML login gate, when `[saml_gate] enabled`.
    pub gate: Option<LoginGate>,
    /// The passthrough guard pipeline.
    pub guards: Guards,
    /// Streams everything else to Grafana.
    pub forwarder: Forwarder,
    pub metrics: Metrics,
}

/// Route classes, as they appear in metrics and logs.
pub mod class {
    pub const PROXY: &str = "proxy";
    pub const WEBSOCKET: &str = "websocket";
    pub const SCIM: &str = "scim";
    pub const SAML_ACS: &str = "saml_acs";
    /// A passthrough request refused by a guard.
    pub const GUARD: &str = "guard";
}

/// Handles one request on the public listener and records its completion.
/// Every log event of the request carries its `X-Request-Id` ([`crate::request_id`]), which goes
/// to Grafana with the request and back to the client on the response.
pub async fn handle(app: Arc<Router>, mut req: Request<Incoming>, info: ClientInfo) -> Response<Body> {
    let started = Instant::now();
    let last = app.policy.last_report();
    let grafana_names = last.as_ref().map_or(&[][..], |r| r.header_logins.header_names.as_slice());
    app.edge.normalise(&mut req, info.addr.ip(), grafana_names);
    let request_id = crate::request_id::assign(req.headers_mut());
    let span = tracing::info_span!("request", request_id = crate::request_id::as_str(&request_id));
    let mut response = dispatch(app, req, info, started).instrument(span).await;
    response.headers_mut().insert(crate::request_id::X_REQUEST_ID.clone(), request_id);
    response
}

/// Hands the normalised request to exactly one component and records its completion.
async fn dispatch(
    app: Arc<Router>,
    req: Request<Incoming>,
    info: ClientInfo,
    started: Instant,
) -> Response<Body> {
    let method = req.method().clone();
    let path_class;
    let response = if app.scim.scim_path(req.uri().path()).is_some() {
        path_class = class::SCIM;
        Box::pin(crate::scim_api::handle(&app.scim, req, info)).await
    } else {
        let raw = req.uri().path();
        let path = RoutePath::new(raw, app.scim.route_path(raw));
        if let Some(gate) = gate_for(&app, &path) {
            path_class = class::SAML_ACS;
            if req.method() == http::Method::POST {
                Box::pin(gate.handle(req, info, &app.forwarder)).await
            } else {
                acs_method_not_allowed()
            }
        } else if !crate::guard::may_refuse(req.method()) {
            // Reads (and WebSocket handshakes, which are GETs) go straight through: no guard refuses them.
            path_class = if is_upgrade_request(req.headers()) { class::WEBSOCKET } else { class::PROXY };
            app.forwarder.forward(req, info).await
        } else {
            // Boxed: the guards' futures are large and only writes pay for them.
            let (class, response) = Box::pin(guarded(&app, req, &path, info)).await;
            path_class = class;
            response
        }
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    app.metrics.observe_request(path_class, status, elapsed.as_secs_f64());
    // For proxied requests: Grafana's own status, or the failure that made the sidecar answer.
    let synthetic = response.extensions().get::<Synthetic>().map(|s| s.0);
    if let Some(kind) = synthetic.filter(|k| !matches!(*k, "framing" | "target")) {
        app.metrics.upstream_errors.get_or_create(&KindLabels { kind }).inc();
    }
    let proxied = matches!(path_class, class::PROXY | class::WEBSOCKET);
    let upstream_status = (proxied && synthetic.is_none()).then_some(status);
    info!(
        method = %method,
        route = path_class,
        status,
        upstream_status,
        upstream_error = synthetic,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        client = %info.addr.ip(),
        "request completed"
    );
    response
}

/// The login gate, when it is on and `path` is its ACS path with any method, however spelled
/// ([`crate::route_path`]: `/saml/%61cs` and `/saml/acs/` reach Grafana's ACS handler too).
fn gate_for<'a>(app: &'a Router, path: &RoutePath) -> Option<&'a LoginGate> {
    app.gate.as_ref().filter(|g| path.reaches(&app.scim.route_path(g.acs_path())))
}

/// The gate's answer to anything but `POST` on the ACS path: nothing else reaches Grafana there.
fn acs_method_not_allowed() -> Response<Body> {
    let body = serde_json::json!({"message": "Method Not Allowed", "statusCode": 405});
    let mut res = Response::new(crate::body::full(body.to_string()));
    *res.status_mut() = http::StatusCode::METHOD_NOT_ALLOWED;
    let headers = res.headers_mut();
    headers.insert(http::header::ALLOW, http::HeaderValue::from_static("POST"));
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    res
}

/// A write on its way to Grafana: the guard pipeline decides ([`crate::guard::screen`]), then
/// the proxy forwards it or the one guard responder answers. Returns the route class with the
/// response.
async fn guarded(
    app: &Router,
    mut req: Request<Incoming>,
    path: &RoutePath,
    info: ClientInfo,
) -> (&'static str, Response<Body>) {
    req.extensions_mut().insert(info); // the audit record of a refusal names the client
    match crate::guard::screen(&app.guards, req, path).await {
        Decision::Forward(req) => (class::PROXY, app.forwarder.forward(req, info).await),
        Decision::Refuse(refusal) => (class::GUARD, crate::guard::respond(&app.guards.metrics, &refusal)),
    }
}
