//! The login decision: pure, over what the verified assertion says and the store's records.
//!
//! Order (issue 8): a SCIM-managed user matched by login or email whose stored `externalId`
//! differs from the assertion's external UID is refused (impersonation through a mutable email);
//! a SCIM-managed user who is deactivated or deleted is refused; with no SCIM-managed match and
//! `reject_non_provisioned_users` on, the person is refused; otherwise the login goes on to
//! Grafana. Like Grafana Enterprise, equality is required: a managed user without a stored
//! `externalId`, or an assertion without the UID attribute, never matches.
//!
//! This module performs no I/O and never builds responses.

use crate::store::UserRecord;

/// What the assertion says about the person, as Grafana would read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    pub external_uid: Option<String>,
    pub login: Option<String>,
    pub email: Option<String>,
}

/// Why a login was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A managed user matched by login/email carries another (or no) `externalId`.
    ExternalIdMismatch,
    /// The managed user is deactivated or deleted through SCIM.
    Deactivated,
    /// Nobody SCIM provisioned, and `reject_non_provisioned_users` is on.
    NotProvisioned,
    /// The SAML response failed verification.
    Invalid,
    /// The gate cannot decide (no IdP metadata, store unavailable): it fails closed.
    Unavailable,
}

impl Refusal {
    /// The `kind` label of `saml_gate_decisions`.
    pub fn metric_kind(self) -> &'static str {
        match self {
            Refusal::ExternalIdMismatch => "externalid_mismatch",
            Refusal::Deactivated => "deactivated",
            Refusal::NotProvisioned => "not_provisioned",
            Refusal::Invalid => "invalid",
            Refusal::Unavailable => "unavailable",
        }
    }
}

/// The gate's verdict on a verified login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Forward,
    Refuse(Refusal),
}

/// Decides on `identity` given every store record found by its login, email or external UID (any
/// org). A record found by the external UID alone carries that UID, so it never mismatches.
pub fn decide(identity: &Identity, candidates: &[UserRecord], reject_non_provisioned: bool) -> Decision {
    let managed: Vec<&UserRecord> = candidates.iter().filter(|u| u.managed).collect();
    let uid = identity.external_uid.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let mismatch = managed.iter().any(|u| match (uid, u.external_id.as_deref()) {
        (Some(a), Some(b)) => a != b,
        _ => true,
    });
    if mismatch {
        return Decision::Refuse(Refusal::ExternalIdMismatch);
    }
    if managed.iter().any(|u| u.deleted || !u.active) {
        return Decision::Refuse(Refusal::Deactivated);
    }
    // A user created in shadow mode (placeholder Grafana id) is not provisioned: Grafana does not
    // have them, and the rehearsal must not let them in (Grafana's SAML sign-up would create them).
    let provisioned = managed.iter().any(|u| !crate::grafana::shadow::is_placeholder(u.grafana_user_id));
    if !provisioned && reject_non_provisioned {
        return Decision::Refuse(Refusal::NotProvisioned);
    }
    Decision::Forward
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn rec(ext: Option<&str>, active: bool, deleted: bool, managed: bool) -> UserRecord {
        UserRecord {
            scim_id: "5f0c6c4e-0b5e-4d59-9d1e-6c0f0e3a9b11".into(),
            org_id: 1,
            grafana_user_id: 7,
            grafana_uid: None,
            user_name: "alice".into(),
            external_id: ext.map(str::to_string),
            email: Some("alice@example.com".into()),
            active,
            deleted,
            managed,
            attributes: serde_json::json!({}),
            restore: None,
            created: Utc::now(),
            last_modified: Utc::now(),
            version: 1,
        }
    }

    fn who(uid: Option<&str>) -> Identity {
        Identity {
            external_uid: uid.map(str::to_string),
            login: Some("alice".into()),
            email: Some("alice@example.com".into()),
        }
    }

    #[test]
    fn matching_active_managed_user_is_forwarded() {
        let d = decide(&who(Some("u-1")), &[rec(Some("u-1"), true, false, true)], true);
        assert_eq!(d, Decision::Forward);
    }

    #[test]
    fn a_user_only_shadow_mode_created_is_not_provisioned() {
        let mut planned = rec(Some("u-1"), true, false, true);
        planned.grafana_user_id = -42;
        let refused = Decision::Refuse(Refusal::NotProvisioned);
        assert_eq!(decide(&who(Some("u-1")), &[planned.clone()], true), refused);
        // Its SCIM state still refuses: a deactivated or mismatching shadow record keeps the door shut.
        planned.active = false;
        assert_eq!(
            decide(&who(Some("u-1")), &[planned.clone()], false),
            Decision::Refuse(Refusal::Deactivated)
        );
        assert_eq!(
            decide(&who(Some("u-2")), &[planned], false),
            Decision::Refuse(Refusal::ExternalIdMismatch)
        );
    }

    #[test]
    fn mismatch_wins_over_deactivation() {
        let users = [rec(Some("u-1"), false, false, true), rec(Some("u-2"), true, false, true)];
        assert_eq!(decide(&who(Some("u-1")), &users, false), Decision::Refuse(Refusal::ExternalIdMismatch));
    }

    #[test]
    fn missing_uid_on_either_side_is_a_mismatch() {
        let r = Decision::Refuse(Refusal::ExternalIdMismatch);
        assert_eq!(decide(&who(None), &[rec(Some("u-1"), true, false, true)], false), r);
        assert_eq!(decide(&who(Some("u-1")), &[rec(None, true, false, true)], false), r);
        assert_eq!(decide(&who(Some("  ")), &[rec(Some("u-1"), true, false, true)], false), r);
    }

    #[test]
    fn deactivated_or_deleted_is_refused() {
        let r = Decision::Refuse(Refusal::Deactivated);
        assert_eq!(decide(&who(Some("u-1")), &[rec(Some("u-1"), false, false, true)], false), r);
        assert_eq!(decide(&who(Some("u-1")), &[rec(Some("u-1"), true, true, true)], false), r);
    }

    #[test]
    fn unmanaged_records_do_not_count() {
        let users = [rec(Some("other"), false, false, false)];
        assert_eq!(decide(&who(Some("u-1")), &users, false), Decision::Forward);
        assert_eq!(decide(&who(Some("u-1")), &users, true), Decision::Refuse(Refusal::NotProvisioned));
        assert_eq!(decide(&who(None), &[], true), Decision::Refuse(Refusal::NotProvisioned));
        assert_eq!(decide(&who(None), &[], false), Decision::Forward);
    }
}
