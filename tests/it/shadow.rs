//! Shadow mode end to end (`[scim] mode = "shadow"`): an Entra-style first sync through the real
//! sidecar makes no Grafana write, answers the IdP as enforce mode does for the same script, shows
//! the shadow state on reads, and audits every write as `planned` with the calls it would make;
//! then `reconcile --apply` (enforce) makes the emulator match with one call per change, and a
//! second run finds nothing. On SQLite and PostgreSQL.

use std::collections::{BTreeMap, BTreeSet};

use grafana_emulator::EmulatorOptions;
use http::{Method, Request};
use http_body_util::BodyExt;
use scim_sidecar::config::{ScimMode, Secret};
use serde_json::{json, Value};

use crate::reconcile::reconcile;
use crate::scim_users::{patch_op, user_body};
use crate::support::scim::{Answer, Harness};

const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ADMIN_TOKEN: &str = "admin-token-shadow-0123456789";

async fn start(store_url: &str, mode: ScimMode) -> Harness {
    let url = store_url.to_string();
    let h = Harness::start_with(EmulatorOptions::default(), move |c| {
        c.store.url = Secret::new(url);
        c.scim.mode = mode;
        c.admin.token = Some(Secret::new(ADMIN_TOKEN));
    })
    .await;
    // A person Grafana already has: the sync adopts her.
    h.grafana.create_user("erin", "erin@corp.example", "Erin Before");
    // A team SCIM does not manage, listed between the groups the sync makes.
    h.grafana.create_team(1, "Maintenance");
    h
}

