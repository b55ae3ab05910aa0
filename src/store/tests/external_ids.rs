//! The any-org externalId holder lookup: managed records only, deleted ones included, ASCII case
//! folded alike on both backends (non-ASCII letters are compared as they are); and the database's
//! own rule that one externalId belongs to one Grafana user; and a create's combined lookup.

use super::{conflict_on, user, Harness};
use crate::store::constraints::USER_EXTERNAL_ID;
use crate::store::UserRecord;

pub(super) async fn external_id_holders_any_org_fold_ascii_case(h: &Harness) {
    let s = &h.store;
    let mut a = user(1, 1, "alice");
    a.external_id = Some("Ext-ABC".into());
    let mut b = user(2, 1, "alice");
    b.external_id = Some("ext-abc".into());
    b.deleted = true;
    b.active = false;
    let mut other = user(3, 1, "alice");
    other.external_id = Some("EXT-abc".into());
    let mut seen = user(4, 3, "carol");
    seen.external_id = Some("ext-ABC".into());
    seen.managed = false;
    let mut accented = user(5, 4, "dora");
    accented.external_id = Some("Ext-É".into());
    for r in [&a, &b, &other, &seen, &accented] {
        s.insert_user(r).await.unwrap();
    }
    let mut found = s.managed_users_by_external_id_folded("eXt-AbC").await.unwrap();
    found.sort_by_key(|r| r.org_id);
    assert_eq!(
        found.iter().map(|r| r.org_id).collect::<Vec<_>>(),
        vec![1, 2, 3],
        "managed only, deleted too"
    );
    assert!(s.managed_users_by_external_id_folded("ext-ab").await.unwrap().is_empty());
    assert_eq!(s.managed_users_by_external_id_folded("EXT-É").await.unwrap().len(), 1);
    assert!(
        s.managed_users_by_external_id_folded("ext-é").await.unwrap().is_empty(),
        "only ASCII letters are folded, on both backends"
    );
}

pub(super) async fn an_external_id_belongs_to_one_grafana_user(h: &Harness) {
    let s = &h.store;
    let mut a = user(1, 1, "alice");
    a.external_id = Some("ext-A".into());
    s.insert_user(&a).await.unwrap();
    // The same person in another org: fine. Another person, any org, any ASCII case: refused.
    let mut same = user(2, 1, "alice");
    same.external_id = Some("EXT-a".into());
    s.insert_user(&same).await.unwrap();
    for org in [1, 3] {
        let mut decoy = user(org, 2, &format!("decoy{org}"));
        decoy.external_id = Some("Ext-A".into());
        conflict_on(s.insert_user(&decoy).await, USER_EXTERNAL_ID);
    }
    // Unmanaged rows do not hold identities.
    let mut seen = user(3, 3, "seen");
    seen.external_id = Some("ext-a".into());
    seen.managed = false;
    s.insert_user(&seen).await.unwrap();
    // Nor may an update give it to another person, or make such a row managed.
    let mut bob = user(3, 4, "bob");
    s.insert_user(&bob).await.unwrap();
    bob.external_id = Some("EXT-A".into());
    conflict_on(s.update_user(&bob, 1).await.map(drop), USER_EXTERNAL_ID);
    seen.managed = true;
    conflict_on(s.update_user(&seen, 1).await.map(drop), USER_EXTERNAL_ID);
    // The holder itself is updated as before, and releases the key once it drops it.
    a.active = false;
    a.version = s.update_user(&a, 1).await.unwrap();
    // The holder alone in its org may move to another Grafana id (reconcile recreating the user,
    // or a placeholder of shadow mode becoming real) while no other org's row holds the key.
    let mut solo = user(5, -77, "solo");
    solo.external_id = Some("ext-solo".into());
    s.insert_user(&solo).await.unwrap();
    solo.grafana_user_id = 77;
    solo.version = s.update_user(&solo, 1).await.unwrap();
    assert_eq!(s.get_user(5, &solo.scim_id).await.unwrap().unwrap().grafana_user_id, 77);
    a.external_id = None;
    s.update_user(&a, a.version).await.unwrap();
    s.delete_user_record(2, &same.scim_id).await.unwrap();
    s.update_user(&bob, 1).await.unwrap();
}

/// Writers racing to give one externalId to different people, each org its own (no unique index
/// spans orgs), through two store instances (two replicas): exactly one wins.
pub(super) async fn racing_holders_of_one_external_id_one_wins(h: &Harness) {
    let other = h.reopen().await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..16i64 {
        let s = if i % 2 == 0 { h.store.clone() } else { other.clone() };
        let mut r = user(100 + i, 100 + i, "racer");
        r.external_id = Some(if i % 3 == 0 { "RACE-X" } else { "race-x" }.into());
        tasks.push(tokio::spawn(async move { s.insert_user(&r).await }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => conflict_on(Err(e), USER_EXTERNAL_ID),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(h.store.managed_users_by_external_id_folded("Race-X").await.unwrap().len(), 1);
}

/// `create_lookups` answers what `users_claiming` and `managed_users_by_external_id_folded`
/// answer apart (PostgreSQL in one statement, SQLite side by side).
pub(super) async fn create_lookups_answer_both_lookups_at_once(h: &Harness) {
    let s = &h.store;
    let mut jane = user(1, 1, "Jane.Doe");
    jane.external_id = Some("ext-1".into());
    let mut other = user(1, 2, "other");
    other.external_id = Some("ext-2".into());
    let mut jane_elsewhere = user(2, 1, "jane.doe");
    jane_elsewhere.external_id = Some("EXT-1".into());
    let mut seen = user(3, 3, "seen");
    seen.external_id = Some("ext-1".into());
    seen.managed = false;
    for r in [&jane, &other, &jane_elsewhere, &seen] {
        s.insert_user(r).await.unwrap();
    }
    let ids = |mut v: Vec<UserRecord>| {
        v.sort_by(|a, b| (a.org_id, &a.scim_id).cmp(&(b.org_id, &b.scim_id)));
        v
    };
    let cases: [(i64, &str, Option<&str>, usize, usize); 6] = [
        (1, "JANE.doe", None, 1, 0),
        (1, "jane.doe", Some("Ext-1"), 1, 2),
        (1, "nobody", Some("ext-1"), 1, 2),
        (1, "jane.doe", Some("ext-2"), 2, 1),
        (1, "nobody", Some("ext-9"), 0, 0),
        (4, "jane.doe", Some("ext-1"), 0, 2),
    ];
    for (org, name, ext, claims, holders) in cases {
        let both = s.create_lookups(org, name, ext).await.unwrap();
        let apart_claims = s.users_claiming(org, name, ext).await.unwrap();
        let apart_holders = match ext {
            Some(x) => s.managed_users_by_external_id_folded(x).await.unwrap(),
            None => Vec::new(),
        };
        let case = format!("org {org}, {name}, {ext:?}");
        assert_eq!(ids(both.claims.clone()), ids(apart_claims), "{case}");
        assert_eq!(ids(both.holders.clone()), ids(apart_holders), "{case}");
        assert_eq!((both.claims.len(), both.holders.len()), (claims, holders), "{case}");
    }
}
