//! Authentication (§2.2) and org context (§2.3): basic auth, `grafana_session` cookies and
//! service-account tokens, with the exact 401 bodies, plus the permission model the route
//! guards consult. Must not touch stored state beyond reading it.

use base64::Engine;

use crate::reply::Reply;
use crate::request::Req;
use crate::state::orgs::Role;
use crate::state::State;

/// Org-scoped actions and their scopes, held by an org Admin.
pub const ORG_ADMIN_ACTIONS: &[(&str, &str)] = &[
    ("org.users:read", "users:*"),
    ("org.users:add", "users:*"),
    ("org.users:write", "users:*"),
    ("org.users:remove", "users:*"),
    ("orgs:read", "orgs:*"),
    ("teams:read", "teams:*"),
    ("teams:create", ""),
    ("teams:write", "teams:*"),
    ("teams:delete", "teams:*"),
    ("teams.permissions:read", "teams:*"),
    ("teams.permissions:write", "teams:*"),
];

/// Global actions held only by a server admin (`Grafana Admin`).
pub const SERVER_ADMIN_ACTIONS: &[(&str, &str)] = &[
    ("users:create", ""),
    ("users:read", "global.users:*"),
    ("users:write", "global.users:*"),
    ("users:delete", "global.users:*"),
    ("users:disable", "global.users:*"),
    ("users:enable", "global.users:*"),
    ("users.password:write", "global.users:*"),
    ("users.permissions:write", "global.users:*"),
    ("users.logout", "global.users:*"),
    ("users.authtoken:read", "global.users:*"),
    ("users.authtoken:write", "global.users:*"),
    ("users.teams:read", "global.users:*"),
    ("orgs:create", ""),
    ("orgs:read", "orgs:*"),
    ("settings:read", "settings:*"),
    ("settings:write", "settings:*"),
    ("org.users:read", "users:*"),
    ("org.users:add", "users:*"),
    ("org.users:write", "users:*"),
    ("org.users:remove", "users:*"),
];

// Non-admin basic roles get read access to teams only; the emulator does not model the
// finer fixed roles because the sidecar never acts as a Viewer or Editor.
const MEMBER_ACTIONS: &[(&str, &str)] = &[("teams:read", "teams:*")];

/// Who is calling.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A user (basic auth or session).
    User(i64),
    /// A service account token.
    ServiceAccount {
        /// Synthetic id.
        sa_id: i64,
        /// Explicit grants, if configured.
        permissions: Option<Vec<(String, String)>>,
    },
}

/// An authenticated caller with its org context.
#[derive(Debug, Clone)]
pub struct Ident {
    /// Principal.
    pub principal: Principal,
    /// Current org, −1 when the user is not a member of the requested org.
    pub org_id: i64,
    /// Role in the current org.
    pub role: Option<Role>,
    /// Server admin.
    pub server_admin: bool,
}

impl Ident {
    /// `(action, scope)` grants in the current org.
    pub fn grants(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let own = |list: &[(&str, &str)], out: &mut Vec<(String, String)>| {
            out.extend(list.iter().map(|(a, s)| (a.to_string(), s.to_string())))
        };
        match &self.principal {
            Principal::ServiceAccount { permissions: Some(p), .. } => out.extend(p.iter().cloned()),
            _ => match self.role {
                Some(Role::Admin) => own(ORG_ADMIN_ACTIONS, &mut out),
                Some(Role::Editor) | Some(Role::Viewer) => own(MEMBER_ACTIONS, &mut out),
                _ => {}
            },
        }
        if self.server_admin {
            own(SERVER_ADMIN_ACTIONS, &mut out);
        }
        out
    }

    /// Holds an org-scoped action in the current org.
    pub fn can(&self, action: &str) -> bool {
        self.grants().iter().any(|(a, _)| a == action)
    }
}

fn org_from_request(req: &Req) -> Option<i64> {
    if let Some(v) = req.q("targetOrgId").and_then(|v| v.trim().parse().ok()) {
        return Some(v);
    }
    req.header("x-grafana-org-id").and_then(|v| v.trim().parse().ok())
}

fn cookie(req: &Req, name: &str) -> Option<String> {
    for value in req.headers.get_all("cookie") {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(';') {
            if let Some((k, v)) = part.trim().split_once('=') {
                if k == name {
                    return Some(v.to_string());
                }
            }
        }
    }
    None
}

