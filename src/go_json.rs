//! Reads a request body's JSON object the way Grafana's `web.Bind` does (Go's `encoding/json`
//! decoder into a struct), so a guard judges the value Grafana will act on.
//!
//! Go decodes the first JSON value and ignores whatever follows it; it matches an object key to a
//! struct field ignoring case (Unicode simple folding: `ſ` is `s`, the Kelvin sign is `k`); and
//! when several keys match one field, the last one wins. serde_json alone would reject trailing
//! bytes and keep the exact key, so `{"name":"x","NAME":"y"}` or `{"name":"x"} junk` would read
//! differently. What Go accepts and this reader cannot (invalid UTF-8, lone surrogates, which Go
//! turns into U+FFFD) reads as `None`, and guards then refuse the request rather than guess.
//!
//! A neutral module: the passthrough guards' rules (`guard::teams`, `guard::password_reset`,
//! `guard::iam`, `guard::policy_rules`) read bodies with it, and it depends on none of them.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::Value;

/// A JSON object's members in document order, duplicates kept.
#[derive(Debug, Default)]
pub struct Members(Vec<(String, Value)>);

impl Members {
    /// The first JSON value of `body` when it is an object; `None` when it is not one, or when
    /// it cannot be read.
    pub fn of_body(body: &[u8]) -> Option<Self> {
        serde_json::Deserializer::from_slice(body).into_iter::<Self>().next()?.ok()
    }

    /// The value Go would store in a struct field named `name`: the last member whose key equals
    /// `name` under Unicode case folding.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.0.iter().rev().find(|(k, _)| folds_equal(k, name)).map(|(_, v)| v)
    }

    /// Every member in document order, duplicates kept.
    pub fn into_vec(self) -> Vec<(String, Value)> {
        self.0
    }
}

/// Go's `bytes.EqualFold`, closely enough for field names: each character compared by its
/// lowercased uppercase, which puts `s`, `S` and `ſ` (and `k`, `K` and the Kelvin sign) together.
pub fn folds_equal(a: &str, b: &str) -> bool {
    let fold = |s: &str| -> Vec<char> {
        s.chars().flat_map(char::to_uppercase).flat_map(char::to_lowercase).collect()
    };
    fold(a) == fold(b)
}

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Collect;
        impl<'de> Visitor<'de> for Collect {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(Collect)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Members;

    fn field(body: &str, name: &str) -> Option<serde_json::Value> {
        Members::of_body(body.as_bytes()).and_then(|m| m.field(name).cloned())
    }

    #[test]
    fn fields_read_as_go_decodes_them_into_a_struct() {
        assert_eq!(field(r#"{"name":"x"}"#, "name"), Some(json!("x")));
        assert_eq!(field(r#"{"Name":"x"}"#, "name"), Some(json!("x")));
        assert_eq!(field(r#"{"name":"a","NAME":"b"}"#, "name"), Some(json!("b")));
        assert_eq!(field(r#"{"name":"a","NAME":"b","name":"c"}"#, "name"), Some(json!("c")));
        assert_eq!(field(r#"{"ſettings":{"enabled":false}}"#, "settings"), Some(json!({"enabled": false})));
        assert_eq!(field(r#"{"name":"x"} trailing junk"#, "name"), Some(json!("x")));
        assert_eq!(field(r#"{"email":"e"}"#, "name"), None);
    }

    #[test]
    fn what_cannot_be_read_is_none() {
        assert!(Members::of_body(br#"["name"]"#).is_none());
        assert!(Members::of_body(b"").is_none());
        assert!(Members::of_body(br#"{"name":"x\ud800"}"#).is_none());
        assert!(Members::of_body(b"{\"name\":\"\xff\"}").is_none());
    }
}
