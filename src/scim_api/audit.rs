//! The SCIM edge's audit glue: one record per SCIM write (create, replace, PATCH, delete) and per
//! policy refusal, and a `drift` record for each drift an operation noticed.
//!
//! Before and after are the resource's SCIM representations as the write had them: the before
//! state provisioning loaded anyway (noted through [`crate::audit::notes`]), the after state from
//! the answer, or from the write's own plan when it answers without a body (a group PATCH);
//! [`crate::audit::diff`] names the changed fields. No Grafana call is made for the audit: the
//! call budgets of the SCIM operations hold with it on. Grafana calls, deferrals and drift come
//! from the same notes.

use serde_json::Value;

use crate::audit::notes::{self, Notes};
use crate::audit::{diff, Actor, AuditRecord, Auditor, Outcome};
use crate::metrics::ScimOperation;
use crate::provision::{Op, Outcome as Done, ProvisionError, Resource, Scope};
use crate::scim::ResourceType;

/// Who and what a request's records carry.
#[derive(Debug, Clone)]
pub(super) struct AuditScope {
    pub auditor: Auditor,
    pub request_id: String,
    pub actor: Actor,
    pub namespace: String,
    pub org_id: i64,
}

impl AuditScope {
    /// A record of this request, stamped now.
    pub(super) fn record(&self, kind: &str, operation: &str, outcome: Outcome) -> AuditRecord {
        let mut r = AuditRecord::new(kind, operation, outcome);
        r.request_id.clone_from(&self.request_id);
        r.actor = self.actor.clone();
        r.namespace.clone_from(&self.namespace);
        r.org_id = self.org_id;
        r
    }
}

fn resource_name(t: ResourceType) -> &'static str {
    match t {
        ResourceType::User => "User",
        ResourceType::Group => "Group",
    }
}

fn write_label(operation: ScimOperation) -> Option<&'static str> {
    match operation {
        ScimOperation::Create => Some("create"),
        ScimOperation::Replace => Some("replace"),
        ScimOperation::Patch => Some("patch"),
        ScimOperation::Delete => Some("delete"),
        _ => None,
    }
}

fn op_id(op: &Op) -> Option<&str> {
    match op {
        Op::Replace { id, .. } | Op::Patch { id, .. } | Op::Delete { id, .. } | Op::Get { id, .. } => {
            Some(id)
        }
        Op::Create { .. } | Op::List { .. } => None,
    }
}

/// Runs `op`, recording it when it is a write and the auditor is on.
pub(super) async fn run<R: Resource>(
    audit: &AuditScope,
    resource: &R,
    permit: &R::Permit,
    scope: &Scope<'_>,
    operation: ScimOperation,
    op: Op,
) -> Result<Done, ProvisionError> {
    if !audit.auditor.enabled() {
        return resource.execute(scope, permit, op).await;
    }
    let Some(label) = write_label(operation) else {
        let (result, notes) = notes::collect(resource.execute(scope, permit, op)).await;
        drift_records(audit, R::TYPE, &notes);
        return result;
    };
    let id = op_id(&op).map(str::to_owned);
    let (result, mut notes) = notes::collect(resource.execute(scope, permit, op)).await;
    let before = notes.before.take().unwrap_or(Value::Null);
    let planned = notes.after.take();
    // Borrowed, not copied: the answer's body is the after state (a copy of it was the largest
    // part of the audit's cost per create).
    let after: &Value = match (&result, &planned) {
        (Ok(_), Some(planned)) => planned,
        (Ok(Done::Created(shown) | Done::Current(shown)), None) => &shown.body,
        _ => &Value::Null,
    };
    let mut r = audit.record("scim", label, Outcome::Applied);
    r.resource_type = resource_name(R::TYPE).to_owned();
    r.scim_id = id.or_else(|| after.get("id").and_then(Value::as_str).map(str::to_owned));
    let named = if after.is_null() { &before } else { after };
    match R::TYPE {
        ResourceType::User => r.user_name = text(named, "userName"),
        ResourceType::Group => r.group_name = text(named, "displayName"),
    }
    r.grafana_calls = notes.take_calls();
    match &result {
        Ok(_) => {
            if operation != ScimOperation::Delete {
                r.changes = diff::changes(&before, after);
            }
            if !notes.unmapped_roles.is_empty() {
                // Role sync: kept in SCIM, mapped to no Grafana role (never an error).
                r.reason = Some(format!("unmapped role values: {}", notes.unmapped_roles.join(", ")));
            }
            r.outcome = if notes.deferred {
                Outcome::Deferred
            } else if r.grafana_calls.iter().any(|c| c.ends_with(" planned")) {
                // Shadow mode: the write reached the store only; the calls are what it would make.
                Outcome::Planned
            } else if r.changes.is_empty() && operation != ScimOperation::Delete {
                Outcome::NoChange
            } else {
                Outcome::Applied
            };
        }
        Err(e) => {
            r.outcome =
                if matches!(e, ProvisionError::Forbidden(_)) { Outcome::Refused } else { Outcome::Failed };
            r.reason = Some(e.to_string());
        }
    }
    r.grafana_id = notes.grafana_id;
    if let (None, Some(scim_id)) = (r.grafana_id, r.scim_id.clone()) {
        r.grafana_id = grafana_id(scope, R::TYPE, &scim_id).await;
    }
    audit.auditor.record(r);
    drift_records(audit, R::TYPE, &notes);
    result
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The Grafana id the store maps `scim_id` to.
async fn grafana_id(scope: &Scope<'_>, t: ResourceType, scim_id: &str) -> Option<i64> {
    let store = &scope.prov.store;
    match t {
        ResourceType::User => {
            store.get_user(scope.org_id, scim_id).await.ok().flatten().map(|u| u.grafana_user_id)
        }
        ResourceType::Group => {
            store.get_group(scope.org_id, scim_id).await.ok().flatten().map(|g| g.grafana_team_id)
        }
    }
}

/// One `drift` record per drift noticed: `repair` for a stale record dropped, `seen` for a
/// managed object changed or gone outside SCIM (once an hour per drift: reads keep seeing it).
fn drift_records(audit: &AuditScope, t: ResourceType, notes: &Notes) {
    for what in &notes.drift {
        let mut r = audit.record("drift", "repair", Outcome::Drift);
        r.resource_type = resource_name(t).to_owned();
        r.reason = Some(what.clone());
        audit.auditor.record(r);
    }
    for seen in &notes.seen {
        if !audit.auditor.first_sighting(&format!("{}:{}", audit.org_id, seen.what)) {
            continue;
        }
        let mut r = audit.record("drift", "seen", Outcome::Drift);
        r.resource_type = resource_name(t).to_owned();
        r.scim_id = Some(seen.scim_id.clone());
        r.grafana_id = Some(seen.grafana_id);
        match t {
            ResourceType::User => r.user_name = Some(seen.name.clone()),
            ResourceType::Group => r.group_name = Some(seen.name.clone()),
        }
        r.reason = Some(seen.what.clone());
        audit.auditor.record(r);
    }
}
