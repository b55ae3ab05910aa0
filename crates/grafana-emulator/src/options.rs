//! Start-up options of an emulator instance (the ini settings a real Grafana would read).
//! Must not touch running state: live changes go through `EmulatorHandle`.

use crate::profile::{Edition, VersionProfile};

/// Options for [`crate::Emulator::start`].
#[derive(Debug, Clone)]
pub struct EmulatorOptions {
    /// Version profile (§10 rows).
    pub version: VersionProfile,
    /// OSS or Enterprise binary.
    pub edition: Edition,
    /// `[auth.saml] enabled`.
    pub saml_enabled: bool,
    /// The licence includes `saml` (Enterprise only).
    pub saml_licensed: bool,
    /// The licence includes `teamsync` (Enterprise only).
    pub team_sync_licensed: bool,
    /// Password of the seeded `admin` user.
    pub admin_password: String,
    /// `[server] root_url`; defaults to the bound URL with a trailing slash.
    pub root_url: Option<String>,
    /// `[server] serve_from_sub_path` with the sub-path of `root_url` (e.g. `/grafana`): the
    /// router trims it from the percent-decoded path (`pkg/web/macaron.go`), so paths with and
    /// without it reach the same handlers.
    pub serve_from_sub_path: Option<String>,
    /// `[users] auto_assign_org`.
    pub auto_assign_org: bool,
    /// `[users] auto_assign_org_id`.
    pub auto_assign_org_id: i64,
    /// `[users] auto_assign_org_role`.
    pub auto_assign_org_role: String,
    /// Seed one service-account token with org role Admin in org 1 (read it with `seed_token`).
    pub seed_admin_token: bool,
    /// `[auth.basic] password_policy` (strong passwords).
    pub strong_password_policy: bool,
    /// Brute-force login protection (5 failures per username in 5 minutes block it).
    pub brute_force_protection: bool,
}

impl Default for EmulatorOptions {
    fn default() -> Self {
        EmulatorOptions {
            version: VersionProfile::V12,
            edition: Edition::Enterprise,
            saml_enabled: true,
            saml_licensed: true,
            team_sync_licensed: true,
            admin_password: "admin".to_string(),
            root_url: None,
            serve_from_sub_path: None,
            auto_assign_org: true,
            auto_assign_org_id: 1,
            auto_assign_org_role: "Viewer".to_string(),
            seed_admin_token: false,
            strong_password_policy: false,
            brute_force_protection: true,
        }
    }
}

impl EmulatorOptions {
    /// Grafana OSS: no SAML, no licence.
    pub fn oss() -> Self {
        EmulatorOptions {
            edition: Edition::Oss,
            saml_enabled: false,
            saml_licensed: false,
            team_sync_licensed: false,
            ..Self::default()
        }
    }

    /// Licensed Enterprise with SAML and team sync (same as `default()`).
    pub fn enterprise() -> Self {
        Self::default()
    }

    /// Sets the version profile.
    pub fn version(mut self, v: VersionProfile) -> Self {
        self.version = v;
        self
    }
    /// Sets the edition.
    pub fn edition(mut self, e: Edition) -> Self {
        self.edition = e;
        self
    }
    /// Sets `[auth.saml] enabled`.
    pub fn saml_enabled(mut self, on: bool) -> Self {
        self.saml_enabled = on;
        self
    }
    /// Sets whether the licence covers SAML.
    pub fn saml_licensed(mut self, on: bool) -> Self {
        self.saml_licensed = on;
        self
    }
    /// Sets whether the licence covers team sync.
    pub fn team_sync_licensed(mut self, on: bool) -> Self {
        self.team_sync_licensed = on;
        self
    }
    /// Sets the admin password.
    pub fn admin_password(mut self, pw: impl Into<String>) -> Self {
        self.admin_password = pw.into();
        self
    }
    /// Sets `root_url`.
    pub fn root_url(mut self, url: impl Into<String>) -> Self {
        self.root_url = Some(url.into());
        self
    }
    /// Sets `auto_assign_org`.
    pub fn auto_assign_org(mut self, on: bool) -> Self {
        self.auto_assign_org = on;
        self
    }
    /// Sets `auto_assign_org_id`.
    pub fn auto_assign_org_id(mut self, id: i64) -> Self {
        self.auto_assign_org_id = id;
        self
    }
    /// Sets `auto_assign_org_role`.
    pub fn auto_assign_org_role(mut self, role: impl Into<String>) -> Self {
        self.auto_assign_org_role = role.into();
        self
    }
    /// Seeds an Admin service-account token in org 1.
    pub fn seed_admin_token(mut self, on: bool) -> Self {
        self.seed_admin_token = on;
        self
    }
    /// Turns on the strong password policy.
    pub fn strong_password_policy(mut self, on: bool) -> Self {
        self.strong_password_policy = on;
        self
    }
    /// Turns brute-force login protection on or off.
    pub fn brute_force_protection(mut self, on: bool) -> Self {
        self.brute_force_protection = on;
        self
    }
}
