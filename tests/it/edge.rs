//! The request edge (issue 25 items 2, 3, 8, 10): one header map for every decision and for the
//! forwarded request, identity headers never reaching Grafana as sent, callers authenticated
//! before any guard decides, and odd encodings failing closed. Grafana's state is asserted in
//! the emulator after every attempt.

use std::time::Duration;

use base64::Engine;
use http::{Method, Request};
use serde_json::{json, Value};

use crate::scim_users::{create, grafana_id};
use crate::support::client::{body_string, get};
use crate::support::eventually;
use crate::support::scim::Harness;

const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
}

/// Sends `method path` through the sidecar with `headers`; (status, body, `Allow`).
async fn send(
    h: &Harness,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> (u16, String, Option<String>) {
    let mut req = Request::builder().method(method).uri(format!("{}{path}", h.sidecar.url));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            scim_sidecar::body::full(b.to_string())
        }
        None => scim_sidecar::body::empty(),
    };
    let res = h.client.request(req.body(body).unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let allow = res.headers().get("allow").map(|v| v.to_str().unwrap().to_string());
    (status, body_string(res).await, allow)
}

/// A SCIM-managed team in org 1: (id, uid).
async fn managed_team(h: &Harness, name: &str) -> (i64, String) {
    let a = h.post("Groups", json!({"schemas": [GROUP_URN], "displayName": name})).await;
    assert_eq!(a.status, 201, "{a:?}");
    let team = h.grafana.team_by_name(1, name).unwrap();
    (team.id, team.uid)
}

/// Item 2: a header the client names in `Connection` is gone before any guard looks, so the
/// guard's question to Grafana (as the caller) and the write Grafana receives carry the same
/// credentials and org.
#[tokio::test]
async fn connection_named_headers_cannot_flip_a_guard_decision() {
    let h = Harness::start().await;
    create(&h, "victim@example.com", "victim@example.com").await;
    let victim = grafana_id(&h, "victim@example.com");
    let cookie = format!("grafana_session={}", h.grafana.create_session(victim));
    h.grafana.create_user_with_password("mallory", "mallory@example.com", "Mallory", "mallory-pw-1");
    let mallory = basic("mallory", "mallory-pw-1");
    let bad = basic("nobody", "wrong");
    // The guard would ask Grafana who the caller is with an Authorization Grafana never sees.
    for (auth, connection) in [
        (bad.as_str(), "Authorization"),
        (mallory.as_str(), "authorization"),
        (bad.as_str(), "close, AUTHORIZATION"),
        (mallory.as_str(), "keep-alive, Authorization, x-unused"),
    ] {
        let headers = [("cookie", cookie.as_str()), ("authorization", auth), ("connection", connection)];
        let (status, body, _) = send(
            &h,
            Method::PUT,
            "/api/user",
            &headers,
            Some(json!({"name": "Hijacked", "email": "h@evil.example", "login": "h"})),
        )
        .await;
        assert_eq!(status, 403, "{connection}: {body}");
        assert!(body.contains("managed by SCIM"), "{body}");
    }
    let u = h.grafana.user(victim).unwrap();
    assert_eq!((u.login.as_str(), u.email.as_str()), ("victim@example.com", "victim@example.com"));
    assert_ne!(u.name, "Hijacked");

    // An org selector named in Connection: the guard would resolve the team UID in org 2 while
    // the delete acts in org 1.
    let (team, uid) = managed_team(&h, "Managed").await;
    let org2 = h.grafana.create_org("Other");
    let admin2 =
        h.grafana.create_user_with_password("orgadmin", "orgadmin@example.com", "OA", "orgadmin-pw-1");
    assert!(h.grafana.add_org_user(1, admin2, "Admin"));
    assert!(h.grafana.add_org_user(org2, admin2, "Admin"));
    let oa = basic("orgadmin", "orgadmin-pw-1");
    let org2_text = org2.to_string();
    for connection in ["X-Grafana-Org-Id", "x-grafana-org-id", "close,  X-GRAFANA-ORG-ID "] {
        let headers = [
            ("authorization", oa.as_str()),
            ("x-grafana-org-id", org2_text.as_str()),
            ("connection", connection),
        ];
        let (status, body, _) = send(&h, Method::DELETE, &format!("/api/teams/{uid}"), &headers, None).await;
        assert_eq!(status, 400, "{connection}: {body}");
        assert!(body.contains("Cannot delete provisioned teams"), "{body}");
    }
    assert!(h.grafana.team(team).is_some(), "the managed team survived");
}

