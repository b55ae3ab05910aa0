//! The PostgreSQL store's lookups, written so that a generic plan is the right plan.
//!
//! Sessions run with `plan_cache_mode = force_generic_plan`: each cached statement is planned
//! once per connection, without its parameters, instead of on every run (a custom plan cost 40 to
//! 100 µs of server CPU per query; see `SESSION_OPTIONS`). A generic plan is built from whatever
//! statistics the table has when it is made, and a sidecar starts against empty tables that
//! nothing may analyse for minutes while an IdP's first import fills them. So every lookup here
//! pins every column of one unique key (or of the primary key) by equality: whatever the
//! statistics say, the planner expects at most one row per key from that index and takes it. A
//! lookup by "this key OR that key" would not: its generic plan walked the whole org through the
//! `(org_id, external_id)` index and filtered. Such a lookup is a `UNION ALL` of one
//! unique-key lookup per key. The test below holds every statement here, and the store's other
//! keyed statements, to its index.

use crate::store::sql::USER_COLS;

/// `WHERE` clauses for `SELECT … FROM scim_users`, with their parameters.
pub(super) const USER_BY_ID: &str = "org_id = $1 AND scim_id = $2";
pub(super) const USER_BY_NAME: &str = "org_id = $1 AND user_name_key = $2";
pub(super) const USER_BY_EXTERNAL_ID: &str = "org_id = $1 AND external_id = $2";
pub(super) const USER_BY_GRAFANA_ID: &str = "org_id = $1 AND grafana_user_id = $2";
pub(super) const USERS_BY_GRAFANA_IDS: &str = "org_id = $1 AND grafana_user_id = ANY($2)";
/// The primary key is `scim_id` alone, so `= ANY` pins no unique key whole, and a generic plan
/// made on an empty table walked `scim_users_external_id_uq` by its second column, `org_id`, and
/// filtered. `org_id + 0` is no index condition: the org is checked on the rows the key found.
pub(super) const USERS_BY_IDS: &str = "org_id + 0 = $1 AND scim_id = ANY($2)";
pub(super) const MANAGED_USERS_BY_EMAIL: &str = "email = $1 AND managed";
pub(super) const USERS_BY_NAME_ANY_ORG: &str = "user_name_key = $1";
pub(super) const USERS_BY_EXTERNAL_ID_ANY_ORG: &str = "external_id = $1";
/// `lower` under the `C` collation folds ASCII letters only, as SQLite's `lower` does
/// (`sql::EXTERNAL_ID_FOLDED_SQLITE`); the expression is the index's (migration 6).
pub(super) const MANAGED_USERS_BY_EXTERNAL_ID_FOLDED: &str =
    "lower(external_id COLLATE \"C\") = lower($1 COLLATE \"C\") AND managed";
pub(super) const USERS_OF_GRAFANA_USER: &str = "grafana_user_id = $1";

/// `WHERE` clauses for `SELECT … FROM scim_groups`.
pub(super) const GROUP_BY_ID: &str = "org_id = $1 AND scim_id = $2";
pub(super) const GROUP_BY_NAME: &str = "org_id = $1 AND display_name_key = $2";
pub(super) const GROUP_BY_EXTERNAL_ID: &str = "org_id = $1 AND external_id = $2";
pub(super) const GROUP_BY_GRAFANA_ID: &str = "org_id = $1 AND grafana_team_id = $2";
pub(super) const GROUPS_BY_GRAFANA_IDS: &str = "org_id = $1 AND grafana_team_id = ANY($2)";

/// The users a create must look at first: the one holding the userName key (`$2`) and the one
/// holding the externalId (`$3`, may be NULL) in org `$1`. The second branch leaves out the row
/// the first already returned.
pub(super) fn users_claiming() -> String {
    claims("")
}

/// [`users_claiming`]'s two branches, each selecting `extra` after the user columns.
fn claims(extra: &str) -> String {
    format!(
        "SELECT {USER_COLS}{extra} FROM scim_users WHERE org_id = $1 AND user_name_key = $2 \
         UNION ALL SELECT {USER_COLS}{extra} FROM scim_users WHERE org_id = $1 AND external_id = $3 \
         AND user_name_key <> $2"
    )
}

