//! The Team Sync migration's plan, decided from what was read (pure), and its printed forms.
//!
//! One [`Step`] per team with Team Sync links. The SCIM group that will own a team has the
//! team's name as `displayName` and the link's group id as `externalId` (with Entra ID the group's
//! object id, which Entra also sends as the SCIM group's `externalId`). Rules:
//!
//! - one link: [`Action::Mark`] (a managed, adoptable record; the existing record's SCIM id
//!   when the team already has one, which SCIM may have shown already, else a fresh one), then
//!   the link is removed;
//! - the team is already SCIM-managed, or already marked by an earlier run with that externalId:
//!   [`Action::Unlink`] (only the links go; the record stays as it is);
//! - several links on a team SCIM does not manage: [`Action::Refuse`]. Which IdP group should own
//!   the team is the operator's decision: remove the other links (API or UI) and run again;
//! - the externalId or the name already belongs to another live group of the org:
//!   [`Action::Refuse`], naming it.

use std::fmt::Write as _;

use serde::Serialize;

use crate::store::GroupRecord;

/// What was read about one linked team.
#[derive(Debug, Clone)]
pub struct Observed {
    pub org_id: i64,
    pub team_id: i64,
    pub team_uid: Option<String>,
    pub team_name: String,
    /// The Team Sync group ids, in Grafana's order.
    pub links: Vec<String>,
    /// The store's record of this team in its org, if any (deleted ones included).
    pub record: Option<GroupRecord>,
    /// A live record of another team holding the externalId the plan would give this one.
    pub external_id_holder: Option<GroupRecord>,
    /// A live record of another team holding this team's name (ignoring case).
    pub name_holder: Option<GroupRecord>,
}

/// What happens to one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A managed, adoptable group record, then the links removed.
    Mark {
        scim_id: String,
        /// A new record (else the team's existing, unmanaged record is marked).
        new_record: bool,
        external_id: String,
    },
    /// Only the links are removed: SCIM already owns the team.
    Unlink { scim_id: String, external_id: Option<String> },
    /// Not migrated; `reason` says why and what to do.
    Refuse { reason: String },
}

/// One team's step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub namespace: String,
    pub org_id: i64,
    pub team_id: i64,
    pub team_name: String,
    /// The Team Sync links (group ids) the step removes: what a rollback re-adds.
    pub links: Vec<String>,
    #[serde(flatten)]
    pub action: Action,
    /// The Grafana calls the step makes.
    pub grafana_calls: Vec<String>,
    /// After `--apply`: `applied`, `refused` or `failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Why an applied step failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Step {
    /// Whether `--apply` would change something.
    pub fn applicable(&self) -> bool {
        !matches!(self.action, Action::Refuse { .. })
    }
}

fn managed(r: &GroupRecord) -> bool {
    !r.deleted
        && r.attributes.get(crate::provision::groups::MANAGED_KEY).and_then(serde_json::Value::as_bool)
            == Some(true)
}

/// The step for one linked team; `new_id` mints a SCIM id when a new record is needed.
pub fn decide(t: &Observed, new_id: impl FnOnce() -> String) -> Step {
    let live = t.record.as_ref().filter(|r| !r.deleted);
    let adoptable = live.is_some_and(crate::provision::groups::adopt::is_adoptable);
    let action = match live {
        // SCIM already manages the team (created by SCIM, or marked by an earlier run).
        Some(r) if managed(r) && (!adoptable || t.links.len() != 1) => {
            Action::Unlink { scim_id: r.scim_id.clone(), external_id: r.external_id.clone() }
        }
        Some(r) if adoptable && r.external_id.as_deref() == t.links.first().map(String::as_str) => {
            Action::Unlink { scim_id: r.scim_id.clone(), external_id: r.external_id.clone() }
        }
        _ if t.links.len() > 1 => Action::Refuse {
            reason: format!(
                "{} Team Sync links ({}): which IdP group owns the team is yours to decide; remove the \
                 other links (DELETE /api/teams/{}/groups?groupId=…, or the team's External group sync \
                 tab) and run again",
                t.links.len(),
                t.links.join(", "),
                t.team_id
            ),
        },
        _ => {
            let external_id = t.links.first().cloned().unwrap_or_default();
            if let Some(other) = &t.external_id_holder {
                Action::Refuse {
                    reason: format!(
                        "externalId {external_id:?} already belongs to group {} ({:?}, grafana team {})",
                        other.scim_id, other.display_name, other.grafana_team_id
                    ),
                }
            } else if let Some(other) = &t.name_holder {
                Action::Refuse {
                    reason: format!(
                        "the name {:?} already belongs to group {} (grafana team {})",
                        t.team_name, other.scim_id, other.grafana_team_id
                    ),
                }
            } else {
                match live {
                    Some(r) => Action::Mark { scim_id: r.scim_id.clone(), new_record: false, external_id },
                    None => Action::Mark { scim_id: new_id(), new_record: true, external_id },
                }
            }
        }
    };
    let grafana_calls = match &action {
        Action::Refuse { .. } => Vec::new(),
        _ => t.links.iter().map(|g| format!("DELETE /api/teams/{}/groups?groupId={g}", t.team_id)).collect(),
    };
    Step {
        namespace: crate::audit::AuditRecord::namespace_of(t.org_id),
        org_id: t.org_id,
        team_id: t.team_id,
        team_name: t.team_name.clone(),
        links: t.links.clone(),
        action,
        grafana_calls,
        outcome: None,
        error: None,
    }
}