/// Item 2: a managed team is recognised from the store's own record (its UID), whatever org the
/// caller selects with `X-Grafana-Org-Id` or `?targetOrgId=`.
#[tokio::test]
async fn a_managed_team_is_recognised_whatever_org_the_caller_selects() {
    let h = Harness::start().await;
    let (team, uid) = managed_team(&h, "Managed").await;
    let org2 = h.grafana.create_org("Other");
    let admin = h.grafana.admin_basic_auth();
    assert!(h.grafana.add_org_user(org2, 1, "Admin"));
    let org2_text = org2.to_string();
    type Attempt<'a> = (Method, String, Vec<(&'a str, &'a str)>, Option<Value>);
    let attempts: [Attempt; 4] = [
        (Method::DELETE, format!("/api/teams/{uid}"), vec![("x-grafana-org-id", org2_text.as_str())], None),
        (Method::DELETE, format!("/api/teams/{uid}?targetOrgId={org2}"), vec![], None),
        (
            Method::POST,
            format!("/api/teams/{uid}/members"),
            vec![("x-grafana-org-id", org2_text.as_str())],
            Some(json!({"userId": 1})),
        ),
        (
            Method::PUT,
            format!("/api/teams/{uid}?targetOrgId={org2}"),
            vec![],
            Some(json!({"name": "Renamed"})),
        ),
    ];
    for (m, path, extra, body) in attempts {
        let mut headers = vec![("authorization", admin.as_str())];
        headers.extend(extra);
        let (status, text, _) = send(&h, m.clone(), &path, &headers, body).await;
        assert_eq!(status, 400, "{m} {path}: {text}");
        assert!(text.contains("provisioned teams"), "{text}");
    }
    let t = h.grafana.team(team).unwrap();
    assert_eq!(t.name, "Managed");
    assert!(h.grafana.team_members(team).is_empty());
    // A rename is told from an email change by the store's own record, not by the org the caller
    // names: the same name passes the guard whatever the selector (Grafana then answers for the
    // org it acts in), a new one is refused.
    let same = json!({"name": "Managed", "email": "new@example.com"});
    for extra in [vec![], vec![("x-grafana-org-id", org2_text.as_str())]] {
        let mut headers = vec![("authorization", admin.as_str())];
        headers.extend(extra.clone());
        let (status, text, _) =
            send(&h, Method::PUT, &format!("/api/teams/{team}"), &headers, Some(same.clone())).await;
        assert!(!text.contains("provisioned teams"), "{extra:?}: {status} {text}");
        let renamed = json!({"name": "Renamed", "email": "new@example.com"});
        let (status, text, _) =
            send(&h, Method::PUT, &format!("/api/teams/{team}"), &headers, Some(renamed)).await;
        assert_eq!(status, 400, "{extra:?}: {text}");
    }
    assert_eq!(h.grafana.team(team).unwrap().name, "Managed");
    // Users are global: an org selector changes nothing either.
    create(&h, "kim@example.com", "kim@example.com").await;
    let kim = grafana_id(&h, "kim@example.com");
    let kim_uid = h.grafana.user(kim).unwrap().uid;
    for path in [format!("/api/users/{kim}?targetOrgId={org2}"), format!("/api/users/{kim_uid}")] {
        let headers = [("authorization", admin.as_str()), ("x-grafana-org-id", org2_text.as_str())];
        let edit = json!({"login": "x", "email": "x@example.com", "name": "X"});
        let (status, text, _) = send(&h, Method::PUT, &path, &headers, Some(edit)).await;
        assert_eq!(status, 403, "{path}: {text}");
    }
    assert_eq!(h.grafana.user(kim).unwrap().login, "kim@example.com");
}

