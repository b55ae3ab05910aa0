//! Orchestration tests: typed operations against the in-process Grafana emulator and a temporary
//! SQLite store, asserting the outcome and what Grafana holds afterwards.

use grafana_emulator::{Emulator, EmulatorHandle, EmulatorOptions};
use serde_json::{json, Value};

use super::*;
use crate::config::Config;
use crate::scim::patch::PatchRequest;
use crate::scim::projection::Projection;

const BASE: &str = "https://sidecar.example/scim/v2";

/// The emulator, a provisioner in front of it, and the store's directory.
struct Fixture {
    grafana: EmulatorHandle,
    prov: Provisioner,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn start() -> Self {
        let grafana = Emulator::start(EmulatorOptions::default()).await.unwrap();
        let mut config = Config::default();
        config.grafana.url = grafana.url();
        let http = crate::upstream::build_client(&config.grafana).unwrap();
        let password = config.grafana.password.clone().unwrap_or_default();
        let client = crate::grafana::GrafanaClient::new(
            &config.grafana.url,
            &config.grafana.user,
            password,
            http,
            config.grafana.request_timeout,
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("store.db").display());
        let store = crate::store::open(&url, 4).await.unwrap();
        let prov =
            Provisioner::new(client, store, Settings::from_config(&config), crate::metrics::Metrics::new());
        Self { grafana, prov, _dir: dir }
    }

    async fn users(&self, op: Op) -> Result<Outcome, ProvisionError> {
        Users.execute(&self.scope(), &crate::policy::UsersPermit::for_tests(), op).await
    }

    async fn groups(&self, op: Op) -> Result<Outcome, ProvisionError> {
        Groups.execute(&self.scope(), &crate::policy::GroupsPermit::for_tests(), op).await
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            prov: &self.prov,
            org_id: 1,
            principal: Principal::StaticToken,
            base_url: BASE.into(),
            role_writes: crate::policy::RoleWrites::Allowed,
        }
    }

    /// Creates a user and returns its SCIM id.
    async fn create_user(&self, login: &str) -> String {
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": login,
            "displayName": login, "emails": [{"value": login, "primary": true}], "active": true});
        match self.users(Op::Create { body }).await.unwrap() {
            Outcome::Created(shown) => shown.id,
            other => panic!("not created: {other:?}"),
        }
    }

    fn team_member_ids(&self, team: i64) -> Vec<i64> {
        let mut ids: Vec<i64> = self.grafana.team_members(team).into_iter().map(|(u, _)| u).collect();
        ids.sort_unstable();
        ids
    }
}

fn patch(ops: Value) -> PatchRequest {
    PatchRequest::parse(
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
    )
    .unwrap()
}

fn current(outcome: Outcome) -> Shown {
    match outcome {
        Outcome::Current(shown) => shown,
        other => panic!("not a current resource: {other:?}"),
    }
}

#[tokio::test]
async fn a_user_is_created_read_patched_and_deleted() {
    let f = Fixture::start().await;
    let id = f.create_user("jane@example.com").await;
    let gid = f.grafana.user_by_login("jane@example.com").expect("created in grafana").id;

    let got = current(f.users(Op::Get { id: id.clone(), view: Projection::default() }).await.unwrap());
    assert_eq!(got.body["userName"], "jane@example.com");
    assert_eq!(got.body["meta"]["location"], json!(format!("{BASE}/Users/{id}")));

    // A stale version is refused before Grafana is touched.
    let stale = f
        .users(Op::Patch {
            id: id.clone(),
            patch: patch(json!([{"op": "replace", "path": "active", "value": false}])),
            expected: Some("W/\"old\"".into()),
            view: None,
        })
        .await;
    assert!(matches!(stale, Err(ProvisionError::VersionMismatch(_))), "{stale:?}");
    assert!(!f.grafana.user(gid).unwrap().is_disabled);

    let off = f
        .users(Op::Patch {
            id: id.clone(),
            patch: patch(json!([{"op": "replace", "path": "active", "value": false}])),
            expected: Some(got.etag.clone()),
            view: Some(Projection::default()),
        })
        .await
        .unwrap();
    let off = current(off);
    assert_eq!(off.body["active"], false);
    assert_ne!(off.etag, got.etag);
    assert!(f.grafana.user(gid).unwrap().is_disabled, "deactivation disables the grafana user");

    assert_eq!(f.users(Op::Delete { id: id.clone(), expected: None }).await.unwrap(), Outcome::Done);
    let gone = f.users(Op::Get { id, view: Projection::default() }).await;
    assert!(matches!(gone, Err(ProvisionError::NotFound(_))), "{gone:?}");
    assert!(f.grafana.user(gid).is_some(), "on_delete = deactivate keeps the grafana user");
}

