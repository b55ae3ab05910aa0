//! Fuzz target: the Go-style JSON reader (`go_json`) must never panic, must read exactly
//! the documents serde_json reads as a first value that is an object, must give each field the
//! value of the last key that folds to it, and its case folding must agree with ASCII case
//! folding and with Go's rune-by-rune folding on the field names guards read.
#![cfg_attr(feature = "libfuzzer", no_main)]

use scim_sidecar::go_json::{folds_equal, Members};
use serde_json::Value;

/// Field names the guards look up (`guard::policy_rules`, `guard::teams`, `guard::iam::refs`).
const FIELDS: &[&str] = &[
    "settings",
    "enabled",
    "name",
    "updates",
    "removals",
    "auth.saml",
    "externalGroups",
    "op",
    "value",
    "spec",
];

fn run(data: &[u8]) {
    let members = Members::of_body(data);
    let first = serde_json::Deserializer::from_slice(data).into_iter::<Value>().next();
    match (&members, &first) {
        (Some(m), Some(Ok(Value::Object(obj)))) => {
            for (k, v) in obj {
                let got = m.field(k).unwrap_or_else(|| panic!("key {k:?} of {obj:?} not found"));
                // serde_json keeps the last value of an exact duplicate; when no other key folds to
                // `k`, that is the value Go would store.
                if obj.keys().filter(|o| folds_equal(o, k)).count() == 1 {
                    assert_eq!(got, v, "field {k:?}");
                }
            }
            for f in FIELDS {
                let keys: Vec<&String> = obj.keys().filter(|k| folds_equal(k, f)).collect();
                assert_eq!(m.field(f).is_some(), !keys.is_empty(), "field {f:?}");
                for k in keys {
                    // Go compares rune by rune (simple folding): a matching key has as many runes.
                    assert_eq!(k.chars().count(), f.chars().count(), "{k:?} folds to {f:?}");
                }
            }
        }
        (Some(_), other) => panic!("go_json read an object serde_json did not: {other:?}"),
        (None, Some(Ok(Value::Object(obj)))) => panic!("go_json refused the object {obj:?}"),
        (None, _) => {}
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let (a, b) = text.split_once('\0').unwrap_or((text, ""));
        assert!(folds_equal(a, a));
        assert_eq!(folds_equal(a, b), folds_equal(b, a));
        if a.is_ascii() && b.is_ascii() {
            assert_eq!(folds_equal(a, b), a.eq_ignore_ascii_case(b), "{a:?} vs {b:?}");
        }
    }
}

#[cfg(feature = "libfuzzer")]
libfuzzer_sys::fuzz_target!(|data: &[u8]| run(data));

#[cfg(not(feature = "libfuzzer"))]
#[path = "replay.rs"]
mod replay;

#[cfg(not(feature = "libfuzzer"))]
fn main() {
    replay::replay(run);
}