fn token_ident(st: &State, req: &Req, token: &str) -> Result<Ident, Reply> {
    let Some(t) = st.sessions.token(token) else {
        return Err(Reply::unauthorized("Invalid API key", "api-key.invalid"));
    };
    if t.revoked {
        return Err(Reply::unauthorized("Revoked API key", "api-key.revoked"));
    }
    if t.expired {
        return Err(Reply::unauthorized("Expired API key", "api-key.expired"));
    }
    if matches!(org_from_request(req), Some(o) if o != t.org_id) {
        return Err(Reply::unauthorized(
            "API key does not belong to the requested organization",
            "api-key.organization-mismatch",
        ));
    }
    Ok(Ident {
        principal: Principal::ServiceAccount { sa_id: t.sa_id, permissions: t.permissions.clone() },
        org_id: t.org_id,
        role: Some(t.role),
        server_admin: false,
    })
}

fn user_ident(st: &State, req: &Req, user_id: i64) -> Result<Ident, Reply> {
    let Some(u) = st.users.get(user_id) else {
        return Err(Reply::unauthorized("Unauthorized", "auth.unauthorized"));
    };
    if u.is_disabled {
        return Err(Reply::unauthorized("Unauthorized", "identity.disabled"));
    }
    let org = org_from_request(req).unwrap_or(u.org_id);
    let role = st.orgs.role(org, user_id);
    Ok(Ident {
        principal: Principal::User(user_id),
        org_id: if role.is_some() { org } else { -1 },
        role,
        server_admin: u.is_admin,
    })
}

/// Authenticates a request or returns the 401 Grafana would send.
pub fn authenticate(st: &mut State, req: &Req) -> Result<Ident, Reply> {
    if let Some(auth) = req.header("authorization") {
        let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            return token_ident(st, req, rest.trim());
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest.trim())
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((user, password)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                return Err(Reply::unauthorized("Invalid username or password", "password-auth.failed"));
            };
            if user == "api_key" {
                return token_ident(st, req, password);
            }
            return password_ident(st, req, user, password);
        }
    }
    if let Some(ident) = auth_proxy_ident(st, req) {
        return ident;
    }
    if let Some(c) = cookie(req, "grafana_session") {
        return match st.sessions.get(&c) {
            Some(s) => user_ident(st, req, s.user_id),
            None => Err(Reply::unauthorized("Unauthorized", "auth.unauthorized")),
        };
    }
    Err(Reply::unauthorized("Unauthorized", "auth.unauthorized"))
}

/// `[auth.proxy]`: with it enabled, the login in its header signs that user in (`header_property
/// = username`; no IP allow-list is modelled: the emulator trusts every peer, as Grafana does with
/// an empty `whitelist`). `None` when auth proxy is off or the header is absent.
fn auth_proxy_ident(st: &State, req: &Req) -> Option<Result<Ident, Reply>> {
    if !st.ini_value("auth.proxy", "enabled", "false").eq_ignore_ascii_case("true") {
        return None;
    }
    let header = st.ini_value("auth.proxy", "header_name", "X-WEBAUTH-USER").to_ascii_lowercase();
    let login = req.header(&header)?.trim().to_string();
    Some(match st.users.id_by_login(&login) {
        Some(id) => user_ident(st, req, id),
        None => Err(Reply::unauthorized("Unauthorized", "auth-proxy.unauthorized")),
    })
}

/// Checks a login (or email) and password.
pub fn check_password(st: &State, user: &str, password: &str) -> Option<i64> {
    let id = st.users.id_by_login(user).or_else(|| st.users.id_by_email(user))?;
    let u = st.users.get(id)?;
    (!u.password.is_empty() && u.password == password).then_some(id)
}

/// A password login with Grafana's brute-force protection: blocked usernames fail even with the
/// right password; failures are counted, success clears them.
pub fn password_login(st: &mut State, user: &str, password: &str) -> Result<i64, Reply> {
    let protect = st.opts.brute_force_protection;
    if protect && st.sessions.login_blocked(user) {
        return Err(Reply::unauthorized("Invalid username or password", "login-attempt.blocked"));
    }
    match check_password(st, user, password) {
        Some(id) => {
            st.sessions.reset_login_failures(user);
            Ok(id)
        }
        None => {
            if protect {
                st.sessions.record_login_failure(user);
            }
            Err(Reply::unauthorized("Invalid username or password", "password-auth.failed"))
        }
    }
}

fn password_ident(st: &mut State, req: &Req, user: &str, password: &str) -> Result<Ident, Reply> {
    let id = password_login(st, user, password)?;
    user_ident(st, req, id)
}
