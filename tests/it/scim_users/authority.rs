//! Who may write which Grafana user (issue 25, items 1 and 11): a Grafana service-account token
//! acts only within its own org at every write, the sidecar's own account is never written
//! however it is reached, and server admins are adopted only when `[scim] adoptable_admins` lists
//! them. Every refusal leaves Grafana untouched.

use std::time::Duration;

use http::Method;
use serde_json::{json, Value};

use super::{patch_op, user_body};
use crate::support::scim::{assert_scim_error, Harness, TOKEN};

/// What a refused write must not change about a Grafana user.
type Snapshot = (String, String, String, bool, bool, String, Vec<i64>);

fn snapshot(h: &Harness, id: i64) -> Option<Snapshot> {
    let u = h.grafana.user(id)?;
    let mut orgs = h.grafana.user_orgs(id);
    orgs.sort_unstable();
    Some((u.login, u.email, u.name, u.is_admin, u.is_disabled, u.password, orgs))
}

async fn harness(configure: impl FnOnce(&mut scim_sidecar::config::Config)) -> Harness {
    Harness::start_with(Default::default(), |c| {
        c.scim.accept_grafana_tokens = true;
        c.scim.grafana_token_cache_ttl = Duration::from_secs(60);
        configure(c);
    })
    .await
}

fn users_of(org: i64) -> String {
    format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org}/Users")
}

/// A Grafana user who belongs to `org` only.
fn only_in(h: &Harness, login: &str, org: i64) -> i64 {
    let id = h.grafana.create_user(login, login, "Original");
    for o in h.grafana.user_orgs(id) {
        h.grafana.remove_org_user(o, id);
    }
    assert!(h.grafana.add_org_user(org, id, "Viewer"));
    id
}

/// The SCIM id a listing of `users` (as `token`, else the static token) gives `login`.
async fn listed_id(h: &Harness, users: &str, login: &str, token: Option<&str>) -> String {
    let token = Some(token.unwrap_or(TOKEN));
    let q: String =
        url::form_urlencoded::byte_serialize(format!("userName eq \"{login}\"").as_bytes()).collect();
    let a = h.call_as(Method::GET, &format!("{users}?filter={q}"), None, token).await;
    assert_eq!(a.json()["totalResults"], 1, "{a:?}");
    a.json()["Resources"][0]["id"].as_str().unwrap().to_string()
}

/// Every write a SCIM client can make to one SCIM id, each changing something instance-wide.
fn writes(login: &str) -> Vec<(Method, Option<Value>)> {
    let mut renamed = user_body(login, "attacker@evil.example", None);
    renamed["displayName"] = json!("Taken Over");
    vec![
        (Method::PUT, Some(renamed)),
        (
            Method::PATCH,
            Some(patch_op(
                json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "attacker@evil.example"}]),
            )),
        ),
        (Method::PATCH, Some(patch_op(json!([{"op": "replace", "value": {"active": false}}])))),
        (Method::PATCH, Some(patch_op(json!([{"op": "replace", "path": "userName", "value": "renamed"}])))),
        (Method::DELETE, None),
    ]
}

/// Asserts every write to `scim_id` as `token` (else the static token) is refused with `status`
/// and changes nothing.
async fn refused_everywhere(
    h: &Harness,
    users: &str,
    scim_id: &str,
    login: &str,
    gid: i64,
    token: Option<&str>,
    status: u16,
) {
    let token = Some(token.unwrap_or(TOKEN));
    let before = snapshot(h, gid);
    for (method, body) in writes(login) {
        let a = h.call_as(method.clone(), &format!("{users}/{scim_id}"), body, token).await;
        assert_scim_error(&a, status, None);
        assert_eq!(snapshot(h, gid), before, "{method} changed grafana user {login}");
    }
}

