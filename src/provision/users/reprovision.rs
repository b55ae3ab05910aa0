//! `POST /Users` naming a user SCIM deactivated (issue 29).
//!
//! Okta's re-assignment flow (and any IdP re-provisioning after an unassignment) POSTs the person
//! again with the same `userName` or `externalId` instead of PATCHing `active: true`. A 409 would
//! leave the IdP stuck on a user it cannot see as its own, so such a POST replaces the deactivated
//! user's document, reactivates it (the same steps as a PATCH: `update` then `lifecycle`), and
//! answers 201 with the same id. Only an active match is a duplicate (409 `uniqueness`); so is a
//! POST whose userName and externalId name two different people.
//!
//! The decision ([`judge`]) is pure; the write runs under the user's own lock, where the record is
//! checked again (a concurrent reactivation turns this POST into a duplicate) and the caller's
//! authority is judged as for a create (`authority::Act::Create`: refusals are 409).

use serde_json::Value;

use super::update::{write_as, Change, Writer};
use crate::provision::{ProvisionError, Scope, Shown};
use crate::store::UserRecord;

/// What the records claiming a create's userName and externalId make of it.
#[derive(Debug, PartialEq)]
pub enum Claim {
    /// Nobody SCIM manages: create, or adopt a Grafana user.
    Free,
    /// A user SCIM DELETEd (hidden): brought back by `create::revive`.
    Deleted(Box<UserRecord>),
    /// A user SCIM deactivated: reactivated by [`reactivate`] (its SCIM id).
    Deactivated(String),
}

/// A live managed record: SCIM owns it and shows it.
fn live(rec: &UserRecord) -> bool {
    rec.managed && !rec.deleted
}

/// Judges a create from the record holding its userName (`by_name`) and the one holding its
/// externalId (`by_ext`; the same record or another).
///
/// # Errors
/// 409 `uniqueness` when an active user holds either, or when a deactivated user holds one and
/// another person the other.
pub fn judge(by_name: Option<&UserRecord>, by_ext: Option<&UserRecord>) -> Result<Claim, ProvisionError> {
    for (rec, field) in [(by_name, "userName"), (by_ext, "externalId")] {
        if rec.is_some_and(|r| live(r) && r.active) {
            return Err(ProvisionError::uniqueness(format!("a user with this {field} already exists")));
        }
    }
    let deactivated = by_name.into_iter().chain(by_ext).find(|r| live(r));
    if let Some(d) = deactivated {
        let other = by_name.into_iter().chain(by_ext).find(|r| r.scim_id != d.scim_id);
        if other.is_some_and(|o| o.managed || o.deleted) {
            return Err(ProvisionError::uniqueness(
                "the userName and the externalId belong to two different users",
            ));
        }
        return Ok(Claim::Deactivated(d.scim_id.clone()));
    }
    Ok(match by_name.into_iter().chain(by_ext).find(|r| r.deleted) {
        Some(deleted) => Claim::Deleted(Box::new(deleted.clone())),
        None => Claim::Free,
    })
}

/// Replaces the deactivated user `id` with the POSTed `body` and reactivates it (unless the body
/// says `active: false`). The caller holds no lock (the write takes the user's own).
///
/// # Errors
/// As a `PUT`, with 409 for refusals and for a user reactivated meanwhile; a retryable error when
/// the Grafana user was deleted behind the sidecar's back (its stale record is dropped).
pub async fn reactivate(ctx: &Scope<'_>, id: &str, body: Value) -> Result<Shown, ProvisionError> {
    match write_as(ctx, id, Change::Replace(body), None, Writer::Reprovision).await {
        Err(ProvisionError::NotFound(_)) => {
            Err(ProvisionError::retry("stale record removed; retry the request"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str, active: bool, deleted: bool, managed: bool) -> UserRecord {
        let now = chrono::Utc::now();
        UserRecord {
            scim_id: id.into(),
            org_id: 1,
            grafana_user_id: 7,
            grafana_uid: None,
            user_name: format!("{id}@example.com"),
            external_id: Some(format!("ext-{id}")),
            email: None,
            active,
            deleted,
            managed,
            attributes: Value::Null,
            restore: None,
            created: now,
            last_modified: now,
            version: 1,
        }
    }

    #[test]
    fn only_an_active_match_is_a_duplicate() {
        let active = rec("a", true, false, true);
        let off = rec("b", false, false, true);
        let gone = rec("c", false, true, true);
        let seen = rec("d", true, false, false);
        let conflict = |r: Result<Claim, ProvisionError>| matches!(r, Err(ProvisionError::Conflict(_)));
        assert!(conflict(judge(Some(&active), None)));
        assert!(conflict(judge(None, Some(&active))));
        assert!(conflict(judge(Some(&off), Some(&active))));
        assert_eq!(judge(Some(&off), None).unwrap(), Claim::Deactivated("b".into()));
        assert_eq!(judge(None, Some(&off)).unwrap(), Claim::Deactivated("b".into()));
        assert_eq!(judge(Some(&off), Some(&off)).unwrap(), Claim::Deactivated("b".into()));
        // Two different people: no single one to bring back.
        assert!(conflict(judge(Some(&off), Some(&gone))));
        assert!(conflict(judge(Some(&gone), Some(&rec("e", false, false, true)))));
        // An unmanaged sighting does not stand in the way (as on PUT).
        assert_eq!(judge(Some(&seen), Some(&off)).unwrap(), Claim::Deactivated("b".into()));
        assert_eq!(judge(Some(&gone), None).unwrap(), Claim::Deleted(Box::new(gone.clone())));
        assert_eq!(judge(Some(&seen), None).unwrap(), Claim::Free);
        assert_eq!(judge(None, None).unwrap(), Claim::Free);
    }
}
