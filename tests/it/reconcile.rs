//! `scim-sidecar reconcile` end to end: SCIM writes through the real sidecar, drift made directly
//! in the emulator, the binary's plan (exit 2, text and JSON), `--apply` repairing it with one
//! Grafana write per change (the emulator's call log), each audited, and a second run finding
//! nothing; objects SCIM does not manage stay as they were. On SQLite and PostgreSQL.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use grafana_emulator::EmulatorOptions;
use scim_sidecar::audit::AuditQuery;
use scim_sidecar::config::Secret;
use serde_json::{json, Value};

use crate::scim_users::{patch_op, user_body};
use crate::support::scim::Harness;

const BIN: &str = env!("CARGO_BIN_EXE_scim-sidecar");
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The configuration file the command runs with: role sync on (with no role mapped, every
/// managed user's org role is `[scim] default_role`), so that a changed role is drift.
fn role_sync_config() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), "[scim.roles]\nenabled = true\n").unwrap();
    f
}

/// Runs `scim-sidecar reconcile ARGS` against the harness's Grafana and `store` (off the test's
/// runtime thread, which serves the emulator), with role sync on ([`role_sync_config`]).
pub(crate) async fn reconcile(h: &Harness, store: &str, args: &[&str]) -> (i32, String, String) {
    let config = role_sync_config();
    let mut cmd = Command::new(BIN);
    cmd.arg("reconcile")
        .arg("--config")
        .arg(config.path())
        .args(args)
        .args(["--grafana-url", &h.grafana.url(), "--store-url", store])
        .env_remove("RUST_LOG")
        .current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIDECAR_")) {
        cmd.env_remove(k);
    }
    let Output { status, stdout, stderr } =
        tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

async fn user(h: &Harness, name: &str) -> (String, i64) {
    let a = h.post("Users", user_body(name, &format!("{name}@corp.example"), None)).await;
    assert_eq!(a.status, 201, "{a:?}");
    let id = a.json()["id"].as_str().unwrap().to_owned();
    (id, h.grafana.user_by_login(name).unwrap().id)
}

async fn group(h: &Harness, name: &str, members: &[&str]) -> (String, i64) {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    let a = h.post("Groups", json!({"schemas": [GROUP_URN], "displayName": name, "members": members})).await;
    assert_eq!(a.status, 201, "{a:?}");
    (a.json()["id"].as_str().unwrap().to_owned(), h.grafana.team_by_name(1, name).unwrap().id)
}

fn members(h: &Harness, team: i64) -> BTreeSet<i64> {
    h.grafana.team_members(team).into_iter().map(|(u, _)| u).collect()
}

/// The (action, call) pairs of the JSON plan.
fn actions(doc: &Value) -> Vec<(String, String)> {
    doc["namespaces"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|ns| ns["changes"].as_array().unwrap().iter())
        .map(|c| (c["action"].as_str().unwrap().to_owned(), c["call"].as_str().unwrap().to_owned()))
        .collect()
}

