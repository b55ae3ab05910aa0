//! The emulator's whole in-memory database and the cascades that span tables (user delete,
//! org removal, team creation by a user, disable). Handlers and test hooks both go through
//! here so they cannot disagree. Must not build HTTP responses.

pub mod like;
pub mod orgs;
pub mod sessions;
pub mod sso;
pub mod teams;
pub mod users;

use bytes::Bytes;
use rand::Rng;

use crate::calls::CallLog;
use crate::faults::Faults;
use crate::options::EmulatorOptions;
use crate::profile::{Edition, VersionProfile};
use orgs::{Orgs, Role};
use sessions::Sessions;
use sso::Sso;
use teams::{Membership, Teams};
use users::{NewUser, Users};

/// A request recorded verbatim (used for `POST /saml/acs`).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// Method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query.
    pub query: String,
    /// Headers in arrival order (names lowercased).
    pub headers: Vec<(String, String)>,
    /// Exact body bytes.
    pub body: Bytes,
}

/// Why a user could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateUserError {
    /// Login or email taken.
    Conflict,
    /// `orgId` names a missing org.
    OrgNotFound,
}

/// Outcome of an org-membership removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoveOutcome {
    /// Membership removed (or there was none).
    Removed,
    /// The user was orphaned and deleted.
    UserDeleted,
    /// Would leave the org without an admin.
    LastAdmin,
}

/// Everything the emulator stores.
pub struct State {
    /// Live start-up options (version, edition and licence flags may change through hooks).
    pub opts: EmulatorOptions,
    /// `[auth.saml] enabled` as currently configured (ini or SSO settings API).
    pub saml_enabled: bool,
    /// `root_url` with a trailing slash.
    pub root_url: String,
    /// Users.
    pub users: Users,
    /// Orgs.
    pub orgs: Orgs,
    /// Teams.
    pub teams: Teams,
    /// Sessions and tokens.
    pub sessions: Sessions,
    /// SSO settings.
    pub sso: Sso,
    /// Call log.
    pub calls: CallLog,
    /// Faults.
    pub faults: Faults,
    /// Recorded `POST /saml/acs` requests.
    pub acs: Vec<RecordedRequest>,
    /// Token seeded by `seed_admin_token`.
    pub seed_token: Option<String>,
    /// ini settings set by tests (section → key → value), shown by `/api/admin/settings` over
    /// Grafana's defaults; `[auth.proxy]` ones also drive authentication.
    pub ini: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
}

/// A random uid in Grafana's newest format: 14 lowercase alphanumerics starting with a letter.
pub fn new_uid() -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let mut s = String::with_capacity(14);
    s.push(char::from(b'a' + rng.random_range(0..26u8)));
    for _ in 0..13 {
        s.push(char::from(ALNUM[rng.random_range(0..ALNUM.len())]));
    }
    s
}

/// A random opaque secret (session cookies, tokens).
pub fn new_secret(len: usize) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::rng();
    (0..len).map(|_| char::from(ALNUM[rng.random_range(0..ALNUM.len())])).collect()
}

impl State {
    /// An ini setting set by a test, else `default` (Grafana's `defaults.ini`).
    pub fn ini_value(&self, section: &str, key: &str, default: &str) -> String {
        self.ini.get(section).and_then(|s| s.get(key)).cloned().unwrap_or_else(|| default.to_string())
    }

    /// Seed state: org 1 `Main Org.`, user 1 `admin`, server admin and Admin of org 1.
    pub fn new(opts: EmulatorOptions, root_url: String) -> Self {
        let mut st = State {
            saml_enabled: opts.saml_enabled,
            root_url,
            users: Users::new(),
            orgs: Orgs::new(),
            teams: Teams::new(),
            sessions: Sessions::new(),
            sso: Sso::new(opts.saml_enabled),
            calls: CallLog::default(),
            faults: Faults::default(),
            acs: Vec::new(),
            seed_token: None,
            ini: std::collections::BTreeMap::new(),
            opts,
        };
        let _ = st.orgs.create("Main Org.");
        let admin = st.users.insert(
            NewUser {
                login: "admin".into(),
                email: "admin@localhost".into(),
                name: String::new(),
                password: st.opts.admin_password.clone(),
                is_admin: true,
                org_id: 1,
            },
            new_uid(),
        );
        st.orgs.set_member(1, admin, Role::Admin);
        if st.opts.seed_admin_token {
            let tok = format!("glsa_{}_{}", new_secret(32), new_secret(8));
            st.seed_token = Some(st.sessions.add_token(tok, 1, Role::Admin, None));
        }
        st
    }

    /// Active version profile.
    pub fn version(&self) -> VersionProfile {
        self.opts.version
    }

    /// SAML usable: Enterprise, licensed and enabled.
    pub fn saml_active(&self) -> bool {
        self.saml_configurable() && self.saml_enabled
    }