/// The plan (or, after `--apply`, the result) as text, one block per team, like a Terraform plan.
pub fn render(steps: &[Step], applied: bool) -> String {
    let mut out = String::new();
    if steps.is_empty() {
        out.push_str("No team has Team Sync links: nothing to migrate.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "Team Sync -> SCIM groups migration {}:\n",
        if applied { "result" } else { "plan (run with --apply to make these changes)" }
    );
    for s in steps {
        let mark = match (&s.action, s.outcome.as_deref()) {
            (_, Some("failed")) => "x",
            (Action::Refuse { .. }, _) => "!",
            _ => "~",
        };
        let _ =
            writeln!(out, "  {mark} team {:?} (namespace {}, team {})", s.team_name, s.namespace, s.team_id);
        match &s.action {
            Action::Mark { scim_id, new_record, external_id } => {
                let _ = writeln!(
                    out,
                    "      owned by SCIM group displayName={:?} externalId={external_id:?} id={scim_id}{}",
                    s.team_name,
                    if *new_record { " (new record)" } else { " (existing record)" }
                );
                let _ = writeln!(out, "      the IdP's first push of that group adopts the team");
            }
            Action::Unlink { scim_id, external_id } => {
                let _ = writeln!(
                    out,
                    "      already owned by SCIM group id={scim_id}{}",
                    external_id.as_ref().map(|e| format!(" externalId={e:?}")).unwrap_or_default()
                );
            }
            Action::Refuse { reason } => {
                let _ = writeln!(out, "      not migrated: {reason}");
            }
        }
        if s.applicable() {
            for (link, call) in s.links.iter().zip(&s.grafana_calls) {
                let _ = writeln!(out, "      - Team Sync link {link:?}   ({call})");
            }
        }
        if let Some(e) = &s.error {
            let _ = writeln!(out, "      failed: {e}");
        }
    }
    let migrate = steps.iter().filter(|s| s.applicable()).count();
    let refused = steps.len() - migrate;
    let failed = steps.iter().filter(|s| s.outcome.as_deref() == Some("failed")).count();
    let _ = write!(out, "\n{} team(s) to migrate, {refused} not migrated", migrate);
    if applied {
        let _ = write!(out, ", {failed} failed");
    }
    out.push_str(".\n");
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::provision::groups::adopt;
    use crate::provision::identity::{unmanaged_group_record, GrafanaTeamView};

    fn team(links: &[&str]) -> Observed {
        Observed {
            org_id: 1,
            team_id: 7,
            team_uid: None,
            team_name: "Ops".into(),
            links: links.iter().map(|l| l.to_string()).collect(),
            record: None,
            external_id_holder: None,
            name_holder: None,
        }
    }

    fn unmanaged() -> GroupRecord {
        unmanaged_group_record(1, &GrafanaTeamView { id: 7, uid: None, name: "Ops".into() })
    }

    #[test]
    fn one_link_marks_a_new_or_the_existing_record() {
        let s = decide(&team(&["oid-1"]), || "new".into());
        assert_eq!(
            s.action,
            Action::Mark { scim_id: "new".into(), new_record: true, external_id: "oid-1".into() }
        );
        assert_eq!(s.grafana_calls, ["DELETE /api/teams/7/groups?groupId=oid-1"]);
        let mut t = team(&["oid-1"]);
        let rec = unmanaged();
        t.record = Some(rec.clone());
        let s = decide(&t, || unreachable!());
        assert_eq!(
            s.action,
            Action::Mark { scim_id: rec.scim_id, new_record: false, external_id: "oid-1".into() }
        );
    }

    #[test]
    fn several_links_are_refused_unless_scim_owns_the_team() {
        let s = decide(&team(&["a", "b"]), || "new".into());
        assert!(matches!(&s.action, Action::Refuse { reason } if reason.contains("a, b")), "{s:?}");
        assert!(s.grafana_calls.is_empty() && !s.applicable());
        let mut t = team(&["a", "b"]);
        t.record = Some(adopt::new_marked_record(1, 7, None, "Ops", "x", &[]));
        let s = decide(&t, || "new".into());
        assert!(matches!(s.action, Action::Unlink { .. }), "{s:?}");
        assert_eq!(s.grafana_calls.len(), 2);
    }

    #[test]
    fn a_marked_team_is_only_unlinked_on_a_rerun() {
        let mut t = team(&["oid-1"]);
        t.record = Some(adopt::new_marked_record(1, 7, None, "Ops", "oid-1", &["oid-1".into()]));
        assert!(matches!(decide(&t, || "new".into()).action, Action::Unlink { .. }));
    }

    #[test]
    fn clashes_with_other_groups_are_refused() {
        let mut other = unmanaged();
        other.grafana_team_id = 9;
        other.external_id = Some("oid-1".into());
        let mut t = team(&["oid-1"]);
        t.external_id_holder = Some(other.clone());
        assert!(
            matches!(decide(&t, || "n".into()).action, Action::Refuse { reason } if reason.contains("externalId"))
        );
        let mut t = team(&["oid-1"]);
        t.name_holder = Some(other);
        assert!(
            matches!(decide(&t, || "n".into()).action, Action::Refuse { reason } if reason.contains("name"))
        );
    }

    #[test]
    fn render_and_json_keep_the_links() {
        let steps =
            vec![decide(&team(&["oid-1"]), || "id-1".into()), decide(&team(&["a", "b"]), || "x".into())];
        let text = render(&steps, false);
        assert!(text.contains("externalId=\"oid-1\"") && text.contains("not migrated"), "{text}");
        assert!(text.contains("1 team(s) to migrate, 1 not migrated"), "{text}");
        let v = serde_json::to_value(&steps[0]).unwrap();
        assert_eq!(v["action"], "mark");
        assert_eq!(v["links"], json!(["oid-1"]));
        assert_eq!(v["external_id"], "oid-1");
        assert_eq!(render(&[], false), "No team has Team Sync links: nothing to migrate.\n");
    }
}
