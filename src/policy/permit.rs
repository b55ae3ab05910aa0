//! Capability handles: proof that the policy allowed a SCIM request, and the refusal when it did
//! not. Provisioning code takes `&UsersPermit` / `&GroupsPermit`, so it cannot run unchecked.
//!
//! The permits can only be made inside `policy`; this module must not decide anything itself.

use crate::scim::error::ScimError;

/// The policy allows SCIM `/Users` now.
#[derive(Debug)]
pub struct UsersPermit(pub(super) ());

/// The policy allows SCIM `/Groups` now.
#[derive(Debug)]
pub struct GroupsPermit(pub(super) ());

#[cfg(test)]
impl UsersPermit {
    /// A permit for unit tests of code that requires one.
    pub(crate) fn for_tests() -> Self {
        Self(())
    }
}

#[cfg(test)]
impl GroupsPermit {
    /// A permit for unit tests of code that requires one.
    pub(crate) fn for_tests() -> Self {
        Self(())
    }
}

/// Whether SCIM may change roles now: the `role_sync` check ([`super::report::check::ROLE_SYNC`])
/// as the request's report judged it. Provisioning refuses a write that changes a user's roles
/// with the refusal's detail, and lets every other write through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleWrites {
    /// Role sync is off, or on with nothing in Grafana overwriting it.
    Allowed,
    /// Grafana's SAML role sync would overwrite SCIM's roles (or could not be ruled out).
    Refused(PolicyRefusal),
}

/// HTTP status of every policy refusal on the SCIM edge (documented in the README): the IdP
/// sees the same code whatever the cause, and the `detail` names the cause and the fix.
pub const REFUSAL_STATUS: u16 = 403;

/// Why the policy refused a SCIM request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct PolicyRefusal {
    /// The failed check (see [`super::report::check`]).
    pub check: &'static str,
    /// What failed and how to fix it; safe to show the IdP.
    pub detail: String,
}

impl PolicyRefusal {
    /// The SCIM error the edge answers with (always [`REFUSAL_STATUS`]).
    pub fn to_scim_error(&self) -> ScimError {
        ScimError::forbidden(self.detail.clone())
    }
}

impl From<PolicyRefusal> for ScimError {
    fn from(r: PolicyRefusal) -> Self {
        r.to_scim_error()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_always_403_with_the_detail() {
        let r = PolicyRefusal { check: "saml", detail: "policy check `saml` failed: off".into() };
        let e: ScimError = r.clone().into();
        assert_eq!((e.status, e.detail.as_str()), (REFUSAL_STATUS, r.detail.as_str()));
        // Tests elsewhere in the crate may hold permits without a Grafana.
        let _ = (UsersPermit::for_tests(), GroupsPermit::for_tests());
    }
}
