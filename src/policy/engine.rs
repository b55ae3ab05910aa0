//! [`PolicyEngine`]: the cached policy report, its background refresh, verdict-change logging,
//! metrics, and the permits SCIM handlers need.
//!
//! The report is one value, fresh for `[policy] cache_ttl` after it was observed. One observation
//! runs at a time (the background refresher's and a request's alike), and whoever waited for it
//! uses its report instead of observing again, so Grafana sees one observation per TTL however
//! many requests arrive. (A one-entry moka cache held it before: a request that found it empty
//! while the refresher was observing started a second observation, and under load on a shared
//! host a benchmark run saw reports go missing between refreshes, every request then observing
//! anew, some 7 Grafana calls each.)
//!
//! A request never waits on a slow Grafana longer than `[policy] check_timeout`: the refresh
//! runs in its own task, and a request that gives up uses the last report if it is younger than
//! twice the TTL, else an undetermined one, which fails closed. Must not build HTTP responses
//! (the SCIM edge and the passthrough guards do).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::observe::observe;
use super::permit::{GroupsPermit, PolicyRefusal, RoleWrites, UsersPermit};
use super::report::{check, judge, CheckResult, PolicyReport};
use super::saml::{SamlSource, SamlState};
use super::team_sync::TeamSyncState;
use super::Verdict;
use crate::config::{Config, PolicyConfig};
use crate::grafana::GrafanaClient;
use crate::metrics::{CheckLabels, Metrics};

/// Shortest refresh period, whatever the configured TTL.
const MIN_REFRESH: Duration = Duration::from_millis(100);

/// Cheap to clone; every clone shares the report.
#[derive(Clone)]
pub struct PolicyEngine {
    inner: Arc<Inner>,
}

struct Inner {
    grafana: GrafanaClient,
    config: PolicyConfig,
    credential_user: String,
    scim_active: bool,
    /// `[scim.roles] enabled`: the `role_sync` check is enforced (with SCIM active).
    roles_enabled: bool,
    /// `[scim.roles] grafana_admin_values` is not empty.
    admin_values: bool,
    /// SCIM permits or the SAML login gate read the report: keep it fresh in the background.
    refresh_in_background: bool,
    metrics: Metrics,
    /// The latest report, fresh while younger than the TTL.
    last: RwLock<Option<Arc<PolicyReport>>>,
    /// Held while observing: one observation at a time.
    observing: tokio::sync::Mutex<()>,
    /// The last logged state per check, so a change is logged once, never per request.
    logged: Mutex<HashMap<&'static str, String>>,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine").field("config", &self.inner.config).finish_non_exhaustive()
    }
}

impl PolicyEngine {
    /// Reads `[policy]`, the credential's login and whether SCIM is configured at all (any
    /// token, token file, or Grafana tokens accepted). Does not contact Grafana.
    pub fn new(grafana: GrafanaClient, config: &Config, metrics: Metrics) -> Self {
        let policy = config.policy.clone();
        let scim_active = !config.scim.tokens.is_empty()
            || config.scim.token_file.is_some()
            || config.scim.accept_grafana_tokens;
        Self {
            inner: Arc::new(Inner {
                grafana,
                config: policy,
                credential_user: config.grafana.user.clone(),
                scim_active,
                roles_enabled: config.scim.roles.enabled,
                admin_values: !config.scim.roles.grafana_admin_values.is_empty(),
                refresh_in_background: scim_active || config.saml_gate.enabled,
                metrics,
                last: RwLock::new(None),
                observing: tokio::sync::Mutex::new(()),
                logged: Mutex::new(HashMap::new()),
            }),
        }
    }

