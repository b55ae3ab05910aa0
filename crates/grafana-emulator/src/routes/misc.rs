//! Instance-level routes: `/api/health` (pretty JSON, 503 when the database "fails"),
//! `/healthz`, `/api/frontend/settings`, and `/api/access-control/user/permissions`.
//! Must not hold user or team logic.

use http::Method;
use serde_json::{json, Map, Value};

use super::{Cx, Res};
use crate::profile::Edition;
use crate::reply::Reply;

pub fn route(cx: &mut Cx, m: &Method, segs: &[&str]) -> Option<Res> {
    let res = match (m.as_str(), segs) {
        ("GET" | "HEAD", ["api", "health"]) => Ok(health(cx)),
        ("GET" | "HEAD", ["healthz"]) => Ok(Reply::raw(200, "text/plain; charset=utf-8", "Ok")),
        ("GET", ["api", "frontend", "settings"]) => frontend(cx),
        ("GET", ["api", "access-control", "user", "permissions"]) => permissions(cx),
        _ => return super::saml::route(cx, m, segs),
    };
    Some(res)
}

const COMMIT: &str = "e0f1a2b3c4";

fn health(cx: &Cx) -> Reply {
    let st = &*cx.st;
    let failing = st.faults.health_failing;
    let mut m = Map::new();
    m.insert("commit".into(), json!(COMMIT));
    m.insert("database".into(), json!(if failing { "failing" } else { "ok" }));
    if st.opts.edition == Edition::Enterprise {
        m.insert("enterpriseCommit".into(), json!("f9e8d7c6b5"));
    }
    m.insert("version".into(), json!(st.version().version_string()));
    let body = serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default();
    Reply::raw(if failing { 503 } else { 200 }, "application/json; charset=UTF-8", body)
}

fn frontend(cx: &mut Cx) -> Res {
    cx.ident()?;
    let st = &*cx.st;
    let v = st.version().version_string();
    let mut features = Vec::new();
    if st.opts.edition == Edition::Enterprise {
        if st.opts.saml_licensed {
            features.push("saml");
        }
        if st.opts.team_sync_licensed {
            features.push("teamsync");
        }
    }
    let enabled: Map<String, Value> = features.iter().map(|f| (f.to_string(), json!(true))).collect();
    let licensed = !features.is_empty();
    Ok(Reply::json(
        200,
        json!({
            "appUrl": st.root_url,
            "appSubUrl": "",
            "authProxyEnabled": false,
            "ldapEnabled": false,
            "samlEnabled": st.saml_active(),
            "samlName": "SAML",
            "disableLoginForm": false,
            "buildInfo": {
                "hideVersion": false, "version": v, "versionString": format!("Grafana v{v} ({COMMIT})"),
                "commit": COMMIT, "commitShort": COMMIT, "buildstamp": 1_700_000_000,
                "edition": st.opts.edition.build_edition(), "latestVersion": "", "hasUpdate": false, "env": "production",
            },
            "licenseInfo": {
                "expiry": if licensed { 4_102_444_800_i64 } else { 0 },
                "licenseUrl": "/admin/upgrading",
                "stateInfo": "",
                "edition": st.opts.edition.build_edition(),
                "enabledFeatures": enabled,
                "hasLicense": licensed,
            },
        }),
    ))
}

fn permissions(cx: &mut Cx) -> Res {
    let ident = cx.ident()?;
    let mut out: Map<String, Value> = Map::new();
    for (action, scope) in ident.grants() {
        let entry = out.entry(action).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = entry {
            let s = Value::String(scope);
            if !list.contains(&s) {
                list.push(s);
            }
        }
    }
    Ok(Reply::json(200, Value::Object(out)))
}
