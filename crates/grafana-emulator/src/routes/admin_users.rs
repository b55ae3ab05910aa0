//! `/api/admin/users…` and `/api/admin/settings` (§4): create, delete, disable/enable with the
//! external-user guard, password, server-admin flag, logout and auth tokens. Must not serve
//! the `/api/users` family.

use http::Method;
use serde_json::{json, Map, Value};

use super::{Cx, Res};
use crate::dto::ts;
use crate::reply::{bad_request_data, Reply};
use crate::state::CreateUserError;

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        ("POST", ["api", "admin", "users"]) => create(cx),
        ("GET", ["api", "admin", "settings"]) => settings(cx),
        ("DELETE", ["api", "admin", "users", id]) => delete(cx, id),
        ("POST", ["api", "admin", "users", id, "disable"]) => disable(cx, id, true),
        ("POST", ["api", "admin", "users", id, "enable"]) => disable(cx, id, false),
        ("PUT", ["api", "admin", "users", id, "password"]) => password(cx, id),
        ("PUT", ["api", "admin", "users", id, "permissions"]) => permissions(cx, id),
        ("POST", ["api", "admin", "users", id, "logout"]) => logout(cx, id),
        ("GET", ["api", "admin", "users", id, "auth-tokens"]) => tokens(cx, id),
        ("POST", ["api", "admin", "users", id, "revoke-auth-token"]) => revoke(cx, id),
        _ => return None,
    };
    Some(res)
}

fn user_not_found() -> Reply {
    Reply::msg(404, "user not found")
}

fn password_ok(pw: &str, strong: bool) -> Result<(), bool> {
    if pw.chars().count() < 4 {
        return Err(false);
    }
    if strong {
        let ok = pw.chars().count() >= 12
            && pw.chars().any(|c| c.is_uppercase())
            && pw.chars().any(|c| c.is_lowercase())
            && pw.chars().any(|c| c.is_ascii_digit())
            && pw.chars().any(|c| !c.is_alphanumeric());
        if !ok {
            return Err(true);
        }
    }
    Ok(())
}

fn create(cx: &mut Cx) -> Res {
    cx.server_admin("users:create")?;
    let v = cx.st.version();
    let b = cx.body()?;
    let (Ok(mut login), Ok(mut email), Ok(name), Ok(pw), Ok(org)) =
        (b.str("login"), b.str("email"), b.str("name"), b.str("password"), b.int("orgid"))
    else {
        return Err(bad_request_data());
    };
    if pw.is_empty() {
        return Err(bad_request_data());
    }
    if v.trims_on_create() {
        login = login.trim().to_string();
        email = email.trim().to_string();
    }
    let (sent_login, sent_email) = (login.clone(), email.clone());
    if login.is_empty() {
        login = email.clone();
    }
    if email.is_empty() {
        email = login.clone();
    }
    if login.is_empty() {
        return Err(if v.errutil_validation() {
            Reply::errutil(400, "Need to specify either username or email", "user.empty-username-and-email")
        } else {
            Reply::msg(400, "Validation error, need specify either username or email")
        });
    }
    if let Err(strong) = password_ok(&pw, cx.st.opts.strong_password_policy) {
        return Err(match (v.errutil_validation(), strong) {
            (false, _) => Reply::msg(400, "Password is missing or too short"),
            (true, false) => {
                Reply::errutil(400, "New password is too short", "password.password-policy-too-short")
            }
            (true, true) => Reply::errutil(
                400,
                "New password doesn't comply with the password policy",
                "password.password-policy-infringe",
            ),
        });
    }
    let org = (org != 0).then_some(org);
    match cx.st.create_user(&login, &email, &name, &pw, org) {
        Ok(id) => {
            let mut body = Map::new();
            body.insert("id".into(), json!(id));
            if v.user_uid_fields() {
                let uid = cx.st.users.get(id).map(|u| u.uid.clone()).unwrap_or_default();
                body.insert("uid".into(), json!(uid));
            }
            body.insert("message".into(), json!("User created"));
            Ok(Reply::json(200, Value::Object(body)))
        }
        Err(CreateUserError::OrgNotFound) => Err(Reply::msg(400, "organization not found")),
        Err(CreateUserError::Conflict) => {
            // Grafana echoes the values as sent (after defaulting), not as stored
            let e = if sent_email.is_empty() { &login } else { &sent_email };
            let l = if sent_login.is_empty() { &email } else { &sent_login };
            Err(Reply::msg_trace(412, &format!("User with email '{e}' or username '{l}' already exists")))
        }
    }
}

