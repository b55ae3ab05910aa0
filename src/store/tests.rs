//! One behaviour suite run against a SQLite file in a tempdir and the real PostgreSQL
//! (`postgres://postgres@127.0.0.1:5432/test`, one fresh schema per test).

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::migrations::LATEST;
use super::*;

mod audit;
mod external_ids;
mod locks;

use self::audit::audit_records_filter_newest_first_and_prune;
use self::external_ids::{
    an_external_id_belongs_to_one_grafana_user, create_lookups_answer_both_lookups_at_once,
    external_id_holders_any_org_fold_ascii_case, racing_holders_of_one_external_id_one_wins,
};

use self::locks::{
    lock_cancelled_waiter_leaves_no_holder, lock_is_exclusive, lock_second_holder_other_instance,
    lock_second_holder_same_store, rw_lock_exclusive_waits_for_shared_across_instances,
};

const PG_BASE: &str = "postgres://postgres@127.0.0.1:5432/test";

struct Harness {
    store: Arc<dyn MappingStore>,
    url: String,
    kind: Kind,
}

enum Kind {
    Sqlite { path: String, _dir: tempfile::TempDir },
    Postgres { schema: String },
}

impl Harness {
    async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db").to_str().unwrap().to_owned();
        let url = format!("sqlite://{path}");
        let store = open(&url, 4).await.unwrap();
        Self { store, url, kind: Kind::Sqlite { path, _dir: dir } }
    }

    async fn postgres() -> Self {
        let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
        admin_sql(&format!("CREATE SCHEMA {schema}")).await;
        let url = format!("{PG_BASE}?options=-c%20search_path%3D{schema}");
        let store = open(&url, 4).await.unwrap();
        Self { store, url, kind: Kind::Postgres { schema } }
    }

    async fn reopen(&self) -> Result<Arc<dyn MappingStore>, StoreError> {
        open(&self.url, 4).await
    }

    async fn force_version(&self, v: i64) {
        match &self.kind {
            Kind::Sqlite { path, .. } => super::sqlite::force_version(path, v).unwrap(),
            Kind::Postgres { .. } => super::postgres::force_version(&self.url, v).await.unwrap(),
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Kind::Postgres { schema } = &self.kind {
            let sql = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            // Drop runs inside the test's runtime; a helper thread with its own runtime can block.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(admin_sql(&sql));
            })
            .join();
        }
    }
}

async fn admin_sql(sql: &str) {
    let (client, conn) = tokio_postgres::connect(PG_BASE, tokio_postgres::NoTls).await.unwrap();
    let task = tokio::spawn(conn);
    client.batch_execute(sql).await.unwrap();
    drop(client);
    let _ = task.await;
}

fn ts(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(secs, 123_456_000).unwrap()
}

pub(super) fn user(org: i64, gid: i64, name: &str) -> UserRecord {
    UserRecord {
        scim_id: uuid::Uuid::new_v4().to_string(),
        org_id: org,
        grafana_user_id: gid,
        grafana_uid: Some(format!("u{gid}")),
        user_name: name.to_owned(),
        external_id: None,
        email: Some(format!("{}@example.com", name.to_lowercase())),
        active: true,
        deleted: false,
        managed: true,
        attributes: json!({"userName": name, "name": {"givenName": "Given", "familyName": "Family"}}),
        restore: None,
        created: ts(1_700_000_000),
        last_modified: ts(1_700_000_000),
        version: 1,
    }
}

fn group(org: i64, tid: i64, name: &str) -> GroupRecord {
    GroupRecord {
        scim_id: uuid::Uuid::new_v4().to_string(),
        org_id: org,
        grafana_team_id: tid,
        grafana_team_uid: Some(format!("t{tid}")),
        display_name: name.to_owned(),
        external_id: None,
        deleted: false,
        // Written through SCIM: managed (see `provision::groups::MANAGED_KEY`).
        attributes: json!({"displayName": name, "_managed": true}),
        created: ts(1_700_000_000),
        last_modified: ts(1_700_000_000),
        version: 1,
    }
}

fn conflict_on(r: Result<(), StoreError>, want: &str) {
    match r {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, want),
        other => panic!("expected conflict on {want}, got {other:?}"),
    }
}

