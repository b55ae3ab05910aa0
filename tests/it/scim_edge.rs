//! The SCIM edge of the real sidecar: authentication, namespaces, discovery, methods and media types.

use http::Method;
use serde_json::json;

use crate::support::scim::{assert_scim_error, Harness};

#[tokio::test]
async fn missing_or_wrong_token_is_401_with_bearer_challenge() {
    let h = Harness::start().await;
    for token in [None, Some("non-token"), Some("test-scim-token-012345678")] {
        let a = h.call_as(Method::GET, "Users", None, token).await;
        assert_scim_error(&a, 401, None);
        assert!(a.header("www-authenticate").is_some_and(|v| v.starts_with("Bearer")), "{a:?}");
        assert!(!a.json().to_string().contains("test-scim-token"), "token echoed: {a:?}");
    }
    // Nothing was asked of Grafana for a refused request.
    assert_eq!(h.grafana.count("GET", "/api/users/search"), 0);
}

#[tokio::test]
async fn discovery_documents_are_served_under_both_base_paths() {
    let h = Harness::start().await;
    let spc = h.get("ServiceProviderConfig").await;
    assert_eq!(spc.status, 200, "{spc:?}");
    assert_eq!(spc.header("content-type"), Some("application/scim+json"));
    assert_eq!(spc.json()["patch"]["supported"], true);
    assert_eq!(spc.json()["bulk"]["supported"], false);
    let rts = h.get("/apis/scim.grafana.app/v0alpha1/namespaces/default/ResourceTypes").await;
    assert_eq!(rts.status, 200);
    assert_eq!(rts.json()["totalResults"], 2);
    let loc = rts.json()["Resources"][0]["meta"]["location"].as_str().unwrap().to_string();
    assert!(loc.starts_with("http://127.0.0.1:"), "absolute location: {loc}");
    assert!(loc.contains("/apis/scim.grafana.app/v0alpha1/namespaces/default/"), "{loc}");
    let schema = h.get("Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(schema.status, 200);
    assert_eq!(schema.json()["id"], "urn:ietf:params:scim:schemas:core:2.0:User");
    assert_scim_error(&h.get("Schemas/urn:nope").await, 404, None);
    assert_scim_error(&h.get("ResourceTypes?filter=name%20eq%20%22User%22").await, 403, None);
    assert_scim_error(&h.post("ServiceProviderConfig", json!({})).await, 405, None);
}

#[tokio::test]
async fn namespaces_and_unknown_endpoints() {
    let h = Harness::start().await;
    let ns = "/apis/scim.grafana.app/v0alpha1/namespaces";
    assert_scim_error(&h.get(&format!("{ns}/stacks-1/Schemas")).await, 404, None);
    assert_scim_error(&h.get(&format!("{ns}/org-42/Schemas")).await, 404, None);
    let org = h.grafana.create_org("Second");
    assert_eq!(h.get(&format!("{ns}/org-{org}/Schemas")).await.status, 200);
    assert_scim_error(&h.get("Nope").await, 404, None);
    assert_scim_error(&h.get("Me").await, 501, None);
    assert_scim_error(&h.post("Bulk", json!({})).await, 501, None);
}

#[tokio::test]
async fn methods_media_types_and_bodies_are_checked() {
    let h = Harness::start().await;
    assert_scim_error(&h.call(Method::PATCH, "Users", Some(json!({}))).await, 405, None);
    assert_scim_error(&h.call(Method::GET, "Users/.search", None).await, 405, None);
    // A body that is not JSON.
    let url = format!("{}/Users", h.base);
    let req = http::Request::post(url)
        .header("authorization", format!("Bearer {}", crate::support::scim::TOKEN))
        .header("content-type", "text/plain")
        .body(scim_sidecar::body::full("hello"))
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    assert_eq!(res.status(), 415);
    let req = http::Request::post(format!("{}/Users", h.base))
        .header("authorization", format!("Bearer {}", crate::support::scim::TOKEN))
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full("{not json"))
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn scim_is_also_served_under_grafanas_sub_path() {
    let h =
        Harness::start_with(Default::default(), |c| c.grafana.url = format!("{}/grafana/", c.grafana.url))
            .await;
    let a = h.get("/grafana/scim/v2/ResourceTypes/User").await;
    assert_eq!(a.status, 200, "{a:?}");
    let location = a.json()["meta"]["location"].as_str().unwrap();
    assert!(location.contains("/grafana/scim/v2/ResourceTypes/User"), "{location}");
    let a = h.get("/grafana/apis/scim.grafana.app/v0alpha1/namespaces/default/Schemas").await;
    assert_eq!(a.status, 200, "{a:?}");
    // The root base path keeps working too.
    assert_eq!(h.get("ServiceProviderConfig").await.status, 200);
}

#[tokio::test]
async fn passthrough_guards_also_apply_under_grafanas_sub_path() {
    let h = Harness::start_with(Default::default(), |c| c.grafana.url = format!("{}/grafana", c.grafana.url))
        .await;
    let team = h.grafana.create_team(1, "Eng");
    for path in [format!("/grafana/api/teams/{team}/groups"), format!("/api/teams/{team}/groups")] {
        let req = http::Request::post(format!("{}{path}", h.sidecar.url))
            .header("authorization", "Basic YWRtaW46YWRtaW4=")
            .header("content-type", "application/json")
            .body(scim_sidecar::body::full(r#"{"groupId":"cn=eng"}"#))
            .unwrap();
        let res = h.client.request(req).await.unwrap();
        assert_eq!(res.status(), 403, "{path}");
    }
    assert!(h.grafana.team_groups(team).is_empty(), "the link never reached Grafana");
}

/// Guards decide on the path as Grafana's router resolves it: percent-decoded segment by segment,
/// with or without Grafana's sub-path (even an encoded one), one trailing slash dropped. Each
/// spelling below reaches Grafana's handler for a SCIM-managed team or user.
#[tokio::test]
async fn passthrough_guards_see_every_spelling_grafana_routes() {
    let grafana = grafana_emulator::EmulatorOptions {
        serve_from_sub_path: Some("/grafana".into()),
        ..Default::default()
    };
    let h = Harness::start_with(grafana, |c| c.grafana.url = format!("{}/grafana", c.grafana.url)).await;
    let user = h
        .post("Users", json!({"userName": "kim@example.com", "emails": [{"value": "kim@example.com"}]}))
        .await;
    assert_eq!(user.status, 201, "{user:?}");
    let member = user.json()["id"].as_str().unwrap().to_string();
    let group = h.post("Groups", json!({"displayName": "Eng", "members": [{"value": member}]})).await;
    assert_eq!(group.status, 201, "{group:?}");
    let team = h.grafana.team_by_name(1, "Eng").unwrap().id;
    let team_uid = h.grafana.team_by_name(1, "Eng").unwrap().uid;
    let kim = h.grafana.user_by_login("kim@example.com").unwrap().id;
    let other = h.grafana.create_user("other", "other@example.com", "Other");
    let send = |method: Method, path: String, body: serde_json::Value| {
        let req = http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", h.sidecar.url))
            .header("authorization", "Basic YWRtaW46YWRtaW4=")
            .header("content-type", "application/json")
            .body(scim_sidecar::body::full(body.to_string()))
            .unwrap();
        let client = h.client.clone();
        async move { client.request(req).await.unwrap().status().as_u16() }
    };
    let add = json!({"userId": other});
    for (method, path, body, status) in [
        (Method::DELETE, format!("/grafana/api/teams/{team}"), json!({}), 400),
        (Method::DELETE, format!("/api/te%61ms/{team}"), json!({}), 400),
        (Method::DELETE, format!("/gr%61fana/api/teams/{team}/"), json!({}), 400),
        (Method::POST, format!("/grafana/api/teams/{team}/%6Dembers"), add.clone(), 400),
        (Method::POST, format!("/api/teams/{team}/%67roups"), json!({"groupId": "cn=eng"}), 403),
        (Method::PUT, format!("/grafana/api/%75sers/{kim}"), json!({"login": "x"}), 403),
        // Grafana trims its sub-path as a string, then drops the leading slash if any.
        (Method::PUT, format!("/grafanaapi/users/{kim}"), json!({"login": "x"}), 403),
        (Method::DELETE, format!("/grafanaapi/teams/{team}"), json!({}), 400),
        // Bodies read as Grafana reads them: keys in any case, the last one winning, trailing
        // bytes ignored.
        (Method::PUT, format!("/api/teams/{team}"), json!({"Name": "Renamed"}), 400),
        (Method::PUT, format!("/api/teams/{team}"), json!({"name": "Eng", "NAME": "Renamed"}), 400),
        // Grafana takes the team's UID wherever it takes its id.
        (Method::DELETE, format!("/api/teams/{team_uid}"), json!({}), 400),
        (Method::POST, format!("/grafana/api/teams/{team_uid}/members"), add.clone(), 400),
    ] {
        assert_eq!(send(method.clone(), path.clone(), body).await, status, "{method} {path}");
    }
    let req = http::Request::put(format!("{}/api/teams/{team}", h.sidecar.url))
        .header("authorization", "Basic YWRtaW46YWRtaW4=")
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(r#"{"name":"Renamed"} trailing bytes Go ignores"#))
        .unwrap();
    assert_eq!(h.client.request(req).await.unwrap().status(), 400);
    assert!(h.grafana.team_by_name(1, "Eng").is_some(), "the team was neither deleted nor renamed");
    assert_eq!(h.grafana.team_members(team).len(), 1, "no member was added");
    assert!(h.grafana.team_groups(team).is_empty(), "no Team Sync link was made");
    assert_eq!(h.grafana.user(kim).unwrap().login, "kim@example.com");
    // A managed team's UID is known from the store's own record: Grafana is not asked.
    h.grafana.fail_next("GET", &format!("/api/teams/{team_uid}"), 500, 1);
    assert_eq!(send(Method::DELETE, format!("/api/teams/{team_uid}"), json!({})).await, 400);
    assert!(h.grafana.team_by_name(1, "Eng").is_some());
    // When Grafana cannot resolve a UID the store does not know, the write is refused rather
    // than let through.
    let other = h.grafana.create_team(1, "Other");
    let other_uid = h.grafana.team(other).unwrap().uid;
    h.grafana.fail_next("GET", &format!("/api/teams/{other_uid}"), 500, 1);
    assert_eq!(send(Method::DELETE, format!("/api/teams/{other_uid}"), json!({})).await, 503);
    assert!(h.grafana.team(other).is_some());
    // A team SCIM does not manage is written through, by its UID too.
    let plain = h.grafana.create_team(1, "Plain");
    let plain_uid = h.grafana.team(plain).unwrap().uid;
    assert_eq!(send(Method::DELETE, format!("/api/teams/{plain_uid}"), json!({})).await, 200);
    assert!(h.grafana.team(plain).is_none());
}

#[tokio::test]
async fn policy_refusals_reach_idps_as_scim_errors() {
    // Open-source Grafana: no SAML, so Users and Groups are refused; discovery still answers.
    let oss = Harness::start_with(grafana_emulator::EmulatorOptions::oss(), |_| {}).await;
    let users = oss.get("Users").await;
    assert_scim_error(&users, 403, None);
    assert!(users.json()["detail"].as_str().unwrap().contains("SAML"), "{users:?}");
    assert_scim_error(&oss.get("Groups").await, 403, None);
    assert_eq!(oss.get("ServiceProviderConfig").await.status, 200);
    assert_eq!(oss.grafana.user_count(), 1, "nothing was created");

    // Enterprise with SAML but a Team Sync link: Users work, Groups are refused.
    let h = Harness::start_with(Default::default(), |c| {
        c.policy.cache_ttl = std::time::Duration::from_millis(50)
    })
    .await;
    let team = h.grafana.create_team(1, "Synced");
    h.grafana.add_team_group(team, "cn=synced");
    crate::support::eventually("the policy sees the link", || async { h.get("Groups").await.status == 403 })
        .await;
    let groups = h.get("Groups").await;
    assert_scim_error(&groups, 403, None);
    assert!(groups.json()["detail"].as_str().unwrap().contains("Team Sync"), "{groups:?}");
    assert_eq!(h.get("Users").await.status, 200);
    let created = h.post("Groups", json!({"displayName": "New"})).await;
    assert_scim_error(&created, 403, None);
    assert!(h.grafana.team_by_name(1, "New").is_none(), "nothing was created");
}

/// Sends `method url` with the harness token, an optional JSON body and extra headers.
async fn send_with(
    h: &Harness,
    method: Method,
    url: &str,
    body: Option<serde_json::Value>,
    headers: &[(&str, &str)],
) -> (u16, http::HeaderMap) {
    let mut req = http::Request::builder()
        .method(method)
        .uri(url)
        .header("authorization", format!("Bearer {}", crate::support::scim::TOKEN));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/scim+json");
            scim_sidecar::body::full(v.to_string())
        }
        None => scim_sidecar::body::empty(),
    };
    let res = h.client.request(req.body(body).unwrap()).await.unwrap();
    (res.status().as_u16(), res.headers().clone())
}

#[tokio::test]
async fn etags_are_declared_and_honoured_for_users_and_groups() {
    let h = Harness::start().await;
    assert_eq!(h.get("ServiceProviderConfig").await.json()["etag"]["supported"], true);
    let user =
        h.post("Users", json!({"userName": "etag.user", "emails": [{"value": "etag@example.com"}]})).await;
    assert_eq!(user.status, 201, "{user:?}");
    let group = h.post("Groups", json!({"displayName": "ETag team"})).await;
    assert_eq!(group.status, 201, "{group:?}");
    for (created, put_body) in [
        (&user, json!({"userName": "etag.user", "displayName": "Changed"})),
        (&group, json!({"displayName": "ETag team 2"})),
    ] {
        let url = created.header("location").unwrap().to_string();
        let etag = created.header("etag").unwrap().to_string();
        assert_eq!(Some(etag.as_str()), created.json()["meta"]["version"].as_str());
        let (status, _) = send_with(&h, Method::GET, &url, None, &[("if-none-match", &etag)]).await;
        assert_eq!(status, 304, "{url}");
        let (status, _) = send_with(&h, Method::GET, &url, None, &[("if-none-match", "W/\"other\"")]).await;
        assert_eq!(status, 200, "{url}");
        let stale =
            send_with(&h, Method::PUT, &url, Some(put_body.clone()), &[("if-match", "W/\"stale\"")]).await;
        assert_eq!(stale.0, 412, "{url}");
        let (status, headers) =
            send_with(&h, Method::PUT, &url, Some(put_body), &[("if-match", &etag)]).await;
        assert_eq!(status, 200, "{url}");
        assert_ne!(headers.get("etag").and_then(|v| v.to_str().ok()), Some(etag.as_str()), "new version");
    }
    assert!(h.grafana.team_by_name(1, "ETag team 2").is_some(), "the matching PUT was applied");
}

/// A group's tag follows the group (name, externalId, member set), not how Grafana lists or
/// names members, and every write checks `If-Match` against the tag a GET shows, with members
/// or without them.
#[tokio::test]
async fn group_etags_follow_the_member_set_and_hold_across_every_write() {
    let h = Harness::start().await;
    let zed = h.post("Users", json!({"userName": "zed.member", "displayName": "Zed"})).await;
    let zed = zed.json()["id"].as_str().unwrap().to_string();
    let bob_grafana = h.grafana.create_user("bob.hand", "bob.hand@example.com", "Bob By Hand");
    let found = h.get("Users?filter=userName%20eq%20%22bob.hand%22").await;
    let bob = found.json()["Resources"][0]["id"].as_str().unwrap().to_string();
    // Request order (zed, bob) differs from Grafana's login order (bob, zed), and the POST has
    // only bob's userName at hand where a GET shows Grafana's name.
    let created =
        h.post("Groups", json!({"displayName": "Tagged", "members": [{"value": zed}, {"value": bob}]})).await;
    assert_eq!(created.status, 201, "{created:?}");
    let url = created.header("location").unwrap().to_string();
    let id = created.json()["id"].as_str().unwrap().to_string();
    let full = h.get(&format!("Groups/{id}")).await;
    let members: Vec<&str> =
        full.json()["members"].as_array().unwrap().iter().map(|m| m["display"].as_str().unwrap()).collect();
    assert_eq!(members, ["Bob By Hand", "Zed"], "Grafana's order and names: {full:?}");
    let tag = full.header("etag").unwrap().to_string();
    assert_eq!(created.header("etag"), Some(tag.as_str()), "POST and GET agree");
    assert_eq!(full.json()["meta"]["version"].as_str(), Some(tag.as_str()));
    let lean = h.get(&format!("Groups/{id}?excludedAttributes=members")).await;
    let lean_tag = lean.header("etag").unwrap().to_string();
    assert_ne!(lean_tag, tag, "a copy without members has its own tag");

    // A rename in Grafana changes a member's display, not the group.
    h.grafana.set_name(bob_grafana, "Robert");
    assert_eq!(h.get(&format!("Groups/{id}")).await.header("etag"), Some(tag.as_str()));

    // A PATCH that leaves members alone still checks the tag a full GET showed.
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Tagged 2"}]});
    let (status, _) = send_with(&h, Method::PATCH, &url, Some(rename.clone()), &[("if-match", &tag)]).await;
    assert_eq!(status, 204);
    assert!(h.grafana.team_by_name(1, "Tagged 2").is_some(), "the matching PATCH was applied");
    let (status, _) = send_with(&h, Method::PATCH, &url, Some(rename), &[("if-match", &tag)]).await;
    assert_eq!(status, 412, "the rename made the tag stale");

    // A member added by hand in Grafana makes the full tag stale, not the member-less one.
    let full = h.get(&format!("Groups/{id}")).await.header("etag").unwrap().to_string();
    let lean = h.get(&format!("Groups/{id}?excludedAttributes=members")).await;
    let lean_tag = lean.header("etag").unwrap().to_string();
    let team = h.grafana.team_by_name(1, "Tagged 2").unwrap().id;
    let carol = h.grafana.create_user("carol.hand", "carol.hand@example.com", "Carol");
    h.grafana.add_team_member(team, carol, 0);
    let (status, _) = send_with(&h, Method::DELETE, &url, None, &[("if-match", &full)]).await;
    assert_eq!(status, 412);
    assert!(h.grafana.team(team).is_some(), "a refused DELETE leaves the team");
    let (status, _) = send_with(&h, Method::DELETE, &url, None, &[("if-match", &lean_tag)]).await;
    assert_eq!(status, 204);
    assert!(h.grafana.team(team).is_none());
}
