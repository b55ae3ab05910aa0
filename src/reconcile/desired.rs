//! What the sidecar wants Grafana to hold for one SCIM record, where that is a setting rather than
//! a SCIM attribute: today the org role of a provisioned user. Pure; the one place `reconcile`
//! asks, so that role sync can change the answer here.

use crate::config::ScimConfig;
use crate::store::UserRecord;

/// The org role the sidecar gives `user` in its org: `[scim] default_role`.
pub fn org_role(scim: &ScimConfig, _user: &UserRecord) -> String {
    scim.default_role.clone()
}
