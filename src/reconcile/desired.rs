//! What the sidecar wants Grafana to hold for one SCIM record, where that is a setting rather than
//! a SCIM attribute: the org role of a provisioned user. Pure; the one place `reconcile` asks.

use crate::config::ScimConfig;
use crate::store::UserRecord;

/// The org role the sidecar gives `user` in its org, and whether that role is SCIM's to keep.
///
/// With role sync on (`[scim.roles]`), the role the user's SCIM roles map to (`default_role`
/// when none is mapped): a different role in Grafana is drift. With it off, the role belongs to
/// Grafana's SAML role sync (set at every login), so a different role is not drift, and
/// `default_role` is only the role a user who lost the org membership joins again with.
pub fn org_role(scim: &ScimConfig, user: &UserRecord) -> (String, bool) {
    match crate::provision::roles::desired_org_role(scim, user.org_id, &user.attributes) {
        Some(role) => (role, true),
        None => (scim.default_role.clone(), false),
    }
}
