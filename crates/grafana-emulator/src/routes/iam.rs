//! Grafana's Kubernetes-style identity API, `/apis/iam.grafana.app/v0alpha1/namespaces/:ns/…`:
//! only `GET teambindings/:name`, which the sidecar's guard reads (12.x, `kubernetesTeamsApi`).
//! `grafana-api.md` does not cover this API; the shape follows Grafana's source
//! (`pkg/registry/apis/iam`): the namespace is `default` for org 1 and `org-<N>` otherwise, and
//! must be the caller's org; errors are Kubernetes `Status` objects.

use http::Method;
use serde_json::json;

use super::{Cx, Res};
use crate::reply::Reply;
use crate::state::teams::ADMIN;

/// Routes the family, `None` when no route matches.
pub fn route(cx: &mut Cx, method: &Method, segs: &[&str]) -> Option<Res> {
    if !cx.st.version().iam_team_bindings() {
        return None;
    }
    match segs {
        ["apis", "iam.grafana.app", "v0alpha1", "namespaces", ns, "teambindings", name]
            if method == Method::GET =>
        {
            Some(get_binding(cx, ns, name))
        }
        _ => None,
    }
}

/// The org a namespace names, as Grafana's `ParseNamespace` reads it (`org-1` is refused).
fn namespace_org(ns: &str) -> Option<i64> {
    if ns == "default" {
        return Some(1);
    }
    ns.strip_prefix("org-")?.parse::<i64>().ok().filter(|n| *n > 1)
}

fn get_binding(cx: &mut Cx, ns: &str, name: &str) -> Res {
    let id = cx.ident()?;
    let Some(org) = namespace_org(ns) else {
        return Err(status(400, "BadRequest", &format!("invalid namespace {ns:?}")));
    };
    if org != id.org_id || !id.can("teams:read") {
        return Err(status(403, "Forbidden", "the caller may not read team bindings in this namespace"));
    }
    let found = cx.st.teams.binding(name).and_then(|(team, user)| {
        let t = cx.st.teams.get(team).filter(|t| t.org_id == org)?;
        let u = cx.st.users.get(user)?;
        Some((t.uid.clone(), u.uid.clone(), cx.st.teams.membership(team, user)?))
    });
    let Some((team_uid, user_uid, m)) = found else {
        return Err(status(404, "NotFound", &format!("teambindings.iam.grafana.app {name:?} not found")));
    };
    Ok(Reply::json(
        200,
        json!({
            "apiVersion": "iam.grafana.app/v0alpha1",
            "kind": "TeamBinding",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "teamRef": {"name": team_uid},
                "subject": {"kind": "User", "name": user_uid},
                "permission": if m.permission == ADMIN { "admin" } else { "member" },
                "external": m.external,
            },
        }),
    ))
}

fn status(code: u16, reason: &str, message: &str) -> Reply {
    Reply::json(
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
               "message": message, "reason": reason, "code": code}),
    )
}