/// An answer as the IdP sees it, minus what differs between runs: `meta`, SCIM ids (member
/// values and `$ref`s, which name users by id) and the `Location` header.
fn seen(a: &Answer) -> (u16, Value) {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["meta", "id", "value", "$ref"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut body = a.body.clone().unwrap_or(Value::Null);
    strip(&mut body);
    (a.status, body)
}

/// `seen` with each SCIM id the run made (in error details) replaced by its name.
fn relabel(seen: &(u16, Value), ids: &BTreeMap<&'static str, String>) -> (u16, Value) {
    let mut text = seen.1.to_string();
    for (name, id) in ids {
        text = text.replace(id.as_str(), &format!("<{name}>"));
    }
    (seen.0, serde_json::from_str(&text).unwrap())
}

fn group_body(name: &str, members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": [GROUP_URN], "displayName": name, "externalId": format!("obj-{name}"), "members": members})
}

/// The Entra-style script: every answer (normalized by [`seen`]), and the SCIM ids it made.
async fn first_sync(h: &Harness) -> (Vec<(String, (u16, Value))>, BTreeMap<&'static str, String>) {
    let mut out = Vec::new();
    let mut ids = BTreeMap::new();
    let mut note = |step: &str, a: &Answer| out.push((step.to_string(), seen(a)));
    for (name, ext) in
        [("alice", Some("ext-alice")), ("bob", None), ("carol", Some("ext-carol")), ("dave", None)]
    {
        let a = h.post("Users", user_body(name, &format!("{name}@corp.example"), ext)).await;
        note(&format!("create {name}"), &a);
        assert_eq!(a.status, 201, "{a:?}");
        ids.insert(name, a.json()["id"].as_str().unwrap().to_string());
    }
    // A Grafana user adopted, then renamed: in shadow mode Grafana keeps her as she was.
    let a = h.post("Users", user_body("erin", "erin@corp.example", Some("ext-erin"))).await;
    note("adopt erin", &a);
    ids.insert("erin", a.json()["id"].as_str().unwrap().to_string());
    let a = h
        .patch(
            &format!("Users/{}", ids["erin"]),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Erin After"}])),
        )
        .await;
    note("rename erin", &a);
    // A second create of a userName is refused as in enforce mode.
    note("duplicate", &h.post("Users", user_body("alice", "alice@corp.example", None)).await);
    let alice = ids["alice"].clone();
    let a = h
        .patch(
            &format!("Users/{alice}"),
            patch_op(json!([
                {"op": "replace", "path": "displayName", "value": "Alice Liddell"},
                {"op": "replace", "path": "name.familyName", "value": "Liddell"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "alice.l@corp.example"}
            ])),
        )
        .await;
    note("rename alice", &a);
    let bob = ids["bob"].clone();
    note(
        "deactivate bob",
        &h.patch(
            &format!("Users/{bob}"),
            patch_op(json!([{"op": "replace", "path": "active", "value": false}])),
        )
        .await,
    );
    note("delete dave", &h.delete(&format!("Users/{}", ids["dave"])).await);
    let carol = ids["carol"].clone();
    let a = h.post("Groups", group_body("Ops", &[&alice, &bob])).await;
    note("create Ops", &a);
    ids.insert("Ops", a.json()["id"].as_str().unwrap().to_string());
    let a = h.post("Groups", group_body("Dev", &[&carol])).await;
    note("create Dev", &a);
    ids.insert("Dev", a.json()["id"].as_str().unwrap().to_string());
    let (ops, dev) = (ids["Ops"].clone(), ids["Dev"].clone());
    note(
        "Ops members",
        &h.patch(
            &format!("Groups/{ops}"),
            patch_op(json!([
                {"op": "add", "path": "members", "value": [{"value": carol}]},
                {"op": "remove", "path": format!("members[value eq \"{bob}\"]")}
            ])),
        )
        .await,
    );
    note(
        "rename Dev",
        &h.patch(
            &format!("Groups/{dev}"),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Developers"}])),
        )
        .await,
    );
    // Reads of the state the writes left.
    note("get alice", &h.get(&format!("Users/{alice}")).await);
    note("get erin", &h.get(&format!("Users/{}", ids["erin"])).await);
    note("get bob", &h.get(&format!("Users/{bob}")).await);
    note("get dave", &h.get(&format!("Users/{}", ids["dave"])).await);
    note("filter userName", &h.get("Users?filter=userName%20eq%20%22carol%22").await);
    note("filter externalId", &h.get("Users?filter=externalId%20eq%20%22ext-alice%22").await);
    note("filter email", &h.get("Users?filter=emails.value%20eq%20%22alice.l%40corp.example%22").await);
    note("filter active", &h.get("Users?filter=active%20eq%20false").await);
    note("filter scan", &h.get("Users?filter=userName%20sw%20%22%22").await);
    note("list users", &h.get("Users").await);
    note("list users page 2", &h.get("Users?startIndex=2&count=2").await);
    note("get Ops", &h.get(&format!("Groups/{ops}")).await);
    note("get Dev", &h.get(&format!("Groups/{dev}")).await);
    note("filter Developers", &h.get("Groups?filter=displayName%20eq%20%22Developers%22").await);
    note("filter Dev (old name)", &h.get("Groups?filter=displayName%20eq%20%22Dev%22").await);
    note("filter group externalId", &h.get("Groups?filter=externalId%20eq%20%22obj-Ops%22").await);
    note("list groups", &h.get("Groups").await);
    note("list groups lean", &h.get("Groups?excludedAttributes=members").await);
    note("list groups page 2", &h.get("Groups?startIndex=2&count=1").await);
    note("filter groups scan", &h.get("Groups?filter=displayName%20sw%20%22%22").await);
    (out, ids)
}

/// `GET /audit?query` on the admin listener (which flushes the audit writer first).
async fn audit(h: &Harness, query: &str) -> Vec<Value> {
    let req = Request::builder()
        .method(Method::GET)
        .uri(format!("{}/audit?{query}", h.sidecar.admin_url))
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"));
    let res = h.client.request(req.body(scim_sidecar::body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), 200);
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&bytes).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn members(h: &Harness, team: i64) -> BTreeSet<String> {
    let g = &h.grafana;
    h.grafana.team_members(team).into_iter().map(|(u, _)| g.user(u).unwrap().login).collect()
}

/// A user as Grafana holds it: (login, email, name, disabled).
type GrafanaUser = (String, String, String, bool);
/// A team and its members' logins.
type GrafanaTeam = (String, BTreeSet<String>);

/// Grafana's users (but the admin) as (login, email, name, disabled), and the two teams'
/// members by login.
fn grafana_state(h: &Harness, users: &[&str]) -> (Vec<GrafanaUser>, Vec<GrafanaTeam>) {
    let g = &h.grafana;
    let users = users
        .iter()
        .filter_map(|l| g.user_by_login(l))
        .map(|u| (u.login, u.email, u.name, u.is_disabled))
        .collect();
    let teams = ["Ops", "Developers", "Dev"]
        .iter()
        .filter_map(|n| g.team_by_name(1, n))
        .map(|t| (t.name.clone(), members(h, t.id)))
        .collect();
    (users, teams)
}

async fn shadow_sync_then_reconcile(shadow_store: String, enforce_store: String) {
    // The same script in enforce mode: what the IdP must see, and what Grafana must end up as.
    let enforce = start(&enforce_store, ScimMode::Enforce).await;
    let (want, want_ids) = first_sync(&enforce).await;
    let live = ["alice", "bob", "carol", "erin"];
    let want_state = grafana_state(&enforce, &live);

    let h = start(&shadow_store, ScimMode::Shadow).await;
    let g = &h.grafana;
    let before = g.users().len();
    let erin_before = g.user_by_login("erin").unwrap();
    g.reset_calls();
    let (got, ids) = first_sync(&h).await;
    for ((step, w), (_, s)) in want.iter().zip(&got) {
        assert_eq!(
            relabel(s, &ids),
            relabel(w, &want_ids),
            "{step}: shadow answered differently from enforce"
        );
    }
    assert_eq!(got.len(), want.len());
    // The compared reads did read something.
    let step = |name: &str| &got.iter().find(|(s, _)| s == name).unwrap().1;
    for (name, total) in
        [("list users", 5), ("filter scan", 5), ("list groups", 3), ("filter groups scan", 3)]
    {
        assert_eq!(step(name).0, 200, "{name}");
        assert_eq!(step(name).1["totalResults"], total, "{name}: {:?}", step(name));
    }
    assert_eq!(step("list users page 2").1["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(step("filter Developers").1["totalResults"], 1);
    assert_eq!(step("filter Dev (old name)").1["totalResults"], 0);
    assert_eq!(step("get dave").0, 404);
    let writes: Vec<String> = g
        .calls()
        .into_iter()
        .filter(|c| c.method != "GET")
        .map(|c| format!("{} {}", c.method, c.path))
        .collect();
    assert!(writes.is_empty(), "shadow mode wrote to Grafana: {writes:#?}");
    assert_eq!(g.users().len(), before, "no user was made");
    let erin_now = g.user_by_login("erin").unwrap();
    assert_eq!(
        (erin_now.name.as_str(), erin_now.id),
        ("Erin Before", erin_before.id),
        "an adopted user is untouched"
    );
    assert_eq!(h.get(&format!("Users/{}", ids["erin"])).await.json()["displayName"], "Erin After");
    assert!(g.team_by_name(1, "Ops").is_none() && g.team_by_name(1, "Dev").is_none());
    // The shadow state is what reads show (beyond the answers compared above).
    let shown = h.get(&format!("Groups/{}", ids["Ops"])).await;
    let member_ids: BTreeSet<&str> =
        shown.json()["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    assert_eq!(member_ids, BTreeSet::from([ids["alice"].as_str(), ids["carol"].as_str()]));
    assert_eq!(h.get(&format!("Users/{}", ids["bob"])).await.json()["active"], false);

    // `/readyz` says so (ready all the same).
    let req = Request::builder().method(Method::GET).uri(format!("{}/readyz", h.sidecar.admin_url));
    let res = h.client.request(req.body(scim_sidecar::body::empty()).unwrap()).await.unwrap();
    assert_eq!(res.status(), 200);
    let ready: Value = serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(ready["scim_mode"], "shadow", "{ready}");

    // One `planned` record per write, naming the calls it would have made.
    let records = audit(&h, "kind=scim").await;
    let planned: Vec<&Value> = records.iter().filter(|r| r["outcome"] == "planned").collect();
    // Four user creates, an adoption and its rename, a rename, a deactivation, a delete, two
    // group creates, two group PATCHes.
    assert_eq!(planned.len(), 13, "{records:#?}");
    // The duplicate create, refused by the store as in enforce mode, is the one other record.
    assert_eq!(records.len(), 14, "{records:#?}");
    let erin = planned.iter().find(|r| r["operation"] == "patch" && r["user_name"] == "erin").unwrap();
    assert_eq!(erin["grafana_id"], json!(erin_before.id), "{erin}");
    assert!(
        erin["grafana_calls"].as_array().unwrap().contains(&json!("PUT /api/users/:id planned")),
        "{erin}"
    );
    assert!(records.iter().any(|r| r["outcome"] == "failed" && r["operation"] == "create"), "{records:#?}");
    for r in &planned {
        let calls = r["grafana_calls"].as_array().unwrap();
        assert!(!calls.is_empty(), "{r}");
        assert!(
            calls.iter().filter_map(Value::as_str).any(|c| c.ends_with(" planned")),
            "a planned record names its would-be calls: {r}"
        );
        assert!(
            calls.iter().filter_map(Value::as_str).all(|c| c.starts_with("GET ") || c.ends_with(" planned")),
            "{r}"
        );
    }
    let create_alice = planned
        .iter()
        .find(|r| r["operation"] == "create" && r["user_name"] == "alice")
        .unwrap_or_else(|| panic!("{records:#?}"));
    assert!(create_alice["grafana_calls"]
        .as_array()
        .unwrap()
        .contains(&json!("POST /api/admin/users planned")));
    let deactivate = planned.iter().find(|r| r["scim_id"] == ids["bob"].as_str()).unwrap();
    assert!(
        deactivate["grafana_calls"]
            .as_array()
            .unwrap()
            .contains(&json!("POST /api/admin/users/:id/disable planned")),
        "{deactivate}"
    );
    let ops = planned.iter().find(|r| r["operation"] == "create" && r["group_name"] == "Ops").unwrap();
    assert!(ops["grafana_calls"].as_array().unwrap().contains(&json!("POST /api/teams planned")), "{ops}");
    assert!(
        ops["grafana_calls"].as_array().unwrap().contains(&json!("PUT /api/teams/:id/members planned")),
        "{ops}"
    );
    assert!(ops["grafana_id"].as_i64().unwrap() < 0, "a planned team has a placeholder id: {ops}");
    let rename = planned.iter().find(|r| r["group_name"] == "Developers").unwrap();
    assert_eq!(rename["changes"], json!([{"field": "displayName", "before": "Dev", "after": "Developers"}]));
    assert!(rename["grafana_calls"].as_array().unwrap().contains(&json!("PUT /api/teams/:id planned")));

    // `--apply` is refused while the configuration still says shadow (nothing is written).
    g.reset_calls();
    let (code, err) = apply_in_shadow(&h, &shadow_store).await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("mode is \"shadow\""), "{err}");
    assert_eq!(g.calls().iter().filter(|c| c.method != "GET").count(), 0);

    // The plan, then enforce mode's `reconcile --apply`: one Grafana write per change.
    let (code, out, err) = reconcile(&h, &shadow_store, &["--json"]).await;
    assert_eq!(code, 2, "{out}\n{err}");
    let plan: Value = serde_json::from_str(&out).unwrap();
    let total = plan["total"].as_u64().unwrap();
    g.reset_calls();
    let (code, out, err) = reconcile(&h, &shadow_store, &["--apply", "--json"]).await;
    assert_eq!(code, 0, "{out}\n{err}");
    let applied: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(applied["failed"], 0, "{out}");
    let writes = g.calls().into_iter().filter(|c| c.method != "GET").count();
    assert_eq!(writes as u64, total, "one call per change: {out}");
    // Grafana now holds what enforce mode would have made of the same sync.
    assert_eq!(grafana_state(&h, &live), want_state);
    assert!(g.user_by_login("dave").is_none(), "a user SCIM deleted is not made");
    let (code, out, err) = reconcile(&h, &shadow_store, &[]).await;
    assert_eq!(code, 0, "a second run finds nothing:\n{out}\n{err}");
}

/// `scim-sidecar reconcile --apply` with `[scim] mode = "shadow"` in its configuration: (exit
/// code, stderr).
async fn apply_in_shadow(h: &Harness, store: &str) -> (i32, String) {
    let config = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(config.path(), "[scim]\nmode = \"shadow\"\n").unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_scim-sidecar"));
    cmd.arg("reconcile")
        .arg("--config")
        .arg(config.path())
        .args(["--apply", "--grafana-url", &h.grafana.url(), "--store-url", store])
        .env_remove("RUST_LOG")
        .current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIDECAR_")) {
        cmd.env_remove(k);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn shadow_sync_then_reconcile_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = |n: &str| format!("sqlite://{}", dir.path().join(n).display());
    shadow_sync_then_reconcile(url("shadow.db"), url("enforce.db")).await;
}

#[tokio::test]
async fn shadow_sync_then_reconcile_on_postgres() {
    let shadow = crate::support::pg::Schema::create().await;
    let enforce = crate::support::pg::Schema::create().await;
    shadow_sync_then_reconcile(shadow.url().expose().to_string(), enforce.url().expose().to_string()).await;
}
