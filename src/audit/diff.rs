//! Changed fields between two SCIM representations of one resource (RFC 7643 §2.1 attribute
//! paths), pure.
//!
//! `id`, `meta` and `schemas` are the sidecar's bookkeeping and are skipped; `password` is never
//! recorded (SCIM never returns it, and a PATCH that sets it shows as no attribute change).
//! Complex attributes are walked (`name.givenName`; an extension's attributes as
//! `urn:…:User:department`), `emails` is compared by its primary value (`emails[primary]`, the
//! whole list only when the rest changed), and `members` records the member ids removed (before)
//! and added (after) rather than both lists.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::record::Change;

/// Attributes that are never diffed.
const SKIPPED: &[&str] = &["id", "meta", "schemas", "password"];

/// The changes from `before` to `after` (either may be `Null`: a create or a delete).
pub fn changes(before: &Value, after: &Value) -> Vec<Change> {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut out = Vec::new();
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort_unstable();
    keys.dedup();
    for key in keys {
        if SKIPPED.iter().any(|s| s.eq_ignore_ascii_case(key)) {
            continue;
        }
        let (bv, av) = (b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
        if bv == av {
            continue;
        }
        if key.eq_ignore_ascii_case("members") {
            members(bv, av, &mut out);
        } else if key.eq_ignore_ascii_case("emails") {
            emails(bv, av, &mut out);
        } else {
            walk(key, key.starts_with("urn:"), bv, av, &mut out);
        }
    }
    out
}

fn walk(path: &str, extension: bool, before: &Value, after: &Value, out: &mut Vec<Change>) {
    if before == after {
        return;
    }
    let is_obj = |v: &Value| v.is_object() || v.is_null();
    if (before.is_object() || after.is_object()) && is_obj(before) && is_obj(after) {
        let empty = Map::new();
        let b = before.as_object().unwrap_or(&empty);
        let a = after.as_object().unwrap_or(&empty);
        let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            if key.eq_ignore_ascii_case("password") {
                continue;
            }
            let mut child = String::with_capacity(path.len() + 1 + key.len());
            child.push_str(path);
            child.push(if extension { ':' } else { '.' });
            child.push_str(key);
            let (bv, av) = (b.get(key).unwrap_or(&Value::Null), a.get(key).unwrap_or(&Value::Null));
            walk(&child, false, bv, av, out);
        }
        return;
    }
    out.push(Change { field: path.to_owned(), before: before.clone(), after: after.clone() });
}

/// The primary email (or the only/first one) of an `emails` list.
fn primary_email(list: &Value) -> Value {
    let Some(items) = list.as_array() else { return Value::Null };
    items
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| items.first())
        .and_then(|e| e.get("value"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn emails(before: &Value, after: &Value, out: &mut Vec<Change>) {
    let (b, a) = (primary_email(before), primary_email(after));
    if b != a {
        out.push(Change { field: "emails[primary]".into(), before: b, after: a });
    } else {
        out.push(Change { field: "emails".into(), before: before.clone(), after: after.clone() });
    }
}

fn member_ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .map(|items| {
            items.iter().filter_map(|m| m.get("value").and_then(Value::as_str)).map(str::to_owned).collect()
        })
        .unwrap_or_default()
}

fn members(before: &Value, after: &Value, out: &mut Vec<Change>) {
    let (b, a) = (member_ids(before), member_ids(after));
    let removed: Vec<Value> = b.difference(&a).cloned().map(Value::String).collect();
    let added: Vec<Value> = a.difference(&b).cloned().map(Value::String).collect();
    if removed.is_empty() && added.is_empty() {
        return;
    }
    let list = |v: Vec<Value>| if v.is_empty() { Value::Null } else { Value::Array(v) };
    out.push(Change { field: "members".into(), before: list(removed), after: list(added) });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(c: &[Change]) -> Vec<&str> {
        c.iter().map(|c| c.field.as_str()).collect()
    }

    #[test]
    fn a_create_lists_every_attribute_but_bookkeeping_and_passwords() {
        let after = json!({"id": "x", "meta": {}, "schemas": [], "userName": "a", "password": "p",
            "name": {"givenName": "A", "familyName": "B"}, "active": true});
        let c = changes(&Value::Null, &after);
        assert_eq!(fields(&c), ["active", "name.familyName", "name.givenName", "userName"]);
        assert_eq!(c[3].after, json!("a"));
        assert!(c[3].before.is_null());
    }

    #[test]
    fn emails_compare_by_primary_and_extensions_use_urn_paths() {
        let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let before = json!({"emails": [{"value": "a@x", "primary": true}], ext: {"department": "d1"}});
        let after = json!({"emails": [{"value": "b@x", "primary": true}], ext: {"department": "d2"}});
        let c = changes(&before, &after);
        assert_eq!(fields(&c), ["emails[primary]", &format!("{ext}:department")]);
        assert_eq!((c[0].before.clone(), c[0].after.clone()), (json!("a@x"), json!("b@x")));
    }

    #[test]
    fn members_record_removed_and_added_ids_only() {
        let before = json!({"members": [{"value": "1"}, {"value": "2"}]});
        let after = json!({"members": [{"value": "2"}, {"value": "3"}]});
        let c = changes(&before, &after);
        assert_eq!(c, vec![Change { field: "members".into(), before: json!(["1"]), after: json!(["3"]) }]);
    }

    #[test]
    fn equal_representations_have_no_changes() {
        let v = json!({"userName": "a", "meta": {"version": "1"}});
        let w = json!({"userName": "a", "meta": {"version": "2"}});
        assert!(changes(&v, &w).is_empty());
    }
}