async fn drift_is_found_and_repaired(store_url: String) {
    let url = store_url.clone();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| c.store.url = Secret::new(url)).await;
    let g = &h.grafana;
    // SCIM's state: seven users (gina deactivated), three groups.
    let (alice, alice_g) = user(&h, "alice").await;
    let (bob, bob_g) = user(&h, "bob").await;
    let (carol, carol_g) = user(&h, "carol").await;
    let (dave, dave_g) = user(&h, "dave").await;
    let (erin, erin_g) = user(&h, "erin").await;
    let (_frank, frank_g) = user(&h, "frank").await;
    let (gina, gina_g) = user(&h, "gina").await;
    let off = h
        .patch(
            &format!("Users/{gina}"),
            patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await;
    assert_eq!(off.status, 200, "{off:?}");
    assert!(g.user(gina_g).unwrap().is_disabled);
    let (_ops, ops_t) = group(&h, "Ops", &[&alice, &bob]).await;
    let (_dev, dev_t) = group(&h, "Dev", &[&carol, &erin]).await;
    let (_gone, gone_t) = group(&h, "Gone", &[&dave]).await;
    // Objects SCIM does not manage.
    let outsider = g.create_user("outsider", "outsider@corp.example", "Out Sider");
    let hand = g.create_team(1, "Hand Made");
    g.add_team_member(hand, outsider, 0);
    g.add_team_group(hand, "hand-group");
    g.set_disabled(outsider, true);

    let (code, out, err) = reconcile(&h, &store_url, &[]).await;
    assert_eq!(code, 0, "in sync at first:\n{out}\n{err}");
    assert!(out.contains("No changes: Grafana matches SCIM."), "{out}");

    // Drift, made directly in Grafana.
    g.set_disabled(alice_g, true);
    g.with_state(|s| s.users.rename(bob_g, "bob.renamed".into(), "bob@corp.example".into()));
    g.with_state(|s| s.users.rename(carol_g, "carol".into(), "carol.other@corp.example".into()));
    assert!(g.delete_user(dave_g));
    g.remove_org_user(1, erin_g);
    g.add_org_user(1, frank_g, "Editor");
    g.set_disabled(gina_g, false);
    g.with_state(|s| s.teams.update(ops_t, "Ops (renamed)", ""));
    g.with_state(|s| s.teams.delete(gone_t));
    g.with_state(|s| s.teams.remove_member(dev_t, carol_g));
    g.add_team_member(dev_t, outsider, 0);
    g.add_team_group(dev_t, "cn=dev,ou=groups");

    // The plan: exit 2, as JSON.
    let (code, out, err) = reconcile(&h, &store_url, &["--json"]).await;
    assert_eq!(code, 2, "{out}\n{err}");
    let doc: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let want: Vec<(String, String)> = [
        ("enable_user", format!("POST /api/admin/users/{alice_g}/enable")),
        ("update_user", format!("PUT /api/users/{bob_g}")),
        ("update_user", format!("PUT /api/users/{carol_g}")),
        ("create_user", "POST /api/admin/users".to_string()),
        ("add_org_user", "POST /api/orgs/1/users".to_string()),
        ("set_org_role", format!("PATCH /api/orgs/1/users/{frank_g}")),
        ("disable_user", format!("POST /api/admin/users/{gina_g}/disable")),
        ("remove_team_sync_link", format!("DELETE /api/teams/{dev_t}/groups?groupId=cn%3Ddev%2Cou%3Dgroups")),
        ("add_team_member", format!("POST /api/teams/{dev_t}/members")),
        ("add_team_member", format!("POST /api/teams/{dev_t}/members")),
        ("remove_team_member", format!("DELETE /api/teams/{dev_t}/members/{outsider}")),
        ("create_team", "POST /api/teams".to_string()),
        ("add_team_member", format!("POST /api/teams/<new id of {_gone}>/members")),
        ("remove_team_member", format!("DELETE /api/teams/<new id of {_gone}>/members/1")),
        ("rename_team", format!("PUT /api/teams/{ops_t}")),
    ]
    .into_iter()
    .map(|(a, c)| (a.to_string(), c))
    .collect();
    assert_eq!(actions(&doc), want, "{out}");
    assert_eq!(doc["total"], 15);
    assert_eq!(
        doc["counts"],
        json!({"user": 5, "org_membership": 2, "team": 2, "team_member": 5, "team_sync_link": 1})
    );
    let changes = doc["namespaces"][0]["changes"].as_array().unwrap();
    assert_eq!(doc["namespaces"][0]["namespace"], "default");
    assert_eq!(changes[1]["fields"], json!([{"field": "login", "grafana": "bob.renamed", "scim": "bob"}]));
    assert_eq!(
        changes[2]["fields"],
        json!([{"field": "email", "grafana": "carol.other@corp.example", "scim": "carol@corp.example"}])
    );
    assert_eq!(changes[5]["fields"], json!([{"field": "role", "grafana": "Editor", "scim": "Viewer"}]));
    assert_eq!(changes[10]["member"], "outsider");
    assert_eq!(changes[14]["fields"], json!([{"field": "name", "grafana": "Ops (renamed)", "scim": "Ops"}]));
    assert!(changes[3].get("grafana_id").is_none(), "{}", changes[3]);
    assert_eq!(changes[3]["scim_id"], dave.as_str());

    // The same plan as text.
    let (code, text, _) = reconcile(&h, &store_url, &["--namespace", "default"]).await;
    assert_eq!(code, 2, "{text}");
    for line in [
        "namespace default (org 1): 15 change(s)",
        &format!("  ~ user \"bob\" (User {bob}, grafana id {bob_g})"),
        "      login: \"bob.renamed\" -> \"bob\"",
        &format!("      call: PUT /api/users/{bob_g}"),
        &format!("  + user \"dave\" (User {dave})"),
        "      exists: false -> true",
        "  - team_member \"Dev\" member \"outsider\"",
        "      role: \"Editor\" -> \"Viewer\"",
        "Plan: 15 change(s) (user 5, org_membership 2, team 2, team_member 5, team_sync_link 1). Run with --apply to make them.",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // Planning wrote nothing.
    assert!(g.user(alice_g).unwrap().is_disabled);

    // Apply: one Grafana write per change.
    g.reset_calls();
    let (code, out, err) = reconcile(&h, &store_url, &["--apply", "--json"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let applied: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(applied["failed"], 0, "{out}");
    let outcomes: Vec<&str> = applied["namespaces"][0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, vec!["applied"; 15]);
    let writes: Vec<String> = g
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert_eq!(writes.len(), 15, "{writes:#?}");
    for (_, call) in want.iter().filter(|(_, c)| !c.contains("<new id")) {
        let path = call.split('?').next().unwrap();
        assert!(writes.iter().any(|w| w == path), "{call} not made: {writes:#?}");
    }

    // Grafana matches SCIM again.
    assert!(!g.user(alice_g).unwrap().is_disabled);
    assert_eq!(g.user(bob_g).unwrap().login, "bob");
    assert_eq!(g.user(carol_g).unwrap().email, "carol@corp.example");
    let dave_again = g.user_by_login("dave").expect("dave made again");
    assert_ne!(dave_again.id, dave_g);
    assert!(g.org_users(1).contains(&(erin_g, "Viewer".to_string())));
    assert!(g.org_users(1).contains(&(frank_g, "Viewer".to_string())));
    assert!(g.user(gina_g).unwrap().is_disabled, "a deactivated user is never enabled");
    assert_eq!(g.team(ops_t).unwrap().name, "Ops");
    assert_eq!(members(&h, dev_t), BTreeSet::from([carol_g, erin_g]));
    assert!(g.team_groups(dev_t).is_empty());
    let gone_again = g.team_by_name(1, "Gone").expect("team made again");
    assert_eq!(members(&h, gone_again.id), BTreeSet::from([dave_again.id]));
    // Unmanaged objects untouched.
    assert!(g.user(outsider).unwrap().is_disabled);
    assert_eq!(members(&h, hand), BTreeSet::from([outsider]));
    assert_eq!(g.team_groups(hand), vec!["hand-group".to_string()]);

    // Every change audited, actor `reconcile`.
    let store = scim_sidecar::store::open(&store_url, 1).await.unwrap();
    let mut q = AuditQuery::default();
    q.set("kind", "reconcile", chrono::Utc::now()).unwrap();
    let records = store.query_audit(&q).await.unwrap();
    assert_eq!(records.len(), 15, "{records:#?}");
    assert!(records.iter().all(|r| r.actor.name == "reconcile" && r.outcome.label() == "applied"));
    let bob_rec =
        records.iter().find(|r| r.operation == "update_user" && r.scim_id.as_deref() == Some(&bob)).unwrap();
    assert_eq!(bob_rec.changes[0].field, "login");
    assert_eq!(bob_rec.changes[0].before, json!("bob.renamed"));
    assert_eq!(bob_rec.grafana_calls.len(), 1, "{bob_rec:?}");
    let dave_rec = store.get_user(1, &dave).await.unwrap().unwrap();
    assert_eq!(dave_rec.grafana_user_id, dave_again.id);

    // A second run finds nothing.
    g.reset_calls();
    let (code, out, err) = reconcile(&h, &store_url, &[]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("No changes"), "{out}");
    assert!(g.calls().iter().all(|c| c.method == "GET"), "a check only reads");
    // The IdP's view holds: the group shows its members again.
    let shown = h.get(&format!("Groups/{_dev}")).await;
    let ids: BTreeSet<&str> =
        shown.json()["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(ids, BTreeSet::from([carol.as_str(), erin.as_str()]));
}

#[tokio::test]
async fn drift_is_found_and_repaired_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    drift_is_found_and_repaired(format!("sqlite://{}", dir.path().join("map.db").display())).await;
}

#[tokio::test]
async fn drift_is_found_and_repaired_on_postgres() {
    let schema = crate::support::pg::Schema::create().await;
    drift_is_found_and_repaired(schema.url().expose().to_string()).await;
}

#[tokio::test]
async fn bad_namespace_is_an_error_and_nothing_is_read() {
    let h = Harness::start().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("map.db").display());
    h.grafana.reset_calls();
    let (code, out, err) = reconcile(&h, &url, &["--namespace", "org-x"]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(err.contains("not a namespace"), "{err}");
    assert_eq!(h.grafana.call_count(), 0);
}

/// `[reconcile] interval`: `serve` checks at start (then every interval) and exports the pending
/// changes per kind; it never applies them.
#[tokio::test]
async fn serve_exports_the_drift_it_sees_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("map.db").display());
    let u = url.clone();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| c.store.url = Secret::new(u)).await;
    let (alice, alice_g) = user(&h, "alice").await;
    let (_bob, bob_g) = user(&h, "bob").await;
    let (_ops, ops_t) = group(&h, "Ops", &[&alice]).await;
    h.grafana.set_disabled(alice_g, true);
    h.grafana.add_org_user(1, bob_g, "Admin");
    h.grafana.add_team_member(ops_t, bob_g, 0);
    h.grafana.reset_calls();

    let mut config = crate::support::scim::sidecar_config(&h.grafana);
    config.store.url = Secret::new(url);
    config.reconcile.interval = std::time::Duration::from_secs(3600);
    config.scim.roles.enabled = true;
    let watcher = h.replica(config).await;
    let metrics_url = format!("{}/metrics", watcher.admin_url);
    let client = crate::support::client::http1();
    let want = [
        "scim_sidecar_drift_objects{kind=\"user\"} 1",
        "scim_sidecar_drift_objects{kind=\"org_membership\"} 1",
        "scim_sidecar_drift_objects{kind=\"team\"} 0",
        "scim_sidecar_drift_objects{kind=\"team_member\"} 1",
        "scim_sidecar_drift_objects{kind=\"team_sync_link\"} 0",
    ];
    crate::support::eventually("the drift gauges are exported", || async {
        let text =
            crate::support::client::body_string(crate::support::client::get(&client, &metrics_url).await)
                .await;
        want.iter().all(|line| text.contains(line))
    })
    .await;
    assert!(h.grafana.calls().iter().all(|c| c.method == "GET"), "the check only reads");
    assert!(h.grafana.user(alice_g).unwrap().is_disabled);
    watcher.stop().await;
}

