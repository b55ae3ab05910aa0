//! The version a client holds (`If-Match`, RFC 7644 §3.14) against a group's current one.
//!
//! A client's tag is checked against the tags a GET would show now: the one over the group with
//! its members, and the one a GET that left members out shows (a client holding such a copy
//! asserts nothing about members). Grafana's copies are read only when the header is present;
//! members include the group's pending (deactivated) ones, as a GET shows them.

use std::borrow::Cow;

use super::repr::{member_ids, stored_doc, tag};
use crate::provision::{expect_version, ProvisionError, Scope};
use crate::store::GroupRecord;

/// Grafana's members of the group, as far as the caller has read them.
pub(super) enum Members {
    /// Not read: the check reads them (only when the client holds a version).
    Unread,
    /// Already mapped to SCIM ids (pending members included).
    Known(Vec<String>),
}

/// Passes when `If-Match` is absent or names the group's current tag. `team_name` is Grafana's
/// copy when the caller already read it. A team Grafana no longer has has no current version:
/// 412 (RFC 7232 §3.1).
pub(super) async fn check(
    ctx: &Scope<'_>,
    expected: Option<&str>,
    record: &GroupRecord,
    team_name: Option<&str>,
    members: Members,
) -> Result<(), ProvisionError> {
    let Some(header) = expected else { return Ok(()) };
    let name = match team_name {
        Some(n) => Cow::Borrowed(n),
        None => match super::shadow::team(ctx, record.grafana_team_id).await? {
            Some(t) => Cow::Owned(t.name),
            None => return Err(ProvisionError::precondition_failed("the group has no current version")),
        },
    };
    let list = match members {
        Members::Known(ids) => {
            return matches(header, record, &name, ids.iter().map(String::as_str).collect())
        }
        Members::Unread => super::pending::read(ctx, record.grafana_team_id).await?.1,
    };
    matches(header, record, &name, member_ids(&list))
}

/// The full tag or the one without members against the header.
fn matches(header: &str, record: &GroupRecord, name: &str, ids: Vec<&str>) -> Result<(), ProvisionError> {
    let stored = stored_doc(record, Some(name));
    let full = tag(&record.scim_id, &stored, Some(ids));
    let lean = tag(&record.scim_id, &stored, None);
    expect_version(Some(header), &full).or_else(|_| expect_version(Some(header), &lean))
}
