//! Version profiles and editions: every behaviour that differs between Grafana 10.x, 11.x and 12.x
//! (grafana-api.md §10, corrected by §13) is answered here, so handlers ask a question instead of
//! comparing version numbers. Must not hold state.

/// The Grafana release line the emulator pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VersionProfile {
    /// Grafana 10.4.x.
    V10,
    /// Grafana 11.6.x (after 11.4: uid fields, uid paths, bulk members).
    V11,
    /// Latest 12.x (≥ 12.3: `isProvisioned`, real uid from `/lookup`).
    V12,
}

/// Which binary is emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Edition {
    /// Grafana OSS: no SAML, no team sync routes.
    Oss,
    /// Grafana Enterprise (licensing still decides SAML and team sync).
    Enterprise,
}

impl VersionProfile {
    /// Every profile, for data-driven tests.
    pub const ALL: [VersionProfile; 3] = [VersionProfile::V10, VersionProfile::V11, VersionProfile::V12];

    /// Version string reported by `/api/health` and `buildInfo`.
    pub fn version_string(self) -> &'static str {
        match self {
            VersionProfile::V10 => "10.4.3",
            VersionProfile::V11 => "11.6.1",
            VersionProfile::V12 => "12.3.0",
        }
    }

    /// Parses `10`, `11`, `12`, `v11`, `12.3` and the like.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().trim_start_matches(['v', 'V']);
        match s.split('.').next()? {
            "10" => Some(VersionProfile::V10),
            "11" => Some(VersionProfile::V11),
            "12" => Some(VersionProfile::V12),
            _ => None,
        }
    }

    /// `uid` in UserProfileDTO / UserSearchHitDTO / OrgUserDTO / create responses (≥ 11.x).
    pub fn user_uid_fields(self) -> bool {
        self != VersionProfile::V10
    }
    /// User UIDs accepted in paths (§13.1: from 11.4).
    pub fn user_uid_paths(self) -> bool {
        self != VersionProfile::V10
    }
    /// `isProvisioned`, `externalUID`, `userUID` (≈ 12.0).
    pub fn provisioned_fields(self) -> bool {
        self == VersionProfile::V12
    }
    /// Bulk `PUT /api/teams/:id/members` (≥ 11.1).
    pub fn bulk_members(self) -> bool {
        self != VersionProfile::V10
    }
    /// Team create response carries `uid` (≥ 11.3).
    pub fn team_create_uid(self) -> bool {
        self != VersionProfile::V10
    }
    /// `/api/users/lookup` returns the real uid (§13.5: 12.3).
    pub fn lookup_real_uid(self) -> bool {
        self == VersionProfile::V12
    }
    /// Create/update validation uses errutil bodies (11.x and later) instead of 10.x plain messages.
    pub fn errutil_validation(self) -> bool {
        self != VersionProfile::V10
    }
    /// Login and email stored lowercased (12.x per §10); earlier versions keep the case sent.
    pub fn lowercase_storage(self) -> bool {
        self == VersionProfile::V12
    }
    /// 10.x trimmed whitespace from login/email on create.
    pub fn trims_on_create(self) -> bool {
        self == VersionProfile::V10
    }
    /// Team search `name=` is case-insensitive after 10.x.
    pub fn team_name_filter_ci(self) -> bool {
        self != VersionProfile::V10
    }
    /// The SSO settings API exists (11.x and later; 10.4 only behind a toggle, emulated as off).
    pub fn sso_settings_api(self) -> bool {
        self != VersionProfile::V10
    }
    /// Kubernetes-style `iam.grafana.app` team bindings (12.x with `kubernetesTeamsApi`).
    pub fn iam_team_bindings(self) -> bool {
        self == VersionProfile::V12
    }
    /// 10.x puts `reqGrafanaAdmin` in front of the admin routes (403 "Permission denied").
    pub fn legacy_admin_guard(self) -> bool {
        self == VersionProfile::V10
    }
    /// Delete of an unknown team: 12.x checks first ("Team not found"), 10.x–11.x do not.
    pub fn team_delete_checks_first(self) -> bool {
        self == VersionProfile::V12
    }
    /// `GET /api/users/:id/teams` action (`users.teams:read` in 10.x).
    pub fn user_teams_action(self) -> &'static str {
        match self {
            VersionProfile::V10 => "users.teams:read",
            _ => "users:read",
        }
    }
}

impl Edition {
    /// `buildInfo.edition`.
    pub fn build_edition(self) -> &'static str {
        match self {
            Edition::Oss => "Open Source",
            Edition::Enterprise => "Enterprise",
        }
    }

    /// Parses `oss` / `enterprise`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "oss" | "open source" | "opensource" => Some(Edition::Oss),
            "enterprise" | "ee" => Some(Edition::Enterprise),
            _ => None,
        }
    }
}