#[tokio::test]
async fn a_grafana_token_writes_only_users_within_its_org_at_every_write() {
    let h = harness(|_| {}).await;
    let org2 = h.grafana.create_org("Second");
    let token = h.grafana.create_service_account_token(org2, "Admin");
    let users = users_of(org2);
    let root = only_in(&h, "root@example.com", org2);
    let both = only_in(&h, "both@example.com", org2);
    let local = only_in(&h, "local@example.com", org2);
    // Listed (recorded with a SCIM id) while they were plain members of the token's org only.
    let root_id = listed_id(&h, &users, "root@example.com", Some(&token)).await;
    let both_id = listed_id(&h, &users, "both@example.com", Some(&token)).await;
    // Adopted by the token while local: managed from now on.
    let a = h
        .call_as(
            Method::POST,
            &users,
            Some(user_body("local@example.com", "local@example.com", None)),
            Some(&token),
        )
        .await;
    assert_eq!(a.status, 201, "{a:?}");
    let local_id = a.json()["id"].as_str().unwrap().to_string();

    // Later, outside SCIM: one becomes a server admin, one joins another org.
    h.grafana.set_server_admin(root, true);
    assert!(h.grafana.add_org_user(1, both, "Viewer"));
    refused_everywhere(&h, &users, &root_id, "root@example.com", root, Some(&token), 403).await;
    refused_everywhere(&h, &users, &both_id, "both@example.com", both, Some(&token), 403).await;

    // The managed user too, once beyond the org; within it again, writes go through.
    h.grafana.set_server_admin(local, true);
    refused_everywhere(&h, &users, &local_id, "local@example.com", local, Some(&token), 403).await;
    h.grafana.set_server_admin(local, false);
    assert!(h.grafana.add_org_user(1, local, "Viewer"));
    refused_everywhere(&h, &users, &local_id, "local@example.com", local, Some(&token), 403).await;
    h.grafana.remove_org_user(1, local);
    let off = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let a = h.call_as(Method::PATCH, &format!("{users}/{local_id}"), Some(off), Some(&token)).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(h.grafana.user(local).unwrap().is_disabled);

    // Reactivation of a user who joined another org while deactivated: refused, stays disabled.
    assert!(h.grafana.add_org_user(1, local, "Viewer"));
    let on = patch_op(json!([{"op": "replace", "value": {"active": true}}]));
    let a = h.call_as(Method::PATCH, &format!("{users}/{local_id}"), Some(on.clone()), Some(&token)).await;
    assert_scim_error(&a, 403, None);
    assert!(h.grafana.user(local).unwrap().is_disabled, "not re-enabled");
    // The same write through the operator's static token is within its authority.
    let a = h.call(Method::PATCH, &format!("{users}/{local_id}"), Some(on)).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(!h.grafana.user(local).unwrap().is_disabled);
    let a = h
        .call(
            Method::PATCH,
            &format!("{users}/{both_id}"),
            Some(patch_op(json!([{"op": "replace", "path": "displayName", "value": "Ops Renamed"}]))),
        )
        .await;
    assert_eq!(a.status, 200, "a static token may take over a member of two orgs: {a:?}");
}

/// With `on_delete = "delete"`, a token's DELETE of a listed server admin or of a member of
/// another org would delete the Grafana user: refused, the user still exists.
#[tokio::test]
async fn a_grafana_token_cannot_delete_users_beyond_its_org() {
    let h = harness(|c| c.scim.on_delete = scim_sidecar::config::OnDelete::Delete).await;
    let org2 = h.grafana.create_org("Second");
    let token = h.grafana.create_service_account_token(org2, "Admin");
    let users = users_of(org2);
    let root = only_in(&h, "root@example.com", org2);
    let both = only_in(&h, "both@example.com", org2);
    let root_id = listed_id(&h, &users, "root@example.com", Some(&token)).await;
    let both_id = listed_id(&h, &users, "both@example.com", Some(&token)).await;
    h.grafana.set_server_admin(root, true);
    assert!(h.grafana.add_org_user(1, both, "Editor"));
    for (id, gid) in [(&root_id, root), (&both_id, both)] {
        let a = h.call_as(Method::DELETE, &format!("{users}/{id}"), None, Some(&token)).await;
        assert_scim_error(&a, 403, None);
        assert!(h.grafana.user(gid).is_some(), "not deleted");
    }
    // The admin listing reaches the built-in admin too (a server admin and the sidecar's own
    // account): never deleted, whoever asks.
    let admin_id = listed_id(&h, &users_of(1), "admin", None).await;
    let a = h.call(Method::DELETE, &format!("{}/{admin_id}", users_of(1)), None).await;
    assert_scim_error(&a, 403, None);
    assert!(h.grafana.user_by_login("admin").is_some());
}

/// The sidecar's own account is recognised by its Grafana id, login and email, not only by the
/// configured `[grafana] user` (here its email, which Grafana accepts for basic auth).
#[tokio::test]
async fn the_sidecars_own_account_is_never_written_however_it_is_reached() {
    let h = harness(|c| c.grafana.user = "admin@localhost".into()).await;
    let admin = h.grafana.user_by_login("admin").unwrap().id;
    let users = users_of(1);
    let admin_id = listed_id(&h, &users, "admin", None).await;
    refused_everywhere(&h, &users, &admin_id, "admin", admin, None, 403).await;

    // Creates naming it by login or email, in any case.
    for (login, email) in
        [("ADMIN", "other@example.com"), ("someone", "Admin@Localhost"), ("admin@localhost", "x@example.com")]
    {
        let a = h.post("Users", user_body(login, email, None)).await;
        assert_scim_error(&a, 403, None);
    }
    // Renaming someone into it (its login, or its email as login or email).
    let bob = super::create(&h, "bob@example.com", "bob@example.com").await;
    let bob_gid = super::grafana_id(&h, "bob@example.com");
    for ops in [
        json!([{"op": "replace", "path": "userName", "value": "Admin"}]),
        json!([{"op": "replace", "path": "userName", "value": "admin@localhost"}]),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ADMIN@localhost"}]),
    ] {
        let before = snapshot(&h, bob_gid);
        let a = h.patch(&format!("Users/{bob}"), patch_op(ops)).await;
        assert_scim_error(&a, 403, None);
        assert_eq!(snapshot(&h, bob_gid), before);
    }
    assert_eq!(snapshot(&h, admin).unwrap().1, "admin@localhost");
}

