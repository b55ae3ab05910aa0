//! `scim-sidecar migrate-team-sync` end to end, on SQLite and PostgreSQL: the binary against the
//! Grafana emulator (Enterprise with Team Sync) beside a running sidecar on the same store. Linked
//! teams give a plan (exit 2, text and JSON); `--apply` marks them and removes their links (exit
//! 0 on the re-run, teams without links untouched), the policy's Team Sync check clears, and an
//! Entra-style group create (externalId = the link's object id) adopts the team: same id, no
//! duplicate team, members set by SCIM. Who may not adopt: a create naming a team nobody
//! migrated, a second create after the claim, another org's token.

use std::time::Duration;

use grafana_emulator::{EmulatorHandle, EmulatorOptions};
use http::{Method, Request};
use serde_json::{json, Value};

use crate::scim_users::user_body;
use crate::support::eventually;
use crate::support::scim::{assert_scim_error, Harness};

const BIN: &str = env!("CARGO_BIN_EXE_scim-sidecar");
const ADMIN_TOKEN: &str = "admin-token-migrate-0123456789";

/// Runs the binary against `h`'s emulator and `store`; (exit code, stdout, stderr).
async fn run(h: &Harness, store: &str, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    // Async: the emulator answers on this test's runtime meanwhile.
    let out = tokio::process::Command::new(BIN)
        .arg("migrate-team-sync")
        .args(args)
        .args(["--grafana-url", &h.grafana.url(), "--store-url", store])
        .env("SIDECAR_GRAFANA_PASSWORD", "admin")
        .env("SIDECAR_SCIM_TOKEN", crate::support::scim::TOKEN)
        .env_remove("SIDECAR_CONFIG")
        .env_remove("RUST_LOG")
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
}

async fn start(store: &str) -> Harness {
    let store = store.to_owned();
    Harness::start_with(EmulatorOptions::default(), move |c| {
        c.store.url = scim_sidecar::config::Secret::new(store);
        c.policy.cache_ttl = Duration::from_millis(200);
        c.admin.token = Some(scim_sidecar::config::Secret::new(ADMIN_TOKEN));
    })
    .await
}

/// `DELETE /api/teams/:id/groups?groupId=` straight to the emulator, as an operator would.
async fn remove_link(h: &Harness, team: i64, group: &str) {
    let req = Request::builder()
        .method(Method::DELETE)
        .uri(format!("{}/api/teams/{team}/groups?groupId={group}", h.grafana.url()))
        .header("authorization", h.grafana.admin_basic_auth())
        .body(scim_sidecar::body::empty())
        .unwrap();
    assert_eq!(h.client.request(req).await.unwrap().status(), 200);
}

async fn audit(h: &Harness, query: &str) -> Vec<Value> {
    let req = Request::builder()
        .uri(format!("{}/audit?{query}", h.sidecar.admin_url))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(scim_sidecar::body::empty())
        .unwrap();
    let res = h.client.request(req).await.unwrap();
    let body = crate::support::client::body_string(res).await;
    body.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn group(name: &str, external_id: Option<&str>, members: &[&str]) -> Value {
    let mut g = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members.iter().map(|m| json!({"value": m})).collect::<Vec<_>>(),
    });
    if let Some(e) = external_id {
        g["externalId"] = json!(e);
    }
    g
}

/// A Grafana user made by hand (SCIM never saw it) in org 1, added to `team`.
fn hand_member(g: &EmulatorHandle, team: i64, login: &str) -> i64 {
    let id = g.create_user(login, &format!("{login}@corp.example"), login);
    g.add_org_user(1, id, "Viewer");
    g.add_external_team_member(team, id);
    id
}

