//! The SCIM HTTP edge: routing, authentication, request decoding and response encoding.
//!
//! It owns no business logic: requests are decoded here, handed to `provision`, and the result
//! (or a `ScimError`) is encoded as `application/scim+json`.

pub mod auth;
pub mod route;

use std::sync::Arc;

use http::{Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::app::App;
use crate::body::{full, Body};

/// Handles a request under a SCIM base path.
pub async fn handle(_app: &Arc<App>, _req: Request<Incoming>) -> Response<Body> {
    let mut res = Response::new(full(
        r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"503","detail":"SCIM endpoints are being wired"}"#,
    ));
    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    res
}