async fn user_crud(h: &Harness) {
    let s = &h.store;
    let mut u = user(1, 10, "Jane.Doe");
    u.external_id = Some("ext-1".into());
    u.restore = Some(json!({"role": "Editor", "teams": [1, 2]}));
    s.insert_user(&u).await.unwrap();
    assert_eq!(s.get_user(1, &u.scim_id).await.unwrap(), Some(u.clone()));
    assert_eq!(s.get_user(2, &u.scim_id).await.unwrap(), None);
    assert_eq!(s.user_by_external_id(1, "ext-1").await.unwrap(), Some(u.clone()));
    assert_eq!(s.user_by_external_id(1, "EXT-1").await.unwrap(), None);
    assert_eq!(s.user_by_grafana_id(1, 10).await.unwrap(), Some(u.clone()));
    assert_eq!(s.count_users(1).await.unwrap(), 1);
    assert_eq!(s.users_claiming(1, "JANE.doe", None).await.unwrap(), vec![u.clone()]);
    assert_eq!(s.users_claiming(1, "nobody", Some("ext-1")).await.unwrap(), vec![u.clone()]);
    assert_eq!(s.users_claiming(1, "Jane.Doe", Some("ext-1")).await.unwrap(), vec![u.clone()]);
    assert!(s.users_claiming(1, "nobody", Some("EXT-1")).await.unwrap().is_empty());
    assert!(s.users_claiming(2, "Jane.Doe", Some("ext-1")).await.unwrap().is_empty());
    let mut other = user(1, 11, "other");
    other.external_id = Some("ext-2".into());
    s.insert_user(&other).await.unwrap();
    let mut both = s.users_claiming(1, "jane.doe", Some("ext-2")).await.unwrap();
    both.sort_by_key(|r| r.grafana_user_id);
    assert_eq!(both, vec![u.clone(), other.clone()]);
    s.delete_user_record(1, &other.scim_id).await.unwrap();

    let mut changed = u.clone();
    changed.user_name = "jane".into();
    changed.active = false;
    changed.attributes = json!({"userName": "jane", "title": "x"});
    changed.last_modified = ts(1_700_000_100);
    assert_eq!(s.update_user(&changed, 1).await.unwrap(), 2);
    changed.version = 2;
    assert_eq!(s.get_user(1, &u.scim_id).await.unwrap(), Some(changed.clone()));
    assert_eq!(s.user_by_user_name(1, "Jane.Doe").await.unwrap(), None);

    s.delete_user_record(1, &u.scim_id).await.unwrap();
    assert_eq!(s.get_user(1, &u.scim_id).await.unwrap(), None);
    assert!(matches!(s.delete_user_record(1, &u.scim_id).await, Err(StoreError::NotFound)));
    assert_eq!(s.count_users(1).await.unwrap(), 0);
}

async fn group_crud(h: &Harness) {
    let s = &h.store;
    let mut g = group(1, 7, "Engineering");
    g.external_id = Some("grp-1".into());
    s.insert_group(&g).await.unwrap();
    assert_eq!(s.get_group(1, &g.scim_id).await.unwrap(), Some(g.clone()));
    assert_eq!(s.group_by_display_name(1, "ENGINEERING").await.unwrap(), Some(g.clone()));
    assert_eq!(s.group_by_external_id(1, "grp-1").await.unwrap(), Some(g.clone()));
    assert_eq!(s.group_by_grafana_id(1, 7).await.unwrap(), Some(g.clone()));
    assert!(s.is_managed_grafana_team(7).await.unwrap());
    assert!(!s.is_managed_grafana_team(8).await.unwrap());
    // A record made on first sighting (no marker) maps the team without managing it.
    let mut seen = group(1, 8, "Seen only");
    seen.attributes = json!({"displayName": "Seen only"});
    s.insert_group(&seen).await.unwrap();
    assert!(!s.is_managed_grafana_team(8).await.unwrap());
    // By UID and by team id alone, whatever the org: only SCIM-managed live records count.
    assert_eq!(s.managed_team_by_uid("t7").await.unwrap(), Some(7));
    assert_eq!(s.managed_team_by_uid("t8").await.unwrap(), None);
    assert_eq!(s.managed_team_by_uid("t9").await.unwrap(), None);
    assert_eq!(s.live_groups_by_team(7).await.unwrap(), vec![g.clone()]);
    assert_eq!(s.live_groups_by_team(8).await.unwrap().len(), 1);
    s.delete_group_record(1, &seen.scim_id).await.unwrap();
    let mut renamed = g.clone();
    renamed.display_name = "Platform".into();
    assert_eq!(s.update_group(&renamed, 1).await.unwrap(), 2);
    renamed.version = 2;
    assert_eq!(s.group_by_display_name(1, "platform").await.unwrap(), Some(renamed));
    assert_eq!(s.count_groups(1).await.unwrap(), 1);
    s.delete_group_record(1, &g.scim_id).await.unwrap();
    assert!(matches!(s.delete_group_record(1, &g.scim_id).await, Err(StoreError::NotFound)));
    assert!(!s.is_managed_grafana_team(7).await.unwrap());
    assert_eq!(s.managed_team_by_uid("t7").await.unwrap(), None);
    assert!(s.live_groups_by_team(7).await.unwrap().is_empty());
}