    /// The SAML role-sync keys as `[auth.saml]` in the ini has them (snake_case name, default).
    pub const SAML_ROLE_KEYS: [(&'static str, &'static str, &'static str); 4] = [
        ("assertion_attribute_role", "assertionAttributeRole", ""),
        ("assertion_attribute_org", "assertionAttributeOrg", ""),
        ("org_mapping", "orgMapping", ""),
        ("skip_org_role_sync", "skipOrgRoleSync", "false"),
    ];

    /// A SAML setting as Grafana uses it: the SSO settings saved in the database win, else the
    /// ini (`[auth.saml]`, set with `EmulatorHandle::set_ini`), else the default.
    pub fn saml_setting(&self, snake: &str, camel: &str, default: &str) -> serde_json::Value {
        if let Some(e) = self.sso.get("saml").filter(|e| e.source == "database") {
            return e.settings.get(camel).cloned().unwrap_or(serde_json::Value::Null);
        }
        serde_json::Value::String(self.ini_value("auth.saml", snake, default))
    }

    /// Grafana syncs SAML org roles at login (`pkg/login` `IsExternallySynced` for SAML): SAML is
    /// active and `skip_org_role_sync` is false.
    pub fn saml_role_sync(&self) -> bool {
        self.saml_active()
            && !crate::state::sso::lenient_bool(Some(&self.saml_setting(
                "skip_org_role_sync",
                "skipOrgRoleSync",
                "false",
            )))
    }

    /// SAML appears in the SSO settings API (Enterprise with a SAML licence).
    pub fn saml_configurable(&self) -> bool {
        self.opts.edition == Edition::Enterprise && self.opts.saml_licensed
    }

    /// Team sync routes exist (Enterprise with a teamsync licence).
    pub fn team_sync_active(&self) -> bool {
        self.opts.edition == Edition::Enterprise && self.opts.team_sync_licensed
    }

    /// Turns SAML on or off (ini and SSO settings agree afterwards).
    pub fn set_saml_enabled(&mut self, on: bool) {
        self.saml_enabled = on;
        self.sso.set_enabled("saml", on);
    }

    /// Stores login/email the way the profile does (lowercased on 12.x).
    pub fn normalise(&self, s: &str) -> String {
        if self.version().lowercase_storage() {
            s.to_lowercase()
        } else {
            s.to_string()
        }
    }

    /// Creates a user and assigns orgs per `auto_assign_org` (§4.1). Login/email already defaulted.
    pub fn create_user(
        &mut self,
        login: &str,
        email: &str,
        name: &str,
        password: &str,
        org_id: Option<i64>,
    ) -> Result<i64, CreateUserError> {
        if self.users.conflicts(login, email, None) {
            return Err(CreateUserError::Conflict);
        }
        let target = if self.opts.auto_assign_org {
            let org = org_id.filter(|o| *o != 0).unwrap_or(self.opts.auto_assign_org_id);
            if self.orgs.get(org).is_none() {
                return Err(CreateUserError::OrgNotFound);
            }
            let role = Role::parse(&self.opts.auto_assign_org_role).unwrap_or(Role::Viewer);
            Some((org, role))
        } else {
            None
        };
        let new = NewUser {
            login: self.normalise(login),
            email: self.normalise(email),
            name: name.to_string(),
            password: password.to_string(),
            is_admin: false,
            org_id: 0,
        };
        let id = self.users.insert(new, new_uid());
        let (org, role) = match target {
            Some(t) => t,
            None => {
                // Grafana names the personal org after the email (or login); a clash gets the id appended
                let base = if email.is_empty() { login } else { email };
                let org = match self.orgs.create(base) {
                    Some(o) => o,
                    None => self.orgs.create(&format!("{base}-{id}")).unwrap_or(1),
                };
                (org, Role::Admin)
            }
        };
        self.orgs.set_member(org, id, role);
        if let Some(u) = self.users.get_mut(id) {
            u.org_id = org;
        }
        Ok(id)
    }

    /// Deletes a user with every org and team membership and session.
    pub fn delete_user(&mut self, id: i64) -> bool {
        if self.users.remove(id).is_none() {
            return false;
        }
        self.orgs.remove_user(id);
        self.teams.remove_user(id, None);
        self.sessions.revoke_user(id);
        true
    }

    /// Disables or enables; disabling revokes sessions.
    pub fn set_disabled(&mut self, id: i64, disabled: bool) -> bool {
        let Some(u) = self.users.get_mut(id) else {
            return false;
        };
        u.is_disabled = disabled;
        if disabled {
            self.sessions.revoke_user(id);
        }
        true
    }

    /// Adds (or replaces) an org membership and sets the active org when the user had none.
    pub fn add_org_user(&mut self, org: i64, user: i64, role: Role) -> bool {
        if self.users.get(user).is_none() || !self.orgs.set_member(org, user, role) {
            return false;
        }
        if let Some(u) = self.users.get_mut(user) {
            if u.org_id <= 0 {
                u.org_id = org;
            }
        }
        true
    }

    /// Removes a user from an org (§6.4 with §13.2/§13.3): team memberships of that org go too,
    /// the last-admin guard applies, and `delete_orphan` deletes a user left with no org.
    pub fn remove_org_user(&mut self, org: i64, user: i64, delete_orphan: bool) -> RemoveOutcome {
        let role = self.orgs.role(org, user);
        let admins_after = self.orgs.admin_count(org) - usize::from(role == Some(Role::Admin));
        if self.orgs.get(org).is_some() && admins_after == 0 {
            return RemoveOutcome::LastAdmin;
        }
        self.orgs.remove_member(org, user);
        self.teams.remove_user(user, Some(org));
        let remaining = self.orgs.orgs_of(user);
        if delete_orphan && remaining.is_empty() && self.users.get(user).is_some() {
            self.delete_user(user);
            return RemoveOutcome::UserDeleted;
        }
        if let Some(u) = self.users.get_mut(user) {
            if u.org_id == org {
                u.org_id = remaining.first().copied().unwrap_or(0);
            }
        }
        RemoveOutcome::Removed
    }

    /// Creates a team; `creator` (a user, not a service account) becomes its Admin (§7.2).
    pub fn create_team(&mut self, org: i64, name: &str, email: &str, creator: Option<i64>) -> Option<i64> {
        let id = self.teams.create(org, name, email, new_uid())?;
        if let Some(user) = creator {
            self.teams.set_member(id, user, Membership { permission: teams::ADMIN, external: false });
        }
        Some(id)
    }
}
