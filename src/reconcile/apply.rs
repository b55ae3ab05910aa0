//! Running a plan: each change is its one Grafana call, in the plan's order, audited as it ends
//! (outcome `applied` or `failed`, actor `reconcile`). A user or team made again has its new
//! Grafana id recorded in the store, so the next run compares against it. A change that names
//! such an object fails when the object's creation failed; every other change still runs.

use std::collections::HashMap;

use serde_json::Value;

use super::plan::{Action, Change, Plan, TeamRef, UserRef};
use crate::audit::{AuditRecord, Auditor, Outcome};
use crate::config::Secret;
use crate::grafana::{GrafanaClient, GrafanaError};
use crate::provision::org_join::{add_user_by_id, JoinError};
use crate::provision::users::{random_password, RestoreState};
use crate::store::{MappingStore, StoreError};

/// How one change ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub change: Change,
    /// `None` when applied, else why not.
    pub error: Option<String>,
}

/// What a run needs: Grafana, the store (new ids), the auditor and the run's id (the audit
/// records' request id).
pub struct Applier<'a> {
    pub grafana: &'a GrafanaClient,
    pub store: &'a dyn MappingStore,
    pub auditor: &'a Auditor,
    pub run_id: &'a str,
}

/// Ids of the objects this run created, by SCIM id.
#[derive(Default)]
struct Created {
    users: HashMap<String, i64>,
    teams: HashMap<String, i64>,
}

impl Created {
    fn user(&self, r: &UserRef) -> Result<i64, String> {
        match r {
            UserRef::Id(id) => Ok(*id),
            UserRef::Created(scim) => {
                self.users.get(scim).copied().ok_or_else(|| format!("user {scim} was not created"))
            }
        }
    }

    fn team(&self, r: &TeamRef) -> Result<i64, String> {
        match r {
            TeamRef::Id(id) => Ok(*id),
            TeamRef::Created(scim) => {
                self.teams.get(scim).copied().ok_or_else(|| format!("team of group {scim} was not created"))
            }
        }
    }
}

