//! `ServiceProviderConfig`, `ResourceTypes` and `Schemas` (RFC 7644 §4), generated from
//! `scim::schema` so that what is declared is exactly what is served; and the read-only `/Roles`
//! (`scim::roles`) with its `Role` type and schema while role sync is on.

use http::{Method, Request};
use hyper::body::Incoming;

use super::context::ScimResponse;
use super::route::Endpoint;
use crate::scim::discovery::{self, DiscoveryConfig};
use crate::scim::error::ScimError;
use crate::scim::roles::RoleEntry;

/// What the sidecar supports, stated truthfully.
pub fn config(max_results: usize) -> DiscoveryConfig {
    // Users and Groups both send weak ETags (`meta.version` and the `ETag` header), answer
    // `If-None-Match` with 304 and refuse a stale `If-Match` with 412; sorting is not offered.
    DiscoveryConfig { max_results, etag_supported: true, ..DiscoveryConfig::default() }
}

/// Serves one discovery endpoint.
///
/// # Errors
/// 405 for methods other than GET, 403 for a `filter` (RFC 7644 §4), 404 for unknown names.
pub fn serve(
    max_results: usize,
    roles: &[RoleEntry],
    roles_on: bool,
    req: &Request<Incoming>,
    endpoint: &Endpoint,
    base: &str,
) -> Result<ScimResponse, ScimError> {
    if req.method() != Method::GET {
        return Err(ScimError::method_not_allowed("discovery endpoints and /Roles only answer GET"));
    }
    let has_filter = req
        .uri()
        .query()
        .is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k.eq_ignore_ascii_case("filter")));
    if has_filter {
        return Err(ScimError::forbidden("filtering is not supported on discovery endpoints and /Roles"));
    }
    let body = match endpoint {
        Endpoint::ServiceProviderConfig => discovery::service_provider_config(&config(max_results), base),
        Endpoint::ResourceTypes => discovery::resource_types_with_roles(base, roles_on),
        Endpoint::ResourceType(name) => discovery::resource_type_by_name_with_roles(name, base, roles_on)
            .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")))?,
        Endpoint::Schemas => discovery::schemas_with_roles(base, roles_on),
        Endpoint::Schema(urn) => discovery::schema_by_urn_with_roles(urn, base, roles_on)
            .ok_or_else(|| ScimError::not_found(format!("no schema {urn:?}")))?,
        Endpoint::Roles | Endpoint::Role(_) if !roles_on => {
            return Err(ScimError::not_found("/Roles is served only with [scim.roles] enabled = true"))
        }
        Endpoint::Roles => crate::scim::roles::list(roles, base),
        Endpoint::Role(id) => crate::scim::roles::by_id(roles, id, base)
            .ok_or_else(|| ScimError::not_found(format!("no role {id:?}")))?,
        _ => return Err(ScimError::not_found("no such SCIM endpoint")),
    };
    Ok(ScimResponse::ok(body))
}
