//! What a group replace or PATCH changes, decided from the record and the new document alone.
//!
//! Pure: a write loads the group under its lock, applies the request to the current document,
//! asks [`decide`] which steps to run, and commits exactly those (`write`). Keeping the decision
//! here means every rule (an unchanged name costs no Grafana call; a case-only rename needs no
//! uniqueness check; only a changed externalId is checked; the record is rewritten only when
//! something it holds changes, or it becomes managed) reads in one place and is unit-tested.

use serde_json::Value;

use super::members;
use crate::provision::ProvisionError;
use crate::store::GroupRecord;

/// The steps of one group write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Plan {
    /// The group's `displayName` afterwards.
    pub name: String,
    /// Its `externalId` afterwards.
    pub external_id: Option<String>,
    /// Grafana's team is renamed.
    pub rename: bool,
    /// The new name must not belong to another team (a rename that changes more than case).
    pub check_name: bool,
    /// The new externalId must not belong to another group.
    pub check_external_id: bool,
    /// The members the group must have (SCIM user ids), when the write sets them.
    pub members: Option<Vec<String>>,
    /// The record is rewritten.
    pub save: bool,
}

/// The `displayName` of a group document (required, trimmed).
pub(super) fn display_name(doc: &Value) -> Result<String, ProvisionError> {
    doc.get("displayName")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string)
        .ok_or_else(|| ProvisionError::invalid_value("displayName is required"))
}

/// The `externalId` of a group document, when non-empty.
pub(super) fn external_id(doc: &Value) -> Option<String> {
    doc.get("externalId").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string)
}

fn already_managed(record: &GroupRecord) -> bool {
    record.attributes.get(super::MANAGED_KEY).and_then(Value::as_bool).unwrap_or(false)
}

/// The plan that turns `record` into `after`. `sets_members` is true when the write names the
/// members (a replace, or a PATCH touching `members`).
pub(super) fn decide(
    record: &GroupRecord,
    after: &Value,
    sets_members: bool,
) -> Result<Plan, ProvisionError> {
    let name = display_name(after)?;
    let external_id = external_id(after);
    let members = if sets_members { Some(members::values(after)?) } else { None };
    // Okta repeats the rename (with `id`) on every push: an unchanged name costs no write.
    let rename = name != record.display_name;
    let check_name = rename && name.to_lowercase() != record.display_name.to_lowercase();
    let check_external_id = external_id != record.external_id;
    // A marked team's first SCIM write claims it (the rewrite drops the adoption marker).
    let save = rename
        || check_external_id
        || !already_managed(record)
        || members.is_some()
        || super::adopt::is_adoptable(record);
    Ok(Plan { name, external_id, rename, check_name, check_external_id, members, save })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(name: &str, ext: Option<&str>, managed: bool) -> GroupRecord {
        let mut r = super::super::repr::new_record(1, 7, None, name, ext.map(str::to_string));
        if !managed {
            r.attributes = Value::Null;
        }
        r
    }

    #[test]
    fn an_unchanged_managed_group_needs_no_step() {
        let plan =
            decide(&record("Ops", Some("x"), true), &json!({"displayName": "Ops", "externalId": "x"}), false)
                .unwrap();
        assert!(!plan.rename && !plan.check_name && !plan.check_external_id && !plan.save);
        assert_eq!(plan.members, None);
    }

    #[test]
    fn renames_check_uniqueness_unless_only_the_case_changes() {
        let r = record("Ops", None, true);
        let case = decide(&r, &json!({"displayName": "OPS"}), false).unwrap();
        assert!(case.rename && !case.check_name && case.save);
        let other = decide(&r, &json!({"displayName": " Dev "}), false).unwrap();
        assert_eq!(other.name, "Dev");
        assert!(other.rename && other.check_name);
    }

    #[test]
    fn members_and_first_writes_save_the_record() {
        let unmanaged = decide(&record("Ops", None, false), &json!({"displayName": "Ops"}), false).unwrap();
        assert!(unmanaged.save && !unmanaged.rename);
        let doc = json!({"displayName": "Ops", "members": [{"value": "a"}, {"value": "a"}, {"value": "b"}]});
        let with = decide(&record("Ops", None, true), &doc, true).unwrap();
        assert_eq!(with.members, Some(vec!["a".to_string(), "b".to_string()]));
        assert!(with.save);
        assert!(decide(&record("Ops", None, true), &json!({"displayName": " "}), false).is_err());
    }

    #[test]
    fn a_changed_external_id_is_checked() {
        let plan =
            decide(&record("Ops", Some("x"), true), &json!({"displayName": "Ops", "externalId": "y"}), false)
                .unwrap();
        assert!(plan.check_external_id && plan.save);
        assert_eq!(plan.external_id.as_deref(), Some("y"));
    }
}
