//! SCIM Groups ↔ Grafana teams: being built (issue 6).

use crate::scim::error::ScimError;
use crate::scim_api::context::{ScimContext, ScimRequest, ScimResponse};

/// Handles a request under `/Groups`.
pub async fn handle(
    _ctx: &ScimContext<'_>,
    _permit: &crate::policy::GroupsPermit,
    _req: ScimRequest,
) -> Result<ScimResponse, ScimError> {
    Err(ScimError::not_implemented("SCIM Groups are not available in this build"))
}
