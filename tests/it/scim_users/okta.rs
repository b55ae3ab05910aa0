//! The Okta flow: SPEC tests 1–12, PUT full replace, PUT deactivation, import paging.

use std::collections::HashSet;

use http::Method;
use serde_json::json;

use super::{create, filter, grafana_id, in_org, patch_op, user_body};
use crate::support::scim::{assert_scim_error, Harness};

#[tokio::test]
async fn okta_spec_tests_then_put_replace_and_deactivation() {
    let h = Harness::start().await;
    // 1: the users endpoint lists existing users with the fields Okta checks.
    let a = h.get("Users?count=1&startIndex=1").await;
    assert_eq!(a.status, 200);
    let b = a.json();
    assert!(b["totalResults"].is_u64() && b["itemsPerPage"].is_u64() && b["startIndex"].is_u64(), "{b}");
    let first = &b["Resources"][0];
    for f in ["id", "userName", "active"] {
        assert!(!first[f].is_null(), "{f} missing: {first}");
    }
    assert!(first["name"]["familyName"].is_string() && first["name"]["givenName"].is_string());
    assert!(first["emails"][0]["value"].is_string());
    // 2: by id.
    let id0 = first["id"].as_str().unwrap();
    assert_eq!(h.get(&format!("Users/{id0}")).await.json()["id"], id0);
    // 3 and 5: no match is 200 with an empty list.
    let a = filter(&h, r#"userName eq "nobody-0f3c@example.com""#).await;
    assert_eq!((a.status, a.json()["totalResults"].as_u64()), (200, Some(0)));
    let a = filter(&h, r#"emails.value eq "random-77@example.com""#).await;
    assert_eq!((a.status, a.json()["totalResults"].as_u64()), (200, Some(0)));
    // 4 and 12: unknown ids are 404 without asking Grafana.
    h.grafana.reset_calls();
    assert_scim_error(&h.get("Users/00919288221112222").await, 404, None);
    assert_scim_error(&h.get("Users/not-a-uuid").await, 404, None);
    assert_scim_error(&h.get("Users/6f1d2a7e-1111-4222-8333-944455556666").await, 404, None);
    assert_eq!(h.grafana.call_count(), 0);

    // 6: create, sent as application/json like Okta's own test.
    let body = user_body("Okta.User@Example.com", "okta.user@example.com", None);
    let url = format!("{}/Users", h.base);
    let req = http::Request::post(url)
        .header("authorization", format!("Bearer {}", crate::support::scim::TOKEN))
        .header("content-type", "application/json")
        .body(scim_sidecar::body::full(body.to_string()))
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    assert!(res.headers().contains_key("etag"));
    let bytes = http_body_util::BodyExt::collect(res.into_body()).await.unwrap().to_bytes();
    let created: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["active"], true);
    assert_eq!(created["userName"], "Okta.User@Example.com", "original case kept");
    assert_eq!(created["name"]["givenName"], "Given");
    assert!(location.ends_with(&format!("/Users/{id}")));
    assert_eq!(created["meta"]["location"], location);
    let gid = grafana_id(&h, "okta.user@example.com");
    let gu = h.grafana.user(gid).unwrap();
    assert_eq!(
        (gu.email.as_str(), gu.name.as_str()),
        ("okta.user@example.com", "Given Family Okta.User@Example.com")
    );
    assert_eq!(in_org(&h, 1, gid).as_deref(), Some("Viewer"));
    assert!(!gu.password.is_empty());
    // 7: read back.
    let a = h.get(&format!("Users/{id}")).await;
    assert_eq!(a.json()["userName"], "Okta.User@Example.com");
    assert_eq!(a.header("etag"), a.json()["meta"]["version"].as_str());
    // 8: duplicate → 409 uniqueness, whatever the case.
    assert_scim_error(&h.post("Users", body.clone()).await, 409, Some("uniqueness"));
    let mut upper = body.clone();
    upper["userName"] = json!("OKTA.USER@EXAMPLE.COM");
    assert_scim_error(&h.post("Users", upper).await, 409, Some("uniqueness"));
    assert_eq!(h.grafana.users().iter().filter(|u| u.login == "okta.user@example.com").count(), 1);
    // 9: case-insensitive userName filter.
    let a = filter(&h, r#"userName eq "OKTA.USER@EXAMPLE.COM""#).await;
    assert_eq!(a.json()["totalResults"], 1);
    assert_eq!(a.json()["Resources"][0]["id"], id.as_str());
    // 11: a non-token is 401.
    assert_scim_error(&h.call_as(Method::GET, "Users", None, Some("non-token")).await, 401, None);

    // PUT full replace: omitted attributes are cleared, Grafana follows.
    let mut put = user_body("Okta.User@Example.com", "okta.user@example.com", None);
    put["displayName"] = json!("Renamed Person");
    put["nickName"] = json!("nick");
    let a = h.put(&format!("Users/{id}"), put.clone()).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(h.grafana.user(gid).unwrap().name, "Renamed Person");
    put.as_object_mut().unwrap().remove("nickName");
    let a = h.put(&format!("Users/{id}"), put.clone()).await;
    assert!(a.json().get("nickName").is_none(), "PUT must replace: {}", a.json());

    // PUT deactivation cuts the person off; the user stays visible with active=false.
    let _session = h.grafana.create_session(gid);
    put["active"] = json!(false);
    let a = h.put(&format!("Users/{id}"), put.clone()).await;
    assert_eq!(a.json()["active"], false);
    let gu = h.grafana.user(gid).unwrap();
    assert!(gu.is_disabled);
    assert_eq!(h.grafana.sessions(gid), 0);
    assert_eq!(h.get(&format!("Users/{id}")).await.json()["active"], false);
    let a = filter(&h, r#"userName eq "okta.user@example.com""#).await;
    assert_eq!(a.json()["Resources"][0]["active"], false);
    // Reactivation restores access.
    put["active"] = json!(true);
    assert_eq!(h.put(&format!("Users/{id}"), put).await.json()["active"], true);
    assert!(!h.grafana.user(gid).unwrap().is_disabled);
}

#[tokio::test]
async fn import_paging_is_stable_and_complete() {
    let h = Harness::start().await;
    for i in 0..11 {
        super::create(&h, &format!("page.user{i:02}"), &format!("page{i:02}@example.com")).await;
    }
    let total = h.get("Users?count=0").await.json()["totalResults"].as_u64().unwrap();
    assert_eq!(total, 12, "11 users plus the admin");
    let mut seen = Vec::new();
    let mut start = 1;
    while start <= total {
        h.grafana.reset_calls();
        let a = h.get(&format!("Users?startIndex={start}&count=5")).await;
        assert!(h.grafana.call_count() <= 3, "{:?}", h.grafana.calls());
        let page = a.json()["Resources"].as_array().unwrap().clone();
        assert_eq!(a.json()["totalResults"], total);
        seen.extend(page.iter().map(|r| r["id"].as_str().unwrap().to_string()));
        start += 5;
    }
    assert_eq!(seen.len(), 12);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 12, "no duplicates across pages");
    // An unaligned window spans two Grafana pages and still matches the aligned walk.
    let a = h.get("Users?startIndex=4&count=5").await;
    let ids: Vec<String> = a.json()["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, seen[3..8]);
}

/// An import page shows every user exactly as `GET /Users/{id}` does, whichever way it is
/// presented: users SCIM never wrote (written straight from Grafana's copy), a managed user and
/// one detached from the org (through their stored documents), on the default projection and
/// on one that takes the general path.
#[tokio::test]
async fn import_pages_show_each_user_as_get_by_id_does() {
    let h = Harness::start().await;
    h.grafana.create_user("plain", "plain@example.com", "Plain User");
    let off = h.grafana.create_user("off", "off@example.com", "Cher");
    h.grafana.set_disabled(off, true);
    h.grafana.create_user("nameless", "nameless@example.com", "");
    h.grafana.create_user("odd", "odd@example.com", "Zo\u{eb} \"q\" \\ \t 😀  Smith ");
    create(&h, "managed@example.com", "managed@example.com").await;
    let detached = create(&h, "saml.off@example.com", "saml.off@example.com").await;
    let gid = grafana_id(&h, "saml.off@example.com");
    h.grafana.mark_external(gid, "auth.saml");
    let a = h
        .patch(
            &format!("Users/{detached}"),
            patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(in_org(&h, 1, gid).is_none(), "removed from the org");

    for query in ["", "&excludedAttributes=title"] {
        let mut seen = Vec::new();
        for start in [1, 4, 7] {
            let a = h.get(&format!("Users?startIndex={start}&count=3{query}")).await;
            assert_eq!(a.status, 200, "{a:?}");
            assert_eq!(a.header("content-type"), Some("application/scim+json"));
            assert_eq!(a.json()["totalResults"], 7, "admin, four Grafana users, two SCIM users");
            assert_eq!(a.json()["startIndex"], start);
            for r in a.json()["Resources"].as_array().unwrap() {
                let id = r["id"].as_str().unwrap();
                let one = h.get(&format!("Users/{id}")).await;
                assert_eq!(r, one.json(), "{query:?}");
                assert_eq!(r["meta"]["version"].as_str(), one.header("etag"));
                seen.push(r.clone());
            }
        }
        assert_eq!(seen.len(), 7);
        let by_name = |n: &str| seen.iter().find(|r| r["userName"] == n).unwrap_or_else(|| panic!("{n}"));
        assert_eq!(by_name("off")["active"], false);
        assert_eq!(by_name("off")["name"]["familyName"], "Cher");
        assert_eq!(by_name("nameless")["displayName"], "nameless");
        assert_eq!(by_name("odd")["name"]["givenName"], "Zo\u{eb}");
        assert_eq!(by_name("odd")["displayName"], "Zo\u{eb} \"q\" \\ \t 😀  Smith");
        assert_eq!(by_name("managed@example.com")["name"]["givenName"], "Given");
        assert_eq!(by_name("saml.off@example.com")["active"], false);
    }
}