fn existing(cx: &Cx, raw: &str) -> Result<i64, Reply> {
    let id = cx.user_param(raw, "id")?;
    cx.st.users.get(id).map(|u| u.id).ok_or_else(user_not_found)
}

fn delete(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users:delete")?;
    let id = existing(cx, raw)?;
    cx.st.delete_user(id);
    Ok(Reply::msg(200, "User deleted"))
}

fn disable(cx: &mut Cx, raw: &str, disable: bool) -> Res {
    cx.server_admin(if disable { "users:disable" } else { "users:enable" })?;
    let id = existing(cx, raw)?;
    let external = cx.st.users.get(id).map(|u| u.auth_module.is_some()).unwrap_or(false);
    let verb = if disable { "disable" } else { "enable" };
    if external {
        return Err(Reply::msg(500, &format!("Could not {verb} external user")));
    }
    cx.st.set_disabled(id, disable);
    Ok(Reply::msg(200, if disable { "User disabled" } else { "User enabled" }))
}

fn password(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users.password:write")?;
    let b = cx.body()?;
    let pw = b.str("password").map_err(|_| bad_request_data())?;
    if pw.is_empty() {
        return Err(bad_request_data());
    }
    let id = existing(cx, raw)?;
    if cx.st.users.get(id).map(|u| u.auth_module.is_some()).unwrap_or(false) {
        return Err(Reply::msg(403, "Cannot update external User"));
    }
    let v = cx.st.version();
    if password_ok(&pw, cx.st.opts.strong_password_policy).is_err() {
        return Err(if v.errutil_validation() {
            Reply::msg_trace(500, "Failed to update user password")
        } else {
            Reply::msg(400, "New password too short")
        });
    }
    if let Some(u) = cx.st.users.get_mut(id) {
        u.password = pw;
        let login = u.login.clone();
        // current code also resets the login-attempt counter
        cx.st.sessions.reset_login_failures(&login);
    }
    if v.errutil_validation() {
        cx.st.sessions.revoke_user(id);
    }
    Ok(Reply::msg(200, "User password updated"))
}

fn permissions(cx: &mut Cx, raw: &str) -> Res {
    // reqGrafanaAdmin stays in front of this route in every version
    let ident = cx.ident()?;
    if !ident.server_admin {
        return Err(Reply::msg(403, "Permission denied"));
    }
    let b = cx.body()?;
    let flag = b.bool("isgrafanaadmin").map_err(|_| bad_request_data())?;
    let id = existing(cx, raw)?;
    let admins = cx.st.users.iter_by_login().filter(|u| u.is_admin).count();
    let is_admin = cx.st.users.get(id).map(|u| u.is_admin).unwrap_or(false);
    if !flag && is_admin && admins <= 1 {
        return Err(Reply::msg(400, "cannot remove last grafana admin"));
    }
    if let Some(u) = cx.st.users.get_mut(id) {
        u.is_admin = flag;
    }
    Ok(Reply::msg(200, "User permissions updated"))
}

fn existing_cap(cx: &Cx, raw: &str) -> Result<i64, Reply> {
    let id = cx.user_param(raw, "id")?;
    cx.st.users.get(id).map(|u| u.id).ok_or_else(|| Reply::msg_trace(404, "User not found"))
}

