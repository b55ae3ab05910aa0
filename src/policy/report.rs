//! [`PolicyReport`]: one observation of Grafana, and the configured checks judged against it.
//!
//! The report is plain data (serialisable for `check --json` and `/readyz`); it must not talk to
//! Grafana or decide what a refusal looks like on the wire.

use std::time::Instant;

use serde::Serialize;

use super::saml::SamlState;
use super::team_sync::TeamSyncState;
use super::Verdict;
use crate::config::PolicyConfig;

/// Check names, as they appear in metrics labels, logs, refusals and reports.
pub mod check {
    pub const SAML: &str = "saml";
    pub const TEAM_SYNC: &str = "team_sync";
    pub const STRICT_SAML_ONLY: &str = "strict_saml_only";
    /// Not observed: `[policy] group_sync = false` refuses `/Groups` by configuration.
    pub const GROUP_SYNC: &str = "group_sync";
    /// Grafana's auth proxy is off (enforced while SCIM is active).
    pub const AUTH_PROXY: &str = "auth_proxy";
    /// Grafana's SAML role sync is off while SCIM role sync (`[scim.roles] enabled`) is on.
    pub const ROLE_SYNC: &str = "role_sync";
    /// Every check the engine observes, in report order.
    pub const ALL: [&str; 5] = [SAML, TEAM_SYNC, STRICT_SAML_ONLY, AUTH_PROXY, ROLE_SYNC];
}

/// One judged check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: &'static str,
    /// Whether the configuration asks for this check at all.
    pub enforced: bool,
    pub verdict: Verdict,
}

/// Everything the sidecar learned from Grafana in one observation.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyReport {
    /// From `/api/health` (absent with Grafana's `hide_version`).
    pub grafana_version: Option<String>,
    /// `Open Source` or `Enterprise`, from `/api/frontend/settings`.
    pub grafana_edition: Option<String>,
    pub saml: SamlState,
    pub team_sync: TeamSyncState,
    /// Enabled non-SAML login methods (`None`: could not be read).
    pub other_logins: Option<Vec<String>>,
    /// Whether the configured Grafana credential is a server admin (`None`: unknown).
    pub credential_is_server_admin: Option<bool>,
    /// Grafana's header-based logins: auth proxy on or off, the header names to strip.
    pub header_logins: super::header_logins::HeaderLogins,
    /// The judged checks, in [`check::ALL`] order.
    pub checks: Vec<CheckResult>,
    /// When the observation finished (RFC 3339).
    pub observed_at: chrono::DateTime<chrono::Utc>,
    /// The same moment on the monotonic clock, for cache ages.
    #[serde(skip)]
    pub observed: Instant,
}

impl PolicyReport {
    /// The verdict of `name`, when it is a known check.
    pub fn verdict(&self, name: &str) -> Option<&Verdict> {
        self.checks.iter().find(|c| c.check == name).map(|c| &c.verdict)
    }

    /// The overall verdict: violated when any enforced check is violated, else undetermined
    /// when any is undetermined, else satisfied.
    pub fn overall(&self) -> Verdict {
        let enforced = || self.checks.iter().filter(|c| c.enforced);
        if let Some(c) = enforced().find(|c| matches!(c.verdict, Verdict::Violated(_))) {
            return c.verdict.clone();
        }
        if let Some(c) = enforced().find(|c| matches!(c.verdict, Verdict::Undetermined(_))) {
            return c.verdict.clone();
        }
        Verdict::Satisfied
    }

    /// Check name → verdict label, for `/readyz`.
    pub fn summary(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        map.insert("overall".into(), self.overall().label().into());
        for c in &self.checks {
            let label = if c.enforced { c.verdict.label() } else { "not_enforced" };
            map.insert(c.check.into(), label.into());
        }
        map.insert("observed_at".into(), self.observed_at.to_rfc3339().into());
        serde_json::Value::Object(map)
    }
}

/// Judges the observed states against the configuration.
pub fn judge(
    config: &PolicyConfig,
    saml: &SamlState,
    team_sync: &TeamSyncState,
    other_logins: Option<&[String]>,
) -> Vec<CheckResult> {
    let strict = match other_logins {
        None => Verdict::Undetermined("cannot read Grafana's login settings".into()),
        Some([]) => Verdict::Satisfied,
        Some(others) => Verdict::Violated(format!(
            "login methods other than SAML are enabled ({}); disable them in Grafana, or set \
             [policy] strict_saml_only = false",
            others.join(", ")
        )),
    };
    vec![
        CheckResult { check: check::SAML, enforced: config.require_saml, verdict: saml.verdict.clone() },
        CheckResult {
            check: check::TEAM_SYNC,
            enforced: config.group_sync,
            verdict: team_sync.verdict.clone(),
        },
        CheckResult { check: check::STRICT_SAML_ONLY, enforced: config.strict_saml_only, verdict: strict },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::saml::SamlSource;

    fn saml(verdict: Verdict) -> SamlState {
        SamlState::bare(verdict, SamlSource::SsoSettings)
    }

    fn team_sync(verdict: Verdict) -> TeamSyncState {
        TeamSyncState { verdict, licensed: Some(true), linked_teams: Vec::new(), warning: None }
    }

    fn report(checks: Vec<CheckResult>) -> PolicyReport {
        PolicyReport {
            grafana_version: None,
            grafana_edition: None,
            saml: saml(Verdict::Satisfied),
            team_sync: team_sync(Verdict::Satisfied),
            other_logins: None,
            credential_is_server_admin: None,
            header_logins: Default::default(),
            checks,
            observed_at: chrono::Utc::now(),
            observed: Instant::now(),
        }
    }

    #[test]
    fn violated_wins_over_undetermined_and_unasked_checks_do_not_count() {
        let cfg = PolicyConfig::default();
        let others = vec!["login form".to_string()];
        let checks = judge(
            &cfg,
            &saml(Verdict::Undetermined("down".into())),
            &team_sync(Verdict::Violated("links".into())),
            Some(&others),
        );
        let r = report(checks);
        assert_eq!(r.overall(), Verdict::Violated("links".into()));
        // strict_saml_only is off by default: its violation is reported but not enforced.
        assert!(matches!(r.verdict(check::STRICT_SAML_ONLY), Some(Verdict::Violated(_))));
        let s = r.summary();
        assert_eq!(s["strict_saml_only"], "not_enforced");
        assert_eq!(s["saml"], "undetermined");
        assert_eq!(s["overall"], "violated");

        let relaxed = PolicyConfig { group_sync: false, ..PolicyConfig::default() };
        let checks = judge(
            &relaxed,
            &saml(Verdict::Undetermined("down".into())),
            &team_sync(Verdict::Satisfied),
            None,
        );
        assert!(matches!(report(checks).overall(), Verdict::Undetermined(_)));
        let checks =
            judge(&relaxed, &saml(Verdict::Satisfied), &team_sync(Verdict::Violated("x".into())), None);
        assert_eq!(report(checks).overall(), Verdict::Satisfied);
    }
}
