//! JSON renderings of stored rows (UserProfileDTO, UserSearchHitDTO, OrgUserDTO, TeamDTO,
//! TeamMemberDTO), with the keys each version profile has (§5.1, §6.1, §7.1, §10). Must not
//! decide status codes.

use std::hash::{Hash, Hasher};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};

use crate::profile::VersionProfile;
use crate::state::orgs::Role;
use crate::state::teams::{Membership, Team};
use crate::state::users::User;
use crate::state::State;

/// RFC 3339 like Go's `time.Time` JSON.
pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `/avatar/<32 hex>`; Grafana uses the md5 of the email, the emulator a stable stand-in hash.
pub fn avatar(email: &str) -> String {
    let mut a = std::collections::hash_map::DefaultHasher::new();
    email.to_lowercase().hash(&mut a);
    let mut b = std::collections::hash_map::DefaultHasher::new();
    (email.to_lowercase(), 1u8).hash(&mut b);
    format!("/avatar/{:016x}{:016x}", a.finish(), b.finish())
}

/// Grafana's `util.GetAgeString`.
pub fn age(t: DateTime<Utc>) -> String {
    let d = Utc::now().signed_duration_since(t);
    let mins = d.num_minutes();
    let hours = d.num_hours();
    let days = d.num_days();
    if days >= 365 {
        format!("{}y", days / 365)
    } else if days >= 30 {
        format!("{}M", days / 30)
    } else if days >= 1 {
        format!("{days}d")
    } else if hours >= 1 {
        format!("{hours}h")
    } else if mins >= 1 {
        format!("{mins}m")
    } else {
        "< 1 minute".to_string()
    }
}