fn logout(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users.logout")?;
    let id = existing_cap(cx, raw)?;
    cx.st.sessions.revoke_user(id);
    Ok(Reply::msg(200, "User logged out"))
}

fn tokens(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users.authtoken:read")?;
    let id = existing_cap(cx, raw)?;
    let list: Vec<Value> = cx
        .st
        .sessions
        .of_user(id)
        .into_iter()
        .map(|s| {
            json!({ "id": s.id, "isActive": false, "clientIp": "127.0.0.1", "browser": "Other",
                "browserVersion": "", "os": "Other", "osVersion": "", "device": "Other",
                "createdAt": ts(s.created), "seenAt": ts(s.created) })
        })
        .collect();
    Ok(Reply::json(200, Value::Array(list)))
}

fn revoke(cx: &mut Cx, raw: &str) -> Res {
    cx.server_admin("users.authtoken:write")?;
    let b = cx.body()?;
    let token = b.int("authtokenid").map_err(|_| bad_request_data())?;
    let id = existing_cap(cx, raw)?;
    if !cx.st.sessions.revoke_one(id, token) {
        return Err(Reply::msg(404, "User auth token not found"));
    }
    Ok(Reply::msg(200, "User auth token revoked"))
}

fn settings(cx: &mut Cx) -> Res {
    cx.server_admin("settings:read")?;
    let st = &cx.st;
    let mut out = json!({
        "DEFAULT": { "app_mode": "production", "instance_name": "grafana-emulator" },
        "auth.basic": { "enabled": "true" },
        "server": { "root_url": st.root_url },
        "auth.proxy": {
            "enabled": st.ini_value("auth.proxy", "enabled", "false"),
            "header_name": st.ini_value("auth.proxy", "header_name", "X-WEBAUTH-USER"),
            "header_property": st.ini_value("auth.proxy", "header_property", "username"),
            "auto_sign_up": st.ini_value("auth.proxy", "auto_sign_up", "true"),
            "sync_ttl": "60",
            "whitelist": st.ini_value("auth.proxy", "whitelist", ""),
            "headers": st.ini_value("auth.proxy", "headers", ""),
            "headers_encoded": "false",
            "enable_login_token": "false",
        },
        "auth.jwt": {
            "enabled": st.ini_value("auth.jwt", "enabled", "false"),
            "header_name": st.ini_value("auth.jwt", "header_name", ""),
            "email_claim": "", "username_claim": "", "jwk_set_url": "", "auto_sign_up": "false",
        },
        "users": {
            "auto_assign_org": st.opts.auto_assign_org.to_string(),
            "auto_assign_org_id": st.opts.auto_assign_org_id.to_string(),
            "auto_assign_org_role": st.opts.auto_assign_org_role,
        },
    });
    if st.opts.edition == crate::profile::Edition::Enterprise {
        out["auth.saml"] = json!({
            "enabled": st.opts.saml_enabled.to_string(), "name": "SAML", "allow_sign_up": "true",
            "auto_login": "false", "allow_idp_initiated": "false", "certificate": crate::state::sso::REDACTED,
            "private_key": crate::state::sso::REDACTED, "idp_metadata_url": "https://idp.example.com/metadata",
            "max_issue_delay": "90s", "metadata_valid_duration": "48h", "assertion_attribute_name": "displayName",
            "assertion_attribute_login": "login", "assertion_attribute_email": "email",
            "assertion_attribute_groups": "groups",
        });
        // The role-sync keys come from the ini, as Grafana lists what its ini files hold.
        for (snake, _, default) in crate::state::State::SAML_ROLE_KEYS {
            let value = st.ini_value("auth.saml", snake, default);
            if !value.is_empty() || snake == "skip_org_role_sync" {
                out["auth.saml"][snake] = json!(value);
            }
        }
    }
    Ok(Reply::json(200, out))
}