#[tokio::test]
async fn a_second_user_with_the_same_user_name_is_a_conflict() {
    let f = Fixture::start().await;
    f.create_user("dup@example.com").await;
    let body = json!({"userName": "DUP@example.com", "emails": [{"value": "dup@example.com"}]});
    let again = f.users(Op::Create { body }).await;
    assert!(matches!(again, Err(ProvisionError::Conflict(_))), "{again:?}");
    assert_eq!(
        f.grafana.users().iter().filter(|u| u.login.eq_ignore_ascii_case("dup@example.com")).count(),
        1
    );
}

#[tokio::test]
async fn a_group_is_created_with_members_and_patched() {
    let f = Fixture::start().await;
    let a = f.create_user("a@example.com").await;
    let b = f.create_user("b@example.com").await;
    let ga = f.grafana.user_by_login("a@example.com").unwrap().id;
    let gb = f.grafana.user_by_login("b@example.com").unwrap().id;

    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops",
        "members": [{"value": a}, {"value": b}]});
    let created = match f.groups(Op::Create { body }).await.unwrap() {
        Outcome::Created(shown) => shown,
        other => panic!("not created: {other:?}"),
    };
    let team = f.grafana.team_by_name(1, "Ops").expect("team created");
    let mut both = vec![ga, gb];
    both.sort_unstable();
    assert_eq!(f.team_member_ids(team.id), both, "exactly the members asked for (the creator removed)");
    assert_eq!(created.body["members"].as_array().map(Vec::len), Some(2));

    // One PATCH renames and removes a member; without a view it shows nothing.
    let ops = json!([
        {"op": "replace", "path": "displayName", "value": "Operations"},
        {"op": "remove", "path": format!("members[value eq \"{b}\"]")}
    ]);
    let done = f
        .groups(Op::Patch {
            id: created.id.clone(),
            patch: patch(ops),
            expected: Some(created.etag.clone()),
            view: None,
        })
        .await
        .unwrap();
    assert_eq!(done, Outcome::Done);
    assert_eq!(f.grafana.team(team.id).unwrap().name, "Operations");
    assert_eq!(f.team_member_ids(team.id), vec![ga]);

    let got =
        current(f.groups(Op::Get { id: created.id.clone(), view: Projection::default() }).await.unwrap());
    assert_eq!(got.body["displayName"], "Operations");
    assert_eq!(got.body["members"][0]["value"], json!(a));

    // The old version no longer matches; a missing member is refused before any write.
    let stale = f
        .groups(Op::Patch {
            id: created.id.clone(),
            patch: patch(json!([{"op": "add", "path": "members", "value": [{"value": b}]}])),
            expected: Some(created.etag),
            view: None,
        })
        .await;
    assert!(matches!(stale, Err(ProvisionError::VersionMismatch(_))), "{stale:?}");
    let unknown = f
        .groups(Op::Patch {
            id: created.id.clone(),
            patch: patch(json!([{"op": "add", "path": "members", "value": [{"value": "no-such-user"}]}])),
            expected: None,
            view: None,
        })
        .await;
    assert!(matches!(unknown, Err(ProvisionError::Invalid(_))), "{unknown:?}");
    assert_eq!(f.team_member_ids(team.id), vec![ga]);

    assert_eq!(f.groups(Op::Delete { id: created.id, expected: None }).await.unwrap(), Outcome::Done);
    assert!(f.grafana.team(team.id).is_none());
}
