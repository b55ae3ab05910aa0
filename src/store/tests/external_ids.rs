//! The any-org externalId holder lookup: managed records only, deleted ones included, ASCII case
//! folded alike on both backends (non-ASCII letters are compared as they are).

use super::{user, Harness};

pub(super) async fn external_id_holders_any_org_fold_ascii_case(h: &Harness) {
    let s = &h.store;
    let mut a = user(1, 1, "alice");
    a.external_id = Some("Ext-ABC".into());
    let mut b = user(2, 1, "alice");
    b.external_id = Some("ext-abc".into());
    b.deleted = true;
    b.active = false;
    let mut other = user(3, 2, "bob");
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