impl Applier<'_> {
    /// Runs every change of `plan`; the outcome of each, in order.
    pub async fn run(&self, plan: &Plan) -> Vec<Applied> {
        let mut created = Created::default();
        let mut out = Vec::with_capacity(plan.changes.len());
        for change in &plan.changes {
            let (result, notes) =
                crate::audit::notes::collect(self.one(plan.org_id, change, &mut created)).await;
            let error = result.err();
            self.audit(plan, change, error.as_deref(), notes.grafana_calls);
            out.push(Applied { change: change.clone(), error });
        }
        out
    }

    fn audit(&self, plan: &Plan, change: &Change, error: Option<&str>, calls: Vec<String>) {
        let outcome = if error.is_some() { Outcome::Failed } else { Outcome::Applied };
        let mut r = AuditRecord::new("reconcile", change.action.label(), outcome);
        r.request_id = self.run_id.to_owned();
        r.actor.name = "reconcile".into();
        r.namespace = plan.namespace.clone();
        r.org_id = plan.org_id;
        r.resource_type = change.resource_type.into();
        r.scim_id = Some(change.scim_id.clone());
        r.grafana_id = change.grafana_id;
        if change.resource_type == "User" {
            r.user_name = Some(change.name.clone());
        } else {
            r.group_name = Some(change.name.clone());
            r.user_name = change.member.clone();
        }
        r.reason = error.map(str::to_owned);
        r.changes = change
            .fields
            .iter()
            .map(|f| crate::audit::Change {
                field: f.field.clone(),
                before: f.grafana.clone(),
                after: f.scim.clone(),
            })
            .collect();
        r.grafana_calls = calls;
        self.auditor.record(r);
    }

    async fn one(&self, org_id: i64, change: &Change, created: &mut Created) -> Result<(), String> {
        let g = self.grafana;
        match &change.action {
            Action::CreateUser { scim_id, login, email, name } => {
                let password = Secret::new(random_password());
                let made = g.create_user(login, email, name, &password, Some(org_id)).await.map_err(|e| {
                    if e.is_conflict() {
                        "grafana says the login or email belongs to another user".to_string()
                    } else {
                        failed(&e)
                    }
                })?;
                created.users.insert(scim_id.clone(), made.id);
                self.record_user(org_id, scim_id, made.id, made.uid).await.map_err(|e| stored(&e))
            }
            Action::UpdateUser { user_id, login, email, name } => {
                g.update_user(*user_id, login, email, name).await.map_err(|e| failed(&e))
            }
            Action::EnableUser { user_id } => g.enable_user(*user_id).await.map_err(|e| failed(&e)),
            Action::DisableUser { user } => g.disable_user(created.user(user)?).await.map_err(|e| failed(&e)),
            Action::AddOrgUser { user, login, email, role } => {
                let id = created.user(user)?;
                match add_user_by_id(g, org_id, id, login, Some(email), role).await {
                    Ok(()) => Ok(()),
                    Err(JoinError::Grafana(e)) => Err(failed(&e)),
                    Err(JoinError::OtherUser) => {
                        Err("grafana resolves the login or email to another user".into())
                    }
                }
            }
            Action::SetOrgRole { user, role } => {
                g.update_org_user_role(org_id, created.user(user)?, role).await.map_err(|e| failed(&e))
            }
            Action::RemoveOrgUser { user_id } => match g.remove_org_user(org_id, *user_id).await {
                Ok(()) => Ok(()),
                Err(e) if e.is_not_found() => Ok(()),
                Err(e) => Err(failed(&e)),
            },
            Action::CreateTeam { scim_id, name } => {
                let made = g.create_team(org_id, name, "").await.map_err(|e| {
                    if e.is_conflict() {
                        format!("another team of the org is named {name:?}")
                    } else {
                        failed(&e)
                    }
                })?;
                created.teams.insert(scim_id.clone(), made.team_id);
                self.record_team(org_id, scim_id, made.team_id, made.uid).await.map_err(|e| stored(&e))
            }
            Action::RenameTeam { team_id, name, email } => {
                g.update_team(org_id, *team_id, name, email).await.map_err(|e| failed(&e))
            }
            Action::AddTeamMember { team, user } => {
                match g.add_team_member(org_id, created.team(team)?, created.user(user)?).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.is_conflict() => Ok(()),
                    Err(e) => Err(failed(&e)),
                }
            }
            Action::RemoveTeamMember { team, user_id } => {
                match g.remove_team_member(org_id, created.team(team)?, *user_id).await {
                    Ok(()) => Ok(()),
                    Err(e) if e.is_not_found() => Ok(()),
                    Err(e) => Err(failed(&e)),
                }
            }
            Action::RemoveTeamSyncLink { team_id, group_id } => {
                match g.remove_team_group(org_id, *team_id, group_id).await {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_not_found() && e.message() != Some("Not found") => Ok(()),
                    Err(e) => Err(failed(&e)),
                }
            }
        }
    }

    /// The user's record names the Grafana user made for it. An inactive user was made disabled:
    /// its restore state says so (it joined the org through auto-assignment, if at all). A SCIM
    /// write that moved the record meanwhile is read again: the new id must not be lost, or the
    /// next run would try to create the user again.
    async fn record_user(
        &self,
        org_id: i64,
        scim_id: &str,
        id: i64,
        uid: Option<String>,
    ) -> Result<(), StoreError> {
        for _ in 0..RECORD_ATTEMPTS {
            let Some(mut rec) = self.store.get_user(org_id, scim_id).await? else {
                return Err(StoreError::NotFound);
            };
            rec.grafana_user_id = id;
            rec.grafana_uid = uid.clone().filter(|u| !u.is_empty());
            if !rec.active {
                let old = RestoreState::from_value(rec.restore.as_ref());
                let state = RestoreState { disabled: true, role: old.role, ..RestoreState::default() };
                rec.restore = Some(state.to_value());
            }
            rec.last_modified = chrono::Utc::now();
            match self.store.update_user(&rec, rec.version).await {
                Err(StoreError::StaleVersion) => continue,
                other => return other.map(drop),
            }
        }
        Err(StoreError::StaleVersion)
    }

    async fn record_team(
        &self,
        org_id: i64,
        scim_id: &str,
        id: i64,
        uid: Option<String>,
    ) -> Result<(), StoreError> {
        for _ in 0..RECORD_ATTEMPTS {
            let Some(mut rec) = self.store.get_group(org_id, scim_id).await? else {
                return Err(StoreError::NotFound);
            };
            rec.grafana_team_id = id;
            rec.grafana_team_uid = uid.clone().filter(|u| !u.is_empty());
            rec.last_modified = chrono::Utc::now();
            match self.store.update_group(&rec, rec.version).await {
                Err(StoreError::StaleVersion) => continue,
                other => return other.map(drop),
            }
        }
        Err(StoreError::StaleVersion)
    }
}

/// Tries at recording a new Grafana id while SCIM writes move the record.
const RECORD_ATTEMPTS: usize = 5;

fn failed(e: &GrafanaError) -> String {
    format!("grafana: {e}")
}

fn stored(e: &StoreError) -> String {
    format!("made in grafana, but the store could not record its id: {e}")
}

/// The JSON of an applied change: the change plus `outcome` and, when it failed, `error`.
pub fn to_json(a: &Applied) -> Value {
    let mut v = serde_json::to_value(&a.change).unwrap_or(Value::Null);
    if let Value::Object(m) = &mut v {
        let outcome = if a.error.is_some() { "failed" } else { "applied" };
        m.insert("outcome".into(), Value::from(outcome));
        if let Some(e) = &a.error {
            m.insert("error".into(), Value::from(e.as_str()));
        }
    }
    v
}
