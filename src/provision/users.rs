//! SCIM Users ↔ Grafana users: being built (issue 5).

use crate::scim::error::ScimError;
use crate::scim_api::context::{ScimContext, ScimRequest, ScimResponse};

/// Handles a request under `/Users`.
pub async fn handle(
    _ctx: &ScimContext<'_>,
    _permit: &crate::policy::UsersPermit,
    _req: ScimRequest,
) -> Result<ScimResponse, ScimError> {
    Err(ScimError::not_implemented("SCIM Users are not available in this build"))
}