/// A create (static token included) does not adopt or revive a Grafana server admin unless
/// `[scim] adoptable_admins` lists its login; the first write to a listed record of one is
/// refused the same way.
#[tokio::test]
async fn server_admins_are_adopted_only_when_listed() {
    let h = harness(|c| c.scim.adoptable_admins = vec!["Listed@Example.com".into()]).await;
    let ops = h.grafana.create_user("ops@example.com", "ops-mail@example.com", "Original");
    h.grafana.set_server_admin(ops, true);
    let before = snapshot(&h, ops);
    // By login, by email, in another case, through either token.
    let token = h.grafana.create_service_account_token(1, "Admin");
    for body in [
        user_body("ops@example.com", "new@example.com", None),
        user_body("OPS@EXAMPLE.COM", "ops-mail@example.com", None),
        user_body("fresh-login", "OPS-MAIL@example.com", None),
    ] {
        let a = h.post("Users", body.clone()).await;
        assert_scim_error(&a, 409, Some("uniqueness"));
        assert!(a.json()["detail"].as_str().unwrap().contains("adoptable_admins"), "{a:?}");
        let a = h.call_as(Method::POST, "Users", Some(body), Some(&token)).await;
        assert_scim_error(&a, 409, Some("uniqueness"));
        assert_eq!(snapshot(&h, ops), before, "untouched");
    }
    assert!(h.grafana.user_by_login("fresh-login").is_none());
    // First write to the record a listing made: refused too.
    let listed = listed_id(&h, "Users", "ops@example.com", None).await;
    refused_everywhere(&h, "Users", &listed, "ops@example.com", ops, None, 403).await;

    // A listed login is adopted (ignoring case), by a static token only.
    let listed_admin = h.grafana.create_user("listed@example.com", "listed@example.com", "Original");
    h.grafana.set_server_admin(listed_admin, true);
    let body = user_body("listed@example.com", "listed@example.com", None);
    let a = h.call_as(Method::POST, "Users", Some(body.clone()), Some(&token)).await;
    assert_scim_error(&a, 409, Some("uniqueness"));
    let a = h.post("Users", body).await;
    assert_eq!(a.status, 201, "{a:?}");

    // A managed user who became a server admin while deleted is not revived.
    let carol = super::create(&h, "carol@example.com", "carol@example.com").await;
    assert_eq!(h.delete(&format!("Users/{carol}")).await.status, 204);
    let carol_gid = super::grafana_id(&h, "carol@example.com");
    h.grafana.set_server_admin(carol_gid, true);
    let before = snapshot(&h, carol_gid);
    let a = h.post("Users", user_body("carol@example.com", "carol@example.com", None)).await;
    assert_scim_error(&a, 409, Some("uniqueness"));
    assert_eq!(snapshot(&h, carol_gid), before, "still cut off");
}

/// A POST that would bring back a deactivated user is judged like the reactivation it is: a
/// Grafana token may not reactivate someone who joined another org meanwhile (409, Grafana
/// untouched); the operator's static token may.
#[tokio::test]
async fn reprovisioning_a_deactivated_user_respects_the_callers_authority() {
    let h = harness(|_| {}).await;
    let org2 = h.grafana.create_org("Second");
    let token = h.grafana.create_service_account_token(org2, "Admin");
    let users = users_of(org2);
    let gid = only_in(&h, "back@example.com", org2);
    let body = user_body("back@example.com", "back@example.com", Some("ext-back"));
    let a = h.call_as(Method::POST, &users, Some(body.clone()), Some(&token)).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_string();
    let off = patch_op(json!([{"op": "replace", "value": {"active": false}}]));
    let a = h.call_as(Method::PATCH, &format!("{users}/{id}"), Some(off), Some(&token)).await;
    assert_eq!(a.status, 200, "{a:?}");
    assert!(h.grafana.user(gid).unwrap().is_disabled);

    assert!(h.grafana.add_org_user(1, gid, "Viewer"));
    let before = snapshot(&h, gid);
    let a = h.call_as(Method::POST, &users, Some(body.clone()), Some(&token)).await;
    assert_scim_error(&a, 409, Some("uniqueness"));
    assert_eq!(snapshot(&h, gid), before, "Grafana untouched");
    let a = h.call(Method::POST, &users, Some(body)).await;
    assert_eq!(a.status, 201, "{a:?}");
    assert_eq!(a.json()["id"], id.as_str());
    assert!(!h.grafana.user(gid).unwrap().is_disabled);
}
