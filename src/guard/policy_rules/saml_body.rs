//! How Grafana reads the SAML `enabled` switch out of a settings write, so the SAML-disable guard
//! judges the value Grafana will act on.
//!
//! The SSO-settings API (`PUT`/`PATCH /api/v1/sso-settings/saml`) binds the body with Go's JSON
//! decoder into a struct whose `settings` field is a map: the field name matches in any case
//! (Unicode folding, [`crate::go_json`]), and when several members match, Go *merges*
//! their objects into the same map (a later `null` clears it). Grafana then rewrites every key
//! with its `strcase.ToSnake` (leading and trailing white space trimmed, ASCII letters lowered,
//! `_` inserted where letter case or digits change, ` `, `-`, `.` turned into `_`), into a Go map
//! whose iteration order is random: `Enabled`, ` enabled ` and `ENABLED` all become `enabled`,
//! and when two keys do, which value survives is chance. Enterprise's runtime settings update
//! (`PUT /api/admin/settings`) merges its `updates` and `removals` maps the same way.
//!
//! Rules, failing closed: a key *means* `enabled` when its snake form is `enabled` or, more
//! broadly than Grafana, when it folds to `enabled` once trimmed; two such keys in one object are
//! ambiguous; only JSON `true` or the exact string `"true"` counts as on.

use serde_json::{Map, Value};

use crate::go_json::{folds_equal, Members};

/// What Go's decoder leaves in a map-typed struct field.
#[derive(Debug, PartialEq)]
pub enum Field {
    /// No member names the field, or the last object was cleared by `null`.
    Absent,
    /// The merged map.
    Map(Map<String, Value>),
}

/// The map-typed field `name` of `body` as Go decodes it: the first JSON value (trailing bytes
/// ignored) must be an object; every member whose key folds to `name` is merged in order. `None`
/// when the body cannot be read so, or a member is neither an object nor `null` (Grafana answers
/// 400; the caller refuses rather than guess).
pub fn map_field(body: &[u8], name: &str) -> Option<Field> {
    let members = Members::of_body(body)?.into_vec();
    let mut merged: Option<Map<String, Value>> = None;
    for (key, value) in members {
        if !folds_equal(&key, name) {
            continue;
        }
        match value {
            Value::Null => merged = None,
            Value::Object(entries) => merged.get_or_insert_with(Map::new).extend(entries),
            _ => return None,
        }
    }
    Some(merged.map_or(Field::Absent, Field::Map))
}

/// The body's top-level object as a Go map would hold it (the last of duplicate keys wins);
/// `None` when the first JSON value is not a readable object.
pub fn top_level(body: &[u8]) -> Option<Map<String, Value>> {
    Some(Members::of_body(body)?.into_vec().into_iter().collect())
}

