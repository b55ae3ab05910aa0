//! Drift of SCIM-managed groups seen in passing: a team renamed or deleted in Grafana outside
//! SCIM. Noted for the audit log (`audit::notes::drift_seen`, kind `drift`, operation `seen`);
//! nothing is repaired here (`reconcile` does that). Teams SCIM does not manage never drift.

use crate::audit::notes::{self, DriftSeen};
use crate::grafana::model::Team;
use crate::store::GroupRecord;

fn managed(record: &GroupRecord) -> bool {
    !record.deleted
        && record.attributes.get(super::MANAGED_KEY).and_then(serde_json::Value::as_bool) == Some(true)
}

fn seen(record: &GroupRecord, what: String) -> DriftSeen {
    DriftSeen {
        scim_id: record.scim_id.clone(),
        grafana_id: record.grafana_team_id,
        name: record.display_name.clone(),
        what,
    }
}

/// `team` is what Grafana holds for `record` now.
pub(super) fn compare(record: &GroupRecord, team: &Team) {
    if managed(record) && team.name != record.display_name {
        notes::drift_seen(|| {
            seen(
                record,
                format!(
                    "group {} (grafana team {}) was renamed in grafana outside SCIM: {:?} -> {:?}",
                    record.scim_id, record.grafana_team_id, record.display_name, team.name
                ),
            )
        });
    }
}

/// Grafana no longer has `record`'s team.
pub(super) fn gone(record: &GroupRecord) {
    if managed(record) {
        notes::drift_seen(|| {
            seen(
                record,
                format!(
                    "group {} (grafana team {}) was deleted in grafana outside SCIM",
                    record.scim_id, record.grafana_team_id
                ),
            )
        });
    }
}