async fn case_insensitive_lookups(h: &Harness) {
    let s = &h.store;
    let mut a = user(1, 1, "Alice@Example.COM");
    a.email = Some("alice@example.com".into());
    let mut b = user(2, 2, "alice@example.com");
    b.email = Some("Alice@EXAMPLE.com".into());
    // Seen in a listing of org 3, never written by SCIM: not returned by the email lookup.
    let mut seen = user(3, 3, "alice.seen");
    seen.email = Some("ALICE@example.com".into());
    seen.managed = false;
    seen.attributes = serde_json::Value::Null;
    s.insert_user(&a).await.unwrap();
    s.insert_user(&b).await.unwrap();
    s.insert_user(&seen).await.unwrap();
    let found = s.user_by_user_name(1, "ALICE@example.com").await.unwrap().unwrap();
    assert_eq!(found.user_name, "Alice@Example.COM", "original case is kept");
    let mut any = s.users_by_user_name_any_org("aLiCe@example.com").await.unwrap();
    any.sort_by_key(|u| u.org_id);
    assert_eq!(any.iter().map(|u| u.org_id).collect::<Vec<_>>(), vec![1, 2]);
    let mut by_mail = s.managed_users_by_email("ALICE@example.COM").await.unwrap();
    by_mail.sort_by_key(|u| u.org_id);
    assert_eq!(by_mail.iter().map(|u| u.org_id).collect::<Vec<_>>(), vec![1, 2], "managed only");
    assert!(by_mail.iter().all(|u| u.email.as_deref() == Some("alice@example.com")));
}

async fn user_uniqueness(h: &Harness) {
    let s = &h.store;
    let mut a = user(1, 1, "bob");
    a.external_id = Some("X".into());
    s.insert_user(&a).await.unwrap();
    conflict_on(s.insert_user(&user(1, 2, "BOB")).await, constraints::USER_NAME);
    let mut ext = user(1, 3, "carol");
    ext.external_id = Some("X".into());
    conflict_on(s.insert_user(&ext).await, constraints::USER_EXTERNAL_ID);
    // Another person may not hold it in another ASCII case either (migration 6).
    ext.external_id = Some("x".into());
    conflict_on(s.insert_user(&ext).await, constraints::USER_EXTERNAL_ID);
    ext.external_id = Some("Y".into());
    s.insert_user(&ext).await.unwrap();
    conflict_on(s.insert_user(&user(1, 1, "dave")).await, constraints::USER_GRAFANA_ID);
    let mut same_id = user(1, 4, "erin");
    same_id.scim_id = a.scim_id.clone();
    conflict_on(s.insert_user(&same_id).await, constraints::USER_PRIMARY_KEY);
    // NULL externalIds never collide; other orgs are independent.
    s.insert_user(&user(1, 5, "frank")).await.unwrap();
    s.insert_user(&user(1, 6, "gina")).await.unwrap();
    let mut other_org = user(2, 1, "BOB");
    other_org.external_id = Some("X".into());
    s.insert_user(&other_org).await.unwrap();
    let mut rename = ext.clone();
    rename.user_name = "Bob".into();
    conflict_on(s.update_user(&rename, 1).await.map(drop), constraints::USER_NAME);
}

