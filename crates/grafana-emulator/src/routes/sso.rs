//! SSO settings API (§8): list, get, put (204, changes state), delete (204, back to system).
//! `saml` exists only when SAML is licensed; the API is absent on 10.x. Must not render SAML
//! metadata (`misc`).

use http::Method;
use serde_json::Value;

use super::{Cx, Res};
use crate::reply::Reply;
use crate::state::new_uid;
use crate::state::sso::{lenient_bool, OAUTH_PROVIDERS};

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    if !matches!(segs, ["api", "v1", "sso-settings", ..]) || !cx.st.version().sso_settings_api() {
        return None;
    }
    let res = match (m.as_str(), segs) {
        ("GET", ["api", "v1", "sso-settings"]) => list(cx),
        ("GET", ["api", "v1", "sso-settings", p]) => get(cx, p),
        ("PUT", ["api", "v1", "sso-settings", p]) => put(cx, p),
        ("DELETE", ["api", "v1", "sso-settings", p]) => delete(cx, p),
        _ => return None,
    };
    Some(res)
}

fn not_found() -> Reply {
    Reply::errutil(404, "The provider was not found.", "sso.notFound")
}

fn known(cx: &Cx, p: &str) -> bool {
    OAUTH_PROVIDERS.contains(&p) || (p == "saml" && cx.st.saml_configurable())
}

fn list(cx: &mut Cx) -> Res {
    cx.server_admin("settings:read")?;
    let mut out = Vec::new();
    for p in OAUTH_PROVIDERS.iter().copied().chain(["saml"]) {
        if known(cx, p) {
            if let Some(v) = render(cx, p) {
                out.push(v);
            }
        }
    }
    Ok(Reply::json(200, Value::Array(out)))
}

/// The rendered settings of `p`; system SAML settings carry the ini's role-sync keys (Grafana
/// builds system settings from the ini).
fn render(cx: &Cx, p: &str) -> Option<Value> {
    let mut v = cx.st.sso.render(p)?;
    if p == "saml" && v["source"] == "system" {
        for (snake, camel, default) in crate::state::State::SAML_ROLE_KEYS {
            let value = cx.st.ini_value("auth.saml", snake, default);
            v["settings"][camel] = if snake == "skip_org_role_sync" {
                Value::Bool(lenient_bool(Some(&Value::String(value))))
            } else {
                Value::String(value)
            };
        }
    }
    Some(v)
}

fn get(cx: &mut Cx, p: &str) -> Res {
    cx.server_admin("settings:read")?;
    if !known(cx, p) {
        return Err(not_found());
    }
    let v = render(cx, p).ok_or_else(not_found)?;
    let etag = format!("\"{:x}\"", fxhash(&v.to_string()));
    Ok(Reply::json(200, v).with_header("etag", etag))
}

fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3))
}

fn put(cx: &mut Cx, p: &str) -> Res {
    cx.server_admin("settings:write")?;
    if !known(cx, p) {
        return Err(not_found());
    }
    let b = cx.req.json().ok_or_else(|| Reply::errutil(400, "Bad request", "sso.settings"))?;
    let Some(Value::Object(settings)) = b.get("settings").cloned() else {
        return Err(Reply::errutil(400, "Settings field is required", "sso.settings"));
    };
    let enabled = lenient_bool(settings.get("enabled"));
    cx.st.sso.save(p, settings, new_uid());
    if p == "saml" {
        cx.st.saml_enabled = enabled;
    }
    Ok(Reply::no_content())
}

fn delete(cx: &mut Cx, p: &str) -> Res {
    cx.server_admin("settings:write")?;
    if !known(cx, p) {
        return Err(not_found());
    }
    let ini = cx.st.opts.saml_enabled;
    cx.st.sso.reset(p, ini);
    if p == "saml" {
        cx.st.saml_enabled = ini;
    }
    Ok(Reply::no_content())
}