    pub fn config(&self) -> &PolicyConfig {
        &self.inner.config
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Whether the sidecar serves SCIM to anyone (some credential is configured).
    pub fn scim_active(&self) -> bool {
        self.inner.scim_active
    }

    /// The verdicts the passthrough guards enforce, as they stand now.
    pub fn snapshot(&self) -> super::Snapshot {
        super::Snapshot {
            scim_active: self.inner.scim_active,
            group_sync: self.inner.config.group_sync,
            require_saml: self.inner.config.require_saml,
            role_sync: self.role_sync_on(),
            admin_sync: self.role_sync_on() && self.inner.admin_values,
        }
    }

    /// SCIM role sync is on and SCIM is served: the `role_sync` check is enforced.
    fn role_sync_on(&self) -> bool {
        self.inner.scim_active && self.inner.roles_enabled
    }

    /// One uncached observation of Grafana (for `scim-sidecar check`); records nothing.
    pub async fn observe(&self) -> PolicyReport {
        let mut report = observe(&self.inner.grafana, &self.inner.config, &self.inner.credential_user).await;
        let verdict = super::header_logins::verdict(&report.header_logins);
        report.checks.push(CheckResult {
            check: check::AUTH_PROXY,
            enforced: self.inner.scim_active,
            verdict,
        });
        let role_sync = super::role_sync::verdict(&report.saml.verdict, &report.saml.role_sync);
        report.checks.push(CheckResult {
            check: check::ROLE_SYNC,
            enforced: self.role_sync_on(),
            verdict: role_sync,
        });
        report
    }

    /// The identity header names Grafana's settings use, as last observed (any age: a stale
    /// list only strips names Grafana no longer reads). Never waits.
    pub fn identity_header_names(&self) -> Vec<String> {
        self.last_report().map(|r| r.header_logins.header_names.clone()).unwrap_or_default()
    }

    /// The last report of any age (`None` before the first). Never waits and copies nothing but
    /// an `Arc`, so the edge can read Grafana's identity header names on every request.
    pub fn last_report(&self) -> Option<Arc<PolicyReport>> {
        self.inner.last.read().ok()?.clone()
    }

    /// The current report, waiting at most `check_timeout` for a fresh one.
    pub async fn report(&self) -> Arc<PolicyReport> {
        if let Some(report) = self.fresh() {
            return report;
        }
        let engine = self.clone();
        // Spawned so the refresh finishes (and stores its report) even when this request stops
        // waiting.
        let ttl = self.inner.config.cache_ttl;
        let refresh = tokio::spawn(async move { engine.refresh(ttl).await });
        match tokio::time::timeout(self.inner.config.check_timeout, refresh).await {
            Ok(Ok(report)) => report,
            _ => self.fallback(),
        }
    }

    /// The latest report while younger than the TTL.
    fn fresh(&self) -> Option<Arc<PolicyReport>> {
        self.younger_than(self.inner.config.cache_ttl)
    }

    fn younger_than(&self, age: Duration) -> Option<Arc<PolicyReport>> {
        let last = self.inner.last.read().ok()?.clone()?;
        (last.observed.elapsed() < age).then_some(last)
    }

    /// Observes Grafana once no other observation is under way, unless the latest report (the
    /// one under way, perhaps) is younger than `max_age`.
    async fn refresh(&self, max_age: Duration) -> Arc<PolicyReport> {
        let _observing = self.inner.observing.lock().await;
        if let Some(report) = self.younger_than(max_age) {
            return report;
        }
        self.refresh_now().await
    }

    /// Observes Grafana now, records the result (metrics, logs, last known) and returns it.
    async fn refresh_now(&self) -> Arc<PolicyReport> {
        let mut report = self.observe().await;
        if report.header_logins.auth_proxy_enabled.is_none() {
            // Grafana's settings could not be read this time: keep stripping the header names
            // it was last seen to use rather than none.
            report.header_logins.header_names = self.identity_header_names();
        }
        let report = Arc::new(report);
        self.record(&report);
        if let Ok(mut last) = self.inner.last.write() {
            *last = Some(report.clone());
        }
        report
    }

    /// The last report while younger than twice the TTL, else an undetermined one.
    fn fallback(&self) -> Arc<PolicyReport> {
        if let Some(report) = self.younger_than(self.inner.config.cache_ttl.saturating_mul(2)) {
            return report;
        }
        let report = Arc::new(self.undetermined(format!(
            "Grafana did not answer the policy checks within {:?}",
            self.inner.config.check_timeout
        )));
        self.record(&report);
        report
    }

    /// A report in which every observed check is undetermined for `reason`.
    fn undetermined(&self, reason: String) -> PolicyReport {
        let saml = SamlState::bare(Verdict::Undetermined(reason.clone()), SamlSource::None);
        let reason_again = reason.clone();
        let team_sync = TeamSyncState {
            verdict: Verdict::Undetermined(reason),
            licensed: None,
            linked_teams: Vec::new(),
            warning: None,
        };
        let mut checks = judge(&self.inner.config, &saml, &team_sync, None);
        checks.push(CheckResult {
            check: check::AUTH_PROXY,
            enforced: self.inner.scim_active,
            verdict: Verdict::Undetermined(reason_again.clone()),
        });
        checks.push(CheckResult {
            check: check::ROLE_SYNC,
            enforced: self.role_sync_on(),
            verdict: Verdict::Undetermined(reason_again),
        });
        PolicyReport {
            grafana_version: None,
            grafana_edition: None,
            saml,
            team_sync,
            other_logins: None,
            credential_is_server_admin: None,
            header_logins: Default::default(),
            checks,
            observed_at: chrono::Utc::now(),
            observed: Instant::now(),
        }
    }

    /// Sets the gauges and logs each check whose state changed since the last report.
    fn record(&self, report: &PolicyReport) {
        let Ok(mut logged) = self.inner.logged.lock() else { return };
        for c in &report.checks {
            // A check the configuration does not enforce cannot refuse anything: report it as met.
            let gauge = if c.enforced { c.verdict.gauge() } else { 1 };
            self.inner.metrics.policy_state.get_or_create(&CheckLabels { check: c.check }).set(gauge);
            if !c.enforced {
                continue;
            }
            let state = format!("{}: {}", c.verdict.label(), c.verdict.reason().unwrap_or(""));
            if logged.get(c.check) == Some(&state) {
                continue;
            }
            let first = !logged.contains_key(c.check);
            logged.insert(c.check, state);
            match c.verdict.reason() {
                None if first => info!(check = c.check, "policy check satisfied"),
                None => info!(check = c.check, "policy check satisfied again"),
                Some(reason) => {
                    warn!(check = c.check, state = c.verdict.label(), reason, "policy check not satisfied")
                }
            }
        }
        if let Some(w) = &report.team_sync.warning {
            if self.inner.config.group_sync && logged.get("team_sync_warning") != Some(w) {
                warn!(warning = %w, "team sync may act at next login");
                logged.insert("team_sync_warning", w.clone());
            }
        }
    }

    /// May SCIM `/Users` (and any non-discovery SCIM request) run now?
    ///
    /// # Errors
    /// A [`PolicyRefusal`] naming the first failed check.
    pub async fn permit_users(&self) -> Result<UsersPermit, PolicyRefusal> {
        let report = self.report().await;
        self.gate(&report, &[check::SAML, check::STRICT_SAML_ONLY])?;
        Ok(UsersPermit(()))
    }

    /// May SCIM change users' roles now? Allowed while role sync is off; else as the `role_sync`
    /// check says (undetermined refuses, like every check). Counts nothing: provisioning counts
    /// the refusal when a write really changes roles.
    pub async fn role_writes(&self) -> RoleWrites {
        if !self.role_sync_on() {
            return RoleWrites::Allowed;
        }
        let report = self.report().await;
        let detail = match report.verdict(check::ROLE_SYNC) {
            Some(Verdict::Satisfied) | None => return RoleWrites::Allowed,
            Some(Verdict::Violated(reason)) => {
                format!(
                    "policy check `{}` failed, so SCIM role changes are refused: {reason}",
                    check::ROLE_SYNC
                )
            }
            Some(Verdict::Undetermined(reason)) => format!(
                "policy check `{}` could not be decided, so SCIM role changes are refused until Grafana \
                 answers: {reason}",
                check::ROLE_SYNC
            ),
        };
        RoleWrites::Refused(PolicyRefusal { check: check::ROLE_SYNC, detail })
    }

    /// May SCIM `/Groups` run now? Also refused while Team Sync is in use, and always when
    /// `[policy] group_sync = false`.
    ///
    /// # Errors
    /// A [`PolicyRefusal`] naming the first failed check.
    pub async fn permit_groups(&self) -> Result<GroupsPermit, PolicyRefusal> {
        if !self.inner.config.group_sync {
            return Err(self.refuse(
                check::GROUP_SYNC,
                "SCIM group sync is disabled in the sidecar configuration ([policy] group_sync = false); \
                 set it to true to provision Grafana teams through /Groups"
                    .into(),
            ));
        }
        let report = self.report().await;
        self.gate(&report, &[check::SAML, check::STRICT_SAML_ONLY, check::TEAM_SYNC])?;
        Ok(GroupsPermit(()))
    }

    fn gate(&self, report: &PolicyReport, wanted: &[&str]) -> Result<(), PolicyRefusal> {
        for c in report.checks.iter().filter(|c| c.enforced && wanted.contains(&c.check)) {
            let detail = match &c.verdict {
                Verdict::Satisfied => continue,
                Verdict::Violated(reason) => format!("policy check `{}` failed: {reason}", c.check),
                Verdict::Undetermined(reason) => format!(
                    "policy check `{}` could not be decided, so SCIM requests are refused until Grafana \
                     answers: {reason}",
                    c.check
                ),
            };
            return Err(self.refuse(c.check, detail));
        }
        Ok(())
    }

    fn refuse(&self, check: &'static str, detail: String) -> PolicyRefusal {
        self.inner.metrics.policy_refusals.get_or_create(&CheckLabels { check }).inc();
        PolicyRefusal { check, detail }
    }

    /// Refreshes the report every TTL until `shutdown` completes, so requests rarely wait.
    /// Without any SCIM credential configured and without the SAML login gate nobody reads the
    /// report on the request path, so nothing is refreshed in the background (`/readyz` still
    /// observes on demand).
    pub fn spawn_refresher(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let engine = self.clone();
        let period = self.inner.config.cache_ttl.max(MIN_REFRESH);
        tokio::spawn(async move {
            if !engine.inner.refresh_in_background {
                shutdown.await;
                return;
            }
            tokio::pin!(shutdown);
            // Later rounds wake as the report turns stale. A report a request observed in the
            // meantime is kept: by whichever round finds it, when younger than half the TTL
            // (the first round: younger than the TTL, as a request would).
            let mut keep = engine.inner.config.cache_ttl;
            loop {
                tokio::select! {
                    () = &mut shutdown => break,
                    _ = engine.refresh(keep) => {}
                }
                keep = period / 2;
                tokio::select! {
                    () = &mut shutdown => break,
                    () = tokio::time::sleep(period) => {}
                }
            }
        })
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