async fn group_uniqueness(h: &Harness) {
    let s = &h.store;
    let mut a = group(1, 1, "Ops");
    a.external_id = Some("G".into());
    s.insert_group(&a).await.unwrap();
    conflict_on(s.insert_group(&group(1, 2, "OPS")).await, constraints::GROUP_DISPLAY_NAME);
    let mut ext = group(1, 3, "Dev");
    ext.external_id = Some("G".into());
    conflict_on(s.insert_group(&ext).await, constraints::GROUP_EXTERNAL_ID);
    conflict_on(s.insert_group(&group(1, 1, "QA")).await, constraints::GROUP_GRAFANA_ID);
    s.insert_group(&group(2, 1, "ops")).await.unwrap();
}

async fn concurrent_inserts_one_wins(h: &Harness) {
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = h.store.clone();
        tasks.push(tokio::spawn(async move { s.insert_user(&user(1, 100 + i, "Racer")).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, constraints::USER_NAME),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(h.store.count_users(1).await.unwrap(), 1);
}

async fn optimistic_concurrency(h: &Harness) {
    let s = &h.store;
    let u = user(1, 1, "otto");
    s.insert_user(&u).await.unwrap();
    assert_eq!(s.update_user(&u, 1).await.unwrap(), 2);
    assert!(matches!(s.update_user(&u, 1).await, Err(StoreError::StaleVersion)));
    assert_eq!(s.update_user(&u, 2).await.unwrap(), 3);
    let ghost = user(1, 2, "ghost");
    assert!(matches!(s.update_user(&ghost, 1).await, Err(StoreError::NotFound)));
    let g = group(1, 1, "g");
    s.insert_group(&g).await.unwrap();
    assert_eq!(s.update_group(&g, 1).await.unwrap(), 2);
    assert!(matches!(s.update_group(&g, 1).await, Err(StoreError::StaleVersion)));
    assert!(matches!(s.update_group(&group(1, 2, "h"), 1).await, Err(StoreError::NotFound)));
}

async fn revive_after_delete(h: &Harness) {
    let s = &h.store;
    let mut u = user(1, 1, "Rita");
    u.external_id = Some("e-rita".into());
    s.insert_user(&u).await.unwrap();
    u.deleted = true;
    u.active = false;
    u.version = s.update_user(&u, 1).await.unwrap();
    assert_eq!(s.count_users(1).await.unwrap(), 0);
    assert!(s.is_managed_grafana_user(1).await.unwrap(), "a hidden user still exists in grafana");
    // The keys stay taken: a create finds the row and revives it.
    conflict_on(s.insert_user(&user(1, 2, "rita")).await, constraints::USER_NAME);
    let found = s.user_by_user_name(1, "RITA").await.unwrap().unwrap();
    assert!(found.deleted);
    assert_eq!(s.user_by_external_id(1, "e-rita").await.unwrap().unwrap().scim_id, u.scim_id);
    let mut revived = found.clone();
    revived.deleted = false;
    revived.active = true;
    assert_eq!(s.update_user(&revived, found.version).await.unwrap(), 3);
    assert_eq!(s.count_users(1).await.unwrap(), 1);

    let mut g = group(1, 5, "Gone");
    s.insert_group(&g).await.unwrap();
    g.deleted = true;
    s.update_group(&g, 1).await.unwrap();
    assert_eq!(s.count_groups(1).await.unwrap(), 0);
    assert!(!s.is_managed_grafana_team(5).await.unwrap());
    conflict_on(s.insert_group(&group(1, 6, "gone")).await, constraints::GROUP_DISPLAY_NAME);
}

async fn batch_lookups_and_guards(h: &Harness) {
    let s = &h.store;
    for i in 1..=5 {
        s.insert_user(&user(1, i, &format!("user{i}"))).await.unwrap();
        s.insert_group(&group(1, i, &format!("team{i}"))).await.unwrap();
    }
    let mut unmanaged = user(2, 99, "local");
    unmanaged.managed = false;
    s.insert_user(&unmanaged).await.unwrap();
    let mut got: Vec<i64> =
        s.users_by_grafana_ids(1, &[2, 4, 42]).await.unwrap().iter().map(|u| u.grafana_user_id).collect();
    got.sort();
    assert_eq!(got, vec![2, 4]);
    assert!(s.users_by_grafana_ids(1, &[]).await.unwrap().is_empty());
    assert!(s.users_by_grafana_ids(2, &[2]).await.unwrap().is_empty());
    let many: Vec<i64> = (1..=1200).collect();
    assert_eq!(s.users_by_grafana_ids(1, &many).await.unwrap().len(), 5);
    // Managed records come back whole; an unmanaged one without its document, which SCIM never
    // shows (its user is presented from Grafana's copy).
    let managed = s.users_by_grafana_ids(1, &[3]).await.unwrap().pop().unwrap();
    assert_eq!(managed, s.user_by_grafana_id(1, 3).await.unwrap().unwrap());
    assert_eq!(managed.attributes["name"]["familyName"], "Family");
    let listed = s.users_by_grafana_ids(2, &[99]).await.unwrap().pop().unwrap();
    assert_eq!(listed.attributes, Value::Null);
    let whole = s.user_by_grafana_id(2, 99).await.unwrap().unwrap();
    assert_eq!(whole.attributes, unmanaged.attributes);
    assert_eq!(UserRecord { attributes: Value::Null, ..whole }, listed);
    let mut teams: Vec<i64> =
        s.groups_by_grafana_ids(1, &[1, 5, 9]).await.unwrap().iter().map(|g| g.grafana_team_id).collect();
    teams.sort();
    assert_eq!(teams, vec![1, 5]);
    assert!(s.is_managed_grafana_user(3).await.unwrap());
    assert!(!s.is_managed_grafana_user(99).await.unwrap());
    assert!(!s.is_managed_grafana_user(1000).await.unwrap());
    let too_many: Vec<i64> = (0..=MAX_IDS_PER_LOOKUP as i64).collect();
    assert!(s.users_by_grafana_ids(1, &too_many).await.is_err());
    // Group member references resolve in one query, across SQLite's chunking.
    let ids: Vec<String> =
        s.users_by_grafana_ids(1, &[2, 4]).await.unwrap().into_iter().map(|u| u.scim_id).collect();
    let mut wanted: Vec<String> = (0..1200).map(|i| format!("missing-{i}")).collect();
    wanted.extend(ids.iter().cloned());
    let mut found: Vec<String> =
        s.users_by_scim_ids(1, &wanted).await.unwrap().into_iter().map(|u| u.scim_id).collect();
    found.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(found, expected);
    assert!(s.users_by_scim_ids(2, &ids).await.unwrap().is_empty(), "other org");
    assert!(s.users_by_scim_ids(1, &[]).await.unwrap().is_empty());
}

async fn detached_users_page_and_uid_guard(h: &Harness) {
    let s = &h.store;
    for (i, name) in ["Carol", "alice", "Bob", "dave"].iter().enumerate() {
        let mut u = user(1, i as i64 + 1, name);
        if *name != "dave" {
            u.active = false;
            u.restore = Some(json!({"mode": "removed_from_org", "role": "Viewer", "teams": [3]}));
        }
        s.insert_user(&u).await.unwrap();
    }
    let mut disabled = user(1, 10, "eve");
    disabled.active = false;
    disabled.restore = Some(json!({"mode": "disabled"}));
    s.insert_user(&disabled).await.unwrap();
    let mut hidden = user(1, 11, "aaron");
    hidden.deleted = true;
    hidden.restore = Some(json!({"mode": "removed_from_org"}));
    s.insert_user(&hidden).await.unwrap();
    let mut other_org = user(2, 12, "zed");
    other_org.restore = Some(json!({"mode": "removed_from_org"}));
    s.insert_user(&other_org).await.unwrap();

    assert_eq!(s.count_users_detached(1).await.unwrap(), 3);
    let names = |v: Vec<UserRecord>| v.into_iter().map(|u| u.user_name).collect::<Vec<_>>();
    assert_eq!(names(s.users_detached(1, 0, 10).await.unwrap()), ["alice", "Bob", "Carol"]);
    assert_eq!(names(s.users_detached(1, 1, 1).await.unwrap()), ["Bob"]);
    assert!(s.users_detached(1, 3, 10).await.unwrap().is_empty());
    assert_eq!(s.count_users_detached(3).await.unwrap(), 0);

    assert!(s.is_managed_grafana_uid("u1").await.unwrap());
    let mut local = user(1, 20, "local");
    local.managed = false;
    s.insert_user(&local).await.unwrap();
    assert!(!s.is_managed_grafana_uid("u20").await.unwrap());
    assert!(!s.is_managed_grafana_uid("nope").await.unwrap());
}

/// Pending team members follow `restore` on every write: the teams remembered for the record's
/// own org (and the legacy top-level list of a removal), never another org's; inactive and
/// visible users only; gone with the restore state or the row.
async fn pending_team_members_follow_restore(h: &Harness) {
    let s = &h.store;
    let ids = |v: Vec<UserRecord>| {
        let mut v: Vec<String> = v.into_iter().map(|u| u.user_name).collect();
        v.sort();
        v
    };
    let mut a = user(1, 1, "a");
    a.active = false;
    a.restore = Some(json!({"mode": "disabled", "orgs": [{"org": 1, "role": "Viewer", "teams": [7, 8]},
        {"org": 2, "role": "Viewer", "teams": [9]}]}));
    s.insert_user(&a).await.unwrap();
    let mut b = user(1, 2, "b");
    b.active = false;
    b.restore = Some(json!({"mode": "removed_from_org", "role": "Viewer", "teams": [7]}));
    s.insert_user(&b).await.unwrap();
    let mut hidden = user(1, 3, "hidden");
    hidden.active = false;
    hidden.deleted = true;
    hidden.restore = Some(json!({"mode": "removed_from_org", "teams": [7]}));
    s.insert_user(&hidden).await.unwrap();
    let mut c = user(1, 4, "c");
    s.insert_user(&c).await.unwrap();

    assert_eq!(ids(s.pending_team_members(1, 7).await.unwrap()), ["a", "b"]);
    assert_eq!(ids(s.pending_team_members(1, 8).await.unwrap()), ["a"]);
    assert!(s.pending_team_members(1, 9).await.unwrap().is_empty());
    assert!(s.pending_team_members(2, 9).await.unwrap().is_empty());

    a.restore = Some(json!({"mode": "disabled", "orgs": [{"org": 1, "role": "Viewer", "teams": [8]}]}));
    a.version = s.update_user(&a, a.version).await.unwrap();
    c.active = false;
    c.restore = Some(json!({"mode": "disabled", "orgs": [{"org": 1, "role": "Viewer", "teams": [7]}]}));
    c.version = s.update_user(&c, c.version).await.unwrap();
    assert_eq!(ids(s.pending_team_members(1, 7).await.unwrap()), ["b", "c"]);
    // An update that leaves `restore` alone keeps the rows.
    c.email = Some("c2@example.com".into());
    c.version = s.update_user(&c, c.version).await.unwrap();
    assert_eq!(ids(s.pending_team_members(1, 7).await.unwrap()), ["b", "c"]);
    // Reactivated: the restore state is gone, and so is the membership.
    c.active = true;
    c.restore = None;
    s.update_user(&c, c.version).await.unwrap();
    s.delete_user_record(1, &b.scim_id).await.unwrap();
    assert!(s.pending_team_members(1, 7).await.unwrap().is_empty());
    assert_eq!(ids(s.pending_team_members(1, 8).await.unwrap()), ["a"]);
}

async fn migrations_idempotent_on_reopen(h: &Harness) {
    let u = user(1, 1, "keep");
    h.store.insert_user(&u).await.unwrap();
    assert_eq!(h.store.schema_version().await.unwrap(), LATEST);
    let again = h.reopen().await.unwrap();
    assert_eq!(again.schema_version().await.unwrap(), LATEST);
    assert_eq!(again.get_user(1, &u.scim_id).await.unwrap(), Some(u));
    assert_eq!(migrate(&h.url).await.unwrap(), LATEST);
    again.ping().await.unwrap();
    assert_eq!(again.backend_name(), h.store.backend_name());
}

async fn downgrade_refused(h: &Harness) {
    h.force_version(LATEST + 1).await;
    match h.reopen().await {
        Err(StoreError::Migration(msg)) => {
            assert!(msg.contains(&(LATEST + 1).to_string()) && msg.contains(&format!("({LATEST})")), "{msg}");
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("a newer schema must be refused"),
    }
}

/// Several users in one call: each stands or fails alone, in order, and a conflict undoes only
/// its own row.
async fn insert_many_each_on_its_own(h: &Harness) {
    let s = &h.store;
    let taken = user(1, 5, "taken");
    s.insert_user(&taken).await.unwrap();
    let mut batch: Vec<UserRecord> = (0..40).map(|i| user(1, 100 + i, &format!("batch{i}"))).collect();
    batch[7] = user(1, 200, "TAKEN"); // userName conflict
    batch[20] = user(1, 5, "another"); // Grafana id conflict
    batch[30] = user(1, 300, "batch29"); // conflict within the batch itself
    let outcomes = s.insert_users(&batch).await.unwrap();
    assert_eq!(outcomes.len(), batch.len());
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match i {
            7 | 30 => conflict_on(outcome, constraints::USER_NAME),
            20 => conflict_on(outcome, constraints::USER_GRAFANA_ID),
            _ => assert!(outcome.is_ok(), "row {i}: {outcome:?}"),
        }
    }
    assert_eq!(s.count_users(1).await.unwrap(), 1 + 40 - 3);
    assert_eq!(s.user_by_grafana_id(1, 139).await.unwrap(), Some(batch[39].clone()));
    assert_eq!(s.user_by_grafana_id(1, 200).await.unwrap(), None);
    assert_eq!(s.user_by_grafana_id(1, 5).await.unwrap(), Some(taken));
    assert!(s.insert_users(&[]).await.unwrap().is_empty());
}

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let h = super::Harness::sqlite().await;
                    super::$name(&h).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $name() {
                    let h = super::Harness::postgres().await;
                    super::$name(&h).await;
                }
            )*
        }
    };
}

