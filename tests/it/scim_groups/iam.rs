//! The identity-API guard: writes through Grafana's Kubernetes-style `iam.grafana.app` API to
//! SCIM-managed users and teams are refused with a Kubernetes `Status`; the rest reach Grafana.

use grafana_emulator::VersionProfile;
use http::Method;
use serde_json::{json, Value};

use super::support::{values, Groups, GROUP_URN};
use crate::scim_users::{create, grafana_id};

const NS: &str = "/apis/iam.grafana.app/v0alpha1/namespaces/default";

/// Sends `method NS/rest` (or `rest` itself when it is absolute) as Grafana's admin, whose session
/// is in org 1; the status and the body as JSON (`Null` if not).
async fn send(
    g: &Groups,
    method: Method,
    rest: &str,
    content_type: &str,
    body: Option<Value>,
) -> (u16, Value) {
    use http_body_util::BodyExt;
    let path = if rest.starts_with('/') { rest.to_string() } else { format!("{NS}/{rest}") };
    let req = http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", g.h.sidecar.url))
        .header("authorization", g.h.grafana.admin_basic_auth())
        .header("content-type", content_type)
        .body(body.map_or_else(scim_sidecar::body::empty, |b| scim_sidecar::body::full(b.to_string())))
        .unwrap();
    let res = g.h.client.request(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Writes (anything but `GET`) that reached Grafana's identity API.
fn identity_writes(g: &Groups) -> Vec<String> {
    let calls = g.h.grafana.calls().into_iter();
    calls
        .filter(|c| c.method != "GET" && c.path.starts_with("/apis/"))
        .map(|c| format!("{} {}", c.method, c.path))
        .collect()
}

#[tokio::test]
async fn identity_api_writes_to_managed_users_and_teams_are_refused() {
    let g = Groups::start(VersionProfile::V12).await;
    create(&g.h, "kube@example.com", "kube@example.com").await;
    let managed = g.h.grafana.user(grafana_id(&g.h, "kube@example.com")).unwrap();
    let local = g.h.grafana.user(g.h.grafana.create_user("local", "local@example.com", "Local")).unwrap();
    let members = g.users("iam", 1).await;
    g.create(json!({"displayName": "Managed", "members": values(&members)})).await;
    let team = g.h.grafana.team(g.team_id("Managed")).unwrap();
    let hand = g.h.grafana.team(g.h.grafana.create_team(1, "Hand made")).unwrap();
    g.h.grafana.add_team_member(hand.id, members[0].0, 0);
    let bound = g.h.grafana.team_binding_name(team.id, members[0].0);
    let hand_bound = g.h.grafana.team_binding_name(hand.id, members[0].0);
    let binding = |team_uid: &str| {
        json!({"apiVersion": "iam.grafana.app/v0alpha1", "kind": "TeamBinding", "metadata": {"generateName": "b-"},
               "spec": {"teamRef": {"name": team_uid}, "subject": {"kind": "User", "name": local.uid}, "permission": "member"}})
    };
    let (json, merge, json_patch) =
        ("application/json", "application/merge-patch+json", "application/json-patch+json");
    let edit = json!({"spec": {"login": "hijack", "email": "hijack@example.com"}});
    let refused = [
        (Method::PUT, format!("users/{}", managed.uid), json, Some(edit.clone()), 403),
        (Method::PATCH, format!("users/{}", managed.uid), merge, Some(edit.clone()), 403),
        (Method::DELETE, format!("users/{}/", managed.uid), json, None, 403),
        (Method::DELETE, format!("%75sers/{}", managed.uid), json, None, 403),
        (Method::POST, format!("users/{}/password", managed.uid), json, Some(json!({"password": "x"})), 403),
        (Method::DELETE, "users".to_string(), json, None, 403),
        (Method::PUT, format!("teams/{}", team.uid), json, Some(json!({"spec": {"title": "Renamed"}})), 403),
        (Method::POST, format!("teams/{}/addmember", team.uid), json, Some(json!({"name": local.uid})), 403),
        (Method::DELETE, format!("teams/{}", team.uid), json, None, 403),
        (Method::POST, "teambindings".to_string(), json, Some(binding(&team.uid)), 403),
        (
            Method::PATCH,
            format!("teambindings/{hand_bound}"),
            json_patch,
            Some(json!([{"op": "replace", "path": "/spec/teamRef/name", "value": team.uid}])),
            403,
        ),
        (
            Method::PATCH,
            format!("teambindings/{bound}"),
            merge,
            Some(json!({"spec": {"permission": "admin"}})),
            403,
        ),
        (Method::DELETE, format!("teambindings/{bound}"), json, None, 403),
        (Method::POST, "teambindings".to_string(), "application/yaml", Some(binding(&hand.uid)), 415),
        // Each name may cost a Grafana call: a request naming many is refused before any.
        (Method::DELETE, format!("authinfos/{}.saml", "u.".repeat(100)), json, None, 400),
        (
            Method::POST,
            "teambindings".to_string(),
            json,
            Some(
                json!({"spec": {"teamRef": (0..100).map(|i| json!({"name": format!("t{i}")})).collect::<Vec<_>>()}}),
            ),
            400,
        ),
        (Method::DELETE, format!("authinfos/{}.saml", managed.uid), json, None, 403),
        (
            Method::POST,
            "authinfos".to_string(),
            json,
            Some(
                json!({"spec": {"userRef": {"name": managed.uid}, "authModule": "saml", "authId": "intruder"}}),
            ),
            403,
        ),
    ];
    for (m, rest, content_type, body, code) in refused {
        let (status, answer) = send(&g, m.clone(), &rest, content_type, body).await;
        assert_eq!(status, code, "{m} {rest}: {answer}");
        assert_eq!(
            (answer["kind"].as_str(), answer["code"].as_u64()),
            (Some("Status"), Some(code.into())),
            "{answer}"
        );
    }
    assert_eq!(identity_writes(&g), Vec::<String>::new(), "no refused write reached grafana");
    let metrics =
        crate::support::client::get(&g.h.client, &format!("{}/metrics", g.h.sidecar.admin_url)).await;
    let metrics = crate::support::client::body_string(metrics).await;
    for kind in ["user", "team", "collection", "unreadable"] {
        let counted = format!("scim_sidecar_guard_refusals_total{{kind=\"{kind}\"}}");
        assert!(metrics.contains(&counted), "{kind}: {metrics}");
    }

    // Unmanaged users and teams, and creates, are Grafana's business.
    let passed = [
        (Method::PUT, format!("users/{}", local.uid), Some(edit.clone())),
        (Method::POST, "users".to_string(), Some(json!({"spec": {"login": "new"}}))),
        (Method::DELETE, format!("teams/{}", hand.uid), None),
        (Method::POST, "teambindings".to_string(), Some(binding(&hand.uid))),
        (Method::DELETE, format!("teambindings/{hand_bound}"), None),
        (Method::PATCH, format!("authinfos/{}.saml", local.uid), Some(json!({"spec": {"authId": "x"}}))),
    ];
    for (m, rest, body) in passed {
        let (status, answer) = send(&g, m.clone(), &rest, json, body).await;
        assert_ne!(answer["kind"], "Status", "{m} {rest}: {status} {answer}");
        let reached = identity_writes(&g);
        assert_eq!(reached.last(), Some(&format!("{m} {NS}/{rest}")), "{m} {rest}");
    }
}

/// A write addresses the org its namespace names, whichever org the caller's session is in: a
/// managed team's UID is looked up there.
#[tokio::test]
async fn a_team_uid_is_resolved_in_the_org_its_namespace_names() {
    let g = Groups::start(VersionProfile::V12).await;
    let org2 = g.h.grafana.create_org("Second");
    let admin = g.h.grafana.user_by_login("admin").unwrap().id;
    assert!(g.h.grafana.add_org_user(org2, admin, "Admin"));
    let groups = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org2}/Groups");
    let created =
        g.h.call(Method::POST, &groups, Some(json!({"schemas": [GROUP_URN], "displayName": "Second"}))).await;
    assert_eq!(created.status, 201, "{created:?}");
    let team = g.h.grafana.team_by_name(org2, "Second").unwrap();
    let path = format!("/apis/iam.grafana.app/v0alpha1/namespaces/org-{org2}/teams/{}", team.uid);
    let (status, answer) = send(&g, Method::DELETE, &path, "application/json", None).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(identity_writes(&g), Vec::<String>::new());
}
