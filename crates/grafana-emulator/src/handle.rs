//! `EmulatorHandle`: the typed, synchronous test hooks over a running emulator (set up state,
//! read it back, inject faults, inspect the call log) and its shutdown. Hooks go through the
//! same `State` methods as the HTTP handlers. Must not bypass the cascades.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Mutex as AsyncMutex};
use tokio::task::JoinHandle;

use crate::calls::CallRecord;
use crate::faults::Fault;
use crate::profile::{Edition, VersionProfile};
use crate::server::{lock, Shared};
use crate::state::orgs::Role;
use crate::state::teams::{Membership, Team};
use crate::state::users::User;
use crate::state::{new_secret, CreateUserError, RecordedRequest, RemoveOutcome, State};

struct Inner {
    addr: SocketAddr,
    state: Shared,
    stop: watch::Sender<bool>,
    task: AsyncMutex<Option<JoinHandle<()>>>,
}

/// A running emulator. Cheap to clone; every clone sees the same state.
#[derive(Clone)]
pub struct EmulatorHandle {
    inner: Arc<Inner>,
}

fn role(r: &str) -> Role {
    Role::parse(r).unwrap_or(Role::Viewer)
}

impl EmulatorHandle {
    pub(crate) fn new(
        addr: SocketAddr,
        state: Shared,
        stop: watch::Sender<bool>,
        task: JoinHandle<()>,
    ) -> Self {
        EmulatorHandle { inner: Arc::new(Inner { addr, state, stop, task: AsyncMutex::new(Some(task)) }) }
    }

    /// `http://IP:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `root_url` as the emulator reports it (trailing slash).
    pub fn root_url(&self) -> String {
        self.with_state(|s| s.root_url.clone())
    }

    /// Stops the listener and closes every connection.
    pub async fn shutdown(self) {
        let _ = self.inner.stop.send(true);
        if let Some(task) = self.inner.task.lock().await.take() {
            let _ = task.await;
        }
    }