fn auth_labels(u: &User) -> Value {
    match u.auth_module.as_deref() {
        Some("auth.saml") => json!(["SAML"]),
        Some("ldap") => json!(["LDAP"]),
        Some(m) => json!([m.trim_start_matches("oauth_")]),
        None => json!([]),
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: Value) {
    m.insert(k.to_string(), v);
}

/// UserProfileDTO for `GET /api/users/:id`.
pub fn user_profile(v: VersionProfile, u: &User) -> Value {
    let mut m = Map::new();
    put(&mut m, "id", json!(u.id));
    if v.user_uid_fields() {
        put(&mut m, "uid", json!(u.uid));
    }
    put(&mut m, "email", json!(u.email));
    put(&mut m, "name", json!(u.name));
    put(&mut m, "login", json!(u.login));
    put(&mut m, "theme", json!(""));
    if u.org_id != 0 {
        put(&mut m, "orgId", json!(u.org_id));
    }
    put(&mut m, "isGrafanaAdmin", json!(u.is_admin));
    put(&mut m, "isDisabled", json!(u.is_disabled));
    put(&mut m, "isExternal", json!(u.auth_module.is_some()));
    put(&mut m, "isExternallySynced", json!(u.auth_module.is_some()));
    put(&mut m, "isGrafanaAdminExternallySynced", json!(false));
    if v.provisioned_fields() {
        put(&mut m, "isProvisioned", json!(u.is_provisioned));
    }
    put(&mut m, "authLabels", auth_labels(u));
    put(&mut m, "updatedAt", json!(ts(u.updated)));
    put(&mut m, "createdAt", json!(ts(u.created)));
    put(&mut m, "avatarUrl", json!(avatar(&u.email)));
    Value::Object(m)
}

/// The reduced DTO of `/api/users/lookup` (§5.3, §13.5).
pub fn user_lookup(v: VersionProfile, u: &User) -> Value {
    let mut m = Map::new();
    put(&mut m, "id", json!(u.id));
    if v.user_uid_fields() {
        put(&mut m, "uid", json!(if v.lookup_real_uid() { u.uid.as_str() } else { "" }));
    }
    put(&mut m, "email", json!(u.email));
    put(&mut m, "name", json!(u.name));
    put(&mut m, "login", json!(u.login));
    put(&mut m, "theme", json!(""));
    if u.org_id != 0 {
        put(&mut m, "orgId", json!(u.org_id));
    }
    put(&mut m, "isGrafanaAdmin", json!(u.is_admin));
    put(&mut m, "isDisabled", json!(false));
    put(&mut m, "isExternal", json!(false));
    put(&mut m, "isExternallySynced", json!(false));
    put(&mut m, "isGrafanaAdminExternallySynced", json!(false));
    if v.provisioned_fields() {
        put(&mut m, "isProvisioned", json!(false));
    }
    put(&mut m, "authLabels", Value::Null);
    put(&mut m, "updatedAt", json!(ts(u.updated)));
    put(&mut m, "createdAt", json!(ts(u.created)));
    put(&mut m, "avatarUrl", json!(""));
    Value::Object(m)
}

/// UserSearchHitDTO.
pub fn user_hit(v: VersionProfile, u: &User) -> Value {
    let mut m = Map::new();
    put(&mut m, "id", json!(u.id));
    if v.user_uid_fields() {
        put(&mut m, "uid", json!(u.uid));
    }
    put(&mut m, "name", json!(u.name));
    put(&mut m, "login", json!(u.login));
    put(&mut m, "email", json!(u.email));
    put(&mut m, "avatarUrl", json!(avatar(&u.email)));
    put(&mut m, "isAdmin", json!(u.is_admin));
    put(&mut m, "isDisabled", json!(u.is_disabled));
    if v.provisioned_fields() {
        put(&mut m, "isProvisioned", json!(u.is_provisioned));
    }
    put(&mut m, "lastSeenAt", json!(ts(u.last_seen_at)));
    put(&mut m, "lastSeenAtAge", json!(age(u.last_seen_at)));
    put(&mut m, "authLabels", auth_labels(u));
    Value::Object(m)
}

/// OrgUserDTO.
pub fn org_user(v: VersionProfile, org: i64, u: &User, role: Role) -> Value {
    let mut m = Map::new();
    put(&mut m, "orgId", json!(org));
    put(&mut m, "userId", json!(u.id));
    if v.user_uid_fields() {
        put(&mut m, "uid", json!(u.uid));
    }
    put(&mut m, "email", json!(u.email));
    put(&mut m, "name", json!(u.name));
    put(&mut m, "avatarUrl", json!(avatar(&u.email)));
    put(&mut m, "login", json!(u.login));
    put(&mut m, "role", json!(role.as_str()));
    put(&mut m, "lastSeenAt", json!(ts(u.last_seen_at)));
    put(&mut m, "lastSeenAtAge", json!(age(u.last_seen_at)));
    put(&mut m, "accessControl", Value::Null);
    put(&mut m, "authLabels", auth_labels(u));
    put(&mut m, "isExternallySynced", json!(u.auth_module.is_some()));
    put(&mut m, "isDisabled", json!(u.is_disabled));
    if v.provisioned_fields() {
        put(&mut m, "isProvisioned", json!(u.is_provisioned));
    }
    // accessControl is omitted unless requested
    m.remove("accessControl");
    Value::Object(m)
}

/// TeamDTO.
pub fn team(st: &State, t: &Team) -> Value {
    let v = st.version();
    let mut m = Map::new();
    put(&mut m, "id", json!(t.id));
    put(&mut m, "uid", json!(t.uid));
    put(&mut m, "orgId", json!(t.org_id));
    put(&mut m, "name", json!(t.name));
    put(&mut m, "email", json!(t.email));
    if v.provisioned_fields() {
        put(&mut m, "externalUID", json!(t.external_uid));
        put(&mut m, "isProvisioned", json!(t.is_provisioned));
    }
    put(&mut m, "avatarUrl", json!(format!("/avatar/{}", &avatar(&t.name)[8..])));
    put(&mut m, "memberCount", json!(st.teams.member_count(t.id)));
    put(&mut m, "permission", json!(0));
    put(&mut m, "accessControl", Value::Null);
    Value::Object(m)
}

/// TeamMemberDTO.
pub fn team_member(st: &State, t: &Team, u: &User, ms: Membership) -> Value {
    let v = st.version();
    let mut m = Map::new();
    put(&mut m, "orgId", json!(t.org_id));
    put(&mut m, "teamId", json!(t.id));
    put(&mut m, "teamUID", json!(t.uid));
    put(&mut m, "userId", json!(u.id));
    if v.provisioned_fields() {
        put(&mut m, "userUID", json!(u.uid));
    }
    put(&mut m, "auth_module", json!(u.auth_module.clone().unwrap_or_default()));
    put(&mut m, "email", json!(u.email));
    put(&mut m, "name", json!(u.name));
    put(&mut m, "login", json!(u.login));
    put(&mut m, "avatarUrl", json!(avatar(&u.email)));
    let labels = if ms.external && st.team_sync_active() {
        json!([u.auth_module.as_deref().map(|_| "SAML").unwrap_or("External")])
    } else {
        json!([])
    };
    put(&mut m, "labels", labels);
    put(&mut m, "permission", json!(ms.permission));
    Value::Object(m)
}