/// Item 8: a caller Grafana would not authenticate gets Grafana's own 401 for a write to a
/// managed user or team, not the sidecar's "managed by SCIM", and the sidecar spends no lookup
/// with its admin credential on it; the verdict is cached.
#[tokio::test]
async fn unauthenticated_guarded_writes_get_grafanas_401_and_cost_no_admin_lookup() {
    let h = Harness::start().await;
    create(&h, "managed@example.com", "managed@example.com").await;
    let gid = grafana_id(&h, "managed@example.com");
    let user_uid = h.grafana.user(gid).unwrap().uid;
    let (team, team_uid) = managed_team(&h, "Managed").await;
    let bad = basic("nobody", "not-the-password");
    let expired = "grafana_session=not-a-session".to_string();
    let writes: Vec<(Method, String, Option<Value>)> = vec![
        (Method::PUT, format!("/api/users/{gid}"), Some(json!({"login": "x", "email": "x@x", "name": "X"}))),
        (
            Method::PUT,
            format!("/api/users/{user_uid}"),
            Some(json!({"login": "x", "email": "x@x", "name": "X"})),
        ),
        (Method::POST, format!("/api/admin/users/{gid}/disable"), None),
        (Method::DELETE, format!("/api/admin/users/{gid}"), None),
        (Method::PUT, "/api/user".to_string(), Some(json!({"name": "X"}))),
        (Method::DELETE, format!("/api/teams/{team}"), None),
        (Method::DELETE, format!("/api/teams/{team_uid}"), None),
        (Method::POST, format!("/api/teams/{team}/members"), Some(json!({"userId": gid}))),
    ];
    for creds in [vec![], vec![("authorization", bad.as_str())], vec![("cookie", expired.as_str())]] {
        for (m, path, body) in &writes {
            h.grafana.reset_calls();
            let (status, text, _) = send(&h, m.clone(), path, &creds, body.clone()).await;
            assert_eq!(status, 401, "{m} {path} {creds:?}: {text}");
            assert!(!text.contains("SCIM"), "no oracle: {text}");
            let calls: Vec<String> =
                h.grafana.calls().iter().map(|c| format!("{} {}", c.method, c.path)).collect();
            let others: Vec<&String> = calls
                .iter()
                .filter(|c| {
                    *c != "GET /api/user" && **c != format!("{m} {}", path.split('?').next().unwrap())
                })
                .collect();
            assert!(others.is_empty(), "{m} {path}: lookups made for an unauthenticated caller: {calls:?}");
        }
    }
    // The verdict is cached by credential digest: the same caller is asked about once.
    h.grafana.reset_calls();
    for _ in 0..3 {
        let creds = [("cookie", "grafana_session=another-unknown-session"), ("user-agent", "varies")];
        let (status, _, _) = send(&h, Method::DELETE, &format!("/api/teams/{team}"), &creds, None).await;
        assert_eq!(status, 401);
    }
    assert_eq!(h.grafana.count("GET", "/api/user"), 1);
    assert!(h.grafana.team(team).is_some());
    let u = h.grafana.user(gid).unwrap();
    assert_eq!((u.login.as_str(), u.is_disabled), ("managed@example.com", false));
    // An authenticated caller is still refused.
    let admin = h.grafana.admin_basic_auth();
    let (status, text, _) = send(
        &h,
        Method::DELETE,
        &format!("/api/admin/users/{gid}"),
        &[("authorization", admin.as_str())],
        None,
    )
    .await;
    assert_eq!(status, 403, "{text}");
}

/// Item 3: Grafana's own auth-proxy and JWT header names (read from its settings) are removed
/// from every client request, and `/readyz` reports auth proxy on while SCIM is active.
#[tokio::test]
async fn grafanas_identity_headers_never_reach_it_through_the_sidecar() {
    let h =
        Harness::start_with(Default::default(), |c| c.policy.cache_ttl = Duration::from_millis(200)).await;
    h.grafana.set_ini("auth.proxy", "enabled", "true");
    h.grafana.set_ini("auth.proxy", "header_name", "X-Remote-User");
    h.grafana.set_ini("auth.proxy", "headers", "Email:X-Remote-Email Name:X-Remote-Name");
    // Straight to Grafana, the header signs in as the admin.
    let direct = Request::get(format!("{}/api/user", h.grafana.url()))
        .header("x-remote-user", "admin")
        .body(scim_sidecar::body::empty())
        .unwrap();
    assert_eq!(h.client.request(direct).await.unwrap().status(), 200);
    let client = h.client.clone();
    let url = h.sidecar.url.clone();
    eventually("the sidecar strips grafana's auth-proxy header", || {
        let client = client.clone();
        let url = url.clone();
        async move {
            let req = Request::get(format!("{url}/api/user"))
                .header("X-REMOTE-USER", "admin")
                .body(scim_sidecar::body::empty())
                .unwrap();
            client.request(req).await.unwrap().status() == 401
        }
    })
    .await;
    // A write too, whatever the header's case; the admin is untouched.
    let (status, _, _) =
        send(&h, Method::PUT, "/api/user", &[("x-remote-user", "admin")], Some(json!({"name": "Owned"})))
            .await;
    assert_eq!(status, 401);
    assert_ne!(h.grafana.user(1).unwrap().name, "Owned");
    let ready: Value = serde_json::from_str(
        &body_string(get(&h.client, &format!("{}/readyz", h.sidecar.admin_url)).await).await,
    )
    .unwrap();
    assert_eq!(ready["policy"]["auth_proxy"], "violated", "{ready}");
    // While Grafana's settings cannot be read, the names last seen are still stripped.
    h.grafana.reset_calls();
    h.grafana.fail_next("GET", "/api/admin/settings", 500, 1000);
    let g = &h.grafana;
    eventually("a refresh met unreadable settings", || async {
        g.calls().iter().any(|c| c.path == "/api/admin/settings" && c.status == 500)
    })
    .await;
    let (status, _, _) = send(&h, Method::GET, "/api/user", &[("x-remote-user", "admin")], None).await;
    assert_eq!(status, 401);
    h.grafana.clear_faults();
}