suite!(
    user_crud,
    insert_many_each_on_its_own,
    group_crud,
    case_insensitive_lookups,
    external_id_holders_any_org_fold_ascii_case,
    create_lookups_answer_both_lookups_at_once,
    an_external_id_belongs_to_one_grafana_user,
    racing_holders_of_one_external_id_one_wins,
    user_uniqueness,
    group_uniqueness,
    concurrent_inserts_one_wins,
    optimistic_concurrency,
    revive_after_delete,
    batch_lookups_and_guards,
    detached_users_page_and_uid_guard,
    pending_team_members_follow_restore,
    migrations_idempotent_on_reopen,
    downgrade_refused,
    lock_is_exclusive,
    lock_second_holder_same_store,
    lock_second_holder_other_instance,
    lock_cancelled_waiter_leaves_no_holder,
    rw_lock_exclusive_waits_for_shared_across_instances,
    audit_records_filter_newest_first_and_prune,
);

#[test]
fn urls_choose_the_backend_and_never_echo_credentials() {
    assert!(matches!(parse_url("sqlite://rel/x.db"), Ok(Target::Sqlite(SqliteTarget::File("rel/x.db")))));
    assert!(matches!(parse_url("sqlite:///abs/x.db"), Ok(Target::Sqlite(SqliteTarget::File("/abs/x.db")))));
    assert!(matches!(parse_url("sqlite::memory:"), Ok(Target::Sqlite(SqliteTarget::Memory))));
    assert!(matches!(parse_url("postgresql://u:p@h/db"), Ok(Target::Postgres(_))));
    let err = parse_url("mysql://user:hunter2@h/db").err().unwrap().to_string();
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn memory_store_works() {
    let s = open("sqlite::memory:", 1).await.unwrap();
    s.insert_user(&user(1, 1, "m")).await.unwrap();
    assert_eq!(s.count_users(1).await.unwrap(), 1);
}
