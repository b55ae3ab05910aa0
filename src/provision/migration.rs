//! `migrate-team-sync`: from Team Sync's external group links to SCIM groups.
//!
//! [`observe`] finds the teams with Team Sync links in the given orgs (the policy's own scan) and
//! what the store knows of them; [`plan::decide`] turns each into a [`Step`] (pure); [`apply`]
//! runs the steps: first the team's group record is marked SCIM-managed and adoptable
//! ([`crate::provision::groups::adopt`]), then its links are removed, one audit record per step
//! (kind `migration`, actor `migrate-team-sync`). A failed step leaves what it did in place and
//! the next run carries on (a marked team is only unlinked), so the command is idempotent. Teams
//! without links are never touched. [`rollback`] undoes a migration of teams not yet claimed by
//! the IdP: it re-adds the links a marked record remembers and returns the record to unmanaged.

pub mod plan;

use serde_json::{json, Value};

use crate::audit::{Actor, AuditRecord, Auditor, Change, Outcome};
use crate::grafana::GrafanaClient;
use crate::policy::team_sync::LinkScan;
use crate::provision::groups::adopt;
use crate::store::{GroupRecord, MappingStore, StoreError};

pub use plan::{Action, Observed, Step};

/// The audit actor of every migration record.
pub const ACTOR: &str = "migrate-team-sync";

