//! A database written at an older schema version keeps its rows and rules after migrating.

use rusqlite::Connection;

use super::SqliteStore;
use crate::store::constraints::{USER_GRAFANA_ID, USER_NAME};
use crate::store::migrations::{LATEST, SQLITE};
use crate::store::tests::user;
use crate::store::{MappingStore, StoreError};

/// Builds a version-`version` database by hand and inserts `rows` users, as an older binary would.
fn old_database(path: &str, version: i64, rows: i64) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (0);",
    )
    .unwrap();
    for step in SQLITE.iter().take_while(|s| s.version <= version) {
        conn.execute_batch(step.sql).unwrap();
    }
    conn.execute("UPDATE schema_version SET version = ?1", [version]).unwrap();
    for i in 0..rows {
        conn.execute(
            "INSERT INTO scim_users (scim_id, org_id, grafana_user_id, grafana_uid, user_name, user_name_key, \
             external_id, email, active, deleted, managed, attributes, restore, created, last_modified, version) \
             VALUES (?1, ?2, ?3, ?4, ?5, lower(?5), NULL, ?6, 1, 0, ?7, '{}', NULL, 0, 0, 1)",
            rusqlite::params![format!("id-{i}"), 1 + i % 2, 100 + i, format!("u{i}"), format!("User{i}"),
                format!("user{i}@example.com"), i % 3 != 0],
        )
        .unwrap();
    }
}

#[tokio::test]
async fn a_version_2_database_migrates_with_its_rows_and_unique_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db").to_string_lossy().into_owned();
    old_database(&path, 2, 50);
    let store = SqliteStore::open_file(&path, 2).await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), LATEST);
    assert_eq!(store.count_users(1).await.unwrap() + store.count_users(2).await.unwrap(), 50);

    // Lookups that lost their own indexes still answer, by org and across orgs.
    let found = store.user_by_user_name(2, "user7").await.unwrap().unwrap();
    assert_eq!((found.scim_id.as_str(), found.grafana_user_id), ("id-7", 107));
    assert_eq!(store.users_by_user_name_any_org("USER8").await.unwrap().len(), 1);
    assert!(store.user_by_grafana_id(1, 107).await.unwrap().is_none(), "user 7 is in org 2");
    assert!(store.is_managed_grafana_user(101).await.unwrap());
    assert!(!store.is_managed_grafana_user(103).await.unwrap(), "i = 3 was written unmanaged");

    // The reordered unique indexes keep the same rules and report the same constraint names.
    let mut dup = user(2, 999, "USER7");
    match store.insert_user(&dup).await {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, USER_NAME),
        other => panic!("expected a userName conflict, got {other:?}"),
    }
    dup = user(1, 107, "someone-else");
    dup.org_id = 2;
    match store.insert_user(&dup).await {
        Err(StoreError::Conflict { constraint }) => assert_eq!(constraint, USER_GRAFANA_ID),
        other => panic!("expected a Grafana id conflict, got {other:?}"),
    }
    // The same name and Grafana id in another org are different users.
    store.insert_user(&user(1, 107, "User7")).await.unwrap();
    assert_eq!(store.users_by_user_name_any_org("user7").await.unwrap().len(), 2);
}

/// Migration 7 fills the pending team members of users deactivated before it ran.
#[tokio::test]
async fn a_version_6_database_gets_the_pending_members_of_its_deactivated_users() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db").to_string_lossy().into_owned();
    old_database(&path, 6, 4);
    let conn = Connection::open(&path).unwrap();
    conn.execute_batch(
        r#"UPDATE scim_users SET active = 0, restore = '{"mode":"removed_from_org","teams":[5],"orgs":[{"org":1,"role":"Viewer","teams":[5,6]},{"org":2,"role":"Viewer","teams":[7]}]}' WHERE scim_id = 'id-0';
           UPDATE scim_users SET active = 0, restore = '{"mode":"removed_from_org","role":"Editor","teams":[5]}' WHERE scim_id = 'id-2';"#,
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open_file(&path, 2).await.unwrap();
    let ids = |v: Vec<crate::store::UserRecord>| {
        let mut v: Vec<String> = v.into_iter().map(|u| u.scim_id).collect();
        v.sort();
        v
    };
    assert_eq!(ids(store.pending_team_members(1, 5).await.unwrap()), ["id-0", "id-2"]);
    assert_eq!(ids(store.pending_team_members(1, 6).await.unwrap()), ["id-0"]);
    assert!(store.pending_team_members(2, 7).await.unwrap().is_empty(), "id-0 is a record of org 1");
}