/// Item 10: a write whose path does not decode to UTF-8 is refused with 400 and never forwarded.
#[tokio::test]
async fn writes_whose_path_is_not_utf8_are_refused() {
    let h = Harness::start().await;
    create(&h, "managed@example.com", "managed@example.com").await;
    let admin = h.grafana.admin_basic_auth();
    h.grafana.reset_calls();
    for (m, path) in [
        (Method::PUT, "/api/users/%FF"),
        (Method::PUT, "/api/users/1%C3"),
        (Method::DELETE, "/api/teams/%E2%82"),
        (Method::POST, "/api/admin/users/%C0%AF/disable"),
        (Method::PATCH, "/apis/iam.grafana.app/v0alpha1/namespaces/default/users/%FE"),
    ] {
        let (status, body, _) =
            send(&h, m.clone(), path, &[("authorization", admin.as_str())], Some(json!({}))).await;
        assert_eq!(status, 400, "{m} {path}: {body}");
    }
    assert_eq!(h.grafana.call_count(), 0, "nothing forwarded: {:?}", h.grafana.calls());
}

/// Item 10: with the login gate on, every method on the ACS path (however spelled) meets the
/// gate; anything but `POST` is answered 405 with `Allow: POST` and never reaches Grafana.
#[tokio::test]
async fn every_method_on_the_acs_path_meets_the_gate() {
    use crate::support::saml;
    let dir = tempfile::tempdir().unwrap();
    let idp = saml::KeyPair::generate(dir.path(), "idp");
    let emu = grafana_emulator::Emulator::start(Default::default()).await.unwrap();
    let url = format!("sqlite://{}", dir.path().join("sidecar.db").display());
    let store = scim_sidecar::store::open(&url, 2).await.unwrap();
    let gate = scim_sidecar::config::SamlGateConfig {
        enabled: true,
        idp_metadata_xml: Some(saml::idp_metadata(&idp)),
        audience: Some(saml::AUDIENCE.into()),
        ..Default::default()
    };
    let env = crate::login_gate::start_env(dir, idp, emu, store, url, gate).await;
    let client = crate::support::client::http1();
    env.emu.reset_calls();
    for m in [Method::GET, Method::PUT, Method::DELETE, Method::PATCH, Method::OPTIONS, Method::HEAD] {
        for path in ["/saml/acs", "/saml/%61cs/", "//SAML/acs"] {
            let req = Request::builder()
                .method(m.clone())
                .uri(format!("{}{path}", env.sidecar.url))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(scim_sidecar::body::full("SAMLResponse=x"))
                .unwrap();
            let res = client.request(req).await.unwrap();
            assert_eq!(res.status(), 405, "{m} {path}");
            assert_eq!(res.headers()["allow"], "POST", "{m} {path}");
        }
    }
    let saml_calls: Vec<_> =
        env.emu.calls().into_iter().filter(|c| c.path.to_ascii_lowercase().contains("acs")).collect();
    assert!(saml_calls.is_empty(), "{saml_calls:?}");
    assert!(env.emu.acs_posts().is_empty());
}
