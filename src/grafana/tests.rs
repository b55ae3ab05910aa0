//! Client tests against a canned in-test server (the Grafana emulator tests come later).

mod stub;

use std::time::Duration;

use http::Method;
use serde_json::json;

use self::stub::{route, Route, Stub, HANG};
use super::model::{OrgMembership, TEAM_PERMISSION_ADMIN};
use super::*;
use crate::config::{GrafanaConfig, Secret};

const PASSWORD: &str = "pa:ss-w0rd";

fn basic() -> String {
    format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("admin:{PASSWORD}"))
    )
}

fn client_for(base: &str, timeout: Duration) -> GrafanaClient {
    let http = crate::upstream::build_client(&GrafanaConfig::default()).unwrap();
    GrafanaClient::new(base, "admin", Secret::new(PASSWORD), http, timeout).unwrap()
}

async fn setup(routes: Vec<Route>) -> (Stub, GrafanaClient) {
    let stub = Stub::start(routes).await;
    let client = client_for(&stub.base(), Duration::from_secs(10));
    (stub, client)
}

#[tokio::test]
async fn user_calls_use_admin_basic_auth_and_exact_routes() {
    use Method as M;
    let (stub, c) = setup(vec![
        route(M::POST, "/api/admin/users", 200, r#"{"id":5,"uid":"aeq2","message":"User created"}"#),
        route(
            M::GET,
            "/api/users/5",
            200,
            r#"{"id":5,"uid":"aeq2","login":"jane","email":"j@x.io","isDisabled":true}"#,
        ),
        route(M::GET, "/api/users/lookup", 200, r#"{"id":5,"uid":"","login":"jane","authLabels":null}"#),
        route(
            M::GET,
            "/api/users/search",
            200,
            r#"{"totalCount":1,"users":[{"id":5,"isAdmin":false}],"page":2,"perPage":50}"#,
        ),
        route(M::PUT, "/api/users/5", 200, r#"{"message":"User updated"}"#),
        route(M::DELETE, "/api/admin/users/5", 200, r#"{"message":"User deleted"}"#),
        route(M::POST, "/api/admin/users/5/disable", 200, r#"{"message":"User disabled"}"#),
        route(M::POST, "/api/admin/users/5/enable", 200, r#"{"message":"User enabled"}"#),
        route(M::POST, "/api/admin/users/5/logout", 200, r#"{"message":"User logged out"}"#),
        route(M::GET, "/api/users/5/orgs", 200, r#"[{"orgId":1,"name":"Main Org.","role":"Viewer"}]"#),
        route(M::GET, "/api/users/5/teams", 200, r#"[{"id":7,"name":"Eng","accessControl":null}]"#),
    ])
    .await;
    let created = c.create_user("jane", "j@x.io", "Jane", &Secret::new("Str0ng!pw"), Some(3)).await.unwrap();
    assert_eq!((created.id, created.uid.as_deref()), (5, Some("aeq2")));
    let r = stub.last();
    assert_eq!((r.method.clone(), r.path.as_str()), (M::POST, "/grafana/api/admin/users"));
    assert_eq!(r.header("authorization"), Some(basic().as_str()));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.json(),
        json!({"login":"jane","email":"j@x.io","name":"Jane","password":"Str0ng!pw","orgId":3})
    );
    assert_eq!(r.header("x-grafana-org-id"), None, "global routes carry no org header");

    assert!(c.get_user(5).await.unwrap().is_disabled);
    let found = c.lookup_user("a+b@x.io").await.unwrap().unwrap();
    assert_eq!(found.login, "jane");
    assert_eq!(stub.last().query.as_deref(), Some("loginOrEmail=a%2Bb%40x.io"));
    let (_empty, nobody) =
        setup(vec![route(M::GET, "/api/users/lookup", 404, r#"{"message":"user not found"}"#)]).await;
    assert_eq!(nobody.lookup_user("nobody").await.ok(), Some(None), "404 is None");

    let page = c.search_users("50% & more", 2, 50).await.unwrap();
    assert_eq!((page.total_count, page.users.len(), page.per_page), (1, 1, 50));
    assert_eq!(stub.last().query.as_deref(), Some("perpage=50&page=2&query=50%25+%26+more"));

    c.update_user(5, "jane", "j@x.io", "Jane D").await.unwrap();
    let r = stub.last();
    assert_eq!(
        (r.method.clone(), r.json()),
        (M::PUT, json!({"login":"jane","email":"j@x.io","name":"Jane D"}))
    );
    c.delete_user(5).await.unwrap();
    c.disable_user(5).await.unwrap();
    c.enable_user(5).await.unwrap();
    c.logout_user(5).await.unwrap();
    let paths: Vec<_> =
        stub.requests().iter().rev().take(4).map(|r| (r.method.clone(), r.path.clone())).collect();
    assert_eq!(
        paths,
        vec![
            (M::POST, "/grafana/api/admin/users/5/logout".to_owned()),
            (M::POST, "/grafana/api/admin/users/5/enable".to_owned()),
            (M::POST, "/grafana/api/admin/users/5/disable".to_owned()),
            (M::DELETE, "/grafana/api/admin/users/5".to_owned()),
        ]
    );
    assert_eq!(c.user_orgs(5).await.unwrap()[0].role, "Viewer");
    assert_eq!(c.user_teams(4, 5).await.unwrap()[0].id, 7);
    assert_eq!(stub.last().header("x-grafana-org-id"), Some("4"));
    assert!(stub.requests().iter().all(|r| r.header("authorization") == Some(basic().as_str())));
}

#[tokio::test]
async fn org_calls_name_the_org_in_the_path() {
    use Method as M;
    let (stub, c) = setup(vec![
        route(M::POST, "/api/orgs/2/users", 200, r#"{"message":"User added to organization","userId":5}"#),
        route(
            M::POST,
            "/api/orgs/3/users",
            409,
            r#"{"message":"User is already member of this organization","userId":5}"#,
        ),
        route(M::POST, "/api/orgs/4/users", 404, r#"{"message":"User not found"}"#),
        route(M::PATCH, "/api/orgs/2/users/5", 200, r#"{"message":"Organization user updated"}"#),
        route(M::DELETE, "/api/orgs/2/users/5", 200, r#"{"message":"User removed from organization"}"#),
        route(
            M::GET,
            "/api/orgs/2/users/search",
            200,
            r#"{"totalCount":1,"orgUsers":[{"userId":5,"role":"Editor"}],"page":1,"perPage":10}"#,
        ),
    ])
    .await;
    assert_eq!(c.add_org_user(2, "jane@x.io", "Viewer").await.unwrap(), OrgMembership::Added { user_id: 5 });
    assert_eq!(stub.last().json(), json!({"loginOrEmail":"jane@x.io","role":"Viewer"}));
    assert_eq!(
        c.add_org_user(3, "jane", "Viewer").await.unwrap(),
        OrgMembership::AlreadyMember { user_id: Some(5) }
    );
    assert!(c.add_org_user(4, "ghost", "Viewer").await.unwrap_err().is_not_found());
    c.update_org_user_role(2, 5, "Editor").await.unwrap();
    assert_eq!((stub.last().method, stub.last().json()), (M::PATCH, json!({"role":"Editor"})));
    c.remove_org_user(2, 5).await.unwrap();
    assert_eq!(stub.last().path, "/grafana/api/orgs/2/users/5");
    let page = c.search_org_users(2, "jane doe", 1, 10).await.unwrap();
    assert_eq!(page.org_users[0].role, "Editor");
    assert_eq!(stub.last().query.as_deref(), Some("perpage=10&page=1&query=jane+doe"));
    assert!(stub.requests().iter().all(|r| !r.path.contains("/api/org/")), "never the current-org form");
}

#[tokio::test]
async fn team_calls_carry_the_org_header() {
    use Method as M;
    let (stub, c) = setup(vec![
        route(M::POST, "/api/teams", 200, r#"{"teamId":7,"uid":"ceau","message":"Team created"}"#),
        route(M::GET, "/api/teams/7", 200, r#"{"id":7,"uid":"ceau","orgId":2,"name":"Eng","memberCount":1}"#),
        route(M::GET, "/api/teams/8", 404, r#"{"message":"Team not found","traceID":""}"#),
        route(
            M::GET,
            "/api/teams/search",
            200,
            r#"{"totalCount":1,"teams":[{"id":7,"name":"R&D Team"}],"page":1,"perPage":100}"#,
        ),
        route(M::PUT, "/api/teams/7", 400, r#"{"message":"Team name taken","traceID":""}"#),
        route(M::DELETE, "/api/teams/7", 200, r#"{"message":"Team deleted"}"#),
        route(
            M::GET,
            "/api/teams/7/members",
            200,
            r#"[{"userId":1,"teamId":7,"auth_module":"","permission":4}]"#,
        ),
        route(M::POST, "/api/teams/7/members", 400, r#"{"message":"User is already added to this team"}"#),
        route(M::DELETE, "/api/teams/7/members/5", 200, r#"{"message":"Team Member removed"}"#),
        route(M::PUT, "/api/teams/7/members/5", 200, r#"{"message":"Team member updated"}"#),
        route(M::PUT, "/api/teams/7/members", 200, r#"{"message":"Team memberships have been updated"}"#),
        route(M::GET, "/api/teams/7/groups", 200, r#"[{"orgId":2,"teamId":7,"groupId":"cn=eng"}]"#),
        route(M::GET, "/api/teams/9/groups", 404, r#"{"message":"Team not found"}"#),
    ])
    .await;
    let created = c.create_team(2, "Eng", "").await.unwrap();
    assert_eq!((created.team_id, created.uid.as_deref()), (7, Some("ceau")));
    let r = stub.last();
    assert_eq!((r.header("x-grafana-org-id"), r.json()), (Some("2"), json!({"name":"Eng","email":""})));
    assert_eq!(c.get_team(2, 7).await.unwrap().member_count, 1);
    assert!(c.get_team(2, 8).await.unwrap_err().is_not_found());
    let page = c.search_teams(2, Some("R&D Team"), None, 1, 100).await.unwrap();
    assert_eq!(page.teams[0].name, "R&D Team");
    assert_eq!(stub.last().query.as_deref(), Some("perpage=100&page=1&name=R%26D+Team"));
    assert!(c.update_team(2, 7, "Ops", "o@x.io").await.unwrap_err().is_conflict());
    c.delete_team(2, 7).await.unwrap();
    assert_eq!(c.team_members(2, 7).await.unwrap()[0].permission, TEAM_PERMISSION_ADMIN);
    let dup = c.add_team_member(2, 7, 5).await.unwrap_err();
    assert!(dup.is_conflict());
    assert_eq!(stub.last().json(), json!({"userId":5}));
    c.remove_team_member(2, 7, 5).await.unwrap();
    c.set_team_member_permission(2, 7, 5, 4).await.unwrap();
    assert_eq!(stub.last().json(), json!({"permission":4}));
    c.set_team_members_bulk(2, 7, &["a@x.io".into()], &[]).await.unwrap();
    assert_eq!(stub.last().json(), json!({"members":["a@x.io"],"admins":[]}));
    assert_eq!(c.team_groups(2, 7).await.unwrap().unwrap()[0].group_id, "cn=eng");
    assert_eq!(c.team_groups(2, 10).await.unwrap(), None, "route missing on OSS");
    assert!(c.team_groups(2, 9).await.unwrap_err().is_not_found(), "a missing team is an error");
    assert!(stub.requests().iter().all(|r| r.header("x-grafana-org-id") == Some("2")));
}

#[tokio::test]
async fn settings_and_metadata() {
    use Method as M;
    let mut xml = route(M::GET, "/saml/metadata", 200, "<md:EntityDescriptor entityID=\"x\"/>");
    xml.content_type = "application/xml";
    let (stub, c) = setup(vec![
        route(
            M::GET,
            "/api/health",
            200,
            "{\n  \"commit\": \"abc\",\n  \"database\": \"ok\",\n  \"version\": \"11.2.2+security-01\"\n}",
        ),
        route(
            M::GET,
            "/api/frontend/settings",
            200,
            r#"{"buildInfo":{"version":"11.2.2","edition":"Enterprise"},"samlEnabled":true}"#,
        ),
        route(M::GET, "/api/admin/settings", 200, r#"{"auth.saml":{"enabled":"true"}}"#),
        route(
            M::GET,
            "/api/v1/sso-settings/saml",
            200,
            r#"{"id":"","provider":"saml","source":"system","settings":{"enabled":true}}"#,
        ),
        route(M::GET, "/api/v1/sso-settings", 200, r#"[{"provider":"github","settings":{"enabled":false}}]"#),
        xml,
    ])
    .await;
    let health = c.health().await.unwrap();
    assert_eq!(health.parsed_version(), Some(Version::new(11, 2, 2)));
    assert_eq!(stub.last().header("authorization"), None, "health needs no credential");
    assert!(c.frontend_settings().await.unwrap().saml_enabled);
    assert_eq!(c.admin_settings().await.unwrap().get_bool("auth.saml", "enabled"), Some(true));
    assert!(c.sso_settings("saml").await.unwrap().enabled());
    assert_eq!(c.sso_settings_list().await.unwrap()[0].provider, "github");
    let missing = c.sso_settings("a/b c").await.unwrap_err();
    assert!(missing.is_not_found());
    assert_eq!(stub.last().path, "/grafana/api/v1/sso-settings/a%2Fb%20c");
    assert!(c.saml_metadata().await.unwrap().unwrap().contains("EntityDescriptor"));

    let (_oss, oss) = setup(vec![
        route(M::GET, "/api/health", 503, r#"{"database":"failing"}"#),
        route(M::GET, "/saml/metadata", 404, "<html>page not found</html>"),
    ])
    .await;
    assert_eq!(oss.health().await.unwrap().database, "failing");
    assert_eq!(oss.saml_metadata().await.unwrap(), None);
}

#[tokio::test]
async fn token_identity_sends_the_token_not_the_admin() {
    use Method as M;
    let (stub, c) = setup(vec![
        route(M::GET, "/api/org", 200, r#"{"id":3,"name":"Team Org","address":{}}"#),
        route(
            M::GET,
            "/api/access-control/user/permissions",
            200,
            r#"{"users:read":["global.users:*"],"teams:create":[]}"#,
        ),
        route(M::GET, "/api/user", 200, r#"{"id":9,"login":"sa-scim","orgId":3}"#),
    ])
    .await;
    let id = c.token_identity("glsa_secret_token").await.unwrap();
    assert_eq!((id.org.id, id.user.as_ref().unwrap().login.as_str()), (3, "sa-scim"));
    assert!(id.has_action_on_all("teams:create", "teams") && !id.has_action_on_all("users:create", "users"));
    for r in stub.requests() {
        assert_eq!(r.header("authorization"), Some("Bearer glsa_secret_token"));
    }

    let (_s, denied) = setup(vec![route(
        M::GET,
        "/api/org",
        401,
        r#"{"message":"Invalid API key","messageId":"api-key.invalid","statusCode":401,"traceID":""}"#,
    )])
    .await;
    let e = denied.token_identity("glsa_bad").await.unwrap_err();
    assert!(e.is_unauthorized());
    assert_eq!(e.message_id(), Some("api-key.invalid"));
    assert!(!e.to_string().contains("glsa_bad"));
    assert!(denied.token_identity("bad\ntoken").await.is_err(), "header injection is refused");
}

#[tokio::test]
async fn error_statuses_map_to_predicates_without_credentials() {
    use Method as M;
    let (_stub, c) = setup(vec![
        route(M::POST, "/api/admin/users", 412, r#"{"message":"User with email 'j@x.io' or username 'jane' already exists","traceID":""}"#),
        route(M::POST, "/api/teams", 409, r#"{"message":"Team name taken","traceID":""}"#),
        route(M::GET, "/api/users/1", 500, r#"{"message":"Failed to get user","traceID":""}"#),
        route(M::GET, "/api/users/2", 401, r#"{"message":"Invalid username or password","messageId":"password-auth.failed","statusCode":401}"#),
        route(M::GET, "/api/users/3", 200, "not json"),
    ])
    .await;
    let e = c.create_user("jane", "j@x.io", "", &Secret::new("pw-pw-pw"), None).await.unwrap_err();
    assert!(e.is_conflict());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(412));
    assert!(c.create_team(1, "Eng", "").await.unwrap_err().is_conflict());
    let e = c.get_user(1).await.unwrap_err();
    assert!(e.is_server_error() && !e.is_conflict() && !e.is_not_found());
    let e = c.get_user(2).await.unwrap_err();
    assert!(e.is_unauthorized());
    let shown = format!("{e} {e:?}");
    assert!(!shown.contains(PASSWORD) && !shown.contains(&basic()[6..]), "{shown}");
    assert!(matches!(c.get_user(3).await.unwrap_err(), GrafanaError::Decode { .. }));
    assert!(!format!("{c:?}").contains(PASSWORD));
}

#[tokio::test]
async fn a_silent_grafana_times_out() {
    let stub = Stub::start(vec![]).await;
    let c = client_for(&stub.base(), Duration::from_millis(200));
    let e = c.exchange(client::Call::get(HANG.into())).await.err().unwrap();
    assert!(e.is_timeout(), "{e:?}");
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let c = client_for(&format!("http://{addr}"), Duration::from_secs(10));
    let e = c.health().await.unwrap_err();
    assert!(e.is_transport(), "{e:?}");
}

#[test]
fn base_urls_with_credentials_or_bad_schemes_are_refused() {
    let http = || crate::upstream::build_client(&GrafanaConfig::default()).unwrap();
    let t = Duration::from_secs(1);
    for bad in ["http://u:p@h:3000", "ftp://h", "not a url", "http://h/?x=1"] {
        let e = GrafanaClient::new(bad, "a", Secret::new("secretpw"), http(), t).unwrap_err();
        assert!(!e.to_string().contains("secretpw"));
    }
}

/// A check made on a caller's behalf carries what Grafana may authenticate them by (a JWT
/// header, an auth-proxy header, `?auth_token=`, the org header) but not the caller's framing.
#[tokio::test]
async fn caller_checks_carry_the_callers_credentials_and_query() {
    use Method as M;
    let (stub, c) = setup(vec![
        route(M::GET, "/api/user", 200, r#"{"id":5,"login":"jane"}"#),
        route(M::GET, "/api/teams/ab%20c", 200, r#"{"id":7,"orgId":2,"name":"T"}"#),
    ])
    .await;
    let credentials = [
        ("authorization", "Bearer jwt-token"),
        ("x-jwt-assertion", "jwt"),
        ("x-webauth-user", "jane"),
        ("cookie", "grafana_session=s"),
        ("x-grafana-org-id", "2"),
    ];
    let framing = [
        ("content-length", "17"),
        ("content-type", "application/json"),
        ("connection", "keep-alive"),
        ("host", "sidecar.example"),
    ];
    let mut caller = http::HeaderMap::new();
    for (k, v) in credentials.iter().chain(&framing) {
        caller.insert(*k, http::HeaderValue::from_static(v));
    }
    assert_eq!(c.current_user_as(&caller, Some("auth_token=t")).await.unwrap().id, 5);
    assert_eq!(c.team_as("ab c", &caller, None).await.unwrap().id, 7);
    let reqs = stub.requests();
    assert_eq!(reqs[0].query.as_deref(), Some("auth_token=t"));
    for r in &reqs {
        for (k, v) in credentials {
            assert_eq!(r.header(k), Some(v), "{k}");
        }
        assert_eq!(r.header("content-type"), None);
        assert_eq!(r.header("content-length"), None);
        assert_ne!(r.header("host"), Some("sidecar.example"));
        assert_eq!(r.header("accept"), Some("application/json"));
    }
}

#[test]
fn an_action_counts_over_all_resources_only_unscoped_or_with_a_wildcard() {
    let permissions: super::model::Permissions = serde_json::from_value(json!({
        "teams:create": [],
        "teams:read": [""],
        "org.users:read": ["users:id:5", "users:*"],
        "org.users:write": ["users:id:*"],
        "org.users:add": ["*"],
        "org.users:remove": ["users:id:5"],
        "teams:write": ["teams:uid:*"],
        "teams:delete": ["users:*"],
    }))
    .unwrap();
    let id = super::model::TokenIdentity { user: None, org: Default::default(), permissions };
    for (action, kind) in [
        ("teams:create", "teams"),
        ("teams:read", "teams"),
        ("org.users:read", "users"),
        ("org.users:write", "users"),
        ("org.users:add", "users"),
        ("teams:write", "teams"),
    ] {
        assert!(id.has_action_on_all(action, kind), "{action}");
    }
    assert!(!id.has_action_on_all("org.users:remove", "users"), "scoped to one user");
    assert!(!id.has_action_on_all("teams:delete", "teams"), "a wildcard over other resources");
    assert!(!id.has_action_on_all("users:create", "users"), "absent");
}

#[tokio::test]
async fn a_shadowing_client_sends_no_write_and_notes_each_as_planned() {
    use Method as M;
    let (stub, c) = setup(vec![route(
        M::GET,
        "/api/users/5",
        200,
        r#"{"id":5,"uid":"aeq2","login":"jane","email":"j@x.io","isDisabled":false}"#,
    )])
    .await;
    let c = c.shadowing();
    assert!(c.is_shadow());
    let (out, notes) = crate::audit::notes::collect(async {
        let user = c.create_user("jane", "j@x.io", "Jane", &Secret::new("pw"), Some(1)).await.unwrap();
        let team = c.create_team(2, "Eng", "").await.unwrap();
        c.update_user(5, "jane", "j@x.io", "Jane D").await.unwrap();
        c.disable_user(5).await.unwrap();
        c.delete_user(5).await.unwrap();
        c.update_team(2, 7, "Ops", "").await.unwrap();
        c.delete_team(2, 7).await.unwrap();
        c.add_team_member(2, 7, 5).await.unwrap();
        c.remove_team_member(2, 7, 5).await.unwrap();
        c.set_team_members_bulk(2, 7, &["a@x.io".into()], &[]).await.unwrap();
        c.update_org_user_role(2, 5, "Editor").await.unwrap();
        c.remove_org_user(2, 5).await.unwrap();
        let read = c.get_user(5).await.unwrap();
        (user, team, read)
    })
    .await;
    let (user, team, read) = out;
    assert!(shadow::is_placeholder(user.id), "a planned user gets a placeholder id");
    assert!(shadow::is_placeholder(team.team_id), "a planned team gets a placeholder id");
    assert_eq!(read.login, "jane", "reads still reach Grafana");
    let sent = stub.requests();
    assert_eq!(sent.len(), 1, "only the read reached Grafana");
    assert_eq!(sent[0].method, M::GET);
    assert_eq!(
        notes.grafana_calls.len(),
        12,
        "one note per planned write (reads are noted by counting clients)"
    );
    assert_eq!(notes.grafana_calls[0], "POST /api/admin/users planned");
    assert_eq!(notes.grafana_calls[1], "POST /api/teams planned");
    assert_eq!(notes.grafana_calls[4], "DELETE /api/admin/users/:id planned");
    assert_eq!(notes.grafana_calls[9], "PUT /api/teams/:id/members planned");
    assert!(notes.grafana_calls.iter().all(|c| c.ends_with(" planned")));
}
