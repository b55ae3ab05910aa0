//! Is Team Sync in use? Pure interpretation of the licence and of the teams' external group links.
//!
//! Team Sync has no on/off switch (grafana-scim.md §8): it acts when the licence has the feature
//! and a team has external groups. SCIM group sync and Team Sync must never run together: both
//! write team membership, and the next login undoes SCIM's changes.

use serde::Serialize;
use serde_json::Value;

use super::Verdict;

/// A team with Team Sync group links.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkedTeam {
    pub org_id: i64,
    pub team_id: i64,
    pub team_name: String,
    pub groups: Vec<String>,
}

/// What the Team Sync scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkScan {
    /// Every team of every org was checked.
    Complete(Vec<LinkedTeam>),
    /// The team-groups route does not exist (open-source Grafana): no Team Sync possible.
    RouteAbsent,
    /// The scan could not finish.
    Failed(String),
}

/// The Team Sync part of the policy report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamSyncState {
    pub verdict: Verdict,
    /// Whether the licence enables Team Sync (`None`: unknown).
    pub licensed: Option<bool>,
    pub linked_teams: Vec<LinkedTeam>,
    /// Set when SAML maps a groups attribute: Team Sync may act at the next login.
    pub warning: Option<String>,
}

/// Whether `licenseInfo.enabledFeatures` (from `/api/frontend/settings`) enables Team Sync.
pub fn licensed(frontend_settings: Option<&Value>) -> Option<bool> {
    let fe = frontend_settings?;
    let features = fe.pointer("/licenseInfo/enabledFeatures");
    match features {
        Some(Value::Object(map)) => Some(
            ["teamsync", "teamgroupsync"]
                .iter()
                .any(|k| map.get(*k).and_then(Value::as_bool).unwrap_or(false)),
        ),
        // Open source reports an empty map or none at all.
        _ => Some(false),
    }
}

/// Interprets the licence and the scan.
pub fn evaluate(licensed: Option<bool>, scan: &LinkScan, groups_attribute: Option<&str>) -> TeamSyncState {
    let warning = groups_attribute.map(|attr| {
        format!(
            "SAML maps the groups attribute `{attr}`: Team Sync may change team membership at the next login"
        )
    });
    let (verdict, linked_teams) = match (licensed, scan) {
        (_, LinkScan::RouteAbsent) | (Some(false), _) => (Verdict::Satisfied, Vec::new()),
        (_, LinkScan::Complete(teams)) if teams.is_empty() => (Verdict::Satisfied, Vec::new()),
        (_, LinkScan::Complete(teams)) => (Verdict::Violated(describe(teams)), teams.clone()),
        (_, LinkScan::Failed(why)) => {
            (Verdict::Undetermined(format!("cannot check teams for Team Sync links: {why}")), Vec::new())
        }
    };
    TeamSyncState { verdict, licensed, linked_teams, warning }
}

fn describe(teams: &[LinkedTeam]) -> String {
    const SHOWN: usize = 5;
    let mut names: Vec<String> = teams
        .iter()
        .take(SHOWN)
        .map(|t| format!("\"{}\" (org {}, team {})", t.team_name, t.org_id, t.team_id))
        .collect();
    if teams.len() > SHOWN {
        names.push(format!("and {} more", teams.len() - SHOWN));
    }
    format!(
        "Team Sync is in use: {} team(s) have external group links ({}); remove those links, or set \
         [policy] group_sync = false to keep Team Sync and stop SCIM group provisioning",
        teams.len(),
        names.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn team(id: i64) -> LinkedTeam {
        LinkedTeam { org_id: 1, team_id: id, team_name: format!("t{id}"), groups: vec!["g".into()] }
    }

    #[test]
    fn licence_detection() {
        assert_eq!(
            licensed(Some(&json!({"licenseInfo": {"enabledFeatures": {"teamsync": true}}}))),
            Some(true)
        );
        assert_eq!(licensed(Some(&json!({"licenseInfo": {"enabledFeatures": {}}}))), Some(false));
        assert_eq!(licensed(Some(&json!({}))), Some(false));
        assert_eq!(licensed(None), None);
    }

    #[test]
    fn verdicts() {
        assert!(evaluate(Some(true), &LinkScan::Complete(vec![]), None).verdict.is_satisfied());
        assert!(evaluate(None, &LinkScan::RouteAbsent, None).verdict.is_satisfied());
        let v = evaluate(Some(true), &LinkScan::Complete((1..=7).map(team).collect()), None);
        let reason = v.verdict.reason().unwrap().to_string();
        assert!(
            reason.contains("7 team(s)") && reason.contains("and 2 more") && reason.contains("group_sync"),
            "{reason}"
        );
        assert_eq!(v.linked_teams.len(), 7);
        let u = evaluate(Some(true), &LinkScan::Failed("timeout".into()), Some("groups"));
        assert!(matches!(u.verdict, Verdict::Undetermined(_)));
        assert!(u.warning.unwrap().contains("groups"));
    }
}
