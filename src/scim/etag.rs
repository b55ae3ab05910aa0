//! Weak ETags from the representation and `If-Match` / `If-None-Match` checks (RFC 7644 §3.14).
//!
//! The tag hashes the resource without `meta` (which carries the tag itself and timestamps),
//! with object keys sorted, so equal content always yields the same tag.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::ScimError;

/// `W/"<32 hex>"` for `resource`.
pub fn weak_etag(resource: &Value) -> String {
    let mut text = Vec::with_capacity(1024);
    canonical(&mut text, resource, true);
    tag_of_canonical(&text)
}

/// The tag of a resource whose canonical text (see [`weak_etag`]) a caller wrote itself.
pub fn tag_of_canonical(text: &[u8]) -> String {
    let digest = Sha256::digest(text);
    let mut hex = [0u8; 32];
    // 16 bytes always fit 32 hex digits, which are ASCII.
    let _ = hex::encode_to_slice(&digest[..16], &mut hex);
    let mut tag = String::with_capacity(36);
    tag.push_str("W/\"");
    tag.push_str(std::str::from_utf8(&hex).unwrap_or_default());
    tag.push('"');
    tag
}

/// Writes `v` into `out` as compact JSON with sorted object keys and a comma after every member
/// (`meta` left out at the top): the text the tag hashes. Strings and numbers are spelled as
/// `serde_json::to_string` would. One buffer hashed once, rather than the hash fed a few bytes
/// at a time (a user document is about sixty pieces).
fn canonical(out: &mut Vec<u8>, v: &Value, top: bool) {
    match v {
        Value::Object(m) => {
            // Members rather than keys: sorted pairs need no lookup (a hash) per key.
            let mut members: Vec<(&String, &Value)> =
                m.iter().filter(|(k, _)| !(top && k.as_str() == "meta")).collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (k, x) in members {
                json_into(out, k);
                out.push(b':');
                canonical(out, x, false);
                out.push(b',');
            }
            out.push(b'}');
        }
        Value::Array(a) => {
            out.push(b'[');
            for x in a {
                canonical(out, x, false);
                out.push(b',');
            }
            out.push(b']');
        }
        other => json_into(out, other),
    }
}

/// Appends `v`'s compact JSON to `out`.
fn json_into<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Serializing a `String` or a `Value` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, v);
}

fn opaque(tag: &str) -> &str {
    let t = tag.trim();
    t.strip_prefix("W/").unwrap_or(t)
}

fn any_matches(header: &str, current: &str) -> bool {
    header.split(',').map(str::trim).any(|t| t == "*" || (!t.is_empty() && opaque(t) == opaque(current)))
}

/// `If-Match` on PUT/PATCH/DELETE: absent or matching (weak comparison) passes; otherwise 412.
pub fn if_match(header: Option<&str>, current: &str) -> Result<(), ScimError> {
    match header {
        None => Ok(()),
        Some(h) if any_matches(h, current) => Ok(()),
        Some(_) => Err(ScimError::precondition_failed("resource version does not match If-Match")),
    }
}

/// `If-None-Match` on GET: true when the client's copy is current (answer 304).
pub fn if_none_match(header: Option<&str>, current: &str) -> bool {
    header.is_some_and(|h| any_matches(h, current))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Tags already handed to IdPs stay valid: the hashed text is pinned (computed apart from
    /// this code, as compact JSON with sorted keys and a comma after every member).
    #[test]
    fn tag_of_a_known_document_is_stable() {
        let doc = json!({"userName": "Zo\u{eb} \"q\" \\ tab\t", "id": "2819c223", "active": true, "x": null,
            "n": 42, "emails": [{"value": "a@b.c", "primary": false}], "meta": {"version": "W/\"x\""}});
        assert_eq!(weak_etag(&doc), "W/\"a852db37684627416764a4d02f0b95e0\"");
    }

    #[test]
    fn tag_ignores_meta_and_key_order() {
        let a = weak_etag(&json!({"id":"1","userName":"a","meta":{"version":"x"}}));
        let b = weak_etag(&json!({"userName":"a","id":"1"}));
        assert_eq!(a, b);
        assert!(a.starts_with("W/\"") && a.ends_with('"'));
        assert_ne!(a, weak_etag(&json!({"id":"1","userName":"b"})));
    }

    #[test]
    fn preconditions() {
        let t = weak_etag(&json!({"id":"1"}));
        assert!(if_match(None, &t).is_ok());
        assert!(if_match(Some("*"), &t).is_ok());
        assert!(if_match(Some(&format!("W/\"nope\", {t}")), &t).is_ok());
        assert_eq!(if_match(Some("W/\"nope\""), &t).unwrap_err().status, 412);
        assert!(if_none_match(Some(&t), &t));
        assert!(!if_none_match(Some("W/\"other\""), &t));
        assert!(!if_none_match(None, &t));
    }
}