async fn migrate_then_adopt(store: &str) {
    let h = start(store).await;
    let g = &h.grafana;
    let ops = g.create_team(1, "Ops");
    assert!(g.add_team_group(ops, "0f3c-ops-object-id"));
    let carol = hand_member(g, ops, "carol");
    let multi = g.create_team(1, "Multi");
    assert!(g.add_team_group(multi, "grp-a") && g.add_team_group(multi, "grp-b"));
    let plain = g.create_team(1, "Plain");
    let alice = h.post("Users", user_body("alice@corp.example", "alice@corp.example", None)).await;
    assert_eq!(alice.status, 201, "{alice:?}");
    let alice = alice.json()["id"].as_str().unwrap().to_owned();

    // Team Sync in use: SCIM groups are refused (from the sidecar's next policy refresh).
    eventually("the team sync check fails", || async {
        h.post("Groups", group("Ops", Some("0f3c-ops-object-id"), &[&alice])).await.status == 403
    })
    .await;

    // The plan, as text and JSON: exit 2, nothing changed.
    let (code, text, err) = run(&h, store, &[]).await;
    assert_eq!(code, 2, "{text}{err}");
    assert!(text.contains("team \"Ops\"") && text.contains("externalId=\"0f3c-ops-object-id\""), "{text}");
    assert!(text.contains("Team Sync link \"0f3c-ops-object-id\""), "{text}");
    assert!(text.contains("team \"Multi\"") && text.contains("not migrated: 2 Team Sync links"), "{text}");
    assert!(!text.contains("Plain"), "{text}");
    let (code, json_out, err) = run(&h, store, &["--json"]).await;
    assert_eq!(code, 2, "{json_out}{err}");
    let plan: Value = serde_json::from_str(&json_out).unwrap();
    let teams = plan["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 2, "{plan}");
    let ops_step = teams.iter().find(|t| t["team_id"] == ops).unwrap();
    assert_eq!(ops_step["action"], "mark");
    assert_eq!(ops_step["external_id"], "0f3c-ops-object-id");
    assert_eq!(ops_step["links"], json!(["0f3c-ops-object-id"]));
    assert_eq!(teams.iter().find(|t| t["team_id"] == multi).unwrap()["action"], "refuse");
    assert_eq!(g.team_groups(ops), ["0f3c-ops-object-id"], "a plan changes nothing");

    // Apply: Ops is migrated, Multi left (exit 2: still pending), Plain untouched.
    let (code, text, err) = run(&h, store, &["--apply"]).await;
    assert_eq!(code, 2, "{text}{err}");
    assert!(g.team_groups(ops).is_empty());
    assert_eq!(g.team_groups(multi).len(), 2);
    // SCIM groups are still refused (Multi keeps its links): the store shows the mark.
    let records = scim_sidecar::store::open(store, 1).await.unwrap();
    let marked = records.group_by_grafana_id(1, ops).await.unwrap().unwrap();
    assert_eq!(marked.external_id.as_deref(), Some("0f3c-ops-object-id"));
    assert_eq!(marked.display_name, "Ops");
    assert!(scim_sidecar::provision::groups::adopt::is_adoptable(&marked));
    assert!(records.is_managed_grafana_team(ops).await.unwrap(), "the guard protects it now");
    assert!(records.group_by_grafana_id(1, plain).await.unwrap().is_none(), "Plain untouched");
    let marked_id = marked.scim_id;

    // The operator picks Multi's owner; the next run migrates it; then nothing is left.
    remove_link(&h, multi, "grp-b").await;
    let (code, text, err) = run(&h, store, &["--apply"]).await;
    assert_eq!(code, 0, "{text}{err}");
    assert!(g.team_groups(multi).is_empty());
    for args in [&["--apply"][..], &[]] {
        let (code, text, err) = run(&h, store, args).await;
        assert_eq!(code, 0, "{text}{err}");
        assert!(text.contains("nothing to migrate"), "{text}");
    }
    assert_eq!(g.team(plain).unwrap().name, "Plain");

    // Every step was audited by the migration's actor.
    let records = audit(&h, "kind=migration").await;
    let ops_records: Vec<&Value> = records.iter().filter(|r| r["grafana_id"] == ops).collect();
    let ops_ops: Vec<&str> = ops_records.iter().map(|r| r["operation"].as_str().unwrap()).collect();
    assert_eq!(ops_ops, ["unlink", "mark"], "{records:#?}");
    for r in &records {
        assert_eq!(r["actor"]["name"], "migrate-team-sync");
        assert_eq!(r["outcome"], "applied", "{r}");
    }
    assert_eq!(ops_records[0]["changes"][0]["before"], json!(["0f3c-ops-object-id"]));

    // The policy's Team Sync conflict clears at the sidecar's next refresh.
    eventually("the team sync check clears", || async { h.get("Groups?count=1").await.status == 200 }).await;

    // Entra pushes the group: the marked team is adopted, with SCIM's members only.
    let teams_before = g.team_count();
    let adopted = h.post("Groups", group("Ops", Some("0f3c-ops-object-id"), &[&alice])).await;
    assert_eq!(adopted.status, 201, "{adopted:?}");
    assert_eq!(adopted.json()["id"], marked_id.as_str());
    assert_eq!(adopted.json()["members"][0]["value"], alice.as_str(), "{adopted:?}");
    assert_eq!(g.team_count(), teams_before, "no duplicate team");
    let alice_gid = g.user_by_login("alice@corp.example").unwrap().id;
    let members: Vec<i64> = g.team_members(ops).into_iter().map(|(u, _)| u).collect();
    assert_eq!(members, [alice_gid], "the create's members replace the team's (carol {carol} gone)");
    let created = audit(&h, "kind=scim&group=Ops").await;
    assert_eq!(created[0]["operation"], "create");
    assert_eq!(created[0]["scim_id"], marked_id.as_str());

    // Claimed once: the same push again is an ordinary conflict; a team nobody migrated too.
    assert_scim_error(&h.post("Groups", group("Ops", Some("0f3c-ops-object-id"), &[])).await, 409, None);
    assert_scim_error(&h.post("Groups", group("Plain", None, &[])).await, 409, None);
    // Multi, marked with grp-a, is adopted by its name alone (Okta sends no externalId).
    let by_name = h.post("Groups", group("multi", None, &[])).await;
    assert_eq!(by_name.status, 201, "{by_name:?}");
    assert_eq!(by_name.json()["displayName"], "multi");
    assert_eq!(g.team(multi).unwrap().name, "multi", "the team takes the pushed name");
}

#[tokio::test]
async fn linked_teams_are_migrated_and_adopted_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("m.db").display());
    migrate_then_adopt(&store).await;
}