/// A change Grafana refuses fails alone: the others are applied, the run exits 1 with the failure
/// in the plan and the audit log, and the next run makes what is left.
#[tokio::test]
async fn a_failed_change_is_reported_and_the_next_run_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("map.db").display());
    let u = url.clone();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| c.store.url = Secret::new(u)).await;
    let (_alice, alice_g) = user(&h, "alice").await;
    let (bob, bob_g) = user(&h, "bob").await;
    h.grafana.set_disabled(alice_g, true);
    h.grafana.set_disabled(bob_g, true);
    h.grafana.fail_next("POST", &format!("/api/admin/users/{bob_g}/enable"), 500, 1);

    let (code, out, err) = reconcile(&h, &url, &["--apply", "--json"]).await;
    assert_eq!(code, 1, "{out}\n{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!((doc["total"].as_u64(), doc["failed"].as_u64()), (Some(2), Some(1)), "{out}");
    let changes = doc["namespaces"][0]["changes"].as_array().unwrap();
    assert_eq!(changes[0]["outcome"], "applied");
    assert_eq!(changes[1]["outcome"], "failed");
    assert!(changes[1]["error"].as_str().unwrap().starts_with("grafana:"), "{out}");
    assert!(!h.grafana.user(alice_g).unwrap().is_disabled);
    assert!(h.grafana.user(bob_g).unwrap().is_disabled);
    let store = scim_sidecar::store::open(&url, 1).await.unwrap();
    let mut q = AuditQuery::default();
    q.set("kind", "reconcile", chrono::Utc::now()).unwrap();
    let records = store.query_audit(&q).await.unwrap();
    let failed: Vec<_> = records.iter().filter(|r| r.outcome.label() == "failed").collect();
    assert_eq!(failed.len(), 1, "{records:#?}");
    assert_eq!(failed[0].scim_id.as_deref(), Some(bob.as_str()));
    assert!(failed[0].reason.as_deref().is_some_and(|r| r.starts_with("grafana:")), "{failed:?}");

    let (code, text, err) = reconcile(&h, &url, &["--apply"]).await;
    assert_eq!(code, 0, "{text}\n{err}");
    assert!(text.contains("Applied 1 of 1 change(s)"), "{text}");
    assert!(!h.grafana.user(bob_g).unwrap().is_disabled);
    assert_eq!(reconcile(&h, &url, &[]).await.0, 0);
}

