//! Browser-facing login routes: `/saml/metadata` (SP metadata XML only while SAML is active,
//! otherwise Grafana's HTML 404), `POST /saml/acs` (recorded byte for byte, then a session and
//! a redirect) and `POST /login`. Must not validate SAML signatures: the emulator trusts the
//! assertion's NameID.

use base64::Engine;
use http::Method;
use serde_json::json;

use super::{Cx, Res};
use crate::auth::password_login;
use crate::reply::Reply;
use crate::state::{new_secret, RecordedRequest};

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        ("GET", ["saml", "metadata"]) => Ok(metadata(cx)),
        ("POST", ["saml", "acs"]) => Ok(acs(cx)),
        ("POST", ["login"]) => Ok(login(cx)),
        _ => return None,
    };
    Some(res)
}

fn metadata(cx: &Cx) -> Reply {
    if !cx.st.saml_active() {
        return Reply::html_not_found();
    }
    let root = cx.st.root_url.trim_end_matches('/');
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2099-01-01T00:00:00Z" entityID="{root}/saml/metadata">
  <SPSSODescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" AuthnRequestsSigned="false" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</NameIDFormat>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{root}/saml/acs" index="1"></AssertionConsumerService>
  </SPSSODescriptor>
</EntityDescriptor>
"#
    );
    Reply::raw(200, "application/xml", xml)
}

fn name_id(body: &[u8]) -> Option<String> {
    let form = form_urlencoded::parse(body).find(|(k, _)| k == "SAMLResponse")?.1;
    let cleaned: String = form.chars().filter(|c| !c.is_whitespace()).take(1 << 20).collect();
    let xml = base64::engine::general_purpose::STANDARD.decode(cleaned).ok()?;
    let xml = String::from_utf8_lossy(&xml);
    let start = xml.find("NameID")?;
    let rest = &xml[start..];
    let open_end = rest.find('>')?;
    let inner = &rest[open_end + 1..];
    let close = inner.find('<')?;
    Some(inner[..close].trim().to_string())
}

fn cookie(value: &str) -> String {
    format!("grafana_session={value}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax")
}

fn acs(cx: &mut Cx) -> Reply {
    if !cx.st.saml_active() {
        return Reply::html_not_found();
    }
    let req = cx.req;
    cx.st.acs.push(RecordedRequest {
        method: req.method.to_string(),
        path: req.path.clone(),
        query: req.raw_query.clone(),
        headers: req
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: req.body.clone(),
    });
    let user = name_id(&req.body).and_then(|n| cx.st.users.lookup(&n.to_lowercase()));
    let Some(user) = user else {
        return Reply::raw(302, "text/html; charset=utf-8", "").with_header("location", "/login");
    };
    if cx.st.users.get(user).map(|u| u.is_disabled).unwrap_or(true) {
        return Reply::raw(302, "text/html; charset=utf-8", "").with_header("location", "/login");
    }
    if let Some(u) = cx.st.users.get_mut(user) {
        // a first SAML login writes the external auth link that later blocks disable/update
        u.auth_module.get_or_insert_with(|| "auth.saml".to_string());
        u.last_seen_at = chrono::Utc::now();
    }
    let c = cx.st.sessions.create(user, new_secret(32));
    Reply::raw(302, "text/html; charset=utf-8", "")
        .with_header("location", "/")
        .with_header("set-cookie", cookie(&c))
}

fn login(cx: &mut Cx) -> Reply {
    let Some(b) = cx.req.json() else {
        return crate::reply::bad_request_data();
    };
    let (user, pw) = (b.str("user").unwrap_or_default(), b.str("password").unwrap_or_default());
    let id = match password_login(cx.st, &user, &pw) {
        Ok(id) => id,
        Err(reply) => return reply,
    };
    if cx.st.users.get(id).map(|u| u.is_disabled).unwrap_or(true) {
        return Reply::unauthorized("Invalid username or password", "password-auth.failed");
    }
    if let Some(u) = cx.st.users.get_mut(id) {
        u.last_seen_at = chrono::Utc::now();
    }
    let c = cx.st.sessions.create(id, new_secret(32));
    Reply::json(200, json!({ "message": "Logged in", "redirectUrl": "/" }))
        .with_header("set-cookie", cookie(&c))
}
