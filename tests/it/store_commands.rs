//! `scim-sidecar store backup` and `store copy`, run as the built binary against real SQLite
//! files and the machine's PostgreSQL (a fresh schema per test); what they wrote is read back
//! through the `MappingStore` trait and compared with what the source store returns.

use std::process::{Command, Output};
use std::sync::Arc;

use chrono::Utc;
use scim_sidecar::store::{open, GroupRecord, MappingStore, UserRecord};
use serde_json::json;

use crate::support::pg::Schema;

const BIN: &str = env!("CARGO_BIN_EXE_scim-sidecar");
const EX_USAGE: i32 = 64;

fn sidecar(args: &[&str]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(args).env_remove("RUST_LOG").current_dir(std::env::temp_dir());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("SIDECAR_")) {
        cmd.env_remove(k);
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn user(org: i64, gid: i64, name: &str) -> UserRecord {
    let now = Utc::now();
    UserRecord {
        scim_id: uuid::Uuid::now_v7().to_string(),
        org_id: org,
        grafana_user_id: gid,
        grafana_uid: Some(format!("uid-{gid}")),
        user_name: name.to_owned(),
        external_id: Some(format!("ext-{name}")),
        email: Some(format!("{name}@example.com")),
        active: true,
        deleted: false,
        managed: true,
        attributes: json!({"userName": name, "name": {"givenName": "Ä", "familyName": name}}),
        restore: None,
        created: now,
        last_modified: now,
        version: 1,
    }
}

fn group(org: i64, team: i64, name: &str) -> GroupRecord {
    let now = Utc::now();
    GroupRecord {
        scim_id: uuid::Uuid::now_v7().to_string(),
        org_id: org,
        grafana_team_id: team,
        grafana_team_uid: Some(format!("team-{team}")),
        display_name: name.to_owned(),
        external_id: None,
        deleted: false,
        attributes: json!({"displayName": name, "_managed": true}),
        created: now,
        last_modified: now,
        version: 3,
    }
}

/// A store with users in two orgs (one deactivated, remembering team 7: a pending member; one
/// deleted) and two groups; returns the records as the store reads them back.
async fn seed(store: &Arc<dyn MappingStore>) -> (Vec<UserRecord>, Vec<GroupRecord>) {
    let mut users = vec![user(1, 10, "Alice"), user(1, 11, "bob"), user(2, 10, "alice")];
    users[1].active = false;
    users[1].restore =
        Some(json!({"mode": "disabled", "orgs": [{"org": 1, "role": "Editor", "teams": [7]}]}));
    users[2].deleted = true;
    users[2].managed = false;
    users[2].attributes = serde_json::Value::Null;
    let groups = vec![group(1, 7, "Ops"), group(2, 8, "Dev")];
    for u in &users {
        store.insert_user(u).await.unwrap();
    }
    for g in &groups {
        store.insert_group(g).await.unwrap();
    }
    read_back(store, &users, &groups).await
}

async fn read_back(
    store: &Arc<dyn MappingStore>,
    users: &[UserRecord],
    groups: &[GroupRecord],
) -> (Vec<UserRecord>, Vec<GroupRecord>) {
    let mut u = Vec::new();
    for x in users {
        u.push(store.get_user(x.org_id, &x.scim_id).await.unwrap().expect("user copied"));
    }
    let mut g = Vec::new();
    for x in groups {
        g.push(store.get_group(x.org_id, &x.scim_id).await.unwrap().expect("group copied"));
    }
    (u, g)
}

/// The copy holds exactly the source's records, its derived pending members included.
async fn assert_same(target: &Arc<dyn MappingStore>, users: &[UserRecord], groups: &[GroupRecord]) {
    assert_eq!(read_back(target, users, groups).await, (users.to_vec(), groups.to_vec()));
    let pending = target.pending_team_members(1, 7).await.unwrap();
    assert_eq!(pending.iter().map(|u| u.user_name.as_str()).collect::<Vec<_>>(), ["bob"]);
    assert_eq!(target.count_users(1).await.unwrap(), 2);
    assert_eq!(target.count_users(2).await.unwrap(), 0, "the deleted record stays deleted");
    assert!(target.user_by_user_name(1, "ALICE").await.unwrap().is_some(), "name keys rebuilt");
}

#[tokio::test]
async fn backup_copies_a_live_sqlite_store_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("live.db").display());
    // The store stays open, its latest commits in the write-ahead log, as under a running sidecar.
    let live = open(&url, 2).await.unwrap();
    let (users, groups) = seed(&live).await;
    let dest = dir.path().join("backup.db");
    let out = sidecar(&["--store-url", &url, "store", "backup", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("3 users, 2 groups, 1 pending team memberships"), "{}", text(&out));
    live.insert_user(&user(1, 12, "carol")).await.unwrap();

    let copy = open(&format!("sqlite://{}", dest.display()), 1).await.unwrap();
    assert_same(&copy, &users, &groups).await;
    assert!(copy.user_by_user_name(1, "carol").await.unwrap().is_none(), "a snapshot, not a link");

    let again = sidecar(&["--store-url", &url, "store", "backup", dest.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(EX_USAGE), "an existing file is refused: {}", text(&again));
}

#[tokio::test]
async fn backup_of_postgres_points_to_pg_dump_without_leaking_the_password() {
    let url = "postgres://scim:Sup3rSecretPassw0rd@127.0.0.1:5432/test";
    let out = sidecar(&["--store-url", url, "store", "backup", "/tmp/never-written.db"]);
    assert_eq!(out.status.code(), Some(EX_USAGE), "{}", text(&out));
    assert!(text(&out).contains("pg_dump"), "{}", text(&out));
    assert!(!text(&out).contains("Sup3rSecretPassw0rd"));
}

#[tokio::test]
async fn copy_moves_every_record_from_sqlite_to_postgres_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("source.db").display());
    let source = open(&sqlite, 2).await.unwrap();
    let (users, groups) = seed(&source).await;
    drop(source);

    let schema = Schema::create().await;
    let pg = schema.url().expose().to_owned();
    let out = sidecar(&["store", "copy", "--from", &sqlite, "--to", &pg]);
    assert!(out.status.success(), "{}", text(&out));
    let summary = text(&out);
    assert!(
        summary.contains("copied 3 users, 2 groups, 1 pending team memberships from sqlite to postgres"),
        "{summary}"
    );
    let target = open(&pg, 2).await.unwrap();
    assert_same(&target, &users, &groups).await;

    // A store that holds records is not overwritten unless asked to.
    let again = sidecar(&["store", "copy", "--from", &sqlite, "--to", &pg]);
    assert_eq!(again.status.code(), Some(EX_USAGE), "{}", text(&again));
    assert!(text(&again).contains("--force"), "{}", text(&again));
    target.insert_user(&user(3, 99, "stray")).await.unwrap();
    let forced = sidecar(&["store", "copy", "--from", &sqlite, "--to", &pg, "--force"]);
    assert!(forced.status.success(), "{}", text(&forced));
    assert!(text(&forced).contains("replaced 4 users"), "{}", text(&forced));
    assert!(target.user_by_user_name(3, "stray").await.unwrap().is_none());
    assert_same(&target, &users, &groups).await;

    // And back, into a new SQLite file; the source comes from the configured store URL.
    let back = format!("sqlite://{}", dir.path().join("back.db").display());
    let out = sidecar(&["--store-url", &pg, "store", "copy", "--to", &back]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("from postgres to sqlite"), "{}", text(&out));
    assert_same(&open(&back, 1).await.unwrap(), &users, &groups).await;
}

#[tokio::test]
async fn copy_refuses_a_source_on_another_schema_version_and_the_same_store() {
    let dir = tempfile::tempdir().unwrap();
    let a = format!("sqlite://{}", dir.path().join("a.db").display());
    drop(open(&a, 1).await.unwrap());
    let same = sidecar(&["store", "copy", "--from", &a, "--to", &a]);
    assert_eq!(same.status.code(), Some(EX_USAGE), "{}", text(&same));
    let missing = format!("sqlite://{}", dir.path().join("missing.db").display());
    let b = format!("sqlite://{}", dir.path().join("b.db").display());
    let out = sidecar(&["store", "copy", "--from", &missing, "--to", &b]);
    assert_eq!(out.status.code(), Some(EX_USAGE), "{}", text(&out));
    assert!(!dir.path().join("b.db").exists(), "nothing is created for a failed copy");
}