/// The desired members follow every group write (create, PATCH add and remove, PUT), so a group
/// the IdP kept up to date is in sync, and hand edits of its team are drift.
#[tokio::test]
async fn desired_members_follow_the_idps_group_writes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("map.db").display());
    let u = url.clone();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| c.store.url = Secret::new(u)).await;
    let (alice, alice_g) = user(&h, "alice").await;
    let (bob, bob_g) = user(&h, "bob").await;
    let (carol, carol_g) = user(&h, "carol").await;
    let (ops, ops_t) = group(&h, "Ops", &[&alice]).await;
    let ops_path = format!("Groups/{ops}");
    let add = patch_op(json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]));
    assert_eq!(h.patch(&ops_path, add).await.status, 204);
    let remove = patch_op(json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]));
    assert_eq!(h.patch(&ops_path, remove).await.status, 204);
    assert_eq!(members(&h, ops_t), BTreeSet::from([bob_g]));
    assert_eq!(reconcile(&h, &url, &[]).await.0, 0, "in sync after PATCHes");
    let put = json!({"schemas": [GROUP_URN], "displayName": "Ops", "members": [{"value": carol}, {"value": alice}]});
    assert_eq!(h.put(&ops_path, put).await.status, 200);
    assert_eq!(members(&h, ops_t), BTreeSet::from([alice_g, carol_g]));
    let (code, out, err) = reconcile(&h, &url, &[]).await;
    assert_eq!(code, 0, "in sync after PUT:\n{out}\n{err}");

    // A hand edit is drift against the last write.
    h.grafana.add_team_member(ops_t, bob_g, 0);
    let (code, out, _) = reconcile(&h, &url, &["--json"]).await;
    assert_eq!(code, 2, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        actions(&doc),
        vec![("remove_team_member".to_string(), format!("DELETE /api/teams/{ops_t}/members/{bob_g}"))]
    );
    // SCIM output never shows the kept member list.
    let shown = h.get(&ops_path).await;
    assert!(shown.json().get("_members").is_none(), "{:?}", shown.json());
    assert!(!shown.json().to_string().contains("_members"));
}

