//! Step 7 on both backends: pending team memberships.
//!
//! Pending team memberships: the teams a deactivated user's restore state remembers for
//! the record's own org (`orgs[].teams` of that org, and the legacy top-level `teams` of
//! a `removed_from_org` state), one row per (org, team, user), so a group's read finds
//! them by key instead of decoding every deactivated user's JSON. Triggers keep the rows
//! equal to `restore` in the same statement (hence transaction) as every write of it;
//! the rows of existing records are filled in here.
//!
//! On PostgreSQL, `scim_pending_teams` is the one definition of which remembered teams are
//! pending (the trigger and the fill both use it).

/// SQLite's step 7.
pub(super) const SQLITE: &str = "
CREATE TABLE scim_pending_team_members (
    org_id INTEGER NOT NULL,
    grafana_team_id INTEGER NOT NULL,
    scim_user_id TEXT NOT NULL,
    PRIMARY KEY (org_id, grafana_team_id, scim_user_id)
) WITHOUT ROWID;
CREATE INDEX scim_pending_team_members_user_idx ON scim_pending_team_members (scim_user_id);
CREATE TRIGGER scim_pending_team_members_ins AFTER INSERT ON scim_users
WHEN NEW.restore IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO scim_pending_team_members (org_id, grafana_team_id, scim_user_id)
    SELECT NEW.org_id, t.value, NEW.scim_id FROM json_each(NEW.restore, '$.orgs') o, json_each(o.value, '$.teams') t
        WHERE o.type = 'object' AND json_extract(o.value, '$.org') = NEW.org_id AND t.type = 'integer'
    UNION SELECT NEW.org_id, t.value, NEW.scim_id FROM json_each(NEW.restore, '$.teams') t
        WHERE json_extract(NEW.restore, '$.mode') = 'removed_from_org' AND t.type = 'integer';
END;
CREATE TRIGGER scim_pending_team_members_upd AFTER UPDATE ON scim_users
WHEN OLD.restore IS NOT NEW.restore OR OLD.org_id <> NEW.org_id OR OLD.scim_id <> NEW.scim_id
BEGIN
    DELETE FROM scim_pending_team_members WHERE scim_user_id = OLD.scim_id;
    INSERT OR IGNORE INTO scim_pending_team_members (org_id, grafana_team_id, scim_user_id)
    SELECT NEW.org_id, t.value, NEW.scim_id FROM json_each(NEW.restore, '$.orgs') o, json_each(o.value, '$.teams') t
        WHERE o.type = 'object' AND json_extract(o.value, '$.org') = NEW.org_id AND t.type = 'integer'
    UNION SELECT NEW.org_id, t.value, NEW.scim_id FROM json_each(NEW.restore, '$.teams') t
        WHERE json_extract(NEW.restore, '$.mode') = 'removed_from_org' AND t.type = 'integer';
END;
CREATE TRIGGER scim_pending_team_members_del AFTER DELETE ON scim_users
BEGIN
    DELETE FROM scim_pending_team_members WHERE scim_user_id = OLD.scim_id;
END;
INSERT OR IGNORE INTO scim_pending_team_members (org_id, grafana_team_id, scim_user_id)
SELECT u.org_id, t.value, u.scim_id FROM scim_users u, json_each(u.restore, '$.orgs') o, json_each(o.value, '$.teams') t
    WHERE u.restore IS NOT NULL AND o.type = 'object' AND json_extract(o.value, '$.org') = u.org_id
    AND t.type = 'integer'
UNION SELECT u.org_id, t.value, u.scim_id FROM scim_users u, json_each(u.restore, '$.teams') t
    WHERE u.restore IS NOT NULL AND json_extract(u.restore, '$.mode') = 'removed_from_org' AND t.type = 'integer';
";

/// PostgreSQL's step 7.
pub(super) const POSTGRES: &str = "
CREATE TABLE scim_pending_team_members (
    org_id BIGINT NOT NULL,
    grafana_team_id BIGINT NOT NULL,
    scim_user_id TEXT NOT NULL,
    CONSTRAINT scim_pending_team_members_pkey PRIMARY KEY (org_id, grafana_team_id, scim_user_id)
);
CREATE INDEX scim_pending_team_members_user_idx ON scim_pending_team_members (scim_user_id);
CREATE FUNCTION scim_pending_teams(org BIGINT, restore TEXT) RETURNS SETOF BIGINT
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT (t.value #>> '{}')::BIGINT
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(restore::jsonb -> 'orgs') = 'array'
            THEN restore::jsonb -> 'orgs' ELSE '[]'::jsonb END) o,
        jsonb_array_elements(CASE WHEN jsonb_typeof(o.value -> 'teams') = 'array'
            THEN o.value -> 'teams' ELSE '[]'::jsonb END) t
    WHERE jsonb_typeof(o.value) = 'object' AND (o.value ->> 'org') = org::TEXT
        AND jsonb_typeof(t.value) = 'number'
    UNION
    SELECT (t.value #>> '{}')::BIGINT
    FROM jsonb_array_elements(CASE WHEN (restore::jsonb ->> 'mode') = 'removed_from_org'
            AND jsonb_typeof(restore::jsonb -> 'teams') = 'array'
            THEN restore::jsonb -> 'teams' ELSE '[]'::jsonb END) t
    WHERE jsonb_typeof(t.value) = 'number'
$fn$;
CREATE FUNCTION scim_pending_team_members_sync() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.restore IS NOT DISTINCT FROM NEW.restore AND OLD.org_id = NEW.org_id
        AND OLD.scim_id = NEW.scim_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM scim_pending_team_members WHERE scim_user_id = OLD.scim_id;
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.restore IS NOT NULL THEN
        INSERT INTO scim_pending_team_members (org_id, grafana_team_id, scim_user_id)
        SELECT NEW.org_id, team, NEW.scim_id FROM scim_pending_teams(NEW.org_id, NEW.restore) AS team
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER scim_pending_team_members_sync AFTER INSERT OR UPDATE OR DELETE ON scim_users
    FOR EACH ROW EXECUTE FUNCTION scim_pending_team_members_sync();
INSERT INTO scim_pending_team_members (org_id, grafana_team_id, scim_user_id)
SELECT u.org_id, team, u.scim_id FROM scim_users u, scim_pending_teams(u.org_id, u.restore) AS team
WHERE u.restore IS NOT NULL
ON CONFLICT DO NOTHING;
";