#[tokio::test]
async fn linked_teams_are_migrated_and_adopted_on_postgres() {
    let db = crate::support::pg::Schema::create().await;
    migrate_then_adopt(db.url().expose()).await;
}

/// A marked team is adopted only in its own org: another org's token creating a group with the
/// same externalId and name in its namespace gets a team of its own, and cannot reach org 1.
#[tokio::test]
async fn another_orgs_token_cannot_adopt_a_marked_team() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("m.db").display());
    let s = store.clone();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| {
        c.store.url = scim_sidecar::config::Secret::new(s);
        c.policy.cache_ttl = Duration::from_millis(200);
        c.scim.accept_grafana_tokens = true;
    })
    .await;
    let g = &h.grafana;
    let ops = g.create_team(1, "Ops");
    assert!(g.add_team_group(ops, "oid-ops"));
    let org2 = g.create_org("Second");
    assert!(g.add_org_user(org2, 1, "Admin"));
    let (code, text, err) = run(&h, &store, &["--apply", "--namespace", "default"]).await;
    assert_eq!(code, 0, "{text}{err}");
    let (code, _, err) = run(&h, &store, &["--namespace", "org-x"]).await;
    assert_eq!(code, 64, "{err}");
    let marked = h.get("Groups?filter=displayName%20eq%20%22Ops%22").await;
    let marked_id = marked.json()["Resources"][0]["id"].as_str().unwrap().to_owned();
    eventually("the team sync check clears", || async { h.get("Groups?count=1").await.status == 200 }).await;

    let token = g.create_service_account_token(org2, "Admin");
    let ns2 = "/apis/scim.grafana.app/v0alpha1/namespaces";
    let other = h
        .call_as(
            Method::POST,
            &format!("{ns2}/org-{org2}/Groups"),
            Some(group("Ops", Some("oid-ops"), &[])),
            Some(&token),
        )
        .await;
    assert_eq!(other.status, 201, "{other:?}");
    assert_ne!(other.json()["id"], marked_id.as_str(), "org 2 got a group of its own");
    assert!(g.team_by_name(org2, "Ops").is_some());
    let into_default = h
        .call_as(
            Method::POST,
            &format!("{ns2}/default/Groups"),
            Some(group("Ops", Some("oid-ops"), &[])),
            Some(&token),
        )
        .await;
    assert_eq!(into_default.status, 403, "{into_default:?}");
    // Org 1's team is still waiting for its own IdP.
    let adopted = h.post("Groups", group("Ops", Some("oid-ops"), &[])).await;
    assert_eq!(adopted.status, 201, "{adopted:?}");
    assert_eq!(adopted.json()["id"], marked_id.as_str());
}

/// `--rollback` restores the links of teams the IdP has not claimed and unmarks them.
#[tokio::test]
async fn rollback_restores_the_links_of_unclaimed_teams() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", dir.path().join("m.db").display());
    let h = start(&store).await;
    let g = &h.grafana;
    let ops = g.create_team(1, "Ops");
    let dev = g.create_team(1, "Dev");
    assert!(g.add_team_group(ops, "oid-ops") && g.add_team_group(dev, "oid-dev"));
    let (code, text, err) = run(&h, &store, &["--apply"]).await;
    assert_eq!(code, 0, "{text}{err}");
    eventually("the team sync check clears", || async { h.get("Groups?count=1").await.status == 200 }).await;
    // Dev is claimed by the IdP; Ops is not.
    assert_eq!(h.post("Groups", group("Dev", Some("oid-dev"), &[])).await.status, 201);
    let (code, text, err) = run(&h, &store, &["--rollback"]).await;
    assert_eq!(code, 0, "{text}{err}");
    assert!(text.contains("\"Ops\"") && !text.contains("\"Dev\""), "{text}");
    assert_eq!(g.team_groups(ops), ["oid-ops"]);
    assert!(g.team_groups(dev).is_empty(), "a claimed team is SCIM's now");
    // Unmarked: a create no longer adopts it, and the next plan offers it again.
    let (code, text, _) = run(&h, &store, &["--rollback"]).await;
    assert_eq!(code, 0);
    assert!(text.contains("nothing to roll back"), "{text}");
    let (code, text, _) = run(&h, &store, &[]).await;
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("team \"Ops\""), "{text}");
    assert_eq!(audit(&h, "kind=migration").await[0]["operation"], "rollback");
}
