//! The public listener's dispatch: SCIM, the SAML gate, passthrough guards, or the proxy.
//!
//! Each request is classified once into a route class (a small closed set used as the metrics
//! label and in the completion log event) and handled by exactly one component.

use std::sync::Arc;
use std::time::Instant;

use http::{Request, Response};
use hyper::body::Incoming;
use tracing::info;

use crate::app::App;
use crate::body::Body;
use crate::proxy::headers::is_upgrade_request;
use crate::scim_api::route::is_scim_path;
use crate::server::ClientInfo;

/// Route classes, as they appear in metrics and logs.
pub mod class {
    pub const PROXY: &str = "proxy";
    pub const WEBSOCKET: &str = "websocket";
    pub const SCIM: &str = "scim";
}

/// Handles one request on the public listener and records its completion.
pub async fn handle(app: Arc<App>, req: Request<Incoming>, info: ClientInfo) -> Response<Body> {
    let started = Instant::now();
    let method = req.method().clone();
    let path_class;
    let response = if is_scim_path(req.uri().path()) {
        path_class = class::SCIM;
        crate::scim_api::handle(&app, req, info).await
    } else {
        path_class = if is_upgrade_request(req.headers()) { class::WEBSOCKET } else { class::PROXY };
        match crate::guard::check(&app, req.method(), req.uri().path(), req.headers()).await {
            Some(refused) => refused,
            None => app.forwarder.forward(req, info).await,
        }
    };
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    app.metrics.observe_request(path_class, status, elapsed.as_secs_f64());
    info!(
        method = %method,
        route = path_class,
        status,
        latency_ms = elapsed.as_secs_f64() * 1000.0,
        client = %info.addr.ip(),
        "request completed"
    );
    response
}
