//! [`Snapshot`]: what the policy says right now, as plain values, for components that enforce it
//! on the passthrough path (the guards in `crate::guard`) without depending on the engine's
//! internals. Policy owns these verdicts; it knows nothing of who reads them.

/// The policy's verdicts a passthrough guard decides on. Cheap to copy; taken once per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// SCIM is served to someone (a token, a token file, or Grafana tokens accepted): objects
    /// may be SCIM-managed.
    pub scim_active: bool,
    /// SCIM group sync is on (`[policy] group_sync`): Team Sync links would undo it.
    pub group_sync: bool,
    /// SAML logins are required (`[policy] require_saml`): turning SAML off would break SCIM.
    pub require_saml: bool,
    /// SCIM role sync is on (`[scim.roles] enabled`, SCIM active): org roles of managed users are
    /// SCIM's.
    pub role_sync: bool,
    /// ...and `[scim.roles] grafana_admin_values` is set: so is their server-admin flag.
    pub admin_sync: bool,
}