/// Every namespace is compared on its own: `--namespace` picks one, the default takes each org the
/// store holds SCIM records of, and calls name the namespace's org.
#[tokio::test]
async fn namespaces_are_reconciled_each_in_its_org() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("map.db").display());
    let u = url.clone();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| c.store.url = Secret::new(u)).await;
    let org2 = h.grafana.create_org("Second");
    let admin = h.grafana.user_by_login("admin").unwrap().id;
    assert!(h.grafana.add_org_user(org2, admin, "Admin"));
    let base = format!("/apis/scim.grafana.app/v0alpha1/namespaces/org-{org2}");
    let a = h.post(&format!("{base}/Users"), user_body("zed", "zed@corp.example", None)).await;
    assert_eq!(a.status, 201, "{a:?}");
    let zed = a.json()["id"].as_str().unwrap().to_owned();
    let zed_g = h.grafana.user_by_login("zed").unwrap().id;
    let body = json!({"schemas": [GROUP_URN], "displayName": "Ops2", "members": [{"value": zed}]});
    assert_eq!(h.post(&format!("{base}/Groups"), body).await.status, 201);
    let team = h.grafana.team_by_name(org2, "Ops2").unwrap().id;
    let (_amy, amy_g) = user(&h, "amy").await;
    assert_eq!(reconcile(&h, &url, &[]).await.0, 0);

    h.grafana.add_org_user(org2, zed_g, "Editor");
    h.grafana.with_state(|s| s.teams.update(team, "Ops2 by hand", ""));
    h.grafana.set_disabled(amy_g, true);
    let ns = format!("org-{org2}");
    let (code, out, _) = reconcile(&h, &url, &["--namespace", &ns, "--json"]).await;
    assert_eq!(code, 2, "{out}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["namespaces"].as_array().unwrap().len(), 1);
    assert_eq!(doc["namespaces"][0]["namespace"], ns.as_str());
    assert_eq!(doc["namespaces"][0]["org_id"], org2);
    assert_eq!(
        actions(&doc),
        vec![
            ("set_org_role".to_string(), format!("PATCH /api/orgs/{org2}/users/{zed_g}")),
            ("rename_team".to_string(), format!("PUT /api/teams/{team}")),
        ]
    );
    let (code, out, _) = reconcile(&h, &url, &["--json"]).await;
    assert_eq!(code, 2);
    let all: Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> =
        all["namespaces"].as_array().unwrap().iter().map(|n| n["namespace"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["default", ns.as_str()]);
    assert_eq!(all["total"], 3);

    let (code, out, err) = reconcile(&h, &url, &["--namespace", &ns, "--apply"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(h.grafana.org_users(org2).contains(&(zed_g, "Viewer".to_string())));
    assert_eq!(h.grafana.team(team).unwrap().name, "Ops2");
    assert!(h.grafana.user(amy_g).unwrap().is_disabled, "another namespace is left alone");
    assert_eq!(reconcile(&h, &url, &["--namespace", &ns]).await.0, 0);
    assert_eq!(reconcile(&h, &url, &[]).await.0, 2);
}