/// Why the migration could not run.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot scan grafana for team sync links: {0}")]
    Scan(String),
    #[error("grafana: {0}")]
    Grafana(#[from] crate::grafana::GrafanaError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// The orgs to migrate: `namespace`'s, else every org the sidecar's credential serves.
///
/// # Errors
/// Grafana cannot list the orgs.
pub async fn orgs(grafana: &GrafanaClient, credential_user: &str) -> Result<Vec<i64>, MigrationError> {
    let me = grafana.lookup_user(credential_user).await.ok().flatten().map(|u| u.id);
    crate::policy::observe::served_orgs(grafana, me).await.map_err(MigrationError::Scan)
}

/// The linked teams of `orgs` and what the store knows of each. Empty where Grafana has no
/// Team Sync (open source: the route is missing).
///
/// # Errors
/// The scan or a lookup failed.
pub async fn observe(
    grafana: &GrafanaClient,
    store: &dyn MappingStore,
    orgs: &[i64],
    concurrency: usize,
) -> Result<Vec<Observed>, MigrationError> {
    let linked = match crate::policy::observe::scan_orgs(grafana, orgs, concurrency).await {
        LinkScan::Complete(teams) => teams,
        LinkScan::RouteAbsent => return Ok(Vec::new()),
        LinkScan::Failed(why) => return Err(MigrationError::Scan(why)),
    };
    let mut out = Vec::with_capacity(linked.len());
    for t in linked {
        let team = match grafana.get_team(t.org_id, t.team_id).await {
            Ok(team) => team,
            // Deleted since the scan: nothing to migrate.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        let record = store.group_by_grafana_id(t.org_id, t.team_id).await?;
        let other = |r: GroupRecord| (!r.deleted && r.grafana_team_id != t.team_id).then_some(r);
        let external_id_holder = match t.groups.as_slice() {
            [only] => store.group_by_external_id(t.org_id, only).await?.and_then(other),
            _ => None,
        };
        let name_holder = store.group_by_display_name(t.org_id, &team.name).await?.and_then(other);
        out.push(Observed {
            org_id: t.org_id,
            team_id: t.team_id,
            team_uid: team.uid.filter(|u| !u.is_empty()),
            team_name: team.name,
            links: t.groups,
            record,
            external_id_holder,
            name_holder,
        });
    }
    Ok(out)
}

/// The steps for `observed`, in the same order.
pub fn plan(observed: &[Observed]) -> Vec<Step> {
    observed.iter().map(|t| plan::decide(t, crate::provision::identity::new_scim_id)).collect()
}

fn record_of(step: &Step, operation: &str, outcome: Outcome) -> AuditRecord {
    let mut r = AuditRecord::new("migration", operation, outcome);
    r.request_id = format!("{ACTOR}-{}", chrono::Utc::now().timestamp_micros());
    r.actor = Actor { name: ACTOR.into(), client: String::new() };
    r.namespace.clone_from(&step.namespace);
    r.org_id = step.org_id;
    r.resource_type = "Group".into();
    r.grafana_id = Some(step.team_id);
    r.group_name = Some(step.team_name.clone());
    r
}

/// Runs the applicable `steps` (of `observed`, same order), setting each step's outcome.
/// Returns whether every step was applied (refused ones count as not).
pub async fn apply(
    grafana: &GrafanaClient,
    store: &dyn MappingStore,
    auditor: &Auditor,
    observed: &[Observed],
    steps: &mut [Step],
) -> bool {
    let mut all = true;
    for (t, step) in observed.iter().zip(steps.iter_mut()) {
        if !step.applicable() {
            step.outcome = Some("refused".into());
            all = false;
            continue;
        }
        let done = match mark(store, auditor, t, step).await {
            Ok(()) => unlink(grafana, auditor, step).await,
            Err(e) => Err(e),
        };
        match done {
            Ok(()) => step.outcome = Some("applied".into()),
            Err(e) => {
                step.outcome = Some("failed".into());
                step.error = Some(e);
                all = false;
            }
        }
    }
    all
}

/// Marks the team's record (for [`Action::Mark`]); audited.
async fn mark(store: &dyn MappingStore, auditor: &Auditor, t: &Observed, step: &Step) -> Result<(), String> {
    let Action::Mark { scim_id, new_record, external_id } = &step.action else { return Ok(()) };
    let mut audit = record_of(step, "mark", Outcome::Applied);
    audit.scim_id = Some(scim_id.clone());
    let before = t.record.as_ref().filter(|r| !r.deleted);
    audit.changes = vec![
        Change {
            field: "externalId".into(),
            before: before.and_then(|r| r.external_id.clone()).map_or(Value::Null, Value::from),
            after: Value::from(external_id.clone()),
        },
        Change { field: "managed".into(), before: Value::Bool(false), after: Value::Bool(true) },
    ];
    let result = async {
        if *new_record {
            if let Some(stale) = t.record.as_ref().filter(|r| r.deleted) {
                // A deleted record keeps the team id's key; the team now is another one.
                match store.delete_group_record(stale.org_id, &stale.scim_id).await {
                    Ok(()) | Err(StoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            let mut rec = adopt::new_marked_record(
                t.org_id,
                t.team_id,
                t.team_uid.clone(),
                &t.team_name,
                external_id,
                &t.links,
            );
            rec.scim_id.clone_from(scim_id);
            store.insert_group(&rec).await
        } else {
            let Some(mut rec) = store.get_group(t.org_id, scim_id).await? else {
                return Err(StoreError::NotFound);
            };
            let expected = rec.version;
            adopt::mark(&mut rec, &t.team_name, external_id, &t.links);
            store.update_group(&rec, expected).await.map(|_| ())
        }
    }
    .await;
    if let Err(e) = &result {
        audit.outcome = Outcome::Failed;
        audit.reason = Some(e.to_string());
    }
    auditor.record(audit);
    result.map_err(|e| format!("marking the group record: {e}"))
}

/// Removes the team's links; one audited record for them all.
async fn unlink(grafana: &GrafanaClient, auditor: &Auditor, step: &mut Step) -> Result<(), String> {
    let mut audit = record_of(step, "unlink", Outcome::Applied);
    audit.scim_id = match &step.action {
        Action::Mark { scim_id, .. } | Action::Unlink { scim_id, .. } => Some(scim_id.clone()),
        Action::Refuse { .. } => None,
    };
    let mut calls = Vec::new();
    let mut removed = Vec::new();
    let mut failure = None;
    for link in &step.links {
        match grafana.remove_team_group(step.org_id, step.team_id, link).await {
            Ok(gone) => {
                calls.push(format!(
                    "DELETE /api/teams/:id/groups ({})",
                    if gone { "removed" } else { "already gone" }
                ));
                removed.push(link.clone());
            }
            Err(e) => {
                calls.push(format!("DELETE /api/teams/:id/groups ({e})"));
                failure = Some(format!("removing Team Sync link {link:?}: {e}"));
                break;
            }
        }
    }
    let kept: Vec<&String> = step.links.iter().filter(|l| !removed.contains(l)).collect();
    audit.changes =
        vec![Change { field: "teamSyncLinks".into(), before: json!(step.links), after: json!(kept) }];
    audit.grafana_calls = calls;
    if let Some(why) = &failure {
        audit.outcome = Outcome::Failed;
        audit.reason = Some(why.clone());
    }
    auditor.record(audit);
    failure.map_or(Ok(()), Err)
}

/// One team a rollback restored (or failed to).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    pub namespace: String,
    pub team_id: i64,
    pub team_name: String,
    pub scim_id: String,
    pub links: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Teams read per page while looking for marked records.
const TEAMS_PER_PAGE: u32 = 100;

/// The marked, not yet claimed records of `orgs`' teams.
///
/// # Errors
/// Grafana or the store failed.
pub async fn marked(
    grafana: &GrafanaClient,
    store: &dyn MappingStore,
    orgs: &[i64],
) -> Result<Vec<GroupRecord>, MigrationError> {
    let mut out = Vec::new();
    for &org in orgs {
        for page in 1..=1000 {
            let batch = grafana.search_teams(org, None, None, page, TEAMS_PER_PAGE).await?;
            let ids: Vec<i64> = batch.teams.iter().map(|t| t.id).collect();
            let mut found: Vec<GroupRecord> = store
                .groups_by_grafana_ids(org, &ids)
                .await?
                .into_iter()
                .filter(adopt::is_adoptable)
                .collect();
            found.sort_by_key(|r| r.grafana_team_id);
            out.extend(found);
            if batch.teams.len() < TEAMS_PER_PAGE as usize {
                break;
            }
        }
    }
    Ok(out)
}

/// Rolls back the migration of `records` (marked, unclaimed): re-adds each one's remembered
/// links, then makes the record unmanaged again (no externalId, no marker); audited (`rollback`).
pub async fn rollback(
    grafana: &GrafanaClient,
    store: &dyn MappingStore,
    auditor: &Auditor,
    records: &[GroupRecord],
) -> Vec<Restored> {
    let mut out = Vec::with_capacity(records.len());
    for rec in records {
        let links = adopt::marked_links(rec);
        let mut done = Restored {
            namespace: AuditRecord::namespace_of(rec.org_id),
            team_id: rec.grafana_team_id,
            team_name: rec.display_name.clone(),
            scim_id: rec.scim_id.clone(),
            links: links.clone(),
            error: None,
        };
        let mut audit = AuditRecord::new("migration", "rollback", Outcome::Applied);
        audit.request_id = format!("{ACTOR}-{}", chrono::Utc::now().timestamp_micros());
        audit.actor = Actor { name: ACTOR.into(), client: String::new() };
        audit.namespace.clone_from(&done.namespace);
        audit.org_id = rec.org_id;
        audit.resource_type = "Group".into();
        audit.scim_id = Some(rec.scim_id.clone());
        audit.grafana_id = Some(rec.grafana_team_id);
        audit.group_name = Some(rec.display_name.clone());
        let result = async {
            for link in &links {
                let added = grafana.add_team_group(rec.org_id, rec.grafana_team_id, link).await;
                audit.grafana_calls.push(format!(
                    "POST /api/teams/:id/groups ({})",
                    match &added {
                        Ok(true) => "added".to_string(),
                        Ok(false) => "already there".to_string(),
                        Err(e) => e.to_string(),
                    }
                ));
                added.map_err(|e| format!("re-adding Team Sync link {link:?}: {e}"))?;
            }
            let mut unmarked = rec.clone();
            unmarked.external_id = None;
            unmarked.attributes = json!({ "displayName": rec.display_name });
            unmarked.last_modified = chrono::Utc::now();
            store
                .update_group(&unmarked, rec.version)
                .await
                .map(|_| ())
                .map_err(|e| format!("unmarking the group record: {e}"))
        }
        .await;
        audit.changes = vec![
            Change { field: "teamSyncLinks".into(), before: json!([]), after: json!(links) },
            Change {
                field: "externalId".into(),
                before: rec.external_id.clone().map_or(Value::Null, Value::from),
                after: Value::Null,
            },
            Change { field: "managed".into(), before: Value::Bool(true), after: Value::Bool(false) },
        ];
        if let Err(e) = &result {
            audit.outcome = Outcome::Failed;
            audit.reason = Some(e.clone());
            done.error = Some(e.clone());
        }
        auditor.record(audit);
        out.push(done);
    }
    out
}