/// [`users_claiming`] and, tagged `true` in a last column, the managed holders of the externalId
/// (`$3`) in every org ignoring ASCII case (as [`MANAGED_USERS_BY_EXTERNAL_ID_FOLDED`]): a
/// create's two lookups as one statement, built once (it runs on every create). Without an
/// externalId the third branch matches nothing (`lower(NULL)` is NULL).
pub(super) fn create_lookups() -> &'static str {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let holders = MANAGED_USERS_BY_EXTERNAL_ID_FOLDED.replace("$1", "$3");
        format!("{} UNION ALL SELECT {USER_COLS}, true FROM scim_users WHERE {holders}", claims(", false"))
    });
    &SQL
}

/// `WHERE` clause for a window of org `$1`'s detached users (`sql::DETACHED_USERS`): `$2` rows
/// from offset `$3`, in the order their partial index keeps.
pub(super) fn users_detached_page() -> String {
    format!("{} ORDER BY user_name_key, scim_id LIMIT $2 OFFSET $3", crate::store::sql::DETACHED_USERS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::postgres::tests::Scratch;
    use crate::store::sql::{self, select_group, select_user, select_user_beside_grafana};

    /// Every lookup, prepared by a store session while the tables are empty and never analysed,
    /// still searches its own index once the tables hold thousands of rows: the plan is generic
    /// (it shows `$n`) and bounded by the key, never a walk of the org.
    #[tokio::test]
    async fn generic_plans_made_on_empty_tables_use_their_keys() {
        let scratch = Scratch::open().await;
        let conn = scratch.store.conn().await.unwrap();
        conn.batch_execute(
            "ALTER TABLE scim_users SET (autovacuum_enabled = false); \
             ALTER TABLE scim_groups SET (autovacuum_enabled = false)",
        )
        .await
        .unwrap();
        // (statement, sample arguments, index it must search, column that index is searched by)
        let cases: Vec<(String, &str, &str, &str)> = vec![
            (select_user(USER_BY_ID), "(1, 'id-42')", "scim_users_pkey", "scim_id ="),
            (select_user(USER_BY_NAME), "(1, 'u42')", "scim_users_user_name_uq", "user_name_key ="),
            (select_user(USER_BY_EXTERNAL_ID), "(1, 'x42')", "scim_users_external_id_uq", "external_id ="),
            (select_user(USER_BY_GRAFANA_ID), "(1, 42)", "scim_users_grafana_id_uq", "grafana_user_id ="),
            (
                select_user_beside_grafana(USERS_BY_GRAFANA_IDS),
                "(1, '{41,42}')",
                "scim_users_grafana_id_uq",
                "grafana_user_id = ANY",
            ),
            (select_user(USERS_BY_IDS), "(1, '{id-41,id-42}')", "scim_users_pkey", "scim_id = ANY"),
            (select_user(MANAGED_USERS_BY_EMAIL), "('u42@e.example')", "scim_users_email_idx", "email ="),
            (select_user(USERS_BY_NAME_ANY_ORG), "('u42')", "scim_users_user_name_uq", "user_name_key ="),
            (
                select_user(USERS_BY_EXTERNAL_ID_ANY_ORG),
                "('x42')",
                "scim_users_external_id_uq",
                "external_id =",
            ),
            (
                select_user(MANAGED_USERS_BY_EXTERNAL_ID_FOLDED),
                "('X42')",
                "scim_users_external_id_folded_idx",
                "lower(",
            ),
            (select_user(USERS_OF_GRAFANA_USER), "(42)", "scim_users_grafana_id_uq", "grafana_user_id ="),
            (users_claiming(), "(1, 'u42', 'x42')", "scim_users_user_name_uq", "user_name_key ="),
            (users_claiming(), "(1, 'u42', 'x42')", "scim_users_external_id_uq", "external_id ="),
            (create_lookups().into(), "(1, 'u42', 'x42')", "scim_users_user_name_uq", "user_name_key ="),
            (create_lookups().into(), "(1, 'u42', 'x42')", "scim_users_external_id_uq", "external_id ="),
            (create_lookups().into(), "(1, 'u42', 'X42')", "scim_users_external_id_folded_idx", "lower("),
            (select_group(GROUP_BY_ID), "(1, 'g-42')", "scim_groups_pkey", "scim_id ="),
            (select_group(GROUP_BY_NAME), "(1, 't42')", "scim_groups_display_name_uq", "display_name_key ="),
            (select_group(GROUP_BY_EXTERNAL_ID), "(1, 'x42')", "scim_groups_external_id_uq", "external_id ="),
            (select_group(GROUP_BY_GRAFANA_ID), "(1, 42)", "scim_groups_grafana_id_uq", "grafana_team_id ="),
            (
                select_group(GROUPS_BY_GRAFANA_IDS),
                "(1, '{41,42}')",
                "scim_groups_grafana_id_uq",
                "grafana_team_id = ANY",
            ),
            (select_user(&users_detached_page()), "(1, 10, 0)", "scim_users_detached_idx", "org_id ="),
            (sql::COUNT_DETACHED_USERS.into(), "(1)", "scim_users_detached_idx", "org_id ="),
            (sql::DELETE_USER.into(), "(1, 'id-42')", "scim_users_pkey", "scim_id ="),
            (sql::DELETE_GROUP.into(), "(1, 'g-42')", "scim_groups_pkey", "scim_id ="),
            (sql::IS_MANAGED_USER.into(), "(42)", "scim_users_grafana_id_uq", "grafana_user_id ="),
            (sql::IS_MANAGED_UID.into(), "('uid-42')", "scim_users_managed_uid_idx", "grafana_uid ="),
            (sql::IS_MANAGED_TEAM_PG.into(), "(42)", "scim_groups_grafana_id_uq", "grafana_team_id ="),
            (
                select_user(sql::PENDING_TEAM_MEMBERS),
                "(1, 42)",
                "scim_pending_team_members_pkey",
                "grafana_team_id =",
            ),
        ];
        for (i, (statement, args, _, _)) in cases.iter().enumerate() {
            conn.batch_execute(&format!("PREPARE q{i} AS {statement}; EXECUTE q{i}{args}")).await.unwrap();
        }
        conn.batch_execute(
            "INSERT INTO scim_users (scim_id, org_id, grafana_user_id, user_name, user_name_key, external_id, \
             email, active, deleted, managed, attributes, created, last_modified, version) \
             SELECT 'id-' || i, 1, i, 'u' || i, 'u' || i, 'x' || i, 'u' || i || '@e.example', true, false, \
             true, '{}', 0, 0, 1 FROM generate_series(1, 5000) AS i; \
             INSERT INTO scim_groups (scim_id, org_id, grafana_team_id, display_name, display_name_key, \
             external_id, deleted, attributes, created, last_modified, version) \
             SELECT 'g-' || i, 1, i, 'T' || i, 't' || i, 'x' || i, false, '{}', 0, 0, 1 \
             FROM generate_series(1, 5000) AS i",
        )
        .await
        .unwrap();
        for (i, (statement, args, index, key)) in cases.iter().enumerate() {
            let rows = conn.query(&format!("EXPLAIN EXECUTE q{i}{args}"), &[]).await.unwrap();
            let plan: Vec<String> = rows.iter().map(|r| r.get::<_, String>(0)).collect();
            assert!(plan.iter().any(|l| l.contains('$')), "not a generic plan for {statement}:\n{plan:#?}");
            assert!(!plan.iter().any(|l| l.contains("Seq Scan")), "{statement}:\n{plan:#?}");
            // The node that reads `index` is searched by `key` (not merely by org_id).
            let at = plan.iter().position(|l| l.contains(index));
            let searched = at.and_then(|at| plan.get(at + 1)).is_some_and(|l| l.contains(key));
            assert!(searched, "{statement} must search {index} by {key}:\n{plan:#?}");
        }
        drop(conn);
        scratch.close().await;
    }
}
