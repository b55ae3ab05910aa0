//! Numbered schema migrations for both backends.
//!
//! Each step runs in its own transaction that also bumps `schema_version`, so a crash leaves the
//! database at a whole step. A database whose version is newer than [`LATEST`] is refused: an
//! older binary must not write rows it does not understand. Steps are SQL constants rather than
//! files so the binary is self-contained.

mod audit_log;
mod pending_members;

/// One numbered step.
#[derive(Debug, Clone, Copy)]
pub struct Step {
    pub version: i64,
    pub sql: &'static str,
}

/// The newest schema version this binary knows.
pub const LATEST: i64 = 9;

/// SQLite steps. The unique indexes carry the names from [`super::constraints`].
pub const SQLITE: &[Step] = &[
    Step {
        version: 1,
        sql: "
CREATE TABLE scim_users (
    scim_id TEXT NOT NULL PRIMARY KEY,
    org_id INTEGER NOT NULL,
    grafana_user_id INTEGER NOT NULL,
    grafana_uid TEXT,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id TEXT,
    email TEXT,
    active INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    managed INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    restore TEXT,
    created INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX scim_users_user_name_uq ON scim_users (org_id, user_name_key);
CREATE UNIQUE INDEX scim_users_external_id_uq ON scim_users (org_id, external_id);
CREATE UNIQUE INDEX scim_users_grafana_id_uq ON scim_users (org_id, grafana_user_id);
CREATE INDEX scim_users_email_idx ON scim_users (email);
CREATE INDEX scim_users_name_any_org_idx ON scim_users (user_name_key);
CREATE INDEX scim_users_managed_idx ON scim_users (grafana_user_id) WHERE managed = 1;
CREATE TABLE scim_groups (
    scim_id TEXT NOT NULL PRIMARY KEY,
    org_id INTEGER NOT NULL,
    grafana_team_id INTEGER NOT NULL,
    grafana_team_uid TEXT,
    display_name TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id TEXT,
    deleted INTEGER NOT NULL,
    attributes TEXT NOT NULL,
    created INTEGER NOT NULL,
    last_modified INTEGER NOT NULL,
    version INTEGER NOT NULL
);
CREATE UNIQUE INDEX scim_groups_display_name_uq ON scim_groups (org_id, display_name_key);
CREATE UNIQUE INDEX scim_groups_external_id_uq ON scim_groups (org_id, external_id);
CREATE UNIQUE INDEX scim_groups_grafana_id_uq ON scim_groups (org_id, grafana_team_id);
CREATE INDEX scim_groups_team_idx ON scim_groups (grafana_team_id) WHERE deleted = 0;
",
    },
    Step {
        version: 2,
        // The passthrough guard's probes (`sql::IS_MANAGED_*`) say `managed` and `NOT deleted`;
        // SQLite uses a partial index only when the query repeats its condition, so version 1's
        // `= 1` / `= 0` forms left those probes scanning the table. Also indexes uids.
        sql: "
DROP INDEX scim_users_managed_idx;
CREATE INDEX scim_users_managed_idx ON scim_users (grafana_user_id) WHERE managed;
DROP INDEX scim_groups_team_idx;
CREATE INDEX scim_groups_team_idx ON scim_groups (grafana_team_id) WHERE NOT deleted;
CREATE INDEX scim_users_managed_uid_idx ON scim_users (grafana_uid) WHERE managed;
",
    },
    Step {
        version: 3,
        // Fewer b-trees per insert (every index is one more page written and checkpointed per
        // create): the unique indexes on name and Grafana id lead with the looked-up column, so
        // they also serve the any-org lookups that had indexes of their own. `managed` probes
        // read the one or two rows per Grafana id that the unique index finds. Detached users
        // (`sql::DETACHED_USERS`, counted on every unfiltered page) get a partial index holding
        // only them: the count had walked the whole org, 8 ms a page at 20,000 users. It also
        // carries the columns of its condition, so the count reads the index alone; without them
        // the planner preferred walking the org through `scim_users_external_id_uq`.
        sql: "
DROP INDEX scim_users_name_any_org_idx;
DROP INDEX scim_users_managed_idx;
DROP INDEX scim_users_user_name_uq;
CREATE UNIQUE INDEX scim_users_user_name_uq ON scim_users (user_name_key, org_id);
DROP INDEX scim_users_grafana_id_uq;
CREATE UNIQUE INDEX scim_users_grafana_id_uq ON scim_users (grafana_user_id, org_id);
CREATE INDEX scim_users_detached_idx ON scim_users (org_id, user_name_key, scim_id, managed, deleted, restore)
    WHERE managed AND NOT deleted AND restore LIKE '%\"removed_from_org\"%';
",
    },
    Step {
        version: 4,
        // No index leads with `org_id` any more (but the detached users' partial one): every
        // unique index leads with the looked-up column. PostgreSQL plans each lookup once, without
        // its values, and an index whose first column is the org looked as good as the right one
        // on a young table: it walked the org (`postgres::lookups`). The schemas stay alike on
        // both backends. The managed-team probe reads the one or two rows per team id that the
        // unique index finds, as the managed-user probe has since step 3.
        sql: "
DROP INDEX scim_users_external_id_uq;
CREATE UNIQUE INDEX scim_users_external_id_uq ON scim_users (external_id, org_id);
DROP INDEX scim_groups_display_name_uq;
CREATE UNIQUE INDEX scim_groups_display_name_uq ON scim_groups (display_name_key, org_id);
DROP INDEX scim_groups_external_id_uq;
CREATE UNIQUE INDEX scim_groups_external_id_uq ON scim_groups (external_id, org_id);
DROP INDEX scim_groups_grafana_id_uq;
CREATE UNIQUE INDEX scim_groups_grafana_id_uq ON scim_groups (grafana_team_id, org_id);
DROP INDEX scim_groups_team_idx;
",
    },
    Step {
        version: 5,
        // A user first seen in a listing (an IdP's import of existing Grafana users) has no
        // `externalId`, and only managed users are looked up by email (the login gate and the
        // `emails.value` filter decide on managed records). Those two indexes now hold only the
        // rows they answer for, so recording a page of first sightings writes four b-trees per
        // row instead of six. NULLs never collided, so uniqueness is unchanged.
        sql: "
DROP INDEX scim_users_external_id_uq;
CREATE UNIQUE INDEX scim_users_external_id_uq ON scim_users (external_id, org_id) WHERE external_id IS NOT NULL;
DROP INDEX scim_users_email_idx;
CREATE INDEX scim_users_email_idx ON scim_users (email) WHERE managed;
",
    },
    Step {
        version: 6,
        // An externalId belongs to one person: a create or update checks who holds it in any
        // org, ignoring ASCII case (stricter than the login gate's exact match), among managed
        // records. SQLite's `lower` folds ASCII letters only. The triggers make the database
        // the last word (two writers, two replicas): a managed row may not take an externalId
        // (or keep one while changing person) that a managed row of another Grafana user holds.
        // Rows whose key, person and managed flag are unchanged pass (a deactivation never fails
        // on rows written before this rule). The message names the unique key's column, so it
        // maps to `scim_users_external_id_uq`.
        sql: "
CREATE INDEX scim_users_external_id_folded_idx ON scim_users (lower(external_id)) WHERE managed;
CREATE TRIGGER scim_users_external_id_person_ins BEFORE INSERT ON scim_users
WHEN NEW.managed AND NEW.external_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: scim_users.external_id')
    WHERE EXISTS (SELECT 1 FROM scim_users WHERE lower(external_id) = lower(NEW.external_id)
        AND managed AND grafana_user_id <> NEW.grafana_user_id);
END;
CREATE TRIGGER scim_users_external_id_person_upd BEFORE UPDATE ON scim_users
WHEN NEW.managed AND NEW.external_id IS NOT NULL AND (OLD.external_id IS NOT NEW.external_id
    OR NOT OLD.managed OR OLD.grafana_user_id <> NEW.grafana_user_id)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: scim_users.external_id')
    WHERE EXISTS (SELECT 1 FROM scim_users WHERE lower(external_id) = lower(NEW.external_id)
        AND managed AND grafana_user_id <> NEW.grafana_user_id);
END;
",
    },
    Step {
        version: 7,
        // Pending team memberships (`pending_members`).
        sql: pending_members::SQLITE,
    },
    Step {
        version: 8,
        // The audit log (`audit_log`).
        sql: audit_log::SQLITE,
    },
    Step {
        version: 9,
        // The externalId person check (step 6) looks at the OTHER rows holding the key: a row
        // whose own Grafana id changes (`reconcile --apply` recreating a user gone from Grafana,
        // or created in shadow mode) no longer collides with its old self.
        sql: "
DROP TRIGGER scim_users_external_id_person_ins;
DROP TRIGGER scim_users_external_id_person_upd;
CREATE TRIGGER scim_users_external_id_person_ins BEFORE INSERT ON scim_users
WHEN NEW.managed AND NEW.external_id IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: scim_users.external_id')
    WHERE EXISTS (SELECT 1 FROM scim_users WHERE lower(external_id) = lower(NEW.external_id)
        AND managed AND grafana_user_id <> NEW.grafana_user_id);
END;
CREATE TRIGGER scim_users_external_id_person_upd BEFORE UPDATE ON scim_users
WHEN NEW.managed AND NEW.external_id IS NOT NULL AND (OLD.external_id IS NOT NEW.external_id
    OR NOT OLD.managed OR OLD.grafana_user_id <> NEW.grafana_user_id)
BEGIN
    SELECT RAISE(ABORT, 'UNIQUE constraint failed: scim_users.external_id')
    WHERE EXISTS (SELECT 1 FROM scim_users WHERE lower(external_id) = lower(NEW.external_id)
        AND managed AND grafana_user_id <> NEW.grafana_user_id
        AND NOT (org_id = NEW.org_id AND scim_id = NEW.scim_id));
END;
",
    },
];

/// PostgreSQL steps; the same shape with native types.
pub const POSTGRES: &[Step] = &[
    Step {
        version: 1,
        sql: "
CREATE TABLE scim_users (
    scim_id TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    grafana_user_id BIGINT NOT NULL,
    grafana_uid TEXT,
    user_name TEXT NOT NULL,
    user_name_key TEXT NOT NULL,
    external_id TEXT,
    email TEXT,
    active BOOLEAN NOT NULL,
    deleted BOOLEAN NOT NULL,
    managed BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    restore TEXT,
    created BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    version BIGINT NOT NULL,
    CONSTRAINT scim_users_pkey PRIMARY KEY (scim_id),
    CONSTRAINT scim_users_user_name_uq UNIQUE (org_id, user_name_key),
    CONSTRAINT scim_users_external_id_uq UNIQUE (org_id, external_id),
    CONSTRAINT scim_users_grafana_id_uq UNIQUE (org_id, grafana_user_id)
);
CREATE INDEX scim_users_email_idx ON scim_users (email);
CREATE INDEX scim_users_name_any_org_idx ON scim_users (user_name_key);
CREATE INDEX scim_users_managed_idx ON scim_users (grafana_user_id) WHERE managed;
CREATE TABLE scim_groups (
    scim_id TEXT NOT NULL,
    org_id BIGINT NOT NULL,
    grafana_team_id BIGINT NOT NULL,
    grafana_team_uid TEXT,
    display_name TEXT NOT NULL,
    display_name_key TEXT NOT NULL,
    external_id TEXT,
    deleted BOOLEAN NOT NULL,
    attributes TEXT NOT NULL,
    created BIGINT NOT NULL,
    last_modified BIGINT NOT NULL,
    version BIGINT NOT NULL,
    CONSTRAINT scim_groups_pkey PRIMARY KEY (scim_id),
    CONSTRAINT scim_groups_display_name_uq UNIQUE (org_id, display_name_key),
    CONSTRAINT scim_groups_external_id_uq UNIQUE (org_id, external_id),
    CONSTRAINT scim_groups_grafana_id_uq UNIQUE (org_id, grafana_team_id)
);
CREATE INDEX scim_groups_team_idx ON scim_groups (grafana_team_id) WHERE NOT deleted;
",
    },
    Step {
        version: 2,
        sql: "CREATE INDEX scim_users_managed_uid_idx ON scim_users (grafana_uid) WHERE managed;",
    },
    Step {
        version: 3,
        // As SQLite's step 3: unique constraints that lead with the looked-up column replace the
        // separate any-org indexes, and detached users get a partial index.
        sql: "
DROP INDEX scim_users_name_any_org_idx;
DROP INDEX scim_users_managed_idx;
ALTER TABLE scim_users DROP CONSTRAINT scim_users_user_name_uq,
    ADD CONSTRAINT scim_users_user_name_uq UNIQUE (user_name_key, org_id);
ALTER TABLE scim_users DROP CONSTRAINT scim_users_grafana_id_uq,
    ADD CONSTRAINT scim_users_grafana_id_uq UNIQUE (grafana_user_id, org_id);
CREATE INDEX scim_users_detached_idx ON scim_users (org_id, user_name_key, scim_id, managed, deleted, restore)
    WHERE managed AND NOT deleted AND restore LIKE '%\"removed_from_org\"%';
",
    },
    Step {
        version: 4,
        // As SQLite's step 4: unique constraints lead with the looked-up column, so no generic
        // plan can pick an org walk for a lookup (`postgres::lookups`).
        sql: "
ALTER TABLE scim_users DROP CONSTRAINT scim_users_external_id_uq,
    ADD CONSTRAINT scim_users_external_id_uq UNIQUE (external_id, org_id);
ALTER TABLE scim_groups DROP CONSTRAINT scim_groups_display_name_uq,
    ADD CONSTRAINT scim_groups_display_name_uq UNIQUE (display_name_key, org_id),
    DROP CONSTRAINT scim_groups_external_id_uq,
    ADD CONSTRAINT scim_groups_external_id_uq UNIQUE (external_id, org_id),
    DROP CONSTRAINT scim_groups_grafana_id_uq,
    ADD CONSTRAINT scim_groups_grafana_id_uq UNIQUE (grafana_team_id, org_id);
DROP INDEX scim_groups_team_idx;
",
    },
    Step {
        version: 5,
        // As SQLite's step 5. A unique constraint cannot be partial; a unique index under the
        // constraint's name reports the same name on a violation.
        sql: "
ALTER TABLE scim_users DROP CONSTRAINT scim_users_external_id_uq;
CREATE UNIQUE INDEX scim_users_external_id_uq ON scim_users (external_id, org_id) WHERE external_id IS NOT NULL;
DROP INDEX scim_users_email_idx;
CREATE INDEX scim_users_email_idx ON scim_users (email) WHERE managed;
",
    },
    Step {
        version: 6,
        // As SQLite's step 6; `lower` under the `C` collation folds ASCII letters only, as
        // SQLite's does, so both backends find the same holders. The trigger takes a
        // transaction-scoped advisory lock on the folded key before it looks, so of two
        // replicas writing one key the second waits for the first's commit and then sees its row
        // (each statement of a volatile function takes a new snapshot under READ COMMITTED).
        sql: "
CREATE INDEX scim_users_external_id_folded_idx ON scim_users (lower(external_id COLLATE \"C\")) WHERE managed;
CREATE FUNCTION scim_users_external_id_person() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT NEW.managed OR NEW.external_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.managed AND OLD.external_id IS NOT DISTINCT FROM NEW.external_id
        AND OLD.grafana_user_id = NEW.grafana_user_id THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('scim-external-id:' || lower(NEW.external_id COLLATE \"C\")));
    IF EXISTS (SELECT 1 FROM scim_users WHERE lower(external_id COLLATE \"C\") = lower(NEW.external_id COLLATE \"C\")
        AND managed AND grafana_user_id <> NEW.grafana_user_id) THEN
        RAISE EXCEPTION 'externalId held by another person'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'scim_users_external_id_uq';
    END IF;
    RETURN NEW;
END
$fn$;
CREATE TRIGGER scim_users_external_id_person BEFORE INSERT OR UPDATE ON scim_users
    FOR EACH ROW EXECUTE FUNCTION scim_users_external_id_person();
",
    },
    Step {
        version: 7,
        // As SQLite's step 7 (`pending_members`).
        sql: pending_members::POSTGRES,
    },
    Step {
        version: 8,
        // As SQLite's step 8 (`audit_log`).
        sql: audit_log::POSTGRES,
    },
    Step {
        version: 9,
        // As SQLite's step 9: the row being updated is not another holder of its externalId.
        sql: "
CREATE OR REPLACE FUNCTION scim_users_external_id_person() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT NEW.managed OR NEW.external_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.managed AND OLD.external_id IS NOT DISTINCT FROM NEW.external_id
        AND OLD.grafana_user_id = NEW.grafana_user_id THEN
        RETURN NEW;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('scim-external-id:' || lower(NEW.external_id COLLATE \"C\")));
    IF EXISTS (SELECT 1 FROM scim_users WHERE lower(external_id COLLATE \"C\") = lower(NEW.external_id COLLATE \"C\")
        AND managed AND grafana_user_id <> NEW.grafana_user_id
        AND NOT (org_id = NEW.org_id AND scim_id = NEW.scim_id)) THEN
        RAISE EXCEPTION 'externalId held by another person'
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'scim_users_external_id_uq';
    END IF;
    RETURN NEW;
END
$fn$;
",
    },
];

/// The message for a database written by a newer binary.
pub(crate) fn too_new(found: i64) -> super::StoreError {
    super::StoreError::Migration(format!(
        "database schema version {found} is newer than this binary supports ({LATEST}); upgrade the sidecar"
    ))
}

/// Checks that `steps` are numbered 1, 2, … up to [`LATEST`] with no gap.
pub(crate) fn check_contiguous(steps: &[Step]) -> Result<(), String> {
    for (i, step) in steps.iter().enumerate() {
        let want = i as i64 + 1;
        if step.version != want {
            return Err(format!("step {} found where {want} was expected", step.version));
        }
    }
    if steps.last().map(|s| s.version) != Some(LATEST) {
        return Err(format!("steps do not end at LATEST ({LATEST})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_lists_are_contiguous_and_end_at_latest() {
        assert_eq!(check_contiguous(SQLITE), Ok(()));
        assert_eq!(check_contiguous(POSTGRES), Ok(()));
    }

    #[test]
    fn gaps_are_detected() {
        let steps = [Step { version: 1, sql: "" }, Step { version: 3, sql: "" }];
        assert!(check_contiguous(&steps).is_err());
    }
}