/// Grafana's `strcase.ToSnake`, rewritten from its documented behaviour (byte-wise; bytes other
/// than ASCII letters, digits and the four separators pass unchanged).
pub fn to_snake(key: &str) -> String {
    let s = key.trim().as_bytes();
    let mut out = Vec::with_capacity(s.len() + 2);
    for (i, &byte) in s.iter().enumerate() {
        let (cap, low) = (byte.is_ascii_uppercase(), byte.is_ascii_lowercase());
        let v = byte.to_ascii_lowercase();
        if let Some(&next) = s.get(i + 1) {
            let num = v.is_ascii_digit();
            let (next_cap, next_low, next_num) =
                (next.is_ascii_uppercase(), next.is_ascii_lowercase(), next.is_ascii_digit());
            if (cap && (next_low || next_num))
                || (low && (next_cap || next_num))
                || (num && (next_cap || next_low))
            {
                if cap && next_low && i > 0 && s[i - 1].is_ascii_uppercase() {
                    out.push(b'_');
                }
                out.push(v);
                if low || num || next_num {
                    out.push(b'_');
                }
                continue;
            }
        }
        out.push(if matches!(v, b' ' | b'_' | b'-' | b'.') { b'_' } else { v });
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether Grafana (or, more broadly, a case-insensitive reader) takes `key` for `enabled`.
pub fn means_enabled(key: &str) -> bool {
    to_snake(key) == "enabled" || folds_equal(key.trim(), "enabled")
}

/// Whether a settings value switches SAML on: JSON `true` or the exact string `"true"` only.
pub fn is_on(value: &Value) -> bool {
    matches!(value, Value::Bool(true)) || value.as_str() == Some("true")
}

/// What a settings object says about `enabled`.
#[derive(Debug, PartialEq, Eq)]
pub enum Enabled {
    /// No key means `enabled`.
    Unset,
    /// Exactly one key means `enabled`, and its value is on.
    On,
    /// Off, unreadable, or ambiguous (several keys mean `enabled`).
    NotOn,
}

/// Reads `enabled` out of one settings object.
pub fn enabled(settings: &Map<String, Value>) -> Enabled {
    let mut values = settings.iter().filter(|(k, _)| means_enabled(k)).map(|(_, v)| v);
    match (values.next(), values.next()) {
        (None, _) => Enabled::Unset,
        (Some(v), None) if is_on(v) => Enabled::On,
        _ => Enabled::NotOn,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_become_snake_case_as_grafana_converts_them() {
        for (key, snake) in [
            ("enabled", "enabled"),
            ("Enabled", "enabled"),
            ("ENABLED", "enabled"),
            (" enabled\t", "enabled"),
            ("\u{a0}Enabled\u{2003}", "enabled"),
            ("eNABLED", "e_nabled"),
            ("ENABLEd", "enabl_ed"),
            ("allowSignUp", "allow_sign_up"),
            ("idpMetadataUrl", "idp_metadata_url"),
            ("JSONData", "json_data"),
            ("maxIssueDelay2", "max_issue_delay_2"),
            ("a.b-c d", "a_b_c_d"),
            ("énabled", "énabled"),
        ] {
            assert_eq!(to_snake(key), snake, "{key:?}");
        }
        for key in ["enabled", "Enabled", "ENABLED", " enabled ", "eNaBlEd", "\u{17f}"] {
            assert_eq!(means_enabled(key), key != "\u{17f}", "{key:?}");
        }
        assert!(!means_enabled("enabled_") && !means_enabled("en abled"));
    }

    #[test]
    fn only_true_is_on_and_two_enabled_keys_are_ambiguous() {
        let read = |v: Value| enabled(v.as_object().unwrap());
        assert_eq!(read(json!({"enabled": true})), Enabled::On);
        assert_eq!(read(json!({"Enabled": "true"})), Enabled::On);
        assert_eq!(read(json!({"name": "x"})), Enabled::Unset);
        for off in
            [json!("True"), json!("TRUE"), json!(" true"), json!(1), json!("1"), json!("yes"), json!(null)]
        {
            assert_eq!(read(json!({ "enabled": off })), Enabled::NotOn, "{off}");
        }
        assert_eq!(read(json!({"enabled": true, " enabled": true})), Enabled::NotOn);
        assert_eq!(read(json!({"enabled": true, "ENABLED": false})), Enabled::NotOn);
    }

    #[test]
    fn map_fields_merge_as_go_decodes_them() {
        let field = |b: &str| map_field(b.as_bytes(), "settings");
        let map = |v: Value| Some(Field::Map(v.as_object().unwrap().clone()));
        assert_eq!(field(r#"{"settings":{"a":1}}"#), map(json!({"a": 1})));
        assert_eq!(
            field(r#"{"settings":{"Enabled":false},"SETTINGS":{"enabled":true}}"#),
            map(json!({"Enabled": false, "enabled": true}))
        );
        assert_eq!(field(r#"{"settings":{"a":1},"settings":{"a":2}}"#), map(json!({"a": 2})));
        assert_eq!(field(r#"{"settings":{"a":1},"Settings":null}"#), Some(Field::Absent));
        assert_eq!(field(r#"{"settings":{"a":1}} {"settings":{}}"#), map(json!({"a": 1})));
        assert_eq!(field(r#"{"id":"x"}"#), Some(Field::Absent));
        assert_eq!(field(r#"{"settings":"off"}"#), None);
        assert_eq!(field("[1]"), None);
        assert_eq!(field(r#"{"settings":{"a":"\ud800"}}"#), None);
        let top = |b: &str| top_level(b.as_bytes()).map(|m| enabled(&m));
        assert_eq!(top(r#"{"Enabled":false,"settings":{}}"#), Some(Enabled::NotOn));
        assert_eq!(top(r#"{"settings":{"enabled":false}}"#), Some(Enabled::Unset));
        assert_eq!(top("[]"), None);
    }
}