    /// Runs a closure on the raw state (escape hatch for tests).
    pub fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut lock(&self.inner.state))
    }

    // ---- users ----

    /// Creates a user as `POST /api/admin/users` would (org assignment included) with no
    /// password. On a conflict it returns the id of the user already holding the login/email.
    pub fn create_user(&self, login: &str, email: &str, name: &str) -> i64 {
        self.create_user_with_password(login, email, name, "")
    }

    /// Like `create_user`, with a password usable for basic auth and `/login`.
    pub fn create_user_with_password(&self, login: &str, email: &str, name: &str, password: &str) -> i64 {
        self.with_state(|s| match s.create_user(login, email, name, password, None) {
            Ok(id) => id,
            Err(_) => s.users.id_by_login(login).or_else(|| s.users.id_by_email(email)).unwrap_or(-1),
        })
    }

    /// Gives a user the uid it would have had if created through Grafana's Kubernetes-style API,
    /// where the object's name (any DNS subdomain name, dots included) becomes its uid.
    pub fn set_user_uid(&self, user_id: i64, uid: &str) -> bool {
        self.with_state(|s| s.users.set_uid(user_id, uid))
    }

    /// Fallible variant of `create_user`.
    pub fn try_create_user(
        &self,
        login: &str,
        email: &str,
        name: &str,
        org: Option<i64>,
    ) -> Result<i64, CreateUserError> {
        self.with_state(|s| s.create_user(login, email, name, "", org))
    }

    /// Snapshot of a user.
    pub fn user(&self, id: i64) -> Option<User> {
        self.with_state(|s| s.users.get(id).cloned())
    }

    /// Snapshot by login (case-insensitive).
    pub fn user_by_login(&self, login: &str) -> Option<User> {
        self.with_state(|s| s.users.id_by_login(login).and_then(|id| s.users.get(id).cloned()))
    }

    /// Snapshot by email (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.with_state(|s| s.users.id_by_email(email).and_then(|id| s.users.get(id).cloned()))
    }

    /// Every user ordered by login.
    pub fn users(&self) -> Vec<User> {
        self.with_state(|s| s.users.iter_by_login().cloned().collect())
    }

    /// Number of users (the admin included).
    pub fn user_count(&self) -> usize {
        self.with_state(|s| s.users.len())
    }

    /// Writes an external auth link (e.g. `auth.saml`), as a first SSO login does.
    pub fn mark_external(&self, user_id: i64, auth_module: &str) {
        self.with_state(|s| {
            if let Some(u) = s.users.get_mut(user_id) {
                u.auth_module = Some(auth_module.to_string());
            }
        })
    }

    /// Disables (revoking sessions) or enables a user.
    pub fn set_disabled(&self, user_id: i64, disabled: bool) {
        self.with_state(|s| s.set_disabled(user_id, disabled));
    }

    /// Renames a user, as an admin's edit in Grafana's UI would.
    pub fn set_name(&self, user_id: i64, name: &str) {
        self.with_state(|s| {
            if let Some(u) = s.users.get_mut(user_id) {
                u.name = name.to_string();
            }
        })
    }

    /// Sets a user's password.
    pub fn set_password(&self, user_id: i64, password: &str) {
        self.with_state(|s| {
            if let Some(u) = s.users.get_mut(user_id) {
                u.password = password.to_string();
            }
        })
    }

    /// Clears the brute-force counter of a username.
    pub fn reset_login_attempts(&self, username: &str) {
        self.with_state(|s| s.sessions.reset_login_failures(username));
    }

    /// Sets the server-admin flag.
    pub fn set_server_admin(&self, user_id: i64, on: bool) {
        self.with_state(|s| {
            if let Some(u) = s.users.get_mut(user_id) {
                u.is_admin = on;
            }
        })
    }

    /// Deletes a user with all cascades.
    pub fn delete_user(&self, user_id: i64) -> bool {
        self.with_state(|s| s.delete_user(user_id))
    }

    // ---- orgs ----

    /// Creates an org (the admin is not added); returns the existing id when the name is taken.
    pub fn create_org(&self, name: &str) -> i64 {
        self.with_state(|s| s.orgs.create(name).or_else(|| s.orgs.id_by_name(name)).unwrap_or(-1))
    }

    /// Adds or replaces a membership (`Viewer`, `Editor`, `Admin`, `None`).
    pub fn add_org_user(&self, org: i64, user: i64, role_name: &str) -> bool {
        self.with_state(|s| s.add_org_user(org, user, role(role_name)))
    }

    /// Removes a membership with the §13.2 cascade (no orphan deletion).
    pub fn remove_org_user(&self, org: i64, user: i64) -> RemoveOutcome {
        self.with_state(|s| s.remove_org_user(org, user, false))
    }

    /// `(user_id, role)` pairs of an org, by user id.
    pub fn org_users(&self, org: i64) -> Vec<(i64, String)> {
        self.with_state(|s| {
            s.orgs
                .get(org)
                .map(|o| o.members.iter().map(|(u, r)| (*u, r.as_str().to_string())).collect())
                .unwrap_or_default()
        })
    }

    /// Org ids of a user.
    pub fn user_orgs(&self, user: i64) -> Vec<i64> {
        self.with_state(|s| s.orgs.orgs_of(user))
    }

    // ---- teams ----

    /// Creates a team with no members (as a service account would); `-1` when the name is taken.
    pub fn create_team(&self, org: i64, name: &str) -> i64 {
        self.with_state(|s| s.create_team(org, name, "", None).unwrap_or(-1))
    }

    /// Snapshot of a team.
    pub fn team(&self, id: i64) -> Option<Team> {
        self.with_state(|s| s.teams.get(id).cloned())
    }

    /// Team by exact name in an org.
    pub fn team_by_name(&self, org: i64, name: &str) -> Option<Team> {
        self.with_state(|s| s.teams.id_by_name(org, name).and_then(|id| s.teams.get(id).cloned()))
    }

    /// Number of teams.
    pub fn team_count(&self) -> usize {
        self.with_state(|s| s.teams.len())
    }

    /// `(user_id, permission)` pairs (0 Member, 4 Admin), by user id.
    pub fn team_members(&self, team: i64) -> Vec<(i64, i64)> {
        self.with_state(|s| s.teams.members(team).into_iter().map(|(u, m)| (u, m.permission)).collect())
    }

    /// The `iam.grafana.app` team binding name of one membership.
    pub fn team_binding_name(&self, team: i64, user: i64) -> String {
        crate::state::teams::Teams::binding_name(team, user)
    }

    /// Adds or replaces a membership.
    pub fn add_team_member(&self, team: i64, user: i64, permission: i64) {
        self.with_state(|s| s.teams.set_member(team, user, Membership { permission, external: false }));
    }

    /// Adds a membership written by team sync (`external = true`).
    pub fn add_external_team_member(&self, team: i64, user: i64) {
        self.with_state(|s| s.teams.set_member(team, user, Membership { permission: 0, external: true }));
    }

    /// Marks a team as provisioned by Grafana's SCIM (12.x guards apply).
    pub fn set_team_provisioned(&self, team: i64, on: bool) {
        self.with_state(|s| {
            if let Some(t) = s.teams.get_mut(team) {
                t.is_provisioned = on;
            }
        })
    }

    /// Adds a team-sync group.
    pub fn add_team_group(&self, team: i64, group: &str) -> bool {
        self.with_state(|s| s.teams.add_group(team, group))
    }

    /// Team-sync groups of a team.
    pub fn team_groups(&self, team: i64) -> Vec<String> {
        self.with_state(|s| s.teams.groups(team))
    }

    // ---- credentials and sessions ----

    /// A service-account token in `org` with a basic role and role-derived permissions.
    pub fn create_service_account_token(&self, org: i64, role_name: &str) -> String {
        let tok = format!("glsa_{}_{}", new_secret(32), new_secret(8));
        self.with_state(|s| s.sessions.add_token(tok, org, role(role_name), None))
    }

    /// A service-account token with explicit `(action, scope)` grants.
    pub fn create_service_account_token_with_permissions(
        &self,
        org: i64,
        role_name: &str,
        perms: &[(&str, &str)],
    ) -> String {
        let tok = format!("glsa_{}_{}", new_secret(32), new_secret(8));
        let perms = perms.iter().map(|(a, s)| (a.to_string(), s.to_string())).collect();
        self.with_state(|s| s.sessions.add_token(tok, org, role(role_name), Some(perms)))
    }

    /// Marks a token revoked.
    pub fn revoke_token(&self, token: &str) {
        self.with_state(|s| {
            if let Some(t) = s.sessions.token_mut(token) {
                t.revoked = true;
            }
        })
    }

    /// Marks a token expired.
    pub fn expire_token(&self, token: &str) {
        self.with_state(|s| {
            if let Some(t) = s.sessions.token_mut(token) {
                t.expired = true;
            }
        })
    }

    /// The token seeded by `EmulatorOptions::seed_admin_token`.
    pub fn seed_token(&self) -> Option<String> {
        self.with_state(|s| s.seed_token.clone())
    }

    /// Sets an ini setting (`section`, `key` as in `grafana.ini`), as a restart with that
    /// configuration would: `/api/admin/settings` shows it, and `[auth.proxy]` `enabled` /
    /// `header_name` switch auth-proxy logins on.
    pub fn set_ini(&self, section: &str, key: &str, value: &str) {
        self.with_state(|s| {
            s.ini.entry(section.to_string()).or_default().insert(key.to_string(), value.to_string());
        });
    }

    /// `Authorization` header value for the admin user.
    pub fn admin_basic_auth(&self) -> String {
        use base64::Engine;
        let pw = self.with_state(|s| s.opts.admin_password.clone());
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin:{pw}")))
    }

    /// Creates a session and returns the `grafana_session` cookie value.
    pub fn create_session(&self, user_id: i64) -> String {
        self.with_state(|s| s.sessions.create(user_id, new_secret(32)))
    }

    /// Number of live sessions of a user.
    pub fn sessions(&self, user_id: i64) -> usize {
        self.with_state(|s| s.sessions.of_user(user_id).len())
    }

    /// Every recorded `POST /saml/acs`.
    pub fn acs_posts(&self) -> Vec<RecordedRequest> {
        self.with_state(|s| s.acs.clone())
    }

    // ---- configuration ----

    /// Turns SAML on or off (ini and SSO settings).
    pub fn set_saml_enabled(&self, on: bool) {
        self.with_state(|s| {
            s.opts.saml_enabled = on;
            s.set_saml_enabled(on);
        })
    }

    /// Switches the version profile.
    pub fn set_version(&self, v: VersionProfile) {
        self.with_state(|s| s.opts.version = v);
    }

    /// Switches the edition.
    pub fn set_edition(&self, e: Edition) {
        self.with_state(|s| s.opts.edition = e);
    }

    /// Sets the SAML licence.
    pub fn set_saml_licensed(&self, on: bool) {
        self.with_state(|s| s.opts.saml_licensed = on);
    }

    /// Sets the team-sync licence.
    pub fn set_team_sync_licensed(&self, on: bool) {
        self.with_state(|s| s.opts.team_sync_licensed = on);
    }

    /// SAML currently usable (Enterprise, licensed, enabled).
    pub fn saml_active(&self) -> bool {
        self.with_state(|s| s.saml_active())
    }

    // ---- call log ----

    /// Every call since the last reset, oldest first.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.with_state(|s| s.calls.records())
    }

    /// Number of calls since the last reset.
    pub fn call_count(&self) -> u64 {
        self.with_state(|s| s.calls.total())
    }

    /// Number of calls to exactly `METHOD path`.
    pub fn count(&self, method: &str, path: &str) -> u64 {
        self.with_state(|s| s.calls.count(method, path))
    }

    /// Clears the call log.
    pub fn reset_calls(&self) {
        self.with_state(|s| s.calls.reset());
    }

    // ---- faults ----

    /// The next `times` requests matching `method` (`*` for any) and `path_prefix` answer `status`.
    pub fn fail_next(&self, method: &str, path_prefix: &str, status: u16, times: u32) {
        self.with_state(|s| s.faults.add(method, path_prefix, Fault::Status(status), times));
    }

    /// The next `times` matching requests get their connection closed without a response.
    pub fn drop_connections(&self, method: &str, path_prefix: &str, times: u32) {
        self.with_state(|s| s.faults.add(method, path_prefix, Fault::Drop, times));
    }

    /// Latency added before every request.
    pub fn set_latency(&self, d: Duration) {
        self.with_state(|s| s.faults.latency = d);
    }

    /// `/api/health` answers 503 with `database: failing`.
    pub fn set_health_failing(&self, on: bool) {
        self.with_state(|s| s.faults.health_failing = on);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.with_state(|s| s.faults.clear());
    }
}
