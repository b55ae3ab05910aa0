//! `If-Match` on group writes (RFC 7644 §3.14).
//!
//! A client's tag is checked against the tags a GET would show now: the one over the group with
//! its members, and the one a GET that left members out shows (a client holding such a copy
//! asserts nothing about members). Grafana's copies are read only when the header is present.

use std::borrow::Cow;

use super::repr::{member_records, stored_doc, tag};
use super::upstream;
use crate::grafana::model::TeamMember;
use crate::scim::error::ScimError;
use crate::scim_api::context::{ScimContext, ScimRequest};
use crate::store::GroupRecord;

/// Passes when `If-Match` is absent or names the group's current tag. `team_name` and `members`
/// are Grafana's copies when the caller already read them. A team Grafana no longer has has no
/// current version: 412 (RFC 7232 §3.1).
pub(super) async fn check(
    ctx: &ScimContext<'_>,
    req: &ScimRequest,
    record: &GroupRecord,
    team_name: Option<&str>,
    members: Option<&[TeamMember]>,
) -> Result<(), ScimError> {
    let Some(header) = req.if_match.as_deref() else { return Ok(()) };
    let name = match team_name {
        Some(n) => Cow::Borrowed(n),
        None => match ctx.app.grafana.get_team(ctx.org_id, record.grafana_team_id).await {
            Ok(t) => Cow::Owned(t.name),
            Err(e) if e.is_not_found() => {
                return Err(ScimError::precondition_failed("the group has no current version"))
            }
            Err(e) => return Err(upstream(e)),
        },
    };
    let members = match members {
        Some(m) => Cow::Borrowed(m),
        None => Cow::Owned(
            ctx.app.grafana.team_members(ctx.org_id, record.grafana_team_id).await.map_err(upstream)?,
        ),
    };
    let users = member_records(ctx, &members).await?;
    let stored = stored_doc(record, Some(&name));
    let ids = members.iter().filter_map(|m| users.get(&m.user_id)).map(|u| u.scim_id.as_str());
    let full = tag(&record.scim_id, &stored, Some(ids));
    let lean = tag(&record.scim_id, &stored, None::<std::iter::Empty<&str>>);
    crate::scim::etag::if_match(Some(header), &full)
        .or_else(|_| crate::scim::etag::if_match(Some(header), &lean))
}
